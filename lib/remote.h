#ifndef REMOTE_H
#define REMOTE_H

#include <jansson.h>
#include "ops.h"

/*
 * Calls operation name on the apphub serve at server (--server URL) with
 * params, through the helper apphub-remote: the result, or the server's
 * error as err (its HTTP status, its message). An error with an empty
 * message means apphub-remote itself failed and said why on stderr.
 */
int ah_remote_call(const char *server, const char *name, json_t *params, json_t **out,
		   struct ah_err *err);

#endif
