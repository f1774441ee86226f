/*
 * A launch's image and root file system: the image resolved in the store
 * (or through apphub-image), its rootfs unpacked once per manifest into
 * the cache, and the launch's private overlay mounted over it.
 */
#include "launch-internal.h"

/* ---- the image ---- */

/*
 * The supervisor links no image library (libarchive, OpenSSL): loading
 * them cost most of its start and of its memory. A launch of an image
 * whose rootfs is cached reads the store's index.json and the cache
 * only; anything else (the first launch of an image, an engine's
 * export) runs the helper apphub-image, which verifies what it reads.
 *
 * STATE/launches/rootfs-cache/<hex>/ is the rootfs of manifest <hex>,
 * owned by the launches' uid range; <hex>.json, for the digest an index
 * entry names (the manifest's, or an index's), says which manifest and
 * config apphub-image found for it: {"name", "digest", "config"}.
 */

void launch_image_release(struct launch_image *img)
{
	free(img->name);
	free(img->digest);
	json_decref(img->config);
	memset(img, 0, sizeof(*img));
}

/*
 * Runs `apphub-image <args>` on the launch's state with --json; its
 * result into *out (may be NULL), its message into err when it fails.
 * Its stderr is read after its stdout: it writes one short message.
 */
static int image_helper(struct sup *s, const char *const *args, json_t **out, struct ah_err *err)
{
	char *path = ah_helper_path("apphub-image"), *home = xstrfmt("APPHUB_HOME=%s", s->state_dir);
	const char *env[] = { home, "APPHUB_JSON=1", "APPHUB_QUIET", "APPHUB_SERVER", NULL };
	struct ah_child c = AH_CHILD_INIT;
	const char *argv[8];
	size_t i;
	int status, ret = -1;

	if (!path) {
		ah_error(err, 503, "unavailable",
			 "cannot launch: the helper 'apphub-image' is not installed");
		goto done;
	}
	argv[0] = path;
	for (i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	c.argv = argv;
	c.env = env;
	c.out = c.err = AH_CHILD_CAPTURE;
	c.out_max = HELPER_OUT_MAX;
	c.err_max = HELPER_ERR_MAX;
	/* An unpack is no use to a supervisor that is gone. */
	c.death_sig = SIGKILL;
	if ((status = ah_child_run(&c, err)) < 0)
		goto done;
	if (status) {
		const char *msg;

		strbuf_trim(&c.err_buf);
		msg = c.err_buf.len ? c.err_buf.buf : "";
		if (!strncmp(msg, "apphub: ", 8))
			msg += 8;
		if (status == APPHUB_EXIT_NOTFOUND)
			ah_not_found(err, "%s", *msg ? msg : "image not found");
		else if (status == APPHUB_EXIT_FAILED || status == APPHUB_EXIT_USAGE)
			ah_invalid(err, "%s", *msg ? msg : "apphub-image failed");
		else
			ah_internal(err, "%s", *msg ? msg : "apphub-image failed");
		goto done;
	}
	if (out)
		*out = c.out_buf.len ? json_loadb(c.out_buf.buf, c.out_buf.len, 0, NULL) : NULL;
	ret = 0;
done:
	ah_child_release(&c);
	free(home);
	free(path);
	return ret;
}

static json_t *load_json_path(const char *path)
{
	return json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
}

/*
 * The digest the store's index.json gives ref, or ref itself when it is a
 * digest (lib/image-names.c, which needs no image library); NULL when it
 * is not there as written, which apphub-image then sorts out.
 */
static char *index_digest(struct sup *s, const char *ref)
{
	struct ah_err err = AH_ERR_INIT;
	char digest[AH_DIGEST_MAX];

	return ah_image_index_digest(s->state_dir, ref, digest, &err) < 0 ? NULL : xstrdup(digest);
}

/* The cached record of digest key, when it and the rootfs it names are there. */
static int cache_lookup(struct sup *s, const char *key, struct launch_image *img)
{
	char *path = xstrfmt("%s/launches/rootfs-cache/%s.json", s->state_dir, key + 7), *dir = NULL;
	json_t *rec = load_json_path(path);
	const char *digest = json_string_value(json_object_get(rec, "digest"));
	json_t *config = json_object_get(rec, "config");
	int ok = 0;

	if (ah_digest_valid(digest) && json_is_object(config)) {
		dir = xstrfmt("%s/launches/rootfs-cache/%s", s->state_dir, digest + 7);
		if (!access(dir, F_OK)) {
			img->digest = xstrdup(digest);
			img->config = json_incref(config);
			ok = 1;
		}
	}
	json_decref(rec);
	free(path);
	free(dir);
	return ok;
}

static void cache_record(struct sup *s, const char *key, const struct launch_image *img)
{
	char *path = xstrfmt("%s/launches/rootfs-cache/%s.json", s->state_dir, key + 7);
	char *tmp = xstrfmt("%s.tmp-%d", path, (int)getpid());
	json_t *rec = json_pack("{s:s, s:O}", "digest", img->digest, "config", img->config);

	if (json_dump_file(rec, tmp, JSON_COMPACT) < 0 || rename(tmp, path) < 0) {
		sup_logf(s, "cannot write '%s': %s", path, strerror(errno));
		unlink(tmp);
	}
	json_decref(rec);
	free(tmp);
	free(path);
}

/*
 * `apphub-image <verb> <ref> <path>` (unpack, export), which reports the
 * manifest's digest, then the config of that digest.
 */
static int image_fetch(struct sup *s, const char *verb, const char *ref, const char *path,
		       struct launch_image *img, struct ah_err *err)
{
	json_t *res = NULL, *cfg = NULL;
	const char *digest, *name;
	int ret = -1;

	if (image_helper(s, (const char *const[]){ verb, ref, path, NULL }, &res, err) < 0)
		goto done;
	digest = json_string_value(json_object_get(res, "digest"));
	name = json_string_value(json_object_get(res, "name"));
	if (!ah_digest_valid(digest)) {
		ah_internal(err, "apphub-image %s '%s': no digest", verb, ref);
		goto done;
	}
	if (image_helper(s, (const char *const[]){ "inspect", digest, NULL }, &cfg, err) < 0)
		goto done;
	if (!json_is_object(cfg)) {
		ah_internal(err, "apphub-image inspect '%s': no config", digest);
		goto done;
	}
	img->digest = xstrdup(digest);
	img->name = name ? xstrdup(name) : NULL;
	img->config = cfg;
	cfg = NULL;
	ret = 0;
done:
	json_decref(res);
	json_decref(cfg);
	return ret;
}

static int shift_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	uid_t uid = sb->st_uid < AH_LAUNCH_UID_COUNT ? sb->st_uid + AH_LAUNCH_UID_BASE
						     : AH_LAUNCH_UID_BASE + AH_LAUNCH_UID_COUNT - 2;
	gid_t gid = sb->st_gid < AH_LAUNCH_UID_COUNT ? sb->st_gid + AH_LAUNCH_UID_BASE
						     : AH_LAUNCH_UID_BASE + AH_LAUNCH_UID_COUNT - 2;

	(void)ftw;
	if (lchown(path, uid, gid) < 0)
		return -1;
	/* chown clears set-id bits: put the mode back. */
	if (flag != FTW_SL && (sb->st_mode & 06000) && chmod(path, sb->st_mode & 07777) < 0)
		return -1;
	return 0;
}

