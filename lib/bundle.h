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

/*
 * Scaffolds a bundle in dir (made when missing) of runtime (NULL: node, or
 * what an existing manifest says) with slug (NULL: from dir's name, or an
 * existing apphub.bundle.json's): only the files that are not there yet.
 * *out: {dir, slug, runtime, created: [file...]}.
 */
int ah_bundle_init(const char *dir, const char *runtime, const char *slug, json_t **out,
		   struct ah_err *err);

/* Whether a symbolic link at name (in a bundle) with target stays inside it. */
int ah_bundle_link_inside(const char *name, const char *target);
/*
 * The link at name (target its target) in the bundle directory rootfd
 * checked by its text and then resolved through the links of the tree,
 * so that a chain (l -> .., m -> l/..) cannot lead out either: 400 naming
 * the link when it leaves the bundle or loops.
 */
int ah_bundle_link_check(int rootfd, const char *name, const char *target, struct ah_err *err);

/*
 * Packages the bundle in dir into out_dir (NULL: its artifactDir) as
 * <slug>-<version>.tgz with its .sha256 and, with key (a private key
 * file), its .sig: reproducible, as the file's comment says. An existing
 * package is a conflict unless force. *out: {slug, version, path,
 * checksum, size, files, signature?}.
 */
int ah_bundle_package(const char *dir, const char *out_dir, int force, const char *key,
		      json_t **out, struct ah_err *err);
/* ah_bundle_package() with force, for publish: *tgz_path the package's path. */
int ah_bundle_package_to(const char *dir, const char *out_dir, const char *key, char **tgz_path,
			 struct ah_err *err);

/*
 * Unpacks a .tgz bundle held in memory into dest (made here, 0755; removed
 * again on error): sizes, counts and depth capped, members that leave the
 * tree ("..", absolute names, links out), hard links, devices and fifos
 * refused, naming the member; modes made 0644 or 0755. *manifest is the
 * archive's manifest, found through its apphub.bundle.json, checked.
 */
int ah_bundle_unpack(const void *tgz, size_t len, const char *dest, json_t **manifest,
		     struct ah_err *err);

#endif
