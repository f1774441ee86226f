/*
 * The image store: an OCI image layout in STATE/images (see image.h).
 */
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include "fsutil.h"
#include "image.h"
#include "tmpdir.h"
#include "ops.h"
#include "registry.h"
#include "strbuf.h"
#include "timeutil.h"

struct ah_image_store {
	char *dir;
	int gc_fd;	/* shared flock of gc.lock while this store writes or reads */
};

#define COPY_BUF (128 * 1024)
#define DEFAULT_MAX_LAYER ((int64_t)8 << 30)

int64_t ah_image_max_layer(void)
{
	const char *v = getenv("APPHUB_MAX_LAYER_SIZE");
	char *end;
	long long n;

	if (!v || !*v)
		return DEFAULT_MAX_LAYER;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || *end || n <= 0)
		return DEFAULT_MAX_LAYER;
	return n;
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

static int mkdir_one(const char *path, struct ah_err *err)
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

	*out = NULL;
	s->gc_fd = -1;
	s->dir = xstrfmt("%s/images", state_dir);
	if (mkdir_one(s->dir, err) < 0)
		goto fail;
	path = xstrfmt("%s/blobs", s->dir);
	if (mkdir_one(path, err) < 0)
		goto fail;
	free(path);
	path = xstrfmt("%s/blobs/sha256", s->dir);
	if (mkdir_one(path, err) < 0)
		goto fail;
	free(path);
	path = xstrfmt("%s/tmp", s->dir);
	if (mkdir_one(path, err) < 0)
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
static int hold_store(struct ah_image_store *s, struct ah_err *err)
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

static void digest_final(EVP_MD_CTX *md, char out[AH_DIGEST_MAX])
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	EVP_DigestFinal_ex(md, h, &n);
	memcpy(out, "sha256:", 7);
	for (i = 0; i < n && i < 32; i++)
		sprintf(out + 7 + 2 * i, "%02x", h[i]);
	out[71] = '\0';
}

static EVP_MD_CTX *digest_new(void)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		die("cannot start a SHA-256 digest");
	return md;
}

