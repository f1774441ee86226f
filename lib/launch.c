/*
 * Launch records: the request (validated, resolved to an image, recorded,
 * its supervisor started), listings, logs, stop and reconciliation. The
 * supervisor itself is lib/launch-run.c, in the helper apphub-launch.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "env.h"
#include "events.h"
#include "exec-path.h"
#include "apps.h"
#include "fsutil.h"
#include "launch.h"
#include "log-page.h"
#include "params.h"
#include "random-id.h"
#include "parse.h"
#include "strbuf.h"
#include "timeutil.h"
#include "utf8.h"

#define ACTIVE "('pending', 'starting', 'running', 'stopping')"

static const char launch_cols[] =
	"id, app_id, build_id, image, image_digest, engine, status, error_message, port,"
	" host_port, preview_url, network, command, env, profile, limits, ttl_ms, expires_at,"
	" pid, sandbox_pid, exit_status, created_at, started_at, running_at, stopped_at,"
	" updated_at, user";

char *ah_launch_dir(const char *state_dir, const char *id)
{
	return xstrfmt("%s/launches/%s", state_dir, id);
}

unsigned long long ah_proc_start_time(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, field;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command may hold spaces and parentheses: fields start after the last ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	p += 2;
	/* p is field 3 (state); a zombie is as good as gone. */
	if (*p == 'Z' || *p == 'X')
		return 0;
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		start = strtoull(p, NULL, 10);
	return start;
}

/* A row of launch_cols as the record of the API. */
static json_t *launch_row(sqlite3_stmt *stmt)
{
	json_t *o = json_object();
	char iso[AH_ISO_LEN];

	json_object_set_new(o, "id", ah_col_string(stmt, 0));
	json_object_set_new(o, "repositoryId", ah_col_string(stmt, 1));
	json_object_set_new(o, "buildId", ah_col_string(stmt, 2));
	json_object_set_new(o, "image", ah_col_string(stmt, 3));
	json_object_set_new(o, "imageDigest", ah_col_string(stmt, 4));
	json_object_set_new(o, "engine", ah_col_string(stmt, 5));
	json_object_set_new(o, "status", ah_col_string(stmt, 6));
	json_object_set_new(o, "errorMessage", ah_col_string(stmt, 7));
	json_object_set_new(o, "port", ah_col_integer(stmt, 8));
	json_object_set_new(o, "hostPort", ah_col_integer(stmt, 9));
	json_object_set_new(o, "previewUrl", ah_col_string(stmt, 10));
	json_object_set_new(o, "network", ah_col_string(stmt, 11));
	json_object_set_new(o, "command", ah_col_string(stmt, 12));
	json_object_set_new(o, "env", ah_col_json(stmt, 13));
	json_object_set_new(o, "resourceProfile", ah_col_json(stmt, 14));
	json_object_set_new(o, "limits", ah_col_json(stmt, 15));
	if (sqlite3_column_type(stmt, 16) == SQLITE_NULL)
		json_object_set_new(o, "ttlSeconds", json_null());
	else
		json_object_set_new(o, "ttlSeconds",
				    json_integer(sqlite3_column_int64(stmt, 16) / 1000));
	if (sqlite3_column_type(stmt, 17) == SQLITE_NULL) {
		json_object_set_new(o, "expiresAt", json_null());
	} else {
		ah_iso_time(iso, sqlite3_column_int64(stmt, 17));
		json_object_set_new(o, "expiresAt", json_string(iso));
	}
	json_object_set_new(o, "pid", ah_col_integer(stmt, 18));
	json_object_set_new(o, "sandboxPid", ah_col_integer(stmt, 19));
	json_object_set_new(o, "exitStatus", ah_col_integer(stmt, 20));
	json_object_set_new(o, "createdAt", ah_col_string(stmt, 21));
	json_object_set_new(o, "startedAt", ah_col_string(stmt, 22));
	json_object_set_new(o, "runningAt", ah_col_string(stmt, 23));
	json_object_set_new(o, "stoppedAt", ah_col_string(stmt, 24));
	json_object_set_new(o, "updatedAt", ah_col_string(stmt, 25));
	json_object_set_new(o, "user", ah_col_string(stmt, 26));
	return o;
}

