#ifndef SERVE_H
#define SERVE_H

#include <jansson.h>
#include "ctx.h"

/*
 * serve: {listen?, workers?, threads?, timeout?, requestTimeout?,
 * maxConnections?, maxConnectionsPerIp?, hookBranches?, allowHosts?,
 * corsOrigins?} (timeouts in ms) serves ctx's state until SIGTERM, SIGINT
 * or SIGHUP, then lets the work in flight finish. What it tells its
 * operator goes to ctx->progress as {message}. {} once stopped.
 */
int ah_serve(struct ah_ctx *ctx, json_t *params, json_t **out, struct ah_err *err);

#endif
