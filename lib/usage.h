#ifndef USAGE_H
#define USAGE_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Messages in the form "apphub: <what>: <why>" on stderr. error() and
 * warning() may be called anywhere; die() exits and belongs to apphub.c and
 * cmd/ only: library code returns errors instead (serve runs it per request).
 */
#define APPHUB_EXIT_OK 0
#define APPHUB_EXIT_FAILED 1
#define APPHUB_EXIT_NOTFOUND 2
#define APPHUB_EXIT_CONFLICT 3
#define APPHUB_EXIT_FATAL 128
#define APPHUB_EXIT_USAGE 129

#define APPHUB_FMT(a, b) __attribute__((format(printf, a, b)))

int error(const char *fmt, ...) APPHUB_FMT(1, 2);
void warning(const char *fmt, ...) APPHUB_FMT(1, 2);
_Noreturn void die(const char *fmt, ...) APPHUB_FMT(1, 2);
_Noreturn void die_code(int code, const char *fmt, ...) APPHUB_FMT(2, 3);
_Noreturn void BUG_fl(const char *file, int line, const char *fmt, ...) APPHUB_FMT(3, 4);
#define BUG(...) BUG_fl(__FILE__, __LINE__, __VA_ARGS__)

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* git's: grows array x (alloc slots) to hold at least nr, by half again each time. */
#define ALLOC_GROW(x, nr, alloc) \
	do { \
		if ((size_t)(nr) > (size_t)(alloc)) { \
			(alloc) = (size_t)(nr) + 16 > (size_t)(alloc) * 3 / 2 ? \
				  (size_t)(nr) + 16 : (size_t)(alloc) * 3 / 2; \
			(x) = xrealloc((x), (size_t)(alloc) * sizeof(*(x))); \
		} \
	} while (0)
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xstrfmt(const char *fmt, ...) APPHUB_FMT(1, 2);

#endif
