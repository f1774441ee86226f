#ifndef PARSE_H
#define PARSE_H

#include <stdint.h>

/*
 * The one reading of sizes and durations, for options, environment
 * variables and JSON fields alike (DESIGN.md §7). A value that does not
 * parse is reported as "invalid <what> '<value>': must be a duration
 * (AH_DURATION_FORMS)" or "... must be a size (AH_SIZE_FORMS)".
 */
#define AH_DURATION_FORMS "500ms, 30s, 5m, 1h, 1d"
#define AH_SIZE_FORMS "512k, 64M, 2G"

/* 512, 64k, 256M, 1.5G, 2T (powers of 1024), "512MiB", "1GB": 0, or -1 when invalid. */
int ah_parse_size(const char *s, int64_t *out);
/* 500ms, 30s (or 30), 5m, 1h, 1d, in milliseconds: 0, or -1 when invalid. */
int ah_parse_duration_ms(const char *s, int64_t *out);
/*
 * The same, a number without a unit counting bare_ms milliseconds: 1 for
 * the settings whose name ends in _MS, 1000 (as above) elsewhere.
 */
int ah_parse_duration(const char *s, int64_t bare_ms, int64_t *out);

#endif
