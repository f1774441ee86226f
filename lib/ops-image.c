/*
 * The image operations (ls, inspect, rm, import, export, unpack, pull,
 * push): parameters in, the store and the registry client called, JSON out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "build.h"
#include "fsutil.h"
#include "image.h"
#include "ops.h"
#include "registry.h"
#include "state.h"

/* ---- the store, import and export ---- */

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
			 (json_int_t)ah_image_size(img), "createdAt",
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
	if (ah_param_need_str(params, "name", &name, err) < 0)
		return -1;
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

	if (ah_param_need_str(params, "name", &name, err) < 0)
		return -1;
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
	if (!ah_dir_empty(dir)) {
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

/* ---- the registry ---- */

static int opts_from(json_t *params, struct ah_registry_opts *o, struct ah_err *err)
{
	long chunk = 0;

	memset(o, 0, sizeof(*o));
	if (ah_param_str(params, "creds", &o->creds, err) < 0 ||
	    ah_param_str(params, "platform", &o->platform, err) < 0 ||
	    ah_param_bool(params, "insecure", &o->insecure, err) < 0 ||
	    ah_param_bool(params, "verbose", &o->verbose, err) < 0 ||
	    ah_param_int(params, "chunkSize", 0, 0, 1L << 30, &chunk, err) < 0)
		return -1;
	if (o->creds && !strchr(o->creds, ':'))
		return ah_invalid(err, "invalid creds: must be user:password");
	o->chunk_size = chunk;
	return 0;
}

static int op_image_pull(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_registry_opts o;
	struct ah_image_store *s = NULL;
	struct ah_image img;
	const char *ref, *name;
	int ret = -1;

	memset(&img, 0, sizeof(img));
	if (opts_from(params, &o, err) < 0 || ah_param_str(params, "ref", &ref, err) < 0 ||
	    ah_param_str(params, "name", &name, err) < 0)
		return -1;
	if (!ref)
		return ah_invalid(err, "ref: required");
	if (open_store(ctx, &s, err) < 0 || ah_registry_pull(s, ref, name, &o, &img, err) < 0)
		goto done;
	*out = json_pack("{s:s, s:s, s:I, s:I}", "name", img.name, "digest", img.digest,
			 "size", (json_int_t)ah_image_size(&img), "layers", (json_int_t)img.nr_layers);
	ret = 0;
done:
	ah_image_release(&img);
	ah_image_store_close(s);
	return ret;
}

static int op_image_push(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	struct ah_registry_opts o;
	struct ah_image_store *s = NULL;
	const char *ref, *name;
	char digest[AH_DIGEST_MAX];
	int ret = -1;

	if (opts_from(params, &o, err) < 0 || ah_param_str(params, "ref", &ref, err) < 0 ||
	    ah_param_str(params, "name", &name, err) < 0)
		return -1;
	if (!ref || !name)
		return ah_invalid(err, "%s: required", name ? "ref" : "name");
	if (open_store(ctx, &s, err) < 0 || ah_registry_push(s, name, ref, &o, digest, err) < 0)
		goto done;
	*out = json_pack("{s:s, s:s, s:s}", "name", name, "ref", ref, "digest", digest);
	ret = 0;
done:
	ah_image_store_close(s);
	return ret;
}

const struct ah_op ops_image[] = {
	{ .name = "image.export", .method = "POST", .path = "/images/:name/export",
	  .scope = SCOPE_APPS_WRITE, .fn = op_image_export,
	  .summary = "Write an image as an OCI archive" },
	{ .name = "image.import", .method = "POST", .path = "/images/import",
	  .scope = SCOPE_APPS_WRITE, .fn = op_image_import,
	  .summary = "Import a rootfs tarball, docker save output or an OCI layout" },
	{ .name = "image.inspect", .method = "GET", .path = "/images/:name", .scope = SCOPE_NONE,
	  .fn = op_image_inspect, .summary = "An image's manifest and config" },
	{ .name = "image.ls", .method = "GET", .path = "/images", .scope = SCOPE_NONE,
	  .fn = op_image_ls, .summary = "The images in the store" },
	{ .name = "image.pull", .method = "POST", .path = "/images/pull", .scope = SCOPE_APPS_WRITE,
	  .fn = op_image_pull, .summary = "Pull an image from a registry" },
	{ .name = "image.push", .method = "POST", .path = "/images/:name/push",
	  .scope = SCOPE_APPS_WRITE, .fn = op_image_push,
	  .summary = "Push an image to a registry" },
	{ .name = "image.rm", .method = "DELETE", .path = "/images/:name",
	  .scope = SCOPE_APPS_WRITE, .fn = op_image_rm,
	  .summary = "Remove an image name, and blobs nothing uses" },
	{ .name = "image.unpack", .method = "POST", .path = "/images/:name/unpack",
	  .scope = SCOPE_APPS_WRITE, .fn = op_image_unpack,
	  .summary = "Write an image's root file system into a directory" },
	{ NULL },
};

/*
 * image.build: {context (absolute), tag, dockerfile?, target?, platform?,
 * network?, engine?, timeoutMs?, noCache?, verbose?, buildArgs?} -> the report.
 */
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
		ah_invalid(err, "invalid %s: required", context ? "tag" : "context");
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
	{ .name = "image.build", .method = "POST", .path = "/images/build",
	  .scope = SCOPE_APPS_WRITE, .fn = op_image_build,
	  .summary = "Build an image from a Dockerfile and a context directory" },
	{ NULL },
};
