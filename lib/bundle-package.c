/*
 * Packaging a job bundle: the files of its directory that its `files`
 * globs name (no dotfiles, not its artifactDir) into <slug>-<version>.tgz,
 * byte for byte the same from the same tree whatever the disk says of
 * times, owners, umask or directory order; its .sha256 beside it and,
 * with a key, its .sig.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>
#include "bundle.h"
#include "fsutil.h"
#include "sign.h"
#include "strbuf.h"

#define PACKAGE_MAX_FILES 100000
#define PACKAGE_MAX_DEPTH 32

/* One member: its path in the bundle and what it is. */
struct member {
	char *path;
	mode_t mode;		/* S_IFREG, S_IFDIR or S_IFLNK, with the x bit */
	int64_t size;
	char *target;		/* a link's */
	int wanted;
};

struct walk {
	struct member *v;
	size_t nr, alloc;
	const char *artifacts;
};

/*
 * glob against path: '*' and '?' within a component, "**" any number of
 * components (none included), [...] as fnmatch has it.
 */
static int glob_match(const char *g, const char *p)
{
	if (!strncmp(g, "**", 2)) {
		const char *rest = g[2] == '/' ? g + 3 : g + 2;

		if (!*rest)
			return 1;
		for (;;) {
			if (glob_match(rest, p))
				return 1;
			if (!(p = strchr(p, '/')))
				return 0;
			p++;
		}
	}
	for (; *g; g++, p++) {
		switch (*g) {
		case '*':
			if (g[1] == '*')
				return glob_match(g, p);
			for (;; p++) {
				if (glob_match(g + 1, p))
					return 1;
				if (!*p || *p == '/')
					return 0;
			}
		case '?':
			if (!*p || *p == '/')
				return 0;
			break;
		case '[': {
			const char *end = strchr(g + 1, ']');
			int neg, hit = 0;

			if (!end || !*p || *p == '/')
				return end ? 0 : *p == '[' ? glob_match(g + 1, p + 1) : 0;
			neg = g[1] == '!' || g[1] == '^';
			for (const char *c = g + 1 + neg; c < end; c++) {
				if (c + 2 < end && c[1] == '-') {
					hit |= *p >= c[0] && *p <= c[2];
					c += 2;
				} else {
					hit |= *p == *c;
				}
			}
			if (hit == neg)
				return 0;
			g = end;
			break;
		}
		default:
			if (*g != *p)
				return 0;
		}
	}
	return !*p;
}

static int cmp_member(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->path, ((const struct member *)b)->path);
}

static void add_member(struct walk *w, char *path, mode_t mode, int64_t size, char *target)
{
	if (w->nr == w->alloc) {
		w->alloc = w->alloc ? 2 * w->alloc : 64;
		w->v = xrealloc(w->v, w->alloc * sizeof(*w->v));
	}
	w->v[w->nr++] = (struct member){ path, mode, size, target, 0 };
}

