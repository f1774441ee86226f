/*
 * The Dockerfile parser: instructions, line continuations, heredocs,
 * variables and stages, into a tree the build engine walks. One job only.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dockerfile.h"
#include "strbuf.h"
#include "utf8.h"

/* Appends one zeroed element to arr (capacity: 4, then powers of two). */
#define PUSH(arr, nr) \
	((((nr) == 0 || ((nr) >= 4 && !((nr) & ((nr) - 1)))) ? \
	  (void)((arr) = xrealloc((arr), ((nr) < 4 ? 4 : 2 * (nr)) * sizeof(*(arr)))) : (void)0), \
	 memset(&(arr)[(nr)], 0, sizeof(*(arr))), &(arr)[(nr)++])

/* How deep ${a:-${b:-...}} may nest. */
#define MAX_NESTING 32

/* BuildKit reads lines with Go's bufio.Scanner: a line and its "\n" fit in 64 KiB. */
#define MAX_LINE 65536

/* Characters times pattern tokens all ${v#p} ${v/p/r} ... may step through. */
#define MAX_MATCH_WORK (1 << 26)

static const char *const kind_names[] = {
	[AH_DF_ADD] = "ADD", [AH_DF_ARG] = "ARG", [AH_DF_CMD] = "CMD", [AH_DF_COPY] = "COPY",
	[AH_DF_ENTRYPOINT] = "ENTRYPOINT", [AH_DF_ENV] = "ENV", [AH_DF_EXPOSE] = "EXPOSE",
	[AH_DF_FROM] = "FROM", [AH_DF_HEALTHCHECK] = "HEALTHCHECK", [AH_DF_LABEL] = "LABEL",
	[AH_DF_MAINTAINER] = "MAINTAINER", [AH_DF_ONBUILD] = "ONBUILD", [AH_DF_RUN] = "RUN",
	[AH_DF_SHELL] = "SHELL", [AH_DF_STOPSIGNAL] = "STOPSIGNAL", [AH_DF_USER] = "USER",
	[AH_DF_VOLUME] = "VOLUME", [AH_DF_WORKDIR] = "WORKDIR",
};

#define NR_KINDS (sizeof(kind_names) / sizeof(*kind_names))

enum flag_type { FLAG_STRING, FLAG_BOOL, FLAG_LIST };

struct flag_spec {
	enum ah_df_kind kind;
	const char *name;
	enum flag_type type;
};

static const struct flag_spec flag_specs[] = {
	{ AH_DF_FROM, "platform", FLAG_STRING },
	{ AH_DF_RUN, "mount", FLAG_LIST },
	{ AH_DF_RUN, "network", FLAG_STRING },
	{ AH_DF_RUN, "security", FLAG_STRING },
	{ AH_DF_COPY, "from", FLAG_STRING },
	{ AH_DF_COPY, "chown", FLAG_STRING },
	{ AH_DF_COPY, "chmod", FLAG_STRING },
	{ AH_DF_COPY, "link", FLAG_BOOL },
	{ AH_DF_COPY, "parents", FLAG_BOOL },
	{ AH_DF_COPY, "exclude", FLAG_LIST },
	{ AH_DF_ADD, "chown", FLAG_STRING },
	{ AH_DF_ADD, "chmod", FLAG_STRING },
	{ AH_DF_ADD, "link", FLAG_BOOL },
	{ AH_DF_ADD, "keep-git-dir", FLAG_BOOL },
	{ AH_DF_ADD, "checksum", FLAG_STRING },
	{ AH_DF_ADD, "unpack", FLAG_BOOL },
	{ AH_DF_ADD, "exclude", FLAG_LIST },
	{ AH_DF_HEALTHCHECK, "interval", FLAG_STRING },
	{ AH_DF_HEALTHCHECK, "timeout", FLAG_STRING },
	{ AH_DF_HEALTHCHECK, "start-period", FLAG_STRING },
	{ AH_DF_HEALTHCHECK, "start-interval", FLAG_STRING },
	{ AH_DF_HEALTHCHECK, "retries", FLAG_STRING },
};

struct kvlist {
	struct ah_df_kv *v;
	size_t nr;
};

struct parser {
	const char *file;
	const char *buf;
	size_t len, pos;
	int lineno;	/* the number of the last line read */
	char escape;
	int directives_done;
	int seen_escape, seen_syntax, seen_check;
	const struct ah_df_options *opts;
	struct ah_dockerfile *df;
	struct ah_err *err;
	size_t expanded;	/* bytes substituted so far */
	size_t match_work;	/* pattern substitution steps so far */
	struct kvlist build_args;
	struct kvlist meta;	/* the global ARGs */
	struct kvlist args;	/* the ARGs of the current stage */
	struct kvlist env;	/* the ENVs of the current stage */
	struct ah_df_stage *stage;	/* the current stage, or NULL before the first FROM */
};

/* Where substitution looks names up. */
enum scope { SCOPE_NONE, SCOPE_META, SCOPE_STAGE };

APPHUB_FMT(3, 4)
static int perr(struct parser *p, int line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		return ah_invalid(p->err, "%s:%d: %s", p->file, line, msg);
	return ah_invalid(p->err, "%s: %s", p->file, msg);
}

const char *ah_df_kind_name(enum ah_df_kind kind)
{
	return (size_t)kind < NR_KINDS ? kind_names[kind] : "?";
}

const char *ah_df_flag(const struct ah_df_instr *in, const char *name)
{
	const char *v = NULL;

	for (size_t i = 0; i < in->flags_nr; i++)
		if (!strcmp(in->flags[i].name, name))
			v = in->flags[i].value;
	return v;
}

int ah_df_stage_index(const struct ah_dockerfile *df, const char *name)
{
	for (size_t i = 0; i < df->stages_nr; i++)
		if (df->stages[i].name && !strcasecmp(df->stages[i].name, name))
			return (int)i;
	return -1;
}

static void free_kvs(struct ah_df_kv *kvs, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		free(kvs[i].key);
		free(kvs[i].value);
	}
	free(kvs);
}

static void free_strv(char **v, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		free(v[i]);
	free(v);
}

static void clear_instr(struct ah_df_instr *in)
{
	size_t i;

	free(in->original);
	for (i = 0; i < in->flags_nr; i++) {
		free(in->flags[i].name);
		free(in->flags[i].value);
	}
	free(in->flags);
	free_strv(in->args, in->args_nr);
	free_kvs(in->kvs, in->kvs_nr);
	for (i = 0; i < in->heredocs_nr; i++) {
		free(in->heredocs[i].name);
		free(in->heredocs[i].body);
	}
	free(in->heredocs);
	free(in->ports);
	if (in->trigger) {
		clear_instr(in->trigger);
		free(in->trigger);
	}
	free_strv(in->env, in->env_nr);
	memset(in, 0, sizeof(*in));
}

void ah_dockerfile_free(struct ah_dockerfile *df)
{
	size_t i, j;

	if (!df)
		return;
	free(df->file);
	free(df->syntax);
	for (i = 0; i < df->meta_args_nr; i++)
		clear_instr(&df->meta_args[i]);
	free(df->meta_args);
	for (i = 0; i < df->stages_nr; i++) {
		struct ah_df_stage *st = &df->stages[i];

		free(st->name);
		free(st->base);
		free(st->platform);
		for (j = 0; j < st->instrs_nr; j++)
			clear_instr(&st->instrs[j]);
		free(st->instrs);
		free_kvs(st->env, st->env_nr);
	}
	free(df->stages);
	free(df);
}

/* kvlist: the last value set wins; a NULL value is declared but unset. */
static struct ah_df_kv *kv_find(const struct kvlist *l, const char *key, size_t len)
{
	for (size_t i = l->nr; i-- > 0;)
		if (strlen(l->v[i].key) == len && !memcmp(l->v[i].key, key, len))
			return &l->v[i];
	return NULL;
}

static void kv_set(struct kvlist *l, const char *key, const char *value)
{
	struct ah_df_kv *kv = kv_find(l, key, strlen(key));

	if (!kv) {
		kv = PUSH(l->v, l->nr);
		kv->key = xstrdup(key);
	} else {
		free(kv->value);
	}
	kv->value = value ? xstrdup(value) : NULL;
}

static void kv_clear(struct kvlist *l)
{
	free_kvs(l->v, l->nr);
	l->v = NULL;
	l->nr = 0;
}

/* Copies v (whose keys are unique) into the empty list dst. */
static void kv_copy(struct kvlist *dst, const struct ah_df_kv *v, size_t nr)
{
	if (dst->nr)
		BUG("kv_copy into a list that is not empty");
	for (size_t i = 0; i < nr; i++) {
		struct ah_df_kv *kv = PUSH(dst->v, dst->nr);

		kv->key = xstrdup(v[i].key);
		kv->value = v[i].value ? xstrdup(v[i].value) : NULL;
	}
}

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == '\n';
}

static int check_bytes(struct parser *p)
{
	const unsigned char *s = (const unsigned char *)p->buf;
	int line = 1;
	size_t i = 0;

	while (i < p->len) {
		size_t n;

		if (!s[i])
			return perr(p, line, "NUL byte in the file");
		if (s[i] == '\n')
			line++;
		n = ah_utf8_char_len(p->buf + i, p->len - i);
		if (!n)
			return perr(p, line, "invalid UTF-8");
		i += n;
	}
	return 0;
}

/*
 * Reads the next physical line: *len bytes without its "\n" or "\r\n",
 * *raw_len (may be NULL) with them. 1, 0 at the end, or -1 on a line
 * BuildKit's scanner refuses (MAX_LINE bytes or more).
 */
static int next_line(struct parser *p, const char **line, size_t *len, size_t *raw_len)
{
	const char *s, *nl;
	size_t n;

	if (p->pos >= p->len)
		return 0;
	s = p->buf + p->pos;
	nl = memchr(s, '\n', p->len - p->pos);
	n = nl ? (size_t)(nl - s) : p->len - p->pos;
	if (n >= MAX_LINE)
		return perr(p, p->lineno + 1, "line too long (the limit is %d bytes)", MAX_LINE - 1);
	p->pos += n + (nl ? 1 : 0);
	if (raw_len)
		*raw_len = n + (nl ? 1 : 0);
	if (n && s[n - 1] == '\r')
		n--;
	if (!p->lineno && n >= 3 && !memcmp(s, "\xef\xbb\xbf", 3)) {
		s += 3;
		n -= 3;
	}
	p->lineno++;
	*line = s;
	*len = n;
	return 1;
}

