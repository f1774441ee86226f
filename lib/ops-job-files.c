/*
 * The operations on a bundle's files on this machine (lib/bundle.h,
 * lib/sign.h): scaffolding, packaging and signing keys. Local only: they
 * read and write the caller's files, so no route reaches them.
 */
#include "bundle.h"
#include "ops.h"
#include "sign.h"

/* jobs.init: {dir, runtime?, slug?} -> {dir, slug, runtime, created: [file...]} */
static int op_jobs_init(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	const char *dir, *runtime, *slug;

	(void)ctx;
	if (ah_param_need_str(params, "dir", &dir, err) < 0 ||
	    ah_param_str(params, "runtime", &runtime, err) < 0 ||
	    ah_param_str(params, "slug", &slug, err) < 0)
		return -1;
	return ah_bundle_init(dir, runtime, slug, out, err);
}

/* jobs.package: {dir, out?, force?, key?} -> {slug, version, path, checksum, size, files, signature?} */
static int op_jobs_package(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	const char *dir, *out_dir, *key;
	int force;

	(void)ctx;
	if (ah_param_need_str(params, "dir", &dir, err) < 0 ||
	    ah_param_str(params, "out", &out_dir, err) < 0 ||
	    ah_param_str(params, "key", &key, err) < 0 ||
	    ah_param_bool(params, "force", &force, err) < 0)
		return -1;
	return ah_bundle_package(dir, out_dir, force, key, out, err);
}

/* jobs.keygen: {out?, force?} -> {privateKey, publicKey, fingerprint} (the files' paths) */
static int op_jobs_keygen(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	const char *path;
	char fp[AH_SIGN_FINGERPRINT_MAX];
	int force;

	(void)ctx;
	if (ah_param_str(params, "out", &path, err) < 0 ||
	    ah_param_bool(params, "force", &force, err) < 0)
		return -1;
	if (!path || !*path)
		path = "apphub-signing-key.pem";
	if (ah_sign_keygen(path, force, fp, sizeof(fp), err) < 0)
		return -1;
	*out = json_pack("{s:s, s:s+, s:s}", "privateKey", path, "publicKey", path, ".pub",
			 "fingerprint", fp);
	return 0;
}

const struct ah_op ops_job_files[] = {
	{ .name = "jobs.init", .fn = op_jobs_init,
	  .summary = "Scaffold a job bundle, or the files it lacks" },
	{ .name = "jobs.keygen", .fn = op_jobs_keygen,
	  .summary = "Make an Ed25519 key pair to sign bundles with" },
	{ .name = "jobs.package", .fn = op_jobs_package,
	  .summary = "Package a bundle into a reproducible .tgz with its checksum and signature" },
	{ NULL },
};
