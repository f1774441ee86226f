#ifndef PARSE_OPTIONS_H
#define PARSE_OPTIONS_H

#include <jansson.h>
#include "strbuf.h"

/*
 * A small option parser in the style of git's: a table of options, options
 * and arguments in any order until "--", "--opt=value" and "--opt value",
 * bundled short flags. It reports instead of exiting; the caller prints.
 */
enum opt_type {
	OPTION_END,
	OPTION_BOOL,	/* int *, set to 1 */
	OPTION_STRING,	/* const char ** */
	OPTION_INT,	/* long *, any whole number */
	OPTION_LIST,	/* json_t ** array, each use appends a string */
	OPTION_DURATION,	/* int64_t *, milliseconds: 500ms, 30s (or 30), 5m, 1h, 1d */
	OPTION_SIZE,	/* int64_t *, bytes: 512, 512k, 64M, 2G */
	OPTION_HIDDEN_BOOL,
};

struct option {
	enum opt_type type;
	int short_name;
	const char *long_name;
	void *value;
	const char *argh;
	const char *help;
};

#define OPT_END() { OPTION_END, 0, NULL, NULL, NULL, NULL }
#define OPT_BOOL(s, l, v, h) { OPTION_BOOL, (s), (l), (v), NULL, (h) }
#define OPT_STRING(s, l, v, a, h) { OPTION_STRING, (s), (l), (v), (a), (h) }
#define OPT_INT(s, l, v, a, h) { OPTION_INT, (s), (l), (v), (a), (h) }
#define OPT_LIST(s, l, v, a, h) { OPTION_LIST, (s), (l), (v), (a), (h) }
#define OPT_DURATION(s, l, v, h) { OPTION_DURATION, (s), (l), (v), "duration", (h) }
#define OPT_SIZE(s, l, v, h) { OPTION_SIZE, (s), (l), (v), "size", (h) }

#define PARSE_OPT_HELP (-1)
#define PARSE_OPT_ERROR (-2)

/*
 * Parses argv[0..argc) (argv[0] is not skipped); the arguments that are not
 * options are moved to the front. Returns their count, PARSE_OPT_HELP for
 * -h/--help, or PARSE_OPT_ERROR with the reason in errmsg.
 */
int parse_options(int argc, const char **argv, const struct option *opts,
		  struct strbuf *errmsg);

/* "usage: ..." lines, then the options table. */
void parse_options_usage(struct strbuf *out, const char *const *usage,
			 const struct option *opts);

#endif
