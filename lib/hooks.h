#ifndef HOOKS_H
#define HOOKS_H

#include <jansson.h>
#include "state.h"

/*
 * A push announced by a git hook: params {id | repoUrl, ref?, commit?} ->
 * {queued, items:[{id, kind, ref, commit, queued, reason?}]}. A ref outside
 * the watched branches (APPHUB_HOOK_BRANCHES), a commit already ingested or
 * already waiting, queue nothing.
 */
int ah_hooks_git(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);

#endif
