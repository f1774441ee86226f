#ifndef LOG_PAGE_H
#define LOG_PAGE_H

#include <stdint.h>
#include <jansson.h>
#include "err.h"

/*
 * One page of a growing log file, the one shape builds.logs and
 * launch.logs answer with: {id, status, offset, nextOffset, size, data}.
 * At most limit bytes from offset (negative: the last limit bytes); data
 * is whole UTF-8 characters: one cut at the page's end comes whole with
 * the next page, unless the log is final and the page reaches its end.
 * A log not written yet is empty. A reader follows by asking from
 * nextOffset until the status is final and nextOffset reaches size.
 */
int ah_log_page(const char *path, const char *id, const char *status, int final, long offset,
		long limit, json_t **out, struct ah_err *err);

/*
 * The last max bytes (at most 64 KiB) of the log open at fd, whole UTF-8
 * characters, and its size: a record's preview. "" for no log.
 */
char *ah_log_tail(int fd, size_t max, int64_t *size);

#endif
