#ifndef IMAGE_H
#define IMAGE_H

#include <stdint.h>
#include <jansson.h>
#include "err.h"

/*
 * The image store: STATE/images/ is an OCI image layout (oci-layout,
 * index.json, blobs/sha256/<hex>). index.json lists one manifest
 * descriptor per name, the name ("apphub/busybox:latest") in the
 * org.opencontainers.image.ref.name annotation.
 *
 * Blobs are written to images/tmp/ and renamed into place once their
 * digest is known, so a blob is never seen half written; index.json is
 * rewritten (temp file, rename) under an exclusive flock of
 * images/index.lock. A store that writes blobs holds a shared flock of
 * images/gc.lock until it is closed, and garbage collection (after rm)
 * only runs when it can take that lock exclusively, so it never removes
 * the blobs of an image still being written.
 *
 * Everything read from an archive or the network is bounded: JSON
 * documents by AH_IMAGE_MAX_JSON, a layer by ah_image_max_layer()
 * ($APPHUB_MAX_LAYER_SIZE, default 8 GiB, uncompressed), archive member
 * names by PATH_MAX. Member names must be relative without "..", device
 * nodes are refused, and unpacking never writes through a symlink. *
 * The store is lib/image.c (blobs, images read and committed, gc) over
 * lib/image-names.c (names, index.json); lib/image-layer.c makes, checks
 * and applies layers; lib/image-transfer.c imports and exports files. The
 * registry client (lib/registry.c) sits above them all.
 */

#define AH_DIGEST_MAX 72	/* "sha256:" + 64 hex + NUL, rounded */
#define AH_IMAGE_MAX_JSON (4u << 20)

#define AH_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define AH_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define AH_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define AH_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define AH_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define AH_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define AH_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define AH_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define AH_REF_NAME "org.opencontainers.image.ref.name"

struct ah_image_store;

/* Opens (creating) state_dir/images; refuses an APPHUB_MAX_LAYER_SIZE that is not a size. */
int ah_image_store_open(struct ah_image_store **out, const char *state_dir, struct ah_err *err);
void ah_image_store_close(struct ah_image_store *s);
const char *ah_image_store_dir(const struct ah_image_store *s);

/* The largest uncompressed layer accepted. */
int64_t ah_image_max_layer(void);

/* "sha256:<64 lowercase hex>"? */
int ah_digest_valid(const char *digest);
/* The digest of buf: 0, or -1 with err set (no SHA-256 to be had). */
int ah_digest_of(const void *buf, size_t len, char out[AH_DIGEST_MAX], struct ah_err *err);
/* Path of a blob (need not exist); NULL for an invalid digest. Free it. */
char *ah_image_blob_path(struct ah_image_store *s, const char *digest);
int ah_image_blob_exists(struct ah_image_store *s, const char *digest);
/* Reads a blob of at most max bytes (verifying its digest) into a NUL-ended buffer. */
int ah_image_blob_read(struct ah_image_store *s, const char *digest, size_t max, char **buf,
		       size_t *len, struct ah_err *err);

/*
 * A blob written as a stream: bytes go to a temp file while hashed;
 * commit checks the digest against expect (when not NULL) and the size
 * against max (when > 0), then renames it into place. abort discards it.
 * Both free w.
 */
struct ah_blob_writer;
int ah_blob_writer_open(struct ah_image_store *s, struct ah_blob_writer **w, int64_t max,
			struct ah_err *err);
int ah_blob_writer_write(struct ah_blob_writer *w, const void *buf, size_t len, struct ah_err *err);
int ah_blob_writer_commit(struct ah_blob_writer *w, const char *expect, char digest[AH_DIGEST_MAX],
			  int64_t *size, struct ah_err *err);
void ah_blob_writer_abort(struct ah_blob_writer *w);
/* A whole buffer as a blob. */
int ah_image_blob_put(struct ah_image_store *s, const void *buf, size_t len,
		      char digest[AH_DIGEST_MAX], struct ah_err *err);
/* A file copied in as a blob; expect (may be NULL) is checked. */
int ah_image_blob_put_file(struct ah_image_store *s, const char *path, const char *expect,
			   int64_t max, char digest[AH_DIGEST_MAX], int64_t *size, struct ah_err *err);

