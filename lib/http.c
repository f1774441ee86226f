/*
 * apphub serve's HTTP front end (libmicrohttpd): requests to operations
 * through lib/api.c, the checks against other sites (Host, Origin, JSON
 * only), the event stream and the page.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include "api.h"
#include "auth.h"
#include "http.h"
#include "ops.h"
#include "strbuf.h"
#include "timeutil.h"
#include "web.h"

/* Per (method, route, status): a count and a latency histogram. */
static const double buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
				  0.25, 0.5, 1, 2.5, 5 };
#define NR_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))
#define MAX_ROUTES 256

struct route_stat {
	const char *method;
	const char *route;
	int status;
	unsigned long count;
	double sum;
	unsigned long bucket[NR_BUCKETS];
};

/*
 * What a Server-Sent Events stream follows: an operation that answers
 * the items after an id ("changes since"), each with its id and event
 * name, and the newest id there is, which the watcher compares with what
 * a stream has seen to wake it. GET /events and a metastore watch are two.
 */
struct sse_source {
	const char *op;		/* takes the route's params plus since, limit */
	const char *list;	/* its result's array of items */
	const char *id;		/* an item's id: increasing */
	const char *event;	/* an item's event name */
	const char *newest;	/* SQL: the newest id */
	const char *route;	/* the metrics' label */
	const char *hello;	/* the first bytes, a comment */
};

static const struct sse_source sse_sources[] = {
	{ "events.list", "data", "id", "type", "SELECT coalesce(max(id), 0) FROM events",
	  "/events (stream)", ": apphub events\n" },
	{ "metastore.changes", "changes", "revision", "type",
	  "SELECT ifnull((SELECT seq FROM sqlite_sequence WHERE name = 'metastore_audit'), 0)",
	  "/records/:namespace/watch (stream)", ": apphub metastore watch\n" },
};
#define NR_SSE_SOURCES (sizeof(sse_sources) / sizeof(sse_sources[0]))
#define SSE_BATCH 100

/* One stream. */
struct sse {
	struct ah_http *h;
	struct MHD_Connection *conn;
	const struct sse_source *src;
	json_t *params;		/* the op's params but since and limit */
	long long last_id;	/* the last item sent */
	long long seen;		/* every item up to this id has been looked at */
	int64_t last_write_ms;
	struct strbuf out;
	size_t off;
	int suspended;
	struct sse *prev, *next;
};

/*
 * One connection, watched so that a request whose headers and body do
 * not arrive within the bound is cut off, however slowly they trickle
 * (MHD's own timeout only sees silence).
 */
struct conn {
	int fd;
	int64_t since_ms;	/* when the request being received began */
	int receiving;		/* its headers or body are still arriving */
	int cut;
	int loopback;		/* the address it came in at */
	char local[INET6_ADDRSTRLEN];
	struct conn *prev, *next;
};

struct ah_http {
	struct ah_http_opts o;
	struct MHD_Daemon *d;
	char url[128];
	unsigned port;
	/* The page's cookie: named by port, as browsers share cookies across ports. */
	char cookie_name[32];
	char secret[AH_PAGE_SECRET_LEN + 1];

	pthread_mutex_t conn_lock;
	struct conn *conns;
	char *openapi;
	pthread_key_t state_key;

	pthread_mutex_t stats_lock;
	struct route_stat stats[MAX_ROUTES];
	size_t nr_stats;
	/* metastore records written (idempotent writes aside) and read */
	unsigned long ms_written, ms_read;

	/* The event streams; the watcher wakes them. */
	pthread_mutex_t sse_lock;
	pthread_cond_t sse_cond;
	struct sse *streams;
	size_t nr_streams;
	int stopping;
	pthread_t watcher;
	int watcher_started;
};

/* The request being read: its body, up to the cap. */
struct request {
	struct strbuf body;
	size_t max_body;	/* AH_API_MAX_BODY, or more for its operation */
	int too_large;
	int refused;
	struct ah_err refusal;
	int64_t start_ns;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int ah_http_parse_listen(const char *listen, struct sockaddr_storage *sa, int *loopback,
			 struct ah_err *err)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	const char *colon = strrchr(listen, ':');
	char *host = NULL, *end;
	long port;
	int rc, ret = -1;

	if (!colon || colon == listen)
		return ah_invalid(err, "invalid listen address '%s': must be ADDR:PORT", listen);
	port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || port < 0 || port > 65535)
		return ah_invalid(err, "invalid listen address '%s': port must be from 0 to 65535",
				  listen);
	host = xstrndup(listen, (size_t)(colon - listen));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res))) {
		ah_invalid(err, "invalid listen address '%s': %s", listen, gai_strerror(rc));
		goto done;
	}
	memset(sa, 0, sizeof(*sa));
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	if (sa->ss_family == AF_INET)
		*loopback = (ntohl(((struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	else
		*loopback = IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)sa)->sin6_addr);
	ret = 0;
done:
	if (res)
		freeaddrinfo(res);
	free(host);
	return ret;
}

static void close_state(void *p)
{
	ah_state_close(p);
}

/* This thread's own connection: SQLite connections are not shared. */
static struct ah_state *thread_state(struct ah_http *h, struct ah_err *err)
{
	struct ah_state *st = pthread_getspecific(h->state_key);

	if (st)
		return st;
	if (ah_state_open(&st, h->o.dir, err) < 0)
		return NULL;
	pthread_setspecific(h->state_key, st);
	return st;
}

static void record(struct ah_http *h, const char *method, const char *route, int status,
		   int64_t start_ns)
{
	double secs = (double)(now_ns() - start_ns) / 1e9;
	struct route_stat *s = NULL;
	size_t i;

	pthread_mutex_lock(&h->stats_lock);
	for (i = 0; i < h->nr_stats; i++) {
		if (h->stats[i].status == status && !strcmp(h->stats[i].route, route) &&
		    !strcmp(h->stats[i].method, method)) {
			s = &h->stats[i];
			break;
		}
	}
	if (!s && h->nr_stats < MAX_ROUTES) {
		s = &h->stats[h->nr_stats++];
		s->method = !strcmp(method, "GET") ? "GET" : !strcmp(method, "POST") ? "POST" :
			    !strcmp(method, "DELETE") ? "DELETE" : !strcmp(method, "PUT") ? "PUT" :
			    !strcmp(method, "PATCH") ? "PATCH" : "OTHER";
		s->route = route;
		s->status = status;
	}
	if (s) {
		s->count++;
		s->sum += secs;
		for (i = 0; i < NR_BUCKETS; i++)
			if (secs <= buckets[i])
				s->bucket[i]++;
	}
	pthread_mutex_unlock(&h->stats_lock);
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* Whether csv, a comma-separated list, holds item (len bytes), case aside. */
static int csv_has(const char *csv, const char *item, size_t len)
{
	const char *p = csv;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		while (n && *p == ' ') {
			p++;
			n--;
		}
		while (n && p[n - 1] == ' ')
			n--;
		if (n && n == len && !strncasecmp(p, item, len))
			return 1;
		p = end ? end + 1 : NULL;
	}
	return 0;
}

