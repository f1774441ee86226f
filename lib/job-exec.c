/*
 * A job handler run in the sandbox: its root (a skeleton of the host's
 * /usr and a few /etc files, the bundle, the work directory), its
 * runtime's command (the node and python harnesses are here), and the
 * pumping of its stdout (the result), stderr (the log, capped keeping its
 * tail) and fd 3 (progress lines) while it runs. See job-exec.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "fsutil.h"
#include "job-exec.h"
#include "parse.h"
#include "sandbox.h"
#include "strbuf.h"

/* The unprivileged user a handler runs as, inside. */
#define JOB_UID 1000
#define JOB_DEFAULT_TIMEOUT_MS (15 * 60 * 1000LL)
/*
 * The processes a handler may have when its manifest names no limit: a
 * fork bomb stops there. Only where a cgroup holds it (as root): an
 * rlimit would count every process of the calling user.
 */
#define JOB_DEFAULT_PIDS 1024
#define JOB_FILES_MAX 1000
#define JOB_FILES_DEPTH 16

/*
 * The harnesses: argv[1] is the entry's path. The handler's own stdout
 * writes go to stderr (the log), so that stdout holds only the result.
 */
static const char node_harness[] =
	"import fs from 'node:fs';\n"
	"import util from 'node:util';\n"
	"import { pathToFileURL } from 'node:url';\n"
	"const write = (fd, s) => { const b = Buffer.from(s); let o = 0;\n"
	"  while (o < b.length) o += fs.writeSync(fd, b, o); };\n"
	"const log = (...a) => write(2, util.format(...a) + '\\n');\n"
	"console.log = console.info = console.debug = console.warn = console.error = log;\n"
	"const fd3 = (o) => { try { write(3, JSON.stringify(o) + '\\n'); } catch (e) {} };\n"
	"const entry = process.argv[1];\n"
	"try {\n"
	"  const text = fs.readFileSync(0, 'utf8');\n"
	"  const input = text.trim() ? JSON.parse(text) : {};\n"
	"  const context = {\n"
	"    parameters: input.parameters ?? {}, run: input.run ?? {}, job: input.job ?? {},\n"
	"    logger: (message, meta) => log(meta === undefined ? String(message) :\n"
	"      String(message) + ' ' + JSON.stringify(meta)),\n"
	"    update: (u) => {\n"
	"      for (const [name, value] of Object.entries((u && u.metrics) || {}))\n"
	"        fd3({ type: 'metric', name, value });\n"
	"      for (const o of (u && u.outputs) || [])\n"
	"        fd3({ type: 'output', name: o.name, path: o.path });\n"
	"    },\n"
	"  };\n"
	"  const m = await import(pathToFileURL(entry).href);\n"
	"  const d = m.default;\n"
	"  const fn = [d, m.handler, d && d.handler, d && d.default]\n"
	"    .find((f) => typeof f === 'function');\n"
	"  if (!fn) {\n"
	"    log(`apphub: '${entry}' exports no default function nor handler`);\n"
	"    process.exit(70);\n"
	"  }\n"
	"  const r = await fn(context);\n"
	"  write(1, JSON.stringify(r === undefined ? null : r) + '\\n');\n"
	"  process.exit(0);\n"
	"} catch (e) {\n"
	"  log(e && e.stack ? e.stack : String(e));\n"
	"  process.exit(1);\n"
	"}\n";

