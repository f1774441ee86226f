/*
 * Cron expressions and the schedules made of them: parsed into bit sets,
 * matched day by day in a time zone's wall time (lib/tz.h), each matching
 * wall time turned into its instant by the zone's rules.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cron.h"
#include "strbuf.h"
#include "timeutil.h"

#define CRON_MAX 256
/* How far next and prev look: a schedule of Feb 29 on a Monday still fits. */
#define HORIZON_DAYS (366 * 5 + 2)

static const char *const months[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
				      "sep", "oct", "nov", "dec" };
static const char *const days[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

static const struct {
	const char *name, *expr;
} macros[] = {
	{ "@annually", "0 0 1 1 *" },
	{ "@daily", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@yearly", "0 0 1 1 *" },
};

struct field {
	const char *name;
	int min, max;
	const char *const *names;
};

static const struct field fields[] = {
	{ "minute", 0, 59, NULL },
	{ "hour", 0, 23, NULL },
	{ "day-of-month", 1, 31, NULL },
	{ "month", 1, 12, months },
	{ "day-of-week", 0, 7, days },
};

/* A number or (for month and day-of-week) a name; NULL when neither. */
static const char *value(const char *p, const struct field *f, int *out)
{
	int v = 0, digits = 0, i;

	if (f->names && isalpha((unsigned char)*p)) {
		for (i = 0; i < (f->max == 12 ? 12 : 7); i++)
			if (!strncasecmp(p, f->names[i], 3) && !isalpha((unsigned char)p[3])) {
				*out = i + (f->max == 12);
				return p + 3;
			}
		return NULL;
	}
	while (isdigit((unsigned char)*p) && digits < 3)
		v = v * 10 + (*p++ - '0'), digits++;
	if (!digits || isdigit((unsigned char)*p) || v < f->min || v > f->max)
		return NULL;
	*out = v;
	return p;
}

/* One field's text (len bytes at s) into bits; -1 when it does not parse. */
static int parse_field(const char *s, size_t len, const struct field *f, uint64_t *bits)
{
	char *text = xstrndup(s, len), *item, *save = NULL;
	int ret = -1;

	*bits = 0;
	/* strtok_r would pass over an empty element: "1,,2" is a typo, not a list. */
	if (!*text || *text == ',' || text[len - 1] == ',' || strstr(text, ",,"))
		goto done;
	for (item = strtok_r(text, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		const char *p = item;
		int lo, hi, step = 1, v;

		if (*p == '*') {
			lo = f->min;
			hi = f->max == 7 ? 6 : f->max;
			p++;
		} else {
			if (!(p = value(p, f, &lo)))
				goto done;
			hi = lo;
			if (*p == '-') {
				if (!(p = value(p + 1, f, &hi)) || hi < lo)
					goto done;
			} else if (*p == '/') {
				hi = f->max == 7 ? 6 : f->max;
			}
		}
		if (*p == '/') {
			int digits = 0;

			step = 0;
			for (p++; isdigit((unsigned char)*p) && digits < 3; p++, digits++)
				step = step * 10 + (*p - '0');
			if (!digits || !step || step > f->max)
				goto done;
		}
		if (*p)
			goto done;
		for (v = lo; v <= hi; v += step)
			*bits |= 1ULL << (f->max == 7 && v == 7 ? 0 : v);
	}
	ret = *bits ? 0 : -1;
done:
	free(text);
	return ret;
}

int ah_cron_parse(const char *expr, struct ah_cron *c, struct ah_err *err)
{
	const char *p = expr, *start;
	uint64_t bits[5];
	size_t i;
	int n;

	memset(c, 0, sizeof(*c));
	if (strlen(expr) > CRON_MAX)
		return ah_invalid(err, "cron expression too long (over %d bytes)", CRON_MAX);
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '@') {
		size_t len = strcspn(p, " \t");

		for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
			if (strlen(macros[i].name) == len && !strncmp(p, macros[i].name, len) &&
			    !p[len + strspn(p + len, " \t")])
				return ah_cron_parse(macros[i].expr, c, err);
		return ah_invalid(err, "cron '%.100s': unknown macro: @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually",
				  expr);
	}
	for (n = 0; n < 5; n++) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			return ah_invalid(err, "cron '%.100s': %s field missing (five fields: minute hour day-of-month month day-of-week)",
					  expr, fields[n].name);
		start = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (parse_field(start, (size_t)(p - start), &fields[n], &bits[n]) < 0)
			return ah_invalid(err, "cron '%.100s': bad %s field '%.*s'", expr,
					  fields[n].name, (int)(p - start > 40 ? 40 : p - start),
					  start);
		if (n == 2)
			c->mday_star = *start == '*';
		if (n == 4)
			c->wday_star = *start == '*';
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p)
		return ah_invalid(err, "cron '%.100s': more than five fields", expr);
	c->minute = bits[0];
	c->hour = (uint32_t)bits[1];
	c->mday = (uint32_t)bits[2];
	c->month = (uint16_t)bits[3];
	c->wday = (uint8_t)bits[4];
	return 0;
}

static int day_matches(const struct ah_cron *c, int64_t day)
{
	int64_t y;
	unsigned m, d;
	int wd = (int)(((day + 4) % 7 + 7) % 7), dom, dow;

	ah_civil_from_days(day, &y, &m, &d);
	if (!(c->month & (1u << m)))
		return 0;
	dom = !!(c->mday & (1u << d));
	dow = !!(c->wday & (1u << wd));
	if (c->mday_star || c->wday_star)
		return dom && dow;
	return dom || dow;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* The instant of a matching wall time: the gap's end for one DST skips, the first of a fold. */
static int64_t instant(const struct ah_tz *tz, int64_t local)
{
	int64_t u;

	ah_tz_local(tz, local, &u);
	return u;
}

int64_t ah_cron_next(const struct ah_cron *c, const struct ah_tz *tz, int64_t after_ms)
{
	int64_t after_s = floor_div(after_ms, 1000);
	int64_t local = after_s + ah_tz_offset(tz, after_s);
	int64_t day = floor_div(local, 86400) - 1, last = day + HORIZON_DAYS;

	for (; day <= last; day++) {
		int h, m;

		if (!day_matches(c, day))
			continue;
		for (h = 0; h < 24; h++) {
			if (!(c->hour & (1u << h)))
				continue;
			for (m = 0; m < 60; m++) {
				int64_t u;

				if (!(c->minute & (1ULL << m)))
					continue;
				u = instant(tz, day * 86400 + h * 3600 + m * 60);
				if (u * 1000 > after_ms)
					return u * 1000;
			}
		}
	}
	return -1;
}

int64_t ah_cron_prev(const struct ah_cron *c, const struct ah_tz *tz, int64_t before_ms)
{
	int64_t before_s = floor_div(before_ms, 1000);
	int64_t local = before_s + ah_tz_offset(tz, before_s);
	int64_t day = floor_div(local, 86400) + 1, last = day - HORIZON_DAYS;

	for (; day >= last; day--) {
		int h, m;

		if (!day_matches(c, day))
			continue;
		for (h = 23; h >= 0; h--) {
			if (!(c->hour & (1u << h)))
				continue;
			for (m = 59; m >= 0; m--) {
				int64_t u;

				if (!(c->minute & (1ULL << m)))
					continue;
				u = instant(tz, day * 86400 + h * 3600 + m * 60);
				if (u * 1000 < before_ms)
					return u * 1000;
			}
		}
	}
	return -1;
}

static int valid_name(const char *s)
{
	size_t n = strlen(s);

	return n && n <= 64 && isalnum((unsigned char)*s) &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* err's message as said of schedule name. */
static int prefixed(struct ah_err *err, const char *name)
{
	char msg[sizeof(err->msg)];

	snprintf(msg, sizeof(msg), "%s", err->msg);
	return ah_invalid(err, "schedule '%s': %s", name, msg);
}

int ah_schedule_check(json_t *sched, json_t **out, struct ah_err *err)
{
	static const char *const known[] = { "name", "cron", "timezone", "startWindow",
					      "endWindow", "catchUp", "parameters" };
	const char *name, *cron, *tz_name = "UTC", *key, *w[2] = { NULL, NULL };
	int64_t ms[2] = { 0, 0 };
	struct ah_cron c;
	struct ah_tz *tz = NULL;
	json_t *v, *params;
	size_t i;
	int k;

	*out = NULL;
	if (!json_is_object(sched))
		return ah_invalid(err, "schedule: must be an object");
	json_object_foreach(sched, key, v) {
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (!strcmp(key, known[i]))
				break;
		if (i == sizeof(known) / sizeof(known[0]))
			return ah_invalid(err, "schedule: unknown field '%.64s'", key);
	}
	name = json_string_value(json_object_get(sched, "name"));
	if (!name || !valid_name(name))
		return ah_invalid(err, "schedule name '%.64s': 1 to 64 of A-Z a-z 0-9 _ . -, from a letter or digit",
				  name ? name : "");
	if (!(cron = json_string_value(json_object_get(sched, "cron"))))
		return ah_invalid(err, "schedule '%s': cron is required (a string)", name);
	if (ah_cron_parse(cron, &c, err) < 0)
		return prefixed(err, name);
	if ((v = json_object_get(sched, "timezone")) && !json_is_null(v)) {
		if (!json_is_string(v))
			return ah_invalid(err, "schedule '%s': timezone must be a string", name);
		tz_name = json_string_value(v);
	}
	if (ah_tz_load(tz_name, &tz, err) < 0)
		return prefixed(err, name);
	ah_tz_free(tz);
	for (k = 0; k < 2; k++) {
		const char *field = k ? "endWindow" : "startWindow";

		if (!(v = json_object_get(sched, field)) || json_is_null(v))
			continue;
		if (!json_is_string(v) || ah_time_parse(json_string_value(v), &ms[k]) < 0)
			return ah_invalid(err, "schedule '%s': %s must be an RFC 3339 time", name,
					  field);
		w[k] = json_string_value(v);
	}
	if (w[0] && w[1] && ms[0] >= ms[1])
		return ah_invalid(err, "schedule '%s': startWindow must be before endWindow", name);
	if ((v = json_object_get(sched, "catchUp")) && !json_is_boolean(v) && !json_is_null(v))
		return ah_invalid(err, "schedule '%s': catchUp must be true or false", name);
	params = json_object_get(sched, "parameters");
	if (params && !json_is_object(params) && !json_is_null(params))
		return ah_invalid(err, "schedule '%s': parameters must be an object", name);
	*out = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:b, s:o}", "name", name, "cron", cron,
			 "timezone", tz_name, "startWindow", w[0], "endWindow", w[1], "catchUp",
			 json_is_true(json_object_get(sched, "catchUp")), "parameters",
			 json_is_object(params) ? json_deep_copy(params) : json_object());
	return 0;
}