/* Fills run under the cache's lock only: a .tmp-* seen with it held is a dead one's. */
static void remove_stale(const char *base)
{
	struct ah_err ignore = AH_ERR_INIT;
	DIR *d = opendir(base);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char *p;

		if (strncmp(e->d_name, ".tmp-", 5))
			continue;
		p = xstrfmt("%s/%s", base, e->d_name);
		ah_remove_tree(p, &ignore);
		free(p);
	}
	if (d)
		closedir(d);
}

/*
 * The rootfs of the image that key (may be NULL: s->image) names, in
 * STATE/launches/rootfs-cache/<hex>: unpacked by apphub-image once, owned
 * by the launches' uid range; made under a lock, renamed into place
 * whole.
 */
static int rootfs_fill(struct sup *s, const char *key, struct launch_image *img,
		       struct ah_err *err)
{
	char *base = xstrfmt("%s/launches/rootfs-cache", s->state_dir);
	char *lock = xstrfmt("%s/.lock", base), *tmp = NULL, *dir = NULL;
	int fd = -1, ret = -1;
	int64_t t0 = ah_now_ms();

	if ((mkdir(base, 0700) < 0 && errno != EEXIST) ||
	    (fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 || flock(fd, LOCK_EX) < 0) {
		ah_internal(err, "cannot lock '%s': %s", lock, strerror(errno));
		goto done;
	}
	if (key && cache_lookup(s, key, img)) {
		ret = 0;
		goto done;
	}
	remove_stale(base);
	tmp = xstrfmt("%s/.tmp-%d", base, (int)getpid());
	/* By digest when the index gave one: what is cached is what was resolved. */
	if (ah_remove_tree(tmp, err) < 0 ||
	    image_fetch(s, "unpack", key ? key : s->image, tmp, img, err) < 0)
		goto done;
	dir = xstrfmt("%s/%s", base, img->digest + 7);
	if (!access(dir, F_OK)) {
		struct ah_err ignore = AH_ERR_INIT;

		/* Cached under its manifest's digest by another name already. */
		ah_remove_tree(tmp, &ignore);
	} else if (nftw(tmp, shift_one, 64, FTW_PHYS | FTW_MOUNT) != 0) {
		ah_internal(err, "cannot set the owners in '%s': %s", tmp, strerror(errno));
		goto done;
	} else if (rename(tmp, dir) < 0) {
		ah_internal(err, "cannot rename '%s': %s", tmp, strerror(errno));
		goto done;
	} else {
		sup_logf(s, "unpacked %s into the rootfs cache in %lld ms", img->digest,
		      (long long)(ah_now_ms() - t0));
	}
	cache_record(s, img->digest, img);
	if (key && strcmp(key, img->digest))
		cache_record(s, key, img);
	ret = 0;
done:
	if (tmp && ret < 0) {
		struct ah_err ignore = AH_ERR_INIT;

		ah_remove_tree(tmp, &ignore);
	}
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(dir);
	free(lock);
	free(base);
	return ret;
}

/*
 * The launch's image. Natively: from the cache when the index still
 * names what it holds, else unpacked into it. For an engine: exported
 * into the launch's image.tar.
 */
int sup_image_resolve(struct sup *s, struct launch_image *img, struct ah_err *err)
{
	char *key = NULL, *archive = NULL;
	int ret = -1;

	if (strcmp(s->engine, "native")) {
		archive = xstrfmt("%s/image.tar", s->dir);
		ret = image_fetch(s, "export", s->image, archive, img, err);
		goto done;
	}
	key = index_digest(s, s->image);
	if (key && cache_lookup(s, key, img))
		ret = 0;
	else
		ret = rootfs_fill(s, key, img, err);
done:
	if (ret < 0)
		launch_image_release(img);
	free(key);
	free(archive);
	return ret;
}

/* This process's own mount namespace: the launch's mounts go with it. */
int sup_private_mounts(struct ah_err *err)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return ah_internal(err, "cannot make a mount namespace: %s", strerror(errno));
	return 0;
}

