#ifndef JSON_ARENA_H
#define JSON_ARENA_H

#include <stddef.h>

/*
 * Memory for the jansson values of documents that one thread makes and
 * frees (a bulk load's reader): a value's allocation is a pointer's bump
 * in a chunk of one mapping, and a document is freed whole by giving its
 * chunks back, without a walk of its values and a free() each (a quarter
 * of a load's time). The chunks freed last are taken first, still in the
 * processor's cache. Values made on other threads or outside a document,
 * and what does not fit a chunk, are malloc's, and free() takes them as it
 * did. Off under AddressSanitizer, which then sees each allocation.
 */

/* A document's part: its chunks; spilled, some of it is malloc's. */
struct ah_json_part {
	char *chunks;
	int spilled;
};

/* Maps size bytes for chunks and makes them jansson's allocator: 0, or -1 (jansson's own stays). */
int ah_json_arena_start(size_t size);
/* jansson's own allocator back, the chunks unmapped: after every document is freed. */
void ah_json_arena_stop(void);
/* From here, the values this thread makes are a document's, in chunks... */
void ah_json_arena_begin(void);
/* ...up to here: its part. */
void ah_json_arena_end(struct ah_json_part *part);
/*
 * Frees a document's part (its values need no json_decref unless
 * spilled), on the thread that makes documents, or when it makes no more.
 */
void ah_json_arena_release(struct ah_json_part *part);
/* Whether the chunks are in use (documents then are released, not decref'd). */
int ah_json_arena_on(void);

#endif
