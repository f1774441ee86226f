#ifndef YAML_JSON_H
#define YAML_JSON_H

#include <stddef.h>
#include <jansson.h>
#include "err.h"

/*
 * YAML -> JSON with libyaml's event parser, so that the limits hold while
 * the text is read: nesting at most AH_YAML_MAX_DEPTH deep, at most
 * AH_YAML_MAX_NODES values, and no aliases or anchors (no alias bombs).
 */
#define AH_YAML_MAX_DEPTH 64
#define AH_YAML_MAX_NODES 200000

/*
 * Plain scalars are typed by YAML 1.2's core schema: null (null Null NULL
 * ~ and the empty scalar), booleans (true True TRUE false False FALSE),
 * integers (decimal, 0o octal, 0x hex; one outside int64 is an error),
 * floats (finite only: .inf and .nan are refused, JSON cannot hold them);
 * quoted and block scalars are strings. A mapping key is its text; a key
 * that is a collection, a duplicate key, a merge key ("<<"), a second
 * document are errors. Errors are 400 "line N, column M: <why>" (1-based).
 */
int ah_yaml_to_json(const char *text, size_t len, json_t **out, struct ah_err *err);

/* Every scalar a string (no typing): a tags file's values are text. */
#define AH_YAML_STRINGS (1u << 0)
/*
 * As the tags files of repositories always were read: only the first
 * document counts, a later duplicate key wins, anchors are ignored
 * (aliases are still refused).
 */
#define AH_YAML_LENIENT (1u << 1)

int ah_yaml_to_json_flags(const char *text, size_t len, unsigned flags, json_t **out,
			  struct ah_err *err);

#endif
