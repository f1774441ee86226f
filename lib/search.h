#ifndef SEARCH_H
#define SEARCH_H

#include <jansson.h>

#define AH_SEARCH_MAX_WORDS 12

/*
 * Appends the search words of text to words: runs of letters and digits,
 * ASCII lowercased, unique, at most AH_SEARCH_MAX_WORDS in all.
 */
void ah_search_words(const char *text, json_t *words);

#endif
