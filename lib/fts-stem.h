#ifndef FTS_STEM_H
#define FTS_STEM_H

#include <sqlite3.h>

/*
 * The FTS5 tokenizer of the search index, "apphub_english PARENT ARGS...":
 * PARENT's tokens (unicode61 by default) with their English stems
 * (Snowball's, as PostgreSQL's 'english' configuration) as synonyms.
 */
#define AH_FTS_STEM_TOKENIZER "apphub_english"

/* Registers the tokenizer on db: an SQLite result code. */
int ah_fts_stem_register(sqlite3 *db);

#endif
