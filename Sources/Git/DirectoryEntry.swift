#if canImport(Glibc)
import Glibc
#endif

/// One name in a directory, as `readdir` lists it: the one way this project reads a directory
/// where Foundation's enumerators would cost too much (paths on the per-run path).
public struct DirectoryEntry: Sendable {
    /// The name; bytes that are not UTF-8 are replaced, and `isUTF8` is false.
    public let name: String
    /// False when the name's bytes are not UTF-8: `name` then does not name the file.
    public let isUTF8: Bool
    /// True for a directory (a symbolic link to one is not).
    public let isDirectory: Bool

    /// The names in the directory at `path` (`.` and `..` left out); none when it cannot be read.
    public static func list(_ path: String) -> [DirectoryEntry] {
        guard let stream = opendir(path) else { return [] }
        defer { closedir(stream) }
        var entries: [DirectoryEntry] = []
        while let entry = readdir(stream) {
            let (name, isUTF8) = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                let characters = bytes.bindMemory(to: CChar.self).baseAddress!
                return String(validatingCString: characters).map { ($0, true) } ?? (String(cString: characters), false)
            }
            if name == "." || name == ".." { continue }
            var isDirectory = entry.pointee.d_type == DT_DIR
            if entry.pointee.d_type == DT_UNKNOWN {
                var status = stat()
                isDirectory = lstat(path + "/" + name, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
            }
            entries.append(DirectoryEntry(name: name, isUTF8: isUTF8, isDirectory: isDirectory))
        }
        return entries
    }
}
