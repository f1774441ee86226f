/*
 * libFuzzer target for the tag files (.apphub/tags.yaml and apphub.tags.json
 * through lib/analyze.c's own readers): any bytes give tags that parse, or
 * an error with a message; never a crash, a leak, or unbounded work. The
 * first byte picks YAML or JSON. Build and run: make fuzz FUZZTIME=60
 */
#include <stdlib.h>
#include "memtree.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct memtree t;
	struct ah_analysis an;
	struct ah_err err = AH_ERR_INIT;
	size_t i;

	if (!size)
		return 0;
	t.path = data[0] & 1 ? "apphub.tags.json" : ".apphub/tags.yaml";
	t.data = (const char *)data + 1;
	t.size = size - 1;
	if (memtree_analyze(&t, &an, &err) < 0) {
		if (!err.status || !err.msg[0])
			abort();
		return 0;
	}
	for (i = 0; i < an.nr_tags; i++)
		if (!an.tags[i].tag.key[0] || !an.tags[i].tag.value[0])
			abort();
	ah_analysis_release(&an);
	return 0;
}
