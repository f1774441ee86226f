/*
 * The build engine: see build.h.
 *
 * Native engine. Each stage keeps its image config and its layers; its
 * root file system is only made (in STATE/build-tmp/<random>/) when a step
 * has to run. As root with overlayfs, it is an overlay: the layers'
 * directories (images/unpacked, see ah_image_layer_dir) as lowers and an
 * upper per step; the step's layer is what the upper holds, and the upper
 * is then a lower. Otherwise the base's and the cached layers are applied
 * to two directories, root (where the step runs) and snap (the state
 * before it); after a step, the layer is ah_image_layer_from_dir(root,
 * snap), then applied to both, so they are equal again (mtimes included,
 * since layers fix them). Both ways give the same layers. A RUN that
 * rewrites a file in place changes its mtime, so the diff sees it.
 *
 * Cache: every step has a key, sha256 over the previous key, the
 * instruction (its words after substitution, flags, heredocs, the ARG
 * values a RUN sees) and, for COPY and ADD from the context, the paths,
 * modes and bytes of the sources (from a stage: that stage's key). A file
 * STATE/build-cache/<key> holds {layer: {digest, diffId, size} | null}.
 * A cached layer whose blob is gone is a miss.
 *
 * ADD of a URL is refused: builds have no network by default, and a
 * download belongs in a RUN with --network host. ADD of a local tar
 * (plain or compressed) extracts it, member names checked.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "build.h"
#include "dockerfile.h"
#include "dockerignore.h"
#include "fsutil.h"
#include "image.h"
#include "ops.h"
#include "parse.h"
#include "registry.h"
#include "repopath.h"
#include "state.h"
#include "strbuf.h"
#include "timeutil.h"
#include "tmpdir.h"

#define MAX_DEPTH 256
#define MAX_SOURCES 100000
#define LOG_TAIL 300

static const char default_path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct bstage {
	json_t *config;		/* the whole image config */
	struct ah_layer *layers;
	size_t nr, alloc;
	char key[65];
	char *root, *snap;	/* made on demand */
	/* overlay mode: one directory per layer, bottom first; the step's mount */
	char **lowers;
	size_t lowers_nr, lowers_alloc;
	char *upper, *work;
	int mnt;		/* > 0 while a step runs */
	struct ah_platform plat;	/* what its config says */
	int built, needed, cmd_set;
};

struct builder {
	const struct ah_build_opts *o;
	struct ah_image_store *s;
	struct ah_dockerfile *df;
	struct ah_dockerignore *ignore;
	char *tmp, *cache_dir, *ctx;
	int tmp_lock;	/* the flock that owns tmp */
	int ctx_fd;
	int overlay;		/* stages are overlay mounts, not root + snap copies; -1: not known yet */
	struct bstage *st;
	json_t *steps;
	unsigned seq;
	char created[AH_ISO_LEN];
	struct ah_err *err;
};

/* ---- small helpers ---- */

static int openat2_(int dirfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.resolve = resolve;
	return (int)syscall(SYS_openat2, dirfd, *path ? path : ".", &how, sizeof(how));
}

