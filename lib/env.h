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
 * A duration setting, in milliseconds, read as everywhere else (parse.h:
 * 500ms, 30s, 5m, 1h, 1d); a number without a unit counts bare_ms
 * milliseconds, the unit the setting always had: 1 for the settings whose
 * name ends in _MS, 1000 for those in seconds. def when unset or empty; an
 * error naming it when it does not read or is under min_ms.
 */
int ah_env_duration(const char *name, int64_t bare_ms, int64_t def, int64_t min_ms,
		    int64_t *out, struct ah_err *err);

/* A duration setting named *_MS (a bare number counts milliseconds), of any length. */
int ah_env_duration_ms(const char *name, int64_t def, int64_t *out, struct ah_err *err);

/*
 * A size setting (APPHUB_*_BYTES, APPHUB_*_SIZE), in bytes, read as
 * everywhere else (512k, 64M, 2G; a bare number counts bytes). def when
 * unset or empty; an error naming it when it does not read or is under min.
 */
int ah_env_size(const char *name, int64_t def, int64_t min, int64_t *out, struct ah_err *err);

/*
 * SOURCE_DATE_EPOCH (reproducible-builds.org): the time, in seconds, that
 * builds and imports write instead of now; -1 when unset or not a whole
 * number.
 */
int64_t ah_env_source_date_epoch(void);

#endif
