/*
 * Image transfer through files: import of an OCI layout, `docker save`
 * output, a rootfs tarball or directory; export as an OCI archive.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include "env.h"
#include "fsutil.h"
#include "image.h"
#include "image-internal.h"
#include "strbuf.h"
#include "timeutil.h"
#include "tmpdir.h"

/* ---- import ---- */

/* dir/rel, refusing a name that leaves dir (also through symlinks). */
static char *inside(const char *dir, const char *rel, struct ah_err *err)
{
	char name[PATH_MAX], *joined, *real = NULL, *rdir = realpath(dir, NULL);
	size_t n;

	if (!rel || strlen(rel) >= sizeof(name) || !rdir) {
		ah_invalid(err, "'%s': bad path '%s'", dir, rel ? rel : "");
		goto done;
	}
	strcpy(name, rel);
	if (image_clean_member_name(name)) {
		ah_invalid(err, "'%s': path '%s' escapes it", dir, rel);
		goto done;
	}
	joined = xstrfmt("%s/%s", rdir, name);
	real = realpath(joined, NULL);
	free(joined);
	n = strlen(rdir);
	if (!real) {
		ah_invalid(err, "'%s': cannot find '%s': %s", dir, rel, strerror(errno));
	} else if (strncmp(real, rdir, n) || real[n] != '/') {
		ah_invalid(err, "'%s': path '%s' escapes it", dir, rel);
		free(real);
		real = NULL;
	}
done:
	free(rdir);
	return real;
}

/*
 * Where an image comes from: a directory, or an archive read without
 * unpacking it. An archive is read twice at most. The scan keeps its
 * small JSON members in memory (index.json, manifests, configs: what
 * says which blobs make the image) and only notes the others; then the
 * blobs the manifest reaches are streamed from a second read straight
 * into the store, hashed as they come. Sizes are checked from the
 * members' headers before their bytes are read, and a member that no
 * manifest names is never written anywhere.
 */
#define SRC_MAX_MEMBERS 100000
#define SRC_MAX_SMALL ((size_t)64 << 20)

struct src_member {
	char *buf;	/* a small JSON member, else NULL */
	size_t len;
	int dup;
};

struct src_want {
	char *name;
	char expect[AH_DIGEST_MAX];
	int64_t max;
	char *digest;	/* where the digest goes, or NULL */
	int64_t *size;
	int done;
};

struct import_src {
	struct ah_image_store *s;
	const char *path;
	int is_dir;
	json_t *names;		/* archive member name -> index into members */
	struct src_member *members;
	size_t nr_members, small_bytes;
	int overflow;
	struct src_want *want;
	size_t nr_want;
};

static void src_free(struct import_src *src)
{
	size_t i;

	for (i = 0; i < src->nr_members; i++)
		free(src->members[i].buf);
	free(src->members);
	for (i = 0; i < src->nr_want; i++)
		free(src->want[i].name);
	free(src->want);
	json_decref(src->names);
}

static int looks_like_json(const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
		i++;
	return i < len && (buf[i] == '{' || buf[i] == '[');
}

