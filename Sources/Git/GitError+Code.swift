import Clibgit2

extension GitError {
    /// libgit2's error codes (`git_error_code`): what went wrong.
    public enum Code: Libgit2Enumeration, Hashable, Sendable {
        /// `GIT_ERROR` (-1): a failure with no more specific code.
        case generic
        case notFound, exists, ambiguous, bufferTooShort, user, bareRepository, unbornBranch, unmerged
        case nonFastForward, invalidSpec, conflict, locked, modified, auth, certificate, applied, peel
        case endOfFile, invalid, uncommitted, directory, mergeConflict, passthrough, iterationOver, retry
        case mismatch, indexDirty, applyFailed, owner
        /// A code this wrapper does not name.
        case other(Int32)

        static let named: [Code] = [
            .generic, .notFound, .exists, .ambiguous, .bufferTooShort, .user, .bareRepository, .unbornBranch,
            .unmerged, .nonFastForward, .invalidSpec, .conflict, .locked, .modified, .auth, .certificate,
            .applied, .peel, .endOfFile, .invalid, .uncommitted, .directory, .mergeConflict, .passthrough,
            .iterationOver, .retry, .mismatch, .indexDirty, .applyFailed, .owner,
        ]

        public init(rawValue: Int32) { self = .from(rawValue) }

        /// libgit2's value, e.g. -3 for `.notFound`.
        public var rawValue: Int32 {
            switch self {
            case .generic: GIT_ERROR.rawValue
            case .notFound: GIT_ENOTFOUND.rawValue
            case .exists: GIT_EEXISTS.rawValue
            case .ambiguous: GIT_EAMBIGUOUS.rawValue
            case .bufferTooShort: GIT_EBUFS.rawValue
            case .user: GIT_EUSER.rawValue
            case .bareRepository: GIT_EBAREREPO.rawValue
            case .unbornBranch: GIT_EUNBORNBRANCH.rawValue
            case .unmerged: GIT_EUNMERGED.rawValue
            case .nonFastForward: GIT_ENONFASTFORWARD.rawValue
            case .invalidSpec: GIT_EINVALIDSPEC.rawValue
            case .conflict: GIT_ECONFLICT.rawValue
            case .locked: GIT_ELOCKED.rawValue
            case .modified: GIT_EMODIFIED.rawValue
            case .auth: GIT_EAUTH.rawValue
            case .certificate: GIT_ECERTIFICATE.rawValue
            case .applied: GIT_EAPPLIED.rawValue
            case .peel: GIT_EPEEL.rawValue
            case .endOfFile: GIT_EEOF.rawValue
            case .invalid: GIT_EINVALID.rawValue
            case .uncommitted: GIT_EUNCOMMITTED.rawValue
            case .directory: GIT_EDIRECTORY.rawValue
            case .mergeConflict: GIT_EMERGECONFLICT.rawValue
            case .passthrough: GIT_PASSTHROUGH.rawValue
            case .iterationOver: GIT_ITEROVER.rawValue
            case .retry: GIT_RETRY.rawValue
            case .mismatch: GIT_EMISMATCH.rawValue
            case .indexDirty: GIT_EINDEXDIRTY.rawValue
            case .applyFailed: GIT_EAPPLYFAIL.rawValue
            case .owner: GIT_EOWNER.rawValue
            case .other(let rawValue): rawValue
            }
        }

        /// True for "no such object, ref or entry".
        public var isNotFound: Bool { self == .notFound }

        /// True when a compare-and-swap reference update lost a race: the reference changed, was
        /// created meanwhile, or another writer holds its lock file right now. Retrying is right.
        public var isModified: Bool { self == .modified || self == .exists || self == .locked }
    }

