import Foundation
import Git
#if canImport(Glibc)
import Glibc
#endif

/// The ledger index's entries on disk, `.git/autoresearch/ledger-index`: an 16-byte header
/// (`ARLIDX02` and the file's generation, a random number), then one entry per record in ledger
/// order, each framed so that it can be read from either end without reading the others:
///
///     LENGTH (u32) | PAYLOAD | CHECKSUM (u32 FNV-1a of PAYLOAD) | LENGTH (u32)
///     PAYLOAD: commit (40 hex digits) | start (f64 bits, u64) | status | flags | ordinal (u32)
///              | experiment (u32 length, bytes) | run (u32 length, bytes) | the record's line
///
/// Integers are little-endian; the status is its place in `RunStatus.allCases`. Only the bytes
/// up to the length the summary names (`LedgerSummary`) count: an append torn by `kill -9`
/// leaves bytes past it, which the next append overwrites. A rebuilt file gets a new generation
/// and is written to a temporary file, then renamed; a damaged entry reads as `Damaged`.
final class LedgerEntries {
    /// An entry whose framing or checksum is wrong: the cache is rebuilt.
    struct Damaged: Error {}

    static let magic = Array("ARLIDX02".utf8)
    static let headerSize = 16
    let generation: UInt64
    private let descriptor: Int32

    private init(descriptor: Int32, generation: UInt64) {
        self.descriptor = descriptor
        self.generation = generation
    }

    deinit { close(descriptor) }

    /// The file's size in bytes.
    var size: Int {
        var status = stat()
        return fstat(descriptor, &status) == 0 ? Int(status.st_size) : 0
    }

    /// The entries file at `path`, open; nil when it is missing or not one.
    static func open(_ path: String) -> LedgerEntries? {
        let descriptor = Glibc.open(path, O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        var header = [UInt8](repeating: 0, count: headerSize)
        guard pread(descriptor, &header, headerSize, 0) == headerSize, Array(header.prefix(8)) == magic else {
            close(descriptor)
            return nil
        }
        return LedgerEntries(descriptor: descriptor, generation: Bytes.integer(header[8...], UInt64.self))
    }

    /// Writes `records` as a new entries file at `path` (a temporary file, then a rename) and
    /// opens it; the offset of each record's entry, and the file's length.
    static func create(_ path: String, records: [IndexedRecord]) throws -> (entries: LedgerEntries, offsets: [Int], length: Int) {
        var bytes = magic
        Bytes.append(UInt64.random(in: 1...UInt64.max), to: &bytes)
        var offsets: [Int] = []
        offsets.reserveCapacity(records.count)
        for record in records {
            offsets.append(bytes.count)
            encode(record, into: &bytes)
        }
        try StateFile.replace(path, with: bytes)
        guard let entries = open(path) else { throw AutoresearchError("cannot read \(path) just written") }
        return (entries, offsets, bytes.count)
    }

    /// Writes `records` after the first `length` bytes (what a torn append left there is
    /// overwritten and cut); the offset of each record's entry and the new length.
    func append(_ records: [IndexedRecord], at length: Int) throws -> (offsets: [Int], length: Int) {
        var bytes: [UInt8] = []
        var offsets: [Int] = []
        for record in records {
            offsets.append(length + bytes.count)
            Self.encode(record, into: &bytes)
        }
        let written = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(length)) }
        guard written == bytes.count, ftruncate(descriptor, off_t(length + bytes.count)) == 0 else {
            throw AutoresearchError("cannot append to the ledger index: \(String(cString: strerror(errno)))")
        }
        return (offsets, length + bytes.count)
    }

    /// The record whose entry starts at `offset`, and where the next entry starts.
    func record(at offset: Int) throws -> (record: IndexedRecord, next: Int) {
        let length = Int(Bytes.integer(try read(4, at: offset)[...], UInt32.self))
        let frame = try read(length + 12, at: offset)
        return (try Self.decode(frame[...]), offset + length + 12)
    }

    /// The record whose entry ends at `end`, and where its entry starts.
    func record(endingAt end: Int) throws -> (record: IndexedRecord, start: Int) {
        guard end - 4 >= Self.headerSize else { throw Damaged() }
        let length = Int(Bytes.integer(try read(4, at: end - 4)[...], UInt32.self))
        let start = end - length - 12
        guard start >= Self.headerSize else { throw Damaged() }
        return (try Self.decode(try read(length + 12, at: start)[...]), start)
    }

    /// Every record in the first `length` bytes, in file order, with its entry's offset: one read.
    func all(upTo length: Int) throws -> [(record: IndexedRecord, offset: Int)] {
        let bytes = try read(length - Self.headerSize, at: Self.headerSize)
        var records: [(IndexedRecord, Int)] = []
        var position = 0
        while position < bytes.count {
            guard position + 4 <= bytes.count else { throw Damaged() }
            let size = Int(Bytes.integer(bytes[position...], UInt32.self)) + 12
            guard position + size <= bytes.count else { throw Damaged() }
            records.append((try Self.decode(bytes[position..<(position + size)]), position + Self.headerSize))
            position += size
        }
        return records
    }

    private func read(_ count: Int, at offset: Int) throws -> [UInt8] {
        guard count >= 0, count < 1 << 31 else { throw Damaged() }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            guard got > 0 else { throw Damaged() }
            done += got
        }
        return bytes
    }

    private static func encode(_ record: IndexedRecord, into bytes: inout [UInt8]) {
        var payload = Array(record.commit.hex.utf8)
        Bytes.append(record.start.bitPattern, to: &payload)
        payload.append(UInt8(RunStatus.allCases.firstIndex(of: record.status)!))
        payload.append(record.flags.rawValue)
        Bytes.append(UInt32(record.ordinal), to: &payload)
        for text in [record.experiment, record.run] {
            Bytes.append(UInt32(text.utf8.count), to: &payload)
            payload += text.utf8
        }
        payload += record.line.utf8
        Bytes.append(UInt32(payload.count), to: &bytes)
        bytes += payload
        Bytes.append(Bytes.checksum32(payload[...]), to: &bytes)
        Bytes.append(UInt32(payload.count), to: &bytes)
    }

    /// The record in one framed entry.
    private static func decode(_ frame: ArraySlice<UInt8>) throws -> IndexedRecord {
        let start = frame.startIndex, length = Int(Bytes.integer(frame, UInt32.self))
        guard frame.count == length + 12, Int(Bytes.integer(frame[(frame.endIndex - 4)...], UInt32.self)) == length else { throw Damaged() }
        let payload = frame[(start + 4)..<(start + 4 + length)]
        guard Bytes.integer(frame[(start + 4 + length)...], UInt32.self) == Bytes.checksum32(payload), length >= 54 else { throw Damaged() }
        var position = payload.startIndex + 54
        func text() throws -> String {
            guard position + 4 <= payload.endIndex else { throw Damaged() }
            let count = Int(Bytes.integer(payload[position...], UInt32.self))
            guard position + 4 + count <= payload.endIndex else { throw Damaged() }
            defer { position += 4 + count }
            return String(decoding: payload[(position + 4)..<(position + 4 + count)], as: UTF8.self)
        }
        let base = payload.startIndex
        let statusIndex = Int(payload[base + 48])
        guard let commit = OID(hex: String(decoding: payload[base..<(base + 40)], as: UTF8.self)),
              statusIndex < RunStatus.allCases.count else { throw Damaged() }
        let experiment = try text(), run = try text()
        return IndexedRecord(commit: commit, start: Double(bitPattern: Bytes.integer(payload[(base + 40)...], UInt64.self)),
                             status: RunStatus.allCases[statusIndex], flags: IndexedRecord.Flags(rawValue: payload[base + 49]),
                             experiment: experiment, run: run, ordinal: Int(Bytes.integer(payload[(base + 50)...], UInt32.self)),
                             line: String(decoding: payload[position...], as: UTF8.self))
    }
}