/* The first read: classifies the archive (1 OCI layout, 2 docker save, 0 a root file system). */
static int src_scan(struct import_src *src, struct ah_err *err)
{
	struct archive *in = image_reader_new();
	struct archive_entry *e;
	int64_t total = 0, max = ah_image_max_layer();
	int layout = 0, index = 0, manifest = 0, r, ret = -1;
	char *buf = NULL, *what = xstrfmt("'%s'", src->path);

	src->names = json_object();
	if (archive_read_open_filename(in, src->path, 65536) != ARCHIVE_OK) {
		ah_invalid(err, "'%s': %s", src->path, archive_error_string(in));
		goto done;
	}
	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		int c = image_check_entry(e, what, err);
		const char *name;
		int64_t size;
		json_t *seen;
		la_ssize_t n;
		size_t got;

		if (c < 0)
			goto done;
		/* only regular files: a symlink or hard link is never followed */
		if (c || archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
			continue;
		if (image_entry_budget(e, &(int64_t){ 0 }, max, what, err) < 0 ||
		    image_entry_budget(e, &total, 4 * max, what, err) < 0)
			goto done;
		name = archive_entry_pathname(e);
		if (!strcmp(name, "oci-layout"))
			layout = 1;
		else if (!strcmp(name, "index.json"))
			index = 1;
		else if (!strcmp(name, "manifest.json"))
			manifest = 1;
		if ((seen = json_object_get(src->names, name))) {
			src->members[json_integer_value(seen)].dup = 1;
			continue;
		}
		if (src->nr_members >= SRC_MAX_MEMBERS) {
			src->overflow = 1;
			continue;
		}
		src->members = xrealloc(src->members, (src->nr_members + 1) * sizeof(*src->members));
		memset(&src->members[src->nr_members], 0, sizeof(*src->members));
		json_object_set_new(src->names, name, json_integer((json_int_t)src->nr_members));
		size = archive_entry_size(e);
		if (size > 0 && (size_t)size <= AH_IMAGE_MAX_JSON &&
		    src->small_bytes + (size_t)size <= SRC_MAX_SMALL) {
			buf = xmalloc((size_t)size + 1);
			for (got = 0; got < (size_t)size; got += (size_t)n) {
				n = archive_read_data(in, buf + got, (size_t)size - got);
				if (n < 0) {
					ah_invalid(err, "'%s': %s", src->path,
						   archive_error_string(in));
					goto done;
				}
				if (!n)
					break;
			}
			n = (la_ssize_t)got;
			if (looks_like_json(buf, (size_t)n)) {
				buf[n] = '\0';
				src->members[src->nr_members].buf = buf;
				src->members[src->nr_members].len = (size_t)n;
				src->small_bytes += (size_t)n;
				buf = NULL;
			}
			free(buf);
			buf = NULL;
		}
		src->nr_members++;
	}
	if (r != ARCHIVE_EOF) {
		ah_invalid(err, "'%s': %s", src->path, archive_error_string(in));
		goto done;
	}
	ret = layout && index ? 1 : manifest ? 2 : 0;
	if (ret && src->overflow)
		ret = ah_invalid(err, "'%s': more than %d files", src->path, SRC_MAX_MEMBERS);
done:
	free(what);
	free(buf);
	archive_read_free(in);
	return ret;
}

/* An archive member's record; NULL with err set if there is none or more than one. */
static struct src_member *src_member(struct import_src *src, const char *rel, char *name,
				     struct ah_err *err)
{
	json_t *i;

	if (!rel || strlen(rel) >= PATH_MAX || (strcpy(name, rel), image_clean_member_name(name))) {
		ah_invalid(err, "'%s': bad path '%s'", src->path, rel ? rel : "");
		return NULL;
	}
	if (!(i = json_object_get(src->names, name))) {
		ah_invalid(err, "'%s': no file '%s'", src->path, rel);
		return NULL;
	}
	if (src->members[json_integer_value(i)].dup) {
		ah_invalid(err, "'%s': '%s' appears more than once", src->path, rel);
		return NULL;
	}
	return &src->members[json_integer_value(i)];
}

static int parse_json(const char *buf, size_t len, const char *what, const char *rel,
		      json_t **out, struct ah_err *err)
{
	json_error_t jerr;
	char why[AH_JSON_WHY_MAX];

	*out = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (json_is_object(*out) || json_is_array(*out))
		return 0;
	if (*out)
		snprintf(why, sizeof(why), "not an object or array");
	else
		ah_json_why(&jerr, why, sizeof(why));
	json_decref(*out);
	*out = NULL;
	return ah_invalid(err, "'%s': '%s' is not valid JSON: %s", what, rel, why);
}

