/*
 * The .dockerignore rules: patterns read once, then a path matched
 * against them, as Docker's engine does.
 */
#include <stdlib.h>
#include <string.h>
#include "dockerignore.h"
#include "strbuf.h"

enum tok_type {
	T_CHAR,		/* one byte */
	T_ANY,		/* ?: one byte but '/' */
	T_CLASS,	/* [...] */
	T_STAR,		/* *: any bytes but '/' */
	T_DIRS,		/* ** before more: any number of whole directories */
	T_REST,		/* ** at the end: anything */
};

struct tok {
	enum tok_type type;
	char c;
	size_t class_at, class_len;	/* T_CLASS: the bytes between '[' and ']' */
};

struct rule {
	char *text;	/* "!" and the cleaned pattern */
	const char *pattern;	/* text + 1 */
	int exception;
	struct tok *toks;
	size_t toks_nr;
};

struct ah_dockerignore {
	struct rule *rules;
	size_t nr;
	int exceptions;
};

static int is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Go's path.Clean, in place. */
static void clean_path(struct strbuf *sb)
{
	struct strbuf out = STRBUF_INIT;
	const char *s = sb->buf, *end = sb->buf + sb->len;
	int rooted = sb->len && *s == '/';
	size_t keep = rooted ? 1 : 0;	/* what ".." may not remove */

	if (rooted)
		strbuf_addch(&out, '/');
	while (s < end) {
		const char *e = memchr(s, '/', (size_t)(end - s));
		size_t n;

		if (!e)
			e = end;
		n = (size_t)(e - s);
		if (!n || (n == 1 && *s == '.')) {
			/* nothing */
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (out.len > keep) {
				char *slash;

				out.buf[out.len] = '\0';
				slash = strrchr(out.buf + keep, '/');
				strbuf_setlen(&out, slash ? (size_t)(slash - out.buf) : keep);
			} else if (!rooted) {
				if (out.len)
					strbuf_addch(&out, '/');
				strbuf_addstr(&out, "..");
				keep = out.len;
			}
		} else {
			if (out.len > (rooted ? 1u : 0u))
				strbuf_addch(&out, '/');
			strbuf_add(&out, s, n);
		}
		s = e + (e < end);
	}
	if (!out.len)
		strbuf_addch(&out, '.');
	strbuf_reset(sb);
	strbuf_add(sb, out.buf, out.len);
	strbuf_release(&out);
}

/* The length of the class at p ("[" already read) up to its ']', or -1. */
static long scan_class(const char *p, size_t n)
{
	size_t i = 0, ranges = 0;

	if (i < n && p[i] == '^')
		i++;
	for (;;) {
		unsigned char lo, hi;

		if (i < n && p[i] == ']' && ranges)
			return (long)i;
		if (i >= n || p[i] == '-' || p[i] == ']')
			return -1;
		if (p[i] == '\\' && ++i >= n)
			return -1;
		lo = (unsigned char)p[i++];
		hi = lo;
		if (i < n && p[i] == '-') {
			if (++i >= n || p[i] == ']' || p[i] == '-')
				return -1;
			if (p[i] == '\\' && ++i >= n)
				return -1;
			hi = (unsigned char)p[i++];
			if (hi < lo)
				return -1;
		}
		ranges++;
	}
}

static int class_match(const char *p, size_t n, unsigned char c)
{
	size_t i = 0;
	int neg = 0, hit = 0;

	if (i < n && p[i] == '^') {
		neg = 1;
		i++;
	}
	while (i < n) {
		unsigned char lo, hi;

		if (p[i] == '\\')
			i++;
		lo = hi = (unsigned char)p[i++];
		if (i < n && p[i] == '-') {
			i++;
			if (p[i] == '\\')
				i++;
			hi = (unsigned char)p[i++];
		}
		if (lo <= c && c <= hi)
			hit = 1;
	}
	return hit != neg;
}

