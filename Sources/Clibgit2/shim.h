#ifndef CLIBGIT2_SHIM_H
#define CLIBGIT2_SHIM_H
#include <git2.h>
#include <git2/sys/diff.h>
#include <git2/sys/repository.h>
#include <git2/sys/mempack.h>
#include <malloc.h>

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
/// (page faults, zeroing). Freed memory up to 16 MB is kept for the next allocation instead, and
/// blocks under 1 MB always come from the heap (a fixed threshold, not glibc's moving one).
static inline void clibgit2_keep_freed_memory(void) {
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    mallopt(M_TRIM_THRESHOLD, 16 << 20);
}
#endif
