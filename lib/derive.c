/*
 * Derivation of an app's tags and name from what a person reads in its
 * repository: the stages of its Dockerfile (parsed by lib/dockerfile.c) and
 * the manifests and lockfiles of its build context (the Dockerfile's
 * directory up to the root), through the one rule table below. Each manifest
 * format is read by a small parser that keeps to what the table needs, with
 * a depth limit; files are read through the tree (no path leads out).
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include "derive.h"
#include "apps.h"
#include "dockerfile.h"
#include "strbuf.h"
#include "usage.h"
#include "utf8.h"

#define MAX_DIR_ENTRIES 5000	/* entries of one directory looked at */
#define MAX_MATCHES 64		/* manifests and lockfiles read from one directory */
#define MAX_NESTING 64		/* brackets of a TOML value, elements of an XML file */

static const char src_package[] = "ingestion:package";
static const char src_dockerfile[] = "ingestion:dockerfile";

/* The ecosystems, in the order the manifest of a directory names the app. */
enum eco { ECO_GO, ECO_CARGO, ECO_GEM, ECO_PYPI, ECO_NUGET, ECO_COMPOSER, ECO_MAVEN, ECO_HEX,
	   ECO_NPM, ECO_NR };

static const char *const eco_language[ECO_NR] = {
	"go", "rust", "ruby", "python", "csharp", "php", "java", "elixir", "javascript",
};

/* What a rule's name is matched against, besides the ecosystems' packages. */
enum { SRC_IMAGE = ECO_NR, SRC_FILE, SRC_WORD };

/*
 * The table: a package of an ecosystem (npm, Go module, crate, gem, PyPI,
 * NuGet, Composer, Maven artifact or Gradle coordinate, Hex; a crate's
 * feature is "crate/feature"), a base image
 * (its path without registry and library/), a file of the build context
 * (a glob), or a word of a RUN, CMD or ENTRYPOINT gives a tag. A name
 * ending in '*' is a prefix; names match case-insensitively. An image's
 * runtime tag gets its version's first `version` parts without dots (0:
 * none; a tag without digits gives the bare name). Keep apphub-ingest(1)'s
 * DERIVED TAGS in step with it.
 */
