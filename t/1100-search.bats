#!/usr/bin/env bats
# apps ls / apps search: tag filters, text tokens, sorting, pagination, facets, output.

bats_require_minimum_version 1.5.0
load test_helper/common

# One shared, read-only catalogue for the whole file (tests that write use -C).
setup_file() {
	export APPHUB_HOME="$BATS_FILE_TMPDIR/state"
	unset XDG_STATE_HOME
	PATH="$BATS_TEST_DIRNAME/..:$PATH"
	local a='apphub -q apps add'
	$a https://example.com/acme/web-shop.git --name 'Web Shop' \
		--description 'An online store built with Next.js' \
		--tag framework:nextjs --tag owner:alice --tag language:typescript
	sleep 0.01
	$a https://example.com/acme/blog-engine.git --name 'Blog Engine' \
		--description 'Static blog generator' \
		--tag framework:astro --tag owner:bob --tag language:typescript
	sleep 0.01
	$a https://example.com/acme/data-dash.git --name 'Data Dashboard' \
		--description 'Streamlit dashboards for data' \
		--tag framework:streamlit --tag owner:alice --tag language:python
	sleep 0.01
	$a https://example.com/acme/api-gateway.git --name 'API Gateway' \
		--description 'FastAPI gateway service' \
		--tag framework:fastapi --tag owner:carol --tag language:python
	sleep 0.01
	$a https://example.com/acme/shopify-sync.git --name 'Sync Tool' \
		--description 'Keeps shopping carts in sync' --tag owner:bob
	sleep 0.01
	$a https://example.com/acme/zeta-notes.git --name 'alpha notes'
}

setup() {
	common_setup
	export APPHUB_HOME="$BATS_FILE_TMPDIR/state"
}

# ids QUERY-ARGS...: the ids returned, space separated, in order
ids() {
	apphub apps search --json "$@" | jq -r '[.data[].id] | join(" ")'
}

# total QUERY-ARGS...
total() {
	apphub apps search --json "$@" | jq -r .total
}

NEWEST_FIRST='zeta-notes shopify-sync api-gateway data-dash blog-engine web-shop'
BY_NAME='zeta-notes api-gateway blog-engine data-dash shopify-sync web-shop'

# ---------------------------------------------------------------- basics

@test "fixture: six apps" {
	run -0 apphub apps ls --json
	assert_equal "$(jq .total <<<"$output")" 6
	assert_equal "$(jq '.data | length' <<<"$output")" 6
}

@test "ls and search are the same operation" {
	local q
	for q in '' shop owner:alice 'dash owner:alice'; do
		# shellcheck disable=SC2086
		assert_equal "$(apphub apps ls $q --json)" "$(apphub apps search $q --json)"
	done
}

@test "empty catalogue: empty result, exit 0" {
	run -0 apphub -C "$BATS_TEST_TMPDIR/empty" apps search --json
	assert_equal "$(jq -c '[.data, .total, .facets.tags, .facets.owners, .facets.frameworks]' <<<"$output")" \
		'[[],0,[],[],[]]'
	run -0 apphub -C "$BATS_TEST_TMPDIR/empty" apps search shop
	assert_output ''
	run -0 apphub -C "$BATS_TEST_TMPDIR/empty" apps ls -q
	assert_output ''
}

# ---------------------------------------------------------------- tag filters

@test "tag filter: exact key and value" {
	assert_equal "$(ids owner:alice)" 'data-dash web-shop'
	assert_equal "$(ids framework:nextjs)" 'web-shop'
	assert_equal "$(total owner:ali)" 0
	assert_equal "$(total own:alice)" 0
	assert_equal "$(total owner:alicex)" 0
}

@test "tag filters are ANDed (tokens and --tag)" {
	assert_equal "$(ids owner:alice language:python)" 'data-dash'
	assert_equal "$(ids --tag owner:alice --tag language:python)" 'data-dash'
	assert_equal "$(ids owner:alice --tag language:python)" 'data-dash'
	assert_equal "$(ids --tag owner:alice)" 'data-dash web-shop'
	assert_equal "$(total owner:alice owner:bob)" 0
	assert_equal "$(total owner:carol language:typescript)" 0
}

