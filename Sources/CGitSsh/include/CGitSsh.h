#ifndef CGITSSH_H
#define CGITSSH_H

/// Registers, once per process, a libgit2 transport for `ssh://`, `ssh+git://`, `git+ssh://` and
/// scp-like `[user@]host:path` URLs that runs the system's OpenSSH client, as git does:
/// `$GIT_SSH_COMMAND`, else the repository's `core.sshCommand` (both through /bin/sh), else
/// `$GIT_SSH` (a program), else `ssh`, with `[-p PORT] [USER@]HOST "git-upload-pack 'PATH'"`
/// (or `git-receive-pack`). So `~/.ssh/config` (host aliases, ProxyJump, IdentityFile), the agent
/// and `known_hosts` apply. ssh's messages go to stderr; the last of them is in the libgit2 error
/// when the connection ends early. Returns 0, or a libgit2 error code.
int cgs_register_ssh_transport(void);

/// Builds the argument vector git would run for `url` and `service` ("git-upload-pack" or
/// "git-receive-pack") with the given ssh command (NULL: `$GIT_SSH`, else `ssh`): written to
/// `buffer` as NUL-separated strings. Returns the number of arguments, or -1 (libgit2 error set)
/// for a URL that is not ssh or a host or path that would be read as an option. For tests.
int cgs_ssh_argv(const char *url, const char *service, const char *ssh_command, char *buffer, int size);
#endif