static void skip_space(const char **s, size_t *n)
{
	while (*n && is_space(**s)) {
		(*s)++;
		(*n)--;
	}
}

static int budget(struct parser *p, size_t n, int line)
{
	p->expanded += n;
	if (p->expanded > AH_DOCKERFILE_MAX_EXPANDED)
		return perr(p, line, "expansion too large (over %d bytes in all)",
			    AH_DOCKERFILE_MAX_EXPANDED);
	return 0;
}

/*
 * "# name = value" at the top of the file; anything else ends them. Returns
 * -1 on a bad or repeated directive.
 */
static int parse_directive(struct parser *p, const char *s, size_t n)
{
	const char *name, *val;
	size_t name_len, val_len;
	char key[16];

	if (p->directives_done)
		return 0;
	p->directives_done = 1;
	if (!n || *s != '#')
		return 0;
	s++, n--;
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	name = s;
	if (!n || !isalpha((unsigned char)*s))
		return 0;
	while (n && isalnum((unsigned char)*s))
		s++, n--;
	name_len = (size_t)(s - name);
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	if (!n || *s != '=')
		return 0;
	s++, n--;
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (!n || name_len >= sizeof(key))
		return 0;
	val = s;
	val_len = n;
	memcpy(key, name, name_len);
	key[name_len] = '\0';
	for (size_t i = 0; i < name_len; i++)
		key[i] = (char)tolower((unsigned char)key[i]);
	if (!strcmp(key, "escape")) {
		if (p->seen_escape++)
			return perr(p, p->lineno, "only one escape parser directive can be used");
		if (val_len != 1 || (*val != '\\' && *val != '`'))
			return perr(p, p->lineno, "invalid escape token '%.*s': must be ` or \\",
				    (int)val_len, val);
		p->escape = *val;
	} else if (!strcmp(key, "syntax")) {
		if (p->seen_syntax++)
			return perr(p, p->lineno, "only one syntax parser directive can be used");
		p->df->syntax = xstrndup(val, val_len);
	} else if (!strcmp(key, "check")) {
		if (p->seen_check++)
			return perr(p, p->lineno, "only one check parser directive can be used");
	} else {
		return 0;
	}
	p->directives_done = 0;
	return 0;
}

/* Whether the line ends with the escape character and blanks: then strips them. */
static int continues(struct parser *p, const char *s, size_t *n)
{
	size_t k = *n;

	while (k && (s[k - 1] == ' ' || s[k - 1] == '\t'))
		k--;
	/* "C:\\" ends in an escaped escape, not a continuation (as BuildKit's regexp). */
	if (!k || s[k - 1] != p->escape || (k >= 2 && s[k - 2] == p->escape))
		return 0;
	*n = k - 1;
	return 1;
}

/* ---- substitution, as BuildKit's shell lexer ---- */

struct lexer {
	struct parser *p;
	const char *s;
	size_t n, i;
	int line;
	int depth;
	enum scope scope;
	int heredoc;	/* quotes are ordinary; \ escapes only $ and itself */
	int split;	/* words: blanks outside quotes, and in $ values, become NULs */
	int raw;	/* escapes are kept (a pattern, as BuildKit's rawEscapes) */
};

static int lex_until(struct lexer *lx, int stop, struct strbuf *out);

#if defined(__x86_64__)
#define HOST_ARCH "amd64"
#elif defined(__aarch64__)
#define HOST_ARCH "arm64"
#elif defined(__i386__)
#define HOST_ARCH "386"
#elif defined(__riscv)
#define HOST_ARCH "riscv64"
#elif defined(__s390x__)
#define HOST_ARCH "s390x"
#elif defined(__powerpc64__)
#define HOST_ARCH "ppc64le"
#else
#define HOST_ARCH "amd64"
#endif

/*
 * The platform ARGs BuildKit defines in the global scope without an ARG:
 * a --build-arg, else this machine's.
 */
static const char *auto_arg(struct parser *p, const char *name, size_t len)
{
	static const char *const autos[][2] = {
		{ "BUILDPLATFORM", "linux/" HOST_ARCH }, { "BUILDOS", "linux" },
		{ "BUILDARCH", HOST_ARCH }, { "BUILDVARIANT", "" },
		{ "TARGETPLATFORM", "linux/" HOST_ARCH }, { "TARGETOS", "linux" },
		{ "TARGETARCH", HOST_ARCH }, { "TARGETVARIANT", "" },
	};
	const struct ah_df_kv *ba;

	for (size_t i = 0; i < sizeof(autos) / sizeof(*autos); i++) {
		if (strlen(autos[i][0]) != len || memcmp(autos[i][0], name, len))
			continue;
		ba = kv_find(&p->build_args, name, len);
		return ba && ba->value ? ba->value : autos[i][1];
	}
	return NULL;
}

static const char *lookup(struct parser *p, enum scope scope, const char *name, size_t len)
{
	const struct ah_df_kv *kv;
	const struct ah_df_stage *st;

	if (scope == SCOPE_META) {
		kv = kv_find(&p->meta, name, len);
		return kv ? kv->value : auto_arg(p, name, len);
	}
	if (scope != SCOPE_STAGE)
		return NULL;
	kv = kv_find(&p->env, name, len);
	if (kv)
		return kv->value;
	st = p->stage;
	while (st && st->base_stage >= 0)
		st = &p->df->stages[st->base_stage];
	if (st && p->opts && p->opts->base_env && strcmp(st->base, "scratch")) {
		char *key = xstrndup(name, len);
		const char *v = p->opts->base_env(p->opts->data, st->base, st->platform, key);

		free(key);
		if (v)
			return v;
	}
	kv = kv_find(&p->args, name, len);
	return kv ? kv->value : NULL;
}

static int lex_error(struct lexer *lx, const char *what)
{
	return perr(lx->p, lx->line, "%s in '%.*s'", what, (int)(lx->n > 80 ? 80 : lx->n), lx->s);
}

static int lex_name(struct lexer *lx, size_t *len)
{
	size_t start = lx->i;

	if (lx->i < lx->n && isdigit((unsigned char)lx->s[lx->i])) {
		while (lx->i < lx->n && isdigit((unsigned char)lx->s[lx->i]))
			lx->i++;
	} else if (lx->i < lx->n && strchr("@*#?-$!", lx->s[lx->i])) {
		lx->i++;
	} else {
		while (lx->i < lx->n && (isalnum((unsigned char)lx->s[lx->i]) || lx->s[lx->i] == '_'))
			lx->i++;
	}
	*len = lx->i - start;
	return (int)start;
}

/*
 * ${v#p} ${v##p} ${v%p} ${v%%p} ${v/p/r} ${v//p/r}: p is a pattern of
 * BuildKit's shell lexer (convertShellPatternToRegex): "*" any run, "?" one
 * character (neither matches a newline), "\*" "\?" "\\" themselves, "\}"
 * "\/" the bare character; everything else, "[" included, is literal.
 */
enum pat_kind { PAT_LIT, PAT_ANY, PAT_STAR };

struct pat_tok {
	enum pat_kind kind;
	char lit[4];	/* PAT_LIT: one character's bytes */
	unsigned char lit_len;
};

/*
 * A string as characters: character k is s[off[k]..off[k + 1]), read
 * backwards if rev. 32-bit offsets: values stay under AH_DOCKERFILE_MAX_EXPANDED.
 */
struct chars {
	const char *s;
	uint32_t *off;
	size_t n;
	int rev;
};

static size_t char_len_at(const char *s, size_t left)
{
	size_t l = ah_utf8_char_len(s, left);

	return l ? l : 1;	/* a stray byte is one character, as Go's decoder makes it */
}

static void chars_init(struct chars *c, const char *s, size_t len, int rev)
{
	size_t i = 0;

	c->s = s;
	c->n = 0;
	c->rev = rev;
	c->off = xmalloc((len + 1) * sizeof(*c->off));
	while (i < len) {
		c->off[c->n++] = (uint32_t)i;
		i += char_len_at(s + i, len - i);
	}
	c->off[c->n] = (uint32_t)len;
}

static const char *char_at(const struct chars *c, size_t k, size_t *len)
{
	if (c->rev)
		k = c->n - 1 - k;
	*len = c->off[k + 1] - c->off[k];
	return c->s + c->off[k];
}

static int compile_pattern(struct lexer *lx, const char *pat, struct pat_tok **out, size_t *nr)
{
	size_t i = 0, n = strlen(pat), cap = 0;
	struct pat_tok *t = NULL;

	*nr = 0;
	while (i < n) {
		struct pat_tok *tok;
		size_t l;

		if (pat[i] == '\\' && i + 1 < n && (pat[i + 1] == '}' || pat[i + 1] == '/'))
			i++;
		else if (pat[i] == '\\' && (i + 1 >= n || !strchr("*?\\", pat[i + 1]))) {
			free(t);
			return perr(lx->p, lx->line, "invalid pattern '%s' in substitution: invalid escape '\\%.1s'",
				    pat, pat + i + 1);
		}
		if (*nr == cap) {
			cap = cap ? 2 * cap : 8;
			t = xrealloc(t, cap * sizeof(*t));
		}
		tok = &t[(*nr)++];
		memset(tok, 0, sizeof(*tok));
		if (pat[i] == '*' || pat[i] == '?') {
			tok->kind = pat[i] == '*' ? PAT_STAR : PAT_ANY;
			i++;
			continue;
		}
		if (pat[i] == '\\')
			i++;
		l = char_len_at(pat + i, n - i);
		tok->kind = PAT_LIT;
		memcpy(tok->lit, pat + i, l > 4 ? 4 : l);
		tok->lit_len = (unsigned char)(l > 4 ? 4 : l);
		i += l;
	}
	*out = t;
	return 0;
}

/*
 * The leftmost match of the pattern (tokens read backwards if rev) in the
 * characters of c from character from on (only at from if anchored), the
 * shortest or the longest there, as Go's regexp finds it for BuildKit's
 * lazy or greedy stars: 1 and [*start, *end), else 0. One pass, each
 * character against each token: every state keeps the leftmost start
 * that reaches it, as no later start can do better from there.
 */