static const struct rule {
	int src;
	const char *name;
	const char *tag;
	int version;
} rules[] = {
	/* npm (package.json dependencies and devDependencies) */
	{ ECO_NPM, "next", "framework:nextjs", 0 },
	{ ECO_NPM, "nuxt", "framework:nuxt", 0 },
	{ ECO_NPM, "nuxt", "framework:vue", 0 },
	{ ECO_NPM, "nuxt3", "framework:nuxt", 0 },
	{ ECO_NPM, "nuxt3", "framework:vue", 0 },
	{ ECO_NPM, "vue", "framework:vue", 0 },
	{ ECO_NPM, "@sveltejs/kit", "framework:sveltekit", 0 },
	{ ECO_NPM, "svelte", "framework:svelte", 0 },
	{ ECO_NPM, "astro", "framework:astro", 0 },
	{ ECO_NPM, "remix", "framework:remix", 0 },
	{ ECO_NPM, "@remix-run/*", "framework:remix", 0 },
	{ ECO_NPM, "@angular/core", "framework:angular", 0 },
	{ ECO_NPM, "express", "framework:express", 0 },
	{ ECO_NPM, "fastify", "framework:fastify", 0 },
	{ ECO_NPM, "@nestjs/core", "framework:nestjs", 0 },
	{ ECO_NPM, "koa", "framework:koa", 0 },
	{ ECO_NPM, "hono", "framework:hono", 0 },
	{ ECO_NPM, "react", "library:react", 0 },
	{ ECO_NPM, "vite", "library:vite", 0 },
	{ ECO_NPM, "typescript", "language:typescript", 0 },
	{ ECO_NPM, "pg", "database:postgresql", 0 },
	{ ECO_NPM, "postgres", "database:postgresql", 0 },
	{ ECO_NPM, "mysql2", "database:mysql", 0 },
	{ ECO_NPM, "mysql", "database:mysql", 0 },
	{ ECO_NPM, "prisma", "library:prisma", 0 },
	{ ECO_NPM, "@prisma/client", "library:prisma", 0 },
	{ ECO_NPM, "drizzle-orm", "library:drizzle", 0 },
	{ ECO_NPM, "mongoose", "library:mongoose", 0 },
	{ ECO_NPM, "mongoose", "database:mongodb", 0 },
	{ ECO_NPM, "mongodb", "database:mongodb", 0 },
	{ ECO_NPM, "redis", "database:redis", 0 },
	{ ECO_NPM, "ioredis", "database:redis", 0 },
	{ ECO_NPM, "sqlite3", "database:sqlite", 0 },
	{ ECO_NPM, "better-sqlite3", "database:sqlite", 0 },
	/* Go modules (go.mod require) */
	{ ECO_GO, "github.com/gin-gonic/gin", "framework:gin", 0 },
	{ ECO_GO, "github.com/labstack/echo*", "framework:echo", 0 },
	{ ECO_GO, "github.com/gofiber/fiber*", "framework:fiber", 0 },
	{ ECO_GO, "github.com/go-chi/chi*", "framework:chi", 0 },
	{ ECO_GO, "github.com/gorilla/mux", "framework:gorilla", 0 },
	{ ECO_GO, "github.com/jackc/pgx*", "library:pgx", 0 },
	{ ECO_GO, "github.com/jackc/pgx*", "database:postgresql", 0 },
	{ ECO_GO, "github.com/lib/pq", "database:postgresql", 0 },
	{ ECO_GO, "gorm.io/gorm", "library:gorm", 0 },
	{ ECO_GO, "gorm.io/driver/postgres", "database:postgresql", 0 },
	{ ECO_GO, "github.com/go-sql-driver/mysql", "database:mysql", 0 },
	{ ECO_GO, "github.com/mattn/go-sqlite3", "database:sqlite", 0 },
	{ ECO_GO, "github.com/redis/go-redis*", "database:redis", 0 },
	{ ECO_GO, "github.com/go-redis/redis*", "database:redis", 0 },
	{ ECO_GO, "go.mongodb.org/mongo-driver*", "database:mongodb", 0 },
	/* crates (Cargo.toml dependency tables) */
	{ ECO_CARGO, "actix-web", "framework:actix", 0 },
	{ ECO_CARGO, "axum", "framework:axum", 0 },
	{ ECO_CARGO, "rocket", "framework:rocket", 0 },
	{ ECO_CARGO, "warp", "framework:warp", 0 },
	{ ECO_CARGO, "sqlx", "library:sqlx", 0 },
	{ ECO_CARGO, "diesel", "library:diesel", 0 },
	{ ECO_CARGO, "sqlx/postgres", "database:postgresql", 0 },
	{ ECO_CARGO, "sqlx/mysql", "database:mysql", 0 },
	{ ECO_CARGO, "sqlx/sqlite", "database:sqlite", 0 },
	{ ECO_CARGO, "diesel/postgres", "database:postgresql", 0 },
	{ ECO_CARGO, "diesel/mysql", "database:mysql", 0 },
	{ ECO_CARGO, "diesel/sqlite", "database:sqlite", 0 },
	{ ECO_CARGO, "tokio-postgres", "database:postgresql", 0 },
	{ ECO_CARGO, "postgres", "database:postgresql", 0 },
	{ ECO_CARGO, "redis", "database:redis", 0 },
	/* gems (Gemfile) */
	{ ECO_GEM, "rails", "framework:rails", 0 },
	{ ECO_GEM, "sinatra", "framework:sinatra", 0 },
	{ ECO_GEM, "pg", "database:postgresql", 0 },
	{ ECO_GEM, "mysql2", "database:mysql", 0 },
	{ ECO_GEM, "sqlite3", "database:sqlite", 0 },
	{ ECO_GEM, "redis", "database:redis", 0 },
	/* PyPI (requirements*.txt, pyproject.toml, Pipfile), names normalized */
	{ ECO_PYPI, "flask", "framework:flask", 0 },
	{ ECO_PYPI, "django", "framework:django", 0 },
	{ ECO_PYPI, "fastapi", "framework:fastapi", 0 },
	{ ECO_PYPI, "streamlit", "framework:streamlit", 0 },
	{ ECO_PYPI, "psycopg2", "database:postgresql", 0 },
	{ ECO_PYPI, "psycopg2-binary", "database:postgresql", 0 },
	{ ECO_PYPI, "psycopg", "database:postgresql", 0 },
	{ ECO_PYPI, "asyncpg", "database:postgresql", 0 },
	{ ECO_PYPI, "mysqlclient", "database:mysql", 0 },
	{ ECO_PYPI, "pymysql", "database:mysql", 0 },
	{ ECO_PYPI, "sqlalchemy", "library:sqlalchemy", 0 },
	{ ECO_PYPI, "pymongo", "database:mongodb", 0 },
	{ ECO_PYPI, "redis", "database:redis", 0 },
	/* NuGet (*.csproj PackageReference, and the project's Sdk) */
	{ ECO_NUGET, "Microsoft.NET.Sdk.Web", "framework:aspnetcore", 0 },
	{ ECO_NUGET, "Microsoft.AspNetCore*", "framework:aspnetcore", 0 },
	{ ECO_NUGET, "Npgsql*", "database:postgresql", 0 },
	{ ECO_NUGET, "Microsoft.EntityFrameworkCore*", "library:entityframework", 0 },
	{ ECO_NUGET, "Microsoft.EntityFrameworkCore.SqlServer", "database:sqlserver", 0 },
	{ ECO_NUGET, "Microsoft.EntityFrameworkCore.Sqlite", "database:sqlite", 0 },
	/* Composer (composer.json require and require-dev) */
	{ ECO_COMPOSER, "laravel/framework", "framework:laravel", 0 },
	{ ECO_COMPOSER, "symfony/framework-bundle", "framework:symfony", 0 },
	{ ECO_COMPOSER, "symfony/symfony", "framework:symfony", 0 },
	/* Maven artifacts (pom.xml) and Gradle coordinates and plugin ids */
	{ ECO_MAVEN, "spring-boot-starter*", "framework:spring-boot", 0 },
	{ ECO_MAVEN, "org.springframework.boot", "framework:spring-boot", 0 },
	{ ECO_MAVEN, "postgresql", "database:postgresql", 0 },
	{ ECO_MAVEN, "mysql-connector*", "database:mysql", 0 },
	/* Hex (mix.exs deps) */
	{ ECO_HEX, "phoenix", "framework:phoenix", 0 },
	{ ECO_HEX, "ecto_sql", "library:ecto", 0 },
	{ ECO_HEX, "postgrex", "database:postgresql", 0 },
	/* base images: every stage gives its language, the final stage its runtime */
	{ SRC_IMAGE, "node", "language:javascript", 0 },
	{ SRC_IMAGE, "node", "runtime:node", 1 },
	{ SRC_IMAGE, "oven/bun", "language:javascript", 0 },
	{ SRC_IMAGE, "oven/bun", "runtime:bun", 1 },
	{ SRC_IMAGE, "python", "language:python", 0 },
	{ SRC_IMAGE, "python", "runtime:python", 2 },
	{ SRC_IMAGE, "golang", "language:go", 0 },
	{ SRC_IMAGE, "golang", "runtime:go", 2 },
	{ SRC_IMAGE, "rust", "language:rust", 0 },
	{ SRC_IMAGE, "rust", "runtime:rust", 2 },
	{ SRC_IMAGE, "ruby", "language:ruby", 0 },
	{ SRC_IMAGE, "ruby", "runtime:ruby", 2 },
	{ SRC_IMAGE, "elixir", "language:elixir", 0 },
	{ SRC_IMAGE, "elixir", "runtime:elixir", 2 },
	{ SRC_IMAGE, "dotnet/sdk", "language:csharp", 0 },
	{ SRC_IMAGE, "dotnet/sdk", "runtime:dotnet", 1 },
	{ SRC_IMAGE, "dotnet/aspnet", "language:csharp", 0 },
	{ SRC_IMAGE, "dotnet/aspnet", "runtime:dotnet", 1 },
	{ SRC_IMAGE, "dotnet/runtime", "language:csharp", 0 },
	{ SRC_IMAGE, "dotnet/runtime", "runtime:dotnet", 1 },
	{ SRC_IMAGE, "php", "language:php", 0 },
	{ SRC_IMAGE, "php", "runtime:php", 2 },
	{ SRC_IMAGE, "openjdk", "language:java", 0 },
	{ SRC_IMAGE, "openjdk", "runtime:java", 1 },
	{ SRC_IMAGE, "eclipse-temurin", "language:java", 0 },
	{ SRC_IMAGE, "eclipse-temurin", "runtime:java", 1 },
	{ SRC_IMAGE, "amazoncorretto", "language:java", 0 },
	{ SRC_IMAGE, "amazoncorretto", "runtime:java", 1 },
	{ SRC_IMAGE, "maven", "language:java", 0 },
	{ SRC_IMAGE, "maven", "package-manager:maven", 0 },
	{ SRC_IMAGE, "maven", "runtime:java", 0 },
	{ SRC_IMAGE, "gradle", "language:java", 0 },
	{ SRC_IMAGE, "gradle", "package-manager:gradle", 0 },
	{ SRC_IMAGE, "gradle", "runtime:java", 0 },
	{ SRC_IMAGE, "nginx", "runtime:nginx", 0 },
	{ SRC_IMAGE, "nginxinc/nginx-unprivileged", "runtime:nginx", 0 },
	{ SRC_IMAGE, "httpd", "runtime:httpd", 0 },
	{ SRC_IMAGE, "caddy", "runtime:caddy", 0 },
	/* alpine, debian, ubuntu, distroless, scratch: no language, no runtime */
	/* files of the build context: manifests give their language, lockfiles the package manager */
	{ SRC_FILE, "tsconfig.json", "language:typescript", 0 },
	{ SRC_FILE, "go.mod", "language:go", 0 },
	{ SRC_FILE, "Cargo.toml", "language:rust", 0 },
	{ SRC_FILE, "Gemfile", "language:ruby", 0 },
	{ SRC_FILE, "requirements*.txt", "language:python", 0 },
	{ SRC_FILE, "pyproject.toml", "language:python", 0 },
	{ SRC_FILE, "Pipfile", "language:python", 0 },
	{ SRC_FILE, "*.csproj", "language:csharp", 0 },
	{ SRC_FILE, "composer.json", "language:php", 0 },
	{ SRC_FILE, "pom.xml", "language:java", 0 },
	{ SRC_FILE, "pom.xml", "package-manager:maven", 0 },
	{ SRC_FILE, "build.gradle", "language:java", 0 },
	{ SRC_FILE, "build.gradle", "package-manager:gradle", 0 },
	{ SRC_FILE, "build.gradle.kts", "language:kotlin", 0 },
	{ SRC_FILE, "build.gradle.kts", "package-manager:gradle", 0 },
	{ SRC_FILE, "mix.exs", "language:elixir", 0 },
	{ SRC_FILE, "package-lock.json", "package-manager:npm", 0 },
	{ SRC_FILE, "yarn.lock", "package-manager:yarn", 0 },
	{ SRC_FILE, "pnpm-lock.yaml", "package-manager:pnpm", 0 },
	{ SRC_FILE, "bun.lockb", "package-manager:bun", 0 },
	{ SRC_FILE, "bun.lock", "package-manager:bun", 0 },
	{ SRC_FILE, "poetry.lock", "package-manager:poetry", 0 },
	{ SRC_FILE, "Pipfile.lock", "package-manager:pipenv", 0 },
	{ SRC_FILE, "uv.lock", "package-manager:uv", 0 },
	{ SRC_FILE, "Cargo.lock", "package-manager:cargo", 0 },
	{ SRC_FILE, "go.sum", "package-manager:go", 0 },
	{ SRC_FILE, "Gemfile.lock", "package-manager:bundler", 0 },
	{ SRC_FILE, "composer.lock", "package-manager:composer", 0 },
	{ SRC_FILE, "mix.lock", "package-manager:mix", 0 },
	/* words of RUN, CMD and ENTRYPOINT (the original's rules) */
	{ SRC_WORD, "streamlit", "framework:streamlit", 0 },
	{ SRC_WORD, "uvicorn", "framework:fastapi", 0 },
};

