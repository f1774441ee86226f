/*
 * TZif (RFC 8536): the 64-bit data of version 2 and later (version 1's
 * 32-bit block skipped), and the footer's POSIX TZ rule for the instants
 * after the last transition. Every count is checked against the bytes
 * left before anything is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fsutil.h"
#include "strbuf.h"
#include "timeutil.h"
#include "tz.h"

#define MAX_TRANSITIONS 4096
#define MAX_TYPES 256

/* A POSIX TZ rule's date: Mm.w.d, Jn or n, and the local time it turns at. */
struct rule_date {
	char kind;		/* 'M', 'J' or 'n' */
	int m, w, d, n;
	int32_t time;		/* seconds after local midnight; may be negative or past 24h */
};

struct ah_tz {
	size_t nr;
	int64_t *at;		/* transition times, ascending */
	int32_t *off;		/* the offset from each transition on */
	int32_t first;		/* the offset before the first transition */
	/* The footer: std offset, dst offset and its dates (has_dst 0: none). */
	int has_rule, has_dst;
	int32_t std, dst;
	struct rule_date start, end;
};

static int64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	if (n == 4)
		return (int32_t)(uint32_t)v;
	return (int64_t)v;
}

/*
 * [+-]hh[:mm[:ss]], hours up to max_h: 167 for a rule's times (RFC 8536's
 * extension), 24 for the offsets themselves (POSIX), lest a footer make a
 * zone days away from UTC (found by t/fuzz/fuzz-tzif).
 */
