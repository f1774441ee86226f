#ifndef SEARCH_H
#define SEARCH_H

#include <jansson.h>
#include "state.h"

#define AH_SEARCH_MAX_WORDS 12

/*
 * Appends the search words of text to words: runs of letters and digits,
 * ASCII lowercased, unique, at most AH_SEARCH_MAX_WORDS in all.
 */
void ah_search_words(const char *text, json_t *words);

/*
 * Searches the apps: params {q?, tags?, status?, sort?, limit?, offset?,
 * weights?, facets?} -> {data, total, facets{tags, statuses, owners,
 * frameworks}, meta}. facets:false leaves the facets out.
 */
int ah_apps_search(struct ah_state *st, json_t *params, json_t **out, struct ah_err *err);

#endif