/* A JSON file of the image (index.json, manifest.json...): 1 if there is none. */
static int src_json(struct import_src *src, const char *rel, json_t **out, struct ah_err *err)
{
	char name[PATH_MAX], *p = NULL, *buf = NULL;
	struct src_member *m;
	size_t len;
	int fd = -1, ret = -1;

	*out = NULL;
	if (!src->is_dir) {
		if (!json_object_get(src->names, rel))
			return 1;
		if (!(m = src_member(src, rel, name, err)))
			return -1;
		if (!m->buf)
			return ah_invalid(err, "'%s': '%s' is not a JSON document of at most %u bytes",
					  src->path, rel, AH_IMAGE_MAX_JSON);
		return parse_json(m->buf, m->len, src->path, rel, out, err);
	}
	p = xstrfmt("%s/%s", src->path, rel);
	if (access(p, F_OK) < 0 && errno == ENOENT) {
		free(p);
		return 1;
	}
	free(p);
	/* never through a symlink out of the layout */
	if (!(p = inside(src->path, rel, err)))
		goto done;
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ah_invalid(err, "cannot open '%s': %s", p, strerror(errno));
		goto done;
	}
	if (image_read_all(fd, AH_IMAGE_MAX_JSON, p, &buf, &len, err) < 0)
		goto done;
	ret = parse_json(buf, len, src->path, rel, out, err);
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(p);
	return ret;
}

static int put_mem(struct ah_image_store *s, const char *buf, size_t len, const char *expect,
		   int64_t max, char *digest, int64_t *size, struct ah_err *err)
{
	struct ah_blob_writer *w;

	if (ah_blob_writer_open(s, &w, max, err) < 0)
		return -1;
	if (ah_blob_writer_write(w, buf, len, err) < 0) {
		ah_blob_writer_abort(w);
		return -1;
	}
	return ah_blob_writer_commit(w, expect, digest, size, err);
}

/*
 * Puts the image's file rel into the store (its digest checked against
 * expect if given, into digest and size if asked). A small JSON member of
 * an archive goes in at once; a big one when src_flush() reads the
 * archive again, unless now is set (the caller reads it next).
 */
static int src_blob(struct import_src *src, const char *rel, const char *expect, int64_t max,
		    char *digest, int64_t *size, int now, struct ah_err *err)
{
	char name[PATH_MAX], *p;
	struct src_member *m;
	struct src_want *w;
	int ret;

	if (expect && !ah_digest_valid(expect))
		return ah_invalid(err, "'%s': invalid digest '%s' (only sha256 is supported)",
				  src->path, expect);
	if (src->is_dir) {
		if (!(p = inside(src->path, rel, err)))
			return -1;
		ret = ah_image_blob_put_file(src->s, p, expect, max, digest, size, err);
		free(p);
		return ret;
	}
	if (!(m = src_member(src, rel, name, err)))
		return -1;
	if (m->buf)
		return put_mem(src->s, m->buf, m->len, expect, max, digest, size, err);
	if (now)
		return ah_invalid(err, "'%s': '%s' is not a JSON document of at most %u bytes",
				  src->path, rel, AH_IMAGE_MAX_JSON);
	if (src->nr_want >= SRC_MAX_MEMBERS)
		return ah_invalid(err, "'%s': more than %d blobs", src->path, SRC_MAX_MEMBERS);
	src->want = xrealloc(src->want, (src->nr_want + 1) * sizeof(*src->want));
	w = &src->want[src->nr_want++];
	memset(w, 0, sizeof(*w));
	w->name = xstrdup(name);
	snprintf(w->expect, sizeof(w->expect), "%s", expect ? expect : "");
	w->max = max;
	w->digest = digest;
	w->size = size;
	return 0;
}

/* Streams one member into the store for every want that names it. */
struct blob_out {
	struct ah_blob_writer *w;
	struct ah_err *err;
};

static int blob_out(void *ud, const void *buf, size_t len)
{
	struct blob_out *bo = ud;

	return ah_blob_writer_write(bo->w, buf, len, bo->err);
}

static int flush_member(struct import_src *src, struct archive *in, struct archive_entry *e,
			struct ah_err *err)
{
	const char *name = archive_entry_pathname(e);
	struct ah_blob_writer *bw = NULL;
	struct src_want *first = NULL;
	struct blob_out bo;
	char got[AH_DIGEST_MAX];
	int64_t size = 0;
	size_t i;
	int ret = -1;

