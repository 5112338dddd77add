import Autoresearch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Output conventions of a git subcommand: colour as git decides it (see `decideColor`),
/// errors and progress on stderr. Text the tool did not write goes through
/// `UntrustedText.visible` before it is printed; errors, notices and progress do it here.
enum Terminal {
    static let stdoutIsTTY = isatty(STDOUT_FILENO) == 1
    static let stderrIsTTY = isatty(STDERR_FILENO) == 1
    /// How to decide whether text output is coloured (`decideColor`), set by `main` before the
    /// command runs.
    nonisolated(unsafe) static var colorDecision: () -> Bool = { false }
    /// Whether text output is coloured: decided on first use, so that a command printing no
    /// coloured text (`--format json`, `--quiet`, errors only) reads no colour settings.
    static let colorEnabled = colorDecision()

    enum Color: String {
        case red = "31", green = "32", yellow = "33", blue = "34", magenta = "35", cyan = "36", dim = "2", bold = "1"
    }

    static func paint(_ text: String, _ color: Color) -> String {
        colorEnabled ? "\u{1B}[\(color.rawValue)m\(text)\u{1B}[0m" : text
    }

    /// Put before every line of text output: `[w2] ` in a parallel worker, so that the lines of
    /// workers sharing a terminal can be told apart.
    nonisolated(unsafe) static var linePrefix = ""

    /// Messages echo user data (names, paths, libgit2's messages): their controls are made visible.
    static func error(_ message: String, hint: String?) {
        clearProgress()
        writeToStandardError("\(linePrefix)error: \(UntrustedText.visible(message, multiline: true))\n")
        if let hint { writeToStandardError("\(linePrefix)hint: \(UntrustedText.visible(hint, multiline: true))\n") }
    }

    static func notice(_ message: String) {
        clearProgress()
        writeToStandardError("\(linePrefix)\(UntrustedText.visible(message, multiline: true))\n")
    }

    /// Rewrites one status line on stderr (terminals only); the line may end with the evaluator's output.
    static func progress(_ line: String) {
        guard stderrIsTTY else { return }
        let width = 100
        let line = UntrustedText.visible(line)
        let shown = line.count > width ? String(line.prefix(width - 1)) + "…" : line
        writeToStandardError("\r\u{1B}[K\(shown)")
        progressShown = true
    }

    static func clearProgress() {
        guard progressShown else { return }
        writeToStandardError("\r\u{1B}[K")
        progressShown = false
    }

    nonisolated(unsafe) private static var progressShown = false

    /// Writes `text` to stderr, ignoring failures: a closed terminal (EIO) or a reader that went
    /// away (EPIPE, with SIGPIPE ignored) must not stop the tool while it records a run.
    static func writeToStandardError(_ text: String) {
        var rest = Array(text.utf8)[...]
        while !rest.isEmpty {
            let written = rest.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
            guard written > 0 else { return }
            rest = rest.dropFirst(written)
        }
    }

    /// `object` as one line of JSON, its nil values left out, keys sorted (`JSONWriter`: the bytes
    /// `JSONSerialization` writes with `.sortedKeys` and `.withoutEscapingSlashes`); `{}` when a
    /// value has no JSON form.
    static func json(_ object: [String: Any?]) -> String {
        var writer = JSONWriter()
        return (try? writer.object(object)) ?? "{}"
    }

    /// `fields` as one line of JSON, as `json(_:)` writes the dictionary of them.
    static func json(_ fields: [(key: String, value: JSONValue)]) -> String {
        var writer = JSONWriter()
        return (try? writer.object(fields)) ?? "{}"
    }
}
