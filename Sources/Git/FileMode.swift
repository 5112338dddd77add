import Clibgit2

/// The mode of a tree entry, as git writes it.
///
/// Trees written elsewhere can hold other modes (old git wrote `0o100664`, `0o100775`); git and
/// libgit2 read those as the nearest of these five (`0o100664` is `.blob`, `0o100775` is
/// `.executable`), and so does this wrapper, so any tree read can be written back.
public enum FileMode: UInt32, Sendable {
    /// A regular file.
    case blob = 0o100644
    /// An executable file.
    case executable = 0o100755
    /// A symbolic link; the blob holds its target.
    case link = 0o120000
    /// A subdirectory.
    case tree = 0o040000
    /// A submodule (gitlink): the entry's id is a commit of another repository.
    case commit = 0o160000

    /// Maps libgit2's normalized mode (`git_tree_entry_filemode`) to its case.
    init(_ mode: git_filemode_t) {
        switch mode {
        case GIT_FILEMODE_TREE: self = .tree
        case GIT_FILEMODE_BLOB_EXECUTABLE: self = .executable
        case GIT_FILEMODE_LINK: self = .link
        case GIT_FILEMODE_COMMIT: self = .commit
        default: self = .blob
        }
    }

    /// libgit2's form, for tree builders.
    var libgit2Mode: git_filemode_t { git_filemode_t(rawValue) }
}