/* An origin of --cors-origin: its pages may read the answers, and write with a token. */
static int cors_allowed(const struct ah_http *h, const char *origin)
{
	return origin && csv_has(h->o.cors_origins, origin, strlen(origin));
}

/* What every answer carries: CORS for an allowed origin only, never "*". */
static void add_common_headers(struct ah_http *h, struct MHD_Connection *conn,
			       struct MHD_Response *r)
{
	const char *origin = header(conn, "Origin");

	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (h->o.cors_origins && *h->o.cors_origins) {
		MHD_add_response_header(r, "Vary", "Origin");
		if (cors_allowed(h, origin))
			MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
	}
}

static enum MHD_Result send_body(struct ah_http *h, struct MHD_Connection *conn, int status,
				 const char *type, char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	add_common_headers(h, conn, r);
	ret = MHD_queue_response(conn, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_json(struct ah_http *h, struct MHD_Connection *conn, int status,
				 json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	size_t len;

	json_decref(v);
	if (!s)
		s = xstrdup("{\"error\":{\"code\":\"internal\",\"message\":\"cannot encode result\"}}");
	len = strlen(s);
	s = xrealloc(s, len + 2);
	s[len++] = '\n';
	s[len] = '\0';
	return send_body(h, conn, status, "application/json", s, len);
}

static enum MHD_Result send_error(struct ah_http *h, struct MHD_Connection *conn,
				  const struct ah_err *err)
{
	return send_json(h, conn, err->status ? err->status : 500, ah_api_error_json(err));
}

/* A file of the page (lib/web.h): revalidated by ETag on every use. */
static enum MHD_Result send_asset(struct ah_http *h, struct MHD_Connection *conn,
				  const struct ah_web_asset *a, int *status)
{
	const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
	struct MHD_Response *r;
	enum MHD_Result ret;

	*status = inm && strstr(inm, a->etag) ? 304 : 200;
	r = MHD_create_response_from_buffer(*status == 304 ? 0 : a->len, (void *)a->data,
					    MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", a->type);
	MHD_add_response_header(r, "ETag", a->etag);
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	MHD_add_response_header(r, "Vary", "Accept");
	MHD_add_response_header(r, "Referrer-Policy", "same-origin");
	add_common_headers(h, conn, r);
	/* The page brings the secret back with its writes; no script can read it. */
	if (!strcmp(a->path, "/")) {
		char cookie[sizeof(h->cookie_name) + sizeof(h->secret) + 64];

		snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; HttpOnly; SameSite=Strict",
			 h->cookie_name, h->secret);
		MHD_add_response_header(r, "Set-Cookie", cookie);
	}
	MHD_add_response_header(r, "Content-Security-Policy",
				"default-src 'self'; img-src 'self' data: https:; object-src 'none';"
				" base-uri 'none'; frame-ancestors 'none'; form-action 'self'");
	ret = MHD_queue_response(conn, (unsigned)*status, r);
	MHD_destroy_response(r);
	return ret;
}

static void add_metric_labels(struct strbuf *sb, const struct route_stat *s)
{
	strbuf_addf(sb, "method=\"%s\",route=\"%s\",status=\"%d\"", s->method, s->route, s->status);
}

static enum MHD_Result send_metrics(struct ah_http *h, struct MHD_Connection *conn)
{
	static const char sql_work[] =
		"SELECT kind, count(*), count(claimed_by) FROM work GROUP BY kind ORDER BY kind";
	static const char sql_outcomes[] =
		"SELECT type, count(*) FROM events WHERE type GLOB 'app.ingest.*'"
		" GROUP BY type ORDER BY type";
	struct ah_err err = AH_ERR_INIT;
	struct strbuf sb = STRBUF_INIT;
	struct ah_state *st = thread_state(h, &err);
	sqlite3_stmt *stmt;
	size_t i, j, streams;
	unsigned long written, read;

	strbuf_addstr(&sb, "# HELP apphub_http_requests_total HTTP requests answered.\n"
		      "# TYPE apphub_http_requests_total counter\n");
	pthread_mutex_lock(&h->stats_lock);
	for (i = 0; i < h->nr_stats; i++) {
		strbuf_addstr(&sb, "apphub_http_requests_total{");
		add_metric_labels(&sb, &h->stats[i]);
		strbuf_addf(&sb, "} %lu\n", h->stats[i].count);
	}
	strbuf_addstr(&sb, "# HELP apphub_http_request_duration_seconds Time to answer a request.\n"
		      "# TYPE apphub_http_request_duration_seconds histogram\n");
	for (i = 0; i < h->nr_stats; i++) {
		const struct route_stat *s = &h->stats[i];

		for (j = 0; j < NR_BUCKETS; j++) {
			strbuf_addstr(&sb, "apphub_http_request_duration_seconds_bucket{");
			add_metric_labels(&sb, s);
			strbuf_addf(&sb, ",le=\"%g\"} %lu\n", buckets[j], s->bucket[j]);
		}
		strbuf_addstr(&sb, "apphub_http_request_duration_seconds_bucket{");
		add_metric_labels(&sb, s);
		strbuf_addf(&sb, ",le=\"+Inf\"} %lu\n", s->count);
		strbuf_addstr(&sb, "apphub_http_request_duration_seconds_sum{");
		add_metric_labels(&sb, s);
		strbuf_addf(&sb, "} %.6f\n", s->sum);
		strbuf_addstr(&sb, "apphub_http_request_duration_seconds_count{");
		add_metric_labels(&sb, s);
		strbuf_addf(&sb, "} %lu\n", s->count);
	}
	written = h->ms_written;
	read = h->ms_read;
	pthread_mutex_unlock(&h->stats_lock);
	pthread_mutex_lock(&h->sse_lock);
	streams = h->nr_streams;
	pthread_mutex_unlock(&h->sse_lock);
	strbuf_addf(&sb, "# HELP apphub_metastore_records_written_total Metastore records written"
		    " (idempotent writes aside).\n# TYPE apphub_metastore_records_written_total counter\n"
		    "apphub_metastore_records_written_total %lu\n"
		    "# HELP apphub_metastore_records_read_total Metastore records read (get, search).\n"
		    "# TYPE apphub_metastore_records_read_total counter\n"
		    "apphub_metastore_records_read_total %lu\n", written, read);
	strbuf_addf(&sb, "# HELP apphub_sse_clients Open event streams (/events, metastore watch).\n"
		    "# TYPE apphub_sse_clients gauge\napphub_sse_clients %zu\n", streams);
	if (st && (stmt = ah_stmt(st, sql_work, &err))) {
		strbuf_addstr(&sb, "# HELP apphub_queue_depth Work items waiting or claimed.\n"
			      "# TYPE apphub_queue_depth gauge\n");
		strbuf_addstr(&sb, "# HELP apphub_queue_claimed Work items being worked on.\n"
			      "# TYPE apphub_queue_claimed gauge\n");
		while (sqlite3_step(stmt) == SQLITE_ROW) {
			strbuf_addf(&sb, "apphub_queue_depth{kind=\"%s\"} %lld\n",
				    ah_col_text(stmt, 0), sqlite3_column_int64(stmt, 1));
			strbuf_addf(&sb, "apphub_queue_claimed{kind=\"%s\"} %lld\n",
				    ah_col_text(stmt, 0), sqlite3_column_int64(stmt, 2));
		}
		sqlite3_reset(stmt);
	}
	if (st && (stmt = ah_stmt(st, sql_outcomes, &err))) {
		strbuf_addstr(&sb, "# HELP apphub_ingest_events_total Ingest transitions by type.\n"
			      "# TYPE apphub_ingest_events_total counter\n");
		while (sqlite3_step(stmt) == SQLITE_ROW)
			strbuf_addf(&sb, "apphub_ingest_events_total{outcome=\"%s\"} %lld\n",
				    ah_col_text(stmt, 0) + strlen("app.ingest."),
				    sqlite3_column_int64(stmt, 1));
		sqlite3_reset(stmt);
	}
	return send_body(h, conn, 200, "text/plain; version=0.0.4", strbuf_detach(&sb, NULL), sb.len);
}

/* The newest id of a source (-1 when it cannot be read). */
static long long newest_id(struct ah_state *st, const char *sql)
{
	struct ah_err err = AH_ERR_INIT;
	sqlite3_stmt *stmt = ah_stmt(st, sql, &err);
	long long id = -1;

	if (!stmt)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		id = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return id;
}

/* The items of a stream's source after since, up to SSE_BATCH: the op's result. */
static int sse_fetch(struct ah_http *h, struct ah_state *st, const struct sse_source *src,
		     json_t *base, long long since, int limit, json_t **out, struct ah_err *err)
{
	/* Anyone who may follow a stream sees no secret in it. */
	struct ah_ctx ctx = { .dir = h->o.dir, .subject = "sse", .hide_secrets = 1, .st = st };
	json_t *params = json_deep_copy(base);
	int rc;

	json_object_set_new(params, "since", json_integer(since));
	json_object_set_new(params, "limit", json_integer(limit));
	rc = ah_op_call(&ctx, src->op, params, out, err);
	json_decref(params);
	return rc;
}

/*
 * A stream's reader sends what is pending, then the items after last_id,
 * then a heartbeat when one is due; with nothing to send it parks the
 * connection, and the watcher resumes it when its source has an item it
 * has not seen or the heartbeat falls due.
 */
static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse *s = cls;
	struct ah_http *h = s->h;
	struct ah_err err = AH_ERR_INIT;
	size_t n;

	(void)pos;
	if (s->off == s->out.len) {
		const struct sse_source *src = s->src;
		struct ah_state *st;
		json_t *out = NULL, *e;
		long long newest;
		size_t i;

		strbuf_reset(&s->out);
		s->off = 0;
		if (h->stopping)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (!(st = thread_state(h, &err)))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		/* Read before the items: what commits in between comes with them or wakes us. */
		newest = newest_id(st, src->newest);
		if (sse_fetch(h, st, src, s->params, s->last_id, SSE_BATCH, &out, &err) < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		json_array_foreach(json_object_get(out, src->list), i, e) {
			char *data = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);

			s->last_id = json_integer_value(json_object_get(e, src->id));
			strbuf_addf(&s->out, "id: %lld\nevent: %s\ndata: %s\n\n", s->last_id,
				    json_string_value(json_object_get(e, src->event)), data);
			free(data);
		}
		/* A short batch is all there was up to newest, whatever the filter kept. */
		if (json_array_size(json_object_get(out, src->list)) < SSE_BATCH && newest > s->seen)
			s->seen = newest;
		json_decref(out);
		if (!s->out.len && ah_now_ms() - s->last_write_ms >= h->o.heartbeat_ms)
			strbuf_addstr(&s->out, ": heartbeat\n\n");
		if (!s->out.len) {
			pthread_mutex_lock(&h->sse_lock);
			if (h->stopping) {
				pthread_mutex_unlock(&h->sse_lock);
				return MHD_CONTENT_READER_END_OF_STREAM;
			}
			s->suspended = 1;
			MHD_suspend_connection(s->conn);
			pthread_mutex_unlock(&h->sse_lock);
			return 0;
		}
		s->last_write_ms = ah_now_ms();
	}
	n = s->out.len - s->off;
	if (n > max)
		n = max;
	memcpy(buf, s->out.buf + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static void sse_free(void *cls)
{
	struct sse *s = cls;
	struct ah_http *h = s->h;

	pthread_mutex_lock(&h->sse_lock);
	if (s->prev)
		s->prev->next = s->next;
	else
		h->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	h->nr_streams--;
	pthread_cond_broadcast(&h->sse_cond);
	pthread_mutex_unlock(&h->sse_lock);
	strbuf_release(&s->out);
	json_decref(s->params);
	free(s);
}

/*
 * Ends the connections whose request has taken longer than the bound to
 * arrive. shutdown() wakes MHD's thread, which sees the end and closes it.
 */
static void cut_slow_requests(struct ah_http *h)
{
	int64_t now = ah_now_ms(), bound = (int64_t)h->o.request_timeout_s * 1000;
	struct conn *c;

	pthread_mutex_lock(&h->conn_lock);
	for (c = h->conns; c; c = c->next) {
		if (c->receiving && !c->cut && c->fd >= 0 && now - c->since_ms > bound) {
			shutdown(c->fd, SHUT_RDWR);
			c->cut = 1;
		}
	}
	pthread_mutex_unlock(&h->conn_lock);
}

/* The newest event id (/readyz: whether the database answers). */
static long long max_event_id(struct ah_state *st)
{
	return newest_id(st, sse_sources[0].newest);
}

/* Wakes the parked event streams, and cuts off requests that take too long to arrive. */
static void *watcher(void *arg)
{
	struct ah_http *h = arg;
	struct ah_err err = AH_ERR_INIT;
	struct ah_state *st = NULL;
	struct sse *s;

	if (ah_state_open(&st, h->o.dir, &err) < 0)
		fprintf(stderr, "apphub: event stream: %s\n", err.msg);
	pthread_mutex_lock(&h->sse_lock);
	while (!h->stopping) {
		struct timespec until;
		long long newest[NR_SSE_SOURCES];
		int64_t now;
		size_t i;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 200 * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&h->sse_cond, &h->sse_lock, &until);
		if (h->stopping)
			continue;
		if (h->o.request_timeout_s) {
			pthread_mutex_unlock(&h->sse_lock);
			cut_slow_requests(h);
			pthread_mutex_lock(&h->sse_lock);
		}
		if (h->stopping || !h->streams)
			continue;
		pthread_mutex_unlock(&h->sse_lock);
		for (i = 0; i < NR_SSE_SOURCES; i++)
			newest[i] = st ? newest_id(st, sse_sources[i].newest) : -1;
		now = ah_now_ms();
		pthread_mutex_lock(&h->sse_lock);
		for (s = h->streams; s; s = s->next) {
			long long id = newest[s->src - sse_sources];

			if (!s->suspended)
				continue;
			if ((id > s->last_id && id > s->seen) ||
			    now - s->last_write_ms >= h->o.heartbeat_ms) {
				s->suspended = 0;
				MHD_resume_connection(s->conn);
			}
		}
	}
	pthread_mutex_unlock(&h->sse_lock);
	ah_state_close(st);
	return NULL;
}

/*
 * Starts a stream of src's items for params (the route's and the query's):
 * after Last-Event-ID, else ?since=, else from the newest. The params are
 * tried once first, so that a bad one is a 400, not a broken stream.
 */
static enum MHD_Result start_sse(struct ah_http *h, struct MHD_Connection *conn,
				 const struct sse_source *src, json_t *params, int *status)
{
	const char *last = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID");
	const char *since = json_string_value(json_object_get(params, "since"));
	struct ah_err err = AH_ERR_INIT;
	struct ah_state *st = thread_state(h, &err);
	struct MHD_Response *r;
	json_t *probe = NULL;
	struct sse *s;
	enum MHD_Result ret;
	long long start;
	char *end;

	if (!st)
		goto fail;
	if (!last || !*last)
		last = since;
	if (last && *last) {
		errno = 0;
		start = strtoll(last, &end, 10);
		if (*end || start < 0 || errno) {
			ah_invalid(&err, "invalid Last-Event-ID '%.40s': must be an id", last);
			goto fail;
		}
	} else if ((start = newest_id(st, src->newest)) < 0) {
		ah_internal(&err, "cannot read the newest id");
		goto fail;
	}
	json_object_del(params, "since");
	json_object_del(params, "limit");
	if (sse_fetch(h, st, src, params, start, 1, &probe, &err) < 0)
		goto fail;
	json_decref(probe);
	s = xcalloc(1, sizeof(*s));
	strbuf_init(&s->out, 0);
	s->h = h;
	s->conn = conn;
	s->src = src;
	s->params = json_incref(params);
	s->last_id = s->seen = start;
	/* The first bytes open the stream for the client at once. */
	strbuf_addf(&s->out, "%sretry: 2000\n\n", src->hello);
	s->last_write_ms = ah_now_ms();
	pthread_mutex_lock(&h->sse_lock);
	s->next = h->streams;
	if (h->streams)
		h->streams->prev = s;
	h->streams = s;
	h->nr_streams++;
	pthread_mutex_unlock(&h->sse_lock);
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, s, sse_free);
	MHD_add_response_header(r, "Content-Type", "text/event-stream");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	add_common_headers(h, conn, r);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	*status = 200;
	return ret;
fail:
	if (!err.status)
		ah_internal(&err, "request failed");
	*status = err.status;
	return send_error(h, conn, &err);
}

static const struct sse_source *sse_source_of(const struct ah_op *op)
{
	size_t i;

	for (i = 0; i < NR_SSE_SOURCES; i++)
		if (!strcmp(sse_sources[i].op, op->name))
			return &sse_sources[i];
	return NULL;
}

static enum MHD_Result add_query(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	(void)kind;
	ah_api_add_query(cls, key, value);
	return MHD_YES;
}

/*
 * The status of a successful call: 201 for a new record (the original's
 * for POST /apps), 202 for what is only queued.
 */
static int ok_status(const struct ah_op *op, json_t *out)
{
	if (op->created)
		return json_is_false(json_object_get(out, "created")) ? 200 : 201;
	if (op->accepted)
		return 202;
	return !strcmp(op->name, "hooks.git") && json_is_true(json_object_get(out, "queued")) ?
	       202 : 200;
}

static const char *client_address(struct MHD_Connection *conn, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	if (!sa)
		return NULL;
	if (sa->sa_family == AF_INET)
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)len);
	if (sa->sa_family == AF_INET6)
		return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)len);
	return NULL;
}

