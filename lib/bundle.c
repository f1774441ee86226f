/*
 * Job bundles on disk: apphub.bundle.json and the manifest read, checked
 * and given their defaults; semantic versions and slugs.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <archive.h>
#include <archive_entry.h>
#include "bundle.h"
#include "fsutil.h"
#include "image-internal.h"
#include "parse.h"
#include "repopath.h"
#include "strbuf.h"

static const char *const runtimes[] = { "node", "python", "exec" };
/* The entry a runtime's bundle has when its manifest names none. */
static const char *const default_entries[] = { "index.js", "main.py", "run.sh" };

int ah_job_slug_check(const char *slug, struct ah_err *err)
{
	size_t i, n = strlen(slug);

	if (!n || n > 64 || !(islower((unsigned char)*slug) || isdigit((unsigned char)*slug)))
		goto bad;
	for (i = 0; i < n; i++)
		if (!(islower((unsigned char)slug[i]) || isdigit((unsigned char)slug[i]) ||
		      slug[i] == '-'))
			goto bad;
	return 0;
bad:
	return ah_invalid(err, "invalid slug '%.80s': 1 to 64 of a-z, 0-9 and '-', not starting with '-'",
			  slug);
}

/* A numeric identifier: digits, no leading zero. Its length, 0 when none. */
static size_t numeric_id(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 1 && *s == '0' ? 0 : n;
}

/* Dot-separated identifiers of [0-9A-Za-z-]; numeric ones without leading zeros when strict. */
static size_t identifiers(const char *s, int strict)
{
	const char *p = s;

	for (;;) {
		size_t n = strspn(p, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-");

		if (!n)
			return 0;
		if (strict && strspn(p, "0123456789") == n && n > 1 && *p == '0')
			return 0;
		p += n;
		if (*p != '.')
			return (size_t)(p - s);
		p++;
	}
}

int ah_semver_check(const char *v)
{
	const char *p = v;
	size_t n;
	int i;

	if (strlen(v) > 128)
		return 0;
	for (i = 0; i < 3; i++) {
		if (!(n = numeric_id(p)))
			return 0;
		p += n;
		if (i < 2 && *p++ != '.')
			return 0;
	}
	if (*p == '-') {
		if (!(n = identifiers(++p, 1)))
			return 0;
		p += n;
	}
	if (*p == '+') {
		if (!(n = identifiers(++p, 0)))
			return 0;
		p += n;
	}
	return !*p;
}

/* Compares two numeric strings without leading zeros. */
static int num_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c;

	if (an != bn)
		return an < bn ? -1 : 1;
	c = strncmp(a, b, an);
	return c < 0 ? -1 : c > 0;
}

int ah_semver_cmp(const char *a, const char *b)
{
	size_t an, bn;
	int i, c, anum, bnum;

	/* MAJOR.MINOR.PATCH numerically */
	for (i = 0; i < 3; i++) {
		an = strspn(a, "0123456789");
		bn = strspn(b, "0123456789");
		if ((c = num_cmp(a, an, b, bn)))
			return c;
		a += an + (a[an] == '.');
		b += bn + (b[bn] == '.');
	}
	/* a pre-release ranks below its release */
	if (*a != '-' || *b != '-')
		return (*a == '-') == (*b == '-') ? 0 : *a == '-' ? -1 : 1;
	a++;
	b++;
	for (;;) {
		an = strcspn(a, ".+");
		bn = strcspn(b, ".+");
		anum = strspn(a, "0123456789") == an;
		bnum = strspn(b, "0123456789") == bn;
		if (anum && bnum)
			c = num_cmp(a, an, b, bn);
		else if (anum != bnum)
			c = anum ? -1 : 1;	/* numeric identifiers rank lower */
		else if (!(c = strncmp(a, b, an < bn ? an : bn)))
			c = an == bn ? 0 : an < bn ? -1 : 1;
		if (c)
			return c < 0 ? -1 : 1;
		a += an;
		b += bn;
		if (*a != '.' || *b != '.')
			return (*a == '.') == (*b == '.') ? 0 : *a == '.' ? 1 : -1;
		a++;
		b++;
	}
}

int ah_bundle_path_check(const char *what, const char *path, struct ah_err *err)
{
	const char *p = path;

	if (!*path || *path == '/')
		return ah_invalid(err, "%s '%.200s': must be a relative path inside the bundle", what,
				  path);
	while (*p) {
		size_t n = strcspn(p, "/");

		if (!n || (n == 1 && *p == '.') || (n == 2 && !strncmp(p, "..", 2)))
			return ah_invalid(err, "%s '%.200s': must be a relative path inside the bundle",
					  what, path);
		p += n + (p[n] == '/');
	}
	return 0;
}