static int match_pattern(struct parser *p, int line, const struct pat_tok *t, size_t m, int rev,
			 const struct chars *c, size_t from, int anchored, int shortest,
			 size_t *start, size_t *end)
{
	size_t *cur = xmalloc(2 * (m + 1) * sizeof(*cur)), *nxt = cur + m + 1, *tmp;
	size_t i, j, best = SIZE_MAX;
	int found = 0;

	for (j = 0; j <= m; j++)
		cur[j] = SIZE_MAX;
	for (i = from;; i++) {
		const char *ch = NULL;
		size_t clen = 0;
		int alive = 0;

		if (!anchored || i == from)
			if (cur[0] > i && (!found || i <= best))
				cur[0] = i;
		for (j = 0; j < m; j++)	/* a star may match nothing */
			if (cur[j] != SIZE_MAX && t[rev ? m - 1 - j : j].kind == PAT_STAR && cur[j] < cur[j + 1])
				cur[j + 1] = cur[j];
		if (cur[m] != SIZE_MAX && (!found || cur[m] < best || (cur[m] == best && !shortest))) {
			found = 1;
			best = cur[m];
			*start = best;
			*end = i;
			if (shortest && anchored)
				break;
		}
		if (i >= c->n)
			break;
		p->match_work += m + 1;
		if (p->match_work > MAX_MATCH_WORK) {
			free(cur < nxt ? cur : nxt);
			return perr(p, line, "pattern substitution too costly (over %d steps in all)", MAX_MATCH_WORK);
		}
		ch = char_at(c, i, &clen);
		for (j = 0; j <= m; j++)
			nxt[j] = SIZE_MAX;
		for (j = 0; j < m; j++) {
			const struct pat_tok *tok = &t[rev ? m - 1 - j : j];
			size_t to;

			if (cur[j] == SIZE_MAX || (found && cur[j] > best))
				continue;
			if (tok->kind == PAT_LIT) {
				if (clen != tok->lit_len || memcmp(ch, tok->lit, clen))
					continue;
				to = j + 1;
			} else if (*ch == '\n') {
				continue;
			} else {
				to = tok->kind == PAT_STAR ? j : j + 1;
			}
			if (cur[j] < nxt[to])
				nxt[to] = cur[j];
			alive = 1;
		}
		tmp = cur;
		cur = nxt;
		nxt = tmp;
		if (!alive && (anchored || found))
			break;
	}
	free(cur < nxt ? cur : nxt);
	return found;
}

/*
 * ${v#p} (op '#'), ${v%p} ('%'), shortest, or longest if twice; ${v/p/r}
 * ('/'), the first match, or every one if twice, as Go's
 * ReplaceAllString steps over them (r is taken literally).
 */
static int apply_pattern(struct lexer *lx, const char *value, int op, int twice, const char *pat,
			 const char *rep, struct strbuf *out)
{
	struct strbuf res = STRBUF_INIT;
	struct pat_tok *t = NULL;
	struct chars c = { NULL, NULL, 0, 0 };
	size_t m, s, e;
	int r, ret = -1;

	if (strlen(value) > AH_DOCKERFILE_MAX_EXPANDED)	/* a base image's value, say */
		return budget(lx->p, strlen(value), lx->line);
	if (compile_pattern(lx, pat, &t, &m) < 0)
		return -1;
	chars_init(&c, value, strlen(value), op == '%');
	if (op != '/') {
		r = match_pattern(lx->p, lx->line, t, m, op == '%', &c, 0, 1, !twice, &s, &e);
		if (r < 0)
			goto done;
		if (!r)
			strbuf_addstr(&res, value);
		else if (op == '#')
			strbuf_addstr(&res, value + c.off[e]);
		else
			strbuf_add(&res, value, c.off[c.n - e]);
	} else {
		size_t last = 0, search = 0;

		while (search <= c.n) {
			r = match_pattern(lx->p, lx->line, t, m, 0, &c, search, 0, 0, &s, &e);
			if (r < 0)
				goto done;
			if (!r)
				break;
			strbuf_add(&res, value + c.off[last], c.off[s] - c.off[last]);
			/* No second replacement for an empty match right after a match. */
			if (e > last || s == 0)
				strbuf_addstr(&res, rep);
			if (res.len > AH_DOCKERFILE_MAX_EXPANDED) {
				budget(lx->p, res.len, lx->line);
				goto done;
			}
			last = e;
			search = search + 1 > e ? search + 1 : e;
			if (!twice)
				break;
		}
		strbuf_addstr(&res, value + c.off[last]);
	}
	if (budget(lx->p, res.len, lx->line) < 0)
		goto done;
	strbuf_add(out, res.buf, res.len);
	ret = 0;
done:
	free(t);
	free(c.off);
	strbuf_release(&res);
	return ret;
}

/* ${v/p/r} and ${v//p/r} after the '/': p and r keep their escapes, as BuildKit reads them. */
static int lex_replace(struct lexer *lx, const char *value, struct strbuf *out)
{
	struct strbuf pat = STRBUF_INIT, rep = STRBUF_INIT;
	int all = 0, raw = lx->raw, r = -1, ret = -1;

	if (lx->i < lx->n && lx->s[lx->i] == '/') {
		all = 1;
		lx->i++;
	}
	if (++lx->depth > MAX_NESTING) {
		lex_error(lx, "substitution nested too deeply");
		goto done;
	}
	lx->raw = 1;
	r = lex_until(lx, '/', &pat);
	if (!r)
		r = lex_error(lx, "missing '/' in ${}");
	if (r > 0 && !(r = lex_until(lx, '}', &rep)))
		r = lex_error(lx, "missing '}'");
	lx->raw = raw;
	if (r < 0)
		goto done;
	ret = apply_pattern(lx, value ? value : "", '/', all, pat.buf, rep.buf, out);
done:
	lx->depth--;
	strbuf_release(&pat);
	strbuf_release(&rep);
	return ret;
}

static int lex_dollar(struct lexer *lx, struct strbuf *out)
{
	struct strbuf word = STRBUF_INIT;
	const char *name, *value;
	size_t len;
	int ret = -1, c, colon = 0, raw;

	lx->i++;	/* '$' */
	if (lx->scope == SCOPE_NONE) {
		strbuf_addch(out, '$');
		return 0;
	}
	if (lx->i >= lx->n || lx->s[lx->i] != '{') {
		name = lx->s + lex_name(lx, &len);
		if (!len) {
			strbuf_addch(out, '$');
			return 0;
		}
		value = lookup(lx->p, lx->scope, name, len);
		if (value) {
			if (budget(lx->p, strlen(value), lx->line) < 0)
				return -1;
			strbuf_addstr(out, value);
		}
		return 0;
	}
	lx->i++;	/* '{' */
	if (lx->i >= lx->n)
		return lex_error(lx, "missing '}'");
	if (strchr("{}:", lx->s[lx->i]))
		return lex_error(lx, "bad substitution");
	name = lx->s + lex_name(lx, &len);
	if (!len || lx->i >= lx->n)
		return lex_error(lx, len ? "missing '}'" : "bad substitution");
	value = lookup(lx->p, lx->scope, name, len);
	c = lx->s[lx->i++];
	if (c == '}') {
		if (value) {
			if (budget(lx->p, strlen(value), lx->line) < 0)
				return -1;
			strbuf_addstr(out, value);
		}
		return 0;
	}
	if (c == ':') {
		if (lx->i >= lx->n)
			return lex_error(lx, "missing '}'");
		colon = 1;
		c = lx->s[lx->i++];
	}
	if (c == '/' && !colon)
		return lex_replace(lx, value, out);
	if (!strchr("-+?#%", c) || (colon && (c == '#' || c == '%'))) {
		char what[64];

		snprintf(what, sizeof(what), "unsupported modifier '%s%c' in substitution",
			 colon ? ":" : "", c);
		return lex_error(lx, what);
	}
	if (++lx->depth > MAX_NESTING) {
		lex_error(lx, "substitution nested too deeply");
		goto done;
	}
	raw = lx->raw;
	lx->raw = c == '#' || c == '%';	/* a pattern keeps its escapes */
	ret = lex_until(lx, '}', &word);
	lx->raw = raw;
	lx->depth--;
	if (ret < 0)
		goto done;
	if (!ret) {
		ret = lex_error(lx, "missing '}'");
		goto done;
	}
	if (c == '#' || c == '%') {
		int twice = word.len && word.buf[0] == c;

		ret = apply_pattern(lx, value ? value : "", c, twice, word.buf + twice, NULL, out);
		goto done;
	}
	ret = -1;
	if (colon && value && !*value)
		value = NULL;
	if (c == '-') {
		if (!value)
			value = word.buf;
	} else if (c == '+') {
		value = value ? word.buf : NULL;
	} else if (!value) {
		perr(lx->p, lx->line, "%.*s: %s", (int)len, name,
		     word.len ? word.buf : "parameter null or not set");
		goto done;
	}
	if (value) {
		if (budget(lx->p, strlen(value), lx->line) < 0)
			goto done;
		strbuf_addstr(out, value);
	}
	ret = 0;
done:
	strbuf_release(&word);
	return ret;
}

static int lex_single(struct lexer *lx, struct strbuf *out)
{
	lx->i++;
	while (lx->i < lx->n && lx->s[lx->i] != '\'')
		strbuf_addch(out, lx->s[lx->i++]);
	if (lx->i >= lx->n)
		return lex_error(lx, "unterminated single quote");
	lx->i++;
	return 0;
}

static int lex_double(struct lexer *lx, struct strbuf *out)
{
	char esc = lx->p->escape;

	lx->i++;
	for (;;) {
		char c;

		if (lx->i >= lx->n)
			return lex_error(lx, "unterminated double quote");
		c = lx->s[lx->i];
		if (c == '"') {
			lx->i++;
			return 0;
		}
		if (c == '$') {
			if (lex_dollar(lx, out) < 0)
				return -1;
			continue;
		}
		lx->i++;
		if (c == esc && lx->raw)
			strbuf_addch(out, esc);
		if (c == esc && lx->i < lx->n &&
		    (lx->s[lx->i] == '"' || lx->s[lx->i] == '$' || lx->s[lx->i] == esc))
			c = lx->s[lx->i++];
		else if (c == esc && lx->i >= lx->n)
			continue;
		strbuf_addch(out, c);
	}
}

