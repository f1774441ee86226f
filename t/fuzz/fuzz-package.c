/*
 * libFuzzer target for package.json (lib/analyze.c's reader, through
 * ah_analyze): any bytes give a name that passes the name rules, tags that
 * parse, or an error with a message. Build and run: make fuzz FUZZTIME=60
 */
#include <stdlib.h>
#include "memtree.h"
#include "../../lib/usage.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct memtree t = { "package.json", (const char *)data, size };
	struct ah_analysis an;
	struct ah_err err = AH_ERR_INIT;

	if (memtree_analyze(&t, &an, &err) < 0) {
		if (!err.status || !err.msg[0])
			abort();
		return 0;
	}
	if (an.name && (!an.name[0] || strlen(an.name) > 200))
		abort();
	ah_analysis_release(&an);
	return 0;
}
