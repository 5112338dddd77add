import CGitSsh

/// The command line the ssh transport runs for a URL, as git builds it.
public enum SshCommand {
    /// The arguments run for `service` ("git-upload-pack" or "git-receive-pack") at `url` with
    /// `sshCommand` (`GIT_SSH_COMMAND` or `core.sshCommand`; nil: `$GIT_SSH`, else `ssh`); throws
    /// for a URL that is not ssh, or whose host or path would be read as an option.
    public static func arguments(url: String, service: String, sshCommand: String?) throws -> [String] {
        var buffer = [CChar](repeating: 0, count: 4 * (url.utf8.count + (sshCommand?.utf8.count ?? 0)) + 256)
        let count = try check(cgs_ssh_argv(url, service, sshCommand, &buffer, Int32(buffer.count)), "ssh command for \(url)")
        return buffer.split(separator: 0, maxSplits: Int(count), omittingEmptySubsequences: false).prefix(Int(count))
            .map { String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    }
}