/* Processes up to stop (consumed: returns 1) or the end (returns 0). */
static int lex_until(struct lexer *lx, int stop, struct strbuf *out)
{
	char esc = lx->p->escape;

	while (lx->i < lx->n) {
		char c = lx->s[lx->i];

		if (stop && c == stop) {
			lx->i++;
			return 1;
		}
		if (c == '$') {
			size_t from = out->len;

			if (lex_dollar(lx, out) < 0)
				return -1;
			if (lx->split && !lx->depth)	/* an unquoted value splits into words */
				for (; from < out->len; from++)
					if (is_space(out->buf[from]))
						out->buf[from] = '\0';
		} else if (c == '\'' && !lx->heredoc) {
			if (lex_single(lx, out) < 0)
				return -1;
		} else if (c == '"' && !lx->heredoc) {
			if (lex_double(lx, out) < 0)
				return -1;
		} else if (c == esc) {
			lx->i++;
			if (lx->raw)
				strbuf_addch(out, esc);
			if (lx->i >= lx->n)
				break;
			c = lx->s[lx->i++];
			if (lx->heredoc && !lx->raw && c != '$' && c != esc)
				strbuf_addch(out, esc);
			strbuf_addch(out, c);
		} else {
			strbuf_addch(out, lx->split && !lx->depth && is_space(c) ? '\0' : c);
			lx->i++;
		}
	}
	return 0;
}

#define LEX_HEREDOC 1	/* a heredoc body */
#define LEX_SPLIT 2	/* words, split after substitution */

/*
 * One word: quotes removed, escapes applied, variables substituted. With
 * LEX_SPLIT, *len is its length, its words separated by NULs.
 */
static char *process_word_len(struct parser *p, const char *s, size_t n, enum scope scope,
			      int line, int mode, size_t *len)
{
	struct lexer lx = { p, s, n, 0, line, 0, scope, mode & LEX_HEREDOC, !!(mode & LEX_SPLIT), 0 };
	struct strbuf out = STRBUF_INIT;

	if (lex_until(&lx, 0, &out) < 0 || budget(p, out.len, line) < 0) {
		strbuf_release(&out);
		return NULL;
	}
	*len = out.len;
	return strbuf_detach(&out, NULL);
}

static char *process_word(struct parser *p, const char *s, size_t n, enum scope scope,
			  int line, int mode)
{
	size_t len;

	return process_word_len(p, s, n, scope, line, mode, &len);
}

/* ---- splitting ---- */

struct words {
	char **v;
	size_t nr;
};

static void words_clear(struct words *w)
{
	free_strv(w->v, w->nr);
	w->v = NULL;
	w->nr = 0;
}

static void words_add(struct words *w, const char *s, size_t n)
{
	*PUSH(w->v, w->nr) = xstrndup(s, n);
}

/* Words at blanks, nothing else special (FROM, EXPOSE, COPY). */
static void split_blanks(const char *s, size_t n, struct words *w)
{
	size_t i = 0, start;

	for (;;) {
		while (i < n && is_space(s[i]))
			i++;
		if (i >= n)
			break;
		start = i;
		while (i < n && !is_space(s[i]))
			i++;
		words_add(w, s + start, i - start);
	}
}

/* Words at blanks outside quotes, quotes and escapes kept (ENV, LABEL, ARG). */
static void split_quoted(char esc, const char *s, size_t n, struct words *w)
{
	struct strbuf word = STRBUF_INIT;
	size_t i = 0;
	int in_word = 0, blank_ok = 0;
	char quote = 0;

	for (; i < n; i++) {
		char c = s[i];

		if (!in_word && !quote) {
			if (is_space(c))
				continue;
			in_word = 1;
		}
		if (quote) {
			if (c == quote)
				quote = 0;
			else if (c == esc && quote != '\'' && i + 1 < n)
				strbuf_addch(&word, s[i++]);
			strbuf_addch(&word, s[i]);
			continue;
		}
		if (is_space(c)) {
			if (blank_ok || word.len)
				words_add(w, word.buf, word.len);
			strbuf_reset(&word);
			in_word = blank_ok = 0;
			continue;
		}
		if (c == '\'' || c == '"') {
			quote = c;
			blank_ok = 1;
		} else if (c == esc) {
			if (i + 1 >= n)
				continue;
			strbuf_addch(&word, s[i++]);
		}
		strbuf_addch(&word, s[i]);
	}
	if (in_word && (blank_ok || word.len))
		words_add(w, word.buf, word.len);
	strbuf_release(&word);
}

/*
 * Leading "--name[=value]" words, quotes removed; *rest is what follows.
 */
static void split_flags(const char *s, size_t n, struct words *w, const char **rest,
			size_t *rest_len)
{
	struct strbuf word = STRBUF_INIT;
	size_t i = 0;
	char quote = 0;
	int blank_ok;

	for (;;) {
		while (i < n && is_space(s[i]))
			i++;
		if (i + 1 >= n || s[i] != '-' || s[i + 1] != '-')
			break;
		strbuf_reset(&word);
		blank_ok = 0;
		for (; i < n; i++) {
			char c = s[i];

			if (quote) {
				if (c == quote) {
					quote = 0;
					continue;
				}
				if (c == '\\' && i + 1 < n)
					c = s[++i];
				strbuf_addch(&word, c);
				continue;
			}
			if (is_space(c))
				break;
			if (c == '\'' || c == '"') {
				quote = c;
				blank_ok = 1;
				continue;
			}
			if (c == '\\') {
				if (i + 1 >= n)
					continue;
				c = s[++i];
			}
			strbuf_addch(&word, c);
		}
		quote = 0;
		if (!strcmp(word.buf, "--"))
			break;
		if (blank_ok || word.len)
			words_add(w, word.buf, word.len);
	}
	while (i < n && is_space(s[i]))
		i++;
	*rest = s + i;
	*rest_len = n - i;
	strbuf_release(&word);
}

/* ---- instructions ---- */

static int parse_flags(struct parser *p, struct ah_df_instr *in, const struct words *fw,
		       enum scope scope)
{
	for (size_t i = 0; i < fw->nr; i++) {
		const char *w = fw->v[i] + 2, *eq = strchr(w, '=');
		size_t len = eq ? (size_t)(eq - w) : strlen(w), k;
		const struct flag_spec *spec = NULL;
		struct ah_df_flag *f;
		char *value;

		for (k = 0; k < sizeof(flag_specs) / sizeof(*flag_specs); k++)
			if (flag_specs[k].kind == in->kind && strlen(flag_specs[k].name) == len &&
			    !memcmp(flag_specs[k].name, w, len))
				spec = &flag_specs[k];
		if (!spec)
			return perr(p, in->line, "unknown flag '--%.*s' for %s", (int)len, w,
				    ah_df_kind_name(in->kind));
		if (spec->type != FLAG_LIST && ah_df_flag(in, spec->name))
			return perr(p, in->line, "duplicate flag '--%s'", spec->name);
		if (spec->type == FLAG_BOOL) {
			if (eq && strcasecmp(eq + 1, "true") && strcasecmp(eq + 1, "false"))
				return perr(p, in->line, "expecting a boolean for flag '--%s', not '%s'",
					    spec->name, eq + 1);
			value = xstrdup(eq && !strcasecmp(eq + 1, "false") ? "false" : "true");
		} else {
			if (!eq)
				return perr(p, in->line, "missing a value on flag '--%s'", spec->name);
			if (scope == SCOPE_NONE)
				value = xstrdup(eq + 1);
			else if (!(value = process_word(p, eq + 1, strlen(eq + 1), scope, in->line, 0)))
				return -1;
		}
		f = PUSH(in->flags, in->flags_nr);
		f->name = xstrdup(spec->name);
		f->value = value;
	}
	return 0;
}

static void add_arg(struct ah_df_instr *in, const char *s, size_t n)
{
	*PUSH(in->args, in->args_nr) = xstrndup(s, n);
}

/*
 * JSON array of strings: 1 (parsed into args), 0 (not JSON, even "[a" or
 * "['a']": shell form, as BuildKit falls back), -1 (error: an array of
 * other values, or a string holding "\u0000", which BuildKit takes but no
 * program can be given).
 */
static int parse_json(struct parser *p, struct ah_df_instr *in, const char *s, size_t n)
{
	json_error_t jerr;
	json_t *j;
	size_t i;
	int ret = -1;

	if (!n || *s != '[')
		return 0;
	j = json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (!j || !json_is_array(j)) {
		json_decref(j);
		return 0;
	}
	for (i = 0; i < json_array_size(j); i++) {
		json_t *e = json_array_get(j, i);

		if (!json_is_string(e)) {
			perr(p, in->line, "a JSON array of %s arguments must hold strings only",
			     ah_df_kind_name(in->kind));
			goto done;
		}
		if (strlen(json_string_value(e)) != json_string_length(e)) {
			perr(p, in->line, "argument %zu of %s holds a NUL character (\\u0000), which no program can be given",
			     i + 1, ah_df_kind_name(in->kind));
			goto done;
		}
	}
	for (i = 0; i < json_array_size(j); i++) {
		json_t *e = json_array_get(j, i);

		add_arg(in, json_string_value(e), json_string_length(e));
	}
	in->exec_form = 1;
	ret = 1;
done:
	json_decref(j);
	return ret;
}

/* RUN CMD ENTRYPOINT and HEALTHCHECK CMD: exec or shell form. */
static int parse_command(struct parser *p, struct ah_df_instr *in, const char *s, size_t n,
			 const char *what)
{
	int r = parse_json(p, in, s, n);

	if (r < 0)
		return -1;
	if (!r) {
		if (!n)
			return perr(p, in->line, "%s requires at least one argument", what);
		add_arg(in, s, n);
	} else if (!in->args_nr && in->kind == AH_DF_RUN) {
		return perr(p, in->line, "RUN requires at least one argument");
	}
	return 0;
}

