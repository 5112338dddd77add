import Foundation

/// The built `git-autoresearch` binary, run as a user would.
public enum Tool {
    /// `$GIT_AUTORESEARCH_BIN`, else the debug build of this package.
    public static var path: String {
        ProcessInfo.processInfo.environment["GIT_AUTORESEARCH_BIN"] ?? packageRoot + "/.build/debug/git-autoresearch"
    }

    /// Runs the tool to completion in `repository`'s work tree (or `directory` below it).
    @discardableResult
    public static func run(_ arguments: [String], in repository: TempRepository, directory: String? = nil,
                           environment: [String: String] = [:]) throws -> ProcessOutput {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw OracleError(description: "no binary at \(path): run 'swift build' (or 'make test') first")
        }
        return try runProgram(path, arguments, in: directory.map { repository.path + "/" + $0 } ?? repository.path,
                              environment: environment)
    }

    /// Starts the tool without waiting.
    public static func start(_ arguments: [String], in repository: TempRepository,
                             environment: [String: String] = [:]) throws -> ChildProcess {
        try ChildProcess(path, arguments, in: repository.path, environment: environment)
    }
}

/// Polls `condition` every 50 ms for up to `seconds`; returns whether it became true.
public func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(50_000)
    }
    return condition()
}

/// A `PATH` with every program of this one but git's (none named `git…`): one directory of
/// symbolic links, made under `parent`, for processes that must not need git (a cluster's nodes).
public func pathWithoutGit(under parent: String) throws -> String {
    let directory = parent + "/bin-without-git"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let searched = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
    for source in searched {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: source)) ?? [] where !name.hasPrefix("git") {
            // The first directory of PATH holding a name wins, as for a search of PATH.
            try? FileManager.default.createSymbolicLink(atPath: directory + "/" + name, withDestinationPath: source + "/" + name)
        }
    }
    return directory
}
