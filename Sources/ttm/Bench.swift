import ArgumentParser

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the building blocks and print figures.",
        subcommands: [BenchBLAS.self, BenchModel.self, BenchData.self, BenchAllreduce.self])
}