static const char python_harness[] =
	"import asyncio, importlib.util, inspect, json, os, sys\n"
	"entry = sys.argv[1]\n"
	"out = os.fdopen(os.dup(1), 'w')\n"
	"sys.stdout = sys.stderr\n"
	"def fd3(o):\n"
	"    try:\n"
	"        os.write(3, (json.dumps(o) + '\\n').encode())\n"
	"    except OSError:\n"
	"        pass\n"
	"class Context(dict):\n"
	"    def __getattribute__(self, k):\n"
	"        if dict.__contains__(self, k):\n"
	"            return dict.__getitem__(self, k)\n"
	"        return dict.__getattribute__(self, k)\n"
	"def logger(message, meta=None):\n"
	"    print(message if meta is None else '%s %s' % (message, json.dumps(meta)),\n"
	"          file=sys.stderr, flush=True)\n"
	"def update(u=None, **kw):\n"
	"    u = dict(u or {}, **kw)\n"
	"    for name, value in (u.get('metrics') or {}).items():\n"
	"        fd3({'type': 'metric', 'name': name, 'value': value})\n"
	"    for o in u.get('outputs') or []:\n"
	"        fd3({'type': 'output', 'name': o.get('name'), 'path': o.get('path')})\n"
	"text = sys.stdin.read()\n"
	"inp = json.loads(text) if text.strip() else {}\n"
	"ctx = Context(parameters=inp.get('parameters') or {}, run=inp.get('run') or {},\n"
	"              job=inp.get('job') or {}, logger=logger, update=update)\n"
	"sys.path.insert(0, os.path.dirname(entry))\n"
	"spec = importlib.util.spec_from_file_location('handler', entry)\n"
	"mod = importlib.util.module_from_spec(spec)\n"
	"spec.loader.exec_module(mod)\n"
	"fn = getattr(mod, 'default', None)\n"
	"if not callable(fn):\n"
	"    fn = getattr(mod, 'handler', None)\n"
	"if not callable(fn):\n"
	"    print(\"apphub: '%s' has no default function nor handler\" % entry, file=sys.stderr)\n"
	"    sys.exit(70)\n"
	"r = fn(ctx)\n"
	"if inspect.isawaitable(r):\n"
	"    async def wait():\n"
	"        return await r\n"
	"    r = asyncio.run(wait())\n"
	"out.write(json.dumps(r) + '\\n')\n"
	"out.flush()\n"
	"sys.stderr.flush()\n"
	"os._exit(0)\n";

void ah_job_outcome_release(struct ah_job_outcome *o)
{
	json_decref(o->result);
	json_decref(o->outputs);
	free(o->message);
	memset(o, 0, sizeof(*o));
}

/* A path relative to the work directory, without "..", "." or empty components. */
static int rel_ok(const char *p)
{
	const char *c = p;

	if (!*p || strlen(p) > PATH_MAX / 2)
		return 0;
	while (*c) {
		size_t n = strcspn(c, "/");

		if (!n || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		c += n;
		if (*c == '/')
			c++;
	}
	return c[-1] != '/';
}

/* The regular file rel under work_dir, no link followed: its size, or -1. */
static int64_t file_under(const char *work_dir, const char *rel)
{
	struct open_how how;
	struct stat sb;
	int dfd = open(work_dir, O_PATH | O_DIRECTORY | O_CLOEXEC), fd = -1;
	int64_t size = -1;

	memset(&how, 0, sizeof(how));
	how.flags = O_PATH | O_CLOEXEC | O_NOFOLLOW;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
		      RESOLVE_NO_XDEV;
	if (dfd >= 0)
		fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof(how));
	if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
		size = (int64_t)sb.st_size;
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	return size;
}

/* {type: "file", name, path, size} */
static json_t *file_output(const char *name, const char *path, int64_t size)
{
	json_t *o = json_object();

	json_object_set_new(o, "type", json_string("file"));
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "path", json_string(path));
	json_object_set_new(o, "size", json_integer((json_int_t)size));
	return o;
}

static int bad(char *why, size_t whylen, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return -1;
}