static const char *parse_hms(const char *p, int max_h, int32_t *out)
{
	int sign = 1, h = 0, m = 0, s = 0, digits = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	while (*p >= '0' && *p <= '9' && digits < 3)
		h = h * 10 + (*p++ - '0'), digits++;
	if (!digits || h > max_h)
		return NULL;
	if (*p == ':') {
		p++;
		if (p[0] < '0' || p[0] > '5' || p[1] < '0' || p[1] > '9')
			return NULL;
		m = (p[0] - '0') * 10 + (p[1] - '0');
		p += 2;
		if (*p == ':') {
			p++;
			if (p[0] < '0' || p[0] > '5' || p[1] < '0' || p[1] > '9')
				return NULL;
			s = (p[0] - '0') * 10 + (p[1] - '0');
			p += 2;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *parse_name(const char *p)
{
	const char *start;

	if (*p == '<') {
		start = ++p;
		while (*p && *p != '>')
			p++;
		if (*p != '>' || p - start < 3)
			return NULL;
		return p + 1;
	}
	start = p;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
		p++;
	return p - start >= 3 ? p : NULL;
}

static const char *parse_num(const char *p, int min, int max, int *out)
{
	int v = 0, digits = 0;

	while (*p >= '0' && *p <= '9' && digits < 4)
		v = v * 10 + (*p++ - '0'), digits++;
	if (!digits || v < min || v > max)
		return NULL;
	*out = v;
	return p;
}

static const char *parse_date(const char *p, struct rule_date *d)
{
	d->time = 7200;
	if (*p == 'M') {
		d->kind = 'M';
		if (!(p = parse_num(p + 1, 1, 12, &d->m)) || *p++ != '.' ||
		    !(p = parse_num(p, 1, 5, &d->w)) || *p++ != '.' ||
		    !(p = parse_num(p, 0, 6, &d->d)))
			return NULL;
	} else if (*p == 'J') {
		d->kind = 'J';
		if (!(p = parse_num(p + 1, 1, 365, &d->n)))
			return NULL;
	} else {
		d->kind = 'n';
		if (!(p = parse_num(p, 0, 365, &d->n)))
			return NULL;
	}
	if (*p == '/') {
		int32_t t;

		if (!(p = parse_hms(p + 1, 167, &t)))
			return NULL;
		d->time = t;
	}
	return p;
}

/* The footer: "std offset [dst [offset] [,start[/time],end[/time]]]". */
static int parse_rule(struct ah_tz *tz, const char *s)
{
	const char *p = parse_name(s);
	int32_t off;

	if (!p || !(p = parse_hms(p, 24, &off)))
		return -1;
	tz->std = -off;
	tz->has_rule = 1;
	if (!*p)
		return 0;
	if (!(p = parse_name(p)))
		return -1;
	tz->dst = tz->std + 3600;
	if (*p && *p != ',') {
		if (!(p = parse_hms(p, 24, &off)))
			return -1;
		tz->dst = -off;
	}
	if (*p != ',')
		return -1;	/* a dst without its dates: nothing says when */
	if (!(p = parse_date(p + 1, &tz->start)) || *p++ != ',' || !(p = parse_date(p, &tz->end)) ||
	    *p)
		return -1;
	tz->has_dst = 1;
	return 0;
}

static int bad(struct ah_err *err)
{
	return ah_invalid(err, "time zone data: not a TZif file");
}

int ah_tz_parse(const void *buf, size_t len, struct ah_tz **out, struct ah_err *err)
{
	const unsigned char *p = buf, *end = p + len;
	struct ah_tz *tz = NULL;
	int64_t cnt[6];
	size_t skip, i, timecnt, typecnt;
	int32_t types[MAX_TYPES];
	int isdst[MAX_TYPES];
	int version, t;

	*out = NULL;
	if (len < 44 || memcmp(p, "TZif", 4))
		return bad(err);
	version = p[4];
	for (t = 0; t < 6; t++)
		cnt[t] = (uint32_t)be(p + 20 + 4 * t, 4);
	/* isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
	if (version >= '2') {
		skip = (size_t)(cnt[3] * 5 + cnt[4] * 6 + cnt[5] + cnt[2] * 8 + cnt[1] + cnt[0]);
		if (cnt[3] > MAX_TRANSITIONS * 16 || cnt[4] > MAX_TYPES || cnt[5] > 65536 ||
		    cnt[2] > 65536 || cnt[1] > MAX_TYPES || cnt[0] > MAX_TYPES ||
		    skip > (size_t)(end - p) - 44)
			return bad(err);
		p += 44 + skip;
		if (end - p < 44 || memcmp(p, "TZif", 4))
			return bad(err);
		for (t = 0; t < 6; t++)
			cnt[t] = (uint32_t)be(p + 20 + 4 * t, 4);
	}
	timecnt = (size_t)cnt[3];
	typecnt = (size_t)cnt[4];
	{
		size_t tsize = version >= '2' ? 8 : 4;
		size_t need = timecnt * tsize + timecnt + typecnt * 6 + (size_t)cnt[5] +
			      (size_t)cnt[2] * (tsize + 4) + (size_t)cnt[1] + (size_t)cnt[0];

		if (timecnt > MAX_TRANSITIONS || !typecnt || typecnt > MAX_TYPES ||
		    cnt[5] > 65536 || cnt[2] > 65536 || cnt[1] > MAX_TYPES || cnt[0] > MAX_TYPES ||
		    need > (size_t)(end - p) - 44)
			return bad(err);
		p += 44;
		tz = xcalloc(1, sizeof(*tz));
		tz->nr = timecnt;
		tz->at = xcalloc(timecnt + 1, sizeof(*tz->at));
		tz->off = xcalloc(timecnt + 1, sizeof(*tz->off));
		for (i = 0; i < timecnt; i++) {
			tz->at[i] = be(p + i * tsize, (int)tsize);
			if (i && tz->at[i] <= tz->at[i - 1])
				goto fail;
		}
		p += timecnt * tsize;
		for (i = 0; i < typecnt; i++) {
			const unsigned char *ti = p + timecnt + i * 6;

			types[i] = (int32_t)be(ti, 4);
			isdst[i] = ti[4];
			/* RFC 8536: -89999 .. 93599; anything else is not a zone. */
			if (types[i] < -89999 || types[i] > 93599)
				goto fail;
		}
		for (i = 0; i < timecnt; i++) {
			if (p[i] >= typecnt)
				goto fail;
			tz->off[i] = types[p[i]];
		}
		p += need - timecnt * tsize;
	}
	/* Before the first transition: the first standard-time type (RFC 8536 3.2). */
	tz->first = types[0];
	for (i = 0; i < typecnt; i++)
		if (!isdst[i]) {
			tz->first = types[i];
			break;
		}
	if (version >= '2' && p < end && *p == '\n') {
		const unsigned char *nl = memchr(p + 1, '\n', (size_t)(end - p - 1));
		char *footer;

		if (!nl)
			goto fail;
		footer = xstrndup((const char *)p + 1, (size_t)(nl - p - 1));
		if (*footer && parse_rule(tz, footer) < 0) {
			free(footer);
			goto fail;
		}
		free(footer);
	}
	*out = tz;
	return 0;
fail:
	ah_tz_free(tz);
	return bad(err);
}

void ah_tz_free(struct ah_tz *tz)
{
	if (!tz)
		return;
	free(tz->at);
	free(tz->off);
	free(tz);
}

static int valid_name(const char *name)
{
	const char *part = name, *p;

	if (!*name || strlen(name) > 128)
		return 0;
	for (p = name;; p++) {
		if (*p == '/' || !*p) {
			if (p == part)
				return 0;
			if (!*p)
				return 1;
			part = p + 1;
		} else if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-",
				   *p)) {
			return 0;
		}
	}
}

