import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A one-node SLURM cluster on 127.0.0.1 for the life of the value: Debian's `slurmctld` and
/// `slurmd` in the foreground, with a `slurm.conf`, state and spool directories in a temporary
/// directory, two CPUs, random ports, and `auth/none` (no munge daemon, no key: SLURM 22.05 still
/// has the plugin). Commands reach it through `environment` (`SLURM_CONF`).
public final class SlurmCluster {
    /// Why a cluster cannot run here, or nil when the daemons are installed.
    public static var unavailable: String? {
        let programs = ["/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch", "/usr/bin/squeue", "/usr/bin/scancel", "/usr/bin/scontrol"]
        guard programs.allSatisfy(FileManager.default.isExecutableFile(atPath:)) else {
            return "SLURM is not installed (apt-get install -y slurm-wlm munge; .ci/run does it)"
        }
        guard geteuid() == 0 else { return "the test SLURM cluster runs its daemons as root" }
        return nil
    }

    public let directory: String
    /// `SLURM_CONF` for the commands that use this cluster.
    public var environment: [String: String] { ["SLURM_CONF": directory + "/slurm.conf"] }
    private var daemons: [ChildProcess] = []

    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("slurm-\(UUID().uuidString.prefix(8))").path
        for sub in ["state", "spool"] {
            try FileManager.default.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
        }
        for _ in 0..<5 {
            let port = Int.random(in: 20_000..<60_000) / 2 * 2
            try Self.configuration(directory: directory, port: port).write(toFile: directory + "/slurm.conf", atomically: true, encoding: .utf8)
            let conf = directory + "/slurm.conf"
            daemons = [try ChildProcess("/usr/sbin/slurmctld", ["-D", "-c", "-i", "-f", conf], in: directory, environment: environment),
                       try ChildProcess("/usr/sbin/slurmd", ["-D", "-N", "localhost", "-f", conf], in: directory, environment: environment)]
            // Ready when the node takes jobs: `sinfo` says idle.
            if waitUntil(seconds: 20, {
                (try? runProgram("/usr/bin/sinfo", ["-h", "-o", "%T"], in: directory, environment: environment))?.stdout
                    .trimmingCharacters(in: .whitespacesAndNewlines) == "idle"
            }) { return }
            stopDaemons()
        }
        throw OracleError(description: "the SLURM daemons did not start: see \(directory)/*.log")
    }

    deinit {
        _ = try? runProgram("/usr/bin/scancel", ["--full", "--user=root"], in: directory, environment: environment)
        stopDaemons()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The jobs SLURM still has queued or running, as `squeue` lists them (`ID STATE NODE`).
    public func activeJobs() throws -> [String] {
        let output = try runProgram("/usr/bin/squeue", ["-h", "-o", "%i %T %N"], in: directory, environment: environment)
        guard output.status == 0 else { throw OracleError(description: "squeue failed: \(output.stderr)") }
        return output.stdout.split(separator: "\n").map(String.init)
    }

    /// Runs a SLURM client command against this cluster.
    @discardableResult
    public func run(_ program: String, _ arguments: [String]) throws -> ProcessOutput {
        try runProgram("/usr/bin/" + program, arguments, in: directory, environment: environment)
    }

    private func stopDaemons() {
        for daemon in daemons { kill(daemon.pid, SIGTERM) }
        for daemon in daemons { _ = daemon.wait() }
        daemons = []
    }

    /// A `slurm.conf` for one node with two CPUs; the controller on `port`, the node daemon on `port + 1`.
    private static func configuration(directory: String, port: Int) -> String {
        """
        ClusterName=autoresearch-test
        SlurmctldHost=localhost(127.0.0.1)
        SlurmctldPort=\(port)
        SlurmdPort=\(port + 1)
        AuthType=auth/none
        CredType=cred/none
        SlurmUser=root
        SlurmdUser=root
        StateSaveLocation=\(directory)/state
        SlurmdSpoolDir=\(directory)/spool
        SlurmctldPidFile=\(directory)/slurmctld.pid
        SlurmdPidFile=\(directory)/slurmd.pid
        SlurmctldLogFile=\(directory)/slurmctld.log
        SlurmdLogFile=\(directory)/slurmd.log
        ProctrackType=proctrack/linuxproc
        TaskPlugin=task/none
        SelectType=select/cons_tres
        SelectTypeParameters=CR_CPU
        MpiDefault=none
        ReturnToService=2
        KillWait=10
        InactiveLimit=0
        SchedulerParameters=sched_interval=1
        JobAcctGatherType=jobacct_gather/none
        AccountingStorageType=accounting_storage/none
        NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
        PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP

        """
    }
}
