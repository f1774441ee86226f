/*
 * libFuzzer target for a job handler's fd-3 progress lines
 * (ah_job_progress_line): any bytes, split at newlines as the reader
 * splits them, are accepted or refused without crashing; what is
 * accepted is a metric, or a file output whose path is a regular file
 * under the work directory, never a path out of it.
 * Build and run: make fuzz FUZZTIME=60
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../../lib/job-exec.h"

static char work[64];

static void setup(void)
{
	char path[128];
	FILE *f;

	if (*work)
		return;
	snprintf(work, sizeof(work), "/tmp/fuzz-progress-XXXXXX");
	if (!mkdtemp(work))
		abort();
	snprintf(path, sizeof(path), "%s/sub", work);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/sub/out.txt", work);
	if ((f = fopen(path, "w")))
		fclose(f);
	snprintf(path, sizeof(path), "%s/link", work);
	symlink("/etc/passwd", path);
}

static void check(const char *line, size_t len)
{
	char why[AH_JSON_WHY_MAX];
	const char *type, *path;
	json_t *o = NULL;

	if (ah_job_progress_line(line, len, work, &o, why, sizeof(why)) < 0) {
		if (o || !*why)
			abort();
		return;
	}
	type = json_string_value(json_object_get(o, "type"));
	if (!type || !json_is_string(json_object_get(o, "name")))
		abort();
	if (!strcmp(type, "file")) {
		path = json_string_value(json_object_get(o, "path"));
		if (!path || strncmp(path, work, strlen(work)) || path[strlen(work)] != '/' ||
		    strstr(path, "/../") || strstr(path, "/link"))
			abort();
	} else if (strcmp(type, "metric") || !json_object_get(o, "data")) {
		abort();
	}
	json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;

	setup();
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		check(p, (size_t)((nl ? nl : end) - p));
		p = nl ? nl + 1 : end;
	}
	return 0;
}
