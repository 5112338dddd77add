// The watchdog of an evaluation's process group (see `cps_start_watchdog`): `autoresearch-watchdog
// GROUP STEPS`, its stdin the read end of a pipe the tool holds. A line on stdin is the release.
// End of file without it means the tool died (even by SIGKILL): the group gets SIGTERM, up to
// STEPS waits of 50 ms for it to go, then SIGKILL, as the tool would have done. A C program
// rather than a shell script: no interpreter to start on every evaluation.
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    pid_t group = (pid_t)atol(argv[1]);
    long steps = atol(argv[2]);
    if (group <= 1) return 2;
    /* The terminal's Ctrl-C and a closing session are the tool's to handle, not the watchdog's. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    char released;
    ssize_t got;
    do { got = read(0, &released, 1); } while (got < 0 && errno == EINTR);
    if (got == 1) return 0;
    if (kill(-group, SIGTERM) != 0) return 0;
    const struct timespec step = {0, 50 * 1000 * 1000};
    for (long i = 0; i < steps && kill(-group, 0) == 0; i++) nanosleep(&step, NULL);
    kill(-group, SIGKILL);
    return 0;
}