static int runtime_index(const char *runtime)
{
	size_t i;

	for (i = 0; i < sizeof(runtimes) / sizeof(runtimes[0]); i++)
		if (!strcmp(runtime, runtimes[i]))
			return (int)i;
	return -1;
}

/* An optional string field: absent or a string (a default set when absent). */
static int str_field(json_t *o, const char *file, const char *key, const char *def,
		     const char **out, struct ah_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v)) {
		if (def)
			json_object_set_new(o, key, json_string(def));
		*out = def;
		return 0;
	}
	if (!json_is_string(v))
		return ah_invalid(err, "%s: %s: must be a string", file, key);
	*out = json_string_value(v);
	return 0;
}

/* limits.memory: a size (256M) or bytes; cpu: cpus; pids: a count. */
static int check_limits(json_t *limits, struct ah_err *err)
{
	json_t *v;
	int64_t size;

	if (!limits || json_is_null(limits))
		return 0;
	if (!json_is_object(limits))
		return ah_invalid(err, "manifest: limits: must be an object {memory, cpu, pids}");
	if ((v = json_object_get(limits, "memory"))) {
		if (json_is_integer(v))
			size = json_integer_value(v);
		else if (!json_is_string(v) || ah_parse_size(json_string_value(v), &size) < 0)
			return ah_invalid(err, "manifest: limits.memory: must be a size (256M) or bytes");
		if (size < (4 << 20))
			return ah_invalid(err, "manifest: limits.memory: must be at least 4M");
	}
	if ((v = json_object_get(limits, "cpu")) &&
	    (!json_is_number(v) || json_number_value(v) <= 0 || json_number_value(v) > 1024))
		return ah_invalid(err, "manifest: limits.cpu: must be a number of CPUs above 0");
	if ((v = json_object_get(limits, "pids")) &&
	    (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000000))
		return ah_invalid(err, "manifest: limits.pids: must be a count from 1");
	return 0;
}

int ah_manifest_check(json_t *m, struct ah_err *err)
{
	const char *name, *version, *runtime, *entry, *s;
	json_t *v;
	size_t i;
	int r;

	if (!json_is_object(m))
		return ah_invalid(err, "manifest: must be a JSON object");
	if (str_field(m, "manifest", "name", NULL, &name, err) < 0 ||
	    str_field(m, "manifest", "version", NULL, &version, err) < 0)
		return -1;
	if (!name || !*name)
		return ah_invalid(err, "manifest: name: required");
	if (!version)
		return ah_invalid(err, "manifest: version: required");
	if (!ah_semver_check(version))
		return ah_invalid(err, "manifest: version '%.80s': not a semantic version (1.2.3)",
				  version);
	if (str_field(m, "manifest", "runtime", "node", &runtime, err) < 0)
		return -1;
	if ((r = runtime_index(runtime)) < 0)
		return ah_invalid(err, "manifest: runtime '%.40s': must be node, python or exec",
				  runtime);
	if (str_field(m, "manifest", "entry", default_entries[r], &entry, err) < 0 ||
	    ah_bundle_path_check("manifest: entry", entry, err) < 0 ||
	    str_field(m, "manifest", "description", "", &s, err) < 0)
		return -1;
	v = json_object_get(m, "capabilities");
	if (!v)
		json_object_set_new(m, "capabilities", v = json_array());
	if (!json_is_array(v))
		return ah_invalid(err, "manifest: capabilities: must be a list of strings");
	for (i = 0; i < json_array_size(v); i++)
		if (!json_is_string(json_array_get(v, i)))
			return ah_invalid(err, "manifest: capabilities: entry %zu is not a string", i + 1);
	v = json_object_get(m, "timeoutMs");
	if (!v)
		json_object_set_new(m, "timeoutMs", json_integer(900000));
	else if (!json_is_integer(v) || json_integer_value(v) < 1)
		return ah_invalid(err, "manifest: timeoutMs: must be a whole number of milliseconds from 1");
	if (check_limits(json_object_get(m, "limits"), err) < 0)
		return -1;
	if ((v = json_object_get(m, "parametersSchema")) && !json_is_null(v) &&
	    !json_is_object(v))
		return ah_invalid(err, "manifest: parametersSchema: must be a JSON Schema object");
	if ((v = json_object_get(m, "metadata")) && !json_is_null(v) && !json_is_object(v))
		return ah_invalid(err, "manifest: metadata: must be an object");
	return 0;
}

