/*
 * A workflow definition (behaviour.md, "Workflows") read from JSON or YAML
 * and checked into its normalized form: each field's type and range, each
 * templated field's syntax (naming the step and the field), the parameters'
 * schema, the schedules (lib/cron.c) and the step graph (lib/dag.c). Every
 * unknown field is an error naming it, so a typo never passes in silence.
 * Defaults are filled in, so the normalized form of two spellings of one
 * definition is the same and `add` can compare it to know whether it is a
 * new version. A normalized definition checks again to itself (its dag is
 * made anew).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cron.h"
#include "dag.h"
#include "json-schema.h"
#include "template.h"
#include "usage.h"
#include "workflow-def.h"
#include "yaml-json.h"

#include "cron.h"

#define MAX_NAME 200
#define MAX_DESCRIPTION 10000
#define MAX_URL 8192
#define MAX_TIMEOUT_MS (7 * 86400000LL)
#define MAX_TTL_MS (3660 * 86400000LL)
#define MAX_ASSETS 100
#define MAX_HEADERS 100

/* ------------------------------------------------------------- parsing */

int ah_workflow_def_parse(const char *text, size_t len, json_t **def, struct ah_err *err)
{
	size_t i = 0;

	*def = NULL;
	if (len > AH_WORKFLOW_DEF_MAX)
		return ah_error(err, 413, "too_large",
				"workflow definition of %zu bytes is over the %d byte limit", len,
				AH_WORKFLOW_DEF_MAX);
	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
		i++;
	if (i < len && text[i] == '{') {
		json_error_t je;
		char why[AH_JSON_WHY_MAX];

		*def = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
		if (!*def)
			return ah_invalid(err, "invalid workflow definition: %s",
					  ah_json_why(&je, why, sizeof(why)));
	} else if (ah_yaml_to_json(text, len, def, err) < 0) {
		char why[sizeof(err->msg)];

		memcpy(why, err->msg, sizeof(why));
		return ah_invalid(err, "invalid workflow definition: %s", why);
	}
	if (!json_is_object(*def)) {
		json_decref(*def);
		*def = NULL;
		return ah_invalid(err, "invalid workflow definition: must be an object (a mapping)");
	}
	return 0;
}

/* ------------------------------------------------------------- helpers */

/* Where a message points: "" for the top, "step 'fetch': ", "step 'f' template: ". */
struct at {
	char pre[200];
};

static int fail(struct ah_err *err, const struct at *at, const char *fmt, ...)
	APPHUB_FMT(3, 4);

static int fail(struct ah_err *err, const struct at *at, const char *fmt, ...)
{
	char msg[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ah_invalid(err, "%s%s", at->pre, msg);
}

static int unknown_fields(json_t *obj, const char *const *known, const struct at *at,
			  const char *what, struct ah_err *err)
{
	const char *key, *const *k;
	json_t *v;

	json_object_foreach(obj, key, v) {
		for (k = known; *k; k++)
			if (!strcmp(key, *k))
				break;
		if (!*k)
			return fail(err, at, "unknown field '%.100s'%s%s", key, what ? " " : "",
				    what ? what : "");
	}
	return 0;
}

/* obj[key] as an integer in [min, max], def when absent (def < 0 and absent: *out stays -1). */
static int get_int(json_t *obj, const char *key, long long def, long long min, long long max,
		   const struct at *at, long long *out, struct ah_err *err)
{
	json_t *v = json_object_get(obj, key);

	*out = def;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return fail(err, at, "%s: must be an integer from %lld to %lld", key, min, max);
	*out = json_integer_value(v);
	return 0;
}

/* obj[key] as a string of 1..max bytes; NULL when absent. */
static int get_str(json_t *obj, const char *key, size_t max, const struct at *at,
		   const char **out, struct ah_err *err)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return fail(err, at, "%s: must be a string of 1 to %zu bytes", key, max);
	*out = json_string_value(v);
	return 0;
}

static int get_bool(json_t *obj, const char *key, int def, const struct at *at, int *out,
		    struct ah_err *err)
{
	json_t *v = json_object_get(obj, key);

