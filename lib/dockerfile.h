#ifndef DOCKERFILE_H
#define DOCKERFILE_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

/*
 * A Dockerfile parsed as BuildKit's frontend reads it: parser directives,
 * continuations, heredocs, exec and shell forms, and ARG/ENV substitution
 * applied where Docker applies it (FROM with the global ARGs; ADD COPY ENV
 * EXPOSE LABEL STOPSIGNAL USER VOLUME WORKDIR and the flags of FROM RUN COPY
 * ADD with the stage's ENV and ARGs; never the shell text of RUN CMD
 * ENTRYPOINT, which the shell expands).
 *
 *	struct ah_dockerfile *df;
 *	if (ah_dockerfile_parse(buf, len, "Dockerfile", &opts, &df, &err) < 0)
 *		... err.msg is "Dockerfile:12: unknown instruction 'FORM'"
 *	for each df->stages[i], its instrs[0] is the FROM
 *	ah_dockerfile_free(df);
 */

#define AH_DOCKERFILE_MAX_SIZE (1024 * 1024)
#define AH_DOCKERFILE_MAX_INSTRUCTIONS 10000
/* The bytes all substituted words and heredoc bodies may add up to. */
#define AH_DOCKERFILE_MAX_EXPANDED (16 * 1024 * 1024)

enum ah_df_kind {
	AH_DF_ADD,
	AH_DF_ARG,
	AH_DF_CMD,
	AH_DF_COPY,
	AH_DF_ENTRYPOINT,
	AH_DF_ENV,
	AH_DF_EXPOSE,
	AH_DF_FROM,
	AH_DF_HEALTHCHECK,
	AH_DF_LABEL,
	AH_DF_MAINTAINER,
	AH_DF_ONBUILD,
	AH_DF_RUN,
	AH_DF_SHELL,
	AH_DF_STOPSIGNAL,
	AH_DF_USER,
	AH_DF_VOLUME,
	AH_DF_WORKDIR,
};

/* "--mount=type=cache,target=/x" is { "mount", "type=cache,target=/x" }; a
 * boolean flag given bare (--link) has the value "true". */
struct ah_df_flag {
	char *name;
	char *value;
};

/* ENV and LABEL pairs; ARG's name and its value in effect, NULL if none. */
struct ah_df_kv {
	char *key;
	char *value;
};

struct ah_df_heredoc {
	char *name;	/* the delimiter, quotes removed */
	/*
	 * The lines up to the delimiter, each with its '\n'; leading tabs
	 * removed for <<-. For COPY and ADD with an unquoted delimiter the
	 * body is substituted; for RUN it is as written (the shell expands).
	 */
	char *body;
	int fd;		/* 2<<EOF: 2; else 0 */
	unsigned expand : 1;	/* the delimiter was unquoted */
	unsigned strip_tabs : 1;	/* <<- */
};

struct ah_df_port {
	unsigned start, end;	/* end == start unless a range */
	char proto[5];	/* "tcp", "udp" or "sctp" */
};

struct ah_df_health {
	unsigned none : 1;	/* HEALTHCHECK NONE */
	int64_t interval_ns, timeout_ns, start_period_ns, start_interval_ns;
	int retries;	/* 0: not given */
};

struct ah_df_instr {
	enum ah_df_kind kind;
	int line, end_line;	/* first and last line, heredocs included */
	/* The instruction as written: continuations joined, comment lines dropped. */
	char *original;
	struct ah_df_flag *flags;
	size_t flags_nr;
	/*
	 * RUN CMD ENTRYPOINT SHELL HEALTHCHECK: exec form (a JSON array) gives
	 * its strings; shell form gives one string, the command as written.
	 * COPY ADD VOLUME EXPOSE: the words, substituted (COPY and ADD end
	 * with the destination; a heredoc source is its "<<EOF" word).
	 * WORKDIR USER STOPSIGNAL MAINTAINER: one string. FROM: the base.
	 * ONBUILD: one string, the trigger as written ("RUN make"), each
	 * heredoc's body and delimiter after it on lines of their own.
	 * ARG ENV LABEL: none; see kvs.
	 */
	unsigned exec_form : 1;
	char **args;
	size_t args_nr;
	struct ah_df_kv *kvs;
	size_t kvs_nr;
	struct ah_df_heredoc *heredocs;	/* RUN COPY ADD, ONBUILD's trigger too */
	size_t heredocs_nr;
	struct ah_df_port *ports;	/* EXPOSE */
	size_t ports_nr;
	struct ah_df_health health;	/* HEALTHCHECK */
	struct ah_df_instr *trigger;	/* ONBUILD: the instruction it wraps, unsubstituted */
	/* COPY --from: the index of the earlier stage it names, else -1 (an
	 * image, or no --from). */
	int from_stage;
	/* RUN: the ARGs in scope that have a value, "K=V"; ENV wins over them. */
	char **env;
	size_t env_nr;
};

struct ah_df_stage {
	char *name;	/* the AS name, lowercased, or NULL */
	char *base;	/* the image or stage FROM names, substituted */
	int base_stage;	/* the index of the earlier stage base names, or -1 */
	char *platform;	/* --platform, substituted, or NULL */
	struct ah_df_instr *instrs;	/* instrs[0] is the FROM */
	size_t instrs_nr;
	/* The variables this stage's ENVs (and its parent stages') set. */
	struct ah_df_kv *env;
	size_t env_nr;
};

struct ah_dockerfile {
	char *file;
	char *syntax;	/* the "# syntax=" directive, or NULL */
	char escape;	/* '\\' or '`' */
	struct ah_df_instr *meta_args;	/* the ARGs before the first FROM */
	size_t meta_args_nr;
	struct ah_df_stage *stages;
	size_t stages_nr;
	size_t target;	/* the stage named by options.target, else the last */
	size_t instrs_nr;
};

struct ah_df_options {
	/* --build-arg values, "K=V"; a bare "K" declares no value. */
	const char *const *build_args;
	size_t build_args_nr;
	const char *target;	/* a stage name, or NULL */
	/*
	 * The value of NAME in the environment of the base image of a stage
	 * built FROM an image, or NULL; consulted after the Dockerfile's ENVs
	 * and before its ARGs. May be NULL.
	 */
	const char *(*base_env)(void *data, const char *image, const char *platform,
				const char *name);
	void *data;
};

/*
 * Parses len bytes of buf (at most AH_DOCKERFILE_MAX_SIZE; NUL bytes and
 * invalid UTF-8 refused) read from file, which names it in errors.
 * opts may be NULL. Returns 0 and *out, or -1 with err (status 400, code
 * "invalid", message "FILE:LINE: WHAT").
 */
int ah_dockerfile_parse(const char *buf, size_t len, const char *file,
			const struct ah_df_options *opts, struct ah_dockerfile **out,
			struct ah_err *err);
void ah_dockerfile_free(struct ah_dockerfile *df);

/* "FROM", "RUN", ... */
const char *ah_df_kind_name(enum ah_df_kind kind);
/* The value of the flag called name (the last one given), or NULL. */
const char *ah_df_flag(const struct ah_df_instr *in, const char *name);
/*
 * Whether word is one heredoc word ("<<EOF", "<< EOF", "3<<-'EOF'"): a RUN
 * whose whole command is one runs the body as its script.
 */
int ah_df_is_heredoc(const char *word);
/* The index of the stage called name (case-insensitive), or -1. */
int ah_df_stage_index(const struct ah_dockerfile *df, const char *name);

#endif
