/*
 * The image store: an OCI image layout in STATE/images (see image.h):
 * blobs by digest, names in index.json, images read and committed, and
 * garbage collection.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "env.h"
#include "fsutil.h"
#include "image.h"
#include "image-internal.h"
#include "strbuf.h"
#include "tmpdir.h"

#define DEFAULT_MAX_LAYER ((int64_t)8 << 30)

static int max_layer(int64_t *max, struct ah_err *err)
{
	return ah_env_size("APPHUB_MAX_LAYER_SIZE", DEFAULT_MAX_LAYER, 1, max, err);
}

int64_t ah_image_max_layer(void)
{
	struct ah_err ignored = AH_ERR_INIT;
	int64_t max;

	/* A bad value was refused when the store was opened. */
	return max_layer(&max, &ignored) < 0 ? DEFAULT_MAX_LAYER : max;
}

const char *ah_image_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__)
	return "arm";
#elif defined(__i386__)
	return "386";
#elif defined(__powerpc64__)
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv)
	return "riscv64";
#else
	return "unknown";
#endif
}

/* ---- the store ---- */

int image_mkdir(const char *path, struct ah_err *err)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return ah_fatal(err, "cannot create '%s': %s", path, strerror(errno));
	return 0;
}

static int write_file_atomic(struct ah_image_store *s, const char *path, const char *data,
			     size_t len, struct ah_err *err)
{
	char *tmp = xstrfmt("%s/tmp/file-XXXXXX", s->dir);
	int fd = ah_tmp_mkstemp(tmp, err), ret = -1;

	if (fd < 0)
		goto done;
	if (ah_write_full(fd, data, len) < 0) {
		ah_internal(err, "cannot write '%s': %s", tmp, strerror(errno));
		goto done;
	}
	if (fchmod(fd, 0600) < 0) {
		ah_internal(err, "cannot write '%s': %s", tmp, strerror(errno));
		goto done;
	}
	/* renamed while still locked (open), so reclaim cannot take it first */
	if (rename(tmp, path) < 0) {
		ah_internal(err, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
		goto done;
	}
	ret = 0;
done:
	if (ret < 0 && fd >= 0)
		unlink(tmp);
	if (fd >= 0)
		close(fd);
	free(tmp);
	return ret;
}

int ah_image_store_open(struct ah_image_store **out, const char *state_dir, struct ah_err *err)
{
	struct ah_image_store *s = xcalloc(1, sizeof(*s));
	char *path = NULL;
	struct stat sb;
	int64_t max;

	*out = NULL;
	s->gc_fd = -1;
	s->dir = xstrfmt("%s/images", state_dir);
	if (max_layer(&max, err) < 0 || image_mkdir(s->dir, err) < 0)
		goto fail;
	path = xstrfmt("%s/blobs", s->dir);
	if (image_mkdir(path, err) < 0)
		goto fail;
	free(path);
	path = xstrfmt("%s/blobs/sha256", s->dir);
	if (image_mkdir(path, err) < 0)
		goto fail;
	free(path);
	path = xstrfmt("%s/tmp", s->dir);
	if (image_mkdir(path, err) < 0)
		goto fail;
	free(path);
	path = NULL;
	/* what crashed processes left in the state directory goes first */
	{
		struct ah_err e = AH_ERR_INIT;

		ah_tmp_reclaim(state_dir, 0, NULL, NULL, &e);
	}
	path = xstrfmt("%s/oci-layout", s->dir);
	if (stat(path, &sb) < 0) {
		static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

		if (write_file_atomic(s, path, layout, sizeof(layout) - 1, err) < 0)
			goto fail;
	}
	free(path);
	*out = s;
	return 0;
fail:
	free(path);
	ah_image_store_close(s);
	return -1;
}

void ah_image_store_close(struct ah_image_store *s)
{
	if (!s)
		return;
	if (s->gc_fd >= 0)
		close(s->gc_fd);
	free(s->dir);
	free(s);
}

const char *ah_image_store_dir(const struct ah_image_store *s)
{
	return s->dir;
}

/* Holds gc.lock shared: no collection while this store is in use. */
int image_hold_store(struct ah_image_store *s, struct ah_err *err)
{
	char *path;

	if (s->gc_fd >= 0)
		return 0;
	path = xstrfmt("%s/gc.lock", s->dir);
	s->gc_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->gc_fd < 0 || flock(s->gc_fd, LOCK_SH) < 0) {
		ah_internal(err, "cannot lock '%s': %s", path, strerror(errno));
		if (s->gc_fd >= 0)
			close(s->gc_fd);
		s->gc_fd = -1;
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

static int lock_index(struct ah_image_store *s, struct ah_err *err)
{
	char *path = xstrfmt("%s/index.lock", s->dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		ah_internal(err, "cannot lock '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	free(path);
	return fd;
}

/* ---- digests ---- */

void image_digest_final(EVP_MD_CTX *md, char out[AH_DIGEST_MAX])
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	EVP_DigestFinal_ex(md, h, &n);
	memcpy(out, "sha256:", 7);
	for (i = 0; i < n && i < 32; i++)
		sprintf(out + 7 + 2 * i, "%02x", h[i]);
	out[71] = '\0';
}

EVP_MD_CTX *image_digest_new(struct ah_err *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		ah_internal(err, "cannot start a SHA-256 digest");
		return NULL;
	}
	return md;
}

int ah_digest_of(const void *buf, size_t len, char out[AH_DIGEST_MAX], struct ah_err *err)
{
	EVP_MD_CTX *md = image_digest_new(err);

	if (!md)
		return -1;
	EVP_DigestUpdate(md, buf, len);
	image_digest_final(md, out);
	EVP_MD_CTX_free(md);
	return 0;
}

char *ah_image_blob_path(struct ah_image_store *s, const char *digest)
{
	if (!ah_digest_valid(digest))
		return NULL;
	return xstrfmt("%s/blobs/sha256/%s", s->dir, digest + 7);
}

int ah_image_blob_exists(struct ah_image_store *s, const char *digest)
{
	char *path = ah_image_blob_path(s, digest);
	struct stat sb;
	int ok = path && stat(path, &sb) == 0 && S_ISREG(sb.st_mode);

	free(path);
	return ok;
}

int ah_image_blob_read(struct ah_image_store *s, const char *digest, size_t max, char **buf,
		       size_t *len, struct ah_err *err)
{
	char *path = ah_image_blob_path(s, digest), got[AH_DIGEST_MAX];
	int fd = -1, ret = -1;

	*buf = NULL;
	if (!path) {
		ah_invalid(err, "invalid digest '%s'", digest ? digest : "");
		goto done;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			ah_not_found(err, "blob '%s' not found", digest);
		else
			ah_internal(err, "cannot open '%s': %s", path, strerror(errno));
		goto done;
	}
	if (image_read_all(fd, max, digest, buf, len, err) < 0)
		goto done;
	if (ah_digest_of(*buf, *len, got, err) < 0) {
		free(*buf);
		*buf = NULL;
		goto done;
	}
	if (strcmp(got, digest)) {
		ah_internal(err, "blob '%s': content does not match its digest", digest);
		free(*buf);
		*buf = NULL;
		goto done;
	}
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	free(path);
	return ret;
}

/* ---- blob writer ---- */

struct ah_blob_writer {
	struct ah_image_store *s;
	char *tmp;
	int fd;
	EVP_MD_CTX *md;
	int64_t size, max;
};

int ah_blob_writer_open(struct ah_image_store *s, struct ah_blob_writer **out, int64_t max,
			struct ah_err *err)
{
	struct ah_blob_writer *w;

	*out = NULL;
	if (image_hold_store(s, err) < 0)
		return -1;
	w = xcalloc(1, sizeof(*w));
	w->s = s;
	w->max = max;
	w->tmp = xstrfmt("%s/tmp/blob-XXXXXX", s->dir);
	w->fd = ah_tmp_mkstemp(w->tmp, err);
	if (w->fd >= 0 && !(w->md = image_digest_new(err))) {
		close(w->fd);
		unlink(w->tmp);
		w->fd = -1;
	}
	if (w->fd < 0) {
		free(w->tmp);
		free(w);
		return -1;
	}
	*out = w;
	return 0;
}

int ah_blob_writer_write(struct ah_blob_writer *w, const void *buf, size_t len, struct ah_err *err)
{
	if (w->max > 0 && w->size + (int64_t)len > w->max)
		return ah_error(err, 413, "too_large", "blob larger than %lld bytes",
				(long long)w->max);
	EVP_DigestUpdate(w->md, buf, len);
	w->size += (int64_t)len;
	if (ah_write_full(w->fd, buf, len) < 0)
		return ah_internal(err, "cannot write '%s': %s", w->tmp, strerror(errno));
	return 0;
}

void ah_blob_writer_abort(struct ah_blob_writer *w)
{
	if (!w)
		return;
	unlink(w->tmp);
	if (w->fd >= 0)
		close(w->fd);
	free(w->tmp);
	EVP_MD_CTX_free(w->md);
	free(w);
}

int ah_blob_writer_commit(struct ah_blob_writer *w, const char *expect, char digest[AH_DIGEST_MAX],
			  int64_t *size, struct ah_err *err)
{
	char got[AH_DIGEST_MAX], *path = NULL;
	int ret = -1;

	image_digest_final(w->md, got);
	/* renamed while still open (locked): reclaim never takes a blob being committed */
	if (fchmod(w->fd, 0600) < 0) {
		ah_internal(err, "cannot write '%s': %s", w->tmp, strerror(errno));
		goto done;
	}
	if (expect && strcmp(expect, got)) {
		ah_error(err, 422, "digest_mismatch", "blob '%s': content has digest '%s'", expect, got);
		goto done;
	}
	path = ah_image_blob_path(w->s, got);
	if (rename(w->tmp, path) < 0) {
		ah_internal(err, "cannot rename '%s' to '%s': %s", w->tmp, path, strerror(errno));
		goto done;
	}
	w->tmp[0] = '\0';	/* gone: nothing to unlink */
	if (digest)
		memcpy(digest, got, AH_DIGEST_MAX);
	if (size)
		*size = w->size;
	ret = 0;
done:
	free(path);
	ah_blob_writer_abort(w);
	return ret;
}

int ah_image_blob_put(struct ah_image_store *s, const void *buf, size_t len,
		      char digest[AH_DIGEST_MAX], struct ah_err *err)
{
	struct ah_blob_writer *w;

	if (ah_blob_writer_open(s, &w, 0, err) < 0)
		return -1;
	if (ah_blob_writer_write(w, buf, len, err) < 0) {
		ah_blob_writer_abort(w);
		return -1;
	}
	return ah_blob_writer_commit(w, NULL, digest, NULL, err);
}

int ah_image_blob_put_file(struct ah_image_store *s, const char *path, const char *expect,
			   int64_t max, char digest[AH_DIGEST_MAX], int64_t *size, struct ah_err *err)
{
	struct ah_blob_writer *w = NULL;
	char *buf = xmalloc(COPY_BUF);
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -1;
	ssize_t n;

	if (fd < 0) {
		ah_invalid(err, "cannot open '%s': %s", path, strerror(errno));
		goto done;
	}
	if (ah_blob_writer_open(s, &w, max, err) < 0)
		goto done;
	while ((n = read(fd, buf, COPY_BUF)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ah_internal(err, "cannot read '%s': %s", path, strerror(errno));
			goto done;
		}
		if (ah_blob_writer_write(w, buf, (size_t)n, err) < 0)
			goto done;
	}
	ret = ah_blob_writer_commit(w, expect, digest, size, err);
	w = NULL;
done:
	ah_blob_writer_abort(w);
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

const char *ah_layer_media_type(const char *mt)
{
	static const char *const known[] = {
		AH_MT_OCI_LAYER,
		AH_MT_OCI_LAYER_GZIP,
		"application/vnd.oci.image.layer.v1.tar+zstd",
		"application/vnd.docker.image.rootfs.diff.tar.gzip",
		"application/vnd.docker.image.rootfs.diff.tar",
		NULL,
	};
	size_t i;

	for (i = 0; mt && known[i]; i++)
		if (!strcmp(mt, known[i]))
			return known[i];
	return NULL;
}

/* ---- index.json ---- */

static int by_ref_name(const void *a, const void *b)
{
	const char *x = image_desc_name(*(json_t *const *)a), *y = image_desc_name(*(json_t *const *)b);

	return strcmp(x ? x : "", y ? y : "");
}

static int index_write(struct ah_image_store *s, json_t *idx, struct ah_err *err)
{
	json_t *m = json_object_get(idx, "manifests"), **v, *sorted;
	size_t n = json_array_size(m), i;
	char *path, *text;
	int ret;

	v = xcalloc(n + 1, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = json_array_get(m, i);
	qsort(v, n, sizeof(*v), by_ref_name);
	sorted = json_array();
	for (i = 0; i < n; i++)
		json_array_append(sorted, v[i]);
	free(v);
	json_object_set_new(idx, "manifests", sorted);
	text = json_dumps(idx, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	path = xstrfmt("%s/index.json", s->dir);
	ret = write_file_atomic(s, path, text, strlen(text), err);
	free(path);
	free(text);
	return ret;
}

int ah_image_tag(struct ah_image_store *s, const char *name, const char *manifest_digest,
		 int64_t manifest_size, const char *media_type, struct ah_err *err)
{
	char *cname = ah_image_canonical_name(name, err);
	json_t *idx = NULL, *m, *desc;
	int lock = -1, ret = -1;
	size_t i;

	if (!cname)
		return -1;
	if (!ah_image_blob_exists(s, manifest_digest)) {
		ah_not_found(err, "manifest '%s' not found", manifest_digest);
		goto done;
	}
	if ((lock = lock_index(s, err)) < 0 || image_index_read(s->dir, &idx, err) < 0)
		goto done;
	m = json_object_get(idx, "manifests");
	for (i = 0; i < json_array_size(m);) {
		const char *n = image_desc_name(json_array_get(m, i));

		if (n && !strcmp(n, cname))
			json_array_remove(m, i);
		else
			i++;
	}
	desc = json_pack("{s:s, s:s, s:I, s:{s:s}}", "mediaType",
			 media_type ? media_type : AH_MT_OCI_MANIFEST, "digest", manifest_digest,
			 "size", (json_int_t)manifest_size, "annotations", AH_REF_NAME, cname);
	json_array_append_new(m, desc);
	ret = index_write(s, idx, err);
done:
	if (lock >= 0)
		close(lock);
	json_decref(idx);
	free(cname);
	return ret;
}

/* ---- manifests and configs ---- */

int image_blob_json(struct ah_image_store *s, const char *digest, json_t **out,
		     struct ah_err *err)
{
	json_error_t jerr;
	char *buf;
	size_t len;

	*out = NULL;
	if (ah_image_blob_read(s, digest, AH_IMAGE_MAX_JSON, &buf, &len, err) < 0)
		return -1;
	*out = json_loadb(buf, len, 0, &jerr);
	free(buf);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return ah_invalid(err, "blob '%s': not a JSON object", digest);
	}
	return 0;
}

int ah_image_is_index(json_t *doc, const char *mt)
{
	if (!mt || !*mt)
		mt = json_string_value(json_object_get(doc, "mediaType"));
	if (mt && (!strcmp(mt, AH_MT_OCI_INDEX) || !strcmp(mt, AH_MT_DOCKER_LIST)))
		return 1;
	return !mt && json_is_array(json_object_get(doc, "manifests"));
}

void ah_platform_host(struct ah_platform *p)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->os, "linux");
	snprintf(p->arch, sizeof(p->arch), "%s", ah_image_host_arch());
	if (!strcmp(p->arch, "arm64"))
		strcpy(p->variant, "v8");
}

/* The names uname and distributions use, as OCI spells them. */
static void normalize_platform(struct ah_platform *p)
{
	static const char *const alias[][3] = {
		{ "x86_64", "amd64", "" }, { "x86-64", "amd64", "" }, { "aarch64", "arm64", "" },
		{ "armhf", "arm", "v7" }, { "armel", "arm", "v6" }, { "i386", "386", "" },
		{ "i686", "386", "" },
	};
	size_t i;

	for (i = 0; i < sizeof(alias) / sizeof(*alias); i++) {
		if (strcmp(p->arch, alias[i][0]))
			continue;
		strcpy(p->arch, alias[i][1]);
		if (!*p->variant)
			strcpy(p->variant, alias[i][2]);
	}
	if (!strcmp(p->arch, "arm64") && !*p->variant)
		strcpy(p->variant, "v8");
}

static int platform_word(const char *s, size_t n, char *out, size_t max)
{
	size_t i;

	if (!n || n >= max)
		return -1;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return -1;
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
	return 0;
}

int ah_platform_parse(const char *spec, struct ah_platform *p, struct ah_err *err)
{
	const char *a, *v;

	if (!spec || !*spec) {
		ah_platform_host(p);
		return 0;
	}
	memset(p, 0, sizeof(*p));
	a = strchr(spec, '/');
	v = a ? strchr(a + 1, '/') : NULL;
	if (!a || platform_word(spec, (size_t)(a - spec), p->os, sizeof(p->os)) < 0 ||
	    platform_word(a + 1, v ? (size_t)(v - a - 1) : strlen(a + 1), p->arch,
			  sizeof(p->arch)) < 0 ||
	    (v && platform_word(v + 1, strlen(v + 1), p->variant, sizeof(p->variant)) < 0))
		return ah_invalid(err, "invalid platform '%s': must be os/arch[/variant], as "
				  "linux/amd64 or linux/arm64/v8", spec);
	normalize_platform(p);
	return 0;
}

void ah_platform_of(json_t *doc, struct ah_platform *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->os, sizeof(p->os), "%s", json_string_value(json_object_get(doc, "os")) ?: "");
	snprintf(p->arch, sizeof(p->arch), "%s",
		 json_string_value(json_object_get(doc, "architecture")) ?: "");
	snprintf(p->variant, sizeof(p->variant), "%s",
		 json_string_value(json_object_get(doc, "variant")) ?: "");
	normalize_platform(p);
}

int ah_platform_match(const struct ah_platform *want, const struct ah_platform *have)
{
	return !strcmp(want->os, have->os) && !strcmp(want->arch, have->arch) &&
	       (!*want->variant || !*have->variant || !strcmp(want->variant, have->variant));
}

const char *ah_platform_str(const struct ah_platform *p, char buf[AH_PLATFORM_MAX])
{
	snprintf(buf, AH_PLATFORM_MAX, "%s/%s%s%s", p->os, p->arch,
		 *p->variant && strcmp(p->arch, "arm64") ? "/" : "",
		 *p->variant && strcmp(p->arch, "arm64") ? p->variant : "");
	return buf;
}

json_t *ah_image_pick_platform(json_t *index, const struct ah_platform *want,
			       struct ah_err *err)
{
	json_t *m = json_object_get(index, "manifests"), *d, *only = NULL;
	struct ah_platform host, have;
	char buf[AH_PLATFORM_MAX];
	size_t i, n = 0;

	if (!want) {
		ah_platform_host(&host);
		want = &host;
	}
	json_array_foreach(m, i, d) {
		json_t *p = json_object_get(d, "platform");

		if (!p) {
			n++;
			only = d;
			continue;
		}
		ah_platform_of(p, &have);
		if (ah_platform_match(want, &have))
			return d;
	}
	if (n == 1)
		return only;
	ah_not_found(err, "no image for %s in the index", ah_platform_str(want, buf));
	return NULL;
}

int image_write_manifest(struct ah_image_store *s, const char *cdigest, int64_t csize,
			  const struct ah_layer *layers, size_t nr, char mdigest[AH_DIGEST_MAX],
			  int64_t *msize, struct ah_err *err)
{
	json_t *ls = json_array(), *m;
	char *text;
	size_t i;
	int ret;

	for (i = 0; i < nr; i++)
		json_array_append_new(ls, json_pack("{s:s, s:s, s:I}", "mediaType",
				      layers[i].media_type ? layers[i].media_type : AH_MT_OCI_LAYER_GZIP,
				      "digest", layers[i].digest, "size", (json_int_t)layers[i].size));
	m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
		      AH_MT_OCI_MANIFEST, "config", "mediaType", AH_MT_OCI_CONFIG, "digest", cdigest,
		      "size", (json_int_t)csize, "layers", ls);
	text = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
	*msize = (int64_t)strlen(text);
	ret = ah_image_blob_put(s, text, strlen(text), mdigest, err);
	free(text);
	json_decref(m);
	return ret;
}

