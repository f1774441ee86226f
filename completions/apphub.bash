# bash completion for apphub                              -*- shell-script -*-
#
# Source this file (or install it as
# $(datadir)/bash-completion/completions/apphub).  It does not need the
# bash-completion package.
#
# Tag keys and key:value pairs come from the binary itself:
#     apphub apps tags --limit 50 -- PREFIX
# prints one suggestion per line; keys end with ':' (no space is added after
# them), pairs are key:value.  App ids come from `apphub -q apps ls`.
# Jobs: slugs from `apphub -q jobs ls`, the versions after `SLUG@` from
# `apphub -q jobs show SLUG`, run ids from `apphub -q jobs runs`; each prints
# one a line.
# Workflows: slugs from `apphub -q workflow ls`, run ids from
# `apphub -q workflow runs`, a workflow's schedule names from
# `apphub -q workflow schedule SLUG ls`, assets from `apphub -q workflow assets`;
# time zones from $TZDIR (/usr/share/zoneinfo).
# Metastore: namespaces from `apphub -q metastore ls`, a namespace's keys from
# `apphub -q metastore search NS --limit 200 --projection key`; the fields of
# --sort and --projection are the columns and "metadata." (the metadata's
# own keys would cost a search of every record).
# Timestore: datasets from `apphub -q timestore ls`, a dataset's columns from
# the "fields" of `apphub --json timestore show DATASET` (column names are
# [A-Za-z_][A-Za-z0-9_]*, so a pattern reads them: no JSON parser needed).
# A `-C DIR` given on the command line is passed through to those calls.

