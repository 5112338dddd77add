#define _GNU_SOURCE
#include "CGitSsh.h"
#include <git2.h>
#include <git2/sys/transport.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Where an ssh URL points: "[user@]host", the port (or NULL) and the path as git sends it. */
typedef struct {
    char *user_host;
    char *port;
    char *path;
} ssh_target;

typedef struct ssh_subtransport ssh_subtransport;

/* One run of ssh: the socket its stdin reads (a socket, so that writes can refuse SIGPIPE),
   the pipes of its stdout and stderr, and the end of what it wrote to stderr. */
typedef struct {
    git_smart_subtransport_stream parent;
    pid_t pid;
    int input_fd, output_fd, error_fd;
    char error_tail[1024];
    size_t error_length;
} ssh_stream;

struct ssh_subtransport {
    git_smart_subtransport parent;
    char *ssh_command; /* GIT_SSH_COMMAND or core.sshCommand, run through /bin/sh; NULL: GIT_SSH or ssh */
    ssh_stream *current;
};

static void target_free(ssh_target *target) {
    free(target->user_host);
    free(target->port);
    free(target->path);
    memset(target, 0, sizeof(*target));
}

/* Splits "[user@]host[:port]" (host possibly in brackets) of an ssh:// URL. */
static int parse_authority(const char *authority, size_t length, ssh_target *target) {
    const char *at = memrchr(authority, '@', length);
    const char *host = at ? at + 1 : authority;
    const char *end = authority + length;
    const char *host_end = end;
    if (*host == '[') {
        const char *bracket = memchr(host, ']', (size_t)(end - host));
        if (!bracket) return -1;
        host_end = bracket + 1;
    } else {
        const char *colon = memchr(host, ':', (size_t)(end - host));
        if (colon) host_end = colon;
    }
    if (host_end < end && *host_end == ':' && host_end + 1 < end)
        target->port = strndup(host_end + 1, (size_t)(end - host_end - 1));
    const char *bare = host, *bare_end = host_end;
    if (*host == '[') { bare++; bare_end--; }
    if (bare_end <= bare) return -1;
    size_t user_length = at ? (size_t)(at - authority) + 1 : 0;
    target->user_host = malloc(user_length + (size_t)(bare_end - bare) + 1);
    memcpy(target->user_host, authority, user_length);
    memcpy(target->user_host + user_length, bare, (size_t)(bare_end - bare));
    target->user_host[user_length + (size_t)(bare_end - bare)] = '\0';
    return 0;
}

static int parse_target(const char *url, ssh_target *target) {
    static const char *schemes[] = {"ssh://", "ssh+git://", "git+ssh://"};
    memset(target, 0, sizeof(*target));
    for (size_t i = 0; i < sizeof(schemes) / sizeof(*schemes); i++) {
        size_t prefix = strlen(schemes[i]);
        if (strncasecmp(url, schemes[i], prefix) != 0) continue;
        const char *authority = url + prefix;
        const char *slash = strchr(authority, '/');
        if (!slash || parse_authority(authority, (size_t)(slash - authority), target) < 0) return -1;
        /* ssh://host/~user/repo names a path relative to a home directory, as in git. */
        target->path = strdup(slash[1] == '~' ? slash + 1 : slash);
        return 0;
    }
    if (strstr(url, "://")) return -1;
    /* scp-like: [user@]host:path, or [user@][host]:path */
    const char *colon = url[0] == '[' || strstr(url, "@[") ? strstr(url, "]:") : strchr(url, ':');
    if (!colon) return -1;
    if (*colon == ']') colon++;
    if (parse_authority(url, (size_t)(colon - url), target) < 0) return -1;
    free(target->port); /* a colon inside brackets is not a port here */
    target->port = NULL;
    target->path = strdup(colon + 1);
    return 0;
}

/* Appends `text` quoted for a POSIX shell as git's sq_quote does: ' becomes '\'' and ! '\!'. */
static void append_quoted(char *out, const char *text) {
    char *cursor = out + strlen(out);
    *cursor++ = '\'';
    for (; *text; text++) {
        if (*text == '\'' || *text == '!') {
            memcpy(cursor, "'\\", 2);
            cursor += 2;
            *cursor++ = *text;
            *cursor++ = '\'';
        } else {
            *cursor++ = *text;
        }
    }
    *cursor++ = '\'';
    *cursor = '\0';
}

