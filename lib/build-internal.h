/*
 * What the files of the build engine (lib/build*.c) share: the builder, a
 * stage's state and the functions one file offers the others. Private to
 * them; the engine's interface is build.h.
 */
#ifndef BUILD_INTERNAL_H
#define BUILD_INTERNAL_H

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "build.h"
#include "dockerfile.h"
#include "dockerignore.h"
#include "fsutil.h"
#include "image.h"
#include "parse.h"
#include "registry.h"
#include "repopath.h"
#include "state.h"
#include "strbuf.h"
#include "timeutil.h"
#include "tmpdir.h"

#define MAX_DEPTH 256
#define MAX_SOURCES 100000
#define LOG_TAIL 300

/* A RUN's PATH when the image sets none. */
/* The ids a USER may name (ah_sandbox_user). */
#define BUILD_MAX_ID 0x80000000L
/* A RUN's PATH when the image sets none. */
#define BUILD_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct bstage {
	json_t *config;		/* the whole image config */
	struct ah_layer *layers;
	size_t nr, alloc;
	char key[65];
	char *root, *snap;	/* made on demand */
	/* overlay mode: one directory per layer, bottom first; the step's mount */
	char **lowers;
	size_t lowers_nr, lowers_alloc;
	char *upper, *work;
	int mnt;		/* > 0 while a step runs */
	struct ah_platform plat;	/* what its config says */
	int built, needed, cmd_set;
};

struct builder {
	const struct ah_build_opts *o;
	struct ah_image_store *s;
	struct ah_dockerfile *df;
	struct ah_dockerignore *ignore;
	char *tmp, *cache_dir, *ctx;
	int tmp_lock;	/* the flock that owns tmp */
	int ctx_fd;
	int overlay;		/* stages are overlay mounts, not root + snap copies; -1: not known yet */
	struct bstage *st;
	json_t *steps;
	unsigned seq;
	char created[AH_ISO_LEN];
	struct ah_err *err;
};

struct src_root {
	int fd;
	uint64_t resolve;
	int from_ctx;
	char key[128];	/* --from: what the content is (a stage key, an image) */
};

/* the driver (lib/build.c) */
int build_openat2(int dirfd, const char *path, int flags, uint64_t resolve);
void build_md_str(EVP_MD_CTX *md, const char *s);
void build_md_int(EVP_MD_CTX *md, int64_t v);
int build_line_err(struct builder *b, const struct ah_df_instr *in, int status, const char *code,
		   const char *fmt, ...) APPHUB_FMT(5, 6);
int build_at_line(struct builder *b, const struct ah_df_instr *in);
int build_clean_path(const char *in, struct strbuf *out, int clamp);
json_t *build_cfg_of(struct bstage *st);
int build_mkdir_tmp(struct builder *b, const char *what, char **out);
int build_stage(struct builder *b, size_t idx);
int build_read_file_max(const char *path, size_t max, char **buf, size_t *len);

/* root file systems (lib/build-rootfs.c) */
void build_push_lower(struct bstage *st, char *dir);
void build_stage_release(struct bstage *st);
int build_materialize(struct builder *b, struct bstage *st);
char *build_empty_lower(struct builder *b);
int build_step_begin(struct builder *b, struct bstage *st);
int build_stage_rootfd(struct bstage *st);
int build_stage_view(struct builder *b, struct bstage *st);
int build_capture(struct builder *b, struct bstage *st, struct ah_layer *l);
int build_capture_apply(struct builder *b, struct bstage *st, const struct ah_layer *l);
char *build_resolve_workdir(struct bstage *st, const char *arg);

/* COPY and ADD (lib/build-copy.c) */
int build_mkdir_in_root(int rootfd, const char *path, uid_t uid, gid_t gid);
int build_open_src_root(struct builder *b, const struct ah_df_instr *in, struct src_root *r);
int build_src_root_open_fd(struct builder *b, const struct ah_df_instr *in, struct src_root *r);
int build_list_sources(struct builder *b, const struct ah_df_instr *in, struct src_root *r,
		       char ***out, size_t *nr);
int build_copy(struct builder *b, struct bstage *st, const struct ah_df_instr *in,
	       struct src_root *r, char **srcs, size_t nsrc, EVP_MD_CTX *md);

/* RUN (lib/build-run.c) */
int build_run(struct builder *b, struct bstage *st, const struct ah_df_instr *in);

/* podman and docker (lib/build-engines.c) */
int build_external(const struct ah_build_opts *o, struct ah_image_store *s,
		   const char *name, const char *tmp, json_t **report, struct ah_err *err);

#endif
