import Foundation

/// Text the tool did not write itself (descriptions, reasons, commands, log lines, patches,
/// names from a pulled ledger), made safe to show: a control character is printed as a visible
/// mark instead of acting on the terminal (changing its title, clearing the screen, moving the
/// cursor) or splitting a one-line row.
public enum UntrustedText {
    /// `text` with every control character visible: C0 controls and DEL in caret notation
    /// (ESC `^[`, BEL `^G`, CR `^M`, DEL `^?`), C1 controls as `<U+009B>`. In one-line text
    /// (`multiline` false) a newline becomes `⏎` and a tab `^I`; in multi-line text both stay.
    public static func visible(_ text: String, multiline: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var shown = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n" where multiline, "\t" where multiline: shown.append(scalar)
            case "\n": shown.append("⏎")
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                shown.append("^")
                shown.append(Unicode.Scalar(UInt8(scalar.value ^ 0x40)))
            case _ where isControl(scalar):
                shown.append(contentsOf: String(format: "<U+%04X>", scalar.value).unicodeScalars)
            default: shown.append(scalar)
            }
        }
        return String(shown)
    }

    /// One cell of a Markdown table: one line, controls visible, `|` escaped.
    public static func markdownCell(_ text: String) -> String {
        visible(text).replacingOccurrences(of: "|", with: "\\|")
    }

    /// C0 controls, DEL and C1 controls (U+0080 to U+009F; U+009B is a one-byte CSI on some terminals).
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// `text` with backslash escapes for `\\`, tab, newline and carriage return (and `"` when
    /// `quotes`): one field of a line format (logfmt values, TSV cells) that holds no break.
    public static func backslashEscaped(_ text: String, quotes: Bool = false) -> String {
        // Most texts need no escape: they are returned as they are (a log of 100,000 runs escapes 700,000 cells).
        guard text.utf8.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || (quotes && $0 == 0x22) }) else { return text }
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"" where quotes: escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\t": escaped += "\\t"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}