json_t *ah_launch_json(struct ah_state *st, const char *id, struct ah_err *err)
{
	static char sql[512];
	sqlite3_stmt *stmt;
	json_t *o = NULL;
	int rc;

	if (!*sql)
		snprintf(sql, sizeof(sql), "SELECT %s FROM launches WHERE id = ?", launch_cols);
	if (!(stmt = ah_stmt(st, sql, err)))
		return NULL;
	ah_bind_text(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		o = launch_row(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ah_sql_error(st, err, "cannot read launch");
		return NULL;
	}
	if (!o)
		ah_not_found(err, "launch '%s' not found", id);
	return o;
}

static int terminal(const char *status)
{
	return !strcmp(status, "stopped") || !strcmp(status, "failed");
}

/* Columns ah_launch_set() may write. */
static const char *const settable[] = {
	"image_digest", "port", "host_port", "preview_url", "limits", "pid", "pid_start",
	"sandbox_pid", "sandbox_start", "cgroups", "exit_status", "expires_at", NULL
};

static int bind_json(sqlite3_stmt *stmt, int i, json_t *v)
{
	char *s;
	int rc;

	if (!v || json_is_null(v))
		return sqlite3_bind_null(stmt, i);
	if (json_is_integer(v))
		return sqlite3_bind_int64(stmt, i, json_integer_value(v));
	if (json_is_string(v))
		return sqlite3_bind_text(stmt, i, json_string_value(v), -1, SQLITE_TRANSIENT);
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	rc = sqlite3_bind_text(stmt, i, s ? s : "null", -1, SQLITE_TRANSIENT);
	free(s);
	return rc;
}

int ah_launch_set(struct ah_state *st, const char *id, const char *status, const char *message,
		  json_t *fields, struct ah_err *err)
{
	static const char sql_get[] = "SELECT status, app_id FROM launches WHERE id = ?";
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *stmt = NULL;
	char now[AH_ISO_LEN], *old = NULL, *app = NULL;
	const char *key, *const *c;
	json_t *v;
	int ret = -1, i, rc, change = 0;

	ah_now_iso(now);
	if (ah_begin_write(st, err) < 0)
		goto out;
	if (!(stmt = ah_stmt(st, sql_get, err)))
		goto fail;
	ah_bind_text(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		old = xstrdup(ah_col_text(stmt, 0));
		app = xstrdup(ah_col_text(stmt, 1));
	}
	sqlite3_reset(stmt);
	stmt = NULL;
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			ah_not_found(err, "launch '%s' not found", id);
		else
			ah_sql_error(st, err, "cannot read launch");
		goto fail;
	}
	/* A final status stays; stopping does not go back to running. */
	if (status && strcmp(status, old) && !terminal(old) &&
	    !(!strcmp(old, "stopping") && (!strcmp(status, "running") || !strcmp(status, "starting"))))
		change = 1;
	strbuf_addstr(&sql, "UPDATE launches SET updated_at = ?");
	if (change) {
		strbuf_addstr(&sql, ", status = ?, error_message = ?");
		if (!strcmp(status, "starting"))
			strbuf_addstr(&sql, ", started_at = ?");
		else if (!strcmp(status, "running"))
			strbuf_addstr(&sql, ", running_at = ?");
		else if (terminal(status))
			strbuf_addstr(&sql, ", stopped_at = ?");
	}
	json_object_foreach(fields, key, v) {
		for (c = settable; *c && strcmp(*c, key); c++)
			;
		if (!*c)
			BUG("launch column '%s' is not settable", key);
		strbuf_addf(&sql, ", %s = ?", key);
	}
	strbuf_addstr(&sql, " WHERE id = ?");
	if (sqlite3_prepare_v2(st->db, sql.buf, -1, &stmt, NULL) != SQLITE_OK) {
		ah_sql_error(st, err, "cannot update launch");
		goto fail;
	}
	i = 1;
	sqlite3_bind_text(stmt, i++, now, -1, SQLITE_TRANSIENT);
	if (change) {
		sqlite3_bind_text(stmt, i++, status, -1, SQLITE_STATIC);
		if (message)
			sqlite3_bind_text(stmt, i++, message, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(stmt, i++);
		if (!strcmp(status, "starting") || !strcmp(status, "running") || terminal(status))
			sqlite3_bind_text(stmt, i++, now, -1, SQLITE_TRANSIENT);
	}
	json_object_foreach(fields, key, v)
		bind_json(stmt, i++, v);
	sqlite3_bind_text(stmt, i, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (rc != SQLITE_DONE) {
		ah_sql_error(st, err, "cannot update launch");
		goto fail;
	}
	if (change) {
		char type[64];
		json_t *data = json_pack("{s:s, s:s, s:s}", "id", id, "status", status, "repositoryId", app);

		if (message)
			json_object_set_new(data, "errorMessage", json_string(message));
		snprintf(type, sizeof(type), "launch.%s", status);
		if (ah_event(st, type, id, data, err) < 0)
			goto fail;
	}
	if (ah_commit(st, err) < 0)
		goto fail;
	ret = 0;
	goto out;
fail:
	ah_rollback(st);
out:
	free(old);
	free(app);
	strbuf_release(&sql);
	json_decref(fields);
	return ret;
}

char *ah_launch_log_tail(const char *state_dir, const char *id, size_t max)
{
	char *path = xstrfmt("%s/launches/%s/log", state_dir, id), *buf = NULL;
	struct stat s;
	ssize_t n;
	off_t from;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &s) < 0)
		goto done;
	from = s.st_size > (off_t)max ? s.st_size - (off_t)max : 0;
	buf = xmalloc(max + 1);
	n = pread(fd, buf, max, from);
	if (n < 0) {
		free(buf);
		buf = NULL;
		goto done;
	}
	buf[n] = '\0';
	/* Invalid UTF-8 would make the JSON string fail: replace bytes that are not ASCII text. */
	{
		ssize_t k;

		for (k = 0; k < n; k++)
			if ((unsigned char)buf[k] >= 0x80 ||
			    (buf[k] < 0x20 && buf[k] != '\n' && buf[k] != '\t' && buf[k] != '\r'))
				buf[k] = '?';
	}
done:
	if (fd >= 0)
		close(fd);
	free(path);
	return buf;
}