/* A JSON file of the bundle, read by the rule for paths in a tree (no link out). */
static json_t *read_json(const struct ah_tree *tree, const char *path, struct ah_err *err)
{
	struct strbuf sb = STRBUF_INIT;
	json_error_t je;
	char why[AH_JSON_WHY_MAX];
	json_t *v = NULL;
	int r = ah_tree_read_file(tree, path, AH_BUNDLE_JSON_MAX, &sb, err);

	if (r == 1)
		ah_not_found(err, "'%s' not found in the bundle", path);
	if (r)
		goto done;
	if (!(v = json_loadb(sb.buf, sb.len, JSON_REJECT_DUPLICATES, &je)))
		ah_invalid(err, "%s: not valid JSON: %s", path, ah_json_why(&je, why, sizeof(why)));
	else if (!json_is_object(v)) {
		ah_invalid(err, "%s: must be a JSON object", path);
		json_decref(v);
		v = NULL;
	}
done:
	strbuf_release(&sb);
	return v;
}

/* apphub.bundle.json's fields checked and their defaults filled in. */
static int check_config(json_t *c, struct ah_err *err)
{
	static const char file[] = AH_BUNDLE_CONFIG;
	const char *s;
	json_t *v, *tests;
	size_t i;

	if (str_field(c, file, "slug", NULL, &s, err) < 0)
		return -1;
	if (!s)
		return ah_invalid(err, "%s: slug: required", file);
	if (ah_job_slug_check(s, err) < 0)
		return -1;
	if (str_field(c, file, "manifestPath", "manifest.json", &s, err) < 0 ||
	    ah_bundle_path_check(AH_BUNDLE_CONFIG ": manifestPath", s, err) < 0 ||
	    str_field(c, file, "artifactDir", "artifacts", &s, err) < 0 ||
	    ah_bundle_path_check(AH_BUNDLE_CONFIG ": artifactDir", s, err) < 0 ||
	    str_field(c, file, "entry", NULL, &s, err) < 0 ||
	    (s && ah_bundle_path_check(AH_BUNDLE_CONFIG ": entry", s, err) < 0))
		return -1;
	v = json_object_get(c, "files");
	if (!v)
		json_object_set_new(c, "files", v = json_pack("[s]", "**"));
	if (!json_is_array(v) || !json_array_size(v))
		return ah_invalid(err, "%s: files: must be a list of globs", file);
	for (i = 0; i < json_array_size(v); i++)
		if (!json_is_string(json_array_get(v, i)) || !*json_string_value(json_array_get(v, i)))
			return ah_invalid(err, "%s: files: entry %zu is not a glob", file, i + 1);
	tests = json_object_get(c, "tests");
	if (!tests)
		json_object_set_new(c, "tests", tests = json_object());
	if (!json_is_object(tests))
		return ah_invalid(err, "%s: tests: must be an object", file);
	return str_field(tests, AH_BUNDLE_CONFIG ": tests", "sampleInputPath",
			 "tests/sample-input.json", &s, err) < 0 ||
	       ah_bundle_path_check(AH_BUNDLE_CONFIG ": tests.sampleInputPath", s, err) < 0 ? -1 : 0;
}

