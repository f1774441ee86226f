#!/usr/bin/env bats
# apps add / show / rm / tag / import.

bats_require_minimum_version 1.5.0
load test_helper/common

TIME_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'

# expect_no_apps: nothing was registered
expect_no_apps() {
	run -0 apphub apps ls --json
	assert_equal "$(jq .total <<<"$output")" 0
}

# event_types: the types of all events, space separated
event_types() {
	apphub events --json | jq -r '[.data[].type] | join(" ")'
}

# ---------------------------------------------------------------- add: ids

@test "add: id derived from the last path component (spec example)" {
	run --separate-stderr -0 apphub apps add /tmp/My_Cool.App.git
	assert_output my-cool-app
	assert_stderr ''
	run -0 apphub apps show my-cool-app --json
	assert_equal "$(jq -r .repoUrl <<<"$output")" /tmp/My_Cool.App.git
}

@test "add: id derivation from every accepted repoUrl form" {
	local url id
	while read -r url id; do
		run --separate-stderr -0 apphub apps add "$url"
		assert_output "$id"
		run -0 apphub apps show "$id" --json
		assert_equal "$(jq -r .repoUrl <<<"$output")" "$url"
	done <<-'LIST'
	https://github.com/acme/Widget.git widget
	http://example.com/acme/web-shop web-shop
	git://example.com/acme/Some__Thing.git some-thing
	file:///srv/repos/hello-world.git hello-world
	ssh://git@example.com/acme/Ssh.Repo.git ssh-repo
	git@github.com:acme/scp-style.git scp-style
	user@host.example.com:path/to/--Dashy--App--.git dashy-app
	/srv/git/ABS-path.git abs-path
	LIST
	run -0 apphub apps ls --json
	assert_equal "$(jq .total <<<"$output")" 8
}

@test "add: underivable id asks for --id, exit 1, nothing written" {
	local url
	for url in https://example.com/acme/ab.git https://example.com/acme/___.git \
		https://example.com/acme/x.git 'https://example.com/acme/-.git'; do
		run --separate-stderr -1 apphub apps add "$url"
		assert_stdout_empty
		assert_stderr_regex '^apphub: '
		assert_stderr_partial '--id'
	done
	expect_no_apps
}

@test "add: a derived id starting with a digit gets the prefix app-" {
	run -0 apphub apps add https://example.com/acme/123abc.git
	assert_output app-123abc
	run -0 apphub apps add https://example.com/acme/9-lives.git
	assert_output app-9-lives
	run -0 apphub apps show app-9-lives --json
	assert_equal "$(jq -r .repoUrl <<<"$output")" https://example.com/acme/9-lives.git
}

@test "add: underivable id works with --id" {
	run -0 apphub apps add https://example.com/acme/ab.git --id abacus
	assert_output abacus
}

@test "add: --id is validated (exact message), exit 1, nothing written" {
	run --separate-stderr -1 apphub apps add https://example.com/x/ok-repo.git --id Ab
	assert_stdout_empty
	assert_stderr "apphub: invalid id 'Ab': must match ^[a-z][a-z0-9-]{2,63}\$"
	local bad
	for bad in ab 1abc a_bc -abc 'ab c' abc. "a$(printf 'b%.0s' {1..64})" ''; do
		run --separate-stderr -1 apphub apps add https://example.com/x/ok-repo.git --id "$bad"
		assert_stdout_empty
		assert_stderr_partial "invalid id '$bad'"
	done
	expect_no_apps
}

@test "add: id limits 3 and 64 characters are accepted" {
	local long="a$(printf 'b%.0s' {1..63})"
	assert_equal "${#long}" 64
	run -0 apphub apps add https://example.com/x/r1.git --id abc
	assert_output abc
	run -0 apphub apps add https://example.com/x/r2.git --id "$long"
	assert_output "$long"
	run -0 apphub apps add https://example.com/x/r3.git --id a-9-
	assert_output a-9-
}

# ---------------------------------------------------------------- add: fields

@test "add: defaults and the app object (--json, key order, times)" {
	run --separate-stderr -0 apphub apps add https://example.com/acme/plain-app.git --json
	assert_stderr ''
	local j=$output
	assert_equal "$(jq -c keys_unsorted <<<"$j")" \
		'["id","name","description","repoUrl","dockerfilePath","status","metadataStrategy","tags","createdAt","updatedAt","commitSha","readme","lastIngestedAt","errorMessage","ingestAttempts"]'
	assert_equal "$(jq -c '[.id,.name,.description,.repoUrl,.dockerfilePath,.status,.metadataStrategy,.tags]' <<<"$j")" \
		'["plain-app","plain-app","","https://example.com/acme/plain-app.git","Dockerfile","pending","auto",[]]'
	assert_regex "$(jq -r .createdAt <<<"$j")" "$TIME_RE"
	assert_regex "$(jq -r .updatedAt <<<"$j")" "$TIME_RE"
	# created now-ish (same day, UTC)
	assert_equal "$(jq -r '.createdAt[0:10]' <<<"$j")" "$(date -u +%Y-%m-%d)"
	# show --json is the same object
	run -0 apphub apps show plain-app --json
	assert_equal "$(jq -S . <<<"$output")" "$(jq -S . <<<"$j")"
}