int ah_job_progress_line(const char *line, size_t len, const char *work_dir, json_t **out,
			 char *why, size_t whylen)
{
	json_error_t je;
	json_t *j, *name, *v;
	const char *type, *path;
	char *host;
	int64_t size;
	int ret = -1;

	*out = NULL;
	if (len > AH_JOB_PROGRESS_LINE_MAX)
		return bad(why, whylen, "longer than 64 KiB");
	if (memchr(line, '\0', len))
		return bad(why, whylen, "not JSON");
	j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		ah_json_why(&je, why, whylen);
		return -1;
	}
	name = json_object_get(j, "name");
	type = json_string_value(json_object_get(j, "type"));
	if (!json_is_object(j) || !type) {
		bad(why, whylen, "not an object with a type");
		goto done;
	}
	if (!json_is_string(name) || !json_string_length(name) || json_string_length(name) > 256) {
		bad(why, whylen, "its name is not a string of 1 to 256 bytes");
		goto done;
	}
	if (!strcmp(type, "metric")) {
		v = json_object_get(j, "value");
		if (!json_is_number(v) && !json_is_string(v) && !json_is_boolean(v)) {
			bad(why, whylen, "a metric's value is not a number, string or boolean");
			goto done;
		}
		*out = json_pack("{s:s, s:O, s:O}", "type", "metric", "name", name, "data", v);
	} else if (!strcmp(type, "output")) {
		path = json_string_value(json_object_get(j, "path"));
		if (!path || json_string_length(json_object_get(j, "path")) != strlen(path)) {
			bad(why, whylen, "an output's path is not a string");
			goto done;
		}
		/* the handler's path: under /work, or relative to it */
		if (!strncmp(path, "/work/", 6))
			path += 6;
		if (!rel_ok(path)) {
			bad(why, whylen, "an output's path is not a file under /work");
			goto done;
		}
		if ((size = file_under(work_dir, path)) < 0) {
			bad(why, whylen, "an output's path is not a regular file under /work");
			goto done;
		}
		host = xstrfmt("%s/%s", work_dir, path);
		*out = file_output(json_string_value(name), host, size);
		free(host);
	} else {
		bad(why, whylen, "its type is neither metric nor output");
		goto done;
	}
	ret = *out ? 0 : bad(why, whylen, "out of memory");
done:
	json_decref(j);
	return ret;
}

/* ---- the run ---- */

