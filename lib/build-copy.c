/*
 * The build engine's COPY and ADD: sources from the context, a stage or
 * an image, resolved inside their root, hashed for the cache key and
 * copied (ADD: local tars extracted) into the stage's root.
 */
#include "build-internal.h"

/* ---- directories inside a root ---- */

/* Opens (making, owned by uid:gid) the directory path inside root; an fd or -1 with errno. */
int build_mkdir_in_root(int rootfd, const char *path, uid_t uid, gid_t gid)
{
	struct strbuf p = STRBUF_INIT, pre = STRBUF_INIT;
	char *copy, *save = NULL, *c;
	int fd = dup(rootfd), nfd;

	if (fd < 0)
		return -1;
	build_clean_path(path, &p, 1);
	copy = xstrdup(p.buf);
	for (c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (pre.len)
			strbuf_addch(&pre, '/');
		strbuf_addstr(&pre, c);
		nfd = build_openat2(rootfd, pre.buf, O_RDONLY | O_DIRECTORY, RESOLVE_IN_ROOT);
		if (nfd < 0 && errno == ENOENT) {
			if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST)
				goto fail;
			if (fchownat(fd, c, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && geteuid() == 0)
				goto fail;
			nfd = build_openat2(rootfd, pre.buf, O_RDONLY | O_DIRECTORY, RESOLVE_IN_ROOT);
		}
		if (nfd < 0)
			goto fail;
		close(fd);
		fd = nfd;
	}
	free(copy);
	strbuf_release(&p);
	strbuf_release(&pre);
	return fd;
fail:
	{
		int e = errno;

		close(fd);
		free(copy);
		strbuf_release(&p);
		strbuf_release(&pre);
		errno = e;
		return -1;
	}
}

/* ---- COPY and ADD ---- */

struct xfer {
	struct builder *b;
	const struct ah_df_instr *in;
	EVP_MD_CTX *md;		/* hashing; else copying */
	int from_ctx;		/* dockerignore applies */
	uid_t uid;
	gid_t gid;
	int chmod_set;
	mode_t chmod;
	int64_t count;
};

static int xfer_fail(struct xfer *x, const char *what, const char *path)
{
	return build_line_err(x->b, x->in, 500, "internal", "%s: cannot %s '%s': %s",
			ah_df_kind_name(x->in->kind), what, path, strerror(errno));
}

static int hash_file(EVP_MD_CTX *md, int fd)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(md, buf, (size_t)n);
	return n < 0 ? -1 : 0;
}

static int list_names(int dfd, char ***out, size_t *nr)
{
	return ah_dir_names_fd(openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), out, nr);
}

/*
 * One entry: name in sfd (crel: its path in the context, for
 * .dockerignore) to dname in dfd (copying) or into the hash.
 */