static void hex_final(EVP_MD_CTX *md, char out[65])
{
	unsigned char d[32];
	unsigned n = 0;
	int i;

	EVP_DigestFinal_ex(md, d, &n);
	for (i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
	out[64] = '\0';
}

/* A length-prefixed string, so the fields of a key cannot run together. */
static void md_str(EVP_MD_CTX *md, const char *s)
{
	uint64_t n = s ? strlen(s) : UINT64_MAX;

	EVP_DigestUpdate(md, &n, sizeof(n));
	if (s)
		EVP_DigestUpdate(md, s, strlen(s));
}

static void md_int(EVP_MD_CTX *md, int64_t v)
{
	EVP_DigestUpdate(md, &v, sizeof(v));
}

static int line_err(struct builder *b, const struct ah_df_instr *in, int status, const char *code,
		    const char *fmt, ...) APPHUB_FMT(5, 6);
static int line_err(struct builder *b, const struct ah_df_instr *in, int status, const char *code,
		    const char *fmt, ...)
{
	char msg[sizeof(b->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ah_error(b->err, status, code, "%s:%d: %s", b->df->file, in->line, msg);
}

/* Puts "FILE:LINE: " before an error a lower layer set. */
static int at_line(struct builder *b, const struct ah_df_instr *in)
{
	char msg[sizeof(b->err->msg)];
	char prefix[PATH_MAX + 32];

	snprintf(prefix, sizeof(prefix), "%s:%d: ", b->df->file, in->line);
	if (!strncmp(b->err->msg, prefix, strlen(prefix)))
		return -1;
	memcpy(msg, b->err->msg, sizeof(msg));
	{
		size_t pl = strlen(prefix) < sizeof(b->err->msg) - 1 ? strlen(prefix)
								      : sizeof(b->err->msg) - 1;

		memcpy(b->err->msg, prefix, pl);
		memcpy(b->err->msg + pl, msg, sizeof(b->err->msg) - pl - 1);
		b->err->msg[sizeof(b->err->msg) - 1] = '\0';
	}
	return -1;
}

static void logf_(struct builder *b, const char *fmt, ...) APPHUB_FMT(2, 3);
static void logf_(struct builder *b, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n;

	if (b->o->log_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && write(b->o->log_fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1) < 0)
		return;
}

/* Cleans a '/'-separated path: no "", "." or ".." components; 0, or -1 if it climbs above. */
static int clean_path(const char *in, struct strbuf *out, int clamp)
{
	char *copy = xstrdup(in), *save = NULL, *c;
	char **comps = xcalloc(strlen(in) / 2 + 2, sizeof(*comps));
	size_t n = 0, i;
	int ret = 0;

	for (c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			if (n)
				n--;
			else if (!clamp)
				ret = -1;
			continue;
		}
		comps[n++] = c;
	}
	strbuf_setlen(out, 0);
	for (i = 0; i < n; i++) {
		if (i)
			strbuf_addch(out, '/');
		strbuf_addstr(out, comps[i]);
	}
	free(comps);
	free(copy);
	return ret;
}

/* ---- the cache ---- */

static json_t *cache_get(struct builder *b, const char *key)
{
	char *path = xstrfmt("%s/%s", b->cache_dir, key);
	json_t *v = json_load_file(path, 0, NULL), *layer;

	free(path);
	if (!json_is_object(v))
		goto miss;
	layer = json_object_get(v, "layer");
	if (json_is_null(layer))
		return v;
	if (!json_is_object(layer) ||
	    !ah_digest_valid(json_string_value(json_object_get(layer, "digest")) ?: "") ||
	    !ah_digest_valid(json_string_value(json_object_get(layer, "diffId")) ?: "") ||
	    !ah_image_blob_exists(b->s, json_string_value(json_object_get(layer, "digest"))))
		goto miss;
	return v;
miss:
	json_decref(v);
	return NULL;
}

static void cache_put(struct builder *b, const char *key, const struct ah_layer *layer)
{
	char *path = xstrfmt("%s/%s", b->cache_dir, key), *tmp = xstrfmt("%s.tmp%d", path, getpid());
	json_t *v = layer ? json_pack("{s:{s:s, s:s, s:I}}", "layer", "digest", layer->digest,
				      "diffId", layer->diff_id, "size", (json_int_t)layer->size)
			  : json_pack("{s:n}", "layer");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), ok;

	/* 0600 as the rest of the state (json_dump_file would take the umask's) */
	ok = fd >= 0 && json_dumpfd(v, fd, JSON_COMPACT) == 0;
	if (fd >= 0 && close(fd) < 0)
		ok = 0;
	if (ok && rename(tmp, path) == 0)
		tmp[0] = '\0';
	if (tmp[0])
		unlink(tmp);
	json_decref(v);
	free(path);
	free(tmp);
}

/* ---- stage state ---- */

static json_t *cfg_of(struct bstage *st)
{
	json_t *c = json_object_get(st->config, "config");

	if (!json_is_object(c)) {
		c = json_object();
		json_object_set_new(st->config, "config", c);
	}
	return c;
}

static void add_layer(struct bstage *st, const struct ah_layer *l)
{
	if (st->nr == st->alloc) {
		st->alloc = st->alloc ? 2 * st->alloc : 8;
		st->layers = xrealloc(st->layers, st->alloc * sizeof(*st->layers));
	}
	st->layers[st->nr++] = *l;
}

static void add_history(struct builder *b, struct bstage *st, const char *by, int empty)
{
	json_t *h = json_object_get(st->config, "history");

	if (!json_is_array(h)) {
		h = json_array();
		json_object_set_new(st->config, "history", h);
	}
	json_array_append_new(h, json_pack("{s:s, s:s, s:s}", "created", b->created, "created_by",
					   by, "comment", "apphub build"));
	if (empty)
		json_object_set_new(json_array_get(h, json_array_size(h) - 1), "empty_layer",
				    json_true());
}

static int mkdir_tmp(struct builder *b, const char *what, char **out)
{
	char *p = xstrfmt("%s/%u-%s", b->tmp, b->seq++, what);

	if (mkdir(p, 0755) < 0) {
		ah_internal(b->err, "cannot create '%s': %s", p, strerror(errno));
		free(p);
		return -1;
	}
	*out = p;
	return 0;
}

/* Layers applied to two directories at once: root and snap are independent. */
struct apply_job {
	struct ah_image_store *s;
	const struct ah_layer *layers;
	size_t nr;
	const char *dest;
	struct ah_err err;
	int ret;
};

static void *apply_all(void *arg)
{
	struct apply_job *j = arg;
	size_t i;

	j->ret = 0;
	for (i = 0; i < j->nr && !j->ret; i++)
		j->ret = ah_image_apply_layer(j->s, j->layers[i].digest, j->dest, &j->err);
	return NULL;
}

static int apply_both(struct builder *b, struct bstage *st, const struct ah_layer *layers,
		      size_t nr)
{
	struct apply_job a = { b->s, layers, nr, st->root, AH_ERR_INIT, 0 };
	struct apply_job c = { b->s, layers, nr, st->snap, AH_ERR_INIT, 0 };
	pthread_t t;
	/* libarchive reads the umask by setting it: put it back afterwards */
	mode_t mask = umask(022);
	int threaded = pthread_create(&t, NULL, apply_all, &c) == 0;

	apply_all(&a);
	if (threaded)
		pthread_join(t, NULL);
	else
		apply_all(&c);
	umask(mask);
	if (a.ret < 0 || c.ret < 0) {
		*b->err = a.ret < 0 ? a.err : c.err;
		return -1;
	}
	return 0;
}

/*
 * Overlay mode (root, a kernel with overlayfs's lowerdir+): a stage is the
 * layers' directories as overlay lowers (unpacked once, kept in the image
 * store, shared by builds) plus one upper directory per step, mounted
 * (detached, fsmount) only while the step runs. The layer is what the
 * upper holds; the upper is then a lower of the next step. Nothing is
 * unpacked twice and nothing is copied back.
 */
static int ovl_mount(char *const *lowers, size_t nr, const char *upper, const char *work)
{
	return ah_overlay_mount(lowers, nr, upper, work);
}

/* Overlay mode if this process may mount one (and $APPHUB_BUILD_OVERLAY is not 0). */
static int probe_overlay(struct builder *b)
{
	const char *env = getenv("APPHUB_BUILD_OVERLAY");
	char *lo = NULL, *up = NULL, *wk = NULL;
	int mnt, ok = 0;

	if (geteuid() != 0 || (env && !strcmp(env, "0")))
		return 0;
	lo = xstrfmt("%s/probe-lower", b->tmp);
	up = xstrfmt("%s/probe-upper", b->tmp);
	wk = xstrfmt("%s/probe-work", b->tmp);
	if (!mkdir(lo, 0755) && !mkdir(up, 0755) && !mkdir(wk, 0755)) {
		mnt = ovl_mount(&lo, 1, up, wk);
		ok = mnt >= 0;
		if (mnt >= 0)
			close(mnt);
	}
	rmdir(lo);
	rmdir(up);
	if (wk) {
		struct ah_err e = AH_ERR_INIT;

		ah_remove_tree(wk, &e);
	}
	free(lo);
	free(up);
	free(wk);
	return ok;
}

static void push_lower(struct bstage *st, char *dir)
{
	if (st->lowers_nr == st->lowers_alloc) {
		st->lowers_alloc = st->lowers_alloc ? 2 * st->lowers_alloc : 8;
		st->lowers = xrealloc(st->lowers, st->lowers_alloc * sizeof(*st->lowers));
	}
	st->lowers[st->lowers_nr++] = dir;
}

static void stage_release(struct bstage *st)
{
	size_t i;

	if (st->mnt > 0)
		close(st->mnt);
	st->mnt = 0;
	for (i = 0; i < st->lowers_nr; i++)
		free(st->lowers[i]);
	free(st->lowers);
	free(st->layers);
	free(st->root);
	free(st->snap);
	free(st->upper);
	free(st->work);
}

static int materialize(struct builder *b, struct bstage *st)
{
	size_t i;

	if (st->root)
		return 0;
	if (b->overlay < 0)
		b->overlay = probe_overlay(b);
	if (!b->overlay) {
		if (mkdir_tmp(b, "root", &st->root) < 0 || mkdir_tmp(b, "snap", &st->snap) < 0)
			return -1;
		return apply_both(b, st, st->layers, st->nr);
	}
	for (i = st->lowers_nr; i < st->nr; i++) {
		char *dir;

		if (ah_image_layer_dir(b->s, st->layers[i].digest, &dir, b->err) < 0)
			return -1;
		push_lower(st, dir);
	}
	/* where the sandbox attaches the mount */
	return mkdir_tmp(b, "root", &st->root);
}

/* An empty directory, the lower of nothing. */
static char *empty_lower(struct builder *b)
{
	char *empty = xstrfmt("%s/empty", b->tmp);

	if (mkdir(empty, 0755) < 0 && errno != EEXIST) {
		ah_internal(b->err, "cannot create '%s': %s", empty, strerror(errno));
		free(empty);
		return NULL;
	}
	return empty;
}

/* The mount a step of st writes through (overlay mode). */
static int step_begin(struct builder *b, struct bstage *st)
{
	if (!b->overlay || st->mnt > 0)
		return 0;
	free(st->upper);
	free(st->work);
	st->upper = st->work = NULL;
	if (mkdir_tmp(b, "upper", &st->upper) < 0 || mkdir_tmp(b, "work", &st->work) < 0)
		return -1;
	if (!st->lowers_nr) {
		/* FROM scratch: overlayfs wants a lower all the same */
		char *empty = empty_lower(b);

		if (!empty)
			return -1;
		st->mnt = ovl_mount(&empty, 1, st->upper, st->work);
		free(empty);
	} else {
		st->mnt = ovl_mount(st->lowers, st->lowers_nr, st->upper, st->work);
	}
	if (st->mnt < 0) {
		st->mnt = 0;
		return ah_internal(b->err, "cannot mount an overlay of %zu layers: %s",
				   st->lowers_nr, strerror(errno));
	}
	return 0;
}

/* A directory fd for st's root file system (O_PATH). */
static int stage_rootfd(struct bstage *st)
{
	if (st->mnt > 0)
		return fcntl(st->mnt, F_DUPFD_CLOEXEC, 0);
	return open(st->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* A read-only view of a built stage (a source of COPY --from); -1 with errno. */
static int stage_view(struct builder *b, struct bstage *st)
{
	char *empty, **v;
	int fd;

	if (!b->overlay)
		return open(st->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* overlayfs wants two lowers when there is no upper */
	empty = empty_lower(b);
	if (!empty)
		return -1;
	v = xcalloc(st->lowers_nr + 1, sizeof(*v));
	v[0] = empty;
	if (st->lowers_nr)
		memcpy(v + 1, st->lowers, st->lowers_nr * sizeof(*v));
	fd = ovl_mount(v, st->lowers_nr + 1, NULL, NULL);
	free(v);
	free(empty);
	return fd;
}

/* The step's changes: a layer; root and snap (or the lowers) then have it. */
static int capture(struct builder *b, struct bstage *st, struct ah_layer *l)
{
	struct ah_err e = AH_ERR_INIT;
	const char **top;
	size_t i;
	int ret;

	if (!b->overlay) {
		if (ah_image_layer_from_dir(b->s, st->root, st->snap, l, b->err) < 0 ||
		    apply_both(b, st, l, 1) < 0)
			return -1;
		return 0;
	}
	if (st->mnt > 0)
		close(st->mnt);
	st->mnt = 0;
	top = xcalloc(st->lowers_nr + 1, sizeof(*top));
	for (i = 0; i < st->lowers_nr; i++)
		top[i] = st->lowers[st->lowers_nr - 1 - i];
	ret = ah_image_layer_from_overlay(b->s, st->upper, top, st->lowers_nr, l, b->err);
	free(top);
	if (ret < 0)
		return -1;
	push_lower(st, st->upper);
	st->upper = NULL;
	ah_remove_tree(st->work, &e);
	free(st->work);
	st->work = NULL;
	return 0;
}

/* A cached layer onto a stage whose root exists already. */
static int capture_apply(struct builder *b, struct bstage *st, const struct ah_layer *l)
{
	char *dir;

	if (!b->overlay)
		return apply_both(b, st, l, 1);
	if (ah_image_layer_dir(b->s, l->digest, &dir, b->err) < 0)
		return -1;
	push_lower(st, dir);
	return 0;
}

/* "/a/b" for WORKDIR arg after prev. */
static char *resolve_workdir(struct bstage *st, const char *arg)
{
	const char *prev = json_string_value(json_object_get(json_object_get(st->config, "config"),
							     "WorkingDir"));
	char *joined = arg[0] == '/' ? xstrdup(arg) : xstrfmt("%s/%s", prev && *prev ? prev : "/", arg);
	struct strbuf p = STRBUF_INIT;

	clean_path(joined, &p, 1);
	free(joined);
	joined = xstrfmt("/%s", p.buf);
	strbuf_release(&p);
	return joined;
}

/* ---- the key of a step ---- */

static void key_instr(EVP_MD_CTX *md, const struct ah_df_instr *in)
{
	size_t i;

	md_str(md, ah_df_kind_name(in->kind));
	md_int(md, in->exec_form);
	md_int(md, (int64_t)in->args_nr);
	for (i = 0; i < in->args_nr; i++)
		md_str(md, in->args[i]);
	md_int(md, (int64_t)in->flags_nr);
	for (i = 0; i < in->flags_nr; i++) {
		md_str(md, in->flags[i].name);
		md_str(md, in->flags[i].value);
	}
	md_int(md, (int64_t)in->kvs_nr);
	for (i = 0; i < in->kvs_nr; i++) {
		md_str(md, in->kvs[i].key);
		md_str(md, in->kvs[i].value);
	}
	md_int(md, (int64_t)in->heredocs_nr);
	for (i = 0; i < in->heredocs_nr; i++) {
		md_str(md, in->heredocs[i].name);
		md_str(md, in->heredocs[i].body);
		md_int(md, in->heredocs[i].fd);
	}
	md_int(md, (int64_t)in->env_nr);
	for (i = 0; i < in->env_nr; i++)
		md_str(md, in->env[i]);
	md_str(md, in->original);
}

/* ---- users ---- */

/* Looks name up in ROOT/etc/passwd or group: its id (and the user's group). */
static int lookup_id(int rootfd, const char *file, const char *name, long *id, long *gid)
{
	int fd = -1, found = 0;
	FILE *f = NULL;
	char line[1024];

	fd = openat2_(rootfd, file, O_RDONLY, RESOLVE_IN_ROOT);
	if (fd < 0 || !(f = fdopen(fd, "r"))) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while (!found && fgets(line, sizeof(line), f)) {
		char *save = NULL, *n = strtok_r(line, ":", &save), *x, *i, *g;

		x = strtok_r(NULL, ":", &save);
		i = strtok_r(NULL, ":", &save);
		g = strtok_r(NULL, ":", &save);
		(void)x;
		if (!n || !i || strcmp(n, name))
			continue;
		*id = strtol(i, NULL, 10);
		if (gid)
			*gid = g ? strtol(g, NULL, 10) : 0;
		found = 1;
	}
	fclose(f);
	return found;
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

/* "user[:group]" in the stage's root: uid and gid. */
static int resolve_user(int rootfd, const char *spec, uid_t *uid, gid_t *gid,
			char *why, size_t whylen)
{
	char *u = xstrdup(spec && *spec ? spec : "0"), *g = strchr(u, ':');
	long id = 0, gr = 0;
	int ret = -1;

	if (g)
		*g++ = '\0';
	if (is_number(u)) {
		id = strtol(u, NULL, 10);
		gr = 0;
	} else if (!lookup_id(rootfd, "etc/passwd", u, &id, &gr)) {
		snprintf(why, whylen, "unable to find user %s: no matching entries in passwd file", u);
		goto done;
	}
	if (g) {
		if (is_number(g)) {
			gr = strtol(g, NULL, 10);
		} else if (!lookup_id(rootfd, "etc/group", g, &gr, NULL)) {
			snprintf(why, whylen, "unable to find group %s: no matching entries in group file", g);
			goto done;
		}
	}
	if (id < 0 || id > 0x7fffffff || gr < 0 || gr > 0x7fffffff) {
		snprintf(why, whylen, "invalid user '%s'", spec);
		goto done;
	}
	*uid = (uid_t)id;
	*gid = (gid_t)gr;
	ret = 0;
done:
	free(u);
	return ret;
}

/* ---- directories inside a root ---- */

/* Opens (making, owned by uid:gid) the directory path inside root; an fd or -1 with errno. */
static int mkdir_in_root(int rootfd, const char *path, uid_t uid, gid_t gid)
{
	struct strbuf p = STRBUF_INIT, pre = STRBUF_INIT;
	char *copy, *save = NULL, *c;
	int fd = dup(rootfd), nfd;

	if (fd < 0)
		return -1;
	clean_path(path, &p, 1);
	copy = xstrdup(p.buf);
	for (c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (pre.len)
			strbuf_addch(&pre, '/');
		strbuf_addstr(&pre, c);
		nfd = openat2_(rootfd, pre.buf, O_RDONLY | O_DIRECTORY, RESOLVE_IN_ROOT);
		if (nfd < 0 && errno == ENOENT) {
			if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST)
				goto fail;
			if (fchownat(fd, c, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && geteuid() == 0)
				goto fail;
			nfd = openat2_(rootfd, pre.buf, O_RDONLY | O_DIRECTORY, RESOLVE_IN_ROOT);
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
	return line_err(x->b, x->in, 500, "internal", "%s: cannot %s '%s': %s",
			ah_df_kind_name(x->in->kind), what, path, strerror(errno));
}

static int copy_bytes(int in, int out)
{
	char buf[65536];
	ssize_t n;

	for (;;) {
		ssize_t c = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);

		if (c > 0)
			continue;
		if (c == 0)
			return 0;
		break;
	}
	/* copy_file_range not possible here: plain reads */
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return -1;
	return n < 0 ? -1 : 0;
}

static int hash_file(EVP_MD_CTX *md, int fd)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(md, buf, (size_t)n);
	return n < 0 ? -1 : 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_names(int dfd, char ***out, size_t *nr)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	size_t alloc = 0;

	*out = NULL;
	*nr = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*nr == alloc) {
			alloc = alloc ? 2 * alloc : 32;
			*out = xrealloc(*out, alloc * sizeof(**out));
		}
		(*out)[(*nr)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*nr)
		qsort(*out, *nr, sizeof(**out), cmp_name);
	return 0;
}

static void free_names(char **v, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++)
		free(v[i]);
	free(v);
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
		return line_err(x->b, x->in, 400, "invalid", "'%s': nested too deep", crel);
	if (++x->count > MAX_SOURCES)
		return line_err(x->b, x->in, 400, "invalid", "more than %d files to copy", MAX_SOURCES);
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
		md_str(x->md, crel);
		md_str(x->md, depth ? "" : dname);
		md_int(x->md, (int64_t)(sb.st_mode & S_IFMT));
		md_int(x->md, (int64_t)mode);
		md_int(x->md, (int64_t)sb.st_size);
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
				free_names(names, nr);
				xfer_fail(x, "create", dname);
				goto done;
			}
			cfd = openat(dfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0) {
				free_names(names, nr);
				xfer_fail(x, "open", dname);
				goto done;
			}
		}
		for (i = 0; i < nr; i++) {
			char *c = xstrfmt("%s%s%s", crel, *crel ? "/" : "", names[i]);
			int r = xfer_entry(x, fd, names[i], cfd, names[i], c, depth + 1);

			free(c);
			if (r < 0) {
				free_names(names, nr);
				if (cfd >= 0)
					close(cfd);
				goto done;
			}
		}
		free_names(names, nr);
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
			if (ofd < 0 || copy_bytes(fd, ofd) < 0) {
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
			md_str(x->md, target);
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
		int dfd = openat2_(rootfd, base, O_RDONLY | O_DIRECTORY, resolve);
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
			free_names(names, nn);
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
				line_err(x->b, x->in, 413, "too_large", "ADD: '%s': larger than %lld bytes",
					 what, (long long)ah_image_max_layer());
				goto done;
			}
			if (pwrite(fd, buf, len, off) != (ssize_t)len) {
				xfer_fail(x, "write", leaf);
				goto done;
			}
		}
		if (fd >= 0 && r != ARCHIVE_EOF) {
			line_err(x->b, x->in, 400, "invalid", "ADD: '%s': %s", what,
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
		line_err(x->b, x->in, 400, "invalid", "ADD: '%s': %s", what, archive_error_string(in));
		goto done;
	}
	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e), *leaf;
		struct strbuf cl = STRBUF_INIT, parent = STRBUF_INIT;
		mode_t type = archive_entry_filetype(e);
		char *slash;
		int pfd;

		if (!name || name[0] == '/' || clean_path(name, &cl, 0) < 0 ||
		    (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) ||
		    archive_entry_hardlink(e)) {
			line_err(x->b, x->in, 400, "invalid",
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
		pfd = mkdir_in_root(dfd, parent.buf, 0, 0);
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
		line_err(x->b, x->in, 400, "invalid", "ADD: '%s': %s", what, archive_error_string(in));
		goto done;
	}
	ret = 0;
done:
	archive_read_free(in);
	return ret;
}

static int parse_chown(struct builder *b, const struct ah_df_instr *in, struct bstage *st,
		       struct xfer *x)
{
	const char *chown = ah_df_flag(in, "chown"), *chmod = ah_df_flag(in, "chmod");
	char why[256];

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
			int rootfd = stage_rootfd(st);

			r = rootfd < 0 ? -3 : resolve_user(rootfd, spec, &x->uid, &x->gid, why,
							   sizeof(why));
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
			return line_err(b, in, 400, "invalid", "%s --chown: %s", ah_df_kind_name(in->kind),
					why);
	}
	if (chmod) {
		char *end;
		long m = strtol(chmod, &end, 8);

		if (!*chmod || *end || m < 0 || m > 07777)
			return line_err(b, in, 400, "invalid", "%s --chmod: '%s' is not an octal mode",
					ah_df_kind_name(in->kind), chmod);
		x->chmod_set = 1;
		x->chmod = (mode_t)m;
	}
	return 0;
}

