import Clibgit2
import Foundation

/// How fetch and push authenticate: ssh-agent, then the default ssh keys, then `userPassword`
/// (for https; the caller may ask `git credential fill`). libgit2 asks again after every failed
/// attempt, so the number of answers is capped.
public struct Credentials {
    /// A user name and password for a URL, or nil to give up.
    public var userPassword: (_ url: String, _ username: String?) -> (username: String, password: String)?
    /// Answers given per operation before failing with an authentication error.
    public var maxAttempts: Int

    public init(maxAttempts: Int = 4,
                userPassword: @escaping (_ url: String, _ username: String?) -> (username: String, password: String)? = { _, _ in nil }) {
        self.maxAttempts = maxAttempts
        self.userPassword = userPassword
    }
}

/// The state of one credentials callback sequence, passed to C as the payload.
private final class CredentialSession {
    let credentials: Credentials
    var attempts = 0
    var triedAgent = false
    var keys: [String]
    var triedPassword = false
    /// Per reference: nil when the remote accepted the update, else its rejection message.
    var pushStatus: [String: String?] = [:]

    init(_ credentials: Credentials) {
        self.credentials = credentials
        let ssh = FileManager.default.homeDirectoryForCurrentUser.path + "/.ssh/"
        keys = ["id_ed25519", "id_ecdsa", "id_rsa"].map { ssh + $0 }.filter { FileManager.default.fileExists(atPath: $0) }
    }

    func answer(_ out: UnsafeMutablePointer<UnsafeMutablePointer<git_credential>?>?, url: String, username: String?, allowed: UInt32) -> Int32 {
        attempts += 1
        guard attempts <= credentials.maxAttempts else { return GIT_EAUTH.rawValue }
        let user = username ?? "git"
        if allowed & GIT_CREDENTIAL_SSH_KEY.rawValue != 0 {
            if !triedAgent {
                triedAgent = true
                if git_credential_ssh_key_from_agent(out, user) == 0 { return 0 }
            }
            while let key = keys.first {
                keys.removeFirst()
                let publicKey = FileManager.default.fileExists(atPath: key + ".pub") ? key + ".pub" : nil
                if git_credential_ssh_key_new(out, user, publicKey, key, nil) == 0 { return 0 }
            }
        }
        if allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue != 0, !triedPassword {
            triedPassword = true
            if let pair = credentials.userPassword(url, username),
               git_credential_userpass_plaintext_new(out, pair.username, pair.password) == 0 { return 0 }
        }
        if allowed & GIT_CREDENTIAL_USERNAME.rawValue != 0 {
            return git_credential_username_new(out, user)
        }
        return GIT_EAUTH.rawValue
    }
}

private let credentialCallback: git_credential_acquire_cb = { out, url, username, allowed, payload in
    let session = Unmanaged<CredentialSession>.fromOpaque(payload!).takeUnretainedValue()
    return session.answer(out, url: url.map { String(cString: $0) } ?? "", username: username.map { String(cString: $0) },
                          allowed: allowed)
}

private let pushUpdateCallback: git_push_update_reference_cb = { refname, status, payload in
    let session = Unmanaged<CredentialSession>.fromOpaque(payload!).takeUnretainedValue()
    session.pushStatus[refname.map { String(cString: $0) } ?? ""] = status.map { String(cString: $0) }
    return 0
}

extension Repository {
    /// Fetches `refspecs` (wildcards allowed) from `remote`, a configured remote's name or a URL or path.
    public func fetch(remote: String, refspecs: [String], credentials: Credentials = Credentials()) throws {
        var options = git_fetch_options()
        git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION))
        options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE
        _ = try withRemote(remote, credentials) { handle, callbacks in
            options.callbacks = callbacks
            _ = try withStrArray(refspecs) { array in
                try check(git_remote_fetch(handle, &array, &options, "autoresearch: fetch"), "fetch from \(remote)")
            }
        }
    }

    /// Pushes `refspecs` (no wildcards: libgit2 refuses them) to `remote`. Returns, per remote
    /// reference, nil when it was updated, or the remote's rejection message. A non-fast-forward
    /// update refused before sending throws a `GitError` with code `GIT_ENONFASTFORWARD`.
    public func push(remote: String, refspecs: [String], credentials: Credentials = Credentials()) throws -> [String: String?] {
        var options = git_push_options()
        git_push_options_init(&options, UInt32(GIT_PUSH_OPTIONS_VERSION))
        return try withRemote(remote, credentials) { handle, callbacks in
            options.callbacks = callbacks
            _ = try withStrArray(refspecs) { array in
                try check(git_remote_push(handle, &array, &options), "push to \(remote)")
            }
        }.pushStatus
    }

    /// Opens `remote` and runs `body` with callbacks that answer credentials and collect push
    /// statuses into the returned session.
    private func withRemote(_ remote: String, _ credentials: Credentials,
                            _ body: (OpaquePointer?, git_remote_callbacks) throws -> Void) throws -> CredentialSession {
        let handle = try remoteHandle(remote)
        defer { git_remote_free(handle) }
        let session = CredentialSession(credentials)
        var callbacks = git_remote_callbacks()
        git_remote_init_callbacks(&callbacks, UInt32(GIT_REMOTE_CALLBACKS_VERSION))
        callbacks.credentials = credentialCallback
        callbacks.push_update_reference = pushUpdateCallback
        callbacks.payload = Unmanaged.passUnretained(session).toOpaque()
        try withExtendedLifetime(session) { try body(handle, callbacks) }
        return session
    }

    /// The URL of a configured remote, or nil when `name` is not one.
    public func remoteURL(_ name: String) throws -> String? {
        var handle: OpaquePointer?
        guard git_remote_lookup(&handle, pointer, name) == 0 else { return nil }
        defer { git_remote_free(handle) }
        return git_remote_url(handle).map { String(cString: $0) }
    }

    /// The names of the configured remotes, sorted.
    public func remoteNames() throws -> [String] {
        var list = git_strarray()
        try check(git_remote_list(&list, pointer), "list the remotes")
        defer { git_strarray_dispose(&list) }
        return (0..<list.count).compactMap { list.strings[$0].map { String(cString: $0) } }.sorted()
    }

    private func remoteHandle(_ remote: String) throws -> OpaquePointer? {
        var handle: OpaquePointer?
        if git_remote_lookup(&handle, pointer, remote) == 0 { return handle }
        try check(git_remote_create_anonymous(&handle, pointer, remote), "open remote \(remote)")
        return handle
    }

    /// True when `ancestor` is `descendant` or one of its ancestors.
    public func isAncestor(_ ancestor: OID, of descendant: OID) throws -> Bool {
        if ancestor == descendant { return true }
        var a = descendant.raw, b = ancestor.raw
        return try check(git_graph_descendant_of(pointer, &a, &b), "compare \(descendant.short) with \(ancestor.short)") == 1
    }
}