static int xfer_entry(struct xfer *x, int sfd, const char *name, int dfd, const char *dname,
		      const char *crel, int depth)
{
	struct stat sb;
	int ret = -1, fd = -1, ofd = -1, excluded = 0;
	mode_t mode;

	if (depth > MAX_DEPTH)
		return build_line_err(x->b, x->in, 400, "invalid", "'%s': nested too deep", crel);
	if (++x->count > MAX_SOURCES)
		return build_line_err(x->b, x->in, 400, "invalid", "more than %d files to copy", MAX_SOURCES);
	if (fstatat(sfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return xfer_fail(x, "stat", crel);
	if (x->from_ctx && depth > 0 && *crel) {
		int m = ah_dockerignore_match(x->b->ignore, crel, S_ISDIR(sb.st_mode));

		if (m == AH_DI_EXCLUDED)
			return 0;
		excluded = m == AH_DI_DESCEND;
	}
	mode = sb.st_mode & 07777;
	if (x->chmod_set)
		mode = x->chmod;
	if (x->md && !excluded) {
		build_md_str(x->md, crel);
		build_md_str(x->md, depth ? "" : dname);
		build_md_int(x->md, (int64_t)(sb.st_mode & S_IFMT));
		build_md_int(x->md, (int64_t)mode);
		build_md_int(x->md, (int64_t)sb.st_size);
	}
	if (S_ISDIR(sb.st_mode)) {
		char **names = NULL;
		size_t nr = 0, i;
		int cfd = -1;

		fd = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || list_names(fd, &names, &nr) < 0) {
			xfer_fail(x, "read", crel);
			goto done;
		}
		if (!x->md) {
			struct stat db;

			if (fstatat(dfd, dname, &db, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(db.st_mode))
				unlinkat(dfd, dname, 0);
			if (mkdirat(dfd, dname, 0700) < 0 && errno != EEXIST) {
				ah_names_free(names, nr);
				xfer_fail(x, "create", dname);
				goto done;
			}
			cfd = openat(dfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0) {
				ah_names_free(names, nr);
				xfer_fail(x, "open", dname);
				goto done;
			}
		}
		for (i = 0; i < nr; i++) {
			char *c = xstrfmt("%s%s%s", crel, *crel ? "/" : "", names[i]);
			int r = xfer_entry(x, fd, names[i], cfd, names[i], c, depth + 1);

			free(c);
			if (r < 0) {
				ah_names_free(names, nr);
				if (cfd >= 0)
					close(cfd);
				goto done;
			}
		}
		ah_names_free(names, nr);
		if (cfd >= 0) {
			if (fchown(cfd, x->uid, x->gid) < 0 && geteuid() == 0) {
				close(cfd);
				xfer_fail(x, "chown", dname);
				goto done;
			}
			fchmod(cfd, mode);
			close(cfd);
		}
	} else if (S_ISREG(sb.st_mode)) {
		fd = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			xfer_fail(x, "open", crel);
			goto done;
		}
		if (x->md) {
			if (hash_file(x->md, fd) < 0) {
				xfer_fail(x, "read", crel);
				goto done;
			}
		} else {
			struct timespec ts[2] = { sb.st_atim, sb.st_mtim };
			struct stat db;

			if (fstatat(dfd, dname, &db, AT_SYMLINK_NOFOLLOW) == 0 &&
			    unlinkat(dfd, dname, S_ISDIR(db.st_mode) ? AT_REMOVEDIR : 0) < 0) {
				xfer_fail(x, "replace", dname);
				goto done;
			}
			ofd = openat(dfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				     0600);
			if (ofd < 0 || ah_copy_fd(fd, ofd) < 0) {
				xfer_fail(x, "write", dname);
				goto done;
			}
			if (fchown(ofd, x->uid, x->gid) < 0 && geteuid() == 0) {
				xfer_fail(x, "chown", dname);
				goto done;
			}
			fchmod(ofd, mode);
			futimens(ofd, ts);
		}
	} else if (S_ISLNK(sb.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(sfd, name, target, sizeof(target) - 1);

		if (n < 0) {
			xfer_fail(x, "read", crel);
			goto done;
		}
		target[n] = '\0';
		if (x->md) {
			build_md_str(x->md, target);
		} else {
			struct stat db;

			if (fstatat(dfd, dname, &db, AT_SYMLINK_NOFOLLOW) == 0)
				unlinkat(dfd, dname, S_ISDIR(db.st_mode) ? AT_REMOVEDIR : 0);
			if (symlinkat(target, dfd, dname) < 0) {
				xfer_fail(x, "create", dname);
				goto done;
			}
			if (fchownat(dfd, dname, x->uid, x->gid, AT_SYMLINK_NOFOLLOW) < 0 &&
			    geteuid() == 0) {
				xfer_fail(x, "chown", dname);
				goto done;
			}
		}
	}
	/* sockets, fifos and devices are not copied */
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	if (ofd >= 0)
		close(ofd);
	return ret;
}

static int has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Expands the components of a source pattern below base in rootfd. */
static void expand(int rootfd, uint64_t resolve, const char *base, char **comps, size_t i,
		   size_t n, char ***out, size_t *nr, size_t *alloc)
{
	if (*nr >= MAX_SOURCES)
		return;
	if (i == n) {
		if (*nr == *alloc) {
			*alloc = *alloc ? 2 * *alloc : 8;
			*out = xrealloc(*out, *alloc * sizeof(**out));
		}
		(*out)[(*nr)++] = xstrdup(base);
		return;
	}
	if (has_glob(comps[i])) {
		int dfd = build_openat2(rootfd, base, O_RDONLY | O_DIRECTORY, resolve);
		char **names;
		size_t nn, j;

		if (dfd < 0)
			return;
		if (list_names(dfd, &names, &nn) == 0) {
			for (j = 0; j < nn; j++) {
				char *p;

				if (fnmatch(comps[i], names[j], 0))
					continue;
				p = xstrfmt("%s%s%s", base, *base ? "/" : "", names[j]);
				expand(rootfd, resolve, p, comps, i + 1, n, out, nr, alloc);
				free(p);
			}
			ah_names_free(names, nn);
		}
		close(dfd);
	} else {
		char *p = xstrfmt("%s%s%s", base, *base ? "/" : "", comps[i]);

		expand(rootfd, resolve, p, comps, i + 1, n, out, nr, alloc);
		free(p);
	}
}

static int is_url(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8) || strstr(s, "://") != NULL;
}

/* A local archive libarchive reads as tar (any compression)? */
static int is_archive(int fd)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int ok;

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	lseek(fd, 0, SEEK_SET);
	ok = archive_read_open_fd(a, fd, 65536) == ARCHIVE_OK &&
	     archive_read_next_header(a, &e) == ARCHIVE_OK;
	archive_read_free(a);
	lseek(fd, 0, SEEK_SET);
	return ok;
}

