/*
 * Fetching a repository of this machine (a path, file://) into a bare
 * mirror as `git clone --mirror` does: its object files are linked or
 * copied whole (packs with their indexes, and loose objects), nothing
 * inflated or packed again, then its branches. libgit2's local transport instead packs
 * every ref of the source in this process, working out every delta anew:
 * five to nine times slower than git on real repositories, and it brought
 * the objects of refs/pull/... and the like that the refspec leaves out.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fetch-local.h"
#include "fsutil.h"
#include "ingest.h"
#include "strbuf.h"
#include "usage.h"

/* A directory below dirfd, not through a symbolic link. */
static int open_dir_at(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Whether name is n hex digits and then suffix. */
static int hex_name(const char *name, size_t n, const char *suffix)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", name[i]) || !name[i])
			return 0;
	return !strcmp(name + n, suffix);
}

struct copy {
	const char *url;
	int64_t max_bytes;
	struct ah_fetch_local_stats *stats;
	struct ah_err *err;
};

/*
 * Links or copies the regular file name of src into dst (a copy under a
 * temporary name renamed into place), unless dst has a file of that name
 * already; the bytes count against the limit before any is copied.
 */
static int copy_file(struct copy *c, int src, int dst, const char *name, const char *what)
{
	char tmp[128];
	struct stat sb;
	int in = -1, out = -1, ret = -1;

	if (!faccessat(dst, name, F_OK, AT_SYMLINK_NOFOLLOW))
		return 0;
	in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0 || fstat(in, &sb) < 0) {
		ah_invalid(c->err, "cannot read %s '%s' of '%s': %s", what, name, c->url,
			   strerror(errno));
		goto done;
	}
	if (!S_ISREG(sb.st_mode)) {
		ah_invalid(c->err, "%s '%s' of '%s' is not a regular file", what, name, c->url);
		goto done;
	}
	c->stats->bytes += sb.st_size;
	if (c->stats->bytes > c->max_bytes) {
		ah_error(c->err, AH_INGEST_PERMANENT, "too_large",
			 "cannot fetch '%s': repository is larger than the limit of %lld bytes (APPHUB_INGEST_MAX_BYTES)",
			 c->url, (long long)c->max_bytes);
		goto done;
	}
	/*
	 * A hard link where the file system and the caller's privileges allow
	 * (as git clone does): object files are never written again, and a
	 * link is whole the moment it has its name.
	 */
	if (!linkat(in, "", dst, name, AT_EMPTY_PATH)) {
		ret = 1;
		goto done;
	}
	snprintf(tmp, sizeof(tmp), "tmp_%s_%ld", name, (long)getpid());
	out = openat(dst, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (out < 0 || ah_copy_fd(in, out) < 0 || fsync(out) < 0) {
		ah_internal(c->err, "cannot copy %s '%s' of '%s': %s", what, name, c->url,
			    strerror(errno));
		unlinkat(dst, tmp, 0);
		goto done;
	}
	if (renameat(dst, tmp, dst, name) < 0) {
		ah_internal(c->err, "cannot copy %s '%s' of '%s': %s", what, name, c->url,
			    strerror(errno));
		unlinkat(dst, tmp, 0);
		goto done;
	}
	ret = 1;
done:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return ret;
}