/*
 * The launch's root: an overlay over the cache with its upper layer on a
 * tmpfs of the disk limit, in this process's own mount namespace; else
 * (no overlayfs) a copy on that tmpfs.
 */
int sup_mount_rootfs(struct sup *s, const char *cache, int64_t disk, const char **how,
		     struct ah_err *err)
{
	char *rw = xstrfmt("%s/rw", s->dir), *root = xstrfmt("%s/rootfs", s->dir);
	char *upper = xstrfmt("%s/upper", rw), *work = xstrfmt("%s/work", rw);
	char *opts = NULL;
	int ret = -1;

	if ((mkdir(rw, 0700) < 0 && errno != EEXIST) || (mkdir(root, 0755) < 0 && errno != EEXIST)) {
		ah_internal(err, "cannot create '%s': %s", rw, strerror(errno));
		goto done;
	}
	opts = disk > 0 ? xstrfmt("size=%lld,mode=0755", (long long)disk) : xstrdup("mode=0755");
	if (mount("apphub-launch", rw, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) {
		ah_internal(err, "cannot mount a tmpfs on '%s': %s", rw, strerror(errno));
		goto done;
	}
	s->mounted_rw = 1;
	if (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0 ||
	    chown(upper, AH_LAUNCH_UID_BASE, AH_LAUNCH_UID_BASE) < 0) {
		ah_internal(err, "cannot create '%s': %s", upper, strerror(errno));
		goto done;
	}
	free(opts);
	opts = xstrfmt("lowerdir=%s,upperdir=%s,workdir=%s", cache, upper, work);
	if (!strpbrk(cache, ",:") && !strpbrk(s->dir, ",:") &&
	    mount("overlay", root, "overlay", MS_NOSUID | MS_NODEV, opts) == 0) {
		s->mounted_rootfs = 1;
		*how = "overlay";
		ret = 0;
		goto done;
	}
	sup_logf(s, "overlayfs unavailable (%s): copying the rootfs", strerror(errno));
	{
		/* cp -a --reflink=auto cache/. upper/, then bind upper on root. */
		char *src = xstrfmt("%s/.", cache);
		const char *argv[] = { "cp", "-a", "--reflink=auto", src, upper, NULL };
		struct ah_child c = AH_CHILD_INIT;
		int status;

		c.argv = argv;
		c.out = c.err = AH_CHILD_INHERIT;
		status = ah_child_run(&c, err);
		ah_child_release(&c);
		free(src);
		if (status || mount(upper, root, NULL, MS_BIND, NULL) < 0) {
			ah_internal(err, "cannot copy the rootfs into '%s'", upper);
			goto done;
		}
	}
	s->mounted_rootfs = 1;
	*how = "copy";
	ret = 0;
done:
	free(opts);
	free(rw);
	free(root);
	free(upper);
	free(work);
	return ret;
}

/*
 * bwrap resolves its source path component by component with the
 * sandbox's uid, which may not traverse the state directory's parents
 * (a 0700 home). So, in this process's own mount namespace, a tmpfs on a
 * top-level directory neither the state nor bwrap lives under shows the
 * root at <dir>/rootfs.
 */
char *sup_visible_root(struct sup *s, const char *bwrap, struct ah_err *err)
{
	static const char *const dirs[] = { "/run", "/mnt", "/media", "/srv", "/opt", "/home", NULL };
	char state[PATH_MAX], *root = xstrfmt("%s/rootfs", s->dir), *dest = NULL;
	const char *const *d;
	size_t l;

	if (!realpath(s->state_dir, state))
		snprintf(state, sizeof(state), "%s", s->state_dir);
	for (d = dirs; *d; d++) {
		struct stat st;

		l = strlen(*d);
		if (stat(*d, &st) < 0 || !S_ISDIR(st.st_mode) ||
		    (!strncmp(state, *d, l) && (state[l] == '/' || !state[l])) ||
		    (!strncmp(bwrap, *d, l) && bwrap[l] == '/'))
			continue;
		if (mount("apphub-launch", *d, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755") < 0)
			continue;
		dest = xstrfmt("%s/rootfs", *d);
		if (mkdir(dest, 0755) < 0 || mount(root, dest, NULL, MS_BIND | MS_REC, NULL) < 0) {
			umount2(*d, MNT_DETACH);
			free(dest);
			dest = NULL;
			continue;
		}
		break;
	}
	if (!dest)
		ah_internal(err, "cannot find a directory to show the rootfs to the sandbox");
	free(root);
	return dest;
}
