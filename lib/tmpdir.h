#ifndef TMPDIR_H
#define TMPDIR_H

#include <stdint.h>
#include <jansson.h>
#include "err.h"

/*
 * Temporary entries of the state directory (build-tmp/, builds/tmp/,
 * bundles/.tmp-*, images/tmp/, images/unpacked/.tmp-*): each is made by one process,
 * which holds an exclusive flock(2) on it for as long as it uses it. The
 * kernel drops the lock when that process dies, however it dies, so an
 * entry whose lock can be taken has no owner and ah_tmp_reclaim()
 * removes it; a live owner's entry is never touched.
 */

/*
 * mkdtemp(templ) (its name ends in XXXXXX, filled in) and its lock: the
 * directory's fd, open and locked, to close (ah_tmp_release) only once
 * the directory is gone or handed on. -1 with err set.
 */
int ah_tmp_mkdir(char *templ, struct ah_err *err);
/* mkstemp(templ), locked the same way: the file's fd (O_RDWR). */
int ah_tmp_mkstemp(char *templ, struct ah_err *err);

/*
 * Removes the ownerless entries of the state directory's temporary
 * directories (all of them, or none with dry_run). Each one found goes
 * into removed (if not NULL) as {"path" (relative to state_dir),
 * "bytes"}, and *bytes (if not NULL) adds up their disk usage.
 */
int ah_tmp_reclaim(const char *state_dir, int dry_run, json_t *removed, int64_t *bytes,
		   struct ah_err *err);

/* Only those of one of them: STATE/rel, the entries named prefix* (NULL: all). */
void ah_tmp_reclaim_in(const char *state_dir, const char *rel, const char *prefix);

#endif
