#!/usr/bin/env bash
#
# p1000-search.sh: the catalogue at 100,000 apps.
#
# Builds a JSON-lines file of 100,000 apps with six tags each (deterministic),
# imports it into a fresh state directory, and measures, as whole processes:
#
#   import    apphub apps import FILE                     (apps/s)
#   suggest   apphub apps tags fram                       (median ms)
#   search    apphub apps search framework:nextjs dash    (median ms)
#
# each beside a bare `sqlite3 DB 'select 1'` run in the same session as the
# floor (ratio = apphub / sqlite3).  Uses hyperfine when installed, else a
# loop over `date +%s%N`.  Targets (reported, never failed on): suggest
# <= 5 ms, search <= 15 ms, import >= 20,000 apps/s.
#
# Environment: APPHUB (the binary; default ../../apphub from this script),
# N (apps, default 100000), RUNS (default 30), KEEP=1 keeps the work dir,
# HYPERFINE=none times with the bash loop even when hyperfine is installed.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
APPHUB=${APPHUB:-$here/../../apphub}
N=${N:-100000}
RUNS=${RUNS:-30}

if [[ ! -x $APPHUB ]]; then
	echo "p1000-search: no apphub binary at $APPHUB (run make, or set APPHUB)" >&2
	exit 1
fi
APPHUB=$(cd "$(dirname "$APPHUB")" && pwd)/$(basename "$APPHUB")
for tool in python3 sqlite3; do
	command -v "$tool" >/dev/null || {
		echo "p1000-search: $tool is needed" >&2
		exit 1
	}
done

