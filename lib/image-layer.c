/*
 * Layers: tar members checked, layers written from a directory or an
 * overlay upper directory, read back and verified, and applied
 * (whiteouts included) to unpack an image.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include "env.h"
#include "fsutil.h"
#include "image.h"
#include "image-internal.h"
#include "strbuf.h"
#include "timeutil.h"
#include "tmpdir.h"

/* ---- archive members ---- */

/*
 * Cleans an archive member name in place ("./a//b" -> "a/b"). Returns 0,
 * 1 for the archive's root ("./"), or -1 for an absolute name or one with
 * a ".." component.
 */
int image_clean_member_name(char *name)
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
int image_check_entry(struct archive_entry *e, const char *what, struct ah_err *err)
{
	const char *p = archive_entry_pathname(e), *l = archive_entry_hardlink(e);
	char name[PATH_MAX];
	int r;

	if (!p || strlen(p) >= sizeof(name))
		return ah_invalid(err, "%s: a member has no name or too long a name", what);
	strcpy(name, p);
	r = image_clean_member_name(name);
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
		if (image_clean_member_name(name))
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
int image_entry_budget(struct archive_entry *e, int64_t *total, int64_t max, const char *what,
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
 * image_entry_budget() counted.
 */
int image_copy_filled(struct archive *in, struct archive_entry *e,
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

struct archive *image_reader_new(void)
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
	if (!(lw->diff = image_digest_new(err)))
		return -1;
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
		image_digest_final(lw->diff, out->diff_id);
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

int64_t image_fixed_mtime(void)
{
	int64_t t = ah_env_source_date_epoch();

	return t < 0 ? 0 : t;
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

/* The names in path, sorted; a missing directory has none. */
static int list_dir(const char *path, char ***names, size_t *nr, struct ah_err *err)
{
	if (!ah_dir_names_fd(open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), names, nr) ||
	    errno == ENOENT || errno == ENOTDIR)
		return 0;
	return ah_internal(err, "cannot read '%s': %s", path, strerror(errno));
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
		qsort(all, nall, sizeof(*all), ah_names_cmp);
	for (i = 0; i < nall; i++) {
		char *crel = xstrfmt("%s%s%s", rel, *rel ? "/" : "", all[i]);
		char *cpath = xstrfmt("%s/%s", w->dir, crel), *cbase = NULL;
		struct stat sb, bsb;
		int is_wh = !strncmp(all[i], ".wh.", 4) &&
			    (!nr || !bsearch(&all[i], names, nr, sizeof(*names), ah_names_cmp));
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
	ah_names_free(names, nr);
	ah_names_free(bnames, bnr);
	ah_names_free(all, nall);
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
	int64_t mtime = image_fixed_mtime();
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
				ah_names_free(names, nn);
				goto done;
			}
			e[n].name = names[j];
			names[j] = NULL;
			n++;
		}
		ah_names_free(names, nn);
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
		qsort(all, nall, sizeof(*all), ah_names_cmp);
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
	ah_names_free(all, nall);
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
	struct archive *in = image_reader_new();
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
		int c = image_check_entry(e, what, err);

		if (c < 0)
			goto done;
		if (c)
			continue;
		if (image_entry_budget(e, &total, lw.max, what, err) < 0)
			goto done;
		/* the layer holds plain files: holes are written out as zeros */
		archive_entry_sparse_clear(e);
		if (lw_header(&lw, e) < 0)
			goto done;
		if (archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e) &&
		    image_copy_filled(in, e, lw_out, &lw, what, err) < 0)
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
	if (!(lr->diff = image_digest_new(err)))
		return -1;
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
		image_digest_final(lr->diff, diff_id);
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
		if (image_check_entry(e, what, err) < 0 || image_entry_budget(e, &total, lr->max, what, err) < 0)
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
	if (image_blob_json(s, cdigest, &config, err) < 0)
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
	struct archive *in = image_reader_new();
	struct archive_entry *e;
	int ret = -1, r;

	if (archive_read_open_filename(in, path, 65536) != ARCHIVE_OK) {
		ah_invalid(err, "%s: %s", what, archive_error_string(in));
		goto done;
	}
	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *rel, *leaf, *base;
		int c = image_check_entry(e, what, err), fd;

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

		return dfd < 0 ? -1 : ah_clear_dir_fd(dfd);
	}
	return names_entry(leaf) ? ah_remove_at(dirfd, leaf + 4) : 0;
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
		int c = image_check_entry(e, what, err);

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
		if (image_entry_budget(e, &total, max, what, err) < 0)
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
	if (!ah_dir_empty(root)) {
		rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0) {
			ah_invalid(err, "cannot open '%s': %s", root, strerror(errno));
			goto done;
		}
		if (each_whiteout(rootfd, path, 0, remove_whited_out, what, err) < 0)
			goto done;
	}
	in = image_reader_new();
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
	if (image_hold_store(s, err) < 0)
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
	if (image_mkdir(top, err) < 0)
		goto done;
	tmp = xstrfmt("%s/.tmp-XXXXXX", top);
	if ((lockfd = ah_tmp_mkdir(tmp, err)) < 0) {
		free(tmp);
		tmp = NULL;
		goto done;
	}
	/* the root of a layer: readable as it is in the image, the state dir guards it */
	fchmod(lockfd, 0755);
	in = image_reader_new();
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
		ah_remove_at(AT_FDCWD, tmp);
	if (lockfd >= 0)
		close(lockfd);
	free(tmp);
	free(path);
	free(top);
	free(blob);
	return ret;
}

int ah_image_unpack(struct ah_image_store *s, const struct ah_image *img, const char *dest,
		    struct ah_err *err)
{
	size_t i;

	if (ah_mkdir_p(dest, 0755) < 0)
		return ah_invalid(err, "cannot create '%s': %s", dest, strerror(errno));
	for (i = 0; i < img->nr_layers; i++)
		if (ah_image_apply_layer(s, img->layers[i].digest, dest, err) < 0)
			return -1;
	return 0;
}
