import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The fields of a `/proc/PID/stat` line the tool reads (see proc(5)).
struct ProcessStat {
    /// Field 3 (`state`) onwards: what follows the command name, which may hold spaces and parentheses.
    private let fields: [Substring]

    /// Reads process `pid`'s line; nil when the process does not exist (or /proc cannot tell).
    init?(pid: pid_t) {
        self.init(entry: String(pid))
    }

    /// Reads the line of `/proc/ENTRY/stat`.
    init?(entry: String) {
        // Read with read(2): Foundation's file reading costs ten times as much (runs at every evaluation).
        guard let bytes = LocalFile.read("/proc/\(entry)/stat", atMost: 4096),
              case let line = String(decoding: bytes, as: UTF8.self), let close = line.lastIndex(of: ")") else { return nil }
        fields = line[line.index(after: close)...].split(separator: " ")
    }

    /// Field `number` of proc(5) (1 is the pid, 2 the command name, 3 the state).
    private func field(_ number: Int) -> Substring? {
        fields.indices.contains(number - 3) ? fields[number - 3] : nil
    }

    /// The process exited and waits to be reaped, or is being torn down.
    var isZombie: Bool { field(3) == "Z" || field(3) == "X" }

    var processGroup: pid_t? { field(5).flatMap { pid_t($0) } }

    /// When the process started, in clock ticks since boot: a later process given the same pid has
    /// another (within one boot: see `currentBootID`).
    var startTicks: UInt64? { field(22).flatMap { UInt64($0) } }

    /// This boot's random id (`/proc/sys/kernel/random/boot_id`): start ticks of another boot never match.
    static let currentBootID: String? = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
        .trimmingCharacters(in: .whitespacesAndNewlines)
}
