#!/usr/bin/env bats
# The metastore's filter compiler (lib/metastore-filter.c) through
# test-tool mfilter: the SQL it writes, and what that SQL finds in a state
# database (made by apphub, so its table is migration 12's).

bats_require_minimum_version 1.5.0
load test_helper/common

TOOL="$BATS_TEST_DIRNAME/helper/test-tool"

setup() {
	common_setup
	apphub apps ls >/dev/null
	DB=$(db_path)
	sqlite3 "$DB" <<'EOF'
INSERT INTO metastore_records(namespace, key, metadata, tags, owner, schema_hash, version,
	created_at, updated_at, deleted_at) VALUES
('ns', 'a', '{"status":"done","latencyMs":120,"n":"10","env":{"region":"eu","tier":1},"list":[1,"x",true,{"k":1}],"flag":true,"nul":null,"name":"alpha beta"}',
	'["prod","web"]', 'ops', 'h1', 1, '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', NULL),
('ns', 'b', '{"status":"in progress","latencyMs":250,"n":10,"env":{"region":"us"},"list":["y"],"flag":false,"name":"gamma"}',
	'["dev"]', 'dev', NULL, 12, '2024-01-02T00:00:00Z', '2024-01-02T00:00:00Z', NULL),
('ns', 'c', '{"status":"done","latencyMs":99.5,"n":9}',
	'[]', NULL, NULL, 3, '2024-01-03T00:00:00Z', '2024-01-03T00:00:00Z', '2024-02-01T00:00:00Z'),
('ns', 'd', '{}', '["prod"]', 'ops', NULL, 10, '2024-01-04T00:00:00Z', '2024-01-04T00:00:00Z', NULL),
('other', 'a2', '{"status":"done"}', '[]', 'ops', NULL, 1, '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', NULL);
EOF
}

# found FILTER-JSON [Q [SORT-JSON]]: the keys the search finds, on one line
found() {
	"$TOOL" mfilter --db "$DB" "$@" | tr '\n' ' ' | sed 's/ $//'
}

# cond FIELD OPERATOR VALUE-JSON: a condition's JSON
cond() {
	printf '{"field":"%s","operator":"%s","value":%s}' "$1" "$2" "$3"
}

@test "no filter: every record of the namespace, newest first, ordered to the end by r.n" {
	run "$TOOL" mfilter ''
	assert_success
	assert_output "$(printf 'where: \nbinds: []\norder: r.updated_at DESC, r.n DESC')"
	run found ''
	assert_output 'd c b a'
}

@test "a metadata condition is written with its path as a literal, the value bound" {
	run "$TOOL" mfilter "$(cond metadata.env.region eq '"eu"')"
	assert_success
	assert_line "where: (json_extract(r.metadata, '\$.env.region') = ?)"
	assert_line 'binds: ["eu"]'
	run found "$(cond metadata.env.region eq '"eu"')"
	assert_output 'a'
}

@test "eq and neq on columns, null as IS NULL" {
	run found "$(cond key eq '"b"')"
	assert_output 'b'
	run found "$(cond owner eq '"ops"')"
	assert_output 'd a'
	run found "$(cond owner neq '"ops"')"
	assert_output 'c b'
	run found "$(cond owner eq null)"
	assert_output 'c'
	run found "$(cond owner neq null)"
	assert_output 'd b a'
	run found "$(cond schemaHash eq '"h1"')"
	assert_output 'a'
	run found "$(cond deletedAt neq null)"
	assert_output 'c'
	run found "$(cond version eq 12)"
	assert_output 'b'
	run found "$(cond version neq 12)"
	assert_output 'd c a'
}

@test "ranges on columns: version numerically, dates as text" {
	run found "$(cond version gte 10)"
	assert_output 'd b'
	run found "$(cond version gt 10)"
	assert_output 'b'
	run found "$(cond version lt 3)"
	assert_output 'a'
	run found "$(cond version lte 3)"
	assert_output 'c a'
	run found '{"field":"version","operator":"between","values":[2,11]}'
	assert_output 'd c'
	run found "$(cond updatedAt gte '"2024-01-03"')"
	assert_output 'd c'
	run found '{"field":"createdAt","operator":"between","values":["2024-01-02","2024-01-03T23"]}'
	assert_output 'c b'
	run found "$(cond key contains '"b"')"
	assert_output 'b'
}