/* A word "<<EOF", "<<-EOF", "2<<'EOF'": 1 and the heredoc, else 0. */
static int parse_heredoc_word(char esc, const char *w, struct ah_df_heredoc *h)
{
	const char *s = w;
	struct strbuf name = STRBUF_INIT;
	char quote = 0;
	int fd = 0;

	while (isdigit((unsigned char)*s)) {
		if (fd < 1000)
			fd = fd * 10 + (*s - '0');
		s++;
	}
	if (strncmp(s, "<<", 2))
		return 0;
	s += 2;
	memset(h, 0, sizeof(*h));
	if (*s == '-') {
		h->strip_tabs = 1;
		s++;
	}
	while (*s == ' ' || *s == '\t' || *s == '\r')	/* "<< EOF", "<<- EOF" */
		s++;
	if (!*s || strchr(s, '<'))
		return 0;
	h->expand = !strpbrk(s, "'\"");
	for (; *s; s++) {
		if (!quote && (*s == '\'' || *s == '"')) {
			quote = *s;
		} else if (quote && *s == quote) {
			quote = 0;
		} else if (*s == esc && quote != '\'' && s[1]) {
			strbuf_addch(&name, *++s);
		} else if (!quote && is_space(*s)) {
			break;	/* "<<EOF sh" is not one word */
		} else {
			strbuf_addch(&name, *s);
		}
	}
	if (!name.len || *s) {
		strbuf_release(&name);
		return 0;
	}
	h->fd = fd;
	h->name = strbuf_detach(&name, NULL);
	return 1;
}

int ah_df_is_heredoc(const char *word)
{
	struct ah_df_heredoc h;

	if (!parse_heredoc_word('\\', word, &h))
		return 0;
	free(h.name);
	return 1;
}

/* The heredocs a RUN, COPY or ADD line opens, in order, into in->heredocs. */
static void find_heredocs(struct parser *p, struct ah_df_instr *in, const char *s, size_t n)
{
	struct strbuf word = STRBUF_INIT;
	size_t i = 0;
	char quote = 0;

	if (!memmem(s, n, "<<", 2))
		return;
	for (;;) {
		struct ah_df_heredoc h;

		while (i < n && is_space(s[i]))
			i++;
		if (i >= n)
			break;
		strbuf_reset(&word);
		for (; i < n && (quote || !is_space(s[i])); i++) {
			char c = s[i];

			if (quote && c == quote)
				quote = 0;
			else if (!quote && (c == '\'' || c == '"'))
				quote = c;
			else if (c == p->escape && quote != '\'' && i + 1 < n)
				strbuf_addch(&word, s[i++]);
			strbuf_addch(&word, s[i]);
			/*
			 * BuildKit's lexer keeps the blanks after "<<" in the word;
			 * after "<<-" too, as its heredoc tests expect.
			 */
			if (!quote && c == '<' && i + 1 < n && s[i + 1] == '<') {
				strbuf_addch(&word, s[++i]);
				if (i + 1 < n && s[i + 1] == '-')
					strbuf_addch(&word, s[++i]);
				while (i + 1 < n && (s[i + 1] == ' ' || s[i + 1] == '\t' || s[i + 1] == '\r'))
					strbuf_addch(&word, s[++i]);
			}
		}
		if (parse_heredoc_word(p->escape, word.buf, &h))
			*PUSH(in->heredocs, in->heredocs_nr) = h;
	}
	strbuf_release(&word);
}

static int read_heredocs(struct parser *p, struct ah_df_instr *in)
{
	for (size_t k = 0; k < in->heredocs_nr; k++) {
		struct ah_df_heredoc *h = &in->heredocs[k];
		struct strbuf body = STRBUF_INIT;
		const char *line;
		size_t len, raw_len;
		int done = 0, r;

		/* As BuildKit: the body keeps its line ends ("\r\n" too); the delimiter line is compared without them. */
		while ((r = next_line(p, &line, &len, &raw_len)) > 0) {
			size_t tn = raw_len;

			if (h->strip_tabs)
				while (raw_len && *line == '\t')
					line++, raw_len--, tn--;
			while (tn && (line[tn - 1] == '\n' || line[tn - 1] == '\r'))
				tn--;
			if (tn == strlen(h->name) && !memcmp(line, h->name, tn)) {
				done = 1;
				break;
			}
			strbuf_add(&body, line, raw_len);
		}
		h->body = strbuf_detach(&body, NULL);
		if (r < 0)
			return -1;
		if (!done)
			return perr(p, in->line, "unterminated heredoc '%s'", h->name);
		if (budget(p, strlen(h->body), in->line) < 0)
			return -1;
	}
	return 0;
}

static int expand_heredocs(struct parser *p, struct ah_df_instr *in, enum scope scope)
{
	for (size_t k = 0; k < in->heredocs_nr; k++) {
		struct ah_df_heredoc *h = &in->heredocs[k];
		char *body;

		if (!h->expand || scope == SCOPE_NONE)
			continue;
		body = process_word(p, h->body, strlen(h->body), scope, in->line, 1);
		if (!body)
			return -1;
		free(h->body);
		h->body = body;
	}
	return 0;
}

static int heredoc_dest(struct parser *p, const struct ah_df_instr *in)
{
	return perr(p, in->line, "%s cannot accept a heredoc as a destination", ah_df_kind_name(in->kind));
}

/*
 * COPY ADD VOLUME: a JSON array or words, each substituted; EXPOSE: words
 * only, as BuildKit reads it.
 */
static int parse_list(struct parser *p, struct ah_df_instr *in, const char *s, size_t n,
		      enum scope scope)
{
	struct words w = { NULL, 0 };
	int r = in->kind == AH_DF_EXPOSE ? 0 : parse_json(p, in, s, n), ret = -1;
	size_t i;

	if (r < 0)
		return -1;
	if (r) {
		struct ah_df_heredoc h;

		if ((in->kind == AH_DF_COPY || in->kind == AH_DF_ADD) && in->args_nr &&
		    parse_heredoc_word(p->escape, in->args[in->args_nr - 1], &h)) {
			free(h.name);
			return heredoc_dest(p, in);
		}
		if (scope == SCOPE_NONE)
			return 0;
		for (i = 0; i < in->args_nr; i++) {
			char *v = process_word(p, in->args[i], strlen(in->args[i]), scope,
					       in->line, 0);

			if (!v)
				return -1;
			free(in->args[i]);
			in->args[i] = v;
		}
		return 0;
	}
	split_blanks(s, n, &w);
	for (i = 0; i < w.nr; i++) {
		struct ah_df_heredoc h;
		char *v;
		size_t len;

		if ((in->kind == AH_DF_COPY || in->kind == AH_DF_ADD) &&
		    parse_heredoc_word(p->escape, w.v[i], &h)) {
			free(h.name);
			if (i + 1 == w.nr) {
				heredoc_dest(p, in);
				goto done;
			}
			add_arg(in, w.v[i], strlen(w.v[i]));
			continue;
		}
		if (scope == SCOPE_NONE) {
			add_arg(in, w.v[i], strlen(w.v[i]));
			continue;
		}
		if (in->kind != AH_DF_EXPOSE) {
			if (!(v = process_word(p, w.v[i], strlen(w.v[i]), scope, in->line, 0)))
				goto done;
			*PUSH(in->args, in->args_nr) = v;
			continue;
		}
		/* EXPOSE $PORTS: BuildKit splits each word again after substitution. */
		if (!(v = process_word_len(p, w.v[i], strlen(w.v[i]), scope, in->line, LEX_SPLIT, &len)))
			goto done;
		for (size_t k = 0, e; k < len; k = e + 1) {
			e = k + strlen(v + k);
			if (e > k)
				add_arg(in, v + k, e - k);
		}
		free(v);
	}
	ret = 0;
done:
	words_clear(&w);
	return ret;
}

/* ENV LABEL: k=v ..., or the legacy "k v" with the rest of the line as v. */
static int parse_pairs(struct parser *p, struct ah_df_instr *in, const char *s, size_t n,
		       enum scope scope)
{
	const char *what = ah_df_kind_name(in->kind);
	struct words w = { NULL, 0 };
	size_t i;
	int ret = -1;

	split_quoted(p->escape, s, n, &w);
	if (!w.nr) {
		perr(p, in->line, "%s requires at least one argument", what);
		goto done;
	}
	if (!strchr(w.v[0], '=')) {
		const char *v = s;
		size_t vn = n;
		struct ah_df_kv *kv;

		size_t key_len;

		while (vn && !is_space(*v))
			v++, vn--;
		key_len = (size_t)(v - s);
		skip_space(&v, &vn);
		if (!vn) {
			perr(p, in->line, "%s must have two arguments", what);
			goto done;
		}
		kv = PUSH(in->kvs, in->kvs_nr);
		kv->key = process_word(p, s, key_len, scope, in->line, 0);
		if (!kv->key || !(kv->value = process_word(p, v, vn, scope, in->line, 0)))
			goto done;
	} else {
		for (i = 0; i < w.nr; i++) {
			char *eq = strchr(w.v[i], '=');
			struct ah_df_kv *kv;

			if (!eq) {
				perr(p, in->line, "syntax error: can't find = in '%s': must be of the form name=value",
				     w.v[i]);
				goto done;
			}
			kv = PUSH(in->kvs, in->kvs_nr);
			kv->key = process_word(p, w.v[i], (size_t)(eq - w.v[i]), scope, in->line, 0);
			if (!kv->key ||
			    !(kv->value = process_word(p, eq + 1, strlen(eq + 1), scope, in->line, 0)))
				goto done;
		}
	}
	for (i = 0; i < in->kvs_nr; i++)
		if (!*in->kvs[i].key) {
			perr(p, in->line, "%s names can not be blank", what);
			goto done;
		}
	ret = 0;
done:
	words_clear(&w);
	return ret;
}

static int valid_arg_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (is_space(*s) || *s == '$' || *s == '\'' || *s == '"')
			return 0;
	return 1;
}

static int parse_arg(struct parser *p, struct ah_df_instr *in, const char *s, size_t n,
		     enum scope scope, int apply)
{
	struct words w = { NULL, 0 };
	int ret = -1;

