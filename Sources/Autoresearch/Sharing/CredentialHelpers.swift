import Foundation
import Git

/// git's credential protocol for one command (a pull, a push, one sync of a loop): the helpers
/// of `credential.helper` and `credential.URL.helper` are asked (`get`) once per server, then the
/// askpass program or the terminal when they did not answer; the answer serves every connection of the command; the
/// helpers `store` it once a server accepted it and `erase` it when a server refused it.
/// Helpers run as git runs them: `NAME` is `git credential-NAME`, `/path …` a program with its
/// arguments, `!snippet` a shell snippet; the action is appended.
final class CredentialHelpers {
    private let workspace: Workspace
    /// What was filled per server (`protocol://host`), nil when nothing answered: not asked again.
    private var filled: [String: UserPassword?] = [:]
    private var stored: Set<String> = []
    /// The server of the last URL filled, which an approval or a rejection is about.
    private var lastServer: CredentialServer?

    init(_ workspace: Workspace) {
        self.workspace = workspace
    }

    /// The callbacks for fetch and push.
    var credentials: Credentials {
        Credentials(fill: { [self] url, username in fill(url: url, username: username) },
                    approve: { [self] credential in approve(credential) },
                    reject: { [self] credential in reject(credential) })
    }

    private func fill(url: String, username: String?) -> UserPassword? {
        guard let server = CredentialServer(url: url, useHttpPath: configFlag("credential.useHttpPath")) else { return nil }
        lastServer = server
        if let known = filled[server.key] { return known }
        var fields = ["username": username ?? (try? workspace.repository.configValue("credential.username")) ?? nil]
            .compactMapValues { $0 }
        for helper in helpers(for: url) {
            let answer = run(helper, "get", server.description(with: fields))
            for key in ["username", "password"] where answer[key] != nil { fields[key] = answer[key] }
            if fields["password"] != nil && fields["username"] != nil || answer["quit"].map(Self.isTrue) == true { break }
        }
        if fields["username"] == nil { fields["username"] = ask("Username for '\(server.address)': ", echo: true) }
        if fields["password"] == nil, let user = fields["username"] {
            fields["password"] = ask("Password for '\(server.address(user: user))': ", echo: false)
        }
        let credential = fields["username"].flatMap { user in fields["password"].map { UserPassword(username: user, password: $0) } }
        filled[server.key] = .some(credential)
        return credential
    }

    private func approve(_ credential: UserPassword) {
        guard let server = lastServer, !stored.contains(server.key) else { return }
        stored.insert(server.key)
        for helper in helpers(for: server.url) { _ = run(helper, "store", server.description(with: credential)) }
    }

    /// The server refused `credential`: the helpers forget it, and this command asks no more.
    private func reject(_ credential: UserPassword) {
        guard let server = lastServer else { return }
        filled[server.key] = .some(nil)
        for helper in helpers(for: server.url) { _ = run(helper, "erase", server.description(with: credential)) }
    }

    /// The helpers that apply to `url`, in configuration order; an empty value clears the list, as in git.
    private func helpers(for url: String) -> [String] {
        let entries = (try? workspace.repository.configuration().entries(matching: "^credential\\.(.*\\.)?helper$")) ?? []
        var helpers: [String] = []
        for entry in entries {
            let pattern = entry.name.dropFirst("credential.".count).dropLast("helper".count)
            guard pattern.isEmpty || Self.url(url, matches: String(pattern.dropLast())) else { continue }
            if entry.value.isEmpty { helpers = [] } else { helpers.append(entry.value) }
        }
        return helpers
    }

    /// True when `pattern` (of `credential.PATTERN.helper`) is `url` or a prefix of it that ends
    /// at a path boundary (so the scheme, host and port are the same).
    static func url(_ url: String, matches pattern: String) -> Bool {
        let trimmed = pattern.hasSuffix("/") ? String(pattern.dropLast()) : pattern
        guard url.hasPrefix(trimmed) else { return false }
        let rest = url.dropFirst(trimmed.count)
        return rest.isEmpty || rest.first == "/"
    }

