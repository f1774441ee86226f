/*
 * A workflow's service step: one HTTP request with libcurl, only http and
 * https (redirects included), the response body capped while it is read.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include <jansson.h>
#include "http-call.h"
#include "parse.h"
#include "strbuf.h"
#include "usage.h"
#include "utf8.h"

#define MAX_RESP_HEADERS 200
#define MAX_HEADER_LINE 8192

void ah_curl_defaults(void *curl)
{
	CURL *c = curl;

	curl_easy_setopt(c, CURLOPT_USERAGENT, "apphub/" APPHUB_VERSION);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 120L);
}

struct call {
	struct strbuf body;
	json_t *headers;	/* of the last response (after redirects) */
	size_t max;
	int too_large;
};

static size_t on_header(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct call *cl = ud;
	size_t len = size * nmemb, i;
	char *line, *colon, *v, *end;
	json_t *old;

	if (len > MAX_HEADER_LINE)
		return len;
	line = xstrndup(buf, len);
	if (!strncmp(line, "HTTP/", 5)) {
		/* a new response (after a redirect or 100 Continue) */
		json_object_clear(cl->headers);
	} else if ((colon = strchr(line, ':')) && json_object_size(cl->headers) < MAX_RESP_HEADERS) {
		*colon = '\0';
		for (i = 0; line[i]; i++)
			line[i] = (char)tolower((unsigned char)line[i]);
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (end = v + strlen(v); end > v && (end[-1] == '\r' || end[-1] == '\n' ||
						       end[-1] == ' ' || end[-1] == '\t'); end--)
			;
		*end = '\0';
		if (ah_utf8_valid(line, strlen(line)) && ah_utf8_valid(v, strlen(v))) {
			/* Repeated fields joined as HTTP allows ("a, b"). */
			if ((old = json_object_get(cl->headers, line))) {
				char *both = xstrfmt("%s, %s", json_string_value(old), v);

				json_object_set_new(cl->headers, line, json_string(both));
				free(both);
			} else {
				json_object_set_new(cl->headers, line, json_string(v));
			}
		}
	}
	free(line);
	return len;
}

static size_t on_body(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct call *cl = ud;
	size_t len = size * nmemb;

	if (cl->body.len + len > cl->max) {
		cl->too_large = 1;
		return 0;
	}
	strbuf_add(&cl->body, buf, len);
	return len;
}

static size_t max_response(void)
{
	const char *s = getenv("APPHUB_WORKFLOW_MAX_RESPONSE");
	int64_t n;

	if (s && *s && !ah_parse_size(s, &n) && n > 0 && n < AH_HTTP_CALL_MAX_RESPONSE)
		return (size_t)n;
	return AH_HTTP_CALL_MAX_RESPONSE;
}

static int has_crlf(const char *s)
{
	return strchr(s, '\r') || strchr(s, '\n');
}

/* The request's headers as curl's list; 400 for a name or value that could split them. */
static int header_list(json_t *headers, int json_body, struct curl_slist **out,
		       struct ah_err *err)
{
	const char *key;
	json_t *v;
	int has_type = 0;

	*out = NULL;
	if (headers && !json_is_object(headers))
		return ah_invalid(err, "headers: must be an object");
	json_object_foreach(headers, key, v) {
		const char *val = json_string_value(v);
		char *line;

		if (!val || strlen(val) != json_string_length(v))
			return ah_invalid(err, "header '%.100s': must be a string", key);
		if (!*key || has_crlf(key) || strchr(key, ':') || strchr(key, ' ') || has_crlf(val))
			return ah_invalid(err, "header '%.100s': CR, LF, ':' or space where they cannot be",
					  key);
		if (!strcasecmp(key, "content-type"))
			has_type = 1;
		/* "Name;" is how curl sends a header with an empty value. */
		line = *val ? xstrfmt("%s: %s", key, val) : xstrfmt("%s;", key);
		*out = curl_slist_append(*out, line);
		free(line);
	}
	if (json_body && !has_type)
		*out = curl_slist_append(*out, "Content-Type: application/json");
	return 0;
}

int ah_http_call(json_t *req, json_t **resp, struct ah_err *err)
{
	struct call cl = { STRBUF_INIT, NULL, 0, 0 };
	struct curl_slist *hdrs = NULL;
	char ebuf[CURL_ERROR_SIZE] = "";
	const char *url, *method;
	json_t *body_v, *t, *parsed = NULL;
	char *body = NULL;
	long long timeout = 30000;
	long status = 0;
	CURL *c = NULL;
	CURLcode rc;
	int ret = -1;

	*resp = NULL;
	if (!json_is_object(req) || !(url = json_string_value(json_object_get(req, "url"))))
		return ah_invalid(err, "url: required");
	if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))
		return ah_invalid(err, "url '%.200s': only http and https", url);
	method = json_string_value(json_object_get(req, "method"));
	if (!method)
		method = "GET";
	if (!*method || strlen(method) > 16 || strpbrk(method, " \t\r\n:"))
		return ah_invalid(err, "method '%.20s': not an HTTP method", method);
	if ((t = json_object_get(req, "timeoutMs"))) {
		if (!json_is_integer(t) || json_integer_value(t) < 1 ||
		    json_integer_value(t) > 86400000)
			return ah_invalid(err, "timeoutMs: must be an integer from 1 to 86400000");
		timeout = json_integer_value(t);
	}
	body_v = json_object_get(req, "body");
	if (body_v && !json_is_null(body_v))
		body = json_is_string(body_v) ? xstrndup(json_string_value(body_v),
							  json_string_length(body_v))
					      : json_dumps(body_v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (header_list(json_object_get(req, "headers"), body && !json_is_string(body_v), &hdrs,
			err) < 0)
		goto done;

	if (!(c = curl_easy_init())) {
		ah_internal(err, "cannot start libcurl");
		goto done;
	}
	cl.headers = json_object();
	cl.max = max_response();
	ah_curl_defaults(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)AH_HTTP_CALL_MAX_REDIRECTS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cl.max);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &cl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &cl);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	/* gzip and the like, decoded by curl; the cap counts what is decoded. */
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	if (strcmp(method, "HEAD") && strcmp(method, body ? "POST" : "GET"))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);

	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (cl.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		ah_error(err, 413, "too_large", "%s %.200s: response body over %zu bytes", method, url,
			 cl.max);
		goto done;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		ah_error(err, 504, "timeout", "%s %.200s: no response within %lld ms", method, url,
			 timeout);
		goto done;
	}
	if (rc != CURLE_OK) {
		ah_error(err, 502, "bad_gateway", "%s %.200s: %s", method, url,
			 *ebuf ? ebuf : curl_easy_strerror(rc));
		goto done;
	}
	parsed = cl.body.len ? json_loadb(cl.body.buf, cl.body.len, JSON_DECODE_ANY, NULL) : NULL;
	if (!parsed) {
		/* Text as it came; bytes that are not UTF-8 replaced so the JSON holds. */
		char *text = ah_utf8_clean(cl.body.buf, cl.body.len, 0, NULL);

		parsed = json_string(text);
		free(text);
	}
	*resp = json_pack("{sI sO so}", "status", (json_int_t)status, "headers", cl.headers,
			  "body", parsed);
	if (status < 200 || status > 299) {
		ah_error(err, 502, "bad_gateway", "%s %.200s: HTTP %ld", method, url, status);
		goto done;
	}
	ret = 0;
done:
	if (c)
		curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	json_decref(cl.headers);
	strbuf_release(&cl.body);
	free(body);
	return ret;
}