struct pump {
	const struct ah_job_spec *s;
	int out, err, extra;		/* the read ends; -1 once at their end */
	int *close_first;		/* the write ends, closed at the first call */
	struct strbuf result;
	int result_over;
	/* the log: written to log_fd up to AH_JOB_LOG_MAX, then its tail kept here */
	int64_t log_size, log_written;
	struct strbuf tail;
	struct strbuf line;		/* fd 3's partial line */
	int line_over;
	unsigned lines;
	json_t *outputs;
	int64_t next_stop;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void log_add(struct pump *p, const char *buf, size_t n)
{
	p->log_size += (int64_t)n;
	if (p->log_written < AH_JOB_LOG_MAX && !p->tail.len) {
		size_t room = (size_t)(AH_JOB_LOG_MAX - p->log_written), k = n < room ? n : room;

		if (p->s->log_fd >= 0 && k)
			ah_write_full(p->s->log_fd, buf, k);
		p->log_written += (int64_t)k;
		buf += k;
		n -= k;
	}
	if (!n)
		return;
	strbuf_add(&p->tail, buf, n);
	/* the last AH_JOB_LOG_MAX bytes; dropping the rest in large steps */
	if (p->tail.len > 2 * (size_t)AH_JOB_LOG_MAX) {
		size_t drop = p->tail.len - AH_JOB_LOG_MAX;

		memmove(p->tail.buf, p->tail.buf + drop, AH_JOB_LOG_MAX);
		strbuf_setlen(&p->tail, AH_JOB_LOG_MAX);
	}
}

static void note(struct pump *p, const char *fmt, const char *arg, unsigned n)
{
	char buf[256];
	int len = snprintf(buf, sizeof(buf), fmt, n, arg);

	if (len > 0)
		log_add(p, buf, (size_t)len < sizeof(buf) ? (size_t)len : sizeof(buf) - 1);
}

static void progress_line(struct pump *p)
{
	char why[AH_JSON_WHY_MAX];
	json_t *o = NULL;

	p->lines++;
	if (p->lines > AH_JOB_PROGRESS_LINES_MAX) {
		if (p->lines == AH_JOB_PROGRESS_LINES_MAX + 1)
			note(p, "apphub: fd 3: more than %u lines%s, the rest ignored\n", "",
			     AH_JOB_PROGRESS_LINES_MAX);
		return;
	}
	if (p->line_over) {
		note(p, "apphub: fd 3: line %u ignored: %s\n", "longer than 64 KiB", p->lines);
		return;
	}
	if (ah_job_progress_line(p->line.buf, p->line.len, p->s->work_dir, &o, why,
				 sizeof(why)) < 0) {
		note(p, "apphub: fd 3: line %u ignored: %s\n", why, p->lines);
		return;
	}
	if (p->s->progress)
		p->s->progress(p->s->cls, o);
	json_array_append_new(p->outputs, o);
}

static void extra_add(struct pump *p, const char *buf, size_t n)
{
	const char *nl;

	while (n) {
		nl = memchr(buf, '\n', n);
		size_t k = nl ? (size_t)(nl - buf) : n;

		if (!p->line_over && p->line.len + k <= AH_JOB_PROGRESS_LINE_MAX)
			strbuf_add(&p->line, buf, k);
		else
			p->line_over = 1;
		if (!nl)
			return;
		if (p->line.len || p->line_over)
			progress_line(p);
		strbuf_reset(&p->line);
		p->line_over = 0;
		buf = nl + 1;
		n -= k + 1;
	}
}

/* What fd has now (it is non-blocking); at its end, closes it. */
static void drain(struct pump *p, int *fd)
{
	char buf[65536];
	ssize_t n;

	while (*fd >= 0) {
		n = read(*fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(*fd);
			*fd = -1;
			return;
		}
		if (fd == &p->out) {
			size_t room = AH_JOB_RESULT_MAX + 1 - p->result.len;

			if ((size_t)n > room)
				p->result_over = 1;
			strbuf_add(&p->result, buf, (size_t)n < room ? (size_t)n : room);
		} else if (fd == &p->err) {
			log_add(p, buf, (size_t)n);
		} else {
			extra_add(p, buf, (size_t)n);
		}
	}
}

static int pump_hook(void *cls, int pidfd, int64_t max_ms)
{
	struct pump *p = cls;
	struct pollfd fds[4];
	int nfds = 0, i;

	for (i = 0; p->close_first && i < 3; i++)
		if (p->close_first[i] >= 0) {
			close(p->close_first[i]);
			p->close_first[i] = -1;
		}
	p->close_first = NULL;
	if (pidfd >= 0)
		fds[nfds++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	if (p->out >= 0)
		fds[nfds++] = (struct pollfd){ .fd = p->out, .events = POLLIN };
	if (p->err >= 0)
		fds[nfds++] = (struct pollfd){ .fd = p->err, .events = POLLIN };
	if (p->extra >= 0)
		fds[nfds++] = (struct pollfd){ .fd = p->extra, .events = POLLIN };
	poll(fds, (nfds_t)nfds, (int)max_ms);
	drain(p, &p->out);
	drain(p, &p->err);
	drain(p, &p->extra);
	if (p->s->stop && now_ms() >= p->next_stop) {
		p->next_stop = now_ms() + 200;
		if (p->s->stop(p->s->cls) == 1)
			return 1;
	}
	return 0;
}

/* The log's tail, once the handler is done: log_fd holds the last AH_JOB_LOG_MAX bytes. */
static void log_finish(struct pump *p)
{
	struct strbuf msg = STRBUF_INIT;
	struct stat sb;
	int fd = p->s->log_fd;
	size_t keep;

	if (!p->tail.len)
		return;
	strbuf_addf(&msg, "apphub: the log was longer than 16 MiB: its first %lld bytes "
		    "were dropped\n", (long long)(p->log_size - (int64_t)AH_JOB_LOG_MAX));
	keep = p->tail.len < AH_JOB_LOG_MAX - msg.len ? p->tail.len : AH_JOB_LOG_MAX - msg.len;
	if (fd >= 0) {
		/* a file is rewritten; a pipe or a terminal gets the tail after its head */
		if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && ftruncate(fd, 0) == 0)
			lseek(fd, 0, SEEK_SET);
		ah_write_full(fd, msg.buf, msg.len);
		ah_write_full(fd, p->tail.buf + p->tail.len - keep, keep);
	}
	strbuf_release(&msg);
}

/*
 * The files left under dir (dfd, closed here; rel its path under the
 * work directory), not following links, as outputs; those an fd-3 line
 * named already (named: host path -> 1) are not listed twice.
 */
static void walk(const char *work_dir, int dfd, const char *rel, int depth, json_t *outputs,
		 json_t *named, size_t *count)
{
	char **names = NULL;
	size_t nr = 0, i;
	int copy = dfd >= 0 ? fcntl(dfd, F_DUPFD_CLOEXEC, 0) : -1;

	if (copy < 0 || depth > JOB_FILES_DEPTH || ah_dir_names_fd(copy, &names, &nr) < 0)
		goto done;
	for (i = 0; i < nr && *count < JOB_FILES_MAX; i++) {
		char *path = *rel ? xstrfmt("%s/%s", rel, names[i]) : xstrdup(names[i]);
		char *host = xstrfmt("%s/%s", work_dir, path);
		struct stat sb;

		if (fstatat(dfd, names[i], &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			/* gone meanwhile */
		} else if (S_ISREG(sb.st_mode) && !json_object_get(named, host)) {
			json_array_append_new(outputs, file_output(path, host, (int64_t)sb.st_size));
			(*count)++;
		} else if (S_ISDIR(sb.st_mode)) {
			walk(work_dir, openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					      O_CLOEXEC), path, depth + 1, outputs, named, count);
		}
		free(host);
		free(path);
	}
done:
	ah_names_free(names, nr);
	if (dfd >= 0)
		close(dfd);
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char *path = xstrfmt("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), ret = -1;

	if (fd >= 0) {
		ret = ah_write_full(fd, text, strlen(text));
		if (close(fd) < 0)
			ret = -1;
	}
	free(path);
	return ret;
}

static int has_capability(json_t *manifest, const char *cap)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(manifest, "capabilities"), i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), cap))
			return 1;
	return 0;
}

