#ifndef TIMEUTIL_H
#define TIMEUTIL_H

#include <stdint.h>

#define AH_ISO_LEN 32

int64_t ah_now_ms(void);
/* "2026-11-24T08:16:43.123Z" */
void ah_iso_time(char buf[AH_ISO_LEN], int64_t ms);
void ah_now_iso(char buf[AH_ISO_LEN]);

#endif
