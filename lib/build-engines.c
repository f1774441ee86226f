/*
 * The build engine's external engines: a build handed to podman or docker
 * and its image loaded into the store.
 */
#include "build-internal.h"
#include "exec-path.h"
#include "run-command.h"

/* ---- podman and docker ---- */

/* Runs argv with its output in log (appended); its exit status, or -1. */
static int run_tool(const char *const *argv, int log, struct ah_err *err)
{
	struct ah_child c = AH_CHILD_INIT;
	int status;

	c.argv = argv;
	c.out = log;
	c.err_to_out = 1;
	status = ah_child_run(&c, err);
	ah_child_release(&c);
	return status;
}

static void log_tail(int fd, off_t from, char *tail, size_t n)
{
	off_t size = lseek(fd, 0, SEEK_END), start = size - (off_t)n + 1;
	ssize_t r;

	if (start < from)
		start = from;
	tail[0] = '\0';
	r = pread(fd, tail, n - 1, start);
	if (r > 0) {
		tail[r] = '\0';
		while (r && (tail[r - 1] == '\n' || tail[r - 1] == ' '))
			tail[--r] = '\0';
	}
}

/*
 * The bases the Dockerfile names that are in the store, loaded into the
 * tool (`TOOL load`), so FROM apphub/busybox works there too.
 */
static int preload_bases(const struct ah_build_opts *o, struct ah_image_store *s,
			 const char *const *globals, int ng, const char *dfpath, const char *tmp,
			 int logfd, struct ah_err *err)
{
	struct ah_dockerfile *df = NULL;
	struct ah_df_options dfo;
	char *buf = NULL;
	size_t len = 0, i;
	int ret = -1;

	if (build_read_file_max(dfpath, AH_DOCKERFILE_MAX_SIZE, &buf, &len) < 0) {
		ah_invalid(err, "cannot read '%s': %s", dfpath, strerror(errno));
		goto done;
	}
	memset(&dfo, 0, sizeof(dfo));
	dfo.build_args = o->build_args;
	dfo.build_args_nr = o->build_args_nr;
	dfo.target = o->target;
	if (ah_dockerfile_parse(buf, len, o->dockerfile ? o->dockerfile : "Dockerfile", &dfo, &df,
				err) < 0)
		goto done;
	for (i = 0; i < df->stages_nr; i++) {
		struct ah_image img;
		struct ah_err e2 = AH_ERR_INIT;
		char *arch;
		const char *argv[48];
		int fd, n, k;

		if (df->stages[i].base_stage >= 0 || !strcmp(df->stages[i].base, "scratch"))
			continue;
		memset(&img, 0, sizeof(img));
		if (ah_image_load(s, df->stages[i].base, &img, &e2) < 0)
			continue;	/* the tool pulls it */
		arch = xstrfmt("%s/base-%zu.tar", tmp, i);
		fd = open(arch, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || ah_image_export(s, &img, fd, err) < 0) {
			if (fd < 0)
				ah_internal(err, "cannot create '%s': %s", arch, strerror(errno));
			else
				close(fd);
			ah_image_release(&img);
			free(arch);
			goto done;
		}
		close(fd);
		ah_image_release(&img);
		for (n = 0, k = 0; k < ng && n < 40; k++)
			argv[n++] = globals[k];
		argv[n++] = "load";
		argv[n++] = "-i";
		argv[n++] = arch;
		argv[n] = NULL;
		n = run_tool(argv, logfd, err);
		free(arch);
		if (n < 0)
			goto done;
		if (n) {
			ah_error(err, 400, "failed", "%s load of %s exited with status %d", o->engine,
				 df->stages[i].base, n);
			goto done;
		}
	}
	ret = 0;
done:
	ah_dockerfile_free(df);
	free(buf);
	return ret;
}

/*
 * --engine podman|docker: the bases from the store loaded into the tool,
 * `TOOL build`, `TOOL save` to an archive in tmp, imported into the store.
 * Podman runs with --cgroup-manager=cgroupfs (no systemd needed) and
 * builds with --isolation=chroot (no OCI runtime, no cgroups: crun fails
 * on hybrid cgroup hosts); $APPHUB_PODMAN_ISOLATION overrides it ("oci"),
 * $APPHUB_PODMAN_ARGS adds global options ("--runtime=runc").
 */
