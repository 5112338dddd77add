import Clibgit2

/// One file in git-config syntax (`.gitmodules`-style), read and written with libgit2.
public final class ConfigFile {
    let pointer: OpaquePointer
    /// The file's path.
    public let path: String

    /// Opens `path`; a missing file reads as empty and is created on the first write.
    public init(path: String) throws {
        Repository.ensureLibraryReady()
        var handle: OpaquePointer?
        try check(git_config_open_ondisk(&handle, path), "read config file \(path)")
        pointer = handle!
        self.path = path
    }

    /// Takes ownership of a libgit2 configuration; `path` names it in errors.
    init(owning pointer: OpaquePointer, path: String) {
        self.pointer = pointer
        self.path = path
    }

    deinit { git_config_free(pointer) }

    /// The last value of `key` (`section.subsection.name`), or nil when unset.
    public func string(_ key: String) throws -> String? {
        var buffer = git_buf()
        defer { git_buf_dispose(&buffer) }
        let code = git_config_get_string_buf(&buffer, pointer, key)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, "read \(key) from \(path)")
        return String(cString: buffer.ptr)
    }

    /// Every value of a multi-valued `key`, in file order. The section and the variable name
    /// are matched without regard to case, as git does (`launcherArgs`); the subsection exactly.
    public func strings(_ key: String) throws -> [String] {
        try entries(matching: "^" + Self.escapeRegex(Self.canonicalName(key)) + "$").map(\.value)
    }

    /// `key` as git reports names: section and variable name lower-cased, the subsection kept.
    private static func canonicalName(_ key: String) -> String {
        guard let first = key.firstIndex(of: "."), let last = key.lastIndex(of: ".") else { return key }
        return key[..<first].lowercased() + key[first..<last] + key[last...].lowercased()
    }

    /// Every `(name, value)` whose name matches a regular expression, in file order.
    /// Names come back lower-cased in section and key, as git reports them.
    public func entries(matching regex: String) throws -> [(name: String, value: String)] {
        var iterator: OpaquePointer?
        try check(git_config_iterator_glob_new(&iterator, pointer, regex), "list \(regex) in \(path)")
        defer { git_config_iterator_free(iterator) }
        var result: [(String, String)] = []
        var entry: UnsafeMutablePointer<git_config_entry>?
        while git_config_next(&entry, iterator) == 0, let current = entry?.pointee {
            result.append((String(cString: current.name), String(cString: current.value)))
        }
        return result
    }

    /// Sets `key` to a single value.
    public func set(_ key: String, _ value: String) throws {
        try check(git_config_set_string(pointer, key, value), "set \(key) in \(path)")
    }

    /// Replaces all values of `key` by `values` (in order); an empty list removes the key.
    public func setAll(_ key: String, _ values: [String]) throws {
        try remove(key)
        for value in values {
            try check(git_config_set_multivar(pointer, key, "^$", value), "add \(key) in \(path)")
        }
    }

    /// Removes every value of `key`; does nothing when it is unset.
    public func remove(_ key: String) throws {
        let code = git_config_delete_multivar(pointer, key, ".*")
        if code == GIT_ENOTFOUND.rawValue { return }
        try check(code, "remove \(key) from \(path)")
    }

    private static func escapeRegex(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if "\\^$.|?*+()[]{}".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}
