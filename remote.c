/*
 * apphub-remote METHOD URL: one HTTP exchange with a remote apphub serve
 * for `apphub --server URL ...`, so that the light apphub need not link
 * libcurl (DESIGN.md §1), as git-remote-http for git. The request body
 * (JSON) is read from stdin; $APPHUB_TOKEN goes as a bearer token. Prints
 * the HTTP status on one line, then the response body. Exits 0 when an
 * answer came, 128 when the server could not be reached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#ifndef APPHUB_VERSION
#define APPHUB_VERSION "0.0.0"
#endif

#define MAX_REQUEST (64 << 20)
#define MAX_RESPONSE (256 << 20)

struct buf {
	char *data;
	size_t len, alloc;
};

static int buf_add(struct buf *b, const void *p, size_t n, size_t cap)
{
	if (b->len + n > cap)
		return -1;
	if (b->len + n + 1 > b->alloc) {
		size_t alloc = b->alloc ? b->alloc : 4096;

		while (alloc < b->len + n + 1)
			alloc *= 2;
		if (!(b->data = realloc(b->data, alloc))) {
			fputs("apphub: out of memory\n", stderr);
			exit(128);
		}
		b->alloc = alloc;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static size_t on_data(char *p, size_t size, size_t n, void *cls)
{
	return buf_add(cls, p, size * n, MAX_RESPONSE) < 0 ? 0 : size * n;
}

int main(int argc, char **argv)
{
	struct buf req = { 0 }, resp = { 0 };
	struct curl_slist *headers = NULL;
	const char *token = getenv("APPHUB_TOKEN"), *timeout = getenv("APPHUB_REMOTE_TIMEOUT");
	char errbuf[CURL_ERROR_SIZE] = "", chunk[65536], *auth = NULL;
	long status = 0;
	size_t n;
	CURLcode rc;
	CURL *curl;
	int code = 128;

	if (argc != 3) {
		fputs("usage: apphub-remote <method> <url> <body\n", stderr);
		return 129;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		if (buf_add(&req, chunk, n, MAX_REQUEST) < 0) {
			fputs("apphub: request: larger than 64 MiB\n", stderr);
			return 128;
		}
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(curl = curl_easy_init())) {
		fputs("apphub: cannot start libcurl\n", stderr);
		return 128;
	}
	headers = curl_slist_append(headers, "Accept: application/json");
	if (req.len)
		headers = curl_slist_append(headers, "Content-Type: application/json");
	if (token && *token) {
		size_t len = strlen(token) + 32;

		auth = malloc(len);
		if (auth) {
			snprintf(auth, len, "Authorization: Bearer %s", token);
			headers = curl_slist_append(headers, auth);
		}
	}
	curl_easy_setopt(curl, CURLOPT_URL, argv[2]);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, argv[1]);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "apphub/" APPHUB_VERSION);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout && atol(timeout) > 0 ? atol(timeout) : 300L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
	if (req.len) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.data);
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
		fwrite(resp.data, 1, resp.len, stdout);
	code = fflush(stdout) ? 128 : 0;
done:
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	free(auth);
	free(req.data);
	free(resp.data);
	return code;
}
