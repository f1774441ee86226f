/*
 * The operations of the job records (lib/jobs.c): publishing a bundle
 * (checked: size, checksum, archive, manifest, signature; stored under
 * bundles/<slug>/<version>/ and then recorded), listing, showing and
 * removing jobs, trusting signers, and a bundle's signed download URL.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "base64.h"
#include "bundle.h"
#include "env.h"
#include "events.h"
#include "fsutil.h"
#include "jobs.h"
#include "ops.h"
#include "sign.h"
#include "strbuf.h"
#include "timeutil.h"
#include "tmpdir.h"

#define DEFAULT_MAX_SIZE (16 << 20)
/* How long a download URL is good for. */
#define URL_TTL_S 300

static int64_t bundle_max_size(struct ah_err *err)
{
	int64_t max = -1;

	if (ah_env_size("APPHUB_JOB_BUNDLE_MAX_SIZE", DEFAULT_MAX_SIZE, 1, &max, err) < 0)
		return -1;
	return max;
}

/* Base64 of the largest bundle, and room for the manifest and the rest. */
static int64_t publish_max_body(void)
{
	struct ah_err err = AH_ERR_INIT;
	int64_t max = bundle_max_size(&err);

	return (max < 0 ? DEFAULT_MAX_SIZE : max) / 3 * 4 + (1 << 20);
}

