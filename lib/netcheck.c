/*
 * netcheck.c: which repository URLs a serve reachable from the network may
 * fetch (see netcheck.h).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include "netcheck.h"
#include "strbuf.h"

int ah_netcheck_beyond_loopback;

static int private_v4(uint32_t a)
{
	return (a >> 24) == 0 ||		/* 0.0.0.0/8 */
	       (a >> 24) == 10 ||		/* 10/8 */
	       (a >> 24) == 127 ||		/* loopback */
	       (a >> 22) == (100u << 2 | 1) ||	/* 100.64/10 */
	       (a >> 16) == (169u << 8 | 254) ||	/* link-local */
	       (a >> 20) == (172u << 4 | 1) ||	/* 172.16/12 */
	       (a >> 16) == (192u << 8 | 168) ||	/* 192.168/16 */
	       (a >> 8) == (192u << 16 | 0 << 8 | 0) ||	/* 192.0.0/24 */
	       (a >> 28) >= 14;			/* multicast, reserved, broadcast */
}

static int private_addr(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return private_v4(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		const unsigned char *b = a->s6_addr;
		static const unsigned char nat64[12] = { 0, 0x64, 0xff, 0x9b };
		uint32_t v4;

		memcpy(&v4, b + 12, 4);
		if (IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a) || !memcmp(b, nat64, 12))
			return private_v4(ntohl(v4));
		return IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LOOPBACK(a) ||
		       (b[0] & 0xfe) == 0xfc ||			/* fc00::/7 */
		       (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||	/* fe80::/10 */
		       (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) ||	/* fec0::/10 */
		       b[0] == 0xff;				/* multicast */
	}
	return 1;
}

/* The host of url into host ("" for a file URL or a path). */
static void url_host(const char *url, struct strbuf *host)
{
	const char *p = strstr(url, "://"), *end, *at, *colon;

	if (!p) {
		/* user@host:path, or a path */
		colon = strchr(url, ':');
		if (url[0] == '/' || !colon)
			return;
		at = memchr(url, '@', (size_t)(colon - url));
		p = at ? at + 1 : url;
		strbuf_add(host, p, (size_t)(colon - p));
		return;
	}
	if (!strncasecmp(url, "file://", 7))
		return;
	p += 3;
	end = p + strcspn(p, "/?#");
	for (at = end; at > p; at--)
		if (at[-1] == '@')
			break;
	p = at;
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		if (close) {
			strbuf_add(host, p + 1, (size_t)(close - p - 1));
			return;
		}
	}
	colon = memchr(p, ':', (size_t)(end - p));
	strbuf_add(host, p, (size_t)((colon ? colon : end) - p));
}

int ah_netcheck_active(void)
{
	const char *allow = getenv("APPHUB_INGEST_ALLOW_PRIVATE");

	return ah_netcheck_beyond_loopback && !(allow && !strcmp(allow, "1"));
}

int ah_netcheck_repo_url(const char *url, struct ah_err *err)
{
	struct strbuf host = STRBUF_INIT;
	struct addrinfo hints, *res = NULL, *ai;
	int rc, ret = -1;

	if (!ah_netcheck_active())
		return 0;
	url_host(url, &host);
	if (!host.len) {
		ah_error(err, 403, "forbidden",
			 "repository '%s': a file on serve's host is not fetched when serve listens beyond loopback (APPHUB_INGEST_ALLOW_PRIVATE=1 allows it)",
			 url);
		goto done;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host.buf, NULL, &hints, &res)) != 0) {
		ah_invalid(err, "repository '%s': cannot resolve '%s': %s", url, host.buf,
			   gai_strerror(rc));
		goto done;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		if (private_addr(ai->ai_addr)) {
			ah_error(err, 403, "forbidden",
				 "repository '%s': '%s' is a loopback, link-local or private address, not fetched when serve listens beyond loopback (APPHUB_INGEST_ALLOW_PRIVATE=1 allows it)",
				 url, host.buf);
			goto done;
		}
	}
	ret = 0;
done:
	if (res)
		freeaddrinfo(res);
	strbuf_release(&host);
	return ret;
}
