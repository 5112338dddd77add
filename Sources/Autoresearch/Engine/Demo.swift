import Foundation
import Git

/// The built-in demo: a throwaway repository with an example experiment (a shell "training"
/// script whose loss depends on a learning rate) and a scripted agent (`agent.sh`) that edits the rate.
public enum Demo {
    public static let experimentName = "demo"

    /// Runs in the demo: the baseline and one per scripted edit.
    public static let runs = 7

    /// The scripted agent (no LLM): one learning rate per run from a fixed list, so the demo shows
    /// keeps, discards, a crash (a negative rate breaks the trainer) and a no-op.
    static let agent = """
    #!/bin/sh
    # Scripted demo agent (no LLM): sets the next learning rate from a fixed list, one per run.
    # A real agent reads $AUTORESEARCH_PROMPT and edits the code: see docs/agents.md.
    set -- "0.20 raise the learning rate to 0.20" \\
           "0.60 try a much larger learning rate, 0.60" \\
           "-0.10 negative learning rate (breaks the trainer)" \\
           "0.30 learning rate 0.30" \\
           "0.30 learning rate 0.30 again (changes nothing)" \\
           "0.35 learning rate 0.35"
    runs=$(($(wc -l < "$AUTORESEARCH_HISTORY") - 1))   # runs so far, baseline included
    [ "$runs" -ge 1 ] && [ "$runs" -le $# ] || exit 0
    shift $((runs - 1))
    echo "LEARNING_RATE=${1%% *}" > params.env
    echo "${1#* }" > "$AUTORESEARCH_DESCRIPTION_FILE"

    """

    static let evaluator = """
    #!/bin/sh
    # Example evaluator: "trains" with the learning rate in params.env and prints the loss.
    # A real one would run a training script under the budget in $AUTORESEARCH_BUDGET_SECONDS.
    . ./params.env
    echo "training with learning rate $LEARNING_RATE"
    awk -v lr="$LEARNING_RATE" 'BEGIN {
        if (lr <= 0) { print "error: the learning rate must be positive" > "/dev/stderr"; exit 1 }
        loss = (lr - 0.32) ^ 2 + 0.05
        printf "step 100 lr=%s\\nloss: %.5f\\n", lr, loss
    }'

    """

    static let program = """
    # Program for the agent
    Lower the loss printed by evaluate.sh by changing LEARNING_RATE in params.env.
    Do not edit evaluate.sh or .autoresearch.

    """

    /// Creates the example repository in the empty or missing directory `path`, commits the
    /// example files and configures the experiment. Returns the workspace, on the experiment branch.
    public static func setUp(at path: String) throws -> Workspace {
        let manager = FileManager.default
        if let contents = try? manager.contentsOfDirectory(atPath: path), !contents.isEmpty {
            throw AutoresearchError("\(path) is not empty", hint: "give the demo a new directory with --dir")
        }
        try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
        let repository = try Repository.create(at: path)
        try write(path + "/evaluate.sh", evaluator, executable: true)
        try write(path + "/agent.sh", agent, executable: true)
        try write(path + "/params.env", "LEARNING_RATE=0.10\n")
        try write(path + "/program.md", program)
        guard case .branch(let branch, nil) = try repository.head() else {
            throw AutoresearchError("the new repository at \(path) is not on an unborn branch")
        }
        let commit = try repository.createCommit(tree: try repository.stageAll(), parents: [],
                                                 message: "Example project: a trainer with a learning rate\n")
        try repository.setReference(branch, to: commit, expecting: .absent, message: "demo: initial commit")

        let workspace = try Workspace(discoveringFrom: path)
        var settings = ExperimentSettings(name: experimentName)
        settings.set(.evaluate, "sh evaluate.sh")
        settings.set(.metric, "loss")
        settings.set(.direction, Direction.lower.rawValue)
        settings.set(.budget, "10s")
        settings.set(.guards, ["evaluate.sh", "agent.sh"])
        settings.set(.agent, "sh agent.sh")
        settings.set(.program, "program.md")
        _ = try workspace.initialize(settings)
        return workspace
    }

    private static func write(_ path: String, _ text: String, executable: Bool = false) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path) }
    }
}
