/*
 * apphub jobs init: a bundle that works as it is (apphub.bundle.json, the
 * manifest, a handler of the runtime, a sample input), or the files an
 * existing bundle lacks, the ones it has left as they are.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bundle.h"
#include "fsutil.h"
#include "strbuf.h"

struct scaffold {
	const char *runtime, *entry, *handler;
	int executable;
};

static const struct scaffold scaffolds[] = {
	{ "node", "index.js",
	  "// A job handler: context.parameters in, a JSON-able value out.\n"
	  "// context.logger(message) writes the run's log; context.update({metrics})\n"
	  "// reports progress. See apphub-jobs(1).\n"
	  "module.exports = async function handler(context) {\n"
	  "  const name = context.parameters.name || 'world';\n"
	  "  context.logger(`greeting ${name}`);\n"
	  "  context.update({ metrics: { greeted: 1 } });\n"
	  "  return { greeting: `Hello, ${name}!`, run: context.run.id || null };\n"
	  "};\n", 0 },
	{ "python", "main.py",
	  "# A job handler: context.parameters in, a JSON-able value out.\n"
	  "# context.logger(message) writes the run's log; context.update(metrics=...)\n"
	  "# reports progress. See apphub-jobs(1).\n"
	  "def handler(context):\n"
	  "    name = context.parameters.get('name') or 'world'\n"
	  "    context.logger('greeting %s' % name)\n"
	  "    context.update(metrics={'greeted': 1})\n"
	  "    return {'greeting': 'Hello, %s!' % name, 'run': context.run.get('id')}\n", 0 },
	{ "exec", "run.sh",
	  "#!/bin/sh\n"
	  "# A job handler in any language: the input JSON on stdin ({parameters,\n"
	  "# run, job}), the result JSON on stdout, the log on stderr, exit 0 for\n"
	  "# success. See apphub-jobs(1).\n"
	  "set -eu\n"
	  "input=$(cat)\n"
	  "name=$(printf '%s' \"$input\" | jq -r '.parameters.name // \"world\"')\n"
	  "echo \"greeting $name\" >&2\n"
	  "jq -n --arg name \"$name\" '{greeting: \"Hello, \\($name)!\"}'\n", 1 },
};

/* A slug from a directory's name: lower case, other characters as '-'. */
static char *slug_of(const char *dir)
{
	const char *base = strrchr(dir, '/');
	struct strbuf sb = STRBUF_INIT;
	char *abs = NULL;

	/* "." and the like name the working directory */
	if (!base || !base[1] || !strcmp(base + 1, ".") || !strcmp(base + 1, "..")) {
		abs = realpath(dir, NULL);
		if (abs && (base = strrchr(abs, '/')) && base[1])
			dir = abs;
		base = strrchr(dir, '/');
	}
	for (base = base ? base + 1 : dir; *base && sb.len < 64; base++) {
		int c = tolower((unsigned char)*base);

		if (isalnum(c))
			strbuf_addch(&sb, (char)c);
		else if (sb.len && sb.buf[sb.len - 1] != '-')
			strbuf_addch(&sb, '-');
	}
	while (sb.len && sb.buf[sb.len - 1] == '-')
		strbuf_setlen(&sb, sb.len - 1);
	if (!sb.len)
		strbuf_addstr(&sb, "job");
	free(abs);
	return strbuf_detach(&sb, NULL);
}

/* Writes text at dir/rel unless something is there; appends rel to created. */
static int scaffold_file(const char *dir, const char *rel, const char *text, int executable,
			 json_t *created, struct ah_err *err)
{
	char *path = xstrfmt("%s/%s", dir, rel), *slash;
	int fd = -1, ret = -1;

	if (ah_bundle_path_check("file", rel, err) < 0)
		goto done;
	if ((slash = strrchr(path, '/')) && slash > path + strlen(dir)) {
		*slash = '\0';
		if (ah_mkdir_p(path, 0755) < 0) {
			ah_invalid(err, "cannot create '%s': %s", path, strerror(errno));
			goto done;
		}
		*slash = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, executable ? 0755 : 0644);
	if (fd < 0 && errno == EEXIST) {
		ret = 0;
		goto done;
	}
	if (fd < 0 || ah_write_full(fd, text, strlen(text)) < 0) {
		ah_invalid(err, "cannot write '%s': %s", path, strerror(errno));
		goto done;
	}
	json_array_append_new(created, json_string(rel));
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	free(path);
	return ret;
}