/* Every entry under dirfd (at rel) but dotfiles and the artifacts, links not followed. */
static int walk_dir(struct walk *w, int dirfd, const char *rel, int depth, struct ah_err *err)
{
	char **names = NULL;
	size_t nr = 0, i;
	int ret = -1;

	if (depth > PACKAGE_MAX_DEPTH)
		return ah_invalid(err, "bundle: '%s' nests deeper than %d levels", rel,
				  PACKAGE_MAX_DEPTH);
	/* it takes the descriptor it reads: a copy, dirfd is used after */
	if (ah_dir_names_fd(fcntl(dirfd, F_DUPFD_CLOEXEC, 0), &names, &nr) < 0)
		return ah_invalid(err, "bundle: cannot read '%s': %s", *rel ? rel : ".",
				  strerror(errno));
	for (i = 0; i < nr; i++) {
		char *path = xstrfmt("%s%s%s", rel, *rel ? "/" : "", names[i]);
		struct stat sb;
		int fd;

		if (names[i][0] == '.' || !strcmp(path, w->artifacts) ||
		    fstatat(dirfd, names[i], &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			free(path);
			continue;
		}
		if (w->nr >= PACKAGE_MAX_FILES) {
			ah_invalid(err, "bundle: more than %d files", PACKAGE_MAX_FILES);
			free(path);
			goto done;
		}
		if (S_ISDIR(sb.st_mode)) {
			add_member(w, path, S_IFDIR | 0755, 0, NULL);
			fd = openat(dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0 || walk_dir(w, fd, path, depth + 1, err) < 0) {
				if (fd < 0)
					ah_invalid(err, "bundle: cannot read '%s': %s", path, strerror(errno));
				if (fd >= 0)
					close(fd);
				goto done;
			}
			close(fd);
		} else if (S_ISREG(sb.st_mode)) {
			add_member(w, path, S_IFREG | (sb.st_mode & 0100 ? 0755 : 0644), sb.st_size, NULL);
		} else if (S_ISLNK(sb.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(dirfd, names[i], target, sizeof(target) - 1);

			if (n < 0) {
				ah_invalid(err, "bundle: cannot read link '%s': %s", path, strerror(errno));
				free(path);
				goto done;
			}
			target[n] = '\0';
			add_member(w, path, S_IFLNK | 0777, 0, xstrdup(target));
		} else {
			free(path);	/* sockets, fifos, devices are no part of a bundle */
		}
	}
	ret = 0;
done:
	ah_names_free(names, nr);
	return ret;
}

/* Marks what the globs and the bundle's own files name, and the directories above them. */
static void choose(struct walk *w, const struct ah_bundle *b)
{
	json_t *files = json_object_get(b->config, "files"), *g;
	const char *always[] = {
		AH_BUNDLE_CONFIG, json_string_value(json_object_get(b->config, "manifestPath")),
		b->entry,
	};
	size_t i, j, k;

	for (i = 0; i < w->nr; i++) {
		struct member *m = &w->v[i];

		if (S_ISDIR(m->mode))
			continue;
		for (k = 0; k < sizeof(always) / sizeof(always[0]); k++)
			m->wanted |= always[k] && !strcmp(m->path, always[k]);
		json_array_foreach(files, j, g)
			m->wanted |= glob_match(json_string_value(g), m->path);
	}
	/* A wanted member's directories: sorted, each comes before its contents. */
	for (i = w->nr; i-- > 0;) {
		struct member *m = &w->v[i];

		if (!S_ISDIR(m->mode) || m->wanted)
			continue;
		for (j = i + 1; j < w->nr && !m->wanted; j++)
			m->wanted = w->v[j].wanted && !strncmp(w->v[j].path, m->path, strlen(m->path)) &&
				    w->v[j].path[strlen(m->path)] == '/';
	}
}

static int write_member(struct archive *a, struct archive_entry *e, int rootfd,
			const struct member *m, struct ah_err *err)
{
	char buf[65536];
	ssize_t n;
	int64_t left = m->size;
	int fd = -1, ret = -1;

	archive_entry_clear(e);
	archive_entry_set_pathname(e, m->path);
	archive_entry_set_mode(e, m->mode);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_mtime(e, 0, 0);
	if (S_ISLNK(m->mode))
		archive_entry_set_symlink(e, m->target);
	if (S_ISREG(m->mode)) {
		if ((fd = openat(rootfd, m->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
			ah_invalid(err, "bundle: cannot read '%s': %s", m->path, strerror(errno));
			goto done;
		}
		archive_entry_set_size(e, m->size);
	}
	if (archive_write_header(a, e) != ARCHIVE_OK) {
		ah_internal(err, "bundle: cannot write '%s': %s", m->path, archive_error_string(a));
		goto done;
	}
	/* The size was taken before: a file that grows meanwhile is cut there. */
	while (fd >= 0 && left > 0 &&
	       (n = read(fd, buf, left < (int64_t)sizeof(buf) ? (size_t)left : sizeof(buf))) > 0) {
		if (archive_write_data(a, buf, (size_t)n) != n) {
			ah_internal(err, "bundle: cannot write '%s': %s", m->path, archive_error_string(a));
			goto done;
		}
		left -= n;
	}
	if (left > 0) {
		ah_invalid(err, "bundle: '%s' changed while it was packaged", m->path);
		goto done;
	}
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* The archive of the chosen members into the file fd. */
static int write_archive(int fd, int rootfd, const struct walk *w, struct ah_err *err)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	size_t i;
	int ret = -1;

	/* ustar: fixed headers, no pax records that could carry times */
	if (archive_write_set_format_ustar(a) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_filter_option(a, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		ah_internal(err, "bundle: cannot start the archive: %s", archive_error_string(a));
		goto done;
	}
	for (i = 0; i < w->nr; i++)
		if (w->v[i].wanted && write_member(a, e, rootfd, &w->v[i], err) < 0)
			goto done;
	if (archive_write_close(a) != ARCHIVE_OK) {
		ah_internal(err, "bundle: cannot finish the archive: %s", archive_error_string(a));
		goto done;
	}
	ret = 0;
done:
	archive_entry_free(e);
	archive_write_free(a);
	return ret;
}

static int write_text(const char *path, const char *text, struct ah_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || ah_write_full(fd, text, strlen(text)) < 0) {
		if (fd >= 0)
			close(fd);
		return ah_internal(err, "cannot write '%s': %s", path, strerror(errno));
	}
	if (close(fd) < 0)
		return ah_internal(err, "cannot write '%s': %s", path, strerror(errno));
	return 0;
}

int ah_bundle_package(const char *dir, const char *out_dir, int force, const char *key,
		      json_t **out, struct ah_err *err)
{
	struct ah_bundle b = { 0 };
	struct walk w = { 0 };
	char *name = NULL, *outd = NULL, *path = NULL, *tmp = NULL, *sum = NULL, *sigp = NULL;
	char *sig = NULL, *data = NULL, hex[65];
	size_t i, len = 0, files = 0;
	int rootfd = -1, fd = -1, ret = -1;
	struct stat sb;

	*out = NULL;
	if (ah_bundle_load(dir, &b, err) < 0)
		goto done;
	w.artifacts = json_string_value(json_object_get(b.config, "artifactDir"));
	if ((rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		ah_invalid(err, "cannot open bundle '%s': %s", dir, strerror(errno));
		goto done;
	}
	if (walk_dir(&w, rootfd, "", 0, err) < 0)
		goto done;
	qsort(w.v, w.nr, sizeof(*w.v), cmp_member);
	choose(&w, &b);
	for (i = 0; i < w.nr; i++) {
		if (!w.v[i].wanted)
			continue;
		if (S_ISLNK(w.v[i].mode) &&
		    ah_bundle_link_check(rootfd, w.v[i].path, w.v[i].target, err) < 0)
			goto done;
		files += !S_ISDIR(w.v[i].mode);
	}
	name = xstrfmt("%s-%s.tgz", b.slug, b.version);
	outd = out_dir ? xstrdup(out_dir) : xstrfmt("%s/%s", dir, w.artifacts);
	if (ah_mkdir_p(outd, 0755) < 0) {
		ah_invalid(err, "cannot create '%s': %s", outd, strerror(errno));
		goto done;
	}
	path = xstrfmt("%s/%s", outd, name);
	if (!force && lstat(path, &sb) == 0) {
		ah_conflict(err, "'%s' exists (--force replaces it)", path);
		goto done;
	}
	tmp = xstrfmt("%s/.%s.XXXXXX", outd, name);
	if ((fd = mkstemp(tmp)) < 0) {
		ah_internal(err, "cannot create '%s': %s", tmp, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto done;
	}
	if (fchmod(fd, 0644) < 0 || write_archive(fd, rootfd, &w, err) < 0)
		goto done;
	if (lseek(fd, 0, SEEK_SET) < 0 || ah_read_fd_max(fd, (size_t)1 << 31, &data, &len) < 0) {
		fd = -1;
		ah_internal(err, "cannot read '%s': %s", tmp, strerror(errno));
		goto done;
	}
	fd = -1;
	if (ah_sha256_hex(data, len, hex, err) < 0)
		goto done;
	if (key && ah_sign_data(key, data, len, &sig, err) < 0)
		goto done;
	if (rename(tmp, path) < 0) {
		ah_internal(err, "cannot write '%s': %s", path, strerror(errno));
		goto done;
	}
	free(tmp);
	tmp = NULL;
	sum = xstrfmt("%s.sha256", path);
	{
		char *line = xstrfmt("%s  %s\n", hex, name);
		int r = write_text(sum, line, err);

		free(line);
		if (r < 0)
			goto done;
	}
	sigp = xstrfmt("%s.sig", path);
	if (sig) {
		char *line = xstrfmt("%s\n", sig);
		int r = write_text(sigp, line, err);

		free(line);
		if (r < 0)
			goto done;
	} else if (unlink(sigp) < 0 && errno != ENOENT) {
		ah_internal(err, "cannot remove the old '%s': %s", sigp, strerror(errno));
		goto done;
	}
	*out = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "slug", b.slug, "version", b.version,
			 "path", path, "checksum", hex, "size", (json_int_t)len, "files",
			 (json_int_t)files);
	if (sig)
		json_object_set_new(*out, "signature", json_string(sig));
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	if (rootfd >= 0)
		close(rootfd);
	for (i = 0; i < w.nr; i++) {
		free(w.v[i].path);
		free(w.v[i].target);
	}
	free(w.v);
	ah_bundle_release(&b);
	free(name);
	free(outd);
	free(path);
	free(tmp);
	free(sum);
	free(sigp);
	free(sig);
	free(data);
	return ret;
}

int ah_bundle_package_to(const char *dir, const char *out_dir, const char *key, char **tgz_path,
			 struct ah_err *err)
{
	json_t *out = NULL;

	*tgz_path = NULL;
	if (ah_bundle_package(dir, out_dir, 1, key, &out, err) < 0)
		return -1;
	*tgz_path = xstrdup(json_string_value(json_object_get(out, "path")));
	json_decref(out);
	return 0;
}