/* A layer of an image: its blob, its uncompressed digest, its media type. */
struct ah_layer {
	char digest[AH_DIGEST_MAX];
	char diff_id[AH_DIGEST_MAX];
	int64_t size;
	const char *media_type;	/* static string */
};

/*
 * A layer from a directory: every entry of dir in a gzip tar, entries
 * sorted by name, mtimes fixed ($SOURCE_DATE_EPOCH, else 0), owners and
 * modes kept, hard links as links. With base (may be NULL), only what
 * differs from base (type, mode, owner, size, mtime, link target) is
 * written, with the directories above it, and what base has and dir has
 * not becomes a whiteout (.wh.<name>). The same content gives the same
 * digest. An empty diff still gives a (valid, empty) layer.
 */
int ah_image_layer_from_dir(struct ah_image_store *s, const char *dir, const char *base,
			    struct ah_layer *out, struct ah_err *err);
/*
 * ah_image_layer_from_dir(after, before) where after is the overlayfs
 * view of upper over lowers (top first) and before that of lowers alone,
 * reading only what upper holds: the layer of what a step changed in an
 * overlay mount. Whiteouts are overlayfs's (0/0 character devices, the
 * trusted.overlay.opaque xattr). Afterwards what the layer holds has its
 * mtime in upper too, as if the layer had been applied.
 */
int ah_image_layer_from_overlay(struct ah_image_store *s, const char *upper,
				const char *const *lowers, size_t nr, struct ah_layer *out,
				struct ah_err *err);
/*
 * A layer unpacked, its whiteouts written as overlayfs's, in
 * images/unpacked/<hex> (kept, shared, removed by gc with the blob): a
 * lower directory of an overlay mount. *dir is its path (free it).
 * Needs root (whiteouts are device nodes).
 */
int ah_image_layer_dir(struct ah_image_store *s, const char *digest, char **dir,
		       struct ah_err *err);
/*
 * A layer from a tar stream on fd (plain or compressed: anything
 * libarchive reads), rewritten as a gzip tar in the stream's order with
 * its metadata; member names and types checked.
 */
int ah_image_layer_from_tar(struct ah_image_store *s, int fd, const char *what,
			    struct ah_layer *out, struct ah_err *err);
/*
 * Checks a stored layer blob: its member names and types, its size, and
 * computes its diff_id (the digest of the uncompressed tar).
 */
int ah_image_layer_verify(struct ah_image_store *s, const char *digest,
			  char diff_id[AH_DIGEST_MAX], struct ah_err *err);
/* The static string for a layer media type apphub reads, else NULL. */
const char *ah_layer_media_type(const char *media_type);
/*
 * Checks a manifest whose blobs are in the store: a config, and layers
 * that ah_image_layer_verify() accepts with the config's diff_ids.
 */
int ah_image_verify_manifest(struct ah_image_store *s, json_t *manifest, struct ah_err *err);
/* A platform: os/arch[/variant], as an index and a config name it. */
#define AH_PLATFORM_MAX 96
struct ah_platform {
	char os[32], arch[32], variant[16];
};

/* "linux/arm64"; NULL or "" is this machine's. Aliases (x86_64, aarch64) are normalized. */
int ah_platform_parse(const char *spec, struct ah_platform *p, struct ah_err *err);
void ah_platform_host(struct ah_platform *p);
/* The platform an index entry's "platform" or an image config names. */
void ah_platform_of(json_t *doc, struct ah_platform *p);
/* Same os and arch, and variant unless either has none. */
int ah_platform_match(const struct ah_platform *want, const struct ah_platform *have);
const char *ah_platform_str(const struct ah_platform *p, char buf[AH_PLATFORM_MAX]);
/* Is doc (of media type mt; NULL or "": its own) an index or a manifest list? */
int ah_image_is_index(json_t *doc, const char *mt);
/* In an index (or manifest list), the manifest for want (NULL: this machine). */
json_t *ah_image_pick_platform(json_t *index, const struct ah_platform *want,
			       struct ah_err *err);

