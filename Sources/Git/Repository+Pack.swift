import Clibgit2

extension Repository {
    /// Opens the repository at `path` with every object `write` creates kept in memory, then
    /// stores them as one pack: for writing many objects at once (a loose file per object costs
    /// a file each). Only the commits written inside, and what they reach, are stored (libgit2's
    /// mempack packs its commits): make a commit of what must stay. The objects can be read inside
    /// `write`, references set there are written as usual; its repository must not be used after it.
    public static func writingOnePack<T>(at path: String, _ write: (Repository) throws -> T) throws -> T {
        let repository = try Repository(path: path)
        var odb: OpaquePointer?
        try check(git_repository_odb(&odb, repository.pointer), "open the object database")
        defer { git_odb_free(odb) }
        var memory: OpaquePointer?
        try check(git_mempack_new(&memory), "make an object database in memory")
        try check(git_odb_add_backend(odb, memory, 999), "add an object database in memory")  // the database owns it now
        let result = try write(repository)
        var pack = git_buf()
        defer { git_buf_dispose(&pack) }
        try check(git_mempack_dump(&pack, repository.pointer, memory), "pack the objects written in memory")
        var writer: UnsafeMutablePointer<git_odb_writepack>?
        try check(git_odb_write_pack(&writer, odb, nil, nil), "start writing a pack")
        guard let writer else { throw GitError(.generic, operation: "start writing a pack", message: "no pack writer") }
        defer { writer.pointee.free(writer) }
        var progress = git_indexer_progress()
        try check(writer.pointee.append(writer, pack.ptr, pack.size, &progress), "write a pack")
        try check(writer.pointee.commit(writer, &progress), "finish writing a pack")
        try check(git_mempack_reset(memory), "empty the object database in memory")
        return result
    }
}
