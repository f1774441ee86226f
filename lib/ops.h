#ifndef OPS_H
#define OPS_H

#include <jansson.h>
#include "err.h"
#include "state.h"

/*
 * Every thing apphub can do is an operation: a name, the HTTP method and
 * route serve gives it, the scope a token needs, and a function from a JSON
 * object of parameters to a JSON result. The CLI, serve and --server all go
 * through this table, so they cannot drift apart.
 */
enum ah_scope {
	SCOPE_NONE = 0,
	SCOPE_APPS_WRITE,
};

/* Who is asking and where the state is; the state opens on first use. */
struct ah_ctx {
	const char *dir;
	const char *subject;
	struct ah_state *st;
	/*
	 * Set by serve for a caller without the scope that writes secrets
	 * (a launch's env): records show their names, not their values.
	 */
	int hide_secrets;
};

typedef int (*ah_op_fn)(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err);

struct ah_op {
	const char *name;
	const char *method;
	const char *path;
	enum ah_scope scope;
	ah_op_fn fn;
	const char *summary;
};

/* One array per module, each ended by an entry with a NULL name. */
extern const struct ah_op ops_apps[];
extern const struct ah_op ops_builds[];
extern const struct ah_op ops_build_worker[];
extern const struct ah_op ops_events[];
extern const struct ah_op ops_gc[];
extern const struct ah_op ops_history[];
extern const struct ah_op ops_tags[];
extern const struct ah_op ops_search[];
extern const struct ah_op ops_image[];
extern const struct ah_op ops_ingest[];
extern const struct ah_op ops_launch[];
extern const struct ah_op ops_hooks[];
extern const struct ah_op ops_web[];

const struct ah_op *ah_op_find(const char *name);
/* The module arrays, NULL-terminated, for listings (openapi, routes). */
const struct ah_op *const *ah_op_modules(void);

int ah_op_call(struct ah_ctx *ctx, const char *name, json_t *params, json_t **out,
	       struct ah_err *err);

/* The state for ctx, opened on first use. */
int ah_ctx_state(struct ah_ctx *ctx, struct ah_state **st, struct ah_err *err);
void ah_ctx_release(struct ah_ctx *ctx);

/*
 * Parameters: a field may come as JSON from a body or --json input, or as
 * a string from a query string or argv, so the getters accept both forms.
 */
int ah_param_str(json_t *params, const char *key, const char **out, struct ah_err *err);
int ah_param_int(json_t *params, const char *key, long def, long min, long max, long *out,
		 struct ah_err *err);
int ah_param_bool(json_t *params, const char *key, int *out, struct ah_err *err);
/* A list of strings: a JSON array of strings, or one comma-separated string. */
int ah_param_strlist(json_t *params, const char *key, json_t **out, struct ah_err *err);

#endif
