#ifndef ENV_H
#define ENV_H

#include <stdint.h>
#include "err.h"

/*
 * A whole-number setting from the environment (APPHUB_INGEST_ATTEMPTS and
 * the like): def when unset or empty, an error naming it when it is not a
 * number of at least min.
 */
int ah_env_int(const char *name, int64_t def, int64_t min, int64_t *out, struct ah_err *err);

/*
 * A duration setting (APPHUB_*_TIMEOUT_MS), in milliseconds: a number
 * without a unit counts milliseconds, as the name says; 30s, 5m, 1h and 1d
 * are read as everywhere else (parse.h).
 */
int ah_env_duration_ms(const char *name, int64_t def, int64_t *out, struct ah_err *err);

#endif