/// The ledger index's summary, `.git/autoresearch/ledger-index-summary`: what the entries file
/// holds (its generation, valid length and count, the notes commit it reflects) and each
/// experiment's running aggregates, so that `status` and `best` read no entry. JSON, then a line
/// with its 64-bit FNV-1a; written to a temporary file and renamed after the entries it names.
struct LedgerSummary: Codable {
    static let version = 2
    var version = LedgerSummary.version
    /// The notes commit the index reflects (nil: no notes yet), in hexadecimal.
    var notesCommit: String?
    var generation: UInt64
    /// The bytes of the entries file that count.
    var length: Int
    var count = 0
    var experiments: [String: RunSummary] = [:]

    /// The summary in the file at `path`; nil when it is missing, damaged or of another version.
    static func read(_ path: String) -> LedgerSummary? {
        guard let data = FileManager.default.contents(atPath: path), let split = data.lastIndex(of: UInt8(ascii: "\n"), before: data.endIndex - 1) else { return nil }
        let body = data[..<split]
        guard String(decoding: data[(split + 1)...], as: UTF8.self) == String(Bytes.checksum64(body), radix: 16) + "\n",
              let summary = try? JSONDecoder().decode(LedgerSummary.self, from: body), summary.version == version else { return nil }
        return summary
    }

    /// Writes the summary to `path` (a temporary file, then a rename).
    func write(to path: String) throws {
        let body = try JSONEncoder().encode(self)
        try StateFile.replace(path, with: Array(body) + Array("\n\(String(Bytes.checksum64(body), radix: 16))\n".utf8))
    }
}

extension RunStatus: Codable {}

private extension Data {
    func lastIndex(of byte: UInt8, before end: Int) -> Int? {
        guard end > startIndex else { return nil }
        return self[..<end].lastIndex(of: byte)
    }
}

/// Little-endian integers and checksums of byte arrays.
enum Bytes {
    static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    /// The integer at the start of `bytes` (which must hold it).
    static func integer<T: FixedWidthInteger>(_ bytes: ArraySlice<UInt8>, _ type: T.Type) -> T {
        var value: T = 0
        for (shift, byte) in bytes.prefix(MemoryLayout<T>.size).enumerated() { value |= T(byte) << (8 * shift) }
        return value
    }

    static func checksum32<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var hash: UInt32 = 0x811c_9dc5
        for byte in bytes { hash = (hash ^ UInt32(byte)) &* 0x0100_0193 }
        return hash
    }

    static func checksum64<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }
}