@test "add: -q prints nothing" {
	run --separate-stderr -0 apphub apps add https://example.com/acme/quiet-app.git -q
	assert_stdout_empty
	assert_stderr ''
	run -0 apphub -q apps add https://example.com/acme/quiet-two.git
	assert_output ''
	run -0 apphub apps ls -q
	assert_line quiet-app
	assert_line quiet-two
}

@test "add: all options are stored" {
	run -0 apphub apps add git@example.com:acme/full.git --id full-app --name 'Full App' \
		--description 'Does everything: really.' --dockerfile docker/Dockerfile.prod \
		--tag framework:nextjs --tag owner:alice --explicit --json
	assert_equal "$(jq -c '[.id,.name,.description,.repoUrl,.dockerfilePath,.status,.metadataStrategy]' <<<"$output")" \
		'["full-app","Full App","Does everything: really.","git@example.com:acme/full.git","docker/Dockerfile.prod","pending","explicit"]'
	assert_equal "$(jq -c .tags <<<"$output")" \
		'[{"key":"framework","value":"nextjs","source":"author"},{"key":"owner","value":"alice","source":"author"}]'
}

@test "add: tags sorted by key then value, case-insensitively" {
	run -0 apphub apps add https://example.com/x/sorted.git \
		--tag zeta:1 --tag beta:x --tag Alpha:2 --tag alpha:1 --tag beta:W --json
	assert_equal "$(jq -r '[.tags[] | .key + ":" + .value] | join(" ")' <<<"$output")" \
		'alpha:1 Alpha:2 beta:W beta:x zeta:1'
}

@test "add: duplicate tags collapse case-insensitively, first wins" {
	run -0 apphub apps add https://example.com/x/dups.git \
		--tag Lang:C --tag lang:c --tag LANG:C --tag lang:go --json
	assert_equal "$(jq -r '[.tags[] | .key + ":" + .value] | join(" ")' <<<"$output")" 'Lang:C lang:go'
}

@test "add: tag values may contain ':', '@', '/' and reach 200 chars; keys 64" {
	local k64 v200
	k64="k$(printf 'x%.0s' {1..63})"
	v200="v$(printf 'y%.0s' {1..199})"
	run -0 apphub apps add https://example.com/x/tag-edge.git \
		--tag 'url:https://example.com/a@b' --tag 'runtime:node@>=18' \
		--tag a.b_c-d:x --tag 9lives:cat --tag "$k64:v" --tag "k:$v200" --json
	assert_equal "$(jq '.tags | length' <<<"$output")" 6
	run -0 apphub apps show tag-edge --json
	assert_equal "$(jq -r '.tags[] | select(.key=="url") | .value' <<<"$output")" 'https://example.com/a@b'
	assert_equal "$(jq -r '.tags[] | select(.key=="runtime") | .value' <<<"$output")" 'node@>=18'
	assert_equal "$(jq -r --arg k "$k64" '.tags[] | select(.key==$k) | .value' <<<"$output")" v
	assert_equal "$(jq -r '.tags[] | select(.key=="k") | .value | length' <<<"$output")" 200
}

@test "add: invalid tags name the field, exit 1, nothing written" {
	local k65 v201 bad
	k65="k$(printf 'x%.0s' {1..64})"
	v201="v$(printf 'y%.0s' {1..200})"
	for bad in nocolon ':value' 'key:' '-key:v' '.key:v' 'ke y:v' 'ke/y:v' 'k:has space' \
		$'k:tab\there' $'k:ctl\x01' "$k65:v" "k:$v201" ''; do
		run --separate-stderr -1 apphub apps add https://example.com/x/bad-tag.git --tag ok:fine --tag "$bad"
		assert_stdout_empty
		assert_stderr_regex '^apphub: .*tag'
	done
	expect_no_apps
}

@test "add: invalid repoUrl names the field, exit 1, nothing written" {
	local bad
	cd "$BATS_TEST_TMPDIR"
	for bad in ftp://example.com/x/repo.git 'no-such-dir/repo' '' 'relative-nonexistent'; do
		run --separate-stderr -1 apphub apps add "$bad" --id some-app
		assert_stdout_empty
		assert_stderr_regex '^apphub: .*repoUrl'
	done
	expect_no_apps
}

