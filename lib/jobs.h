#ifndef JOBS_H
#define JOBS_H

#include <stdint.h>
#include <jansson.h>
#include "state.h"

/*
 * Job records: a job per slug, its published bundles (one per version,
 * the files under STATE/bundles/<slug>/<version>/: the .tgz, .sha256,
 * .sig and root/, the unpacked tree) and the keys whose signatures the hub
 * accepts. The job's default version is its newest; how versions compare
 * (semver) is the caller's, given as cmp, so that this layer stays SQL.
 */
typedef int (*ah_version_cmp)(const char *a, const char *b);

/* A bundle found for a run: what "slug" or "slug@version" names. */
struct ah_job_ref {
	char *slug, *version;
	json_t *manifest;	/* with defaults filled in */
	char *dir;		/* STATE/bundles/<slug>/<version> */
	char *root;		/* dir + "/root", the unpacked tree */
	char *checksum;		/* hex SHA-256 of the .tgz */
};

/*
 * Splits "slug" or "slug@version" into *slug and *version (NULL without
 * "@"), both owned by the caller. 400 for an empty part.
 */
int ah_job_spec_split(const char *spec, char **slug, char **version, struct ah_err *err);

/*
 * Resolves spec ("slug": its default version) to ref; 404 naming the job
 * or the version missing. Release with ah_job_ref_release().
 */
int ah_job_resolve(struct ah_state *st, const char *spec, struct ah_job_ref *ref,
		   struct ah_err *err);
void ah_job_ref_release(struct ah_job_ref *ref);

/* STATE/bundles/<slug>/<version> (and its file name <slug>-<version>.tgz). */
char *ah_job_bundle_dir(const char *state_dir, const char *slug, const char *version);
char *ah_job_bundle_tgz(const char *state_dir, const char *slug, const char *version);

/*
 * The record of bundle slug@version: {slug, version, manifest, runtime,
 * checksum, size, signer, createdBy, createdAt}; NULL with 404 naming
 * the job or the version missing.
 */
json_t *ah_job_bundle_json(struct ah_state *st, const char *slug, const char *version,
			   struct ah_err *err);
/* The same, 0 (and *out NULL) when there is none. */
int ah_job_bundle_find(struct ah_state *st, const char *slug, const char *version,
		       json_t **out, struct ah_err *err);

/* What a new bundle's row holds. */
struct ah_job_bundle_row {
	const char *slug, *version, *runtime, *checksum, *signer, *created_by;
	json_t *manifest;
	int64_t size;
};

/*
 * Inside the caller's write transaction: adds the bundle (and its job,
 * named after the manifest's name and description), and makes the newest
 * version by cmp the job's default.
 */
int ah_job_bundle_insert(struct ah_state *st, const struct ah_job_bundle_row *row,
			 ah_version_cmp cmp, struct ah_err *err);
/*
 * Inside the caller's write transaction: removes slug@version (404 when
 * there is none), recomputes the default; the last version removes the
 * job (*job_gone 1).
 */
int ah_job_bundle_delete(struct ah_state *st, const char *slug, const char *version,
			 ah_version_cmp cmp, int *job_gone, struct ah_err *err);

/*
 * The jobs, by slug: [{slug, name, description, defaultVersion, versions
 * (newest first by cmp), createdAt, updatedAt}].
 */
json_t *ah_jobs_json(struct ah_state *st, ah_version_cmp cmp, struct ah_err *err);
/* One job as in ah_jobs_json(); 404 when there is none. */
json_t *ah_job_json(struct ah_state *st, const char *slug, ah_version_cmp cmp,
		    struct ah_err *err);

/*
 * Signers. Adding one that is there (by fingerprint) renames it when name
 * is given; *out is its record {fingerprint, name, createdAt}.
 */
int ah_job_signer_add(struct ah_state *st, const char *fingerprint, const char *public_key,
		      const char *name, json_t **out, struct ah_err *err);
/* [{fingerprint, name, createdAt}], with publicKey (PEM) too when keys. */
json_t *ah_job_signers_json(struct ah_state *st, int keys, struct ah_err *err);

/* The key of the download URLs (hex), made on first use; buf of 65 bytes. */
#define AH_JOB_URL_KEY_LEN 64
int ah_job_url_key(struct ah_state *st, char buf[AH_JOB_URL_KEY_LEN + 1], struct ah_err *err);

#endif