/* The argument vector (NULL-terminated, at most 9 entries, strings owned by `storage`). */
static int build_argv(const char *url, const char *service, const char *ssh_command, char *argv[9], ssh_target *target,
                      char **storage) {
    if (parse_target(url, target) < 0) {
        target_free(target);
        git_error_set(GIT_ERROR_SSH, "'%s' is not an ssh URL (ssh://[user@]host[:port]/path or [user@]host:path)", url);
        return -1;
    }
    const char *host = strchr(target->user_host, '@') ? strchr(target->user_host, '@') + 1 : target->user_host;
    if (target->user_host[0] == '-' || host[0] == '-' || target->path[0] == '-' || !target->path[0] ||
        (target->port && target->port[0] == '-')) {
        git_error_set(GIT_ERROR_SSH, "strange host or path blocked in '%s' (it would be read as an option of ssh)", url);
        target_free(target);
        return -1;
    }
    char *remote_command = malloc(strlen(service) + 4 * strlen(target->path) + 4);
    sprintf(remote_command, "%s ", service);
    append_quoted(remote_command, target->path);
    int count = 0;
    if (ssh_command) {
        /* As git: the command is a shell snippet, the arguments go through "$@", never into the text. */
        *storage = malloc(strlen(ssh_command) + 8);
        sprintf(*storage, "%s \"$@\"", ssh_command);
        argv[count++] = "/bin/sh";
        argv[count++] = "-c";
        argv[count++] = *storage;
        argv[count++] = (char *)ssh_command;
    } else {
        const char *program = getenv("GIT_SSH");
        argv[count++] = (char *)(program && *program ? program : "ssh");
    }
    if (target->port) {
        argv[count++] = "-p";
        argv[count++] = target->port;
    }
    argv[count++] = target->user_host;
    argv[count++] = remote_command;
    argv[count] = NULL;
    free(target->path);
    target->path = remote_command; /* owned by the target from here */
    return count;
}

int cgs_ssh_argv(const char *url, const char *service, const char *ssh_command, char *buffer, int size) {
    char *argv[9], *storage = NULL;
    ssh_target target;
    int count = build_argv(url, service, ssh_command, argv, &target, &storage);
    if (count < 0) return -1;
    int used = 0;
    for (int i = 0; i < count; i++) {
        int length = (int)strlen(argv[i]) + 1;
        if (used + length > size) {
            git_error_set(GIT_ERROR_INVALID, "the ssh command line for '%s' is longer than %d bytes", url, size);
            count = -1;
            break;
        }
        memcpy(buffer + used, argv[i], (size_t)length);
        used += length;
    }
    target_free(&target);
    free(storage);
    return count;
}

/* Keeps the last bytes ssh wrote to stderr (after showing them to the user). */
static void forward_errors(ssh_stream *stream) {
    char chunk[512];
    ssize_t got;
    while (stream->error_fd >= 0 && (got = read(stream->error_fd, chunk, sizeof(chunk))) != 0) {
        if (got < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return;
            break;
        }
        ssize_t ignored = write(STDERR_FILENO, chunk, (size_t)got);
        (void)ignored;
        size_t keep = sizeof(stream->error_tail) - 1;
        if ((size_t)got >= keep) {
            memcpy(stream->error_tail, chunk + got - keep, keep);
            stream->error_length = keep;
        } else {
            if (stream->error_length + (size_t)got > keep) {
                size_t drop = stream->error_length + (size_t)got - keep;
                memmove(stream->error_tail, stream->error_tail + drop, stream->error_length - drop);
                stream->error_length -= drop;
            }
            memcpy(stream->error_tail + stream->error_length, chunk, (size_t)got);
            stream->error_length += (size_t)got;
        }
        stream->error_tail[stream->error_length] = '\0';
    }
    if (stream->error_fd >= 0) close(stream->error_fd);
    stream->error_fd = -1;
}

/* Waits up to `milliseconds` for the child to end; true when it did (and was reaped). */
static int reap_within(ssh_stream *stream, int milliseconds, int *status) {
    for (int waited = 0;; waited += 5) {
        pid_t done = waitpid(stream->pid, status, WNOHANG);
        if (done == stream->pid || (done < 0 && errno != EINTR)) return 1;
        if (waited >= milliseconds) return 0;
        struct timespec step = {0, 5 * 1000 * 1000};
        nanosleep(&step, NULL);
    }
}

