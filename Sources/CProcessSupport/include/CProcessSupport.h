#ifndef CPROCESSSUPPORT_H
#define CPROCESSSUPPORT_H
#include <sys/types.h>

/// Starts `/bin/sh -c command` in `directory` as the leader of a new session (so of a new process
/// group whose id is its pid), stdin from /dev/null, stdout and stderr to `output_fd`, default
/// signal dispositions, an empty signal mask, and no other descriptors. Returns 0 and sets `*pid`, or an errno value.
int cps_spawn_shell(const char *command, const char *directory, char *const envp[], int output_fd, pid_t *pid);

/// Installs handlers for SIGINT and SIGTERM that only count the signals received.
/// After the second signal the default action is restored, so a third one ends the process.
void cps_install_interrupt_handlers(void);

/// How many SIGINT/SIGTERM signals arrived since the handlers were installed.
int cps_interrupt_count(void);

/// The last signal number counted (SIGINT or SIGTERM), 0 if none.
int cps_last_interrupt_signal(void);
#endif
