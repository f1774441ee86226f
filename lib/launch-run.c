/*
 * The supervisor of a launch: `apphub-launch supervise <state> <id>
 * [--notify-fd N]`, started detached by the request (lib/launch.c) with its stdio on the
 * launch's log. It owns everything the launch uses and leaves nothing
 * behind: its mounts live in its own mount namespace, the sandbox dies
 * with it (PR_SET_PDEATHSIG, bwrap --die-with-parent), and what is left
 * in the launch's cgroups is killed when it ends or, if it is killed
 * itself, by the reconciliation of the next `launch ls` or serve.
 *
 * The sandbox: a user namespace whose root is host uid AH_LAUNCH_UID_BASE
 * (the rootfs cache is owned accordingly, so the app is root over its own
 * files and nobody elsewhere; RLIMIT_NPROC counts it apart from everyone;
 * an image's USER other than root runs in a nested one, unprivileged),
 * a network namespace with only a loopback interface, and bwrap's pid,
 * mount, ipc and uts namespaces over the overlay. The relay accepts on
 * 127.0.0.1:<hostPort> and connects each client through a socket made in
 * the app's network namespace (setns) to 127.0.0.1:<port>.
 *
 * Here: the request, the sandbox's profile, the lifecycle; the sandbox's
 * process (forked early, then told to execute bwrap) is lib/sandbox.c's,
 * the image and its root file system are launch-rootfs.c's, the relay
 * launch-relay.c's.
 */
#include "launch-internal.h"

void sup_logf(struct sup *s, const char *fmt, ...)
{
	char buf[1024], iso[AH_ISO_LEN];
	va_list ap;
	int n;

	(void)s;
	ah_now_iso(iso);
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	fprintf(stderr, "[apphub %s] %s\n", iso, buf);
	fflush(stderr);
}

/* ---- cgroups ---- */

static void enforced(json_t *limits, const char *key, json_int_t value, double real, const char *by)
{
	json_t *l = json_object_get(limits, key);

	if (!l) {
		l = json_pack("{s:o, s:[]}", "value", real > 0 ? json_real(real) : json_integer(value),
			      "enforcedBy");
		json_object_set_new(limits, key, l);
	}
	json_array_append_new(json_object_get(l, "enforcedBy"), json_string(by));
}

static json_int_t prof_int(struct sup *s, const char *key)
{
	return json_integer_value(json_object_get(s->profile, key));
}

/*
 * The name of the launch's cgroups and of its podman or docker container:
 * launch ids are unique within a state directory only, so the name holds
 * a hash of the directory's real path too (one state's "web1" must not be
 * stopped or reclaimed for another's).
 */
static char *unit_name(struct sup *s)
{
	char *real = realpath(s->state_dir, NULL);
	const unsigned char *p = (const unsigned char *)(real ? real : s->state_dir);
	uint32_t h = 2166136261u;	/* FNV-1a */
	char *name;

	for (; *p; p++)
		h = (h ^ *p) * 16777619u;
	name = xstrfmt("apphub-%08x-%s", (unsigned)h, s->id);
	free(real);
	return name;
}

/* The cgroups of the launch, with the profile's limits written; *limits says what holds. */
static void cgroups_setup(struct sup *s, json_t *limits)
{
	struct ah_cgroup cg = AH_CGROUP_INIT;
	struct ah_cgroup_limits l = { prof_int(s, "memory"), prof_int(s, "pids"),
				      json_number_value(json_object_get(s->profile, "cpus")) };
	char *name = unit_name(s);
	int i;

	ah_cgroup_make(&cg, name, &l);
	for (i = 0; i < cg.nr; i++) {
		json_array_append_new(s->cgroups, json_string(cg.dirs[i]));
		free(cg.dirs[i]);
	}
	s->cgroup_v2 = cg.v2;
	if (cg.enforced & AH_CG_MEMORY)
		enforced(limits, "memory", l.memory_bytes, 0, "cgroup");
	if (cg.enforced & AH_CG_PIDS)
		enforced(limits, "pids", l.pids, 0, "cgroup");
	if (cg.enforced & AH_CG_CPU)
		enforced(limits, "cpus", 0, l.cpus, "cgroup");
	free(name);
}

struct signal_job {
	pid_t child;
	int sig;
};

/* One process of the launch's cgroup: spared when it is bwrap or its init, unless killed. */
static void signal_one(void *data, pid_t pid)
{
	struct signal_job *j = data;
	char path[64], buf[512], *pp;
	int ppid = 0, fd;
	ssize_t n;

	if (pid == j->child)
		return;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n > 0) {
		buf[n] = '\0';
		pp = strrchr(buf, ')');
		if (pp)
			sscanf(pp + 2, "%*c %d", &ppid);
	}
	if (ppid == j->child && j->sig != SIGKILL)
		return;
	kill(pid, j->sig);
}