static int exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/*
 * The sandbox's root: a skeleton made in root (an empty directory) with
 * the mount points of binds[] (*nr of them), which hold the host's /usr
 * and a few /etc files, the bundle and the work directory.
 */
static int skeleton(const char *root, const struct ah_job_spec *s, int network,
		    struct ah_sandbox_bind *binds, size_t *nr, struct ah_err *err)
{
	static const char *const dirs[] = { "usr", "bundle", "work", "tmp", "proc", "dev", "etc",
					    "etc/ssl", "etc/alternatives", NULL };
	static const char *const links[][2] = { { "bin", "usr/bin" }, { "lib", "usr/lib" },
						{ "lib64", "usr/lib64" }, { "sbin", "usr/sbin" } };
	/* host /etc entries the runtimes read, bound read-only when the host has them */
	static const char *const etc[] = { "/etc/ld.so.cache", "/etc/ssl", "/etc/alternatives",
					   "/etc/resolv.conf", NULL };
	char *path = NULL;
	size_t i;

	*nr = 0;
	for (i = 0; dirs[i]; i++) {
		free(path);
		path = xstrfmt("%s/%s", root, dirs[i]);
		if (mkdir(path, 0755) < 0)
			goto fail;
	}
	for (i = 0; i < sizeof(links) / sizeof(*links); i++) {
		char *host = xstrfmt("/%s", links[i][1]);
		int there = exists(host);

		free(host);
		free(path);
		path = xstrfmt("%s/%s", root, links[i][0]);
		if (there && symlink(links[i][1], path) < 0)
			goto fail;
	}
	if (write_file(root, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
		       "apphub:x:1000:1000:apphub:/tmp:/bin/sh\n"
		       "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n") < 0 ||
	    write_file(root, "etc/group", "root:x:0:\napphub:x:1000:\nnogroup:x:65534:\n") < 0 ||
	    write_file(root, "etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost\n") < 0 ||
	    write_file(root, "etc/nsswitch.conf", "passwd: files\ngroup: files\n"
		       "hosts: files dns\n") < 0)
		goto fail;
	binds[(*nr)++] = (struct ah_sandbox_bind){ "/usr", "/usr", AH_BIND_RO };
	for (i = 0; etc[i]; i++) {
		struct stat sb;

		if (!strcmp(etc[i], "/etc/resolv.conf") && !network)
			continue;
		if (stat(etc[i], &sb) < 0)
			continue;
		free(path);
		path = xstrfmt("%s%s", root, etc[i]);
		if (!S_ISDIR(sb.st_mode) && write_file(root, etc[i] + 1, "") < 0)
			goto fail;
		binds[(*nr)++] = (struct ah_sandbox_bind){ etc[i], etc[i], AH_BIND_RO };
	}
	binds[(*nr)++] = (struct ah_sandbox_bind){ s->bundle_dir, "/bundle", AH_BIND_RO };
	binds[(*nr)++] = (struct ah_sandbox_bind){ s->work_dir, "/work", AH_BIND_RW };
	free(path);
	return 0;
fail:
	ah_internal(err, "cannot make '%s': %s", path, strerror(errno));
	free(path);
	return -1;
}

