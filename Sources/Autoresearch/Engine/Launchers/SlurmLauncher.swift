import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Workers as SLURM batch jobs, one job (one task) per worker, submitted with `sbatch` and
/// watched with `scontrol`, stopped with `scancel` (`loop --jobs N --launcher slurm`). The job
/// runs the worker in its work tree, which must be on a file system the node shares with the
/// loop; its output goes to files next to the worker's state file, which the loop follows.
/// SLURM's own settings (`SLURM_CONF`, the default partition) come from the environment.
public final class SlurmLauncher: WorkerLauncher {
    public let name = "slurm"
    public let workersAreChildren = false
    public let pollInterval = 1.0
    public let resubmissions: Int
    /// `sbatch` options given by the user (`--launcher-arg`, the experiment's `launcherArgs`).
    public let arguments: [String]
    /// The `sbatch` options this launcher sets itself, refused in `arguments`.
    static let reservedOptions = ["--output", "-o", "--error", "-e", "--chdir", "-D", "--wrap", "--parsable", "--open-mode",
                                  "--job-name", "-J", "--array", "-a"]
    /// The files of a worker's job, after its `WorkerJob.filesPrefix`: the job script, stdout, stderr.
    static let fileSuffixes = [".sbatch", ".out", ".err"]
    /// What the last `scontrol` answer said of each job, for when SLURM does not answer for a while.
    private var lastStates: [String: WorkerJobState] = [:]

    public init(arguments: [String], resubmissions: Int = 3) {
        self.arguments = arguments
        self.resubmissions = resubmissions
    }

    /// Throws when an `sbatch` option is not one (no leading `-`) or is one the launcher sets itself.
    public static func check(arguments: [String]) throws {
        for argument in arguments {
            let option = String(argument.split(separator: "=", maxSplits: 1).first ?? "")
            guard argument.hasPrefix("-") else {
                throw AutoresearchError("'\(argument)' is not an sbatch option", hint: "give each option with its value in one argument: --launcher-arg=--partition=gpu")
            }
            let reserved = reservedOptions.first { option == $0 || ($0.count == 2 && option.hasPrefix($0) && !option.hasPrefix("--")) }
            if let reserved {
                throw AutoresearchError("the sbatch option \(reserved) is set by the loop itself", hint: "leave it out of --launcher-arg and launcherArgs")
            }
        }
    }

    public func submit(_ job: WorkerJob) throws -> LaunchedWorker {
        let jobName = "autoresearch-w\(job.index)"
        let script = job.filesPrefix + Self.fileSuffixes[0]
        // Without a shared file system the output stays on the node, in a file named after the job.
        let (output, errors) = job.sharesFiles ? (job.filesPrefix + Self.fileSuffixes[1], job.filesPrefix + Self.fileSuffixes[2])
                                               : ("/tmp/%x-%j.out", "/tmp/%x-%j.err")
        let exports = job.environment.sorted { $0.key < $1.key }.map { "export \($0.key)=\(ShellText.quoted($0.value))\n" }.joined()
        let text = "#!/bin/sh\n# A worker of git autoresearch loop --launcher slurm.\n\(exports)cd \(ShellText.quoted(job.directory)) || exit 1\n\(job.command)\n"
        for (path, contents) in [(script, text)] + (job.sharesFiles ? [(output, ""), (errors, "")] : []) {
            guard FileManager.default.createFile(atPath: path, contents: Data(contents.utf8)) else {
                throw AutoresearchError("cannot write \(path)")
            }
        }
        let options = ["--parsable", "--job-name=\(jobName)", "--output=\(output)", "--error=\(errors)",
                       "--open-mode=append", "--chdir=\(job.directory)"] + arguments
        let answer = try Self.run("sbatch", options + [script])
        guard answer.status == 0, let id = answer.lines.first.map({ String($0.prefix { $0.isNumber }) }), !id.isEmpty else {
            throw AutoresearchError("sbatch did not take worker \(job.index): \(answer.lines.joined(separator: " "))",
                                    hint: "check the sbatch options (--launcher-arg, the experiment's launcherArgs) and that SLURM answers ('sinfo')")
        }
        lastStates[id] = .queued(reason: "submitted")
        // Output left on a node is not the loop's to follow (a file of that name here may be another job's).
        return LaunchedWorker(id: id, pid: nil, output: job.sharesFiles ? .files(output: output, errors: errors) : .files(output: "", errors: ""))
    }