	for (i = 0; i < src->nr_want && !first; i++)
		if (!src->want[i].done && !strcmp(src->want[i].name, name))
			first = &src->want[i];
	if (!first)
		return 0;
	if (ah_blob_writer_open(src->s, &bw, first->max, err) < 0)
		goto done;
	bo.w = bw;
	bo.err = err;
	/* a blob is a plain file: a sparse member's holes are read as zeros */
	if (image_copy_filled(in, e, blob_out, &bo, src->path, err) < 0)
		goto done;
	ret = ah_blob_writer_commit(bw, first->expect[0] ? first->expect : NULL, got, &size, err);
	bw = NULL;
	if (ret < 0)
		goto done;
	for (i = 0; i < src->nr_want; i++) {
		struct src_want *w = &src->want[i];

		if (w->done || strcmp(w->name, name))
			continue;
		if (w->expect[0] && strcmp(w->expect, got)) {
			ret = ah_error(err, 422, "digest_mismatch", "blob '%s': content has digest '%s'",
				       w->expect, got);
			goto done;
		}
		if (size > w->max) {
			ret = ah_error(err, 413, "too_large", "'%s': '%s' is larger than %lld bytes",
				       src->path, name, (long long)w->max);
			goto done;
		}
		if (w->digest)
			memcpy(w->digest, got, AH_DIGEST_MAX);
		if (w->size)
			*w->size = size;
		w->done = 1;
	}
done:
	ah_blob_writer_abort(bw);
	return ret;
}

/* The second read: the big blobs src_blob() put off. */
static int src_flush(struct import_src *src, struct ah_err *err)
{
	struct archive *in;
	struct archive_entry *e;
	size_t i, left = 0;
	int r, ret = -1;

	for (i = 0; i < src->nr_want; i++)
		if (!src->want[i].done && src->want[i].expect[0] &&
		    ah_image_blob_exists(src->s, src->want[i].expect)) {
			if (src->want[i].size) {
				struct stat sb;
				char *p = ah_image_blob_path(src->s, src->want[i].expect);

				*src->want[i].size = stat(p, &sb) == 0 ? sb.st_size : 0;
				free(p);
			}
			if (src->want[i].digest)
				memcpy(src->want[i].digest, src->want[i].expect, AH_DIGEST_MAX);
			src->want[i].done = 1;
		} else if (!src->want[i].done) {
			left++;
		}
	if (!left)
		return 0;
	in = image_reader_new();
	if (archive_read_open_filename(in, src->path, 65536) != ARCHIVE_OK) {
		ah_invalid(err, "'%s': %s", src->path, archive_error_string(in));
		goto done;
	}
	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		int c = image_check_entry(e, src->path, err);

		if (c < 0)
			goto done;
		if (c || archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
			continue;
		if (flush_member(src, in, e, err) < 0)
			goto done;
	}
	if (r != ARCHIVE_EOF) {
		ah_invalid(err, "'%s': %s", src->path, archive_error_string(in));
		goto done;
	}
	for (i = 0; i < src->nr_want; i++)
		if (!src->want[i].done) {
			ah_invalid(err, "'%s': no file '%s'", src->path, src->want[i].name);
			goto done;
		}
	ret = 0;
done:
	archive_read_free(in);
	return ret;
}

static char *blob_rel(const char *digest)
{
	return xstrfmt("blobs/sha256/%s", ah_digest_valid(digest) ? digest + 7 : "");
}