@test "a column compares with its own type only" {
	run --separate-stderr "$TOOL" mfilter "$(cond version eq '"12"')"
	assert_failure 1
	assert_stderr "error 400 invalid: field 'version' is a number: operator eq needs a number"
	run --separate-stderr "$TOOL" mfilter "$(cond key lt 5)"
	assert_failure 1
	assert_stderr "error 400 invalid: field 'key' is a string: operator lt needs a string"
}

@test "metadata numbers compare numerically, never with strings that look like numbers" {
	run found "$(cond latencyMs lt 200)"
	assert_output 'c a'
	run found "$(cond metadata.latencyMs lt 200)"
	assert_output 'c a'
	run found "$(cond latencyMs gt 99.5)"
	assert_output 'b a'
	run found "$(cond latencyMs gte 99.5)"
	assert_output 'c b a'
	run found "$(cond latencyMs lte 120)"
	assert_output 'c a'
	# "n" is the string "10" in a, the number 10 in b, 9 in c
	run found "$(cond n eq 10)"
	assert_output 'b'
	run found "$(cond n eq '"10"')"
	assert_output 'a'
	run found "$(cond n gt 9)"
	assert_output 'b'
	run found "$(cond n gt '"1"')"
	assert_output 'a'
	run found '{"field":"latencyMs","operator":"between","values":[100,250]}'
	assert_output 'b a'
	run found '{"field":"status","operator":"between","values":["d","e"]}'
	assert_output 'c a'
	# a string equals strings only: not an object or an array written as
	# the same text, nor a number or a boolean (a string that opens with
	# { or [ is compared with its type tested, the rest without)
	run found "$(cond env eq '"{\"region\":\"eu\",\"tier\":1}"')"
	assert_output ''
	run found "$(cond list eq '"[1,\"x\",true,{\"k\":1}]"')"
	assert_output ''
	run "$TOOL" mfilter "$(cond list eq '"[1]"')"
	assert_line "where: (json_type(r.metadata, '\$.list') = 'text' AND json_extract(r.metadata, '\$.list') = ?)"
	run found "$(cond flag eq 1)"
	assert_output ''
	run found "$(cond flag eq '"1"')"
	assert_output ''
	run found "$(cond env.tier eq '"1"')"
	assert_output ''
	run found "$(cond env.tier eq 1)"
	assert_output 'a'
}

@test "metadata booleans, null, nested paths and neq" {
	run found "$(cond flag eq true)"
	assert_output 'a'
	run found "$(cond flag eq false)"
	assert_output 'b'
	run found "$(cond env.tier eq 1)"
	assert_output 'a'
	# eq null: absent or null; neq null: present and not null
	run found "$(cond nul eq null)"
	assert_output 'd c b a'
	run found "$(cond flag neq null)"
	assert_output 'b a'
	# neq is eq's complement: a record without the field is not equal
	run found "$(cond status neq '"done"')"
	assert_output 'd b'
	run found "$(cond env eq '{"region":"us"}')"
	assert_output 'b'
}

@test "contains, has_key, array_contains and exists on metadata" {
	run found "$(cond name contains '"ph"')"
	assert_output 'a'
	run found "$(cond metadata contains '{"env":{"region":"eu"},"list":["x"]}')"
	assert_output 'a'
	run found "$(cond metadata contains '{"status":"done"}')"
	assert_output 'c a'
	run found "$(cond metadata has_key '"flag"')"
	assert_output 'b a'
	run found "$(cond metadata.env has_key '"tier"')"
	assert_output 'a'
	run found "$(cond list array_contains 1)"
	assert_output 'a'
	run found "$(cond list array_contains '"1"')"
	assert_output ''
	run found "$(cond list array_contains '"y"')"
	assert_output 'b'
	run found "$(cond list array_contains true)"
	assert_output 'a'
	run found "$(cond list array_contains '{"k":1}')"
	assert_output 'a'
	# a string is not an array: json_each's one row of a scalar is not taken
	run found "$(cond status array_contains '"done"')"
	assert_output ''
	run found '{"field":"flag","operator":"exists"}'
	assert_output 'b a'
	run found "$(cond flag exists true)"
	assert_output 'b a'
	run found "$(cond flag exists false)"
	assert_output 'd c'
	run found "$(cond nul exists true)"
	assert_output ''
}

@test "tags: eq, neq, array_contains, contains and exists" {
	run found "$(cond tags array_contains '"prod"')"
	assert_output 'd a'
	run found "$(cond tags eq '"web"')"
	assert_output 'a'
	run found "$(cond tags neq '"prod"')"
	assert_output 'c b'
	run found "$(cond tags contains '["prod","web"]')"
	assert_output 'a'
	run found "$(cond tags exists false)"
	assert_output 'c'
	run --separate-stderr "$TOOL" mfilter "$(cond tags lt '"x"')"
	assert_failure 1
	assert_stderr 'error 400 invalid: operator lt does not apply to tags (an array)'
	run --separate-stderr "$TOOL" mfilter "$(cond owner array_contains '"x"')"
	assert_failure 1
	assert_stderr_partial 'operator array_contains needs an array field'
	run --separate-stderr "$TOOL" mfilter "$(cond key has_key '"x"')"
	assert_failure 1
	assert_stderr_partial "operator has_key needs a metadata field, not 'key'"
}

@test "and, or and not groups" {
	local a b
	a=$(cond owner eq '"ops"')
	b=$(cond version gte 10)
	run found "{\"type\":\"group\",\"operator\":\"and\",\"filters\":[$a,$b]}"
	assert_output 'd'
	run found "{\"type\":\"group\",\"operator\":\"or\",\"filters\":[$a,$b]}"
	assert_output 'd b a'
	run found "{\"type\":\"not\",\"filter\":$a}"
	assert_output 'c b'
	# not over a missing field: its complement, the records without it included
	run found "{\"type\":\"not\",\"filter\":$(cond flag eq true)}"
	assert_output 'd c b'
	run found "{\"type\":\"group\",\"operator\":\"or\",\"filters\":[{\"type\":\"not\",\"filter\":{\"type\":\"group\",\"operator\":\"or\",\"filters\":[$a,$b]}},$(cond key eq '"a"')]}"
	assert_output 'c a'
	run found '{"type":"group","operator":"and","filters":[]}'
	assert_output 'd c b a'
	run found '{"type":"group","operator":"or","filters":[]}'
	assert_output ''
}

@test "depth: 8 levels pass, 9 are refused" {
	local f i
	f=$(cond key eq '"a"')
	# the condition at depth 8, under five groups and two nots
	for i in 1 2 3 4 5; do
		f="{\"type\":\"group\",\"operator\":\"and\",\"filters\":[$f]}"
	done
	f="{\"type\":\"not\",\"filter\":{\"type\":\"not\",\"filter\":$f}}"
	run found "$f"
	assert_output 'a'
	f="{\"type\":\"group\",\"operator\":\"or\",\"filters\":[$f]}"
	run --separate-stderr "$TOOL" mfilter "$f"
	assert_failure 1
	assert_stderr 'error 400 invalid: filter deeper than 8'
}

@test "unknown operators, between without two values, bad nodes: 400 naming them" {
	run --separate-stderr "$TOOL" mfilter "$(cond status like '"x"')"
	assert_failure 1
	assert_stderr "error 400 invalid: unknown operator 'like'"
	run --separate-stderr "$TOOL" mfilter '{"type":"group","operator":"xor","filters":[]}'
	assert_failure 1
	assert_stderr "error 400 invalid: unknown operator 'xor'"
	run --separate-stderr "$TOOL" mfilter '{"field":"n","operator":"between","values":[1]}'
	assert_failure 1
	assert_stderr 'error 400 invalid: between needs two values'
	run --separate-stderr "$TOOL" mfilter '{"field":"n","operator":"between","value":5}'
	assert_failure 1
	assert_stderr 'error 400 invalid: between needs two values'
	run --separate-stderr "$TOOL" mfilter '{"field":"n","operator":"between","values":[1,2,3]}'
	assert_failure 1
	assert_stderr 'error 400 invalid: between needs two values'
	run --separate-stderr "$TOOL" mfilter '{"field":"n","operator":"between","values":[1,"z"]}'
	assert_failure 1
	assert_stderr 'error 400 invalid: between needs two numbers or two strings'
	run --separate-stderr "$TOOL" mfilter '{"type":"maybe"}'
	assert_failure 1
	assert_stderr "error 400 invalid: unknown filter type 'maybe'"
	run --separate-stderr "$TOOL" mfilter '{"field":"n","operator":"eq"}'
	assert_failure 1
	assert_stderr 'error 400 invalid: operator eq needs a value'
	run --separate-stderr "$TOOL" mfilter "$(cond n lt true)"
	assert_failure 1
	assert_stderr 'error 400 invalid: operator lt needs a number or a string'
	run --separate-stderr "$TOOL" mfilter "$(cond namespace eq '"ns"')"
	assert_failure 1
	assert_stderr "error 400 invalid: namespace is not a filter field: the search is one namespace's"
}

@test "a metadata path is [A-Za-z0-9_-] segments: anything else is refused, never written into SQL" {
	local bad
	for bad in "a'b" 'a..b' 'a.' '.a' 'a b' 'a[0]' 'metadata.' "x') OR 1 --"; do
		run --separate-stderr "$TOOL" mfilter "{\"field\":\"$bad\",\"operator\":\"eq\",\"value\":1}"
		assert_failure 1
		assert_stderr_partial "not a column nor a metadata path"
	done
	run --separate-stderr "$TOOL" mfilter "$(cond metadata contains "{\"a'b\":1}")"
	assert_failure 1
	assert_stderr_partial "contains: key 'a'b' is not a metadata name"
	run --separate-stderr "$TOOL" mfilter "$(cond metadata eq 1)"
	assert_failure 1
	assert_stderr "error 400 invalid: field 'metadata' needs a path here (metadata.<name>)"
	run "$TOOL" mfilter "$(cond app-1.x_y eq 1)"
	assert_success
	assert_line --partial "json_extract(r.metadata, '\$.app-1.x_y') = ?"
}

@test "q: key:foo owner=ops is two equalities" {
	run "$TOOL" mfilter '' 'key:foo owner=ops'
	assert_success
	assert_line 'where: ((r.key = ?) AND (r.owner = ?))'
	assert_line 'binds: ["foo","ops"]'
	run found '' 'key:a owner=ops'
	assert_output 'a'
}

@test "q: a bare name is metadata.<name>; quoted strings keep their spaces" {
	run "$TOOL" mfilter '' 'status:"in progress"'
	assert_success
	assert_line "where: ((json_extract(r.metadata, '\$.status') = ?))"
	assert_line 'binds: ["in progress"]'
	run found '' 'status:"in progress"'
	assert_output 'b'
	run found '' 'metadata.env.region="eu"'
	assert_output 'a'
	run found '' 'name:"a \"q\" \\ b"'
	assert_output ''
	run "$TOOL" mfilter '' 'name:"a \"q\" \\ b"'
	assert_line 'binds: ["a \"q\" \\ b"]'
}

@test "q: every operator, typed values" {
	run "$TOOL" mfilter '' 'version>=10'
	assert_line 'where: ((r.version >= ?))'
	assert_line 'binds: [10]'
	run found '' 'version>=10'
	assert_output 'd b'
	run found '' 'version>10'
	assert_output 'b'
	run found '' 'version<3'
	assert_output 'a'
	run found '' 'version<=3'
	assert_output 'c a'
	run found '' 'version!=12'
	assert_output 'd c a'
	run found '' 'latencyMs<99.6'
	assert_output 'c'
	run found '' 'n:10'
	assert_output 'b'
	run found '' 'n:"10"'
	assert_output 'a'
	run found '' 'flag:true'
	assert_output 'a'
	run found '' 'flag:false'
	assert_output 'b'
	run found '' 'owner:null'
	assert_output 'c'
	run found '' 'tags:prod'
	assert_output 'd a'
	# a string column keeps a bare value a string
	run "$TOOL" mfilter '' 'key:123 owner:true'
	assert_line 'binds: ["123","true"]'
	run found '' 'latencyMs lt 200'
	assert_output 'c a'
	run found '' 'name contains gam'
	assert_output 'b'
}

@test "q: namespace is refused; a term that does not parse is named" {
	run --separate-stderr "$TOOL" mfilter '' 'namespace:ns'
	assert_failure 1
	assert_stderr "error 400 invalid: namespace is not a filter field: the search is one namespace's"
	local t
	for t in 'status' 'status:' 'status:"open' '!x' 'a!b' 'st"x:1' 'status:"a"b'; do
		run --separate-stderr "$TOOL" mfilter '' "key:a $t owner:ops"
		assert_failure 1
		assert_stderr_partial "q: cannot parse term '"
	done
	run --separate-stderr "$TOOL" mfilter '' 'key:a bogus owner:ops'
	assert_stderr "error 400 invalid: q: cannot parse term 'bogus'"
	run --separate-stderr "$TOOL" mfilter '' 'key:a a\b:1'
	assert_stderr "error 400 invalid: q: cannot parse term 'a\\b:1'"
	run --separate-stderr "$TOOL" mfilter '' 'x$y:1'
	assert_stderr "error 400 invalid: q: cannot parse term 'x\$y:1'"
}

@test "q and filter together are ANDed" {
	run found "$(cond owner eq '"ops"')" 'version>=10'
	assert_output 'd'
}

@test "sort: up to five keys, columns and metadata, r.n last" {
	run "$TOOL" mfilter '' '' '[{"field":"latencyMs","direction":"asc"},"key:desc"]'
	assert_success
	assert_line "order: json_extract(r.metadata, '\$.latencyMs') ASC, r.key DESC, r.n DESC"
	run found '' '' '[{"field":"latencyMs","direction":"asc"}]'
	assert_output 'd c a b'
	run found '' '' '["version:desc"]'
	assert_output 'b d c a'
	run found '' '' '[{"field":"key"}]'
	assert_output 'a b c d'
	run --separate-stderr "$TOOL" mfilter '' '' '["a","b","c","d","e","f"]'
	assert_failure 1
	assert_stderr 'error 400 invalid: sort: at most 5 keys'
	run --separate-stderr "$TOOL" mfilter '' '' '[{"field":"key","direction":"up"}]'
	assert_failure 1
	assert_stderr "error 400 invalid: sort: direction 'up' is asc or desc"
	run --separate-stderr "$TOOL" mfilter '' '' '["tags"]'
	assert_failure 1
	assert_stderr 'error 400 invalid: sort: cannot sort by tags (an array)'
	run --separate-stderr "$TOOL" mfilter '' '' '["namespace"]'
	assert_failure 1
	assert_stderr_partial 'namespace is not a filter field'
	run --separate-stderr "$TOOL" mfilter '' '' '[{"field":"a b"}]'
	assert_failure 1
	assert_stderr_partial "field 'a b': not a column nor a metadata path"
}

@test "projection: names checked and normalized" {
	run "$TOOL" mfilter '' '' '' '["key","metadata.status","tags","status","env.region","metadata","namespace"]'
	assert_success
	assert_line 'projection: ["key","metadata.status","tags","metadata.env.region","metadata","namespace"]'
	run "$TOOL" mfilter '' '' '' '"key,owner,latencyMs"'
	assert_line 'projection: ["key","owner","metadata.latencyMs"]'
	run --separate-stderr "$TOOL" mfilter '' '' '' '["key","a b"]'
	assert_failure 1
	assert_stderr "error 400 invalid: projection: unknown field 'a b'"
	run --separate-stderr "$TOOL" mfilter '' '' '' '[1]'
	assert_failure 1
	assert_stderr 'error 400 invalid: projection: a field is a string'
}

@test "an expression index made on the field's SQL is used for eq and range filters" {
	# 500 records and the planner's statistics (ANALYZE, as after an index
	# is made): with none, SQLite may prefer the (namespace, updated_at)
	# index that spares the sort
	sqlite3 "$DB" "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 500)
		INSERT INTO metastore_records(namespace, key, metadata, created_at, updated_at)
		SELECT 'big', 'k' || i, json_object('latencyMs', i, 'env', json_object('region', 'r' || (i % 50))),
			'2024-01-01', printf('2024-01-01T00:%04d', i) FROM s;
		CREATE INDEX ms_ns_latency ON metastore_records(namespace, json_extract(metadata, '\$.latencyMs'));
		CREATE INDEX ms_ns_env_region ON metastore_records(namespace, json_extract(metadata, '\$.env.region'));
		ANALYZE;"
	run found "$(cond latencyMs eq 120)"
	assert_output 'a'
	run "$TOOL" mfilter --db "$DB" --ns big "$(cond latencyMs eq 120)"
	assert_output 'k120'
	run "$TOOL" mfilter --db "$DB" --ns big --explain "$(cond latencyMs eq 120)"
	assert_success
	assert_output --partial 'USING INDEX ms_ns_latency (namespace=? AND <expr>=?)'
	# one bound: without sqlite_stat4 the planner guesses a quarter of the
	# rows and may rather spare the sort; the total's query has no sort
	run "$TOOL" mfilter --db "$DB" --ns big --count "$(cond latencyMs lt 20)"
	assert_output '19'
	run "$TOOL" mfilter --db "$DB" --ns big --count --explain "$(cond latencyMs lt 20)"
	assert_output --partial 'USING INDEX ms_ns_latency (namespace=? AND <expr><?)'
	run "$TOOL" mfilter --db "$DB" --ns big --count --explain "$(cond latencyMs gte 490)"
	assert_output --partial 'USING INDEX ms_ns_latency (namespace=? AND <expr>>?)'
	run "$TOOL" mfilter --db "$DB" --ns big --explain '{"field":"latencyMs","operator":"between","values":[100,110]}'
	assert_output --partial 'USING INDEX ms_ns_latency (namespace=? AND <expr>>? AND <expr><?)'
	run "$TOOL" mfilter --db "$DB" --ns big '{"field":"latencyMs","operator":"between","values":[100,102]}' '' '["key"]'
	assert_output "$(printf 'k100\nk101\nk102')"
	run "$TOOL" mfilter --db "$DB" --ns big --explain '' 'env.region:r7'
	assert_output --partial 'USING INDEX ms_ns_env_region (namespace=? AND <expr>=?)'
	run "$TOOL" mfilter --db "$DB" --ns big --explain '' 'latencyMs<10 env.region:r7'
	assert_output --partial 'USING INDEX ms_ns_'
}

@test "field_sql: columns by name, metadata paths as the index's expression" {
	run "$TOOL" mfilter --field env.region
	assert_output "json_extract(r.metadata, '\$.env.region')"
	run "$TOOL" mfilter --field metadata.env.region
	assert_output "json_extract(r.metadata, '\$.env.region')"
	run "$TOOL" mfilter --field schemaHash
	assert_output 'r.schema_hash'
	run "$TOOL" mfilter --field tags
	assert_output 'r.tags'
	run --separate-stderr "$TOOL" mfilter --field metadata
	assert_failure 1
	run --separate-stderr "$TOOL" mfilter --field namespace
	assert_failure 1
	assert_stderr "error 400 invalid: namespace is not a filter field: the search is one namespace's"
	run --separate-stderr "$TOOL" mfilter --field "a'b"
	assert_failure 1
	assert_stderr_partial "field 'a'b': not a column nor a metadata path"
	# a q term and its filter are the same SQL
	run "$TOOL" mfilter '' 'env.region:r7'
	assert_line "where: ((json_extract(r.metadata, '\$.env.region') = ?))"
}
