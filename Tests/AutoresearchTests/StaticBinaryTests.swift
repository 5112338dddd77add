import Fixtures
import Foundation
import Testing

/// Issue 17: the installed binary runs without the Swift toolchain (the Swift runtime and
/// Foundation linked in by `make build`, stripped by `make install`; libgit2 stays the system's).
///
/// A release build takes minutes, too long for `make test`: the test checks the release binary
/// when one was built (`make build`, which `.ci/run` runs first) and skips otherwise.
@Suite(.ownThreads) struct StaticBinaryTests {
    static let releaseBinary = packageRoot + "/.build/release/git-autoresearch"

    /// The shared libraries `ldd` lists for `binary`, one line each.
    static func sharedLibraries(of binary: String) throws -> [String] {
        let ldd = try runProgram("/usr/bin/ldd", [binary], in: "/")
        #expect(ldd.status == 0, "\(ldd.stderr)")
        return ldd.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// The toolchain's folder of Swift libraries, where the debug build (linked dynamically) finds libswiftCore.
    static func toolchainLibraries() throws -> String? {
        try sharedLibraries(of: Tool.path).first { $0.hasPrefix("libswiftCore.so") }?
            .components(separatedBy: " => ").last?.components(separatedBy: " (").first
            .map { ($0 as NSString).deletingLastPathComponent }
    }

    @Test func theInstalledBinaryNeedsNoSwiftLibraryAndRunsWithTheToolchainHidden() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.releaseBinary) else {
            print("skipped: no release build at \(Self.releaseBinary) (run 'make build'; .ci/run does)")
            return
        }
        // Installed as `make install` installs it.
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("install-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let installed = prefix + "/bin/git-autoresearch"
        let install = try runProgram("/usr/bin/install", ["-D", "-s", "-m", "0755", Self.releaseBinary, installed], in: "/")
        #expect(install.status == 0, "\(install.stderr)")

        let libraries = try Self.sharedLibraries(of: installed)
        let swiftLibraries = libraries.filter { $0.contains("swift") || $0.contains("Foundation") || $0.contains("dispatch") || $0.contains("not found") }
        #expect(swiftLibraries.isEmpty, "run 'make build' (the release build links the Swift runtime in): \(swiftLibraries)")
        #expect(libraries.contains { $0.hasPrefix("libgit2") }, "libgit2 stays the system's: \(libraries)")
        let symbols = try runProgram("/usr/bin/file", [installed], in: "/")
        #expect(symbols.stdout.contains("stripped") && !symbols.stdout.contains("not stripped"), "\(symbols.stdout)")

        // Run it with no environment, and, where a mount namespace can be made, with the
        // toolchain's library folder hidden under an empty tmpfs.
        let repo = try TempRepository()
        try repo.commitFiles(["a.txt": "a\n"])
        let command = "env -i \(installed) --version && cd \(repo.path) && env -i PATH=/usr/bin:/bin \(installed) list"
        let hide = try Self.toolchainLibraries().map { "mount -t tmpfs none '\($0)' && test -z \"$(ls '\($0)')\" && " } ?? ""
        var run = try runProgram("/usr/bin/unshare", ["--mount", "/bin/sh", "-c", hide + command], in: "/")
        if run.status != 0, run.stderr.contains("unshare") || run.stderr.contains("mount") {
            print("no mount namespace here (\(run.stderr.trimmingCharacters(in: .whitespacesAndNewlines))): run with the toolchain in place")
            run = try runProgram("/bin/sh", ["-c", command], in: "/")
        }
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.hasPrefix("0.") && !run.stderr.contains("error while loading shared libraries"), "\(run.stdout)\(run.stderr)")
    }
}
