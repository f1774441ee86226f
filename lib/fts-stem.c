/*
 * The search index's tokenizer: English stems as synonyms, so that "vote"
 * finds "voting" as the original's to_tsquery('english') did.
 *
 * A query's word is itself or, when it differs, its Snowball English stem,
 * as synonyms of one term, each a prefix when the word is: "voting" is
 * "voting" or "vote". A document's word is indexed as written and, when
 * its stem is not a prefix of it, as its stem at the same position
 * ("voting", "vote"); a stem that is a prefix ("shop" of "shopping") is
 * found through the word itself. So a prefix finds the words as written
 * ("universi" finds "university", stem "univers"), and a word its other
 * forms, both ways. FTS5 counts a position once however many synonyms of
 * a term match it; synonyms do not count in a column's length, so bm25
 * weighs the words as before. One thing differs: a prefix of both a word
 * and its stem ("vot" of "voting" and "vote") is one term matching two
 * tokens there, which bm25 counts as two occurrences. Synonyms in every
 * query would avoid it at a cost of a third of a search's time; stems
 * that are not prefixes (a restored "e", "y" made "i") are few.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libstemmer.h>
#include "fts-stem.h"

/* Longer runs of letters are no English words: taken as they are. */
#define STEM_MAX_BYTES 64

/*
 * The stems last seen, by a hash of the word: a catalogue repeats its
 * words (tags above all), and a look-up here costs a tenth of stemming.
 */
#define STEM_CACHE_SLOTS 1024

struct stem_slot {
	unsigned char n, len;	/* the word's length (0: empty slot), its stem's */
	char word[STEM_MAX_BYTES];
	char stem[STEM_MAX_BYTES];
};

struct stem_tokenizer {
	fts5_tokenizer parent;
	Fts5Tokenizer *parent_tok;
	struct sb_stemmer *stemmer;
	struct stem_slot cache[STEM_CACHE_SLOTS];
};

struct stem_call {
	struct stem_tokenizer *t;
	void *ctx;
	int (*token)(void *ctx, int tflags, const char *token, int n, int start, int end);
	int query;
};

static void stem_delete(Fts5Tokenizer *tok)
{
	struct stem_tokenizer *t = (struct stem_tokenizer *)tok;

	if (!t)
		return;
	if (t->parent_tok)
		t->parent.xDelete(t->parent_tok);
	if (t->stemmer)
		sb_stemmer_delete(t->stemmer);
	free(t);
}

/* ctx is the fts5_api; args: the parent tokenizer and its arguments. */
static int stem_create(void *ctx, const char **args, int nargs, Fts5Tokenizer **out)
{
	fts5_api *api = ctx;
	struct stem_tokenizer *t = calloc(1, sizeof(*t));
	const char *parent = nargs > 0 ? args[0] : "unicode61";
	void *parent_ctx = NULL;
	int rc;

	*out = NULL;
	if (!t)
		return SQLITE_NOMEM;
	rc = api->xFindTokenizer(api, parent, &parent_ctx, &t->parent);
	if (rc == SQLITE_OK)
		rc = t->parent.xCreate(parent_ctx, nargs > 0 ? args + 1 : NULL,
				       nargs > 0 ? nargs - 1 : 0, &t->parent_tok);
	if (rc == SQLITE_OK && !(t->stemmer = sb_stemmer_new("english", "UTF_8")))
		rc = SQLITE_NOMEM;
	if (rc != SQLITE_OK) {
		stem_delete((Fts5Tokenizer *)t);
		return rc;
	}
	*out = (Fts5Tokenizer *)t;
	return SQLITE_OK;
}

/*
 * The stem of word (*len its length); NULL when the word is too long to
 * stem or holds a digit (no English word), or out of memory (*len -1).
 */
static const char *stem_of(struct stem_tokenizer *t, const char *word, int n, int *len)
{
	struct stem_slot *slot;
	const sb_symbol *stem;
	uint32_t h = 2166136261u;
	int i;

	*len = 0;
	if (n <= 0 || n > STEM_MAX_BYTES)
		return NULL;
	for (i = 0; i < n; i++) {
		if (word[i] >= '0' && word[i] <= '9')
			return NULL;
		h = (h ^ (unsigned char)word[i]) * 16777619u;
	}
	slot = &t->cache[h % STEM_CACHE_SLOTS];
	if (slot->n == n && !memcmp(slot->word, word, (size_t)n)) {
		*len = slot->len;
		return slot->stem;
	}
	stem = sb_stemmer_stem(t->stemmer, (const sb_symbol *)word, n);
	*len = stem ? sb_stemmer_length(t->stemmer) : -1;
	if (*len <= 0 || *len > STEM_MAX_BYTES) {
		*len = *len < 0 ? -1 : 0;
		return NULL;
	}
	slot->n = (unsigned char)n;
	slot->len = (unsigned char)*len;
	memcpy(slot->word, word, (size_t)n);
	memcpy(slot->stem, stem, (size_t)*len);
	return slot->stem;
}

static int stem_token(void *ctx, int tflags, const char *token, int n, int start, int end)
{
	struct stem_call *c = ctx;
	const char *stem;
	int rc, len, prefix;

	rc = c->token(c->ctx, tflags, token, n, start, end);
	if (rc != SQLITE_OK || (tflags & FTS5_TOKEN_COLOCATED))
		return rc;
	if (!(stem = stem_of(c->t, token, n, &len)))
		return len < 0 ? SQLITE_NOMEM : SQLITE_OK;
	prefix = len <= n && !memcmp(stem, token, (size_t)len);
	if (c->query ? !(prefix && len == n) : !prefix)
		rc = c->token(c->ctx, FTS5_TOKEN_COLOCATED, stem, len, start, end);
	return rc;
}

static int stem_tokenize(Fts5Tokenizer *tok, void *ctx, int flags, const char *text, int n,
			 int (*token)(void *, int, const char *, int, int, int))
{
	struct stem_tokenizer *t = (struct stem_tokenizer *)tok;
	struct stem_call c = { t, ctx, token, (flags & FTS5_TOKENIZE_QUERY) != 0 };

	/* highlight() and friends want the words alone */
	if (!(flags & (FTS5_TOKENIZE_DOCUMENT | FTS5_TOKENIZE_QUERY)))
		return t->parent.xTokenize(t->parent_tok, ctx, flags, text, n, token);
	return t->parent.xTokenize(t->parent_tok, &c, flags, text, n, stem_token);
}

int ah_fts_stem_register(sqlite3 *db)
{
	static fts5_tokenizer methods = { stem_create, stem_delete, stem_tokenize };
	fts5_api *api = NULL;
	sqlite3_stmt *stmt;
	int rc;

	rc = sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_pointer(stmt, 1, &api, "fts5_api_ptr", NULL);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW || !api)
		return SQLITE_ERROR;
	return api->xCreateTokenizer(api, AH_FTS_STEM_TOKENIZER, api, &methods, NULL);
}
