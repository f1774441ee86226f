/*
 * The operations of the metastore (lib/metastore.h, lib/metastore-filter.h),
 * carried by apphub and apphub-serve.
 */
#include "ops.h"

const struct ah_op ops_metastore[] = {
	{ NULL },
};