/* Kills what is left in the launch's cgroups (a JSON array of directories) and removes them. */
static void cgroups_remove(const char *json)
{
	json_t *dirs = json ? json_loads(json, 0, NULL) : NULL, *d;
	size_t i;
	int tries;

	json_array_foreach(dirs, i, d) {
		const char *dir = json_string_value(d);
		char *p;
		FILE *fp;

		if (!dir || strncmp(dir, "/sys/fs/cgroup/", 15) || strstr(dir, ".."))
			continue;
		p = xstrfmt("%s/cgroup.kill", dir);
		fp = fopen(p, "w");
		if (fp) {
			fputs("1", fp);
			fclose(fp);
		}
		free(p);
		p = xstrfmt("%s/cgroup.procs", dir);
		for (tries = 0; tries < 50 && rmdir(dir) < 0 && errno == EBUSY; tries++) {
			int pid;

			fp = fopen(p, "r");
			while (fp && fscanf(fp, "%d", &pid) == 1)
				kill(pid, SIGKILL);
			if (fp)
				fclose(fp);
			usleep(20000);
		}
		free(p);
	}
	json_decref(dirs);
}

int ah_launch_reconcile(struct ah_state *st, int *changed, struct ah_err *err)
{
	static const char sql[] =
		"SELECT id, status, pid, pid_start, sandbox_pid, sandbox_start, cgroups, created_at,"
		" expires_at FROM launches WHERE status IN " ACTIVE;
	sqlite3_stmt *stmt = ah_stmt(st, sql, err);
	struct dead {
		char *id, *status, *cgroups;
		int sandbox_pid;
		unsigned long long sandbox_start;
	} *dead = NULL;
	size_t nr = 0, alloc = 0, i;
	int rc, ret = 0;
	int64_t now = ah_now_ms();

	if (changed)
		*changed = 0;
	if (!stmt)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int pid = sqlite3_column_int(stmt, 2);
		unsigned long long start = (unsigned long long)sqlite3_column_int64(stmt, 3);
		const char *created = ah_col_text(stmt, 7);
		struct tm tm;
		int64_t created_ms = 0;

		if (pid > 0 && ah_proc_start_time(pid) == start) {
			/* The supervisor enforces the TTL; past it by 10 s, remind it. */
			if (sqlite3_column_type(stmt, 8) != SQLITE_NULL &&
			    sqlite3_column_int64(stmt, 8) + 10000 < now)
				kill(pid, SIGTERM);
			continue;
		}
		memset(&tm, 0, sizeof(tm));
		if (strptime(created, "%Y-%m-%dT%H:%M:%S", &tm))
			created_ms = (int64_t)timegm(&tm) * 1000;
		/* A supervisor not yet started gets a minute to record its pid. */
		if (pid <= 0 && now - created_ms < 60000)
			continue;
		if (nr == alloc) {
			alloc = alloc ? 2 * alloc : 8;
			dead = xrealloc(dead, alloc * sizeof(*dead));
		}
		dead[nr].id = xstrdup(ah_col_text(stmt, 0));
		dead[nr].status = xstrdup(ah_col_text(stmt, 1));
		dead[nr].cgroups = sqlite3_column_type(stmt, 6) == SQLITE_NULL ? NULL
			: xstrdup(ah_col_text(stmt, 6));
		dead[nr].sandbox_pid = sqlite3_column_int(stmt, 4);
		dead[nr].sandbox_start = (unsigned long long)sqlite3_column_int64(stmt, 5);
		nr++;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		ret = ah_sql_error(st, err, "cannot list launches");
		goto done;
	}
	for (i = 0; i < nr; i++) {
		int stopping = !strcmp(dead[i].status, "stopping");

		if (dead[i].sandbox_pid > 0 &&
		    ah_proc_start_time(dead[i].sandbox_pid) == dead[i].sandbox_start)
			kill(dead[i].sandbox_pid, SIGKILL);
		cgroups_remove(dead[i].cgroups);
		if (ah_launch_set(st, dead[i].id, stopping ? "stopped" : "failed",
				  stopping ? NULL : "the launch's supervisor exited unexpectedly",
				  NULL, err) < 0) {
			ret = -1;
			goto done;
		}
		if (changed)
			(*changed)++;
	}
done:
	for (i = 0; i < nr; i++) {
		free(dead[i].id);
		free(dead[i].status);
		free(dead[i].cgroups);
	}
	free(dead);
	return ret;
}

/* Durations in whole seconds (a part of one counts as one). */
static int parse_duration(const char *s, int64_t *secs)
{
	int64_t ms;

	if (ah_parse_duration_ms(s, &ms) < 0)
		return -1;
	*secs = (ms + 999) / 1000;
	return 0;
}

/* A size or duration field: a whole number, or a string with a unit. */
static int profile_num(json_t *prof, const char *key, int duration, int64_t *out,
		       struct ah_err *err)
{
	json_t *v = json_object_get(prof, key);

	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && (duration ? parse_duration(json_string_value(v), out)
				  : ah_parse_size(json_string_value(v), out)) == 0)
		return 0;
	if (json_is_string(v))
		return ah_invalid(err, "invalid resourceProfile.%s '%.80s': must be a %s", key,
				  json_string_value(v), duration ? "duration (" AH_DURATION_FORMS ")"
								 : "size (" AH_SIZE_FORMS ")");
	return ah_invalid(err, "invalid resourceProfile.%s: must be a %s", key,
			  duration ? "duration (" AH_DURATION_FORMS ")" : "size (" AH_SIZE_FORMS ")");
}