# __apphub_words
# Rebuilds the words up to the cursor as the shell user sees them: bash splits
# COMP_WORDS at every character of COMP_WORDBREAKS (':' and '=' among them),
# so `framework:n` arrives as `framework` `:` `n`.  Words that touch in
# COMP_LINE are joined again.  Sets __apphub_w (array) and __apphub_cw (index
# of the current word); the current word is cut at COMP_POINT.
__apphub_words() {
	local line=${COMP_LINE:0:COMP_POINT} w
	local -i i pos=0 start ok=1
	__apphub_w=()
	__apphub_cw=0
	for ((i = 0; i <= COMP_CWORD && i < ${#COMP_WORDS[@]}; i++)); do
		w=${COMP_WORDS[i]}
		start=pos
		while [[ ${line:pos:1} == [[:space:]] ]]; do
			pos+=1
		done
		if ((i == COMP_CWORD)); then
			# The current word: whatever is left before the cursor.
			w=${line:pos}
		elif [[ ${line:pos:${#w}} != "$w" ]]; then
			ok=0
			break
		fi
		if ((i > 0 && pos == start)); then
			__apphub_w[${#__apphub_w[@]} - 1]+=$w
		else
			__apphub_w+=("$w")
		fi
		pos+=${#w}
	done
	if ((!ok)); then
		# COMP_LINE does not match COMP_WORDS (e.g. an alias): use them as given.
		__apphub_w=("${COMP_WORDS[@]:0:COMP_CWORD+1}")
	fi
	__apphub_cw=$((${#__apphub_w[@]} - 1))
	return 0
}

# __apphub_unquote WORD: strips one level of quotes and expands a leading ~.
__apphub_unquote() {
	local w=$1
	case $w in
	\'*\') w=${w:1:${#w}-2} ;;
	\"*\") w=${w:1:${#w}-2} ;;
	esac
	case $w in
	\~) w=$HOME ;;
	\~/*) w=$HOME/${w:2} ;;
	esac
	printf '%s' "$w"
}

# __apphub_run ARGS...: runs apphub with the -C of the command line, no stderr.
__apphub_run() {
	local bin=apphub
	if [[ $__apphub_bin == */* && -x $__apphub_bin ]]; then
		bin=$__apphub_bin
	fi
	"$bin" "${__apphub_cflag[@]}" "$@" 2>/dev/null </dev/null
}

# __apphub_reply WORDS...: COMPREPLY = the words that start with $cur.
__apphub_reply() {
	local w
	for w in "$@"; do
		[[ $w == "$cur"* ]] && COMPREPLY+=("$w")
	done
	return 0
}

__apphub_tags() {
	local s
	while IFS= read -r s; do
		[[ -n $s && $s == "$cur"* ]] && COMPREPLY+=("$s")
	done < <(__apphub_run apps tags --limit 50 -- "$cur")
	return 0
}

__apphub_ids() {
	local s
	while IFS= read -r s; do
		[[ -n $s && $s == "$cur"* ]] && COMPREPLY+=("$s")
	done < <(__apphub_run -q apps ls --limit 1000)
	return 0
}

__apphub_jobs() {
	local s slug
	if [[ $cur == *@* ]]; then
		# SLUG@VERSION: the versions published of SLUG.
		slug=${cur%%@*}
		while IFS= read -r s; do
			[[ -n $s && $slug@$s == "$cur"* ]] && COMPREPLY+=("$slug@$s")
		done < <(__apphub_run -q jobs show "$slug")
		return 0
	fi
	# With "version", SLUG@ (no space: the version must follow).
	while IFS= read -r s; do
		[[ -n $s && $s == "$cur"* ]] || continue
		[[ $1 == version ]] && s+=@
		COMPREPLY+=("$s")
	done < <(__apphub_run -q jobs ls)
	return 0
}

__apphub_job_runs() {
	local s
	while IFS= read -r s; do
		[[ -n $s && $s == "$cur"* ]] && COMPREPLY+=("$s")
	done < <(__apphub_run -q jobs runs)
	return 0
}

# show's operand: a job (SLUG, SLUG@VERSION) or a run.
__apphub_job_or_run() {
	__apphub_jobs
	[[ $cur == *@* ]] || __apphub_job_runs
}

# __apphub_lines ARGS...: the lines apphub ARGS prints that start with $cur.
__apphub_lines() {
	local s
	while IFS= read -r s; do
		[[ -n $s && $s == "$cur"* ]] && COMPREPLY+=("$s")
	done < <(__apphub_run "$@")
	return 0
}

__apphub_workflows() {
	__apphub_lines -q workflow ls
}

__apphub_workflow_runs() {
	__apphub_lines -q workflow runs
}

# show's operand: a workflow or a run.
__apphub_workflow_or_run() {
	__apphub_workflows
	__apphub_workflow_runs
}

__apphub_workflow_assets() {
	__apphub_lines -q workflow assets
}

# IANA time zones under $TZDIR, as Europe/Berlin (many are symbolic links);
# none of its posix/ and right/ copies.  UTC needs no file.
__apphub_timezones() {
	local dir=${TZDIR:-/usr/share/zoneinfo} z
	[[ UTC == "$cur"* ]] && COMPREPLY+=(UTC)
	[[ -d $dir ]] || return 0
	while IFS= read -r z; do
		z=${z#./}
		[[ $z != UTC && $z == [A-Z]* && $z == "$cur"* ]] && COMPREPLY+=("$z")
	done < <(cd "$dir" && find . -maxdepth 3 \( -type f -o -type l \) ! -path './posix/*' \
		! -path './right/*' ! -name '*.*' 2>/dev/null)
	return 0
}

# schedule SLUG [VERB [NAME]]: the workflow, its sub-verb, then for pause,
# resume and rm one of its schedules.
__apphub_workflow_schedule() {
	local sub=${args[1]-}
	if [[ $cur == -* ]]; then
		case $sub in
		add) __apphub_reply --cron --timezone --start --end --catch-up --param \
			--parameters-json "${common[@]}" ;;
		'' | ls) __apphub_reply --now "${common[@]}" ;;
		*) __apphub_reply "${common[@]}" ;;
		esac
		return 0
	fi
	case ${#args[@]} in
	0) __apphub_workflows ;;
	1) __apphub_reply ls add pause resume rm ;;
	2) [[ $sub == pause || $sub == resume || $sub == rm ]] &&
		__apphub_lines -q workflow schedule "${args[0]}" ls ;;
	esac
	return 0
}

__apphub_ms_namespaces() {
	__apphub_lines -q metastore ls
}

# The keys of the namespace that is the verb's first operand.
__apphub_ms_keys() {
	local ns
	ns=$(__apphub_unquote "${args[0]-}")
	[[ -n $ns ]] && __apphub_lines -q metastore search "$ns" --limit 200 --projection key
	return 0
}

# The fields a search sorts by and keeps: the columns, and "metadata." with
# no space after it (a path follows).
__apphub_ms_field_names=(key owner schemaHash version createdAt updatedAt deletedAt tags metadata.)

# --sort FIELD[:asc|desc]
__apphub_ms_sort() {
	if [[ $cur == *:* ]]; then
		local f=${cur%%:*} d
		for d in asc desc; do
			[[ $f:$d == "$cur"* ]] && COMPREPLY+=("$f:$d")
		done
		return 0
	fi
	__apphub_reply "${__apphub_ms_field_names[@]}"
	[[ ${COMPREPLY[*]} == metadata. ]] && __apphub_nospace=1
	return 0
}

# --projection F,...: the field after the last comma.
__apphub_ms_projection() {
	local pre='' f
	[[ $cur == *,* ]] && pre=${cur%,*},
	for f in "${__apphub_ms_field_names[@]}"; do
		[[ $pre$f == "$cur"* ]] && COMPREPLY+=("$pre$f")
	done
	[[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *. ]] && __apphub_nospace=1
	return 0
}

# metastore VERB NS [KEY]: a namespace, then for the verbs of one record
# its keys.
__apphub_metastore() {
	local -a opts=()
	case $verb in
	get) opts=(--version) ;;
	create) opts=(--metadata-json --metadata-file --set --tag --owner --schema-hash
		--idempotency-key) ;;
	put) opts=(--metadata-json --metadata-file --set --tag --owner --schema-hash
		--idempotency-key --expected-version) ;;
	patch) opts=(--metadata-json --set --unset --tags-add --tags-remove --tags-set --owner
		--expected-version) ;;
	rm) opts=(--expected-version) ;;
	restore) opts=(--version --audit) ;;
	search) opts=(-q --filter-json --sort --limit --offset --include-deleted --projection
		--explain) ;;
	audit) opts=(--limit --offset) ;;
	index) opts=(--drop) ;;
	watch) opts=(--prefix --since) ;;
	esac
	if [[ $cur == -* ]]; then
		__apphub_reply "${opts[@]}" "${common[@]}"
		[[ $verb == bulk && $cur == - ]] && COMPREPLY+=(-)
		return 0
	fi
	case $verb in
	ls) ;;
	bulk) ((${#args[@]} == 0)) && __apphub_files ;;
	create | put | search | index)
		((${#args[@]} == 0)) && __apphub_ms_namespaces ;;
	get | patch | rm | purge | restore | audit | watch)
		case ${#args[@]} in
		0) __apphub_ms_namespaces ;;
		1) __apphub_ms_keys ;;
		esac
		;;
	esac
	return 0
}

__apphub_ts_datasets() {
	__apphub_lines -q timestore ls
}

__apphub_ts_fns=(avg min max sum median count count_distinct p50 p90 p95 p99)

# The columns of the dataset that is the verb's first operand, one a line.
__apphub_ts_column_names() {
	local ds json
	local fields='"fields"[[:space:]]*:[[:space:]]*\[([^]]*)\]'
	local name='"name"[[:space:]]*:[[:space:]]*"([A-Za-z_][A-Za-z0-9_]*)"'
	ds=$(__apphub_unquote "${args[0]-}")
	[[ -n $ds ]] || return 0
	json=$(__apphub_run --json timestore show "$ds") || return 0
	# The first "fields" is the current schema's (schemaVersions come after).
	[[ $json =~ $fields ]] || return 0
	json=${BASH_REMATCH[1]}
	while [[ $json =~ $name ]]; do
		printf '%s\n' "${BASH_REMATCH[1]}"
		json=${json#*"${BASH_REMATCH[0]}"}
	done
	return 0
}

# --time-column, --filter: a column.
__apphub_ts_columns() {
	local c
	while IFS= read -r c; do
		[[ $c == "$cur"* ]] && COMPREPLY+=("$c")
	done < <(__apphub_ts_column_names)
	return 0
}

# --columns A,B: the column after the last comma.
__apphub_ts_column_list() {
	local pre='' c
	[[ $cur == *,* ]] && pre=${cur%,*},
	while IFS= read -r c; do
		[[ $pre$c == "$cur"* ]] && COMPREPLY+=("$pre$c")
	done < <(__apphub_ts_column_names)
	return 0
}

# --agg FN:COLUMN: the function and ':' (no space), then its column; count
# alone counts rows.
__apphub_ts_agg() {
	local f c
	if [[ $cur == *:* ]]; then
		f=${cur%%:*}
		while IFS= read -r c; do
			[[ $f:$c == "$cur"* ]] && COMPREPLY+=("$f:$c")
		done < <(__apphub_ts_column_names)
		return 0
	fi
	for f in "${__apphub_ts_fns[@]}"; do
		[[ $f: == "$cur"* ]] && COMPREPLY+=("$f:")
	done
	[[ count == "$cur"* ]] && COMPREPLY+=(count)
	return 0
}

# The value of a timestore option; fails for an option it does not know.
__apphub_ts_value() {
	case $prev in
	--format)
		if [[ $verb == ingest ]]; then
			__apphub_reply json ndjson csv
		else
			__apphub_reply table csv json
		fi
		;;
	--every) __apphub_reply 1m 5m 15m 1h 1d 1w 1mo ;;
	--agg) __apphub_ts_agg ;;
	--columns) __apphub_ts_column_list ;;
	--time-column | --filter) __apphub_ts_columns ;;
	--max-bytes) __apphub_reply none ;;
	--from | --to | --day | --max-age | --schema-json | --partition-key | \
	--idempotency-key | --limit) ;;
	*) return 1 ;;
	esac
	return 0
}