static int import_oci(struct import_src *src, char mdigest[AH_DIGEST_MAX], int64_t *msize,
		      char **mtype, struct ah_err *err)
{
	json_t *layout = NULL, *idx = NULL, *desc, *doc = NULL, *l;
	const char *mt, *d;
	char *rel = NULL;
	int ret = -1, hops;
	size_t i;

	if (src_json(src, "oci-layout", &layout, err) != 0 ||
	    !json_is_string(json_object_get(layout, "imageLayoutVersion"))) {
		if (!err->msg[0])
			ah_invalid(err, "'%s': not an OCI image layout", src->path);
		goto done;
	}
	if (src_json(src, "index.json", &idx, err) != 0) {
		if (!err->msg[0])
			ah_invalid(err, "'%s': no index.json", src->path);
		goto done;
	}
	desc = idx;
	for (hops = 0; ; hops++) {
		json_t *m = json_object_get(desc == idx ? idx : doc, "manifests");

		if (hops > 2) {
			ah_invalid(err, "'%s': indexes nested too deep", src->path);
			goto done;
		}
		desc = json_array_size(m) == 1 ? json_array_get(m, 0)
					       : ah_image_pick_platform(desc == idx ? idx : doc, NULL, err);
		if (!desc)
			goto done;
		desc = json_deep_copy(desc);
		d = json_string_value(json_object_get(desc, "digest"));
		mt = json_string_value(json_object_get(desc, "mediaType"));
		json_decref(doc);
		doc = NULL;
		free(rel);
		rel = blob_rel(d);
		if (src_blob(src, rel, d ? d : "", AH_IMAGE_MAX_JSON, NULL, msize, 1, err) < 0 ||
		    image_blob_json(src->s, d, &doc, err) < 0) {
			json_decref(desc);
			goto done;
		}
		snprintf(mdigest, AH_DIGEST_MAX, "%s", d);
		*mtype = xstrdup(mt ? mt : json_string_value(json_object_get(doc, "mediaType"))
				 ?: AH_MT_OCI_MANIFEST);
		json_decref(desc);
		if (!ah_image_is_index(doc, NULL))
			break;
		free(*mtype);
		*mtype = NULL;
		desc = NULL;
	}
	d = json_string_value(json_object_get(json_object_get(doc, "config"), "digest"));
	free(rel);
	rel = blob_rel(d);
	if (src_blob(src, rel, d ? d : "", AH_IMAGE_MAX_JSON, NULL, NULL, 0, err) < 0)
		goto done;
	json_array_foreach(json_object_get(doc, "layers"), i, l) {
		d = json_string_value(json_object_get(l, "digest"));
		free(rel);
		rel = blob_rel(d);
		if (src_blob(src, rel, d ? d : "", ah_image_max_layer(), NULL, NULL, 0, err) < 0)
			goto done;
	}
	if (src_flush(src, err) < 0)
		goto done;
	ret = ah_image_verify_manifest(src->s, doc, err);
done:
	if (ret < 0) {
		free(*mtype);
		*mtype = NULL;
	}
	free(rel);
	json_decref(layout);
	json_decref(idx);
	json_decref(doc);
	return ret;
}

