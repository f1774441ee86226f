/*
 * The timestore's records (lib/timestore.h).
 */
#include "timestore.h"
