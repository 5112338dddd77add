#ifndef CLIBGIT2SUPPORT_H
#define CLIBGIT2SUPPORT_H
#include "ObjectWriting.h"

/// Loads the certificate authorities libgit2 would have loaded when it was initialised, before
/// the first connection to a remote; once per process, later calls do nothing. Returns 0, or
/// libgit2's error code.
///
/// libgit2 1.5 built with mbedTLS (Debian's) parses the system's CA bundle (213 KB) in
/// `git_libgit2_init`, for every command, even one that never talks to a remote. This module
/// defines `mbedtls_x509_crt_parse_file` and `mbedtls_x509_crt_parse_path`, which the dynamic
/// linker binds libgit2's calls to (the executable comes first in the lookup order): until this
/// function is called they note the location and parse nothing; then it hands that location to
/// libgit2 (`GIT_OPT_SET_SSL_CERT_LOCATIONS`), whose parse goes through to mbedTLS. With a
/// libgit2 built on OpenSSL (which loads certificates when a connection needs them) nothing is
/// deferred and this only sets the flag.
int clibgit2_load_certificates(void);
#endif
