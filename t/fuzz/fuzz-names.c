/*
 * libFuzzer target for the parsers of user-given names: tags, repository
 * URLs, Dockerfile paths, derived app ids and search words; and of the
 * values options and parameters take: durations, sizes, base64. Each must
 * accept or refuse any bytes without crashing, and what it accepts must
 * hold its documented shape. Build and run: make fuzz FUZZTIME=60
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "../../lib/apps.h"
#include "../../lib/base64.h"
#include "../../lib/parse.h"
#include "../../lib/search.h"
#include "../../lib/tags.h"

static void check_tag(const char *s)
{
	struct ah_err err;
	struct ah_tag tag;

	if (ah_tag_parse(s, &tag, "tag", &err) < 0)
		return;
	if (!*tag.key || !*tag.value || strlen(tag.key) > AH_TAG_KEY_MAX ||
	    strlen(tag.value) > AH_TAG_VALUE_MAX || strchr(tag.key, ':'))
		abort();
}

static void check_id(const char *s)
{
	struct ah_err err;
	char *id = ah_derive_app_id(s);

	if (id && ah_valid_app_id(id, &err) < 0)
		abort();
	free(id);
}

/* Whether path has a ".." component: the one way out of the repository. */
static int has_dotdot(const char *path)
{
	const char *p = path;

	while ((p = strstr(p, ".."))) {
		if ((p == path || p[-1] == '/') && (!p[2] || p[2] == '/'))
			return 1;
		p += 2;
	}
	return 0;
}

static void check_path(const char *s)
{
	struct ah_err err;

	if (ah_valid_dockerfile_path(s, &err) == 0 && (s[0] == '/' || has_dotdot(s)))
		abort();
	ah_valid_repo_url(s, &err);
}

static void check_words(const char *s)
{
	json_t *words = json_array();
	size_t i;

	ah_search_words(s, words);
	if (json_array_size(words) > AH_SEARCH_MAX_WORDS)
		abort();
	for (i = 0; i < json_array_size(words); i++) {
		const char *w = json_string_value(json_array_get(words, i));

		/* A word goes into an FTS5 phrase: no quote, space or operator. */
		if (!*w || strpbrk(w, "\" *:()^-+"))
			abort();
	}
	json_decref(words);
}

/* What decodes, encodes back to text that decodes to the same bytes, within the limit. */
static void check_base64(const char *s)
{
	struct ah_err err;
	unsigned char *buf, *again;
	size_t len, len2;
	char *text;

	if (ah_base64_decode(s, 4096, &buf, &len, &err) < 0)
		return;
	if (len > 4096)
		abort();
	text = ah_base64_encode(buf, len);
	if (ah_base64_decode(text, 4096, &again, &len2, &err) < 0 || len2 != len ||
	    memcmp(buf, again, len))
		abort();
	free(again);
	free(text);
	free(buf);
}

static void check_units(const char *s)
{
	int64_t v;

	if (ah_parse_duration_ms(s, &v) == 0 && v < 0)
		abort();
	if (ah_parse_size(s, &v) == 0 && v < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *s = malloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	check_tag(s);
	check_id(s);
	check_path(s);
	check_words(s);
	check_base64(s);
	check_units(s);
	free(s);
	return 0;
}
