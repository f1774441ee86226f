/*
 * The registry client: the OCI distribution API over libcurl (see
 * registry.h), above the image store, which it fills and reads.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "http-call.h"
#include "registry.h"
#include "strbuf.h"

#ifndef APPHUB_VERSION
#define APPHUB_VERSION "0.0.0"
#endif

#define MAX_ERROR_BODY 4096
#define MAX_TOKEN_BODY (1u << 20)
#define MAX_HEADER 8192

static const char manifest_accept[] =
	"Accept: " AH_MT_OCI_MANIFEST ", " AH_MT_OCI_INDEX ", " AH_MT_DOCKER_MANIFEST ", "
	AH_MT_DOCKER_LIST;

struct ref {
	char *host;	/* API host[:port] */
	char *repo;
	char *tag;
	char *digest;
	int http;
};

struct reg {
	CURL *curl;
	char *base;	/* scheme://host */
	char *repo;
	char *auth;	/* "Authorization: ..." */
	const char *creds;
	const struct ah_registry_opts *opts;
};

struct resp {
	CURL *curl;
	long status;
	struct strbuf body;	/* 2xx body to memory, or an error body */
	size_t max;
	struct ah_blob_writer *blob;	/* 2xx body to a blob */
	int too_large, sink_failed;
	struct ah_err *err;
	char *www_auth, *location, *digest, *content_type, *range;
};

struct upload {
	int fd;		/* -1: mem */
	const char *mem;
	int64_t start, len, pos;
};