static void audit(struct ah_http *h, struct ah_state *st, struct MHD_Connection *conn,
		  const char *subject, const struct ah_op *op, const char *method,
		  const char *url, int status, const char *message)
{
	struct ah_err err = AH_ERR_INIT;
	char addr[INET6_ADDRSTRLEN];

	(void)h;
	if (st && ah_audit(st, subject, op ? op->name : NULL, method, url, status,
			   client_address(conn, addr, sizeof(addr)), message, &err) < 0)
		fprintf(stderr, "apphub: %s\n", err.msg);
}

/* The result of an operation that is a file ({path, contentType, name}): its bytes. */
static enum MHD_Result send_file(struct ah_http *h, struct MHD_Connection *conn, json_t *out,
				 int *status)
{
	const char *path = json_string_value(json_object_get(out, "path"));
	const char *type = json_string_value(json_object_get(out, "contentType"));
	const char *name = json_string_value(json_object_get(out, "name"));
	int fd = path ? open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
	struct ah_err err = AH_ERR_INIT;
	struct MHD_Response *r;
	enum MHD_Result ret;
	struct stat sb;

	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		ah_not_found(&err, "'%s': %s", name ? name : "file", strerror(fd < 0 ? errno : EINVAL));
		if (fd >= 0)
			close(fd);
		json_decref(out);
		*status = err.status;
		return send_error(h, conn, &err);
	}
	r = MHD_create_response_from_fd64((uint64_t)sb.st_size, fd);
	MHD_add_response_header(r, "Content-Type", type ? type : "application/octet-stream");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (name) {
		char *cd = xstrfmt("attachment; filename=\"%s\"", name);

		MHD_add_response_header(r, "Content-Disposition", cd);
		free(cd);
	}
	add_common_headers(h, conn, r);
	json_decref(out);
	ret = MHD_queue_response(conn, (unsigned)*status, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * A token that lists metastore namespaces may touch those only: the
 * namespace an operation names (a search's, a watch's), each of a bulk's
 * operations. GET /namespaces is not refused: its answer is cut to them.
 */
static int namespace_refused(struct ah_http *h, const char *authz, const char *subject,
			     const struct ah_op *op, json_t *params, struct ah_err *err)
{
	json_t *ops, *o;
	const char *ns;
	size_t i;

	if (strncmp(op->name, "metastore.", 10) || !strcmp(op->name, "metastore.namespaces") ||
	    !ah_auth_namespaces_limited(h->o.auth, authz))
		return 0;
	if (!strcmp(op->name, "metastore.bulk")) {
		ops = json_object_get(params, "operations");
		json_array_foreach(ops, i, o) {
			ns = json_string_value(json_object_get(o, "namespace"));
			if (!ah_auth_namespace_ok(h->o.auth, authz, ns))
				return ah_error(err, 403, "forbidden",
						"authorization: token of '%s' may not touch namespace '%.128s' (operation %zu)",
						subject, ns ? ns : "", i + 1);
		}
		return 0;
	}
	ns = json_string_value(json_object_get(params, "namespace"));
	if (!ah_auth_namespace_ok(h->o.auth, authz, ns))
		return ah_error(err, 403, "forbidden",
				"authorization: token of '%s' may not touch namespace '%.128s'",
				subject, ns ? ns : "");
	return 0;
}

/* The scope op needs, and the namespaces: 0 with *subject set, or -1 with 401/403. */
static int authorize(struct ah_http *h, struct MHD_Connection *conn, const struct ah_op *op,
		     json_t *params, const char **subject, struct ah_err *err)
{
	const char *authz = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");

	if (ah_auth_check(h->o.auth, authz, ah_api_scope_name(op->scope), subject, err) < 0)
		return -1;
	return namespace_refused(h, authz, *subject, op, params, err);
}

/* GET /namespaces for a token limited to some: those only. */
static void namespaces_cut(struct ah_http *h, const char *authz, json_t *out)
{
	json_t *list = json_object_get(out, "namespaces"), *keep, *n;
	size_t i;

	if (!ah_auth_namespaces_limited(h->o.auth, authz) || !json_is_array(list))
		return;
	keep = json_array();
	json_array_foreach(list, i, n)
		if (ah_auth_namespace_ok(h->o.auth, authz,
					 json_string_value(json_object_get(n, "namespace"))))
			json_array_append(keep, n);
	json_object_set_new(out, "namespaces", keep);
}

/* The metastore's counters for /metrics: records written (not idempotent ones) and read. */
static void count_records(struct ah_http *h, const struct ah_op *op, json_t *out)
{
	unsigned long written = 0, read = 0;
	json_t *o;
	size_t i;

	if (strncmp(op->name, "metastore.", 10))
		return;
	if (!strcmp(op->name, "metastore.get")) {
		read = 1;
	} else if (!strcmp(op->name, "metastore.search")) {
		read = json_array_size(json_object_get(out, "records"));
	} else if (!strcmp(op->name, "metastore.bulk")) {
		json_array_foreach(json_object_get(out, "operations"), i, o)
			written += !strcmp(json_string_value(json_object_get(o, "status")) ?: "", "ok") &&
				   !json_is_true(json_object_get(o, "idempotent"));
	} else if (json_object_get(out, "record") || !strcmp(op->name, "metastore.purge")) {
		written = !json_is_true(json_object_get(out, "idempotent"));
	}
	pthread_mutex_lock(&h->stats_lock);
	h->ms_written += written;
	h->ms_read += read;
	pthread_mutex_unlock(&h->stats_lock);
}

/* The operation for a routed request. */
static enum MHD_Result call_op(struct ah_http *h, struct MHD_Connection *conn,
			       const struct ah_op *op, json_t *params, const char *method,
			       const char *url, int *status)
{
	const char *authz = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	const char *scope = ah_api_scope_name(op->scope), *subject;
	struct ah_err err = AH_ERR_INIT;
	struct ah_ctx ctx = { .dir = h->o.dir };
	struct ah_state *st = thread_state(h, &err);
	struct ah_err no = AH_ERR_INIT;
	const char *writer;
	json_t *out = NULL;

	if (!st)
		goto fail;
	if (authorize(h, conn, op, params, &subject, &err) < 0) {
		audit(h, st, conn, subject, op, method, url, err.status, err.msg);
		goto fail;
	}
	/* Secrets (a launch's env) are shown to those who may write them only. */
	ctx.hide_secrets = ah_auth_check(h->o.auth, authz, ah_api_scope_name(SCOPE_APPS_WRITE),
					 &writer, &no) < 0;
	ctx.subject = subject;
	ctx.st = st;
	if (ah_op_call(&ctx, op->name, params, &out, &err) < 0) {
		ah_rollback(st);
		if (scope)
			audit(h, st, conn, subject, op, method, url, err.status, err.msg);
		goto fail;
	}
	ah_rollback(st);
	if (!strcmp(op->name, "metastore.namespaces"))
		namespaces_cut(h, authz, out);
	count_records(h, op, out);
	if (scope) {
		audit(h, st, conn, subject, op, method, url, ok_status(op, out), NULL);
		if (h->o.on_write)
			h->o.on_write(h->o.on_write_cls);
	}
	*status = ok_status(op, out);
	if (op->file)
		return send_file(h, conn, out, status);
	return send_json(h, conn, *status, out ? out : json_object());
fail:
	if (!err.status)
		ah_internal(&err, "request failed");
	*status = err.status;
	return send_error(h, conn, &err);
}

static struct conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* Whether the request on conn is still arriving (headers, body) or answered. */
static void set_receiving(struct ah_http *h, struct MHD_Connection *conn, int receiving)
{
	struct conn *c = conn_of(conn);

	if (!c)
		return;
	pthread_mutex_lock(&h->conn_lock);
	c->receiving = receiving;
	c->since_ms = ah_now_ms();
	pthread_mutex_unlock(&h->conn_lock);
}

/* An IP address as inet_ntop writes it, IPv4 for a v4-mapped IPv6 one; 1 for loopback. */
static int address_text(int family, const void *addr, char *buf, size_t len)
{
	const struct in6_addr *a6 = addr;

	if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(a6)) {
		family = AF_INET;
		addr = &a6->s6_addr[12];
	}
	if (!inet_ntop(family, addr, buf, (socklen_t)len))
		*buf = '\0';
	if (family == AF_INET) {
		const unsigned char *b = addr;

		return b[0] == 127;
	}
	return IN6_IS_ADDR_LOOPBACK(a6);
}

