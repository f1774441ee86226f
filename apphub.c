/*
 * apphub: turns git repositories with a Dockerfile into a searchable,
 * launchable catalogue of web apps. This file holds the global options and
 * the command table; each command lives in cmd/<name>.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmd/cmd.h"
#include "lib/strbuf.h"

#ifndef APPHUB_VERSION
#define APPHUB_VERSION "0.0.0"
#endif

#ifndef LIBEXECDIR
#define LIBEXECDIR "/usr/local/libexec/apphub"
#endif

/*
 * A command whose function is NULL here lives in a helper binary,
 * apphub-<name>, built from these same sources with its heavy library
 * (DESIGN.md §1): the light binary executes it.
 */
#ifdef APPHUB_WITH_BUILD
#define CMD_BUILD cmd_build
#else
#define CMD_BUILD NULL
#endif
#ifdef APPHUB_WITH_INGEST
#define CMD_INGEST cmd_ingest
#else
#define CMD_INGEST NULL
#endif
#ifdef APPHUB_WITH_IMAGE
#define CMD_IMAGE cmd_image
#else
#define CMD_IMAGE NULL
#endif
#ifdef APPHUB_WITH_SERVE
#define CMD_SERVE cmd_serve
#else
#define CMD_SERVE NULL
#endif

struct cmd_struct {
	const char *name;
	cmd_fn fn;
	const char *help;
};

static int cmd_help(int argc, const char **argv, struct ctx *ctx);
static int run_command(const char *name, int argc, const char **argv, struct ctx *ctx);

/* Sorted by name; t/0000-cli.bats checks it. */
static const struct cmd_struct commands[] = {
	{ "apps", cmd_apps, "Register apps and find them by tags and words" },
	{ "build", CMD_BUILD, "Build apps into images; their build records and logs" },
	{ "events", cmd_events, "List and follow the event log" },
	{ "gc", cmd_gc, "Remove what crashed builds and imports left behind" },
	{ "help", cmd_help, "Show help for apphub or one of its commands" },
	{ "image", CMD_IMAGE, "Store, import, export and move OCI images" },
	{ "ingest", CMD_INGEST, "Clone apps, find their Dockerfile, derive tags" },
	{ "launch", cmd_launch, "Run built apps in a sandbox with a preview URL" },
	{ "serve", CMD_SERVE, "Serve the operations over HTTP, with events and workers" },
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char main_usage[] =
	"usage: apphub [-C <dir>] [--server <url>] [--json] [-q] [--version] [-h] <command> [<args>]\n";

static void print_main_usage(FILE *fp)
{
	size_t i;

	fputs(main_usage, fp);
	fputs("\nCommands:\n", fp);
	for (i = 0; i < NR_COMMANDS; i++)
		fprintf(fp, "   %-10s %s\n", commands[i].name, commands[i].help);
	fputs("\nOptions:\n"
	      "   -C <dir>    use <dir> as the state directory\n"
	      "   --server <url>\n"
	      "               run the command against a remote apphub serve\n"
	      "   --json      print results as JSON\n"
	      "   -q          print less\n"
	      "   --version   print the version\n"
	      "\nSee 'apphub <command> -h' or 'man apphub-<command>' for a command's usage.\n",
	      fp);
}

static const struct cmd_struct *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* Damerau-free Levenshtein distance, for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev, cur, *row;

	row = xcalloc(lb + 1, sizeof(*row));
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t sub = prev + (a[i - 1] != b[j - 1]);

			cur = row[j];
			row[j] = sub;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (cur + 1 < row[j])
				row[j] = cur + 1;
			prev = cur;
		}
	}
	cur = row[lb];
	free(row);
	return cur;
}

static int unknown_command(const char *name)
{
	size_t i, best = (size_t)-1;

	fprintf(stderr, "apphub: '%s' is not an apphub command. See 'apphub --help'.\n", name);
	for (i = 0; i < NR_COMMANDS; i++) {
		size_t d = edit_distance(name, commands[i].name);

		if (d < best)
			best = d;
	}
	if (best <= 2) {
		fputs("\nThe most similar command is\n", stderr);
		for (i = 0; i < NR_COMMANDS; i++)
			if (edit_distance(name, commands[i].name) == best)
				fprintf(stderr, "\t%s\n", commands[i].name);
	}
	return APPHUB_EXIT_FAILED;
}

static int cmd_help(int argc, const char **argv, struct ctx *ctx)
{
	const struct cmd_struct *cmd;
	const char *help[] = { NULL, "-h", NULL };

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		print_main_usage(stdout);
		return 0;
	}
	cmd = find_command(argv[1]);
	if (!cmd)
		return unknown_command(argv[1]);
	if (cmd->fn == cmd_help) {
		print_main_usage(stdout);
		return 0;
	}
	help[0] = cmd->name;
	return run_command(cmd->name, 2, help, ctx);
}

/*
 * Runs apphub-<name> from $APPHUB_EXEC_PATH, else from this binary's own
 * directory (the build tree), else from LIBEXECDIR; the global options go
 * along through the environment.
 */
