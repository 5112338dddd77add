#define _GNU_SOURCE
#include "Clibgit2Support.h"
#include <dlfcn.h>
#include <git2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* mbedTLS's certificate chain, opaque here (only passed through). */
typedef struct mbedtls_x509_crt mbedtls_x509_crt;
typedef int (*parse_function)(mbedtls_x509_crt *chain, const char *location);

/* Set once certificates are wanted: from then on parses go through to mbedTLS. */
static volatile int certificates_wanted = 0;
/* The bundle (file) or folder (path) libgit2 asked for at initialisation, not parsed yet. */
static char *deferred_file = NULL;
static char *deferred_path = NULL;
static pthread_mutex_t deferred_lock = PTHREAD_MUTEX_INITIALIZER;

/* Notes `location` in `*slot` while certificates are not wanted (returns 1), else returns 0. */
static int defer(char **slot, const char *location) {
    pthread_mutex_lock(&deferred_lock);
    int deferring = !certificates_wanted;
    if (deferring) {
        free(*slot);
        *slot = location != NULL ? strdup(location) : NULL;
    }
    pthread_mutex_unlock(&deferred_lock);
    return deferring;
}

/* mbedTLS's own function of that name, or -1 when there is none. */
static int parse_for_real(const char *name, mbedtls_x509_crt *chain, const char *location) {
    parse_function real = (parse_function)dlsym(RTLD_NEXT, name);
    return real != NULL ? real(chain, location) : -1;
}

/* An empty chain and success: libgit2 installs it, and the real one replaces it when loaded. */
int mbedtls_x509_crt_parse_file(mbedtls_x509_crt *chain, const char *file) {
    if (defer(&deferred_file, file)) return 0;
    return parse_for_real("mbedtls_x509_crt_parse_file", chain, file);
}

int mbedtls_x509_crt_parse_path(mbedtls_x509_crt *chain, const char *path) {
    if (defer(&deferred_path, path)) return 0;
    return parse_for_real("mbedtls_x509_crt_parse_path", chain, path);
}

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_result = 0;

static void load(void) {
    pthread_mutex_lock(&deferred_lock);
    certificates_wanted = 1;
    char *file = deferred_file, *path = deferred_path;
    deferred_file = deferred_path = NULL;
    pthread_mutex_unlock(&deferred_lock);
    if (file != NULL || path != NULL) load_result = git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file, path);
    free(file);
    free(path);
}

int clibgit2_load_certificates(void) {
    pthread_once(&load_once, load);
    return load_result;
}
