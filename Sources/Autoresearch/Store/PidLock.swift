import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A lock file holding `PID HOST` of its owner, created exclusively (a hard link, which fails if
/// the file exists). A lock whose owner is known to be gone (a dead or zombie pid on this host,
/// or a lock from another host older than `foreignLifetime`) is taken over.
struct PidLock {
    let path: String
    /// Seconds after which a lock written on another host (a shared file system) counts as stale.
    static let foreignLifetime = 600.0

    /// The pid of the live owner, if any.
    var holder: pid_t? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let fields = text.split(whereSeparator: \.isWhitespace)
        guard let first = fields.first, let pid = pid_t(first), pid > 0 else { return nil }
        if fields.count > 1, String(fields[1]) != Workspace.hostName {
            let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? nil
            return Date().timeIntervalSince(modified ?? .distantPast) < Self.foreignLifetime ? pid : nil
        }
        return GroupProcess.isAlive(pid) ? pid : nil
    }

    /// Takes the lock, or returns the pid of the live owner that has it. The lock file appears
    /// with its content (written aside, then hard-linked into place), so nobody ever reads an
    /// empty lock and takes it for a stale one.
    func tryAcquire() throws -> pid_t? {
        let pending = path + ".\(getpid()).tmp"
        guard FileManager.default.createFile(atPath: pending, contents: Data("\(getpid()) \(Workspace.hostName)\n".utf8)) else {
            throw AutoresearchError("cannot write \(pending): \(String(cString: strerror(errno)))")
        }
        defer { unlink(pending) }
        for _ in 0..<3 {
            if link(pending, path) == 0 { return nil }
            if let holder { return holder }
            unlink(path)
        }
        throw AutoresearchError("cannot take the lock \(path): \(String(cString: strerror(errno)))")
    }

    /// Removes the lock if this process holds it.
    func release() {
        if holder == getpid() { unlink(path) }
    }
}
