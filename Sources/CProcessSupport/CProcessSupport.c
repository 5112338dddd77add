#define _GNU_SOURCE
#include "CProcessSupport.h"
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t interrupt_count = 0;
static volatile sig_atomic_t last_signal = 0;

int cps_spawn_shell(const char *command, const char *directory, char *const envp[], int output_fd, pid_t *pid) {
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
    sigaddset(&defaults, SIGPIPE);
    sigemptyset(&empty);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setsigmask(&attributes, &empty);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, output_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, output_fd, 2);
    if (directory != NULL) posix_spawn_file_actions_addchdir_np(&actions, directory);
    /* The command gets stdin, stdout and stderr only: no descriptor the tool inherited leaks into it. */
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);

    char *const argv[] = {"/bin/sh", "-c", (char *)command, NULL};
    result = posix_spawn(pid, "/bin/sh", &actions, &attributes, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    return result;
}

int cps_start_watchdog(pid_t group, int grace_ms, pid_t *watchdog, int *release_fd) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return errno;
    pid_t pid = fork();
    if (pid < 0) {
        int error = errno;
        close(fds[0]);
        close(fds[1]);
        return error;
    }
    if (pid == 0) {
        /* The child of a multithreaded process: async-signal-safe calls only. */
        struct sigaction ignore;
        memset(&ignore, 0, sizeof ignore);
        ignore.sa_handler = SIG_IGN;
        sigaction(SIGINT, &ignore, NULL);
        sigaction(SIGTERM, &ignore, NULL);
        sigaction(SIGHUP, &ignore, NULL);
        /* Keep only the pipe (as fd 0): holding the tool's stdout open would delay whoever reads it. */
        dup2(fds[0], 0);
        if (syscall(SYS_close_range, 1, ~0U, 0) != 0) {
            for (int fd = 1; fd < 4096; fd++) close(fd);
        }
        char byte;
        ssize_t count;
        do { count = read(0, &byte, 1); } while (count < 0 && errno == EINTR);
        if (count == 1) _exit(0);
        /* End of file without the release byte: the tool died. Stop the group as it would have. */
        kill(-group, SIGTERM);
        struct timespec step = {0, 50 * 1000 * 1000};
        for (int waited = 0; waited < grace_ms; waited += 50) {
            if (kill(-group, 0) != 0) _exit(0);
            nanosleep(&step, NULL);
        }
        kill(-group, SIGKILL);
        _exit(0);
    }
    close(fds[0]);
    *watchdog = pid;
    *release_fd = fds[1];
    return 0;
}

static void count_interrupt(int signo) {
    interrupt_count++;
    last_signal = signo;
    if (interrupt_count >= 2) {
        /* The second one ends the process at once (the handler's return unblocks the re-raised signal). */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        raise(signo);
    }
}

void cps_install_interrupt_handlers(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = count_interrupt;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    /* A parent may have started us with these blocked (the mask survives exec): unblock them. */
    sigset_t interrupts;
    sigemptyset(&interrupts);
    sigaddset(&interrupts, SIGINT);
    sigaddset(&interrupts, SIGTERM);
    sigprocmask(SIG_UNBLOCK, &interrupts, NULL);
}

int cps_interrupt_count(void) { return interrupt_count; }
int cps_last_interrupt_signal(void) { return last_signal; }