int ah_image_commit(struct ah_image_store *s, json_t *config, const struct ah_layer *layers,
		    size_t nr, char manifest_digest[AH_DIGEST_MAX], int64_t *manifest_size,
		    struct ah_err *err)
{
	json_t *cfg = config ? json_deep_copy(config) : json_object(), *ids = json_array();
	char cdigest[AH_DIGEST_MAX], *text;
	size_t i;
	int ret = -1;

	if (!json_is_object(cfg)) {
		ah_invalid(err, "image config: must be a JSON object");
		json_decref(ids);
		goto done;
	}
	if (!json_object_get(cfg, "architecture"))
		json_object_set_new(cfg, "architecture", json_string(ah_image_host_arch()));
	if (!json_object_get(cfg, "os"))
		json_object_set_new(cfg, "os", json_string("linux"));
	for (i = 0; i < nr; i++)
		json_array_append_new(ids, json_string(layers[i].diff_id));
	json_object_set_new(cfg, "rootfs", json_pack("{s:s, s:o}", "type", "layers", "diff_ids", ids));
	text = json_dumps(cfg, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (ah_image_blob_put(s, text, strlen(text), cdigest, err) == 0)
		ret = image_write_manifest(s, cdigest, (int64_t)strlen(text), layers, nr, manifest_digest,
				     manifest_size, err);
	free(text);
done:
	json_decref(cfg);
	return ret;
}

/* ---- reading images ---- */

void ah_image_release(struct ah_image *img)
{
	if (!img)
		return;
	free(img->name);
	free(img->media_type);
	json_decref(img->manifest);
	json_decref(img->config);
	free(img->layers);
	memset(img, 0, sizeof(*img));
}

int64_t ah_image_size(const struct ah_image *img)
{
	int64_t n = img->manifest_size + img->config_size;
	size_t i;

	for (i = 0; i < img->nr_layers; i++)
		n += img->layers[i].size;
	return n;
}


int ah_image_load(struct ah_image_store *s, const char *ref, struct ah_image *img,
		  struct ah_err *err)
{
	json_t *idx = NULL, *desc, *doc = NULL, *ids, *l;
	const char *mt = NULL, *d;
	char *cname = NULL;
	size_t i;
	int ret = -1;

