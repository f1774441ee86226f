/*
 * libFuzzer target for lib/tz.c: TZif bytes (RFC 8536) through ah_tz_parse,
 * then ah_tz_offset and ah_tz_local at a few instants. Whatever the bytes,
 * parsing ends with a zone or a 400 with a message; a zone's offsets stay
 * within what RFC 8536 and POSIX allow (|offset| < 26 h), and a local time
 * that ah_tz_local says happens maps back to itself. The instants are fixed
 * ones (before, inside and after the usual transition tables, so the
 * footer's rule is used too) plus one taken from the input's last bytes.
 * Seeds: real zones (t/fuzz/seeds-tzif). Build and run: make fuzz FUZZTIME=60
 */
#include <stdlib.h>
#include <string.h>
#include "../../lib/tz.h"

#define DAY 86400
/* Past 26 h a zone is not a zone: RFC 8536's utoff is -89999..93599. */
#define SANE (26 * 3600)
/* About year 5000 either way: far enough, and year arithmetic stays small. */
#define FAR 100000000000LL

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void check(const struct ah_tz *tz, int64_t t)
{
	int off = ah_tz_offset(tz, t);
	int64_t u = 0;
	int kind;

	if (off <= -SANE || off >= SANE)
		abort();
	/* The same instant as local time, and the local time t itself. */
	kind = ah_tz_local(tz, t + off, &u);
	if (kind < 0 || kind > 2)
		abort();
	if (kind && u + ah_tz_offset(tz, u) != t + off)
		abort();	/* "happens" must mean it maps back */
	if (u - (t + off) <= -SANE || u - (t + off) >= SANE)
		abort();
	kind = ah_tz_local(tz, t, &u);
	if (kind < 0 || kind > 2)
		abort();
	if (kind && u + ah_tz_offset(tz, u) != t)
		abort();
	if (u - t <= -SANE || u - t >= SANE)
		abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const int64_t at[] = {
		-2208988800LL,	/* 1900: before most tables */
		0,
		951782400,	/* 2000-02-29 */
		1711846800,	/* 2024-03-31 01:00 UTC: Berlin's spring change */
		1729990800,	/* 2024-10-27 01:00 UTC: Berlin's autumn change */
		2147483647,	/* the end of 32-bit time */
		4102444800LL,	/* 2100: past the tables, the footer's rule */
		4118083200LL,	/* 2100-06-30 */
	};
	struct ah_tz *tz = NULL;
	struct ah_err err = AH_ERR_INIT;
	size_t i;

	if (ah_tz_parse(data, size, &tz, &err) < 0) {
		if (err.status != 400 || !*err.msg || tz)
			abort();
		return 0;
	}
	if (!tz)
		abort();
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		check(tz, at[i]);
		check(tz, at[i] - DAY / 2);
	}
	if (size >= 8) {
		int64_t t = 0;

		for (i = size - 8; i < size; i++)
			t = (int64_t)((uint64_t)t << 8 | data[i]);
		t %= FAR;
		check(tz, t);
	}
	ah_tz_free(tz);
	return 0;
}