/* Signals every process of the launch but the sandbox's own (bwrap and its init). */
static void signal_app(struct sup *s, int sig)
{
	const char *dir = s->cgroup_v2 >= 0 ?
		json_string_value(json_array_get(s->cgroups, (size_t)s->cgroup_v2)) : NULL;
	struct signal_job j = { s->child, sig };

	if (!dir && json_array_size(s->cgroups))
		dir = json_string_value(json_array_get(s->cgroups, 0));
	if (!dir) {
		/* No cgroup: the sandbox's init, which kills the rest as it dies. */
		if (s->child > 0)
			kill(s->child, sig == SIGKILL ? SIGKILL : sig);
		return;
	}
	ah_cgroup_each_pid(dir, signal_one, &j);
}

static void cgroups_remove(struct sup *s)
{
	json_t *d;
	size_t i;

	json_array_foreach(s->cgroups, i, d)
		ah_cgroup_remove_dir(json_string_value(d));
}

/* ---- the sandbox ---- */

/*
 * The app's user (s->user_spec) as the image's /etc/passwd and /etc/group
 * say (ah_sandbox_user): s->uid, s->gid and s->home.
 */
static int app_user(struct sup *s, const char *root, struct ah_err *err)
{
	struct ah_sandbox_user u;
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC), ret;

	if (fd < 0)
		return ah_internal(err, "cannot open '%s': %s", root, strerror(errno));
	ret = ah_sandbox_user(fd, s->user_spec, AH_LAUNCH_UID_COUNT, 0, &u, err);
	close(fd);
	if (ret < 0)
		return -1;
	s->uid = u.uid;
	s->gid = u.gid;
	s->home = u.home;
	return 0;
}

/* The environment: the image's Env, the request's env, PORT, HOSTNAME. */
static json_t *app_env(struct sup *s, json_t *cfg)
{
	json_t *env = json_object(), *v, *out = json_array();
	const char *key;
	size_t i;
	char buf[32];

	json_object_set_new(env, "PATH",
			    json_string("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
	json_object_set_new(env, "HOME", json_string(s->home ? s->home : s->uid ? "/" : "/root"));
	json_array_foreach(json_object_get(cfg, "Env"), i, v) {
		const char *e = json_string_value(v), *eq = e ? strchr(e, '=') : NULL;
		char *k;

		if (!eq)
			continue;
		k = xstrndup(e, (size_t)(eq - e));
		json_object_set_new(env, k, json_string(eq + 1));
		free(k);
	}
	json_object_foreach(s->env, key, v)
		json_object_set(env, key, v);
	snprintf(buf, sizeof(buf), "%d", s->port);
	json_object_set_new(env, "PORT", json_string(buf));
	json_object_set_new(env, "HOSTNAME", json_string("apphub"));
	json_object_foreach(env, key, v) {
		char *e = xstrfmt("%s=%s", key, json_string_value(v));

		json_array_append_new(out, json_string(e));
		free(e);
	}
	json_decref(env);
	return out;
}

/* The port: --port, env PORT, image Env PORT, the lowest EXPOSE, 3000. */
static int pick_port(struct sup *s, int requested, json_t *cfg)
{
	const char *v = json_string_value(json_object_get(s->env, "PORT")), *key;
	json_t *e;
	size_t i;
	int best = 0;

	if (requested > 0)
		return requested;
	if (v && atoi(v) > 0 && atoi(v) < 65536)
		return atoi(v);
	json_array_foreach(json_object_get(cfg, "Env"), i, e) {
		const char *s2 = json_string_value(e);

		if (s2 && !strncmp(s2, "PORT=", 5) && atoi(s2 + 5) > 0 && atoi(s2 + 5) < 65536)
			return atoi(s2 + 5);
	}
	json_object_foreach(json_object_get(cfg, "ExposedPorts"), key, e) {
		int p = atoi(key);

		if (p > 0 && p < 65536 && strstr(key, "udp") == NULL && (!best || p < best))
			best = p;
	}
	return best ? best : 3000;
}

/*
 * The sandbox is forked as soon as the launch's cgroups exist, before
 * its image and root are ready (ah_sandbox_fork): joining a cgroup waits
 * for an RCU grace period, which the child spends while the supervisor
 * does the rest. It makes its user namespace (root is host
 * AH_LAUNCH_UID_BASE) and network namespace, then waits for
 * sandbox_start() to have it execute bwrap.
 */
static int sandbox_fork(struct sup *s, struct ah_sandbox_child *sbx, int out[2],
			struct ah_err *err)
{
	struct ah_sandbox_early e = AH_SANDBOX_EARLY_INIT;
	const char *dirs[AH_CGROUP_MAX + 1];
	size_t i, n = 0;
	json_t *d;

	json_array_foreach(s->cgroups, i, d)
		if (n < AH_CGROUP_MAX)
			dirs[n++] = json_string_value(d);
	dirs[n] = NULL;
	if (pipe2(out, O_CLOEXEC) < 0)
		return ah_internal(err, "cannot make pipes: %s", strerror(errno));
	e.cgroups = dirs;
	e.userns_base = AH_LAUNCH_UID_BASE;
	e.userns_count = AH_LAUNCH_UID_COUNT;
	e.netns = 1;
	e.out_fd = out[1];
	if (ah_sandbox_fork(sbx, &e, err) < 0)
		return -1;
	s->child = sbx->pid;
	close(out[1]);
	out[1] = -1;
	return 0;
}

/*
 * Has the sandbox execute bwrap for so, as s->uid:s->gid; the app's
 * network namespace and output are the supervisor's from then on.
 */
static int sandbox_start(struct sup *s, struct ah_sandbox_child *sbx, int out[2],
			 const struct ah_sandbox_opts *so, json_t *limits, struct ah_err *err)
{
	size_t i;

	if (ah_sandbox_exec(sbx, so, err) < 0) {
		s->child = -1;
		return -1;
	}
	for (i = 0; i < AH_CGROUP_MAX; i++)
		if (sbx->cgroup_errno[i])
			sup_logf(s, "cannot move the sandbox into '%s': %s",
				 json_string_value(json_array_get(s->cgroups, i)),
				 strerror(sbx->cgroup_errno[i]));
	s->app_net = sbx->netns;
	sbx->netns = -1;
	if (prof_int(s, "memory"))
		enforced(limits, "memory", prof_int(s, "memory"), 0, "rlimit");
	if (prof_int(s, "cpuTime"))
		enforced(limits, "cpuTime", prof_int(s, "cpuTime"), 0, "rlimit");
	if (prof_int(s, "pids"))
		enforced(limits, "pids", prof_int(s, "pids"), 0, "rlimit");
	if (prof_int(s, "nofile"))
		enforced(limits, "nofile", prof_int(s, "nofile"), 0, "rlimit");
	fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
	s->out_fd = out[0];
	out[0] = -1;
	return 0;
}

/* ---- the log ---- */

static void pump_log(struct sup *s)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(s->out_fd, buf, sizeof(buf))) > 0) {
		if (s->log_bytes + n > s->log_max) {
			if (!s->log_dropped)
				sup_logf(s, "the log reached %lld bytes (APPHUB_LAUNCH_MAX_LOG_BYTES): "
				      "dropping the app's further output", (long long)s->log_max);
			s->log_dropped = 1;
			continue;
		}
		if (write(2, buf, (size_t)n) == n)
			s->log_bytes += n;
	}
	if (n == 0) {
		close(s->out_fd);
		s->out_fd = -1;
	}
}