@test "tag filters are case-insensitive" {
	assert_equal "$(ids OWNER:Alice LANGUAGE:PYTHON)" 'data-dash'
	assert_equal "$(ids --tag Framework:NextJS)" 'web-shop'
}

@test "tag token with an empty key or value is ignored" {
	assert_equal "$(total owner:)" 6
	assert_equal "$(total :alice)" 6
	assert_equal "$(total :)" 6
	assert_equal "$(ids owner: shop)" 'web-shop shopify-sync'
	run -0 apphub apps search owner: :alice --json
	assert_equal "$(jq -c .meta.tags <<<"$output")" '[]'
	assert_equal "$(jq -c .meta.tokens <<<"$output")" '[]'
}

@test "tag filter value may contain ':' (split at the first)" {
	run -0 apphub -C "$BATS_TEST_TMPDIR/s" apps add https://example.com/x/colon-app.git --tag 'url:https://x.org/a'
	run -0 apphub -C "$BATS_TEST_TMPDIR/s" apps add https://example.com/x/other-app.git --tag 'url:https://x.org'
	run -0 apphub -C "$BATS_TEST_TMPDIR/s" apps search 'url:https://x.org/a' -q
	assert_output colon-app
}

# ---------------------------------------------------------------- text

@test "text: prefix of a word in name or description" {
	assert_equal "$(ids shop)" 'web-shop shopify-sync'
	assert_equal "$(ids gate)" 'api-gateway'
	assert_equal "$(ids dash)" 'data-dash'
	assert_equal "$(ids stat)" 'blog-engine'
}

@test "text: not a prefix means no match (no infix matching)" {
	assert_equal "$(total hop)" 0
	assert_equal "$(total ashboard)" 0
	assert_equal "$(total ateway)" 0
}

@test "text: matches tag keys and values" {
	assert_equal "$(ids python --sort name)" 'api-gateway data-dash'
	assert_equal "$(ids alice --sort name)" 'data-dash web-shop'
	assert_equal "$(ids typescr --sort name)" 'blog-engine web-shop'
	assert_equal "$(ids owner --sort name)" 'api-gateway blog-engine data-dash shopify-sync web-shop'
	assert_equal "$(ids carol)" 'api-gateway'
}

@test "text: the id is not searched" {
	assert_equal "$(total zeta)" 0
	assert_equal "$(ids alpha)" 'zeta-notes'
}

@test "text: every token must match" {
	assert_equal "$(ids shop sync)" 'shopify-sync'
	assert_equal "$(ids data streamlit alice)" 'data-dash'
	assert_equal "$(total shop python)" 0
	assert_equal "$(total dash nosuchword)" 0
}

@test "text: case-insensitive, split on non-alphanumerics, deduplicated" {
	assert_equal "$(ids DASH)" 'data-dash'
	run -0 apphub apps search SHOP shop Shop --json
	assert_equal "$(jq -c .meta.tokens <<<"$output")" '["shop"]'
	run -0 apphub apps search next.js --json
	assert_equal "$(jq -c .meta.tokens <<<"$output")" '["next","js"]'
	assert_equal "$(jq -r '[.data[].id] | join(" ")' <<<"$output")" web-shop
	run -0 apphub apps search 'web_shop' --json
	assert_equal "$(jq -c .meta.tokens <<<"$output")" '["web","shop"]'
	assert_equal "$(jq -r '[.data[].id] | join(" ")' <<<"$output")" web-shop
	run -0 apphub apps search 'Web Shop' --json
	assert_equal "$(jq -c .meta.tokens <<<"$output")" '["web","shop"]'
}

@test "text: at most 12 tokens are used" {
	run -0 apphub apps search a b c d e f g h i j k l m n o --json
	assert_equal "$(jq -c .meta.tokens <<<"$output")" '["a","b","c","d","e","f","g","h","i","j","k","l"]'
}

