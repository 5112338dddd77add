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

/// Puts process group `group` under this process's watchdog (a small /bin/sh script, started at
/// the first call and again if it died, in its own process group): if this process dies (even by
/// SIGKILL) before `cps_watchdog_release(group)`, the watchdog sends the group SIGTERM, waits up
/// to `grace_ms`, then SIGKILL. At exit the watchdog is stopped and reaped. Thread-safe. Returns 0,
/// or an errno value (the group is then not guarded).
int cps_watchdog_guard(pid_t group, int grace_ms);

/// Takes `group` from the watchdog's care (the group ended, or was stopped by the caller).
void cps_watchdog_release(pid_t group);

/// The watchdog's pid, or 0 when none runs (for tests).
pid_t cps_watchdog_pid(void);

/// The watchdog's script, run as `/bin/sh -c SCRIPT autoresearch-watchdog` (for tests).
const char *cps_watchdog_script(void);

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
