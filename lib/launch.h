#ifndef LAUNCH_H
#define LAUNCH_H

#include <stdint.h>
#include <jansson.h>
#include "state.h"

/*
 * Launches: a built image run in a sandbox, reachable through a preview
 * URL. A launch goes pending -> starting -> running -> stopping -> stopped,
 * or failed. Its record is a row of `launches`; its files are
 * STATE/launches/<id>/ (log, pid, rootfs where the overlay is mounted).
 *
 * The record side (request, list, show, logs, stop, reconcile) is plain
 * SQL, file reads and signals, so the light binary and serve carry it.
 * A launch itself is owned by a supervisor: the helper `apphub-launch
 * supervise <state> <id>` (lib/launch-run.c, light: it runs apphub-image
 * for the image store's work), which the request starts detached from the
 * caller (setsid, stdio to the log). The supervisor has the image
 * unpacked once per digest into STATE/launches/rootfs-cache/<hex>/, mounts a private overlay over it
 * (upper layer on a size-capped tmpfs) in its own mount namespace, runs
 * the app under bubblewrap in new user, pid, mount, ipc, uts and network
 * namespaces and a cgroup (lib/cgroup.h), with the capabilities and the
 * seccomp filter of lib/seccomp.h, as the image's USER, relays 127.0.0.1:<hostPort> into the app's
 * network namespace, enforces the TTL, and records every transition.
 */

#define AH_LAUNCH_ID_MAX 64
#define AH_LAUNCH_ENV_MAX 32
#define AH_LAUNCH_ENV_KEY_MAX 128
#define AH_LAUNCH_ENV_VALUE_MAX 4096
#define AH_LAUNCH_COMMAND_MAX 4000
#define AH_LAUNCH_LOG_TAIL 4000
/* Host uid/gid that root of a launch's user namespace maps to (65536 ids). */
#define AH_LAUNCH_UID_BASE 100000
#define AH_LAUNCH_UID_COUNT 65536

/* STATE/launches/<id> (free it) */
char *ah_launch_dir(const char *state_dir, const char *id);

/* The record of launch id as JSON, or NULL with err (404). */
json_t *ah_launch_json(struct ah_state *st, const char *id, struct ah_err *err);

/*
 * A supervisor whose pid is gone leaves a launch that says it is alive:
 * such records become failed (or stopped when stopping), their cgroups
 * are killed and removed. *changed counts them (may be NULL).
 */
int ah_launch_reconcile(struct ah_state *st, int *changed, struct ah_err *err);

/*
 * Transitions, for the supervisor: status with an error message (may be
 * NULL) and fields (an object of column -> value, may be NULL, stolen),
 * one transaction, one launch.<status> event when the status changes.
 */
int ah_launch_set(struct ah_state *st, const char *id, const char *status, const char *message,
		  json_t *fields, struct ah_err *err);

/* The last max bytes of the launch's log (free it); NULL when unreadable. */
char *ah_launch_log_tail(const char *state_dir, const char *id, size_t max);

/* The start time of pid (field 22 of /proc/pid/stat), 0 if it is gone. */
unsigned long long ah_proc_start_time(int pid);

/*
 * The supervisor's settings, read in one place: by the request, which
 * refuses a bad one before a supervisor starts, and by the supervisor.
 */
struct ah_launch_settings {
	int64_t start_timeout_ms;	/* APPHUB_LAUNCH_START_TIMEOUT_MS (30 s) */
	int64_t max_log_bytes;		/* APPHUB_LAUNCH_MAX_LOG_BYTES (16 MiB) */
};
int ah_launch_settings_load(struct ah_launch_settings *set, struct ah_err *err);

/*
 * Runs the supervisor of launch id in the foreground; returns an exit
 * status. user (may be NULL: the image's User) is the app's user[:group];
 * notify_fd (-1: none) is closed once the launch is past starting.
 */
int ah_launch_supervise(const char *state_dir, const char *id, int notify_fd);

/*
 * The launch records' operations (lib/ops-launch.c), params as the HTTP
 * API takes them (apphub-launch(1)). A launch's env comes whole: the
 * operation hides it from a caller who may not see secrets.
 */
/* {id (the app), buildId?, launchId?, env?, command?, port?, limits..., wait?} -> the launch */
int ah_launch_start(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/* {id? (the app), status?, limit?} -> {data:[launch...]}, newest first */
int ah_launch_ls(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/* {id} -> the launch and the tail of its log */
int ah_launch_show(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/* {id, wait?} -> the launch, stopped (TERM, 5 s, KILL) */
int ah_launch_stop(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);
/* {id, offset?, limit?} -> {id, status, offset, nextOffset, size, data} */
int ah_launch_logs(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);

#endif