/*
 * Host must name serve: a name given with --allow-host (any port, or the
 * one given with it), or, at the port serve listens on, the address the
 * connection came in at, and "localhost" or any loopback address when
 * that is loopback. Any other name is what DNS rebinding sends.
 */
static int host_ok(struct ah_http *h, struct MHD_Connection *conn, const char *host)
{
	const struct conn *c = conn_of(conn);
	const char *name = host, *port_s = NULL, *sep;
	char buf[256], text[INET6_ADDRSTRLEN];
	unsigned char addr[sizeof(struct in6_addr)];
	size_t len;
	long port = 80;
	char *end;
	int loopback;

	if (!host || !*host)
		return 0;
	if (csv_has(h->o.allow_hosts, host, strlen(host)))
		return 1;
	if (*host == '[') {
		if (!(sep = strchr(host, ']')) || (sep[1] && sep[1] != ':'))
			return 0;
		name = host + 1;
		len = (size_t)(sep - name);
		port_s = sep[1] ? sep + 2 : NULL;
	} else {
		sep = strchr(host, ':');
		len = sep ? (size_t)(sep - host) : strlen(host);
		port_s = sep ? sep + 1 : NULL;
	}
	if (!len || len >= sizeof(buf))
		return 0;
	memcpy(buf, name, len);
	buf[len] = '\0';
	if (port_s) {
		errno = 0;
		port = strtol(port_s, &end, 10);
		if (*port_s < '0' || *port_s > '9' || *end || errno)
			return 0;
	}
	if (csv_has(h->o.allow_hosts, buf, len))
		return 1;
	if (!c || port != (long)h->port)
		return 0;
	if (c->loopback && !strcasecmp(buf, "localhost"))
		return 1;
	if (inet_pton(AF_INET, buf, addr) == 1)
		loopback = address_text(AF_INET, addr, text, sizeof(text));
	else if (*host == '[' && inet_pton(AF_INET6, buf, addr) == 1)
		loopback = address_text(AF_INET6, addr, text, sizeof(text));
	else
		return 0;
	return (c->loopback && loopback) || !strcmp(text, c->local);
}

