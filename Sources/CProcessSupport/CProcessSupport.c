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
#include <sys/socket.h>
#include <sys/wait.h>
#include <pthread.h>
#include <poll.h>
#include <stdlib.h>
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

/* The watchdog: one shell per process, started with posix_spawn (whose cost does not grow with
   the tool's memory, unlike fork) when the first group is to be guarded, and told of each group on
   its stdin: "guard GROUP STEPS" and "release GROUP". End of file means the tool is gone (it
   closes its end at exit, and the kernel does when it dies): the watchdog stops every group it
   still guards as the tool would have, SIGTERM, then SIGKILL after STEPS steps of 50 ms. */
static const char *watchdog_script =
    "trap '' INT TERM HUP\n"
    "guarded=\n"
    "while read -r action group steps; do\n"
    "  case $action in\n"
    "    guard) guarded=\"$guarded $group:$steps\" ;;\n"
    "    release) kept=; for entry in $guarded; do [ \"${entry%%:*}\" = \"$group\" ] || kept=\"$kept $entry\"; done; guarded=$kept ;;\n"
    "  esac\n"
    "done\n"
    "for entry in $guarded; do kill -TERM -${entry%%:*} 2>/dev/null; done\n"
    "i=0\n"
    "while [ -n \"$guarded\" ]; do\n"
    "  alive=\n"
    "  for entry in $guarded; do\n"
    "    kill -0 -${entry%%:*} 2>/dev/null || continue\n"
    "    if [ \"$i\" -ge \"${entry#*:}\" ]; then kill -KILL -${entry%%:*} 2>/dev/null; else alive=\"$alive $entry\"; fi\n"
    "  done\n"
    "  guarded=$alive\n"
    "  [ -z \"$guarded\" ] || sleep 0.05\n"
    "  i=$((i + 1))\n"
    "done\n"
    "exit 0\n";

static pthread_mutex_t watchdog_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t watchdog_pid = 0;
/* Our end of the watchdog's stdin (a socket, so that a write to a watchdog that died fails with
   EPIPE under MSG_NOSIGNAL instead of raising SIGPIPE in a process that did not ignore it). */
static int watchdog_fd = -1;

/* At exit: closes our end, which ends the watchdog, and reaps it (an orphan would wait for PID 1
   to reap it, which in a container may never happen). It ends at once unless it still guards a
   group (an exit while a command runs): then it is left to stop the group, and exit goes on. */
static void stop_watchdog(void) {
    if (pthread_mutex_trylock(&watchdog_lock) != 0) return;
    if (watchdog_fd >= 0) {
        int exited = cps_exit_descriptor(watchdog_pid);
        close(watchdog_fd);
        watchdog_fd = -1;
        if (exited >= 0) {
            struct pollfd poller = {.fd = exited, .events = POLLIN};
            poll(&poller, 1, 100);
            close(exited);
        }
        waitpid(watchdog_pid, NULL, WNOHANG);
    }
    pthread_mutex_unlock(&watchdog_lock);
}

/* Starts the watchdog; called with the lock held. Returns 0 or an errno value. */
static int start_watchdog(void) {
    static int registered = 0;
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return errno;
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
    posix_spawn_file_actions_adddup2(&actions, fds[1], 0);
    /* No other descriptor: holding the tool's stdout open would delay whoever reads it. */
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    char *const argv[] = {"/bin/sh", "-c", (char *)watchdog_script, "autoresearch-watchdog", NULL};
    extern char **environ;
    pid_t pid = 0;
    result = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    close(fds[1]);
    if (result != 0) { close(fds[0]); return result; }
    watchdog_pid = pid;
    watchdog_fd = fds[0];
    if (!registered) registered = atexit(stop_watchdog) == 0;
    return 0;
}

/* Sends `line` to the watchdog, starting it first when there is none or it died (`start`).
   Called with the lock held. Returns 0 or an errno value. */
static int tell_watchdog(const char *line, int start) {
    size_t length = strlen(line);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (watchdog_fd < 0) {
            if (!start) return 0;
            int result = start_watchdog();
            if (result != 0) return result;
        }
        ssize_t written;
        /* Never blocks: a watchdog that stopped reading (SIGSTOP) must not stop the tool once the
           socket's buffer is full. */
        do { written = send(watchdog_fd, line, length, MSG_NOSIGNAL | MSG_DONTWAIT); } while (written < 0 && errno == EINTR);
        if (written == (ssize_t)length) return 0;
        /* It died (killed by someone), or stopped reading: end it and reap it; a guard starts another. */
        int error = written < 0 ? errno : EIO;
        if (error != EPIPE) kill(watchdog_pid, SIGKILL);
        close(watchdog_fd);
        watchdog_fd = -1;
        waitpid(watchdog_pid, NULL, 0);
        if (!start) return 0;
        if (attempt == 1) return error;
    }
    return EIO;
}

int cps_watchdog_guard(pid_t group, int grace_ms) {
    char line[64];
    snprintf(line, sizeof line, "guard %d %d\n", (int)group, grace_ms / 50 + 1);
    pthread_mutex_lock(&watchdog_lock);
    int result = tell_watchdog(line, 1);
    pthread_mutex_unlock(&watchdog_lock);
    return result;
}

void cps_watchdog_release(pid_t group) {
    char line[64];
    snprintf(line, sizeof line, "release %d\n", (int)group);
    pthread_mutex_lock(&watchdog_lock);
    tell_watchdog(line, 0);
    pthread_mutex_unlock(&watchdog_lock);
}

const char *cps_watchdog_script(void) { return watchdog_script; }

pid_t cps_watchdog_pid(void) {
    pthread_mutex_lock(&watchdog_lock);
    pid_t pid = watchdog_fd >= 0 ? watchdog_pid : 0;
    pthread_mutex_unlock(&watchdog_lock);
    return pid;
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