# timestore VERB DATASET [FILE]: a dataset, then for ingest a file or -.
__apphub_timestore() {
	local -a opts=()
	case $verb in
	ingest) opts=(--format --schema-json --partition-key --idempotency-key) ;;
	query) opts=(--from --to --columns --filter --every --agg --time-column --limit
		--format --explain) ;;
	partitions) opts=(--from --to) ;;
	retention) opts=(--max-age --max-bytes --apply) ;;
	compact) opts=(--day) ;;
	sql) opts=(--limit --format) ;;
	esac
	if [[ $cur == -* ]]; then
		__apphub_reply "${opts[@]}" --quiet "${common[@]}"
		[[ $verb == ingest && $cur == - && ${#args[@]} -eq 1 ]] && COMPREPLY+=(-)
		return 0
	fi
	case $verb in
	show | ingest | query | partitions | retention | compact | rm)
		case ${#args[@]} in
		0) __apphub_ts_datasets ;;
		1) [[ $verb == ingest ]] && __apphub_files ;;
		esac
		;;
	esac
	return 0
}

# __apphub_opts_or ACTION OPTION...: the verb's options (and the common
# ones) for a word starting with '-', else ACTION (a command and its
# arguments; none when empty) for the verb's one operand.
__apphub_opts_or() {
	local action=$1
	shift
	if [[ $cur == -* ]]; then
		__apphub_reply "$@" "${common[@]}"
	elif ((${#args[@]} == 0)) && [[ -n $action ]]; then
		$action
	fi
	return 0
}

__apphub_commands() {
	local -a cmds
	local s
	while IFS= read -r s; do
		[[ -n $s ]] && cmds+=("$s")
	done < <(__apphub_run --list-cmds)
	((${#cmds[@]})) || cmds=(apps events help)
	__apphub_reply "${cmds[@]}"
	return 0
}

__apphub_files() {
	local s
	while IFS= read -r s; do
		COMPREPLY+=("$s")
	done < <(compgen -f -- "$cur")
	compopt -o filenames 2>/dev/null || :
	__apphub_fn=1
	return 0
}

__apphub_dirs() {
	local s
	while IFS= read -r s; do
		COMPREPLY+=("$s")
	done < <(compgen -d -- "$cur")
	compopt -o filenames 2>/dev/null || :
	__apphub_fn=1
	return 0
}

_apphub() {
	local cur prev cmd='' verb='' w
	local -a __apphub_w __apphub_cflag=() args=()
	local -i __apphub_cw i
	local __apphub_bin __apphub_fn='' __apphub_nospace=''

	COMPREPLY=()
	__apphub_words
	cur=${__apphub_w[__apphub_cw]}
	prev=
	((__apphub_cw > 0)) && prev=${__apphub_w[__apphub_cw - 1]}
	__apphub_bin=${__apphub_w[0]}

	# Multi-call: apphub-apps is `apphub apps`.
	case ${__apphub_bin##*/} in
	apphub-?*)
		cmd=${__apphub_bin##*/apphub-}
		cmd=${cmd#apphub-}
		__apphub_bin=${__apphub_bin%-"$cmd"}
		;;
	esac

	# Global options, the command, the verb and the other words before the
	# current one.
	local -i opts_done=0
	for ((i = 1; i < __apphub_cw; i++)); do
		w=${__apphub_w[i]}
		if ((!opts_done)); then
			case $w in
			-C)
				((i + 1 < __apphub_cw)) &&
					__apphub_cflag=(-C "$(__apphub_unquote "${__apphub_w[i + 1]}")")
				i+=1
				continue
				;;
			-C?*)
				__apphub_cflag=(-C "$(__apphub_unquote "${w:2}")")
				continue
				;;
			--)
				opts_done=1
				continue
				;;
			--tag | --status | --sort | --limit | --offset | --weights | \
			--id | --name | --description | --dockerfile | --since | --type | \
			--server | --listen | --workers | --threads | --timeout | --hook-branch | \
			--allow-host | --cors-origin | --request-timeout | --max-connections | \
			--max-connections-per-ip | \
			--ref | --engine | --check | --build | --image | -e | --env | --command | \
			--port | --profile | --memory | --cpus | --cpu-time | --pids | --nofile | \
			--disk | --ttl | --network | --user | \
			--runtime | --slug | --out | --key | --input-json | --input | --param | \
			-j | --jobs | --parameters-json | --run-key | --cron | --timezone | --start | \
			--end | --now | \
			--metadata-json | --metadata-file | --set | --owner | --schema-hash | \
			--idempotency-key | --expected-version | --unset | --tags-add | \
			--tags-remove | --tags-set | --audit | --filter-json | --projection | --prefix | \
			--from | --to | --columns | --filter | --every | --agg | --time-column | \
			--format | --schema-json | --partition-key | --max-age | --max-bytes | --day)
				i+=1
				continue
				;;
			--version)
				# workflow show and metastore get --version N; the global
				# --version takes none.
				[[ $cmd == workflow || $cmd == metastore ]] && i+=1
				continue
				;;
			-q)
				# metastore search -q QUERY; elsewhere -q is quiet.
				[[ $cmd == metastore && $verb == search ]] && i+=1
				continue
				;;
			-) ;; # the standard input: an operand
			-*) continue ;;
			esac
		fi
		if [[ -z $cmd ]]; then
			cmd=$w
		elif [[ ($cmd == apps || $cmd == image) && -z $verb ]]; then
			verb=$w
		elif [[ $cmd == build && -z $verb && $w =~ ^(ls|show|logs|retry|run)$ ]]; then
			verb=$w
		elif [[ $cmd == launch && -z $verb && $w =~ ^(start|ls|show|logs|stop)$ ]]; then
			verb=$w
		elif [[ $cmd == jobs && -z $verb ]]; then
			verb=$w
		elif [[ $cmd == workflow && -z $verb ]]; then
			verb=$w
		elif [[ $cmd == metastore && -z $verb ]]; then
			verb=$w
		elif [[ $cmd == timestore && -z $verb ]]; then
			verb=$w
		else
			args+=("$w")
		fi
	done

	# The value of an option.
	if [[ $cmd == timestore ]] && __apphub_ts_value; then
		__apphub_finish
		return 0
	fi
	case $prev in
	-C)
		__apphub_dirs
		return 0
		;;
	--status)
		if [[ $cmd == launch ]]; then
			__apphub_reply pending starting running stopping stopped failed
		elif [[ $cmd == jobs ]]; then
			__apphub_reply pending running succeeded failed canceled timeout
		elif [[ $cmd == workflow ]]; then
			__apphub_reply pending running succeeded failed canceled
		else
			__apphub_reply pending processing ready failed
		fi
		return 0
		;;
	--network)
		[[ $cmd == launch ]] && __apphub_reply loopback none || __apphub_reply none host
		return 0
		;;
	--profile)
		__apphub_reply small standard large
		return 0
		;;
	--sort)
		if [[ $cmd == metastore ]]; then
			__apphub_ms_sort
			__apphub_finish
		else
			__apphub_reply relevance updated name
		fi
		return 0
		;;
	--projection)
		[[ $cmd == metastore ]] && __apphub_ms_projection && __apphub_finish
		return 0
		;;
	--metadata-file)
		__apphub_files
		[[ $cur == - ]] && COMPREPLY+=(-)
		return 0
		;;
	-q)
		# The query of metastore search: free text.
		[[ $cmd == metastore && $verb == search ]] && return 0
		;;
	--tag)
		# A metastore record's tags are its own, not the catalogue's.
		[[ $cmd == metastore ]] && return 0
		__apphub_tags
		__apphub_finish
		return 0
		;;
	--type)
		__apphub_reply 'app.*' app.registered app.updated app.removed app.tagged
		return 0
		;;
	--dockerfile | --check)
		__apphub_files
		return 0
		;;
	--engine)
		__apphub_reply native podman docker
		return 0
		;;
	--runtime)
		__apphub_reply node python exec
		return 0
		;;
	--key | --input)
		__apphub_files
		return 0
		;;
	--timezone)
		__apphub_timezones
		return 0
		;;
	--cron)
		__apphub_reply @hourly @daily @midnight @weekly @monthly @yearly @annually
		return 0
		;;
	--out)
		# package writes into a directory, keygen a key file.
		[[ $verb == package ]] && __apphub_dirs || __apphub_files
		return 0
		;;
	--ref | --cmd | --entrypoint | --env | --workdir | --creds | --chunk-size | \
	--limit | --offset | --since | --weights | --id | --name | --description | \
	--server | --listen | --workers | --threads | --timeout | --hook-branch | \
	--allow-host | --cors-origin | --request-timeout | --max-connections | \
	--max-connections-per-ip | \
	--build | --image | -e | --command | --port | --memory | --cpus | --cpu-time | \
	--pids | --nofile | --disk | --ttl | --slug | --input-json | --param | -j | --jobs | \
	--parameters-json | --run-key | --start | --end | --now | \
	--metadata-json | --set | --owner | --schema-hash | --idempotency-key | \
	--expected-version | --unset | --tags-add | --tags-remove | --tags-set | --audit | \
	--filter-json | --prefix)
		return 0
		;;
	--version)
		[[ $cmd == workflow || $cmd == metastore ]] && return 0
		;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			__apphub_reply -C --server --json -q --version -h --help
		else
			__apphub_commands
		fi
		return 0
	fi

	local -a common=(--json -q -h --help)
	case $cmd in
	help)
		((${#args[@]} == 0)) && [[ $cur != -* ]] && __apphub_commands
		;;
	events)
		[[ $cur == -* ]] && __apphub_reply --since --type --limit --follow "${common[@]}"
		;;
	gc)
		[[ $cur == -* ]] && __apphub_reply -n --dry-run "${common[@]}"
		;;
	serve)
		[[ $cur == -* ]] && __apphub_reply --listen --workers --threads --timeout --hook-branch \
			--allow-host --cors-origin --request-timeout --max-connections \
			--max-connections-per-ip -h --help
		;;
	image)
		if [[ -z $verb ]]; then
			[[ $cur == -* ]] && __apphub_reply "${common[@]}" ||
				__apphub_reply ls inspect rm import export unpack pull push build
			return 0
		fi
		case $verb in
		import) [[ $cur == -* ]] && __apphub_reply --cmd --entrypoint --env --workdir "${common[@]}" ||
			{ ((${#args[@]} == 0)) && __apphub_files; } ;;
		pull)
			[[ $prev == --platform ]] && { __apphub_reply linux/amd64 linux/arm64; return 0; }
			[[ $cur == -* ]] && __apphub_reply --name --platform --creds --insecure "${common[@]}"
			;;
		build)
			case $prev in
			--network) __apphub_reply none host; return 0 ;;
			--engine) __apphub_reply native podman docker; return 0 ;;
			--platform) __apphub_reply linux/amd64 linux/arm64; return 0 ;;
			-f | --file) __apphub_files; return 0 ;;
			-t | --tag | --build-arg | --target | --timeout) return 0 ;;
			esac
			[[ $cur == -* ]] && __apphub_reply -f --file -t --tag --build-arg --target --platform \
				--network --engine --no-cache --timeout "${common[@]}" || __apphub_dirs
			;;
		push) [[ $cur == -* ]] && __apphub_reply --creds --insecure --chunk-size "${common[@]}" ;;
		inspect | rm | export | unpack)
			if [[ $cur == -* ]]; then
				__apphub_reply "${common[@]}"
			elif ((${#args[@]} == 0)) || [[ $verb == rm ]]; then
				local s
				while IFS= read -r s; do
					[[ -n $s && $s == "$cur"* ]] && COMPREPLY+=("$s")
				done < <(__apphub_run -q image ls)
			elif [[ $verb == unpack ]]; then
				__apphub_dirs
			else
				__apphub_files
			fi
			;;
		esac
		;;
	build)
		case $verb in
		'' | run)
			if [[ $cur == -* ]]; then
				__apphub_reply -j --jobs --watch --ref --engine --check "${common[@]}"
			elif [[ -z $verb && ${#args[@]} -eq 0 ]]; then
				__apphub_reply ls show logs retry run
				__apphub_ids
			else
				__apphub_ids
			fi
			;;
		ls) [[ $cur == -* ]] && __apphub_reply --limit --offset "${common[@]}" || __apphub_ids ;;
		logs) [[ $cur == -* ]] && __apphub_reply -f --follow "${common[@]}" ;;
		*) [[ $cur == -* ]] && __apphub_reply "${common[@]}" ;;
		esac
		;;
	launch)
		case $verb in
		'' | start)
			if [[ $cur == -* ]]; then
				__apphub_reply --build --image -e --env --command --port --profile --memory \
					--cpus --cpu-time --pids --nofile --disk --ttl --network --engine --user \
					--id --no-wait "${common[@]}"
			elif [[ -z $verb && ${#args[@]} -eq 0 ]]; then
				__apphub_reply start ls show logs stop
				__apphub_ids
			elif ((${#args[@]} == 0)); then
				__apphub_ids
			fi
			;;
		ls)
			if [[ $cur == -* ]]; then
				__apphub_reply --status --limit "${common[@]}"
			elif ((${#args[@]} == 0)); then
				__apphub_ids
			fi
			;;
		logs) [[ $cur == -* ]] && __apphub_reply -f --follow "${common[@]}" ;;
		stop) [[ $cur == -* ]] && __apphub_reply --no-wait "${common[@]}" ;;
		*) [[ $cur == -* ]] && __apphub_reply "${common[@]}" ;;
		esac
		;;
	jobs)
		if [[ -z $verb ]]; then
			if [[ $cur == -* ]]; then
				# `apphub jobs` alone is `apphub jobs ls`.
				__apphub_reply "${common[@]}"
			else
				__apphub_reply ls init package keygen trust test publish show rm run runs \
					logs cancel work
			fi
			return 0
		fi
		case $verb in
		init) __apphub_opts_or __apphub_dirs --runtime --slug ;;
		package) __apphub_opts_or __apphub_dirs --force --out --key ;;
		keygen) __apphub_opts_or '' --out --force ;;
		trust) __apphub_opts_or __apphub_files --name ;;
		test) __apphub_opts_or __apphub_dirs --input-json --input ;;
		# A bundle directory or a .tgz.
		publish) __apphub_opts_or __apphub_files --key ;;
		show) __apphub_opts_or __apphub_job_or_run ;;
		# rm needs the version: SLUG@.
		rm) __apphub_opts_or '__apphub_jobs version' ;;
		run) __apphub_opts_or __apphub_jobs --param --input-json --detach --timeout ;;
		runs) __apphub_opts_or __apphub_jobs --status --limit ;;
		logs) __apphub_opts_or __apphub_job_runs -f --follow ;;
		cancel) __apphub_opts_or __apphub_job_runs ;;
		work) __apphub_opts_or '' -j --jobs --watch ;;
		*) __apphub_opts_or '' ;;
		esac
		;;
	workflow)
		if [[ -z $verb ]]; then
			if [[ $cur == -* ]]; then
				# `apphub workflow` alone is `apphub workflow ls`.
				__apphub_reply "${common[@]}"
			else
				__apphub_reply ls add show rm run runs cancel schedule tick assets work
			fi
			return 0
		fi
		case $verb in
		ls) __apphub_opts_or '' ;;
		add)
			# A file, or - for the standard input.
			__apphub_opts_or __apphub_files
			[[ $cur == - ]] && COMPREPLY+=(-)
			;;
		show) __apphub_opts_or __apphub_workflow_or_run --version --dot ;;
		rm) __apphub_opts_or __apphub_workflows ;;
		run) __apphub_opts_or __apphub_workflows --param --parameters-json --run-key --detach \
			--follow ;;
		runs) __apphub_opts_or __apphub_workflows --status --limit ;;
		cancel) __apphub_opts_or __apphub_workflow_runs ;;
		schedule) __apphub_workflow_schedule ;;
		tick) __apphub_opts_or '' --now ;;
		assets) __apphub_opts_or __apphub_workflow_assets ;;
		work) __apphub_opts_or '' -j --jobs --watch ;;
		*) __apphub_opts_or '' ;;
		esac
		;;
	metastore)
		if [[ -z $verb ]]; then
			if [[ $cur == -* ]]; then
				__apphub_reply "${common[@]}"
			else
				__apphub_reply get create put patch rm purge restore search bulk audit \
					ls index watch
			fi
			return 0
		fi
		__apphub_metastore
		;;
	timestore)
		if [[ -z $verb ]]; then
			if [[ $cur == -* ]]; then
				# `apphub timestore` alone is `apphub timestore ls`.
				__apphub_reply "${common[@]}"
			else
				__apphub_reply ls show ingest query partitions retention compact sql rm
			fi
			return 0
		fi
		__apphub_timestore
		;;
	ingest)
		if [[ $cur == -* ]]; then
			__apphub_reply -j --jobs --watch --repo "${common[@]}"
		else
			__apphub_ids
		fi
		;;
	apps)
		if [[ -z $verb ]]; then
			if [[ $cur == -* ]]; then
				# `apphub apps` alone is `apphub apps ls`.
				__apphub_reply --tag --status --sort --limit --offset --weights "${common[@]}"
			else
				__apphub_reply ls add import show history retry rm search tags tag
			fi
			return 0
		fi
		case $verb in
		ls | search)
			if [[ $cur == -* ]]; then
				__apphub_reply --tag --status --sort --limit --offset --weights "${common[@]}"
			else
				__apphub_tags
			fi
			;;
		tags)
			if [[ $cur == -* ]]; then
				__apphub_reply --limit "${common[@]}"
			elif ((${#args[@]} == 0)); then
				__apphub_tags
			fi
			;;
		add)
			if [[ $cur == -* ]]; then
				__apphub_reply --id --name --description --dockerfile --tag \
					--explicit --update "${common[@]}"
			elif ((${#args[@]} == 0)); then
				__apphub_dirs
			fi
			;;
		import)
			if [[ $cur == -* ]]; then
				__apphub_reply --update "${common[@]}"
				[[ -z ${cur#-} ]] && COMPREPLY+=(-)
			elif ((${#args[@]} == 0)); then
				__apphub_files
			fi
			;;
		history)
			if [[ $cur == -* ]]; then
				__apphub_reply --limit "${common[@]}"
			elif ((${#args[@]} == 0)); then
				__apphub_ids
			fi
			;;
		show | rm | retry)
			if [[ $cur == -* ]]; then
				__apphub_reply "${common[@]}"
			elif ((${#args[@]} == 0)); then
				__apphub_ids
			fi
			;;
		tag)
			if [[ $cur == -* ]]; then
				__apphub_reply "${common[@]}"
			elif ((${#args[@]} == 0)); then
				__apphub_ids
			elif ((${#args[@]} == 1)); then
				__apphub_reply add rm
			else
				__apphub_tags
			fi
			;;
		esac
		;;
	esac
	__apphub_finish
	return 0
}

# __apphub_finish: no space after a tag key (`framework:`) or a job's `SLUG@`
# (its version follows).  Readline replaces
# only the part of the current word after its last COMP_WORDBREAKS character
# (':' and '=' by default), so that prefix is dropped from every reply, and
# what is left is quoted if the shell would read it otherwise.
__apphub_finish() {
	local r pre='' c
	local -i i k
	[[ -n $__apphub_nospace ]] && { compopt -o nospace 2>/dev/null || :; }
	for r in "${COMPREPLY[@]}"; do
		if [[ $r == *[:@] ]]; then
			compopt -o nospace 2>/dev/null || :
			break
		fi
	done
	for ((k = ${#cur} - 1; k >= 0; k--)); do
		c=${cur:k:1}
		if [[ $c != [[:space:]] && $COMP_WORDBREAKS == *"$c"* ]]; then
			pre=${cur:0:k+1}
			break
		fi
	done
	[[ -n $__apphub_fn ]] && return 0
	for i in "${!COMPREPLY[@]}"; do
		r=${COMPREPLY[i]#"$pre"}
		[[ $r == *[!A-Za-z0-9._:/@%+,=-]* ]] && printf -v r '%q' "$r"
		COMPREPLY[i]=$r
	done
	return 0
}

complete -F _apphub apphub apphub-apps apphub-events
