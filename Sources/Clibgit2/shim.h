#ifndef CLIBGIT2_SHIM_H
#define CLIBGIT2_SHIM_H
#include <git2.h>
#include <git2/sys/diff.h>
#include <git2/sys/repository.h>
#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>
#include <malloc.h>
#include <sys/vfs.h>

/// `git_libgit2_opts` is variadic, which Swift cannot call: one non-variadic entry per option used.
static inline int clibgit2_set_owner_validation(int enabled) {
    return git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, enabled);
}
static inline int clibgit2_set_strict_object_creation(int enabled) {
    return git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, enabled);
}
static inline int clibgit2_set_cache_object_limit(git_object_t type, size_t bytes) {
    return git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, type, bytes);
}

/// libgit2 deflates every object it writes with a new zlib stream, whose 256 KB of state is
/// allocated and freed each time. With glibc's defaults that memory comes from the top of the
/// heap and goes back to the kernel on the free (`brk`), so each object also pays for fresh pages
/// (page faults, zeroing): 0.9 ms of a 6.8 ms iteration. Freed memory up to 64 MB is now kept for
/// the next allocation. Setting any threshold turns off glibc's moving mmap threshold, so it is
/// set where that one ends (32 MB): blocks below it come from the heap and are reused, where a
/// fixed 1 MB made `report` at 100k runs map and fault in its large arrays again (+30% CPU).
static inline void clibgit2_keep_freed_memory(void) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

/// Writes an object of `type` holding `data` into `odb` and sets `out` to its id. libgit2 1.5's
/// `git_odb_write` first looks for the object and, not finding it, reads the pack directory
/// again (an `opendir` and `readdir` of `objects/pack`) before it writes: for every new object.
/// A new object is written here through the one backend that writes (the repository's loose
/// objects) without that refresh, when the database has its two default backends (loose objects
/// and packs: no alternates, no custom backend). An object found without a refresh, and any
/// other database, go through `git_odb_write`, which also freshens an existing object's time.
static inline int clibgit2_write_object(git_oid *out, git_odb *odb, const void *data, size_t length, git_object_t type) {
    int error = git_odb_hash(out, data, length, type);
    if (error < 0)
        return error;
    git_odb_backend *writer = NULL;
    if (git_odb_num_backends(odb) == 2 && !git_odb_exists_ext(odb, out, GIT_ODB_LOOKUP_NO_REFRESH)) {
        int writers = 0;
        for (size_t position = 0; position < 2; position++) {
            git_odb_backend *backend = NULL;
            if (git_odb_get_backend(&backend, odb, position) == 0 && backend->write) {
                writer = backend;
                writers++;
            }
        }
        if (writers != 1)
            writer = NULL;
    }
    if (writer)
        return writer->write(writer, out, data, length, type);
    return git_odb_write(out, odb, data, length, type);
}

/// The type of the file system holding `path` (`statfs`'s `f_type`, its magic number), -1 when
/// it cannot be told: `sys/vfs.h` is not in Swift's Glibc module.
static inline long clibgit2_file_system_type(const char *path) {
    struct statfs info;
    return statfs(path, &info) == 0 ? (long)info.f_type : -1;
}
#endif
