#!/usr/bin/env bats
# The page apphub serve serves (web/), in a real browser: Debian's chromium
# driven by playwright-core (t/web/, installed by `make deps`), against a
# real serve. Screenshots of every step go to t/out/web/.

bats_require_minimum_version 1.5.0
load test_helper/common
load test_helper/serve

WEB_DIR="$BATS_TEST_DIRNAME/web"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

setup_file() {
	export WEB_OUT="$BATS_TEST_DIRNAME/out/web"
	rm -rf "$WEB_OUT"
	mkdir -p "$WEB_OUT"
}

setup() {
	common_setup
	unset APPHUB_TOKENS APPHUB_TOKENS_FILE APPHUB_SERVER APPHUB_TOKEN
	export WEB_OUT="$BATS_TEST_DIRNAME/out/web"
}

need_browser() {
	command -v node >/dev/null || skip "node is not installed (make deps installs it)"
	[[ -x $CHROMIUM ]] || skip "chromium is not installed at $CHROMIUM (make deps installs it)"
	[[ -d $WEB_DIR/node_modules/playwright-core ]] ||
		skip "playwright-core is not installed in t/web (make deps runs npm ci there)"
}

# fixture DIR DOCKERFILE README [TAGS-JSON]: a repository with a README.
fixture() {
	make_repo "$1" "$2"
	printf '%s\n' "$3" >"$1/README.md"
	git -C "$1" add README.md
	if [[ -n ${4:-} ]]; then
		mkdir -p "$1/.apphub"
		printf '%s\n' "$4" >"$1/.apphub/tags.json"
		git -C "$1" add .apphub
	fi
	git -C "$1" commit -q -m readme
}

# The catalogue the browser tests look at: three small apps and one whose
# README tries raw HTML and scripts. Ingested before serve starts.
catalogue() {
	local d=$BATS_TEST_TMPDIR/repos
	fixture "$d/node-hello" 'FROM node:20-alpine' \
		$'# node-hello\n\nA tiny Node.js web service that answers every request with a JSON greeting.' \
		'{"category":"demo"}'
	fixture "$d/python-notes" 'FROM python:3.11-slim' \
		$'# python-notes\n\nA small note board built on the Python standard library.\n\nRun it with `python3 app.py`.' \
		'{"category":"demo","topic":["notes","stdlib"]}'
	fixture "$d/static-site" 'FROM nginx:alpine' \
		$'# static-site\n\nA single HTML page with a stylesheet.'
	for r in "$d"/*; do
		apphub -q apps add "$r" --tag example:true
	done
	make_repo "$BATS_TEST_TMPDIR/xss" 'FROM node:20-alpine'
	cat >"$BATS_TEST_TMPDIR/xss/README.md" <<'MD'
# XSS demo

A page whose README *tries* to run code.

<script>window.__pwned = 1</script>
<img src="x" onerror="window.__pwned = 2">
<iframe src="https://example.com"></iframe>

[click me](javascript:window.__pwned=3)

```sh
echo "code <b>stays</b> text"
```
MD
	printf '{"name":"xss-demo","dependencies":{"next":"14.0.0"}}\n' >"$BATS_TEST_TMPDIR/xss/package.json"
	git -C "$BATS_TEST_TMPDIR/xss" add README.md package.json
	git -C "$BATS_TEST_TMPDIR/xss" commit -q -m readme
	apphub -q apps add "$BATS_TEST_TMPDIR/xss" --id xss-demo
	apphub -q ingest >/dev/null
}

browse() {
	(cd "$WEB_DIR" && SERVE_URL=$SERVE_URL node "$1" 3>&-)
}

@test "web: the page, its files and the API share the paths" {
	catalogue
	start_serve --workers 0
	# / is the page; /app.js and /app.css are served with an ETag.
	r=$(curl -sS -D - -o "$BATS_TEST_TMPDIR/index.html" "$SERVE_URL/")
	grep -qi '^content-type: text/html' <<<"$r"
	grep -q '<script type="module" src="/app.js">' "$BATS_TEST_TMPDIR/index.html"
	grep -qi "^content-security-policy: default-src 'self'" <<<"$r"
	etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: \(.*\)\r$/\1/p' <<<"$(curl -sS -D - -o /dev/null "$SERVE_URL/app.js")")
	[[ -n $etag ]]
	run -0 curl -sS -o /dev/null -w '%{http_code} %{content_type}' "$SERVE_URL/app.css"
	assert_output '200 text/css; charset=utf-8'
	run -0 curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$SERVE_URL/app.js"
	assert_output 304
	cmp <(curl -sS "$SERVE_URL/app.js") "$BATS_TEST_DIRNAME/../web/app.js"
	# A browser (Accept: text/html) gets the page at /apps and /apps/ID ...
	run -0 curl -sS -H 'Accept: text/html,application/xhtml+xml,*/*;q=0.8' "$SERVE_URL/apps/node-hello"
	assert_output --partial '<!doctype html>'
	run -0 curl -sS -H 'Accept: text/html' "$SERVE_URL/apps?q=greeting"
	assert_output --partial '<!doctype html>'
	# ... everything else gets the API.
	run -0 get /apps/node-hello
	assert_equal "$(jq -r .id <<<"$output")" node-hello
	run -0 curl -sS -f -H 'Accept: application/json' "$SERVE_URL/apps?q=greeting"
	assert_equal "$(jq -r '.data[].id' <<<"$output")" node-hello
	run -0 curl -sS -f -H 'Accept: text/html' "$SERVE_URL/apps/node-hello/history"
	jq -e '.data | length == 3' <<<"$output"
	r=$(http GET /nope -H 'Accept: text/html')
	assert_equal "$(status_of "$r")" 404
	# The README, rendered by cmark with raw HTML and unsafe links left out.
	run -0 get /apps/xss-demo/readme
	html=$(jq -r .html <<<"$output")
	[[ $html == *'<h1>XSS demo</h1>'* ]]
	[[ $html == *'<em>tries</em>'* ]]
	[[ $html == *'code &lt;b&gt;stays&lt;/b&gt; text'* ]]
	[[ $html != *'<script'* && $html != *'onerror'* && $html != *'<iframe'* && $html != *'javascript:'* ]]
	run -0 get /openapi.json
	assert_equal "$(jq -r '.paths."/apps/{id}/readme".get.operationId' <<<"$output")" apps.readme
	r=$(http GET /apps/nope/readme)
	assert_equal "$(status_of "$r")" 404
}