@test "add: relative path to an existing directory is made absolute" {
	cd "$BATS_TEST_TMPDIR"
	make_repo "$BATS_TEST_TMPDIR/Rel_Repo"
	run --separate-stderr -0 apphub apps add Rel_Repo
	assert_output rel-repo
	run -0 apphub apps show rel-repo --json
	local url
	url=$(jq -r .repoUrl <<<"$output")
	assert_regex "$url" '^/'
	assert_equal "$(cd "$url" && pwd -P)" "$(cd "$BATS_TEST_TMPDIR/Rel_Repo" && pwd -P)"
	# ./dir and dir/ forms too
	run -0 apphub apps add ./Rel_Repo --id rel-two --json
	assert_equal "$(cd "$(jq -r .repoUrl <<<"$output")" && pwd -P)" "$(cd Rel_Repo && pwd -P)"
	assert_regex "$(jq -r .repoUrl <<<"$output")" '^/'
	refute_regex "$(jq -r .repoUrl <<<"$output")" '/\./'
}

@test "add: relative path made absolute from a subdirectory (..)" {
	make_repo "$BATS_TEST_TMPDIR/up-repo"
	mkdir "$BATS_TEST_TMPDIR/sub"
	cd "$BATS_TEST_TMPDIR/sub"
	run -0 apphub apps add ../up-repo --json
	assert_equal "$(jq -r .id <<<"$output")" up-repo
	local url
	url=$(jq -r .repoUrl <<<"$output")
	assert_regex "$url" '^/'
	assert_equal "$(cd "$url" && pwd -P)" "$(cd "$BATS_TEST_TMPDIR/up-repo" && pwd -P)"
}

@test "add: invalid dockerfilePath names the field, exit 1, nothing written" {
	local bad
	for bad in /Dockerfile ../Dockerfile a/../Dockerfile 'docker/../../Dockerfile' Makefile \
		docker/Containerfile Dockerfilex Dockerfile/ 'x/DockerfileY' ''; do
		run --separate-stderr -1 apphub apps add https://example.com/x/bad-df.git --dockerfile "$bad"
		assert_stdout_empty
		assert_stderr_regex '^apphub: .*dockerfilePath'
	done
	expect_no_apps
}

@test "add: valid dockerfilePath forms" {
	local good k=0
	for good in Dockerfile dockerfile DOCKERFILE.dev docker/Dockerfile.prod a/b/c/Dockerfile \
		./Dockerfile Dockerfile.arm64; do
		k=$((k + 1))
		run -0 apphub apps add "https://example.com/x/df$k.git" --id "df-app-$k" --dockerfile "$good"
	done
	run -0 apphub apps show df-app-4 --json
	assert_equal "$(jq -r .dockerfilePath <<<"$output")" docker/Dockerfile.prod
}

@test "add: --explicit sets metadataStrategy explicit; default auto" {
	run -0 apphub apps add https://example.com/x/expl.git --explicit --json
	assert_equal "$(jq -r .metadataStrategy <<<"$output")" explicit
	run -0 apphub apps add https://example.com/x/auto.git --json
	assert_equal "$(jq -r .metadataStrategy <<<"$output")" auto
}

@test "add: existing id is a conflict, exit 3, app unchanged" {
	run -0 apphub apps add https://example.com/x/dupe.git --name First --tag a:b --json
	local before=$output
	run --separate-stderr -3 apphub apps add https://example.com/y/dupe.git --name Second
	assert_stdout_empty
	assert_stderr "apphub: app 'dupe' already exists (use --update)"
	run --separate-stderr -3 apphub apps add https://example.com/y/other.git --id dupe
	assert_stderr "apphub: app 'dupe' already exists (use --update)"
	run -0 apphub apps show dupe --json
	assert_equal "$output" "$before"
	assert_equal "$(event_types)" 'app.registered'
}

@test "add --update: given fields replace, others kept, back to pending, app.updated" {
	run -0 apphub apps add https://example.com/x/upd.git --name Old --description 'old desc' \
		--tag owner:alice --tag lang:c --json
	local created
	created=$(jq -r .createdAt <<<"$output")
	tick
	run --separate-stderr -0 apphub apps add https://example.com/x/upd2.git --id upd --name New --update --json
	assert_stderr ''
	assert_equal "$(jq -c '[.id,.name,.description,.repoUrl,.status]' <<<"$output")" \
		'["upd","New","old desc","https://example.com/x/upd2.git","pending"]'
	# no --tag: author tags kept
	assert_equal "$(jq -r '[.tags[] | .key + ":" + .value] | join(" ")' <<<"$output")" 'lang:c owner:alice'
	assert_equal "$(jq -r .createdAt <<<"$output")" "$created"
	assert [ "$(jq -r .updatedAt <<<"$output")" \> "$created" ]
	assert_equal "$(event_types)" 'app.registered app.updated'
}

@test "add --update with --tag replaces the author tags" {
	add_app upd-tags --tag owner:alice --tag lang:c
	run -0 apphub apps add https://example.com/repos/upd-tags.git --id upd-tags --tag owner:bob --update --json
	assert_equal "$(jq -c '[.tags[] | [.key,.value,.source]]' <<<"$output")" '[["owner","bob","author"]]'
	# text output is the id
	run -0 apphub apps add https://example.com/repos/upd-tags.git --id upd-tags --update
	assert_output upd-tags
}

