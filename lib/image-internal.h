#ifndef IMAGE_INTERNAL_H
#define IMAGE_INTERNAL_H

/*
 * What the image store's files share (image.c the store, image-names.c
 * names and index.json, image-layer.c layers, image-transfer.c import and
 * export); nothing outside them includes this.
 */
#include <stdint.h>
#include <jansson.h>
#include "err.h"
#include "image.h"

struct archive;
struct archive_entry;
typedef struct evp_md_ctx_st EVP_MD_CTX;

struct ah_image_store {
	char *dir;
	int gc_fd;	/* shared flock of gc.lock while this store writes or reads */
};

#define COPY_BUF (128 * 1024)

/* image-names.c */
/* Reads at most max bytes of fd into a NUL-ended buffer; more is an error (413). */
int image_read_all(int fd, size_t max, const char *what, char **buf, size_t *len,
		   struct ah_err *err);
/* dir/index.json (an empty index when there is none). */
int image_index_read(const char *dir, json_t **idx, struct ah_err *err);
/* A descriptor's name annotation, or NULL. */
const char *image_desc_name(json_t *desc);
/* The descriptor of idx with this name (or, when name is NULL, this digest). */
json_t *image_find_desc(json_t *idx, const char *name, const char *digest);

/* image.c */
int image_mkdir(const char *path, struct ah_err *err);
/* Holds gc.lock shared: no collection while this store is in use. */
int image_hold_store(struct ah_image_store *s, struct ah_err *err);
EVP_MD_CTX *image_digest_new(struct ah_err *err);
void image_digest_final(EVP_MD_CTX *md, char out[AH_DIGEST_MAX]);
/* A blob that holds a JSON object. */
int image_blob_json(struct ah_image_store *s, const char *digest, json_t **out,
		    struct ah_err *err);
/* An OCI manifest over a config blob and layers, stored as a blob. */
int image_write_manifest(struct ah_image_store *s, const char *cdigest, int64_t csize,
			 const struct ah_layer *layers, size_t nr, char mdigest[AH_DIGEST_MAX],
			 int64_t *msize, struct ah_err *err);

/* image-layer.c: the checks every archive read goes through */
/*
 * Cleans an archive member name in place ("./a//b" -> "a/b"). Returns 0,
 * 1 for the archive's root ("./"), or -1 for an absolute name or one with
 * a ".." component.
 */
int image_clean_member_name(char *name);
/*
 * Checks an entry read from an archive and cleans its names. Returns 0,
 * 1 to skip it (the root directory), -1 with err set.
 */
int image_check_entry(struct archive_entry *e, const char *what, struct ah_err *err);
/* Counts a member's declared size (holes included) against max, before reading it. */
int image_entry_budget(struct archive_entry *e, int64_t *total, int64_t max, const char *what,
		       struct ah_err *err);
/* Copies the current member of in to out() as a plain file, holes as zeros. */
int image_copy_filled(struct archive *in, struct archive_entry *e,
		      int (*out)(void *ud, const void *buf, size_t len), void *ud,
		      const char *what, struct ah_err *err);
/* A reader of any archive format and filter libarchive knows. */
struct archive *image_reader_new(void);
/* The mtime written into layers: $SOURCE_DATE_EPOCH, else 0. */
int64_t image_fixed_mtime(void);

#endif
