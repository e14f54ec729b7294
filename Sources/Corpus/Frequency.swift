/// The spacing of a series' timestamps: a number of steps (integer timestamps), a fixed duration, or a number
/// of calendar months (months and years are not fixed durations). Written as an ISO 8601 duration (`PT1H`,
/// `PT15M`, `P1D`, `P1M`, `P1Y`), or `N steps` for integer timestamps.
public struct Frequency: Equatable, Sendable, CustomStringConvertible {
    public enum Unit: Sendable { case step, microseconds, months }
    public let unit: Unit
    public let count: Int64

    public init(unit: Unit, count: Int64) {
        precondition(count > 0, "a frequency is positive")
        self.unit = unit
        self.count = count
    }

    public var description: String {
        switch unit {
        case .step: return count == 1 ? "1 step" : "\(count) steps"
        case .months: return count % 12 == 0 ? "P\(count / 12)Y" : "P\(count)M"
        case .microseconds:
            let day: Int64 = 86_400_000_000
            if count % day == 0 { return count % (7 * day) == 0 ? "P\(count / (7 * day))W" : "P\(count / day)D" }
            var text = "P" + (count >= day ? "\(count / day)D" : "") + "T"
            let rest = count % day
            if rest >= 3_600_000_000 { text += "\(rest / 3_600_000_000)H" }
            if rest % 3_600_000_000 >= 60_000_000 { text += "\(rest % 3_600_000_000 / 60_000_000)M" }
            let micros = rest % 60_000_000
            if micros > 0 {
                var seconds = "\(micros / 1_000_000)"
                if micros % 1_000_000 > 0 {
                    var fraction = String(micros % 1_000_000)
                    fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
                    while fraction.hasSuffix("0") { fraction.removeLast() }
                    seconds += "." + fraction
                }
                text += seconds + "S"
            }
            return text
        }
    }

    /// Reads what `description` writes; nil for anything else.
    public init?(parsing text: String) {
        let parts = text.split(separator: " ")
        if parts.count == 2, ["step", "steps"].contains(parts[1]), let n = Int64(parts[0]), n > 0 {
            self.init(unit: .step, count: n); return
        }
        guard text.hasPrefix("P"), text.count > 1 else { return nil }
        var number = "", inTime = false, micros: Int64 = 0, months: Int64 = 0
        for character in text.dropFirst() {
            if character.isNumber || character == "." { number.append(character); continue }
            if character == "T" { guard number.isEmpty, !inTime else { return nil }; inTime = true; continue }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            let whole = Int64(value)
            switch (character, inTime) {
            case ("Y", false): months += 12 * whole
            case ("M", false): months += whole
            case ("W", false): micros += whole * 7 * 86_400_000_000
            case ("D", false): micros += whole * 86_400_000_000
            case ("H", true): micros += whole * 3_600_000_000
            case ("M", true): micros += whole * 60_000_000
            case ("S", true): micros += Int64((value * 1_000_000).rounded())
            default: return nil
            }
            number = ""
        }
        guard number.isEmpty, (months > 0) != (micros > 0) else { return nil }
        self.init(unit: months > 0 ? .months : .microseconds, count: months > 0 ? months : micros)
    }

    /// How many steps of this frequency lead from `a` to `b`, or nil when `b` is not on `a`'s grid.
    func steps(from a: Timestamp, to b: Timestamp) -> Int? {
        switch unit {
        case .step, .microseconds:
            let difference = b.value - a.value
            return difference % count == 0 ? Int(difference / count) : nil
        case .months:
            let fa = a.fields, fb = b.fields
            let months = Int64((fb.year - fa.year) * 12 + fb.month - fa.month)
            guard months % count == 0 else { return nil }
            let k = Int(months / count)
            return a.advanced(by: k, of: self) == b ? k : nil
        }
    }

    /// The most common spacing of strictly increasing timestamps (the smaller on a tie); calendar months when
    /// the common spacing is a month, a quarter or a year and every pair of neighbours sits on that grid.
    /// nil for fewer than two timestamps.
    public static func infer(_ times: [Timestamp]) -> Frequency? {
        guard times.count >= 2, let kind = times.first?.kind else { return nil }
        var counts: [Int64: Int] = [:]
        for (a, b) in zip(times, times.dropFirst()) { counts[b.value - a.value, default: 0] += 1 }
        guard let common = counts.max(by: { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key })?.key, common > 0 else { return nil }
        if kind == .step { return Frequency(unit: .step, count: common) }
        let days = Double(common) / 86_400_000_000
        for (range, months) in [(28.0...31.0, Int64(1)), (89.0...92.0, 3), (365.0...366.0, 12)] where range.contains(days) {
            let calendar = Frequency(unit: .months, count: months)
            if zip(times, times.dropFirst()).allSatisfy({ (calendar.steps(from: $0, to: $1) ?? 0) >= 1 }) { return calendar }
        }
        return Frequency(unit: .microseconds, count: common)
    }
}

/// What to do where a series' timestamps skip steps of its frequency.
public enum GapPolicy: String, CaseIterable, Sendable {
    /// Stop with an error naming the lines on both sides of the first gap.
    case error
    /// Insert the skipped timestamps, carrying the last values forward.
    case ffill
    /// Keep the rows as they are (windows then span the gap); irregular spacing is accepted too.
    case ignore
}
