/*
 * Documents' jansson values in chunks of one mapping (json-arena.h): a
 * document takes chunks as it grows, and gives them back when it is freed,
 * to a stack whose top the next document takes first: the memory a
 * document was just freed from is still in the processor's cache.
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <jansson.h>
#include "json-arena.h"

/* AddressSanitizer sees each allocation only when malloc makes it */
#if defined(__SANITIZE_ADDRESS__)
#define ARENA_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_OFF 1
#endif
#endif
#ifndef ARENA_OFF
#define ARENA_OFF 0
#endif

#define CHUNK ((size_t)256 << 10)

static char *base;
static size_t size, carved;	/* the mapping, and how much of it is chunks yet */
static char **free_chunks;	/* a stack */
static size_t free_nr;
/* the document being made, on its thread: its chunks (a list through their first word) */
static __thread char *chunk, *cur, *end;
static __thread int in_doc, spilled;

static char *chunk_get(void)
{
	char *c;

	if (free_nr)
		return free_chunks[--free_nr];
	if (carved + CHUNK > size)
		return NULL;
	c = base + carved;
	carved += CHUNK;
	return c;
}

static void *arena_malloc(size_t n)
{
	char *c, *p;

	if (!in_doc)
		return malloc(n);
	n = (n + 15) & ~(size_t)15;
	if (cur + n > end) {
		if (n > CHUNK - 16 || !(c = chunk_get())) {
			spilled = 1;
			return malloc(n);
		}
		*(char **)c = chunk;
		chunk = c;
		cur = c + 16;
		end = c + CHUNK;
	}
	p = cur;
	cur += n;
	return p;
}

static void arena_free(void *p)
{
	if (base && (char *)p >= base && (char *)p < base + size)
		return;
	free(p);
}

int ah_json_arena_start(size_t n)
{
	void *p;

	if (ARENA_OFF)
		return -1;
	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	base = p;
	size = n - n % CHUNK;
	carved = 0;
	free_chunks = calloc(size / CHUNK, sizeof(*free_chunks));
	free_nr = 0;
	if (!free_chunks) {
		munmap(base, n);
		base = NULL;
		return -1;
	}
	json_set_alloc_funcs(arena_malloc, arena_free);
	return 0;
}

void ah_json_arena_stop(void)
{
	if (!base)
		return;
	json_set_alloc_funcs(malloc, free);
	munmap(base, size);
	free(free_chunks);
	base = NULL;
}

int ah_json_arena_on(void)
{
	return base != NULL;
}

void ah_json_arena_begin(void)
{
	in_doc = 1;
	spilled = 0;
	chunk = cur = end = NULL;
}

void ah_json_arena_end(struct ah_json_part *part)
{
	in_doc = 0;
	part->chunks = chunk;
	part->spilled = spilled;
}

void ah_json_arena_release(struct ah_json_part *part)
{
	char *c, *next;

	for (c = part->chunks; c; c = next) {
		next = *(char **)c;
		free_chunks[free_nr++] = c;
	}
	part->chunks = NULL;
}
