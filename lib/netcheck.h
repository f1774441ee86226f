#ifndef NETCHECK_H
#define NETCHECK_H

#include "err.h"

/*
 * Outbound fetches from a serve reachable beyond loopback: a repository URL
 * must not lead serve to its own host or private network (loopback,
 * link-local, RFC 1918, CGNAT, unique-local, v4-mapped forms of those),
 * nor to a file on its disk, unless APPHUB_INGEST_ALLOW_PRIVATE=1.
 */

/* Set by serve when it listens beyond loopback; the checks apply only then. */
extern int ah_netcheck_beyond_loopback;

/* Whether the checks apply: beyond loopback, APPHUB_INGEST_ALLOW_PRIVATE not 1. */
int ah_netcheck_active(void);

/*
 * 0 when url may be fetched; otherwise a 403 naming the URL. Resolves the
 * host: at registration and again before each fetch.
 */
int ah_netcheck_repo_url(const char *url, struct ah_err *err);

#endif
