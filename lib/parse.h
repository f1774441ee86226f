#ifndef PARSE_H
#define PARSE_H

#include <stdint.h>

/*
 * The one reading of sizes and durations, for options, environment
 * variables and JSON fields alike (DESIGN.md §7).
 */

/* 512, 64k, 256M, 1.5G, 2T (powers of 1024), "512MiB", "1GB": 0, or -1 when invalid. */
int ah_parse_size(const char *s, int64_t *out);
/* 500ms, 30s (or 30), 5m, 1h, 1d, in milliseconds: 0, or -1 when invalid. */
int ah_parse_duration_ms(const char *s, int64_t *out);

#endif
