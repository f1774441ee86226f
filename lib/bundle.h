#ifndef BUNDLE_H
#define BUNDLE_H

#include <stddef.h>
#include <jansson.h>
#include "err.h"

/*
 * Job bundles: a directory with apphub.bundle.json (slug, entry,
 * manifestPath, artifactDir, files, tests.sampleInputPath) and the
 * manifest (name, version, runtime, entry, description, capabilities,
 * parametersSchema, timeoutMs, limits, metadata); packaged into a
 * reproducible <slug>-<version>.tgz, and that read back safely.
 */
#define AH_BUNDLE_CONFIG "apphub.bundle.json"
/* The largest apphub.bundle.json or manifest read. */
#define AH_BUNDLE_JSON_MAX (1 << 20)

struct ah_bundle {
	char *dir;
	json_t *config;		/* apphub.bundle.json, defaults filled in */
	json_t *manifest;	/* the manifest, defaults filled in, checked */
	/* from config and manifest (theirs) */
	const char *slug, *version, *runtime, *entry;
};

/*
 * Reads and checks the bundle in dir: 400 naming the file and field
 * (missing name or version, a bad slug or semver, an unknown runtime, a
 * missing entry, a path leaving the directory, bad limits).
 */
int ah_bundle_load(const char *dir, struct ah_bundle *b, struct ah_err *err);
void ah_bundle_release(struct ah_bundle *b);

/*
 * Checks a manifest and fills in its defaults (runtime "node", entry by
 * runtime, timeoutMs 900000, capabilities []): 400 naming the field.
 */
int ah_manifest_check(json_t *manifest, struct ah_err *err);

/* Whether v is a semantic version (semver.org 2.0). */
int ah_semver_check(const char *v);
/* Semantic version precedence: <0, 0 or >0 (build metadata ignored). */
int ah_semver_cmp(const char *a, const char *b);
/* A slug: [a-z0-9][a-z0-9-]{0,63}; 400 otherwise. */
int ah_job_slug_check(const char *slug, struct ah_err *err);

/*
 * A relative path inside a bundle: no "..", no absolute path, no empty
 * or "." component. 400 naming what (the field) and the path.
 */
int ah_bundle_path_check(const char *what, const char *path, struct ah_err *err);

#endif
