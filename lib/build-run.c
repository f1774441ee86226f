/*
 * The build engine's RUN: the step's environment, user and limits, run
 * in the stage's root by the sandbox (sandbox.h).
 */
#include "build-internal.h"
#include "env.h"

/* ---- RUN ---- */

static json_t *run_env(struct bstage *st, const struct ah_df_instr *in)
{
	json_t *env = json_array(), *v;
	json_t *cenv = json_object_get(build_cfg_of(st), "Env");
	size_t i, j;
	int has_path = 0;

	json_array_foreach(cenv, i, v) {
		if (json_is_string(v)) {
			json_array_append(env, v);
			if (!strncmp(json_string_value(v), "PATH=", 5))
				has_path = 1;
		}
	}
	for (i = 0; i < in->env_nr; i++) {
		size_t kl = strcspn(in->env[i], "=");
		int shadowed = 0;

		json_array_foreach(cenv, j, v) {
			const char *s = json_string_value(v);

			if (s && !strncmp(s, in->env[i], kl) && s[kl] == '=')
				shadowed = 1;
		}
		if (!shadowed)
			json_array_append_new(env, json_string(in->env[i]));
		if (!strncmp(in->env[i], "PATH=", 5))
			has_path = 1;
	}
	if (!has_path)
		json_array_insert_new(env, 0, json_string(BUILD_DEFAULT_PATH));
	return env;
}

static void copy_log(struct builder *b, int fd, char *tail, size_t tailsz)
{
	char buf[65536];
	ssize_t n;
	off_t size = lseek(fd, 0, SEEK_END), start;

	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (b->o->log_fd >= 0 && write(b->o->log_fd, buf, (size_t)n) < 0)
			break;
	tail[0] = '\0';
	if (size <= 0)
		return;
	start = size > (off_t)tailsz - 1 ? size - (off_t)tailsz + 1 : 0;
	if (pread(fd, tail, tailsz - 1, start) > 0) {
		size_t l;

		tail[size - start < (off_t)tailsz ? size - start : (off_t)tailsz - 1] = '\0';
		l = strlen(tail);
		while (l && (tail[l - 1] == '\n' || tail[l - 1] == ' '))
			tail[--l] = '\0';
	}
}

/*
 * A RUN's limits: the build's, else $APPHUB_BUILD_MEMORY, _PIDS, _CPUS,
 * _TMP_SIZE and _DISK, else defaults that let a package manager work and
 * stop a bomb (a step's writes: as much as one layer may hold).
 */
static int run_limits(struct builder *b, const struct ah_df_instr *in, struct ah_limits *l)
{
	int64_t v[4];
	const char *cpus = getenv("APPHUB_BUILD_CPUS");

	if (ah_env_size("APPHUB_BUILD_MEMORY", 2LL << 30, 1, &v[0], b->err) < 0 ||
	    ah_env_int("APPHUB_BUILD_PIDS", 1024, 1, &v[1], b->err) < 0 ||
	    ah_env_size("APPHUB_BUILD_TMP_SIZE", 1LL << 30, 1, &v[2], b->err) < 0 ||
	    ah_env_size("APPHUB_BUILD_DISK", 8LL << 30, 1, &v[3], b->err) < 0)
		return build_at_line(b, in);
	*l = b->o->limits;
	if (!l->memory_bytes)
		l->memory_bytes = v[0];
	if (!l->pids)
		l->pids = v[1];
	if (!l->tmp_bytes)
		l->tmp_bytes = v[2];
	if (!l->disk_bytes)
		l->disk_bytes = v[3];
	if (!(l->cpus > 0) && cpus && *cpus) {
		char *end;

		l->cpus = strtod(cpus, &end);
		if (*end || !(l->cpus > 0) || l->cpus > 4096)
			return build_line_err(b, in, 400, "invalid", "invalid APPHUB_BUILD_CPUS '%s': "
					"a positive number such as 1.5", cpus);
	}
	return 0;
}

