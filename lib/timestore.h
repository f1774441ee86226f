#ifndef TIMESTORE_H
#define TIMESTORE_H

/*
 * The timestore's records in apphub.db: datasets, their schema versions,
 * manifests and partitions (the data is in Parquet files under
 * <state>/timestore/<dataset>/<yyyy-mm-dd>/<partition>.parquet).
 */
#include <jansson.h>
#include "err.h"
#include "state.h"

#endif