/*
 * One member of an ADD archive at leaf in pfd: what was there goes, the
 * member's type, mode, owner (as root) and mtime are kept.
 */
static int extract_member(struct xfer *x, struct archive *in, struct archive_entry *e, int pfd,
			  const char *leaf, const char *what, int64_t *total)
{
	mode_t type = archive_entry_filetype(e), mode = archive_entry_perm(e);
	struct timespec ts[2] = { { archive_entry_mtime(e), 0 }, { archive_entry_mtime(e), 0 } };
	struct stat sb;
	int fd = -1, ret = -1, r;

	if (fstatat(pfd, leaf, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !(type == AE_IFDIR && S_ISDIR(sb.st_mode)) &&
	    unlinkat(pfd, leaf, S_ISDIR(sb.st_mode) ? AT_REMOVEDIR : 0) < 0)
		return xfer_fail(x, "replace", leaf);
	if (type == AE_IFLNK) {
		if (symlinkat(archive_entry_symlink(e) ?: "", pfd, leaf) < 0)
			return xfer_fail(x, "create", leaf);
		if (geteuid() == 0)
			fchownat(pfd, leaf, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
				 AT_SYMLINK_NOFOLLOW);
		utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW);
		return 0;
	}
	if (type == AE_IFDIR) {
		if (mkdirat(pfd, leaf, 0700) < 0 && errno != EEXIST)
			return xfer_fail(x, "create", leaf);
		fd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	} else {
		const void *buf;
		size_t len;
		la_int64_t off;

		fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		while (fd >= 0 && (r = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK) {
			*total += (int64_t)len;
			if (*total > ah_image_max_layer()) {
				build_line_err(x->b, x->in, 413, "too_large", "ADD: '%s': larger than %lld bytes",
					 what, (long long)ah_image_max_layer());
				goto done;
			}
			if (pwrite(fd, buf, len, off) != (ssize_t)len) {
				xfer_fail(x, "write", leaf);
				goto done;
			}
		}
		if (fd >= 0 && r != ARCHIVE_EOF) {
			build_line_err(x->b, x->in, 400, "invalid", "ADD: '%s': %s", what,
				 archive_error_string(in));
			goto done;
		}
		if (fd >= 0 && ftruncate(fd, archive_entry_size(e)) < 0) {
			xfer_fail(x, "write", leaf);
			goto done;
		}
	}
	if (fd < 0) {
		xfer_fail(x, "create", leaf);
		goto done;
	}
	if (geteuid() == 0 &&
	    fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0) {
		xfer_fail(x, "chown", leaf);
		goto done;
	}
	fchmod(fd, mode);
	futimens(fd, ts);
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	return ret;
}

/*
 * Extracts the tar on fd under dfd: member names cleaned, only files,
 * directories and symbolic links, every path resolved inside dfd (a
 * member's symlink never leads out), at most ah_image_max_layer() bytes.
 */
static int extract_archive(struct xfer *x, int fd, int dfd, const char *what)
{
	struct archive *in = archive_read_new();
	struct archive_entry *e;
	int r, ret = -1;
	int64_t total = 0;

	archive_read_support_filter_all(in);
	archive_read_support_format_tar(in);
	if (archive_read_open_fd(in, fd, 65536) != ARCHIVE_OK) {
		build_line_err(x->b, x->in, 400, "invalid", "ADD: '%s': %s", what, archive_error_string(in));
		goto done;
	}
	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e), *leaf;
		struct strbuf cl = STRBUF_INIT, parent = STRBUF_INIT;
		mode_t type = archive_entry_filetype(e);
		char *slash;
		int pfd;

		if (!name || name[0] == '/' || build_clean_path(name, &cl, 0) < 0 ||
		    (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) ||
		    archive_entry_hardlink(e)) {
			build_line_err(x->b, x->in, 400, "invalid",
				 "ADD: '%s': member '%s' refused (absolute, '..', a device or a hard link)",
				 what, name ? name : "?");
			strbuf_release(&cl);
			goto done;
		}
		if (!cl.len) {
			strbuf_release(&cl);
			continue;
		}
		slash = strrchr(cl.buf, '/');
		strbuf_add(&parent, cl.buf, slash ? (size_t)(slash - cl.buf) : 0);
		leaf = slash ? slash + 1 : cl.buf;
		pfd = build_mkdir_in_root(dfd, parent.buf, 0, 0);
		r = pfd < 0 ? xfer_fail(x, "create", parent.buf)
			    : extract_member(x, in, e, pfd, leaf, what, &total);
		if (pfd >= 0)
			close(pfd);
		strbuf_release(&cl);
		strbuf_release(&parent);
		if (r < 0)
			goto done;
	}
	if (r != ARCHIVE_EOF) {
		build_line_err(x->b, x->in, 400, "invalid", "ADD: '%s': %s", what, archive_error_string(in));
		goto done;
	}
	ret = 0;