	memset(img, 0, sizeof(*img));
	if (image_hold_store(s, err) < 0 || image_index_read(s->dir, &idx, err) < 0)
		goto done;
	if (ah_digest_valid(ref)) {
		desc = image_find_desc(idx, NULL, ref);
		if (!desc && !ah_image_blob_exists(s, ref)) {
			ah_not_found(err, "image '%s' not found", ref);
			goto done;
		}
		snprintf(img->digest, sizeof(img->digest), "%s", ref);
	} else {
		if (!(cname = ah_image_canonical_name(ref, err)))
			goto done;
		desc = image_find_desc(idx, cname, NULL);
		if (!desc) {
			ah_not_found(err, "image '%s' not found", cname);
			goto done;
		}
		img->name = cname;
		cname = NULL;
		snprintf(img->digest, sizeof(img->digest), "%s",
			 json_string_value(json_object_get(desc, "digest")) ?: "");
	}
	mt = desc ? json_string_value(json_object_get(desc, "mediaType")) : NULL;
	if (image_blob_json(s, img->digest, &doc, err) < 0)
		goto done;
	if (ah_image_is_index(doc, mt)) {
		json_t *pick = ah_image_pick_platform(doc, NULL, err);

		if (!pick)
			goto done;
		snprintf(img->digest, sizeof(img->digest), "%s",
			 json_string_value(json_object_get(pick, "digest")) ?: "");
		mt = json_string_value(json_object_get(pick, "mediaType"));
		json_t *inner;

		if (image_blob_json(s, img->digest, &inner, err) < 0)
			goto done;
		json_decref(doc);
		doc = inner;
	}
	if (!mt)
		mt = json_string_value(json_object_get(doc, "mediaType"));
	img->media_type = xstrdup(mt ? mt : AH_MT_OCI_MANIFEST);
	{
		char *path = ah_image_blob_path(s, img->digest);
		struct stat sb;

		img->manifest_size = path && stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
		free(path);
	}
	img->manifest = doc;
	doc = NULL;
	d = json_string_value(json_object_get(json_object_get(img->manifest, "config"), "digest"));
	if (!ah_digest_valid(d)) {
		ah_invalid(err, "image '%s': manifest has no config", ref);
		goto done;
	}
	snprintf(img->config_digest, sizeof(img->config_digest), "%s", d);
	img->config_size = json_integer_value(json_object_get(json_object_get(img->manifest,
								"config"), "size"));
	if (image_blob_json(s, d, &img->config, err) < 0)
		goto done;
	ids = json_object_get(json_object_get(img->config, "rootfs"), "diff_ids");
	img->nr_layers = json_array_size(json_object_get(img->manifest, "layers"));
	img->layers = xcalloc(img->nr_layers + 1, sizeof(*img->layers));
	json_array_foreach(json_object_get(img->manifest, "layers"), i, l) {
		struct ah_layer *L = &img->layers[i];

		d = json_string_value(json_object_get(l, "digest"));
		if (!ah_digest_valid(d)) {
			ah_invalid(err, "image '%s': layer %zu has no sha256 digest", ref, i);
			goto done;
		}
		snprintf(L->digest, sizeof(L->digest), "%s", d);
		snprintf(L->diff_id, sizeof(L->diff_id), "%s",
			 json_string_value(json_array_get(ids, i)) ?: "");
		L->size = json_integer_value(json_object_get(l, "size"));
		L->media_type = ah_layer_media_type(json_string_value(json_object_get(l, "mediaType")));
		if (!L->media_type) {
			ah_invalid(err, "image '%s': layer %zu has an unsupported media type", ref, i);
			goto done;
		}
	}
	ret = 0;
done:
	if (ret < 0)
		ah_image_release(img);
	json_decref(doc);
	json_decref(idx);
	free(cname);
	return ret;
}

int ah_image_list(struct ah_image_store *s, json_t **out, struct ah_err *err)
{
	json_t *idx = NULL, *d, *list = json_array();
	size_t i;

	*out = NULL;
	if (image_index_read(s->dir, &idx, err) < 0) {
		json_decref(list);
		return -1;
	}
	json_array_foreach(json_object_get(idx, "manifests"), i, d) {
		const char *name = image_desc_name(d);
		struct ah_image img;
		struct ah_err e2 = AH_ERR_INIT;

		if (!name)
			continue;
		if (ah_image_load(s, name, &img, &e2) < 0) {
			json_array_append_new(list, json_pack("{s:s, s:s?, s:n, s:n, s:s}", "name", name,
					      "digest", json_string_value(json_object_get(d, "digest")),
					      "size", "createdAt", "errorMessage", e2.msg));
			continue;
		}
		json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:O?}", "name", name,
				      "digest", img.digest, "size", (json_int_t)ah_image_size(&img),
				      "createdAt", json_object_get(img.config, "created")));
		if (!json_object_get(json_array_get(list, json_array_size(list) - 1), "createdAt"))
			json_object_set_new(json_array_get(list, json_array_size(list) - 1), "createdAt",
					    json_null());
		ah_image_release(&img);
	}
	json_decref(idx);
	*out = list;
	return 0;
}

