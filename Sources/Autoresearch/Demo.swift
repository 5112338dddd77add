import Foundation
import Git

/// The built-in demo: a throwaway repository with an example experiment (a shell "training"
/// script whose loss depends on a learning rate) and a scripted agent that edits the rate.
public enum Demo {
    public static let experimentName = "demo"

    /// The scripted agent's edits, in order: (learning rate, description). They give keeps,
    /// discards and a crash (a negative rate makes the evaluator fail).
    public static let edits: [(rate: String, description: String)] = [
        ("0.20", "raise learning rate to 0.20"),
        ("0.60", "try a much larger learning rate, 0.60"),
        ("-0.10", "negative learning rate (breaks the trainer)"),
        ("0.30", "learning rate 0.30"),
        ("0.35", "learning rate 0.35"),
    ]

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
        settings.evaluate = "sh evaluate.sh"
        settings.metric = "loss"
        settings.direction = .lower
        settings.budget = 10
        settings.guards = ["evaluate.sh"]
        settings.program = "program.md"
        _ = try workspace.initialize(settings)
        return workspace
    }

    /// Makes the scripted agent's edit: sets the learning rate in the work tree.
    public static func apply(rate: String, in workspace: Workspace) throws {
        try write(workspace.root + "/params.env", "LEARNING_RATE=\(rate)\n")
    }

    private static func write(_ path: String, _ text: String, executable: Bool = false) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path) }
    }
}
