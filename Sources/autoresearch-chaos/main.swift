// `make chaos`: kill -9 of loop, loop --jobs and push at random moments, with the checks of
// `Chaos` after every kill. Prints one Markdown table (for docs/reliability.md) and exits 1 when
// anything failed. Usage: autoresearch-chaos [--loop N] [--jobs N] [--push N] (cycles of each).
import Fixtures
import Foundation

var cycles = ["--loop": 1000, "--jobs": 300, "--push": 300]
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard cycles[flag] != nil, let value = arguments.popFirst().flatMap(Int.init), value >= 0 else {
        FileHandle.standardError.write(Data("usage: autoresearch-chaos [--loop N] [--jobs N] [--push N]\n".utf8))
        exit(64)
    }
    cycles[flag] = value
}

let chaos = Chaos()
let runs: [() throws -> ChaosReport] = [
    { try chaos.killLoops(cycles: cycles["--loop"]!) },
    { try chaos.killLoops(cycles: cycles["--jobs"]!, jobs: 3, maxDelay: 3) },
    { try chaos.killPushes(cycles: cycles["--push"]! / 2, throughDaemon: false) },
    { try chaos.killPushes(cycles: cycles["--push"]! - cycles["--push"]! / 2, throughDaemon: true) },
]
var reports: [ChaosReport] = []
for run in runs {
    do {
        reports.append(try run())
        FileHandle.standardError.write(Data("\(reports.last!.tableRow)\n".utf8))
    } catch {
        FileHandle.standardError.write(Data("set-up failed: \(error)\n".utf8))
        exit(1)
    }
}

print(ChaosReport.tableHeader)
for report in reports { print(report.tableRow) }
for report in reports where !report.examples.isEmpty {
    print("\n\(report.name):")
    for example in report.examples { print("- \(example)") }
}
let failed = reports.map(\.failures).reduce(0, +)
print("\n\(reports.map(\.cycles).reduce(0, +) - failed) passed, \(failed) failed")
exit(failed == 0 ? 0 : 1)