static int compile(struct rule *r)
{
	const char *p = r->pattern;
	size_t n = strlen(p), i = 0;

	while (i < n) {
		struct tok t = { T_CHAR, 0, 0, 0 };
		char c = p[i++];

		if (c == '*' && i < n && p[i] == '*') {
			i++;
			if (i < n && p[i] == '/')
				i++;
			t.type = i < n ? T_DIRS : T_REST;
		} else if (c == '*') {
			t.type = T_STAR;
		} else if (c == '?') {
			t.type = T_ANY;
		} else if (c == '[') {
			long len = scan_class(p + i, n - i);

			if (len < 0)
				return -1;
			t.type = T_CLASS;
			t.class_at = i;
			t.class_len = (size_t)len;
			i += (size_t)len + 1;
		} else if (c == '\\') {
			if (i >= n)
				return -1;
			t.c = p[i++];
		} else {
			t.c = c;
		}
		if (r->toks_nr % 16 == 0)
			r->toks = xrealloc(r->toks, (r->toks_nr + 16) * sizeof(*r->toks));
		r->toks[r->toks_nr++] = t;
	}
	return 0;
}

/* Whether the rule matches the n bytes of s, all of them. */
static int rule_match(const struct rule *r, const char *s, size_t n, unsigned char *cur,
		      unsigned char *next)
{
	size_t i, q;

	memset(cur, 0, n + 1);
	cur[0] = 1;
	for (i = 0; i < r->toks_nr; i++) {
		const struct tok *t = &r->toks[i];
		int any = 0, reach = 0;

		memset(next, 0, n + 1);
		switch (t->type) {
		case T_CHAR:
		case T_ANY:
		case T_CLASS:
			for (q = 0; q < n; q++) {
				unsigned char c = (unsigned char)s[q];

				if (!cur[q])
					continue;
				if (t->type == T_CHAR ? c == (unsigned char)t->c :
				    t->type == T_ANY ? c != '/' :
				    class_match(r->pattern + t->class_at, t->class_len, c))
					next[q + 1] = 1;
			}
			break;
		case T_STAR:
			for (q = 0; q <= n; q++)
				next[q] = cur[q] || (q && next[q - 1] && s[q - 1] != '/');
			break;
		case T_REST:
			for (q = 0; q <= n; q++)
				next[q] = cur[q] || (q && next[q - 1]);
			break;
		case T_DIRS:
			for (q = 0; q <= n; q++) {
				if (cur[q])
					reach = 1;
				next[q] |= cur[q];
				if (q < n && reach && s[q] == '/')
					next[q + 1] = 1;
			}
			break;
		}
		for (q = 0; q <= n; q++)
			any |= next[q];
		memcpy(cur, next, n + 1);
		if (!any)
			return 0;
	}
	return cur[n];
}

void ah_dockerignore_free(struct ah_dockerignore *rules)
{
	if (!rules)
		return;
	for (size_t i = 0; i < rules->nr; i++) {
		free(rules->rules[i].text);
		free(rules->rules[i].toks);
	}
	free(rules->rules);
	free(rules);
}

size_t ah_dockerignore_nr(const struct ah_dockerignore *rules)
{
	return rules ? rules->nr : 0;
}

const char *ah_dockerignore_rule(const struct ah_dockerignore *rules, size_t i)
{
	return rules->rules[i].text + !rules->rules[i].exception;
}

int ah_dockerignore_parse(const char *buf, size_t len, const char *file,
			  struct ah_dockerignore **out, struct ah_err *err)
{
	struct ah_dockerignore *di = xcalloc(1, sizeof(*di));
	struct strbuf pat = STRBUF_INIT;
	size_t pos = 0;
	int lineno = 0, ret = -1;

