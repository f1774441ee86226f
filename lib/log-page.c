/* One page of a log file, as the log operations answer (see log-page.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "log-page.h"
#include "usage.h"
#include "utf8.h"

int ah_log_page(const char *path, const char *id, const char *status, int final, long offset,
		long limit, json_t **out, struct ah_err *err)
{
	char *buf = NULL, *text;
	struct stat sb;
	size_t used = 0;
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -1;

	memset(&sb, 0, sizeof(sb));
	if ((fd < 0 && errno != ENOENT) || (fd >= 0 && fstat(fd, &sb) < 0)) {
		ah_internal(err, "cannot read log '%s': %s", path, strerror(errno));
		goto done;
	}
	if (offset < 0)
		offset = sb.st_size > limit ? (long)sb.st_size - limit : 0;
	if (fd >= 0 && offset < sb.st_size) {
		buf = xmalloc((size_t)limit);
		if ((n = pread(fd, buf, (size_t)limit, offset)) < 0) {
			ah_internal(err, "cannot read log '%s': %s", path, strerror(errno));
			goto done;
		}
	}
	text = ah_utf8_clean(buf ? buf : "", (size_t)n, !(final && offset + n >= sb.st_size) && n > 0,
			     &used);
	if (!used && n > 0)
		used = (size_t)n;
	*out = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s}", "id", id, "status", status,
			 "offset", (json_int_t)offset, "nextOffset", (json_int_t)(offset + (long)used),
			 "size", (json_int_t)sb.st_size, "data", text);
	free(text);
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

#define TAIL_MAX (64 << 10)

char *ah_log_tail(int fd, size_t max, int64_t *size)
{
	struct stat sb;
	off_t start;
	ssize_t n;
	size_t skip = 0;
	char *buf, *out;

	*size = 0;
	if (max > TAIL_MAX)
		max = TAIL_MAX;
	if (fd < 0 || fstat(fd, &sb) < 0)
		return xstrdup("");
	*size = sb.st_size;
	start = sb.st_size > (off_t)max ? sb.st_size - (off_t)max : 0;
	buf = xmalloc(max);
	n = pread(fd, buf, max, start);
	if (n <= 0) {
		free(buf);
		return xstrdup("");
	}
	/* A character the cut began in the middle of is left out. */
	while (start && skip < (size_t)n && skip < 3 && ((unsigned char)buf[skip] & 0xc0) == 0x80)
		skip++;
	out = ah_utf8_clean(buf + skip, (size_t)n - skip, 0, NULL);
	free(buf);
	return out;
}
