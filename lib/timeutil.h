#ifndef TIMEUTIL_H
#define TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define AH_ISO_LEN 32

int64_t ah_now_ms(void);
/* "2026-11-24T08:16:43.123Z" */
void ah_iso_time(char buf[AH_ISO_LEN], int64_t ms);
void ah_now_iso(char buf[AH_ISO_LEN]);

/*
 * An RFC 3339 time ("2026-03-29T01:30:00Z", "...T02:30:00.5+01:00") as unix
 * ms: 0, or -1 for anything else.
 */
int ah_time_parse(const char *s, int64_t *ms);

/*
 * The same to the microsecond, for the len bytes at s (no NUL needed), and
 * without timegm(): the timestore parses a time a row. Years 0001-9999.
 */
int ah_time_parse_us(const char *s, size_t len, int64_t *us);
/* Unix microseconds as RFC 3339 UTC with Z, a fraction only when not whole seconds. */
#define AH_TIME_US_LEN 40
void ah_time_text_us(char buf[AH_TIME_US_LEN], int64_t us);
/* The days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t ah_days_from_civil(int64_t y, unsigned m, unsigned d);
void ah_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

#endif
