import Foundation
import Git
#if canImport(Glibc)
import Glibc
#endif

/// The ledger index's entries on disk, `.git/autoresearch/ledger-index`: an 16-byte header
/// (`ARLIDX03` and the file's generation, a random number), then one entry per record in ledger
/// order, each framed so that it can be read from either end without reading the others:
///
///     LENGTH (u32) | PAYLOAD | CHECKSUM (u32 FNV-1a of PAYLOAD) | LENGTH (u32)
///     PAYLOAD: commit (40 hex digits) | start (f64) | status | flags | ordinal (u32) | value (f64)
///              | best before (f64) | duration (f64) | worker (i64) | experiment | run | host
///              | description | evaluator | the record's line
///
/// Integers are little-endian, f64 its bits as a u64, texts a u32 length and UTF-8 bytes; the
/// status is its place in `RunStatus.allCases`; the flags (`IndexedRecord.Flags`) say which of
/// value, best before, worker and evaluator are present. Only the bytes
/// up to the length the summary names (`LedgerSummary`) count: an append torn by `kill -9`
/// leaves bytes past it, which the next append overwrites. A rebuilt file gets a new generation
/// and is written to a temporary file, then renamed; a damaged entry reads as `Damaged`.
final class LedgerEntries {
    /// An entry whose framing or checksum is wrong: the cache is rebuilt.
    struct Damaged: Error {}

