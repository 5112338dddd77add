import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Workers as child processes of the loop on this machine, their output on pipes (`loop --jobs N`).
public final class LocalLauncher: WorkerLauncher {
    public let name = "local"
    public let workersAreChildren = true
    public let pollInterval = 0.0
    public let resubmissions = 0

    public init() {}

    public func submit(_ job: WorkerJob) throws -> LaunchedWorker {
        var environment = ProcessInfo.processInfo.environment
        environment.merge(job.environment) { $1 }
        let output = try GroupProcess.makePipe()
        defer { close(output.write) }
        let errors: (read: Int32, write: Int32)
        do { errors = try GroupProcess.makePipe() } catch { close(output.read); throw error }
        defer { close(errors.write) }
        do {
            let pid = try GroupProcess.spawn(job.command, in: job.directory, environment: environment, output: output.write, errors: errors.write)
            return LaunchedWorker(id: String(pid), pid: pid, output: .pipes(output: output.read, errors: errors.read))
        } catch {
            close(output.read)
            close(errors.read)
            throw error
        }
    }

    public func state(of worker: LaunchedWorker) -> WorkerJobState {
        guard let pid = worker.pid, let status = GroupProcess.reap(pid) else { return .running(node: nil) }
        if case .signaled(let signal) = Termination(waitStatus: status) { return .ended(.signaled(signal)) }
        return .ended(.exited((status >> 8) & 0xff))
    }

    public func signal(_ worker: LaunchedWorker, _ signal: Int32) {
        if let pid = worker.pid { kill(pid, signal) }
    }

    public func cancel(_ worker: LaunchedWorker) {
        guard let pid = worker.pid else { return }
        kill(pid, SIGTERM)
        waitpid(pid, nil, 0)
    }

    public func isActive(id: String) -> Bool { Int32(id).map(GroupProcess.isAlive) ?? false }
}
