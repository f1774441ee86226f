/*
 * Settings from the environment (APPHUB_*): whole numbers and durations,
 * each refused with its name when it is not one.
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

int ah_env_duration_ms(const char *name, int64_t def, int64_t *out, struct ah_err *err)
{
	const char *v = getenv(name);

	*out = def;
	if (!v || !*v)
		return 0;
	if (ah_parse_duration(v, 1, out) < 0)
		return ah_invalid(err, "invalid %s '%s': must be a duration (" AH_DURATION_FORMS ")",
				  name, v);
	return 0;
}
