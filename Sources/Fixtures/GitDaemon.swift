import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `git daemon` serving `base` on 127.0.0.1 with pushes allowed, for the life of the value.
public final class GitDaemon {
    public let url: String
    private let process: ChildProcess

    public init(serving base: String) throws {
        for _ in 0..<20 {
            let port = Int.random(in: 20_000..<60_000)
            let process = try ChildProcess("/usr/bin/git", ["daemon", "--reuseaddr", "--export-all", "--enable=receive-pack",
                                                            "--base-path=\(base)", "--listen=127.0.0.1", "--port=\(port)", base],
                                           in: base)
            // Ready when `git ls-remote` gets an answer; gone when the port was taken.
            let ready = waitUntil(seconds: 5) {
                (try? runProgram("/usr/bin/git", ["ls-remote", "git://127.0.0.1:\(port)/"], in: base).status) != nil
                    && (try? runProgram("/usr/bin/git", ["ls-remote", "git://127.0.0.1:\(port)/"], in: base))?.stderr.contains("Connection refused") == false
            }
            if ready, processExists(process.pid) {
                url = "git://127.0.0.1:\(port)/"
                self.process = process
                return
            }
            kill(process.pid, SIGKILL)
            _ = process.wait()
        }
        throw OracleError(description: "git daemon did not start")
    }

    deinit {
        kill(process.pid, SIGTERM)
        _ = process.wait()
    }
}