/* The manifest's limits: memory (a size or bytes), cpu (cpus), pids. */
static int manifest_limits(json_t *manifest, struct ah_limits *l, struct ah_err *err)
{
	json_t *lim = json_object_get(manifest, "limits"), *v;

	memset(l, 0, sizeof(*l));
	v = json_object_get(lim, "memory");
	if (json_is_integer(v) && json_integer_value(v) > 0)
		l->memory_bytes = json_integer_value(v);
	else if (json_is_string(v) && (ah_parse_size(json_string_value(v), &l->memory_bytes) < 0 ||
				       l->memory_bytes <= 0))
		return ah_invalid(err, "invalid limits.memory '%s': must be a size (" AH_SIZE_FORMS ")",
				  json_string_value(v));
	else if (v && !json_is_null(v) && !l->memory_bytes)
		return ah_invalid(err, "invalid limits.memory: must be a size (" AH_SIZE_FORMS ")");
	v = json_object_get(lim, "cpu");
	if (json_is_number(v) && json_number_value(v) > 0)
		l->cpus = json_number_value(v);
	else if (v && !json_is_null(v))
		return ah_invalid(err, "invalid limits.cpu: must be a number of CPUs");
	v = json_object_get(lim, "pids");
	if (json_is_integer(v) && json_integer_value(v) > 0)
		l->pids = json_integer_value(v);
	else if (v && !json_is_null(v))
		return ah_invalid(err, "invalid limits.pids: must be a count of processes");
	if (!l->pids && geteuid() == 0)
		l->pids = JOB_DEFAULT_PIDS;
	return 0;
}

/* The command that runs the handler, or -1 (the runtime is not installed, the entry unusable). */
static int command(const struct ah_job_spec *s, const char **argv, char **entry_path,
		   struct ah_err *err)
{
	const char *runtime = json_string_value(json_object_get(s->manifest, "runtime"));
	const char *entry = json_string_value(json_object_get(s->manifest, "entry"));
	char *host;
	struct stat sb;
	int ret = -1;

