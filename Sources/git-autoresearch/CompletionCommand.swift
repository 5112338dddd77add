import ArgumentParser

extension GitAutoresearch {
    struct Completion: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "completion",
            abstract: "Print the shell completion script, for both 'git autoresearch' and 'git-autoresearch'.",
            discussion: """
            'make install' installs them (bash: share/bash-completion/completions/git-autoresearch, \
            which git's own bash completion loads for 'git autoresearch'; zsh: \
            share/zsh/site-functions/_git-autoresearch; fish: \
            share/fish/vendor_completions.d/git-autoresearch.fish, and for 'git autoresearch' \
            share/fish/vendor_conf.d/git-autoresearch.fish, which --git-hook prints). To try one \
            in the current shell: source <(git autoresearch completion bash)
            """)

        @Argument(help: "The shell: bash, zsh or fish.")
        var shell: String

        @Flag(help: "fish: print only what completes 'git autoresearch' (for fish's vendor_conf.d).")
        var gitHook = false

        mutating func run() throws {
            guard let shell = CompletionShell(rawValue: shell) else {
                throw ValidationError("unknown shell '\(self.shell)': use bash, zsh or fish")
            }
            if gitHook {
                guard shell == .fish else { throw ValidationError("--git-hook is for fish only") }
                print(Self.gitFishHook, terminator: "")
                return
            }
            print(GitAutoresearch.completionScript(for: shell), terminator: "")
            if shell == .bash { print(Self.gitBashHook) }
            if shell == .fish { print(Self.gitFishHook, terminator: "") }
        }

        /// fish's git completion offers git-* commands by name but (before fish 3.7) does not
        /// complete their arguments: `git autoresearch ARGS` completes as `git-autoresearch ARGS`.
        static let gitFishHook = """

        function __git_autoresearch_complete
            set -l words (commandline -opc)
            set -l at (contains -i -- autoresearch $words)
            complete -C (string join ' ' -- git-autoresearch $words[(math $at + 1)..-1] (commandline -ct))
        end
        complete -c git -f -n '__fish_git_using_command autoresearch' -a '(__git_autoresearch_complete)'

        """

        /// git's bash completion completes `git autoresearch ...` with `_git_autoresearch` (loading
        /// this file through bash-completion's `_completion_loader git-autoresearch` first): it
        /// hands the words after `autoresearch` to the function that completes `git-autoresearch`.
        static let gitBashHook = #"""

        _git_autoresearch() {
            local -i start=${__git_cmd_idx:-1}
            local -a COMP_WORDS=(git-autoresearch "${words[@]:start+1}")
            local -i COMP_CWORD=$((cword - start))
            local COMP_LINE="${COMP_WORDS[*]}"
            local -i COMP_POINT=${#COMP_LINE}
            _git-autoresearch git-autoresearch "${cur}" "${COMP_WORDS[COMP_CWORD-1]}"
        }
        """#
    }
}