int ah_bundle_load(const char *dir, struct ah_bundle *b, struct ah_err *err)
{
	struct ah_tree tree;
	const char *mpath, *entry;
	int rootfd, r, ret = -1;

	memset(b, 0, sizeof(*b));
	if ((rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return ah_error(err, errno == ENOENT ? 404 : 400, errno == ENOENT ? "not_found" : "invalid",
				"cannot open bundle '%s': %s", dir, strerror(errno));
	ah_dir_tree(&tree, &rootfd);
	b->dir = xstrdup(dir);
	if (!(b->config = read_json(&tree, AH_BUNDLE_CONFIG, err)) || check_config(b->config, err) < 0)
		goto done;
	mpath = json_string_value(json_object_get(b->config, "manifestPath"));
	if (!(b->manifest = read_json(&tree, mpath, err)))
		goto done;
	/* The config's entry stands for the manifest's when that has none. */
	if (!json_object_get(b->manifest, "entry") && json_object_get(b->config, "entry"))
		json_object_set(b->manifest, "entry", json_object_get(b->config, "entry"));
	if (ah_manifest_check(b->manifest, err) < 0)
		goto done;
	entry = json_string_value(json_object_get(b->manifest, "entry"));
	if ((r = ah_tree_is_file(&tree, entry, err)) < 0)
		goto done;
	if (!r) {
		ah_invalid(err, "manifest: entry '%s' is not a file of the bundle", entry);
		goto done;
	}
	b->slug = json_string_value(json_object_get(b->config, "slug"));
	b->version = json_string_value(json_object_get(b->manifest, "version"));
	b->runtime = json_string_value(json_object_get(b->manifest, "runtime"));
	b->entry = entry;
	ret = 0;
done:
	close(rootfd);
	if (ret < 0)
		ah_bundle_release(b);
	return ret;
}

void ah_bundle_release(struct ah_bundle *b)
{
	free(b->dir);
	json_decref(b->config);
	json_decref(b->manifest);
	memset(b, 0, sizeof(*b));
}

/* ---- a packaged bundle read back ---- */

#define UNPACK_MAX_ENTRIES 20000
#define UNPACK_MAX_DEPTH 32
#define UNPACK_MAX_BYTES ((int64_t)256 << 20)

int ah_bundle_link_inside(const char *name, const char *target)
{
	const char *p;
	int depth = 0;

	if (!*target || *target == '/')
		return 0;
	/* the link's own directory */
	for (p = name; (p = strchr(p, '/')); p++)
		depth++;
	for (p = target; *p;) {
		size_t n = strcspn(p, "/");

		if (n == 2 && !strncmp(p, "..", 2)) {
			if (--depth < 0)
				return 0;
		} else if (n && !(n == 1 && *p == '.')) {
			depth++;
		}
		p += n + (p[n] == '/');
	}
	return 1;
}

int ah_bundle_link_check(int rootfd, const char *name, const char *target, struct ah_err *err)
{
	struct open_how how;
	int fd;

	if (!ah_bundle_link_inside(name, target))
		return ah_invalid(err, "bundle: '%s' links outside the bundle (to '%.200s')", name,
				  target);
	/*
	 * The text alone misses a chain (l -> .., m -> l/..): the kernel
	 * follows the links, refusing any step above the bundle's root.
	 */
	memset(&how, 0, sizeof(how));
	how.flags = O_PATH | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	fd = (int)syscall(SYS_openat2, rootfd, name, &how, sizeof(how));
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno == ENOENT)
		return 0;	/* dangling, inside as far as it goes */
	return ah_invalid(err, "bundle: '%s' links outside the bundle (to '%.200s'): %s", name,
			  target, errno == EXDEV ? "a link on its way leads out" : strerror(errno));
}

/* The checks of one member, beyond image_check_entry()'s: what a bundle may hold. */
static int check_member(struct archive_entry *e, struct ah_err *err)
{
	const char *name = archive_entry_pathname(e), *p;
	int depth = 1;

	for (p = name; (p = strchr(p, '/')); p++)
		if (++depth > UNPACK_MAX_DEPTH)
			return ah_invalid(err, "bundle: member '%.200s' nests deeper than %d levels",
					  name, UNPACK_MAX_DEPTH);
	if (archive_entry_hardlink(e))
		return ah_invalid(err, "bundle: member '%s' is a hard link", name);
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
	case AE_IFDIR:
		return 0;
	case AE_IFLNK:
		if (!ah_bundle_link_inside(name, archive_entry_symlink(e) ?: ""))
			return ah_invalid(err, "bundle: member '%s' links outside the bundle (to '%.200s')",
					  name, archive_entry_symlink(e) ?: "");
		return 0;
	default:
		return ah_invalid(err, "bundle: member '%s' is not a file, directory or link", name);
	}
}

/*
 * The directory of member name under rootfd, each component opened anew
 * (made when missing) without following links: a member never lands
 * beyond a link, whatever the links before it point at. *base is the last
 * component.
 */
static int member_parent(int rootfd, const char *name, const char **base, struct ah_err *err)
{
	const char *p = name, *slash;
	int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);

	while (fd >= 0 && (slash = strchr(p, '/'))) {
		char *part = xstrndup(p, (size_t)(slash - p));
		int next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		/* archives may leave a member's directories out */
		if (next < 0 && errno == ENOENT && mkdirat(fd, part, 0755) == 0)
			next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		free(part);
		close(fd);
		fd = next;
		p = slash + 1;
	}
	if (fd < 0)
		return ah_invalid(err, "bundle: member '%s' is not inside a directory of the bundle",
				  name);
	*base = p;
	return fd;
}