static void ref_free(struct ref *r)
{
	free(r->host);
	free(r->repo);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

static int is_local_host(const char *host)
{
	size_t n = strcspn(host, ":");

	if (host[0] == '[')
		return !strncmp(host, "[::1]", 5);
	return (n == 9 && !strncmp(host, "localhost", 9)) || (n == 9 && !strncmp(host, "127.0.0.1", 9));
}

/* [host[:port]/]path[:tag][@digest] */
static int ref_parse(const char *s, int insecure, struct ref *r, struct ah_err *err)
{
	const char *at = strchr(s, '@'), *slash, *colon;
	char *rest = NULL, *name = NULL, *canon = NULL;
	size_t n;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	if (at) {
		if (!ah_digest_valid(at + 1)) {
			ah_invalid(err, "invalid reference '%s': bad digest", s);
			goto done;
		}
		r->digest = xstrdup(at + 1);
		rest = xstrndup(s, (size_t)(at - s));
	} else {
		rest = xstrdup(s);
	}
	if (!(canon = ah_image_canonical_name(rest, err)))
		goto done;
	colon = strrchr(canon, ':');
	r->tag = xstrdup(colon + 1);
	name = xstrndup(canon, (size_t)(colon - canon));
	slash = strchr(name, '/');
	n = slash ? (size_t)(slash - name) : 0;
	if (slash && (memchr(name, '.', n) || memchr(name, ':', n) ||
		      (n == 9 && !strncmp(name, "localhost", 9)))) {
		r->host = xstrndup(name, n);
		r->repo = xstrdup(slash + 1);
		if (!strcmp(r->host, "docker.io") || !strcmp(r->host, "index.docker.io")) {
			free(r->host);
			r->host = xstrdup("registry-1.docker.io");
			if (!strchr(r->repo, '/')) {
				char *t = xstrfmt("library/%s", r->repo);

				free(r->repo);
				r->repo = t;
			}
		}
	} else {
		r->host = xstrdup("registry-1.docker.io");
		r->repo = slash ? xstrdup(name) : xstrfmt("library/%s", name);
	}
	r->http = insecure || is_local_host(r->host);
	ret = 0;
done:
	if (ret < 0)
		ref_free(r);
	free(rest);
	free(name);
	free(canon);
	return ret;
}

/* ---- HTTP ---- */

/* The headers kept of a response, forgotten when another begins. */
static void resp_clear_headers(struct resp *rs)
{
	free(rs->www_auth);
	free(rs->location);
	free(rs->digest);
	free(rs->content_type);
	free(rs->range);
	rs->www_auth = rs->location = rs->digest = rs->content_type = rs->range = NULL;
}

static void resp_reset(struct resp *rs)
{
	rs->status = 0;
	strbuf_reset(&rs->body);
	rs->too_large = rs->sink_failed = 0;
	resp_clear_headers(rs);
}

static void resp_release(struct resp *rs)
{
	resp_reset(rs);
	strbuf_release(&rs->body);
}

static size_t on_header(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct resp *rs = ud;
	size_t len = size * nmemb, n;
	char *line, *colon, *v, **slot = NULL;

	if (len > MAX_HEADER)
		return len;
	line = xstrndup(buf, len);
	while ((n = strlen(line)) && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[n - 1] = '\0';
	if (!strncmp(line, "HTTP/", 5)) {
		/* a new response (after a redirect or 100 Continue) */
		resp_clear_headers(rs);
	} else if ((colon = strchr(line, ':'))) {
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (!strcasecmp(line, "www-authenticate"))
			slot = &rs->www_auth;
		else if (!strcasecmp(line, "location"))
			slot = &rs->location;
		else if (!strcasecmp(line, "docker-content-digest"))
			slot = &rs->digest;
		else if (!strcasecmp(line, "content-type"))
			slot = &rs->content_type;
		else if (!strcasecmp(line, "range"))
			slot = &rs->range;
		if (slot && !*slot)
			*slot = xstrdup(v);
	}
	free(line);
	return len;
}

static size_t on_body(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct resp *rs = ud;
	size_t len = size * nmemb;
	long status = 0;

	curl_easy_getinfo(rs->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300 && rs->blob) {
		if (ah_blob_writer_write(rs->blob, buf, len, rs->err) < 0) {
			rs->sink_failed = 1;
			return 0;
		}
		return len;
	}
	if (status >= 200 && status < 300 ? rs->body.len + len > rs->max
					  : rs->body.len + len > MAX_ERROR_BODY) {
		if (status >= 200 && status < 300) {
			rs->too_large = 1;
			return 0;
		}
		return len;	/* an error body: keep its start */
	}
	strbuf_add(&rs->body, buf, len);
	return len;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct upload *up = ud;
	size_t want = size * nmemb;
	int64_t left = up->len - up->pos;
	ssize_t n;

	if ((int64_t)want > left)
		want = (size_t)left;
	if (!want)
		return 0;
	if (up->fd < 0) {
		memcpy(buf, up->mem + up->start + up->pos, want);
		n = (ssize_t)want;
	} else {
		n = pread(up->fd, buf, want, up->start + up->pos);
		if (n < 0)
			return CURL_READFUNC_ABORT;
	}
	up->pos += n;
	return (size_t)n;
}

static char *b64(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

static const char *registry_creds(const struct ah_registry_opts *opts)
{
	const char *c = opts && opts->creds ? opts->creds : getenv("APPHUB_REGISTRY_AUTH");

	return c && *c ? c : NULL;
}

/* The value of key="..." (or key=token) in a challenge; NULL if absent. */
static char *challenge_param(const char *ch, const char *key)
{
	size_t klen = strlen(key);
	const char *p = ch;

	while ((p = strstr(p, key))) {
		if ((p == ch || p[-1] == ' ' || p[-1] == ',') && p[klen] == '=') {
			const char *v = p + klen + 1, *end;

			if (*v == '"') {
				v++;
				end = strchr(v, '"');
				if (!end)
					return NULL;
			} else {
				end = v + strcspn(v, ", ");
			}
			return xstrndup(v, (size_t)(end - v));
		}
		p += klen;
	}
	return NULL;
}

static void setup_common(CURL *c, struct resp *rs)
{
	ah_curl_defaults(c);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, rs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, rs);
	rs->curl = c;
}

/* Gets a token for the Bearer challenge ch, or sets basic authentication. */
static int authenticate(struct reg *r, const char *ch, struct ah_err *err)
{
	char *realm = NULL, *service = NULL, *scope = NULL, *url = NULL, *t;
	const char *creds = r->creds;
	struct resp rs = { 0 };
	CURL *c = NULL;
	json_t *doc = NULL;
	const char *token;
	int ret = -1;
	CURLcode cc;

	strbuf_init(&rs.body, 0);
	rs.err = err;
	rs.max = MAX_TOKEN_BODY;
	if (!strncasecmp(ch, "basic", 5)) {
		if (!creds) {
			ret = ah_error(err, 401, "unauthorized",
				       "registry '%s': authentication required (use --creds or APPHUB_REGISTRY_AUTH)",
				       r->base);
			goto done;
		}
		t = b64(creds);
		free(r->auth);
		r->auth = xstrfmt("Authorization: Basic %s", t);
		free(t);
		ret = 0;
		goto done;
	}
	if (strncasecmp(ch, "bearer", 6) || !(realm = challenge_param(ch, "realm"))) {
		ah_error(err, 401, "unauthorized", "registry '%s': unsupported challenge '%.100s'",
			 r->base, ch);
		goto done;
	}
	if (strncmp(realm, "https://", 8) && strncmp(realm, "http://", 7)) {
		ah_error(err, 401, "unauthorized", "registry '%s': bad token realm '%.100s'", r->base,
			 realm);
		goto done;
	}
	service = challenge_param(ch, "service");
	scope = challenge_param(ch, "scope");
	c = curl_easy_init();
	{
		struct strbuf u = STRBUF_INIT;
		char *e;

		strbuf_addstr(&u, realm);
		strbuf_addch(&u, strchr(realm, '?') ? '&' : '?');
		if (service) {
			e = curl_easy_escape(c, service, 0);
			strbuf_addf(&u, "service=%s&", e);
			curl_free(e);
		}
		if (scope) {
			e = curl_easy_escape(c, scope, 0);
			strbuf_addf(&u, "scope=%s&", e);
			curl_free(e);
		}
		strbuf_setlen(&u, u.len - 1);
		url = strbuf_detach(&u, NULL);
	}
	setup_common(c, &rs);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	if (creds) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERPWD, creds);
	}
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs.status);
	if (cc != CURLE_OK) {
		ah_error(err, 502, "registry", "token service '%s': %s", realm, curl_easy_strerror(cc));
		goto done;
	}
	if (rs.status != 200) {
		ah_error(err, rs.status == 401 || rs.status == 403 ? 401 : 502, "unauthorized",
			 "token service '%s': HTTP %ld%s", realm, rs.status,
			 creds ? "" : " (use --creds or APPHUB_REGISTRY_AUTH)");
		goto done;
	}
	doc = json_loadb(rs.body.buf, rs.body.len, 0, NULL);
	token = json_string_value(json_object_get(doc, "token"));
	if (!token)
		token = json_string_value(json_object_get(doc, "access_token"));
	if (!token || !*token || strlen(token) > MAX_TOKEN_BODY || strpbrk(token, "\r\n")) {
		ah_error(err, 502, "registry", "token service '%s': no token in its answer", realm);
		goto done;
	}
	free(r->auth);
	r->auth = xstrfmt("Authorization: Bearer %s", token);
	ret = 0;
