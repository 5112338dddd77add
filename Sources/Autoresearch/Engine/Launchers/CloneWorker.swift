import Foundation

/// Where each worker of `loop --jobs N` works (`loop --worker-tree`).
public enum WorkerTree: String, Sendable, CaseIterable {
    /// A linked work tree of this repository, on a file system the workers share with the loop.
    case shared
    /// A clone of the `--sync` remote in node-local scratch (`$SLURM_TMPDIR`, `$TMPDIR`, else
    /// `/tmp`), removed when the worker stops once its records are on the remote.
    case clone
}

/// The shell text a scheduler's job runs for a worker in its own clone (`--worker-tree clone`):
/// clone the remote's experiment branch into scratch, write the worker's options there, run the
/// worker (passing SIGINT/SIGTERM on as SIGTERM), then remove the clone when every record it
/// made is on the remote, and keep it (saying where) when not. The cloning and the check are
/// this program's hidden `clone-for-worker` and `records-pushed`: the nodes need no `git`.
enum CloneWorker {
    /// The worker's options file, relative to its clone.
    static let optionsFile = ".git/autoresearch-worker.options"

    /// The script for worker `index`, cloning experiment `experiment` of `remoteURL` with
    /// `program` (this program's path); `options` are the worker's `LoopOptions` as JSON;
    /// `command` runs the worker in the clone, reading `optionsFile`.
    static func script(index: Int, program: String, remoteURL: String, experiment: String, options: String, command: String) -> String {
        let program = ShellText.quoted(program)
        return """
        # The clone is the job's repository, whatever the loop's environment named.
        unset GIT_DIR GIT_WORK_TREE
        scratch=$(mktemp -d "${SLURM_TMPDIR:-${TMPDIR:-/tmp}}/autoresearch-w\(index).XXXXXX") || exit 1
        child=
        # Stopped before the worker started (while cloning): nothing of it to keep.
        trap 'if [ -n "$child" ]; then kill -TERM $child 2>/dev/null; else cd / && rm -rf "$scratch"; exit 143; fi' INT TERM
        \(program) clone-for-worker --experiment \(ShellText.quoted(experiment)) -- \(ShellText.quoted(remoteURL)) "$scratch/repo" && cd "$scratch/repo" || { rm -rf "$scratch"; exit 1; }
        cat > \(optionsFile) <<'AUTORESEARCH_OPTIONS'
        \(options)
        AUTORESEARCH_OPTIONS
        ( \(command) ) &
        child=$!
        status=0
        wait $child || status=$?
        while kill -0 $child 2>/dev/null; do wait $child; status=$?; done
        if \(program) records-pushed \(Workspace.cloneRemote); then
            cd / && rm -rf "$scratch"
        else
            echo "worker \(index): kept its clone $scratch/repo on $(hostname): some of its records are not on the remote; run 'git autoresearch push' there" >&2
        fi
        exit $status
        """
    }
}

extension CloneWorker {
    /// Why a worker in a clone stopped, from its exit status (as `loop` exits: 0 is `--max-runs`).
    static let stopsByExitCode: [Int32: StopReason] = [20: .maxTime, 21: .patience, 22: .maxCrashes, 130: .interrupted]
}