/* Writes the current member of in under rootfd, its mode made 0644 or 0755. */
static int extract_member(struct archive *in, struct archive_entry *e, int rootfd,
			  struct ah_err *err)
{
	const char *name = archive_entry_pathname(e), *base = NULL;
	int type = archive_entry_filetype(e), mode, dirfd, fd = -1, ret = -1;
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;

	if ((dirfd = member_parent(rootfd, name, &base, err)) < 0)
		return -1;
	mode = type == AE_IFDIR || (archive_entry_perm(e) & 0100) ? 0755 : 0644;
	switch (type) {
	case AE_IFDIR:
		/* a directory may come again, or after its contents */
		if (mkdirat(dirfd, base, 0755) < 0 && errno != EEXIST)
			goto fail;
		break;
	case AE_IFLNK:
		if (symlinkat(archive_entry_symlink(e), dirfd, base) < 0)
			goto fail;
		break;
	default:
		fd = openat(dirfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd < 0 || fchmod(fd, (mode_t)mode) < 0)
			goto fail;
		while ((r = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK)
			if (pwrite(fd, buf, len, off) != (ssize_t)len)
				goto fail;
		if (r != ARCHIVE_EOF) {
			ah_invalid(err, "bundle: cannot read '%s': %s", name, archive_error_string(in));
			goto done;
		}
		/* a sparse member's end: its declared size */
		if (ftruncate(fd, archive_entry_size(e)) < 0)
			goto fail;
	}
	ret = 0;
	goto done;
fail:
	ah_invalid(err, "bundle: cannot write member '%s': %s", name, strerror(errno));
done:
	if (fd >= 0)
		close(fd);
	close(dirfd);
	return ret;
}

int ah_bundle_unpack(const void *tgz, size_t len, const char *dest, json_t **manifest,
		     struct ah_err *err)
{
	struct archive *in = image_reader_new();
	struct archive_entry *e;
	struct ah_bundle b = { 0 };
	struct ah_err no = AH_ERR_INIT;
	json_t *links = json_object(), *target;
	const char *name;
	int64_t total = 0;
	size_t entries = 0;
	int r, rootfd = -1, made = 0, ret = -1;

	*manifest = NULL;
	if (mkdir(dest, 0755) < 0) {
		ah_internal(err, "cannot create '%s': %s", dest, strerror(errno));
		goto done;
	}
	made = 1;
	if ((rootfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		ah_internal(err, "cannot open '%s': %s", dest, strerror(errno));
		goto done;
	}
	if (archive_read_open_memory(in, tgz, len) != ARCHIVE_OK) {
		ah_invalid(err, "bundle: not a gzipped tar archive: %s", archive_error_string(in));
		goto done;
	}
	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
		int skip;

		if (++entries > UNPACK_MAX_ENTRIES) {
			ah_invalid(err, "bundle: more than %d members", UNPACK_MAX_ENTRIES);
			goto done;
		}
		if ((skip = image_check_entry(e, "bundle", err)) < 0)
			goto done;
		if (skip)
			continue;
		if (check_member(e, err) < 0 ||
		    image_entry_budget(e, &total, UNPACK_MAX_BYTES, "bundle", err) < 0)
			goto done;
		/* links are resolved once the whole tree is there: a chain may lead out */
		if (archive_entry_filetype(e) == AE_IFLNK &&
		    json_object_set_new(links, archive_entry_pathname(e),
					json_string(archive_entry_symlink(e) ?: "")) < 0) {
			ah_invalid(err, "bundle: member '%s' is not a UTF-8 name", archive_entry_pathname(e));
			goto done;
		}
		if (extract_member(in, e, rootfd, err) < 0)
			goto done;
	}
	if (r != ARCHIVE_EOF) {
		ah_invalid(err, "bundle: not a readable gzipped tar archive: %s",
			   archive_error_string(in));
		goto done;
	}
	json_object_foreach(links, name, target)
		if (ah_bundle_link_check(rootfd, name, json_string_value(target), err) < 0)
			goto done;
	if (ah_bundle_load(dest, &b, err) < 0)
		goto done;
	*manifest = json_incref(b.manifest);
	ret = 0;
done:
	ah_bundle_release(&b);
	json_decref(links);
	archive_read_free(in);
	if (rootfd >= 0)
		close(rootfd);
	if (ret < 0 && made)
		ah_remove_tree(dest, &no);
	return ret;
}
