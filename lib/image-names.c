/*
 * The store's names: image names made canonical, and index.json, the
 * list of names, read and searched. Only jansson and the util layer here,
 * so that the launch supervisor (which links neither libarchive nor
 * OpenSSL) finds a name exactly as the store does.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "image.h"
#include "image-internal.h"
#include "strbuf.h"

int ah_digest_valid(const char *d)
{
	size_t i;

	if (!d || strncmp(d, "sha256:", 7) || strlen(d) != 71)
		return 0;
	for (i = 7; i < 71; i++)
		if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
			return 0;
	return 1;
}

/* ---- names ---- */

static int is_alnum_lower(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A path component: [a-z0-9]+ ([._]|__|-+) [a-z0-9]+ ... */
static int component_valid(const char *p, size_t n)
{
	size_t i = 0;

	if (!n || !is_alnum_lower(p[0]) || !is_alnum_lower(p[n - 1]))
		return 0;
	while (i < n) {
		if (is_alnum_lower(p[i])) {
			i++;
			continue;
		}
		if (p[i] == '.' || (p[i] == '_' && p[i + 1] != '_')) {
			i++;
		} else if (p[i] == '_' && i + 1 < n && p[i + 1] == '_') {
			i += 2;
		} else if (p[i] == '-') {
			while (i < n && p[i] == '-')
				i++;
		} else {
			return 0;
		}
		if (i >= n || !is_alnum_lower(p[i]))
			return 0;
	}
	return 1;
}

static int host_valid(const char *p, size_t n)
{
	size_t i;
	int colon = 0;

	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		char c = p[i];

		if (c == ':') {
			if (colon++ || i + 1 >= n)
				return 0;
		} else if (colon ? !(c >= '0' && c <= '9')
				 : !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				     (c >= '0' && c <= '9') || c == '.' || c == '-')) {
			return 0;
		}
	}
	return 1;
}

char *ah_image_canonical_name(const char *name, struct ah_err *err)
{
	const char *slash, *colon, *p, *tag = "latest", *first_end;
	size_t n, path_len;

	if (!name || !*name || strlen(name) > 255)
		goto bad;
	if (strchr(name, '@'))
		goto bad;
	slash = strrchr(name, '/');
	colon = strrchr(name, ':');
	path_len = strlen(name);
	if (colon && (!slash || colon > slash)) {
		tag = colon + 1;
		path_len = (size_t)(colon - name);
		n = strlen(tag);
		if (!n || n > 128 || !(isalnum((unsigned char)tag[0]) || tag[0] == '_'))
			goto bad;
		for (p = tag; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
				goto bad;
	}
	p = name;
	first_end = memchr(name, '/', path_len);
	if (first_end) {
		n = (size_t)(first_end - name);
		if (memchr(name, '.', n) || memchr(name, ':', n) ||
		    (n == 9 && !strncmp(name, "localhost", 9))) {
			if (!host_valid(name, n))
				goto bad;
			p = first_end + 1;
		}
	}
	while (p < name + path_len) {
		const char *end = memchr(p, '/', (size_t)(name + path_len - p));

		if (!end)
			end = name + path_len;
		if (!component_valid(p, (size_t)(end - p)))
			goto bad;
		p = end + (end < name + path_len);
		if (end < name + path_len && p == name + path_len)
			goto bad;
	}
	if (p == name)
		goto bad;
	return xstrfmt("%.*s:%s", (int)path_len, name, tag);
bad:
	ah_invalid(err, "invalid image name '%s': must be [host[:port]/]path[:tag], path in lowercase letters, digits and . _ - separators",
		   name ? name : "");
	return NULL;
}

/* ---- index.json ---- */

/* Reads at most max bytes of fd; more is an error. */
int image_read_all(int fd, size_t max, const char *what, char **buf, size_t *len,
		    struct ah_err *err)
{
	struct strbuf sb = STRBUF_INIT;
	char tmp[65536];
	ssize_t n;

	*buf = NULL;
	*len = 0;
	for (;;) {
		n = read(fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			strbuf_release(&sb);
			return ah_internal(err, "cannot read %s: %s", what, strerror(errno));
		}
		if (!n)
			break;
		if (sb.len + (size_t)n > max) {
			strbuf_release(&sb);
			return ah_error(err, 413, "too_large", "%s: larger than %zu bytes", what, max);
		}
		strbuf_add(&sb, tmp, (size_t)n);
	}
	*buf = strbuf_detach(&sb, len);
	return 0;
}


static int load_json_file(const char *path, size_t max, json_t **out, struct ah_err *err)
{
	char why[AH_JSON_WHY_MAX];
	json_error_t jerr;
	char *buf = NULL;
	size_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -1;

	*out = NULL;
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		return ah_internal(err, "cannot open '%s': %s", path, strerror(errno));
	}
	if (image_read_all(fd, max, path, &buf, &len, err) < 0)
		goto done;
	*out = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(*out) && !json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
		ah_invalid(err, "'%s': not valid JSON: %s", path,
			   ah_json_why(&jerr, why, sizeof(why)));
		goto done;
	}
	ret = 0;
done:
	close(fd);
	free(buf);
	return ret;
}

int image_index_read(const char *dir, json_t **idx, struct ah_err *err)
{
	char *path = xstrfmt("%s/index.json", dir);
	int r = load_json_file(path, AH_IMAGE_MAX_JSON, idx, err);

	free(path);
	if (r < 0)
		return -1;
	if (r == 1)
		*idx = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType",
				 AH_MT_OCI_INDEX, "manifests");
	if (!json_is_array(json_object_get(*idx, "manifests"))) {
		json_decref(*idx);
		*idx = NULL;
		return ah_fatal(err, "'%s/index.json': no manifests array", dir);
	}
	return 0;
}

const char *image_desc_name(json_t *desc)
{
	return json_string_value(json_object_get(json_object_get(desc, "annotations"), AH_REF_NAME));
}

json_t *image_find_desc(json_t *idx, const char *name, const char *digest)
{
	json_t *d;
	size_t i;

	json_array_foreach(json_object_get(idx, "manifests"), i, d) {
		const char *n = image_desc_name(d), *g = json_string_value(json_object_get(d, "digest"));

		if (name && n && !strcmp(n, name))
			return d;
		if (digest && g && !strcmp(g, digest))
			return d;
	}
	return NULL;
}

int ah_image_index_digest(const char *state_dir, const char *ref, char digest[AH_DIGEST_MAX],
			  struct ah_err *err)
{
	char *dir = NULL, *cname = NULL;
	json_t *idx = NULL;
	const char *d;
	int ret = -1;

	if (ah_digest_valid(ref)) {
		snprintf(digest, AH_DIGEST_MAX, "%s", ref);
		return 0;
	}
	if (!(cname = ah_image_canonical_name(ref, err)))
		goto done;
	dir = xstrfmt("%s/images", state_dir);
	if (image_index_read(dir, &idx, err) < 0)
		goto done;
	d = json_string_value(json_object_get(image_find_desc(idx, cname, NULL), "digest"));
	if (!ah_digest_valid(d)) {
		ah_not_found(err, "image '%s' not found", cname);
		goto done;
	}
	snprintf(digest, AH_DIGEST_MAX, "%s", d);
	ret = 0;
done:
	json_decref(idx);
	free(dir);
	free(cname);
	return ret;
}