void ah_derived_add(struct ah_derived_tags *list, const char *key, const char *value,
		    const char *source)
{
	struct ah_err ignored = AH_ERR_INIT;
	struct ah_tag tag;
	char *s = xstrfmt("%s:%s", key, value);
	size_t i;
	int ok = ah_tag_parse(s, &tag, "tag", &ignored) == 0;

	free(s);
	if (!ok)
		return;
	for (i = 0; i < list->nr; i++)
		if (!strcasecmp(list->tags[i].tag.key, tag.key) &&
		    !strcasecmp(list->tags[i].tag.value, tag.value))
			return;
	if (list->nr == list->alloc) {
		list->alloc = list->alloc ? 2 * list->alloc : 16;
		list->tags = xrealloc(list->tags, list->alloc * sizeof(*list->tags));
	}
	list->tags[list->nr].tag = tag;
	list->tags[list->nr++].source = source;
}

/* Adds a rule's "key:value" tag, value optionally replaced. */
static void add_rule_tag(struct ah_derived_tags *list, const struct rule *r, const char *value,
			 const char *source)
{
	const char *colon = strchr(r->tag, ':');
	char *key = xstrndup(r->tag, (size_t)(colon - r->tag));

	ah_derived_add(list, key, value ? value : colon + 1, source);
	free(key);
}

/* Whether list has a tag of key. */
static int has_key(const struct ah_derived_tags *list, const char *key)
{
	size_t i;

	for (i = 0; i < list->nr; i++)
		if (!strcasecmp(list->tags[i].tag.key, key))
			return 1;
	return 0;
}

static int rule_matches(const struct rule *r, const char *name)
{
	size_t n = strlen(r->name);

	if (r->src == SRC_FILE)
		return !fnmatch(r->name, name, 0);
	if (r->src == SRC_WORD)
		return strcasestr(name, r->name) != NULL;
	if (n && r->name[n - 1] == '*')
		return !strncasecmp(r->name, name, n - 1);
	return !strcasecmp(r->name, name);
}

/* The tags of every rule of src that name matches, but runtimes. */
static void apply_rules(struct ah_derived_tags *list, int src, const char *name,
			const char *source)
{
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].src == src && strncmp(rules[i].tag, "runtime:", 8) &&
		    rule_matches(&rules[i], name))
			add_rule_tag(list, &rules[i], NULL, source);
}

