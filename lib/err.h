#ifndef ERR_H
#define ERR_H

#include "usage.h"

/*
 * The error an operation returns: an HTTP-like status, a stable code for
 * clients, and a message of the form "<what>: <why>". serve sends it as
 * {error:{code, message}}; the CLI prints "apphub: <message>" and maps the
 * status to an exit code.
 */
struct ah_err {
	int status;
	const char *code;
	char msg[512];
};

#define AH_ERR_INIT { 0, NULL, "" }

int ah_error(struct ah_err *err, int status, const char *code, const char *fmt, ...)
	APPHUB_FMT(4, 5);

#define ah_invalid(err, ...) ah_error((err), 400, "invalid", __VA_ARGS__)
#define ah_not_found(err, ...) ah_error((err), 404, "not_found", __VA_ARGS__)
#define ah_conflict(err, ...) ah_error((err), 409, "conflict", __VA_ARGS__)
#define ah_internal(err, ...) ah_error((err), 500, "internal", __VA_ARGS__)
/* The state itself is unusable (corrupt, newer schema, unwritable). */
#define ah_fatal(err, ...) ah_error((err), 500, "fatal", __VA_ARGS__)

struct json_error_t;
#define AH_JSON_WHY_MAX 96
/*
 * Why jansson refused a document, as "line L: <reason> at column C", never
 * quoting its text (it may be a file we must not show). Returns buf.
 */
const char *ah_json_why(const struct json_error_t *je, char *buf, size_t n);

#endif
