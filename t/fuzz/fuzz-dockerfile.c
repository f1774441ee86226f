/*
 * libFuzzer target for the Dockerfile parser and the .dockerignore
 * matcher: any bytes are parsed or refused without crashing, leaking or
 * running away, and what is accepted holds its documented shape. The
 * input is a Dockerfile; it is also read as .dockerignore rules and each
 * of its lines matched as a path. Build and run: make fuzz FUZZTIME=60
 */
#include <stdlib.h>
#include <string.h>
#include "../../lib/dockerfile.h"
#include "../../lib/dockerignore.h"

static const char *fuzz_env(void *data, const char *image, const char *platform,
			    const char *name)
{
	(void)data;
	(void)image;
	(void)platform;
	return !strcmp(name, "PATH") ? "/usr/bin:/bin" : NULL;
}

static void check_instr(const struct ah_dockerfile *df, size_t stage,
			const struct ah_df_instr *in)
{
	if (!in->original || in->line < 1 || in->end_line < in->line)
		abort();
	if (in->kind == AH_DF_COPY && in->from_stage >= (int)stage)
		abort();
	if ((in->kind == AH_DF_COPY || in->kind == AH_DF_ADD) && in->args_nr < 2)
		abort();
	if (in->kind == AH_DF_ONBUILD && (!in->trigger || in->trigger->kind == AH_DF_ONBUILD ||
					  in->trigger->kind == AH_DF_FROM))
		abort();
	for (size_t i = 0; i < in->args_nr; i++)
		if (!in->args[i])
			abort();
	for (size_t i = 0; i < in->heredocs_nr; i++)
		if (!in->heredocs[i].name || !*in->heredocs[i].name || !in->heredocs[i].body)
			abort();
	for (size_t i = 0; i < in->ports_nr; i++)
		if (in->ports[i].start > in->ports[i].end || in->ports[i].end > 65535)
			abort();
	/* EXPOSE words are split after substitution: none is blank or holds a blank. */
	for (size_t i = 0; in->kind == AH_DF_EXPOSE && i < in->args_nr; i++)
		if (!*in->args[i] || strpbrk(in->args[i], " \t\n"))
			abort();
	/* A trigger with heredocs carries their bodies in its OnBuild string. */
	if (in->trigger) {
		if (in->trigger->heredocs_nr && !strchr(in->args[0], '\n'))
			abort();
		check_instr(df, stage, in->trigger);
	}
	(void)df;
}

static void check_dockerfile(const char *data, size_t size, const char *target)
{
	static const char *const build_args[] = { "A=1", "TAG=latest", "B" };
	struct ah_df_options opts = { build_args, 3, target, fuzz_env, NULL };
	struct ah_dockerfile *df;
	struct ah_err err;
	int prev = 0;

	if (ah_dockerfile_parse(data, size, "Dockerfile", &opts, &df, &err) < 0) {
		if (strncmp(err.msg, "Dockerfile", 10) || err.status != 400)
			abort();
		return;
	}
	if (!df->stages_nr || df->target >= df->stages_nr ||
	    df->instrs_nr > AH_DOCKERFILE_MAX_INSTRUCTIONS)
		abort();
	for (size_t i = 0; i < df->stages_nr; i++) {
		const struct ah_df_stage *st = &df->stages[i];

		if (!st->base || !*st->base || st->base_stage >= (int)i || !st->instrs_nr ||
		    st->instrs[0].kind != AH_DF_FROM)
			abort();
		for (size_t j = 0; j < st->instrs_nr; j++) {
			if (j && st->instrs[j].kind == AH_DF_FROM)
				abort();
			if (st->instrs[j].line <= prev)
				abort();
			prev = st->instrs[j].end_line;
			check_instr(df, i, &st->instrs[j]);
		}
	}
	ah_dockerfile_free(df);
}

static void check_dockerignore(const char *data, size_t size)
{
	struct ah_dockerignore *di;
	struct ah_err err;
	const char *p = data, *end = data + size;
	int n = 0;

	if (ah_dockerignore_parse(data, size, ".dockerignore", &di, &err) < 0)
		return;
	while (p < end && n++ < 32) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *path = strndup(p, len);
		int r = ah_dockerignore_match(di, path, n & 1);

		if (r < AH_DI_INCLUDED || r > AH_DI_DESCEND || (r == AH_DI_DESCEND && !(n & 1)))
			abort();
		free(path);
		p += len + 1;
	}
	ah_dockerignore_free(di);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	check_dockerfile((const char *)data, size, NULL);
	if (size && data[0] == 'F')
		check_dockerfile((const char *)data, size, "a");
	check_dockerignore((const char *)data, size);
	return 0;
}
