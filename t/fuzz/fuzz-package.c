/*
 * libFuzzer target for package.json and the other manifests (lib/derive.c's
 * readers), through ah_analyze: the first byte picks the file the rest is
 * (a manifest of each format, or the Dockerfile itself); any bytes give a
 * name that passes the name rules, tags that parse, or an error with a
 * message. Build and run: make fuzz FUZZTIME=60
 */
#include <stdlib.h>
#include "memtree.h"
#include "../../lib/usage.h"

static const char *const files[] = {
	"package.json", "go.mod", "Cargo.toml", "Gemfile", "requirements.txt",
	"pyproject.toml", "Pipfile", "App.csproj", "composer.json", "pom.xml",
	"build.gradle.kts", "mix.exs", "Dockerfile", "settings.gradle",
};

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct memtree t;
	struct ah_analysis an;
	struct ah_err err = AH_ERR_INIT;
	size_t i;

	if (!size)
		return 0;
	t.path = files[data[0] % (sizeof(files) / sizeof(files[0]))];
	t.data = (const char *)data + 1;
	t.size = size - 1;
	if (memtree_analyze(&t, &an, &err) < 0) {
		if (!err.status || !err.msg[0])
			abort();
		return 0;
	}
	if (an.name && (!an.name[0] || strlen(an.name) > 200))
		abort();
	for (i = 0; i < an.nr_tags; i++)
		if (!an.tags[i].tag.key[0] || !an.tags[i].tag.value[0] || !an.tags[i].source)
			abort();
	ah_analysis_release(&an);
	return 0;
}
