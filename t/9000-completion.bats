#!/usr/bin/env bats
#
# Shell completion: completions/apphub.bash run in bash, the way readline
# calls it (COMP_WORDS split at COMP_WORDBREAKS, COMP_LINE, COMP_POINT), and
# completions/_apphub driven in a real interactive zsh when zsh is installed.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup_file() {
	export PATH="$BATS_TEST_DIRNAME/..:$PATH"
	export APPHUB_HOME="$BATS_FILE_TMPDIR/state"
	unset XDG_STATE_HOME APPHUB_EXEC_PATH
	apphub -q apps add https://example.com/r/alpha-app.git --id alpha-app \
		--tag framework:nextjs --tag language:typescript --tag owner:web-team
	apphub -q apps add https://example.com/r/beta-site.git --id beta-site \
		--tag framework:astro --tag category:demo
	apphub -q apps add https://example.com/r/gamma-tool.git --id gamma-tool \
		--tag runtime:node18 --tag owner:ops
}

setup() {
	PATH="$BATS_TEST_DIRNAME/..:$PATH"
	export PATH
	export APPHUB_HOME="$BATS_FILE_TMPDIR/state"
	unset XDG_STATE_HOME APPHUB_EXEC_PATH
	export LC_ALL=C
	COMPLETIONS="$BATS_TEST_DIRNAME/../completions"
	# shellcheck source=../completions/apphub.bash
	source "$COMPLETIONS/apphub.bash"
	COMP_WORDBREAKS=$' \t\n"\'><=;|&(:'
}

