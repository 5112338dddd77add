#ifndef CPROCESSSUPPORT_H
#define CPROCESSSUPPORT_H
#include <spawn.h>
#include <sys/types.h>

/// Starts `/bin/sh -c command` in `directory` as the leader of a new session (so of a new process
/// group whose id is its pid), stdin from /dev/null, stdout to `output_fd`, stderr to `error_fd`,
/// default signal dispositions, an empty signal mask, and no other descriptors. With `gate_fd`
/// (else -1), the command runs only once a line can be read from it, and not at all if it ends
/// first. Returns 0 and sets `*pid`, or an errno value.
int cps_spawn_shell(const char *command, const char *directory, char *const envp[], int output_fd, int error_fd,
                    int gate_fd, pid_t *pid);

/// Starts a watchdog (a small /bin/sh script) for process group `group`: if the calling process
/// dies (even by SIGKILL) before releasing it, the watchdog sends the group SIGTERM, waits up to
/// `grace_ms`, then SIGKILL. Release it by writing a line to `*release_fd` and closing it, then
/// reap `*watchdog`.
/// Returns 0, or an errno value.
int cps_start_watchdog(pid_t group, int grace_ms, pid_t *watchdog, int *release_fd);

/// pipe2(fds, O_CLOEXEC): a pipe no child inherits, even one spawned by another thread at the
/// same moment. Returns 0, or an errno value.
int cps_pipe_cloexec(int fds[2]);

/// A descriptor (close-on-exec) that becomes readable when child `pid` exits: pidfd_open(2),
/// Linux 5.3 and later. -1 where the kernel does not have it.
int cps_exit_descriptor(pid_t pid);

/// Installs handlers for SIGINT, SIGTERM and SIGHUP that count interruptions, and ignores SIGPIPE.
/// Signals within a second of the first are the same interruption (git forwards the terminal's
/// Ctrl-C to its child, which so gets two at once); a later one ends the process at once with the
/// default action.
void cps_install_interrupt_handlers(void);

/// How many interruptions arrived since the handlers were installed (0 or 1 while the process lives).
int cps_interrupt_count(void);

/// The signal of the first interruption (SIGINT, SIGTERM or SIGHUP), 0 if none.
int cps_last_interrupt_signal(void);
/// Adds to `actions` the closing of every descriptor from `lowest` up in the child
/// (`posix_spawn_file_actions_addclosefrom_np`, glibc 2.34, which Swift's Glibc module does not
/// import). Returns 0 or an errno value.
int cps_spawn_actions_close_from(posix_spawn_file_actions_t *actions, int lowest);
#endif