	split_quoted(p->escape, s, n, &w);
	if (!w.nr) {
		perr(p, in->line, "ARG requires at least one argument");
		goto done;
	}
	for (size_t i = 0; i < w.nr; i++) {
		char *eq = strchr(w.v[i], '='), *def = NULL;
		const struct ah_df_kv *ba, *global;
		struct ah_df_kv *kv = PUSH(in->kvs, in->kvs_nr);

		kv->key = eq ? xstrndup(w.v[i], (size_t)(eq - w.v[i])) : xstrdup(w.v[i]);
		if (!valid_arg_name(kv->key)) {
			perr(p, in->line, "invalid ARG name '%s'", kv->key);
			goto done;
		}
		if (eq && !(def = process_word(p, eq + 1, strlen(eq + 1), scope, in->line, 0)))
			goto done;
		if (!apply) {
			kv->value = def;
			continue;
		}
		ba = kv_find(&p->build_args, kv->key, strlen(kv->key));
		global = scope == SCOPE_STAGE ? kv_find(&p->meta, kv->key, strlen(kv->key)) : NULL;
		if (ba && ba->value) {
			kv->value = xstrdup(ba->value);
			free(def);
		} else if (def) {
			kv->value = def;
		} else if (global && global->value) {
			kv->value = xstrdup(global->value);
		} else if (scope == SCOPE_STAGE && auto_arg(p, kv->key, strlen(kv->key))) {
			kv->value = xstrdup(auto_arg(p, kv->key, strlen(kv->key)));
		}
		kv_set(scope == SCOPE_META ? &p->meta : &p->args, kv->key, kv->value);
	}
	ret = 0;
done:
	words_clear(&w);
	return ret;
}

/* A port or a range, as BuildKit's parsePortRange: 1 and [*a, *b], else 0. */
static int port_range(const char *s, size_t n, unsigned *a, unsigned *b)
{
	const char *dash = memchr(s, '-', n);
	size_t i, alen = dash ? (size_t)(dash - s) : n;
	unsigned long v[2];

	for (i = 0; i < 2; i++) {
		const char *d = i ? dash + 1 : s;
		size_t l = i ? n - alen - 1 : alen, k = 0;

		if (l && *d == '+')	/* Go's ParseInt takes a sign */
			k++;
		if (k == l || strspn(d + k, "0123456789") < l - k)
			return 0;
		while (l - k > 1 && d[k] == '0')
			k++;
		if (l - k > 5)
			return 0;
		v[i] = strtoul(d + k, NULL, 10);
		if (v[i] > 65535)
			return 0;
		/* "80-80" and "80" are one port; anything after a second '-' is the end */
		if (!i && (!dash || (n - alen - 1 == alen && !memcmp(s, dash + 1, alen)))) {
			v[1] = v[0];
			break;
		}
	}
	if (v[1] < v[0])
		return 0;
	*a = (unsigned)v[0];
	*b = (unsigned)v[1];
	return 1;
}

/*
 * An EXPOSE word, [[IP:]HOST:]PORT[-END][/PROTO], as BuildKit takes it:
 * the IP and host port are checked and dropped (BuildKit warns of them).
 */
static int parse_port(const char *s, struct ah_df_port *port)
{
	const char *cont = strrchr(s, ':'), *slash, *proto;
	unsigned ha, hb;

	if (cont) {
		const char *host = s, *hend = cont;
		const char *ipend = memrchr(s, ':', (size_t)(cont - s));

		if (ipend) {
			char ip[64];
			size_t iplen = (size_t)(ipend - s);
			struct in6_addr addr;

			if (iplen >= 2 && *s == '[' && s[iplen - 1] == ']') {
				s++;
				iplen -= 2;
			}
			if (iplen >= sizeof(ip))
				return -1;
			memcpy(ip, s, iplen);
			ip[iplen] = '\0';
			if (iplen && inet_pton(AF_INET, ip, &addr) != 1 && inet_pton(AF_INET6, ip, &addr) != 1)
				return -1;
			host = ipend + 1;
		}
		s = cont + 1;
		slash = strchr(s, '/');
		if (!port_range(s, slash ? (size_t)(slash - s) : strlen(s), &port->start, &port->end))
			return -1;
		/* A host range must match a container range; a single container port takes any. */
		if (hend > host && (!port_range(host, (size_t)(hend - host), &ha, &hb) ||
				    (hb - ha != port->end - port->start && port->end != port->start)))
			return -1;
	}
	slash = strchr(s, '/');
	if (!port_range(s, slash ? (size_t)(slash - s) : strlen(s), &port->start, &port->end))
		return -1;
	proto = slash ? slash + 1 : "tcp";
	if (strcasecmp(proto, "tcp") && strcasecmp(proto, "udp") && strcasecmp(proto, "sctp"))
		return -1;
	for (size_t i = 0; i <= strlen(proto); i++)
		port->proto[i] = (char)tolower((unsigned char)proto[i]);
	return 0;
}

/* A Go duration ("30s", "1m30s", "1.5h", "0") in nanoseconds; -1 if bad. */
static int64_t parse_duration(const char *s)
{
	static const struct { const char *unit; int64_t ns; } units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 }, { "ms", 1000000 },
		{ "s", 1000000000LL }, { "m", 60000000000LL }, { "h", 3600000000000LL },
	};
	double total = 0;

	if (!strcmp(s, "0"))
		return 0;
	if (!*s)
		return -1;
	while (*s) {
		char *end;
		double v;
		size_t k, best = 0, best_len = 0;

		if (!isdigit((unsigned char)*s) && *s != '.')
			return -1;
		v = strtod(s, &end);
		if (end == s)
			return -1;
		s = end;
		for (k = 0; k < sizeof(units) / sizeof(*units); k++) {
			size_t l = strlen(units[k].unit);

			if (!strncmp(s, units[k].unit, l) && l > best_len) {
				best = k;
				best_len = l;
			}
		}
		if (!best_len)
			return -1;
		total += v * (double)units[best].ns;
		if (total > 9.2e18)
			return -1;
		s += best_len;
	}
	return (int64_t)total;
}

static int parse_healthcheck(struct parser *p, struct ah_df_instr *in, const char *s, size_t n)
{
	static const char *const opts[] = { "interval", "timeout", "start-period", "start-interval" };
	int64_t *dst[] = { &in->health.interval_ns, &in->health.timeout_ns,
			   &in->health.start_period_ns, &in->health.start_interval_ns };
	const char *rest = s;
	size_t type_len, rest_len = n, i;
	const char *v;

	while (rest_len && !is_space(*rest))
		rest++, rest_len--;
	type_len = (size_t)(rest - s);
	skip_space(&rest, &rest_len);
	if (!type_len)
		return perr(p, in->line, "HEALTHCHECK requires at least one argument");
	if (type_len == 4 && !strncasecmp(s, "NONE", 4)) {
		if (rest_len)
			return perr(p, in->line, "HEALTHCHECK NONE takes no arguments");
		if (in->flags_nr)
			return perr(p, in->line, "HEALTHCHECK NONE takes no options");
		in->health.none = 1;
		return 0;
	}
	if (type_len != 3 || strncasecmp(s, "CMD", 3))
		return perr(p, in->line, "unknown type '%.*s' in HEALTHCHECK (try CMD)",
			    (int)type_len, s);
	for (i = 0; i < 4; i++) {
		if (!(v = ah_df_flag(in, opts[i])))
			continue;
		*dst[i] = parse_duration(v);
		if (*dst[i] < 0)
			return perr(p, in->line, "invalid duration '%s' for --%s", v, opts[i]);
		if (*dst[i] && *dst[i] < 1000000)
			return perr(p, in->line, "--%s cannot be less than 1ms", opts[i]);
	}
	if ((v = ah_df_flag(in, "retries"))) {
		char *end;
		long r = strtol(v, &end, 10);

		if (!*v || *end || r < 0 || r > 1000000)
			return perr(p, in->line, "invalid --retries '%s'", v);
		in->health.retries = (int)r;
	}
	return parse_command(p, in, rest, rest_len, "HEALTHCHECK CMD");
}

static int valid_chmod(const char *s)
{
	if (*s >= '0' && *s <= '7') {
		char *end;
		unsigned long m = strtoul(s, &end, 8);

		return !*end && m <= 07777;
	}
	do {
		s += strspn(s, "ugoa");
		if (!*s || !strchr("+-=", *s))
			return 0;
		s++;
		s += strspn(s, "rwxXst");
	} while (*s == ',' && *++s);
	return !*s;
}

/*
 * A signal as moby's signal.ParseSignal takes it: a non-zero number, or a
 * Linux signal's name, any case, "SIG" optional ("RTMIN+3" too).
 */
static int valid_signal(const char *s)
{
	static const char *const names[] = {
		"ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO",
		"IOT", "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP",
		"SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM",
		"WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX",
	};
	const char *d = s + (*s == '+' || *s == '-');
	size_t i, len;
	char *end;

	if (*d && d[strspn(d, "0123456789")] == '\0') {
		long long v;

		errno = 0;
		v = strtoll(s, &end, 10);
		return !errno && v != 0;
	}
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (i = 0; i < sizeof(names) / sizeof(*names); i++) {
		len = strlen(names[i]);
		if (strncasecmp(s, names[i], len))
			continue;
		if (!s[len])
			return 1;
		/* RTMIN+1..RTMIN+15, RTMAX-14..RTMAX-1 */
		if (len == 5 && !strncasecmp(s, "RT", 2) &&
		    s[len] == (toupper((unsigned char)s[3]) == 'I' ? '+' : '-') &&
		    isdigit((unsigned char)s[len + 1]) && s[len + 1] != '0') {
			unsigned long k = strtoul(s + len + 1, &end, 10);

			return !*end && k <= (s[len] == '+' ? 15UL : 14UL) && strlen(s + len + 1) <= 2;
		}
	}
	return 0;
}

/* The value of key in a --mount's "k=v,k=v" list (the last given), and its length; else NULL. */
static const char *mount_field(const char *m, const char *key, size_t *len)
{
	size_t klen = strlen(key);
	const char *v = NULL;

	for (;;) {
		size_t n = strcspn(m, ",");

		if (n > klen && !strncmp(m, key, klen) && m[klen] == '=') {
			v = m + klen + 1;
			*len = n - klen - 1;
		}
		if (!m[n])
			return v;
		m += n + 1;
	}
}

