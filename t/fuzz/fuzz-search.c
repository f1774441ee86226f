/*
 * libFuzzer target for the search index's tokenizer (lib/fts-stem.c): any
 * bytes are indexed and removed again with the index consistent (FTS5's
 * integrity-check tokenizes the rows anew, so a stem that changed between
 * two tokenizations, the cache's fault, shows), and ASCII text is found by
 * every one of its words as a prefix query, as lib/search.c asks them.
 * Build and run: make fuzz FUZZTIME=60
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "../../lib/fts-stem.h"

static sqlite3 *db;

static void must(int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
		abort();
	}
}

static int run(const char *sql, const unsigned char *text, size_t n)
{
	sqlite3_stmt *stmt;
	int rc, rows = 0;

	must(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), sql);
	if (text)
		sqlite3_bind_text(stmt, 1, (const char *)text, (int)n, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		rows++;
	must(rc, sql);
	sqlite3_finalize(stmt);
	return rows;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char word[80], match[96];
	size_t i, n, words = 0;
	int ascii = 1;

	if (!db) {
		must(sqlite3_open(":memory:", &db), "open");
		must(ah_fts_stem_register(db), "register");
		run("CREATE VIRTUAL TABLE f USING fts5(a, prefix='1 2 3 4',"
		    " tokenize='" AH_FTS_STEM_TOKENIZER " unicode61 remove_diacritics 2')", NULL, 0);
	}
	if (size > 4096)
		return 0;
	run("INSERT INTO f(rowid, a) VALUES (1, ?)", data, size);
	for (i = 0; i < size; i++)
		if (data[i] >= 0x80 || !data[i])
			ascii = 0;
	for (i = 0; ascii && i < size && words < 12; i += n) {
		for (n = 0; i + n < size && isalnum(data[i + n]); n++)
			;
		if (!n) {
			n = 1;
			continue;
		}
		if (n >= sizeof(word))
			continue;
		for (size_t j = 0; j < n; j++)
			word[j] = (char)tolower(data[i + j]);
		word[n] = '\0';
		snprintf(match, sizeof(match), "\"%s\"*", word);
		if (run("SELECT rowid FROM f WHERE f MATCH ?", (const unsigned char *)match,
			strlen(match)) != 1)
			abort();
		words++;
	}
	run("DELETE FROM f WHERE rowid = 1", NULL, 0);
	run("INSERT INTO f(f) VALUES ('integrity-check')", NULL, 0);
	return 0;
}