static int name_ok(const char *s)
{
	size_t len = strlen(s);
	const char *p;

	if (!len || len > AH_NAME_MAX || s[0] == '@' || !ah_utf8_valid(s, len))
		return 0;
	for (p = s; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			return 0;
	return 1;
}

/* ------------------------------------------------------------ manifests */

struct deriver {
	struct ah_derivation *out;
	char *names[ECO_NR];	/* the name the nearest manifest of each ecosystem gives */
	int main_eco;		/* of the most specific manifest, or -1 */
};

static void dep(struct deriver *d, int eco, const char *name)
{
	apply_rules(&d->out->manifests, eco, name, src_package);
}

static void set_name(char **name, const char *s, size_t len)
{
	char *v = xstrndup(s, len);

	if (!*name && name_ok(v))
		*name = v;
	else
		free(v);
}

/* PEP 503: lowercase, runs of "-_." one '-'. */
static void pypi_dep(struct deriver *d, const char *s, size_t len)
{
	struct strbuf n = STRBUF_INIT;
	size_t i;

	for (i = 0; i < len && (isalnum((unsigned char)s[i]) || strchr("-_.", s[i])); i++) {
		if (strchr("-_.", s[i])) {
			if (!n.len || n.buf[n.len - 1] != '-')
				strbuf_addch(&n, '-');
		} else {
			strbuf_addch(&n, tolower((unsigned char)s[i]));
		}
	}
	if (n.len)
		dep(d, ECO_PYPI, n.buf);
	strbuf_release(&n);
}

/* The next line of [*p, e), without its end and a '\r'; NULL at the end. */
static const char *next_line(const char **p, const char *e, size_t *n)
{
	const char *line = *p, *nl;

	if (line >= e)
		return NULL;
	nl = memchr(line, '\n', (size_t)(e - line));
	*p = nl ? nl + 1 : e;
	*n = (size_t)((nl ? nl : e) - line);
	if (*n && line[*n - 1] == '\r')
		(*n)--;
	return line;
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static void parse_requirements(struct deriver *d, const char *text, size_t len)
{
	const char *p = text, *line;
	size_t n;

	while ((line = next_line(&p, text + len, &n))) {
		const char *w = skip_space(line, line + n);

		/* options (-r, -e, --index-url), comments and URLs name nothing here */
		if (w < line + n && isalnum((unsigned char)*w) &&
		    !memmem(w, (size_t)(line + n - w), "://", 3))
			pypi_dep(d, w, (size_t)(line + n - w));
	}
}

static void parse_gemfile(struct deriver *d, const char *text, size_t len)
{
	const char *next = text, *line;
	size_t n;

	while ((line = next_line(&next, text + len, &n))) {
		const char *e = line + n, *p = skip_space(line, e), *q;

		if (e - p < 5 || strncmp(p, "gem", 3) || (p[3] != ' ' && p[3] != '(' && p[3] != '\t'))
			continue;
		p = skip_space(p + 4, e);
		if (p >= e || (*p != '\'' && *p != '"'))
			continue;
		if ((q = memchr(p + 1, *p, (size_t)(e - p - 1))) && q > p + 1) {
			char *g = xstrndup(p + 1, (size_t)(q - p - 1));

			dep(d, ECO_GEM, g);
			free(g);
		}
	}
}

/* A word of s: up to a space, tab, quote or end. */
static size_t word_len(const char *p, const char *e)
{
	const char *q = p;

	while (q < e && *q != ' ' && *q != '\t' && *q != '"' && *q != '(' && *q != ')')
		q++;
	return (size_t)(q - p);
}

static void parse_gomod(struct deriver *d, const char *text, size_t len, char **name)
{
	const char *next = text, *line;
	size_t n, w;
	int block = 0;

	while ((line = next_line(&next, text + len, &n))) {
		const char *e = line + n, *p = skip_space(line, e), *c;

		if ((c = memmem(p, (size_t)(e - p), "//", 2)))
			e = c;
		if (block && p < e && *p == ')') {
			block = 0;
			continue;
		}
		if (!block) {
			w = word_len(p, e);
			if (w == 6 && !strncmp(p, "module", 6)) {
				const char *m = skip_space(p + 6, e), *last;
				size_t ml;

				m += m < e && *m == '"';
				ml = word_len(m, e);
				/* example.com/app/v2 is named app */
				last = m + ml;
				while (last > m && last[-1] != '/')
					last--;
				if (last > m + 1 && *last == 'v' && isdigit((unsigned char)last[1]) &&
				    strspn(last + 1, "0123456789") == (size_t)(m + ml - last - 1)) {
					ml = (size_t)(last - 1 - m);
					last = m + ml;
					while (last > m && last[-1] != '/')
						last--;
				}
				set_name(name, last, (size_t)(m + ml - last));
				continue;
			}
			if (w != 7 || strncmp(p, "require", 7))
				continue;
			p = skip_space(p + 7, e);
			if (p < e && *p == '(') {
				block = 1;
				continue;
			}
		}
		if ((w = word_len(p, e))) {
			char *m = xstrndup(p, w);

			dep(d, ECO_GO, m);
			free(m);
		}
	}
}

/* mix.exs: deps are {:name, ...}; the project's "app: :name". */
static void parse_mix(struct deriver *d, const char *text, size_t len, char **name)
{
	const char *p = text, *e = text + len;

	for (; (p = memchr(p, ':', (size_t)(e - p))); p++) {
		size_t n = 0;

		while (p + 1 + n < e && (isalnum((unsigned char)p[1 + n]) || p[1 + n] == '_'))
			n++;
		if (!n)
			continue;
		if (p > text && p[-1] == '{') {
			char *dname = xstrndup(p + 1, n);

			dep(d, ECO_HEX, dname);
			free(dname);
		} else if (p - text >= 5 && !strncmp(p - 5, "app: ", 5)) {
			set_name(name, p + 1, n);
		}
	}
}

/* Gradle: coordinates "group:artifact:version" give their artifact, plugin ids themselves. */
static void parse_gradle(struct deriver *d, const char *text, size_t len)
{
	const char *p = text, *e = text + len;

	while (p < e) {
		const char *q;
		char *s, *colon;

		if (*p != '"' && *p != '\'') {
			p++;
			continue;
		}
		if (!(q = memchr(p + 1, *p, (size_t)(e - p - 1))))
			break;
		s = xstrndup(p + 1, (size_t)(q - p - 1));
		if ((colon = strchr(s, ':'))) {
			char *c2 = strchr(colon + 1, ':');

			if (c2)
				*c2 = '\0';
			dep(d, ECO_MAVEN, colon + 1);
		} else {
			dep(d, ECO_MAVEN, s);
		}
		free(s);
		p = q + 1;
	}
}

/* settings.gradle(.kts): rootProject.name = "app" names the project. */
static void parse_gradle_settings(const char *text, size_t len, char **name)
{
	const char *e = text + len, *p = memmem(text, len, "rootProject.name", 16), *q;

	if (!p)
		return;
	p = skip_space(p + 16, e);
	if (p >= e || *p != '=')
		return;
	p = skip_space(p + 1, e);
	if (p < e && (*p == '"' || *p == '\'') && (q = memchr(p + 1, *p, (size_t)(e - p - 1))))
		set_name(name, p + 1, (size_t)(q - p - 1));
}

/* ---- TOML, as far as dependency tables and names go */

struct toml_value {
	const char *table;	/* the header in effect, "" before any */
	const char *key;	/* unquoted */
	const char *v;		/* the value as written */
	size_t len;
};

/* Past a string at p (its quote), or NULL when it does not end. */
static const char *toml_skip_string(const char *p, const char *e)
{
	char q = *p;

	if (e - p >= 3 && p[1] == q && p[2] == q) {
		for (p += 3; p + 2 < e; p++) {
			if (q == '"' && *p == '\\') {
				p++;
				continue;
			}
			if (p[0] == q && p[1] == q && p[2] == q)
				return p + 3;
		}
		return NULL;
	}
	for (p++; p < e && *p != '\n'; p++) {
		if (q == '"' && *p == '\\' && p + 1 < e) {
			p++;
			continue;
		}
		if (*p == q)
			return p + 1;
	}
	return NULL;
}

/*
 * Calls fn for every key = value of text, with its table; values span
 * lines inside brackets and braces (at most MAX_NESTING deep: deeper, the
 * scan stops).
 */
static void toml_scan(const char *text, size_t len,
		      void (*fn)(struct deriver *, const struct toml_value *, char **),
		      struct deriver *d, char **name)
{
	struct strbuf table = STRBUF_INIT, key = STRBUF_INIT;
	const char *p = text, *e = text + len;

	while (p < e) {
		const char *eol, *v, *q;
		int depth = 0;

		while (p < e && isspace((unsigned char)*p))
			p++;
		if (p >= e)
			break;
		eol = memchr(p, '\n', (size_t)(e - p));
		eol = eol ? eol : e;
		if (*p == '#') {
			p = eol;
			continue;
		}
		if (*p == '[') {
			strbuf_reset(&table);
			for (q = p; q < eol && *q != '#'; q++)
				if (!strchr("[] \t\r\"'", *q))
					strbuf_addch(&table, *q);
			p = eol;
			continue;
		}
		strbuf_reset(&key);
		for (q = p; q < eol && *q != '='; q++)
			if (!strchr(" \t\"'", *q))
				strbuf_addch(&key, *q);
		if (q >= eol) {
			p = eol;
			continue;
		}
		v = q = skip_space(q + 1, eol);
		while (q < e) {
			if (*q == '"' || *q == '\'') {
				if (!(q = toml_skip_string(q, e)))
					goto done;
				continue;
			}
			if (*q == '#') {
				while (q < e && *q != '\n')
					q++;
				continue;
			}
			if (*q == '[' || *q == '{') {
				if (++depth > MAX_NESTING)
					goto done;
			} else if ((*q == ']' || *q == '}') && depth) {
				depth--;
			} else if (*q == '\n' && !depth) {
				break;
			}
			q++;
		}
		{
			struct toml_value tv = { table.buf, key.buf, v, (size_t)(q - v) };

			fn(d, &tv, name);
		}
		p = q;
	}
done:
	strbuf_release(&table);
	strbuf_release(&key);
}

/* The contents of the string value v, if it is one. */
static int toml_string(const struct toml_value *tv, const char **s, size_t *n)
{
	const char *end;

	if (!tv->len || (tv->v[0] != '"' && tv->v[0] != '\''))
		return 0;
	end = toml_skip_string(tv->v, tv->v + tv->len);
	if (!end || end - tv->v < 2)
		return 0;
	*s = tv->v + 1;
	*n = (size_t)(end - tv->v - 2);
	return 1;
}

/* Each string of an array value, as a PEP 508 requirement. */
static void toml_requirements(struct deriver *d, const struct toml_value *tv)
{
	const char *p = tv->v, *e = tv->v + tv->len;

	while (p < e) {
		const char *q;

		if (*p != '"' && *p != '\'') {
			p++;
			continue;
		}
		if (!(q = toml_skip_string(p, e)))
			break;
		pypi_dep(d, p + 1, (size_t)(q - p - 2));
		p = q;
	}
}

/* Each string of a value: features = ["postgres"] of crate gives "crate/postgres". */
static void toml_features(struct deriver *d, const char *crate, size_t n,
			  const struct toml_value *tv)
{
	const char *p = tv->v, *e = tv->v + tv->len;

	while (p < e) {
		const char *q;
		char *f;

		if (*p != '"' && *p != '\'') {
			p++;
			continue;
		}
		if (!(q = toml_skip_string(p, e)))
			break;
		f = xstrfmt("%.*s/%.*s", (int)n, crate, (int)(q - p - 2), p + 1);
		dep(d, ECO_CARGO, f);
		free(f);
		p = q;
	}
}

/* The first component of a dotted key ("serde.workspace = true" is serde). */
static void toml_key_dep(struct deriver *d, int eco, const char *key)
{
	char *k = xstrndup(key, strcspn(key, "."));

	if (eco == ECO_PYPI) {
		if (strcasecmp(k, "python"))
			pypi_dep(d, k, strlen(k));
	} else {
		dep(d, eco, k);
	}
	free(k);
}

static int suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && !strcmp(s + n - m, suf);
}

static void cargo_value(struct deriver *d, const struct toml_value *tv, char **name)
{
	const char *s;
	size_t n;

	if (!strcmp(tv->table, "package") && !strcmp(tv->key, "name") && toml_string(tv, &s, &n))
		set_name(name, s, n);
	else if (!strcmp(tv->table, "dependencies") || suffix(tv->table, ".dependencies") ||
		 suffix(tv->table, "dev-dependencies") || suffix(tv->table, "build-dependencies")) {
		toml_key_dep(d, ECO_CARGO, tv->key);
		toml_features(d, tv->key, strcspn(tv->key, "."), tv);
	} else if (!strncmp(tv->table, "dependencies.", 13)) {
		/* [dependencies.axum]: the table is the crate */
		if (!strcmp(tv->key, "version"))
			toml_key_dep(d, ECO_CARGO, tv->table + 13);
		else if (!strcmp(tv->key, "features"))
			toml_features(d, tv->table + 13, strlen(tv->table + 13), tv);
	}
}

static void pyproject_value(struct deriver *d, const struct toml_value *tv, char **name)
{
	const char *s;
	size_t n;

	if ((!strcmp(tv->table, "project") || !strcmp(tv->table, "tool.poetry")) &&
	    !strcmp(tv->key, "name") && toml_string(tv, &s, &n))
		set_name(name, s, n);
	else if ((!strcmp(tv->table, "project") && !strcmp(tv->key, "dependencies")) ||
		 !strcmp(tv->table, "project.optional-dependencies") ||
		 !strcmp(tv->table, "dependency-groups"))
		toml_requirements(d, tv);
	else if (!strncmp(tv->table, "tool.poetry.", 12) && suffix(tv->table, "dependencies"))
		toml_key_dep(d, ECO_PYPI, tv->key);
}

static void pipfile_value(struct deriver *d, const struct toml_value *tv, char **name)
{
	(void)name;
	if (!strcmp(tv->table, "packages") || !strcmp(tv->table, "dev-packages"))
		toml_key_dep(d, ECO_PYPI, tv->key);
}

/* ---- XML, a small safe scan: elements, their attributes and text */

struct xml_elem {
	const char *name;
	size_t len;
};

/* The value of attribute name in attrs (a start tag's inside), or 0. */
static int xml_attr(const char *a, const char *e, const char *name, const char **v, size_t *n)
{
	size_t nl = strlen(name);

	while (a < e) {
		const char *k = a, *q;

		while (a < e && !isspace((unsigned char)*a) && *a != '=')
			a++;
		q = skip_space(a, e);
		if (q < e && *q == '=') {
			q = skip_space(q + 1, e);
			if (q < e && (*q == '"' || *q == '\'')) {
				const char *end = memchr(q + 1, *q, (size_t)(e - q - 1));

				if (!end)
					return 0;
				if ((size_t)(a - k) == nl && !strncmp(k, name, nl)) {
					*v = q + 1;
					*n = (size_t)(end - q - 1);
					return 1;
				}
				a = end + 1;
			} else {
				a = q;
			}
		}
		while (a < e && isspace((unsigned char)*a))
			a++;
		if (a == k)
			a++;
	}
	return 0;
}

static int elem_is(const struct xml_elem *el, const char *name)
{
	return el->len == strlen(name) && !strncmp(el->name, name, el->len);
}

/*
 * Walks the elements of an XML text: for *.csproj the PackageReference
 * Include attributes and the Project's Sdk, for pom.xml the artifactIds of
 * dependencies, plugins and the parent and the project's own (its name).
 * Comments, processing instructions, CDATA and DOCTYPE are passed over;
 * nesting beyond MAX_NESTING stops the scan.
 */
static void parse_xml(struct deriver *d, int eco, const char *text, size_t len, char **name)
{
	struct xml_elem stack[MAX_NESTING];
	const char *p = text, *e = text + len;
	int depth = 0;

	while (p < e) {
		const char *lt = memchr(p, '<', (size_t)(e - p)), *gt, *q;

		if (!lt)
			break;
		/* the text before the tag belongs to the innermost element */
		if (eco == ECO_MAVEN && depth >= 2 && elem_is(&stack[depth - 1], "artifactId")) {
			const char *s = p, *t = lt;
			const struct xml_elem *parent = &stack[depth - 2];

			while (s < t && isspace((unsigned char)*s))
				s++;
			while (t > s && isspace((unsigned char)t[-1]))
				t--;
			if (t > s && depth == 2 && elem_is(parent, "project")) {
				set_name(name, s, (size_t)(t - s));
			} else if (t > s && (elem_is(parent, "dependency") || elem_is(parent, "plugin") ||
					     elem_is(parent, "parent"))) {
				char *a = xstrndup(s, (size_t)(t - s));

				dep(d, ECO_MAVEN, a);
				free(a);
			}
		}
		p = lt + 1;
		if (e - p >= 3 && !strncmp(p, "!--", 3)) {
			q = memmem(p, (size_t)(e - p), "-->", 3);
			p = q ? q + 3 : e;
			continue;
		}
		if (e - p >= 8 && !strncmp(p, "![CDATA[", 8)) {
			q = memmem(p, (size_t)(e - p), "]]>", 3);
			p = q ? q + 3 : e;
			continue;
		}
		/* the end of the tag, quotes respected */
		for (gt = p; gt < e && *gt != '>'; gt++)
			if ((*gt == '"' || *gt == '\'') &&
			    !(gt = memchr(gt + 1, *gt, (size_t)(e - gt - 1))))
				return;
		if (gt >= e)
			return;
		if (*p == '?' || *p == '!') {
			p = gt + 1;
			continue;
		}
		if (*p == '/') {
			size_t n = word_len(p + 1, gt);
			int i;

			/* closes the innermost element of that name, and those inside it */
			for (i = depth - 1; i >= 0; i--)
				if (stack[i].len == n && !strncmp(stack[i].name, p + 1, n))
					break;
			if (i >= 0)
				depth = i;
			p = gt + 1;
			continue;
		}
		{
			size_t n = strcspn(p, " \t\r\n/>");
			int empty = gt > p && gt[-1] == '/';
			const char *attrs = p + (n < (size_t)(gt - p) ? n : (size_t)(gt - p));
			const char *v;
			size_t vn;
			struct xml_elem el = { p, n < (size_t)(gt - p) ? n : (size_t)(gt - p) };

			if (eco == ECO_NUGET &&
			    (elem_is(&el, "PackageReference") || (elem_is(&el, "Project") && !depth)) &&
			    xml_attr(attrs, empty ? gt - 1 : gt,
				     elem_is(&el, "Project") ? "Sdk" : "Include", &v, &vn)) {
				char *pkg = xstrndup(v, vn);

				dep(d, ECO_NUGET, pkg);
				free(pkg);
			}
			if (!empty) {
				if (depth == MAX_NESTING)
					return;
				stack[depth++] = el;
			}
		}
		p = gt + 1;
	}
}

/* ---- JSON manifests */

static void json_deps(struct deriver *d, int eco, json_t *doc, const char *const *fields)
{
	const char *k;
	json_t *v;

	for (; *fields; fields++)
		json_object_foreach(json_object_get(doc, *fields), k, v)
			dep(d, eco, k);
}

/* 0, or 1 with bad set when it does not parse */
static int parse_json(struct deriver *d, int eco, const char *path, const char *text,
		      size_t len, char **name, struct ah_err *bad)
{
	static const char *const npm[] = { "dependencies", "devDependencies", NULL };
	static const char *const composer[] = { "require", "require-dev", NULL };
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, 0, &jerr);
	const char *n;

	if (!json_is_object(doc)) {
		char why[AH_JSON_WHY_MAX];

		if (doc)
			ah_invalid(bad, "invalid '%s': not a JSON object", path);
		else
			ah_invalid(bad, "invalid '%s': %s", path, ah_json_why(&jerr, why, sizeof(why)));
		json_decref(doc);
		return 1;
	}
	json_deps(d, eco, doc, eco == ECO_NPM ? npm : composer);
	if ((n = json_string_value(json_object_get(doc, "name")))) {
		/* composer's "vendor/app" is named app */
		const char *slash = eco == ECO_COMPOSER ? strrchr(n, '/') : NULL;

		set_name(name, slash ? slash + 1 : n, strlen(slash ? slash + 1 : n));
	}
	json_decref(doc);
	return 0;
}

