import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock on a file, taken with `flock`: the kernel releases it when its holder exits,
/// however it exits (`kill -9` included), so a lock is never left stale. The holder writes its pid
/// into the file so that others can name it. The descriptor is close-on-exec: children (an
/// evaluator that outlives the tool) never inherit the lock.
final class FileLock {
    let path: String
    private(set) var descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { release() }

    /// Takes the lock, trying every 20 to 100 ms for up to `seconds`; nil when another holder kept it.
    static func acquire(_ path: String, waitingUpTo seconds: Double = 0) throws -> FileLock? {
        let descriptor = try open(path)
        let deadline = Date().addingTimeInterval(seconds)
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, Date() < deadline else {
                let failure = errno
                close(descriptor)
                guard failure == EWOULDBLOCK || failure == EINTR else { throw lockError(path, failure) }
                return nil
            }
            usleep(UInt32.random(in: 20_000...100_000))
        }
        let pid = Data("\(getpid())\n".utf8)
        ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, pid.count, 0) }
        return FileLock(path: path, descriptor: descriptor)
    }

    /// Runs `body` holding the lock, waiting for it as long as it takes.
    static func withLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let descriptor = try open(path)
        defer { close(descriptor) }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else { throw lockError(path, errno) }
        }
        return try body()
    }

    /// The pid the live holder wrote, when the lock is held (0 when it has not written it yet).
    static func holder(of path: String) -> pid_t? {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        if flock(descriptor, LOCK_SH | LOCK_NB) == 0 { return nil }
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = read(descriptor, &buffer, buffer.count)
        return pid_t(String(decoding: buffer.prefix(max(count, 0)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// Gives the lock up (also done when the value goes away). Unlocked before closed: a child
    /// another thread is starting holds a copy of the descriptor until its exec, and closing ours
    /// alone would leave the lock held, our pid in the file, until then.
    func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    private static func open(_ path: String) throws -> Int32 {
        let descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw AutoresearchError("cannot open the lock \(path): \(String(cString: strerror(errno)))") }
        return descriptor
    }

    private static func lockError(_ path: String, _ code: Int32) -> AutoresearchError {
        AutoresearchError("cannot lock \(path): \(String(cString: strerror(code)))")
    }
}