int ah_tz_load(const char *name, struct ah_tz **out, struct ah_err *err)
{
	const char *dir = getenv("TZDIR");
	char *path, *buf = NULL;
	size_t len;
	int fd, ret;

	*out = NULL;
	if (!strcmp(name, "UTC") || !strcmp(name, "Etc/UTC") || !strcmp(name, "Z")) {
		*out = xcalloc(1, sizeof(**out));
		return 0;
	}
	if (!valid_name(name))
		return ah_invalid(err, "unknown time zone '%.128s'", name);
	path = xstrfmt("%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ELOOP)
		fd = open(path, O_RDONLY | O_CLOEXEC);	/* zoneinfo's own links */
	free(path);
	if (fd < 0 || ah_read_fd_max(fd, AH_TZ_MAX_FILE, &buf, &len) < 0)
		return ah_invalid(err, "unknown time zone '%.128s'", name);
	ret = ah_tz_parse(buf, len, out, err);
	free(buf);
	if (ret < 0)
		return ah_invalid(err, "unknown time zone '%.128s': its data is not a TZif file",
				  name);
	return 0;
}

static int leap(int64_t y)
{
	return (y % 4 == 0 && y % 100) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
	static const int md[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return md[m - 1] + (m == 2 && leap(y));
}

/* The local second of year y at which d turns, as if the zone were UTC. */
static int64_t rule_local(const struct rule_date *d, int64_t y)
{
	int64_t day;

	if (d->kind == 'M') {
		int64_t first = ah_days_from_civil(y, (unsigned)d->m, 1);
		int dow = (int)(((first + 4) % 7 + 7) % 7), md = 1 + (d->d - dow + 7) % 7;

		md += 7 * (d->w - 1);
		while (md > month_days(y, d->m))
			md -= 7;
		day = first + md - 1;
	} else if (d->kind == 'J') {
		day = ah_days_from_civil(y, 1, 1) + d->n - 1 + (leap(y) && d->n >= 60);
	} else {
		day = ah_days_from_civil(y, 1, 1) + d->n;
	}
	return day * 86400 + d->time;
}

static int64_t year_of(int64_t s)
{
	int64_t days = s >= 0 ? s / 86400 : (s - 86399) / 86400;
	int64_t y = 1970 + days / 366;

	while (ah_days_from_civil(y + 1, 1, 1) <= days)
		y++;
	while (ah_days_from_civil(y, 1, 1) > days)
		y--;
	return y;
}

static int32_t rule_offset(const struct ah_tz *tz, int64_t t)
{
	int64_t y = year_of(t + tz->std), on, off;

	if (!tz->has_dst)
		return tz->std;
	on = rule_local(&tz->start, y) - tz->std;
	off = rule_local(&tz->end, y) - tz->dst;
	if (on < off)
		return t >= on && t < off ? tz->dst : tz->std;
	return t >= off && t < on ? tz->std : tz->dst;
}

int ah_tz_offset(const struct ah_tz *tz, int64_t utc_s)
{
	size_t lo = 0, hi;

	if (!tz->nr)
		return tz->has_rule ? rule_offset(tz, utc_s) : tz->first;
	if (utc_s < tz->at[0])
		return tz->first;
	if (utc_s >= tz->at[tz->nr - 1] && tz->has_rule)
		return rule_offset(tz, utc_s);
	hi = tz->nr;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (tz->at[mid] <= utc_s)
			lo = mid;
		else
			hi = mid;
	}
	return tz->off[lo];
}

int ah_tz_local(const struct ah_tz *tz, int64_t local_s, int64_t *utc_s)
{
	/* Offsets a day either side bound every change there is (Samoa's day included). */
	int32_t a = ah_tz_offset(tz, local_s - 2 * 86400), b = ah_tz_offset(tz, local_s + 2 * 86400);
	int64_t ua = local_s - a, ub = local_s - b, lo, hi;
	int va = ah_tz_offset(tz, ua) == a, vb = ah_tz_offset(tz, ub) == b;

	if (va && vb && ua != ub) {
		*utc_s = ua < ub ? ua : ub;
		return 2;
	}
	if (va || vb) {
		*utc_s = va ? ua : ub;
		return 1;
	}
	/* A gap: the first instant whose local time is past local_s. */
	lo = ua < ub ? ua : ub;
	hi = ua < ub ? ub : ua;
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		if (mid + ah_tz_offset(tz, mid) > local_s)
			hi = mid;
		else
			lo = mid;
	}
	*utc_s = hi;
	return 0;
}
