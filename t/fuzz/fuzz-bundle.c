/*
 * libFuzzer target for lib/bundle.c's readers. The first byte chooses:
 * 'm', the rest is a manifest for ah_manifest_check() (a manifest it
 * accepts has a name and a semantic version, and passes again as it is
 * left); anything else, the rest is a .tgz for ah_bundle_unpack() into a
 * temporary directory, which fails with a message and leaves nothing, or
 * unpacks a bundle whose manifest passes the check. The directory is
 * removed after each run. Build and run: make fuzz FUZZTIME=60
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../lib/bundle.h"
#include "../../lib/fsutil.h"

static char parent[] = "/tmp/fuzz-bundle-XXXXXX";
static char *dest;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void remove_parent(void)
{
	rmdir(parent);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(parent))
		abort();
	dest = xstrfmt("%s/root", parent);
	atexit(remove_parent);
	return 0;
}

static void check_manifest(const unsigned char *data, size_t size)
{
	struct ah_err err = AH_ERR_INIT;
	json_t *m = json_loadb((const char *)data, size, 0, NULL);
	const char *v;

	if (!m)
		return;
	if (ah_manifest_check(m, &err) < 0) {
		if (err.status != 400 || !*err.msg)
			abort();
	} else {
		v = json_string_value(json_object_get(m, "version"));
		if (!json_string_value(json_object_get(m, "name")) || !v || !ah_semver_check(v) ||
		    ah_semver_cmp(v, v) != 0 || ah_manifest_check(m, &err) < 0)
			abort();
	}
	json_decref(m);
}

static void check_unpack(const unsigned char *data, size_t size)
{
	struct ah_err err = AH_ERR_INIT;
	json_t *m = NULL;

	if (ah_bundle_unpack(data, size, dest, &m, &err) < 0) {
		if (!err.status || !*err.msg || m || access(dest, F_OK) == 0)
			abort();
	} else if (!m || ah_manifest_check(m, &err) < 0) {
		abort();
	}
	json_decref(m);
	if (ah_remove_tree(dest, &err) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] == 'm')
		check_manifest(data + 1, size - 1);
	else
		check_unpack(data + 1, size - 1);
	return 0;
}