done:
	if (c)
		curl_easy_cleanup(c);
	json_decref(doc);
	resp_release(&rs);
	free(realm);
	free(service);
	free(scope);
	free(url);
	return ret;
}

/*
 * One request; a 401 with a challenge authenticates and retries once.
 * Returns 0 with rs->status set (any status), -1 on a transport error.
 */
static int request(struct reg *r, const char *method, const char *url, const char *const *hdrs,
		   struct upload *up, struct resp *rs, struct ah_err *err)
{
	int attempt, ret = -1;

	for (attempt = 0; attempt < 2; attempt++) {
		struct curl_slist *h = NULL;
		char ebuf[CURL_ERROR_SIZE] = "";
		CURLcode cc;
		size_t i;

		curl_easy_reset(r->curl);
		resp_reset(rs);
		if (rs->blob) {
			/* nothing was written before a 2xx; a retry starts clean */
		}
		setup_common(r->curl, rs);
		curl_easy_setopt(r->curl, CURLOPT_URL, url);
		curl_easy_setopt(r->curl, CURLOPT_ERRORBUFFER, ebuf);
		for (i = 0; hdrs && hdrs[i]; i++)
			h = curl_slist_append(h, hdrs[i]);
		if (r->auth)
			h = curl_slist_append(h, r->auth);
		if (!strcmp(method, "GET")) {
			curl_easy_setopt(r->curl, CURLOPT_FOLLOWLOCATION, 1L);
			curl_easy_setopt(r->curl, CURLOPT_MAXREDIRS, 5L);
		} else if (!strcmp(method, "HEAD")) {
			curl_easy_setopt(r->curl, CURLOPT_NOBODY, 1L);
			curl_easy_setopt(r->curl, CURLOPT_FOLLOWLOCATION, 1L);
			curl_easy_setopt(r->curl, CURLOPT_MAXREDIRS, 5L);
		} else if (!strcmp(method, "POST") && !up) {
			curl_easy_setopt(r->curl, CURLOPT_POST, 1L);
			curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, "");
			curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE, 0L);
		} else {
			if (up) {
				up->pos = 0;
				curl_easy_setopt(r->curl, CURLOPT_UPLOAD, 1L);
				curl_easy_setopt(r->curl, CURLOPT_READFUNCTION, on_read);
				curl_easy_setopt(r->curl, CURLOPT_READDATA, up);
				curl_easy_setopt(r->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up->len);
			} else {
				curl_easy_setopt(r->curl, CURLOPT_UPLOAD, 1L);
				curl_easy_setopt(r->curl, CURLOPT_READFUNCTION, on_read);
				curl_easy_setopt(r->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)0);
			}
			curl_easy_setopt(r->curl, CURLOPT_CUSTOMREQUEST, method);
		}
		curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, h);
		cc = curl_easy_perform(r->curl);
		curl_slist_free_all(h);
		curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &rs->status);
		if (rs->sink_failed)
			goto done;
		if (rs->too_large) {
			ah_error(err, 413, "too_large", "%s %s: answer larger than %zu bytes", method, url,
				 rs->max);
			goto done;
		}
		if (cc != CURLE_OK) {
			ah_error(err, 502, "registry", "%s %s: %s", method, url,
				 *ebuf ? ebuf : curl_easy_strerror(cc));
			goto done;
		}
		if (rs->status != 401 || attempt || !rs->www_auth)
			break;
		if (authenticate(r, rs->www_auth, err) < 0)
			goto done;
	}
	if (rs->status == 401) {
		ah_error(err, 401, "unauthorized", "%s %s: unauthorized%s", method, url,
			 registry_creds(r->opts) ? "" : " (use --creds or APPHUB_REGISTRY_AUTH)");
		goto done;
	}
	ret = 0;
