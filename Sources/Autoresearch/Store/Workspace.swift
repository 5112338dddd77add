import Foundation
import Git

/// A repository with a work tree, seen as a place where experiments run.
public final class Workspace {
    public let repository: Repository
    /// The top of the work tree, without trailing slash.
    public let root: String
    /// The run records of the repository.
    public let ledger: Ledger
    /// Experiments read from configuration blobs, by blob, file name and experiment: a loop
    /// reads the same blob every iteration.
    private var experimentsRead: [String: Experiment] = [:]

    /// Opens the repository containing `path`; without `path`, the one git would give a
    /// subcommand started here (`GIT_DIR` and `GIT_WORK_TREE` honoured, else the current directory's).
    public init(discoveringFrom requested: String? = nil) throws {
        let path = requested ?? FileManager.default.currentDirectoryPath
        do {
            repository = try requested.map(Repository.init(discoveringFrom:))
                ?? Repository(gitEnvironment: ProcessInfo.processInfo.environment, directory: path)
        } catch let error as GitError where error.isNotFound {
            throw AutoresearchError("not a git repository (or any parent up to /): \(path)",
                                    hint: "run this inside a git work tree, or create one with 'git init'")
        } catch let error as DubiousOwnership {
            throw AutoresearchError("\(error.description): it belongs to uid \(error.owner), you are uid \(error.user)",
                                    hint: "git refuses it too; if you trust its configuration and hooks: git config --global --add safe.directory \(error.path)")
        }
        guard let workdir = repository.workdir else {
            throw AutoresearchError("\(repository.gitDirectory) is a bare repository", hint: "experiments need a work tree: run in a clone")
        }
        root = String(workdir.dropLast())
        ledger = Ledger(repository: repository)
    }

    /// The experiment file's name in the work tree (see `ExperimentFile.name(inWorkTree:)`).
    public var experimentFileName: String { ExperimentFile.name(inWorkTree: root) }

    /// The experiment file in the work tree.
    public var experimentFilePath: String { root + "/" + experimentFileName }

    /// The experiments of this repository, sorted: those with a branch (`autoresearch/NAME`) and
    /// those known from an attempts chain (`refs/autoresearch/NAME/attempts`) whose branch is gone.
    public func experimentNames() throws -> [String] {
        let branches = try repository.references(matching: Refs.experimentBranchPrefix + "*")
            .map { String($0.name.fullName.dropFirst(Refs.experimentBranchPrefix.count)) }
        let chains = try repository.references(matching: Refs.attemptsPrefix + "*").compactMap { Refs.experiment(ofAttempts: $0.name) }
        return Set(branches + chains).sorted()
    }

    /// The experiment meant: the one named, else the one HEAD is on, else the only one.
    public func resolveExperimentName(_ requested: String?) throws -> String {
        let names = try experimentNames()
        if let requested {
            guard names.contains(requested) else {
                throw AutoresearchError("unknown experiment '\(requested)'", hint: Self.knownHint(names))
            }
            return requested
        }
        if case .branch(let branch, _) = try repository.head(), branch.hasPrefix(Refs.experimentBranchPrefix) {
            let name = String(branch.fullName.dropFirst(Refs.experimentBranchPrefix.count))
            if names.contains(name) { return name }
        }
        if names.count == 1 { return names[0] }
        if names.isEmpty {
            throw AutoresearchError("no experiment in this repository",
                                    hint: "create one: git autoresearch init --name NAME --eval 'CMD' --metric METRIC")
        }
        throw AutoresearchError("several experiments exist; say which with --experiment", hint: Self.knownHint(names))
    }

    /// The id of the experiment file committed in `commit` (nil when absent).
    func configurationEntry(at commit: OID) throws -> OID? { try configurationFile(at: commit)?.id }

    /// The experiment file committed in `commit`: `.autoresearch`, or `.autoresearch.config`
    /// when `.autoresearch` is not a file there (nil when neither is).
    func configurationFile(at commit: OID) throws -> (name: String, id: OID)? {
        let tree = try repository.commit(commit).tree
        for name in ExperimentFile.names {
            if let entry = try repository.entry(inTree: tree, path: name), entry.kind == .blob { return (name, entry.id) }
        }
        return nil
    }

    /// The experiment as configured at the tip of its branch (when the branch is gone: at the
    /// commit to restore it at).
    public func experiment(named name: String) throws -> Experiment {
        let context = context(name)
        return try context.configuration(at: context.tipOrRestorePoint().commit)
    }

    /// The experiment `name` as configured in the `.autoresearch` blob `blob` of `commit`.
    func experiment(named name: String, configuration blob: OID, in commit: OID) throws -> Experiment {
        let fileName = try configurationFile(at: commit)?.name ?? ExperimentFile.fileName
        let key = "\(blob.hex) \(fileName) \(name)"
        if let experiment = experimentsRead[key] { return experiment }
        // libgit2 parses config files only from disk: keep one copy per configuration blob.
        let cacheDirectory = LocalState.configCacheDirectory(repository)
        let cached = cacheDirectory + "/" + blob.hex
        if !FileManager.default.fileExists(atPath: cached) {
            try FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
            let partial = cached + ".\(getpid()).tmp"
            guard FileManager.default.createFile(atPath: partial, contents: Data(try repository.blob(blob))),
                  rename(partial, cached) == 0 else {
                throw AutoresearchError("cannot write \(cached)")
            }
        }
        guard let experiment = try Self.readCachedConfiguration(cached, fileName: fileName, named: name, committedIn: commit) else {
            throw AutoresearchError("\(fileName) in commit \(commit.short) has no experiment '\(name)'",
                                    hint: "configure it with git autoresearch init --name \(name) ...")
        }
        experimentsRead[key] = experiment
        return experiment
    }

    /// Reads experiment `name` from `cached`, the copy of the experiment file `fileName` of
    /// `commit`; a syntax error names that file in that commit, with libgit2's line and column.
    private static func readCachedConfiguration(_ cached: String, fileName: String, named name: String, committedIn commit: OID) throws -> Experiment? {
        do {
            return try ExperimentFile(path: cached, name: fileName).experiment(named: name)
        } catch let error as GitError {
            let message = error.message.replacingOccurrences(of: cached, with: fileName)
            throw AutoresearchError("cannot read \(fileName) in commit \(commit.short): \(message)",
                                    hint: "correct it, commit it on the experiment branch, and run again")
        }
    }

    /// Up to five paths for a message, then `...`.
    static func listPaths(_ paths: [String]) -> String {
        paths.prefix(5).joined(separator: ", ") + (paths.count > 5 ? ", ..." : "")
    }

    static func knownHint(_ names: [String]) -> String {
        names.isEmpty ? "create one: git autoresearch init --name NAME --eval 'CMD' --metric METRIC"
            : "known experiments: \(names.joined(separator: ", "))"
    }
}