static void digest_of(const void *buf, size_t len, char out[AH_DIGEST_MAX])
{
	EVP_MD_CTX *md = digest_new();

	EVP_DigestUpdate(md, buf, len);
	digest_final(md, out);
	EVP_MD_CTX_free(md);
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

/* Reads at most max bytes of fd; more is an error. */
static int read_all(int fd, size_t max, const char *what, char **buf, size_t *len,
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
	if (read_all(fd, max, digest, buf, len, err) < 0)
		goto done;
	digest_of(*buf, *len, got);
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
	if (hold_store(s, err) < 0)
		return -1;
	w = xcalloc(1, sizeof(*w));
	w->s = s;
	w->max = max;
	w->tmp = xstrfmt("%s/tmp/blob-XXXXXX", s->dir);
	w->fd = ah_tmp_mkstemp(w->tmp, err);
	if (w->fd < 0) {
		free(w->tmp);
		free(w);
		return -1;
	}
	w->md = digest_new();
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

	digest_final(w->md, got);
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

/* ---- archive members ---- */

/*
 * Cleans an archive member name in place ("./a//b" -> "a/b"). Returns 0,
 * 1 for the archive's root ("./"), or -1 for an absolute name or one with
 * a ".." component.
 */
static int clean_member_name(char *name)
{
	char *r = name, *w = name;

	if (*name == '/')
		return -1;
	while (*r) {
		char *end = strchrnul(r, '/');
		size_t n = (size_t)(end - r);

		if (n == 2 && r[0] == '.' && r[1] == '.')
			return -1;
		if (n && !(n == 1 && r[0] == '.')) {
			if (w != name)
				*w++ = '/';
			memmove(w, r, n);
			w += n;
		}
		r = *end ? end + 1 : end;
	}
	*w = '\0';
	return *name ? 0 : 1;
}

/*
 * Checks an entry read from an archive and cleans its names. Returns 0,
 * 1 to skip it (the root directory), -1 with err set.
 */
static int check_entry(struct archive_entry *e, const char *what, struct ah_err *err)
{
	const char *p = archive_entry_pathname(e), *l = archive_entry_hardlink(e);
	char name[PATH_MAX];
	int r;

	if (!p || strlen(p) >= sizeof(name))
		return ah_invalid(err, "%s: a member has no name or too long a name", what);
	strcpy(name, p);
	r = clean_member_name(name);
	if (r < 0)
		return ah_invalid(err, "%s: member '%s' escapes the destination", what, p);
	if (r == 1)
		return archive_entry_filetype(e) == AE_IFDIR ? 1
			: ah_invalid(err, "%s: member '%s' is not a file name", what, p);
	switch (l ? AE_IFREG : archive_entry_filetype(e)) {
	case AE_IFREG:
	case AE_IFDIR:
	case AE_IFLNK:
	case AE_IFIFO:
		break;
	case AE_IFCHR:
	case AE_IFBLK:
		return ah_invalid(err, "%s: member '%s' is a device node", what, p);
	default:
		return ah_invalid(err, "%s: member '%s' is not a file, directory or link", what, p);
	}
	/* p goes with the entry's old name: from here on, the new one */
	archive_entry_copy_pathname(e, name);
	p = archive_entry_pathname(e);
	if (l) {
		if (strlen(l) >= sizeof(name))
			return ah_invalid(err, "%s: member '%s' links to too long a name", what, p);
		strcpy(name, l);
		if (clean_member_name(name))
			return ah_invalid(err, "%s: member '%s' links outside the archive", what, p);
		archive_entry_copy_hardlink(e, name);
	}
	return 0;
}

/*
 * Counts a member's declared (logical) size, sparse holes included,
 * against max before any of its bytes are read: the one check of sizes
 * on import, scan and unpack alike.
 */
static int entry_budget(struct archive_entry *e, int64_t *total, int64_t max, const char *what,
			struct ah_err *err)
{
	int64_t n = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;

	if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
		return 0;
	if (n < 0 || n > max - *total)
		return ah_error(err, 413, "too_large", "%s: larger than %lld bytes (member '%s')",
				what, (long long)max, archive_entry_pathname(e));
	*total += n;
	return 0;
}

/*
 * Copies the current member of in to out(ud, buf, len) as a plain file:
 * a sparse member's holes (and its end past its last data) come out as
 * zeros, so what is written is exactly the declared size, which
 * entry_budget() counted.
 */
static int copy_filled(struct archive *in, struct archive_entry *e,
		       int (*out)(void *ud, const void *buf, size_t len), void *ud,
		       const char *what, struct ah_err *err)
{
	static const char zeros[16384];
	int64_t pos = 0, end = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;

	for (;;) {
		r = archive_read_data_block(in, &buf, &len, &off);
		if (r == ARCHIVE_EOF) {
			off = end;
			len = 0;
		} else if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			return ah_invalid(err, "%s: %s", what, archive_error_string(in));
		}
		if (off < pos || off > end || (int64_t)len > end - off)
			return ah_invalid(err, "%s: member '%s' has data past its size", what,
					  archive_entry_pathname(e));
		while (pos < off) {
			size_t z = off - pos < (int64_t)sizeof(zeros) ? (size_t)(off - pos)
								    : sizeof(zeros);

			if (out(ud, zeros, z) < 0)
				return -1;
			pos += (int64_t)z;
		}
		if (r == ARCHIVE_EOF)
			return 0;
		if (len && out(ud, buf, len) < 0)
			return -1;
		pos += (int64_t)len;
	}
}

static struct archive *reader_new(void)
{
	struct archive *a = archive_read_new();

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	return a;
}

/* ---- layer writer: a pax tar, hashed (diff_id), through gzip into a blob ---- */

struct layer_writer {
	struct ah_blob_writer *blob;
	EVP_MD_CTX *diff;
	struct archive *gz, *tar;
	struct ah_err *err;
	int failed;
	int64_t written, max;
};

static la_ssize_t gz_out(struct archive *a, void *ud, const void *buf, size_t len)
{
	struct layer_writer *lw = ud;

	if (lw->failed || ah_blob_writer_write(lw->blob, buf, len, lw->err) < 0) {
		lw->failed = 1;
		archive_set_error(a, EIO, "%s", lw->err->msg);
		return -1;
	}
	return (la_ssize_t)len;
}

static la_ssize_t tar_out(struct archive *a, void *ud, const void *buf, size_t len)
{
	struct layer_writer *lw = ud;

	if (lw->failed)
		return -1;
	lw->written += (int64_t)len;
	if (lw->written > lw->max) {
		ah_error(lw->err, 413, "too_large", "layer larger than %lld bytes",
			 (long long)lw->max);
		lw->failed = 1;
		archive_set_error(a, EFBIG, "%s", lw->err->msg);
		return -1;
	}
	EVP_DigestUpdate(lw->diff, buf, len);
	if (archive_write_data(lw->gz, buf, len) < 0) {
		if (!lw->failed)
			ah_internal(lw->err, "cannot compress a layer: %s",
				    archive_error_string(lw->gz));
		lw->failed = 1;
		archive_set_error(a, EIO, "%s", lw->err->msg);
		return -1;
	}
	return (la_ssize_t)len;
}

static int lw_open(struct ah_image_store *s, struct layer_writer *lw, struct ah_err *err)
{
	struct archive_entry *e;

	memset(lw, 0, sizeof(*lw));
	lw->err = err;
	lw->max = ah_image_max_layer();
	if (ah_blob_writer_open(s, &lw->blob, 0, err) < 0)
		return -1;
	lw->diff = digest_new();
	lw->gz = archive_write_new();
	if (archive_write_add_filter_gzip(lw->gz) != ARCHIVE_OK ||
	    archive_write_set_filter_option(lw->gz, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
	    archive_write_set_format_raw(lw->gz) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(lw->gz, 1) != ARCHIVE_OK ||
	    archive_write_open2(lw->gz, lw, NULL, gz_out, NULL, NULL) != ARCHIVE_OK)
		return ah_internal(err, "cannot start a layer: %s", archive_error_string(lw->gz));
	e = archive_entry_new();
	archive_entry_set_pathname(e, "layer.tar");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	if (archive_write_header(lw->gz, e) != ARCHIVE_OK) {
		archive_entry_free(e);
		return ah_internal(err, "cannot start a layer: %s", archive_error_string(lw->gz));
	}
	archive_entry_free(e);
	lw->tar = archive_write_new();
	if (archive_write_set_format_pax_restricted(lw->tar) != ARCHIVE_OK ||
	    archive_write_add_filter_none(lw->tar) != ARCHIVE_OK ||
	    archive_write_open2(lw->tar, lw, NULL, tar_out, NULL, NULL) != ARCHIVE_OK)
		return ah_internal(err, "cannot start a layer: %s", archive_error_string(lw->tar));
	return 0;
}

static int lw_fail(struct layer_writer *lw, struct archive *a, const char *what)
{
	if (!lw->failed)
		ah_internal(lw->err, "cannot write %s: %s", what, archive_error_string(a));
	lw->failed = 1;
	return -1;
}

static int lw_header(struct layer_writer *lw, struct archive_entry *e)
{
	int r = archive_write_header(lw->tar, e);

	if (r < ARCHIVE_WARN)
		return lw_fail(lw, lw->tar, "a layer");
	return 0;
}

static int lw_data(struct layer_writer *lw, const void *buf, size_t len)
{
	if (archive_write_data(lw->tar, buf, len) < 0)
		return lw_fail(lw, lw->tar, "a layer");
	return 0;
}

static int lw_out(void *ud, const void *buf, size_t len)
{
	return lw_data(ud, buf, len);
}

/* Ends the layer (ok) or discards it; frees lw's parts either way. */
static int lw_close(struct layer_writer *lw, int ok, struct ah_layer *out)
{
	int ret = -1;

	if (ok && !lw->failed) {
		if (archive_write_close(lw->tar) != ARCHIVE_OK)
			lw_fail(lw, lw->tar, "a layer");
		else if (archive_write_close(lw->gz) != ARCHIVE_OK)
			lw_fail(lw, lw->gz, "a layer");
	}
	if (lw->tar)
		archive_write_free(lw->tar);
	if (lw->gz)
		archive_write_free(lw->gz);
	lw->tar = lw->gz = NULL;
	if (ok && !lw->failed && lw->blob) {
		memset(out, 0, sizeof(*out));
		digest_final(lw->diff, out->diff_id);
		out->media_type = AH_MT_OCI_LAYER_GZIP;
		ret = ah_blob_writer_commit(lw->blob, NULL, out->digest, &out->size, lw->err);
	} else {
		ah_blob_writer_abort(lw->blob);
	}
	lw->blob = NULL;
	if (lw->diff)
		EVP_MD_CTX_free(lw->diff);
	lw->diff = NULL;
	return ret;
}

/* ---- a layer from a directory (or the difference of two) ---- */

static int64_t fixed_mtime(void)
{
	const char *v = getenv("SOURCE_DATE_EPOCH");
	char *end;
	long long n;

	if (!v || !*v)
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	return errno || *end || n < 0 ? 0 : n;
}

struct dir_item {
	char *rel;
	char *src;	/* where it is on disk; NULL: dir/rel */
	int whiteout;	/* rel names the whiteout entry itself */
};

struct pending_dir {
	char *rel;
	const char *src;
	int emitted;
};

struct dir_walk {
	const char *dir, *base;
	struct dir_item *items;
	size_t nr, alloc;
	struct pending_dir *stack;
	size_t depth, stack_alloc;
	struct ah_err *err;
	size_t count;
};

#define MAX_LAYER_ENTRIES 10000000
#define MAX_DIR_DEPTH 256

static void walk_emit_src(struct dir_walk *w, const char *rel, const char *src, int whiteout)
{
	size_t i;

	for (i = 0; i < w->depth; i++) {
		if (w->stack[i].emitted)
			continue;
		w->stack[i].emitted = 1;
		walk_emit_src(w, w->stack[i].rel, w->stack[i].src, 0);
	}
	if (w->nr == w->alloc) {
		w->alloc = w->alloc ? 2 * w->alloc : 256;
		w->items = xrealloc(w->items, w->alloc * sizeof(*w->items));
	}
	w->items[w->nr].rel = xstrdup(rel);
	w->items[w->nr].src = src ? xstrdup(src) : NULL;
	w->items[w->nr].whiteout = whiteout;
	w->nr++;
}

static void walk_emit(struct dir_walk *w, const char *rel, int whiteout)
{
	walk_emit_src(w, rel, NULL, whiteout);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in path, sorted; a missing directory has none. */
static int list_dir(const char *path, char ***names, size_t *nr, struct ah_err *err)
{
	DIR *d = opendir(path);
	struct dirent *de;
	size_t alloc = 0;

	*names = NULL;
	*nr = 0;
	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return ah_internal(err, "cannot read '%s': %s", path, strerror(errno));
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*nr == alloc) {
			alloc = alloc ? 2 * alloc : 32;
			*names = xrealloc(*names, alloc * sizeof(**names));
		}
		(*names)[(*nr)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*nr)
		qsort(*names, *nr, sizeof(**names), cmp_str);
	return 0;
}

static void free_names(char **names, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++)
		free(names[i]);
	free(names);
}

static int same_link(const char *a, const char *b)
{
	char la[PATH_MAX], lb[PATH_MAX];
	ssize_t na = readlink(a, la, sizeof(la)), nb = readlink(b, lb, sizeof(lb));

	return na >= 0 && na == nb && !memcmp(la, lb, (size_t)na);
}

static int unchanged(const struct stat *a, const struct stat *b, const char *pa, const char *pb)
{
	if ((a->st_mode & S_IFMT) != (b->st_mode & S_IFMT) || a->st_mode != b->st_mode ||
	    a->st_uid != b->st_uid || a->st_gid != b->st_gid)
		return 0;
	if (S_ISDIR(a->st_mode))
		return 1;
	if (a->st_size != b->st_size || a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
	    a->st_mtim.tv_nsec != b->st_mtim.tv_nsec)
		return 0;
	return S_ISLNK(a->st_mode) ? same_link(pa, pb) : 1;
}

static int walk_dir(struct dir_walk *w, const char *rel)
{
	char *path = xstrfmt("%s%s%s", w->dir, *rel ? "/" : "", rel), *bpath = NULL;
	char **names = NULL, **bnames = NULL, **all = NULL;
	size_t nr = 0, bnr = 0, nall = 0, i, j;
	int ret = -1;

	if (w->depth >= MAX_DIR_DEPTH) {
		ah_invalid(w->err, "'%s': directories nested too deep", path);
		goto done;
	}
	if (list_dir(path, &names, &nr, w->err) < 0)
		goto done;
	if (w->base) {
		struct stat bsb;

		bpath = xstrfmt("%s%s%s", w->base, *rel ? "/" : "", rel);
		if (lstat(bpath, &bsb) == 0 && S_ISDIR(bsb.st_mode) &&
		    list_dir(bpath, &bnames, &bnr, w->err) < 0)
			goto done;
	}
	/* The names, and a whiteout for each name that went away or stopped being a directory. */
	all = xcalloc(nr + bnr + 1, sizeof(*all));
	for (i = 0; i < nr; i++)
		all[nall++] = xstrdup(names[i]);
	for (i = 0, j = 0; i < bnr; i++) {
		struct stat a, b;
		char *pa, *pb;
		int gone;

		while (j < nr && strcmp(names[j], bnames[i]) < 0)
			j++;
		gone = j >= nr || strcmp(names[j], bnames[i]);
		if (!gone) {
			pa = xstrfmt("%s/%s", path, bnames[i]);
			pb = xstrfmt("%s/%s", bpath, bnames[i]);
			gone = lstat(pb, &b) == 0 && S_ISDIR(b.st_mode) &&
			       lstat(pa, &a) == 0 && !S_ISDIR(a.st_mode);
			free(pa);
			free(pb);
		}
		if (gone)
			all[nall++] = xstrfmt(".wh.%s", bnames[i]);
	}
	if (nall)
		qsort(all, nall, sizeof(*all), cmp_str);
	for (i = 0; i < nall; i++) {
		char *crel = xstrfmt("%s%s%s", rel, *rel ? "/" : "", all[i]);
		char *cpath = xstrfmt("%s/%s", w->dir, crel), *cbase = NULL;
		struct stat sb, bsb;
		int is_wh = !strncmp(all[i], ".wh.", 4) &&
			    (!nr || !bsearch(&all[i], names, nr, sizeof(*names), cmp_str));
		int changed = 1, r = 0;

		if (++w->count > MAX_LAYER_ENTRIES) {
			ah_invalid(w->err, "'%s': more than %d entries", w->dir, MAX_LAYER_ENTRIES);
			r = -1;
		} else if (is_wh) {
			walk_emit(w, crel, 1);
		} else if (lstat(cpath, &sb) < 0) {
			ah_internal(w->err, "cannot stat '%s': %s", cpath, strerror(errno));
			r = -1;
		} else {
			if (w->base) {
				cbase = xstrfmt("%s/%s", w->base, crel);
				changed = !(lstat(cbase, &bsb) == 0 && unchanged(&sb, &bsb, cpath, cbase));
			}
			if (changed && !S_ISSOCK(sb.st_mode))
				walk_emit(w, crel, 0);
			if (S_ISDIR(sb.st_mode)) {
				if (w->depth == w->stack_alloc) {
					w->stack_alloc = w->stack_alloc ? 2 * w->stack_alloc : 16;
					w->stack = xrealloc(w->stack, w->stack_alloc * sizeof(*w->stack));
				}
				w->stack[w->depth].rel = crel;
				w->stack[w->depth].src = NULL;
				w->stack[w->depth].emitted = changed;
				w->depth++;
				r = walk_dir(w, crel);
				w->depth--;
			}
		}
		free(crel);
		free(cpath);
		free(cbase);
		if (r < 0)
			goto done;
	}
	ret = 0;
done:
	free(path);
	free(bpath);
	free_names(names, nr);
	free_names(bnames, bnr);
	free_names(all, nall);
	return ret;
}

struct link_seen {
	dev_t dev;
	ino_t ino;
	char *rel;
};

static int write_dir_item(struct layer_writer *lw, const char *dir, const struct dir_item *it,
			  int64_t mtime, struct link_seen **links, size_t *nlinks, char *buf)
{
	struct archive_entry *e = archive_entry_new();
	char *path = it->src ? xstrdup(it->src) : xstrfmt("%s/%s", dir, it->rel);
	struct stat sb;
	int fd = -1, ret = -1;
	size_t i;

	archive_entry_set_pathname(e, it->rel);
	archive_entry_set_mtime(e, mtime, 0);
	if (it->whiteout) {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, 0);
		ret = lw_header(lw, e);
		goto done;
	}
	if (lstat(path, &sb) < 0) {
		ah_internal(lw->err, "cannot stat '%s': %s", path, strerror(errno));
		goto done;
	}
	if (S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode)) {
		ah_invalid(lw->err, "'%s' is a device node", path);
		goto done;
	}
	archive_entry_set_mode(e, sb.st_mode);
	archive_entry_set_uid(e, sb.st_uid);
	archive_entry_set_gid(e, sb.st_gid);
	if (S_ISLNK(sb.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(path, target, sizeof(target) - 1);

		if (n < 0) {
			ah_internal(lw->err, "cannot read link '%s': %s", path, strerror(errno));
			goto done;
		}
		target[n] = '\0';
		archive_entry_set_symlink(e, target);
		ret = lw_header(lw, e);
		goto done;
	}
	if (!S_ISREG(sb.st_mode)) {
		ret = lw_header(lw, e);
		goto done;
	}
	if (sb.st_nlink > 1) {
		for (i = 0; i < *nlinks; i++) {
			if ((*links)[i].dev == sb.st_dev && (*links)[i].ino == sb.st_ino) {
				archive_entry_set_hardlink(e, (*links)[i].rel);
				archive_entry_set_size(e, 0);
				ret = lw_header(lw, e);
				goto done;
			}
		}
		*links = xrealloc(*links, (*nlinks + 1) * sizeof(**links));
		(*links)[*nlinks].dev = sb.st_dev;
		(*links)[*nlinks].ino = sb.st_ino;
		(*links)[*nlinks].rel = xstrdup(it->rel);
		(*nlinks)++;
	}
	archive_entry_set_size(e, sb.st_size);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ah_internal(lw->err, "cannot open '%s': %s", path, strerror(errno));
		goto done;
	}
	if (lw_header(lw, e) < 0)
		goto done;
	{
		int64_t left = sb.st_size;

		while (left > 0) {
			ssize_t n = read(fd, buf, left < COPY_BUF ? (size_t)left : COPY_BUF);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				ah_internal(lw->err, "cannot read '%s': %s", path,
					    n ? strerror(errno) : "it shrank while read");
				lw->failed = 1;
				goto done;
			}
			if (lw_data(lw, buf, (size_t)n) < 0)
				goto done;
			left -= n;
		}
	}
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	free(path);
	archive_entry_free(e);
	return ret;
}

/* The layer of the items w found; with fix, they get its mtime on disk too. */
static int write_walk(struct ah_image_store *s, struct dir_walk *w, const char *dir, int fix,
		      struct ah_layer *out, struct ah_err *err)
{
	struct layer_writer lw;
	struct link_seen *links = NULL;
	size_t nlinks = 0, i;
	char *buf = xmalloc(COPY_BUF);
	int64_t mtime = fixed_mtime();
	int ok = 0, ret;

