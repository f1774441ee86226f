/*
 * apphub-remote METHOD URL (the hidden command "remote" of the helper
 * apphub-remote, reached by that name only): one HTTP exchange with a
 * remote apphub serve for `apphub --server URL ...`, so that the light apphub need not link
 * libcurl (DESIGN.md §1), as git-remote-http for git. The request body
 * (JSON) is read from stdin; $APPHUB_TOKEN goes as a bearer token. Prints
 * the HTTP status on one line, then the response body. Exits 0 when an
 * answer came, 128 when the server could not be reached.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "cmd.h"
#include "../lib/env.h"
#include "../lib/strbuf.h"

#ifndef APPHUB_VERSION
#define APPHUB_VERSION "0.0.0"
#endif

#define MAX_REQUEST (64 << 20)
#define MAX_RESPONSE (256 << 20)

static size_t on_data(char *p, size_t size, size_t n, void *cls)
{
	struct strbuf *resp = cls;

	if (resp->len + size * n > MAX_RESPONSE)
		return 0;
	strbuf_add(resp, p, size * n);
	return size * n;
}

int cmd_remote(int argc, const char **argv, struct ctx *ctx)
{
	struct strbuf req = STRBUF_INIT, resp = STRBUF_INIT;
	struct curl_slist *headers = NULL;
	const char *token = getenv("APPHUB_TOKEN");
	struct ah_err err = AH_ERR_INIT;
	int64_t timeout_ms;
	char errbuf[CURL_ERROR_SIZE] = "", chunk[65536], *auth = NULL;
	long status = 0;
	size_t n;
	CURLcode rc;
	CURL *curl;
	int code = 128;

	(void)ctx;
	if (argc != 3) {
		fputs("usage: apphub-remote <method> <url> <body\n", stderr);
		return 129;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		if (req.len + n > MAX_REQUEST) {
			fputs("apphub: request: larger than 64 MiB\n", stderr);
			strbuf_release(&req);
			return 128;
		}
		strbuf_add(&req, chunk, n);
	}
	/* in seconds, as it always was, when it has no unit */
	if (ah_env_duration("APPHUB_REMOTE_TIMEOUT", 1000, 300000, 1, &timeout_ms, &err) < 0) {
		fprintf(stderr, "apphub: %s\n", err.msg);
		strbuf_release(&req);
		return 128;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(curl = curl_easy_init())) {
		fputs("apphub: cannot start libcurl\n", stderr);
		strbuf_release(&req);
		return 128;
	}
	headers = curl_slist_append(headers, "Accept: application/json");
	if (req.len)
		headers = curl_slist_append(headers, "Content-Type: application/json");
	if (token && *token) {
		auth = xstrfmt("Authorization: Bearer %s", token);
		headers = curl_slist_append(headers, auth);
	}
	curl_easy_setopt(curl, CURLOPT_URL, argv[2]);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, argv[1]);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "apphub/" APPHUB_VERSION);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms > LONG_MAX ? LONG_MAX : (long)timeout_ms);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
	if (req.len) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.buf);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req.len);
	}
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		fprintf(stderr, "apphub: cannot reach server '%s': %s\n", argv[2],
			*errbuf ? errbuf : curl_easy_strerror(rc));
		goto done;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	printf("%ld\n", status);
	if (resp.len)
		fwrite(resp.buf, 1, resp.len, stdout);
	code = fflush(stdout) ? 128 : 0;
done:
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	free(auth);
	strbuf_release(&req);
	strbuf_release(&resp);
	return code;
}