/*
 * The resource profile: a name (small, standard, large) or an object
 * {memory, cpus, cpuTime, pids, nofile, disk}, over the standard profile.
 */
static int parse_profile(json_t *in, json_t **out, struct ah_err *err)
{
	int64_t memory = 1LL << 30, pids = 256, nofile = 1024, disk = 1LL << 30, cpu_time = 0;
	double cpus = 0;
	const char *name = "standard", *key;
	json_t *v;

	*out = NULL;
	if (in && json_is_string(in)) {
		name = json_string_value(in);
		in = NULL;
	}
	if (in && !json_is_null(in) && !json_is_object(in))
		return ah_invalid(err, "invalid resourceProfile: must be a name or an object");
	if (in && json_is_string(json_object_get(in, "name")))
		name = json_string_value(json_object_get(in, "name"));
	if (!strcmp(name, "small")) {
		memory = 256LL << 20, pids = 64, nofile = 256, disk = 256LL << 20, cpus = 0.5;
	} else if (!strcmp(name, "large")) {
		memory = 4LL << 30, pids = 1024, nofile = 4096, disk = 4LL << 30, cpus = 2;
	} else if (strcmp(name, "standard")) {
		return ah_invalid(err, "invalid resourceProfile '%s': must be small, standard or large, or an object", name);
	}
	json_object_foreach(in, key, v) {
		if (strcmp(key, "name") && strcmp(key, "memory") && strcmp(key, "cpus") &&
		    strcmp(key, "cpuTime") && strcmp(key, "pids") && strcmp(key, "nofile") &&
		    strcmp(key, "disk"))
			return ah_invalid(err, "invalid resourceProfile: unknown field '%s'", key);
	}
	if (profile_num(in, "memory", 0, &memory, err) < 0 ||
	    profile_num(in, "pids", 0, &pids, err) < 0 ||
	    profile_num(in, "nofile", 0, &nofile, err) < 0 ||
	    profile_num(in, "disk", 0, &disk, err) < 0 ||
	    profile_num(in, "cpuTime", 1, &cpu_time, err) < 0)
		return -1;
	v = json_object_get(in, "cpus");
	if (v && json_is_number(v))
		cpus = json_number_value(v);
	else if (v && json_is_string(v))
		cpus = strtod(json_string_value(v), NULL);
	if (v && !json_is_null(v) && (cpus <= 0 || cpus > 1024))
		return ah_invalid(err, "invalid resourceProfile.cpus: must be a number above 0");
	if (memory && memory < (16 << 20))
		return ah_invalid(err, "invalid resourceProfile.memory: at least 16M");
	if (pids && pids < 4)
		return ah_invalid(err, "invalid resourceProfile.pids: at least 4");
	if (nofile && nofile < 16)
		return ah_invalid(err, "invalid resourceProfile.nofile: at least 16");
	if (disk && disk < (1 << 20))
		return ah_invalid(err, "invalid resourceProfile.disk: at least 1M");
	*out = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "name", name,
			 "memory", (json_int_t)memory, "pids", (json_int_t)pids,
			 "nofile", (json_int_t)nofile, "disk", (json_int_t)disk,
			 "cpuTime", (json_int_t)cpu_time);
	json_object_set_new(*out, "cpus", cpus > 0 ? json_real(cpus) : json_null());
	return 0;
}

/* env: an object {K: V} or a list ["K=V"]; returns an object. */
static int parse_env(json_t *in, json_t **out, struct ah_err *err)
{
	json_t *v;
	const char *key;
	size_t i;

	*out = json_object();
	if (!in || json_is_null(in))
		return 0;
	if (json_is_array(in)) {
		json_array_foreach(in, i, v) {
			const char *s = json_string_value(v), *eq = s ? strchr(s, '=') : NULL;
			char *k;

			if (!eq || eq == s)
				goto bad;
			k = xstrndup(s, (size_t)(eq - s));
			json_object_set_new(*out, k, json_string(eq + 1));
			free(k);
		}
	} else if (json_is_object(in)) {
		json_object_foreach(in, key, v) {
			if (!json_is_string(v))
				goto bad;
			json_object_set(*out, key, v);
		}
	} else {
		goto bad;
	}
	if (json_object_size(*out) > AH_LAUNCH_ENV_MAX) {
		ah_invalid(err, "invalid env: at most %d entries", AH_LAUNCH_ENV_MAX);
		goto fail;
	}
	json_object_foreach(*out, key, v) {
		const char *k;

		if (!*key || strlen(key) > AH_LAUNCH_ENV_KEY_MAX) {
			ah_invalid(err, "invalid env key '%.40s': 1 to %d characters", key,
				   AH_LAUNCH_ENV_KEY_MAX);
			goto fail;
		}
		for (k = key; *k; k++)
			if (!(isalnum((unsigned char)*k) || *k == '_') || (k == key && isdigit((unsigned char)*k))) {
				ah_invalid(err, "invalid env key '%.40s': letters, digits and _", key);
				goto fail;
			}
		if (strlen(json_string_value(v)) > AH_LAUNCH_ENV_VALUE_MAX) {
			ah_invalid(err, "invalid env value of '%s': at most %d characters", key,
				   AH_LAUNCH_ENV_VALUE_MAX);
			goto fail;
		}
	}
	return 0;
bad:
	ah_invalid(err, "invalid env: must be an object of strings or a list of K=V");
fail:
	json_decref(*out);
	*out = NULL;
	return -1;
}