/*
 * Writes config (an OCI image config; its rootfs is set from layers and
 * os/architecture default to the host's) and a manifest over layers;
 * returns the manifest's digest and size. config is not modified.
 */
int ah_image_commit(struct ah_image_store *s, json_t *config, const struct ah_layer *layers,
		    size_t nr, char manifest_digest[AH_DIGEST_MAX], int64_t *manifest_size,
		    struct ah_err *err);

/*
 * Names: [host[:port]/]path[:tag], lowercase path components; the tag
 * defaults to latest. Returns the canonical "name:tag" (free it), or NULL
 * with err set.
 */
char *ah_image_canonical_name(const char *name, struct ah_err *err);
/*
 * The digest index.json gives ref (a name, made canonical), or ref itself
 * when it is a digest; 404 when the name is not there. It reads index.json
 * only (lib/image-names.c: jansson, no libarchive nor OpenSSL), for a
 * process that must not load the image libraries; ah_image_load() finds
 * names the same way.
 */
int ah_image_index_digest(const char *state_dir, const char *ref, char digest[AH_DIGEST_MAX],
			  struct ah_err *err);
/* Points name at a manifest already in the store (media type may be NULL: OCI). */
int ah_image_tag(struct ah_image_store *s, const char *name, const char *manifest_digest,
		 int64_t manifest_size, const char *media_type, struct ah_err *err);

/* An image read from the store. */
struct ah_image {
	char *name;		/* canonical name, or NULL when found by digest */
	char digest[AH_DIGEST_MAX];	/* manifest */
	int64_t manifest_size;
	char *media_type;	/* manifest media type */
	json_t *manifest;
	json_t *config;
	char config_digest[AH_DIGEST_MAX];
	int64_t config_size;
	size_t nr_layers;
	struct ah_layer *layers;	/* diff_id from the config */
};

/*
 * The manifest and config of an image: ref is a name (tag defaults to
 * latest) or a manifest digest; an index is resolved to this machine's
 * manifest. 404 if absent.
 */
int ah_image_load(struct ah_image_store *s, const char *ref, struct ah_image *img,
		  struct ah_err *err);
void ah_image_release(struct ah_image *img);
/* Config + layers + manifest bytes. */
int64_t ah_image_size(const struct ah_image *img);

/* [{name, digest, size, created}], sorted by name. */
int ah_image_list(struct ah_image_store *s, json_t **out, struct ah_err *err);
/* Removes a name (404 if absent), then collects unreferenced blobs if it can. */
int ah_image_remove(struct ah_image_store *s, const char *name, struct ah_err *err);
/* Removes the blobs no name reaches; skipped (returns 0) while a writer is busy. */
int ah_image_gc(struct ah_image_store *s, struct ah_err *err);

/*
 * Applies one layer on the directory dest: whiteouts (.wh.<name>) and
 * opaque markers (.wh..wh..opq) remove what lower layers put there, then
 * the entries are written. Nothing is written outside dest.
 */
int ah_image_apply_layer(struct ah_image_store *s, const char *digest, const char *dest,
			 struct ah_err *err);
/* The image's root file system in dest (created if missing). */
int ah_image_unpack(struct ah_image_store *s, const struct ah_image *img, const char *dest,
		    struct ah_err *err);

/*
 * Imports path: an OCI layout (directory or tar), `docker save` output, a
 * rootfs tarball (plain or compressed) or a rootfs directory, as name.
 * *format says which ("oci", "docker", "rootfs", "dir"); the image is
 * loaded into img when img is not NULL. For a rootfs, config (may be
 * NULL) is merged into the new image config's "config" ({"Cmd":[...]}).
 */
int ah_image_import(struct ah_image_store *s, const char *path, const char *name,
		    json_t *config, const char **format, struct ah_image *img, struct ah_err *err);
/* An OCI archive (tar of an OCI layout holding this one image) on fd. */
int ah_image_export(struct ah_image_store *s, const struct ah_image *img, int fd,
		    struct ah_err *err);

/* The host's OCI architecture ("amd64", "arm64", ...). */
const char *ah_image_host_arch(void);

#endif
