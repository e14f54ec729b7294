@testable import Corpus
import Foundation
import XCTest

/// Monash-archive .tsf files, made small here in the archive's layout.
final class TSFTests: XCTestCase {
    private func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ttm-\(UUID().uuidString).tsf").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testSeriesTimestampsAndFrequencyFromTheHeader() throws {
        let path = try write("""
            # Dataset information
            @relation tourism
            @attribute series_name string
            @attribute start_timestamp date
            @frequency monthly
            @horizon 24
            @missing true
            @equallength false
            @data
            T1:1979-01-31 00-00-00:1,2,3,4
            T2:2000-11-01 12-00-00:5.5,?,7

            """)
        XCTAssertThrowsError(try SeriesTable.read(tsf: path, missing: .error)) {
            XCTAssertTrue("\($0)".contains("line 11, value 2: missing value"), "\($0)")
        }
        let table = try SeriesTable.read(tsf: path, missing: .ffill)
        XCTAssertEqual(table.series.map(\.id), ["T1", "T2"])
        XCTAssertEqual(table.series[0].timestamps, ["1979-01-31 00:00:00", "1979-02-28 00:00:00", "1979-03-31 00:00:00", "1979-04-30 00:00:00"])
        XCTAssertEqual(table.series[1].values, [5.5, 5.5, 7])
        XCTAssertEqual(table.series[1].timestamps.last, "2001-01-01 12:00:00")
        XCTAssertEqual(table.series[1].frequency?.description, "P1M")
        XCTAssertEqual(try SeriesTable.read(tsf: path, missing: .drop).droppedForMissingValues, ["T2"])
    }

    func testFrequencyNamesAndFilesWithoutDates() throws {
        XCTAssertEqual(SeriesTable.tsfFrequency("half_hourly")?.description, "PT30M")
        XCTAssertEqual(SeriesTable.tsfFrequency("10_minutes")?.description, "PT10M")
        XCTAssertEqual(SeriesTable.tsfFrequency("4_seconds")?.description, "PT4S")
        XCTAssertEqual(SeriesTable.tsfFrequency("yearly")?.description, "P1Y")
        XCTAssertNil(SeriesTable.tsfFrequency("fortnightly"))
        let path = try write("@attribute series_name string\n@attribute state string\n@frequency daily\n@data\na:NSW:1,2,3\nb:VIC:4,5\n")
        let table = try SeriesTable.read(tsf: path, missing: .error)
        XCTAssertEqual(table.series.map(\.id), ["a/NSW", "b/VIC"])
        XCTAssertEqual(table.series[1].timestamps, ["0", "1"], "no start date: step numbers")
    }

    func testMalformedFilesNameTheLine() throws {
        for (text, message) in [
            ("@attribute series_name string\n@data\nT1 1,2\n", "line 3: 0 fields before the values, the header declares 1"),
            ("@attribute series_name string\n@attribute start date\n@data\nT1:yesterday:1,2\n", "line 4, attribute 'start': 'yesterday' is not a date"),
            ("@attribute series_name string\n@data\nT1:1,x,3\n", "line 3, value 2: 'x' is not a finite number"),
            ("@attribute series_name string\n@frequency fortnightly\n@data\nT1:1\n", "line 2: unknown frequency 'fortnightly'"),
            ("@attribute series_name string\nT1:1,2\n", "no @data line"),
            ("@attribute series_name string\n@data\n", "no series after @data"),
            ("@attribute series_name string\n@data\nT1:?,2\n", "starts with a missing value"),
        ] {
            let path = try write(text)
            XCTAssertThrowsError(try SeriesTable.read(tsf: path, missing: .ffill), message) {
                XCTAssertTrue("\($0)".contains(path) && "\($0)".contains(message), "'\($0)' lacks '\(message)'")
            }
        }
    }
}