static int valid_launch_id(const char *id, struct ah_err *err)
{
	const char *p;

	if (!*id || strlen(id) > AH_LAUNCH_ID_MAX)
		return ah_invalid(err, "invalid launchId '%.80s': 1 to %d characters", id,
				  AH_LAUNCH_ID_MAX);
	if (!isalnum((unsigned char)*id))
		return ah_invalid(err, "invalid launchId '%s': must start with a letter or digit", id);
	for (p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return ah_invalid(err, "invalid launchId '%s': letters, digits, '-', '_' and '.' only", id);
	return 0;
}

/*
 * Starts `apphub-launch supervise <state> <id> [--notify-fd 3]`
 * detached: a new session, reparented (double fork), stdio on the
 * launch's log. With notify >= 0, that pipe's write end goes along as fd
 * 3: the supervisor closes it once the launch is past starting, so a
 * waiting request wakes then, or when the supervisor dies.
 */
static int spawn_supervisor(const char *helper, const char *state_dir, const char *id,
			    const char *log, int notify, struct ah_err *err)
{
	const char *argv[10];
	int argc = 0;
	int logfd, nullfd, status;
	pid_t pid;

	/* State and id first: tests and people find a state's supervisors by them. */
	argv[argc++] = "apphub-launch";
	argv[argc++] = "supervise";
	argv[argc++] = state_dir;
	argv[argc++] = id;
	if (notify >= 0) {
		argv[argc++] = "--notify-fd";
		argv[argc++] = "3";
	}
	argv[argc] = NULL;
	logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0)
		return ah_internal(err, "cannot create '%s': %s", log, strerror(errno));
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nullfd < 0) {
		close(logfd);
		return ah_internal(err, "cannot open /dev/null: %s", strerror(errno));
	}
	pid = fork();
	if (pid < 0) {
		close(logfd);
		close(nullfd);
		return ah_internal(err, "cannot start the supervisor: %s", strerror(errno));
	}
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		dup2(nullfd, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		/* dup2() onto itself would leave close-on-exec set. */
		if (notify == 3)
			fcntl(3, F_SETFD, 0);
		else if (notify >= 0)
			dup2(notify, 3);
		close_range(notify >= 0 ? 4 : 3, ~0U, 0);
		signal(SIGPIPE, SIG_DFL);
		execv(helper, (char *const *)argv);
		_exit(127);
	}
	close(logfd);
	close(nullfd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return 0;
}

int ah_launch_settings_load(struct ah_launch_settings *set, struct ah_err *err)
{
	return ah_env_duration("APPHUB_LAUNCH_START_TIMEOUT_MS", 1, 30000, 1,
			       &set->start_timeout_ms, err) < 0 ||
	       ah_env_size("APPHUB_LAUNCH_MAX_LOG_BYTES", 16 << 20, 1, &set->max_log_bytes, err) < 0
	       ? -1 : 0;
}

/*
 * Waits until the launch leaves the statuses in until_not (or timeout);
 * returns its record. notify (may be -1) is a pipe whose writer closes
 * when there is news, or a pidfd of the supervisor: waited on before
 * looking, instead of sleeping.
 */
static json_t *wait_status(struct ah_state *st, const char *id, const char *const *until_not,
			   int64_t timeout_ms, int notify, struct ah_err *err)
{
	int64_t deadline = ah_now_ms() + timeout_ms;
	json_t *rec;

	for (;;) {
		const char *s, *const *u;
		int64_t now;

		if (notify >= 0) {
			struct pollfd p = { notify, POLLIN, 0 };
			int64_t left = deadline - ah_now_ms();

			if (poll(&p, 1, left > 0 ? (int)(left > INT32_MAX ? INT32_MAX : left) : 0) != 0)
				notify = -1;
		}
		if (!(rec = ah_launch_json(st, id, err)))
			return NULL;
		s = json_string_value(json_object_get(rec, "status"));
		for (u = until_not; *u && strcmp(*u, s); u++)
			;
		now = ah_now_ms();
		if (!*u || now >= deadline)
			return rec;
		json_decref(rec);
		if (ah_launch_reconcile(st, NULL, err) < 0)
			return NULL;
		/* A launch is usually running within a second: look often until then. */
		if (notify < 0)
			usleep(now - (deadline - timeout_ms) < 1000 ? 2000 : 25000);
	}
}

/*
 * launch.start: {id (app), buildId?, image?, resourceProfile?, env?,
 * command?, launchId?, port?, ttl?, network?, engine?, user?, wait?}
 */