@test "text: a token of only punctuation gives no tokens" {
	run -0 apphub apps search '...' --json
	assert_equal "$(jq -c '[.meta.tokens, .total, .meta.sort]' <<<"$output")" '[[],6,"updated"]'
}

@test "text and tag filters combine" {
	assert_equal "$(ids shop owner:alice)" 'web-shop'
	assert_equal "$(ids shop owner:bob)" 'shopify-sync'
	assert_equal "$(total shop owner:carol)" 0
}

@test "text, several tag filters and a status combine" {
	assert_equal "$(ids data owner:alice language:python)" 'data-dash'
	assert_equal "$(ids data owner:alice --tag language:python)" 'data-dash'
	assert_equal "$(total data owner:alice language:typescript)" 0
	assert_equal "$(ids shop owner:bob --status pending)" 'shopify-sync'
	assert_equal "$(total shop owner:bob --status ready)" 0
	assert_equal "$(total shop owner:nobody)" 0
}

@test "text listing (no facets computed) lists the --json page, in order" {
	run -0 apphub apps search s owner:alice -q
	assert_equal "$(echo $output)" "$(ids s owner:alice)"
	assert_equal "$(ids s owner:alice | wc -w)" 2
	run -0 apphub apps search s --sort name -q
	assert_equal "$(echo $output)" "$(ids s --sort name)"
}

# ---------------------------------------------------------------- sort

@test "sort: default without text is updated, newest first" {
	run -0 apphub apps search --json
	assert_equal "$(jq -r .meta.sort <<<"$output")" updated
	assert_equal "$(jq -r '[.data[].id] | join(" ")' <<<"$output")" "$NEWEST_FIRST"
	assert_equal "$(ids --sort updated)" "$NEWEST_FIRST"
	assert_equal "$(ids owner:alice)" 'data-dash web-shop'
}

@test "sort: default with text is relevance; name outweighs description" {
	run -0 apphub apps search shop --json
	assert_equal "$(jq -r .meta.sort <<<"$output")" relevance
	assert_equal "$(jq -c .meta.weights <<<"$output")" '{"name":4,"description":1.5,"tags":2}'
	assert_equal "$(jq -r '[.data[].id] | join(" ")' <<<"$output")" 'web-shop shopify-sync'
}

@test "sort: --weights changes relevance order and is echoed in meta" {
	run -0 apphub apps search shop --weights name:1,description:10,tags:2 --json
	assert_equal "$(jq -c .meta.weights <<<"$output")" '{"name":1,"description":10,"tags":2}'
	assert_equal "$(jq -r '[.data[].id] | join(" ")' <<<"$output")" 'shopify-sync web-shop'
}

@test "sort: tag hits weigh by the tags weight" {
	# 'data' hits data-dash in name+description; 'alice' only in tags of two apps
	assert_equal "$(ids data)" 'data-dash'
	# 'python': api-gateway and data-dash only through tags; tie broken deterministically
	assert_equal "$(total python)" 2
}

@test "sort: name is case-insensitive ascending" {
	assert_equal "$(ids --sort name)" "$BY_NAME"
	assert_equal "$(ids owner --sort name)" 'api-gateway blog-engine data-dash shopify-sync web-shop'
	run -0 apphub apps search --sort name --json
	assert_equal "$(jq -r .meta.sort <<<"$output")" name
}

@test "sort: updated with text tokens" {
	assert_equal "$(ids owner --sort updated)" 'shopify-sync api-gateway data-dash blog-engine web-shop'
	assert_equal "$(ids shop --sort updated)" 'shopify-sync web-shop'
}

@test "sort: relevance without text is accepted" {
	run -0 apphub apps search --sort relevance --json
	assert_equal "$(jq .total <<<"$output")" 6
}