	*out = def;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return fail(err, at, "%s: must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

/* s matches ^[first][rest]{0,max-1}$, each a set of characters (a-z style ranges spelled out). */
static int matches(const char *s, int (*first)(int), int (*rest)(int), size_t max)
{
	size_t i;

	if (!s[0] || !first((unsigned char)s[0]))
		return 0;
	for (i = 1; s[i]; i++)
		if (i >= max || !rest((unsigned char)s[i]))
			return 0;
	return 1;
}

static int lower_digit(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int slug_rest(int c)
{
	return lower_digit(c) || c == '-' || c == '_';
}

static int alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int id_rest(int c)
{
	return alnum(c) || c == '_' || c == '-';
}

static int key_first(int c)
{
	return alnum(c) || c == '_';
}

static int asset_rest(int c)
{
	return alnum(c) || c == '_' || c == '-' || c == '.' || c == ':' || c == '/';
}

static int job_slug_rest(int c)
{
	return lower_digit(c) || c == '-';
}

static int version_rest(int c)
{
	return alnum(c) || c == '.' || c == '-' || c == '+';
}

static int header_name_char(int c)
{
	return alnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Sets a copy of src[key] on dst when present. */
static void copy(json_t *dst, json_t *src, const char *key)
{
	json_t *v = json_object_get(src, key);

	if (v)
		json_object_set_new(dst, key, json_deep_copy(v));
}

static int check_template(json_t *v, const struct at *at, const char *field, struct ah_err *err)
{
	char where[sizeof(at->pre) + 64];
	size_t n = strlen(at->pre);

	/* at->pre ends in ": "; the template's message names "step 'x' field". */
	snprintf(where, sizeof(where), "%.*s %s", n >= 2 ? (int)(n - 2) : (int)n, at->pre, field);
	return ah_template_check(v, where, err);
}

/* ---------------------------------------------------------- the pieces */

static int check_retry(json_t *step, const struct at *at, json_t *out, struct ah_err *err)
{
	static const char *const known[] = { "maxAttempts", "strategy", "initialDelayMs",
		"maxDelayMs", NULL };
	json_t *rp = json_object_get(step, "retryPolicy"), *n;
	long long attempts, initial, max, def_max;
	const char *strategy = "fixed";
	struct at rat;

	snprintf(rat.pre, sizeof(rat.pre), "%.150sretryPolicy: ", at->pre);
	if (rp && !json_is_object(rp))
		return fail(err, at, "retryPolicy: must be an object");
	if (rp && unknown_fields(rp, known, &rat, NULL, err) < 0)
		return -1;
	if (get_int(rp, "maxAttempts", 3, 1, AH_WORKFLOW_MAX_ATTEMPTS, &rat, &attempts, err) < 0 ||
	    get_int(rp, "initialDelayMs", 1000, 0, AH_WORKFLOW_MAX_DELAY_MS, &rat, &initial, err) < 0)
		return -1;
	if (rp && json_object_get(rp, "strategy")) {
		strategy = json_string_value(json_object_get(rp, "strategy"));
		if (!strategy || (strcmp(strategy, "fixed") && strcmp(strategy, "exponential")))
			return fail(err, &rat, "strategy: must be 'fixed' or 'exponential'");
	}
	def_max = initial * 64 > AH_WORKFLOW_MAX_DELAY_MS ? AH_WORKFLOW_MAX_DELAY_MS : initial * 64;
	if (get_int(rp, "maxDelayMs", def_max, initial, AH_WORKFLOW_MAX_DELAY_MS, &rat, &max, err) < 0)
		return -1;
	n = json_pack("{sI sI sI ss}", "maxAttempts", (json_int_t)attempts, "initialDelayMs",
		      (json_int_t)initial, "maxDelayMs", (json_int_t)max, "strategy", strategy);
	json_object_set_new(out, "retryPolicy", n);
	return 0;
}

static int check_store_key(json_t *step, const char *key, const struct at *at, json_t *out,
			   struct ah_err *err)
{
	const char *s;

	if (get_str(step, key, 100, at, &s, err) < 0)
		return -1;
	if (!s)
		return 0;
	if (!matches(s, key_first, id_rest, 100))
		return fail(err, at, "%s '%.100s' must match ^[A-Za-z0-9_][A-Za-z0-9_-]{0,99}$",
			    key, s);
	json_object_set_new(out, key, json_string(s));
	return 0;
}

static int check_asset_id(json_t *v, const struct at *at, const char *field, struct ah_err *err)
{
	const char *s = json_string_value(v);

	if (!s || strlen(s) != json_string_length(v) || !matches(s, alnum, asset_rest, 200))
		return fail(err, at, "%s: an asset id must match ^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$",
			    field);
	return 0;
}

static int check_assets(json_t *step, const struct at *at, json_t *out, struct ah_err *err)
{
	static const char *const pknown[] = { "assetId", "freshness", NULL };
	static const char *const fknown[] = { "ttlMs", NULL };
	json_t *produces = json_object_get(step, "produces");
	json_t *consumes = json_object_get(step, "consumes");
	json_t *p = json_array(), *c = json_array(), *item;
	size_t i, j;
	int ret = -1;

	if (produces && (!json_is_array(produces) || json_array_size(produces) > MAX_ASSETS)) {
		fail(err, at, "produces: must be an array of at most %d assets", MAX_ASSETS);
		goto done;
	}
	if (consumes && (!json_is_array(consumes) || json_array_size(consumes) > MAX_ASSETS)) {
		fail(err, at, "consumes: must be an array of at most %d asset ids", MAX_ASSETS);
		goto done;
	}
	json_array_foreach(produces, i, item) {
		json_t *id, *fresh, *n;
		long long ttl;

		/* An asset id alone is {assetId}. */
		if (json_is_string(item)) {
			id = item;
			fresh = NULL;
		} else if (json_is_object(item)) {
			if (unknown_fields(item, pknown, at, "in produces", err) < 0)
				goto done;
			id = json_object_get(item, "assetId");
			fresh = json_object_get(item, "freshness");
		} else {
			fail(err, at, "produces[%zu]: must be an object {assetId, freshness?}", i);
			goto done;
		}
		if (check_asset_id(id, at, "produces", err) < 0)
			goto done;
		for (j = 0; j < i; j++)
			if (json_equal(json_object_get(json_array_get(p, j), "assetId"), id)) {
				fail(err, at, "produces '%s' twice", json_string_value(id));
				goto done;
			}
		n = json_pack("{sO}", "assetId", id);
		json_array_append_new(p, n);
		if (!fresh)
			continue;
		if (!json_is_object(fresh)) {
			fail(err, at, "freshness: must be an object {ttlMs}");
			goto done;
		}
		if (unknown_fields(fresh, fknown, at, "in freshness", err) < 0 ||
		    get_int(fresh, "ttlMs", -1, 1, MAX_TTL_MS, at, &ttl, err) < 0)
			goto done;
		json_object_set_new(n, "freshness", ttl < 0 ? json_object() :
				    json_pack("{sI}", "ttlMs", (json_int_t)ttl));
	}
	json_array_foreach(consumes, i, item) {
		if (check_asset_id(item, at, "consumes", err) < 0)
			goto done;
		for (j = 0; j < i; j++)
			if (json_equal(json_array_get(c, j), item))
				break;
		if (j == i)
			json_array_append(c, item);
	}
	json_object_set(out, "produces", p);
	json_object_set(out, "consumes", c);
	ret = 0;
done:
	json_decref(p);
	json_decref(c);
	return ret;
}

static int check_job(json_t *step, const struct at *at, json_t *out, struct ah_err *err)
{
	json_t *params = json_object_get(step, "parameters");
	const char *spec, *atsign;
	long long timeout;

	if (get_str(step, "jobSlug", 200, at, &spec, err) < 0)
		return -1;
	if (!spec)
		return fail(err, at, "jobSlug: required for a job step");
	/* A job's slug as lib/bundle.c's ah_job_slug_check has it, and a version of semver's characters. */
	atsign = strchr(spec, '@');
	{
		char *slug = atsign ? xstrndup(spec, (size_t)(atsign - spec)) : xstrdup(spec);
		int ok = matches(slug, lower_digit, job_slug_rest, 64) &&
			 (!atsign || matches(atsign + 1, alnum, version_rest, 64));

		free(slug);
		if (!ok)
			return fail(err, at, "jobSlug '%.100s' must be a job's slug (1 to 64 of a-z, 0-9 and '-') with an optional @version",
				    spec);
	}
	json_object_set_new(out, "jobSlug", json_string(spec));
	if (params && !json_is_object(params))
		return fail(err, at, "parameters: must be an object");
	if (params && check_template(params, at, "parameters", err) < 0)
		return -1;
	json_object_set_new(out, "parameters", params ? json_deep_copy(params) : json_object());
	if (get_int(step, "timeoutMs", -1, 1, MAX_TIMEOUT_MS, at, &timeout, err) < 0)
		return -1;
	if (timeout > 0)
		json_object_set_new(out, "timeoutMs", json_integer(timeout));
	if (check_retry(step, at, out, err) < 0 ||
	    check_store_key(step, "storeResultAs", at, out, err) < 0)
		return -1;
	return 0;
}

static int check_service(json_t *step, const struct at *at, json_t *out, struct ah_err *err)
{
	static const char *const methods[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
		"OPTIONS", NULL };
	json_t *headers = json_object_get(step, "headers"), *body, *v;
	const char *url, *app, *path, *method, *key, *const *m;
	char upper[16];
	long long timeout;
	size_t i;

	if (get_str(step, "url", MAX_URL, at, &url, err) < 0 ||
	    get_str(step, "app", 64, at, &app, err) < 0 ||
	    get_str(step, "path", MAX_URL, at, &path, err) < 0 ||
	    get_str(step, "method", 10, at, &method, err) < 0)
		return -1;
	if (!url == !app)
		return fail(err, at, "a service step takes one of url and app");
	if (path && !app)
		return fail(err, at, "path goes with app (a url has its own path)");
	if (url) {
		/* A URL without templates is checked now; a templated one when it is rendered. */
		if (!strstr(url, "{{") && strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
			return fail(err, at, "url '%.100s' must be http:// or https://", url);
		if (check_template(json_object_get(step, "url"), at, "url", err) < 0)
			return -1;
		json_object_set_new(out, "url", json_string(url));
	} else {
		for (i = 0; app[i]; i++)
			if (!lower_digit((unsigned char)app[i]) && app[i] != '-')
				return fail(err, at, "app '%.64s' is not an app id", app);
		json_object_set_new(out, "app", json_string(app));
		if (path) {
			if (check_template(json_object_get(step, "path"), at, "path", err) < 0)
				return -1;
			json_object_set_new(out, "path", json_string(path));
		}
	}
	for (i = 0; method && method[i]; i++)
		upper[i] = (char)toupper((unsigned char)method[i]);
	upper[method ? i : 0] = '\0';
	for (m = methods; method && *m; m++)
		if (!strcmp(*m, upper))
			break;
	if (method && !*m)
		return fail(err, at, "method '%s' is not one of GET HEAD POST PUT PATCH DELETE OPTIONS",
			    method);
	json_object_set_new(out, "method", json_string(method ? *m : "GET"));
	if (headers && (!json_is_object(headers) || json_object_size(headers) > MAX_HEADERS))
		return fail(err, at, "headers: must be an object of at most %d strings", MAX_HEADERS);
	json_object_foreach(headers, key, v) {
		if (!*key || !matches(key, header_name_char, header_name_char, 200))
			return fail(err, at, "header name '%.100s' is not a token", key);
		if (!json_is_string(v) || strpbrk(json_string_value(v), "\r\n") ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return fail(err, at, "header '%.100s' must be a string without CR, LF or NUL",
				    key);
	}
	if (headers && check_template(headers, at, "headers", err) < 0)
		return -1;
	json_object_set_new(out, "headers", headers ? json_deep_copy(headers) : json_object());
	if ((body = json_object_get(step, "body"))) {
		if (check_template(body, at, "body", err) < 0)
			return -1;
		json_object_set_new(out, "body", json_deep_copy(body));
	}
	if (get_int(step, "timeoutMs", 30000, 1, 86400000, at, &timeout, err) < 0)
		return -1;
	json_object_set_new(out, "timeoutMs", json_integer(timeout));
	if (check_retry(step, at, out, err) < 0 ||
	    check_store_key(step, "storeResponseAs", at, out, err) < 0)
		return -1;
	return 0;
}

#define COMMON "id", "name", "type", "dependsOn", "produces", "consumes"
static const char *const job_fields[] = { COMMON, "jobSlug", "parameters", "timeoutMs",
	"retryPolicy", "storeResultAs", NULL };
static const char *const service_fields[] = { COMMON, "url", "app", "path", "method",
	"headers", "body", "timeoutMs", "retryPolicy", "storeResponseAs", NULL };
static const char *const fanout_fields[] = { COMMON, "collection", "template", "maxItems",
	"maxConcurrency", "storeResultsAs", NULL };

static int check_step(json_t *step, size_t index, const char *parent, json_t **out,
		      struct ah_err *err);

static int check_fanout(json_t *step, const char *id, const struct at *at, json_t *out,
			struct ah_err *err)
{
	json_t *coll = json_object_get(step, "collection"), *tmpl = json_object_get(step, "template");
	json_t *child = NULL;
	long long items, conc;

	if (get_int(step, "maxItems", 100, 1, AH_WORKFLOW_MAX_ITEMS, at, &items, err) < 0 ||
	    get_int(step, "maxConcurrency", 10, 1, AH_WORKFLOW_MAX_CONCURRENCY, at, &conc, err) < 0)
		return -1;
	json_object_set_new(out, "maxItems", json_integer(items));
	json_object_set_new(out, "maxConcurrency", json_integer(conc));
	if (!coll)
		return fail(err, at, "collection: required for a fanout step");
	if (json_is_string(coll)) {
		if (!strstr(json_string_value(coll), "{{"))
			return fail(err, at, "collection: must be an array or a template ('{{ ... }}')");
	} else if (json_is_array(coll)) {
		if ((long long)json_array_size(coll) > items)
			return fail(err, at, "collection has %zu items, more than maxItems (%lld)",
				    json_array_size(coll), items);
	} else {
		return fail(err, at, "collection: must be an array or a template string");
	}
	if (check_template(coll, at, "collection", err) < 0)
		return -1;
	json_object_set_new(out, "collection", json_deep_copy(coll));
	if (!tmpl)
		return fail(err, at, "template: required for a fanout step");
	if (!json_is_object(tmpl))
		return fail(err, at, "template: must be an object (a job or service step)");
	if (check_step(tmpl, 0, id, &child, err) < 0)
		return -1;
	json_object_set_new(out, "template", child);
	return check_store_key(step, "storeResultsAs", at, out, err);
}

/*
 * One step into *out. parent is the fanout step's id for its template
 * (which takes no dependsOn and is a job or a service), else NULL.
 */
static int check_step(json_t *step, size_t index, const char *parent, json_t **out,
		      struct ah_err *err)
{
	json_t *n = json_object(), *deps, *dep;
	const char *id, *type, *name, *const *known;
	struct at at;
	size_t i;
	int ret = -1;

	*out = NULL;
	if (parent)
		snprintf(at.pre, sizeof(at.pre), "step '%s' template: ", parent);
	else
		snprintf(at.pre, sizeof(at.pre), "step %zu: ", index + 1);
	if (!json_is_object(step)) {
		fail(err, &at, "must be an object");
		goto done;
	}
	if (get_str(step, "id", 100, &at, &id, err) < 0)
		goto done;
	if (!id) {
		fail(err, &at, "id: required");
		goto done;
	}
	if (!matches(id, alnum, id_rest, 100)) {
		fail(err, &at, "id '%.100s' must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$", id);
		goto done;
	}
	if (parent)
		snprintf(at.pre, sizeof(at.pre), "step '%s' template '%s': ", parent, id);
	else
		snprintf(at.pre, sizeof(at.pre), "step '%s': ", id);
	json_object_set_new(n, "id", json_string(id));

	if (json_object_get(step, "type")) {
		type = json_string_value(json_object_get(step, "type"));
		if (!type) {
			fail(err, &at, "type: must be a string");
			goto done;
		}
	} else if (json_object_get(step, "jobSlug")) {
		type = "job";
	} else {
		fail(err, &at, "type: required (job, service or fanout)");
		goto done;
	}
	if (!strcmp(type, "job")) {
		known = job_fields;
	} else if (!strcmp(type, "service")) {
		known = service_fields;
	} else if (!strcmp(type, "fanout") && !parent) {
		known = fanout_fields;
	} else {
		fail(err, &at, "unknown type '%.50s'%s", type,
		     parent ? " (a fanout's template is a job or a service)" : "");
		goto done;
	}
	json_object_set_new(n, "type", json_string(type));
	{
		char what[32];

		snprintf(what, sizeof(what), "for a %s step", type);
		if (unknown_fields(step, known, &at, what, err) < 0)
			goto done;
	}
	if (get_str(step, "name", MAX_NAME, &at, &name, err) < 0)
		goto done;
	if (name)
		json_object_set_new(n, "name", json_string(name));

	deps = json_object_get(step, "dependsOn");
	if (parent && deps) {
		fail(err, &at, "a fanout's template takes no dependsOn (the fanout step does)");
		goto done;
	}
	if (!parent) {
		json_t *d = json_array();

		json_object_set_new(n, "dependsOn", d);
		/* One dependency may be written as a string. */
		if (json_is_string(deps))
			json_array_append(d, deps);
		else if (deps && (!json_is_array(deps) ||
				  json_array_size(deps) > AH_WORKFLOW_MAX_DEPENDS)) {
			fail(err, &at, "dependsOn: must be an array of at most %d step ids",
			     AH_WORKFLOW_MAX_DEPENDS);
			goto done;
		}
		json_array_foreach(json_is_array(deps) ? deps : NULL, i, dep) {
			if (!json_is_string(dep)) {
				fail(err, &at, "dependsOn[%zu]: must be a step id", i);
				goto done;
			}
			json_array_append(d, dep);
		}
	}
	if (check_assets(step, &at, n, err) < 0)
		goto done;

	if (!strcmp(type, "job"))
		ret = check_job(step, &at, n, err);
	else if (!strcmp(type, "service"))
		ret = check_service(step, &at, n, err);
	else
		ret = check_fanout(step, id, &at, n, err);
done:
	if (ret < 0)
		json_decref(n);
	else
		*out = n;
	return ret;
}

/* Each default's value against the schema of its property (the rest come with a run). */
static int check_defaults(json_t *schema, json_t *defaults, struct ah_err *err)
{
	json_t *props = json_object_get(schema, "properties"), *v;
	json_t *extra = json_object_get(schema, "additionalProperties");
	const char *key;

	json_object_foreach(defaults, key, v) {
		json_t *sub = json_object_get(props, key);
		char name[200];

		snprintf(name, sizeof(name), "defaultParameters.%.100s", key);
		if (!sub && json_is_false(extra))
			return ah_invalid(err, "%s: not a property of parametersSchema", name);
		if (sub && ah_json_schema_check(sub, v, name, err) < 0) {
			err->status = 400;
			err->code = "invalid";
			return -1;
		}
	}
	return 0;
}

static int check_schedules(json_t *def, json_t *out, struct ah_err *err)
{
	json_t *scheds = json_object_get(def, "schedules"), *s, *list = json_array();
	size_t i, j;
	int ret = -1;

	if (scheds && (!json_is_array(scheds) || json_array_size(scheds) > AH_WORKFLOW_MAX_SCHEDULES)) {
		ah_invalid(err, "schedules: must be an array of at most %d schedules",
			   AH_WORKFLOW_MAX_SCHEDULES);
		goto done;
	}
	json_array_foreach(scheds, i, s) {
		json_t *n = NULL;
		const char *name;

		if (!json_is_object(s)) {
			ah_invalid(err, "schedules[%zu]: must be an object", i);
			goto done;
		}
		if (ah_schedule_check(s, &n, err) < 0) {
			char why[sizeof(err->msg)];

			memcpy(why, err->msg, sizeof(why));
			ah_invalid(err, "schedules[%zu]: %s", i, why);
			goto done;
		}
		name = json_string_value(json_object_get(n, "name"));
		for (j = 0; j < i; j++)
			if (name && json_equal(json_object_get(json_array_get(list, j), "name"),
					       json_object_get(n, "name"))) {
				ah_invalid(err, "schedule '%s' is defined twice", name);
				json_decref(n);
				goto done;
			}
		json_array_append_new(list, n);
	}
	json_object_set(out, "schedules", list);
	ret = 0;
done:
	json_decref(list);
	return ret;
}

int ah_workflow_def_check(json_t *def, json_t **out, struct ah_err *err)
{
	static const char *const known[] = { "slug", "name", "description", "version",
		"parametersSchema", "defaultParameters", "maxParallel", "autoMaterialize",
		"schedules", "steps", "dag", NULL };
	static const char *const am_known[] = { "onUpstreamUpdate", NULL };
	json_t *n = json_object(), *steps, *step, *list = NULL, *dag = NULL, *v;
	struct at top = { "" }, amat = { "autoMaterialize: " };
	const char *slug, *s;
	long long par;
	size_t i, size;
	int flag, ret = -1;

	*out = NULL;
	if (!json_is_object(def)) {
		ah_invalid(err, "a workflow definition must be an object");
		goto done;
	}
	size = json_dumpb(def, NULL, 0, JSON_COMPACT);
	if (size > AH_WORKFLOW_DEF_MAX) {
		ah_error(err, 413, "too_large",
			 "workflow definition of %zu bytes is over the %d byte limit", size,
			 AH_WORKFLOW_DEF_MAX);
		goto done;
	}
	if (unknown_fields(def, known, &top, NULL, err) < 0)
		goto done;
	if (get_str(def, "slug", 100, &top, &slug, err) < 0)
		goto done;
	if (!slug) {
		ah_invalid(err, "slug: required");
		goto done;
	}
	if (!matches(slug, lower_digit, slug_rest, 100)) {
		ah_invalid(err, "slug '%.100s' must match ^[a-z0-9][a-z0-9-_]*$ (at most 100)", slug);
		goto done;
	}
	json_object_set_new(n, "slug", json_string(slug));
	if (get_str(def, "name", MAX_NAME, &top, &s, err) < 0)
		goto done;
	json_object_set_new(n, "name", json_string(s ? s : slug));
	if (get_str(def, "description", MAX_DESCRIPTION, &top, &s, err) < 0)
		goto done;
	if (s)
		json_object_set_new(n, "description", json_string(s));

	if ((v = json_object_get(def, "parametersSchema"))) {
		if (ah_json_schema_valid(v, "parametersSchema", err) < 0)
			goto done;
		copy(n, def, "parametersSchema");
	}
	v = json_object_get(def, "defaultParameters");
	if (v && !json_is_object(v)) {
		ah_invalid(err, "defaultParameters: must be an object");
		goto done;
	}
	if (v && json_object_get(def, "parametersSchema") &&
	    check_defaults(json_object_get(def, "parametersSchema"), v, err) < 0)
		goto done;
	json_object_set_new(n, "defaultParameters", v ? json_deep_copy(v) : json_object());
	if (get_int(def, "maxParallel", -1, 1, AH_WORKFLOW_MAX_PARALLEL, &top, &par, err) < 0)
		goto done;
	if (par > 0)
		json_object_set_new(n, "maxParallel", json_integer(par));
	v = json_object_get(def, "autoMaterialize");
	if (v && !json_is_object(v)) {
		ah_invalid(err, "autoMaterialize: must be an object {onUpstreamUpdate}");
		goto done;
	}
	if ((v && unknown_fields(v, am_known, &amat, NULL, err) < 0) ||
	    get_bool(v, "onUpstreamUpdate", 0, &amat, &flag, err) < 0)
		goto done;
	json_object_set_new(n, "autoMaterialize", json_pack("{sb}", "onUpstreamUpdate", flag));
	if (check_schedules(def, n, err) < 0)
		goto done;

	steps = json_object_get(def, "steps");
	if (!json_is_array(steps) || !json_array_size(steps) ||
	    json_array_size(steps) > AH_WORKFLOW_MAX_STEPS) {
		ah_invalid(err, "steps: must be an array of 1 to %d steps", AH_WORKFLOW_MAX_STEPS);
		goto done;
	}
	list = json_array();
	json_array_foreach(steps, i, step) {
		json_t *one;

		if (check_step(step, i, NULL, &one, err) < 0)
			goto done;
		json_array_append_new(list, one);
	}
	if (ah_dag_check(list, &dag, err) < 0)
		goto done;
	json_object_set(n, "steps", list);
	json_object_set(n, "dag", dag);
	*out = n;
	n = NULL;
	ret = 0;
done:
	json_decref(n);
	json_decref(list);
	json_decref(dag);
	return ret;
}