/* The object count of a pack index (version 2: the last entry of its fan-out table). */
static unsigned idx_objects(int dirfd, const char *name)
{
	unsigned char buf[8 + 256 * 4];
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	unsigned n = 0;

	if (fd < 0)
		return 0;
	if (ah_read_full(fd, buf, sizeof(buf)) == 0 && !memcmp(buf, "\377tOc", 4)) {
		const unsigned char *p = buf + 8 + 255 * 4;

		n = (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
	}
	close(fd);
	return n;
}

/*
 * The packs: each pack-<sha>.pack with its .idx, the pack first, so that
 * a reader never finds an index without its pack.
 */
static int copy_packs(struct copy *c, int src, int dst)
{
	DIR *d = NULL;
	struct dirent *de;
	int srcfd = open_dir_at(src, "pack"), dstfd = -1, ret = -1;

	if (srcfd < 0)
		return errno == ENOENT ? 0 : ah_invalid(c->err, "cannot read the packs of '%s': %s",
							c->url, strerror(errno));
	if (mkdirat(dst, "pack", 0755) < 0 && errno != EEXIST) {
		ah_internal(c->err, "cannot create the pack directory of the mirror: %s",
			    strerror(errno));
		goto done;
	}
	if ((dstfd = open_dir_at(dst, "pack")) < 0 || !(d = fdopendir(dup(srcfd)))) {
		ah_internal(c->err, "cannot open the pack directory: %s", strerror(errno));
		goto done;
	}
	while ((de = readdir(d))) {
		char idx[64];
		int r;

		if (strlen(de->d_name) != 50 || strncmp(de->d_name, "pack-", 5) ||
		    !hex_name(de->d_name + 5, 40, ".pack"))
			continue;
		snprintf(idx, sizeof(idx), "%.45s.idx", de->d_name);
		/* a pack still being written has no index yet */
		if (faccessat(srcfd, idx, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if ((r = copy_file(c, srcfd, dstfd, de->d_name, "pack")) < 0 ||
		    copy_file(c, srcfd, dstfd, idx, "pack index") < 0)
			goto done;
		if (r > 0)
			c->stats->objects += idx_objects(dstfd, idx);
	}
	ret = 0;
done:
	if (d)
		closedir(d);
	if (dstfd >= 0)
		close(dstfd);
	close(srcfd);
	return ret;
}

/* The loose objects: objects/<2 hex>/<38 hex>. */
static int copy_loose(struct copy *c, int src, int dst)
{
	DIR *top = NULL;
	struct dirent *de;
	int fd = dup(src), ret = -1;

	if (fd < 0 || !(top = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return ah_invalid(c->err, "cannot read the objects of '%s': %s", c->url,
				  strerror(errno));
	}
	while ((de = readdir(top))) {
		struct dirent *oe;
		DIR *sub;
		int sfd, dfd, r = 0;

		if (strlen(de->d_name) != 2 || !hex_name(de->d_name, 2, ""))
			continue;
		if ((sfd = open_dir_at(src, de->d_name)) < 0)
			continue;	/* not a directory: not git's */
		if ((mkdirat(dst, de->d_name, 0755) < 0 && errno != EEXIST) ||
		    (dfd = open_dir_at(dst, de->d_name)) < 0) {
			close(sfd);
			ah_internal(c->err, "cannot create an object directory of the mirror: %s",
				    strerror(errno));
			goto done;
		}
		if (!(sub = fdopendir(sfd))) {
			close(sfd);
			close(dfd);
			continue;
		}
		while (r >= 0 && (oe = readdir(sub)))
			if (strlen(oe->d_name) == 38 && hex_name(oe->d_name, 38, "") &&
			    (r = copy_file(c, dirfd(sub), dfd, oe->d_name, "object")) > 0)
				c->stats->objects++;
		closedir(sub);
		close(dfd);
		if (r < 0)
			goto done;
	}
	ret = 0;
done:
	closedir(top);
	return ret;
}

/* The source's branches on the mirror, and those it no longer has gone. */
static int update_branches(git_repository *src, git_repository *mirror, const char *url,
			   struct ah_err *err)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	git_odb *odb = NULL;
	int ret = -1;

	if (git_repository_odb(&odb, mirror) < 0 || git_odb_refresh(odb) < 0 ||
	    git_reference_iterator_glob_new(&it, src, "refs/heads/*") < 0)
		goto fail;
	while (git_reference_next(&ref, it) == 0) {
		git_reference *resolved = NULL, *made = NULL;
		const git_oid *id;

		if (git_reference_resolve(&resolved, ref) < 0 ||
		    !(id = git_reference_target(resolved)) || !git_odb_exists(odb, id)) {
			ah_invalid(err, "branch '%s' of '%s' names a commit the repository lacks",
				   git_reference_name(ref), url);
			git_reference_free(resolved);
			goto done;
		}
		if (git_reference_create(&made, mirror, git_reference_name(ref), id, 1,
					 "apphub: fetch") < 0) {
			git_reference_free(resolved);
			goto fail;
		}
		git_reference_free(made);
		git_reference_free(resolved);
		git_reference_free(ref);
		ref = NULL;
	}
	git_reference_iterator_free(it);
	it = NULL;
	/* prune */
	if (git_reference_iterator_glob_new(&it, mirror, "refs/heads/*") < 0)
		goto fail;
	while (git_reference_next(&ref, it) == 0) {
		git_reference *there = NULL;

		if (git_reference_lookup(&there, src, git_reference_name(ref)) < 0 &&
		    git_reference_delete(ref) < 0) {
			git_reference_free(there);
			goto fail;
		}
		git_reference_free(there);
		git_reference_free(ref);
		ref = NULL;
	}
	ret = 0;
	goto done;
fail:
	ah_internal(err, "cannot update the branches of the mirror of '%s': %s", url,
		    git_error_last() ? git_error_last()->message : "error");
done:
	git_reference_free(ref);
	git_reference_iterator_free(it);
	git_odb_free(odb);
	return ret;
}

/* The branch HEAD names: "refs/heads/main". */
static int default_branch(git_repository *src, const char *url, char **branch,
			  struct ah_err *err)
{
	git_reference *head = NULL, *target = NULL;
	const char *name;
	int ret = -1;

	if (git_reference_lookup(&head, src, "HEAD") < 0 ||
	    git_reference_type(head) != GIT_REFERENCE_SYMBOLIC ||
	    strncmp(name = git_reference_symbolic_target(head), "refs/heads/", 11) ||
	    git_reference_lookup(&target, src, name) < 0) {
		ah_invalid(err, "repository '%s' has no default branch (is it empty?)", url);
		goto done;
	}
	*branch = xstrdup(name);
	ret = 0;
done:
	git_reference_free(target);
	git_reference_free(head);
	return ret;
}

int ah_fetch_local(const char *path, const char *url, git_repository *mirror, int64_t max_bytes,
		   struct ah_fetch_local_stats *stats, char **branch, struct ah_err *err)
{
	struct copy c = { url, max_bytes, stats, err };
	git_repository *src = NULL;
	struct strbuf alt = STRBUF_INIT;
	int srcfd = -1, dstfd = -1, altfd, ret = -1;

	memset(stats, 0, sizeof(*stats));
	*branch = NULL;
	if (access(path, F_OK) < 0) {
		/* it may be there on a retry */
		ah_error(err, 400, "not_found", "no such repository: %s", path);
		goto done;
	}
	if (git_repository_open_ext(&src, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
		ah_invalid(err, "cannot open repository '%s': %s", url,
			   git_error_last() ? git_error_last()->message : "error");
		goto done;
	}
	if (default_branch(src, url, branch, err) < 0)
		goto done;
	if ((srcfd = open(git_repository_commondir(src), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (dstfd = open(git_repository_commondir(mirror), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		ah_internal(err, "cannot open the repository directories: %s", strerror(errno));
		goto done;
	}
	/* Each is a directory of its own, not a link to somewhere else. */
	altfd = srcfd;
	srcfd = open_dir_at(altfd, "objects");
	close(altfd);
	altfd = dstfd;
	dstfd = open_dir_at(altfd, "objects");
	close(altfd);
	if (srcfd < 0 || dstfd < 0) {
		/* a link (ENOTDIR, ELOOP) stays one on a retry */
		ah_error(err, errno == ENOENT || errno == EACCES ? 400 : AH_INGEST_PERMANENT,
			 "invalid", "cannot open the objects of '%s': %s", url, strerror(errno));
		goto done;
	}
	/* Objects borrowed from another repository are outside this one: not followed. */
	if ((altfd = openat(srcfd, "info/alternates", O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		char buf[1];

		if (read(altfd, buf, 1) > 0)
			strbuf_addstr(&alt, "objects/info/alternates");
		close(altfd);
	}
	if (alt.len) {
		ah_error(err, AH_INGEST_PERMANENT, "invalid",
			 "repository '%s' borrows objects from another (%s): apphub does not follow it",
			 url, alt.buf);
		goto done;
	}
	if (copy_packs(&c, srcfd, dstfd) < 0 || copy_loose(&c, srcfd, dstfd) < 0 ||
	    update_branches(src, mirror, url, err) < 0)
		goto done;
	ret = 0;
done:
	if (ret < 0) {
		free(*branch);
		*branch = NULL;
	}
	if (srcfd >= 0)
		close(srcfd);
	if (dstfd >= 0)
		close(dstfd);
	strbuf_release(&alt);
	git_repository_free(src);
	return ret;
}