done:
	return ret;
}

/* An error from a registry's answer: its errors[0].message when it has one. */
static int http_error(struct resp *rs, const char *what, struct ah_err *err)
{
	json_t *doc = json_loadb(rs->body.buf, rs->body.len, 0, NULL);
	const char *msg = json_string_value(json_object_get(json_array_get(json_object_get(doc,
							"errors"), 0), "message"));
	int status = rs->status == 404 ? 404 : rs->status == 403 ? 403 : 502;

	ah_error(err, status, status == 404 ? "not_found" : "registry", "%s: HTTP %ld%s%s", what,
		 rs->status, msg ? ": " : "", msg ? msg : "");
	json_decref(doc);
	return -1;
}

static int reg_open(struct reg *r, const struct ref *ref, const struct ah_registry_opts *opts,
		    struct ah_err *err)
{
	memset(r, 0, sizeof(*r));
	r->curl = curl_easy_init();
	if (!r->curl)
		return ah_internal(err, "cannot start libcurl");
	r->base = xstrfmt("%s://%s", ref->http ? "http" : "https", ref->host);
	r->repo = xstrdup(ref->repo);
	r->creds = registry_creds(opts);
	r->opts = opts;
	return 0;
}

static void reg_close(struct reg *r)
{
	if (r->curl)
		curl_easy_cleanup(r->curl);
	free(r->base);
	free(r->repo);
	free(r->auth);
}