/* ---- removing ---- */

static void mark(struct ah_image_store *s, const char *digest, json_t *seen, int depth)
{
	json_t *doc = NULL, *d;
	struct ah_err e = AH_ERR_INIT;
	size_t i;

	if (!ah_digest_valid(digest) || json_object_get(seen, digest) || depth > 4)
		return;
	json_object_set_new(seen, digest, json_true());
	if (image_blob_json(s, digest, &doc, &e) < 0)
		return;
	json_array_foreach(json_object_get(doc, "manifests"), i, d)
		mark(s, json_string_value(json_object_get(d, "digest")), seen, depth + 1);
	d = json_object_get(json_object_get(doc, "config"), "digest");
	if (json_is_string(d))
		json_object_set_new(seen, json_string_value(d), json_true());
	json_array_foreach(json_object_get(doc, "layers"), i, d)
		if (json_is_string(json_object_get(d, "digest")))
			json_object_set_new(seen, json_string_value(json_object_get(d, "digest")),
					    json_true());
	json_decref(doc);
}

int ah_image_gc(struct ah_image_store *s, struct ah_err *err)
{
	char *path = xstrfmt("%s/gc.lock", s->dir), *dir = NULL;
	int fd = s->gc_fd >= 0 ? s->gc_fd : open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	json_t *idx = NULL, *seen = json_object(), *d;
	struct dirent *de;
	DIR *dp = NULL;
	size_t i;
	int ret = -1;

	if (fd < 0) {
		ah_internal(err, "cannot lock '%s': %s", path, strerror(errno));
		goto done;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ret = 0;	/* a writer or reader is busy: collect another time */
		goto done;
	}
	if (image_index_read(s->dir, &idx, err) < 0)
		goto done;
	json_array_foreach(json_object_get(idx, "manifests"), i, d)
		mark(s, json_string_value(json_object_get(d, "digest")), seen, 0);
	dir = xstrfmt("%s/blobs/sha256", s->dir);
	if ((dp = opendir(dir))) {
		while ((de = readdir(dp))) {
			char digest[AH_DIGEST_MAX];

			if (de->d_name[0] == '.' || strlen(de->d_name) != 64)
				continue;
			memcpy(digest, "sha256:", 7);
			memcpy(digest + 7, de->d_name, 65);
			if (!json_object_get(seen, digest))
				unlinkat(dirfd(dp), de->d_name, 0);
		}
		closedir(dp);
	}
	free(dir);
	/* unpacked layers go with their blobs (and half-made ones: no build is running) */
	dir = xstrfmt("%s/unpacked", s->dir);
	if ((dp = opendir(dir))) {
		while ((de = readdir(dp))) {
			char digest[AH_DIGEST_MAX];

			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (strlen(de->d_name) == 64) {
				memcpy(digest, "sha256:", 7);
				memcpy(digest + 7, de->d_name, 65);
				if (json_object_get(seen, digest))
					continue;
			}
			ah_remove_at(dirfd(dp), de->d_name);
		}
		closedir(dp);
	}
	free(dir);
	dir = xstrfmt("%s/tmp", s->dir);
	if ((dp = opendir(dir))) {
		while ((de = readdir(dp)))
			if (!strncmp(de->d_name, "blob-", 5) || !strncmp(de->d_name, "import-", 7))
				ah_remove_at(dirfd(dp), de->d_name);
		closedir(dp);
	}
	ret = 0;
done:
	if (fd >= 0 && fd == s->gc_fd)
		flock(fd, LOCK_SH);
	else if (fd >= 0)
		close(fd);
	json_decref(idx);
	json_decref(seen);
	free(dir);
	free(path);
	return ret;
}

int ah_image_remove(struct ah_image_store *s, const char *name, struct ah_err *err)
{
	char *cname = ah_image_canonical_name(name, err);
	json_t *idx = NULL, *m;
	int lock = -1, ret = -1, found = 0;
	size_t i;

	if (!cname)
		return -1;
	if ((lock = lock_index(s, err)) < 0 || image_index_read(s->dir, &idx, err) < 0)
		goto done;
	m = json_object_get(idx, "manifests");
	for (i = 0; i < json_array_size(m);) {
		const char *n = image_desc_name(json_array_get(m, i));

		if (n && !strcmp(n, cname)) {
			json_array_remove(m, i);
			found = 1;
		} else {
			i++;
		}
	}
	if (!found) {
		ah_not_found(err, "image '%s' not found", cname);
		goto done;
	}
	if (index_write(s, idx, err) < 0)
		goto done;
	close(lock);
	lock = -1;
	ret = ah_image_gc(s, err);
done:
	if (lock >= 0)
		close(lock);
	json_decref(idx);
	free(cname);
	return ret;
}