int ah_launch_start(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	static const char sql_build[] =
		"SELECT b.status, b.image_tag, a.id FROM builds b JOIN apps a ON a.n = b.app"
		" WHERE b.id = ?";
	static const char sql_latest[] =
		"SELECT id, image_tag FROM builds WHERE app = ? AND status = 'succeeded'"
		" AND image_tag IS NOT NULL ORDER BY n DESC LIMIT 1";
	static const char sql_count[] = "SELECT count(*) FROM launches WHERE status IN " ACTIVE;
	static const char sql_exists[] = "SELECT 1 FROM launches WHERE id = ?";
	static const char sql_insert[] =
		"INSERT INTO launches(id, app_id, build_id, image, engine, status, port, network,"
		" command, env, profile, ttl_ms, created_at, updated_at, user)"
		" VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	static const char *const waiting[] = { "pending", "starting", NULL };
	sqlite3_stmt *stmt;
	const char *app_id, *build_id, *image, *command, *launch_id, *network, *engine, *ttl_s;
	const char *user;
	char *build = NULL, *tag = NULL, *helper = NULL, *dir = NULL, *log = NULL;
	char idbuf[32], now[AH_ISO_LEN];
	json_t *env = NULL, *profile = NULL, *rec = NULL;
	char *env_s = NULL, *profile_s = NULL;
	long port;
	int64_t ttl = 0, max_launches;
	struct ah_launch_settings set;
	sqlite3_int64 app_n;
	int wait, rc, ret = -1, in_tx = 0, notify[2] = { -1, -1 };

	if (ah_param_str(params, "id", &app_id, err) < 0 ||
	    ah_param_str(params, "buildId", &build_id, err) < 0 ||
	    ah_param_str(params, "image", &image, err) < 0 ||
	    ah_param_str(params, "command", &command, err) < 0 ||
	    ah_param_str(params, "launchId", &launch_id, err) < 0 ||
	    ah_param_str(params, "network", &network, err) < 0 ||
	    ah_param_str(params, "engine", &engine, err) < 0 ||
	    ah_param_str(params, "user", &user, err) < 0 ||
	    ah_param_int(params, "port", 0, 0, 65535, &port, err) < 0 ||
	    ah_param_bool(params, "wait", &wait, err) < 0 ||
	    ah_launch_settings_load(&set, err) < 0 ||
	    ah_env_int("APPHUB_MAX_LAUNCHES", 20, 0, &max_launches, err) < 0)
		return -1;
	if (!app_id)
		return ah_invalid(err, "invalid id: required");
	if (command && strlen(command) > AH_LAUNCH_COMMAND_MAX)
		return ah_invalid(err, "invalid command: at most %d characters", AH_LAUNCH_COMMAND_MAX);
	if (command && !*command)
		command = NULL;
	if (launch_id && valid_launch_id(launch_id, err) < 0)
		return -1;
	if (user && (!*user || strlen(user) > 256 || strspn(user, "abcdefghijklmnopqrstuvwxyz"
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-:") != strlen(user)))
		return ah_invalid(err, "invalid user '%.80s': user[:group], names or ids", user);
	if (!network)
		network = "loopback";
	if (strcmp(network, "loopback") && strcmp(network, "none"))
		return ah_invalid(err, "invalid network '%s': must be none or loopback", network);
	if (!engine)
		engine = "native";
	if (strcmp(engine, "native") && strcmp(engine, "podman") && strcmp(engine, "docker"))
		return ah_invalid(err, "invalid engine '%s': must be native, podman or docker", engine);
	if (strcmp(engine, "native") && !strcmp(network, "none"))
		return ah_invalid(err, "invalid network 'none': the %s engine needs loopback", engine);
	{
		json_t *t = json_object_get(params, "ttl");

		if (json_is_integer(t) && json_integer_value(t) >= 0)
			ttl = json_integer_value(t);
		else if (json_is_string(t) && (ttl_s = json_string_value(t)) &&
			 parse_duration(ttl_s, &ttl) == 0)
			;
		else if (t && !json_is_null(t))
			return json_is_string(t)
				? ah_invalid(err, "invalid ttl '%.80s': must be a duration ("
					     AH_DURATION_FORMS ")", json_string_value(t))
				: ah_invalid(err, "invalid ttl: must be a duration (" AH_DURATION_FORMS ")");
	}
	if (parse_env(json_object_get(params, "env"), &env, err) < 0 ||
	    parse_profile(json_object_get(params, "resourceProfile"), &profile, err) < 0)
		goto done;
	if (ah_app_lookup(st, app_id, &app_n, err) < 0)
		goto done;
	if (!(helper = ah_helper_path("apphub-launch"))) {
		ah_error(err, 503, "unavailable",
			 "cannot launch: the helper 'apphub-launch' is not installed");
		goto done;
	}
	if (ah_launch_reconcile(st, NULL, err) < 0)
		goto done;

	/* The image: --image, else the build's, else the app's latest succeeded build's. */
	if (build_id) {
		if (!(stmt = ah_stmt(st, sql_build, err)))
			goto done;
		ah_bind_text(stmt, 1, build_id);
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) {
			if (strcmp(ah_col_text(stmt, 2), app_id))
				ah_invalid(err, "build '%s' is a build of '%s', not of '%s'", build_id,
					   ah_col_text(stmt, 2), app_id);
			else if (strcmp(ah_col_text(stmt, 0), "succeeded"))
				ah_conflict(err, "build '%s' is %s, not succeeded", build_id,
					    ah_col_text(stmt, 0));
			else
				tag = xstrdup(ah_col_text(stmt, 1));
		} else if (rc == SQLITE_DONE) {
			ah_not_found(err, "build '%s' not found", build_id);
		} else {
			ah_sql_error(st, err, "cannot read build");
		}
		sqlite3_reset(stmt);
		if (!tag)
			goto done;
		build = xstrdup(build_id);
	} else if (!image) {
		if (!(stmt = ah_stmt(st, sql_latest, err)))
			goto done;
		sqlite3_bind_int64(stmt, 1, app_n);
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) {
			build = xstrdup(ah_col_text(stmt, 0));
			tag = xstrdup(ah_col_text(stmt, 1));
		}
		sqlite3_reset(stmt);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			ah_sql_error(st, err, "cannot read builds");
			goto done;
		}
		if (!tag) {
			ah_conflict(err, "app '%s' has no succeeded build to launch", app_id);
			goto done;
		}
	}
	if (image)
		tag = tag ? tag : xstrdup(image);

	if (!launch_id) {
		ah_random_id(idbuf, sizeof(idbuf), 'l');
		launch_id = idbuf;
	}
	env_s = json_dumps(env, JSON_COMPACT | JSON_SORT_KEYS);
	profile_s = json_dumps(profile, JSON_COMPACT);
	ah_now_iso(now);
	if (ah_begin_write(st, err) < 0)
		goto done;
	in_tx = 1;
	if (!(stmt = ah_stmt(st, sql_exists, err)))
		goto done;
	ah_bind_text(stmt, 1, launch_id);
	if ((rc = ah_step_exists(st, stmt, "cannot read launches", err)) != 0) {
		if (rc > 0)
			ah_conflict(err, "launch '%s' already exists", launch_id);
		goto done;
	}
	if (!(stmt = ah_stmt(st, sql_count, err)))
		goto done;
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		sqlite3_reset(stmt);
		ah_sql_error(st, err, "cannot count launches");
		goto done;
	}
	rc = sqlite3_column_int(stmt, 0);
	sqlite3_reset(stmt);
	if (rc >= max_launches) {
		ah_conflict(err, "cannot launch: %d launches are running, the most allowed"
			    " (APPHUB_MAX_LAUNCHES)", rc);
		goto done;
	}
	if (!(stmt = ah_stmt(st, sql_insert, err)))
		goto done;
	ah_bind_text(stmt, 1, launch_id);
	ah_bind_text(stmt, 2, app_id);
	ah_bind_text(stmt, 3, build);
	ah_bind_text(stmt, 4, tag);
	ah_bind_text(stmt, 5, engine);
	if (port)
		sqlite3_bind_int(stmt, 6, (int)port);
	ah_bind_text(stmt, 7, network);
	ah_bind_text(stmt, 8, command);
	ah_bind_text(stmt, 9, env_s);
	ah_bind_text(stmt, 10, profile_s);
	if (ttl)
		sqlite3_bind_int64(stmt, 11, ttl * 1000);
	ah_bind_text(stmt, 12, now);
	ah_bind_text(stmt, 13, now);
	ah_bind_text(stmt, 14, user);
	if (ah_step_done(st, stmt, "cannot record launch", err) < 0 ||
	    ah_event(st, "launch.pending", launch_id,
		     json_pack("{s:s, s:s, s:s?}", "id", launch_id, "repositoryId", app_id, "buildId", build),
		     err) < 0 ||
	    ah_commit(st, err) < 0)
		goto done;
	in_tx = 0;

	dir = ah_launch_dir(st->dir, launch_id);
	log = xstrfmt("%s/log", dir);
	{
		char *parent = xstrfmt("%s/launches", st->dir);

		if ((mkdir(parent, 0755) < 0 && errno != EEXIST) ||
		    (mkdir(dir, 0755) < 0 && errno != EEXIST)) {
			ah_internal(err, "cannot create '%s': %s", dir, strerror(errno));
			free(parent);
			ah_launch_set(st, launch_id, "failed", err->msg, NULL, &(struct ah_err)AH_ERR_INIT);
			goto done;
		}
		free(parent);
	}
	if (wait && pipe2(notify, O_CLOEXEC) < 0)
		notify[0] = notify[1] = -1;
	if (spawn_supervisor(helper, st->dir, launch_id, log, notify[1], err) < 0) {
		ah_launch_set(st, launch_id, "failed", err->msg, NULL, &(struct ah_err)AH_ERR_INIT);
		goto done;
	}
	if (notify[1] >= 0) {
		close(notify[1]);
		notify[1] = -1;
	}
	if (wait)
		rec = wait_status(st, launch_id, waiting,
				  set.start_timeout_ms + 60000, notify[0],
				  err);
	else
		rec = ah_launch_json(st, launch_id, err);
	if (!rec)
		goto done;
	if (!strcmp(json_string_value(json_object_get(rec, "status")), "failed")) {
		char *tail = ah_launch_log_tail(st->dir, launch_id, AH_LAUNCH_LOG_TAIL);

		json_object_set_new(rec, "logsPreview", tail ? json_string(tail) : json_null());
		free(tail);
	}
	*out = rec;
	ret = 0;
