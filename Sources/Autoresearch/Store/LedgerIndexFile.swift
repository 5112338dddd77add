import Foundation
import Git
#if canImport(Glibc)
import Glibc
#endif

/// The ledger index on disk, one line per record:
///
///     autoresearch-ledger-index 1 NOTES-COMMIT|-
///     COMMIT<TAB>START<TAB>STATUS<TAB>EXPERIMENT<TAB>RUN<TAB>ORDINAL<TAB>LINE
///     ...
///     end COUNT CHECKSUM
///
/// START is the bit pattern of the start time in hexadecimal (exact); text fields escape `\`,
/// tab, newline and carriage return with a backslash; CHECKSUM is the 64-bit FNV-1a of the
/// record lines, so a damaged or truncated file reads as none. Written whole, then renamed.
enum LedgerIndexFile {
    static let magic = "autoresearch-ledger-index 1"

    /// The index in the file at `path`; nil when it is missing or damaged.
    static func read(_ path: String) -> LedgerIndex? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return data.withUnsafeBytes { decode(Array($0.bindMemory(to: UInt8.self))) }
    }

    /// Writes `index` to `path` atomically (a temporary file of this process, then a rename).
    static func write(_ index: LedgerIndex, to path: String) throws {
        var body: [UInt8] = []
        body.reserveCapacity(index.records.count * 256)
        for record in index.records { append(record, to: &body) }
        var bytes = Array("\(magic) \(index.notesCommit?.hex ?? "-")\n".utf8) + body
        bytes += Array("end \(index.records.count) \(String(checksum(body[...]), radix: 16))\n".utf8)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let partial = path + ".\(getpid()).tmp"
        guard FileManager.default.createFile(atPath: partial, contents: Data(bytes)), rename(partial, path) == 0 else {
            unlink(partial)
            throw AutoresearchError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    private static func append(_ record: IndexedRecord, to bytes: inout [UInt8]) {
        let fields = [record.commit.hex, String(record.start.bitPattern, radix: 16), record.status.rawValue,
                      record.experiment, record.run, String(record.ordinal), record.line]
        for (number, field) in fields.enumerated() {
            if number > 0 { bytes.append(tab) }
            escape(field, into: &bytes)
        }
        bytes.append(newline)
    }

    private static func decode(_ bytes: [UInt8]) -> LedgerIndex? {
        let lines = bytes.split(separator: newline, omittingEmptySubsequences: false)
        guard lines.count >= 3, lines.last?.isEmpty == true else { return nil }
        let header = String(decoding: lines[0], as: UTF8.self)
        guard header.hasPrefix(magic + " ") else { return nil }
        let notes = header.dropFirst(magic.count + 1)
        let notesCommit = OID(hex: String(notes))
        guard notesCommit != nil || notes == "-" else { return nil }
        let recordLines = lines[1..<(lines.count - 2)]
        let bodyStart = lines[0].count + 1, bodyEnd = bodyStart + recordLines.reduce(0) { $0 + $1.count + 1 }
        let trailer = "end \(recordLines.count) \(String(checksum(bytes[bodyStart..<bodyEnd]), radix: 16))"
        guard String(decoding: lines[lines.count - 2], as: UTF8.self) == trailer else { return nil }
        var records: [IndexedRecord] = []
        records.reserveCapacity(recordLines.count)
        for line in recordLines {
            guard let record = record(from: line) else { return nil }
            records.append(record)
        }
        return LedgerIndex(notesCommit: notesCommit, records: records)
    }

    private static func record(from line: ArraySlice<UInt8>) -> IndexedRecord? {
        let fields = line.split(separator: tab, omittingEmptySubsequences: false)
        guard fields.count == 7, let commit = OID(hex: String(decoding: fields[0], as: UTF8.self)),
              let startBits = UInt64(String(decoding: fields[1], as: UTF8.self), radix: 16),
              let status = RunStatus(rawValue: String(decoding: fields[2], as: UTF8.self)),
              let ordinal = Int(String(decoding: fields[5], as: UTF8.self)),
              let experiment = unescape(fields[3]), let run = unescape(fields[4]), let text = unescape(fields[6]) else { return nil }
        return IndexedRecord(commit: commit, start: Double(bitPattern: startBits), status: status,
                             experiment: experiment, run: run, ordinal: ordinal, line: text)
    }

    private static let tab = UInt8(ascii: "\t"), newline = UInt8(ascii: "\n"), backslash = UInt8(ascii: "\\")
    private static let carriageReturn = UInt8(ascii: "\r")

    private static func escape(_ text: String, into bytes: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case backslash: bytes += [backslash, backslash]
            case tab: bytes += [backslash, UInt8(ascii: "t")]
            case newline: bytes += [backslash, UInt8(ascii: "n")]
            case carriageReturn: bytes += [backslash, UInt8(ascii: "r")]
            default: bytes.append(byte)
            }
        }
    }

    /// The text of an escaped field; nil for an escape `escape` does not write.
    private static func unescape(_ field: ArraySlice<UInt8>) -> String? {
        guard field.contains(backslash) else { return String(decoding: field, as: UTF8.self) }
        var bytes: [UInt8] = []
        var escaped = false
        for byte in field {
            if escaped {
                switch byte {
                case backslash: bytes.append(backslash)
                case UInt8(ascii: "t"): bytes.append(tab)
                case UInt8(ascii: "n"): bytes.append(newline)
                case UInt8(ascii: "r"): bytes.append(carriageReturn)
                default: return nil
                }
                escaped = false
            } else if byte == backslash {
                escaped = true
            } else {
                bytes.append(byte)
            }
        }
        return escaped ? nil : String(decoding: bytes, as: UTF8.self)
    }

    /// 64-bit FNV-1a.
    private static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }
}
