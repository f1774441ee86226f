#ifndef RANDOM_ID_H
#define RANDOM_ID_H

#include <stddef.h>

/* Record ids: a prefix ("b", "l", "r"), '-' and 12 hex digits. */
#define AH_RANDOM_ID_HEX 12
#define AH_RANDOM_ID_MAX 16

/* A fresh id into buf (at least AH_RANDOM_ID_MAX bytes). */
void ah_random_id(char *buf, size_t len, char prefix);
/* Whether id is one of ah_random_id()'s with that prefix. */
int ah_random_id_valid(const char *id, char prefix);

#endif
