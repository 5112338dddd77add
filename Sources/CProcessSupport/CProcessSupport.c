#define _GNU_SOURCE
#include "CProcessSupport.h"
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>

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

static void count_interrupt(int signo) {
    interrupt_count++;
    last_signal = signo;
    if (interrupt_count >= 2) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
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
