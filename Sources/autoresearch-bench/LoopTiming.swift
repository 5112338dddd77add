// The loop in process, timed iteration by iteration: (a) on the 200-file project, (i) on the large tree.
import Autoresearch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The iterations of one in-process loop after its first (which takes the lock and reads the
/// history): for each, its overhead (the time between two iterations' ends less the agent
/// step's and the evaluation's), the tool's own CPU time (the agent, the evaluator and the
/// watchdog are children, left out), and whether it was kept.
struct LoopTimes {
    var overheads: [Double] = []
    var cpu: [Double] = []
    var kept: [Bool] = []

    /// Runs `iterations` + 1 iterations of the experiment `bench` of `workspace`, the agent being
    /// `sh agentScript`.
    init(_ workspace: Workspace, agentScript: String, iterations: Int) throws {
        var options = LoopOptions()
        options.agent = "sh \(agentScript)"
        options.maxRuns = iterations + 1
        var previousEnd = (wall: 0.0, cpu: 0.0), runs = 0
        _ = try workspace.loop(experiment: "bench", options: options) { outcome in
            let end = (wall: now(), cpu: Self.ownCPU())
            if runs > 0 {
                overheads.append(end.wall - previousEnd.wall - outcome.record.duration - (outcome.agentDuration ?? 0))
                kept.append(outcome.record.status == .keep)
                cpu.append(end.cpu - previousEnd.cpu)
            }
            previousEnd = end
            runs += 1
        }
    }

    /// This process's user and system time, in seconds.
    static func ownCPU() -> Double {
        var own = rusage()
        getrusage(RUSAGE_SELF.rawValue, &own)
        return [own.ru_utime, own.ru_stime].reduce(0) { $0 + Double($1.tv_sec) + Double($1.tv_usec) / 1e6 }
    }
}