work=$(mktemp -d "${TMPDIR:-/tmp}/apphub-p1000.XXXXXX")
cleanup() {
	if [[ ${KEEP:-} == 1 ]]; then
		echo "kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

unset APPHUB_HOME XDG_STATE_HOME
state=$work/state
db=$state/apphub.db
apps=$work/apps.jsonl

# --- data ------------------------------------------------------------------
python3 - "$N" "$apps" <<'EOF'
import json, random, sys

n, path = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(1000)

frameworks = ["nextjs", "astro", "remix", "vue", "svelte", "nuxt", "angular",
              "solid", "qwik", "gatsby", "fastapi", "flask", "django",
              "express", "streamlit", "rails"]
languages = ["typescript", "javascript", "python", "ruby", "go", "rust",
             "java", "php"]
runtimes = ["node18", "node20", "node22", "python311", "python312", "deno",
            "bun", "nginx", "ruby33", "go122"]
categories = ["dashboard", "analytics", "blog", "shop", "docs", "chat",
              "game", "portfolio", "admin", "finance", "health", "education",
              "social", "maps", "media", "devtools"]
libraries = ["react", "preact", "htmx", "tailwind", "bootstrap", "d3",
             "threejs", "chartjs", "leaflet", "redux", "zustand", "jquery"]
owners = ["team-%02d" % i for i in range(60)] + \
         ["user-%03d" % i for i in range(200)]
# Words for names and descriptions; "dash" prefixes several of them.
adjectives = ["quick", "dashing", "tiny", "open", "smart", "bright", "cosy",
              "rapid", "simple", "modern", "shared", "secure", "live",
              "silent", "golden", "lucky"]
nouns = ["dashboard", "dash", "board", "tracker", "studio", "planner",
         "notes", "wiki", "store", "portal", "monitor", "gallery", "inbox",
         "timer", "ledger", "atlas", "forum", "radar", "kiosk", "dashcam"]
verbs = ["shows", "tracks", "collects", "renders", "shares", "plots",
         "searches", "dashes", "syncs", "edits"]
things = ["metrics", "orders", "photos", "recipes", "invoices", "events",
          "sensor data", "tickets", "playlists", "commits", "weather",
          "dash reports", "budgets", "maps", "logs"]

with open(path, "w") as f:
    for i in range(n):
        adj, noun = rnd.choice(adjectives), rnd.choice(nouns)
        app = {
            "id": "%s-%s-%06d" % (adj, noun, i),
            "name": "%s %s %d" % (adj.capitalize(), noun.capitalize(), i),
            "description": "A %s %s that %s %s for %s" % (
                rnd.choice(adjectives), rnd.choice(nouns), rnd.choice(verbs),
                rnd.choice(things), rnd.choice(["teams", "families", "shops",
                                                "schools", "clubs", "makers"])),
            "repoUrl": "https://git.example.com/%s/%s-%s-%06d.git" % (
                rnd.choice(owners), adj, noun, i),
            "tags": [
                "framework:" + rnd.choice(frameworks),
                "language:" + rnd.choice(languages),
                "runtime:" + rnd.choice(runtimes),
                "category:" + rnd.choice(categories),
                "owner:" + rnd.choice(owners),
                "library:" + rnd.choice(libraries),
            ],
        }
        f.write(json.dumps(app, separators=(",", ":")) + "\n")
EOF

# --- import ------------------------------------------------------------------
t0=$(date +%s%N)
"$APPHUB" -C "$state" apps import "$apps" >"$work/import.out"
t1=$(date +%s%N)
import_ms=$(((t1 - t0) / 1000000))
import_rate=$((N * 1000 / (import_ms > 0 ? import_ms : 1)))
imported=$("$APPHUB" -C "$state" --json apps ls --limit 1 | python3 -c \
	'import json,sys; print(json.load(sys.stdin)["total"])')
if [[ $imported != "$N" ]]; then
	echo "p1000-search: imported $imported apps, expected $N" >&2
	cat "$work/import.out" >&2
	exit 1
fi

# Sanity: the measured commands work and find something.
[[ -n $("$APPHUB" -C "$state" apps tags fram) ]] ||
	{ echo "p1000-search: 'apps tags fram' suggested nothing" >&2; exit 1; }
[[ -n $("$APPHUB" -C "$state" apps search framework:nextjs dash) ]] ||
	{ echo "p1000-search: 'apps search framework:nextjs dash' found nothing" >&2; exit 1; }

# --- timing --------------------------------------------------------------------
floor_cmd=(sqlite3 "$db" 'select 1')
suggest_cmd=("$APPHUB" -C "$state" apps tags fram)
search_cmd=("$APPHUB" -C "$state" apps search framework:nextjs dash)

# median_ms CMD...: median wall time in ms of RUNS runs (3 warm-up runs).
median_ms() {
	local -a t=()
	local i s e
	for ((i = 0; i < 3; i++)); do "$@" >/dev/null 2>&1; done
	for ((i = 0; i < RUNS; i++)); do
		s=$(date +%s%N)
		"$@" >/dev/null 2>&1
		e=$(date +%s%N)
		t+=($((e - s)))
	done
	printf '%s\n' "${t[@]}" | sort -n |
		awk '{ v[NR] = $1 } END {
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.2f\n", m / 1e6 }'
}

# quote CMD...: one shell-quoted command line for hyperfine.
quote() {
	local out='' a
	for a in "$@"; do
		out+=" $(printf '%q' "$a")"
	done
	printf '%s' "${out# }"
}

if [[ ${HYPERFINE:-} != none ]] && command -v hyperfine >/dev/null &&
	command -v jq >/dev/null; then
	method=hyperfine
	hyperfine -N --runs "$RUNS" --warmup 3 --style none \
		--export-json "$work/hyperfine.json" \
		-n floor "$(quote "${floor_cmd[@]}")" \
		-n suggest "$(quote "${suggest_cmd[@]}")" \
		-n search "$(quote "${search_cmd[@]}")" >/dev/null 2>&1
	med() {
		jq -r --arg n "$1" \
			'.results[] | select(.command == $n) | .median * 1000 | . * 100 | round / 100' \
			"$work/hyperfine.json"
	}
	floor_ms=$(med floor)
	suggest_ms=$(med suggest)
	search_ms=$(med search)
else
	method="bash loop"
	floor_ms=$(median_ms "${floor_cmd[@]}")
	suggest_ms=$(median_ms "${suggest_cmd[@]}")
	search_ms=$(median_ms "${search_cmd[@]}")
fi

# --- report --------------------------------------------------------------------
verdict() { # VALUE OP TARGET
	awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
		ok = (op == "<=") ? (v <= t) : (v >= t)
		print ok ? "ok" : "MISSED" }'
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf (b > 0) ? "%.1fx" : "-", a / b }'
}

echo "p1000-search: $N apps, 6 tags each; medians of $RUNS runs ($method)"
printf '%-10s %-44s %12s %8s %14s %s\n' test command result ratio target ""
printf '%-10s %-44s %9s ms %8s %14s\n' floor "sqlite3 DB 'select 1'" "$floor_ms" 1.0x ""
printf '%-10s %-44s %9s ms %8s %14s %s\n' suggest "apphub apps tags fram" "$suggest_ms" \
	"$(ratio "$suggest_ms" "$floor_ms")" "<= 5 ms" "$(verdict "$suggest_ms" '<=' 5)"
printf '%-10s %-44s %9s ms %8s %14s %s\n' search "apphub apps search framework:nextjs dash" \
	"$search_ms" "$(ratio "$search_ms" "$floor_ms")" "<= 15 ms" "$(verdict "$search_ms" '<=' 15)"
printf '%-10s %-44s %6s apps/s %5s %14s %s\n' import "apphub apps import ($import_ms ms)" \
	"$import_rate" "" ">= 20000/s" "$(verdict "$import_rate" '>=' 20000)"
