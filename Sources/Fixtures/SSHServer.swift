import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// OpenSSH's `sshd` on 127.0.0.1 for the life of the value, with a throw-away host key and user
/// key in a temporary directory, and an ssh client configuration (`configPath`) in which the host
/// alias `gitbox` reaches it as the current user with that key: `ssh -F CONFIG gitbox` works
/// as `~/.ssh/config` would make it; `gitbox-jump` reaches it through `gitbox` (`ProxyJump`).
public final class SSHServer {
    /// The alias of the server in `configPath`.
    public let alias = SSHServer.hostAlias
    private static let hostAlias = "gitbox"
    /// The alias of the server reached through a jump to `alias` (two logins a connection).
    public let jumpAlias = "gitbox-jump"
    /// The client configuration (`ssh -F`).
    public let configPath: String
    /// The command for `GIT_SSH_COMMAND` or `core.sshCommand`.
    public var sshCommand: String { "ssh -F \(configPath)" }
    private let directory: String
    private let process: ChildProcess

    /// Whether Debian's `openssh-server` and the client are installed.
    public static var isAvailable: Bool {
        ["/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen"].allSatisfy(FileManager.default.isExecutableFile)
    }

    public init() throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/autoresearch-sshd-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw OracleError(description: "mkdtemp failed") }
        let directory = String(cString: made)
        let configPath = directory + "/ssh_config"
        self.directory = directory
        self.configPath = configPath
        for key in ["host_key", "user_key"] {
            let made = try runProgram("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key], in: directory)
            guard made.status == 0 else { throw OracleError(description: "ssh-keygen: \(made.stderr)") }
        }
        try FileManager.default.copyItem(atPath: directory + "/user_key.pub", toPath: directory + "/authorized_keys")
        // sshd refuses to start without its privilege separation directory.
        try? FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        for _ in 0..<10 {
            let port = Int.random(in: 20_000..<60_000)
            try Self.writeConfigurations(in: directory, port: port)
            let process = try ChildProcess("/usr/sbin/sshd", ["-D", "-e", "-f", directory + "/sshd_config"], in: directory)
            let ready = waitUntil(seconds: 5) {
                !processExists(process.pid)
                    || (try? runProgram("/usr/bin/ssh", ["-F", configPath, Self.hostAlias, "true"], in: directory).status) == 0
            }
            if ready, processExists(process.pid) {
                self.process = process
                return
            }
            kill(process.pid, SIGKILL)
            _ = process.wait()
        }
        throw OracleError(description: "sshd did not start (see \(directory))")
    }

    private static func writeConfigurations(in directory: String, port: Int) throws {
        let user = String(cString: getpwuid(geteuid()).pointee.pw_name)
        try """
        ListenAddress 127.0.0.1
        Port \(port)
        HostKey \(directory)/host_key
        AuthorizedKeysFile \(directory)/authorized_keys
        PidFile \(directory)/sshd.pid
        StrictModes no
        PermitRootLogin yes
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        UsePAM no
        """.write(toFile: directory + "/sshd_config", atomically: true, encoding: .utf8)
        try """
        Host \(hostAlias) \(hostAlias)-jump
          HostName 127.0.0.1
          Port \(port)
          User \(user)
          IdentityFile \(directory)/user_key
          IdentitiesOnly yes
          IdentityAgent none
          UserKnownHostsFile \(directory)/known_hosts
          GlobalKnownHostsFile /dev/null
          StrictHostKeyChecking accept-new
          BatchMode yes
          LogLevel ERROR
          # The classic key exchange: the post-quantum default costs about 0.4 s a connection here.
          KexAlgorithms curve25519-sha256
        Host \(hostAlias)-jump
          ProxyJump \(hostAlias)
        """.write(toFile: directory + "/ssh_config", atomically: true, encoding: .utf8)
    }

    /// The logins the server accepted so far (its log).
    public var acceptedLogins: Int {
        let log = (try? String(contentsOfFile: process.stderrPath, encoding: .utf8)) ?? ""
        return log.components(separatedBy: "Accepted publickey").count - 1
    }

    deinit {
        kill(process.pid, SIGTERM)
        _ = process.wait()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