/* ---- the lifecycle ---- */

static int load_request(struct sup *s, int *port, char **status, struct ah_err *err)
{
	static const char sql[] =
		"SELECT image, network, command, env, profile, ttl_ms, port, engine, status, user"
		" FROM launches WHERE id = ?";
	sqlite3_stmt *stmt = ah_stmt(s->st, sql, err);
	int rc;

	if (!stmt)
		return -1;
	ah_bind_text(stmt, 1, s->id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		s->image = xstrdup(ah_col_text(stmt, 0));
		s->network = xstrdup(ah_col_text(stmt, 1));
		s->command = sqlite3_column_type(stmt, 2) == SQLITE_NULL ? NULL
			: xstrdup(ah_col_text(stmt, 2));
		s->env = json_loads(ah_col_text(stmt, 3), 0, NULL);
		s->profile = json_loads(ah_col_text(stmt, 4), 0, NULL);
		s->ttl_ms = sqlite3_column_int64(stmt, 5);
		*port = sqlite3_column_int(stmt, 6);
		s->engine = xstrdup(ah_col_text(stmt, 7));
		*status = xstrdup(ah_col_text(stmt, 8));
		if (sqlite3_column_type(stmt, 9) != SQLITE_NULL)
			s->user_spec = xstrdup(ah_col_text(stmt, 9));
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return ah_not_found(err, "launch '%s' not found", s->id);
	if (rc != SQLITE_ROW)
		return ah_sql_error(s->st, err, "cannot read launch");
	if (!s->env)
		s->env = json_object();
	if (!s->profile)
		s->profile = json_object();
	return 0;
}

static void set_status(struct sup *s, const char *status, const char *message, json_t *fields)
{
	struct ah_err err = AH_ERR_INIT;
	int tries;

	for (tries = 0; tries < 20; tries++) {
		if (ah_launch_set(s->st, s->id, status, message, json_incref(fields), &err) == 0)
			break;
		sup_logf(s, "cannot record the launch's status: %s", err.msg);
		usleep(100000);
	}
	json_decref(fields);
	if (s->notify_fd >= 0 && strcmp(status, "starting")) {
		close(s->notify_fd);
		s->notify_fd = -1;
	}
}

/* Runs podman/docker in the foreground: the image exported from the store and loaded. */
static int prepare_engine(struct sup *s, const struct launch_image *img, json_t **argv,
			  struct ah_err *err)
{
	const char *tool = s->engine;
	char *archive = xstrfmt("%s/image.tar", s->dir), *ref = NULL, port[64];
	char *load_out = NULL;
	int fd = -1, ret = -1, status = -1;
	const char *key;
	json_t *v;

	{
		/* podman load -i archive; the name it gets is the store's. */
		const char *largv[] = { tool, "load", "-q", "-i", archive, NULL };
		struct ah_child c = AH_CHILD_INIT;

		c.argv = largv;
		c.out = c.err = AH_CHILD_INHERIT;
		status = ah_child_run(&c, err);
		ah_child_release(&c);
		if (status) {
			ah_error(err, 503, "unavailable", "cannot load the image into %s (%s)", tool,
				 status == 127 ? "not installed" : "see the log");
			goto done;
		}
	}
	ref = xstrdup(img->name ? img->name : s->image);
	s->container = unit_name(s);
	snprintf(port, sizeof(port), "127.0.0.1:%d:%d", s->host_port, s->port);
	*argv = json_pack("[s]", tool);
	if (!strcmp(tool, "podman")) {
		/*
		 * Without a systemd session podman needs cgroupfs; in a container
		 * like this machine crun may not raise RLIMIT_NOFILE, so runc
		 * (when installed) with explicit ulimits, as the tests found.
		 */
		const char *runtime = getenv("APPHUB_PODMAN_RUNTIME");
		char ulimit[64];

		json_array_append_new(*argv, json_string("--cgroup-manager=cgroupfs"));
		json_array_append_new(*argv, json_string("run"));
		if (!runtime && !access("/usr/bin/runc", X_OK))
			runtime = "runc";
		if (runtime && *runtime) {
			json_array_append_new(*argv, json_string("--runtime"));
			json_array_append_new(*argv, json_string(runtime));
		}
		snprintf(ulimit, sizeof(ulimit), "--ulimit=nofile=%lld:%lld",
			 (long long)(prof_int(s, "nofile") ? prof_int(s, "nofile") : 1024),
			 (long long)(prof_int(s, "nofile") ? prof_int(s, "nofile") : 1024));
		json_array_append_new(*argv, json_string(ulimit));
		snprintf(ulimit, sizeof(ulimit), "--ulimit=nproc=%lld:%lld",
			 (long long)(prof_int(s, "pids") ? prof_int(s, "pids") : 4096),
			 (long long)(prof_int(s, "pids") ? prof_int(s, "pids") : 4096));
		json_array_append_new(*argv, json_string(ulimit));
	} else {
		json_array_append_new(*argv, json_string("run"));
	}
	if (s->user_spec) {
		json_array_append_new(*argv, json_string("--user"));
		json_array_append_new(*argv, json_string(s->user_spec));
	}
	json_array_append_new(*argv, json_string("--rm"));
	json_array_append_new(*argv, json_string("--name"));
	json_array_append_new(*argv, json_string(s->container));
	json_array_append_new(*argv, json_string("-p"));
	json_array_append_new(*argv, json_string(port));
	json_object_foreach(s->env, key, v) {
		char *e = xstrfmt("%s=%s", key, json_string_value(v));

		json_array_append_new(*argv, json_string("-e"));
		json_array_append_new(*argv, json_string(e));
		free(e);
	}
	snprintf(port, sizeof(port), "PORT=%d", s->port);
	json_array_append_new(*argv, json_string("-e"));
	json_array_append_new(*argv, json_string(port));
	if (prof_int(s, "memory")) {
		snprintf(port, sizeof(port), "--memory=%lld", (long long)prof_int(s, "memory"));
		json_array_append_new(*argv, json_string(port));
	}
	if (prof_int(s, "pids")) {
		snprintf(port, sizeof(port), "--pids-limit=%lld", (long long)prof_int(s, "pids"));
		json_array_append_new(*argv, json_string(port));
	}
	json_array_append_new(*argv, json_string(ref));
	if (s->command) {
		json_array_append_new(*argv, json_string("/bin/sh"));
		json_array_append_new(*argv, json_string("-c"));
		json_array_append_new(*argv, json_string(s->command));
	}
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	unlink(archive);
	free(archive);
	free(ref);
	free(load_out);
	return ret;
}

static int spawn_engine(struct sup *s, json_t *argv_j, struct ah_err *err)
{
	size_t i, n = json_array_size(argv_j);
	const char **argv = xcalloc(n + 1, sizeof(*argv));
	struct ah_child c = AH_CHILD_INIT;
	int ret;

	for (i = 0; i < n; i++)
		argv[i] = json_string_value(json_array_get(argv_j, i));
	c.argv = argv;
	c.out = AH_CHILD_CAPTURE;
	c.err_to_out = 1;
	c.death_sig = SIGTERM;
	ret = ah_child_start(&c, err);
	free(argv);
	if (ret < 0)
		return -1;
	s->child = c.pid;
	fcntl(c.out_fd, F_SETFL, fcntl(c.out_fd, F_GETFL) | O_NONBLOCK);
	s->out_fd = c.out_fd;
	return 0;
}

/*
 * Stops the container (SIGTERM, then SIGKILL after 5 s), or with force
 * removes it: `run --rm` leaves the removal to a cleanup process that may
 * still be at work when the launch is over, so the end makes it certain.
 */
static void engine_stop(struct sup *s, int force)
{
	const char *argv[] = { s->engine, force ? "rm" : "stop", force ? "-f" : "-t",
			       force ? s->container : "5", force ? NULL : s->container, NULL };
	struct ah_child c = AH_CHILD_INIT;
	struct ah_err ignored = AH_ERR_INIT;

	if (!s->container)
		return;
	c.argv = argv;
	c.err = AH_CHILD_INHERIT;
	/* Reaped with the other children. */
	ah_child_start(&c, &ignored);
}

int ah_launch_supervise(const char *state_dir, const char *id, int notify_fd)
{
	struct sup s;
	struct ah_err err = AH_ERR_INIT;
	struct launch_image img;
	struct ah_launch_settings set;
	struct ah_sandbox_child sbx = AH_SANDBOX_CHILD_INIT;
	int out[2] = { -1, -1 };
	json_t *cfg, *argv = NULL, *env = NULL, *limits = json_object(), *v;
	const char **cmdv = NULL, **envv = NULL;
	const char *bwrap = NULL, *how = "overlay", *base;
	char *status = NULL, *cache = NULL, *visible = NULL, *url = NULL, *msg = NULL, *pidfile = NULL;
	char buf[64];
	sigset_t mask;
	int requested_port = 0, running = 0, stopping = 0, exited = 0, code = 1;
	int64_t start_timeout = 30000, start_deadline = 0, ttl_deadline = 0, stop_deadline = 0, next_probe = 0;
	const char *final = "failed", *reason = NULL;
	size_t i;

	memset(&s, 0, sizeof(s));
	memset(&img, 0, sizeof(img));
	s.state_dir = state_dir;
	s.id = id;
	s.child = -1;
	s.host_net = s.app_net = s.listen_fd = s.sig_fd = s.out_fd = s.log_fd = -1;
	s.notify_fd = notify_fd;
	/* Neither the helpers nor the sandbox may hold it open. */
	if (notify_fd >= 0 && fcntl(notify_fd, F_SETFD, FD_CLOEXEC) < 0)
		s.notify_fd = -1;
	s.cgroups = json_array();
	s.cgroup_v2 = -1;
	s.dir = ah_launch_dir(state_dir, id);
	s.log_max = 16 << 20;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	s.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	if (ah_state_open(&s.st, state_dir, &err) < 0 ||
	    load_request(&s, &requested_port, &status, &err) < 0) {
		sup_logf(&s, "%s", err.msg);
		goto out;
	}
	if (strcmp(status, "pending")) {
		sup_logf(&s, "launch '%s' is %s, not pending: nothing to do", id, status);
		goto out;
	}
	if (ah_launch_settings_load(&set, &err) < 0)
		goto fail;
	s.log_max = set.max_log_bytes;
	pidfile = xstrfmt("%s/pid", s.dir);
	{
		int fd = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd >= 0) {
			dprintf(fd, "%d\n", (int)getpid());
			close(fd);
		}
	}
	if (!strcmp(s.engine, "native")) {
		/* The sandbox first: it joins its cgroups while the rest is made ready. */
		struct ah_err ignored = AH_ERR_INIT;

		if (!(bwrap = ah_sandbox_bwrap(&ignored))) {
			ah_error(&err, 503, "unavailable", "cannot launch: bwrap (bubblewrap) is not installed");
			goto fail;
		}
		if (sup_private_mounts(&err) < 0)
			goto fail;
		cgroups_setup(&s, limits);
		if (sandbox_fork(&s, &sbx, out, &err) < 0)
			goto fail;
	}
	/* What a reconciliation needs, should this process die from here on. */
	set_status(&s, "starting", NULL,
		   json_pack("{s:i, s:I, s:o, s:o, s:o}", "pid", (int)getpid(), "pid_start",
			     (json_int_t)ah_proc_start_time(getpid()),
			     "sandbox_pid", s.child > 0 ? json_integer(s.child) : json_null(),
			     "sandbox_start", s.child > 0 ?
				json_integer((json_int_t)ah_proc_start_time(s.child)) : json_null(),
			     "cgroups", json_deep_copy(s.cgroups)));
	sup_logf(&s, "launch %s: image %s, network %s, engine %s", id, s.image, s.network, s.engine);
	if (s.ttl_ms > 0)
		ttl_deadline = ah_now_ms() + s.ttl_ms;

	if (sup_image_resolve(&s, &img, &err) < 0)
		goto fail;
	cfg = json_object_get(img.config, "config");
	if (!s.user_spec) {
		const char *u = json_string_value(json_object_get(cfg, "User"));

		s.user_spec = u && *u ? xstrdup(u) : NULL;
	}
	s.port = pick_port(&s, requested_port, cfg);
	s.host_net = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (strcmp(s.network, "none") && sup_listen_host(&s, &err) < 0)
		goto fail;
	base = getenv("APPHUB_PREVIEW_BASE");
	if (!base || !*base)
		base = "http://127.0.0.1";
	if (s.host_port)
		url = xstrfmt("%.*s:%d/", (int)(strlen(base) - (base[strlen(base) - 1] == '/')), base,
			      s.host_port);

	if (strcmp(s.engine, "native")) {
		/* The engine listens on the host port itself: keep the number, not the socket. */
		close(s.listen_fd);
		s.listen_fd = -1;
		how = s.engine;
		if (prepare_engine(&s, &img, &argv, &err) < 0 || spawn_engine(&s, argv, &err) < 0)
			goto fail;
		json_object_set_new(limits, "memory", json_pack("{s:I, s:[s]}", "value",
			(json_int_t)prof_int(&s, "memory"), "enforcedBy", s.engine));
		json_object_set_new(limits, "pids", json_pack("{s:I, s:[s]}", "value",
			(json_int_t)prof_int(&s, "pids"), "enforcedBy", s.engine));
		s.app_net = -1;
	} else {
		cache = xstrfmt("%s/launches/rootfs-cache/%s", state_dir, img.digest + 7);
		if (sup_mount_rootfs(&s, cache, prof_int(&s, "disk"), &how, &err) < 0)
			goto fail;
		if (prof_int(&s, "disk"))
			json_object_set_new(limits, "disk", json_pack("{s:I, s:[s]}", "value",
				(json_int_t)prof_int(&s, "disk"), "enforcedBy", "tmpfs"));
		if (s.user_spec && *s.user_spec && app_user(&s, cache, &err) < 0)
			goto fail;
		env = app_env(&s, cfg);
		if (!(visible = sup_visible_root(&s, bwrap, &err)))
			goto fail;
		{
			struct ah_sandbox_opts so = AH_SANDBOX_OPTS_INIT;
			const char *wd = json_string_value(json_object_get(cfg, "WorkingDir"));
			size_t n = 0;

			cmdv = xcalloc(json_array_size(json_object_get(cfg, "Entrypoint")) +
				       json_array_size(json_object_get(cfg, "Cmd")) + 4, sizeof(*cmdv));
			if (s.command) {
				cmdv[n++] = "/bin/sh";
				cmdv[n++] = "-c";
				cmdv[n++] = s.command;
			} else {
				json_array_foreach(json_object_get(cfg, "Entrypoint"), i, v)
					if (json_is_string(v))
						cmdv[n++] = json_string_value(v);
				json_array_foreach(json_object_get(cfg, "Cmd"), i, v)
					if (json_is_string(v))
						cmdv[n++] = json_string_value(v);
				if (!n) {
					ah_invalid(&err, "image '%s' has no Entrypoint or Cmd, and no command was given", s.image);
					goto fail;
				}
			}
			/*
			 * Root of the launch's user namespace (the child made it), in the
			 * network namespace the child made; the environment is bwrap's own.
			 */
			so.rootfs = visible;
			so.argv = cmdv;
			so.workdir = wd && *wd == '/' ? wd : "/";
			so.uid = s.uid;
			so.gid = s.gid;
			so.hostname = "apphub";
			so.limits.tmp_bytes = prof_int(&s, "disk") ? prof_int(&s, "disk") : 64 << 20;
			so.tmp_mode = 01777;
			so.own_netns = 1;
			envv = xcalloc(json_array_size(env) + 1, sizeof(*envv));
			json_array_foreach(env, i, v)
				envv[i] = json_string_value(v);
			so.env = envv;
			so.keep_env = 1;
			/* rlimits all (whatever the cgroups hold); SIGKILL a second past the CPU time */
			so.limits.memory_bytes = prof_int(&s, "memory");
			so.limits.cpu_seconds = prof_int(&s, "cpuTime");
			so.limits.pids = prof_int(&s, "pids");
			so.limits.nofile = prof_int(&s, "nofile");
			so.cpu_grace = 1;
			if (sandbox_start(&s, &sbx, out, &so, limits, &err) < 0)
				goto fail;
		}
	}
	snprintf(buf, sizeof(buf), "%d", s.port);
	sup_logf(&s, "started (pid %d): app port %d, %s%s, rootfs %s", (int)s.child, s.port,
	      s.host_port ? "relayed from 127.0.0.1:" : "no relay (network none)",
	      s.host_port ? (snprintf(buf, sizeof(buf), "%d", s.host_port), buf) : "", how);
	set_status(&s, "starting", NULL,
		   json_pack("{s:s, s:i, s:o, s:s?, s:o, s:i, s:I, s:o, s:o}",
			     "image_digest", img.digest, "port", s.port,
			     "host_port", s.host_port ? json_integer(s.host_port) : json_null(),
			     "preview_url", url, "limits", json_deep_copy(limits),
			     "sandbox_pid", (int)s.child,
			     "sandbox_start", (json_int_t)ah_proc_start_time(s.child),
			     "cgroups", json_deep_copy(s.cgroups),
			     "expires_at", ttl_deadline ? json_integer(ttl_deadline) : json_null()));
	start_timeout = set.start_timeout_ms;
	start_deadline = ah_now_ms() + start_timeout;

	/* The loop: signals, the app's output, the relay, the probe, the deadlines. */
	for (;;) {
		struct pollfd *pfd;
		size_t nfd = 0, base_nfd;
		int64_t now = ah_now_ms(), wake = now + 1000;
		int timeout;

		if (exited && s.out_fd < 0)
			break;
		if (!running && !stopping && !exited && now >= next_probe) {
			int fd = sup_app_connect(&s);

			if (fd >= 0) {
				close(fd);
				running = 1;
				sup_logf(&s, "running: port %d answers%s%s", s.port, url ? "; preview " : "",
				      url ? url : "");
				set_status(&s, "running", NULL, NULL);
			} else if (now >= start_deadline) {
				msg = xstrfmt("the app did not answer on port %d within %.1f s", s.port,
					      (double)start_timeout / 1000);
				sup_logf(&s, "%s", msg);
				final = "failed";
				reason = msg;
				stopping = 2;
				signal_app(&s, SIGKILL);
				if (s.child > 0)
					kill(s.child, SIGKILL);
				engine_stop(&s, 1);
				stop_deadline = now;
			}
			/*
			 * Most apps answer within a few hundred ms: probe often until
			 * then (a refused connect() on loopback costs microseconds).
			 */
			{
				int64_t since = now - (start_deadline - start_timeout);

				next_probe = now + (since < 250 ? 1 : since < 1000 ? 5 : 50);
			}
		}
		if (!stopping && !exited && ttl_deadline && now >= ttl_deadline) {
			sup_logf(&s, "the TTL expired: stopping");
			set_status(&s, "stopping", NULL, NULL);
			final = "stopped";
			reason = "ttl expired";
			stopping = 1;
			signal_app(&s, SIGTERM);
			engine_stop(&s, 0);
			stop_deadline = now + 5000;
		}
		if (stopping && !exited && now >= stop_deadline) {
			if (stopping == 1)
				sup_logf(&s, "still running 5 s after TERM: killing it");
			stopping = 2;
			signal_app(&s, SIGKILL);
			if (s.child > 0)
				kill(s.child, SIGKILL);
			engine_stop(&s, 1);
			stop_deadline = now + 60000;
		}
		if (!running && !stopping && next_probe < wake)
			wake = next_probe;
		if (ttl_deadline && !stopping && ttl_deadline < wake)
			wake = ttl_deadline;
		if (stopping && stop_deadline < wake)
			wake = stop_deadline;
		timeout = wake > now ? (int)(wake - now) : 0;

		pfd = xcalloc(3 + 2 * s.nr_conns, sizeof(*pfd));
		pfd[nfd].fd = s.sig_fd;
		pfd[nfd++].events = POLLIN;
		pfd[nfd].fd = s.out_fd;
		pfd[nfd++].events = POLLIN;
		pfd[nfd].fd = running && !stopping ? s.listen_fd : -1;
		pfd[nfd++].events = POLLIN;
		base_nfd = nfd;
		for (i = 0; i < s.nr_conns; i++) {
			struct conn *c = s.conns[i];
			int k;

			for (k = 0; k < 2; k++) {
				pfd[nfd].fd = c->fd[k];
				pfd[nfd].events = (!c->eof[k] && !c->len[k] ? POLLIN : 0) |
						  (c->len[1 - k] ? POLLOUT : 0);
				nfd++;
			}
		}
		if (poll(pfd, nfd, timeout) < 0 && errno != EINTR) {
			free(pfd);
			sup_logf(&s, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(s.sig_fd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD) {
					int wstatus;
					pid_t p;

					while ((p = waitpid(-1, &wstatus, WNOHANG)) > 0) {
						if (p != s.child)
							continue;
						exited = 1;
						s.child = -1;
						s.child_status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus)
							: 128 + WTERMSIG(wstatus);
					}
				} else if (!stopping && !exited) {
					sup_logf(&s, "stop requested (signal %d): TERM, then KILL after 5 s",
					      (int)si.ssi_signo);
					set_status(&s, "stopping", NULL, NULL);
					final = "stopped";
					stopping = 1;
					signal_app(&s, SIGTERM);
					engine_stop(&s, 0);
					stop_deadline = ah_now_ms() + 5000;
				}
			}
		}
		if (pfd[1].revents & (POLLIN | POLLHUP)) {
			pump_log(&s);
			/* Apps often say they listen as they start to: look now. */
			if (!running)
				next_probe = 0;
		}
		if (pfd[2].revents & POLLIN)
			sup_relay_accept(&s);
		for (i = s.nr_conns; i-- > 0;) {
			size_t at = base_nfd + 2 * i;

			/* New connections were appended after the poll set was made. */
			if (at + 1 >= nfd)
				continue;
			if (sup_relay_step(s.conns[i], pfd + at))
				sup_conn_close(&s, i);
		}
		free(pfd);
		if (exited && s.out_fd >= 0) {
			/* Drain what the app wrote before it ended. */
			pump_log(&s);
			if (s.out_fd >= 0 && !stopping) {
				close(s.out_fd);
				s.out_fd = -1;
			}
		}
		if (exited && stopping && s.out_fd >= 0) {
			close(s.out_fd);
			s.out_fd = -1;
		}
	}
	if (!stopping) {
		final = "failed";
		msg = xstrfmt(running ? "the app exited with status %d"
			      : "the app exited with status %d before answering on its port",
			      s.child_status);
		reason = msg;
		sup_logf(&s, "%s", msg);
	} else if (stopping && !strcmp(final, "stopped")) {
		sup_logf(&s, "stopped%s%s", reason ? ": " : "", reason ? reason : "");
	}
	code = 0;
	goto cleanup;
