/*
 * struct ah_err: an operation's error, its HTTP-like status, code and
 * message, and the JSON of a parse error that never quotes the file.
 */
#include <jansson.h>
#include <stdio.h>
#include "err.h"

int ah_error(struct ah_err *err, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * jansson's own text quotes the token it stopped at ("near 'root'"), which
 * would copy a refused file's contents into a message: only the position
 * and a fixed reason go out.
 */
const char *ah_json_why(const json_error_t *je, char *buf, size_t n)
{
	static const char *const why[] = {
		[json_error_out_of_memory] = "out of memory",
		[json_error_stack_overflow] = "nested too deep",
		[json_error_cannot_open_file] = "cannot open the file",
		[json_error_invalid_argument] = "invalid argument",
		[json_error_invalid_utf8] = "invalid UTF-8",
		[json_error_premature_end_of_input] = "unexpected end of input",
		[json_error_end_of_input_expected] = "garbage after the end of the document",
		[json_error_invalid_syntax] = "syntax error",
		[json_error_invalid_format] = "invalid format",
		[json_error_wrong_type] = "wrong type",
		[json_error_null_character] = "NUL character",
		[json_error_null_value] = "null value",
		[json_error_null_byte_in_key] = "NUL byte in a key",
		[json_error_duplicate_key] = "duplicate key",
		[json_error_numeric_overflow] = "number out of range",
		[json_error_item_not_found] = "item not found",
		[json_error_index_out_of_range] = "index out of range",
	};
	enum json_error_code c = json_error_code(je);
	const char *w = (size_t)c < sizeof(why) / sizeof(*why) && why[c] ? why[c] : "not valid JSON";

	if (c == json_error_stack_overflow)
		snprintf(buf, n, "line %d: too deeply nested (more than %d levels)", je->line,
			 JSON_PARSER_MAX_DEPTH);
	else if (je->line > 0)
		snprintf(buf, n, "line %d: %s at column %d", je->line, w, je->column);
	else
		snprintf(buf, n, "%s", w);
	return buf;
}