# comp LINE [POINT]
# Completes LINE with the cursor at POINT (default: the end), splitting the
# words as bash does: at blanks, and each character of COMP_WORDBREAKS that
# is not a blank is a word of its own.  Leaves the result in COMPREPLY and
# prints it, one per line, into $output.
comp() {
	local line=$1 point=${2:-${#1}} ch tok= i cword=-1
	COMP_LINE=$line
	COMP_POINT=$point
	COMP_WORDS=()
	for ((i = 0; i < ${#line}; i++)); do
		ch=${line:i:1}
		((i == point && cword < 0)) && cword=${#COMP_WORDS[@]}
		if [[ $ch == [[:blank:]] ]]; then
			[[ -n $tok ]] && COMP_WORDS+=("$tok")
			tok=
		elif [[ $COMP_WORDBREAKS == *"$ch"* ]]; then
			[[ -n $tok ]] && COMP_WORDS+=("$tok")
			tok=
			COMP_WORDS+=("$ch")
		else
			tok+=$ch
		fi
	done
	if [[ -n $tok ]]; then
		COMP_WORDS+=("$tok")
	elif [[ $line == *[[:blank:]] ]]; then
		COMP_WORDS+=("")
	fi
	((cword < 0)) && cword=$((${#COMP_WORDS[@]} - 1))
	COMP_CWORD=$cword
	COMPREPLY=()
	_apphub apphub "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	output=$(printf '%s\n' "${COMPREPLY[@]}")
}

# has WORD: COMPREPLY holds WORD.
has() {
	local w
	for w in "${COMPREPLY[@]}"; do
		[[ $w == "$1" ]] && return 0
	done
	fail "COMPREPLY lacks '$1': (${COMPREPLY[*]})"
}

# only WORD...: COMPREPLY is exactly WORD..., in any order.
only() {
	local want got
	want=$(printf '%s\n' "$@" | sort)
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort)
	[[ $want == "$got" ]] ||
		fail "COMPREPLY is (${COMPREPLY[*]}), expected ($*)"
}

@test "bash: the function is registered for apphub" {
	run complete -p apphub
	assert_success
	assert_output --partial '-F _apphub'
}

@test "bash: commands come from apphub --list-cmds" {
	comp 'apphub '
	local cmd
	for cmd in $(apphub --list-cmds); do
		has "$cmd"
	done
	has apps
	has events
	comp 'apphub ev'
	only events
	comp 'apphub -C /tmp --json a'
	only apps
}

@test "bash: commands fall back to a static list without the binary" {
	PATH=/usr/bin:/bin
	comp 'apphub '
	has apps
	has events
	has help
}

@test "bash: global options" {
	comp 'apphub -'
	has -C
	has --json
	has -q
	has --version
	has --help
	comp 'apphub --v'
	only --version
}

@test "bash: -C completes directories" {
	mkdir -p "$BATS_TEST_TMPDIR/hubdir"
	comp "apphub -C $BATS_TEST_TMPDIR/hub"
	only "$BATS_TEST_TMPDIR/hubdir"
}

@test "bash: apps verbs" {
	comp 'apphub apps '
	only ls add import show history retry rm search tags tag
	comp 'apphub apps s'
	only show search
	comp 'apphub --json apps t'
	only tags tag
}

@test "bash: launch verbs, options, values and app ids" {
	comp 'apphub launch s'
	only start show stop
	comp 'apphub launch --net'
	only --network
	comp 'apphub launch --network '
	only loopback none
	comp 'apphub launch ls --status r'
	only running
	comp 'apphub launch logs --f'
	only --follow
	comp 'apphub launch start be'
	only beta-site
}

@test "bash: options per verb" {
	comp 'apphub apps search --s'
	only --sort --status
	comp 'apphub apps ls --'
	has --tag
	has --limit
	has --offset
	has --weights
	has --json
	comp 'apphub apps add --'
	has --id
	has --name
	has --description
	has --dockerfile
	has --tag
	has --explicit
	has --update
	comp 'apphub apps add --e'
	only --explicit
	comp 'apphub apps import --u'
	only --update
	comp 'apphub apps tags --l'
	only --limit
	comp 'apphub events --'
	has --since
	has --type
	has --limit
	has --follow
	has --json
}

@test "bash: option values" {
	comp 'apphub apps ls --sort '
	only relevance updated name
	comp 'apphub apps search --status p'
	only pending processing
	comp 'apphub events --type app.r'
	only app.registered app.removed
}

@test "bash: tag keys: fr -> framework: (no space after a key)" {
	comp 'apphub apps search fr'
	only framework:
	comp 'apphub apps ls o'
	only owner:
	comp 'apphub apps search dash fr'
	only framework:
}

@test "bash: pairs: framework:n -> framework:nextjs, ':' in COMP_WORDBREAKS" {
	# bash splits `framework:n` into `framework` `:` `n` and replaces only
	# the part after the colon.
	comp 'apphub apps search framework:n'
	[ "${COMP_WORDS[COMP_CWORD]}" = n ]
	only nextjs
	comp 'apphub apps search framework:'
	only astro nextjs
	comp 'apphub apps search owner:w'
	only web-team
}

@test "bash: pairs: framework:n -> framework:nextjs, ':' not a word break" {
	COMP_WORDBREAKS=${COMP_WORDBREAKS//:/}
	comp 'apphub apps search framework:n'
	[ "${COMP_WORDS[COMP_CWORD]}" = framework:n ]
	only framework:nextjs
	comp 'apphub apps search framework:'
	only framework:astro framework:nextjs
}

@test "bash: --tag completes keys and pairs for ls and search" {
	comp 'apphub apps ls --tag fr'
	only framework:
	comp 'apphub apps search --tag framework:a'
	only astro
	COMP_WORDBREAKS=${COMP_WORDBREAKS//:/}
	comp 'apphub apps ls --tag framework:a'
	only framework:astro
}

@test "bash: apps tags PREFIX completes keys and pairs" {
	comp 'apphub apps tags lan'
	only language:
}

@test "bash: app ids for show, rm and tag" {
	comp 'apphub apps show '
	only alpha-app beta-site gamma-tool
	comp 'apphub apps rm b'
	only beta-site
	comp 'apphub apps tag g'
	only gamma-tool
}

@test "bash: apps tag ID add|rm completes the action, then tags" {
	comp 'apphub apps tag alpha-app '
	only add rm
	comp 'apphub apps tag alpha-app add ca'
	only category:
	comp 'apphub apps tag alpha-app rm framework:n'
	only nextjs
}

@test "bash: the completion runs against the -C directory" {
	local other="$BATS_TEST_TMPDIR/other"
	apphub -C "$other" -q apps add https://example.com/r/delta-only.git \
		--id delta-only --tag flavour:vanilla
	comp "apphub -C $other apps show "
	only delta-only
	comp "apphub -C $other apps search fl"
	only flavour:
	comp "apphub -C $other apps search flavour:v"
	only vanilla
	# Without -C: the default state.
	comp 'apphub apps search fl'
	only
}

@test "bash: the word at the cursor, not the end of the line" {
	local line='apphub apps sea framework:nextjs'
	comp "$line" 15
	only search
}

@test "bash: apphub-apps completes as apphub apps" {
	comp 'apphub-apps s'
	only show search
	comp 'apphub-apps search fr'
	only framework:
}

@test "bash: jobs verbs, options and their values" {
	comp 'apphub jobs '
	only ls init package keygen trust test publish show rm run runs logs cancel work
	comp 'apphub jobs r'
	only rm run runs
	comp 'apphub jobs init --'
	has --runtime
	has --slug
	comp 'apphub jobs init --runtime '
	only node python exec
	comp 'apphub jobs package --'
	has --force
	has --out
	has --key
	comp 'apphub jobs keygen --'
	has --out
	has --force
	comp 'apphub jobs test --in'
	only --input-json --input
	comp 'apphub jobs trust --n'
	only --name
	comp 'apphub jobs run --'
	has --param
	has --input-json
	has --detach
	has --timeout
	comp 'apphub jobs runs --'
	has --status
	has --limit
	has --json
	comp 'apphub jobs runs --status '
	only pending running succeeded failed canceled timeout
	comp 'apphub jobs runs --status c'
	only canceled
	comp 'apphub jobs logs --f'
	only --follow
	comp 'apphub jobs work --w'
	only --watch
}

@test "bash: jobs DIR, TGZ and key files" {
	mkdir -p "$BATS_TEST_TMPDIR/bundle-dir"
	touch "$BATS_TEST_TMPDIR/bundle-1.0.0.tgz" "$BATS_TEST_TMPDIR/key.pem"
	comp "apphub jobs init $BATS_TEST_TMPDIR/bun"
	only "$BATS_TEST_TMPDIR/bundle-dir"
	comp "apphub jobs package $BATS_TEST_TMPDIR/bun"
	only "$BATS_TEST_TMPDIR/bundle-dir"
	comp "apphub jobs test $BATS_TEST_TMPDIR/bun"
	only "$BATS_TEST_TMPDIR/bundle-dir"
	comp "apphub jobs publish $BATS_TEST_TMPDIR/bun"
	only "$BATS_TEST_TMPDIR/bundle-dir" "$BATS_TEST_TMPDIR/bundle-1.0.0.tgz"
	comp "apphub jobs package --key $BATS_TEST_TMPDIR/k"
	only "$BATS_TEST_TMPDIR/key.pem"
	comp "apphub jobs package --out $BATS_TEST_TMPDIR/bun"
	only "$BATS_TEST_TMPDIR/bundle-dir"
	comp "apphub jobs test --input $BATS_TEST_TMPDIR/k"
	only "$BATS_TEST_TMPDIR/key.pem"
}

# jobs_fixture: alpha-job 0.1.0 and 1.1.0 and beta-job 0.1.0 published, and
# one run of alpha-job queued, once for the file; RUN_ID is the run's id.
jobs_fixture() {
	[[ -x $BATS_TEST_DIRNAME/../apphub-jobs ]] || skip 'apphub-jobs is not built'
	local d=$BATS_FILE_TMPDIR/jobs
	if [[ ! -s $d/run-id ]]; then
		rm -rf "$d"
		mkdir -p "$d"
		apphub -q jobs init --runtime exec --slug alpha-job "$d/alpha"
		apphub -q jobs publish "$d/alpha"
		jq '.version = "1.1.0"' "$d/alpha/manifest.json" >"$d/manifest.json"
		mv "$d/manifest.json" "$d/alpha/manifest.json"
		apphub -q jobs publish "$d/alpha"
		apphub -q jobs init --runtime exec --slug beta-job "$d/beta"
		apphub -q jobs publish "$d/beta"
		apphub --json jobs run alpha-job@0.1.0 --detach | jq -r .id >"$d/run-id.tmp"
		mv "$d/run-id.tmp" "$d/run-id"
	fi
	RUN_ID=$(cat "$d/run-id")
	[[ $RUN_ID =~ ^r-[0-9a-f]{12}$ ]] || fail "no run id: '$RUN_ID'"
}

@test "bash: job slugs, SLUG@VERSION and run ids" {
	jobs_fixture
	comp 'apphub jobs show '
	only alpha-job beta-job "$RUN_ID"
	comp 'apphub jobs run a'
	only alpha-job
	comp 'apphub jobs runs b'
	only beta-job
	comp 'apphub jobs show alpha-job@'
	only alpha-job@0.1.0 alpha-job@1.1.0
	comp 'apphub jobs run alpha-job@1.1'
	only alpha-job@1.1.0
	# rm needs a version: SLUG@, with no space after it.
	comp 'apphub jobs rm a'
	only alpha-job@
	comp 'apphub jobs logs r-'
	only "$RUN_ID"
	comp 'apphub jobs cancel '
	only "$RUN_ID"
	comp 'apphub jobs show r-'
	only "$RUN_ID"
}

@test "bash: SLUG@VERSION with '@' in COMP_WORDBREAKS, as bash has it" {
	jobs_fixture
	COMP_WORDBREAKS+=@
	# bash replaces only what follows the '@'.
	comp 'apphub jobs show alpha-job@'
	only 0.1.0 1.1.0
	comp 'apphub jobs rm alpha-job@0.1'
	[ "${COMP_WORDS[COMP_CWORD]}" = 0.1 ]
	only 0.1.0
	comp 'apphub jobs rm be'
	only beta-job@
}

@test "bash: workflow verbs, options and their values" {
	comp 'apphub workflow '
	only ls add show rm run runs cancel schedule tick assets work
	comp 'apphub workflow r'
	only rm run runs
	comp 'apphub workflow s'
	only show schedule
	comp 'apphub workflow show --'
	has --version
	has --dot
	has --json
	comp 'apphub workflow run --'
	has --param
	has --parameters-json
	has --run-key
	has --detach
	has --follow
	comp 'apphub workflow run --d'
	only --detach
	comp 'apphub workflow runs --'
	has --status
	has --limit
	comp 'apphub workflow runs --status '
	only pending running succeeded failed canceled
	comp 'apphub workflow runs --status c'
	only canceled
	comp 'apphub workflow tick --'
	has --now
	comp 'apphub workflow work -'
	has -j
	has --jobs
	has --watch
	comp 'apphub workflow work --w'
	only --watch
}

@test "bash: workflow schedule: sub-verbs, options, cron macros and time zones" {
	comp 'apphub workflow schedule some-flow '
	only ls add pause resume rm
	comp 'apphub workflow schedule some-flow r'
	only resume rm
	comp 'apphub workflow schedule some-flow --'
	has --now
	comp 'apphub workflow schedule some-flow add nightly --'
	has --cron
	has --timezone
	has --start
	has --end
	has --catch-up
	has --param
	has --parameters-json
	comp 'apphub workflow schedule some-flow add nightly --c'
	only --cron --catch-up
	comp 'apphub workflow schedule some-flow add nightly --cron @d'
	only @daily
	comp 'apphub workflow schedule some-flow add nightly --timezone Europe/Berl'
	only Europe/Berlin
	comp 'apphub workflow schedule some-flow add nightly --timezone UT'
	has UTC
	# A value is no operand: the new schedule's name takes nothing.
	comp 'apphub workflow schedule some-flow add nightly --timezone UTC '
	only
}

@test "bash: workflow add completes files and -" {
	touch "$BATS_TEST_TMPDIR/flow.yaml" "$BATS_TEST_TMPDIR/flow.json"
	comp "apphub workflow add $BATS_TEST_TMPDIR/fl"
	only "$BATS_TEST_TMPDIR/flow.json" "$BATS_TEST_TMPDIR/flow.yaml"
	comp 'apphub workflow add -'
	has -
}

# workflow_fixture: the jobs of jobs_fixture, the workflows alpha-flow (with
# the schedules nightly and hourly) and beta-flow, and one run of alpha-flow
# queued, once for the file; WF_RUN_ID is the run's id.
workflow_fixture() {
	jobs_fixture
	local d=$BATS_FILE_TMPDIR/workflows
	if [[ ! -s $d/run-id ]]; then
		rm -rf "$d"
		mkdir -p "$d"
		cat >"$d/alpha.yaml" <<-'EOF'
			slug: alpha-flow
			schedules:
			  - name: nightly
			    cron: "0 2 * * *"
			    timezone: Europe/Berlin
			steps:
			  - id: one
			    jobSlug: alpha-job
		EOF
		cat >"$d/beta.json" <<-'EOF'
			{"slug": "beta-flow", "steps": [{"id": "one", "jobSlug": "beta-job"}]}
		EOF
		apphub -q workflow add "$d/alpha.yaml"
		apphub -q workflow add "$d/beta.json"
		apphub -q workflow schedule alpha-flow add hourly --cron '@hourly'
		apphub --json workflow run alpha-flow --detach | jq -r .id >"$d/run-id.tmp"
		mv "$d/run-id.tmp" "$d/run-id"
	fi
	WF_RUN_ID=$(cat "$d/run-id")
	[[ $WF_RUN_ID =~ ^w-[0-9a-f]{12}$ ]] || fail "no workflow run id: '$WF_RUN_ID'"
}

@test "bash: workflow slugs, run ids and schedule names" {
	workflow_fixture
	comp 'apphub workflow run '
	only alpha-flow beta-flow
	comp 'apphub workflow rm b'
	only beta-flow
	comp 'apphub workflow runs a'
	only alpha-flow
	comp 'apphub workflow show '
	only alpha-flow beta-flow "$WF_RUN_ID"
	comp 'apphub workflow show w-'
	only "$WF_RUN_ID"
	comp 'apphub workflow show --version 1 a'
	only alpha-flow
	comp 'apphub workflow cancel '
	only "$WF_RUN_ID"
	comp 'apphub workflow schedule '
	only alpha-flow beta-flow
	comp 'apphub workflow schedule alpha-flow pause '
	only hourly nightly
	comp 'apphub workflow schedule alpha-flow resume n'
	only nightly
	comp 'apphub workflow schedule alpha-flow rm h'
	only hourly
	comp 'apphub workflow schedule beta-flow rm '
	only
	# After the name, nothing more.
	comp 'apphub workflow schedule alpha-flow rm nightly '
	only
}

@test "bash: metastore verbs and the options of each verb" {
	comp 'apphub metastore '
	only get create put patch rm purge restore search bulk audit ls index watch
	comp 'apphub metastore p'
	only put patch purge
	comp 'apphub metastore re'
	only restore
	comp 'apphub metastore get --'
	has --version
	has --json
	comp 'apphub metastore create --'
	has --metadata-json
	has --metadata-file
	has --set
	has --tag
	has --owner
	has --schema-hash
	has --idempotency-key
	comp 'apphub metastore create --e'
	only
	comp 'apphub metastore put --e'
	only --expected-version
	comp 'apphub metastore put --m'
	only --metadata-json --metadata-file
	comp 'apphub metastore patch --'
	has --metadata-json
	has --set
	has --unset
	has --tags-add
	has --tags-remove
	has --tags-set
	has --owner
	has --expected-version
	comp 'apphub metastore patch --tags-'
	only --tags-add --tags-remove --tags-set
	comp 'apphub metastore rm --'
	has --expected-version
	comp 'apphub metastore restore --'
	has --version
	has --audit
	comp 'apphub metastore search -'
	has -q
	has --filter-json
	has --sort
	has --limit
	has --offset
	has --include-deleted
	has --projection
	has --explain
	comp 'apphub metastore search --s'
	only --sort
	comp 'apphub metastore audit --'
	has --limit
	has --offset
	comp 'apphub metastore index team-a status --d'
	only --drop
	comp 'apphub metastore watch --'
	has --prefix
	has --since
}

@test "bash: metastore --sort and --projection fields" {
	comp 'apphub metastore search team-a --sort '
	only key owner schemaHash version createdAt updatedAt deletedAt tags metadata.
	comp 'apphub metastore search team-a --sort up'
	only updatedAt
	comp 'apphub metastore search team-a --sort meta'
	only metadata.
	# FIELD:asc|desc; bash replaces only what follows the ':'.
	comp 'apphub metastore search team-a --sort updatedAt:'
	only asc desc
	comp 'apphub metastore search team-a --sort createdAt:d'
	only desc
	COMP_WORDBREAKS=${COMP_WORDBREAKS//:/}
	comp 'apphub metastore search team-a --sort createdAt:d'
	only createdAt:desc
	comp 'apphub metastore search team-a --projection '
	only key owner schemaHash version createdAt updatedAt deletedAt tags metadata.
	comp 'apphub metastore search team-a --projection key,ver'
	only key,version
	comp 'apphub metastore search team-a --projection key,version,t'
	only key,version,tags
	# The apps' --sort is untouched.
	comp 'apphub apps ls --sort '
	only relevance updated name
}

@test "bash: metastore option values are not operands" {
	metastore_fixture
	# search's -q takes the query: free text, then the namespace.
	comp "apphub metastore search -q 'status:active' t"
	only team-a team-b
	comp 'apphub metastore search team-a -q '
	only
	comp 'apphub metastore get --version 2 team-a be'
	only beta-key
	comp 'apphub metastore put --expected-version 3 --set a=1 --tag x te'
	only team-a team-b
	comp 'apphub metastore patch --tags-set a,b --unset c team-a al'
	only alpha-key alpha-two
	comp 'apphub metastore restore --audit 12 team-b g'
	only gamma-key
	# A -q before the command is quiet, and takes nothing.
	comp 'apphub -q metastore search t'
	only team-a team-b
	# A record's tags are its own, not the catalogue's.
	comp 'apphub metastore create team-a k --tag fr'
	only
}

@test "bash: metastore bulk and --metadata-file complete files and -" {
	touch "$BATS_TEST_TMPDIR/ops.json" "$BATS_TEST_TMPDIR/meta.json"
	comp "apphub metastore bulk $BATS_TEST_TMPDIR/op"
	only "$BATS_TEST_TMPDIR/ops.json"
	comp 'apphub metastore bulk -'
	has -
	comp "apphub metastore create team-a k --metadata-file $BATS_TEST_TMPDIR/me"
	only "$BATS_TEST_TMPDIR/meta.json"
}

# metastore_fixture: the namespaces team-a (alpha-key, alpha-two, beta-key),
# team-b (gamma-key, "my key") and ops:prod (db:primary), once for the file.
metastore_fixture() {
	local d=$BATS_FILE_TMPDIR/metastore
	[[ -e $d/done ]] && return 0
	mkdir -p "$d"
	apphub -q metastore create team-a alpha-key --set n=1
	apphub -q metastore create team-a alpha-two --set n=2
	apphub -q metastore create team-a beta-key --metadata-json '{"n": 3}'
	apphub -q metastore create team-b gamma-key
	apphub -q metastore create team-b 'my key'
	apphub -q metastore create ops:prod db:primary
	touch "$d/done"
}

@test "bash: metastore namespaces and keys" {
	metastore_fixture
	comp 'apphub metastore get '
	only ops:prod team-a team-b
	comp 'apphub metastore search t'
	only team-a team-b
	comp 'apphub metastore create team-'
	only team-a team-b
	comp 'apphub metastore index o'
	only ops:prod
	comp 'apphub metastore get team-a '
	only alpha-key alpha-two beta-key
	comp 'apphub metastore patch team-a al'
	only alpha-key alpha-two
	for verb in rm purge restore audit watch; do
		comp "apphub metastore $verb team-a b"
		only beta-key
	done
	# A key with a blank is quoted.
	comp 'apphub metastore rm team-b m'
	only 'my\ key'
	# create and put name a new key; search, index, ls and bulk take none.
	comp 'apphub metastore create team-a '
	only
	comp 'apphub metastore put team-a a'
	only
	comp 'apphub metastore search team-a '
	only
	comp 'apphub metastore ls '
	only
	# After the key, nothing more.
	comp 'apphub metastore get team-a beta-key '
	only
}

@test "bash: metastore namespaces with ':', a word break" {
	metastore_fixture
	# bash splits `ops:p` into `ops` `:` `p` and replaces only the `p`.
	comp 'apphub metastore get ops:p'
	only prod
	comp 'apphub metastore get ops:prod db:'
	only primary
	COMP_WORDBREAKS=${COMP_WORDBREAKS//:/}
	comp 'apphub metastore get ops:p'
	only ops:prod
	comp 'apphub metastore audit ops:prod d'
	only db:primary
}

@test "bash: metastore completion runs against the -C directory" {
	local other="$BATS_TEST_TMPDIR/other"
	apphub -C "$other" -q metastore create elsewhere far-key
	comp "apphub -C $other metastore get "
	only elsewhere
	comp "apphub -C $other metastore get elsewhere "
	only far-key
}

# timestore_fixture: the datasets readings (timestamp, temp, humidity, site)
# and room-2 (ts, co2), once for the file.
timestore_fixture() {
	local d=$BATS_FILE_TMPDIR/timestore
	[[ -e $d/done ]] && return 0
	mkdir -p "$d"
	printf '%s\n' timestamp,temp,humidity,site 2026-11-01T00:00:00Z,20.5,40,north \
		2026-11-01T00:01:00Z,21,41,south >"$d/readings.csv"
	apphub -q timestore ingest readings "$d/readings.csv" >/dev/null
	printf '%s\n' '{"ts":"2026-11-01T00:00:00Z","co2":400}' >"$d/room.ndjson"
	apphub -q timestore ingest room-2 "$d/room.ndjson" \
		--schema-json '{"fields":[{"name":"ts","type":"timestamp"},{"name":"co2","type":"integer"}]}' \
		>/dev/null
	touch "$d/done"
}

@test "bash: timestore verbs and the options of each verb" {
	comp 'apphub timestore '
	only ls show ingest query partitions retention compact sql rm
	comp 'apphub timestore p'
	only partitions
	comp 'apphub timestore ingest --'
	only --format --schema-json --partition-key --idempotency-key --quiet --json --help
	comp 'apphub timestore query --'
	has --from
	has --to
	has --columns
	has --filter
	has --every
	has --agg
	has --time-column
	has --limit
	has --format
	has --explain
	comp 'apphub timestore query --e'
	only --every --explain
	comp 'apphub timestore partitions --'
	only --from --to --quiet --json --help
	comp 'apphub timestore retention --'
	only --max-age --max-bytes --apply --quiet --json --help
	comp 'apphub timestore compact --'
	only --day --quiet --json --help
	comp 'apphub timestore sql --'
	only --limit --format --quiet --json --help
	comp 'apphub timestore rm --'
	only --quiet --json --help
}

@test "bash: timestore option values" {
	comp 'apphub timestore ingest readings --format '
	only json ndjson csv
	comp 'apphub timestore query readings --format '
	only table csv json
	comp 'apphub timestore sql --format c'
	only csv
	comp 'apphub timestore query readings --every '
	only 1m 5m 15m 1h 1d 1w 1mo
	comp 'apphub timestore query readings --every 1m'
	only 1m 1mo
	comp 'apphub timestore retention readings --max-bytes '
	only none
	for opt in --from --to --limit; do
		comp "apphub timestore query readings $opt "
		only
	done
	comp 'apphub timestore compact readings --day '
	only
}

@test "bash: timestore datasets, and ingest's file" {
	timestore_fixture
	for verb in show ingest query partitions retention compact rm; do
		comp "apphub timestore $verb "
		only readings room-2
	done
	comp 'apphub timestore query r'
	only readings room-2
	comp 'apphub timestore show ro'
	only room-2
	# Option values are not operands.
	comp 'apphub timestore query --from 2026-11-01T00:00:00Z --every 1h --agg avg:temp ro'
	only room-2
	comp 'apphub -q timestore partitions --to 2026-11-02T00:00:00Z r'
	only readings room-2
	comp 'apphub timestore show readings '
	only
	comp 'apphub timestore ls '
	only
	comp 'apphub timestore sql '
	only
	touch "$BATS_TEST_TMPDIR/week.csv"
	comp "apphub timestore ingest readings $BATS_TEST_TMPDIR/we"
	only "$BATS_TEST_TMPDIR/week.csv"
	comp 'apphub timestore ingest readings -'
	has -
	comp 'apphub timestore ingest readings - '
	only
}

@test "bash: timestore query columns and aggregations" {
	timestore_fixture
	comp 'apphub timestore query readings --time-column '
	only timestamp temp humidity site
	comp 'apphub timestore query room-2 --time-column '
	only ts co2
	comp 'apphub timestore query readings --filter te'
	only temp
	comp 'apphub timestore query readings --columns '
	only timestamp temp humidity site
	comp 'apphub timestore query readings --columns temp,h'
	only temp,humidity
	comp 'apphub timestore query readings --columns temp,humidity,s'
	only temp,humidity,site
	# The dataset may come after the option: then there is nothing to read.
	comp 'apphub timestore query --columns '
	only
	comp 'apphub timestore query missing --columns '
	only
	comp 'apphub timestore query readings --agg '
	only avg: min: max: sum: median: count: count_distinct: p50: p90: p95: p99: count
	comp 'apphub timestore query readings --agg p9'
	only p90: p95: p99:
	comp 'apphub timestore query readings --agg co'
	only count: count_distinct: count
	# ':' is a word break: bash replaces what follows it.
	comp 'apphub timestore query readings --agg avg:'
	only timestamp temp humidity site
	comp 'apphub timestore query readings --every 1h --agg p95:te'
	only temp
	COMP_WORDBREAKS=${COMP_WORDBREAKS//:/}
	comp 'apphub timestore query readings --agg max:h'
	only max:humidity
	comp 'apphub timestore query room-2 --agg count_distinct:'
	only count_distinct:ts count_distinct:co2
}

@test "bash: timestore completion runs against the -C directory" {
	local other="$BATS_TEST_TMPDIR/other"
	printf '%s\n' timestamp,volts 2026-11-01T00:00:00Z,3.3 >"$BATS_TEST_TMPDIR/v.csv"
	apphub -C "$other" -q timestore ingest battery "$BATS_TEST_TMPDIR/v.csv" >/dev/null
	comp "apphub -C $other timestore query "
	only battery
	comp "apphub -C $other timestore query battery --agg min:"
	only timestamp volts
}

# zsh ----------------------------------------------------------------------

need_zsh() {
	command -v zsh >/dev/null || skip "zsh is not installed (make deps installs it)"
}

@test "zsh: _apphub parses" {
	need_zsh
	run zsh -n "$COMPLETIONS/_apphub"
	assert_success
	assert_output ''
}

@test "zsh: compinit finds and defines _apphub" {
	need_zsh
	run zsh -f -c '
		fpath=("$1" $fpath)
		autoload -Uz compinit && compinit -u -D -d "$2"
		print -r -- "$_comps[apphub]"
		autoload +X _apphub && (( $+functions[_apphub] )) && print defined' \
		zsh "$COMPLETIONS" "$BATS_TEST_TMPDIR/zcompdump"
	assert_success
	assert_line --index 0 _apphub
	assert_line --index 1 defined
}

# zsh_complete LINE...: each LINE typed into an interactive zsh, then TAB;
# prints the edited line as [BUFFER], one per LINE.
zsh_complete() {
	cat >"$BATS_TEST_TMPDIR/drive.zsh" <<'EOF'
zmodload zsh/zpty || exit 1
compdir=$1 out=$2
shift 2
zpty z 'TERM=dumb PS1= PROMPT= zsh -f -i'
# compinit's dump file must not be /dev/null: it replaces the file it is given.
zpty -w z "fpath=(${(q)compdir} \$fpath); autoload -Uz compinit; compinit -u -D -d ${(q)out}.zcompdump; setopt nobeep"
zpty -w z "_zt() { zle complete-word; print -r -- \"[\$BUFFER]\" >| ${(q)out}.tmp && mv -f ${(q)out}.tmp ${(q)out}; BUFFER=; }; zle -N _zt; bindkey '^T' _zt"
for line in "$@"; do
	rm -f $out
	zpty -w -n z "$line"$'\C-t'
	integer n=0
	while [[ ! -s $out ]] && (( n++ < 150 )); do sleep 0.1; done
	if [[ -s $out ]]; then cat $out; else print -r -- "[TIMEOUT]"; fi
done
zpty -d z
EOF
	run timeout 120 zsh -f "$BATS_TEST_TMPDIR/drive.zsh" "$COMPLETIONS" \
		"$BATS_TEST_TMPDIR/zout" "$@"
}

@test "zsh: commands, verbs, options, tag keys, pairs and ids" {
	need_zsh
	zsh -f -c 'zmodload zsh/zpty' 2>/dev/null || skip "zsh has no zpty module"
	zsh_complete \
		'apphub ev' \
		'apphub apps sea' \
		'apphub apps search --st' \
		'apphub apps search fr' \
		'apphub apps search framework:n' \
		'apphub apps ls --tag owner:w' \
		'apphub apps show be' \
		'apphub apps tag alpha-app a'
	assert_success
	assert_line --index 0 '[apphub events ]'
	assert_line --index 1 '[apphub apps search ]'
	assert_line --index 2 '[apphub apps search --status ]'
	assert_line --index 3 '[apphub apps search framework:]'
	assert_line --index 4 '[apphub apps search framework:nextjs ]'
	assert_line --index 5 '[apphub apps ls --tag owner:web-team ]'
	assert_line --index 6 '[apphub apps show beta-site ]'
	assert_line --index 7 '[apphub apps tag alpha-app add ]'
}

@test "zsh: the completion runs against the -C directory" {
	need_zsh
	zsh -f -c 'zmodload zsh/zpty' 2>/dev/null || skip "zsh has no zpty module"
	local other="$BATS_TEST_TMPDIR/other"
	apphub -C "$other" -q apps add https://example.com/r/delta-only.git \
		--id delta-only --tag flavour:vanilla
	zsh_complete "apphub -C $other apps show d" "apphub -C $other apps search flavour:"
	assert_success
	assert_line --index 0 "[apphub -C $other apps show delta-only ]"
	assert_line --index 1 "[apphub -C $other apps search flavour:vanilla ]"
}

@test "zsh: jobs verbs, options, slugs, versions and run ids" {
	need_zsh
	zsh -f -c 'zmodload zsh/zpty' 2>/dev/null || skip "zsh has no zpty module"
	jobs_fixture
	zsh_complete \
		'apphub jobs pub' \
		'apphub jobs runs --status suc' \
		'apphub jobs init --runtime py' \
		'apphub jobs run be' \
		'apphub jobs rm be' \
		'apphub jobs show beta-job@' \
		'apphub jobs logs r-'
	assert_success
	assert_line --index 0 '[apphub jobs publish ]'
	assert_line --index 1 '[apphub jobs runs --status succeeded ]'
	assert_line --index 2 '[apphub jobs init --runtime python ]'
	assert_line --index 3 '[apphub jobs run beta-job ]'
	assert_line --index 4 '[apphub jobs rm beta-job@]'
	assert_line --index 5 '[apphub jobs show beta-job@0.1.0 ]'
	assert_line --index 6 "[apphub jobs logs $RUN_ID ]"
}

@test "zsh: workflow verbs, options, slugs, run ids and schedule names" {
	need_zsh
	zsh -f -c 'zmodload zsh/zpty' 2>/dev/null || skip "zsh has no zpty module"
	workflow_fixture
	zsh_complete \
		'apphub workflow sch' \
		'apphub workflow runs --status can' \
		'apphub workflow run be' \
		'apphub workflow cancel w-' \
		'apphub workflow schedule alpha-flow resume n' \
		'apphub workflow schedule alpha-flow add x --cron @da' \
		'apphub workflow schedule alpha-flow add x --timezone Europe/Berl'
	assert_success
	assert_line --index 0 '[apphub workflow schedule ]'
	assert_line --index 1 '[apphub workflow runs --status canceled ]'
	assert_line --index 2 '[apphub workflow run beta-flow ]'
	assert_line --index 3 "[apphub workflow cancel $WF_RUN_ID ]"
	assert_line --index 4 '[apphub workflow schedule alpha-flow resume nightly ]'
	assert_line --index 5 '[apphub workflow schedule alpha-flow add x --cron @daily ]'
	assert_line --index 6 '[apphub workflow schedule alpha-flow add x --timezone Europe/Berlin ]'
}

@test "zsh: metastore verbs, options, fields, namespaces and keys" {
	need_zsh
	zsh -f -c 'zmodload zsh/zpty' 2>/dev/null || skip "zsh has no zpty module"
	metastore_fixture
	zsh_complete \
		'apphub metastore pur' \
		'apphub metastore search --inc' \
		'apphub metastore patch --tags-r' \
		'apphub metastore get op' \
		'apphub metastore rm team-a be' \
		'apphub metastore audit --limit 5 team-b ga' \
		'apphub metastore search team-a --sort upd' \
		'apphub metastore search team-a --sort updatedAt:de' \
		'apphub metastore search team-a --sort meta' \
		'apphub metastore search team-a --projection key,ver' \
		'apphub metastore search -q x te'
	assert_success
	assert_line --index 0 '[apphub metastore purge ]'
	assert_line --index 1 '[apphub metastore search --include-deleted ]'
	assert_line --index 2 '[apphub metastore patch --tags-remove ]'
	assert_line --index 3 '[apphub metastore get ops:prod ]'
	assert_line --index 4 '[apphub metastore rm team-a beta-key ]'
	assert_line --index 5 '[apphub metastore audit --limit 5 team-b gamma-key ]'
	assert_line --index 6 '[apphub metastore search team-a --sort updatedAt]'
	assert_line --index 7 '[apphub metastore search team-a --sort updatedAt:desc ]'
	assert_line --index 8 '[apphub metastore search team-a --sort metadata.]'
	assert_line --index 9 '[apphub metastore search team-a --projection key,version]'
	assert_line --index 10 '[apphub metastore search -q x team-]'
}

@test "zsh: timestore verbs, options, datasets, columns and aggregations" {
	need_zsh
	zsh -f -c 'zmodload zsh/zpty' 2>/dev/null || skip "zsh has no zpty module"
	timestore_fixture
	zsh_complete \
		'apphub time' \
		'apphub timestore par' \
		'apphub timestore query --exp' \
		'apphub timestore retention --max-b' \
		'apphub timestore show ro' \
		'apphub timestore query readings --every 15' \
		'apphub timestore query readings --format cs' \
		'apphub timestore ingest x --format nd' \
		'apphub timestore query readings --time-column tim' \
		'apphub timestore query readings --columns temp,hu' \
		'apphub timestore query readings --agg med' \
		'apphub timestore query readings --agg p95:hu' \
		'apphub timestore query room-2 --filter c' \
		'apphub timestore query --from 2026-11-01T00:00:00Z --every 1h ro'
	assert_success
	assert_line --index 0 '[apphub timestore ]'
	assert_line --index 1 '[apphub timestore partitions ]'
	assert_line --index 2 '[apphub timestore query --explain ]'
	assert_line --index 3 '[apphub timestore retention --max-bytes ]'
	assert_line --index 4 '[apphub timestore show room-2 ]'
	assert_line --index 5 '[apphub timestore query readings --every 15m ]'
	assert_line --index 6 '[apphub timestore query readings --format csv ]'
	assert_line --index 7 '[apphub timestore ingest x --format ndjson ]'
	assert_line --index 8 '[apphub timestore query readings --time-column timestamp ]'
	assert_line --index 9 '[apphub timestore query readings --columns temp,humidity]'
	assert_line --index 10 '[apphub timestore query readings --agg median:]'
	assert_line --index 11 '[apphub timestore query readings --agg p95:humidity ]'
	assert_line --index 12 '[apphub timestore query room-2 --filter co2 ]'
	assert_line --index 13 '[apphub timestore query --from 2026-11-01T00:00:00Z --every 1h room-2 ]'
}

# fish ---------------------------------------------------------------------

@test "fish: keys, pairs and ids" {
	command -v fish >/dev/null || skip "fish is not installed"
	run fish --no-config -c '
		source $argv[1]
		complete -C"apphub apps search fr"
		complete -C"apphub apps search framework:n"
		complete -C"apphub apps show be"' "$COMPLETIONS/apphub.fish"
	assert_success
	assert_line --index 0 framework:
	assert_line --index 1 framework:nextjs
	assert_line --index 2 beta-site
}

@test "fish: job slugs, versions and run ids" {
	command -v fish >/dev/null || skip "fish is not installed"
	jobs_fixture
	run fish --no-config -c '
		source $argv[1]
		complete -C"apphub jobs run be"
		complete -C"apphub jobs show beta-job@"
		complete -C"apphub jobs rm be"
		complete -C"apphub jobs cancel r-"' "$COMPLETIONS/apphub.fish"
	assert_success
	assert_line --index 0 beta-job
	assert_line --index 1 beta-job@0.1.0
	assert_line --index 2 beta-job@
	assert_line --index 3 "$RUN_ID"
}

@test "fish: workflow slugs, run ids and schedule names" {
	command -v fish >/dev/null || skip "fish is not installed"
	workflow_fixture
	run fish --no-config -c '
		source $argv[1]
		complete -C"apphub workflow run be"
		complete -C"apphub workflow cancel w-"
		complete -C"apphub workflow schedule alpha-flow pause n"
		complete -C"apphub workflow schedule a"
		complete -C"apphub workflow runs --status can"' "$COMPLETIONS/apphub.fish"
	assert_success
	assert_line --index 0 beta-flow
	assert_line --index 1 "$WF_RUN_ID"
	assert_line --index 2 nightly
	assert_line --index 3 alpha-flow
	assert_line --index 4 $'canceled\tOnly this status'
}

@test "fish: metastore verbs, namespaces, keys and fields" {
	command -v fish >/dev/null || skip "fish is not installed"
	metastore_fixture
	run fish --no-config -c '
		source $argv[1]
		complete -C"apphub metastore pur"
		complete -C"apphub metastore get op"
		complete -C"apphub metastore rm team-a be"
		complete -C"apphub metastore audit --limit 5 team-b ga"
		complete -C"apphub metastore search team-a --sort upd"
		complete -C"apphub metastore search team-a --projection key,ver"
		complete -C"apphub metastore search -q x te"
		complete -C"apphub metastore patch --tags-r"' "$COMPLETIONS/apphub.fish"
	assert_success
	assert_line --index 0 $'purge\tDelete a record and its history for good'
	assert_line --index 1 ops:prod
	assert_line --index 2 beta-key
	assert_line --index 3 gamma-key
	assert_line --index 4 $'updatedAt\tSort by this field'
	assert_line --index 5 $'key,version\tKeep only these fields'
	assert_line --index 6 team-a
	assert_line --index 7 team-b
	assert_line --index 8 $'--tags-remove\tRemove a tag'
}

@test "fish: timestore verbs, datasets, columns and aggregations" {
	command -v fish >/dev/null || skip "fish is not installed"
	timestore_fixture
	run fish --no-config -c '
		source $argv[1]
		complete -C"apphub timestore par"
		complete -C"apphub timestore show ro"
		complete -C"apphub timestore query --from 2026-11-01T00:00:00Z --every 1h ro"
		complete -C"apphub timestore query readings --agg p9"
		complete -C"apphub timestore query readings --agg avg:hu"
		complete -C"apphub timestore query readings --columns temp,s"
		complete -C"apphub timestore query room-2 --time-column t"
		complete -C"apphub timestore query readings --every 1m"
		complete -C"apphub timestore ingest readings --format nd"
		complete -C"apphub timestore sql --format cs"' "$COMPLETIONS/apphub.fish"
	assert_success
	assert_line --index 0 $'partitions\tList the live partitions of a dataset'
	assert_line --index 1 room-2
	assert_line --index 2 room-2
	assert_line --index 3 $'p90:\tAn aggregation of each interval'
	assert_line --index 4 $'p95:\tAn aggregation of each interval'
	assert_line --index 5 $'p99:\tAn aggregation of each interval'
	assert_line --index 6 $'avg:humidity\tAn aggregation of each interval'
	assert_line --index 7 $'temp,site\tThe columns'
	assert_line --index 8 $'ts\tThe time column'
	assert_line --index 9 $'1m\tDownsample: one row an interval'
	assert_line --index 10 $'1mo\tDownsample: one row an interval'
	assert_line --index 11 $'ndjson\tThe input\'s format'
	assert_line --index 12 $'csv\tThe output'
}