	*out = NULL;
	if (len > AH_DOCKERIGNORE_MAX_SIZE) {
		ah_invalid(err, "%s: too large (%zu bytes; the limit is %d)", file, len,
			   AH_DOCKERIGNORE_MAX_SIZE);
		goto done;
	}
	while (pos < len) {
		const char *s = buf + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		struct rule *r;
		int exception = 0;

		pos += n + (nl ? 1 : 0);
		if (!lineno++ && n >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
			s += 3, n -= 3;
		if (memchr(s, '\0', n)) {
			ah_invalid(err, "%s:%d: NUL byte in the file", file, lineno);
			goto done;
		}
		if (n && *s == '#')
			continue;
		while (n && is_blank(*s))
			s++, n--;
		while (n && is_blank(s[n - 1]))
			n--;
		if (!n)
			continue;
		if (*s == '!') {
			exception = 1;
			s++, n--;
			while (n && is_blank(*s))
				s++, n--;
			if (!n) {
				ah_invalid(err, "%s:%d: illegal exception pattern '!'", file, lineno);
				goto done;
			}
		}
		strbuf_reset(&pat);
		strbuf_add(&pat, s, n);
		clean_path(&pat);
		if (pat.len > 1 && pat.buf[0] == '/') {
			memmove(pat.buf, pat.buf + 1, pat.len);
			pat.len--;
		}
		strbuf_grow(&pat, 1);
		memmove(pat.buf + 1, pat.buf, pat.len + 1);
		pat.buf[0] = '!';
		pat.len++;
		if (di->nr >= AH_DOCKERIGNORE_MAX_RULES) {
			ah_invalid(err, "%s:%d: too many rules (the limit is %d)", file, lineno,
				   AH_DOCKERIGNORE_MAX_RULES);
			goto done;
		}
		if (di->nr % 16 == 0)
			di->rules = xrealloc(di->rules, (di->nr + 16) * sizeof(*di->rules));
		r = &di->rules[di->nr++];
		memset(r, 0, sizeof(*r));
		r->exception = exception;
		di->exceptions |= exception;
		r->text = xstrdup(pat.buf);
		r->pattern = r->text + 1;
		if (compile(r) < 0) {
			ah_invalid(err, "%s:%d: bad pattern '%.*s'", file, lineno, (int)n, s);
			goto done;
		}
	}
	*out = di;
	di = NULL;
	ret = 0;
done:
	strbuf_release(&pat);
	ah_dockerignore_free(di);
	return ret;
}

/* Whether an exception could re-include something under directory dir. */
static int may_reinclude(const struct ah_dockerignore *di, const char *dir, size_t len)
{
	for (size_t i = 0; i < di->nr; i++) {
		const char *p = di->rules[i].pattern;
		size_t lit = strcspn(p, "*?[\\");

		if (!di->rules[i].exception)
			continue;
		if (!p[lit]) {
			/* a plain path: dir/... */
			if (lit > len && !strncmp(p, dir, len) && p[len] == '/')
				return 1;
		} else if (!strncmp(p, dir, lit < len ? lit : len) &&
			   (lit <= len || p[len] == '/')) {
			return 1;
		}
	}
	return 0;
}

int ah_dockerignore_match(const struct ah_dockerignore *di, const char *path, int is_dir)
{
	struct strbuf sb = STRBUF_INIT;
	unsigned char *cur = NULL, *next = NULL;
	int matched = 0;
	size_t n;

	if (!di || !di->nr)
		return AH_DI_INCLUDED;
	strbuf_addstr(&sb, path);
	clean_path(&sb);
	if (sb.len > 1 && sb.buf[0] == '/') {
		memmove(sb.buf, sb.buf + 1, sb.len);
		sb.len--;
	}
	n = sb.len;
	cur = xmalloc(n + 1);
	next = xmalloc(n + 1);
	for (size_t i = 0; i < di->nr; i++) {
		const struct rule *r = &di->rules[i];
		int match;

		if (r->exception != matched)
			continue;
		match = rule_match(r, sb.buf, n, cur, next);
		/* Or one of the parent directories. */
		for (size_t k = 0; !match && k < n; k++)
			if (sb.buf[k] == '/')
				match = rule_match(r, sb.buf, k, cur, next);
		if (match)
			matched = !r->exception;
	}
	if (matched && is_dir && di->exceptions && may_reinclude(di, sb.buf, n))
		matched = AH_DI_DESCEND;
	free(cur);
	free(next);
	strbuf_release(&sb);
	return matched;
}