	if (!runtime)
		runtime = "node";
	if (!entry || !rel_ok(entry))
		return ah_invalid(err, "invalid entry '%s': a path in the bundle",
				  entry ? entry : "");
	host = xstrfmt("%s/%s", s->bundle_dir, entry);
	*entry_path = xstrfmt("/bundle/%s", entry);
	if (stat(host, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		ah_invalid(err, "entry '%s': not a file in the bundle", entry);
		goto done;
	}
	if (!strcmp(runtime, "exec")) {
		if (!(sb.st_mode & 0001)) {
			ah_invalid(err, "entry '%s': not executable (runtime 'exec' runs it)", entry);
			goto done;
		}
		argv[0] = *entry_path;
		argv[1] = NULL;
	} else if (!strcmp(runtime, "node")) {
		if (access("/usr/bin/node", X_OK) < 0) {
			ah_error(err, 503, "unavailable", "runtime 'node': node is not installed "
				 "(apt-get install nodejs)");
			goto done;
		}
		argv[0] = "/usr/bin/node";
		argv[1] = "--input-type=module";
		argv[2] = "-e";
		argv[3] = node_harness;
		argv[4] = *entry_path;
		argv[5] = NULL;
	} else if (!strcmp(runtime, "python")) {
		if (access("/usr/bin/python3", X_OK) < 0) {
			ah_error(err, 503, "unavailable", "runtime 'python': python3 is not installed "
				 "(apt-get install python3)");
			goto done;
		}
		argv[0] = "/usr/bin/python3";
		argv[1] = "-I";
		argv[2] = "-B";
		argv[3] = "-c";
		argv[4] = python_harness;
		argv[5] = *entry_path;
		argv[6] = NULL;
	} else {
		ah_invalid(err, "invalid runtime '%s': must be node, python or exec", runtime);
		goto done;
	}
	ret = 0;
done:
	free(host);
	return ret;
}

static void fail(struct ah_job_outcome *o, const char *fmt, ...) APPHUB_FMT(2, 3);
static void fail(struct ah_job_outcome *o, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	strbuf_addstr(&sb, buf);
	o->ok = 0;
	free(o->message);
	o->message = strbuf_detach(&sb, NULL);
}

/* The handler's stdout as its result. */
static void take_result(struct pump *p, struct ah_job_outcome *o)
{
	char why[AH_JSON_WHY_MAX];
	json_error_t je;
	size_t i;

	if (p->result_over || p->result.len > AH_JOB_RESULT_MAX) {
		fail(o, "result is larger than 1 MiB");
		return;
	}
	for (i = 0; i < p->result.len && strchr(" \t\r\n", p->result.buf[i]); i++)
		;
	/* a handler that prints nothing returns null */
	if (i == p->result.len) {
		o->result = json_null();
		o->ok = 1;
		return;
	}
	o->result = memchr(p->result.buf, '\0', p->result.len) ? NULL :
		json_loadb(p->result.buf, p->result.len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (!o->result) {
		if (memchr(p->result.buf, '\0', p->result.len))
			snprintf(why, sizeof(why), "it holds a NUL byte");
		else
			ah_json_why(&je, why, sizeof(why));
		fail(o, "handler's result is not JSON: %s", why);
		return;
	}
	o->ok = 1;
}

int ah_job_exec(const struct ah_job_spec *s, struct ah_job_outcome *o, struct ah_err *err)
{
	struct ah_sandbox_opts so = AH_SANDBOX_OPTS_INIT;
	struct ah_sandbox_bind binds[16];
	struct pump p;
	struct ah_err run_err = AH_ERR_INIT;
	const char *argv[8];
	const char *env[] = { "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "TMPDIR=/tmp",
			      "LANG=C.UTF-8", "USER=apphub", NULL };
	char *entry_path = NULL, *root = NULL, *slash, *input = NULL;
	int pout[2] = { -1, -1 }, perr[2] = { -1, -1 }, pextra[2] = { -1, -1 }, in = -1;
	int writers[3], network = has_capability(s->manifest, "network"), status = 0, ret = -1;
	int64_t timeout;
	json_t *named = json_object(), *to;
	size_t nbinds = 0, count = 0, i;

	memset(o, 0, sizeof(*o));
	memset(&p, 0, sizeof(p));
	p.s = s;
	p.out = p.err = p.extra = -1;
	strbuf_init(&p.result, 0);
	strbuf_init(&p.tail, 0);
	strbuf_init(&p.line, 0);
	p.outputs = json_array();
	if (!ah_sandbox_bwrap(err) || manifest_limits(s->manifest, &so.limits, err) < 0 ||
	    command(s, argv, &entry_path, err) < 0)
		goto done;
	to = json_object_get(s->manifest, "timeoutMs");
	timeout = s->timeout_ms > 0 ? s->timeout_ms :
		json_is_integer(to) && json_integer_value(to) > 0 ? json_integer_value(to) :
		JOB_DEFAULT_TIMEOUT_MS;

	/* the root beside the work directory, gone once the run is */
	slash = strrchr(s->work_dir, '/');
	root = slash && slash != s->work_dir ?
		xstrfmt("%.*s/.root-XXXXXX", (int)(slash - s->work_dir), s->work_dir) :
		xstrdup("/tmp/.apphub-job-root-XXXXXX");
	if (!mkdtemp(root)) {
		ah_internal(err, "cannot make '%s': %s", root, strerror(errno));
		free(root);
		root = NULL;
		goto done;
	}
	if (chmod(root, 0755) < 0 || skeleton(root, s, network, binds, &nbinds, err) < 0)
		goto done;
	/* the handler's user writes the work directory: as root, its host id (sandbox.h) */
	if (geteuid() == 0 && chown(s->work_dir, AH_SANDBOX_UID_BASE + JOB_UID,
				    AH_SANDBOX_UID_BASE + JOB_UID) < 0) {
		ah_internal(err, "cannot chown '%s': %s", s->work_dir, strerror(errno));
		goto done;
	}

	/* the input is a file (a memfd): a handler that does not read it never blocks us */
	input = s->input ? json_dumps(s->input, JSON_COMPACT) : xstrdup("{}");
	in = memfd_create("apphub-job-input", MFD_CLOEXEC);
	if (in < 0 || !input || ah_write_full(in, input, strlen(input)) < 0 ||
	    lseek(in, 0, SEEK_SET) < 0 || pipe2(pout, O_CLOEXEC) < 0 ||
	    pipe2(perr, O_CLOEXEC) < 0 || pipe2(pextra, O_CLOEXEC) < 0) {
		ah_internal(err, "cannot set up the handler's input and pipes: %s", strerror(errno));
		goto done;
	}
	for (i = 0; i < 3; i++) {
		int fd = i == 0 ? pout[0] : i == 1 ? perr[0] : pextra[0];

		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	}
	p.out = pout[0];
	p.err = perr[0];
	p.extra = pextra[0];
	pout[0] = perr[0] = pextra[0] = -1;
	writers[0] = pout[1];
	writers[1] = perr[1];
	writers[2] = pextra[1];
	pout[1] = perr[1] = pextra[1] = -1;
	p.close_first = writers;

	so.rootfs = root;
	so.rootfs_readonly = 1;
	so.argv = argv;
	so.env = env;
	so.workdir = "/work";
	so.uid = JOB_UID;
	so.gid = JOB_UID;
	so.network = network ? "host" : "none";
	so.hostname = "job";
	so.timeout_ms = timeout;
	so.tmp_mode = 01777;
	so.in_fd = in;
	so.out_fd = writers[0];
	so.err_fd = writers[1];
	so.extra_fd = writers[2];
	so.binds = binds;
	so.binds_nr = nbinds;
	so.wait_hook = pump_hook;
	so.wait_cls = &p;
	if (ah_sandbox_run(&so, &status, &run_err) < 0 && (!run_err.code ||
	    (strcmp(run_err.code, "timeout") && strcmp(run_err.code, "limit") &&
	     strcmp(run_err.code, "canceled")))) {
		/* nothing ran: bwrap or the sandbox could not start */
		*err = run_err;
		goto done;
	}
	/* the writers are ours still when the sandbox never called the hook */
	if (p.close_first)
		pump_hook(&p, -1, 0);
	/* everything in the sandbox is gone: what is left in the pipes, to their ends */
	for (i = 0; i < 3; i++) {
		int *fd = i == 0 ? &p.out : i == 1 ? &p.err : &p.extra;

		if (*fd >= 0)
			fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) & ~O_NONBLOCK);
		drain(&p, fd);
	}
	if (p.line.len)
		progress_line(&p);
	log_finish(&p);
	o->status = status;
	o->log_size = p.log_size;
	o->log_truncated = p.tail.len > 0;
	if (run_err.code) {
		o->timed_out = !strcmp(run_err.code, "timeout");
		o->stopped = !strcmp(run_err.code, "canceled");
		fail(o, "%s", run_err.msg);
	} else if (status) {
		fail(o, "handler exited with status %d", status);
	} else {
		take_result(&p, o);
	}
	/* the outputs: fd 3's, then the files left that no fd-3 line named */
	o->outputs = p.outputs;
	p.outputs = NULL;
	for (i = 0; i < json_array_size(o->outputs); i++) {
		json_t *e = json_array_get(o->outputs, i);

		if (json_is_string(json_object_get(e, "path")))
			json_object_set(named, json_string_value(json_object_get(e, "path")),
					json_true());
	}
	walk(s->work_dir, open(s->work_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), "",
	     0, o->outputs, named, &count);
	ret = 0;
done:
	if (p.close_first)
		for (i = 0; i < 3; i++)
			if (writers[i] >= 0)
				close(writers[i]);
	for (i = 0; i < 3; i++) {
		int fd = i == 0 ? p.out : i == 1 ? p.err : p.extra;

		if (fd >= 0)
			close(fd);
	}
	ah_close_pair(pout);
	ah_close_pair(perr);
	ah_close_pair(pextra);
	if (in >= 0)
		close(in);
	if (root) {
		struct ah_err ignored = AH_ERR_INIT;

		ah_remove_tree(root, &ignored);
		free(root);
	}
	free(input);
	free(entry_path);
	json_decref(named);
	json_decref(p.outputs);
	strbuf_release(&p.result);
	strbuf_release(&p.tail);
	strbuf_release(&p.line);
	if (ret < 0)
		ah_job_outcome_release(o);
	return ret;
}