/* ---- the manifests, in the order they name the app within a directory */

enum format { F_JSON, F_GOMOD, F_CARGO, F_GEMFILE, F_REQUIREMENTS, F_PYPROJECT, F_PIPFILE,
	      F_XML, F_GRADLE, F_GRADLE_SETTINGS, F_MIX };

static const struct manifest {
	const char *pattern;
	int eco;
	enum format format;
} manifests[] = {
	{ "go.mod", ECO_GO, F_GOMOD },
	{ "Cargo.toml", ECO_CARGO, F_CARGO },
	{ "Gemfile", ECO_GEM, F_GEMFILE },
	{ "pyproject.toml", ECO_PYPI, F_PYPROJECT },
	{ "Pipfile", ECO_PYPI, F_PIPFILE },
	{ "requirements*.txt", ECO_PYPI, F_REQUIREMENTS },
	{ "*.csproj", ECO_NUGET, F_XML },
	{ "composer.json", ECO_COMPOSER, F_JSON },
	{ "pom.xml", ECO_MAVEN, F_XML },
	{ "build.gradle", ECO_MAVEN, F_GRADLE },
	{ "build.gradle.kts", ECO_MAVEN, F_GRADLE },
	{ "settings.gradle", ECO_MAVEN, F_GRADLE_SETTINGS },
	{ "settings.gradle.kts", ECO_MAVEN, F_GRADLE_SETTINGS },
	{ "mix.exs", ECO_HEX, F_MIX },
	{ "package.json", ECO_NPM, F_JSON },
};
#define NR_MANIFESTS (sizeof(manifests) / sizeof(manifests[0]))

