/*
 * The operations of workflows: definitions, runs, schedules and assets
 * (lib/workflows.h), and driving runs (lib/workflow-driver.c) through the
 * runner; carried by apphub-workflow and apphub-serve.
 */
#include "ops.h"

const struct ah_op ops_workflows[] = {
	{ NULL },
};