/* Ends the child: it gets end of file on stdin; then SIGTERM, then SIGKILL; always reaped. */
static int stop_child(ssh_stream *stream) {
    int status = 0;
    if (stream->pid <= 0) return 0;
    if (!reap_within(stream, 2000, &status)) {
        kill(stream->pid, SIGTERM);
        if (!reap_within(stream, 1000, &status)) {
            kill(stream->pid, SIGKILL);
            while (waitpid(stream->pid, &status, 0) < 0 && errno == EINTR) {}
        }
    }
    stream->pid = 0;
    return status;
}

/* The libgit2 error for a connection ssh ended: ssh's last line, which says why. */
static int connection_ended(ssh_stream *stream) {
    if (stream->input_fd >= 0) shutdown(stream->input_fd, SHUT_WR);
    int status = stop_child(stream);
    forward_errors(stream);
    char *tail = stream->error_tail;
    while (stream->error_length > 0 && (tail[stream->error_length - 1] == '\n' || tail[stream->error_length - 1] == '\r'))
        tail[--stream->error_length] = '\0';
    char *last = strrchr(tail, '\n');
    last = last ? last + 1 : tail;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (*last)
        git_error_set(GIT_ERROR_SSH, "ssh: %s (exit status %d)", last, code);
    else
        git_error_set(GIT_ERROR_SSH, "ssh ended the connection (exit status %d)", code);
    return strstr(tail, "Permission denied") ? GIT_EAUTH : -1;
}

static int stream_read(git_smart_subtransport_stream *parent, char *buffer, size_t size, size_t *bytes_read) {
    ssh_stream *stream = (ssh_stream *)parent;
    *bytes_read = 0;
    for (;;) {
        struct pollfd fds[2] = {{stream->output_fd, POLLIN, 0}, {stream->error_fd, POLLIN, 0}};
        if (poll(fds, stream->error_fd >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR) continue;
            git_error_set(GIT_ERROR_OS, "poll on ssh's output: %s", strerror(errno));
            return -1;
        }
        if (stream->error_fd >= 0 && fds[1].revents) forward_errors(stream);
        if (!fds[0].revents) continue;
        ssize_t got = read(stream->output_fd, buffer, size);
        if (got > 0) {
            *bytes_read = (size_t)got;
            return 0;
        }
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        return connection_ended(stream);
    }
}

static int stream_write(git_smart_subtransport_stream *parent, const char *buffer, size_t length) {
    ssh_stream *stream = (ssh_stream *)parent;
    while (length > 0) {
        ssize_t sent = send(stream->input_fd, buffer, length, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            return connection_ended(stream);
        }
        buffer += sent;
        length -= (size_t)sent;
    }
    return 0;
}

static void stream_free(git_smart_subtransport_stream *parent) {
    ssh_stream *stream = (ssh_stream *)parent;
    ssh_subtransport *owner = (ssh_subtransport *)parent->subtransport;
    if (owner && owner->current == stream) owner->current = NULL;
    if (stream->input_fd >= 0) close(stream->input_fd);
    if (stream->output_fd >= 0) close(stream->output_fd);
    stream->input_fd = stream->output_fd = -1;
    stop_child(stream);
    forward_errors(stream);
    /* Still open when something ssh started keeps its stderr: what it writes later is not ours. */
    if (stream->error_fd >= 0) close(stream->error_fd);
    free(stream);
}

static int spawn_ssh(ssh_stream *stream, char *const argv[]) {
    int input[2], output[2], errors[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, input) < 0) return errno;
    if (pipe2(output, O_CLOEXEC) < 0) { int e = errno; close(input[0]); close(input[1]); return e; }
    if (pipe2(errors, O_CLOEXEC) < 0) {
        int e = errno;
        close(input[0]); close(input[1]); close(output[0]); close(output[1]);
        return e;
    }
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
    sigset_t defaults, empty;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGHUP);
    sigemptyset(&empty);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setsigmask(&attributes, &empty);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    posix_spawn_file_actions_adddup2(&actions, input[1], 0);
    posix_spawn_file_actions_adddup2(&actions, output[1], 1);
    posix_spawn_file_actions_adddup2(&actions, errors[1], 2);
    /* Nothing else: an ssh that stays (ControlPersist) must not hold the tool's lock files open. */
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    extern char **environ;
    int result = posix_spawnp(&stream->pid, argv[0], &actions, &attributes, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    close(input[1]);
    close(output[1]);
    close(errors[1]);
    stream->input_fd = input[0];
    stream->output_fd = output[0];
    stream->error_fd = errors[0];
    fcntl(stream->error_fd, F_SETFL, O_NONBLOCK);
    if (result != 0) {
        stream->pid = 0;
        close(input[0]); close(output[0]); close(errors[0]);
        stream->input_fd = stream->output_fd = stream->error_fd = -1;
    }
    return result;
}

