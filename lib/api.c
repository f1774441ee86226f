/*
 * The HTTP face of the operation table, without the server: routing a method
 * and path to an operation, a request's parameters, errors as JSON, and the
 * OpenAPI document generated from the table.
 */
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "strbuf.h"

const char *ah_api_scope_name(enum ah_scope scope)
{
	switch (scope) {
	case SCOPE_NONE:
		return NULL;
	case SCOPE_APPS_WRITE:
		return "apps:write";
	case SCOPE_JOBS_READ:
		return "jobs:read";
	case SCOPE_JOBS_WRITE:
		return "jobs:write";
	case SCOPE_JOBS_RUN:
		return "jobs:run";
	case SCOPE_JOB_BUNDLES_READ:
		return "job-bundles:read";
	case SCOPE_JOB_BUNDLES_WRITE:
		return "job-bundles:write";
	case SCOPE_WORKFLOWS_READ:
		return "workflows:read";
	case SCOPE_WORKFLOWS_WRITE:
		return "workflows:write";
	case SCOPE_WORKFLOWS_RUN:
		return "workflows:run";
	case SCOPE_METASTORE_READ:
		return "metastore:read";
	case SCOPE_METASTORE_WRITE:
		return "metastore:write";
	case SCOPE_METASTORE_DELETE:
		return "metastore:delete";
	case SCOPE_METASTORE_ADMIN:
		return "metastore:admin";
	case SCOPE_TIMESTORE_READ:
		return "timestore:read";
	case SCOPE_TIMESTORE_WRITE:
		return "timestore:write";
	case SCOPE_ADMIN:
		return "admin";
	}
	return "admin";
}

/* The next segment of a path and its length; NULL at the end. */
static const char *next_segment(const char *p, size_t *len)
{
	while (*p == '/')
		p++;
	if (!*p)
		return NULL;
	*len = strcspn(p, "/");
	return p;
}

/*
 * Matches path against a route template; returns its cost, or -1: 1000 a
 * :param, plus a million for each further segment a :param takes. A :param
 * takes one segment or, where nothing else matches, several: image names
 * have slashes ("apphub/web:1"), and the server sees them decoded. The
 * cheapest route wins, so /apps/:id/launches beats /apps/:id for
 * /apps/x/launches, and /workflows/:slug/schedules/:name beats /workflows/:slug
 * taking three segments. With params, their values are added.
 */
static int match(const char *tmpl, const char *path, json_t *params)
{
	const char *t = tmpl, *p = path, *end;
	size_t tl = 0, pl = 0;
	int rest, extra;

	t = next_segment(t, &tl);
	p = next_segment(p, &pl);
	if (!t || !p)
		return !t && !p ? 0 : -1;
	if (*t != ':') {
		if (tl != pl || memcmp(t, p, tl))
			return -1;
		return match(t + tl, p + pl, params);
	}
	/* the fewest segments first: one, then one more while the rest fails */
	for (end = p + pl, extra = 0;; extra++) {
		size_t more;

		if ((rest = match(t + tl, end, params)) >= 0)
			break;
		if (!next_segment(end, &more))
			return -1;
		end = next_segment(end, &more) + more;
	}
	if (params) {
		char *key = xstrndup(t + 1, tl - 1);

		json_object_set_new(params, key, json_stringn(p, (size_t)(end - p)));
		free(key);
	}
	return rest + 1000 + extra * 1000000;
}

int ah_api_route(const char *method, const char *path, json_t *params, const struct ah_op **op)
{
	const struct ah_op *const *mods = ah_op_table;
	const struct ah_op *o, *best = NULL;
	int best_nr = -1, path_seen = 0, nr;
	size_t m;

	*op = NULL;
	for (m = 0; mods[m]; m++) {
		for (o = mods[m]; o->name; o++) {
			/* No path: an operation of the local front ends only. */
			if (!o->path || (nr = match(o->path, path, NULL)) < 0)
				continue;
			path_seen = 1;
			if (strcmp(o->method, method))
				continue;
			if (!best || nr < best_nr) {
				best = o;
				best_nr = nr;
			}
		}
	}
	if (!best)
		return path_seen ? 405 : 404;
	match(best->path, path, params);
	*op = best;
	return 0;
}

void ah_api_add_query(json_t *params, const char *key, const char *value)
{
	json_t *old = json_object_get(params, key), *v = json_string(value ? value : "");

	if (!v)	/* not UTF-8 */
		v = json_stringn_nocheck(value, strlen(value));
	if (!old) {
		json_object_set_new(params, key, v);
	} else if (json_is_array(old)) {
		json_array_append_new(old, v);
	} else {
		json_t *arr = json_array();

		json_array_append(arr, old);
		json_array_append_new(arr, v);
		json_object_set_new(params, key, arr);
	}
}

