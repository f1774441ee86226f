#ifndef REGISTRY_H
#define REGISTRY_H

#include <jansson.h>
#include "err.h"
#include "image.h"

/*
 * The OCI distribution API over libcurl: pull an image into the store,
 * push one from it. References are [host[:port]/]path[:tag|@digest]; a
 * reference without a host is on Docker Hub (registry-1.docker.io, with
 * library/ for one-component paths). https, except http for localhost,
 * 127.0.0.1 and [::1], and for any host with insecure. Authentication:
 * none, basic (creds "user:pass", else $APPHUB_REGISTRY_AUTH), and the
 * bearer-token flow a 401's WWW-Authenticate asks for (with the basic
 * credentials, when given, sent to the token service). Every blob and
 * manifest is verified against its digest; bodies are bounded.
 */
struct ah_registry_opts {
	const char *creds;	/* "user:pass" or NULL */
	int insecure;
	int64_t chunk_size;	/* push: > 0 for chunked uploads of this size */
	int verbose;		/* progress lines on stderr */
	const char *platform;	/* pull: "os/arch[/variant]" from an index; NULL: this machine's */
};

/* Pulls ref and names it name (default: the reference, with its tag). */
int ah_registry_pull(struct ah_image_store *s, const char *ref, const char *name,
		     const struct ah_registry_opts *opts, struct ah_image *img,
		     struct ah_err *err);
/* Pushes the stored image name as ref; *digest is the manifest's. */
int ah_registry_push(struct ah_image_store *s, const char *name, const char *ref,
		     const struct ah_registry_opts *opts, char digest[AH_DIGEST_MAX],
		     struct ah_err *err);

#endif