done:
	archive_read_free(in);
	return ret;
}

static int is_number(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int parse_chown(struct builder *b, const struct ah_df_instr *in, struct bstage *st,
		       struct xfer *x)
{
	const char *chown = ah_df_flag(in, "chown"), *chmod = ah_df_flag(in, "chmod");
	struct ah_err uerr = AH_ERR_INIT;

	x->uid = 0;
	x->gid = 0;
	if (chown) {
		char *spec = xstrdup(chown);
		int r;

		/* "user" alone: its group is the user's (numeric: the same id). */
		if (!strchr(spec, ':') && is_number(spec)) {
			char *t = xstrfmt("%s:%s", spec, spec);

			free(spec);
			spec = t;
		}
		if (st->root) {
			/*
			 * The stage as its steps left it: between steps an
			 * overlay stage has no mount, and its root directory
			 * is not its file system.
			 */
			int rootfd = b->overlay && st->mnt <= 0 ? build_stage_view(b, st)
								 : build_stage_rootfd(st);
			struct ah_sandbox_user u;

			r = rootfd < 0 ? -3 : ah_sandbox_user(rootfd, spec, BUILD_MAX_ID, AH_USER_ID_ALONE,
							       &u, &uerr);
			if (!r) {
				x->uid = u.uid;
				x->gid = u.gid;
				free(u.home);
			}
			if (rootfd >= 0)
				close(rootfd);
		} else {
			r = -2;
		}
		free(spec);
		if (r == -2)
			return 1;	/* needs the root file system */
		if (r == -3)
			return ah_internal(b->err, "cannot open the root file system: %s",
					   strerror(errno));
		if (r < 0)
			return build_line_err(b, in, 400, "invalid", "%s --chown: %s", ah_df_kind_name(in->kind),
					uerr.msg);
	}
	if (chmod) {
		char *end;
		long m = strtol(chmod, &end, 8);

		if (!*chmod || *end || m < 0 || m > 07777)
			return build_line_err(b, in, 400, "invalid", "%s --chmod: '%s' is not an octal mode",
					ah_df_kind_name(in->kind), chmod);
		x->chmod_set = 1;
		x->chmod = (mode_t)m;
	}
	return 0;
}


/* The root the sources come from: the context, a stage, or an image. */
int build_open_src_root(struct builder *b, const struct ah_df_instr *in, struct src_root *r)
{
	const char *from = ah_df_flag(in, "from");
	struct bstage *src;

	r->fd = -1;
	r->key[0] = '\0';
	if (!from) {
		r->fd = dup(b->ctx_fd);
		r->resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
		r->from_ctx = 1;
		return r->fd < 0 ? ah_internal(b->err, "dup: %s", strerror(errno)) : 0;
	}
	if (in->kind == AH_DF_ADD)
		return build_line_err(b, in, 400, "invalid", "ADD --from is not supported; use COPY --from");
	if (in->from_stage < 0) {
		/* An image: a stage of its own, built from nothing but its FROM. */
		struct ah_image img;
		int ret = -1;

		memset(&img, 0, sizeof(img));
		src = xcalloc(1, sizeof(*src));
		if (ah_image_load(b->s, from, &img, b->err) < 0) {
			if (b->err->status != 404 ||
			    ah_registry_pull(b->s, from, NULL, NULL, &img, b->err) < 0) {
				build_at_line(b, in);
				goto img_done;
			}
		}
		src->nr = src->alloc = img.nr_layers;
		src->layers = xcalloc(img.nr_layers + 1, sizeof(*src->layers));
		memcpy(src->layers, img.layers, img.nr_layers * sizeof(*src->layers));
		if (build_materialize(b, src) < 0) {
			build_at_line(b, in);
			goto img_done;
		}
		r->fd = build_stage_view(b, src);
		snprintf(r->key, sizeof(r->key), "image:%s", img.digest);
		ret = r->fd < 0 ? ah_internal(b->err, "open: %s", strerror(errno)) : 0;
img_done:
		/* the directories stay in b->tmp, removed with it */
		build_stage_release(src);
		free(src);
		ah_image_release(&img);
		r->resolve = RESOLVE_IN_ROOT;
		r->from_ctx = 0;
		return ret;
	}
	if (build_stage(b, (size_t)in->from_stage) < 0)
		return -1;
	src = &b->st[in->from_stage];
	snprintf(r->key, sizeof(r->key), "stage:%s", src->key);
	r->resolve = RESOLVE_IN_ROOT;
	r->from_ctx = 0;
	return 0;
}

int build_src_root_open_fd(struct builder *b, const struct ah_df_instr *in, struct src_root *r)
{
	struct bstage *src;

	if (r->fd >= 0)
		return 0;
	src = &b->st[in->from_stage];
	if (build_materialize(b, src) < 0)
		return build_at_line(b, in);
	r->fd = build_stage_view(b, src);
	return r->fd < 0 ? ah_internal(b->err, "open: %s", strerror(errno)) : 0;
}

/* The sources of in (patterns expanded), relative to the source root. */
int build_list_sources(struct builder *b, const struct ah_df_instr *in, struct src_root *r,
		       char ***out, size_t *nr)
{
	size_t i, alloc = 0;
	const char *kind = ah_df_kind_name(in->kind);

	*out = NULL;
	*nr = 0;
	for (i = 0; i + 1 < in->args_nr; i++) {
		const char *src = in->args[i];
		struct strbuf cl = STRBUF_INIT;
		char **comps = NULL, *copy, *save = NULL, *c;
		size_t n = 0, before = *nr, j;

		if (!strncmp(src, "<<", 2))
			continue;	/* a heredoc */
		if (is_url(src)) {
			strbuf_release(&cl);
			return build_line_err(b, in, 400, "invalid",
					"%s from a URL ('%s') is not supported: builds have no network; "
					"download it in a RUN with --network host", kind, src);
		}
		if (r->from_ctx && (src[0] == '/' || build_clean_path(src, &cl, 0) < 0)) {
			strbuf_release(&cl);
			return build_line_err(b, in, 400, "invalid",
					"%s: '%s' is outside the build context", kind, src);
		}
		if (!r->from_ctx)
			build_clean_path(src, &cl, 1);
		copy = xstrdup(cl.buf);
		comps = xcalloc(cl.len / 2 + 2, sizeof(*comps));
		for (c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save))
			comps[n++] = c;
		if (has_glob(cl.buf)) {
			expand(r->fd, r->resolve, "", comps, 0, n, out, nr, &alloc);
		} else {
			if (*nr == alloc) {
				alloc = alloc ? 2 * alloc : 8;
				*out = xrealloc(*out, alloc * sizeof(**out));
			}
			(*out)[(*nr)++] = xstrdup(cl.buf);
		}
		free(comps);
		free(copy);
		/* .dockerignore drops what it excludes; a source that names nothing is an error */
		for (j = before; r->from_ctx && j < *nr;) {
			struct stat sb;
			int isdir = fstatat(r->fd, *(*out)[j] ? (*out)[j] : ".", &sb, 0) == 0 &&
				    S_ISDIR(sb.st_mode);

			if (*(*out)[j] &&
			    ah_dockerignore_match(b->ignore, (*out)[j], isdir) == AH_DI_EXCLUDED) {
				free((*out)[j]);
				memmove(*out + j, *out + j + 1, (*nr - j - 1) * sizeof(**out));
				(*nr)--;
			} else {
				j++;
			}
		}
		if (*nr == before) {
			build_line_err(b, in, 400, "invalid",
				 "%s: '%s': no such file in the %s%s", kind, src,
				 r->from_ctx ? "build context" : "source stage",
				 r->from_ctx && b->ignore ? " (or excluded by .dockerignore)" : "");
			strbuf_release(&cl);
			return -1;
		}
		strbuf_release(&cl);
	}
	return 0;
}