static const char *sniff_layer(struct ah_image_store *s, const char *digest)
{
	unsigned char b[4] = { 0 };
	char *path = ah_image_blob_path(s, digest);
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	ssize_t n = fd >= 0 ? read(fd, b, 4) : -1;

	if (fd >= 0)
		close(fd);
	free(path);
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return AH_MT_OCI_LAYER_GZIP;
	if (n == 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
		return "application/vnd.oci.image.layer.v1.tar+zstd";
	return AH_MT_OCI_LAYER;
}

static int import_docker(struct import_src *src, char mdigest[AH_DIGEST_MAX], int64_t *msize,
			 char **mtype, struct ah_err *err)
{
	json_t *list = NULL, *m, *ls, *l, *config = NULL, *ids;
	char cdigest[AH_DIGEST_MAX];
	struct ah_layer *layers = NULL;
	int64_t csize;
	size_t i;
	int ret = -1;

	if (src_json(src, "manifest.json", &list, err) != 0 || !json_is_array(list) ||
	    !json_is_object(m = json_array_get(list, 0))) {
		if (!err->msg[0])
			ah_invalid(err, "'%s': manifest.json is not a docker save manifest",
				   src->path);
		goto done;
	}
	if (src_blob(src, json_string_value(json_object_get(m, "Config")), NULL,
		     AH_IMAGE_MAX_JSON, cdigest, &csize, 1, err) < 0 ||
	    image_blob_json(src->s, cdigest, &config, err) < 0)
		goto done;
	ls = json_object_get(m, "Layers");
	ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	if (!json_is_array(ls) || json_array_size(ls) != json_array_size(ids)) {
		ah_invalid(err, "'%s': %zu layers for %zu diff_ids in the config", src->path,
			   json_array_size(ls), json_array_size(ids));
		goto done;
	}
	layers = xcalloc(json_array_size(ls) + 1, sizeof(*layers));
	json_array_foreach(ls, i, l)
		if (src_blob(src, json_string_value(l), NULL, ah_image_max_layer(),
			     layers[i].digest, &layers[i].size, 0, err) < 0)
			goto done;
	if (src_flush(src, err) < 0)
		goto done;
	json_array_foreach(ls, i, l) {
		layers[i].media_type = sniff_layer(src->s, layers[i].digest);
		snprintf(layers[i].diff_id, AH_DIGEST_MAX, "%s",
			 json_string_value(json_array_get(ids, i)) ?: "");
	}
	if (image_write_manifest(src->s, cdigest, csize, layers, json_array_size(ls), mdigest, msize,
			   err) < 0)
		goto done;
	json_decref(list);
	list = NULL;
	if (image_blob_json(src->s, mdigest, &list, err) < 0 ||
	    ah_image_verify_manifest(src->s, list, err) < 0)
		goto done;
	*mtype = xstrdup(AH_MT_OCI_MANIFEST);
	ret = 0;
done:
	json_decref(list);
	json_decref(config);
	free(layers);
	return ret;
}

static json_t *default_config(json_t *overrides)
{
	char created[AH_ISO_LEN];
	int64_t sde = ah_env_source_date_epoch();
	json_t *cfg, *c;

	if (sde >= 0)
		ah_iso_time(created, sde * 1000);
	else
		ah_now_iso(created);
	c = json_pack("{s:[s]}", "Env",
		      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	if (json_is_object(overrides))
		json_object_update(c, overrides);
	cfg = json_pack("{s:s, s:s, s:s, s:o, s:{s:s, s:[]}, s:[{s:s, s:s}]}",
			"created", created, "architecture", ah_image_host_arch(), "os", "linux",
			"config", c, "rootfs", "type", "layers", "diff_ids",
			"history", "created", created, "created_by", "apphub image import");
	return cfg;
}

int ah_image_import(struct ah_image_store *s, const char *path, const char *name,
		    json_t *config, const char **format, struct ah_image *img, struct ah_err *err)
{
	char *cname = ah_image_canonical_name(name, err), *probe = NULL;
	char mdigest[AH_DIGEST_MAX], *mtype = NULL;
	const char *fmt = NULL;
	struct import_src src;
	struct ah_layer layer;
	json_t *cfg = NULL;
	int64_t msize = 0;
	struct stat sb;
	int kind, fd = -1, ret = -1;

	memset(&src, 0, sizeof(src));
	src.s = s;
	src.path = path;
	if (!cname)
		goto done;
	if (image_hold_store(s, err) < 0)
		goto done;
	if (stat(path, &sb) < 0) {
		ah_not_found(err, "cannot import '%s': %s", path, strerror(errno));
		goto done;
	}
	if (S_ISDIR(sb.st_mode)) {
		src.is_dir = 1;
		probe = xstrfmt("%s/oci-layout", path);
		kind = access(probe, F_OK) == 0 ? 1 : 3;
		free(probe);
		probe = xstrfmt("%s/manifest.json", path);
		if (kind == 3 && access(probe, F_OK) == 0)
			kind = 2;
	} else if ((kind = src_scan(&src, err)) < 0) {
		goto done;
	}
	switch (kind) {
	case 1:
		fmt = "oci";
		if (import_oci(&src, mdigest, &msize, &mtype, err) < 0)
			goto done;
		break;
	case 2:
		fmt = "docker";
		if (import_docker(&src, mdigest, &msize, &mtype, err) < 0)
			goto done;
		break;
	default:
		src_free(&src);
		memset(&src, 0, sizeof(src));
		cfg = default_config(config);
		if (kind == 3) {
			fmt = "dir";
			if (ah_image_layer_from_dir(s, path, NULL, &layer, err) < 0)
				goto done;
		} else {
			fmt = "rootfs";
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				ah_invalid(err, "cannot open '%s': %s", path, strerror(errno));
				goto done;
			}
			if (ah_image_layer_from_tar(s, fd, path, &layer, err) < 0)
				goto done;
		}
		if (ah_image_commit(s, cfg, &layer, 1, mdigest, &msize, err) < 0)
			goto done;
		mtype = xstrdup(AH_MT_OCI_MANIFEST);
	}
	if (ah_image_tag(s, cname, mdigest, msize, mtype, err) < 0)
		goto done;
	if (img && ah_image_load(s, cname, img, err) < 0)
		goto done;
	if (format)
		*format = fmt;
	ret = 0;
done:
	src_free(&src);
	if (fd >= 0)
		close(fd);
	free(probe);
	free(mtype);
	free(cname);
	json_decref(cfg);
	return ret;
}

/* ---- export: an OCI archive ---- */

static int tar_add(struct archive *a, const char *name, mode_t type, const char *data,
		   size_t len, const char *file, int64_t mtime, struct ah_err *err)
{
	struct archive_entry *e = archive_entry_new();
	char *buf = NULL;
	int fd = -1, ret = -1;

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_mtime(e, mtime, 0);
	if (file) {
		struct stat sb;

		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &sb) < 0) {
			ah_internal(err, "cannot open '%s': %s", file, strerror(errno));
			goto done;
		}
		archive_entry_set_size(e, sb.st_size);
	} else if (type == AE_IFREG) {
		archive_entry_set_size(e, (la_int64_t)len);
	}
	if (archive_write_header(a, e) < ARCHIVE_WARN)
		goto fail;
	if (file) {
		ssize_t n;

		buf = xmalloc(COPY_BUF);
		while ((n = read(fd, buf, COPY_BUF)) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				ah_internal(err, "cannot read '%s': %s", file, strerror(errno));
				goto done;
			}
			if (archive_write_data(a, buf, (size_t)n) < 0)
				goto fail;
		}
	} else if (len && archive_write_data(a, data, len) < 0) {
		goto fail;
	}
	ret = 0;
	goto done;
