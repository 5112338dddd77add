/// The rule for every path that configuration or a record names under a root (the work tree, or
/// the directory `artifacts --out` writes to): it must stay inside. Checked on the text, before
/// anything is read, written or deleted; `Workspace.resolveInside` also follows symbolic links.
enum ContainedPath {
    /// Why `path` (relative, `/`-separated, globs allowed) could leave its root or reach into `.git`;
    /// nil when it cannot.
    static func problem(_ path: String) -> String? {
        if path.isEmpty { return "the path is empty" }
        if path.hasPrefix("/") { return "'\(path)' is absolute" }
        if path.utf8.contains(0) { return "the path holds a NUL byte" }
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        if components.contains("..") { return "'..' leaves the work tree" }
        if components.first(where: { $0 != "." && !$0.isEmpty })?.lowercased() == ".git" { return "'.git' is git's own directory" }
        return nil
    }

    /// Why `name`, one entry of a stored tree, could not be written as one file or directory under
    /// a root (`.`, `..`, `.git` in any case, a `/`, a NUL byte, or empty); nil when it can.
    static func entryProblem(_ name: String) -> String? {
        if name.isEmpty || name == "." || name == ".." { return "'\(name)' is not a file name" }
        if name.contains("/") { return "'\(name)' holds a '/'" }
        if name.lowercased() == ".git" { return "'\(name)' is git's own directory" }
        if name.utf8.contains(0) { return "the name holds a NUL byte" }
        return nil
    }
}
