@testable import Corpus
import Foundation
import XCTest

final class TimestampTests: XCTestCase {
    private func time(_ text: String) -> Timestamp? { Timestamp(parsing: Substring(text)) }

    /// Every accepted form gives the instant Foundation's ISO 8601 parser gives for the same time in UTC.
    func testCalendarFormsAgreeWithFoundation() throws {
        let iso = ISO8601DateFormatter()
        let cases: [(String, String)] = [
            ("2016-07-01 00:00:00", "2016-07-01T00:00:00Z"),
            ("2016-07-01T13:45:10Z", "2016-07-01T13:45:10Z"),
            ("2016-07-01", "2016-07-01T00:00:00Z"),
            ("2016/07/01 23:59", "2016-07-01T23:59:00Z"),
            ("2000-02-29T12:00:00+05:30", "2000-02-29T06:30:00Z"),
            ("1969-12-31T23:00:00-0200", "1970-01-01T01:00:00Z"),
            ("1900-03-01", "1900-03-01T00:00:00Z"),
            ("2400-12-31T00:00:00Z", "2400-12-31T00:00:00Z"),
        ]
        for (text, utc) in cases {
            let parsed = try XCTUnwrap(time(text), text)
            XCTAssertEqual(parsed.kind, .calendar)
            XCTAssertEqual(parsed.value, Int64(iso.date(from: utc)!.timeIntervalSince1970) * 1_000_000, text)
            XCTAssertEqual(parsed.text, text, "written back in the style it was read")
        }
        XCTAssertEqual(time("2016-07-01 00:00:00.25")?.value, time("2016-07-01 00:00:00")!.value + 250_000)
        XCTAssertEqual(time("2016-07-01 00:00:00.25")?.text, "2016-07-01 00:00:00.25")
        XCTAssertEqual(time("42"), Timestamp(kind: .step, value: 42, style: .init()))
        XCTAssertEqual(time("-3")?.value, -3)
    }

