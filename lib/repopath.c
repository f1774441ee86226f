/*
 * repopath.c: resolving paths from a repository inside it, over a git tree
 * (ingest) or a directory (a build's context), with one resolver.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "repopath.h"

#define MAX_LINK_HOPS 16

/* Appends path component comp (or ".." / ".") to the normalized path. */
static int push_component(struct strbuf *path, const char *comp, size_t len)
{
	if (!len || (len == 1 && comp[0] == '.'))
		return 0;
	if (len == 2 && comp[0] == '.' && comp[1] == '.') {
		char *slash;

		if (!path->len)
			return -1;	/* above the root */
		slash = strrchr(path->buf, '/');
		strbuf_setlen(path, slash ? (size_t)(slash - path->buf) : 0);
		return 0;
	}
	if (path->len)
		strbuf_addch(path, '/');
	strbuf_add(path, comp, len);
	return 0;
}

int ah_tree_resolve(const struct ah_tree *tree, const char *path_in, struct strbuf *out,
		    enum ah_tree_type *type, struct ah_err *err)
{
	struct strbuf path = STRBUF_INIT, target = STRBUF_INIT, next = STRBUF_INIT;
	int hops = 0, ret = -1;
	const char *p;

	strbuf_addstr(&path, path_in);
again:
	strbuf_reset(out);
	*type = AH_TREE_DIR;
	p = path.buf;
	while (*p) {
		const char *comp = p, *q, *slash;
		size_t n = strcspn(p, "/");

		p += n;
		while (*p == '/')
			p++;
		if (!n || (n == 1 && comp[0] == '.'))
			continue;
		if (*type != AH_TREE_DIR) {
			*type = AH_TREE_NONE;
			break;
		}
		if (push_component(out, comp, n) < 0) {
			ah_invalid(err, "path '%s' leads outside the repository", path_in);
			goto done;
		}
		if (n == 2 && comp[0] == '.' && comp[1] == '.')
			continue;	/* the parent of a directory */
		strbuf_reset(&target);
		if (tree->stat(tree->data, out->buf, type, &target, err) < 0)
			goto done;
		if (*type != AH_TREE_LINK)
			continue;
		if (++hops > MAX_LINK_HOPS) {
			ah_invalid(err, "symlink '%s' is part of a loop or a chain too long", out->buf);
			goto done;
		}
		/* The link's directory, its target, then what is left of the path. */
		strbuf_reset(&next);
		slash = strrchr(out->buf, '/');
		if (slash)
			strbuf_add(&next, out->buf, (size_t)(slash - out->buf));
		for (q = target.buf; *q;) {
			size_t m = strcspn(q, "/");

			if (target.buf[0] == '/' || push_component(&next, q, m) < 0) {
				ah_invalid(err, "symlink '%s' leads outside the repository (to '%s')",
					   out->buf, target.buf);
				goto done;
			}
			q += m;
			while (*q == '/')
				q++;
		}
		if (!target.len || target.buf[0] == '/') {
			ah_invalid(err, "symlink '%s' leads outside the repository (to '%s')",
				   out->buf, target.buf);
			goto done;
		}
		if (*p)
			strbuf_addf(&next, "%s%s", next.len ? "/" : "", p);
		strbuf_reset(&path);
		strbuf_addstr(&path, next.buf);
		goto again;
	}
	ret = 0;
done:
	strbuf_release(&path);
	strbuf_release(&target);
	strbuf_release(&next);
	return ret;
}

/* ------------------------------------------------------ a directory */

/* Opens a path with no link in it, under rootfd and never through a link. */
static int open_plain(int rootfd, const char *path, int flags)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
}

static int dir_stat(void *data, const char *path, enum ah_tree_type *type, struct strbuf *target,
		    struct ah_err *err)
{
	int rootfd = *(int *)data;
	struct stat sb;
	char buf[PATH_MAX + 1];
	ssize_t n;

	*type = AH_TREE_NONE;
	if (fstatat(rootfd, *path ? path : ".", &sb, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return ah_internal(err, "cannot read '%s': %s", path, strerror(errno));
	}
	if (S_ISDIR(sb.st_mode)) {
		*type = AH_TREE_DIR;
	} else if (S_ISREG(sb.st_mode)) {
		*type = AH_TREE_FILE;
	} else if (S_ISLNK(sb.st_mode)) {
		*type = AH_TREE_LINK;
		n = readlinkat(rootfd, path, buf, sizeof(buf));
		if (n < 0)
			return ah_internal(err, "cannot read symlink '%s': %s", path, strerror(errno));
		if (n > PATH_MAX)
			return ah_invalid(err, "symlink '%s' has a target longer than %d bytes", path,
					  PATH_MAX);
		strbuf_add(target, buf, (size_t)n);
	} else {
		*type = AH_TREE_OTHER;
	}
	return 0;
}

static int dir_read(void *data, const char *path, size_t max, struct strbuf *out, size_t *size,
		    struct ah_err *err)
{
	int fd = open_plain(*(int *)data, path, O_RDONLY), ret = -1;
	struct stat sb;
	char chunk[65536];

