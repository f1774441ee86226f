#ifndef BUILD_H
#define BUILD_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "err.h"
#include "params.h"
#include "sandbox.h"

/*
 * The build engine: a Dockerfile and a context directory into an image in
 * the store (STATE/images), with no daemon. The native engine parses the
 * Dockerfile (lib/dockerfile.h), starts each stage from scratch, a stored
 * image or one pulled on demand, runs RUN steps under bubblewrap
 * (lib/sandbox.h) and captures their file-system changes as layers, and
 * reuses cached layers keyed by (parent, instruction, build args, content
 * of the files copied). "podman" and "docker" shell out to those tools and
 * import the result.
 */

/* struct ah_limits is in sandbox.h. */

struct ah_build_opts {
	const char *state_dir;	/* the store is state_dir/images */
	const char *context;	/* the build context directory */
	const char *dockerfile;	/* relative to context; NULL: "Dockerfile" */
	const char *tag;	/* the name:tag the result gets */
	const char *const *build_args;	/* "K=V" */
	size_t build_args_nr;
	const char *target;	/* a stage name, or NULL for the last */
	const char *platform;	/* "os/arch[/variant]" of stages without FROM --platform; NULL: this machine's */
	const char *network;	/* RUN's network: "none" (default) or "host" */
	const char *engine;	/* "native" (default), "podman" or "docker" */
	int64_t run_timeout_ms;	/* each RUN; 0: no limit */
	struct ah_limits limits;	/* each RUN */
	int no_cache;
	int log_fd;		/* the build's output: steps and what RUN prints */
};

/*
 * Builds opts->tag. *report is {image, digest, engine, durationMs,
 * steps:[{instruction, line, cached, durationMs}]}. A failure names the
 * Dockerfile line ("Dockerfile:7: RUN exited with status 1"); its output is
 * in the log.
 */
int ah_build_image(const struct ah_build_opts *opts, json_t **report, struct ah_err *err);

/* image.build, for lib/ops.c's table (apphub-image and serve). */

#endif