int build_run(struct builder *b, struct bstage *st, const struct ah_df_instr *in)
{
	struct ah_sandbox_opts so = AH_SANDBOX_OPTS_INIT;
	struct ah_sandbox_bind bind;
	json_t *env = run_env(st, in), *shell = json_object_get(build_cfg_of(st), "Shell"), *v;
	const char **argv = NULL, **envv = NULL;
	const char *wd = json_string_value(json_object_get(build_cfg_of(st), "WorkingDir"));
	const char *user = json_string_value(json_object_get(build_cfg_of(st), "User"));
	char *logp = NULL, *script = NULL, *hpath = NULL, *empty = NULL, tail[LOG_TAIL];
	struct strbuf text = STRBUF_INIT;
	size_t i, n = 0;
	int logfd = -1, status = 0, ret = -1, rootfd = -1, wfd;

	{
		struct ah_platform host;
		char a[AH_PLATFORM_MAX], h[AH_PLATFORM_MAX];

		ah_platform_host(&host);
		if (!ah_platform_match(&host, &st->plat)) {
			build_line_err(b, in, 400, "invalid", "RUN: the stage is for %s, which this %s "
				 "machine cannot run", ah_platform_str(&st->plat, a),
				 ah_platform_str(&host, h));
			goto done;
		}
	}
	rootfd = build_stage_rootfd(st);
	if (rootfd < 0) {
		ah_internal(b->err, "cannot open '%s': %s", st->root, strerror(errno));
		goto done;
	}
	{
		struct ah_sandbox_user u;
		struct ah_err uerr = AH_ERR_INIT;

		if (ah_sandbox_user(rootfd, user && *user ? user : "0", BUILD_MAX_ID, AH_USER_ID_ALONE,
				    &u, &uerr) < 0) {
			build_line_err(b, in, 400, "invalid", "RUN: %s", uerr.msg);
			goto done;
		}
		so.uid = u.uid;
		so.gid = u.gid;
		free(u.home);
	}
	argv = xcalloc(in->args_nr + 8 + json_array_size(shell), sizeof(*argv));
	if (in->exec_form) {
		for (i = 0; i < in->args_nr; i++)
			argv[n++] = in->args[i];
	} else {
		const char *cmd = in->args_nr ? in->args[0] : "";
		int only_heredoc = in->heredocs_nr == 1 && ah_df_is_heredoc(cmd);

		if (json_array_size(shell)) {
			json_array_foreach(shell, i, v)
				argv[n++] = json_string_value(v) ?: "";
		} else {
			argv[n++] = "/bin/sh";
			argv[n++] = "-c";
		}
		if (only_heredoc) {
			/* the body is the script: a file bound into the sandbox */
			int fd;

			hpath = xstrfmt("%s/heredoc-%u", b->tmp, b->seq++);
			fd = open(hpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
			if (fd < 0 || write(fd, in->heredocs[0].body, strlen(in->heredocs[0].body)) < 0) {
				if (fd >= 0)
					close(fd);
				ah_internal(b->err, "cannot write '%s': %s", hpath, strerror(errno));
				goto done;
			}
			close(fd);
			bind.src = hpath;
			bind.dest = "/dev/.apphub-run";
			bind.mode = AH_BIND_RO;
			so.binds = &bind;
			so.binds_nr = 1;
			if (!strncmp(in->heredocs[0].body, "#!", 2)) {
				n = 0;
				argv[n++] = "/dev/.apphub-run";
			} else {
				n = n > 1 ? n - 1 : n;	/* the shell without its -c */
				argv[n++] = "/dev/.apphub-run";
			}
		} else {
			strbuf_addstr(&text, cmd);
			for (i = 0; i < in->heredocs_nr; i++)
				strbuf_addf(&text, "\n%s%s", in->heredocs[i].body, in->heredocs[i].name);
			script = strbuf_detach(&text, NULL);
			argv[n++] = script;
		}
	}
	argv[n] = NULL;
	envv = xcalloc(json_array_size(env) + 1, sizeof(*envv));
	json_array_foreach(env, i, v)
		envv[i] = json_string_value(v);
	/* The working directory exists (as Docker makes it). */
	if (wd && *wd) {
		wfd = build_mkdir_in_root(rootfd, wd, 0, 0);
		if (wfd < 0) {
			build_line_err(b, in, 400, "invalid", "RUN: cannot create the working directory '%s': %s",
				 wd, strerror(errno));
			goto done;
		}
		close(wfd);
	}
	logp = xstrfmt("%s/run.log", b->tmp);
	logfd = open(logp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0) {
		ah_internal(b->err, "cannot create '%s': %s", logp, strerror(errno));
		goto done;
	}
	so.rootfs = st->root;
	if (b->overlay) {
		/*
		 * The sandbox mounts the step's overlay itself, over idmapped
		 * layers, so that RUN's root is not the host's (sandbox.h).
		 */
		close(rootfd);
		rootfd = -1;
		if (st->mnt > 0)
			close(st->mnt);
		st->mnt = 0;
		/* a volatile overlay's work directory does not serve twice */
		if (ah_remove_tree(st->work, b->err) < 0)
			goto done;
		if (mkdir(st->work, 0755) < 0) {
			ah_internal(b->err, "cannot create '%s': %s", st->work, strerror(errno));
			goto done;
		}
		if (!st->lowers_nr && !(empty = build_empty_lower(b)))
			goto done;
		so.ovl_lowers = empty ? &empty : st->lowers;
		so.ovl_lowers_nr = empty ? 1 : st->lowers_nr;
		so.ovl_upper = st->upper;
		so.ovl_work = st->work;
	}
	so.argv = argv;
	so.env = envv;
	so.workdir = wd && *wd ? wd : "/";
	so.network = b->o->network;
	if (run_limits(b, in, &so.limits) < 0)
		goto done;
	so.timeout_ms = b->o->run_timeout_ms;
	so.out_fd = logfd;
	if (ah_sandbox_run(&so, &status, b->err) < 0) {
		copy_log(b, logfd, tail, sizeof(tail));
		if (b->err->status == 504) {
			build_line_err(b, in, 504, "timeout", "RUN timed out after %lld s%s%s",
				 (long long)((b->o->run_timeout_ms + 999) / 1000), *tail ? ": " : "", tail);
		} else if (b->err->code && !strcmp(b->err->code, "limit")) {
			char msg[sizeof(b->err->msg)];

			memcpy(msg, b->err->msg, sizeof(msg));
			build_line_err(b, in, 400, "limit", "RUN %s%s%s", msg, *tail ? ": " : "", tail);
		} else {
			build_at_line(b, in);
		}
		goto done;
	}
	copy_log(b, logfd, tail, sizeof(tail));
	if (status) {
		build_line_err(b, in, 400, "failed", "RUN exited with status %d%s%s", status,
			 *tail ? ": " : "", tail);
		goto done;
	}
	ret = 0;
done:
	if (rootfd >= 0)
		close(rootfd);
	if (logfd >= 0)
		close(logfd);
	if (hpath)
		unlink(hpath);
	free(hpath);
	free(logp);
	free(empty);
	free(script);
	free(argv);
	free(envv);
	strbuf_release(&text);
	json_decref(env);
	return ret;
}