static void hex_of(const unsigned char *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* dir/name holds data, 0644. */
static int write_file(const char *dir, const char *name, const void *data, size_t len,
		      struct ah_err *err)
{
	char *path = xstrfmt("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	int ret = 0;

	if (fd < 0 || ah_write_full(fd, data, len) < 0)
		ret = ah_internal(err, "cannot write '%s': %s", path, strerror(errno));
	if (fd >= 0 && close(fd) < 0 && !ret)
		ret = ah_internal(err, "cannot write '%s': %s", path, strerror(errno));
	free(path);
	return ret;
}

/*
 * The fingerprint of the trusted key that signed tgz; -1 with "signature
 * does not verify" when none did, or when a key is trusted and there is no
 * signature. With no key trusted, *fingerprint is empty.
 */
static int check_signature(struct ah_state *st, const unsigned char *tgz, size_t len,
			   const char *sig_b64, char *fingerprint, size_t fp_len,
			   struct ah_err *err)
{
	json_t *signers = ah_job_signers_json(st, 1, err), *s;
	unsigned char *sig = NULL;
	size_t sig_len = 0, i;
	int ret = -1;

	*fingerprint = '\0';
	if (!signers)
		return -1;
	if (!json_array_size(signers)) {
		ret = 0;
		goto done;
	}
	if (!sig_b64) {
		ah_invalid(err, "signature required: the hub trusts signing keys");
		goto done;
	}
	if (ah_base64_decode(sig_b64, 1024, &sig, &sig_len, err) < 0)
		goto done;
	json_array_foreach(signers, i, s) {
		struct ah_err no = AH_ERR_INIT;
		const char *pem = json_string_value(json_object_get(s, "publicKey"));

		if (ah_sign_verify(pem, tgz, len, sig, sig_len, &no) == 0) {
			snprintf(fingerprint, fp_len, "%s",
				 json_string_value(json_object_get(s, "fingerprint")));
			ret = 0;
			goto done;
		}
	}
	ah_invalid(err, "signature does not verify");
done:
	free(sig);
	json_decref(signers);
	return ret;
}

/* An existing slug@version: the same bytes are success (created false), others a conflict. */
static int existing_bundle(json_t *found, const char *checksum, json_t **out,
			   struct ah_err *err)
{
	const char *have = json_string_value(json_object_get(found, "checksum"));

	if (strcmp(have, checksum)) {
		ah_conflict(err, "bundle '%s@%s' already published with other contents",
			    json_string_value(json_object_get(found, "slug")),
			    json_string_value(json_object_get(found, "version")));
		json_decref(found);
		return -1;
	}
	json_object_set_new(found, "created", json_false());
	*out = found;
	return 0;
}

/*
 * The archive unpacked in tmp says what params say: its manifest is the
 * one given, its slug and version are those published. *b is it, loaded.
 */
static int check_archive(const char *tmp, const unsigned char *tgz, size_t len,
			 const char *slug, const char *version, json_t *manifest,
			 struct ah_bundle *b, struct ah_err *err)
{
	char *root = xstrfmt("%s/root", tmp);
	json_t *archived = NULL, *given = json_deep_copy(manifest);
	int ret = -1;

	if (ah_bundle_unpack(tgz, len, root, &archived, err) < 0 ||
	    ah_bundle_load(root, b, err) < 0)
		goto done;
	/* Both with their defaults filled in: a manifest may leave them out. */
	if (ah_manifest_check(given, err) < 0)
		goto done;
	if (strcmp(b->slug, slug)) {
		ah_invalid(err, "invalid slug '%s': the bundle's is '%s'", slug, b->slug);
		goto done;
	}
	if (strcmp(b->version, version)) {
		ah_invalid(err, "invalid version '%s': does not match the manifest's '%s'", version,
			   b->version);
		goto done;
	}
	if (!json_equal(archived, given)) {
		ah_invalid(err, "invalid manifest: differs from the bundle's");
		goto done;
	}
	ret = 0;
done:
	json_decref(archived);
	json_decref(given);
	free(root);
	return ret;
}

/* Writes the bundle's files into tmp (a locked temporary directory). */
static int write_bundle_files(const char *tmp, const char *slug, const char *version,
			      const unsigned char *tgz, size_t len, const char *checksum,
			      const char *sig_b64, struct ah_err *err)
{
	char *name = xstrfmt("%s-%s.tgz", slug, version), *aux = NULL;
	struct strbuf sb;
	int ret = -1;

	strbuf_init(&sb, 128);
	if (write_file(tmp, name, tgz, len, err) < 0)
		goto done;
	strbuf_addf(&sb, "%s  %s\n", checksum, name);
	aux = xstrfmt("%s.sha256", name);
	if (write_file(tmp, aux, sb.buf, sb.len, err) < 0)
		goto done;
	if (sig_b64) {
		strbuf_setlen(&sb, 0);
		strbuf_addf(&sb, "%s\n", sig_b64);
		free(aux);
		aux = xstrfmt("%s.sig", name);
		if (write_file(tmp, aux, sb.buf, sb.len, err) < 0)
			goto done;
	}
	ret = 0;
done:
	strbuf_release(&sb);
	free(name);
	free(aux);
	return ret;
}

/*
 * In the write transaction: moves tmp to bundles/<slug>/<version> (a
 * directory there without a row is a publish that died: replaced) and
 * adds the rows. A death between the rename and the commit leaves such a
 * directory, never a row without its files.
 */
static int store_bundle(struct ah_state *st, const char *tmp, const struct ah_job_bundle_row *row,
			struct ah_err *err)
{
	char *dir = ah_job_bundle_dir(st->dir, row->slug, row->version);
	char *parent = xstrfmt("%s/bundles/%s", st->dir, row->slug);
	int ret = -1;

	if (ah_remove_tree(dir, err) < 0)
		goto done;
	if (ah_mkdir_p(parent, 0755) < 0 || rename(tmp, dir) < 0) {
		ah_internal(err, "cannot store bundle '%s': %s", dir, strerror(errno));
		goto done;
	}
	if (ah_job_bundle_insert(st, row, ah_semver_cmp, err) < 0 ||
	    ah_event(st, "job.bundle.published", row->slug,
		     json_pack("{s:s, s:s, s:s, s:s?}", "slug", row->slug, "version", row->version,
			       "checksum", row->checksum, "signer", row->signer), err) < 0) {
		struct ah_err no = AH_ERR_INIT;

		ah_remove_tree(dir, &no);
		goto done;
	}
	ret = 0;
done:
	free(dir);
	free(parent);
	return ret;
}

static int op_publish(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	const char *slug, *version, *data, *given, *sig_b64 = NULL;
	json_t *manifest = json_object_get(params, "manifest");
	json_t *artifact = json_object_get(params, "artifact"), *found = NULL;
	struct ah_bundle b = { 0 };
	struct ah_state *st;
	unsigned char *tgz = NULL;
	char checksum[65], fingerprint[128], *tmp = NULL;
	size_t len = 0;
	int64_t max;
	int fd = -1, began = 0, rc, ret = -1;

	if (ah_ctx_state(ctx, &st, err) < 0 ||
	    ah_param_need_str(params, "slug", &slug, err) < 0 ||
	    ah_param_need_str(params, "version", &version, err) < 0 ||
	    ah_param_str(params, "signature", &sig_b64, err) < 0 ||
	    ah_job_slug_check(slug, err) < 0)
		goto done;
	if (!ah_semver_check(version)) {
		ah_invalid(err, "invalid version '%s': not a semantic version", version);
		goto done;
	}
	if (!json_is_object(manifest)) {
		ah_invalid(err, "invalid manifest: required, an object");
		goto done;
	}
	if (!json_is_object(artifact) || ah_param_need_str(artifact, "data", &data, err) < 0 ||
	    ah_param_need_str(artifact, "checksum", &given, err) < 0) {
		if (!err->status)
			ah_invalid(err, "invalid artifact: required, {data, checksum}");
		goto done;
	}
	if ((max = bundle_max_size(err)) < 0)
		goto done;
	/* Refused on its base64 length, before a byte is decoded. */
	if ((int64_t)strlen(data) > (max + 2) / 3 * 4) {
		ah_error(err, 413, "too_large", "bundle '%s@%s': larger than %lld bytes", slug,
			 version, (long long)max);
		goto done;
	}
	if (ah_base64_decode(data, (size_t)max, &tgz, &len, err) < 0 ||
	    ah_sha256_hex(tgz, len, checksum, err) < 0)
		goto done;
	if (!strncmp(given, "sha256:", 7))
		given += 7;
	if (strcasecmp(given, checksum)) {
		ah_invalid(err, "checksum mismatch: the artifact's sha256 is %s, not %s", checksum,
			   given);
		goto done;
	}
	if ((rc = ah_job_bundle_find(st, slug, version, &found, err)) != 0) {
		if (rc > 0)
			ret = existing_bundle(found, checksum, out, err);
		goto done;
	}
	if (check_signature(st, tgz, len, sig_b64, fingerprint, sizeof(fingerprint), err) < 0)
		goto done;

	/* Temporary directories of publishes that died go first. */
	tmp = xstrfmt("%s/bundles", st->dir);
	if (ah_mkdir_p(tmp, 0755) < 0) {
		ah_internal(err, "cannot create '%s': %s", tmp, strerror(errno));
		goto done;
	}
	ah_tmp_reclaim_in(st->dir, "bundles", ".tmp-");
	free(tmp);
	tmp = xstrfmt("%s/bundles/.tmp-XXXXXX", st->dir);
	if ((fd = ah_tmp_mkdir(tmp, err)) < 0)
		goto done;
	if (write_bundle_files(tmp, slug, version, tgz, len, checksum, sig_b64, err) < 0 ||
	    check_archive(tmp, tgz, len, slug, version, manifest, &b, err) < 0)
		goto done;

	if (ah_begin_write(st, err) < 0)
		goto done;
	began = 1;
	/* Another publish of the same may have won meanwhile. */
	if ((rc = ah_job_bundle_find(st, slug, version, &found, err)) != 0) {
		if (rc > 0)
			ret = existing_bundle(found, checksum, out, err);
		goto done;
	}
	{
		struct ah_job_bundle_row row = {
			.slug = slug, .version = version, .runtime = b.runtime,
			.checksum = checksum, .signer = *fingerprint ? fingerprint : NULL,
			.created_by = ctx->subject, .manifest = b.manifest, .size = (int64_t)len,
		};

		if (store_bundle(st, tmp, &row, err) < 0 || ah_commit(st, err) < 0)
			goto done;
	}
	began = 0;
	if (!(*out = ah_job_bundle_json(st, slug, version, err)))
		goto done;
	json_object_set_new(*out, "created", json_true());
	ret = 0;
done:
	if (began)
		ah_rollback(st);
	if (fd >= 0) {
		struct ah_err no = AH_ERR_INIT;

		/* gone when renamed into place */
		ah_remove_tree(tmp, &no);
		close(fd);
	}
	ah_bundle_release(&b);
	free(tgz);
	free(tmp);
	return ret;
}

static int op_list(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	json_t *jobs = ah_jobs_json(st, ah_semver_cmp, err);

	(void)params;
	if (!jobs)
		return -1;
	*out = json_pack("{s:I, s:o}", "total", (json_int_t)json_array_size(jobs), "data", jobs);
	return 0;
}

/* {slug: "slug" or "slug@version"} -> the job with the bundle's manifest, checksum, signer, size */
static int op_show(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *spec, *key;
	char *slug = NULL, *version = NULL;
	json_t *job = NULL, *bundle = NULL, *v;
	int ret = -1;

	if (ah_param_need_str(params, "slug", &spec, err) < 0 ||
	    ah_job_spec_split(spec, &slug, &version, err) < 0 ||
	    !(job = ah_job_json(st, slug, ah_semver_cmp, err)))
		goto done;
	if (!version)
		version = xstrdup(json_string_value(json_object_get(job, "defaultVersion")));
	if (!(bundle = ah_job_bundle_json(st, slug, version, err)))
		goto done;
	json_object_foreach(bundle, key, v)
		if (strcmp(key, "slug") && strcmp(key, "createdAt"))
			json_object_set(job, key, v);
	*out = json_incref(job);
	ret = 0;
done:
	json_decref(job);
	json_decref(bundle);
	free(slug);
	free(version);
	return ret;
}

static int op_rm(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *slug, *version;
	char *dir = NULL, *parent = NULL;
	int gone = 0, ret = -1;

	if (ah_param_need_str(params, "slug", &slug, err) < 0 ||
	    ah_param_need_str(params, "version", &version, err) < 0 ||
	    ah_job_slug_check(slug, err) < 0 || ah_begin_write(st, err) < 0)
		return -1;
	if (ah_job_bundle_delete(st, slug, version, ah_semver_cmp, &gone, err) < 0 ||
	    ah_event(st, "job.bundle.removed", slug,
		     json_pack("{s:s, s:s, s:b}", "slug", slug, "version", version, "jobRemoved",
			       gone), err) < 0 ||
	    ah_commit(st, err) < 0) {
		ah_rollback(st);
		return -1;
	}
	/* After the commit: a death here leaves files without a row, replaced on publish. */
	dir = ah_job_bundle_dir(st->dir, slug, version);
	parent = xstrfmt("%s/bundles/%s", st->dir, slug);
	if (ah_remove_tree(dir, err) < 0)
		goto done;
	rmdir(parent);
	*out = json_pack("{s:s, s:s, s:b, s:b}", "slug", slug, "version", version, "removed", 1,
			 "jobRemoved", gone);
	ret = 0;
done:
	free(dir);
	free(parent);
	return ret;
}

static int op_trust(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *pem, *name = NULL;
	char fingerprint[128];

	if (ah_param_need_str(params, "publicKey", &pem, err) < 0 ||
	    ah_param_str(params, "name", &name, err) < 0)
		return -1;
	if (strlen(pem) > 16384)
		return ah_invalid(err, "invalid publicKey: larger than 16384 bytes");
	if (ah_sign_fingerprint(pem, fingerprint, sizeof(fingerprint), err) < 0)
		return -1;
	return ah_job_signer_add(st, fingerprint, pem, name, out, err);
}

static int op_signers(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	json_t *signers = ah_job_signers_json(st, 0, err);

	(void)params;
	if (!signers)
		return -1;
	*out = json_pack("{s:I, s:o}", "total", (json_int_t)json_array_size(signers), "data",
			 signers);
	return 0;
}

/* HMAC-SHA256 of "GET\n<path>\n<expires>" under the state's URL key, as hex. */
static int url_signature(struct ah_state *st, const char *path, long long expires,
			 char out[65], struct ah_err *err)
{
	char key[AH_JOB_URL_KEY_LEN + 1], *msg;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	int ret = 0;

	if (ah_job_url_key(st, key, err) < 0)
		return -1;
	msg = xstrfmt("GET\n%s\n%lld", path, expires);
	if (!HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg, strlen(msg), md,
		  &n) || n != 32)
		ret = ah_internal(err, "cannot sign the download URL");
	else
		hex_of(md, 32, out);
	explicit_bzero(key, sizeof(key));
	free(msg);
	return ret;
}

static char *download_path(const char *slug, const char *version)
{
	return xstrfmt("/job-bundles/%s/%s/download", slug, version);
}

static int op_bundle(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *slug, *version;
	long long expires = ah_now_ms() / 1000 + URL_TTL_S;
	char sig[65], *path = NULL, at[AH_ISO_LEN];
	json_t *b;
	int ret = -1;

	if (ah_param_need_str(params, "slug", &slug, err) < 0 ||
	    ah_param_need_str(params, "version", &version, err) < 0 ||
	    !(b = ah_job_bundle_json(st, slug, version, err)))
		return -1;
	path = download_path(slug, version);
	if (url_signature(st, path, expires, sig, err) < 0) {
		json_decref(b);
		goto done;
	}
	ah_iso_time(at, expires * 1000);
	json_object_set_new(b, "downloadUrl",
			    json_sprintf("%s?expires=%lld&signature=%s", path, expires, sig));
	json_object_set_new(b, "downloadExpiresAt", json_string(at));
	*out = b;
	ret = 0;
done:
	free(path);
	return ret;
}

static int op_download(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *slug, *version, *given = "", *exp = "";
	char sig[65], *path = NULL, *end = NULL;
	long long expires;
	json_t *b = NULL;
	int ret = -1;

	if (ah_param_need_str(params, "slug", &slug, err) < 0 ||
	    ah_param_need_str(params, "version", &version, err) < 0 ||
	    ah_param_str(params, "expires", &exp, err) < 0 ||
	    ah_param_str(params, "signature", &given, err) < 0)
		return -1;
	errno = 0;
	expires = exp ? strtoll(exp, &end, 10) : 0;
	path = download_path(slug, version);
	if (!exp || !given || errno || end == exp || *end ||
	    url_signature(st, path, expires, sig, err) < 0 || strlen(given) != 64 ||
	    CRYPTO_memcmp(sig, given, 64)) {
		if (!err->status)
			ah_error(err, 403, "forbidden", "download of '%s@%s': the URL's signature does not match",
				 slug, version);
		goto done;
	}
	if (expires < ah_now_ms() / 1000) {
		ah_error(err, 403, "forbidden", "download of '%s@%s': the URL has expired", slug,
			 version);
		goto done;
	}
	if (!(b = ah_job_bundle_json(st, slug, version, err)))
		goto done;
	free(path);
	path = ah_job_bundle_tgz(st->dir, slug, version);
	*out = json_pack("{s:s, s:s, s:s, s:O}", "name", strrchr(path, '/') + 1, "contentType",
			 "application/gzip", "path", path, "size", json_object_get(b, "size"));
	ret = 0;
done:
	json_decref(b);
	free(path);
	return ret;
}

/* A file beside the bundle (.sha256, .sig) as text, trimmed; NULL when there is none. */
static int read_beside(const char *tgz, const char *ext, char **out, struct ah_err *err)
{
	char *path = xstrfmt("%s%s", tgz, ext), buf[1024];
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -1;
	ssize_t n;
	struct strbuf sb;

	*out = NULL;
	strbuf_init(&sb, 0);
	if (fd < 0) {
		ret = errno == ENOENT ? 0 : ah_invalid(err, "cannot read '%s': %s", path,
						       strerror(errno));
		goto done;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0 || n == (ssize_t)sizeof(buf) - 1) {
		ah_invalid(err, "cannot read '%s': %s", path, n < 0 ? strerror(errno) :
			   "larger than expected");
		goto done;
	}
	strbuf_add(&sb, buf, (size_t)n);
	strbuf_trim(&sb);
	*out = strbuf_detach(&sb, NULL);
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	strbuf_release(&sb);
	free(path);
	return ret;
}

/* The bytes of the .tgz at path, refused (413) past max before they are read. */
static int read_tgz(const char *path, int64_t max, unsigned char **data, size_t *len,
		    struct ah_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -1;
	struct stat sb;

	*data = NULL;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		ah_not_found(err, "cannot read '%s': %s", path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(sb.st_mode)) {
		ah_invalid(err, "'%s': not a bundle directory or .tgz file", path);
		goto done;
	}
	if (sb.st_size > max) {
		ah_error(err, 413, "too_large", "bundle '%s': larger than %lld bytes", path,
			 (long long)max);
		goto done;
	}
	*len = (size_t)sb.st_size;
	*data = xmalloc(*len ? *len : 1);
	if (ah_read_full(fd, *data, *len) < 0) {
		ah_invalid(err, "cannot read '%s': %s", path, strerror(errno));
		goto done;
	}
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	return ret;
}

/*
 * The publish parameters of the bundle tgz: the archive's manifest, slug
 * and version, read by unpacking it into work/root.
 */
static int describe_tgz(const unsigned char *tgz, size_t len, const char *work,
			json_t *params, struct ah_err *err)
{
	char *root = xstrfmt("%s/root", work);
	struct ah_bundle b = { 0 };
	json_t *manifest = NULL;
	int ret = -1;

	if (ah_bundle_unpack(tgz, len, root, &manifest, err) < 0 ||
	    ah_bundle_load(root, &b, err) < 0)
		goto done;
	json_object_set_new(params, "slug", json_string(b.slug));
	json_object_set_new(params, "version", json_string(b.version));
	json_object_set(params, "manifest", manifest);
	ret = 0;
done:
	ah_bundle_release(&b);
	json_decref(manifest);
	free(root);
	return ret;
}

/*
 * {path (a bundle directory, packaged first, or its .tgz), key?} -> the
 * params of jobs.publish, from the .tgz and the .sha256 and .sig beside
 * it. Local: the publisher's files, whichever hub gets them. A directory
 * is packaged into a temporary directory, not beside it.
 */
static int op_prepare(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err)
{
	const char *path, *key = NULL, *base = getenv("TMPDIR");
	char *work = NULL, *tgz_path = NULL, *sum = NULL, *sig = NULL, *data = NULL;
	char checksum[65];
	unsigned char *tgz = NULL;
	json_t *res = NULL;
	int64_t max;
	size_t len = 0;
	struct stat sb;
	int ret = -1;

	(void)ctx;
	if (ah_param_need_str(params, "path", &path, err) < 0 ||
	    ah_param_str(params, "key", &key, err) < 0 || (max = bundle_max_size(err)) < 0)
		return -1;
	work = xstrfmt("%s/apphub-publish-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(work)) {
		ah_internal(err, "cannot create '%s': %s", work, strerror(errno));
		free(work);
		return -1;
	}
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		if (ah_bundle_package_to(path, work, key, &tgz_path, err) < 0)
			goto done;
	} else {
		tgz_path = xstrdup(path);
	}
	if (read_tgz(tgz_path, max, &tgz, &len, err) < 0 ||
	    read_beside(tgz_path, ".sha256", &sum, err) < 0 ||
	    read_beside(tgz_path, ".sig", &sig, err) < 0 || ah_sha256_hex(tgz, len, checksum, err) < 0)
		goto done;
	if (key && !sig && ah_sign_data(key, tgz, len, &sig, err) < 0)
		goto done;
	res = json_object();
	if (describe_tgz(tgz, len, work, res, err) < 0)
		goto done;
	data = ah_base64_encode(tgz, len);
	/* The .sha256 beside it is what the hub checks the bytes against. */
	if (sum)
		sum[strcspn(sum, " \t")] = '\0';
	json_object_set_new(res, "artifact", json_pack("{s:s, s:s}", "data", data, "checksum",
						       sum ? sum : checksum));
	if (sig)
		json_object_set_new(res, "signature", json_string(sig));
	*out = res;
	res = NULL;
	ret = 0;
done:
	{
		struct ah_err no = AH_ERR_INIT;

		ah_remove_tree(work, &no);
	}
	json_decref(res);
	free(work);
	free(tgz_path);
	free(tgz);
	free(sum);
	free(sig);
	free(data);
	return ret;
}

