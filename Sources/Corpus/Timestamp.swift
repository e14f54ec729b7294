/// One cell of a timestamp column, parsed: a calendar time (ISO 8601 and the common `YYYY-MM-DD HH:MM:SS`
/// forms) or a plain integer step number. Parsed by hand rather than with a DateFormatter: the forms are fixed,
/// the result must not depend on the locale, and a CSV can hold millions of cells.
public struct Timestamp: Equatable, Sendable {
    public enum Kind: Sendable { case calendar, step }
    public let kind: Kind
    /// Microseconds since 1970-01-01T00:00:00Z for a calendar time; the step number itself otherwise.
    public let value: Int64
    /// How the text was written, so that timestamps made from this one (filled gaps, forecast steps) look alike.
    public let style: Style

    public struct Style: Equatable, Sendable {
        /// Between year, month and day: "-" or "/".
        var dateSeparator: Character = "-"
        /// Between date and time: "T", " ", or nil for a date alone.
        var timeSeparator: Character? = nil
        var hasSeconds = false
        var fractionDigits = 0
        /// nil: no zone written; 0 with `zulu`: "Z"; otherwise the offset east of UTC written as ±HH:MM.
        var zoneSeconds: Int? = nil
        var zulu = false
        var zoneColon = true
    }

    init(kind: Kind, value: Int64, style: Style) {
        self.kind = kind
        self.value = value
        self.style = style
    }

    /// nil when `text` is neither an integer nor one of the calendar forms:
    /// `YYYY-MM-DD`, then optionally `T` or a space and `HH:MM`, `:SS`, `.fraction` (up to 6 digits),
    /// `Z` or `±HH:MM` / `±HHMM`; `/` may separate the date's parts.
    public init?(parsing text: Substring) {
        let bytes = Array(text.utf8)
        if let step = Timestamp.integer(bytes) {
            self.init(kind: .step, value: step, style: Style())
            return
        }
        var reader = Reader(bytes: bytes)
        var style = Style()
        guard let year = reader.digits(4), let separator = reader.oneOf("-/"),
              let month = reader.digits(2), reader.oneOf(separator == "-" ? "-" : "/") != nil, let day = reader.digits(2),
              (1...12).contains(month), (1...Timestamp.daysIn(month: month, year: year)).contains(day) else { return nil }
        style.dateSeparator = separator
        var hour = 0, minute = 0, second = 0, micros = 0
        if let between = reader.oneOf("T ") {
            style.timeSeparator = between
            guard let h = reader.digits(2), reader.oneOf(":") != nil, let m = reader.digits(2), h < 24, m < 60 else { return nil }
            hour = h; minute = m
            if reader.oneOf(":") != nil {
                guard let s = reader.digits(2), s < 60 else { return nil }
                second = s; style.hasSeconds = true
                if reader.oneOf(".,") != nil {
                    let start = reader.position
                    while let d = reader.peekDigit() { reader.position += 1; if reader.position - start <= 6 { micros = micros * 10 + d } }
                    let count = reader.position - start
                    guard count >= 1 else { return nil }
                    style.fractionDigits = min(count, 6)
                    for _ in stride(from: count, to: 6, by: 1) { micros *= 10 }
                }
            }
            if reader.oneOf("Zz") != nil {
                style.zoneSeconds = 0; style.zulu = true
            } else if let sign = reader.oneOf("+-") {
                guard let h = reader.digits(2), h <= 23 else { return nil }
                style.zoneColon = reader.oneOf(":") != nil
                guard let m = reader.digits(2), m < 60 else { return nil }
                style.zoneSeconds = (sign == "-" ? -1 : 1) * (h * 3600 + m * 60)
            }
        }
        guard reader.atEnd else { return nil }
        let local = Int64(Timestamp.days(year: year, month: month, day: day)) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        self.init(kind: .calendar, value: (local - Int64(style.zoneSeconds ?? 0)) * 1_000_000 + Int64(micros), style: style)
    }