done:
	if (in_tx)
		ah_rollback(st);
	ah_close_pair(notify);
	free(env_s);
	free(profile_s);
	json_decref(env);
	json_decref(profile);
	free(build);
	free(tag);
	free(helper);
	free(dir);
	free(log);
	return ret;
}

/* launch.ls: {id? (app), status?, all?, limit?} -> {data:[launch...]}, newest first. */
int ah_launch_ls(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	static char sql_all[512], sql_app[512];
	sqlite3_stmt *stmt;
	const char *app, *status;
	json_t *data;
	long limit;

	if (ah_param_str(params, "id", &app, err) < 0 ||
	    ah_param_str(params, "status", &status, err) < 0 ||
	    ah_param_int(params, "limit", 100, 1, 10000, &limit, err) < 0)
		return -1;
	if (!*sql_all) {
		snprintf(sql_all, sizeof(sql_all),
			 "SELECT %s FROM launches WHERE (?1 IS NULL OR status = ?1)"
			 " ORDER BY n DESC LIMIT ?2", launch_cols);
		snprintf(sql_app, sizeof(sql_app),
			 "SELECT %s FROM launches WHERE app_id = ?3 AND (?1 IS NULL OR status = ?1)"
			 " ORDER BY n DESC LIMIT ?2", launch_cols);
	}
	if (app) {
		sqlite3_int64 n;

		if (ah_app_lookup(st, app, &n, err) < 0)
			return -1;
	}
	if (ah_launch_reconcile(st, NULL, err) < 0 || !(stmt = ah_stmt(st, app ? sql_app : sql_all, err)))
		return -1;
	ah_bind_text(stmt, 1, status);
	sqlite3_bind_int64(stmt, 2, limit);
	if (app)
		ah_bind_text(stmt, 3, app);
	if (!(data = ah_step_rows(st, stmt, launch_row, "cannot list launches", err)))
		return -1;
	*out = json_pack("{s:o}", "data", data);
	return 0;
}

