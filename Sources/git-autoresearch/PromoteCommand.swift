import ArgumentParser
import Autoresearch
import Foundation

extension GitAutoresearch {
    struct Promote: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "promote",
            abstract: "Bring the experiment's best result into one of your branches: fast-forward, or a merge commit carrying its record.",
            discussion: """
            The branch (default: the one HEAD is on, unless that is an experiment branch) must exist. \
            When it is behind the best it fast-forwards; otherwise a merge commit of the two is made, \
            its message carrying the best's record; a merge with conflicts is refused. When the branch \
            is checked out here, the work tree follows: tracked files must be unchanged, and no file is \
            overwritten. A branch checked out in another work tree is refused. Exits 0 also when the \
            branch already contains the best.
            """)

        @OptionGroup var target: ExperimentOption

        @Option(help: ArgumentHelp("The branch to bring the best into (default: the branch HEAD is on).", valueName: "branch"))
        var into: String?

        @Option(help: "Output: text or json.")
        var format: OutputFormat = .text

        mutating func run() throws {
            let (workspace, name) = try target.resolve()
            let promotion = try workspace.promote(experiment: name, into: into)
            let record = promotion.best.record
            if format == .json {
                print(Terminal.json(["experiment": name, "into": promotion.branchName, "mode": promotion.mode.rawValue,
                                     "commit": promotion.commit.hex, "best_commit": promotion.best.commit.hex,
                                     "run": record.run, "value": promotion.value]))
                return
            }
            var measure = "\(UntrustedText.visible(record.metric))=\(Number.format(promotion.value))"
            if let improvement = promotion.improvement {
                measure += String(format: ", %.1f%% %@ than the baseline", abs(improvement) * 100, improvement >= 0 ? "better" : "worse")
            }
            let best = "autoresearch/\(name) run \(record.run) (\(measure))"
            switch promotion.mode {
            case .upToDate: print("\(promotion.branchName) already contains \(best): already up to date")
            case .fastForward: print("promoted \(best) into \(promotion.branchName): fast-forward to \(promotion.commit.short)")
            case .merge: print("promoted \(best) into \(promotion.branchName): merge commit \(promotion.commit.short)")
            }
        }
    }
}
