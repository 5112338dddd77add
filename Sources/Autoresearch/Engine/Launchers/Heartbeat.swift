import Foundation

/// How workers that are not the loop's children (SLURM jobs) know that their loop still lives:
/// it writes the time into a file on the shared file system every second; a worker whose file
/// has not changed for `staleAfter` seconds of its own clock (clocks of nodes may differ) stops
/// as if interrupted, as a local worker does when its parent is gone.
enum Heartbeat {
    static let staleAfter = 30.0

    /// Writes a new beat.
    static func beat(_ path: String) {
        try? String(Date().timeIntervalSince1970).write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// A worker's view of its loop's heartbeat file; reads it at most once a second.
final class HeartbeatWatch: @unchecked Sendable {
    private let path: String
    private var lastBeat: String?
    private var lastChange = Date()
    private var lastRead = Date.distantPast

    init(path: String) { self.path = path }

    /// True once the beat has not changed for `Heartbeat.staleAfter` seconds.
    var isStale: Bool {
        let now = Date()
        if now.timeIntervalSince(lastRead) >= 1 {
            lastRead = now
            let beat = try? String(contentsOfFile: path, encoding: .utf8)
            if beat != lastBeat { (lastBeat, lastChange) = (beat, now) }
        }
        return now.timeIntervalSince(lastChange) > Heartbeat.staleAfter
    }
}

/// The loop's side: beats every second on a thread of its own until stopped, so that a loop
/// waiting on a slow scheduler command still beats.
final class HeartbeatWriter: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false

    init(path: String) {
        Heartbeat.beat(path)
        Thread { [self] in
            while beat(path) { Thread.sleep(forTimeInterval: 1) }
        }.start()
    }

    /// Beats unless stopped; false once stopped.
    private func beat(_ path: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if !stopped { Heartbeat.beat(path) }
        return !stopped
    }

    /// Stops beating: no beat is written after it returns.
    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
    }
}