    /// libgit2's error classes (`git_error_t`): the part of libgit2 that failed.
    public enum ErrorClass: Libgit2Enumeration, Hashable, Sendable {
        /// `GIT_ERROR_NONE`: no class, as for errors this wrapper detects itself.
        case none
        case noMemory, os, invalid, reference, zlib, repository, config, regex, odb, index, object, net
        case tag, tree, indexer, ssl, submodule, thread, stash, checkout, fetchHead, merge, ssh, filter
        case revert, callback, cherryPick, describe, rebase, filesystem, patch, worktree, sha, http, `internal`
        /// A class this wrapper does not name.
        case other(Int32)

        static let named: [ErrorClass] = [
            .none, .noMemory, .os, .invalid, .reference, .zlib, .repository, .config, .regex, .odb, .index,
            .object, .net, .tag, .tree, .indexer, .ssl, .submodule, .thread, .stash, .checkout, .fetchHead,
            .merge, .ssh, .filter, .revert, .callback, .cherryPick, .describe, .rebase, .filesystem, .patch,
            .worktree, .sha, .http, .internal,
        ]

        public init(rawValue: Int32) { self = .from(rawValue) }

        /// libgit2's value, e.g. 4 for `.reference`.
        public var rawValue: Int32 {
            switch self {
            case .none: Int32(GIT_ERROR_NONE.rawValue)
            case .noMemory: Int32(GIT_ERROR_NOMEMORY.rawValue)
            case .os: Int32(GIT_ERROR_OS.rawValue)
            case .invalid: Int32(GIT_ERROR_INVALID.rawValue)
            case .reference: Int32(GIT_ERROR_REFERENCE.rawValue)
            case .zlib: Int32(GIT_ERROR_ZLIB.rawValue)
            case .repository: Int32(GIT_ERROR_REPOSITORY.rawValue)
            case .config: Int32(GIT_ERROR_CONFIG.rawValue)
            case .regex: Int32(GIT_ERROR_REGEX.rawValue)
            case .odb: Int32(GIT_ERROR_ODB.rawValue)
            case .index: Int32(GIT_ERROR_INDEX.rawValue)
            case .object: Int32(GIT_ERROR_OBJECT.rawValue)
            case .net: Int32(GIT_ERROR_NET.rawValue)
            case .tag: Int32(GIT_ERROR_TAG.rawValue)
            case .tree: Int32(GIT_ERROR_TREE.rawValue)
            case .indexer: Int32(GIT_ERROR_INDEXER.rawValue)
            case .ssl: Int32(GIT_ERROR_SSL.rawValue)
            case .submodule: Int32(GIT_ERROR_SUBMODULE.rawValue)
            case .thread: Int32(GIT_ERROR_THREAD.rawValue)
            case .stash: Int32(GIT_ERROR_STASH.rawValue)
            case .checkout: Int32(GIT_ERROR_CHECKOUT.rawValue)
            case .fetchHead: Int32(GIT_ERROR_FETCHHEAD.rawValue)
            case .merge: Int32(GIT_ERROR_MERGE.rawValue)
            case .ssh: Int32(GIT_ERROR_SSH.rawValue)
            case .filter: Int32(GIT_ERROR_FILTER.rawValue)
            case .revert: Int32(GIT_ERROR_REVERT.rawValue)
            case .callback: Int32(GIT_ERROR_CALLBACK.rawValue)
            case .cherryPick: Int32(GIT_ERROR_CHERRYPICK.rawValue)
            case .describe: Int32(GIT_ERROR_DESCRIBE.rawValue)
            case .rebase: Int32(GIT_ERROR_REBASE.rawValue)
            case .filesystem: Int32(GIT_ERROR_FILESYSTEM.rawValue)
            case .patch: Int32(GIT_ERROR_PATCH.rawValue)
            case .worktree: Int32(GIT_ERROR_WORKTREE.rawValue)
            case .sha: Int32(GIT_ERROR_SHA.rawValue)
            case .http: Int32(GIT_ERROR_HTTP.rawValue)
            case .internal: Int32(GIT_ERROR_INTERNAL.rawValue)
            case .other(let rawValue): rawValue
            }
        }
    }
}