@test "web: type a query, accept a suggestion with the keyboard, the cards filter" {
	need_browser
	catalogue
	start_serve --workers 0
	browse search.mjs
}

@test "web: a shared ?q= opens the same search" {
	need_browser
	catalogue
	start_serve --workers 0
	browse query.mjs
}

@test "web: the app page renders the README without running its HTML" {
	need_browser
	catalogue
	start_serve --workers 0
	browse app.mjs
}

@test "web: register from the page and watch the ingest finish live" {
	need_browser
	catalogue
	make_repo "$BATS_TEST_TMPDIR/delta" 'FROM python:3.12-slim'
	printf '# delta\n\nA fourth app, registered from the page.\n' >"$BATS_TEST_TMPDIR/delta/README.md"
	git -C "$BATS_TEST_TMPDIR/delta" add README.md
	git -C "$BATS_TEST_TMPDIR/delta" commit -q -m readme
	start_serve --workers 0
	LIVE_REPO="$BATS_TEST_TMPDIR/delta" browse live.mjs
	run -0 apphub apps show delta --json
	assert_equal "$(jq -r .status <<<"$output")" ready
	assert_equal "$(jq -c '[.tags[] | .key + ":" + .value] | sort' <<<"$output")" \
		'["language:python","owner:web","runtime:python312","team:live"]'
}

@test "web: registration errors are shown by their field" {
	need_browser
	catalogue
	start_serve --workers 0
	browse register.mjs
	run -0 app_total
	assert_output 4
}

@test "web: with tokens configured the page asks for one, once" {
	need_browser
	catalogue
	export APPHUB_TOKENS='[{"token":"s3cret-web","subject":"web","scopes":["apps:write"]}]'
	start_serve --workers 0
	WEB_TOKEN=s3cret-web browse token.mjs
	run -0 apphub apps show echo --json
	assert_equal "$(jq -r .repoUrl <<<"$output")" https://example.com/repos/echo.git
	# The refusal and the write are in the audit table.
	run -0 sqlite3 "$(db_path)" "SELECT status FROM audit WHERE op = 'apps.add' ORDER BY rowid"
	assert_output --partial 403
}

@test "web: the page writes with its cookie; a page of another origin cannot write" {
	need_browser
	catalogue
	start_serve --workers 0
	browse crosssite.mjs
	run -0 apphub apps show good --json
	assert_equal "$(jq -r .repoUrl <<<"$output")" https://example.com/repos/good.git
	run -0 apphub apps ls
	refute_output --partial evil
	run -0 app_total
	assert_output 5
	# The attempts reached serve and were refused there: the no-cors fetch of
	# each of the three visits and the two forms (the JSON fetch stopped at its
	# preflight, in the browser).
	run -0 sqlite3 "$(db_path)" \
		"SELECT count(*) FROM audit WHERE method = 'POST' AND path = '/apps' AND status = 403"
	assert_output 5
}

@test "web: usable at a phone's width, light and dark" {
	need_browser
	catalogue
	start_serve --workers 0
	browse phone.mjs
}