/* A JSON file of the bundle when there is one (parsed; checks are load's). */
static json_t *existing(const char *dir, const char *rel)
{
	char *path = xstrfmt("%s/%s", dir, rel), *buf = NULL;
	json_t *v = NULL;
	size_t len;

	if (ah_read_fd_max(open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), AH_BUNDLE_JSON_MAX, &buf,
			   &len) == 0)
		v = json_loadb(buf, len, 0, NULL);
	free(buf);
	free(path);
	return json_is_object(v) ? v : (json_decref(v), NULL);
}

static char *dumps(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	char *t = xstrfmt("%s\n", s ? s : "{}");

	free(s);
	return t;
}

int ah_bundle_init(const char *dir, const char *runtime, const char *slug, json_t **out,
		   struct ah_err *err)
{
	json_t *config = NULL, *manifest = NULL, *created = json_array();
	const struct scaffold *sc = NULL;
	const char *mpath, *entry, *sample, *s;
	char *own_slug = NULL, *text = NULL;
	size_t i;
	int ret = -1;

	*out = NULL;
	if (slug && ah_job_slug_check(slug, err) < 0)
		goto done;
	if (ah_mkdir_p(dir, 0755) < 0) {
		ah_invalid(err, "cannot create '%s': %s", dir, strerror(errno));
		goto done;
	}
	config = existing(dir, AH_BUNDLE_CONFIG);
	mpath = json_string_value(json_object_get(config, "manifestPath")) ?: "manifest.json";
	manifest = existing(dir, mpath);
	/* What is there already decides; the options fill in the rest. */
	if ((s = json_string_value(json_object_get(manifest, "runtime"))))
		runtime = s;
	if (!runtime)
		runtime = "node";
	for (i = 0; i < sizeof(scaffolds) / sizeof(scaffolds[0]); i++)
		if (!strcmp(runtime, scaffolds[i].runtime))
			sc = &scaffolds[i];
	if (!sc) {
		ah_invalid(err, "invalid runtime '%.40s': node, python or exec", runtime);
		goto done;
	}
	if ((s = json_string_value(json_object_get(config, "slug"))))
		slug = s;
	if (!slug)
		slug = own_slug = slug_of(dir);
	entry = json_string_value(json_object_get(manifest, "entry")) ?:
		json_string_value(json_object_get(config, "entry")) ?: sc->entry;
	sample = json_string_value(json_object_get(json_object_get(config, "tests"),
						   "sampleInputPath")) ?: "tests/sample-input.json";
	if (!config) {
		config = json_pack("{s:s, s:s, s:s, s:s, s:[s], s:{s:s}}", "slug", slug, "entry",
				   entry, "manifestPath", mpath, "artifactDir", "artifacts", "files",
				   "**", "tests", "sampleInputPath", sample);
		text = dumps(config);
		if (scaffold_file(dir, AH_BUNDLE_CONFIG, text, 0, created, err) < 0)
			goto done;
		free(text);
		text = NULL;
	}
	if (!manifest) {
		manifest = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[], s:{s:s, s:{s:{s:s, s:s}}},"
				     " s:i, s:{s:s, s:i}}",
				     "name", slug, "version", "0.1.0", "runtime", sc->runtime, "entry",
				     entry, "description", "A job that greets whoever it is given",
				     "capabilities", "parametersSchema", "type", "object", "properties",
				     "name", "type", "string", "description", "who to greet",
				     "timeoutMs", 60000, "limits", "memory", "256M", "pids", 64);
		text = dumps(manifest);
		if (scaffold_file(dir, mpath, text, 0, created, err) < 0)
			goto done;
	}
	if (scaffold_file(dir, entry, sc->handler, sc->executable, created, err) < 0 ||
	    scaffold_file(dir, sample, "{\n  \"name\": \"apphub\"\n}\n", 0, created, err) < 0)
		goto done;
	*out = json_pack("{s:s, s:s, s:s, s:O}", "dir", dir, "slug", slug, "runtime", sc->runtime,
			 "created", created);
	ret = 0;
done:
	json_decref(config);
	json_decref(manifest);
	json_decref(created);
	free(own_slug);
	free(text);
	return ret;
}