    /// Day numbers agree with Foundation's Gregorian calendar over a wide range, both ways.
    func testDayArithmeticRoundTrips() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for days in stride(from: -800_000, through: 800_000, by: 997) {
            let (y, m, d) = Timestamp.civil(days: days)
            XCTAssertEqual(Timestamp.days(year: y, month: m, day: d), days)
            if y >= 1600 {
                let date = Date(timeIntervalSince1970: Double(days) * 86_400)
                let c = calendar.dateComponents([.year, .month, .day], from: date)
                XCTAssertEqual([c.year, c.month, c.day], [y, m, d], "day \(days)")
            }
        }
    }

    func testMalformedTimestampsAreRefused() {
        for text in ["notadate", "", "2016-13-01", "2016-02-30", "2015-02-29", "2016-07-01 24:00", "2016-07-01T12",
                     "2016-07-01 12:60", "2016-07-01 12:00:61", "2016-07-01 12:00:00.", "2016-07-01X", "2016-07/01",
                     "16-07-01", "2016-07-01 12:00+25:00", "1.5", "12a", "99999999999999999999"] {
            XCTAssertNil(time(text), "'\(text)' accepted")
        }
    }

    func testFrequencyInferenceAndItsText() throws {
        func frequency(_ texts: [String]) -> Frequency? { Frequency.infer(texts.map { time($0)! }) }
        XCTAssertEqual(frequency(["2020-01-01 00:00", "2020-01-01 01:00", "2020-01-01 03:00", "2020-01-01 04:00"])?.description, "PT1H")
        XCTAssertEqual(frequency(["2020-01-01T00:00:00Z", "2020-01-01T00:15:00Z"])?.description, "PT15M")
        XCTAssertEqual(frequency(["2020-01-01", "2020-01-02", "2020-01-03"])?.description, "P1D")
        XCTAssertEqual(frequency(["2020-01-06", "2020-01-13"])?.description, "P1W")
        XCTAssertEqual(frequency(["2020-01-31", "2020-02-29", "2020-03-31", "2020-04-30"])?.description, "P1M", "month ends")
        XCTAssertEqual(frequency(["2019-01-01", "2019-04-01", "2019-07-01", "2019-10-01"])?.description, "P3M")
        XCTAssertEqual(frequency(["2019-06-30", "2020-06-30", "2021-06-30"])?.description, "P1Y")
        XCTAssertEqual(frequency(["2020-01-01", "2020-01-29", "2020-02-26"])?.description, "P4W", "28 days apart, not on month starts")
        XCTAssertEqual(frequency(["3", "5", "7", "13"])?.description, "2 steps")
        XCTAssertEqual(frequency(["2020-01-01 00:00:00", "2020-01-01 00:00:00.5"])?.description, "PT0.5S")
        XCTAssertNil(frequency(["2020-01-01"]))
        for text in ["PT1H", "PT15M", "P1D", "P1W", "P1M", "P3M", "P2Y", "P1DT6H", "PT1H30M5.25S", "1 step", "7 steps"] {
            XCTAssertEqual(Frequency(parsing: text)?.description, text)
        }
        for text in ["P", "PT", "1H", "P1H", "PT1D", "P1MT1H", "0 steps", "P-1D"] { XCTAssertNil(Frequency(parsing: text), text) }
        // Month arithmetic keeps month ends on month ends and clips other days to the month's length.
        let monthly = Frequency(unit: .months, count: 1)
        XCTAssertEqual(time("2020-01-31")!.advanced(by: 1, of: monthly).text, "2020-02-29")
        XCTAssertEqual(time("2020-02-29")!.advanced(by: 12, of: monthly).text, "2021-02-28")
        XCTAssertEqual(time("2020-01-15T06:00:00+02:00")!.advanced(by: -2, of: monthly).text, "2019-11-15T06:00:00+02:00")
    }

    private func table(_ csv: String, gaps: GapPolicy = .error, ids: [String] = [], layout: SeriesTable.Layout? = nil) throws -> SeriesTable {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ttm-ts-\(UUID().uuidString).csv").path
        try csv.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try SeriesTable.read(csv: path, layout: layout ?? .init(idColumns: ids), missing: .error, gaps: gaps)
    }

    /// Dates ttm does not parse ('1998 Q1') can be left out of the reading; a value column named "time" is a value.
    func testTimestampDetectionCanBeTurnedOffOrOverridden() throws {
        let quarters = "Date,v\n1998 Q1,1\n1998 Q2,2\n1998 Q3,3\n"
        XCTAssertThrowsError(try table(quarters)) { XCTAssertTrue("\($0)".contains("'1998 Q1' is not a timestamp"), "\($0)") }
        let inOrder = try table(quarters, layout: .init(targetColumns: ["v"], findsTimestamp: false))
        XCTAssertEqual(inOrder.series[0].values, [1, 2, 3])
        XCTAssertNil(inOrder.series[0].frequency)
        let race = try table("Year,Time\n1900,54.2\n1904,53.9\n", layout: .init(targetColumns: ["Time"]))
        XCTAssertEqual(race.series[0].values, [54.2, 53.9])
        XCTAssertNil(race.timestampColumn)
    }

    private func assertError(_ csv: String, gaps: GapPolicy = .error, ids: [String] = [], _ parts: [String], line: UInt = #line) {
        XCTAssertThrowsError(try table(csv, gaps: gaps, ids: ids), line: line) { error in
            for part in parts { XCTAssertTrue("\(error)".contains(part), "'\(error)' lacks '\(part)'", line: line) }
        }
    }

    func testOrderAndGapsNameBothLines() throws {
        assertError("date,v\n2020-01-01 02:00,1\n2020-01-01 01:00,2\n",
                    ["line 3: timestamp '2020-01-01 01:00' is earlier than '2020-01-01 02:00' at line 2", "sort the file"])
        assertError("id,date,v\na,1,1\nb,1,1\na,1,2\n", ids: ["id"], ["line 4: duplicate timestamp '1' in series 'a' (first at line 2)"])
        assertError("date,v\n2020-01-01,1\nnotadate,2\n", ["line 3, column 'date': 'notadate' is not a timestamp"])
        assertError("date,v\n2020-01-01,1\n ,2\n", ["line 3, column 'date': empty timestamp"])
        assertError("date,v\n2020-01-01,1\n7,2\n", ["line 3, column 'date': '7' is a step number but line 2 holds '2020-01-01'"])
        let gappy = "date,v\n2020-01-01 00:00,1\n2020-01-01 01:00,2\n2020-01-01 04:00,3\n2020-01-01 05:00,4\n"
        assertError(gappy, ["line 4: 2 missing step(s) of PT1H between '2020-01-01 01:00' (line 3) and '2020-01-01 04:00' (line 4)", "--gaps ffill"])
        let filled = try table(gappy, gaps: .ffill).series[0]
        XCTAssertEqual(filled.timestamps, ["2020-01-01 00:00", "2020-01-01 01:00", "2020-01-01 02:00", "2020-01-01 03:00", "2020-01-01 04:00", "2020-01-01 05:00"])
        XCTAssertEqual(filled.values, [1, 2, 2, 2, 3, 4])
        XCTAssertEqual(try table(gappy, gaps: .ignore).series[0].values, [1, 2, 3, 4])
        let irregular = "date,v\n2020-01-01 00:00,1\n2020-01-01 01:00,2\n2020-01-01 01:30,3\n2020-01-01 02:30,4\n"
        assertError(irregular, gaps: .ffill, ["line 4: irregular spacing between '2020-01-01 01:00' (line 3) and '2020-01-01 01:30' (line 4)", "PT1H"])
        XCTAssertEqual(try table(irregular, gaps: .ignore).series[0].length, 4)
        // A fill that would invent more rows than the series has is refused.
        assertError("date,v\n1,1\n2,1\n3,1\n1000,1\n", gaps: .ffill, ["would add 996+ rows to its 4"])
        // Two id pairs that join to the same id are not merged into one series.
        assertError("a,b,date,v\nx/y,z,1,1\nx,y/z,1,2\n", ids: ["a", "b"],
                    ["line 3: id columns 'x', 'y/z' and those of line 2 both make the series id 'x/y/z'"])
        // Frequencies are per series.
        let two = try table("id,date,v\na,2020-01-01,1\na,2020-02-01,2\nb,2020-01-01 00:00,1\nb,2020-01-01 00:30,1\n", ids: ["id"])
        XCTAssertEqual(two.series.map { $0.frequency?.description }, ["P1M", "PT30M"])
    }
}