static int open_source(struct builder *b, const struct ah_df_instr *in, struct src_root *r,
		       const char *rel, int flags)
{
	struct ah_err e = AH_ERR_INIT;
	int fd;

	if (r->from_ctx) {
		/* The context is a repository's: its rule (lib/repopath.h). */
		fd = ah_repo_open(r->fd, rel, flags, &e);
		if (fd < 0 && errno == EXDEV)
			return build_line_err(b, in, 400, "invalid", "%s: '%s': %s",
					ah_df_kind_name(in->kind), rel, e.msg);
	} else {
		fd = build_openat2(r->fd, rel, flags, r->resolve);
	}
	if (fd >= 0)
		return fd;
	if (errno == EXDEV || errno == ELOOP)
		return build_line_err(b, in, 400, "invalid", "%s: '%s' points outside the build context",
				ah_df_kind_name(in->kind), rel);
	if (errno == ENOENT)
		return build_line_err(b, in, 400, "invalid", "%s: '%s': no such file in the %s",
				ah_df_kind_name(in->kind), rel,
				r->from_ctx ? "build context" : "source stage");
	return build_line_err(b, in, 500, "internal", "%s: cannot open '%s': %s",
			ah_df_kind_name(in->kind), rel, strerror(errno));
}

/* The directory holding source path src, opened: a copy goes through it. */
static int open_source_parent(struct builder *b, const struct ah_df_instr *in,
			      struct src_root *r, const char *src)
{
	struct strbuf sp = STRBUF_INIT;
	const char *sl = strrchr(src, '/');
	int fd;