	memset(&lw, 0, sizeof(lw));
	if (lw_open(s, &lw, err) < 0)
		goto done;
	for (i = 0; i < w->nr; i++)
		if (write_dir_item(&lw, dir, &w->items[i], mtime, &links, &nlinks, buf) < 0)
			goto done;
	for (i = 0; fix && i < w->nr; i++) {
		struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };

		if (w->items[i].src && !w->items[i].whiteout)
			utimensat(AT_FDCWD, w->items[i].src, ts, AT_SYMLINK_NOFOLLOW);
	}
	ok = 1;
done:
	ret = lw_close(&lw, ok, out);
	for (i = 0; i < nlinks; i++)
		free(links[i].rel);
	free(links);
	free(buf);
	return ok ? ret : -1;
}

static void walk_free(struct dir_walk *w)
{
	size_t i;

	for (i = 0; i < w->nr; i++) {
		free(w->items[i].rel);
		free(w->items[i].src);
	}
	free(w->items);
	free(w->stack);
}

int ah_image_layer_from_dir(struct ah_image_store *s, const char *dir, const char *base,
			    struct ah_layer *out, struct ah_err *err)
{
	struct dir_walk w = { 0 };
	struct stat sb;
	int ret = -1;

	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		ah_invalid(err, "'%s' is not a directory", dir);
		goto done;
	}
	w.dir = dir;
	w.base = base;
	w.err = err;
	if (walk_dir(&w, "") < 0)
		goto done;
	ret = write_walk(s, &w, dir, 0, out, err);
done:
	walk_free(&w);
	return ret;
}

/* ---- a layer from an overlay upper directory ---- */

#define OVL_OPAQUE "trusted.overlay.opaque"

static int is_whiteout_st(const struct stat *sb)
{
	return S_ISCHR(sb->st_mode) && sb->st_rdev == 0;
}

static int is_opaque(const char *path)
{
	char v[4];
	ssize_t n = lgetxattr(path, OVL_OPAQUE, v, sizeof(v));

	return n == 1 && v[0] == 'y';
}

/* One directory as the merged view of several (top first): */
struct ovl_dir {
	char **dirs;
	size_t nr;
};

struct ovl_ent {
	char *name, *src;
	struct stat sb;
};

static void ovl_dir_free(struct ovl_dir *d)
{
	size_t i;

	for (i = 0; i < d->nr; i++)
		free(d->dirs[i]);
	free(d->dirs);
	d->dirs = NULL;
	d->nr = 0;
}

/* The directories that make up name inside d, as overlayfs looks them up. */
static void ovl_child(const struct ovl_dir *d, const char *name, struct ovl_dir *out)
{
	size_t i;

	out->dirs = xcalloc(d->nr + 1, sizeof(*out->dirs));
	out->nr = 0;
	for (i = 0; i < d->nr; i++) {
		char *c = xstrfmt("%s/%s", d->dirs[i], name);
		struct stat sb;

		if (lstat(c, &sb) < 0) {
			free(c);
			continue;
		}
		if (!S_ISDIR(sb.st_mode)) {
			free(c);
			break;	/* a file or a whiteout hides what is below */
		}
		out->dirs[out->nr++] = c;
		if (is_opaque(c))
			break;
	}
}

static int cmp_ent(const void *a, const void *b)
{
	return strcmp(((const struct ovl_ent *)a)->name, ((const struct ovl_ent *)b)->name);
}

static void ents_free(struct ovl_ent *e, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		free(e[i].name);
		free(e[i].src);
	}
	free(e);
}

/* The merged listing of d, sorted, whiteouts dropped. */
static int ovl_list(const struct ovl_dir *d, struct ovl_ent **out, size_t *nr,
		    struct ah_err *err)
{
	struct ovl_ent *e = NULL;
	size_t n = 0, alloc = 0, i, j, k;
	int ret = -1;

	for (i = 0; i < d->nr; i++) {
		char **names;
		size_t nn, top = n;

		if (list_dir(d->dirs[i], &names, &nn, err) < 0)
			goto done;
		for (j = 0; j < nn; j++) {
			struct ovl_ent key = { .name = names[j] };

			if (top && bsearch(&key, e, top, sizeof(*e), cmp_ent))
				continue;	/* a layer above has it (or its whiteout) */
			if (n == alloc) {
				alloc = alloc ? 2 * alloc : 64;
				e = xrealloc(e, alloc * sizeof(*e));
			}
			e[n].src = xstrfmt("%s/%s", d->dirs[i], names[j]);
			if (lstat(e[n].src, &e[n].sb) < 0) {
				ah_internal(err, "cannot stat '%s': %s", e[n].src, strerror(errno));
				free(e[n].src);
				free_names(names, nn);
				goto done;
			}
			e[n].name = names[j];
			names[j] = NULL;
			n++;
		}
		free_names(names, nn);
		if (n > top)
			qsort(e, n, sizeof(*e), cmp_ent);
	}
	for (i = 0, k = 0; i < n; i++) {
		if (is_whiteout_st(&e[i].sb)) {
			free(e[i].name);
			free(e[i].src);
		} else {
			e[k++] = e[i];
		}
	}
	n = k;
	ret = 0;
done:
	if (ret < 0) {
		ents_free(e, n);
		e = NULL;
		n = 0;
	}
	*out = e;
	*nr = n;
	return ret;
}

static struct ovl_ent *find_ent(struct ovl_ent *e, size_t nr, const char *name)
{
	struct ovl_ent key = { .name = (char *)name };

	return nr ? bsearch(&key, e, nr, sizeof(*e), cmp_ent) : NULL;
}

/*
 * walk_dir() for after = upper over lowers and before = lowers, reading
 * only the directories upper has: what upper lacks is the same in both.
 */
static int walk_ovl(struct dir_walk *w, const char *rel, const struct ovl_dir *after,
		    const struct ovl_dir *before)
{
	struct ovl_ent *an = NULL, *bn = NULL;
	size_t anr = 0, bnr = 0, nall = 0, i;
	char **all = NULL;
	int ret = -1;

	if (w->depth >= MAX_DIR_DEPTH) {
		ah_invalid(w->err, "'%s': directories nested too deep", rel);
		goto done;
	}
	if (ovl_list(after, &an, &anr, w->err) < 0 || ovl_list(before, &bn, &bnr, w->err) < 0)
		goto done;
	all = xcalloc(anr + bnr + 1, sizeof(*all));
	for (i = 0; i < anr; i++)
		all[nall++] = xstrdup(an[i].name);
	for (i = 0; i < bnr; i++) {
		struct ovl_ent *a = find_ent(an, anr, bn[i].name);

		if (!a || (S_ISDIR(bn[i].sb.st_mode) && !S_ISDIR(a->sb.st_mode)))
			all[nall++] = xstrfmt(".wh.%s", bn[i].name);
	}
	if (nall)
		qsort(all, nall, sizeof(*all), cmp_str);
	for (i = 0; i < nall; i++) {
		char *crel = xstrfmt("%s%s%s", rel, *rel ? "/" : "", all[i]);
		struct ovl_ent *a = find_ent(an, anr, all[i]), *b;
		char *up = NULL;
		struct stat usb;
		int r = 0;

		if (++w->count > MAX_LAYER_ENTRIES) {
			ah_invalid(w->err, "'%s': more than %d entries", w->dir, MAX_LAYER_ENTRIES);
			r = -1;
		} else if (!a) {
			walk_emit(w, crel, 1);
		} else {
			b = find_ent(bn, bnr, all[i]);
			if ((!b || !unchanged(&a->sb, &b->sb, a->src, b->src)) &&
			    !S_ISSOCK(a->sb.st_mode))
				walk_emit_src(w, crel, a->src, 0);
			up = xstrfmt("%s/%s", w->dir, crel);
			if (S_ISDIR(a->sb.st_mode) && lstat(up, &usb) == 0 && S_ISDIR(usb.st_mode)) {
				struct ovl_dir ca, cb;

				ovl_child(after, all[i], &ca);
				ovl_child(before, all[i], &cb);
				if (w->depth == w->stack_alloc) {
					w->stack_alloc = w->stack_alloc ? 2 * w->stack_alloc : 16;
					w->stack = xrealloc(w->stack, w->stack_alloc * sizeof(*w->stack));
				}
				w->stack[w->depth].rel = crel;
				w->stack[w->depth].src = a->src;
				w->stack[w->depth].emitted = w->nr && !strcmp(w->items[w->nr - 1].rel, crel);
				w->depth++;
				r = walk_ovl(w, crel, &ca, &cb);
				w->depth--;
				ovl_dir_free(&ca);
				ovl_dir_free(&cb);
			}
		}
		free(up);
		free(crel);
		if (r < 0)
			goto done;
	}
	ret = 0;
done:
	ents_free(an, anr);
	ents_free(bn, bnr);
	free_names(all, nall);
	return ret;
}

int ah_image_layer_from_overlay(struct ah_image_store *s, const char *upper,
				const char *const *lowers, size_t nr, struct ah_layer *out,
				struct ah_err *err)
{
	struct dir_walk w = { 0 };
	struct ovl_dir after, before;
	size_t i;
	int ret = -1;

	after.dirs = xcalloc(nr + 2, sizeof(*after.dirs));
	before.dirs = xcalloc(nr + 1, sizeof(*before.dirs));
	after.nr = before.nr = 0;
	after.dirs[after.nr++] = xstrdup(upper);
	for (i = 0; i < nr; i++) {
		after.dirs[after.nr++] = xstrdup(lowers[i]);
		before.dirs[before.nr++] = xstrdup(lowers[i]);
	}
	w.dir = upper;
	w.err = err;
	if (walk_ovl(&w, "", &after, &before) < 0)
		goto done;
	ret = write_walk(s, &w, upper, 1, out, err);
done:
	walk_free(&w);
	ovl_dir_free(&after);
	ovl_dir_free(&before);
	return ret;
}

int ah_image_layer_from_tar(struct ah_image_store *s, int fd, const char *what,
			    struct ah_layer *out, struct ah_err *err)
{
	struct archive *in = reader_new();
	struct archive_entry *e;
	struct layer_writer lw;
	int64_t total = 0;
	int ok = 0, ret = -1, r;

	memset(&lw, 0, sizeof(lw));
	if (archive_read_open_fd(in, fd, 65536) != ARCHIVE_OK) {
		ah_invalid(err, "%s: %s", what, archive_error_string(in));
		goto done;
	}
	if (lw_open(s, &lw, err) < 0)
		goto done;
	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		int c = check_entry(e, what, err);

		if (c < 0)
			goto done;
		if (c)
			continue;
		if (entry_budget(e, &total, lw.max, what, err) < 0)
			goto done;
		/* the layer holds plain files: holes are written out as zeros */
		archive_entry_sparse_clear(e);
		if (lw_header(&lw, e) < 0)
			goto done;
		if (archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e) &&
		    copy_filled(in, e, lw_out, &lw, what, err) < 0)
			goto done;
	}
	if (r != ARCHIVE_EOF) {
		ah_invalid(err, "%s: %s", what, archive_error_string(in));
		goto done;
	}
	ok = 1;
done:
	ret = lw_close(&lw, ok, out);
	archive_read_free(in);
	return ok ? ret : -1;
}

/* ---- reading a layer: checked members, diff_id from the uncompressed stream ---- */

struct layer_reader {
	struct archive *raw, *tar;
	EVP_MD_CTX *diff;
	int64_t total, max;
	int too_large;
	char buf[65536];
};