/* Whether origin is serve's own as this request reached it: its authority is Host. */
static int same_origin(const char *origin, const char *host)
{
	const char *authority = !strncasecmp(origin, "http://", 7) ? origin + 7 :
				!strncasecmp(origin, "https://", 8) ? origin + 8 : NULL;

	return authority && host && !strcasecmp(authority, host);
}

/* application/json, with parameters ("; charset=utf-8") or without. */
static int is_json_type(const char *type)
{
	static const char json[] = "application/json";

	if (!type)
		return 0;
	while (*type == ' ')
		type++;
	if (strncasecmp(type, json, sizeof(json) - 1))
		return 0;
	type += sizeof(json) - 1;
	while (*type == ' ' || *type == '\t')
		type++;
	return !*type || *type == ';';
}

static int is_write(const char *method)
{
	return strcmp(method, "GET") && strcmp(method, "HEAD") && strcmp(method, "OPTIONS");
}

/*
 * What a page of another site could make a browser send, refused before
 * the request is read. A browser sends a text/plain, form or multipart
 * POST to any address without asking first, with the cookies of the
 * site it goes to (same-site: any port of the host); it does not let the
 * page set Authorization or a JSON type without a CORS preflight, and it
 * always says where the request comes from (Origin, Sec-Fetch-Site).
 * Clients that are not browsers send neither and are not asked for the
 * cookie.
 */