/* launch.show: {id} -> the record with logsPreview. */
int ah_launch_show(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *id;
	char *tail;
	json_t *rec;

	if (ah_param_need_str(params, "id", &id, err) < 0)
		return -1;
	if (ah_launch_reconcile(st, NULL, err) < 0 ||
	    !(rec = ah_launch_json(st, id, err)))
		return -1;
	tail = ah_launch_log_tail(st->dir, id, AH_LAUNCH_LOG_TAIL);
	json_object_set_new(rec, "logsPreview", tail ? json_string(tail) : json_null());
	free(tail);
	*out = rec;
	return 0;
}

/* launch.stop: {id, wait?} -> the record; 409 unless running, starting or stopping. */
int ah_launch_stop(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	static const char sql[] = "SELECT status, pid, pid_start FROM launches WHERE id = ?";
	static const char *const stopping[] = { "pending", "starting", "running", "stopping", NULL };
	sqlite3_stmt *stmt;
	const char *id;
	char status[32] = "";
	int pid = 0, wait, rc, pidfd = -1;
	unsigned long long start = 0;

	if (ah_param_str(params, "id", &id, err) < 0 || ah_param_bool(params, "wait", &wait, err) < 0)
		return -1;
	if (!id)
		return ah_invalid(err, "invalid id: required");
	if (ah_launch_reconcile(st, NULL, err) < 0 ||
	    !(stmt = ah_stmt(st, sql, err)))
		return -1;
	ah_bind_text(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		snprintf(status, sizeof(status), "%s", ah_col_text(stmt, 0));
		pid = sqlite3_column_int(stmt, 1);
		start = (unsigned long long)sqlite3_column_int64(stmt, 2);
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return ah_not_found(err, "launch '%s' not found", id);
	if (rc != SQLITE_ROW)
		return ah_sql_error(st, err, "cannot read launch");
	if (terminal(status))
		return ah_conflict(err, "launch '%s' is %s already", id, status);
	if (ah_launch_set(st, id, "stopping", NULL, NULL, err) < 0)
		return -1;
	/* A pidfd of the supervisor, polled for its exit instead of sleeping. */
	if (pid > 0 && wait && (pidfd = pidfd_open(pid, 0)) >= 0 &&
	    ah_proc_start_time(pid) != start) {
		close(pidfd);
		pidfd = -1;
	}
	if (pid > 0 && ah_proc_start_time(pid) == start)
		kill(pid, SIGTERM);
	else if (ah_launch_reconcile(st, NULL, err) < 0)
		goto fail;
	if (!wait) {
		if (!(*out = ah_launch_json(st, id, err)))
			return -1;
		return 0;
	}
	*out = wait_status(st, id, stopping, 15000, pidfd, err);
	if (pidfd >= 0)
		close(pidfd);
	if (!*out)
		return -1;
	/*
	 * The supervisor records "stopped" just before it exits: a waited stop
	 * returns once it is gone, so nothing of the launch outlives the command.
	 */
	for (rc = 0; pid > 0 && rc < 400 && ah_proc_start_time(pid) == start; rc++)
		usleep(5000);
	return 0;
fail:
	if (pidfd >= 0)
		close(pidfd);
	return -1;
}

/*
 * launch.logs: {id, offset?, limit?} -> {id, status, offset, nextOffset, size, data}:
 * the log from offset (default: its last limit bytes), at most limit bytes.
 */
int ah_launch_logs(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err)
{
	const char *id, *status;
	long offset, limit;
	json_t *rec;
	char *path;
	int ret;

	if (ah_param_need_str(params, "id", &id, err) < 0 ||
	    ah_param_int(params, "offset", -1, -1, LONG_MAX, &offset, err) < 0 ||
	    ah_param_int(params, "limit", 65536, 1, 1 << 20, &limit, err) < 0 ||
	    !(rec = ah_launch_json(st, id, err)))
		return -1;
	status = json_string_value(json_object_get(rec, "status"));
	path = xstrfmt("%s/launches/%s/log", st->dir, id);
	ret = ah_log_page(path, id, status, !strcmp(status, "stopped") || !strcmp(status, "failed"),
			  offset, limit, out, err);
	json_decref(rec);
	free(path);
	return ret;
}
