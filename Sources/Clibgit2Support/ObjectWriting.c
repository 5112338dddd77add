#include "ObjectWriting.h"
#include <git2/sys/odb_backend.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* See ObjectWriting.h. */
int clibgit2_write_object(git_oid *out, git_odb *odb, const void *data, size_t length, git_object_t type) {
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

/* The entries of a tree builder, gathered by `git_treebuilder_filter` (which keeps them all). */
typedef struct {
    const git_tree_entry **entries;
    size_t count, capacity;
} clibgit2_tree_entries;

static int clibgit2_gather_entry(const git_tree_entry *entry, void *payload) {
    clibgit2_tree_entries *gathered = payload;
    if (gathered->count == gathered->capacity) {
        size_t capacity = gathered->capacity ? gathered->capacity * 2 : 64;
        const git_tree_entry **grown = realloc(gathered->entries, capacity * sizeof *grown);
        if (!grown)
            return 0; /* counted below as an entry missing */
        gathered->entries = grown;
        gathered->capacity = capacity;
    }
    gathered->entries[gathered->count++] = entry;
    return 0;
}

/* git's order of tree entries: by name, byte by byte, a tree's name followed by "/". */
static int clibgit2_compare_entries(const void *first, const void *second) {
    const git_tree_entry *a = *(const git_tree_entry *const *)first, *b = *(const git_tree_entry *const *)second;
    const char *name_a = git_tree_entry_name(a), *name_b = git_tree_entry_name(b);
    size_t length_a = strlen(name_a), length_b = strlen(name_b), shared = length_a < length_b ? length_a : length_b;
    int order = memcmp(name_a, name_b, shared);
    if (order)
        return order;
    unsigned char next_a = length_a > shared ? (unsigned char)name_a[shared] : git_tree_entry_type(a) == GIT_OBJECT_TREE ? '/' : 0;
    unsigned char next_b = length_b > shared ? (unsigned char)name_b[shared] : git_tree_entry_type(b) == GIT_OBJECT_TREE ? '/' : 0;
    return (int)next_a - (int)next_b;
}

/* See ObjectWriting.h. */
int clibgit2_write_tree(git_oid *out, git_odb *odb, git_treebuilder *builder) {
    clibgit2_tree_entries gathered = { NULL, 0, 0 };
    int error = git_treebuilder_filter(builder, clibgit2_gather_entry, &gathered);
    if (error >= 0 && gathered.count != git_treebuilder_entrycount(builder))
        error = -1;
    char *bytes = NULL;
    if (error >= 0) {
        qsort(gathered.entries, gathered.count, sizeof *gathered.entries, clibgit2_compare_entries);
        size_t size = 0;
        for (size_t position = 0; position < gathered.count; position++)
            size += 8 + strlen(git_tree_entry_name(gathered.entries[position])) + 1 + GIT_OID_RAWSZ;
        bytes = malloc(size ? size : 1);
        if (!bytes)
            error = -1;
        size_t written = 0;
        for (size_t position = 0; error >= 0 && position < gathered.count; position++) {
            const git_tree_entry *entry = gathered.entries[position];
            written += (size_t)sprintf(bytes + written, "%o %s", (unsigned)git_tree_entry_filemode_raw(entry), git_tree_entry_name(entry)) + 1;
            memcpy(bytes + written, git_tree_entry_id(entry)->id, GIT_OID_RAWSZ);
            written += GIT_OID_RAWSZ;
        }
        if (error >= 0)
            error = clibgit2_write_object(out, odb, bytes, written, GIT_OBJECT_TREE);
    }
    free(bytes);
    free(gathered.entries);
    return error;
}

