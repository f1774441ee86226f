#ifndef CRON_H
#define CRON_H

#include <stdint.h>
#include <jansson.h>
#include "err.h"
#include "tz.h"

/*
 * Cron expressions, matched in a time zone's wall time: five fields
 * (minute hour day-of-month month day-of-week) with lists, ranges, steps
 * and names (jan..dec, sun..sat; 7 is Sunday too), or @hourly @daily
 * @midnight @weekly @monthly @yearly @annually. As Vixie cron, when both
 * day fields are restricted a day matches if either does.
 *
 * Around DST: a wall time a change skips fires once, at the first instant
 * after the gap; a wall time that happens twice fires once, the first time.
 */
struct ah_cron {
	uint64_t minute;	/* bits 0..59 */
	uint32_t hour;		/* bits 0..23 */
	uint32_t mday;		/* bits 1..31 */
	uint16_t month;		/* bits 1..12 */
	uint8_t wday;		/* bits 0..6, Sunday 0 */
	int mday_star, wday_star;
};

/* 400 naming the field: "cron '61 * * * *': bad minute field '61'". */
int ah_cron_parse(const char *expr, struct ah_cron *c, struct ah_err *err);
/* The first occurrence strictly after after_ms (unix ms); -1 when none within 5 years. */
int64_t ah_cron_next(const struct ah_cron *c, const struct ah_tz *tz, int64_t after_ms);
/* The last occurrence strictly before before_ms; -1 when none within 5 years. */
int64_t ah_cron_prev(const struct ah_cron *c, const struct ah_tz *tz, int64_t before_ms);

/*
 * A schedule {name, cron, timezone ("UTC"), startWindow?, endWindow?
 * (RFC 3339, start before end), catchUp (false), parameters ({})}: *out
 * with its defaults, times as given. Names are 1..64 of [A-Za-z0-9_.-],
 * from a letter or digit. 400 naming the field.
 */
int ah_schedule_check(json_t *sched, json_t **out, struct ah_err *err);

#endif
