/*
 * apphub-launch supervise <state-dir> <launch-id> [--notify-fd <fd>]: the
 * supervisor of one launch, started by launch.start (lib/launch.c) and
 * living as long as the launch. The helper apphub-launch carries only
 * this, so a launch keeps a small process (lib/launch-run.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "../lib/launch.h"

int cmd_launch_supervise(int argc, const char **argv, struct ctx *ctx)
{
	int notify = -1;

	(void)ctx;
	if (argc == 6 && !strcmp(argv[1], "supervise") && !strcmp(argv[4], "--notify-fd"))
		notify = atoi(argv[5]);
	else if (argc != 4 || strcmp(argv[1], "supervise")) {
		fprintf(stderr, "usage: apphub-launch supervise <state-dir> <launch-id> [--notify-fd <fd>]\n");
		return APPHUB_EXIT_USAGE;
	}
	return ah_launch_supervise(argv[2], argv[3], notify);
}