struct src_root {
	int fd;
	uint64_t resolve;
	int from_ctx;
	char key[128];	/* --from: what the content is (a stage key, an image) */
};

static int build_stage(struct builder *b, size_t idx);

/* The root the sources come from: the context, a stage, or an image. */
static int open_src_root(struct builder *b, const struct ah_df_instr *in, struct src_root *r)
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
		return line_err(b, in, 400, "invalid", "ADD --from is not supported; use COPY --from");
	if (in->from_stage < 0) {
		/* An image: a stage of its own, built from nothing but its FROM. */
		struct ah_image img;
		int ret = -1;

		memset(&img, 0, sizeof(img));
		src = xcalloc(1, sizeof(*src));
		if (ah_image_load(b->s, from, &img, b->err) < 0) {
			if (b->err->status != 404 ||
			    ah_registry_pull(b->s, from, NULL, NULL, &img, b->err) < 0) {
				at_line(b, in);
				goto img_done;
			}
		}
		src->nr = src->alloc = img.nr_layers;
		src->layers = xcalloc(img.nr_layers + 1, sizeof(*src->layers));
		memcpy(src->layers, img.layers, img.nr_layers * sizeof(*src->layers));
		if (materialize(b, src) < 0) {
			at_line(b, in);
			goto img_done;
		}
		r->fd = stage_view(b, src);
		snprintf(r->key, sizeof(r->key), "image:%s", img.digest);
		ret = r->fd < 0 ? ah_internal(b->err, "open: %s", strerror(errno)) : 0;
img_done:
		/* the directories stay in b->tmp, removed with it */
		stage_release(src);
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

static int src_root_open_fd(struct builder *b, const struct ah_df_instr *in, struct src_root *r)
{
	struct bstage *src;

	if (r->fd >= 0)
		return 0;
	src = &b->st[in->from_stage];
	if (materialize(b, src) < 0)
		return at_line(b, in);
	r->fd = stage_view(b, src);
	return r->fd < 0 ? ah_internal(b->err, "open: %s", strerror(errno)) : 0;
}

/* The sources of in (patterns expanded), relative to the source root. */
static int list_sources(struct builder *b, const struct ah_df_instr *in, struct src_root *r,
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
			return line_err(b, in, 400, "invalid",
					"%s from a URL ('%s') is not supported: builds have no network; "
					"download it in a RUN with --network host", kind, src);
		}
		if (r->from_ctx && (src[0] == '/' || clean_path(src, &cl, 0) < 0)) {
			strbuf_release(&cl);
			return line_err(b, in, 400, "invalid",
					"%s: '%s' is outside the build context", kind, src);
		}
		if (!r->from_ctx)
			clean_path(src, &cl, 1);
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
			line_err(b, in, 400, "invalid",
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
			return line_err(b, in, 400, "invalid", "%s: '%s': %s",
					ah_df_kind_name(in->kind), rel, e.msg);
	} else {
		fd = openat2_(r->fd, rel, flags, r->resolve);
	}
	if (fd >= 0)
		return fd;
	if (errno == EXDEV || errno == ELOOP)
		return line_err(b, in, 400, "invalid", "%s: '%s' points outside the build context",
				ah_df_kind_name(in->kind), rel);
	if (errno == ENOENT)
		return line_err(b, in, 400, "invalid", "%s: '%s': no such file in the %s",
				ah_df_kind_name(in->kind), rel,
				r->from_ctx ? "build context" : "source stage");
	return line_err(b, in, 500, "internal", "%s: cannot open '%s': %s",
			ah_df_kind_name(in->kind), rel, strerror(errno));
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* Hashes (md) or copies (into st's root) the sources of a COPY or ADD. */
static int do_copy(struct builder *b, struct bstage *st, const struct ah_df_instr *in,
		   struct src_root *r, char **srcs, size_t nsrc, EVP_MD_CTX *md)
{
	struct xfer x;
	const char *dest = in->args[in->args_nr - 1];
	const char *wd = json_string_value(json_object_get(cfg_of(st), "WorkingDir"));
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
	clean_path(joined, &dpath, 1);
	free(joined);
	nsources = (int)(nsrc + in->heredocs_nr);
	dest_dir = dest[strlen(dest) - 1] == '/' || nsources > 1 ||
		   (strlen(dest) >= 2 && !strcmp(dest + strlen(dest) - 2, "/.")) || !strcmp(dest, ".");
	if (md) {
		md_str(md, dpath.buf);
		md_int(md, dest_dir);
		if (!r->from_ctx) {
			md_str(md, r->key);
			ret = 0;
			goto done;
		}
		for (i = 0; i < nsrc; i++) {
			int sfd = open_source(b, in, r, srcs[i], O_PATH);
			struct stat sb;

			if (sfd < 0)
				goto done;
			fstat(sfd, &sb);
			md_str(md, srcs[i]);
			if (S_ISDIR(sb.st_mode)) {
				rc = xfer_entry(&x, sfd, ".", -1, "", srcs[i], 0);
			} else {
				struct strbuf sp = STRBUF_INIT;
				const char *sl = strrchr(srcs[i], '/');
				int spfd;

				strbuf_add(&sp, srcs[i], sl ? (size_t)(sl - srcs[i]) : 0);
				spfd = open_source(b, in, r, sp.buf, O_RDONLY | O_DIRECTORY);
				strbuf_release(&sp);
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
	rootfd = stage_rootfd(st);
	if (rootfd < 0) {
		xfer_fail(&x, "open", st->root);
		goto done;
	}
	if (!dest_dir) {
		/* An existing directory is a directory destination too. */
		int t = openat2_(rootfd, dpath.buf, O_RDONLY | O_DIRECTORY, RESOLVE_IN_ROOT);

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
			pfd = mkdir_in_root(rootfd, dpath.buf, x.uid, x.gid);
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
					free_names(names, nn);
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
			pfd = mkdir_in_root(rootfd, dpath.buf, x.uid, x.gid);
			leaf = base_name(srcs[i]);
		} else {
			char *slash = strrchr(dpath.buf, '/');

			strbuf_add(&parent, dpath.buf, slash ? (size_t)(slash - dpath.buf) : 0);
			pfd = mkdir_in_root(rootfd, parent.buf, x.uid, x.gid);
			leaf = slash ? slash + 1 : dpath.buf;
		}
		if (pfd < 0) {
			strbuf_release(&parent);
			close(sfd);
			xfer_fail(&x, "create", dpath.buf);
			goto done;
		}
		rc = 0;
		if (in->kind == AH_DF_ADD && S_ISREG(sb.st_mode)) {
			char link[64];
			int afd;

			snprintf(link, sizeof(link), "/proc/self/fd/%d", sfd);
			afd = open(link, O_RDONLY | O_CLOEXEC);
			if (afd >= 0 && is_archive(afd)) {
				int xfd = dest_dir ? dup(pfd) : mkdir_in_root(rootfd, dpath.buf, 0, 0);

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
			struct strbuf sp = STRBUF_INIT;
			const char *sl = strrchr(srcs[i], '/');
			int spfd;

			strbuf_add(&sp, srcs[i], sl ? (size_t)(sl - srcs[i]) : 0);
			spfd = open_source(b, in, r, sp.buf, O_RDONLY | O_DIRECTORY);
			strbuf_release(&sp);
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
			pfd = mkdir_in_root(rootfd, dpath.buf, x.uid, x.gid);
		} else {
			strbuf_add(&parent, dpath.buf, slash ? (size_t)(slash - dpath.buf) : 0);
			pfd = mkdir_in_root(rootfd, parent.buf, x.uid, x.gid);
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

/* ---- RUN ---- */

static json_t *run_env(struct bstage *st, const struct ah_df_instr *in)
{
	json_t *env = json_array(), *v;
	json_t *cenv = json_object_get(cfg_of(st), "Env");
	size_t i, j;
	int has_path = 0;

	json_array_foreach(cenv, i, v) {
		if (json_is_string(v)) {
			json_array_append(env, v);
			if (!strncmp(json_string_value(v), "PATH=", 5))
				has_path = 1;
		}
	}
	for (i = 0; i < in->env_nr; i++) {
		size_t kl = strcspn(in->env[i], "=");
		int shadowed = 0;

		json_array_foreach(cenv, j, v) {
			const char *s = json_string_value(v);

			if (s && !strncmp(s, in->env[i], kl) && s[kl] == '=')
				shadowed = 1;
		}
		if (!shadowed)
			json_array_append_new(env, json_string(in->env[i]));
		if (!strncmp(in->env[i], "PATH=", 5))
			has_path = 1;
	}
	if (!has_path)
		json_array_insert_new(env, 0, json_string(default_path));
	return env;
}

static void copy_log(struct builder *b, int fd, char *tail, size_t tailsz)
{
	char buf[65536];
	ssize_t n;
	off_t size = lseek(fd, 0, SEEK_END), start;

	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (b->o->log_fd >= 0 && write(b->o->log_fd, buf, (size_t)n) < 0)
			break;
	tail[0] = '\0';
	if (size <= 0)
		return;
	start = size > (off_t)tailsz - 1 ? size - (off_t)tailsz + 1 : 0;
	if (pread(fd, tail, tailsz - 1, start) > 0) {
		size_t l;

		tail[size - start < (off_t)tailsz ? size - start : (off_t)tailsz - 1] = '\0';
		l = strlen(tail);
		while (l && (tail[l - 1] == '\n' || tail[l - 1] == ' '))
			tail[--l] = '\0';
	}
}

/* $name as a size (suffixes) or a whole number; def when unset; -1 when invalid. */
static int64_t env_size(const char *name, int64_t def, int suffixes)
{
	const char *v = getenv(name);
	char *end;
	int64_t n;

	if (!v || !*v)
		return def;
	if (suffixes) {
		if (ah_parse_size(v, &n) < 0)
			return -1;
	} else {
		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno || end == v || *end)
			return -1;
	}
	return n > 0 ? n : -1;
}

/*
 * A RUN's limits: the build's, else $APPHUB_BUILD_MEMORY, _PIDS, _CPUS,
 * _TMP_SIZE and _DISK, else defaults that let a package manager work and
 * stop a bomb (a step's writes: as much as one layer may hold).
 */
static int run_limits(struct builder *b, const struct ah_df_instr *in, struct ah_limits *l)
{
	static const struct { const char *name; int64_t def; int suffixes; } env[] = {
		{ "APPHUB_BUILD_MEMORY", 2LL << 30, 1 },
		{ "APPHUB_BUILD_PIDS", 1024, 0 },
		{ "APPHUB_BUILD_TMP_SIZE", 1LL << 30, 1 },
		{ "APPHUB_BUILD_DISK", 8LL << 30, 1 },
	};
	int64_t v[4];
	const char *cpus = getenv("APPHUB_BUILD_CPUS");
	size_t i;

	for (i = 0; i < 4; i++)
		if ((v[i] = env_size(env[i].name, env[i].def, env[i].suffixes)) < 0)
			return line_err(b, in, 400, "invalid", "invalid %s '%s': %s", env[i].name,
					getenv(env[i].name), env[i].suffixes ?
					"a size such as 512M or 2G" : "a positive number");
	*l = b->o->limits;
	if (!l->memory_bytes)
		l->memory_bytes = v[0];
	if (!l->pids)
		l->pids = v[1];
	if (!l->tmp_bytes)
		l->tmp_bytes = v[2];
	if (!l->disk_bytes)
		l->disk_bytes = v[3];
	if (!(l->cpus > 0) && cpus && *cpus) {
		char *end;

		l->cpus = strtod(cpus, &end);
		if (*end || !(l->cpus > 0) || l->cpus > 4096)
			return line_err(b, in, 400, "invalid", "invalid APPHUB_BUILD_CPUS '%s': "
					"a positive number such as 1.5", cpus);
	}
	return 0;
}

static int do_run(struct builder *b, struct bstage *st, const struct ah_df_instr *in)
{
	struct ah_sandbox_opts so = AH_SANDBOX_OPTS_INIT;
	struct ah_sandbox_bind bind;
	json_t *env = run_env(st, in), *shell = json_object_get(cfg_of(st), "Shell"), *v;
	const char **argv = NULL, **envv = NULL;
	const char *wd = json_string_value(json_object_get(cfg_of(st), "WorkingDir"));
	const char *user = json_string_value(json_object_get(cfg_of(st), "User"));
	char *logp = NULL, *script = NULL, *hpath = NULL, *empty = NULL, tail[LOG_TAIL], why[256];
	struct strbuf text = STRBUF_INIT;
	size_t i, n = 0;
	int logfd = -1, status = 0, ret = -1, rootfd = -1, wfd;

	{
		struct ah_platform host;
		char a[AH_PLATFORM_MAX], h[AH_PLATFORM_MAX];

		ah_platform_host(&host);
		if (!ah_platform_match(&host, &st->plat)) {
			line_err(b, in, 400, "invalid", "RUN: the stage is for %s, which this %s "
				 "machine cannot run", ah_platform_str(&st->plat, a),
				 ah_platform_str(&host, h));
			goto done;
		}
	}
	rootfd = stage_rootfd(st);
	if (rootfd < 0) {
		ah_internal(b->err, "cannot open '%s': %s", st->root, strerror(errno));
		goto done;
	}
	if (resolve_user(rootfd, user, &so.uid, &so.gid, why, sizeof(why)) < 0) {
		line_err(b, in, 400, "invalid", "RUN: %s", why);
		goto done;
	}
	argv = xcalloc(in->args_nr + 8 + json_array_size(shell), sizeof(*argv));
	if (in->exec_form) {
		for (i = 0; i < in->args_nr; i++)
			argv[n++] = in->args[i];
	} else {
		const char *cmd = in->args_nr ? in->args[0] : "";
		int only_heredoc = in->heredocs_nr == 1 && !strncmp(cmd, "<<", 2) &&
				   !strpbrk(cmd, " \t");

		if (json_array_size(shell)) {
			json_array_foreach(shell, i, v)
				argv[n++] = json_string_value(v) ?: "";
		} else {
			argv[n++] = "/bin/sh";
			argv[n++] = "-c";
		}
		if (only_heredoc) {
			/* the body is the script: a file bound into the sandbox */
			int fd;

			hpath = xstrfmt("%s/heredoc-%u", b->tmp, b->seq++);
			fd = open(hpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
			if (fd < 0 || write(fd, in->heredocs[0].body, strlen(in->heredocs[0].body)) < 0) {
				if (fd >= 0)
					close(fd);
				ah_internal(b->err, "cannot write '%s': %s", hpath, strerror(errno));
				goto done;
			}
			close(fd);
			bind.src = hpath;
			bind.dest = "/dev/.apphub-run";
			bind.mode = AH_BIND_RO;
			so.binds = &bind;
			so.binds_nr = 1;
			if (!strncmp(in->heredocs[0].body, "#!", 2)) {
				n = 0;
				argv[n++] = "/dev/.apphub-run";
			} else {
				n = n > 1 ? n - 1 : n;	/* the shell without its -c */
				argv[n++] = "/dev/.apphub-run";
			}
		} else {
			strbuf_addstr(&text, cmd);
			for (i = 0; i < in->heredocs_nr; i++)
				strbuf_addf(&text, "\n%s%s", in->heredocs[i].body, in->heredocs[i].name);
			script = strbuf_detach(&text, NULL);
			argv[n++] = script;
		}
	}
	argv[n] = NULL;
	envv = xcalloc(json_array_size(env) + 1, sizeof(*envv));
	json_array_foreach(env, i, v)
		envv[i] = json_string_value(v);
	/* The working directory exists (as Docker makes it). */
	if (wd && *wd) {
		wfd = mkdir_in_root(rootfd, wd, 0, 0);
		if (wfd < 0) {
			line_err(b, in, 400, "invalid", "RUN: cannot create the working directory '%s': %s",
				 wd, strerror(errno));
			goto done;
		}
		close(wfd);
	}
	logp = xstrfmt("%s/run.log", b->tmp);
	logfd = open(logp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0) {
		ah_internal(b->err, "cannot create '%s': %s", logp, strerror(errno));
		goto done;
	}
	so.rootfs = st->root;
	if (b->overlay) {
		/*
		 * The sandbox mounts the step's overlay itself, over idmapped
		 * layers, so that RUN's root is not the host's (sandbox.h).
		 */
		close(rootfd);
		rootfd = -1;
		if (st->mnt > 0)
			close(st->mnt);
		st->mnt = 0;
		/* a volatile overlay's work directory does not serve twice */
		if (ah_remove_tree(st->work, b->err) < 0)
			goto done;
		if (mkdir(st->work, 0755) < 0) {
			ah_internal(b->err, "cannot create '%s': %s", st->work, strerror(errno));
			goto done;
		}
		if (!st->lowers_nr && !(empty = empty_lower(b)))
			goto done;
		so.ovl_lowers = empty ? &empty : st->lowers;
		so.ovl_lowers_nr = empty ? 1 : st->lowers_nr;
		so.ovl_upper = st->upper;
		so.ovl_work = st->work;
	}
	so.argv = argv;
	so.env = envv;
	so.workdir = wd && *wd ? wd : "/";
	so.network = b->o->network;
	if (run_limits(b, in, &so.limits) < 0)
		goto done;
	so.timeout_ms = b->o->run_timeout_ms;
	so.out_fd = logfd;
	if (ah_sandbox_run(&so, &status, b->err) < 0) {
		copy_log(b, logfd, tail, sizeof(tail));
		if (b->err->status == 504) {
			line_err(b, in, 504, "timeout", "RUN timed out after %lld s%s%s",
				 (long long)((b->o->run_timeout_ms + 999) / 1000), *tail ? ": " : "", tail);
		} else if (b->err->code && !strcmp(b->err->code, "limit")) {
			char msg[sizeof(b->err->msg)];

			memcpy(msg, b->err->msg, sizeof(msg));
			line_err(b, in, 400, "limit", "RUN %s%s%s", msg, *tail ? ": " : "", tail);
		} else {
			at_line(b, in);
		}
		goto done;
	}
	copy_log(b, logfd, tail, sizeof(tail));
	if (status) {
		line_err(b, in, 400, "failed", "RUN exited with status %d%s%s", status,
			 *tail ? ": " : "", tail);
		goto done;
	}
	ret = 0;
done:
	if (rootfd >= 0)
		close(rootfd);
	if (logfd >= 0)
		close(logfd);
	if (hpath)
		unlink(hpath);
	free(hpath);
	free(logp);
	free(empty);
	free(script);
	free(argv);
	free(envv);
	strbuf_release(&text);
	json_decref(env);
	return ret;
}

/* ---- config instructions ---- */

static json_t *str_array(char **v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *command(struct bstage *st, const struct ah_df_instr *in)
{
	json_t *shell = json_object_get(cfg_of(st), "Shell"), *a;

	if (in->exec_form)
		return str_array(in->args, in->args_nr);
	a = json_is_array(shell) && json_array_size(shell) ? json_deep_copy(shell)
							 : json_pack("[s, s]", "/bin/sh", "-c");
	json_array_append_new(a, json_string(in->args_nr ? in->args[0] : ""));
	return a;
}

static void set_env(json_t *cfg, const char *k, const char *v)
{
	json_t *env = json_object_get(cfg, "Env"), *e;
	size_t i, kl = strlen(k);
	char *kv = xstrfmt("%s=%s", k, v ? v : "");

	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(cfg, "Env", env);
	}
	json_array_foreach(env, i, e) {
		const char *s = json_string_value(e);

		if (s && !strncmp(s, k, kl) && s[kl] == '=') {
			json_array_set_new(env, i, json_string(kv));
			free(kv);
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
	free(kv);
}

static json_t *obj_of(json_t *cfg, const char *key)
{
	json_t *o = json_object_get(cfg, key);

	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(cfg, key, o);
	}
	return o;
}

static int apply_config(struct builder *b, struct bstage *st, const struct ah_df_instr *in)
{
	json_t *cfg = cfg_of(st);
	size_t i;

	switch (in->kind) {
	case AH_DF_ENV:
		for (i = 0; i < in->kvs_nr; i++)
			set_env(cfg, in->kvs[i].key, in->kvs[i].value);
		break;
	case AH_DF_LABEL:
		for (i = 0; i < in->kvs_nr; i++)
			json_object_set_new(obj_of(cfg, "Labels"), in->kvs[i].key,
					    json_string(in->kvs[i].value ? in->kvs[i].value : ""));
		break;
	case AH_DF_EXPOSE:
		for (i = 0; i < in->ports_nr; i++) {
			unsigned p;

			if (in->ports[i].end - in->ports[i].start > 1024)
				return line_err(b, in, 400, "invalid", "EXPOSE: a range of more than 1024 ports");
			for (p = in->ports[i].start; p <= in->ports[i].end; p++) {
				char k[32];

				snprintf(k, sizeof(k), "%u/%s", p, in->ports[i].proto);
				json_object_set_new(obj_of(cfg, "ExposedPorts"), k, json_object());
			}
		}
		break;
	case AH_DF_WORKDIR:
		{
			char *w = resolve_workdir(st, in->args_nr ? in->args[0] : "/");

			json_object_set_new(cfg, "WorkingDir", json_string(w));
			free(w);
		}
		break;
	case AH_DF_USER:
		json_object_set_new(cfg, "User", json_string(in->args_nr ? in->args[0] : ""));
		break;
	case AH_DF_CMD:
		json_object_set_new(cfg, "Cmd", command(st, in));
		st->cmd_set = 1;
		break;
	case AH_DF_ENTRYPOINT:
		json_object_set_new(cfg, "Entrypoint", command(st, in));
		if (!st->cmd_set)
			json_object_del(cfg, "Cmd");
		break;
	case AH_DF_VOLUME:
		for (i = 0; i < in->args_nr; i++)
			json_object_set_new(obj_of(cfg, "Volumes"), in->args[i], json_object());
		break;
	case AH_DF_STOPSIGNAL:
		json_object_set_new(cfg, "StopSignal", json_string(in->args_nr ? in->args[0] : ""));
		break;
	case AH_DF_SHELL:
		json_object_set_new(cfg, "Shell", str_array(in->args, in->args_nr));
		break;
	case AH_DF_ONBUILD: {
		json_t *ob = json_object_get(cfg, "OnBuild");

		if (!json_is_array(ob)) {
			ob = json_array();
			json_object_set_new(cfg, "OnBuild", ob);
		}
		json_array_append_new(ob, json_string(in->args_nr ? in->args[0] : ""));
		break;
	}
	case AH_DF_MAINTAINER:
		json_object_set_new(st->config, "author", json_string(in->args_nr ? in->args[0] : ""));
		break;
	case AH_DF_HEALTHCHECK: {
		json_t *hc = json_object(), *test;
		const struct ah_df_health *h = &in->health;

		if (h->none) {
			test = json_pack("[s]", "NONE");
		} else if (in->exec_form) {
			test = str_array(in->args, in->args_nr);
			json_array_insert_new(test, 0, json_string("CMD"));
		} else {
			test = json_pack("[s, s]", "CMD-SHELL", in->args_nr ? in->args[0] : "");
		}
		json_object_set_new(hc, "Test", test);
		if (h->interval_ns)
			json_object_set_new(hc, "Interval", json_integer(h->interval_ns));
		if (h->timeout_ns)
			json_object_set_new(hc, "Timeout", json_integer(h->timeout_ns));
		if (h->start_period_ns)
			json_object_set_new(hc, "StartPeriod", json_integer(h->start_period_ns));
		if (h->start_interval_ns)
			json_object_set_new(hc, "StartInterval", json_integer(h->start_interval_ns));
		if (h->retries)
			json_object_set_new(hc, "Retries", json_integer(h->retries));
		json_object_set_new(cfg, "Healthcheck", hc);
		break;
	}
	default:
		break;
	}
	return 0;
}

/* ---- stages ---- */

static void set_key(char out[65], const char *a, const char *b2)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	md_str(md, a);
	md_str(md, b2);
	hex_final(md, out);
	EVP_MD_CTX_free(md);
}

static json_t *step_json(const struct ah_df_instr *in, int cached, int64_t ms)
{
	return json_pack("{s:s, s:i, s:b, s:I}", "instruction", in->original, "line", in->line,
			 "cached", cached, "durationMs", (json_int_t)ms);
}

/* An image for FROM (pulled if the store lacks it): the one for want when asked for. */
static int base_image(struct builder *b, const struct ah_df_instr *in, const char *ref,
		      const char *asked, const struct ah_platform *want, struct ah_image *img)
{
	struct ah_registry_opts ro;
	struct ah_platform have;
	char a[AH_PLATFORM_MAX], w[AH_PLATFORM_MAX];

	memset(img, 0, sizeof(*img));
	if (ah_image_load(b->s, ref, img, b->err) == 0) {
		ah_platform_of(img->config, &have);
		if (asked && !ah_platform_match(want, &have)) {
			ah_image_release(img);
			return line_err(b, in, 404, "not_found", "'%s' in the store is for %s, not %s: "
					"pull it with --platform %s under another name", ref,
					ah_platform_str(&have, a), ah_platform_str(want, w),
					ah_platform_str(want, w));
		}
		return 0;
	}
	if (b->err->status != 404)
		return at_line(b, in);
	logf_(b, "pulling %s\n", ref);
	memset(&ro, 0, sizeof(ro));
	ro.platform = asked;
	if (ah_registry_pull(b->s, ref, NULL, &ro, img, b->err) < 0)
		return at_line(b, in);
	return 1;
}

/* The platform a stage is for: FROM --platform, else --platform, else this machine's. */
static const char *stage_platform(struct builder *b, const struct ah_df_stage *ds)
{
	if (ds->platform && *ds->platform)
		return ds->platform;
	return b->o->platform && *b->o->platform ? b->o->platform : NULL;
}

static int stage_from(struct builder *b, size_t idx)
{
	struct ah_df_stage *ds = &b->df->stages[idx];
	struct bstage *st = &b->st[idx];
	const struct ah_df_instr *in = &ds->instrs[0];
	const char *asked = stage_platform(b, ds);
	struct ah_platform want;
	int64_t t0 = ah_now_ms();
	int cached = 1;
	size_t i;

	if (ah_platform_parse(asked, &want, b->err) < 0)
		return at_line(b, in);

	if (ds->base_stage >= 0) {
		struct bstage *p;

		if (build_stage(b, (size_t)ds->base_stage) < 0)
			return -1;
		p = &b->st[ds->base_stage];
		st->config = json_deep_copy(p->config);
		st->nr = st->alloc = p->nr;
		st->layers = xcalloc(p->nr + 1, sizeof(*st->layers));
		if (p->nr)	/* a stage FROM scratch may have no layers array */
			memcpy(st->layers, p->layers, p->nr * sizeof(*p->layers));
		for (i = 0; i < p->lowers_nr && i < p->nr; i++)
			push_lower(st, xstrdup(p->lowers[i]));
		set_key(st->key, "stage", p->key);
	} else if (!strcmp(ds->base, "scratch")) {
		st->config = json_pack("{s:s, s:s, s:{}}", "architecture", want.arch, "os", want.os,
				       "config");
		if (*want.variant)
			json_object_set_new(st->config, "variant", json_string(want.variant));
		set_key(st->key, "scratch", "");
	} else {
		struct ah_image img;
		int r = base_image(b, in, ds->base, asked, &want, &img);

		if (r < 0)
			return -1;
		cached = !r;
		st->config = json_deep_copy(img.config);
		json_object_del(st->config, "rootfs");
		st->nr = st->alloc = img.nr_layers;
		st->layers = xcalloc(img.nr_layers + 1, sizeof(*st->layers));
		memcpy(st->layers, img.layers, img.nr_layers * sizeof(*img.layers));
		set_key(st->key, "image", img.digest);
		ah_image_release(&img);
	}
	ah_platform_of(st->config, &st->plat);
	json_array_append_new(b->steps, step_json(in, cached, ah_now_ms() - t0));
	return 0;
}

/* One instruction after FROM: from the cache, or run and captured. */
static int build_step(struct builder *b, struct bstage *st, const struct ah_df_instr *in)
{
	int64_t t0 = ah_now_ms();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct src_root r = { .fd = -1 };
	char **srcs = NULL;
	size_t nsrc = 0, j;
	json_t *hit = NULL;
	int fs = in->kind == AH_DF_RUN || in->kind == AH_DF_COPY || in->kind == AH_DF_ADD ||
		 in->kind == AH_DF_WORKDIR, rc = -1, cached = 0;
	char key[65];

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	md_str(md, st->key);
	key_instr(md, in);
	if (in->kind == AH_DF_WORKDIR) {
		/* the directory it makes depends on the one before */
		md_str(md, json_string_value(json_object_get(cfg_of(st), "WorkingDir")));
	}
	if ((in->kind == AH_DF_WORKDIR || in->kind == AH_DF_USER) && !in->args_nr) {
		line_err(b, in, 400, "invalid", "%s requires an argument", ah_df_kind_name(in->kind));
		goto step_done;
	}
	if (in->kind == AH_DF_COPY || in->kind == AH_DF_ADD) {
		if (in->args_nr < 2) {
			line_err(b, in, 400, "invalid", "%s requires a source and a destination",
				 ah_df_kind_name(in->kind));
			goto step_done;
		}
		if (open_src_root(b, in, &r) < 0)
			goto step_done;
		if (!r.from_ctx) {
			md_str(md, r.key);
		} else if (list_sources(b, in, &r, &srcs, &nsrc) < 0 ||
			   do_copy(b, st, in, &r, srcs, nsrc, md) < 0) {
			goto step_done;
		}
	}
	hex_final(md, key);
	if (!b->o->no_cache)
		hit = cache_get(b, key);
	if (hit) {
		json_t *l = json_object_get(hit, "layer");

		cached = 1;
		if (json_is_object(l)) {
			struct ah_layer layer;

			memset(&layer, 0, sizeof(layer));
			snprintf(layer.digest, sizeof(layer.digest), "%s",
				 json_string_value(json_object_get(l, "digest")));
			snprintf(layer.diff_id, sizeof(layer.diff_id), "%s",
				 json_string_value(json_object_get(l, "diffId")));
			layer.size = json_integer_value(json_object_get(l, "size"));
			layer.media_type = AH_MT_OCI_LAYER_GZIP;
			add_layer(st, &layer);
			if (st->root && capture_apply(b, st, &layer) < 0)
				goto step_done;
		}
		if (apply_config(b, st, in) < 0)
			goto step_done;
		if (in->kind == AH_DF_WORKDIR)
			goto workdir;
		add_history(b, st, in->original, !json_is_object(l));
		logf_(b, "#%d %s (cached)\n", in->line, in->original);
		rc = 0;
		goto step_done;
	}
	logf_(b, "#%d %s\n", in->line, in->original);
	if (!fs) {
		if (apply_config(b, st, in) < 0)
			goto step_done;
		add_history(b, st, in->original, 1);
		cache_put(b, key, NULL);
		rc = 0;
		goto step_done;
	}
	if (materialize(b, st) < 0 || step_begin(b, st) < 0) {
		at_line(b, in);
		goto step_done;
	}
	if (in->kind == AH_DF_WORKDIR) {
		struct ah_layer layer;
		int rootfd, fd;
		const char *prev;
		char *joined;
		struct strbuf p = STRBUF_INIT;

		prev = json_string_value(json_object_get(cfg_of(st), "WorkingDir"));
		joined = in->args[0][0] == '/' ? xstrdup(in->args[0])
					       : xstrfmt("%s/%s", prev && *prev ? prev : "/",
							 in->args[0]);
		clean_path(joined, &p, 1);
		free(joined);
		rootfd = stage_rootfd(st);
		fd = rootfd < 0 ? -1 : openat2_(rootfd, p.buf, O_RDONLY | O_DIRECTORY,
						 RESOLVE_IN_ROOT);
		if (fd >= 0) {
			cache_put(b, key, NULL);
			add_history(b, st, in->original, 1);
		} else {
			fd = rootfd < 0 ? -1 : mkdir_in_root(rootfd, p.buf, 0, 0);
			if (fd < 0) {
				line_err(b, in, 400, "invalid", "WORKDIR: cannot create '/%s': %s",
					 p.buf, strerror(errno));
			} else if (capture(b, st, &layer) < 0) {
				at_line(b, in);
				close(fd);
				fd = -1;
			} else {
				add_layer(st, &layer);
				cache_put(b, key, &layer);
				add_history(b, st, in->original, 0);
			}
		}
		strbuf_release(&p);
		if (rootfd >= 0)
			close(rootfd);
		if (fd < 0)
			goto step_done;
		close(fd);
		if (apply_config(b, st, in) < 0)
			goto step_done;
		goto workdir;
	}
	if (in->kind == AH_DF_RUN) {
		if (do_run(b, st, in) < 0)
			goto step_done;
	} else {
		if (!r.from_ctx) {
			if (src_root_open_fd(b, in, &r) < 0 ||
			    list_sources(b, in, &r, &srcs, &nsrc) < 0)
				goto step_done;
		}
		if (do_copy(b, st, in, &r, srcs, nsrc, NULL) < 0)
			goto step_done;
	}
	{
		struct ah_layer layer;

		if (capture(b, st, &layer) < 0) {
			at_line(b, in);
			goto step_done;
		}
		add_layer(st, &layer);
		cache_put(b, key, &layer);
		add_history(b, st, in->original, 0);
	}
	rc = 0;
	goto step_done;
workdir:
	rc = 0;
	if (cached) {
		add_history(b, st, in->original, !json_is_object(json_object_get(hit, "layer")));
		logf_(b, "#%d %s (cached)\n", in->line, in->original);
	}
step_done:
	EVP_MD_CTX_free(md);
	json_decref(hit);
	if (r.fd >= 0)
		close(r.fd);
	for (j = 0; j < nsrc; j++)
		free(srcs[j]);
	free(srcs);
	if (rc < 0)
		return -1;
	memcpy(st->key, key, sizeof(key));
	json_array_append_new(b->steps, step_json(in, cached, ah_now_ms() - t0));
	return 0;
}

/* The stage's environment, for substitution in its base's ONBUILD triggers. */
static const char *trigger_env(void *data, const char *image, const char *platform,
			       const char *name)
{
	struct bstage *st = data;
	static char value[4096];
	const char *found = NULL;
	json_t *e;
	size_t i, n = strlen(name);

	(void)image;
	(void)platform;
	json_array_foreach(json_object_get(cfg_of(st), "Env"), i, e) {
		const char *s = json_string_value(e);

		if (s && !strncmp(s, name, n) && s[n] == '=') {
			snprintf(value, sizeof(value), "%s", s + n + 1);
			found = value;
		}
	}
	return found;
}

/*
 * The base's ONBUILD triggers (its config's OnBuild), run in order right
 * after FROM, as Docker does; errors name the FROM line. They are not
 * inherited: the new image's OnBuild holds its own ONBUILDs only.
 */
static int run_triggers(struct builder *b, size_t idx)
{
	const struct ah_df_instr *from = &b->df->stages[idx].instrs[0];
	struct bstage *st = &b->st[idx];
	json_t *ob = json_incref(json_object_get(cfg_of(st), "OnBuild")), *v;
	struct strbuf text = STRBUF_INIT;
	struct ah_dockerfile *tdf = NULL;
	struct ah_df_options dfo;
	struct ah_err perr = AH_ERR_INIT;
	size_t i, n = json_array_size(ob);
	int ret = -1;

	json_object_del(cfg_of(st), "OnBuild");
	if (!n) {
		ret = 0;
		goto done;
	}
	strbuf_addstr(&text, "FROM onbuild-base\n");
	json_array_foreach(ob, i, v) {
		const char *t = json_string_value(v);
		size_t kl = t ? strcspn(t, " \t") : 0;

		if (!t || !*t || strchr(t, '\n')) {
			line_err(b, from, 400, "invalid", "the base image's ONBUILD trigger %zu is not "
				 "one instruction", i + 1);
			goto done;
		}
		if ((kl == 4 && !strncasecmp(t, "FROM", 4)) || (kl == 7 && !strncasecmp(t, "ONBUILD", 7)) ||
		    (kl == 10 && !strncasecmp(t, "MAINTAINER", 10))) {
			line_err(b, from, 400, "invalid", "%.*s isn't allowed as an ONBUILD trigger",
				 (int)kl, t);
			goto done;
		}
		strbuf_addf(&text, "%s\n", t);
	}
	memset(&dfo, 0, sizeof(dfo));
	dfo.base_env = trigger_env;
	dfo.data = st;
	if (ah_dockerfile_parse(text.buf, text.len, "ONBUILD", &dfo, &tdf, &perr) < 0) {
		line_err(b, from, 400, "invalid", "the base image's ONBUILD triggers: %s", perr.msg);
		goto done;
	}
	if (tdf->stages_nr != 1 || tdf->stages[0].instrs_nr != n + 1) {
		line_err(b, from, 400, "invalid", "the base image's ONBUILD triggers do not parse as "
			 "%zu instructions", n);
		goto done;
	}
	for (i = 1; i <= n; i++) {
		struct ah_df_instr *in = &tdf->stages[0].instrs[i];

		logf_(b, "#%d ONBUILD %s\n", from->line, in->original);
		in->line = from->line;	/* errors name the FROM that brought them */
		if (in->kind == AH_DF_COPY && ah_df_flag(in, "from")) {
			line_err(b, in, 400, "invalid", "ONBUILD COPY --from is not supported");
			goto done;
		}
		if (build_step(b, st, in) < 0)
			goto done;
	}
	ret = 0;
done:
	json_decref(ob);
	ah_dockerfile_free(tdf);
	strbuf_release(&text);
	return ret;
}

static int build_stage(struct builder *b, size_t idx)
{
	struct ah_df_stage *ds = &b->df->stages[idx];
	struct bstage *st = &b->st[idx];
	size_t i;

	if (st->built)
		return 0;
	if (st->needed)
		return ah_invalid(b->err, "%s:%d: stage depends on itself", b->df->file,
				  ds->instrs[0].line);
	st->needed = 1;
	if (stage_from(b, idx) < 0 || run_triggers(b, idx) < 0)
		return -1;
	for (i = 1; i < ds->instrs_nr; i++)
		if (build_step(b, st, &ds->instrs[i]) < 0)
			return -1;
	st->built = 1;
	return 0;
}

/* ---- podman and docker ---- */

static int read_file_max(const char *path, size_t max, char **buf, size_t *len);


static const char *find_tool(const char *name, char *buf, size_t n)
{
	const char *path = getenv("PATH"), *p, *end;

	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		if (end == p)
			continue;
		snprintf(buf, n, "%.*s/%s", (int)(end - p), p, name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

/* Runs argv with its output in log (appended); its exit status, or -1. */
static int run_tool(const char *const *argv, int log, struct ah_err *err)
{
	pid_t pid;
	int ws;

	pid = fork();
	if (pid < 0)
		return ah_internal(err, "cannot fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null >= 0)
			dup2(null, 0);
		dup2(log, 1);
		dup2(log, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return ah_internal(err, "waitpid: %s", strerror(errno));
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
}

static void log_tail(int fd, off_t from, char *tail, size_t n)
{
	off_t size = lseek(fd, 0, SEEK_END), start = size - (off_t)n + 1;
	ssize_t r;

	if (start < from)
		start = from;
	tail[0] = '\0';
	r = pread(fd, tail, n - 1, start);
	if (r > 0) {
		tail[r] = '\0';
		while (r && (tail[r - 1] == '\n' || tail[r - 1] == ' '))
			tail[--r] = '\0';
	}
}

/*
 * The bases the Dockerfile names that are in the store, loaded into the
 * tool (`TOOL load`), so FROM apphub/busybox works there too.
 */
static int preload_bases(const struct ah_build_opts *o, struct ah_image_store *s,
			 const char *const *globals, int ng, const char *dfpath, const char *tmp,
			 int logfd, struct ah_err *err)
{
	struct ah_dockerfile *df = NULL;
	struct ah_df_options dfo;
	char *buf = NULL;
	size_t len = 0, i;
	int ret = -1;

	if (read_file_max(dfpath, AH_DOCKERFILE_MAX_SIZE, &buf, &len) < 0) {
		ah_invalid(err, "cannot read '%s': %s", dfpath, strerror(errno));
		goto done;
	}
	memset(&dfo, 0, sizeof(dfo));
	dfo.build_args = o->build_args;
	dfo.build_args_nr = o->build_args_nr;
	dfo.target = o->target;
	if (ah_dockerfile_parse(buf, len, o->dockerfile ? o->dockerfile : "Dockerfile", &dfo, &df,
				err) < 0)
		goto done;
	for (i = 0; i < df->stages_nr; i++) {
		struct ah_image img;
		struct ah_err e2 = AH_ERR_INIT;
		char *arch;
		const char *argv[48];
		int fd, n, k;

		if (df->stages[i].base_stage >= 0 || !strcmp(df->stages[i].base, "scratch"))
			continue;
		memset(&img, 0, sizeof(img));
		if (ah_image_load(s, df->stages[i].base, &img, &e2) < 0)
			continue;	/* the tool pulls it */
		arch = xstrfmt("%s/base-%zu.tar", tmp, i);
		fd = open(arch, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || ah_image_export(s, &img, fd, err) < 0) {
			if (fd < 0)
				ah_internal(err, "cannot create '%s': %s", arch, strerror(errno));
			else
				close(fd);
			ah_image_release(&img);
			free(arch);
			goto done;
		}
		close(fd);
		ah_image_release(&img);
		for (n = 0, k = 0; k < ng && n < 40; k++)
			argv[n++] = globals[k];
		argv[n++] = "load";
		argv[n++] = "-i";
		argv[n++] = arch;
		argv[n] = NULL;
		n = run_tool(argv, logfd, err);
		free(arch);
		if (n < 0)
			goto done;
		if (n) {
			ah_error(err, 400, "failed", "%s load of %s exited with status %d", o->engine,
				 df->stages[i].base, n);
			goto done;
		}
	}
	ret = 0;
done:
	ah_dockerfile_free(df);
	free(buf);
	return ret;
}

/*
 * --engine podman|docker: the bases from the store loaded into the tool,
 * `TOOL build`, `TOOL save` to an archive in tmp, imported into the store.
 * Podman runs with --cgroup-manager=cgroupfs (no systemd needed) and
 * builds with --isolation=chroot (no OCI runtime, no cgroups: crun fails
 * on hybrid cgroup hosts); $APPHUB_PODMAN_ISOLATION overrides it ("oci"),
 * $APPHUB_PODMAN_ARGS adds global options ("--runtime=runc").
 */
static int external_build(const struct ah_build_opts *o, struct ah_image_store *s,
			  const char *name, const char *tmp, json_t **report, struct ah_err *err)
{
	char tool[PATH_MAX], tail[LOG_TAIL], tmptag[64], isolation[64] = "";
	const char *argv[64 + 2 * 256];
	char *archive = xstrfmt("%s/image.tar", tmp), *logp = xstrfmt("%s/tool.log", tmp);
	char *dfpath = NULL, *extra = NULL, *save = NULL, *w;
	const char *fmt = NULL;
	struct ah_image img;
	int podman = !strcmp(o->engine, "podman"), n = 0, ng, logfd = -1, ret = -1, st;
	size_t i;
	int64_t t0 = ah_now_ms();
	off_t mark;

	memset(&img, 0, sizeof(img));
	if (!find_tool(o->engine, tool, sizeof(tool))) {
		ah_error(err, 503, "unavailable", "--engine %s: '%s' not found on PATH", o->engine,
			 o->engine);
		goto done;
	}
	if (o->build_args_nr > 256) {
		ah_invalid(err, "more than 256 build arguments");
		goto done;
	}
	logfd = open(logp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0) {
		ah_internal(err, "cannot create '%s': %s", logp, strerror(errno));
		goto done;
	}
	snprintf(tmptag, sizeof(tmptag), "localhost/apphub-build-%s:latest", strrchr(tmp, '/') + 1);
	for (i = 0; tmptag[i]; i++)
		if (tmptag[i] >= 'A' && tmptag[i] <= 'Z')
			tmptag[i] = (char)(tmptag[i] - 'A' + 'a');
	dfpath = !o->dockerfile ? xstrfmt("%s/Dockerfile", o->context)
		 : o->dockerfile[0] == '/' ? xstrdup(o->dockerfile)
					   : xstrfmt("%s/%s", o->context, o->dockerfile);
	argv[n++] = tool;
	if (podman) {
		argv[n++] = "--cgroup-manager=cgroupfs";
		if (getenv("APPHUB_PODMAN_ARGS")) {
			extra = xstrdup(getenv("APPHUB_PODMAN_ARGS"));
			for (w = strtok_r(extra, " ", &save); w && n < 32; w = strtok_r(NULL, " ", &save))
				argv[n++] = w;
		}
	}
	ng = n;
	if (preload_bases(o, s, argv, ng, dfpath, tmp, logfd, err) < 0)
		goto done;
	argv[n++] = "build";
	if (podman) {
		const char *iso = getenv("APPHUB_PODMAN_ISOLATION");

		snprintf(isolation, sizeof(isolation), "--isolation=%s", iso && *iso ? iso : "chroot");
		argv[n++] = isolation;
	}
	argv[n++] = "-t";
	argv[n++] = tmptag;
	argv[n++] = "-f";
	argv[n++] = dfpath;
	for (i = 0; i < o->build_args_nr; i++) {
		argv[n++] = "--build-arg";
		argv[n++] = o->build_args[i];
	}
	if (o->target) {
		argv[n++] = "--target";
		argv[n++] = o->target;
	}
	if (o->platform && *o->platform) {
		argv[n++] = "--platform";
		argv[n++] = o->platform;
	}
	/* chroot isolation has the host's network only: --network none is not enforced there */
	if (!podman || strcmp(isolation, "--isolation=chroot")) {
		argv[n++] = "--network";
		argv[n++] = o->network && !strcmp(o->network, "host") ? "host" : "none";
	}
	if (o->no_cache)
		argv[n++] = "--no-cache";
	argv[n++] = o->context;
	argv[n] = NULL;
	mark = lseek(logfd, 0, SEEK_END);
	st = run_tool(argv, logfd, err);
	if (st < 0)
		goto done;
	if (st) {
		log_tail(logfd, mark, tail, sizeof(tail));
		ah_error(err, 400, "failed", "%s build exited with status %d: %s", o->engine, st, tail);
		goto done;
	}
	/* the same global options, then save and rmi */
	n = ng;
	argv[n++] = "save";
	if (podman) {
		argv[n++] = "--format";
		argv[n++] = "oci-archive";
	}
	argv[n++] = "-o";
	argv[n++] = archive;
	argv[n++] = tmptag;
	argv[n] = NULL;
	mark = lseek(logfd, 0, SEEK_END);
	st = run_tool(argv, logfd, err);
	if (st == 0) {
		n = ng;
		argv[n++] = "rmi";
		argv[n++] = tmptag;
		argv[n] = NULL;
		run_tool(argv, logfd, err);
	}
	if (st < 0)
		goto done;
	if (st) {
		log_tail(logfd, mark, tail, sizeof(tail));
		ah_error(err, 400, "failed", "%s save exited with status %d: %s", o->engine, st, tail);
		goto done;
	}
	if (ah_image_import(s, archive, name, NULL, &fmt, &img, err) < 0)
		goto done;
	*report = json_pack("{s:s, s:s, s:s, s:I, s:[]}", "image", img.name ? img.name : name,
			    "digest", img.digest, "engine", o->engine, "durationMs",
			    (json_int_t)(ah_now_ms() - t0), "steps");
	ret = 0;
done:
	if (logfd >= 0) {
		char buf[65536];
		ssize_t r;

		lseek(logfd, 0, SEEK_SET);
		while (o->log_fd >= 0 && (r = read(logfd, buf, sizeof(buf))) > 0)
			if (write(o->log_fd, buf, (size_t)r) < 0)
				break;
		close(logfd);
	}
	ah_image_release(&img);
	free(archive);
	free(logp);
	free(dfpath);
	free(extra);
	return ret;
}

/* ---- the build ---- */

static const char *base_env(void *data, const char *image, const char *platform, const char *name)
{
	struct builder *b = data;
	struct ah_image img;
	struct ah_err err = AH_ERR_INIT;
	static char value[4096];
	const char *found = NULL;
	json_t *e;
	size_t i, n = strlen(name);

	(void)platform;
	memset(&img, 0, sizeof(img));
	if (ah_image_load(b->s, image, &img, &err) < 0)
		return NULL;
	json_array_foreach(json_object_get(json_object_get(img.config, "config"), "Env"), i, e) {
		const char *s = json_string_value(e);

		if (s && !strncmp(s, name, n) && s[n] == '=') {
			snprintf(value, sizeof(value), "%s", s + n + 1);
			found = value;
		}
	}
	ah_image_release(&img);
	return found;
}

static int read_fd_max(int fd, size_t max, char **buf, size_t *len);

static int read_file_max(const char *path, size_t max, char **buf, size_t *len)
{
	return read_fd_max(open(path, O_RDONLY | O_CLOEXEC), max, buf, len);
}

/*
 * A file of the context (the Dockerfile, .dockerignore) read by the rule
 * for paths from a repository (lib/repopath.h), so a link out of it is
 * refused by name and nothing of what it points to is read: 1 when the
 * file is not there.
 */
static int read_ctx_file(int ctx_fd, const char *rel, size_t max, char **buf, size_t *len,
			 struct ah_err *err)
{
	struct ah_err e = AH_ERR_INIT;
	int fd = ah_repo_open(ctx_fd, rel, O_RDONLY, &e);

	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0)
		return ah_error(err, e.status, e.code, "cannot read '%s': %s", rel, e.msg);
	if (read_fd_max(fd, max, buf, len) < 0)
		return ah_invalid(err, "cannot read '%s': %s", rel,
				  errno == EFBIG ? "too large" : strerror(errno));
	return 0;
}

static int read_fd_max(int fd, size_t max, char **buf, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	char chunk[65536];
	ssize_t n;

	if (fd < 0)
		return -1;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (sb.len + (size_t)n > max) {
			close(fd);
			strbuf_release(&sb);
			errno = EFBIG;
			return -1;
		}
		strbuf_add(&sb, chunk, (size_t)n);
	}
	close(fd);
	if (n < 0) {
		strbuf_release(&sb);
		return -1;
	}
	*buf = strbuf_detach(&sb, len);
	return 0;
}

/*
 * The build arguments, with TARGETPLATFORM, TARGETOS, TARGETARCH and
 * TARGETVARIANT for --platform unless given: *out's strings are to free
 * from index o->build_args_nr on.
 */
static int target_args(const struct ah_build_opts *o, const char ***out, size_t *nr,
		       struct ah_err *err)
{
	struct ah_platform p;
	char buf[AH_PLATFORM_MAX];
	const char *v[4][2];
	size_t i, j;

	*out = xcalloc(o->build_args_nr + 5, sizeof(**out));
	if (o->build_args_nr)	/* build_args may be NULL then, which memcpy may not take */
		memcpy(*out, o->build_args, o->build_args_nr * sizeof(**out));
	*nr = o->build_args_nr;
	if (!o->platform || !*o->platform)
		return 0;
	if (ah_platform_parse(o->platform, &p, err) < 0)
		return -1;
	v[0][0] = "TARGETPLATFORM", v[0][1] = ah_platform_str(&p, buf);
	v[1][0] = "TARGETOS", v[1][1] = p.os;
	v[2][0] = "TARGETARCH", v[2][1] = p.arch;
	v[3][0] = "TARGETVARIANT", v[3][1] = p.variant;
	for (i = 0; i < 4; i++) {
		size_t n = strlen(v[i][0]);
		int given = 0;

		for (j = 0; j < o->build_args_nr; j++)
			if (!strncmp(o->build_args[j], v[i][0], n) &&
			    (o->build_args[j][n] == '=' || !o->build_args[j][n]))
				given = 1;
		if (!given)
			(*out)[(*nr)++] = xstrfmt("%s=%s", v[i][0], v[i][1]);
	}
	return 0;
}

int ah_build_image(const struct ah_build_opts *o, json_t **report, struct ah_err *err)
{
	struct builder b;
	struct ah_df_options dfo;
	char *dfpath = NULL, *buf = NULL, *name = NULL, *p = NULL;
	const char *engine = o->engine && *o->engine ? o->engine : "native";
	size_t len = 0, i;
	int ret = -1, r;
	int64_t t0 = ah_now_ms();
	char mdigest[AH_DIGEST_MAX];
	int64_t msize;

	const char **targs = NULL;
	size_t targs_nr = 0;

	memset(&b, 0, sizeof(b));
	b.o = o;
	b.err = err;
	b.ctx_fd = -1;
	b.tmp_lock = -1;
	if (strcmp(engine, "native") && strcmp(engine, "podman") && strcmp(engine, "docker"))
		return ah_invalid(err, "invalid engine '%s': must be native, podman or docker", engine);
	if (o->network && strcmp(o->network, "none") && strcmp(o->network, "host"))
		return ah_invalid(err, "invalid network '%s': must be none or host", o->network);
	if (!o->tag || !o->context)
		return ah_invalid(err, "%s: required", o->tag ? "context" : "tag");
	if (!(name = ah_image_canonical_name(o->tag, err)))
		return -1;
	b.ctx = realpath(o->context, NULL);
	if (!b.ctx) {
		ah_invalid(err, "context '%s': %s", o->context, strerror(errno));
		goto done;
	}
	b.ctx_fd = open(b.ctx, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (b.ctx_fd < 0) {
		ah_invalid(err, "context '%s': %s", o->context, strerror(errno));
		goto done;
	}
	if (ah_image_store_open(&b.s, o->state_dir, err) < 0)
		goto done;
	/* $APPHUB_BUILD_TMPDIR (a tmpfs, say) instead of STATE/build-tmp */
	if (getenv("APPHUB_BUILD_TMPDIR") && *getenv("APPHUB_BUILD_TMPDIR"))
		p = xstrfmt("%s/apphub-build-tmp", getenv("APPHUB_BUILD_TMPDIR"));
	else
		p = xstrfmt("%s/build-tmp", o->state_dir);
	if (mkdir(p, 0700) < 0 && errno != EEXIST) {
		ah_internal(err, "cannot create '%s': %s", p, strerror(errno));
		goto done;
	}
	b.tmp = xstrfmt("%s/XXXXXX", p);
	/* locked for the build's lifetime: a crashed build's is reclaimed (lib/tmpdir.h) */
	if ((b.tmp_lock = ah_tmp_mkdir(b.tmp, err)) < 0) {
		free(b.tmp);
		b.tmp = NULL;
		goto done;
	}
	if (strcmp(engine, "native")) {
		struct ah_build_opts eo = *o;

		/* The tool reads them itself: the same rule first (lib/repopath.h). */
		if ((!o->dockerfile || o->dockerfile[0] != '/') &&
		    read_ctx_file(b.ctx_fd, o->dockerfile ? o->dockerfile : "Dockerfile",
				  AH_DOCKERFILE_MAX_SIZE, &buf, &len, err))
			goto done;
		free(buf);
		buf = NULL;
		if (read_ctx_file(b.ctx_fd, ".dockerignore", AH_DOCKERIGNORE_MAX_SIZE, &buf, &len,
				  err) < 0)
			goto done;

		eo.engine = engine;
		eo.context = b.ctx;
		ret = external_build(&eo, b.s, name, b.tmp, report, err);
		goto done;
	}
	b.overlay = -1;	/* probed when a root file system is first needed */
	b.cache_dir = xstrfmt("%s/build-cache", o->state_dir);
	if (mkdir(b.cache_dir, 0700) < 0 && errno != EEXIST) {
		ah_internal(err, "cannot create '%s': %s", b.cache_dir, strerror(errno));
		goto done;
	}
	if (o->dockerfile && o->dockerfile[0] == '/') {
		if (read_file_max(o->dockerfile, AH_DOCKERFILE_MAX_SIZE, &buf, &len) < 0) {
			ah_invalid(err, "cannot read '%s': %s", o->dockerfile,
				   errno == EFBIG ? "too large" : strerror(errno));
			goto done;
		}
	} else if (read_ctx_file(b.ctx_fd, o->dockerfile ? o->dockerfile : "Dockerfile",
				 AH_DOCKERFILE_MAX_SIZE, &buf, &len, err)) {
		goto done;
	}
	memset(&dfo, 0, sizeof(dfo));
	if (target_args(o, &targs, &targs_nr, err) < 0)
		goto done;
	dfo.build_args = targs;
	dfo.build_args_nr = targs_nr;
	dfo.target = o->target;
	dfo.base_env = base_env;
	dfo.data = &b;
	if (ah_dockerfile_parse(buf, len, o->dockerfile ? o->dockerfile : "Dockerfile", &dfo, &b.df,
				err) < 0)
		goto done;
	free(buf);
	buf = NULL;
	free(p);
	p = NULL;
	if ((r = read_ctx_file(b.ctx_fd, ".dockerignore", AH_DOCKERIGNORE_MAX_SIZE, &buf, &len,
			       err)) < 0)
		goto done;
	if (!r && ah_dockerignore_parse(buf, len, ".dockerignore", &b.ignore, err) < 0)
		goto done;
	if (getenv("SOURCE_DATE_EPOCH"))
		ah_iso_time(b.created, strtoll(getenv("SOURCE_DATE_EPOCH"), NULL, 10) * 1000);
	else
		ah_now_iso(b.created);
	b.st = xcalloc(b.df->stages_nr, sizeof(*b.st));
	b.steps = json_array();
	if (build_stage(&b, b.df->target) < 0)
		goto done;
	{
		struct bstage *st = &b.st[b.df->target];

		json_object_set_new(st->config, "created", json_string(b.created));
		if (ah_image_commit(b.s, st->config, st->layers, st->nr, mdigest, &msize, err) < 0 ||
		    ah_image_tag(b.s, name, mdigest, msize, NULL, err) < 0)
			goto done;
	}
	logf_(&b, "built %s %s\n", name, mdigest);
	*report = json_pack("{s:s, s:s, s:s, s:I, s:O}", "image", name, "digest", mdigest, "engine",
			    "native", "durationMs", (json_int_t)(ah_now_ms() - t0), "steps", b.steps);
	ret = 0;
done:
	if (b.tmp) {
		struct ah_err e2 = AH_ERR_INIT;

		ah_remove_tree(b.tmp, &e2);
	}
	if (b.tmp_lock >= 0)
		close(b.tmp_lock);
	for (i = 0; b.st && i < b.df->stages_nr; i++) {
		json_decref(b.st[i].config);
		stage_release(&b.st[i]);
	}
	free(b.st);
	json_decref(b.steps);
	if (b.ctx_fd >= 0)
		close(b.ctx_fd);
	ah_dockerfile_free(b.df);
	ah_dockerignore_free(b.ignore);
	ah_image_store_close(b.s);
	for (i = o->build_args_nr; targs && i < targs_nr; i++)
		free((char *)targs[i]);
	free(targs);
	free(b.tmp);
	free(b.cache_dir);
	free(b.ctx);
	free(dfpath);
	free(buf);
	free(name);
	free(p);
	return ret;
}

/* ---- the operation ---- */

static int op_image_build(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_build_opts o;
	struct ah_state *st;
	const char *context, *tag, *dockerfile, *target, *network, *engine, *platform;
	json_t *args = NULL, *v;
	const char **argv = NULL;
	long timeout = 0;
	int no_cache = 0, verbose = 0, ret = -1;
	size_t i;

	memset(&o, 0, sizeof(o));
	if (ah_param_str(params, "context", &context, err) < 0 ||
	    ah_param_str(params, "tag", &tag, err) < 0 ||
	    ah_param_str(params, "dockerfile", &dockerfile, err) < 0 ||
	    ah_param_str(params, "target", &target, err) < 0 ||
	    ah_param_str(params, "platform", &platform, err) < 0 ||
	    ah_param_str(params, "network", &network, err) < 0 ||
	    ah_param_str(params, "engine", &engine, err) < 0 ||
	    ah_param_int(params, "timeoutMs", 0, 0, 7L * 24 * 3600 * 1000, &timeout, err) < 0 ||
	    ah_param_bool(params, "noCache", &no_cache, err) < 0 ||
	    ah_param_bool(params, "verbose", &verbose, err) < 0 ||
	    ah_param_strlist(params, "buildArgs", &args, err) < 0)
		goto done;
	if (!context || !tag) {
		ah_invalid(err, "%s: required", context ? "tag" : "context");
		goto done;
	}
	if (context[0] != '/') {
		ah_invalid(err, "context: must be an absolute path");
		goto done;
	}
	if (ah_ctx_state(ctx, &st, err) < 0)
		goto done;
	argv = xcalloc(json_array_size(args) + 1, sizeof(*argv));
	json_array_foreach(args, i, v)
		argv[i] = json_string_value(v);
	o.state_dir = st->dir;
	o.context = context;
	o.dockerfile = dockerfile;
	o.tag = tag;
	o.build_args = argv;
	o.build_args_nr = json_array_size(args);
	o.target = target;
	o.platform = platform;
	o.network = network;
	o.engine = engine ? engine : getenv("APPHUB_BUILD_ENGINE");
	o.run_timeout_ms = timeout;
	o.no_cache = no_cache;
	o.log_fd = verbose ? 2 : -1;
	ret = ah_build_image(&o, out, err);
done:
	free(argv);
	json_decref(args);
	return ret;
}

const struct ah_op ops_image_build[] = {
	{ .name = "image.build", .method = "POST", .path = "/images/build", .scope = SCOPE_APPS_WRITE, .fn = op_image_build,
	  .summary = "Build an image from a Dockerfile and a context directory" },
	{ NULL },
};
