import Foundation
import Git

/// Files the tool writes into the work tree (`report -o`, `export -o`, restored artifacts) are
/// noted with their blob ids in `LocalState.toolOutputsPath`. While such a file still holds what
/// the tool wrote, no run takes it for a change: no snapshot holds it and no discard removes it.
/// Once the user edits it, it is theirs like any other file.
///
/// A list rather than an entry in `.git/info/exclude`: an ignored file would vanish from
/// `git status` and need `git add -f`, also after the user made it their own.
extension Workspace {
    /// Writes `bytes` to `path` (absolute, or relative to the current directory) with
    /// `permissions` (nil: the default), and notes the file when it is in the work tree.
    public func writeOutput(_ bytes: [UInt8], to path: String, permissions: Int? = nil) throws {
        let attributes = permissions.map { [FileAttributeKey.posixPermissions: $0] }
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: attributes) else {
            throw AutoresearchError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        try noteToolOutput(bytes, at: path)
    }

    /// Notes that the tool wrote `bytes` at `path`, when `path` is in the work tree.
    func noteToolOutput(_ bytes: [UInt8], at path: String) throws {
        guard let relative = workTreePath(of: path) else { return }
        var noted = notedToolOutputs().filter { FileManager.default.fileExists(atPath: root + "/" + $0.key) }
        noted[relative] = try repository.hashBlob(bytes)
        let listPath = LocalState.toolOutputsPath(repository)
        let text = noted.sorted { $0.key < $1.key }.map { "\($0.value.hex) \($0.key)\n" }.joined()
        try FileManager.default.createDirectory(atPath: (listPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: listPath, atomically: true, encoding: .utf8)
    }

    /// The paths of the work tree that still hold what the tool wrote there.
    func toolOutputs() -> Set<String> {
        Set(notedToolOutputs().filter { path, blob in
            guard let bytes = FileManager.default.contents(atPath: root + "/" + path) else { return false }
            return (try? repository.hashBlob(Array(bytes))) == blob
        }.keys)
    }

    /// The noted files, by path relative to the top of the work tree.
    private func notedToolOutputs() -> [String: OID] {
        guard let bytes = LocalFile.read(LocalState.toolOutputsPath(repository), atMost: .max) else { return [:] }
        let text = String(decoding: bytes, as: UTF8.self)
        var noted: [String: OID] = [:]
        for line in text.split(separator: "\n") {
            guard let space = line.firstIndex(of: " "), let blob = OID(hex: String(line[..<space])) else { continue }
            noted[String(line[line.index(after: space)...])] = blob
        }
        return noted
    }

    /// `path` relative to the top of the work tree; nil when the file is outside it.
    private func workTreePath(of path: String) -> String? {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let top = URL(fileURLWithPath: root).resolvingSymlinksInPath().path + "/"
        return resolved.hasPrefix(top) ? String(resolved.dropFirst(top.count)) : nil
    }
}