/* Reads one manifest: 0, 1 when it does not parse (bad set), -1 on error. */
static int read_manifest(struct deriver *d, const struct ah_tree *tree, const struct manifest *m,
			 const char *path, const char *file, size_t max, struct ah_err *bad,
			 struct ah_err *err)
{
	struct strbuf text = STRBUF_INIT;
	char **name = &d->names[m->eco];
	int r;

	if ((r = ah_tree_read_file(tree, path, max, &text, err)) != 0)
		goto done;
	switch (m->format) {
	case F_JSON:
		r = parse_json(d, m->eco, path, text.buf, text.len, name, bad);
		break;
	case F_GOMOD:
		parse_gomod(d, text.buf, text.len, name);
		break;
	case F_CARGO:
		toml_scan(text.buf, text.len, cargo_value, d, name);
		break;
	case F_GEMFILE:
		parse_gemfile(d, text.buf, text.len);
		break;
	case F_REQUIREMENTS:
		parse_requirements(d, text.buf, text.len);
		break;
	case F_PYPROJECT:
		toml_scan(text.buf, text.len, pyproject_value, d, name);
		break;
	case F_PIPFILE:
		toml_scan(text.buf, text.len, pipfile_value, d, name);
		break;
	case F_XML:
		parse_xml(d, m->eco, text.buf, text.len, name);
		/* a project is named after its file, App.csproj is App */
		if (m->eco == ECO_NUGET)
			set_name(name, file, strlen(file) - 7);
		break;
	case F_GRADLE:
		parse_gradle(d, text.buf, text.len);
		break;
	case F_GRADLE_SETTINGS:
		parse_gradle_settings(text.buf, text.len, name);
		break;
	case F_MIX:
		parse_mix(d, text.buf, text.len, name);
		break;
	}
done:
	strbuf_release(&text);
	return r;
}

