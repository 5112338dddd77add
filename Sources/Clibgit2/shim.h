#ifndef CLIBGIT2_SHIM_H
#define CLIBGIT2_SHIM_H
#include <git2.h>
#include <git2/sys/diff.h>
#include <git2/sys/repository.h>
#include <git2/sys/mempack.h>
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

/// The type of the file system holding `path` (`statfs`'s `f_type`, its magic number), -1 when
/// it cannot be told: `sys/vfs.h` is not in Swift's Glibc module.
static inline long clibgit2_file_system_type(const char *path) {
    struct statfs info;
    return statfs(path, &info) == 0 ? (long)info.f_type : -1;
}
#endif
