#ifndef CLIBGIT2_OBJECT_WRITING_H
#define CLIBGIT2_OBJECT_WRITING_H
#include <git2.h>

/// Writes an object of `type` holding `data` into `odb` and sets `out` to its id. libgit2 1.5's
/// `git_odb_write` first looks for the object and, not finding it, reads the pack directory
/// again (an `opendir` and `readdir` of `objects/pack`) before it writes: for every new object.
/// A new object is written here through the one backend that writes (the repository's loose
/// objects) without that refresh, when the database has its two default backends (loose objects
/// and packs: no alternates, no custom backend). An object found without a refresh, and any
/// other database, go through `git_odb_write`, which also freshens an existing object's time.
int clibgit2_write_object(git_oid *out, git_odb *odb, const void *data, size_t length, git_object_t type);

/// Writes the tree `builder` holds, as `git_treebuilder_write` would (entries in git's order,
/// "MODE NAME\0" and the raw id each), through `clibgit2_write_object`.
int clibgit2_write_tree(git_oid *out, git_odb *odb, git_treebuilder *builder);
#endif
