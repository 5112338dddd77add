#define _GNU_SOURCE
#include "CProcessSupport.h"
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t interrupt_count = 0;
static volatile sig_atomic_t last_signal = 0;

/* With a gate, the shell first waits for a line on descriptor 3 and only then runs the command
   (in the same shell, so its pid and process group stay, with no positional parameters as with
   `sh -c`): the tool opens the gate once the watchdog guards the group. End of file instead (the
   tool died before) means the command never runs. */
static const char *gate_script = "read -r go <&3 || exit 0; unset go; exec 3<&-; eval \"set --;\" \"$1\"";

int cps_spawn_shell(const char *command, const char *directory, char *const envp[], int output_fd, int error_fd,
                    int gate_fd, pid_t *pid) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int result = posix_spawn_file_actions_init(&actions);
    if (result != 0) return result;
    result = posix_spawnattr_init(&attributes);
    if (result != 0) { posix_spawn_file_actions_destroy(&actions); return result; }

    sigset_t defaults, empty;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGHUP);
    sigaddset(&defaults, SIGPIPE);
    sigemptyset(&empty);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setsigmask(&attributes, &empty);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, output_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, error_fd, 2);
    if (directory != NULL) posix_spawn_file_actions_addchdir_np(&actions, directory);
    /* The command gets stdin, stdout and stderr only (and the gate, closed before the command
       runs): no descriptor the tool inherited leaks into it. */
    if (gate_fd >= 0) posix_spawn_file_actions_adddup2(&actions, gate_fd, 3);
    posix_spawn_file_actions_addclosefrom_np(&actions, gate_fd >= 0 ? 4 : 3);

    char *const plain[] = {"/bin/sh", "-c", (char *)command, NULL};
    char *const gated[] = {"/bin/sh", "-c", (char *)gate_script, "/bin/sh", (char *)command, NULL};
    result = posix_spawn(pid, "/bin/sh", &actions, &attributes, gate_fd >= 0 ? gated : plain, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    return result;
}

/* The watchdog is a shell, started with posix_spawn (whose cost does not grow with the tool's
   memory, unlike fork). It waits for a line on stdin: the release. End of file without it
   means the tool died: it stops group $1 as the tool would have, with $2 steps of 50 ms grace. */
static const char *watchdog_script =
    "trap '' INT TERM HUP\n"
    "read -r released && exit 0\n"
    "kill -TERM -$1 2>/dev/null || exit 0\n"
    "i=0\n"
    "while [ \"$i\" -lt \"$2\" ] && kill -0 -$1 2>/dev/null; do sleep 0.05; i=$((i + 1)); done\n"
    "kill -KILL -$1 2>/dev/null\n"
    "exit 0\n";

int cps_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC) == 0 ? 0 : errno;
}

int cps_exit_descriptor(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

int cps_start_watchdog(pid_t group, int grace_ms, pid_t *watchdog, int *release_fd) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return errno;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int result = posix_spawn_file_actions_init(&actions);
    if (result != 0) { close(fds[0]); close(fds[1]); return result; }
    posix_spawnattr_init(&attributes);
    sigset_t empty;
    sigemptyset(&empty);
    posix_spawnattr_setsigmask(&attributes, &empty);
    /* Its own process group: a Ctrl-C at the terminal reaches the tool, not the watchdog. */
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
    posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
    /* No other descriptor: holding the tool's stdout open would delay whoever reads it. */
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);

    char group_text[24], steps_text[24];
    snprintf(group_text, sizeof group_text, "%d", (int)group);
    snprintf(steps_text, sizeof steps_text, "%d", grace_ms / 50 + 1);
    char *const argv[] = {"/bin/sh", "-c", (char *)watchdog_script, "autoresearch-watchdog", group_text, steps_text, NULL};
    extern char **environ;
    result = posix_spawn(watchdog, "/bin/sh", &actions, &attributes, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    close(fds[0]);
    if (result != 0) { close(fds[1]); return result; }
    *release_fd = fds[1];
    return 0;
}

/* Signals within this many nanoseconds of the first are the same interruption: git forwards the
   terminal's SIGINT to its child, a closing terminal sends SIGHUP to the shell and the job. */
static const long long interruption_window_ns = 1000000000LL;
static struct timespec first_interrupt_at;

static long long nanoseconds_since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)(now.tv_sec - start->tv_sec) * 1000000000LL + (now.tv_nsec - start->tv_nsec);
}

static void count_interrupt(int signo) {
    if (interrupt_count == 0) {
        clock_gettime(CLOCK_MONOTONIC, &first_interrupt_at);
        last_signal = signo;
        interrupt_count = 1;
        return;
    }
    if (nanoseconds_since(&first_interrupt_at) < interruption_window_ns) return;
    /* A second interruption ends the process at once (the handler's return unblocks the re-raised
       signal); the next command repairs the run. */
    interrupt_count++;
    signal(signo, SIG_DFL);
    raise(signo);
}

static void add_interrupt_signals(sigset_t *set) {
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
}

void cps_install_interrupt_handlers(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = count_interrupt;
    /* One handler at a time; system calls resume, so an interruption never fails a write of the record. */
    sigemptyset(&action.sa_mask);
    add_interrupt_signals(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGHUP, &action, NULL);
    /* A reader that went away (a pager quit) makes writes fail with EPIPE instead of killing the tool. */
    signal(SIGPIPE, SIG_IGN);
    /* A parent may have started us with these blocked (the mask survives exec): unblock them. */
    sigset_t interrupts;
    sigemptyset(&interrupts);
    add_interrupt_signals(&interrupts);
    sigprocmask(SIG_UNBLOCK, &interrupts, NULL);
}

int cps_interrupt_count(void) { return interrupt_count; }
int cps_last_interrupt_signal(void) { return last_signal; }

int cps_spawn_actions_close_from(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}