@test "add --update: validation still applies, nothing changed" {
	add_app upd-val --name Keep
	run -1 apphub apps add https://example.com/repos/upd-val.git --id upd-val --update --name Changed --tag bad
	run -0 apphub apps show upd-val --json
	assert_equal "$(jq -r .name <<<"$output")" Keep
}

@test "add: registers app.registered and queues work, one event per add" {
	add_app ev-one
	add_app ev-two
	run -0 apphub events --json
	assert_equal "$(jq -c '[.data[] | [.type, .subject]]' <<<"$output")" \
		'[["app.registered","ev-one"],["app.registered","ev-two"]]'
}

# ---------------------------------------------------------------- show

@test "show: text is key: value lines" {
	add_app show-me --name 'Show Me' --description 'A thing to show' --tag owner:alice --tag lang:c \
		--dockerfile build/Dockerfile.web
	run --separate-stderr -0 apphub apps show show-me
	assert_stderr ''
	# values may be aligned after the colon
	assert_line --regexp '^id: +show-me$'
	assert_line --regexp '^name: +Show Me$'
	assert_line --regexp '^description: +A thing to show$'
	assert_line --regexp '^repoUrl: +https://example\.com/repos/show-me\.git$'
	assert_line --regexp '^dockerfilePath: +build/Dockerfile\.web$'
	assert_line --regexp '^status: +pending$'
	assert_line --regexp '^metadataStrategy: +auto$'
	assert_line --regexp '^tags: +lang:c \(author\), ?owner:alice \(author\)$'
	assert_line --regexp '^createdAt: +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z$'
	assert_line --regexp '^updatedAt: +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z$'
	# all values start in the same column
	local l col=""
	for l in "${lines[@]}"; do
		[[ $l =~ ^([A-Za-z]+:\ +)[^\ ] ]] || continue
		[[ -z "$col" ]] && col=${#BASH_REMATCH[1]}
		assert_equal "${#BASH_REMATCH[1]}" "$col"
	done
	# in the documented order
	assert_equal "$(printf '%s\n' "${lines[@]}" | cut -d: -f1 | tr '\n' ' ')" \
		'id name description repoUrl dockerfilePath status metadataStrategy tags createdAt updatedAt '
}

@test "show: empty description and no tags" {
	add_app bare-app
	run -0 apphub apps show bare-app
	assert_line --regexp '^description: *$'
	assert_line --regexp '^tags: *$'
}

@test "show: unknown id, exit 2" {
	run --separate-stderr -2 apphub apps show nope-nope
	assert_stdout_empty
	assert_stderr "apphub: app 'nope-nope' not found"
	run --separate-stderr -2 apphub apps show nope-nope --json
	assert_stdout_empty
}

# ---------------------------------------------------------------- rm

@test "rm: deletes the app and its tag links, prints nothing, app.removed" {
	add_app rm-me --tag only:here --tag shared:yes
	add_app keep-me --tag shared:yes
	run --separate-stderr -0 apphub apps rm rm-me
	assert_stdout_empty
	assert_stderr ''
	run -2 apphub apps show rm-me
	run -0 apphub apps ls -q
	assert_output keep-me
	run -0 apphub apps ls --tag only:here --json
	assert_equal "$(jq .total <<<"$output")" 0
	run -0 apphub apps tags only --json
	assert_equal "$(jq -c .data <<<"$output")" '[]'
	run -0 apphub apps tags shared --json
	assert_equal "$(jq -c '[.data[].value]' <<<"$output")" '["shared"]'
	assert_equal "$(event_types)" 'app.registered app.registered app.removed'
	run -0 apphub events --type app.removed --json
	assert_equal "$(jq -r '.data[0].subject' <<<"$output")" rm-me
}

@test "rm: removes the app's build logs, and no other app's" {
	add_app rm-logs
	add_app keep-logs
	# Build records as a build leaves them (building needs the engine: t/3400).
	sqlite3 "$(db_path)" "
		INSERT INTO builds(id, app, status, created_at)
			SELECT 'b-00000000aa01', n, 'failed', '2024-01-01T00:00:00Z' FROM apps WHERE id = 'rm-logs';
		INSERT INTO builds(id, app, status, created_at)
			SELECT 'b-00000000aa02', n, 'succeeded', '2024-01-01T00:00:00Z' FROM apps WHERE id = 'rm-logs';
		INSERT INTO builds(id, app, status, created_at)
			SELECT 'b-00000000bb01', n, 'succeeded', '2024-01-01T00:00:00Z' FROM apps WHERE id = 'keep-logs';"
	mkdir -p "$APPHUB_HOME/builds"
	for b in aa01 bb01; do echo "log of $b" >"$APPHUB_HOME/builds/b-00000000$b.log"; done
	# b-00000000aa02's log is already gone: not an error.
	run --separate-stderr -0 apphub apps rm rm-logs
	assert_stdout_empty
	assert_stderr ''
	[ ! -e "$APPHUB_HOME/builds/b-00000000aa01.log" ]
	[ -f "$APPHUB_HOME/builds/b-00000000bb01.log" ]
	assert_equal "$(sqlite3 "$(db_path)" 'SELECT group_concat(id) FROM builds')" b-00000000bb01
}

@test "rm: unknown id, exit 2" {
	run --separate-stderr -2 apphub apps rm nope-nope
	assert_stdout_empty
	assert_stderr "apphub: app 'nope-nope' not found"
}

@test "rm: the id can be registered again afterwards" {
	add_app again-app --name One
	run -0 apphub apps rm again-app
	run -0 apphub apps add https://example.com/x/again-app.git --name Two --json
	assert_equal "$(jq -r .name <<<"$output")" Two
}

# ---------------------------------------------------------------- tag

@test "tag add/rm: author tags, no text output, app.tagged" {
	add_app tag-me --tag owner:alice
	run --separate-stderr -0 apphub apps tag tag-me add lang:c framework:astro
	assert_stdout_empty
	assert_stderr ''
	run -0 apphub apps show tag-me --json
	assert_equal "$(jq -c '[.tags[] | .key + ":" + .value + "/" + .source]' <<<"$output")" \
		'["framework:astro/author","lang:c/author","owner:alice/author"]'
	run -0 apphub apps tag tag-me rm owner:alice lang:c
	assert_stdout_empty
	run -0 apphub apps show tag-me --json
	assert_equal "$(jq -c '[.tags[] | .key + ":" + .value]' <<<"$output")" '["framework:astro"]'
	run -0 apphub events --type app.tagged --json
	assert_equal "$(jq '.data | length' <<<"$output")" 2
	assert_equal "$(jq -r '[.data[].subject] | unique | join(" ")' <<<"$output")" tag-me
}

@test "tag: --json returns the app object" {
	add_app tag-json
	run -0 apphub apps tag tag-json add x:y --json
	assert_equal "$(jq -c keys_unsorted <<<"$output")" \
		'["id","name","description","repoUrl","dockerfilePath","status","metadataStrategy","tags","createdAt","updatedAt","commitSha","readme","lastIngestedAt","errorMessage","ingestAttempts"]'
	assert_equal "$(jq -c .tags <<<"$output")" '[{"key":"x","value":"y","source":"author"}]'
}

@test "tag add: an existing tag (any case) is not duplicated" {
	add_app tag-dup --tag lang:c
	run -0 apphub apps tag tag-dup add lang:c LANG:C
	run -0 apphub apps show tag-dup --json
	assert_equal "$(jq '.tags | length' <<<"$output")" 1
}

@test "tag rm: matches case-insensitively" {
	add_app tag-case --tag Lang:C
	run -0 apphub apps tag tag-case rm lang:c
	run -0 apphub apps show tag-case --json
	assert_equal "$(jq '.tags | length' <<<"$output")" 0
}

@test "tag: unknown id exit 2; invalid tag exit 1 and nothing changed" {
	run --separate-stderr -2 apphub apps tag nope-nope add a:b
	assert_stderr "apphub: app 'nope-nope' not found"
	add_app tag-val --tag a:b
	run --separate-stderr -1 apphub apps tag tag-val add c:d 'bad tag'
	assert_stdout_empty
	assert_stderr_regex '^apphub: .*tag'
	run -0 apphub apps show tag-val --json
	assert_equal "$(jq -c '[.tags[] | .key + ":" + .value]' <<<"$output")" '["a:b"]'
}

@test "tag: missing action or tags is a usage error" {
	add_app tag-use
	run -129 apphub apps tag tag-use
	run -129 apphub apps tag tag-use add
	run -129 apphub apps tag tag-use frob a:b
}

# ---------------------------------------------------------------- import

@test "import: good and bad lines, line numbers, summary, exit 1" {
	cat >"$BATS_TEST_TMPDIR/apps.jsonl" <<-'EOF'
	{"id":"imp-one","name":"Imp One","repoUrl":"https://example.com/x/one.git","tags":[{"key":"owner","value":"alice"}]}
	{"repoUrl":"https://example.com/x/Imp_Two.git","tags":["lang:c","owner:bob"],"metadataStrategy":"explicit"}

	{this is not json
	{"id":"imp-four","repoUrl":"ftp://example.com/x/four.git"}
	{"id":"Bad_Id","repoUrl":"https://example.com/x/five.git"}
	{"id":"imp-six","repoUrl":"https://example.com/x/six.git","dockerfilePath":"svc/Dockerfile.api","description":"six"}
	{"name":"no repo"}
	EOF
	run --separate-stderr -1 apphub apps import "$BATS_TEST_TMPDIR/apps.jsonl"
	assert_output 'imported 3, failed 4'
	assert_equal "${#stderr_lines[@]}" 4
	assert_regex "${stderr_lines[0]}" '^apphub: line 4: .+'
	assert_regex "${stderr_lines[1]}" '^apphub: line 5: .*repoUrl'
	assert_regex "${stderr_lines[2]}" '^apphub: line 6: .*id'
	assert_regex "${stderr_lines[3]}" '^apphub: line 8: .*repoUrl'

	run -0 apphub apps ls -q --sort name
	assert_equal "$(tr '\n' ' ' <<<"$output")" 'imp-one imp-six imp-two '
	run -0 apphub apps show imp-two --json
	assert_equal "$(jq -c '[.name,.metadataStrategy,[.tags[]|.key+":"+.value+"/"+.source]]' <<<"$output")" \
		'["imp-two","explicit",["lang:c/author","owner:bob/author"]]'
	run -0 apphub apps show imp-six --json
	assert_equal "$(jq -c '[.dockerfilePath,.description,.status]' <<<"$output")" '["svc/Dockerfile.api","six","pending"]'
	run -0 apphub apps show imp-one --json
	assert_equal "$(jq -c '[.name,.tags]' <<<"$output")" '["Imp One",[{"key":"owner","value":"alice","source":"author"}]]'
}

@test "import --json: summary object with errors, exit 1" {
	printf '%s\n' '{"repoUrl":"https://example.com/x/json-one.git"}' '[1,2]' \
		'{"repoUrl":"https://example.com/x/json-two.git","tags":["bad tag"]}' >"$BATS_TEST_TMPDIR/a.jsonl"
	run --separate-stderr -1 apphub apps import "$BATS_TEST_TMPDIR/a.jsonl" --json
	assert_equal "$(jq -c keys_unsorted <<<"$output")" '["imported","failed","errors"]'
	assert_equal "$(jq -c '[.imported,.failed,[.errors[].line]]' <<<"$output")" '[1,2,[2,3]]'
	assert_equal "$(jq -c '.errors[0] | keys_unsorted' <<<"$output")" '["line","message"]'
	assert_regex "$(jq -r '.errors[1].message' <<<"$output")" 'tag'
	run -0 apphub apps ls -q
	assert_output json-one
}

@test "import: all good, from stdin, exit 0" {
	run --separate-stderr -0 apphub apps import - <<-'EOF'
	{"repoUrl":"https://example.com/x/stdin-one.git"}

	{"repoUrl":"https://example.com/x/stdin-two.git","name":"Two"}
	EOF
	assert_output 'imported 2, failed 0'
	assert_stderr ''
	run -0 apphub apps import --json - <<<''
	assert_equal "$(jq -c . <<<"$output")" '{"imported":0,"failed":0,"errors":[]}'
	run -0 apphub apps ls --json
	assert_equal "$(jq .total <<<"$output")" 2
}

@test "import: -q prints nothing on success" {
	printf '%s\n' '{"repoUrl":"https://example.com/x/q-one.git"}' >"$BATS_TEST_TMPDIR/q.jsonl"
	run --separate-stderr -0 apphub -q apps import "$BATS_TEST_TMPDIR/q.jsonl"
	assert_stdout_empty
}

@test "import: existing id fails that line without --update; --update updates" {
	add_app imp-exist --name Old --tag owner:alice
	printf '%s\n' '{"id":"imp-exist","repoUrl":"https://example.com/x/imp-exist.git","name":"New"}' \
		'{"id":"imp-fresh","repoUrl":"https://example.com/x/imp-fresh.git"}' >"$BATS_TEST_TMPDIR/u.jsonl"
	run --separate-stderr -1 apphub apps import "$BATS_TEST_TMPDIR/u.jsonl"
	assert_output 'imported 1, failed 1'
	assert_stderr_regex "^apphub: line 1: .*already exists"
	run -0 apphub apps show imp-exist --json
	assert_equal "$(jq -r .name <<<"$output")" Old

	run --separate-stderr -1 apphub apps import "$BATS_TEST_TMPDIR/u.jsonl"
	assert_output 'imported 0, failed 2'

	run --separate-stderr -0 apphub apps import --update "$BATS_TEST_TMPDIR/u.jsonl"
	assert_output 'imported 2, failed 0'
	run -0 apphub apps show imp-exist --json
	assert_equal "$(jq -c '[.name,[.tags[]|.key+":"+.value]]' <<<"$output")" '["New",["owner:alice"]]'
	run -0 apphub events --type app.updated --json
	assert_equal "$(jq -r '[.data[].subject] | join(" ")' <<<"$output")" 'imp-exist imp-fresh'
}

@test "import: duplicate id within one file, second line fails" {
	printf '%s\n' '{"id":"twice-app","repoUrl":"https://example.com/x/a.git","name":"A"}' \
		'{"id":"twice-app","repoUrl":"https://example.com/x/b.git","name":"B"}' >"$BATS_TEST_TMPDIR/d.jsonl"
	run --separate-stderr -1 apphub apps import "$BATS_TEST_TMPDIR/d.jsonl"
	assert_output 'imported 1, failed 1'
	assert_stderr_regex '^apphub: line 2: '
	run -0 apphub apps show twice-app --json
	assert_equal "$(jq -r .name <<<"$output")" A
}

@test "import: imported apps are found by name, description and tag words" {
	printf '%s\n' '{"id":"fts-one","repoUrl":"https://example.com/x/f1.git","name":"Zebra Planner","description":"Tracks quokkas","tags":["Owner:Ximena"]}' \
		'{"id":"fts-two","repoUrl":"https://example.com/x/f2.git","tags":["owner:ximena"]}' \
		'{"id":"fts-two","repoUrl":"https://example.com/x/f2.git","name":"Yak Board","tags":["colour:teal"]}' \
		>"$BATS_TEST_TMPDIR/f.jsonl"
	run --separate-stderr -0 apphub apps import --update "$BATS_TEST_TMPDIR/f.jsonl"
	assert_output 'imported 3, failed 0'
	run -0 apphub -q apps search zebr
	assert_output fts-one
	run -0 apphub -q apps search quokka
	assert_output fts-one
	run -0 apphub -q apps search ximen
	assert_output fts-one
	# The second line updated the app the first created in the same batch.
	run -0 apphub -q apps search yak tea
	assert_output fts-two
	run -0 apphub -q apps search fts two
	assert_output ''
	assert_equal "$("$BATS_TEST_DIRNAME/helper/test-tool" sql "$APPHUB_HOME/apphub.db" "INSERT INTO apps_fts(apps_fts) VALUES('integrity-check'); SELECT count(*) FROM apps_fts")" 2
	# Links made in bulk are counted once each, the replaced one counted out.
	assert_equal "$(sqlite3 "$APPHUB_HOME/apphub.db" "SELECT key, value, app_count FROM tags t
		WHERE app_count != (SELECT count(*) FROM app_tags WHERE tag = t.n) OR key = 'owner'")" 'Owner|Ximena|1'
	run -0 apphub -q apps ls --tag colour:teal
	assert_output fts-two
}

@test "import: more than one batch (10500 lines) all imported, one event each" {
	seq 1 10500 | awk '{ printf "{\"id\":\"bulk-%05d\",\"repoUrl\":\"https://example.com/x/b%d.git\",\"tags\":[\"n:%d\"]}\n", $1, $1, $1 % 7 }' \
		>"$BATS_TEST_TMPDIR/bulk.jsonl"
	run -0 apphub apps import "$BATS_TEST_TMPDIR/bulk.jsonl"
	assert_output 'imported 10500, failed 0'
	run -0 apphub apps ls --json --limit 1
	assert_equal "$(jq .total <<<"$output")" 10500
	run -0 apphub apps ls --tag n:3 --json --limit 1
	assert_equal "$(jq .total <<<"$output")" 1500
	run -0 apphub events --type app.registered --limit 1 --json
	assert_equal "$(jq -c '[.data[] | [.id, .subject]]' <<<"$output")" '[[10500,"bulk-10500"]]'
	assert_equal "$(sqlite3 "$APPHUB_HOME/apphub.db" "SELECT count(*) FROM work WHERE kind = 'ingest'")" 10500
}

@test "import: a bad line in a later batch does not lose the others" {
	{
		seq 1 10100 | awk '{ printf "{\"id\":\"late-%05d\",\"repoUrl\":\"https://example.com/x/l%d.git\"}\n", $1, $1 }'
		echo '{"id":"x","repoUrl":"https://example.com/x/short.git"}'
		echo '{"id":"late-last","repoUrl":"https://example.com/x/last.git"}'
	} >"$BATS_TEST_TMPDIR/late.jsonl"
	run --separate-stderr -1 apphub apps import "$BATS_TEST_TMPDIR/late.jsonl"
	assert_output 'imported 10101, failed 1'
	assert_stderr_regex '^apphub: line 10101: .*id'
	run -0 apphub apps ls --json --limit 1
	assert_equal "$(jq .total <<<"$output")" 10101
}

@test "import: missing file is an error, nothing imported" {
	run --separate-stderr apphub apps import "$BATS_TEST_TMPDIR/does-not-exist.jsonl"
	assert_failure
	assert [ "$status" -ne 129 ]
	assert_stdout_empty
	assert_stderr_partial does-not-exist.jsonl
}

# ---------------------------------------------------------------- more validation

@test "add: invalid name / description name the field, exit 1, nothing written" {
	local n201 d2001
	n201=$(printf 'n%.0s' {1..201})
	d2001=$(printf 'd%.0s' {1..2001})
	run --separate-stderr -1 apphub apps add https://example.com/x/val-app.git --name ''
	assert_stderr_regex '^apphub: invalid name'
	run --separate-stderr -1 apphub apps add https://example.com/x/val-app.git --name $'two\nlines'
	assert_stderr_regex '^apphub: invalid name'
	run --separate-stderr -1 apphub apps add https://example.com/x/val-app.git --name $'bell\a'
	assert_stderr_regex '^apphub: invalid name'
	run --separate-stderr -1 apphub apps add https://example.com/x/val-app.git --name "$n201"
	assert_stderr_regex '^apphub: invalid name'
	run --separate-stderr -1 apphub apps add https://example.com/x/val-app.git --description "$d2001"
	assert_stderr_regex '^apphub: invalid description'
	run --separate-stderr -1 apphub apps add https://example.com/x/val-app.git --description $'nul\x01'
	assert_stderr_regex '^apphub: invalid description'
	expect_no_apps
	# the limits themselves are fine
	run -0 apphub apps add https://example.com/x/val-app.git --name "${n201:1}" --description "${d2001:1}" --json
	assert_equal "$(jq -c '[(.name | length), (.description | length)]' <<<"$output")" '[200,2000]'
}

@test "add: names with quotes, backslashes and UTF-8 round-trip through --json" {
	local name='Quo"te \back / Ünïcødé ☃'
	run -0 apphub apps add https://example.com/x/esc-app.git --name "$name" --description 'a "b" \c' --json
	assert_equal "$(jq -r .name <<<"$output")" "$name"
	run -0 apphub apps show esc-app --json
	assert_equal "$(jq -r .name <<<"$output")" "$name"
	assert_equal "$(jq -r .description <<<"$output")" 'a "b" \c'
	run -0 apphub apps ls --json
	assert_equal "$(jq -r '.data[0].name' <<<"$output")" "$name"
	run -0 apphub events --json
	assert_equal "$(jq -r '.data[0].subject' <<<"$output")" esc-app
}

@test "import: errors are reported in line order" {
	printf '%s\n' \
		'{"repoUrl":"ftp://example.com/x/one.git"}' \
		'{broken' \
		'{"repoUrl":"https://example.com/x/ok-three.git"}' \
		'{"repoUrl":"https://example.com/x/four.git","id":"Bad"}' \
		'not json either' >"$BATS_TEST_TMPDIR/order.jsonl"
	run --separate-stderr -1 apphub apps import "$BATS_TEST_TMPDIR/order.jsonl" --json
	assert_equal "$(jq -c '[.imported, .failed, [.errors[].line]]' <<<"$output")" '[1,4,[1,2,4,5]]'
	assert_equal "${#stderr_lines[@]}" 4
	assert_regex "${stderr_lines[0]}" '^apphub: line 1: '
	assert_regex "${stderr_lines[1]}" '^apphub: line 2: '
	assert_regex "${stderr_lines[2]}" '^apphub: line 4: '
	assert_regex "${stderr_lines[3]}" '^apphub: line 5: '
}

@test "import: field validation names the field" {
	printf '%s\n' \
		'{"repoUrl":"https://example.com/x/f-one.git","metadataStrategy":"bogus"}' \
		'{"repoUrl":"https://example.com/x/f-two.git","name":5}' \
		'{"repoUrl":"https://example.com/x/f-three.git","tags":"k:v"}' \
		'{"repoUrl":"https://example.com/x/f-four.git","tags":[{"key":"k"}]}' \
		'{"repoUrl":"https://example.com/x/f-five.git","dockerfilePath":"../Dockerfile"}' \
		'{"repoUrl":"https://example.com/x/f-six.git","description":["x"]}' >"$BATS_TEST_TMPDIR/f.jsonl"
	run --separate-stderr -1 apphub apps import "$BATS_TEST_TMPDIR/f.jsonl" --json
	assert_equal "$(jq -c '[.imported, .failed]' <<<"$output")" '[0,6]'
	assert_regex "$(jq -r '.errors[] | select(.line == 1) | .message' <<<"$output")" metadataStrategy
	assert_regex "$(jq -r '.errors[] | select(.line == 2) | .message' <<<"$output")" name
	assert_regex "$(jq -r '.errors[] | select(.line == 3) | .message' <<<"$output")" tag
	assert_regex "$(jq -r '.errors[] | select(.line == 4) | .message' <<<"$output")" tag
	assert_regex "$(jq -r '.errors[] | select(.line == 5) | .message' <<<"$output")" dockerfilePath
	assert_regex "$(jq -r '.errors[] | select(.line == 6) | .message' <<<"$output")" description
	expect_no_apps
}

@test "import: whitespace-only lines are blank; CRLF line ends accepted" {
	printf '%s\r\n' '{"repoUrl":"https://example.com/x/crlf-one.git"}' '   ' \
		'{"repoUrl":"https://example.com/x/crlf-two.git"}' >"$BATS_TEST_TMPDIR/crlf.jsonl"
	printf '\t\n' >>"$BATS_TEST_TMPDIR/crlf.jsonl"
	printf '%s' '{"repoUrl":"https://example.com/x/no-newline.git"}' >>"$BATS_TEST_TMPDIR/crlf.jsonl"
	run --separate-stderr -0 apphub apps import "$BATS_TEST_TMPDIR/crlf.jsonl"
	assert_output 'imported 3, failed 0'
	run -0 apphub apps ls -q --sort name
	assert_equal "$(tr '\n' ' ' <<<"$output")" 'crlf-one crlf-two no-newline '
}