fail:
	sup_logf(&s, "cannot launch: %s", err.msg);
	final = "failed";
	reason = err.msg;
cleanup:
	for (i = s.nr_conns; i-- > 0;)
		sup_conn_close(&s, i);
	if (s.child > 0) {
		kill(s.child, SIGKILL);
		waitpid(s.child, NULL, 0);
	}
	if (s.container) {
		engine_stop(&s, 1);
		while (wait(NULL) > 0)
			;
	}
	cgroups_remove(&s);
	if (s.mounted_rootfs) {
		char *root = xstrfmt("%s/rootfs", s.dir);

		umount2(root, MNT_DETACH);
		rmdir(root);
		free(root);
	}
	if (s.mounted_rw) {
		char *rw = xstrfmt("%s/rw", s.dir);

		umount2(rw, MNT_DETACH);
		rmdir(rw);
		free(rw);
	}
	if (pidfile)
		unlink(pidfile);
	if (!strcmp(final, "stopped"))
		set_status(&s, "stopped", reason, json_pack("{s:i}", "exit_status", s.child_status));
	else
		set_status(&s, "failed", reason ? reason : "the launch failed",
			   json_pack("{s:i}", "exit_status", s.child_status));
out:
	for (i = s.nr_conns; i-- > 0;)
		sup_conn_close(&s, i);
	if (s.listen_fd >= 0)
		close(s.listen_fd);
	if (s.app_net >= 0)
		close(s.app_net);
	if (s.host_net >= 0)
		close(s.host_net);
	if (s.sig_fd >= 0)
		close(s.sig_fd);
	if (s.notify_fd >= 0)
		close(s.notify_fd);
	ah_sandbox_child_release(&sbx);
	ah_close_pair(out);
	if (s.out_fd >= 0)
		close(s.out_fd);
	launch_image_release(&img);
	ah_state_close(s.st);
	json_decref(s.env);
	json_decref(s.profile);
	json_decref(s.cgroups);
	json_decref(limits);
	json_decref(argv);
	free(cmdv);
	free(envv);
	json_decref(env);
	free(s.image);
	free(s.network);
	free(s.command);
	free(s.engine);
	free(s.container);
	free(s.user_spec);
	free(s.home);
	free(s.dir);
	free(status);
	free(cache);
	free(visible);
	free(url);
	free(msg);
	free(pidfile);
	return code;
}
