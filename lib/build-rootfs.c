/*
 * The build engine's root file systems: a stage's root made on demand, as
 * an overlay of idmapped layer directories or as root + snap copies, and
 * a step's layer captured from it (see build.c for the two ways).
 */
#include "build-internal.h"

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

void build_push_lower(struct bstage *st, char *dir)
{
	if (st->lowers_nr == st->lowers_alloc) {
		st->lowers_alloc = st->lowers_alloc ? 2 * st->lowers_alloc : 8;
		st->lowers = xrealloc(st->lowers, st->lowers_alloc * sizeof(*st->lowers));
	}
	st->lowers[st->lowers_nr++] = dir;
}

void build_stage_release(struct bstage *st)
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

int build_materialize(struct builder *b, struct bstage *st)
{
	size_t i;

	if (st->root)
		return 0;
	if (b->overlay < 0)
		b->overlay = probe_overlay(b);
	if (!b->overlay) {
		if (build_mkdir_tmp(b, "root", &st->root) < 0 || build_mkdir_tmp(b, "snap", &st->snap) < 0)
			return -1;
		return apply_both(b, st, st->layers, st->nr);
	}
	for (i = st->lowers_nr; i < st->nr; i++) {
		char *dir;

		if (ah_image_layer_dir(b->s, st->layers[i].digest, &dir, b->err) < 0)
			return -1;
		build_push_lower(st, dir);
	}
	/* where the sandbox attaches the mount */
	return build_mkdir_tmp(b, "root", &st->root);
}

/* An empty directory, the lower of nothing. */
char *build_empty_lower(struct builder *b)
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
int build_step_begin(struct builder *b, struct bstage *st)
{
	if (!b->overlay || st->mnt > 0)
		return 0;
	free(st->upper);
	free(st->work);
	st->upper = st->work = NULL;
	if (build_mkdir_tmp(b, "upper", &st->upper) < 0 || build_mkdir_tmp(b, "work", &st->work) < 0)
		return -1;
	if (!st->lowers_nr) {
		/* FROM scratch: overlayfs wants a lower all the same */
		char *empty = build_empty_lower(b);

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
int build_stage_rootfd(struct bstage *st)
{
	if (st->mnt > 0)
		return fcntl(st->mnt, F_DUPFD_CLOEXEC, 0);
	return open(st->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* A read-only view of a built stage (a source of COPY --from); -1 with errno. */
int build_stage_view(struct builder *b, struct bstage *st)
{
	char *empty, **v;
	int fd;

	if (!b->overlay)
		return open(st->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* overlayfs wants two lowers when there is no upper */
	empty = build_empty_lower(b);
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
int build_capture(struct builder *b, struct bstage *st, struct ah_layer *l)
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
	build_push_lower(st, st->upper);
	st->upper = NULL;
	ah_remove_tree(st->work, &e);
	free(st->work);
	st->work = NULL;
	return 0;
}

/* A cached layer onto a stage whose root exists already. */
int build_capture_apply(struct builder *b, struct bstage *st, const struct ah_layer *l)
{
	char *dir;

	if (!b->overlay)
		return apply_both(b, st, l, 1);
	if (ah_image_layer_dir(b->s, l->digest, &dir, b->err) < 0)
		return -1;
	build_push_lower(st, dir);
	return 0;
}

/* "/a/b" for WORKDIR arg after prev. */
char *build_resolve_workdir(struct bstage *st, const char *arg)
{
	const char *prev = json_string_value(json_object_get(json_object_get(st->config, "config"),
							     "WorkingDir"));
	char *joined = arg[0] == '/' ? xstrdup(arg) : xstrfmt("%s/%s", prev && *prev ? prev : "/", arg);
	struct strbuf p = STRBUF_INIT;

	build_clean_path(joined, &p, 1);
	free(joined);
	joined = xstrfmt("/%s", p.buf);
	strbuf_release(&p);
	return joined;
}