static int refuse(struct ah_http *h, struct MHD_Connection *conn, const char *method,
		  struct ah_err *err)
{
	const char *host = header(conn, "Host"), *origin = header(conn, "Origin");
	const char *site = header(conn, "Sec-Fetch-Site"), *type = header(conn, "Content-Type");
	const char *length = header(conn, "Content-Length");
	int allowed = cors_allowed(h, origin), browser;

	if (!host_ok(h, conn, host))
		return ah_error(err, 421, "misdirected",
				"host '%.100s' is not this server's: allow a name with --allow-host",
				host ? host : "");
	if (!is_write(method))
		return 0;
	if (origin && !allowed && !same_origin(origin, host))
		return ah_error(err, 403, "cross_origin",
				"cross-origin request refused: origin '%.100s' is not this server's",
				origin);
	if (site && !allowed && strcmp(site, "same-origin") && strcmp(site, "none"))
		return ah_error(err, 403, "cross_origin",
				"cross-origin request refused: Sec-Fetch-Site is '%.20s'", site);
	if ((type || header(conn, "Transfer-Encoding") || (length && strtoull(length, NULL, 10))) &&
	    !is_json_type(type)) {
		if (!type)
			return ah_error(err, 415, "unsupported_media_type",
					"request body: Content-Type must be application/json");
		return ah_error(err, 415, "unsupported_media_type",
				"request body: Content-Type must be application/json, not '%.60s'",
				type);
	}
	browser = origin || site || header(conn, "Sec-Fetch-Mode") || header(conn, "Sec-Fetch-Dest");
	/* A token stands for the cookie where tokens are checked; without them it proves nothing. */
	if (browser && !(ah_auth_count(h->o.auth) && header(conn, "Authorization")) &&
	    !ah_auth_cookie_ok(header(conn, "Cookie"), h->cookie_name, h->secret))
		return ah_error(err, 403, "cross_origin",
				"cross-origin request refused: a write from a browser needs the page's"
				" cookie (reload the page) or a token");
	return 0;
}