static void progress(const struct ah_registry_opts *opts, const char *fmt, const char *a,
		     const char *b)
{
	if (opts && opts->verbose) {
		fprintf(stderr, fmt, a, b);
		fputc('\n', stderr);
	}
}

/* ---- pull ---- */

static char *strip_params(const char *ct)
{
	return ct ? xstrndup(ct, strcspn(ct, "; ")) : NULL;
}

/* GET a manifest (or index) by tag or digest; *digest is checked. */
static int get_manifest(struct reg *r, const char *ref, char **body, size_t *len,
			char **mtype, char digest[AH_DIGEST_MAX], struct ah_err *err)
{
	const char *hdrs[] = { manifest_accept, NULL };
	struct resp rs = { 0 };
	char *url = xstrfmt("%s/v2/%s/manifests/%s", r->base, r->repo, ref), *what;
	int ret = -1;

	what = xstrfmt("manifest '%s/%s:%s'", r->base, r->repo, ref);
	strbuf_init(&rs.body, 0);
	rs.err = err;
	rs.max = AH_IMAGE_MAX_JSON;
	if (request(r, "GET", url, hdrs, NULL, &rs, err) < 0)
		goto done;
	if (rs.status != 200) {
		http_error(&rs, what, err);
		goto done;
	}
	if (ah_digest_of(rs.body.buf, rs.body.len, digest, err) < 0)
		goto done;
	if ((ah_digest_valid(ref) && strcmp(ref, digest)) ||
	    (rs.digest && !strncmp(rs.digest, "sha256:", 7) && strcmp(rs.digest, digest))) {
		ah_error(err, 422, "digest_mismatch", "%s: content has digest '%s'", what, digest);
		goto done;
	}
	*mtype = strip_params(rs.content_type);
	*len = rs.body.len;
	*body = strbuf_detach(&rs.body, NULL);
	ret = 0;
done:
	resp_release(&rs);
	free(url);
	free(what);
	return ret;
}

static int fetch_blob(struct reg *r, struct ah_image_store *s, const char *digest, int64_t size,
		      int64_t max, struct ah_err *err)
{
	struct resp rs = { 0 };
	char *url = NULL, *what = NULL;
	int ret = -1;

	if (!ah_digest_valid(digest))
		return ah_invalid(err, "invalid digest '%s' (only sha256 is supported)",
				  digest ? digest : "");
	if (ah_image_blob_exists(s, digest))
		return 0;
	if (size > max)
		return ah_error(err, 413, "too_large", "blob '%s': %lld bytes, more than %lld",
				digest, (long long)size, (long long)max);
	strbuf_init(&rs.body, 0);
	rs.err = err;
	url = xstrfmt("%s/v2/%s/blobs/%s", r->base, r->repo, digest);
	what = xstrfmt("blob '%s'", digest);
	if (ah_blob_writer_open(s, &rs.blob, size > 0 ? size : max, err) < 0)
		goto done;
	if (request(r, "GET", url, NULL, NULL, &rs, err) < 0)
		goto done;
	if (rs.status != 200) {
		http_error(&rs, what, err);
		goto done;
	}
	ret = ah_blob_writer_commit(rs.blob, digest, NULL, NULL, err);
	rs.blob = NULL;
done:
	ah_blob_writer_abort(rs.blob);
	rs.blob = NULL;
	resp_release(&rs);
	free(url);
	free(what);
	return ret;
}