	strbuf_add(&sp, src, sl ? (size_t)(sl - src) : 0);
	fd = open_source(b, in, r, sp.buf, O_RDONLY | O_DIRECTORY);
	strbuf_release(&sp);
	return fd;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* Hashes (md) or copies (into st's root) the sources of a COPY or ADD. */
int build_copy(struct builder *b, struct bstage *st, const struct ah_df_instr *in,
	       struct src_root *r, char **srcs, size_t nsrc, EVP_MD_CTX *md)
{
	struct xfer x;
	const char *dest = in->args[in->args_nr - 1];
	const char *wd = json_string_value(json_object_get(build_cfg_of(st), "WorkingDir"));
	struct strbuf dpath = STRBUF_INIT;
	char *joined;
	int rootfd = -1, ret = -1, dest_dir, nsources, rc;
	size_t i;

	memset(&x, 0, sizeof(x));
	x.b = b;
	x.in = in;
	x.md = md;
	x.from_ctx = r->from_ctx;
	rc = parse_chown(b, in, st, &x);
	if (rc < 0)
		goto done;
	joined = dest[0] == '/' ? xstrdup(dest) : xstrfmt("%s/%s", wd && *wd ? wd : "/", dest);
	build_clean_path(joined, &dpath, 1);
	free(joined);
	nsources = (int)(nsrc + in->heredocs_nr);
	dest_dir = dest[strlen(dest) - 1] == '/' || nsources > 1 ||
		   (strlen(dest) >= 2 && !strcmp(dest + strlen(dest) - 2, "/.")) || !strcmp(dest, ".");
	if (md) {
		build_md_str(md, dpath.buf);
		build_md_int(md, dest_dir);
		if (!r->from_ctx) {
			build_md_str(md, r->key);
			ret = 0;
			goto done;
		}
		for (i = 0; i < nsrc; i++) {
			int sfd = open_source(b, in, r, srcs[i], O_PATH);
			struct stat sb;

			if (sfd < 0)
				goto done;
			fstat(sfd, &sb);
			build_md_str(md, srcs[i]);
			if (S_ISDIR(sb.st_mode)) {
				rc = xfer_entry(&x, sfd, ".", -1, "", srcs[i], 0);
			} else {
				int spfd = open_source_parent(b, in, r, srcs[i]);

				rc = spfd < 0 ? -1 : xfer_entry(&x, spfd, base_name(srcs[i]), -1,
								base_name(srcs[i]), srcs[i], 0);
				if (spfd >= 0)
					close(spfd);
			}
			close(sfd);
			if (rc < 0)
				goto done;
		}
		ret = 0;
		goto done;
	}
	rootfd = build_stage_rootfd(st);
	if (rootfd < 0) {
		xfer_fail(&x, "open", st->root);
		goto done;
	}
	if (!dest_dir) {
		/* An existing directory is a directory destination too. */
		int t = build_openat2(rootfd, dpath.buf, O_RDONLY | O_DIRECTORY, RESOLVE_IN_ROOT);

		if (t >= 0) {
			dest_dir = 1;
			close(t);
		}
	}
	for (i = 0; i < nsrc; i++) {
		int sfd = open_source(b, in, r, srcs[i], O_PATH), pfd;
		struct stat sb;
		struct strbuf parent = STRBUF_INIT;
		const char *leaf;

		if (sfd < 0)
			goto done;
		fstat(sfd, &sb);
		if (S_ISDIR(sb.st_mode)) {
			/* a directory: its contents */
			pfd = build_mkdir_in_root(rootfd, dpath.buf, x.uid, x.gid);
			if (pfd < 0) {
				close(sfd);
				xfer_fail(&x, "create", dpath.buf);
				goto done;
			}
			rc = 0;
			{
				char **names;
				size_t nn, j;
				int dfd = openat(sfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

				if (dfd < 0 || list_names(dfd, &names, &nn) < 0) {
					rc = xfer_fail(&x, "read", srcs[i]);
				} else {
					for (j = 0; j < nn && rc == 0; j++) {
						char *c = xstrfmt("%s%s%s", srcs[i], *srcs[i] ? "/" : "",
								  names[j]);

						rc = xfer_entry(&x, dfd, names[j], pfd, names[j], c, 1);
						free(c);
					}
					ah_names_free(names, nn);
				}
				if (dfd >= 0)
					close(dfd);
			}
			close(pfd);
			close(sfd);
			if (rc < 0)
				goto done;
			continue;
		}
		if (dest_dir) {
			pfd = build_mkdir_in_root(rootfd, dpath.buf, x.uid, x.gid);
			leaf = base_name(srcs[i]);
		} else {
			char *slash = strrchr(dpath.buf, '/');

			strbuf_add(&parent, dpath.buf, slash ? (size_t)(slash - dpath.buf) : 0);
			pfd = build_mkdir_in_root(rootfd, parent.buf, x.uid, x.gid);
			leaf = slash ? slash + 1 : dpath.buf;
		}
		if (pfd < 0) {
			strbuf_release(&parent);
			close(sfd);
			xfer_fail(&x, "create", dpath.buf);
			goto done;
		}
		rc = 0;
		/* ADD extracts local archives unless --unpack=false says to copy them as they are. */
		if (in->kind == AH_DF_ADD && S_ISREG(sb.st_mode) &&
		    strcmp(ah_df_flag(in, "unpack") ?: "true", "false")) {
			char link[64];
			int afd;

			snprintf(link, sizeof(link), "/proc/self/fd/%d", sfd);
			afd = open(link, O_RDONLY | O_CLOEXEC);
			if (afd >= 0 && is_archive(afd)) {
				int xfd = dest_dir ? dup(pfd) : build_mkdir_in_root(rootfd, dpath.buf, 0, 0);

				rc = xfd < 0 ? xfer_fail(&x, "create", dpath.buf)
					     : extract_archive(&x, afd, xfd, srcs[i]);
				if (xfd >= 0)
					close(xfd);
				close(afd);
				close(pfd);
				close(sfd);
				strbuf_release(&parent);
				if (rc < 0)
					goto done;
				continue;
			}
			if (afd >= 0)
				close(afd);
		}
		{
			/* sfd is O_PATH: copy through its parent */
			int spfd = open_source_parent(b, in, r, srcs[i]);

			if (spfd < 0) {
				rc = -1;
			} else {
				rc = xfer_entry(&x, spfd, base_name(srcs[i]), pfd, leaf, srcs[i], 1);
				close(spfd);
			}
		}
		close(pfd);
		close(sfd);
		strbuf_release(&parent);
		if (rc < 0)
			goto done;
	}
	for (i = 0; i < in->heredocs_nr; i++) {
		const struct ah_df_heredoc *h = &in->heredocs[i];
		struct strbuf parent = STRBUF_INIT;
		const char *leaf = h->name;
		char *slash = strrchr(dpath.buf, '/');
		int pfd, ofd;
		size_t len = strlen(h->body);

		if (dest_dir) {
			pfd = build_mkdir_in_root(rootfd, dpath.buf, x.uid, x.gid);
		} else {
			strbuf_add(&parent, dpath.buf, slash ? (size_t)(slash - dpath.buf) : 0);
			pfd = build_mkdir_in_root(rootfd, parent.buf, x.uid, x.gid);
			leaf = slash ? slash + 1 : dpath.buf;
		}
		strbuf_release(&parent);
		if (pfd < 0) {
			xfer_fail(&x, "create", dpath.buf);
			goto done;
		}
		unlinkat(pfd, leaf, 0);
		ofd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (ofd < 0 || write(ofd, h->body, len) != (ssize_t)len) {
			if (ofd >= 0)
				close(ofd);
			close(pfd);
			xfer_fail(&x, "write", leaf);
			goto done;
		}
		if (fchown(ofd, x.uid, x.gid) < 0 && geteuid() == 0) {
			close(ofd);
			close(pfd);
			xfer_fail(&x, "chown", leaf);
			goto done;
		}
		fchmod(ofd, x.chmod_set ? x.chmod : 0644);
		close(ofd);
		close(pfd);
	}
	ret = 0;
done:
	if (rootfd >= 0)
		close(rootfd);
	strbuf_release(&dpath);
	return ret;
}