/* The CORS preflight of an allowed origin; others get no CORS headers at all. */
static enum MHD_Result send_preflight(struct ah_http *h, struct MHD_Connection *conn)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	add_common_headers(h, conn, r);
	MHD_add_response_header(r, "Access-Control-Allow-Methods",
				"GET, POST, PUT, PATCH, DELETE");
	MHD_add_response_header(r, "Access-Control-Allow-Headers",
				"Authorization, Content-Type, Last-Event-ID");
	MHD_add_response_header(r, "Access-Control-Max-Age", "600");
	ret = MHD_queue_response(conn, 204, r);
	MHD_destroy_response(r);
	return ret;
}

static int wants_stream(struct MHD_Connection *conn)
{
	const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");

	return accept && strstr(accept, "text/event-stream");
}

static enum MHD_Result dispatch(struct ah_http *h, struct MHD_Connection *conn,
				struct request *req, const char *url, const char *method)
{
	struct ah_err err = AH_ERR_INIT;
	const struct ah_op *op;
	const char *route = url;
	json_t *params = NULL;
	enum MHD_Result ret;
	int status = 200, rc;

	set_receiving(h, conn, 0);
	if (req->refused) {
		struct ah_state *st = is_write(method) ? thread_state(h, &err) : NULL;

		status = req->refusal.status;
		route = "(refused)";
		audit(h, st, conn, "anonymous", NULL, method, url, status, req->refusal.msg);
		ret = send_error(h, conn, &req->refusal);
		goto done;
	}
	if (!strcmp(method, "OPTIONS") && cors_allowed(h, header(conn, "Origin"))) {
		status = 204;
		route = "(preflight)";
		ret = send_preflight(h, conn);
		goto done;
	}
	if (req->too_large) {
		ah_error(&err, 413, "too_large", "request body: larger than %zu bytes", req->max_body);
		status = 413;
		route = "(body too large)";
		ret = send_error(h, conn, &err);
		goto done;
	}
	if (!strcmp(method, "GET") || !strcmp(method, "HEAD")) {
		if (!strcmp(url, "/healthz")) {
			route = "/healthz";
			ret = send_json(h, conn, 200, json_pack("{s:s}", "status", "ok"));
			goto done;
		}
		if (!strcmp(url, "/readyz")) {
			struct ah_state *st = thread_state(h, &err);

			route = "/readyz";
			if (!st || max_event_id(st) < 0) {
				status = 503;
				if (!st)
					ret = send_json(h, conn, 503, json_pack("{s:s, s:s}", "status",
								     "unavailable", "message", err.msg));
				else
					ret = send_json(h, conn, 503, json_pack("{s:s}", "status", "unavailable"));
			} else {
				ret = send_json(h, conn, 200, json_pack("{s:s}", "status", "ready"));
			}
			goto done;
		}
		if (!strcmp(url, "/metrics")) {
			route = "/metrics";
			ret = send_metrics(h, conn);
			goto done;
		}
		if (!strcmp(url, "/openapi.json")) {
			route = "/openapi.json";
			ret = send_body(h, conn, 200, "application/json", xstrdup(h->openapi),
					strlen(h->openapi));
			goto done;
		}
		/* The page: at /, and at its sections' paths for a browser (lib/web.h). */
		if (!strcmp(url, "/") ||
		    ah_web_wants_page(url, MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
								       "Accept"))) {
			route = "(page)";
			ret = send_asset(h, conn, ah_web_asset("/"), &status);
			goto done;
		}
		if (ah_web_asset(url)) {
			route = ah_web_asset(url)->path;
			ret = send_asset(h, conn, ah_web_asset(url), &status);
			goto done;
		}
	}
	params = json_object();
	rc = ah_api_route(!strcmp(method, "HEAD") ? "GET" : method, url, params, &op);
	if (rc) {
		if (rc == 404)
			ah_not_found(&err, "no route for '%s %s'", method, url);
		else
			ah_error(&err, 405, "method_not_allowed", "method '%s' not allowed for '%s'",
				 method, url);
		status = rc;
		route = "(unknown)";
		ret = send_error(h, conn, &err);
		goto done;
	}
	route = op->path;
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_query, params);
	if (!strcmp(method, "GET") && wants_stream(conn) && sse_source_of(op)) {
		const char *subject;

		/* The path names the subject: a query cannot redirect it. */
		ah_api_route(op->method, url, params, &op);
		if (authorize(h, conn, op, params, &subject, &err) < 0) {
			status = err.status;
			ret = send_error(h, conn, &err);
			goto done;
		}
		/* Streams are long: counted when they start, not timed. */
		ret = start_sse(h, conn, sse_source_of(op), params, &status);
		json_decref(params);
		record(h, method, sse_source_of(op)->route, status, now_ns());
		return ret;
	}
	if (ah_api_merge_body(params, req->body.buf, req->body.len, &err) < 0) {
		status = err.status;
		ret = send_error(h, conn, &err);
		goto done;
	}
	/* The path names the subject: a body cannot redirect it. */
	ah_api_route(op->method, url, params, &op);
	ret = call_op(h, conn, op, params, method, url, &status);
done:
	json_decref(params);
	record(h, method, route, status, req->start_ns);
	return ret;
}

