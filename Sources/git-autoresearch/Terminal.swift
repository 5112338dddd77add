import Autoresearch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Output conventions of a git subcommand: colour only on a terminal (and not with NO_COLOR),
/// errors and progress on stderr. Text the tool did not write goes through
/// `UntrustedText.visible` before it is printed; errors, notices and progress do it here.
enum Terminal {
    static let stdoutIsTTY = isatty(STDOUT_FILENO) == 1
    static let stderrIsTTY = isatty(STDERR_FILENO) == 1
    /// `AUTORESEARCH_COLOR=always` asks for colour on a pipe: the workers of a loop on a terminal
    /// print through one.
    static let colorEnabled = (stdoutIsTTY || ProcessInfo.processInfo.environment["AUTORESEARCH_COLOR"] == "always")
        && ProcessInfo.processInfo.environment["NO_COLOR"] == nil && ProcessInfo.processInfo.environment["TERM"] != "dumb"

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

    /// A patch (`git diff`'s format) coloured as git colours it: headers bold, hunk lines cyan,
    /// removed lines red, added lines green. Unchanged without colour.
    static func patch(_ text: String) -> String {
        guard colorEnabled else { return text }
        var inHeader = false
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            if line.hasPrefix("diff --git ") { inHeader = true }
            if line.hasPrefix("@@") { inHeader = false; return paint(String(line), .cyan) }
            if inHeader { return paint(String(line), .bold) }
            if line.hasPrefix("+") { return paint(String(line), .green) }
            if line.hasPrefix("-") { return paint(String(line), .red) }
            return String(line)
        }.joined(separator: "\n")
    }

    static func json(_ object: [String: Any?]) -> String {
        let cleaned = object.compactMapValues { $0 }
        let data = (try? JSONSerialization.data(withJSONObject: cleaned, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