struct dir_list {
	char **names;
	size_t nr, seen;
};

static int list_entry(void *cb, const char *name, enum ah_tree_type type)
{
	struct dir_list *l = cb;
	size_t i;

	if (++l->seen > MAX_DIR_ENTRIES)
		return 1;
	if ((type != AH_TREE_FILE && type != AH_TREE_LINK) || l->nr == MAX_MATCHES ||
	    !ah_utf8_valid(name, strlen(name)))
		return 0;
	for (i = 0; i < NR_MANIFESTS; i++)
		if (!fnmatch(manifests[i].pattern, name, 0))
			break;
	if (i == NR_MANIFESTS)
		for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
			if (rules[i].src == SRC_FILE && rule_matches(&rules[i], name))
				break;
	if (i < sizeof(rules) / sizeof(rules[0]))
		l->names[l->nr++] = xstrdup(name);
	return 0;
}

/*
 * The build context from the Dockerfile's directory up to the root: in
 * each directory the manifests of a kind not found nearer, and the file
 * rules. A package.json or composer.json that does not parse is passed
 * over; when no file of that kind parses, the first such error fails.
 */
static int walk_context(struct deriver *d, const struct ah_tree *tree, const char *dockerfile,
			size_t max, struct ah_err *err)
{
	struct strbuf dir = STRBUF_INIT;
	struct dir_list l = { xcalloc(MAX_MATCHES, sizeof(char *)), 0, 0 };
	struct ah_err bad[NR_MANIFESTS];
	int found[NR_MANIFESTS] = { 0 };
	const char *slash = strrchr(dockerfile, '/');
	struct ah_err later = AH_ERR_INIT;	/* the errors after the first */
	size_t k, i;
	int ret = -1;

	for (k = 0; k < NR_MANIFESTS; k++)
		bad[k] = (struct ah_err)AH_ERR_INIT;
	if (slash)
		strbuf_add(&dir, dockerfile, (size_t)(slash - dockerfile));
	for (;;) {
		int here[NR_MANIFESTS] = { 0 };

		for (i = 0; i < l.nr; i++)
			free(l.names[i]);
		l.nr = l.seen = 0;
		if (tree->list(tree->data, dir.buf, list_entry, &l, err) < 0)
			goto done;
		for (k = 0; k < NR_MANIFESTS; k++) {
			for (i = 0; i < l.nr && !found[k]; i++) {
				char *path;
				int r;

				if (fnmatch(manifests[k].pattern, l.names[i], 0))
					continue;
				path = dir.len ? xstrfmt("%s/%s", dir.buf, l.names[i]) : xstrdup(l.names[i]);
				r = read_manifest(d, tree, &manifests[k], path, l.names[i], max,
						  bad[k].status ? &later : &bad[k], err);
				free(path);
				if (r < 0)
					goto done;
				if (!r) {
					here[k] = 1;
					if (d->main_eco < 0)
						d->main_eco = manifests[k].eco;
				}
			}
		}
		for (k = 0; k < NR_MANIFESTS; k++)
			found[k] |= here[k];
		for (i = 0; i < l.nr; i++)
			apply_rules(&d->out->manifests, SRC_FILE, l.names[i], src_package);
		if (!dir.len)
			break;
		slash = strrchr(dir.buf, '/');
		strbuf_setlen(&dir, slash ? (size_t)(slash - dir.buf) : 0);
	}
	for (k = 0; k < NR_MANIFESTS; k++)
		if (!found[k] && bad[k].status) {
			*err = bad[k];
			goto done;
		}
	ret = 0;
done:
	for (i = 0; i < l.nr; i++)
		free(l.names[i]);
	free(l.names);
	strbuf_release(&dir);
	return ret;
}

/* ----------------------------------------------------------- Dockerfile */

