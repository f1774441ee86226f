/*
 * The build engine's driver: see build.h. The other files: build-rootfs.c,
 * build-copy.c, build-run.c, build-engines.c.
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
#include "build-internal.h"
#include "env.h"

/* ---- small helpers ---- */

int build_openat2(int dirfd, const char *path, int flags, uint64_t resolve)
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
void build_md_str(EVP_MD_CTX *md, const char *s)
{
	uint64_t n = s ? strlen(s) : UINT64_MAX;

	EVP_DigestUpdate(md, &n, sizeof(n));
	if (s)
		EVP_DigestUpdate(md, s, strlen(s));
}

void build_md_int(EVP_MD_CTX *md, int64_t v)
{
	EVP_DigestUpdate(md, &v, sizeof(v));
}

int build_line_err(struct builder *b, const struct ah_df_instr *in, int status, const char *code,
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
int build_at_line(struct builder *b, const struct ah_df_instr *in)
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
int build_clean_path(const char *in, struct strbuf *out, int clamp)
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

json_t *build_cfg_of(struct bstage *st)
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

int build_mkdir_tmp(struct builder *b, const char *what, char **out)
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

/* ---- the key of a step ---- */

static void key_instr(EVP_MD_CTX *md, const struct ah_df_instr *in)
{
	size_t i;

	build_md_str(md, ah_df_kind_name(in->kind));
	build_md_int(md, in->exec_form);
	build_md_int(md, (int64_t)in->args_nr);
	for (i = 0; i < in->args_nr; i++)
		build_md_str(md, in->args[i]);
	build_md_int(md, (int64_t)in->flags_nr);
	for (i = 0; i < in->flags_nr; i++) {
		build_md_str(md, in->flags[i].name);
		build_md_str(md, in->flags[i].value);
	}
	build_md_int(md, (int64_t)in->kvs_nr);
	for (i = 0; i < in->kvs_nr; i++) {
		build_md_str(md, in->kvs[i].key);
		build_md_str(md, in->kvs[i].value);
	}
	build_md_int(md, (int64_t)in->heredocs_nr);
	for (i = 0; i < in->heredocs_nr; i++) {
		build_md_str(md, in->heredocs[i].name);
		build_md_str(md, in->heredocs[i].body);
		build_md_int(md, in->heredocs[i].fd);
	}
	build_md_int(md, (int64_t)in->env_nr);
	for (i = 0; i < in->env_nr; i++)
		build_md_str(md, in->env[i]);
	build_md_str(md, in->original);
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
	json_t *shell = json_object_get(build_cfg_of(st), "Shell"), *a;

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
	json_t *cfg = build_cfg_of(st);
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
				return build_line_err(b, in, 400, "invalid", "EXPOSE: a range of more than 1024 ports");
			for (p = in->ports[i].start; p <= in->ports[i].end; p++) {
				char k[32];

				snprintf(k, sizeof(k), "%u/%s", p, in->ports[i].proto);
				json_object_set_new(obj_of(cfg, "ExposedPorts"), k, json_object());
			}
		}
		break;
	case AH_DF_WORKDIR:
		{
			char *w = build_resolve_workdir(st, in->args_nr ? in->args[0] : "/");

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
	build_md_str(md, a);
	build_md_str(md, b2);
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
			return build_line_err(b, in, 404, "not_found", "'%s' in the store is for %s, not %s: "
					"pull it with --platform %s under another name", ref,
					ah_platform_str(&have, a), ah_platform_str(want, w),
					ah_platform_str(want, w));
		}
		return 0;
	}
	if (b->err->status != 404)
		return build_at_line(b, in);
	logf_(b, "pulling %s\n", ref);
	memset(&ro, 0, sizeof(ro));
	ro.platform = asked;
	if (ah_registry_pull(b->s, ref, NULL, &ro, img, b->err) < 0)
		return build_at_line(b, in);
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
		return build_at_line(b, in);

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
			build_push_lower(st, xstrdup(p->lowers[i]));
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
	build_md_str(md, st->key);
	key_instr(md, in);
	if (in->kind == AH_DF_WORKDIR) {
		/* the directory it makes depends on the one before */
		build_md_str(md, json_string_value(json_object_get(build_cfg_of(st), "WorkingDir")));
	}
	if ((in->kind == AH_DF_WORKDIR || in->kind == AH_DF_USER) && !in->args_nr) {
		build_line_err(b, in, 400, "invalid", "%s requires an argument", ah_df_kind_name(in->kind));
		goto step_done;
	}
	if (in->kind == AH_DF_COPY || in->kind == AH_DF_ADD) {
		if (in->args_nr < 2) {
			build_line_err(b, in, 400, "invalid", "%s requires a source and a destination",
				 ah_df_kind_name(in->kind));
			goto step_done;
		}
		if (build_open_src_root(b, in, &r) < 0)
			goto step_done;
		if (!r.from_ctx) {
			build_md_str(md, r.key);
		} else if (build_list_sources(b, in, &r, &srcs, &nsrc) < 0 ||
			   build_copy(b, st, in, &r, srcs, nsrc, md) < 0) {
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
			if (st->root && build_capture_apply(b, st, &layer) < 0)
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
	if (build_materialize(b, st) < 0 || build_step_begin(b, st) < 0) {
		build_at_line(b, in);
		goto step_done;
	}
	if (in->kind == AH_DF_WORKDIR) {
		struct ah_layer layer;
		int rootfd, fd;
		const char *prev;
		char *joined;
		struct strbuf p = STRBUF_INIT;

		prev = json_string_value(json_object_get(build_cfg_of(st), "WorkingDir"));
		joined = in->args[0][0] == '/' ? xstrdup(in->args[0])
					       : xstrfmt("%s/%s", prev && *prev ? prev : "/",
							 in->args[0]);
		build_clean_path(joined, &p, 1);
		free(joined);
		rootfd = build_stage_rootfd(st);
		fd = rootfd < 0 ? -1 : build_openat2(rootfd, p.buf, O_RDONLY | O_DIRECTORY,
						 RESOLVE_IN_ROOT);
		if (fd >= 0) {
			cache_put(b, key, NULL);
			add_history(b, st, in->original, 1);
		} else {
			fd = rootfd < 0 ? -1 : build_mkdir_in_root(rootfd, p.buf, 0, 0);
			if (fd < 0) {
				build_line_err(b, in, 400, "invalid", "WORKDIR: cannot create '/%s': %s",
					 p.buf, strerror(errno));
			} else if (build_capture(b, st, &layer) < 0) {
				build_at_line(b, in);
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
		if (build_run(b, st, in) < 0)
			goto step_done;
	} else {
		if (!r.from_ctx) {
			if (build_src_root_open_fd(b, in, &r) < 0 ||
			    build_list_sources(b, in, &r, &srcs, &nsrc) < 0)
				goto step_done;
		}
		if (build_copy(b, st, in, &r, srcs, nsrc, NULL) < 0)
			goto step_done;
	}
	{
		struct ah_layer layer;

		if (build_capture(b, st, &layer) < 0) {
			build_at_line(b, in);
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
	json_array_foreach(json_object_get(build_cfg_of(st), "Env"), i, e) {
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
	json_t *ob = json_incref(json_object_get(build_cfg_of(st), "OnBuild")), *v;
	struct strbuf text = STRBUF_INIT;
	struct ah_dockerfile *tdf = NULL;
	struct ah_df_options dfo;
	struct ah_err perr = AH_ERR_INIT;
	size_t i, n = json_array_size(ob);
	int ret = -1;

	json_object_del(build_cfg_of(st), "OnBuild");
	if (!n) {
		ret = 0;
		goto done;
	}
	strbuf_addstr(&text, "FROM onbuild-base\n");
	json_array_foreach(ob, i, v) {
		const char *t = json_string_value(v);
		size_t kl = t ? strcspn(t, " \t") : 0;

		if (!t || !*t) {
			build_line_err(b, from, 400, "invalid", "the base image's ONBUILD trigger %zu is not "
				 "one instruction", i + 1);
			goto done;
		}
		if ((kl == 4 && !strncasecmp(t, "FROM", 4)) || (kl == 7 && !strncasecmp(t, "ONBUILD", 7)) ||
		    (kl == 10 && !strncasecmp(t, "MAINTAINER", 10))) {
			build_line_err(b, from, 400, "invalid", "%.*s isn't allowed as an ONBUILD trigger",
				 (int)kl, t);
			goto done;
		}
		strbuf_addf(&text, "%s\n", t);
	}
	memset(&dfo, 0, sizeof(dfo));
	dfo.base_env = trigger_env;
	dfo.data = st;
	if (ah_dockerfile_parse(text.buf, text.len, "ONBUILD", &dfo, &tdf, &perr) < 0) {
		build_line_err(b, from, 400, "invalid", "the base image's ONBUILD triggers: %s", perr.msg);
		goto done;
	}
	if (tdf->stages_nr != 1 || tdf->stages[0].instrs_nr != n + 1) {
		build_line_err(b, from, 400, "invalid", "the base image's ONBUILD triggers do not parse as "
			 "%zu instructions", n);
		goto done;
	}
	for (i = 1; i <= n; i++) {
		struct ah_df_instr *in = &tdf->stages[0].instrs[i];

		logf_(b, "#%d ONBUILD %s\n", from->line, in->original);
		in->line = from->line;	/* errors name the FROM that brought them */
		if (in->kind == AH_DF_COPY && ah_df_flag(in, "from")) {
			build_line_err(b, in, 400, "invalid", "ONBUILD COPY --from is not supported");
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

int build_stage(struct builder *b, size_t idx)
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


int build_read_file_max(const char *path, size_t max, char **buf, size_t *len)
{
	return ah_read_fd_max(open(path, O_RDONLY | O_CLOEXEC), max, buf, len);
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
	if (ah_read_fd_max(fd, max, buf, len) < 0)
		return ah_invalid(err, "cannot read '%s': %s", rel,
				  errno == EFBIG ? "too large" : strerror(errno));
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
	int64_t t0 = ah_now_ms(), epoch;
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
		ret = build_external(&eo, b.s, name, b.tmp, report, err);
		goto done;
	}
	b.overlay = -1;	/* probed when a root file system is first needed */
	b.cache_dir = xstrfmt("%s/build-cache", o->state_dir);
	if (mkdir(b.cache_dir, 0700) < 0 && errno != EEXIST) {
		ah_internal(err, "cannot create '%s': %s", b.cache_dir, strerror(errno));
		goto done;
	}
	if (o->dockerfile && o->dockerfile[0] == '/') {
		if (build_read_file_max(o->dockerfile, AH_DOCKERFILE_MAX_SIZE, &buf, &len) < 0) {
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
	if ((epoch = ah_env_source_date_epoch()) >= 0)
		ah_iso_time(b.created, epoch * 1000);
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
		build_stage_release(&b.st[i]);
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