const struct ah_op ops_jobs[] = {
	{ .name = "jobs.bundle", .method = "GET", .path = "/job-bundles/:slug/:version",
	  .scope = SCOPE_JOB_BUNDLES_READ, .on_state = op_bundle,
	  .summary = "A bundle's record and a download URL good for 5 minutes" },
	{ .name = "jobs.download", .method = "GET", .path = "/job-bundles/:slug/:version/download",
	  .scope = SCOPE_NONE, .on_state = op_download, .file = 1,
	  .summary = "A bundle's .tgz, by a signed URL of jobs.bundle" },
	{ .name = "jobs.list", .method = "GET", .path = "/jobs", .scope = SCOPE_JOBS_READ,
	  .on_state = op_list, .summary = "The jobs and their versions" },
	{ .name = "jobs.prepare", .fn = op_prepare,
	  .summary = "The parameters of jobs.publish for a bundle directory or .tgz (local)" },
	{ .name = "jobs.publish", .method = "POST", .path = "/job-bundles",
	  .scope = SCOPE_JOB_BUNDLES_WRITE, .fn = op_publish, .created = 1,
	  .max_body = publish_max_body,
	  .summary = "Publish a bundle: {slug, version, manifest, artifact{data, checksum}, signature?}" },
	{ .name = "jobs.rm", .method = "DELETE", .path = "/jobs/:slug/versions/:version",
	  .scope = SCOPE_JOBS_WRITE, .on_state = op_rm,
	  .summary = "Remove a version of a job (the last one removes the job)" },
	{ .name = "jobs.show", .method = "GET", .path = "/jobs/:slug", .scope = SCOPE_JOBS_READ,
	  .on_state = op_show, .summary = "A job (slug or slug@version) with its bundle's manifest" },
	{ .name = "jobs.signers", .method = "GET", .path = "/job-signers", .scope = SCOPE_ADMIN,
	  .on_state = op_signers, .summary = "The keys whose signatures the hub accepts" },
	{ .name = "jobs.trust", .method = "POST", .path = "/job-signers", .scope = SCOPE_ADMIN,
	  .on_state = op_trust, .created = 1,
	  .summary = "Trust a signing key: {publicKey (PEM), name?}" },
	{ NULL },
};