int build_external(const struct ah_build_opts *o, struct ah_image_store *s,
		   const char *name, const char *tmp, json_t **report, struct ah_err *err)
{
	char tool[PATH_MAX], tail[LOG_TAIL], tmptag[64], isolation[64] = "";
	const char *argv[64 + 2 * 256];
	char *archive = xstrfmt("%s/image.tar", tmp), *logp = xstrfmt("%s/tool.log", tmp);
	char *dfpath = NULL, *extra = NULL, *save = NULL, *w;
	const char *fmt = NULL;
	struct ah_image img;
	int podman = !strcmp(o->engine, "podman"), n = 0, ng, logfd = -1, ret = -1, st;
	size_t i;
	int64_t t0 = ah_now_ms();
	off_t mark;

	memset(&img, 0, sizeof(img));
	if (!ah_path_lookup(o->engine, tool, sizeof(tool))) {
		ah_error(err, 503, "unavailable", "--engine %s: '%s' not found on PATH", o->engine,
			 o->engine);
		goto done;
	}
	if (o->build_args_nr > 256) {
		ah_invalid(err, "more than 256 build arguments");
		goto done;
	}
	logfd = open(logp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0) {
		ah_internal(err, "cannot create '%s': %s", logp, strerror(errno));
		goto done;
	}
	snprintf(tmptag, sizeof(tmptag), "localhost/apphub-build-%s:latest", strrchr(tmp, '/') + 1);
	for (i = 0; tmptag[i]; i++)
		if (tmptag[i] >= 'A' && tmptag[i] <= 'Z')
			tmptag[i] = (char)(tmptag[i] - 'A' + 'a');
	dfpath = !o->dockerfile ? xstrfmt("%s/Dockerfile", o->context)
		 : o->dockerfile[0] == '/' ? xstrdup(o->dockerfile)
					   : xstrfmt("%s/%s", o->context, o->dockerfile);
	argv[n++] = tool;
	if (podman) {
		argv[n++] = "--cgroup-manager=cgroupfs";
		if (getenv("APPHUB_PODMAN_ARGS")) {
			extra = xstrdup(getenv("APPHUB_PODMAN_ARGS"));
			for (w = strtok_r(extra, " ", &save); w && n < 32; w = strtok_r(NULL, " ", &save))
				argv[n++] = w;
		}
	}
	ng = n;
	if (preload_bases(o, s, argv, ng, dfpath, tmp, logfd, err) < 0)
		goto done;
	argv[n++] = "build";
	if (podman) {
		const char *iso = getenv("APPHUB_PODMAN_ISOLATION");

		snprintf(isolation, sizeof(isolation), "--isolation=%s", iso && *iso ? iso : "chroot");
		argv[n++] = isolation;
	}
	argv[n++] = "-t";
	argv[n++] = tmptag;
	argv[n++] = "-f";
	argv[n++] = dfpath;
	for (i = 0; i < o->build_args_nr; i++) {
		argv[n++] = "--build-arg";
		argv[n++] = o->build_args[i];
	}
	if (o->target) {
		argv[n++] = "--target";
		argv[n++] = o->target;
	}
	if (o->platform && *o->platform) {
		argv[n++] = "--platform";
		argv[n++] = o->platform;
	}
	/* chroot isolation has the host's network only: --network none is not enforced there */
	if (!podman || strcmp(isolation, "--isolation=chroot")) {
		argv[n++] = "--network";
		argv[n++] = o->network && !strcmp(o->network, "host") ? "host" : "none";
	}
	if (o->no_cache)
		argv[n++] = "--no-cache";
	argv[n++] = o->context;
	argv[n] = NULL;
	mark = lseek(logfd, 0, SEEK_END);
	st = run_tool(argv, logfd, err);
	if (st < 0)
		goto done;
	if (st) {
		log_tail(logfd, mark, tail, sizeof(tail));
		ah_error(err, 400, "failed", "%s build exited with status %d: %s", o->engine, st, tail);
		goto done;
	}
	/* the same global options, then save and rmi */
	n = ng;
	argv[n++] = "save";
	if (podman) {
		argv[n++] = "--format";
		argv[n++] = "oci-archive";
	}
	argv[n++] = "-o";
	argv[n++] = archive;
	argv[n++] = tmptag;
	argv[n] = NULL;
	mark = lseek(logfd, 0, SEEK_END);
	st = run_tool(argv, logfd, err);
	if (st == 0) {
		n = ng;
		argv[n++] = "rmi";
		argv[n++] = tmptag;
		argv[n] = NULL;
		run_tool(argv, logfd, err);
	}
	if (st < 0)
		goto done;
	if (st) {
		log_tail(logfd, mark, tail, sizeof(tail));
		ah_error(err, 400, "failed", "%s save exited with status %d: %s", o->engine, st, tail);
		goto done;
	}
	if (ah_image_import(s, archive, name, NULL, &fmt, &img, err) < 0)
		goto done;
	*report = json_pack("{s:s, s:s, s:s, s:I, s:[]}", "image", img.name ? img.name : name,
			    "digest", img.digest, "engine", o->engine, "durationMs",
			    (json_int_t)(ah_now_ms() - t0), "steps");
	ret = 0;
done:
	if (logfd >= 0) {
		char buf[65536];
		ssize_t r;

		lseek(logfd, 0, SEEK_SET);
		while (o->log_fd >= 0 && (r = read(logfd, buf, sizeof(buf))) > 0)
			if (write(o->log_fd, buf, (size_t)r) < 0)
				break;
		close(logfd);
	}
	ah_image_release(&img);
	free(archive);
	free(logp);
	free(dfpath);
	free(extra);
	return ret;
}