static int stream_new(ssh_stream **out, ssh_subtransport *owner, const char *url, const char *service) {
    char *argv[9], *storage = NULL;
    ssh_target target;
    if (build_argv(url, service, owner->ssh_command, argv, &target, &storage) < 0) return -1;
    ssh_stream *stream = calloc(1, sizeof(*stream));
    stream->parent.subtransport = &owner->parent;
    stream->parent.read = stream_read;
    stream->parent.write = stream_write;
    stream->parent.free = stream_free;
    int result = spawn_ssh(stream, argv);
    if (result != 0)
        git_error_set(GIT_ERROR_SSH, "cannot run '%s': %s", owner->ssh_command ? owner->ssh_command : argv[0], strerror(result));
    target_free(&target);
    free(storage);
    if (result != 0) {
        free(stream);
        return -1;
    }
    *out = stream;
    return 0;
}

static int subtransport_action(git_smart_subtransport_stream **out, git_smart_subtransport *parent, const char *url,
                               git_smart_service_t action) {
    ssh_subtransport *transport = (ssh_subtransport *)parent;
    int upload = action == GIT_SERVICE_UPLOADPACK_LS || action == GIT_SERVICE_UPLOADPACK;
    /* The listing and the exchange that follows it share one connection, as in git. */
    if ((action == GIT_SERVICE_UPLOADPACK || action == GIT_SERVICE_RECEIVEPACK) && transport->current) {
        *out = &transport->current->parent;
        return 0;
    }
    if (transport->current) transport->current->parent.free(&transport->current->parent);
    ssh_stream *stream;
    if (stream_new(&stream, transport, url, upload ? "git-upload-pack" : "git-receive-pack") < 0) return -1;
    transport->current = stream;
    *out = &stream->parent;
    return 0;
}

static int subtransport_close(git_smart_subtransport *parent) {
    ssh_subtransport *transport = (ssh_subtransport *)parent;
    if (transport->current) transport->current->parent.free(&transport->current->parent);
    return 0;
}

static void subtransport_free(git_smart_subtransport *parent) {
    ssh_subtransport *transport = (ssh_subtransport *)parent;
    subtransport_close(parent);
    free(transport->ssh_command);
    free(transport);
}

static int subtransport_new(git_smart_subtransport **out, git_transport *owner, void *param) {
    (void)owner;
    ssh_subtransport *transport = calloc(1, sizeof(*transport));
    transport->parent.action = subtransport_action;
    transport->parent.close = subtransport_close;
    transport->parent.free = subtransport_free;
    transport->ssh_command = param ? strdup(param) : NULL;
    *out = &transport->parent;
    return 0;
}

/* GIT_SSH_COMMAND, else core.sshCommand of the remote's repository; NULL when neither is set. */
static char *configured_ssh_command(git_remote *remote) {
    const char *variable = getenv("GIT_SSH_COMMAND");
    if (variable && *variable) return strdup(variable);
    git_repository *repository = remote ? git_remote_owner(remote) : NULL;
    git_config *config = NULL;
    char *command = NULL;
    if (repository && git_repository_config_snapshot(&config, repository) == 0) {
        const char *value = NULL;
        if (git_config_get_string(&value, config, "core.sshCommand") == 0 && value && *value) command = strdup(value);
        git_config_free(config);
    }
    git_error_clear();
    return command;
}

static int transport_new(git_transport **out, git_remote *owner, void *param) {
    (void)param;
    char *command = configured_ssh_command(owner);
    /* libgit2 reads the definition only while creating the transport. */
    git_smart_subtransport_definition definition = {subtransport_new, 0, command};
    int result = git_transport_smart(out, owner, &definition);
    free(command);
    return result;
}

static pthread_once_t registration = PTHREAD_ONCE_INIT;
static int registration_result = 0;

static void register_once(void) {
    git_libgit2_init();
    /* libgit2 looks scp-like URLs up as "ssh://". */
    static const char *schemes[] = {"ssh", "ssh+git", "git+ssh"};
    for (size_t i = 0; i < sizeof(schemes) / sizeof(*schemes) && registration_result == 0; i++)
        registration_result = git_transport_register(schemes[i], transport_new, NULL);
}

int cgs_register_ssh_transport(void) {
    pthread_once(&registration, register_once);
    return registration_result;
}