static int check_flags(struct parser *p, struct ah_df_instr *in)
{
	const char *v;

	if ((v = ah_df_flag(in, "network")) && strcmp(v, "default") && strcmp(v, "none") &&
	    strcmp(v, "host"))
		return perr(p, in->line, "invalid --network '%s': must be default, none or host", v);
	if ((v = ah_df_flag(in, "security")) && strcmp(v, "sandbox") && strcmp(v, "insecure"))
		return perr(p, in->line, "invalid --security '%s': must be sandbox or insecure", v);
	if ((v = ah_df_flag(in, "chmod")) && !valid_chmod(v))
		return perr(p, in->line, "invalid --chmod '%s'", v);
	if ((v = ah_df_flag(in, "chown")) && !*v)
		return perr(p, in->line, "--chown needs a user");
	if ((v = ah_df_flag(in, "from")) && !*v)
		return perr(p, in->line, "--from needs a stage or an image");
	for (size_t i = 0; i < in->flags_nr; i++) {
		const char *m = in->flags[i].value, *type, *sharing;
		size_t len, slen;

		if (strcmp(in->flags[i].name, "mount"))
			continue;
		if (!*m)
			return perr(p, in->line, "empty --mount");
		if (!(type = mount_field(m, "type", &len))) {
			type = "bind";	/* the default */
			len = 4;
		}
		if (!((len == 4 && !strncmp(type, "bind", 4)) || (len == 5 && !strncmp(type, "cache", 5)) ||
		      (len == 5 && !strncmp(type, "tmpfs", 5)) ||
		      (len == 6 && !strncmp(type, "secret", 6)) || (len == 3 && !strncmp(type, "ssh", 3))))
			return perr(p, in->line, "invalid mount type '%.*s'", (int)len, type);
		if (!(sharing = mount_field(m, "sharing", &slen)))
			continue;
		if (!((slen == 6 && !strncasecmp(sharing, "shared", 6)) ||
		      (slen == 7 && !strncasecmp(sharing, "private", 7)) ||
		      (slen == 6 && !strncasecmp(sharing, "locked", 6))))
			return perr(p, in->line, "unsupported sharing value '%.*s' in --mount: must be shared, private or locked",
				    (int)slen, sharing);
		if (len != 5 || strncmp(type, "cache", 5))
			return perr(p, in->line, "invalid cache sharing set for %.*s mount", (int)len, type);
	}
	return 0;
}

static int valid_stage_name(const char *s)
{
	if (!islower((unsigned char)*s))
		return 0;
	for (s++; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && !strchr("-_.", *s))
			return 0;
	return 1;
}

static int parse_from(struct parser *p, struct ah_df_instr *in, const char *s, size_t n,
		      struct ah_df_stage *st)
{
	struct words w = { NULL, 0 };
	const char *platform;
	int ret = -1;

	split_blanks(s, n, &w);
	if (w.nr != 1 && !(w.nr == 3 && !strcasecmp(w.v[1], "as"))) {
		perr(p, in->line, "FROM requires either one or three arguments (FROM image [AS name])");
		goto done;
	}
	if (!(st->base = process_word(p, w.v[0], strlen(w.v[0]), SCOPE_META, in->line, 0)))
		goto done;
	if (!*st->base) {
		perr(p, in->line, "base name '%s' should not be blank", w.v[0]);
		goto done;
	}
	add_arg(in, st->base, strlen(st->base));
	if (w.nr == 3) {
		for (char *c = w.v[2]; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (!valid_stage_name(w.v[2])) {
			perr(p, in->line, "invalid stage name '%s': it must start with a letter and hold only letters, digits, '-', '_' and '.'",
			     w.v[2]);
			goto done;
		}
		if (ah_df_stage_index(p->df, w.v[2]) >= 0) {
			perr(p, in->line, "duplicate stage name '%s'", w.v[2]);
			goto done;
		}
		st->name = xstrdup(w.v[2]);
	}
	if ((platform = ah_df_flag(in, "platform")) && *platform)
		st->platform = xstrdup(platform);
	st->base_stage = ah_df_stage_index(p->df, st->base);
	ret = 0;
done:
	words_clear(&w);
	return ret;
}

static int resolve_from(struct parser *p, struct ah_df_instr *in)
{
	const char *from = ah_df_flag(in, "from");
	size_t cur = p->df->stages_nr - 1;

	in->from_stage = -1;
	if (!from)
		return 0;
	if (from[strspn(from, "0123456789")] == '\0') {
		unsigned long idx = strtoul(from, NULL, 10);

		if (strlen(from) > 6 || idx >= cur)
			return perr(p, in->line, "COPY --from=%s: stage %s is not an earlier stage",
				    from, from);
		in->from_stage = (int)idx;
		return 0;
	}
	for (size_t i = 0; i < cur; i++)
		if (p->df->stages[i].name && !strcasecmp(p->df->stages[i].name, from))
			in->from_stage = (int)i;
	return 0;
}

static int kind_of(const char *s, size_t n, enum ah_df_kind *kind)
{
	for (size_t k = 0; k < NR_KINDS; k++)
		if (strlen(kind_names[k]) == n && !strncasecmp(kind_names[k], s, n)) {
			*kind = (enum ah_df_kind)k;
			return 0;
		}
	return -1;
}

/*
 * One instruction from its logical line. trigger: inside ONBUILD (no
 * substitution, no ARG/ENV effect, no heredocs).
 */
static int parse_instr(struct parser *p, const char *s, size_t n, int line, int trigger,
		       struct ah_df_instr *in, struct ah_df_stage *new_stage)
{
	struct words fw = { NULL, 0 };
	const char *rest, *word = s;
	size_t rest_len, word_len;
	enum scope scope;
	int ret = -1;

	in->line = in->end_line = line;
	while (n && is_space(s[n - 1]))
		n--;
	in->original = xstrndup(s, n);
	while (n && !is_space(*s))
		s++, n--;
	word_len = (size_t)(s - word);
	if (kind_of(word, word_len, &in->kind) < 0) {
		perr(p, line, "unknown instruction '%.*s'", (int)(word_len > 64 ? 64 : word_len), word);
		goto done;
	}
	split_flags(s, n, &fw, &rest, &rest_len);
	if (trigger)
		scope = SCOPE_NONE;
	else if (in->kind == AH_DF_FROM || (in->kind == AH_DF_ARG && !p->stage))
		scope = SCOPE_META;
	else
		scope = SCOPE_STAGE;
	if (!trigger && !p->stage && in->kind != AH_DF_FROM && in->kind != AH_DF_ARG) {
		perr(p, line, "%s before the first FROM: a Dockerfile must start with FROM (or ARG)",
		     ah_df_kind_name(in->kind));
		goto done;
	}
	if (parse_flags(p, in, &fw, scope) < 0 || check_flags(p, in) < 0)
		goto done;