	*size = 0;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		ah_internal(err, "cannot read '%s': %s", path, strerror(errno));
		goto done;
	}
	*size = (size_t)sb.st_size;
	while (out->len < max) {
		size_t want = max - out->len < sizeof(chunk) ? max - out->len : sizeof(chunk);
		ssize_t n = read(fd, chunk, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ah_internal(err, "cannot read '%s': %s", path, strerror(errno));
			goto done;
		}
		if (!n)
			break;
		strbuf_add(out, chunk, (size_t)n);
	}
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	return ret;
}

static int dir_list(void *data, const char *dir, ah_tree_list_fn fn, void *cb, struct ah_err *err)
{
	int fd = open_plain(*(int *)data, dir, O_RDONLY | O_DIRECTORY);
	struct dirent *de;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return ah_internal(err, "cannot list '%s': %s", dir, strerror(errno));
	}
	while ((de = readdir(d))) {
		enum ah_tree_type type;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		type = de->d_type == DT_DIR ? AH_TREE_DIR : de->d_type == DT_REG ? AH_TREE_FILE
			: de->d_type == DT_LNK ? AH_TREE_LINK : AH_TREE_OTHER;
		if (fn(cb, de->d_name, type))
			break;
	}
	closedir(d);
	return 0;
}

void ah_dir_tree(struct ah_tree *tree, int *rootfd)
{
	tree->data = rootfd;
	tree->stat = dir_stat;
	tree->read = dir_read;
	tree->list = dir_list;
}

int ah_repo_open(int rootfd, const char *path, int flags, struct ah_err *err)
{
	struct strbuf real = STRBUF_INIT;
	struct ah_tree tree;
	enum ah_tree_type type;
	int fd = -1;

	ah_dir_tree(&tree, &rootfd);
	if (ah_tree_resolve(&tree, path, &real, &type, err) < 0) {
		if (err->status == 400)
			errno = EXDEV;
		goto done;
	}
	if (type == AH_TREE_NONE) {
		errno = ENOENT;
		ah_not_found(err, "'%s': no such file", path);
		goto done;
	}
	fd = open_plain(rootfd, real.buf, flags);
	if (fd < 0) {
		int e = errno;

		ah_error(err, e == ENOENT ? 404 : 500, e == ENOENT ? "not_found" : "internal",
			 "cannot open '%s': %s", path, strerror(e));
		errno = e;
	}
done:
	strbuf_release(&real);
	return fd;
}

/* Reads the file at path, following links; 1 when it is not a file. */
int ah_tree_read_file(const struct ah_tree *tree, const char *path, size_t max,
		      struct strbuf *out, struct ah_err *err)
{
	struct strbuf real = STRBUF_INIT;
	enum ah_tree_type type;
	size_t size = 0;
	int ret = -1;

	if (ah_tree_resolve(tree, path, &real, &type, err) < 0)
		goto done;
	if (type != AH_TREE_FILE) {
		ret = 1;
		goto done;
	}
	if (tree->read(tree->data, real.buf, max, out, &size, err) < 0)
		goto done;
	if (size > max) {
		if (max % (1024 * 1024) == 0)
			ah_invalid(err, "file '%s' is larger than the %zu MiB limit", path, max >> 20);
		else if (max % 1024 == 0)
			ah_invalid(err, "file '%s' is larger than the %zu KiB limit", path, max >> 10);
		else
			ah_invalid(err, "file '%s' is larger than the %zu byte limit", path, max);
		goto done;
	}
	ret = 0;
done:
	strbuf_release(&real);
	return ret;
}

int ah_tree_is_file(const struct ah_tree *tree, const char *path, struct ah_err *err)
{
	struct strbuf real = STRBUF_INIT;
	enum ah_tree_type type;
	int ret;

	ret = ah_tree_resolve(tree, path, &real, &type, err);
	strbuf_release(&real);
	return ret < 0 ? -1 : type == AH_TREE_FILE;
}