static la_ssize_t raw_in(struct archive *a, void *ud, const void **out)
{
	struct layer_reader *lr = ud;
	la_ssize_t n = archive_read_data(lr->raw, lr->buf, sizeof(lr->buf));

	if (n < 0) {
		archive_set_error(a, EIO, "%s", archive_error_string(lr->raw));
		return -1;
	}
	lr->total += n;
	if (lr->total > lr->max) {
		lr->too_large = 1;
		archive_set_error(a, EFBIG, "layer larger than %lld bytes", (long long)lr->max);
		return -1;
	}
	EVP_DigestUpdate(lr->diff, lr->buf, (size_t)n);
	*out = lr->buf;
	return n;
}

static int lr_open(struct layer_reader *lr, const char *path, const char *what, struct ah_err *err)
{
	struct archive_entry *e;

	lr->max = ah_image_max_layer();
	lr->diff = digest_new();
	lr->raw = archive_read_new();
	archive_read_support_filter_all(lr->raw);
	archive_read_support_format_raw(lr->raw);
	if (archive_read_open_filename(lr->raw, path, 65536) != ARCHIVE_OK ||
	    archive_read_next_header(lr->raw, &e) != ARCHIVE_OK)
		return ah_invalid(err, "%s: %s", what, archive_error_string(lr->raw));
	lr->tar = archive_read_new();
	archive_read_support_format_tar(lr->tar);
	archive_read_support_format_gnutar(lr->tar);
	if (archive_read_open(lr->tar, lr, NULL, raw_in, NULL) != ARCHIVE_OK)
		return ah_invalid(err, "%s: %s", what, archive_error_string(lr->tar));
	return 0;
}

static int lr_error(struct layer_reader *lr, const char *what, struct ah_err *err)
{
	if (lr->too_large)
		return ah_error(err, 413, "too_large", "%s: larger than %lld bytes", what,
				(long long)lr->max);
	return ah_invalid(err, "%s: %s", what, archive_error_string(lr->tar));
}

/* Reads the rest of the uncompressed stream into the digest. */
static int lr_finish(struct layer_reader *lr, char diff_id[AH_DIGEST_MAX], const char *what,
		     struct ah_err *err)
{
	const void *p;

	while (raw_in(lr->tar, lr, &p) > 0)
		;
	if (lr->too_large)
		return lr_error(lr, what, err);
	if (diff_id)
		digest_final(lr->diff, diff_id);
	return 0;
}

static void lr_close(struct layer_reader *lr)
{
	if (lr->tar)
		archive_read_free(lr->tar);
	if (lr->raw)
		archive_read_free(lr->raw);
	if (lr->diff)
		EVP_MD_CTX_free(lr->diff);
	lr->tar = lr->raw = NULL;
	lr->diff = NULL;
}