fail:
	ah_internal(err, "cannot write the archive: %s", archive_error_string(a));
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	archive_entry_free(e);
	return ret;
}

static int export_blob(struct ah_image_store *s, struct archive *a, const char *digest,
		       json_t *done_set, int64_t mtime, struct ah_err *err)
{
	char *path, *name;
	int ret;

	if (json_object_get(done_set, digest))
		return 0;
	json_object_set_new(done_set, digest, json_true());
	path = ah_image_blob_path(s, digest);
	if (!path)
		return ah_invalid(err, "invalid digest '%s'", digest);
	name = xstrfmt("blobs/sha256/%s", digest + 7);
	ret = tar_add(a, name, AE_IFREG, NULL, 0, path, mtime, err);
	free(name);
	free(path);
	return ret;
}

int ah_image_export(struct ah_image_store *s, const struct ah_image *img, int fd,
		    struct ah_err *err)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	struct archive *a = archive_write_new();
	json_t *idx, *done_set = json_object();
	int64_t mtime = image_fixed_mtime();
	char *text;
	size_t i;
	int ret = -1;

	idx = json_pack("{s:i, s:s, s:[{s:s, s:s, s:I}]}", "schemaVersion", 2, "mediaType",
			AH_MT_OCI_INDEX, "manifests", "mediaType", img->media_type, "digest",
			img->digest, "size", (json_int_t)img->manifest_size);
	if (img->name)
		json_object_set_new(json_array_get(json_object_get(idx, "manifests"), 0),
				    "annotations", json_pack("{s:s}", AH_REF_NAME, img->name));
	text = json_dumps(idx, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(a) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		ah_internal(err, "cannot write the archive: %s", archive_error_string(a));
		goto done;
	}
	if (tar_add(a, "oci-layout", AE_IFREG, layout, sizeof(layout) - 1, NULL, mtime, err) < 0 ||
	    tar_add(a, "index.json", AE_IFREG, text, strlen(text), NULL, mtime, err) < 0 ||
	    tar_add(a, "blobs/", AE_IFDIR, NULL, 0, NULL, mtime, err) < 0 ||
	    tar_add(a, "blobs/sha256/", AE_IFDIR, NULL, 0, NULL, mtime, err) < 0 ||
	    export_blob(s, a, img->digest, done_set, mtime, err) < 0 ||
	    export_blob(s, a, img->config_digest, done_set, mtime, err) < 0)
		goto done;
	for (i = 0; i < img->nr_layers; i++)
		if (export_blob(s, a, img->layers[i].digest, done_set, mtime, err) < 0)
			goto done;
	if (archive_write_close(a) != ARCHIVE_OK) {
		ah_internal(err, "cannot write the archive: %s", archive_error_string(a));
		goto done;
	}
	ret = 0;
done:
	archive_write_free(a);
	json_decref(idx);
	json_decref(done_set);
	free(text);
	return ret;
}
