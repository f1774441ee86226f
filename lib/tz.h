#ifndef TZ_H
#define TZ_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

/*
 * Time zones from the system's TZif files (RFC 8536), read here rather
 * than through localtime(): that one reads the process's one TZ, and serve
 * ticks schedules of many zones from many threads.
 */
#define AH_TZ_MAX_FILE (256 << 10)

struct ah_tz;

/*
 * The zone named name: "UTC" (or "Etc/UTC", "Z") needs no file; else
 * $TZDIR (default /usr/share/zoneinfo)/<name>. A name is letters, digits
 * and "_+-" in "/"-separated parts, none of them "." or ".."; 400 "unknown
 * time zone 'X'" for one that is not there.
 */
int ah_tz_load(const char *name, struct ah_tz **out, struct ah_err *err);
/* A zone from the bytes of a TZif file; 400 for bytes that are not one. */
int ah_tz_parse(const void *buf, size_t len, struct ah_tz **out, struct ah_err *err);
void ah_tz_free(struct ah_tz *tz);

/* The zone's offset from UTC at utc_s (unix seconds), in seconds east. */
int ah_tz_offset(const struct ah_tz *tz, int64_t utc_s);

/*
 * The instant of local wall time local_s (seconds since the epoch as if
 * the zone were UTC): 1 with *utc_s; 2 when the time happens twice (a fold,
 * *utc_s the first); 0 when it does not happen (a gap, *utc_s the instant
 * the gap ends, the first valid time after it).
 */
int ah_tz_local(const struct ah_tz *tz, int64_t local_s, int64_t *utc_s);

#endif
