/*
 * Settings from the environment (APPHUB_*): whole numbers, durations and
 * sizes, each refused with its name when it is not one.
 */
#include <errno.h>
#include <stdlib.h>
#include "env.h"
#include "parse.h"

int ah_env_int(const char *name, int64_t def, int64_t min, int64_t *out, struct ah_err *err)
{
	const char *v = getenv(name);
	char *end;
	long long n;

	*out = def;
	if (!v || !*v)
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (*end || errno || n < min)
		return ah_invalid(err, "invalid %s '%s': must be a whole number of at least %lld",
				  name, v, (long long)min);
	*out = n;
	return 0;
}

int ah_env_duration(const char *name, int64_t bare_ms, int64_t def, int64_t min_ms,
		    int64_t *out, struct ah_err *err)
{
	const char *v = getenv(name);
	int64_t n;

	*out = def;
	if (!v || !*v)
		return 0;
	if (ah_parse_duration(v, bare_ms, &n) < 0)
		return ah_invalid(err, "invalid %s '%s': must be a duration (" AH_DURATION_FORMS ")",
				  name, v);
	if (n < min_ms)
		return ah_invalid(err, "invalid %s '%s': must be a duration of at least %lldms",
				  name, v, (long long)min_ms);
	*out = n;
	return 0;
}

int ah_env_duration_ms(const char *name, int64_t def, int64_t *out, struct ah_err *err)
{
	return ah_env_duration(name, 1, def, 0, out, err);
}

int ah_env_size(const char *name, int64_t def, int64_t min, int64_t *out, struct ah_err *err)
{
	const char *v = getenv(name);
	int64_t n;

	*out = def;
	if (!v || !*v)
		return 0;
	if (ah_parse_size(v, &n) < 0)
		return ah_invalid(err, "invalid %s '%s': must be a size (" AH_SIZE_FORMS ")", name, v);
	if (n < min)
		return ah_invalid(err, "invalid %s '%s': must be a size of at least %lld bytes",
				  name, v, (long long)min);
	*out = n;
	return 0;
}

int64_t ah_env_source_date_epoch(void)
{
	struct ah_err ignored = AH_ERR_INIT;
	int64_t t;

	return ah_env_int("SOURCE_DATE_EPOCH", -1, 0, &t, &ignored) < 0 ? -1 : t;
}
