import Foundation

/// Text made safe for an HTML page: untrusted text (descriptions, metric names, log lines,
/// patches from pulled notes) never becomes markup.
enum HTML {
    /// `text` with `&`, `<`, `>`, `"` and `'` as character references: safe in element content
    /// and in quoted attribute values. Controls are made visible first.
    static func escape(_ text: String, multiline: Bool = false) -> String {
        changes(text, multiline: multiline) ? escapedCharacterByCharacter(text, multiline: multiline) : text
    }

    /// What `escape` returns when the text has something to change: the controls made visible,
    /// then each character (a grapheme: `&` with a combining mark is not `&`) escaped.
    static func escapedCharacterByCharacter(_ text: String, multiline: Bool) -> String {
        var escaped = ""
        for character in UntrustedText.visible(text, multiline: multiline) {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// False when `escape` returns `text` as it is (most run ids, descriptions, a chart's hover
    /// texts): no character to escape, no control but, in `multiline` text, line feeds and tabs
    /// (C1 controls are U+0080 to U+009F, in UTF-8 0xC2 then 0x80 to 0x9F).
    private static func changes(_ text: String, multiline: Bool) -> Bool {
        var previous: UInt8 = 0
        for byte in text.utf8 {
            switch byte {
            case 0x0A, 0x09: if !multiline { return true }
            case 0..<0x20, 0x7F, UInt8(ascii: "&"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\""), UInt8(ascii: "'"): return true
            case 0x80...0x9F where previous == 0xC2: return true
            default: break
            }
            previous = byte
        }
        return false
    }

    /// Markdown-like text of the reports (code in backticks) as HTML: escaped, each backtick
    /// pair a `<code>` element.
    static func inlineCode(_ text: String) -> String {
        escape(text).split(separator: "`", omittingEmptySubsequences: false).enumerated()
            .map { $0.offset % 2 == 1 ? "<code>\($0.element)</code>" : String($0.element) }.joined()
    }

    /// An HTML table: `head` cells (already HTML) and rows of cells (already HTML).
    static func table(_ head: [String], _ rows: [[String]], attributes: String = "") -> String {
        let header = "<thead><tr>" + head.map { "<th>\($0)</th>" }.joined() + "</tr></thead>"
        let body = rows.map { "<tr>" + $0.map { "<td>\($0)</td>" }.joined() + "</tr>" }.joined(separator: "\n")
        return "<table\(attributes)>\(header)\n<tbody>\n\(body)\n</tbody></table>"
    }

    /// The anchor of a run's details in the page.
    static func runAnchor(_ run: String) -> String { "run-" + escape(run) }
}
