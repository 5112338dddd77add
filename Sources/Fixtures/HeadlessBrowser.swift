import Foundation

/// A real browser for tests that look at a page as people do: Debian's `chromium`, headless,
/// with a throwaway profile, no name resolution (nothing can reach a network), and every
/// invocation bounded in time.
public struct HeadlessBrowser {
    /// The first of `chromium`, `chromium-browser`, `google-chrome` on PATH; nil when none.
    public static let path: String? = {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for directory in directories where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
                return "\(directory)/\(name)"
            }
        }
        return nil
    }()

    let executable: String
    /// The profile directory (`--user-data-dir`), made on first use.
    let profile: String

    /// A browser with its profile in `profile`; nil when no chromium is installed.
    public init?(profile: String) {
        guard let path = Self.path else { return nil }
        executable = path
        self.profile = profile
    }

    /// Runs the browser headless on `url`, killed after `seconds`; scripts get a few seconds of
    /// virtual time to run.
    func run(_ arguments: [String], url: String, seconds: Int = 60) throws -> ProcessOutput {
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile)", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
                     "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=3000", "--hide-scrollbars"]
        let output = try runProgram("/usr/bin/timeout", ["--kill-after=5", String(seconds), executable] + flags + arguments + [url], in: "/")
        guard output.status == 0 else {
            throw OracleError(description: "\(executable) exited with \(output.status): \(output.stderr.suffix(2000))")
        }
        return output
    }

    /// The page's DOM after its scripts ran (`--dump-dom`).
    public func dom(_ url: String) throws -> String {
        try run(["--dump-dom"], url: url).stdout
    }

    /// A PNG screenshot of the page at `width`×`height` pixels.
    public func screenshot(_ url: String, to file: String, width: Int = 1280, height: Int = 1600) throws {
        _ = try run(["--screenshot=\(file)", "--window-size=\(width),\(height)"], url: url)
    }
}
