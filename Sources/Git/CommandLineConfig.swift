import Clibgit2
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The settings given on git's command line (`git -c key=value`, `git --config-env`), which git
/// hands its subcommands in `GIT_CONFIG_PARAMETERS` and `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_<n>`/
/// `GIT_CONFIG_VALUE_<n>`. libgit2 1.5.1 reads neither: every repository this wrapper opens gets
/// them as its highest-priority configuration level, as git does. (libgit2 writes a setting to
/// the highest level, so this wrapper never writes through a repository's configuration: the tool
/// writes configuration only through `ConfigFile`.)
public enum CommandLineConfig {
    /// One setting; a nil value is a key given without `=` (boolean true).
    public typealias Entry = (key: String, value: String?)

    /// The settings of `environment`, in git's order (`GIT_CONFIG_COUNT` ones first, then
    /// `GIT_CONFIG_PARAMETERS`; the last value of a key wins).
    public static func entries(in environment: [String: String]) throws -> [Entry] {
        var entries: [Entry] = []
        if let countText = environment["GIT_CONFIG_COUNT"], !countText.isEmpty {
            guard let count = Int(countText), count >= 0 else { throw bogus("GIT_CONFIG_COUNT", "'\(countText)' is not a count") }
            for index in 0..<count {
                guard let key = environment["GIT_CONFIG_KEY_\(index)"], let value = environment["GIT_CONFIG_VALUE_\(index)"] else {
                    throw bogus("GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_\(index) or GIT_CONFIG_VALUE_\(index) is missing")
                }
                entries.append((key, value))
            }
        }
        if let parameters = environment["GIT_CONFIG_PARAMETERS"] { entries += try parse(parameters) }
        return entries
    }

    /// Parses `GIT_CONFIG_PARAMETERS`: space-separated `'key'='value'` (git 2.31 and later; `'key'=`
    /// for a key without value) or `'key=value'` (older git), each single-quoted the way a shell
    /// would read it (`'\''` for a quote).
    public static func parse(_ text: String) throws -> [Entry] {
        var rest = Substring(text)
        var entries: [Entry] = []
        while true {
            rest = rest.drop(while: \.isWhitespace)
            guard !rest.isEmpty else { return entries }
            let key = try dequote(&rest)
            if rest.isEmpty || rest.first!.isWhitespace {
                let parts = key.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                entries.append((String(parts[0]), parts.count > 1 ? String(parts[1]) : nil))
            } else if rest.first == "=" {
                rest = rest.dropFirst()
                if rest.isEmpty || rest.first!.isWhitespace {
                    entries.append((key, nil))
                } else {
                    entries.append((key, try dequote(&rest)))
                    guard rest.isEmpty || rest.first!.isWhitespace else { throw bogus("GIT_CONFIG_PARAMETERS", "text after a quoted value") }
                }
            } else {
                throw bogus("GIT_CONFIG_PARAMETERS", "text after a quoted key")
            }
        }
    }

    /// Reads one single-quoted word from the front of `text`, as git's `sq_dequote_step`.
    private static func dequote(_ text: inout Substring) throws -> String {
        guard text.first == "'" else { throw bogus("GIT_CONFIG_PARAMETERS", "a setting does not start with a quote") }
        text = text.dropFirst()
        var word = ""
        while let character = text.first {
            text = text.dropFirst()
            guard character == "'" else { word.append(character); continue }
            // `'\X'` continues the word with X; anything else ends it.
            let escape = Array(text.prefix(3))
            guard escape.count == 3, escape[0] == "\\", escape[2] == "'" else { return word }
            word.append(escape[1])
            text = text.dropFirst(3)
        }
        throw bogus("GIT_CONFIG_PARAMETERS", "a quote is not closed")
    }

    /// The settings in git-config syntax: `[section "subsection"]` then `name = "value"`.
    public static func configText(_ entries: [Entry]) throws -> String {
        var text = ""
        for (key, value) in entries {
            guard let firstDot = key.firstIndex(of: "."), let lastDot = key.lastIndex(of: "."),
                  key[..<firstDot].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }), !key[..<firstDot].isEmpty,
                  let initial = key[key.index(after: lastDot)...].first, initial.isASCII, initial.isLetter,
                  key[key.index(after: lastDot)...].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
                throw bogus("git -c", "'\(key)' is not a valid configuration key (section.name or section.subsection.name)")
            }
            let section = key[..<firstDot]
            let name = key[key.index(after: lastDot)...]
            let header = firstDot == lastDot ? "[\(section)]" : "[\(section) \"\(escaped(key[key.index(after: firstDot)..<lastDot]))\"]"
            text += header + "\n\t" + name + (value.map { " = \"\(escaped($0))\"" } ?? "") + "\n"
        }
        return text
    }

    private static func escaped<S: StringProtocol>(_ text: S) -> String {
        var result = ""
        for character in text {
            switch character {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            default: result.append(character)
            }
        }
        return result
    }

    private static func bogus(_ source: String, _ problem: String) -> GitError {
        GitError(.invalid, operation: "read the settings of git -c (\(source))", message: problem)
    }

    /// The settings of this process's environment as a configuration file libgit2 can read,
    /// made once: an unlinked temporary file kept open, named through `/proc/self/fd`. Nil when
    /// there are none.
    static let layerPath: Result<String?, GitError> = Result {
        let settings = try Self.entries(in: ProcessInfo.processInfo.environment)
        guard !settings.isEmpty else { return nil }
        let text = try configText(settings)
        var template = Array((NSTemporaryDirectory() + "/git-autoresearch-config.XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0, fcntl(descriptor, F_SETFD, FD_CLOEXEC) == 0 else {
            throw GitError.system("keep the settings of git -c")
        }
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == bytes.count else {
            throw GitError.system("keep the settings of git -c")
        }
        return "/proc/self/fd/\(descriptor)"
    }.mapError { $0 as? GitError ?? GitError(.generic, operation: "read the settings of git -c", message: "\($0)") }
}

extension Repository {
    /// Adds the settings of `git -c` to this repository's configuration, above every other level.
    func addCommandLineConfig() throws {
        guard let path = try CommandLineConfig.layerPath.get() else { return }
        var config: OpaquePointer?
        try check(git_repository_config(&config, pointer), "read the repository configuration")
        defer { git_config_free(config) }
        try check(git_config_add_file_ondisk(config, path, GIT_CONFIG_LEVEL_APP, pointer, 0), "read the settings of git -c")
    }
}
