import Foundation
import Testing
import Fixtures

/// The test fixtures themselves: what every other test relies on.
@Suite struct FixtureTests {
    /// A child started by a test holds no descriptor of the test process: a file another test has
    /// open for writing at that moment (Foundation opens without close-on-exec) would otherwise
    /// stay open as long as the child lives (a git daemon, a hung evaluator), and executing that
    /// file fails with ETXTBSY (seen in CI: a chained pre-commit hook, "Text file busy").
    @Test func childrenInheritNoDescriptorOfTheTestProcess() throws {
        let repo = try TempRepository()
        let open = Glibc.open(repo.path + "/script.sh", O_WRONLY | O_CREAT | O_TRUNC, 0o755)
        #expect(open > 2)
        defer { close(open) }
        let listed = try runProgram("/bin/sh", ["-c", "ls /proc/$$/fd"], in: repo.path)
        let descriptors = listed.stdout.split(separator: "\n").compactMap { Int($0) }.sorted()
        #expect(descriptors == [0, 1, 2], "the child's descriptors: \(descriptors), the test's file: \(open)")
    }
}