/* An image asked for by platform is for that platform. */
static int check_platform(struct ah_image_store *s, const char *config, const char *ref,
			  const struct ah_platform *want, struct ah_err *err)
{
	struct ah_platform have;
	char *buf = NULL, a[AH_PLATFORM_MAX], b[AH_PLATFORM_MAX];
	size_t len;
	json_t *cfg;
	int ret = -1;

	if (ah_image_blob_read(s, config, AH_IMAGE_MAX_JSON, &buf, &len, err) < 0)
		return -1;
	cfg = json_loadb(buf, len, 0, NULL);
	ah_platform_of(cfg, &have);
	if (!ah_platform_match(want, &have))
		ah_not_found(err, "'%s' is for %s, not %s", ref, ah_platform_str(&have, a),
			     ah_platform_str(want, b));
	else
		ret = 0;
	json_decref(cfg);
	free(buf);
	return ret;
}

int ah_registry_pull(struct ah_image_store *s, const char *refstr, const char *name,
		     const struct ah_registry_opts *opts, struct ah_image *img,
		     struct ah_err *err)
{
	struct ref ref;
	struct reg r;
	char *body = NULL, *mtype = NULL, digest[AH_DIGEST_MAX], stored[AH_DIGEST_MAX];
	char *tagname = NULL;
	json_t *doc = NULL, *l;
	struct ah_platform want;
	size_t len, i;
	int ret = -1;

	memset(&r, 0, sizeof(r));
	if (opts && opts->platform && ah_platform_parse(opts->platform, &want, err) < 0)
		return -1;
	if (ref_parse(refstr, opts && opts->insecure, &ref, err) < 0)
		return -1;
	if (name) {
		tagname = ah_image_canonical_name(name, err);
	} else {
		char *t = xstrndup(refstr, strcspn(refstr, "@"));

		tagname = ah_image_canonical_name(t, err);
		free(t);
	}
	if (!tagname)
		goto done;
	if (reg_open(&r, &ref, opts, err) < 0)
		goto done;
	progress(opts, "pulling %s from %s", ref.repo, r.base);
	if (get_manifest(&r, ref.digest ? ref.digest : ref.tag, &body, &len, &mtype, digest, err) < 0)
		goto done;
	doc = json_loadb(body, len, 0, NULL);
	if (!json_is_object(doc)) {
		ah_error(err, 502, "registry", "manifest '%s': not a JSON object", digest);
		goto done;
	}
	if (ah_image_is_index(doc, mtype)) {
		json_t *pick = ah_image_pick_platform(doc, opts && opts->platform ? &want : NULL,
						      err);
		const char *d = pick ? json_string_value(json_object_get(pick, "digest")) : NULL;

		if (!pick)
			goto done;
		if (!ah_digest_valid(d)) {
			ah_invalid(err, "index: invalid manifest digest");
			goto done;
		}
		d = xstrdup(d);
		free(body);
		free(mtype);
		body = NULL;
		mtype = NULL;
		json_decref(doc);
		doc = NULL;
		ret = get_manifest(&r, d, &body, &len, &mtype, digest, err);
		free((char *)d);
		if (ret < 0)
			goto done;
		ret = -1;
		doc = json_loadb(body, len, 0, NULL);
		if (!json_is_object(doc) || ah_image_is_index(doc, mtype)) {
			ah_error(err, 502, "registry", "manifest '%s': not an image manifest", digest);
			goto done;
		}
	}
	if (!mtype || !*mtype) {
		free(mtype);
		mtype = xstrdup(json_string_value(json_object_get(doc, "mediaType")) ?:
				AH_MT_OCI_MANIFEST);
	}
	if (strcmp(mtype, AH_MT_OCI_MANIFEST) && strcmp(mtype, AH_MT_DOCKER_MANIFEST)) {
		ah_invalid(err, "manifest '%s': unsupported media type '%s'", digest, mtype);
		goto done;
	}
	{
		json_t *c = json_object_get(doc, "config");

		if (fetch_blob(&r, s, json_string_value(json_object_get(c, "digest")),
			       json_integer_value(json_object_get(c, "size")), AH_IMAGE_MAX_JSON,
			       err) < 0 ||
		    (opts && opts->platform &&
		     check_platform(s, json_string_value(json_object_get(c, "digest")), refstr,
				    &want, err) < 0))
			goto done;
	}
	json_array_foreach(json_object_get(doc, "layers"), i, l) {
		const char *d = json_string_value(json_object_get(l, "digest"));

		if (!ah_layer_media_type(json_string_value(json_object_get(l, "mediaType")))) {
			ah_invalid(err, "layer '%s': unsupported media type", d ? d : "");
			goto done;
		}
		progress(opts, "layer %s%s", d ? d : "", "");
		if (fetch_blob(&r, s, d, json_integer_value(json_object_get(l, "size")),
			       ah_image_max_layer(), err) < 0)
			goto done;
	}
	if (ah_image_blob_put(s, body, len, stored, err) < 0)
		goto done;
	if (ah_image_verify_manifest(s, doc, err) < 0 ||
	    ah_image_tag(s, tagname, digest, (int64_t)len, mtype, err) < 0)
		goto done;
	if (img && ah_image_load(s, tagname, img, err) < 0)
		goto done;
	ret = 0;
done:
	reg_close(&r);
	ref_free(&ref);
	json_decref(doc);
	free(body);
	free(mtype);
	free(tagname);
	return ret;
}

