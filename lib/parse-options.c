/*
 * Command-line options in the manner of git's parse-options: a table of
 * options, anywhere before --, with usage generated from it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "parse.h"
#include "parse-options.h"
#include "utf8.h"

static const struct option *find_long(const struct option *opts, const char *name, size_t len)
{
	for (; opts->type != OPTION_END; opts++)
		if (opts->long_name && strlen(opts->long_name) == len &&
		    !strncmp(opts->long_name, name, len))
			return opts;
	return NULL;
}

static const struct option *find_short(const struct option *opts, int c)
{
	for (; opts->type != OPTION_END; opts++)
		if (opts->short_name == c)
			return opts;
	return NULL;
}

static int takes_arg(const struct option *o)
{
	return o->type == OPTION_STRING || o->type == OPTION_INT || o->type == OPTION_LIST ||
	       o->type == OPTION_DURATION || o->type == OPTION_SIZE;
}

static int set_value(const struct option *o, const char *arg, const char *shown,
		     struct strbuf *errmsg)
{
	char *end;
	long n;

	switch (o->type) {
	case OPTION_BOOL:
	case OPTION_HIDDEN_BOOL:
		*(int *)o->value = 1;
		return 0;
	case OPTION_STRING:
		if (!ah_utf8_valid(arg, strlen(arg)))
			goto not_utf8;
		*(const char **)o->value = arg;
		return 0;
	case OPTION_INT:
		errno = 0;
		n = strtol(arg, &end, 10);
		if (!*arg || *end || errno) {
			strbuf_addf(errmsg, "option '%s' expects a whole number, not '%s'", shown, arg);
			return -1;
		}
		*(long *)o->value = n;
		return 0;
	case OPTION_DURATION:
		if (ah_parse_duration_ms(arg, (int64_t *)o->value) < 0) {
			strbuf_addf(errmsg, "invalid %s '%s': must be a duration (" AH_DURATION_FORMS ")",
				    shown, arg);
			return -1;
		}
		return 0;
	case OPTION_SIZE:
		if (ah_parse_size(arg, (int64_t *)o->value) < 0) {
			strbuf_addf(errmsg, "invalid %s '%s': must be a size (" AH_SIZE_FORMS ")",
				    shown, arg);
			return -1;
		}
		return 0;
	case OPTION_LIST:
		if (!ah_utf8_valid(arg, strlen(arg)))
			goto not_utf8;
		if (!*(json_t **)o->value)
			*(json_t **)o->value = json_array();
		json_array_append_new(*(json_t **)o->value, json_string(arg));
		return 0;
	case OPTION_END:
		break;
	}
	return -1;
not_utf8:
	/* the values go into JSON, which carries UTF-8 only */
	strbuf_addf(errmsg, "invalid %s: not UTF-8", shown);
	return -1;
}

int parse_options(int argc, const char **argv, const struct option *opts,
		  struct strbuf *errmsg)
{
	int i, nr_args = 0, only_args = 0;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		const struct option *o;

		if (only_args || a[0] != '-' || !a[1]) {
			argv[nr_args++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_args = 1;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return PARSE_OPT_HELP;
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);

			o = find_long(opts, name, len);
			if (!o) {
				strbuf_addf(errmsg, "unknown option '--%.*s'", (int)len, name);
				return PARSE_OPT_ERROR;
			}
			if (!takes_arg(o)) {
				if (eq) {
					strbuf_addf(errmsg, "option '--%s' takes no value", o->long_name);
					return PARSE_OPT_ERROR;
				}
				set_value(o, NULL, a, errmsg);
				continue;
			}
			if (!eq && i + 1 >= argc) {
				strbuf_addf(errmsg, "option '--%s' requires a value", o->long_name);
				return PARSE_OPT_ERROR;
			}
			{
				char shown[128];

				snprintf(shown, sizeof(shown), "--%s", o->long_name);
				if (set_value(o, eq ? eq + 1 : argv[++i], shown, errmsg) < 0)
					return PARSE_OPT_ERROR;
			}
			continue;
		}
		for (const char *p = a + 1; *p; p++) {
			char shown[3] = { '-', *p, '\0' };

			o = find_short(opts, *p);
			if (!o) {
				strbuf_addf(errmsg, "unknown option '%s'", shown);
				return PARSE_OPT_ERROR;
			}
			if (!takes_arg(o)) {
				set_value(o, NULL, shown, errmsg);
				continue;
			}
			if (p[1]) {
				if (set_value(o, p + 1, shown, errmsg) < 0)
					return PARSE_OPT_ERROR;
			} else if (i + 1 < argc) {
				if (set_value(o, argv[++i], shown, errmsg) < 0)
					return PARSE_OPT_ERROR;
			} else {
				strbuf_addf(errmsg, "option '%s' requires a value", shown);
				return PARSE_OPT_ERROR;
			}
			break;
		}
	}
	return nr_args;
}

void parse_options_usage(struct strbuf *out, const char *const *usage,
			 const struct option *opts)
{
	size_t i;

	for (i = 0; usage && usage[i]; i++)
		strbuf_addf(out, "%s %s\n", i ? "   or:" : "usage:", usage[i]);
	if (opts && opts->type != OPTION_END)
		strbuf_addch(out, '\n');
	for (; opts && opts->type != OPTION_END; opts++) {
		struct strbuf head = STRBUF_INIT;

		if (opts->type == OPTION_HIDDEN_BOOL)
			continue;
		strbuf_addstr(&head, "    ");
		if (opts->short_name)
			strbuf_addf(&head, "-%c%s", opts->short_name, opts->long_name ? ", " : "");
		if (opts->long_name)
			strbuf_addf(&head, "--%s", opts->long_name);
		if (opts->argh)
			strbuf_addf(&head, " <%s>", opts->argh);
		if (head.len < 28)
			strbuf_addf(out, "%-28s%s\n", head.buf, opts->help);
		else
			strbuf_addf(out, "%s\n%28s%s\n", head.buf, "", opts->help);
		strbuf_release(&head);
	}
}
