/*
 * libFuzzer target for image import (lib/image.c): any bytes, taken as an
 * archive (a rootfs tarball, docker save output or an OCI layout, plain or
 * compressed), import or fail with an error, never crash, leak or write
 * outside a temporary store; a store that imported unpacks. Layers are
 * capped at 1 MiB so a bomb stays small. Build and run: make fuzz
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../lib/fsutil.h"
#include "../../lib/image.h"

static char state[] = "/tmp/fuzz-oci-XXXXXX";
static char *file, *dest;
static struct ah_image_store *store;
static unsigned runs;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ah_err err = AH_ERR_INIT;

	(void)argc;
	(void)argv;
	setenv("APPHUB_MAX_LAYER_SIZE", "1048576", 1);
	if (!mkdtemp(state) || ah_image_store_open(&store, state, &err) < 0)
		abort();
	file = xstrfmt("%s/in.tar", state);
	dest = xstrfmt("%s/root", state);
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct ah_err err = AH_ERR_INIT;
	struct ah_image img;
	FILE *f = fopen(file, "w");

	if (!f || fwrite(data, 1, size, f) != size || fclose(f))
		abort();
	memset(&img, 0, sizeof(img));
	if (ah_image_import(store, file, "fuzz", NULL, NULL, &img, &err) == 0) {
		ah_remove_tree(dest, &err);
		ah_image_unpack(store, &img, dest, &err);
		ah_image_release(&img);
		ah_remove_tree(dest, &err);
	} else if (!err.msg[0]) {
		abort();	/* a failure always says why */
	}
	/* drop what the runs put in the store now and then */
	if (++runs % 64 == 0) {
		ah_image_remove(store, "fuzz", &err);
		ah_image_store_close(store);
		store = NULL;
		if (ah_image_store_open(&store, state, &err) < 0 || ah_image_gc(store, &err) < 0)
			abort();
	}
	return 0;
}