/* ---- push ---- */

static char *upload_url(struct reg *r, const char *loc)
{
	if (!strncmp(loc, "http://", 7) || !strncmp(loc, "https://", 8))
		return xstrdup(loc);
	return xstrfmt("%s%s%s", r->base, loc[0] == '/' ? "" : "/", loc);
}

static int push_blob(struct reg *r, struct ah_image_store *s, const char *digest,
		     const struct ah_registry_opts *opts, struct ah_err *err)
{
	struct resp rs = { 0 };
	struct upload up = { -1, NULL, 0, 0, 0 };
	char *path = ah_image_blob_path(s, digest), *url = NULL, *loc = NULL, *what;
	const char *octet[] = { "Content-Type: application/octet-stream", NULL, NULL };
	struct stat sb;
	int ret = -1;

	what = xstrfmt("blob '%s'", digest);
	strbuf_init(&rs.body, 0);
	rs.err = err;
	rs.max = MAX_ERROR_BODY;
	if (!path || (up.fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(up.fd, &sb) < 0) {
		ah_not_found(err, "%s not found in the store", what);
		goto done;
	}
	url = xstrfmt("%s/v2/%s/blobs/%s", r->base, r->repo, digest);
	if (request(r, "HEAD", url, NULL, NULL, &rs, err) < 0)
		goto done;
	if (rs.status == 200) {
		progress(opts, "%s exists%s", what, "");
		ret = 0;
		goto done;
	}
	free(url);
	url = xstrfmt("%s/v2/%s/blobs/uploads/", r->base, r->repo);
	if (request(r, "POST", url, NULL, NULL, &rs, err) < 0)
		goto done;
	if (rs.status != 202 || !rs.location) {
		http_error(&rs, what, err);
		goto done;
	}
	loc = upload_url(r, rs.location);
	progress(opts, "pushing %s%s", what, "");
	if (opts && opts->chunk_size > 0) {
		int64_t off = 0;

		while (off < sb.st_size) {
			int64_t n = sb.st_size - off < opts->chunk_size ? sb.st_size - off
									: opts->chunk_size;
			char range[64];

			snprintf(range, sizeof(range), "Content-Range: %lld-%lld", (long long)off,
				 (long long)(off + n - 1));
			octet[1] = range;
			up.start = off;
			up.len = n;
			if (request(r, "PATCH", loc, octet, &up, &rs, err) < 0)
				goto done;
			if (rs.status != 202 || !rs.location) {
				http_error(&rs, what, err);
				goto done;
			}
			free(loc);
			loc = upload_url(r, rs.location);
			off += n;
		}
		octet[1] = NULL;
		free(url);
		url = xstrfmt("%s%cdigest=%s", loc, strchr(loc, '?') ? '&' : '?', digest);
		if (request(r, "PUT", url, octet, NULL, &rs, err) < 0)
			goto done;
	} else {
		up.start = 0;
		up.len = sb.st_size;
		free(url);
		url = xstrfmt("%s%cdigest=%s", loc, strchr(loc, '?') ? '&' : '?', digest);
		if (request(r, "PUT", url, octet, &up, &rs, err) < 0)
			goto done;
	}
	if (rs.status != 201 && rs.status != 204) {
		http_error(&rs, what, err);
		goto done;
	}
	ret = 0;
done:
	if (up.fd >= 0)
		close(up.fd);
	resp_release(&rs);
	free(path);
	free(url);
	free(loc);
	free(what);
	return ret;
}

int ah_registry_push(struct ah_image_store *s, const char *name, const char *refstr,
		     const struct ah_registry_opts *opts, char digest[AH_DIGEST_MAX],
		     struct ah_err *err)
{
	struct ah_image img;
	struct ref ref;
	struct reg r;
	struct resp rs = { 0 };
	struct upload up = { -1, NULL, 0, 0, 0 };
	char *body = NULL, *url = NULL, *ct = NULL;
	const char *hdrs[2];
	size_t len, i;
	int ret = -1;

	memset(&img, 0, sizeof(img));
	memset(&r, 0, sizeof(r));
	strbuf_init(&rs.body, 0);
	rs.err = err;
	rs.max = MAX_ERROR_BODY;
	if (ref_parse(refstr, opts && opts->insecure, &ref, err) < 0)
		return -1;
	if (ref.digest) {
		ah_invalid(err, "cannot push to a digest ('%s'): name a tag", refstr);
		goto done;
	}
	if (ah_image_load(s, name, &img, err) < 0 || reg_open(&r, &ref, opts, err) < 0)
		goto done;
	for (i = 0; i < img.nr_layers; i++)
		if (push_blob(&r, s, img.layers[i].digest, opts, err) < 0)
			goto done;
	if (push_blob(&r, s, img.config_digest, opts, err) < 0)
		goto done;
	if (ah_image_blob_read(s, img.digest, AH_IMAGE_MAX_JSON, &body, &len, err) < 0)
		goto done;
	ct = xstrfmt("Content-Type: %s", img.media_type);
	hdrs[0] = ct;
	hdrs[1] = NULL;
	up.mem = body;
	up.len = (int64_t)len;
	url = xstrfmt("%s/v2/%s/manifests/%s", r.base, r.repo, ref.tag);
	if (request(&r, "PUT", url, hdrs, &up, &rs, err) < 0)
		goto done;
	if (rs.status != 201 && rs.status != 200 && rs.status != 204) {
		http_error(&rs, "manifest", err);
		goto done;
	}
	if (rs.digest && strcmp(rs.digest, img.digest)) {
		ah_error(err, 502, "digest_mismatch", "registry stored the manifest as '%s', not '%s'",
			 rs.digest, img.digest);
		goto done;
	}
	snprintf(digest, AH_DIGEST_MAX, "%s", img.digest);
	ret = 0;
done:
	ah_image_release(&img);
	reg_close(&r);
	ref_free(&ref);
	resp_release(&rs);
	free(body);
	free(url);
	free(ct);
	return ret;
}