/* "docker.io/library/node:20-alpine@sha256:..." is path "node", tag "20-alpine". */
static void image_split(const char *ref, struct strbuf *path, struct strbuf *tag)
{
	size_t n = strcspn(ref, "@");
	const char *slash, *first_end, *colon;
	char *s = xstrndup(ref, n), *p = s;

	slash = strrchr(p, '/');
	colon = strchr(slash ? slash : p, ':');
	if (colon) {
		strbuf_addstr(tag, colon + 1);
		s[colon - s] = '\0';
	}
	/* a first component with a dot, a port or "localhost" is a registry */
	first_end = strchr(p, '/');
	if (first_end && (memchr(p, '.', (size_t)(first_end - p)) ||
			  memchr(p, ':', (size_t)(first_end - p)) ||
			  (first_end - p == 9 && !strncmp(p, "localhost", 9))))
		p = (char *)first_end + 1;
	if (!strncmp(p, "library/", 8))
		p += 8;
	for (; *p; p++)
		strbuf_addch(path, tolower((unsigned char)*p));
	free(s);
}

/* The leading version digits of a tag, without dots, at most parts parts. */
static void version_digits(struct strbuf *out, const char *tag, int parts)
{
	int part = 1;

	for (; *tag && (isdigit((unsigned char)*tag) || *tag == '.'); tag++) {
		if (*tag == '.') {
			if (++part > parts)
				break;
			continue;
		}
		strbuf_addch(out, *tag);
	}
}

/* The image a stage is built on, through the stages it names. */
static const char *stage_image(const struct ah_dockerfile *df, size_t i)
{
	size_t hops = 0;

	while (df->stages[i].base_stage >= 0 && (size_t)df->stages[i].base_stage < i &&
	       hops++ < df->stages_nr)
		i = (size_t)df->stages[i].base_stage;
	return df->stages[i].base;
}

/* The final stage's runtime (its image's, versioned by the rule) and main language. */
static void final_image(struct deriver *d, const char *ref, const char **language)
{
	struct strbuf path = STRBUF_INIT, tag = STRBUF_INIT, v = STRBUF_INIT;
	size_t i;

	image_split(ref, &path, &tag);
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		const struct rule *r = &rules[i];

		if (r->src != SRC_IMAGE || !rule_matches(r, path.buf))
			continue;
		if (!strncmp(r->tag, "language:", 9) && !*language) {
			*language = r->tag + 9;
		} else if (!strncmp(r->tag, "runtime:", 8)) {
			strbuf_reset(&v);
			strbuf_addstr(&v, r->tag + 8);
			if (r->version)
				version_digits(&v, tag.buf, r->version);
			add_rule_tag(&d->out->dockerfile, r, v.buf, src_dockerfile);
		}
	}
	strbuf_release(&path);
	strbuf_release(&tag);
	strbuf_release(&v);
}

static void add_ports(struct deriver *d, const struct ah_df_instr *in)
{
	size_t i;

	for (i = 0; i < in->ports_nr; i++) {
		const struct ah_df_port *p = &in->ports[i];
		struct strbuf v = STRBUF_INIT;

		strbuf_addf(&v, "%u", p->start);
		if (p->end != p->start)
			strbuf_addf(&v, "-%u", p->end);
		if (strcmp(p->proto, "tcp"))
			strbuf_addf(&v, "/%s", p->proto);
		ah_derived_add(&d->out->dockerfile, "port", v.buf, src_dockerfile);
		strbuf_release(&v);
	}
}

/*
 * Every stage gives its image's language and tools and the words of its
 * commands; the final stage, with the stages it is built on, the runtime
 * and the ports it exposes. A Dockerfile that does not parse gives none.
 */
static void dockerfile_tags(struct deriver *d, const char *path, const char *text, size_t len,
			    const char **language)
{
	struct ah_err ignored = AH_ERR_INIT;
	struct ah_dockerfile *df = NULL;
	size_t s, j, hops = 0;
	long i;

	if (ah_dockerfile_parse(text, len, path, NULL, &df, &ignored) < 0 || !df->stages_nr)
		goto done;
	final_image(d, stage_image(df, df->target), language);
	for (i = (long)df->target; i >= 0 && hops++ <= df->stages_nr; i = df->stages[i].base_stage)
		for (j = 0; j < df->stages[i].instrs_nr; j++)
			if (df->stages[i].instrs[j].kind == AH_DF_EXPOSE)
				add_ports(d, &df->stages[i].instrs[j]);
	for (s = 0; s < df->stages_nr; s++) {
		struct strbuf ipath = STRBUF_INIT, tag = STRBUF_INIT;

		image_split(stage_image(df, s), &ipath, &tag);
		apply_rules(&d->out->dockerfile, SRC_IMAGE, ipath.buf, src_dockerfile);
		for (j = 0; j < df->stages[s].instrs_nr; j++) {
			const struct ah_df_instr *in = &df->stages[s].instrs[j];

			if (in->kind == AH_DF_RUN || in->kind == AH_DF_CMD || in->kind == AH_DF_ENTRYPOINT)
				apply_rules(&d->out->dockerfile, SRC_WORD, in->original, src_dockerfile);
		}
		strbuf_release(&ipath);
		strbuf_release(&tag);
	}
done:
	ah_dockerfile_free(df);
}

int ah_derive(const struct ah_tree *tree, const char *dockerfile, const char *text, size_t len,
	      size_t max, struct ah_derivation *out, struct ah_err *err)
{
	struct deriver d = { out, { NULL }, -1 };
	const char *language = NULL;
	int eco, ret = -1;

	memset(out, 0, sizeof(*out));
	if (walk_context(&d, tree, dockerfile, max, err) < 0)
		goto done;
	dockerfile_tags(&d, dockerfile, text, len, &language);
	/* the main language: the final stage's, else the most specific manifest's */
	eco = d.main_eco;
	if (language)
		for (eco = 0; eco < ECO_NR && strcmp(eco_language[eco], language); eco++)
			;
	if (eco >= 0 && eco < ECO_NR) {
		out->name = d.names[eco];
		d.names[eco] = NULL;
		/* a package.json is JavaScript when nothing names the app's language */
		if (!has_key(&out->manifests, "language") && !has_key(&out->dockerfile, "language"))
			ah_derived_add(&out->manifests, "language", eco_language[eco], src_package);
	}
	ret = 0;
done:
	for (eco = 0; eco < ECO_NR; eco++)
		free(d.names[eco]);
	if (ret < 0)
		ah_derivation_release(out);
	return ret;
}

void ah_derivation_release(struct ah_derivation *d)
{
	free(d->manifests.tags);
	free(d->dockerfile.tags);
	free(d->name);
	memset(d, 0, sizeof(*d));
}