int ah_image_layer_verify(struct ah_image_store *s, const char *digest,
			  char diff_id[AH_DIGEST_MAX], struct ah_err *err)
{
	struct layer_reader *lr = xcalloc(1, sizeof(*lr));
	char *path = ah_image_blob_path(s, digest), what[100];
	struct archive_entry *e;
	int64_t total = 0;
	int ret = -1, r;

	snprintf(what, sizeof(what), "layer '%.19s'", digest ? digest : "");
	if (!path) {
		ah_invalid(err, "invalid digest '%s'", digest ? digest : "");
		goto done;
	}
	if (lr_open(lr, path, what, err) < 0)
		goto done;
	/* declared sizes count, as on unpack: a sparse member's holes too */
	while ((r = archive_read_next_header(lr->tar, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
		if (check_entry(e, what, err) < 0 || entry_budget(e, &total, lr->max, what, err) < 0)
			goto done;
	if (r != ARCHIVE_EOF) {
		lr_error(lr, what, err);
		goto done;
	}
	ret = lr_finish(lr, diff_id, what, err);
done:
	lr_close(lr);
	free(lr);
	free(path);
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
	if (read_all(fd, max, path, &buf, &len, err) < 0)
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

static int index_read(struct ah_image_store *s, json_t **idx, struct ah_err *err)
{
	char *path = xstrfmt("%s/index.json", s->dir);
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
		return ah_fatal(err, "'%s/index.json': no manifests array", s->dir);
	}
	return 0;
}

static const char *desc_name(json_t *desc)
{
	return json_string_value(json_object_get(json_object_get(desc, "annotations"), AH_REF_NAME));
}

static int by_ref_name(const void *a, const void *b)
{
	const char *x = desc_name(*(json_t *const *)a), *y = desc_name(*(json_t *const *)b);

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
	if ((lock = lock_index(s, err)) < 0 || index_read(s, &idx, err) < 0)
		goto done;
	m = json_object_get(idx, "manifests");
	for (i = 0; i < json_array_size(m);) {
		const char *n = desc_name(json_array_get(m, i));

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

static int blob_json(struct ah_image_store *s, const char *digest, json_t **out,
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

static int is_index_type(json_t *doc, const char *mt)
{
	if (!mt)
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

static int write_manifest(struct ah_image_store *s, const char *cdigest, int64_t csize,
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
		ret = write_manifest(s, cdigest, (int64_t)strlen(text), layers, nr, manifest_digest,
				     manifest_size, err);
	free(text);
done:
	json_decref(cfg);
	return ret;
}

int ah_image_verify_manifest(struct ah_image_store *s, json_t *manifest, struct ah_err *err)
{
	json_t *cfgdesc = json_object_get(manifest, "config"), *layers, *config = NULL, *ids, *l;
	const char *cdigest = json_string_value(json_object_get(cfgdesc, "digest"));
	size_t i;
	int ret = -1;

	layers = json_object_get(manifest, "layers");
	if (!ah_digest_valid(cdigest) || !json_is_array(layers)) {
		ah_invalid(err, "manifest: no config or layers (only sha256 digests are supported)");
		goto done;
	}
	if (blob_json(s, cdigest, &config, err) < 0)
		goto done;
	ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	if (json_array_size(ids) != json_array_size(layers)) {
		ah_invalid(err, "image config: %zu diff_ids for %zu layers", json_array_size(ids),
			   json_array_size(layers));
		goto done;
	}
	json_array_foreach(layers, i, l) {
		const char *d = json_string_value(json_object_get(l, "digest"));
		const char *want = json_string_value(json_array_get(ids, i));
		char diff_id[AH_DIGEST_MAX];

		if (!ah_layer_media_type(json_string_value(json_object_get(l, "mediaType")))) {
			ah_invalid(err, "layer '%s': unsupported media type '%s'", d ? d : "",
				   json_string_value(json_object_get(l, "mediaType")) ?: "");
			goto done;
		}
		if (ah_image_layer_verify(s, d, diff_id, err) < 0)
			goto done;
		if (!want || strcmp(want, diff_id)) {
			ah_error(err, 422, "digest_mismatch",
				 "layer '%s': uncompressed digest '%s' does not match the config's '%s'",
				 d, diff_id, want ? want : "");
			goto done;
		}
	}
	ret = 0;
done:
	json_decref(config);
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

static json_t *find_desc(json_t *idx, const char *name, const char *digest)
{
	json_t *d;
	size_t i;

	json_array_foreach(json_object_get(idx, "manifests"), i, d) {
		const char *n = desc_name(d), *g = json_string_value(json_object_get(d, "digest"));

		if (name && n && !strcmp(n, name))
			return d;
		if (digest && g && !strcmp(g, digest))
			return d;
	}
	return NULL;
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
	if (hold_store(s, err) < 0 || index_read(s, &idx, err) < 0)
		goto done;
	if (ah_digest_valid(ref)) {
		desc = find_desc(idx, NULL, ref);
		if (!desc && !ah_image_blob_exists(s, ref)) {
			ah_not_found(err, "image '%s' not found", ref);
			goto done;
		}
		snprintf(img->digest, sizeof(img->digest), "%s", ref);
	} else {
		if (!(cname = ah_image_canonical_name(ref, err)))
			goto done;
		desc = find_desc(idx, cname, NULL);
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
	if (blob_json(s, img->digest, &doc, err) < 0)
		goto done;
	if (is_index_type(doc, mt)) {
		json_t *pick = ah_image_pick_platform(doc, NULL, err);

		if (!pick)
			goto done;
		snprintf(img->digest, sizeof(img->digest), "%s",
			 json_string_value(json_object_get(pick, "digest")) ?: "");
		mt = json_string_value(json_object_get(pick, "mediaType"));
		json_t *inner;

		if (blob_json(s, img->digest, &inner, err) < 0)
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
	if (blob_json(s, d, &img->config, err) < 0)
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
	if (index_read(s, &idx, err) < 0) {
		json_decref(list);
		return -1;
	}
	json_array_foreach(json_object_get(idx, "manifests"), i, d) {
		const char *name = desc_name(d);
		struct ah_image img;
		struct ah_err e2 = AH_ERR_INIT;

		if (!name)
			continue;
		if (ah_image_load(s, name, &img, &e2) < 0) {
			json_array_append_new(list, json_pack("{s:s, s:s?, s:n, s:n, s:s}", "name", name,
					      "digest", json_string_value(json_object_get(d, "digest")),
					      "size", "created", "error", e2.msg));
			continue;
		}
		json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:O?}", "name", name,
				      "digest", img.digest, "size", (json_int_t)ah_image_size(&img),
				      "created", json_object_get(img.config, "created")));
		if (!json_object_get(json_array_get(list, json_array_size(list) - 1), "created"))
			json_object_set_new(json_array_get(list, json_array_size(list) - 1), "created",
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
	if (blob_json(s, digest, &doc, &e) < 0)
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

static int rm_rf_at(int dirfd, const char *name, int depth);

static int clear_dir_fd(int fd, int depth)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	int ret = 0;

	if (!d) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (rm_rf_at(dirfd(d), de->d_name, depth + 1) < 0)
			ret = -1;
	}
	closedir(d);
	return ret;
}

/* rm -rf name in dirfd, never following a symlink. */
static int rm_rf_at(int dirfd, const char *name, int depth)
{
	struct stat sb;
	int fd;

	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(sb.st_mode))
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
	if (depth > 4096)
		return -1;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (clear_dir_fd(fd, depth) < 0)
		return -1;
	return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -1 : 0;
}

static void rm_rf(const char *path)
{
	rm_rf_at(AT_FDCWD, path, 0);
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
	if (index_read(s, &idx, err) < 0)
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
			rm_rf_at(dirfd(dp), de->d_name, 0);
		}
		closedir(dp);
	}
	free(dir);
	dir = xstrfmt("%s/tmp", s->dir);
	if ((dp = opendir(dir))) {
		while ((de = readdir(dp)))
			if (!strncmp(de->d_name, "blob-", 5) || !strncmp(de->d_name, "import-", 7))
				rm_rf_at(dirfd(dp), de->d_name, 0);
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
	if ((lock = lock_index(s, err)) < 0 || index_read(s, &idx, err) < 0)
		goto done;
	m = json_object_get(idx, "manifests");
	for (i = 0; i < json_array_size(m);) {
		const char *n = desc_name(json_array_get(m, i));

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

/* ---- unpacking ---- */

/*
 * Opens the directory holding rel's last component under rootfd, never
 * through a symlink; *leaf points into rel. With make, the directories
 * missing on the way are made (0755); without, -1 with errno ENOENT when
 * one is missing (or is not a directory).
 */
static int open_parent(int rootfd, const char *rel, int make, const char **leaf)
{
	char comp[NAME_MAX + 1];
	const char *p = rel, *slash;
	int fd = dup(rootfd);

	while (fd >= 0 && (slash = strchr(p, '/'))) {
		size_t n = (size_t)(slash - p);
		int next;

		if (n > NAME_MAX) {
			close(fd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && make && mkdirat(fd, comp, 0755) == 0)
			next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (next < 0 && !make && (errno == ENOTDIR || errno == ELOOP))
			errno = ENOENT;
		fd = next;
		p = slash + 1;
	}
	*leaf = p;
	return fd;
}

/*
 * Calls fn(dirfd, leaf) for each whiteout of the layer at path, dirfd the
 * directory it is in under rootfd (made when make; when not, a whiteout
 * whose directory is missing has nothing to remove and is passed over).
 * fn returns -1 with errno set.
 */
static int each_whiteout(int rootfd, const char *path, int make,
			 int (*fn)(int dirfd, const char *leaf), const char *what,
			 struct ah_err *err)
{
	struct archive *in = reader_new();
	struct archive_entry *e;
	int ret = -1, r;

	if (archive_read_open_filename(in, path, 65536) != ARCHIVE_OK) {
		ah_invalid(err, "%s: %s", what, archive_error_string(in));
		goto done;
	}
	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *rel, *leaf, *base;
		int c = check_entry(e, what, err), fd;

		if (c < 0)
			goto done;
		if (c)
			continue;
		rel = archive_entry_pathname(e);
		base = strrchr(rel, '/');
		base = base ? base + 1 : rel;
		if (strncmp(base, ".wh.", 4))
			continue;
		fd = open_parent(rootfd, rel, make, &leaf);
		if (fd < 0) {
			if (!make && errno == ENOENT)
				continue;
			ah_internal(err, "%s: cannot open the directory of '%s': %s", what, rel,
				    strerror(errno));
			goto done;
		}
		c = fn(fd, leaf);
		close(fd);
		if (c < 0) {
			ah_internal(err, "%s: cannot apply whiteout '%s': %s", what, rel,
				    strerror(errno));
			goto done;
		}
	}
	if (r != ARCHIVE_EOF) {
		ah_invalid(err, "%s: %s", what, archive_error_string(in));
		goto done;
	}
	ret = 0;
done:
	archive_read_free(in);
	return ret;
}

/* A whiteout's name, ".wh." and a name that is not "." or "..". */
static int names_entry(const char *leaf)
{
	return leaf[4] && strcmp(leaf + 4, ".") && strcmp(leaf + 4, "..");
}

/* Pass 1: the layer's whiteouts remove what the layers below put in root. */
static int remove_whited_out(int dirfd, const char *leaf)
{
	if (!strcmp(leaf, ".wh..wh..opq")) {
		int dfd = dup(dirfd);

		return dfd < 0 ? -1 : clear_dir_fd(dfd, 0);
	}
	return names_entry(leaf) ? rm_rf_at(dirfd, leaf + 4, 0) : 0;
}

/*
 * Writes the members of in under root (a real path): names checked,
 * whiteouts skipped when skip_wh, never through a symlink, at most max
 * bytes in all.
 */
static int extract(struct archive *in, const char *root, int skip_wh, int64_t max,
		   const char *what, struct ah_err *err)
{
	struct archive *out = archive_write_disk_new();
	struct archive_entry *e;
	int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
		    ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_UNLINK;
	int64_t total = 0;
	char *rel = NULL;	/* the member's own name: e's is rewritten below */
	int ret = -1, r;

	if (geteuid() == 0)
		flags |= ARCHIVE_EXTRACT_OWNER;
	archive_write_disk_set_options(out, flags);
	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *base;
		char *full;
		const void *buf;
		size_t len;
		la_int64_t off;
		int c = check_entry(e, what, err);

		if (c < 0)
			goto done;
		if (c)
			continue;
		free(rel);
		rel = xstrdup(archive_entry_pathname(e));
		base = strrchr(rel, '/');
		base = base ? base + 1 : rel;
		if (skip_wh && !strncmp(base, ".wh.", 4))
			continue;
		if (entry_budget(e, &total, max, what, err) < 0)
			goto done;
		full = xstrfmt("%s/%s", root, rel);
		archive_entry_copy_pathname(e, full);
		free(full);
		if (archive_entry_hardlink(e)) {
			full = xstrfmt("%s/%s", root, archive_entry_hardlink(e));
			archive_entry_copy_hardlink(e, full);
			free(full);
		}
		r = archive_write_header(out, e);
		if (r < ARCHIVE_WARN) {
			ah_invalid(err, "%s: cannot write '%s': %s", what, rel, archive_error_string(out));
			goto done;
		}
		/* a sparse member's holes stay holes (offsets), its size counted above */
		while ((r = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK) {
			if (off < 0 || off > archive_entry_size(e) ||
			    (int64_t)len > archive_entry_size(e) - off) {
				ah_invalid(err, "%s: member '%s' has data past its size", what, rel);
				goto done;
			}
			if (archive_write_data_block(out, buf, len, off) < ARCHIVE_WARN) {
				ah_internal(err, "%s: cannot write '%s': %s", what, rel,
					    archive_error_string(out));
				goto done;
			}
		}
		if (r != ARCHIVE_EOF) {
			ah_invalid(err, "%s: %s", what, archive_error_string(in));
			goto done;
		}
		if (archive_write_finish_entry(out) < ARCHIVE_WARN) {
			ah_internal(err, "%s: cannot write '%s': %s", what, rel, archive_error_string(out));
			goto done;
		}
	}
	if (r != ARCHIVE_EOF) {
		ah_invalid(err, "%s: %s", what, archive_error_string(in));
		goto done;
	}
	if (archive_write_close(out) < ARCHIVE_WARN) {
		ah_internal(err, "%s: %s", what, archive_error_string(out));
		goto done;
	}
	ret = 0;
done:
	free(rel);
	archive_write_free(out);
	return ret;
}

static int dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int empty = 1;

	if (!d)
		return 1;
	while (empty && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

int ah_image_apply_layer(struct ah_image_store *s, const char *digest, const char *dest,
			 struct ah_err *err)
{
	char *path = ah_image_blob_path(s, digest), *root = NULL, what[100];
	struct archive *in = NULL;
	int rootfd = -1, ret = -1;

	snprintf(what, sizeof(what), "layer '%.19s'", digest ? digest : "");
	if (!path || !ah_image_blob_exists(s, digest)) {
		ah_not_found(err, "layer '%s' not found", digest ? digest : "");
		goto done;
	}
	if (!(root = realpath(dest, NULL))) {
		ah_invalid(err, "cannot use '%s': %s", dest, strerror(errno));
		goto done;
	}
	if (!dir_empty(root)) {
		rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0) {
			ah_invalid(err, "cannot open '%s': %s", root, strerror(errno));
			goto done;
		}
		if (each_whiteout(rootfd, path, 0, remove_whited_out, what, err) < 0)
			goto done;
	}
	in = reader_new();
	if (archive_read_open_filename(in, path, 65536) != ARCHIVE_OK) {
		ah_invalid(err, "%s: %s", what, archive_error_string(in));
		goto done;
	}
	ret = extract(in, root, 1, ah_image_max_layer(), what, err);
done:
	if (in)
		archive_read_free(in);
	if (rootfd >= 0)
		close(rootfd);
	free(root);
	free(path);
	return ret;
}

/* A layer's whiteouts as overlayfs writes them: a 0/0 device, an opaque directory. */
static int overlay_whiteout(int dirfd, const char *leaf)
{
	struct stat sb;
	int dfd, ok;

	if (!strcmp(leaf, ".wh..wh..opq"))
		return fsetxattr(dirfd, OVL_OPAQUE, "y", 1, 0);
	if (!names_entry(leaf))
		return 0;
	if (fstatat(dirfd, leaf + 4, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return mknodat(dirfd, leaf + 4, S_IFCHR | 0000, 0);
	/* this layer's own entry stays; a directory of it hides the one below */
	if (!S_ISDIR(sb.st_mode))
		return 0;
	dfd = openat(dirfd, leaf + 4, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	ok = fsetxattr(dfd, OVL_OPAQUE, "y", 1, 0);
	close(dfd);
	return ok;
}

int ah_image_layer_dir(struct ah_image_store *s, const char *digest, char **out,
		       struct ah_err *err)
{
	char *blob = ah_image_blob_path(s, digest), *top = xstrfmt("%s/unpacked", s->dir);
	char *path = NULL, *tmp = NULL, what[100];
	struct archive *in = NULL;
	struct stat sb;
	int rootfd = -1, lockfd = -1, ret = -1;

	*out = NULL;
	snprintf(what, sizeof(what), "layer '%.19s'", digest ? digest : "");
	/* gc waits while the directory is in use (this store is open) */
	if (hold_store(s, err) < 0)
		goto done;
	if (!blob || !ah_image_blob_exists(s, digest)) {
		ah_not_found(err, "layer '%s' not found", digest ? digest : "");
		goto done;
	}
	path = xstrfmt("%s/%s", top, digest + 7);
	if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		*out = path;
		path = NULL;
		ret = 0;
		goto done;
	}
	if (mkdir_one(top, err) < 0)
		goto done;
	tmp = xstrfmt("%s/.tmp-XXXXXX", top);
	if ((lockfd = ah_tmp_mkdir(tmp, err)) < 0) {
		free(tmp);
		tmp = NULL;
		goto done;
	}
	/* the root of a layer: readable as it is in the image, the state dir guards it */
	fchmod(lockfd, 0755);
	in = reader_new();
	if (archive_read_open_filename(in, blob, 65536) != ARCHIVE_OK) {
		ah_invalid(err, "%s: %s", what, archive_error_string(in));
		goto done;
	}
	if (extract(in, tmp, 1, ah_image_max_layer(), what, err) < 0)
		goto done;
	rootfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0 || each_whiteout(rootfd, blob, 1, overlay_whiteout, what, err) < 0) {
		if (rootfd < 0)
			ah_internal(err, "cannot open '%s': %s", tmp, strerror(errno));
		goto done;
	}
	/* another build may have made it meanwhile: theirs is as good */
	if (rename(tmp, path) < 0 && errno != EEXIST && errno != ENOTEMPTY) {
		ah_internal(err, "cannot rename '%s': %s", tmp, strerror(errno));
		goto done;
	}
	*out = path;
	path = NULL;
	ret = 0;
done:
	if (in)
		archive_read_free(in);
	if (rootfd >= 0)
		close(rootfd);
	if (tmp)
		rm_rf(tmp);
	if (lockfd >= 0)
		close(lockfd);
	free(tmp);
	free(path);
	free(top);
	free(blob);
	return ret;
}

static int mkdir_p(const char *path, struct ah_err *err)
{
	char *p = xstrdup(path), *s;
	int ret = 0;

	for (s = p + 1; ; s++) {
		char c;

		if (*s && *s != '/')
			continue;
		c = *s;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			ret = ah_invalid(err, "cannot create '%s': %s", p, strerror(errno));
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return ret;
}

int ah_image_unpack(struct ah_image_store *s, const struct ah_image *img, const char *dest,
		    struct ah_err *err)
{
	size_t i;

	if (mkdir_p(dest, err) < 0)
		return -1;
	for (i = 0; i < img->nr_layers; i++)
		if (ah_image_apply_layer(s, img->layers[i].digest, dest, err) < 0)
			return -1;
	return 0;
}

/* ---- import ---- */

/* dir/rel, refusing a name that leaves dir (also through symlinks). */
static char *inside(const char *dir, const char *rel, struct ah_err *err)
{
	char name[PATH_MAX], *joined, *real = NULL, *rdir = realpath(dir, NULL);
	size_t n;

	if (!rel || strlen(rel) >= sizeof(name) || !rdir) {
		ah_invalid(err, "'%s': bad path '%s'", dir, rel ? rel : "");
		goto done;
	}
	strcpy(name, rel);
	if (clean_member_name(name)) {
		ah_invalid(err, "'%s': path '%s' escapes it", dir, rel);
		goto done;
	}
	joined = xstrfmt("%s/%s", rdir, name);
	real = realpath(joined, NULL);
	free(joined);
	n = strlen(rdir);
	if (!real) {
		ah_invalid(err, "'%s': cannot find '%s': %s", dir, rel, strerror(errno));
	} else if (strncmp(real, rdir, n) || real[n] != '/') {
		ah_invalid(err, "'%s': path '%s' escapes it", dir, rel);
		free(real);
		real = NULL;
	}
done:
	free(rdir);
	return real;
}

/*
 * Where an image comes from: a directory, or an archive read without
 * unpacking it. An archive is read twice at most. The scan keeps its
 * small JSON members in memory (index.json, manifests, configs: what
 * says which blobs make the image) and only notes the others; then the
 * blobs the manifest reaches are streamed from a second read straight
 * into the store, hashed as they come. Sizes are checked from the
 * members' headers before their bytes are read, and a member that no
 * manifest names is never written anywhere.
 */
#define SRC_MAX_MEMBERS 100000
#define SRC_MAX_SMALL ((size_t)64 << 20)

struct src_member {
	char *buf;	/* a small JSON member, else NULL */
	size_t len;
	int dup;
};

struct src_want {
	char *name;
	char expect[AH_DIGEST_MAX];
	int64_t max;
	char *digest;	/* where the digest goes, or NULL */
	int64_t *size;
	int done;
};

struct import_src {
	struct ah_image_store *s;
	const char *path;
	int is_dir;
	json_t *names;		/* archive member name -> index into members */
	struct src_member *members;
	size_t nr_members, small_bytes;
	int overflow;
	struct src_want *want;
	size_t nr_want;
};

static void src_free(struct import_src *src)
{
	size_t i;

	for (i = 0; i < src->nr_members; i++)
		free(src->members[i].buf);
	free(src->members);
	for (i = 0; i < src->nr_want; i++)
		free(src->want[i].name);
	free(src->want);
	json_decref(src->names);
}

static int looks_like_json(const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
		i++;
	return i < len && (buf[i] == '{' || buf[i] == '[');
}

/* The first read: classifies the archive (1 OCI layout, 2 docker save, 0 a root file system). */
static int src_scan(struct import_src *src, struct ah_err *err)
{
	struct archive *in = reader_new();
	struct archive_entry *e;
	int64_t total = 0, max = ah_image_max_layer();
	int layout = 0, index = 0, manifest = 0, r, ret = -1;
	char *buf = NULL, *what = xstrfmt("'%s'", src->path);

	src->names = json_object();
	if (archive_read_open_filename(in, src->path, 65536) != ARCHIVE_OK) {
		ah_invalid(err, "'%s': %s", src->path, archive_error_string(in));
		goto done;
	}
	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		int c = check_entry(e, what, err);
		const char *name;
		int64_t size;
		json_t *seen;
		la_ssize_t n;
		size_t got;

		if (c < 0)
			goto done;
		/* only regular files: a symlink or hard link is never followed */
		if (c || archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
			continue;
		if (entry_budget(e, &(int64_t){ 0 }, max, what, err) < 0 ||
		    entry_budget(e, &total, 4 * max, what, err) < 0)
			goto done;
		name = archive_entry_pathname(e);
		if (!strcmp(name, "oci-layout"))
			layout = 1;
		else if (!strcmp(name, "index.json"))
			index = 1;
		else if (!strcmp(name, "manifest.json"))
			manifest = 1;
		if ((seen = json_object_get(src->names, name))) {
			src->members[json_integer_value(seen)].dup = 1;
			continue;
		}
		if (src->nr_members >= SRC_MAX_MEMBERS) {
			src->overflow = 1;
			continue;
		}
		src->members = xrealloc(src->members, (src->nr_members + 1) * sizeof(*src->members));
		memset(&src->members[src->nr_members], 0, sizeof(*src->members));
		json_object_set_new(src->names, name, json_integer((json_int_t)src->nr_members));
		size = archive_entry_size(e);
		if (size > 0 && (size_t)size <= AH_IMAGE_MAX_JSON &&
		    src->small_bytes + (size_t)size <= SRC_MAX_SMALL) {
			buf = xmalloc((size_t)size + 1);
			for (got = 0; got < (size_t)size; got += (size_t)n) {
				n = archive_read_data(in, buf + got, (size_t)size - got);
				if (n < 0) {
					ah_invalid(err, "'%s': %s", src->path,
						   archive_error_string(in));
					goto done;
				}
				if (!n)
					break;
			}
			n = (la_ssize_t)got;
			if (looks_like_json(buf, (size_t)n)) {
				buf[n] = '\0';
				src->members[src->nr_members].buf = buf;
				src->members[src->nr_members].len = (size_t)n;
				src->small_bytes += (size_t)n;
				buf = NULL;
			}
			free(buf);
			buf = NULL;
		}
		src->nr_members++;
	}
	if (r != ARCHIVE_EOF) {
		ah_invalid(err, "'%s': %s", src->path, archive_error_string(in));
		goto done;
	}
	ret = layout && index ? 1 : manifest ? 2 : 0;
	if (ret && src->overflow)
		ret = ah_invalid(err, "'%s': more than %d files", src->path, SRC_MAX_MEMBERS);
done:
	free(what);
	free(buf);
	archive_read_free(in);
	return ret;
}

/* An archive member's record; NULL with err set if there is none or more than one. */
static struct src_member *src_member(struct import_src *src, const char *rel, char *name,
				     struct ah_err *err)
{
	json_t *i;

	if (!rel || strlen(rel) >= PATH_MAX || (strcpy(name, rel), clean_member_name(name))) {
		ah_invalid(err, "'%s': bad path '%s'", src->path, rel ? rel : "");
		return NULL;
	}
	if (!(i = json_object_get(src->names, name))) {
		ah_invalid(err, "'%s': no file '%s'", src->path, rel);
		return NULL;
	}
	if (src->members[json_integer_value(i)].dup) {
		ah_invalid(err, "'%s': '%s' appears more than once", src->path, rel);
		return NULL;
	}
	return &src->members[json_integer_value(i)];
}

static int parse_json(const char *buf, size_t len, const char *what, const char *rel,
		      json_t **out, struct ah_err *err)
{
	json_error_t jerr;
	char why[AH_JSON_WHY_MAX];

	*out = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (json_is_object(*out) || json_is_array(*out))
		return 0;
	if (*out)
		snprintf(why, sizeof(why), "not an object or array");
	else
		ah_json_why(&jerr, why, sizeof(why));
	json_decref(*out);
	*out = NULL;
	return ah_invalid(err, "'%s': '%s' is not valid JSON: %s", what, rel, why);
}

/* A JSON file of the image (index.json, manifest.json...): 1 if there is none. */
static int src_json(struct import_src *src, const char *rel, json_t **out, struct ah_err *err)
{
	char name[PATH_MAX], *p = NULL, *buf = NULL;
	struct src_member *m;
	size_t len;
	int fd = -1, ret = -1;

	*out = NULL;
	if (!src->is_dir) {
		if (!json_object_get(src->names, rel))
			return 1;
		if (!(m = src_member(src, rel, name, err)))
			return -1;
		if (!m->buf)
			return ah_invalid(err, "'%s': '%s' is not a JSON document of at most %u bytes",
					  src->path, rel, AH_IMAGE_MAX_JSON);
		return parse_json(m->buf, m->len, src->path, rel, out, err);
	}
	p = xstrfmt("%s/%s", src->path, rel);
	if (access(p, F_OK) < 0 && errno == ENOENT) {
		free(p);
		return 1;
	}
	free(p);
	/* never through a symlink out of the layout */
	if (!(p = inside(src->path, rel, err)))
		goto done;
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ah_invalid(err, "cannot open '%s': %s", p, strerror(errno));
		goto done;
	}
	if (read_all(fd, AH_IMAGE_MAX_JSON, p, &buf, &len, err) < 0)
		goto done;
	ret = parse_json(buf, len, src->path, rel, out, err);
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(p);
	return ret;
}

static int put_mem(struct ah_image_store *s, const char *buf, size_t len, const char *expect,
		   int64_t max, char *digest, int64_t *size, struct ah_err *err)
{
	struct ah_blob_writer *w;

	if (ah_blob_writer_open(s, &w, max, err) < 0)
		return -1;
	if (ah_blob_writer_write(w, buf, len, err) < 0) {
		ah_blob_writer_abort(w);
		return -1;
	}
	return ah_blob_writer_commit(w, expect, digest, size, err);
}

/*
 * Puts the image's file rel into the store (its digest checked against
 * expect if given, into digest and size if asked). A small JSON member of
 * an archive goes in at once; a big one when src_flush() reads the
 * archive again, unless now is set (the caller reads it next).
 */
static int src_blob(struct import_src *src, const char *rel, const char *expect, int64_t max,
		    char *digest, int64_t *size, int now, struct ah_err *err)
{
	char name[PATH_MAX], *p;
	struct src_member *m;
	struct src_want *w;
	int ret;

	if (expect && !ah_digest_valid(expect))
		return ah_invalid(err, "'%s': invalid digest '%s' (only sha256 is supported)",
				  src->path, expect);
	if (src->is_dir) {
		if (!(p = inside(src->path, rel, err)))
			return -1;
		ret = ah_image_blob_put_file(src->s, p, expect, max, digest, size, err);
		free(p);
		return ret;
	}
	if (!(m = src_member(src, rel, name, err)))
		return -1;
	if (m->buf)
		return put_mem(src->s, m->buf, m->len, expect, max, digest, size, err);
	if (now)
		return ah_invalid(err, "'%s': '%s' is not a JSON document of at most %u bytes",
				  src->path, rel, AH_IMAGE_MAX_JSON);
	if (src->nr_want >= SRC_MAX_MEMBERS)
		return ah_invalid(err, "'%s': more than %d blobs", src->path, SRC_MAX_MEMBERS);
	src->want = xrealloc(src->want, (src->nr_want + 1) * sizeof(*src->want));
	w = &src->want[src->nr_want++];
	memset(w, 0, sizeof(*w));
	w->name = xstrdup(name);
	snprintf(w->expect, sizeof(w->expect), "%s", expect ? expect : "");
	w->max = max;
	w->digest = digest;
	w->size = size;
	return 0;
}

/* Streams one member into the store for every want that names it. */
struct blob_out {
	struct ah_blob_writer *w;
	struct ah_err *err;
};

static int blob_out(void *ud, const void *buf, size_t len)
{
	struct blob_out *bo = ud;

	return ah_blob_writer_write(bo->w, buf, len, bo->err);
}

static int flush_member(struct import_src *src, struct archive *in, struct archive_entry *e,
			struct ah_err *err)
{
	const char *name = archive_entry_pathname(e);
	struct ah_blob_writer *bw = NULL;
	struct src_want *first = NULL;
	struct blob_out bo;
	char got[AH_DIGEST_MAX];
	int64_t size = 0;
	size_t i;
	int ret = -1;

	for (i = 0; i < src->nr_want && !first; i++)
		if (!src->want[i].done && !strcmp(src->want[i].name, name))
			first = &src->want[i];
	if (!first)
		return 0;
	if (ah_blob_writer_open(src->s, &bw, first->max, err) < 0)
		goto done;
	bo.w = bw;
	bo.err = err;
	/* a blob is a plain file: a sparse member's holes are read as zeros */
	if (copy_filled(in, e, blob_out, &bo, src->path, err) < 0)
		goto done;
	ret = ah_blob_writer_commit(bw, first->expect[0] ? first->expect : NULL, got, &size, err);
	bw = NULL;
	if (ret < 0)
		goto done;
	for (i = 0; i < src->nr_want; i++) {
		struct src_want *w = &src->want[i];

		if (w->done || strcmp(w->name, name))
			continue;
		if (w->expect[0] && strcmp(w->expect, got)) {
			ret = ah_error(err, 422, "digest_mismatch", "blob '%s': content has digest '%s'",
				       w->expect, got);
			goto done;
		}
		if (size > w->max) {
			ret = ah_error(err, 413, "too_large", "'%s': '%s' is larger than %lld bytes",
				       src->path, name, (long long)w->max);
			goto done;
		}
		if (w->digest)
			memcpy(w->digest, got, AH_DIGEST_MAX);
		if (w->size)
			*w->size = size;
		w->done = 1;
	}
done:
	ah_blob_writer_abort(bw);
	return ret;
}

/* The second read: the big blobs src_blob() put off. */
static int src_flush(struct import_src *src, struct ah_err *err)
{
	struct archive *in;
	struct archive_entry *e;
	size_t i, left = 0;
	int r, ret = -1;

	for (i = 0; i < src->nr_want; i++)
		if (!src->want[i].done && src->want[i].expect[0] &&
		    ah_image_blob_exists(src->s, src->want[i].expect)) {
			if (src->want[i].size) {
				struct stat sb;
				char *p = ah_image_blob_path(src->s, src->want[i].expect);

				*src->want[i].size = stat(p, &sb) == 0 ? sb.st_size : 0;
				free(p);
			}
			if (src->want[i].digest)
				memcpy(src->want[i].digest, src->want[i].expect, AH_DIGEST_MAX);
			src->want[i].done = 1;
		} else if (!src->want[i].done) {
			left++;
		}
	if (!left)
		return 0;
	in = reader_new();
	if (archive_read_open_filename(in, src->path, 65536) != ARCHIVE_OK) {
		ah_invalid(err, "'%s': %s", src->path, archive_error_string(in));
		goto done;
	}
	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		int c = check_entry(e, src->path, err);

		if (c < 0)
			goto done;
		if (c || archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
			continue;
		if (flush_member(src, in, e, err) < 0)
			goto done;
	}
	if (r != ARCHIVE_EOF) {
		ah_invalid(err, "'%s': %s", src->path, archive_error_string(in));
		goto done;
	}
	for (i = 0; i < src->nr_want; i++)
		if (!src->want[i].done) {
			ah_invalid(err, "'%s': no file '%s'", src->path, src->want[i].name);
			goto done;
		}
	ret = 0;
done:
	archive_read_free(in);
	return ret;
}

static char *blob_rel(const char *digest)
{
	return xstrfmt("blobs/sha256/%s", ah_digest_valid(digest) ? digest + 7 : "");
}

static int import_oci(struct import_src *src, char mdigest[AH_DIGEST_MAX], int64_t *msize,
		      char **mtype, struct ah_err *err)
{
	json_t *layout = NULL, *idx = NULL, *desc, *doc = NULL, *l;
	const char *mt, *d;
	char *rel = NULL;
	int ret = -1, hops;
	size_t i;

	if (src_json(src, "oci-layout", &layout, err) != 0 ||
	    !json_is_string(json_object_get(layout, "imageLayoutVersion"))) {
		if (!err->msg[0])
			ah_invalid(err, "'%s': not an OCI image layout", src->path);
		goto done;
	}
	if (src_json(src, "index.json", &idx, err) != 0) {
		if (!err->msg[0])
			ah_invalid(err, "'%s': no index.json", src->path);
		goto done;
	}
	desc = idx;
	for (hops = 0; ; hops++) {
		json_t *m = json_object_get(desc == idx ? idx : doc, "manifests");

		if (hops > 2) {
			ah_invalid(err, "'%s': indexes nested too deep", src->path);
			goto done;
		}
		desc = json_array_size(m) == 1 ? json_array_get(m, 0)
					       : ah_image_pick_platform(desc == idx ? idx : doc, NULL, err);
		if (!desc)
			goto done;
		desc = json_deep_copy(desc);
		d = json_string_value(json_object_get(desc, "digest"));
		mt = json_string_value(json_object_get(desc, "mediaType"));
		json_decref(doc);
		doc = NULL;
		free(rel);
		rel = blob_rel(d);
		if (src_blob(src, rel, d ? d : "", AH_IMAGE_MAX_JSON, NULL, msize, 1, err) < 0 ||
		    blob_json(src->s, d, &doc, err) < 0) {
			json_decref(desc);
			goto done;
		}
		snprintf(mdigest, AH_DIGEST_MAX, "%s", d);
		*mtype = xstrdup(mt ? mt : json_string_value(json_object_get(doc, "mediaType"))
				 ?: AH_MT_OCI_MANIFEST);
		json_decref(desc);
		if (!is_index_type(doc, NULL))
			break;
		free(*mtype);
		*mtype = NULL;
		desc = NULL;
	}
	d = json_string_value(json_object_get(json_object_get(doc, "config"), "digest"));
	free(rel);
	rel = blob_rel(d);
	if (src_blob(src, rel, d ? d : "", AH_IMAGE_MAX_JSON, NULL, NULL, 0, err) < 0)
		goto done;
	json_array_foreach(json_object_get(doc, "layers"), i, l) {
		d = json_string_value(json_object_get(l, "digest"));
		free(rel);
		rel = blob_rel(d);
		if (src_blob(src, rel, d ? d : "", ah_image_max_layer(), NULL, NULL, 0, err) < 0)
			goto done;
	}
	if (src_flush(src, err) < 0)
		goto done;
	ret = ah_image_verify_manifest(src->s, doc, err);
done:
	if (ret < 0) {
		free(*mtype);
		*mtype = NULL;
	}
	free(rel);
	json_decref(layout);
	json_decref(idx);
	json_decref(doc);
	return ret;
}

static const char *sniff_layer(struct ah_image_store *s, const char *digest)
{
	unsigned char b[4] = { 0 };
	char *path = ah_image_blob_path(s, digest);
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	ssize_t n = fd >= 0 ? read(fd, b, 4) : -1;

	if (fd >= 0)
		close(fd);
	free(path);
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return AH_MT_OCI_LAYER_GZIP;
	if (n == 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
		return "application/vnd.oci.image.layer.v1.tar+zstd";
	return AH_MT_OCI_LAYER;
}

static int import_docker(struct import_src *src, char mdigest[AH_DIGEST_MAX], int64_t *msize,
			 char **mtype, struct ah_err *err)
{
	json_t *list = NULL, *m, *ls, *l, *config = NULL, *ids;
	char cdigest[AH_DIGEST_MAX];
	struct ah_layer *layers = NULL;
	int64_t csize;
	size_t i;
	int ret = -1;

	if (src_json(src, "manifest.json", &list, err) != 0 || !json_is_array(list) ||
	    !json_is_object(m = json_array_get(list, 0))) {
		if (!err->msg[0])
			ah_invalid(err, "'%s': manifest.json is not a docker save manifest",
				   src->path);
		goto done;
	}
	if (src_blob(src, json_string_value(json_object_get(m, "Config")), NULL,
		     AH_IMAGE_MAX_JSON, cdigest, &csize, 1, err) < 0 ||
	    blob_json(src->s, cdigest, &config, err) < 0)
		goto done;
	ls = json_object_get(m, "Layers");
	ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	if (!json_is_array(ls) || json_array_size(ls) != json_array_size(ids)) {
		ah_invalid(err, "'%s': %zu layers for %zu diff_ids in the config", src->path,
			   json_array_size(ls), json_array_size(ids));
		goto done;
	}
	layers = xcalloc(json_array_size(ls) + 1, sizeof(*layers));
	json_array_foreach(ls, i, l)
		if (src_blob(src, json_string_value(l), NULL, ah_image_max_layer(),
			     layers[i].digest, &layers[i].size, 0, err) < 0)
			goto done;
	if (src_flush(src, err) < 0)
		goto done;
	json_array_foreach(ls, i, l) {
		layers[i].media_type = sniff_layer(src->s, layers[i].digest);
		snprintf(layers[i].diff_id, AH_DIGEST_MAX, "%s",
			 json_string_value(json_array_get(ids, i)) ?: "");
	}
	if (write_manifest(src->s, cdigest, csize, layers, json_array_size(ls), mdigest, msize,
			   err) < 0)
		goto done;
	json_decref(list);
	list = NULL;
	if (blob_json(src->s, mdigest, &list, err) < 0 ||
	    ah_image_verify_manifest(src->s, list, err) < 0)
		goto done;
	*mtype = xstrdup(AH_MT_OCI_MANIFEST);
	ret = 0;
done:
	json_decref(list);
	json_decref(config);
	free(layers);
	return ret;
}

static json_t *default_config(json_t *overrides)
{
	char created[AH_ISO_LEN];
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	json_t *cfg, *c;

	if (sde && *sde)
		ah_iso_time(created, fixed_mtime() * 1000);
	else
		ah_now_iso(created);
	c = json_pack("{s:[s]}", "Env",
		      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	if (json_is_object(overrides))
		json_object_update(c, overrides);
	cfg = json_pack("{s:s, s:s, s:s, s:o, s:{s:s, s:[]}, s:[{s:s, s:s}]}",
			"created", created, "architecture", ah_image_host_arch(), "os", "linux",
			"config", c, "rootfs", "type", "layers", "diff_ids",
			"history", "created", created, "created_by", "apphub image import");
	return cfg;
}

int ah_image_import(struct ah_image_store *s, const char *path, const char *name,
		    json_t *config, const char **format, struct ah_image *img, struct ah_err *err)
{
	char *cname = ah_image_canonical_name(name, err), *probe = NULL;
	char mdigest[AH_DIGEST_MAX], *mtype = NULL;
	const char *fmt = NULL;
	struct import_src src;
	struct ah_layer layer;
	json_t *cfg = NULL;
	int64_t msize = 0;
	struct stat sb;
	int kind, fd = -1, ret = -1;

	memset(&src, 0, sizeof(src));
	src.s = s;
	src.path = path;
	if (!cname)
		goto done;
	if (hold_store(s, err) < 0)
		goto done;
	if (stat(path, &sb) < 0) {
		ah_not_found(err, "cannot import '%s': %s", path, strerror(errno));
		goto done;
	}
	if (S_ISDIR(sb.st_mode)) {
		src.is_dir = 1;
		probe = xstrfmt("%s/oci-layout", path);
		kind = access(probe, F_OK) == 0 ? 1 : 3;
		free(probe);
		probe = xstrfmt("%s/manifest.json", path);
		if (kind == 3 && access(probe, F_OK) == 0)
			kind = 2;
	} else if ((kind = src_scan(&src, err)) < 0) {
		goto done;
	}
	switch (kind) {
	case 1:
		fmt = "oci";
		if (import_oci(&src, mdigest, &msize, &mtype, err) < 0)
			goto done;
		break;
	case 2:
		fmt = "docker";
		if (import_docker(&src, mdigest, &msize, &mtype, err) < 0)
			goto done;
		break;
	default:
		src_free(&src);
		memset(&src, 0, sizeof(src));
		cfg = default_config(config);
		if (kind == 3) {
			fmt = "dir";
			if (ah_image_layer_from_dir(s, path, NULL, &layer, err) < 0)
				goto done;
		} else {
			fmt = "rootfs";
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				ah_invalid(err, "cannot open '%s': %s", path, strerror(errno));
				goto done;
			}
			if (ah_image_layer_from_tar(s, fd, path, &layer, err) < 0)
				goto done;
		}
		if (ah_image_commit(s, cfg, &layer, 1, mdigest, &msize, err) < 0)
			goto done;
		mtype = xstrdup(AH_MT_OCI_MANIFEST);
	}
	if (ah_image_tag(s, cname, mdigest, msize, mtype, err) < 0)
		goto done;
	if (img && ah_image_load(s, cname, img, err) < 0)
		goto done;
	if (format)
		*format = fmt;
	ret = 0;
done:
	src_free(&src);
	if (fd >= 0)
		close(fd);
	free(probe);
	free(mtype);
	free(cname);
	json_decref(cfg);
	return ret;
}

/* ---- export: an OCI archive ---- */

static int tar_add(struct archive *a, const char *name, mode_t type, const char *data,
		   size_t len, const char *file, int64_t mtime, struct ah_err *err)
{
	struct archive_entry *e = archive_entry_new();
	char *buf = NULL;
	int fd = -1, ret = -1;

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_mtime(e, mtime, 0);
	if (file) {
		struct stat sb;

		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &sb) < 0) {
			ah_internal(err, "cannot open '%s': %s", file, strerror(errno));
			goto done;
		}
		archive_entry_set_size(e, sb.st_size);
	} else if (type == AE_IFREG) {
		archive_entry_set_size(e, (la_int64_t)len);
	}
	if (archive_write_header(a, e) < ARCHIVE_WARN)
		goto fail;
	if (file) {
		ssize_t n;

		buf = xmalloc(COPY_BUF);
		while ((n = read(fd, buf, COPY_BUF)) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				ah_internal(err, "cannot read '%s': %s", file, strerror(errno));
				goto done;
			}
			if (archive_write_data(a, buf, (size_t)n) < 0)
				goto fail;
		}
	} else if (len && archive_write_data(a, data, len) < 0) {
		goto fail;
	}
	ret = 0;
	goto done;
fail:
	ah_internal(err, "cannot write the archive: %s", archive_error_string(a));
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	archive_entry_free(e);
	return ret;
}

static int export_blob(struct ah_image_store *s, struct archive *a, const char *digest,
		       json_t *done_set, int64_t mtime, struct ah_err *err)
{
	char *path, *name;
	int ret;

	if (json_object_get(done_set, digest))
		return 0;
	json_object_set_new(done_set, digest, json_true());
	path = ah_image_blob_path(s, digest);
	if (!path)
		return ah_invalid(err, "invalid digest '%s'", digest);
	name = xstrfmt("blobs/sha256/%s", digest + 7);
	ret = tar_add(a, name, AE_IFREG, NULL, 0, path, mtime, err);
	free(name);
	free(path);
	return ret;
}

int ah_image_export(struct ah_image_store *s, const struct ah_image *img, int fd,
		    struct ah_err *err)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	struct archive *a = archive_write_new();
	json_t *idx, *done_set = json_object();
	int64_t mtime = fixed_mtime();
	char *text;
	size_t i;
	int ret = -1;

	idx = json_pack("{s:i, s:s, s:[{s:s, s:s, s:I}]}", "schemaVersion", 2, "mediaType",
			AH_MT_OCI_INDEX, "manifests", "mediaType", img->media_type, "digest",
			img->digest, "size", (json_int_t)img->manifest_size);
	if (img->name)
		json_object_set_new(json_array_get(json_object_get(idx, "manifests"), 0),
				    "annotations", json_pack("{s:s}", AH_REF_NAME, img->name));
	text = json_dumps(idx, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(a) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		ah_internal(err, "cannot write the archive: %s", archive_error_string(a));
		goto done;
	}
	if (tar_add(a, "oci-layout", AE_IFREG, layout, sizeof(layout) - 1, NULL, mtime, err) < 0 ||
	    tar_add(a, "index.json", AE_IFREG, text, strlen(text), NULL, mtime, err) < 0 ||
	    tar_add(a, "blobs/", AE_IFDIR, NULL, 0, NULL, mtime, err) < 0 ||
	    tar_add(a, "blobs/sha256/", AE_IFDIR, NULL, 0, NULL, mtime, err) < 0 ||
	    export_blob(s, a, img->digest, done_set, mtime, err) < 0 ||
	    export_blob(s, a, img->config_digest, done_set, mtime, err) < 0)
		goto done;
	for (i = 0; i < img->nr_layers; i++)
		if (export_blob(s, a, img->layers[i].digest, done_set, mtime, err) < 0)
			goto done;
	if (archive_write_close(a) != ARCHIVE_OK) {
		ah_internal(err, "cannot write the archive: %s", archive_error_string(a));
		goto done;
	}
	ret = 0;
done:
	archive_write_free(a);
	json_decref(idx);
	json_decref(done_set);
	free(text);
	return ret;
}

/* ---- operations ---- */

static int open_store(struct ah_ctx *ctx, struct ah_image_store **s, struct ah_err *err)
{
	struct ah_state *st;

	if (ah_ctx_state(ctx, &st, err) < 0)
		return -1;
	return ah_image_store_open(s, st->dir, err);
}

static int op_image_ls(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_image_store *s;
	json_t *list;
	int ret = -1;

	(void)params;
	if (open_store(ctx, &s, err) < 0)
		return -1;
	if (ah_image_list(s, &list, err) == 0) {
		*out = json_pack("{s:o}", "data", list);
		ret = 0;
	}
	ah_image_store_close(s);
	return ret;
}

static json_t *image_json(const struct ah_image *img)
{
	return json_pack("{s:s?, s:s, s:s, s:I, s:O?, s:O, s:O}", "name", img->name, "digest",
			 img->digest, "mediaType", img->media_type, "size",
			 (json_int_t)ah_image_size(img), "created",
			 json_object_get(img->config, "created"), "manifest", img->manifest,
			 "config", img->config);
}

static int op_image_inspect(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_image_store *s = NULL;
	struct ah_image img;
	const char *name;
	int ret = -1;

	memset(&img, 0, sizeof(img));
	if (ah_param_str(params, "name", &name, err) < 0)
		return -1;
	if (!name)
		return ah_invalid(err, "name: required");
	if (open_store(ctx, &s, err) < 0 || ah_image_load(s, name, &img, err) < 0)
		goto done;
	*out = image_json(&img);
	ret = 0;
done:
	ah_image_release(&img);
	ah_image_store_close(s);
	return ret;
}

static int op_image_rm(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_image_store *s = NULL;
	const char *name;
	int ret = -1;

	if (ah_param_str(params, "name", &name, err) < 0)
		return -1;
	if (!name)
		return ah_invalid(err, "name: required");
	if (open_store(ctx, &s, err) < 0 || ah_image_remove(s, name, err) < 0)
		goto done;
	*out = json_pack("{s:s}", "removed", name);
	ret = 0;
done:
	ah_image_store_close(s);
	return ret;
}

static int op_image_import(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_image_store *s = NULL;
	struct ah_image img;
	const char *file, *name, *format = NULL;
	json_t *config = json_object_get(params, "config");
	int ret = -1;

	memset(&img, 0, sizeof(img));
	if (ah_param_str(params, "file", &file, err) < 0 || ah_param_str(params, "name", &name, err) < 0)
		return -1;
	if (!file || !name)
		return ah_invalid(err, "%s: required", file ? "name" : "file");
	if (config && !json_is_object(config))
		return ah_invalid(err, "config: must be a JSON object");
	if (open_store(ctx, &s, err) < 0 ||
	    ah_image_import(s, file, name, config, &format, &img, err) < 0)
		goto done;
	*out = json_pack("{s:s, s:s, s:s, s:I}", "name", img.name, "digest", img.digest,
			 "format", format, "size", (json_int_t)ah_image_size(&img));
	ret = 0;
done:
	ah_image_release(&img);
	ah_image_store_close(s);
	return ret;
}

static int op_image_export(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_image_store *s = NULL;
	struct ah_image img;
	const char *file, *name;
	char *tmp = NULL;
	int fd = -1, ret = -1;

	memset(&img, 0, sizeof(img));
	if (ah_param_str(params, "file", &file, err) < 0 || ah_param_str(params, "name", &name, err) < 0)
		return -1;
	if (!file || !name)
		return ah_invalid(err, "%s: required", file ? "name" : "file");
	if (open_store(ctx, &s, err) < 0 || ah_image_load(s, name, &img, err) < 0)
		goto done;
	tmp = xstrfmt("%s.tmp-XXXXXX", file);
	fd = mkstemp(tmp);
	if (fd < 0) {
		ah_invalid(err, "cannot create '%s': %s", file, strerror(errno));
		goto done;
	}
	if (ah_image_export(s, &img, fd, err) < 0)
		goto done;
	if (fchmod(fd, 0644) < 0 || close(fd) < 0) {
		fd = -1;
		ah_internal(err, "cannot write '%s': %s", file, strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp, file) < 0) {
		ah_invalid(err, "cannot write '%s': %s", file, strerror(errno));
		goto done;
	}
	*out = json_pack("{s:s?, s:s, s:s}", "name", img.name, "digest", img.digest, "file", file);
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	if (ret < 0 && tmp)
		unlink(tmp);
	free(tmp);
	ah_image_release(&img);
	ah_image_store_close(s);
	return ret;
}

static int op_image_unpack(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_image_store *s = NULL;
	struct ah_image img;
	const char *dir, *name;
	int ret = -1;

	memset(&img, 0, sizeof(img));
	if (ah_param_str(params, "dir", &dir, err) < 0 || ah_param_str(params, "name", &name, err) < 0)
		return -1;
	if (!dir || !name)
		return ah_invalid(err, "%s: required", dir ? "name" : "dir");
	if (!dir_empty(dir)) {
		ah_conflict(err, "cannot unpack into '%s': not empty", dir);
		goto done;
	}
	if (open_store(ctx, &s, err) < 0 || ah_image_load(s, name, &img, err) < 0 ||
	    ah_image_unpack(s, &img, dir, err) < 0)
		goto done;
	/* an image given by digest has no name: null */
	*out = json_pack("{s:s?, s:s, s:s, s:I}", "name", img.name, "digest", img.digest, "dir", dir,
			 "layers", (json_int_t)img.nr_layers);
	ret = 0;
done:
	ah_image_release(&img);
	ah_image_store_close(s);
	return ret;
}

const struct ah_op ops_image[] = {
	{ .name = "image.export", .method = "POST", .path = "/images/:name/export", .scope = SCOPE_APPS_WRITE, .fn = op_image_export,
	  .summary = "Write an image as an OCI archive" },
	{ .name = "image.import", .method = "POST", .path = "/images/import", .scope = SCOPE_APPS_WRITE, .fn = op_image_import,
	  .summary = "Import a rootfs tarball, docker save output or an OCI layout" },
	{ .name = "image.inspect", .method = "GET", .path = "/images/:name", .scope = SCOPE_NONE, .fn = op_image_inspect,
	  .summary = "An image's manifest and config" },
	{ .name = "image.ls", .method = "GET", .path = "/images", .scope = SCOPE_NONE, .fn = op_image_ls,
	  .summary = "The images in the store" },
	{ .name = "image.pull", .method = "POST", .path = "/images/pull", .scope = SCOPE_APPS_WRITE, .fn = op_image_pull,
	  .summary = "Pull an image from a registry" },
	{ .name = "image.push", .method = "POST", .path = "/images/:name/push", .scope = SCOPE_APPS_WRITE, .fn = op_image_push,
	  .summary = "Push an image to a registry" },
	{ .name = "image.rm", .method = "DELETE", .path = "/images/:name", .scope = SCOPE_APPS_WRITE, .fn = op_image_rm,
	  .summary = "Remove an image name, and blobs nothing uses" },
	{ .name = "image.unpack", .method = "POST", .path = "/images/:name/unpack", .scope = SCOPE_APPS_WRITE, .fn = op_image_unpack,
	  .summary = "Write an image's root file system into a directory" },
	{ NULL },
};
