import ArgumentParser
import Autoresearch
import Foundation

/// Output of tabular reports.
enum TableFormat: String, ExpressibleByArgument, CaseIterable {
    case table, tsv, csv, markdown, json
}

/// Rows of cells with a header, printed as an aligned table, TSV, CSV, a Markdown table or JSON
/// (an array of objects with the JSON keys and values given per row, each written when appended
/// into one buffer, so that 100,000 rows keep neither their fields nor a string each). Cells may hold any text:
/// the table and Markdown show controls visibly on one line; TSV, CSV and JSON escape them so
/// that a reader gets the exact text back.
struct Table {
    var header: [String]
    var rows: [[String]] = []
    /// The rows' JSON objects, each after a comma: the JSON array without its brackets.
    private var jsonRows: [UInt8] = []
    /// One writer for the rows given as fields.
    private var writer = JSONWriter()

    init(header: [String]) { self.header = header }

    mutating func append(_ cells: [String], json: [String: Any?]) {
        rows.append(cells)
        jsonRows += ("," + (json.isEmpty ? "{}" : Terminal.json(json))).utf8
    }

    /// A row whose JSON object has `fields` (rows built the same way share one writer); `{}` when
    /// a value has no JSON form, as `Terminal.json`.
    mutating func append(_ cells: [String], fields: [(key: String, value: JSONValue)]) {
        rows.append(cells)
        let start = jsonRows.count
        jsonRows.append(UInt8(ascii: ","))
        do { try writer.write(fields, into: &jsonRows) } catch {
            jsonRows.removeSubrange((start + 1)...)
            jsonRows += "{}".utf8
        }
    }

    func render(_ format: TableFormat) -> String {
        switch format {
        case .json:
            // One copy of what may be 50 MB: the rows after their first comma, in brackets.
            let rows = jsonRows.dropFirst()
            return String(unsafeUninitializedCapacity: rows.count + 2) { text in
                text[0] = UInt8(ascii: "[")
                _ = UnsafeMutableBufferPointer(rebasing: text[1...]).initialize(from: rows)
                text[rows.count + 1] = UInt8(ascii: "]")
                return rows.count + 2
            }
        case .tsv:
            return ([header.map { $0.lowercased() }] + rows).map { $0.map(Self.tsvCell).joined(separator: "\t") }.joined(separator: "\n")
        case .csv:
            return ([header.map { $0.lowercased() }] + rows).map { $0.map(Self.csvCell).joined(separator: ",") }.joined(separator: "\n")
        case .markdown:
            let lines = [header, header.map { _ in "---" }] + rows
            return lines.map { "| " + $0.map(UntrustedText.markdownCell).joined(separator: " | ") + " |" }
                .joined(separator: "\n")
        case .table:
            let rows = self.rows.map { $0.map { UntrustedText.visible($0) } }
            let header = self.header.map { UntrustedText.visible($0) }
            let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
            return ([header] + rows).enumerated().map { index, row in
                let line = row.enumerated().map { column, cell in
                    column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                }.joined(separator: "  ")
                return index == 0 ? Terminal.paint(line, .bold) : line
            }.joined(separator: "\n")
        }
    }

    /// A TSV field holds no tab or line break: backslash escapes, as PostgreSQL's and MySQL's
    /// text formats read them (`\\`, `\t`, `\n`, `\r`).
    private static func tsvCell(_ cell: String) -> String { UntrustedText.backslashEscaped(cell) }

    /// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
    private static func csvCell(_ cell: String) -> String {
        guard cell.unicodeScalars.contains(where: { ",\"\n\r".unicodeScalars.contains($0) }) else { return cell }
        return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
