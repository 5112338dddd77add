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
/// made is on the remote, and keep it (saying where) when not.
enum CloneWorker {
    /// The worker's options file, relative to its clone.
    static let optionsFile = ".git/autoresearch-worker.options"

    /// The script for worker `index`, cloning `branch` of `remoteURL`; `options` are the worker's
    /// `LoopOptions` as JSON; `command` runs the worker in the clone, reading `optionsFile`.
    static func script(index: Int, remoteURL: String, branch: String, options: String, command: String) -> String {
        """
        scratch=$(mktemp -d "${SLURM_TMPDIR:-${TMPDIR:-/tmp}}/autoresearch-w\(index).XXXXXX") || exit 1
        child=
        # Stopped before the worker started (while cloning): nothing of it to keep.
        trap 'if [ -n "$child" ]; then kill -TERM $child 2>/dev/null; else cd / && rm -rf "$scratch"; exit 143; fi' INT TERM
        git clone -q --branch \(ShellText.quoted(branch)) -- \(ShellText.quoted(remoteURL)) "$scratch/repo" && cd "$scratch/repo" || { rm -rf "$scratch"; exit 1; }
        cat > \(optionsFile) <<'AUTORESEARCH_OPTIONS'
        \(options)
        AUTORESEARCH_OPTIONS
        ( \(command) ) &
        child=$!
        status=0
        wait $child || status=$?
        while kill -0 $child 2>/dev/null; do wait $child; status=$?; done
        if ! git rev-parse -q --verify refs/notes/autoresearch >/dev/null ||
           { git fetch -q origin refs/notes/autoresearch && git merge-base --is-ancestor refs/notes/autoresearch FETCH_HEAD; }; then
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
