import CGitSsh
import Clibgit2
import Clibgit2Support
import Foundation

/// A user name and password sent to an http(s) server.
public struct UserPassword: Sendable, Equatable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}

/// How fetch and push answer an http(s) server that asks who we are, in the steps of git's
/// credential protocol: `fill` once per operation, then `approve` when the operation succeeded
/// with what it gave, or `reject` when the server refused it (the operation then fails: no second
/// guess). ssh authenticates in the ssh client itself (`cgs_register_ssh_transport`).
public struct Credentials {
    /// The credential for a URL (and the user name the URL names), or nil to give up.
    public var fill: (_ url: String, _ username: String?) -> UserPassword?
    /// The server accepted `credential`.
    public var approve: (_ credential: UserPassword) -> Void
    /// The server refused `credential`.
    public var reject: (_ credential: UserPassword) -> Void

    public init(fill: @escaping (_ url: String, _ username: String?) -> UserPassword? = { _, _ in nil },
                approve: @escaping (_ credential: UserPassword) -> Void = { _ in },
                reject: @escaping (_ credential: UserPassword) -> Void = { _ in }) {
        self.fill = fill
        self.approve = approve
        self.reject = reject
    }
}

/// The state of one credentials callback sequence, passed to C as the payload.
private final class CredentialSession {
    let credentials: Credentials
    /// What `fill` gave and was sent, if anything.
    var sent: UserPassword?
    /// Per reference: nil when the remote accepted the update, else its rejection message.
    var pushStatus: [String: String?] = [:]

    init(_ credentials: Credentials) {
        self.credentials = credentials
    }

    func answer(_ out: UnsafeMutablePointer<UnsafeMutablePointer<git_credential>?>?, url: String, username: String?, allowed: UInt32) -> Int32 {
        guard allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue != 0 else {
            return refuse("no way to authenticate to \(url): libgit2 asked for credentials of types \(allowed)")
        }
        // Asked again: the server refused what we sent.
        if let sent {
            credentials.reject(sent)
            return refuse("the server refused the user name and password for \(url)")
        }
        guard let pair = credentials.fill(url, username) else {
            return refuse("no user name and password for \(url)")
        }
        sent = pair
        return git_credential_userpass_plaintext_new(out, pair.username, pair.password)
    }

    /// Fails the operation with an authentication error that says why (libgit2 would otherwise
    /// show whatever message an earlier, unrelated call left).
    private func refuse(_ message: String) -> Int32 {
        git_error_set_str(Int32(GIT_ERROR_NET.rawValue), message)
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
        // Only commands that talk to a remote pay for parsing the CA bundle (see Clibgit2Support).
        try check(clibgit2_load_certificates(), "load the TLS certificate authorities")
        try check(cgs_register_ssh_transport(), "register the ssh transport")
        let handle = try remoteHandle(remote)
        defer { git_remote_free(handle) }
        let session = CredentialSession(credentials)
        var callbacks = git_remote_callbacks()
        git_remote_init_callbacks(&callbacks, UInt32(GIT_REMOTE_CALLBACKS_VERSION))
        callbacks.credentials = credentialCallback
        callbacks.push_update_reference = pushUpdateCallback
        callbacks.payload = Unmanaged.passUnretained(session).toOpaque()
        try withExtendedLifetime(session) { try body(handle, callbacks) }
        if let sent = session.sent { credentials.approve(sent) }
        return session
    }

    /// The URL of a configured remote, or nil when `name` is not one.
    public func remoteURL(_ name: String) throws -> String? {
        var handle: OpaquePointer?
        guard git_remote_lookup(&handle, pointer, name) == 0 else { return nil }
        defer { git_remote_free(handle) }
        return git_remote_url(handle).map { String(cString: $0) }
    }

    /// Adds remote `name` for `url`, fetching git's default refspec (`git remote add NAME URL`).
    public func addRemote(_ name: String, url: String) throws {
        var handle: OpaquePointer?
        try check(git_remote_create(&handle, pointer, name, url), "add remote \(name)")
        git_remote_free(handle)
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
