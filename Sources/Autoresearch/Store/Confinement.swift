import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Paths under a root directory (the work tree, or the directory `artifacts --out` writes to)
/// that must not lead out of it, not even through a symbolic link.
enum Confinement {
    /// The absolute path of `relative` under `root`, after checking that it stays inside: its text
    /// (`ContainedPath`), then the real path of its deepest existing part, symbolic links resolved
    /// (git's directory does not count as inside).
    /// `what` names the path in errors (`metric file out/m.json`).
    static func resolve(_ relative: String, under root: String, what: String) throws(AutoresearchError) -> String {
        if let problem = ContainedPath.problem(relative) {
            throw AutoresearchError("\(what) is not inside the work tree: \(problem)")
        }
        guard let realRoot = realPath(root) else { throw AutoresearchError("cannot resolve \(root)") }
        let path = root + "/" + relative
        var existing = path
        while existing.count > root.count {
            if let real = realPath(existing) {
                let inside = real == realRoot || real.hasPrefix(realRoot == "/" ? "/" : realRoot + "/")
                guard inside, real != realRoot + "/.git", !real.hasPrefix(realRoot + "/.git/") else {
                    throw AutoresearchError("\(what) leads out of the work tree through a symbolic link (to \(real))",
                                            hint: "replace the link by a file or directory of the work tree")
                }
                break
            }
            existing = (existing as NSString).deletingLastPathComponent
        }
        return path
    }

    /// `path` with every symbolic link resolved; nil when it does not exist.
    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// A directory to write new files under without ever following a symbolic link: each directory
/// on the way is opened with `O_NOFOLLOW`, each file created with `O_EXCL`, so nothing lands
/// outside it and nothing there is replaced.
struct ConfinedDirectory {
    let path: String

    /// Creates the directory when missing.
    init(creating path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = path
    }

    /// Why writing a file at `components` would replace something or pass a symbolic link (a part
    /// on the way exists and is not a plain directory); nil when it would not.
    func obstacle(to components: [String]) -> String? {
        var current = path
        for (index, name) in components.enumerated() {
            current += "/" + name
            var info = stat()
            guard lstat(current, &info) == 0 else { return nil }
            if index == components.count - 1 { return "\(current) exists" }
            if info.st_mode & S_IFMT != S_IFDIR { return "\(current) is not a directory (a symbolic link is not followed)" }
        }
        return nil
    }

    /// Writes a new file at `components` (directories created as needed).
    func write(_ bytes: [UInt8], at components: [String], permissions: mode_t) throws {
        var directory = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { if directory >= 0 { close(directory) } }
        for name in components.dropLast() {
            guard directory >= 0 else { break }
            if mkdirat(directory, name, 0o755) != 0, errno != EEXIST { break }
            let next = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            close(directory)
            directory = next
        }
        let file = directory < 0 ? -1 : openat(directory, components.last ?? "", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, permissions)
        guard file >= 0 else { throw writeError(components) }
        defer { close(file) }
        fchmod(file, permissions)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Glibc.write(file, $0.baseAddress, $0.count) }
            guard count > 0 else { throw writeError(components) }
            written += count
        }
    }

    private func writeError(_ components: [String]) -> AutoresearchError {
        AutoresearchError("cannot write \(path)/\(components.joined(separator: "/")): \(String(cString: strerror(errno)))")
    }
}