    /// Runs `helper` with `action`, `input` on its stdin; returns the `key=value` lines it printed.
    private func run(_ helper: String, _ action: String, _ input: String) -> [String: String] {
        let command: String
        if helper.hasPrefix("!") {
            command = String(helper.dropFirst()) + " " + action
        } else if helper.hasPrefix("/") {
            command = helper + " " + action
        } else {
            command = "git credential-" + helper + " " + action
        }
        var fields: [String: String] = [:]
        let succeeded = runQuietly(Self.script(command), adding: ["AUTORESEARCH_CREDENTIAL_INPUT": input]) { line in
            guard let equals = line.firstIndex(of: "=") else { return }
            fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return succeeded ? fields : [:]
    }

    /// The answer to `question`, asked as git asks it: the program of `GIT_ASKPASS`, else
    /// `core.askPass`, else `SSH_ASKPASS` (its first line of output), else the terminal.
    private func ask(_ question: String, echo: Bool) -> String? {
        let environment = ProcessInfo.processInfo.environment
        let program = [environment["GIT_ASKPASS"], (try? workspace.repository.configValue("core.askPass")) ?? nil,
                       environment["SSH_ASKPASS"]].compactMap { $0 }.first { !$0.isEmpty }
        if let program {
            var answer: String?
            let script = "\"$AUTORESEARCH_ASKPASS\" \"$AUTORESEARCH_QUESTION\""
            if runQuietly(script, adding: ["AUTORESEARCH_ASKPASS": program, "AUTORESEARCH_QUESTION": question],
                          onLine: { line in if answer == nil { answer = String(line) } }), let answer { return answer }
        }
        return TerminalPrompt.ask(question, echo: echo)
    }

    /// Runs shell `script` with our environment and `extra`, its output (a secret, maybe) in a
    /// log of our own that is removed at once, each line to `onLine`; true when it exited with 0.
    private func runQuietly(_ script: String, adding extra: [String: String], onLine: (Substring) -> Void) -> Bool {
        let environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        let log = LocalState.credentialOutput(workspace.repository)
        defer { unlink(log) }
        guard (try? FileManager.default.createDirectory(atPath: (log as NSString).deletingLastPathComponent,
                                                         withIntermediateDirectories: true)) != nil,
              let result = try? GroupProcess.run(script, in: workspace.root, environment: environment, hardLimit: 60, grace: 1,
                                                 logPath: log, logLimit: 1 << 16, onLine: onLine) else { return false }
        return result.termination == .exited(0)
    }

    /// The shell script that gives a helper its input on stdin. The input (with the password,
    /// for `store` and `erase`) travels in an environment variable of the shell only: never in
    /// an argument list, which every user can read, and unset before the helper starts.
    private static func script(_ command: String) -> String {
        "printf '%s' \"$AUTORESEARCH_CREDENTIAL_INPUT\" | { unset AUTORESEARCH_CREDENTIAL_INPUT; \(command)\n}"
    }

    private func configFlag(_ key: String) -> Bool {
        ((try? workspace.repository.configValue(key)) ?? nil).map(Self.isTrue) ?? false
    }

    /// git's true values.
    static func isTrue(_ value: String) -> Bool { ["1", "true", "yes", "on"].contains(value.lowercased()) }
}

/// The server part of a URL, as the credential protocol describes it.
struct CredentialServer {
    let url: String
    let scheme: String
    let host: String
    let path: String?

    /// Nil for a URL without `scheme://host`.
    init?(url: String, useHttpPath: Bool) {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host,
              !host.isEmpty else { return nil }
        self.url = url
        self.scheme = scheme
        self.host = host + (components.port.map { ":\($0)" } ?? "")
        let path = components.percentEncodedPath.drop { $0 == "/" }
        self.path = useHttpPath && !path.isEmpty ? String(path) : nil
    }

    var key: String { "\(scheme)://\(host)/\(path ?? "")" }
    var address: String { "\(scheme)://\(host)" }
    func address(user: String) -> String { "\(scheme)://\(user)@\(host)" }

    /// The helper's input: `protocol`, `host`, `path` and the given fields, then an empty line.
    func description(with fields: [String: String]) -> String {
        var lines = ["protocol=\(scheme)", "host=\(host)"]
        if let path { lines.append("path=\(path)") }
        for key in ["username", "password"] { if let value = fields[key] { lines.append("\(key)=\(value)") } }
        return lines.joined(separator: "\n") + "\n\n"
    }

    func description(with credential: UserPassword) -> String {
        description(with: ["username": credential.username, "password": credential.password])
    }
}

/// Questions on the terminal (`/dev/tty`), as git asks them; never without one, nor with
/// `GIT_TERMINAL_PROMPT` false.
enum TerminalPrompt {
    /// The line typed after `question` (without echo when `echo` is false), or nil.
    static func ask(_ question: String, echo: Bool) -> String? {
        if let allowed = ProcessInfo.processInfo.environment["GIT_TERMINAL_PROMPT"],
           ["0", "false", "no", "off"].contains(allowed.lowercased()) { return nil }
        let tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)
        guard tty >= 0 else { return nil }
        defer { close(tty) }
        _ = question.withCString { write(tty, $0, strlen($0)) }
        var saved = termios()
        let hidden = !echo && tcgetattr(tty, &saved) == 0
        if hidden {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(tty, TCSANOW, &quiet)
        }
        defer {
            if hidden {
                tcsetattr(tty, TCSANOW, &saved)
                _ = write(tty, "\n", 1)
            }
        }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        var ended = false
        while read(tty, &byte, 1) == 1 {
            if byte == UInt8(ascii: "\n") { ended = true; break }
            line.append(byte)
        }
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        // End of input before anything was typed: no answer.
        return ended || !line.isEmpty ? String(decoding: line, as: UTF8.self) : nil
    }
}