@test "sort: update moves an app to the front of updated order" {
	local d="$BATS_TEST_TMPDIR/upd"
	apphub -C "$d" -q apps add https://example.com/x/first-app.git
	tick
	apphub -C "$d" -q apps add https://example.com/x/second-app.git
	run -0 apphub -C "$d" apps ls -q
	assert_equal "$(tr '\n' ' ' <<<"$output")" 'second-app first-app '
	tick
	apphub -C "$d" -q apps add https://example.com/x/first-app.git --update --name Renamed
	run -0 apphub -C "$d" apps ls -q
	assert_equal "$(tr '\n' ' ' <<<"$output")" 'first-app second-app '
}

# ---------------------------------------------------------------- status

@test "status filter" {
	assert_equal "$(total --status pending)" 6
	assert_equal "$(total --status ready)" 0
	assert_equal "$(total --status processing)" 0
	assert_equal "$(total --status failed)" 0
	assert_equal "$(ids --status pending owner:alice)" 'data-dash web-shop'
}

# ---------------------------------------------------------------- pagination

@test "pagination: limit and offset walk the same order; total is unpaged" {
	run -0 apphub apps search --limit 2 --json
	assert_equal "$(jq -c '[.total, .meta.limit, .meta.offset, [.data[].id]]' <<<"$output")" \
		'[6,2,0,["zeta-notes","shopify-sync"]]'
	run -0 apphub apps search --limit 2 --offset 2 --json
	assert_equal "$(jq -c '[.total, .meta.limit, .meta.offset, [.data[].id]]' <<<"$output")" \
		'[6,2,2,["api-gateway","data-dash"]]'
	run -0 apphub apps search --limit 2 --offset 5 --json
	assert_equal "$(jq -c '[.total, [.data[].id]]' <<<"$output")" '[6,["web-shop"]]'
	run -0 apphub apps search --offset 6 --json
	assert_equal "$(jq -c '[.total, .data]' <<<"$output")" '[6,[]]'
	run -0 apphub apps search --offset 1000000 --json
	assert_equal "$(jq -c '[.total, .data]' <<<"$output")" '[6,[]]'
}