    /// Where the job is, from `scontrol`. When SLURM does not answer, the last answer stands; a
    /// job this launcher never heard of (one of a loop that is gone) is then taken as ended.
    public func state(of worker: LaunchedWorker) -> WorkerJobState {
        let unanswered = lastStates[worker.id] ?? .ended(.lost("unknown: SLURM does not answer"))
        guard let answer = try? Self.run("scontrol", ["-o", "show", "job", worker.id]) else { return unanswered }
        guard answer.status == 0, let line = answer.lines.first(where: { $0.contains("JobState=") }) else {
            // Forgotten by SLURM (it keeps ended jobs a few minutes): ended without a word.
            if answer.lines.contains(where: { $0.contains("Invalid job id") }) { return .ended(.lost("gone from SLURM")) }
            return unanswered
        }
        let state = Self.state(fromShowJob: line)
        lastStates[worker.id] = state
        return state
    }

    /// The state in a line of `scontrol -o show job`.
    static func state(fromShowJob line: String) -> WorkerJobState {
        var fields: [String: String] = [:]
        for word in line.split(separator: " ") {
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        let node = fields["NodeList"].flatMap { $0 == "(null)" || $0.isEmpty ? nil : $0 }
        switch fields["JobState"] ?? "" {
        case "RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING":
            return .running(node: node)
        case "COMPLETED", "FAILED":
            let codes = (fields["ExitCode"] ?? "0:0").split(separator: ":").compactMap { Int32($0) }
            let (code, signal) = (codes.first ?? 0, codes.count > 1 ? codes[1] : 0)
            return .ended(signal != 0 ? .signaled(signal) : .exited(code))
        case "CANCELLED", "PREEMPTED", "NODE_FAIL", "TIMEOUT", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE":
            return .ended(.lost((fields["JobState"] ?? "").lowercased().replacingOccurrences(of: "_", with: " ")))
        default:
            return .queued(reason: fields["Reason"] ?? "pending")
        }
    }

    public func signal(_ worker: LaunchedWorker, _ signal: Int32) {
        // A job still queued has no process to tell: it is cancelled.
        _ = try? Self.run("scancel", ["--state=PENDING", worker.id])
        _ = try? Self.run("scancel", ["--batch", "--signal=\(signal)", worker.id])
    }

    public func cancel(_ worker: LaunchedWorker) {
        _ = try? Self.run("scancel", [worker.id])
        let deadline = Date().addingTimeInterval(90)
        while isActive(id: worker.id), Date() < deadline { usleep(250_000) }
    }

    public func isActive(id: String) -> Bool {
        switch state(of: LaunchedWorker(id: id, pid: nil, output: .files(output: "", errors: ""))) {
        case .queued, .running: return true
        case .ended: return false
        }
    }

    /// Runs a SLURM command with `arguments`; its exit status and output lines (stdout and stderr).
    private static func run(_ program: String, _ arguments: [String]) throws -> (status: Int32, lines: [String]) {
        let log = NSTemporaryDirectory() + "autoresearch-\(program)-\(getpid())-\(UUID().uuidString).log"
        defer { unlink(log) }
        var lines: [String] = []
        let command = ([program] + arguments).map(ShellText.quoted).joined(separator: " ")
        let result = try GroupProcess.run(command, in: "/", environment: ProcessInfo.processInfo.environment, hardLimit: 60, grace: 1,
                                          logPath: log, logLimit: 1 << 16, onLine: { lines.append(String($0)) })
        guard case .exited(let status) = result.termination else {
            throw AutoresearchError("\(program) did not finish: \(result.termination)")
        }
        if status == 127 { throw AutoresearchError("\(program) is not installed here", hint: "install SLURM's client commands (Debian: slurm-client), or use --launcher local") }
        return (status, lines)
    }
}

/// Text for `/bin/sh`.
public enum ShellText {
    /// `text` in single quotes, as one word.
    public static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