/* The body a request may bring: its operation's cap when it has a larger one. */
static size_t body_cap(const char *method, const char *url)
{
	json_t *params = json_object();
	const struct ah_op *op = NULL;
	size_t cap = AH_API_MAX_BODY;
	int64_t max;

	if (!ah_api_route(method, url, params, &op) && op && op->max_body &&
	    (max = op->max_body()) > (int64_t)cap)
		cap = (size_t)max;
	json_decref(params);
	return cap;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct ah_http *h = cls;
	struct request *req = *con_cls;

	(void)version;
	if (!req) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     "Content-Length");

		req = xcalloc(1, sizeof(*req));
		strbuf_init(&req->body, 0);
		req->start_ns = now_ns();
		*con_cls = req;
		req->max_body = body_cap(method, url);
		if (refuse(h, conn, method, &req->refusal) < 0) {
			req->refused = 1;
			return dispatch(h, conn, req, url, method);
		}
		/* A declared length over the cap is refused before it is read. */
		if (cl && strtoull(cl, NULL, 10) > req->max_body) {
			req->too_large = 1;
			return dispatch(h, conn, req, url, method);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (req->body.len + *upload_data_size > req->max_body)
			req->too_large = 1;
		else
			strbuf_add(&req->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return dispatch(h, conn, req, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *req = *con_cls;

	(void)toe;
	/* Answered: the time for the next request on this connection starts. */
	set_receiving(cls, conn, 1);
	if (!req)
		return;
	strbuf_release(&req->body);
	free(req);
	*con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct ah_http *h = cls;
	struct conn *c = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);

		c = xcalloc(1, sizeof(*c));
		c->fd = ci ? ci->connect_fd : -1;
		if (c->fd >= 0 && !getsockname(c->fd, (struct sockaddr *)&sa, &len)) {
			if (sa.ss_family == AF_INET)
				c->loopback = address_text(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr,
							   c->local, sizeof(c->local));
			else if (sa.ss_family == AF_INET6)
				c->loopback = address_text(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr,
							   c->local, sizeof(c->local));
		}
		c->receiving = 1;
		c->since_ms = ah_now_ms();
		pthread_mutex_lock(&h->conn_lock);
		c->next = h->conns;
		if (h->conns)
			h->conns->prev = c;
		h->conns = c;
		pthread_mutex_unlock(&h->conn_lock);
		*socket_context = c;
		return;
	}
	if (!c)
		return;
	/* MHD tells before it closes the socket: the watcher never sees a reused descriptor. */
	pthread_mutex_lock(&h->conn_lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&h->conn_lock);
	free(c);
	*socket_context = NULL;
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	fprintf(stderr, "apphub: http: %s\n", msg);
}

int ah_http_start(struct ah_http **out, const struct ah_http_opts *opts, struct ah_err *err)
{
	struct ah_http *h = xcalloc(1, sizeof(*h));
	struct sockaddr_storage sa;
	const union MHD_DaemonInfo *info;
	char host[INET6_ADDRSTRLEN] = "";
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	json_t *doc;
	char *dir;
	int loopback, rc;

	*out = NULL;
	h->o = *opts;
	pthread_key_create(&h->state_key, close_state);
	pthread_mutex_init(&h->stats_lock, NULL);
	pthread_mutex_init(&h->conn_lock, NULL);
	pthread_mutex_init(&h->sse_lock, NULL);
	pthread_cond_init(&h->sse_cond, NULL);
	doc = ah_api_openapi(opts->version);
	h->openapi = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!h->openapi)
		h->openapi = xstrdup("{}");
	if (ah_http_parse_listen(opts->listen, &sa, &loopback, err) < 0)
		goto fail;
	dir = ah_state_resolve_dir(opts->dir);
	rc = ah_auth_page_secret(dir, h->secret, err);
	free(dir);
	if (rc < 0)
		goto fail;
	if (sa.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
				MHD_OPTION_EXTERNAL_LOGGER, log_mhd, h,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_THREAD_POOL_SIZE, opts->threads ? opts->threads : 4,
				MHD_OPTION_CONNECTION_TIMEOUT, opts->timeout_s ? opts->timeout_s : 30,
				MHD_OPTION_CONNECTION_LIMIT,
				opts->max_conns ? opts->max_conns : 4096,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				opts->max_conns_per_ip ? opts->max_conns_per_ip : 256,
				MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
				MHD_OPTION_END);
	if (!h->d) {
		ah_fatal(err, "cannot listen on '%s': address in use or not available", opts->listen);
		goto fail;
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	if (sa.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, host, sizeof(host));
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, host, sizeof(host));
	h->port = info ? info->port : 0;
	snprintf(h->url, sizeof(h->url), sa.ss_family == AF_INET6 ? "http://[%s]:%u" : "http://%s:%u",
		 host, h->port);
	snprintf(h->cookie_name, sizeof(h->cookie_name), "apphub-page-%u", h->port);
	if (pthread_create(&h->watcher, NULL, watcher, h)) {
		ah_fatal(err, "cannot start the event stream thread");
		goto fail;
	}
	h->watcher_started = 1;
	*out = h;
	return 0;
fail:
	ah_http_stop(h);
	return -1;
}

const char *ah_http_url(const struct ah_http *h)
{
	return h->url;
}

void ah_http_stop(struct ah_http *h)
{
	struct sse *s;

	if (!h)
		return;
	if (h->d) {
		MHD_socket fd = MHD_quiesce_daemon(h->d);

		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
	/* MHD must not be stopped with connections parked: end every stream. */
	pthread_mutex_lock(&h->sse_lock);
	h->stopping = 1;
	for (s = h->streams; s; s = s->next) {
		if (s->suspended) {
			s->suspended = 0;
			MHD_resume_connection(s->conn);
		}
	}
	pthread_cond_broadcast(&h->sse_cond);
	pthread_mutex_unlock(&h->sse_lock);
	if (h->watcher_started)
		pthread_join(h->watcher, NULL);
	if (h->d)
		MHD_stop_daemon(h->d);
	pthread_key_delete(h->state_key);
	pthread_mutex_destroy(&h->stats_lock);
	pthread_mutex_destroy(&h->conn_lock);
	pthread_mutex_destroy(&h->sse_lock);
	pthread_cond_destroy(&h->sse_cond);
	free(h->openapi);
	explicit_bzero(h->secret, sizeof(h->secret));
	free(h);
}
