/*
 * Messages (error, warning, die) in apphub's form, and the allocation
 * wrappers that die when memory runs out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "usage.h"

static void vreport(const char *prefix, const char *fmt, va_list ap)
{
	char buf[4096];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "apphub: %s%s\n", prefix, buf);
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("", fmt, ap);
	va_end(ap);
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("warning: ", fmt, ap);
	va_end(ap);
}

_Noreturn void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("", fmt, ap);
	va_end(ap);
	exit(APPHUB_EXIT_FATAL);
}

_Noreturn void die_code(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("", fmt, ap);
	va_end(ap);
	exit(code);
}

_Noreturn void BUG_fl(const char *file, int line, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "apphub: BUG: %s:%d: %s\n", file, line, buf);
	abort();
}

/* Out of memory is not an error a caller can handle usefully. */
static void *oom(void *p)
{
	if (!p) {
		fputs("apphub: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *xmalloc(size_t n)
{
	return oom(malloc(n ? n : 1));
}

void *xcalloc(size_t n, size_t size)
{
	return oom(calloc(n ? n : 1, size ? size : 1));
}

void *xrealloc(void *p, size_t n)
{
	return oom(realloc(p, n ? n : 1));
}

char *xstrdup(const char *s)
{
	return oom(strdup(s));
}

char *xstrndup(const char *s, size_t n)
{
	return oom(strndup(s, n));
}

char *xstrfmt(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(NULL);
	return s;
}