	switch (in->kind) {
	case AH_DF_FROM:
		if (trigger) {
			perr(p, line, "FROM isn't allowed as an ONBUILD trigger");
			goto done;
		}
		if (parse_from(p, in, rest, rest_len, new_stage) < 0)
			goto done;
		break;
	case AH_DF_RUN:
	case AH_DF_CMD:
	case AH_DF_ENTRYPOINT:
		if (parse_command(p, in, rest, rest_len, ah_df_kind_name(in->kind)) < 0)
			goto done;
		if (in->kind == AH_DF_RUN && !in->exec_form)
			find_heredocs(p, in, rest, rest_len);
		break;
	case AH_DF_SHELL:
		if (parse_json(p, in, rest, rest_len) <= 0) {
			if (!p->err->status)
				perr(p, line, "SHELL requires the arguments to be in JSON form");
			goto done;
		}
		if (!in->args_nr) {
			perr(p, line, "SHELL requires at least one argument");
			goto done;
		}
		break;
	case AH_DF_COPY:
	case AH_DF_ADD:
		if (!(rest_len && *rest == '['))
			find_heredocs(p, in, rest, rest_len);
		if (parse_list(p, in, rest, rest_len, scope) < 0)
			goto done;
		if (in->args_nr < 2) {
			perr(p, line, "%s requires at least two arguments: sources and a destination",
			     ah_df_kind_name(in->kind));
			goto done;
		}
		for (size_t i = 0; i < in->args_nr; i++)
			if (!*in->args[i]) {
				perr(p, line, "%s: an empty source or destination",
				     ah_df_kind_name(in->kind));
				goto done;
			}
		if (in->kind == AH_DF_COPY && !trigger && resolve_from(p, in) < 0)
			goto done;
		break;
	case AH_DF_VOLUME:
	case AH_DF_EXPOSE:
		if (parse_list(p, in, rest, rest_len, scope) < 0)
			goto done;
		/* EXPOSE $NONE is no port, as BuildKit checks before substitution. */
		if (!in->args_nr && (in->kind == AH_DF_VOLUME || !rest_len)) {
			perr(p, line, "%s requires at least one argument", ah_df_kind_name(in->kind));
			goto done;
		}
		for (size_t i = 0; i < in->args_nr; i++) {
			struct ah_df_port port;

			if (in->kind == AH_DF_VOLUME) {
				if (!*in->args[i]) {
					perr(p, line, "VOLUME specified can not be an empty string");
					goto done;
				}
			} else if (trigger && strchr(in->args[i], '$')) {
				continue;
			} else if (parse_port(in->args[i], &port) < 0) {
				perr(p, line, "invalid port '%s' in EXPOSE: must be PORT[/PROTO] or START-END[/PROTO]",
				     in->args[i]);
				goto done;
			} else {
				*PUSH(in->ports, in->ports_nr) = port;
			}
		}
		break;
	case AH_DF_ENV:
	case AH_DF_LABEL:
		if (parse_pairs(p, in, rest, rest_len, scope) < 0)
			goto done;
		if (in->kind == AH_DF_ENV && !trigger) {
			for (size_t i = 0; i < in->kvs_nr; i++)
				kv_set(&p->env, in->kvs[i].key, in->kvs[i].value);
		}
		break;
	case AH_DF_ARG:
		if (parse_arg(p, in, rest, rest_len, scope, !trigger) < 0)
			goto done;
		break;
	case AH_DF_WORKDIR:
	case AH_DF_USER:
	case AH_DF_STOPSIGNAL:
	case AH_DF_MAINTAINER: {
		char *v;

		if (!rest_len) {
			perr(p, line, "%s requires exactly one argument", ah_df_kind_name(in->kind));
			goto done;
		}
		if (in->kind == AH_DF_MAINTAINER || scope == SCOPE_NONE)
			v = xstrndup(rest, rest_len);
		else if (!(v = process_word(p, rest, rest_len, scope, line, 0)))
			goto done;
		*PUSH(in->args, in->args_nr) = v;
		if (!*v) {
			perr(p, line, "%s requires exactly one argument", ah_df_kind_name(in->kind));
			goto done;
		}
		if (in->kind == AH_DF_STOPSIGNAL && scope != SCOPE_NONE && !valid_signal(v)) {
			perr(p, line, "invalid STOPSIGNAL '%s'", v);
			goto done;
		}
		break;
	}
	case AH_DF_HEALTHCHECK:
		if (parse_healthcheck(p, in, rest, rest_len) < 0)
			goto done;
		break;
	case AH_DF_ONBUILD: {
		const char *t = rest;
		size_t tn = rest_len, k;
		enum ah_df_kind tk;

		if (trigger) {
			perr(p, line, "ONBUILD ONBUILD isn't allowed");
			goto done;
		}
		if (!rest_len) {
			perr(p, line, "ONBUILD requires at least one argument");
			goto done;
		}
		for (k = 0; k < tn && !is_space(t[k]); k++)
			;
		if (!kind_of(t, k, &tk) && (tk == AH_DF_ONBUILD || tk == AH_DF_MAINTAINER ||
					    tk == AH_DF_FROM)) {
			perr(p, line, "%s isn't allowed as an ONBUILD trigger", ah_df_kind_name(tk));
			goto done;
		}
		in->trigger = xcalloc(1, sizeof(*in->trigger));
		in->trigger->from_stage = -1;
		if (parse_instr(p, t, tn, line, 1, in->trigger, NULL) < 0)
			goto done;
		add_arg(in, in->trigger->original, strlen(in->trigger->original));
		break;
	}
	}
	if (in->kind == AH_DF_RUN && !trigger)
		for (size_t i = 0; i < p->args.nr; i++) {
			const struct ah_df_kv *kv = &p->args.v[i];

			if (!kv->value)
				continue;
			/* Counted: many ARGs times many RUNs must not run away. */
			if (budget(p, strlen(kv->key) + strlen(kv->value) + 32, line) < 0)
				goto done;
			*PUSH(in->env, in->env_nr) = xstrfmt("%s=%s", kv->key, kv->value);
		}
	ret = 0;
done:
	words_clear(&fw);
	return ret;
}

/* The stage ends: it keeps the ENVs in effect, for the stages built on it. */
static void finish_stage(struct parser *p)
{
	p->stage->env = p->env.v;
	p->stage->env_nr = p->env.nr;
	p->env.v = NULL;
	p->env.nr = 0;
}

static int add_instr(struct parser *p, const char *s, size_t n, int line)
{
	struct ah_df_instr in;
	struct ah_df_stage st;
	int ret = -1;

	memset(&in, 0, sizeof(in));
	memset(&st, 0, sizeof(st));
	st.base_stage = -1;
	in.from_stage = -1;
	if (++p->df->instrs_nr > AH_DOCKERFILE_MAX_INSTRUCTIONS) {
		perr(p, line, "too many instructions (the limit is %d)", AH_DOCKERFILE_MAX_INSTRUCTIONS);
		goto done;
	}
	if (parse_instr(p, s, n, line, 0, &in, &st) < 0)
		goto done;
	if ((in.kind == AH_DF_RUN || in.kind == AH_DF_COPY || in.kind == AH_DF_ADD) &&
	    in.heredocs_nr) {
		if (read_heredocs(p, &in) < 0)
			goto done;
		in.end_line = p->lineno;
		if (in.kind != AH_DF_RUN && expand_heredocs(p, &in, SCOPE_STAGE) < 0)
			goto done;
	}
	if (in.kind == AH_DF_ONBUILD && in.trigger->heredocs_nr) {
		/* As BuildKit keeps it for the image's OnBuild: the line, then each body and its delimiter. */
		struct strbuf expr = STRBUF_INIT;

		if (read_heredocs(p, in.trigger) < 0)
			goto done;
		in.end_line = in.trigger->end_line = p->lineno;
		strbuf_addstr(&expr, in.trigger->original);
		for (size_t i = 0; i < in.trigger->heredocs_nr; i++)
			strbuf_addf(&expr, "\n%s%s", in.trigger->heredocs[i].body,
				    in.trigger->heredocs[i].name);
		free(in.args[0]);
		in.args[0] = strbuf_detach(&expr, NULL);
	}
	if (in.kind == AH_DF_FROM) {
		struct ah_df_stage *prev = p->stage;

		if (prev)
			finish_stage(p);
		kv_clear(&p->env);
		kv_clear(&p->args);
		if (st.base_stage >= 0) {
			const struct ah_df_stage *base = &p->df->stages[st.base_stage];

			for (size_t i = 0; i < base->env_nr; i++)
				if (budget(p, strlen(base->env[i].key) + 32 +
					   (base->env[i].value ? strlen(base->env[i].value) : 0), line) < 0)
					goto done;
			kv_copy(&p->env, base->env, base->env_nr);
		}
		p->stage = NULL;
		*PUSH(p->df->stages, p->df->stages_nr) = st;
		memset(&st, 0, sizeof(st));
		p->stage = &p->df->stages[p->df->stages_nr - 1];
		*PUSH(p->stage->instrs, p->stage->instrs_nr) = in;
	} else if (!p->stage) {
		*PUSH(p->df->meta_args, p->df->meta_args_nr) = in;
	} else {
		*PUSH(p->stage->instrs, p->stage->instrs_nr) = in;
	}
	memset(&in, 0, sizeof(in));
	ret = 0;
done:
	clear_instr(&in);
	free(st.name);
	free(st.base);
	free(st.platform);
	return ret;
}

/* COPY --from naming the current or a later stage. */
static int check_copy_from(struct parser *p)
{
	for (size_t i = 0; i < p->df->stages_nr; i++) {
		const struct ah_df_stage *st = &p->df->stages[i];

		for (size_t j = 0; j < st->instrs_nr; j++) {
			const struct ah_df_instr *in = &st->instrs[j];
			const char *from;
			int k;

			if (in->kind != AH_DF_COPY || in->from_stage >= 0 ||
			    !(from = ah_df_flag(in, "from")))
				continue;
			k = ah_df_stage_index(p->df, from);
			if (k >= 0 && (size_t)k >= i)
				return perr(p, in->line, "COPY --from=%s names %s stage", from,
					    (size_t)k == i ? "its own" : "a later");
		}
	}
	return 0;
}

static int parse_build_args(struct parser *p)
{
	const struct ah_df_options *o = p->opts;

	for (size_t i = 0; o && i < o->build_args_nr; i++) {
		const char *a = o->build_args[i], *eq = strchr(a, '=');
		char *key = eq ? xstrndup(a, (size_t)(eq - a)) : xstrdup(a);

		kv_set(&p->build_args, key, eq ? eq + 1 : NULL);
		free(key);
	}
	return 0;
}

int ah_dockerfile_parse(const char *buf, size_t len, const char *file,
			const struct ah_df_options *opts, struct ah_dockerfile **out,
			struct ah_err *err)
{
	struct parser p;
	struct strbuf logical = STRBUF_INIT;
	const char *line;
	size_t n;
	int ret = -1, r;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.file = file;
	p.buf = buf;
	p.len = len;
	p.escape = '\\';
	p.opts = opts;
	p.err = err;
	err->status = 0;
	p.df = xcalloc(1, sizeof(*p.df));
	p.df->file = xstrdup(file);
	if (len > AH_DOCKERFILE_MAX_SIZE) {
		perr(&p, 0, "too large (%zu bytes; the limit is %d)", len, AH_DOCKERFILE_MAX_SIZE);
		goto done;
	}
	if (check_bytes(&p) < 0 || parse_build_args(&p) < 0)
		goto done;

	while ((r = next_line(&p, &line, &n, NULL)) > 0) {
		int start;

		skip_space(&line, &n);
		if (parse_directive(&p, line, n) < 0)
			goto done;
		if (!n || *line == '#')
			continue;
		start = p.lineno;
		strbuf_reset(&logical);
		if (continues(&p, line, &n)) {
			strbuf_add(&logical, line, n);
			while ((r = next_line(&p, &line, &n, NULL)) > 0) {
				const char *t = line;
				size_t tn = n;

				skip_space(&t, &tn);
				if (tn && *t == '#')
					continue;
				if (!tn)
					continue;
				if (!continues(&p, line, &n)) {
					strbuf_add(&logical, line, n);
					break;
				}
				strbuf_add(&logical, line, n);
			}
			if (r < 0)
				goto done;
		} else {
			strbuf_add(&logical, line, n);
		}
		if (!logical.len || (strbuf_trim(&logical), !logical.len))
			continue;
		p.directives_done = 1;
		if (add_instr(&p, logical.buf, logical.len, start) < 0)
			goto done;
	}
	if (r < 0)
		goto done;
	if (!p.df->stages_nr) {
		perr(&p, 0, "%s", p.df->meta_args_nr ? "no FROM instruction" : "no instructions");
		goto done;
	}
	finish_stage(&p);
	if (check_copy_from(&p) < 0)
		goto done;
	p.df->target = p.df->stages_nr - 1;
	if (opts && opts->target) {
		int t = ah_df_stage_index(p.df, opts->target);

		if (t < 0) {
			perr(&p, 0, "target stage '%s' could not be found", opts->target);
			goto done;
		}
		p.df->target = (size_t)t;
	}
	p.df->escape = p.escape;
	*out = p.df;
	p.df = NULL;
	ret = 0;
done:
	strbuf_release(&logical);
	kv_clear(&p.build_args);
	kv_clear(&p.meta);
	kv_clear(&p.args);
	kv_clear(&p.env);
	ah_dockerfile_free(p.df);
	return ret;
}