    static let magic = Array("ARLIDX03".utf8)
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
        let (frame, start) = try self.frame(endingAt: end)
        return (try Self.decode(frame), start)
    }

    /// The entry that ends at `end`, not decoded, and where it starts.
    func frame(endingAt end: Int) throws -> (frame: ArraySlice<UInt8>, start: Int) {
        guard end - 4 >= Self.headerSize else { throw Damaged() }
        let length = Int(Bytes.integer(try read(4, at: end - 4)[...], UInt32.self))
        let start = end - length - 12
        guard start >= Self.headerSize else { throw Damaged() }
        return (try read(length + 12, at: start)[...], start)
    }

    /// The records in the first `length` bytes, in file order, whose `Key` `wanted` accepts:
    /// the others are not decoded. Read in chunks of a few megabytes.
    func records(upTo length: Int, where wanted: (Key) -> Bool = { _ in true }) throws -> [IndexedRecord] {
        var records: [IndexedRecord] = []
        var pending = ArraySlice<UInt8>(), next = Self.headerSize
        while next < length || !pending.isEmpty {
            let size = pending.count >= 4 ? Int(Bytes.integer(pending, UInt32.self)) + 12 : 4
            guard pending.count >= size else {
                guard next < length else { throw Damaged() }
                let count = min(max(Self.chunkSize, size - pending.count), length - next)
                pending += try read(count, at: next)
                next += count
                continue
            }
            let frame = pending.prefix(size)
            if let record = try Self.decode(frame, if: wanted) { records.append(record) }
            pending = pending.dropFirst(size)
        }
        return records
    }

    private static let chunkSize = 1 << 23

    /// What an entry says of its record before it is decoded, read in place: for filters.
    struct Key {
        let status: RunStatus
        let flags: IndexedRecord.Flags
        /// The record's start, seconds since the reference date.
        let startSeconds: Double
        /// UTF-8.
        let experiment: ArraySlice<UInt8>
        let run: ArraySlice<UInt8>
        /// 40 hexadecimal digits.
        let commit: ArraySlice<UInt8>
        /// The record's value, when it has one.
        let value: Double?
    }

    /// The record in one framed entry when `wanted` accepts its key (its checksum is checked then).
    static func decode(_ frame: ArraySlice<UInt8>, if wanted: (Key) -> Bool) throws -> IndexedRecord? {
        let base = frame.startIndex + 4
        guard frame.count >= fixedSize + 12 else { throw Damaged() }
        var position = base + fixedSize
        func text() throws -> ArraySlice<UInt8> {
            guard position + 4 <= frame.endIndex - 8 else { throw Damaged() }
            let start = position + 4, end = start + Int(Bytes.integer(frame[position...], UInt32.self))
            guard end <= frame.endIndex - 8 else { throw Damaged() }
            position = end
            return frame[start..<end]
        }
        let statusIndex = Int(frame[base + 48]), flags = IndexedRecord.Flags(rawValue: frame[base + 49])
        guard statusIndex < RunStatus.allCases.count else { throw Damaged() }
        let key = Key(status: RunStatus.allCases[statusIndex], flags: flags,
                      startSeconds: Double(bitPattern: Bytes.integer(frame[(base + 40)...], UInt64.self)),
                      experiment: try text(), run: try text(), commit: frame[base..<(base + 40)],
                      value: flags.contains(.hasValue) ? Double(bitPattern: Bytes.integer(frame[(base + 54)...], UInt64.self)) : nil)
        return wanted(key) ? try decode(frame) : nil
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

    /// The bytes of the payload before its texts.
    private static let fixedSize = 86

    private static func encode(_ record: IndexedRecord, into bytes: inout [UInt8]) {
        var payload = Array(record.commit.hex.utf8)
        Bytes.append(record.startSeconds.bitPattern, to: &payload)
        payload.append(UInt8(RunStatus.allCases.firstIndex(of: record.status)!))
        payload.append(record.flags.rawValue)
        Bytes.append(UInt32(record.ordinal), to: &payload)
        for number in [record.value ?? 0, record.bestBefore ?? 0, record.duration] { Bytes.append(number.bitPattern, to: &payload) }
        Bytes.append(Int64(record.worker ?? 0), to: &payload)
        for text in [record.experiment, record.run, record.host, record.description, record.evaluator ?? ""] {
            Bytes.append(UInt32(text.utf8.count), to: &payload)
            payload += text.utf8
        }
        payload += record.lineBytes
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
        guard Bytes.integer(frame[(start + 4 + length)...], UInt32.self) == Bytes.checksum32(payload), length >= fixedSize else { throw Damaged() }
        let base = payload.startIndex
        var position = base + fixedSize
        func text() throws -> String {
            guard position + 4 <= payload.endIndex else { throw Damaged() }
            let count = Int(Bytes.integer(payload[position...], UInt32.self))
            guard position + 4 + count <= payload.endIndex else { throw Damaged() }
            defer { position += 4 + count }
            return String(decoding: payload[(position + 4)..<(position + 4 + count)], as: UTF8.self)
        }
        func number(at offset: Int) -> Double { Double(bitPattern: Bytes.integer(payload[(base + offset)...], UInt64.self)) }
        let statusIndex = Int(payload[base + 48]), flags = IndexedRecord.Flags(rawValue: payload[base + 49])
        guard let commit = OID(hex: String(decoding: payload[base..<(base + 40)], as: UTF8.self)),
              statusIndex < RunStatus.allCases.count else { throw Damaged() }
        let (experiment, run, host, description, evaluator) = (try text(), try text(), try text(), try text(), try text())
        return IndexedRecord(commit: commit, startSeconds: number(at: 40), status: RunStatus.allCases[statusIndex], flags: flags,
                             experiment: experiment, run: run, value: flags.contains(.hasValue) ? number(at: 54) : nil,
                             bestBefore: flags.contains(.hasBestBefore) ? number(at: 62) : nil, duration: number(at: 70), host: host,
                             worker: flags.contains(.hasWorker) ? Int(Bytes.integer(payload[(base + 78)...], Int64.self)) : nil,
                             evaluator: flags.contains(.hasEvaluator) ? evaluator : nil, description: description,
                             ordinal: Int(Bytes.integer(payload[(base + 50)...], UInt32.self)), lineBytes: payload[position...])
    }
}

/// The ledger index's summary, `.git/autoresearch/ledger-index-summary`: what the entries file
/// holds (its generation, valid length and count, the notes commit it reflects) and each
/// experiment's running aggregates, so that `status` and `best` read no entry. JSON, then a line
/// with its 64-bit FNV-1a; written to a temporary file and renamed after the entries it names.
struct LedgerSummary: Codable {
    static let version = 3
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
