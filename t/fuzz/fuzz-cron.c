/*
 * libFuzzer target for lib/cron.c: a cron expression (the input, up to its
 * first NUL) through ah_cron_parse, then ah_cron_next and ah_cron_prev from
 * a few fixed instants (around Berlin's 2024 DST changes, 1970, 2038, 2100)
 * in UTC and in Europe/Berlin from the system's zoneinfo. Invariants that
 * hold under lib/cron.h's rules (a skipped wall time fires once at the
 * gap's end, a repeated one once at its first instant; both zones map wall
 * time to instants monotonically, so next and prev see one set):
 *   parse fails with 400 and a message, or gives bits within each range;
 *   next(t) > t, prev(t) < t, both whole minutes (or -1);
 *   each is a wall time the expression matches, at its first instant, or
 *   (next/prev only) the end of a DST gap;
 *   prev(next(t)) <= t, next(next(t) - 1) == next(t),
 *   next(prev(t)) >= t or -1 (past 5 years), prev(prev(t) + 1) == prev(t).
 * Seeds: t/fuzz/seeds-cron. Build and run: make fuzz FUZZTIME=60
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../../lib/cron.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static struct ah_tz *utc, *berlin;

/* Does the wall time local (seconds, as if UTC) match c, with Vixie's day rule? */
static int matches(const struct ah_cron *c, int64_t local)
{
	time_t t = (time_t)local;
	struct tm tm;
	int dom, dow;

	if (!gmtime_r(&t, &tm))
		abort();
	if (!(c->minute & (1ULL << tm.tm_min)) || !(c->hour & (1u << tm.tm_hour)) ||
	    !(c->month & (1u << (tm.tm_mon + 1))))
		return 0;
	dom = !!(c->mday & (1u << tm.tm_mday));
	dow = !!(c->wday & (1u << tm.tm_wday));
	return c->mday_star || c->wday_star ? dom && dow : dom || dow;
}

/* ms is an occurrence: a matching wall time's first instant, or a gap's end. */
static void occurrence(const struct ah_cron *c, const struct ah_tz *tz, int64_t ms)
{
	int64_t s = ms / 1000, local = s + ah_tz_offset(tz, s), u = 0;
	int kind = ah_tz_local(tz, local, &u);

	if (ms % 60000)
		abort();
	if (kind < 1)
		abort();	/* the wall time of a real instant happens */
	if (matches(c, local)) {
		if (u != s)
			abort();	/* a repeated wall time fires at its first instant */
	} else if (!(ah_tz_offset(tz, s - 1) < ah_tz_offset(tz, s))) {
		abort();	/* neither a match nor the end of a gap */
	}
}

static void around(const struct ah_cron *c, const struct ah_tz *tz, int64_t t)
{
	int64_t n = ah_cron_next(c, tz, t), p = ah_cron_prev(c, tz, t);

	if (n != -1) {
		if (n <= t)
			abort();
		occurrence(c, tz, n);
		if (ah_cron_prev(c, tz, n) > t || ah_cron_next(c, tz, n - 1) != n)
			abort();
	}
	if (p != -1) {
		if (p >= t)
			abort();
		occurrence(c, tz, p);
		n = ah_cron_next(c, tz, p);
		/* -1 too: the next may be past the horizon (Feb 29 from 2096 is 2104). */
		if ((n != -1 && n < t) || ah_cron_prev(c, tz, p + 1) != p)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const int64_t at[] = {
		1711846799999LL,	/* 2024-03-31 00:59:59.999Z, Berlin's gap next */
		1711846800000LL,	/* the gap: 02:00 CET is 03:00 CEST */
		1729989000000LL,	/* 2024-10-27 02:30 CEST, the fold's first pass */
		1729992600000LL,	/* 02:30 CET, its second pass */
		1709208000001LL,	/* 2024-02-29 12:00:00.001Z */
		0,
		2147483647000LL,	/* the end of 32-bit time */
		4109879400000LL,	/* 2100-03-28 00:30Z: past the tables, the rule */
	};
	struct ah_cron c;
	struct ah_err err = AH_ERR_INIT;
	char *expr;
	unsigned h = 0;
	size_t i;
	int ret;

	if (!utc) {
		if (ah_tz_load("UTC", &utc, &err) < 0 ||
		    ah_tz_load("Europe/Berlin", &berlin, &err) < 0)
			abort();	/* needs /usr/share/zoneinfo */
	}
	expr = malloc(size + 1);
	memcpy(expr, data, size);
	expr[size] = 0;
	ret = ah_cron_parse(expr, &c, &err);
	free(expr);
	if (ret < 0) {
		if (err.status != 400 || !*err.msg)
			abort();
		return 0;
	}
	if (!c.minute || c.minute >> 60 || !c.hour || c.hour >> 24 || !c.mday || (c.mday & 1) ||
	    !c.month || (c.month & 1) || c.month >> 13 || !c.wday || c.wday >> 7)
		abort();
	/* Three of the instants, chosen by the input, to keep each run short. */
	for (i = 0; i < size; i++)
		h = h * 31 + data[i];
	for (i = 0; i < 3; i++) {
		int64_t t = at[(h + i * 3) % (sizeof(at) / sizeof(at[0]))];

		around(&c, utc, t);
		around(&c, berlin, t);
	}
	return 0;
}