static int exec_helper(const char *name, int argc, const char **argv, struct ctx *ctx)
{
	char self[PATH_MAX], *slash, *path;
	const char *dirs[4] = { getenv("APPHUB_EXEC_PATH"), NULL, NULL, LIBEXECDIR };
	char *installed = NULL;
	const char **args = xcalloc((size_t)argc + 1, sizeof(*args));
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	size_t i;

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/'))) {
			*slash = '\0';
			dirs[1] = self;
			/* An installed tree moved as a whole: <prefix>/bin and <prefix>/libexec. */
			dirs[2] = installed = xstrfmt("%s/../libexec/apphub", self);
		}
	}
	if (ctx->op.dir)
		setenv("APPHUB_HOME", ctx->op.dir, 1);
	if (ctx->json)
		setenv("APPHUB_JSON", "1", 1);
	if (ctx->quiet)
		setenv("APPHUB_QUIET", "1", 1);
	if (ctx->server)
		setenv("APPHUB_SERVER", ctx->server, 1);
	for (i = 0; i < 4; i++) {
		if (!dirs[i] || !*dirs[i])
			continue;
		path = xstrfmt("%s/apphub-%s", dirs[i], name);
		args[0] = path;
		memcpy(args + 1, argv + 1, (size_t)(argc - 1) * sizeof(*args));
		execv(path, (char *const *)args);
		if (errno != ENOENT && errno != ENOTDIR) {
			fprintf(stderr, "apphub: cannot run '%s': %s\n", path, strerror(errno));
			free(path);
			free(args);
			free(installed);
			return APPHUB_EXIT_FATAL;
		}
		free(path);
	}
	free(args);
	fprintf(stderr, "apphub: '%s' needs the helper 'apphub-%s', which is not installed (looked in $APPHUB_EXEC_PATH, %s, %s and %s)\n",
		name, name, dirs[1] ? dirs[1] : "this binary's directory",
		installed ? installed : "../libexec/apphub", LIBEXECDIR);
	free(installed);
	return APPHUB_EXIT_FATAL;
}

static int run_command(const char *name, int argc, const char **argv, struct ctx *ctx)
{
	const struct cmd_struct *cmd = find_command(name);
	int status;

	if (!cmd)
		return unknown_command(name);
	if (refuse_remote(ctx, name, NULL))
		return APPHUB_EXIT_FAILED;
	if (!cmd->fn)
		return exec_helper(name, argc, argv, ctx);
	status = cmd->fn(argc, argv, ctx);
	ah_ctx_release(&ctx->op);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "apphub: cannot write output\n");
		return APPHUB_EXIT_FATAL;
	}
	return status;
}

int main(int argc, const char **argv)
{
	struct ctx ctx = { { NULL, "cli", NULL, 0 }, 0, 0, NULL, "" };
	const char *base = strrchr(argv[0], '/');
	size_t i;

	base = base ? base + 1 : argv[0];
	/* Set by the light binary when it runs a helper. */
	if (getenv("APPHUB_JSON"))
		ctx.json = 1;
	if (getenv("APPHUB_QUIET"))
		ctx.quiet = 1;
	if (getenv("APPHUB_SERVER") && *getenv("APPHUB_SERVER"))
		ctx.server = getenv("APPHUB_SERVER");
	/* Multi-call: "apphub-apps ..." is "apphub apps ...". */
	if (!strncmp(base, "apphub-", 7) && base[7])
		return run_command(base + 7, argc, argv, &ctx) & 0xff;

	for (argc--, argv++; argc > 0 && argv[0][0] == '-'; argc--, argv++) {
		const char *a = argv[0];

		if (!strcmp(a, "-C") || !strcmp(a, "--dir")) {
			if (argc < 2) {
				fprintf(stderr, "apphub: option '%s' requires a value\n", a);
				print_main_usage(stderr);
				return APPHUB_EXIT_USAGE;
			}
			ctx.op.dir = argv[1];
			argc--, argv++;
		} else if (!strncmp(a, "-C", 2)) {
			ctx.op.dir = a + 2;
		} else if (!strcmp(a, "--server")) {
			if (argc < 2) {
				fprintf(stderr, "apphub: option '%s' requires a value\n", a);
				print_main_usage(stderr);
				return APPHUB_EXIT_USAGE;
			}
			ctx.server = *argv[1] ? argv[1] : NULL;
			argc--, argv++;
		} else if (!strncmp(a, "--server=", 9)) {
			ctx.server = a[9] ? a + 9 : NULL;
		} else if (!strcmp(a, "--json")) {
			ctx.json = 1;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			ctx.quiet = 1;
		} else if (!strcmp(a, "--version")) {
			printf("apphub version %s\n", APPHUB_VERSION);
			return 0;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			print_main_usage(stdout);
			return 0;
		} else if (!strcmp(a, "--list-cmds")) {
			for (i = 0; i < NR_COMMANDS; i++)
				puts(commands[i].name);
			return 0;
		} else {
			fprintf(stderr, "apphub: unknown option '%s'\n", a);
			print_main_usage(stderr);
			return APPHUB_EXIT_USAGE;
		}
	}
	if (!argc) {
		print_main_usage(stderr);
		return APPHUB_EXIT_USAGE;
	}
	return run_command(argv[0], argc, argv, &ctx) & 0xff;
}