    /// The calendar fields of this time in the zone it was written in.
    var fields: (year: Int, month: Int, day: Int, seconds: Int, micros: Int) {
        let local = value + Int64(style.zoneSeconds ?? 0) * 1_000_000
        let (dayNumber, inDay) = local.quotientAndRemainder(dividingBy: 86_400_000_000)
        let (days, microsOfDay) = inDay < 0 ? (dayNumber - 1, inDay + 86_400_000_000) : (dayNumber, inDay)
        let (year, month, day) = Timestamp.civil(days: Int(days))
        return (year, month, day, Int(microsOfDay / 1_000_000), Int(microsOfDay % 1_000_000))
    }

    /// This timestamp moved by `steps` of `frequency`, written in the same style.
    public func advanced(by steps: Int, of frequency: Frequency) -> Timestamp {
        switch frequency.unit {
        case .step, .microseconds:
            return Timestamp(kind: kind, value: value + Int64(steps) * frequency.count, style: style)
        case .months:
            let f = fields
            let monthIndex = f.year * 12 + (f.month - 1) + steps * Int(frequency.count)
            let year = Int((Double(monthIndex) / 12).rounded(.down)), month = monthIndex - year * 12 + 1
            // A month-end series stays on month ends; any other day is kept, clipped to the month's length.
            let wasMonthEnd = f.day == Timestamp.daysIn(month: f.month, year: f.year)
            let day = wasMonthEnd ? Timestamp.daysIn(month: month, year: year) : min(f.day, Timestamp.daysIn(month: month, year: year))
            let local = Int64(Timestamp.days(year: year, month: month, day: day)) * 86_400 + Int64(f.seconds)
            return Timestamp(kind: kind, value: (local - Int64(style.zoneSeconds ?? 0)) * 1_000_000 + Int64(f.micros), style: style)
        }
    }

    /// `last` parsed, with `frequency`, when there are both (a series' clock, stored as text).
    static func clock(last: String?, frequency: Frequency?) -> (last: Timestamp, frequency: Frequency)? {
        guard let last, let frequency, let time = Timestamp(parsing: Substring(last)) else { return nil }
        return (time, frequency)
    }

    /// The text, in the style it was parsed from.
    public var text: String {
        guard kind == .calendar else { return String(value) }
        let f = fields
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let separator = String(style.dateSeparator)
        var text = String(format: "%04d", f.year) + separator + two(f.month) + separator + two(f.day)
        guard let between = style.timeSeparator else { return text }
        text += String(between) + two(f.seconds / 3600) + ":" + two(f.seconds / 60 % 60)
        if style.hasSeconds { text += ":" + two(f.seconds % 60) }
        if style.fractionDigits > 0 {
            var digits = String(f.micros)
            digits = String(repeating: "0", count: 6 - digits.count) + digits
            text += "." + digits.prefix(style.fractionDigits)
        }
        if let zone = style.zoneSeconds {
            if style.zulu { text += "Z" } else {
                text += (zone < 0 ? "-" : "+") + two(abs(zone) / 3600) + (style.zoneColon ? ":" : "") + two(abs(zone) / 60 % 60)
            }
        }
        return text
    }

    // MARK: calendar arithmetic (proleptic Gregorian)

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to the date: whole 400-year eras of 146,097 days counted from March 1st of year 0,
    /// so that February (and its leap day) ends each year.
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The inverse of `days(year:month:day:)`.
    static func civil(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func integer(_ bytes: [UInt8]) -> Int64? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var start = 0, negative = false
        if bytes[0] == UInt8(ascii: "-") { negative = true; start = 1 }
        guard start < bytes.count else { return nil }
        var value: Int64 = 0
        for byte in bytes[start...] {
            guard byte >= 48 && byte <= 57 else { return nil }
            value = value * 10 + Int64(byte - 48)
        }
        return negative ? -value : value
    }

    private struct Reader {
        let bytes: [UInt8]
        var position = 0
        var atEnd: Bool { position == bytes.count }
        func peekDigit() -> Int? {
            guard position < bytes.count, bytes[position] >= 48, bytes[position] <= 57 else { return nil }
            return Int(bytes[position] - 48)
        }
        mutating func digits(_ count: Int) -> Int? {
            var value = 0
            for _ in 0..<count {
                guard let digit = peekDigit() else { return nil }
                value = value * 10 + digit
                position += 1
            }
            return value
        }
        mutating func oneOf(_ characters: String) -> Character? {
            guard position < bytes.count, let match = characters.first(where: { $0.asciiValue == bytes[position] }) else { return nil }
            position += 1
            return match
        }
    }
}
