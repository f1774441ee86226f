#ifndef HTTP_H
#define HTTP_H

#include <pthread.h>
#include <sys/socket.h>
#include "auth.h"
#include "err.h"

/*
 * serve's HTTP server (libmicrohttpd): a pool of threads answering the
 * operation table as JSON (lib/api.c), each thread with its own SQLite
 * connection, plus /openapi.json, /healthz, /readyz, /metrics and the
 * Server-Sent Events stream of GET /events, whose idle clients are parked
 * (suspended) and woken by one thread watching the event table.
 *
 * What a page of another site can make a browser send is refused before
 * it reaches an operation: a Host that is not serve's (DNS rebinding), a
 * write whose Origin or Sec-Fetch-Site is another site's, a write body
 * that is not JSON, a browser's write without the page's cookie
 * (ah_auth_page_secret). The same thread cuts off connections whose
 * request does not arrive whole in time.
 */
struct ah_http_opts {
	const char *dir;		/* state directory (NULL: the default) */
	const char *listen;		/* "ADDR:PORT"; port 0 picks a free one */
	unsigned threads;		/* request threads */
	unsigned timeout_s;		/* idle connection timeout */
	/* A request's headers and body must arrive within this, however they trickle. */
	unsigned request_timeout_s;
	unsigned max_conns, max_conns_per_ip;
	/*
	 * Host names the requests may name besides serve's own addresses
	 * (comma-separated, "NAME" or "NAME:PORT"), and the origins other
	 * than its own whose pages may call it (CORS; comma-separated).
	 */
	const char *allow_hosts;
	const char *cors_origins;
	long heartbeat_ms;		/* SSE heartbeat comment interval */
	const struct ah_auth *auth;	/* tokens; none configured: loopback only */
	const char *version;
	/* Called after every successful write, so that workers look for work. */
	void (*on_write)(void *cls);
	void *on_write_cls;
};

struct ah_http;

/* Parses "ADDR:PORT" ("[::1]:4000" for IPv6); tells whether it is loopback. */
int ah_http_parse_listen(const char *listen, struct sockaddr_storage *sa, int *loopback,
			 struct ah_err *err);

int ah_http_start(struct ah_http **out, const struct ah_http_opts *opts, struct ah_err *err);
/* The address actually bound, "http://127.0.0.1:4000". */
const char *ah_http_url(const struct ah_http *h);
/* Stops accepting, ends the event streams, waits for requests in flight. */
void ah_http_stop(struct ah_http *h);

#endif
