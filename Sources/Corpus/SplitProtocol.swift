/// How each series is cut into train, validation and test rows.
public enum SplitProtocol: Equatable, Sendable, CustomStringConvertible {
    /// Fractions of each series' length, in order.
    case ratio(train: Double, validation: Double, test: Double)
    /// Absolute row ends: train [0, a), validation up to b, test up to c (clipped to the series).
    case rows(trainEnd: Int, validationEnd: Int, testEnd: Int)

    /// The standard ETT hourly protocol: 12/4/4 months of hours.
    public static let ettHourly = SplitProtocol.rows(trainEnd: 8640, validationEnd: 11520, testEnd: 14400)

    /// Parses `ratio:0.7,0.1,0.2`, `rows:8640,11520,14400` or `ett-hourly`.
    public init(parsing text: String) throws {
        if text == "ett-hourly" { self = .ettHourly; return }
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { throw DataError("--split '\(text)': expected ratio:a,b,c, rows:a,b,c or ett-hourly") }
        let numbers = parts[1].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard numbers.count == 3 else { throw DataError("--split '\(text)': expected three numbers") }
        switch parts[0] {
        case "ratio":
            let r = numbers.compactMap(Double.init)
            guard r.count == 3, r.allSatisfy({ $0 >= 0 }), r[0] > 0, r.reduce(0, +) <= 1 + 1e-9 else {
                throw DataError("--split '\(text)': ratios must be non-negative, the first positive, summing to at most 1")
            }
            self = .ratio(train: r[0], validation: r[1], test: r[2])
        case "rows":
            let r = numbers.compactMap { Int($0) }
            guard r.count == 3, r[0] > 0, r[0] <= r[1], r[1] <= r[2] else {
                throw DataError("--split '\(text)': row ends must be positive integers in increasing order")
            }
            self = .rows(trainEnd: r[0], validationEnd: r[1], testEnd: r[2])
        default:
            throw DataError("--split '\(text)': unknown kind '\(parts[0])' (ratio, rows or ett-hourly)")
        }
    }

    /// (train end, validation end, test end) for a series of `length` rows.
    public func ends(length: Int) -> (Int, Int, Int) {
        switch self {
        case .ratio(let a, let b, let c):
            let n = Double(length)
            return (Int(n * a), Int(n * (a + b)), min(length, Int((n * (a + b + c)).rounded(.down))))
        case .rows(let a, let b, let c):
            return (min(a, length), min(b, length), min(c, length))
        }
    }

    public var description: String {
        switch self {
        case .ratio(let a, let b, let c): "ratio:\(a),\(b),\(c)"
        case .rows(let a, let b, let c): self == .ettHourly ? "ett-hourly" : "rows:\(a),\(b),\(c)"
        }
    }
}

/// The three splits.
public enum Split: String, CaseIterable, Sendable {
    case train, validation, test

    /// Rows [start, end) of this split in a series with ends (t, v, e); validation and test start `context`
    /// rows early so that their first window's context lies in the previous split (the standard protocol).
    public func rows(ends: (Int, Int, Int), context: Int) -> Range<Int> {
        switch self {
        case .train: return 0..<ends.0
        case .validation: return max(0, ends.0 - context)..<max(max(0, ends.0 - context), ends.1)
        case .test: return max(0, ends.1 - context)..<max(max(0, ends.1 - context), ends.2)
        }
    }
}