int ah_api_merge_body(json_t *params, const char *body, size_t len, struct ah_err *err)
{
	json_error_t jerr;
	json_t *obj;
	size_t i;

	for (i = 0; i < len && strchr(" \t\r\n", body[i]); i++)
		;
	if (i == len)
		return 0;
	obj = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj)
		return ah_invalid(err, "invalid JSON body: %s at line %d column %d",
				  jerr.text, jerr.line, jerr.column);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return ah_invalid(err, "invalid JSON body: must be an object");
	}
	json_object_update(params, obj);
	json_decref(obj);
	return 0;
}

json_t *ah_api_error_json(const struct ah_err *err)
{
	return json_pack("{s:{s:s, s:s}}", "error", "code", err->code ? err->code : "internal",
			 "message", err->msg);
}

/* "/apps/:id/history" -> "/apps/{id}/history", and the parameters. */
static char *openapi_path(const char *path, json_t *parameters)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = path;

	while (*p) {
		if (*p == ':') {
			size_t n = strcspn(p + 1, "/");
			char *name = xstrndup(p + 1, n);

			strbuf_addf(&sb, "{%s}", name);
			json_array_append_new(parameters,
				json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", name, "in", "path",
					  "required", 1, "schema", "type", "string"));
			free(name);
			p += n + 1;
		} else {
			strbuf_addch(&sb, *p++);
		}
	}
	return strbuf_detach(&sb, NULL);
}

static json_t *error_response(const char *what)
{
	return json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", what,
			 "content", "application/json", "schema", "$ref",
			 "#/components/schemas/Error");
}

json_t *ah_api_openapi(const char *version)
{
	const struct ah_op *const *mods = ah_op_table;
	const struct ah_op *o;
	json_t *doc, *paths = json_object();
	size_t m;

	for (m = 0; mods[m]; m++) {
		for (o = mods[m]; o->name; o++) {
			json_t *parameters, *item, *op, *responses;
			const char *scope = ah_api_scope_name(o->scope);
			char *path, *method;

			if (!o->path)
				continue;
			parameters = json_array();
			path = openapi_path(o->path, parameters);

			if (!(item = json_object_get(paths, path))) {
				item = json_object();
				json_object_set_new(paths, path, item);
			}
			responses = json_pack("{s:{s:s, s:{s:{s:{s:s}}}}, s:o, s:o, s:o}",
					      o->created ? "201" : o->accepted ? "202" : "200", "description", "the result",
					      "content", "application/json", "schema", "type", "object",
					      "400", error_response("invalid parameters"),
					      "404", error_response("not found"),
					      "500", error_response("internal error"));
			if (scope) {
				json_object_set_new(responses, "401", error_response("no credential"));
				json_object_set_new(responses, "403", error_response("token lacks the scope"));
				json_object_set_new(responses, "409", error_response("conflict"));
			}
			op = json_pack("{s:s, s:s, s:o, s:o}", "operationId", o->name,
				       "summary", o->summary ? o->summary : o->name,
				       "parameters", parameters, "responses", responses);
			if (scope)
				json_object_set_new(op, "security",
						    json_pack("[{s:[s]}]", "bearer", scope));
			if (strcmp(o->method, "GET") && strcmp(o->method, "DELETE"))
				json_object_set_new(op, "requestBody",
					json_pack("{s:{s:{s:{s:s}}}}", "content", "application/json",
						  "schema", "type", "object"));
			method = xstrdup(o->method);
			for (char *c = method; *c; c++)
				*c = (char)(*c - 'A' + 'a');
			json_object_set_new(item, method, op);
			free(method);
			free(path);
		}
	}
	doc = json_pack("{s:s, s:{s:s, s:s}, s:o, s:{s:{s:{s:s, s:[s], s:{s:{s:s, s:[s, s], s:{s:{s:s}, s:{s:s}}}}}}, s:{s:{s:s, s:s}}}}",
			"openapi", "3.0.3",
			"info", "title", "apphub", "version", version,
			"paths", paths,
			"components", "schemas", "Error", "type", "object",
			"required", "error", "properties", "error", "type", "object",
			"required", "code", "message", "properties", "code", "type", "string",
			"message", "type", "string",
			"securitySchemes", "bearer", "type", "http", "scheme", "bearer");
	return doc;
}