@test "pagination: pages concatenate to the full result (name and relevance)" {
	local all pages="" o
	all=$(ids --sort name)
	for o in 0 1 2 3 4 5; do
		pages="$pages $(ids --sort name --limit 1 --offset $o)"
	done
	assert_equal "${pages# }" "$all"
	all=$(ids owner)
	pages=""
	for o in 0 2 4; do
		pages="$pages $(ids owner --limit 2 --offset $o)"
	done
	assert_equal "$(tr -s ' ' <<<"${pages# }")" "$all"
}

@test "pagination: defaults limit 50, offset 0; bounds 1 and 1000 accepted" {
	run -0 apphub apps search --json
	assert_equal "$(jq -c '[.meta.limit, .meta.offset]' <<<"$output")" '[50,0]'
	run -0 apphub apps search --limit 1 --json
	assert_equal "$(jq '.data | length' <<<"$output")" 1
	run -0 apphub apps search --limit 1000 --json
	assert_equal "$(jq '.data | length' <<<"$output")" 6
}

@test "pagination: default limit 50 applies" {
	local d="$BATS_TEST_TMPDIR/many"
	seq 1 60 | awk '{ printf "{\"id\":\"many-%02d\",\"repoUrl\":\"https://example.com/x/m%d.git\"}\n", $1, $1 }' |
		apphub -C "$d" -q apps import -
	run -0 apphub -C "$d" apps ls --json
	assert_equal "$(jq -c '[.total, (.data | length)]' <<<"$output")" '[60,50]'
	run -0 apphub -C "$d" apps ls -q
	assert_equal "${#lines[@]}" 50
}

@test "invalid limit, offset, sort, status: exit 1 naming the field" {
	local v
	for v in 0 1001 -1; do
		run --separate-stderr -1 apphub apps search --limit "$v"
		assert_stdout_empty
		assert_stderr_regex '^apphub: .*limit'
	done
	# far out of range: rejected one way or the other, never wraps around
	run --separate-stderr apphub apps search --limit 99999999999999999999
	[[ $status == 1 || $status == 129 ]] || fail "status $status, expected 1 or 129"
	assert_stdout_empty
	run --separate-stderr -1 apphub apps search --offset -1
	assert_stdout_empty
	assert_stderr_regex '^apphub: .*offset'
	for v in bogus relevancy; do
		run --separate-stderr -1 apphub apps search --sort "$v"
		assert_stdout_empty
		assert_stderr_regex '^apphub: .*sort'
	done
	for v in bogus done; do
		run --separate-stderr -1 apphub apps search --status "$v"
		assert_stdout_empty
		assert_stderr_regex '^apphub: .*status'
	done
}

@test "non-numeric limit / offset: usage error 129 naming the option" {
	local v
	for v in abc 1.5 '' 2x; do
		run --separate-stderr -129 apphub apps search --limit "$v"
		assert_stdout_empty
		assert_stderr_regex '^apphub: .*limit'
		run --separate-stderr -129 apphub apps search --offset "$v"
		assert_stdout_empty
		assert_stderr_regex '^apphub: .*offset'
	done
}

@test "invalid options also rejected by ls" {
	run -1 apphub apps ls --limit 0
	run -1 apphub apps ls --status nope
	run -1 apphub apps --sort nope
}

# ---------------------------------------------------------------- facets

@test "facets: tags (count desc, then value), statuses, owners, frameworks" {
	run -0 apphub apps search --json
	assert_equal "$(jq -c '[.facets.tags[] | [.value, .count]]' <<<"$output")" \
		'[["language:python",2],["language:typescript",2],["owner:alice",2],["owner:bob",2],["framework:astro",1],["framework:fastapi",1],["framework:nextjs",1],["framework:streamlit",1],["owner:carol",1]]'
	assert_equal "$(jq -c '[.facets.statuses[] | select(.count > 0) | [.value, .count]]' <<<"$output")" \
		'[["pending",6]]'
	assert_equal "$(jq -c '[.facets.owners[] | [.value, .count]]' <<<"$output")" \
		'[["alice",2],["bob",2],["carol",1]]'
	assert_equal "$(jq -c '[.facets.frameworks[] | [.value, .count]]' <<<"$output")" \
		'[["astro",1],["fastapi",1],["nextjs",1],["streamlit",1]]'
}

@test "facets: describe the whole result, not the page" {
	run -0 apphub apps search --json
	local all
	all=$(jq -c .facets <<<"$output")
	run -0 apphub apps search --limit 1 --offset 3 --json
	assert_equal "$(jq -c .facets <<<"$output")" "$all"
}

@test "facets: follow the filters" {
	run -0 apphub apps search owner:alice --json
	assert_equal "$(jq -c '[.facets.tags[] | [.value, .count]]' <<<"$output")" \
		'[["owner:alice",2],["framework:nextjs",1],["framework:streamlit",1],["language:python",1],["language:typescript",1]]'
	assert_equal "$(jq -c '[.facets.owners[] | [.value, .count]]' <<<"$output")" '[["alice",2]]'
	assert_equal "$(jq -c '[.facets.statuses[] | select(.count > 0) | [.value, .count]]' <<<"$output")" '[["pending",2]]'
}

@test "facets: tags capped at 50" {
	local d="$BATS_TEST_TMPDIR/facet50" tags=() k
	for k in $(seq 1 60); do tags+=(--tag "t$k:v"); done
	apphub -C "$d" -q apps add https://example.com/x/many-tags.git "${tags[@]}"
	run -0 apphub -C "$d" apps search --json
	assert_equal "$(jq '.facets.tags | length' <<<"$output")" 50
	assert_equal "$(jq '.data[0].tags | length' <<<"$output")" 60
}

# ---------------------------------------------------------------- output

@test "--json shape and key order" {
	run --separate-stderr -0 apphub apps search shop owner:alice --limit 5 --json
	assert_stderr ''
	assert_equal "$(jq -c keys_unsorted <<<"$output")" '["data","total","facets","meta"]'
	assert_equal "$(jq -c '.facets | keys_unsorted' <<<"$output")" '["tags","statuses","owners","frameworks"]'
	assert_equal "$(jq -c '.meta | keys_unsorted' <<<"$output")" '["tokens","tags","sort","weights","limit","offset"]'
	assert_equal "$(jq -c '.meta.weights | keys_unsorted' <<<"$output")" '["name","description","tags"]'
	assert_equal "$(jq -c '.facets.tags[0] | keys_unsorted' <<<"$output")" '["value","count"]'
	assert_equal "$(jq -c '.facets.statuses[0] | keys_unsorted' <<<"$output")" '["value","count"]'
	assert_equal "$(jq -c '.data[0] | keys_unsorted' <<<"$output")" \
		'["id","name","description","repoUrl","dockerfilePath","status","metadataStrategy","tags","createdAt","updatedAt","commitSha","lastIngestedAt","errorMessage","ingestAttempts"]'
	assert_equal "$(jq -c '.data[0].tags[0] | keys_unsorted' <<<"$output")" '["key","value","source"]'
	assert_equal "$(jq -c '[.meta.tokens, .meta.tags, .meta.sort, .meta.limit, .meta.offset, .total]' <<<"$output")" \
		'[["shop"],["owner:alice"],"relevance",5,0,1]'
	assert_equal "$(jq -r '.total | type' <<<"$output")" number
}

@test "--json: search results carry full app objects" {
	run -0 apphub apps search gate --json
	assert_equal "$(jq -c '.data[0] | [.id, .name, .description, .status, [.tags[] | .key + ":" + .value]]' <<<"$output")" \
		'["api-gateway","API Gateway","FastAPI gateway service","pending",["framework:fastapi","language:python","owner:carol"]]'
	run -0 apphub apps show api-gateway --json
	local show=$output
	run -0 apphub apps search gate --json
	# ... all but the README, which is for the app page (apps show)
	assert_equal "$(jq -S '.data[0]' <<<"$output")" "$(jq -S 'del(.readme)' <<<"$show")"
}

@test "-q: ids only, one per line, in result order" {
	run --separate-stderr -0 apphub apps search -q
	assert_equal "$(tr '\n' ' ' <<<"$output")" "$NEWEST_FIRST "
	run -0 apphub -q apps search --sort name
	assert_equal "$(tr '\n' ' ' <<<"$output")" "$BY_NAME "
	run -0 apphub apps search shop -q
	assert_equal "$output" $'web-shop\nshopify-sync'
}

@test "text: one line per app with aligned id, status, name, tags columns" {
	run --separate-stderr -0 apphub apps search --sort name
	assert_stderr ''
	assert_equal "${#lines[@]}" 6
	assert_regex "${lines[0]}" '^zeta-notes +pending +alpha notes *$'
	assert_regex "${lines[1]}" '^api-gateway +pending +API Gateway +framework:fastapi language:python owner:carol *$'
	assert_regex "${lines[5]}" '^web-shop +pending +Web Shop +framework:nextjs language:typescript owner:alice *$'
	# the status and name columns start at the same offset on every line
	local l s n status_col="" name_col=""
	for l in "${lines[@]}"; do
		s=${l%%pending*}
		[[ -z "$status_col" ]] && status_col=${#s}
		assert_equal "${#s}" "$status_col"
		n=${l#*pending}
		n=${n%%[! ]*}
		[[ -z "$name_col" ]] && name_col=${#n}
		assert_equal "${#n}" "$name_col"
	done
	assert [ "$status_col" -gt 11 ]
}

@test "text: no results prints nothing, exit 0" {
	run --separate-stderr -0 apphub apps search nosuchwordatall
	assert_stdout_empty
	assert_stderr ''
}

# ---------------------------------------------------------------- more text

@test "text: tag strings are split into words (node@18 -> node, 18)" {
	local d="$BATS_TEST_TMPDIR/words"
	apphub -C "$d" -q apps add https://example.com/x/node-app.git --tag runtime:node@18 --tag url:https://x.org/docs
	apphub -C "$d" -q apps add https://example.com/x/other-app.git --tag runtime:python311
	local q
	for q in node 18 'node 18' docs x.org; do
		run -0 apphub -C "$d" apps search "$q" -q
		assert_output node-app
	done
	run -0 apphub -C "$d" apps search python -q
	assert_output other-app
	run -0 apphub -C "$d" apps search 311 -q
	assert_output ''
}

@test "text: an app is found by its own (non-ASCII) name" {
	local d="$BATS_TEST_TMPDIR/utf8"
	apphub -C "$d" -q apps add https://example.com/x/cafe-app.git --name 'Über Café' --description 'naïve résumé'
	local q
	for q in 'Über Café' über café naïve résumé 'Über'; do
		run -0 apphub -C "$d" apps search "$q" -q
		assert_output cafe-app
	done
}

@test "weights: partial override keeps the other defaults; invalid weights exit 1" {
	run -0 apphub apps search shop --weights name:1 --json
	assert_equal "$(jq -c .meta.weights <<<"$output")" '{"name":1,"description":1.5,"tags":2}'
	local w
	for w in bogus name:-1 name:x color:3 name:inf name:nan name:NaN; do
		run --separate-stderr -1 apphub apps search shop --weights "$w"
		assert_stdout_empty
		assert_stderr_regex '^apphub: .*weights'
	done
}

@test "pagination with ties (same name, same timestamps) is stable: no duplicates, none lost" {
	local d="$BATS_TEST_TMPDIR/ties"
	seq 1 30 | awk '{ printf "{\"id\":\"tie-%02d\",\"repoUrl\":\"https://example.com/x/%d.git\",\"name\":\"Same\",\"description\":\"same words\"}\n", $1, $1 }' |
		apphub -C "$d" -q apps import -
	local s q full pages o
	for s in updated name relevance; do
		q=()
		[[ $s == relevance ]] && q=(same)
		full=$(apphub -C "$d" -q apps search "${q[@]}" --sort "$s" --limit 100 | tr '\n' ' ')
		pages=""
		for o in 0 7 14 21 28; do
			pages="$pages$(apphub -C "$d" -q apps search "${q[@]}" --sort "$s" --limit 7 --offset "$o" | tr '\n' ' ')"
		done
		assert_equal "$pages" "$full"
		assert_equal "$(tr ' ' '\n' <<<"$full" | grep -c .)" 30
		assert_equal "$(tr ' ' '\n' <<<"$full" | grep . | sort -u | wc -l)" 30
	done
}

# ---------------------------------------------------------------- English stems

# stems DIR: a catalogue whose words differ from the queries' by their endings
stems() {
	local a="apphub -C $1 -q apps add"
	$a https://example.com/x/poll.git --name 'Poll' --description 'Voting for teams'
	$a https://example.com/x/ballot.git --name 'Ballot Box' --description 'Cast a vote'
	$a https://example.com/x/metrics.git --name 'Metrics' --description 'One dashboard for everything'
	$a https://example.com/x/boards.git --name 'Boards' --description 'Dashboards for shops'
	$a https://example.com/x/campus.git --name 'Campus' --description 'A university portal'
	$a https://example.com/x/runner.git --name 'Runner' --description 'A runtime for jobs'
}

@test "text: English words find their other forms, both ways (stems)" {
	local d="$BATS_TEST_TMPDIR/stems"
	stems "$d"
	run -0 apphub -C "$d" apps search vote --sort name -q
	assert_equal "$(echo $output)" 'ballot poll'
	run -0 apphub -C "$d" apps search voting --sort name -q
	assert_equal "$(echo $output)" 'ballot poll'
	run -0 apphub -C "$d" apps search votes --sort name -q
	assert_equal "$(echo $output)" 'ballot poll'
	run -0 apphub -C "$d" apps search dashboards --sort name -q
	assert_equal "$(echo $output)" 'boards metrics'
	run -0 apphub -C "$d" apps search dashboard --sort name -q
	assert_equal "$(echo $output)" 'boards metrics'
	run -0 apphub -C "$d" apps search shop -q
	assert_output boards
	# every word must still match: the stems widen a word, not the query
	run -0 apphub -C "$d" apps search 'voting teams' -q
	assert_output poll
}

@test "text: a prefix finds words as written, a stem the words it begins" {
	local d="$BATS_TEST_TMPDIR/stems"
	stems "$d"
	# "university" stems to "univers": the typed prefix still finds it
	run -0 apphub -C "$d" apps search universi -q
	assert_output campus
	run -0 apphub -C "$d" apps search vot --sort name -q
	assert_equal "$(echo $output)" 'ballot poll'
	# "running" is "run" to the original's to_tsquery('english'), a prefix
	run -0 apphub -C "$d" apps search running -q
	assert_output runner
	run -0 apphub -C "$d" apps search runs -q
	assert_output runner
}

@test "text: a stemmed match weighs by its field: name outweighs description" {
	local d="$BATS_TEST_TMPDIR/stemrank"
	apphub -C "$d" -q apps add https://example.com/x/by-desc.git --name 'Booth' --description 'Voting booth'
	apphub -C "$d" -q apps add https://example.com/x/by-name.git --name 'Vote Counter' --description 'Counts'
	run -0 apphub -C "$d" apps search voting -q
	assert_equal "$(echo $output)" 'by-name by-desc'
	run -0 apphub -C "$d" apps search voting --weights name:1,description:10 -q
	assert_equal "$(echo $output)" 'by-desc by-name'
}

@test "text: the Dockerfile path is searched, the root Dockerfile is no word" {
	local d="$BATS_TEST_TMPDIR/dfpath"
	apphub -C "$d" -q apps add https://example.com/x/mono.git --name 'Mono' \
		--dockerfile services/worker/Dockerfile.prod
	apphub -C "$d" -q apps add https://example.com/x/plain.git --name 'Plain' --description 'Worker pool'
	local q
	for q in services 'services/worker/Dockerfile.prod' Dockerfile.prod prod 'mono worker'; do
		run -0 apphub -C "$d" apps search "$q" -q
		assert_output mono
	done
	# the description's word outweighs the path's
	run -0 apphub -C "$d" apps search worker -q
	assert_equal "$(echo $output)" 'plain mono'
	run -0 apphub -C "$d" apps search doc -q
	assert_output mono
	# a changed path is indexed again
	apphub -C "$d" -q apps add https://example.com/x/mono.git --update --dockerfile api/Dockerfile
	run -0 apphub -C "$d" apps search services -q
	assert_output ''
	run -0 apphub -C "$d" apps search api -q
	assert_output mono
}

@test "an existing state directory's index is rebuilt with stems and paths" {
	local d="$BATS_TEST_TMPDIR/old" v
	apphub -C "$d" -q apps add https://example.com/x/poll.git --name 'Poll' \
		--description 'Voting for teams' --dockerfile web/Dockerfile
	# The index as schema 8 had it: words only, three columns (the later
	# migrations make what they make only where it is missing).
	v=$(sqlite3 "$d/apphub.db" 'PRAGMA user_version')
	"$BATS_TEST_DIRNAME/helper/test-tool" sql "$d/apphub.db" "DROP TABLE apps_fts;
		CREATE VIRTUAL TABLE apps_fts USING fts5(name, description, tags,
			prefix='1 2 3 4', tokenize='unicode61 remove_diacritics 2');
		INSERT INTO apps_fts(rowid, name, description, tags)
			SELECT n, name, description, '' FROM apps;
		PRAGMA user_version = 8"
	run -0 sqlite3 "$d/apphub.db" "SELECT rowid FROM apps_fts WHERE apps_fts MATCH 'vote'"
	assert_output ''
	run -0 apphub -C "$d" apps search vote -q
	assert_output poll
	run -0 apphub -C "$d" apps search web -q
	assert_output poll
	assert_equal "$(sqlite3 "$d/apphub.db" 'PRAGMA user_version')" "$v"
}
