#!/bin/sh
# check-layers.sh SRCDIR: checks the layering of lib/ and cmd/ from the
# object files (DESIGN.md §3). The layers are the Makefile's groups (make
# print-layers), in order; a module may use (reference a symbol defined in)
# a module of its own layer or of one before it, never after, and the
# modules of one layer must not use each other in a cycle. cmd/ and the
# generated tables reach lib/ only through the util layer, the operation
# context and the front ends (the operation call, the remote transport).
# Prints each violation; exits 1 when there is one.
set -e
cd "${1:-.}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

make -s --no-print-directory print-layers >"$tmp/layers"
# module layer-number layer-name
awk '{ sub(":", "", $1); for (i = 2; i <= NF; i++) print $i, NR, $1 }' "$tmp/layers" >"$tmp/layer-of"

status=0
# Every source in lib/ is in a layer (a file left out would be dropped silently).
for c in lib/*.c; do
	o=${c%.c}.o
	grep -q "^$o " "$tmp/layer-of" || { echo "$c: in no layer of the Makefile"; status=1; }
done

# cmd/ and gen/ objects whose source is there (a stale object of a removed file is not code)
objs="$(awk '{ print $1 }' "$tmp/layer-of") apphub.o"
for c in cmd/*.c gen/*.c; do
	[ -e "${c%.c}.o" ] && objs="$objs ${c%.c}.o"
done
for o in $objs; do
	[ -f "$o" ] || { echo "$o: not built"; status=1; continue; }
	nm -g --defined-only "$o" | awk -v o="$o" 'NF == 3 && $2 ~ /[TDBRVWCG]/ { print $3, o }'
done | sort -u >"$tmp/defs"
for o in $objs; do
	[ -f "$o" ] || continue
	nm -u "$o" | awk -v o="$o" '{ print $NF, o }'
done | sort -u >"$tmp/undefs"
# user used symbol
join "$tmp/undefs" "$tmp/defs" | awk '$2 != $3 { print $2, $3, $1 }' | sort -u >"$tmp/uses"

# cmd/ and the generated tables: layer 99, allowed only UTIL, ctx and FRONT.
awk '
	FILENAME == ARGV[1] { layer[$1] = $2; name[$1] = $3; next }
	{
		user = $1; used = $2; sym = $3
		if (!(user in layer)) {
			# cmd/, gen/, apphub.o
			if (!(used in layer) || name[used] == "UTIL" || name[used] == "FRONT" ||
			    used == "lib/ctx.o")
				next
			if (user ~ /^gen\// && name[used] == "OPS")
				next
			printf "%s uses %s (%s, layer %s): cmd/ reaches lib/ through the operations\n",
				user, used, sym, name[used]
			bad = 1
			next
		}
		if (layer[used] > layer[user]) {
			printf "%s (layer %s) uses %s (%s, layer %s, after it)\n", user, name[user],
				used, sym, name[used]
			bad = 1
		}
	}
	END { exit bad }' "$tmp/layer-of" "$tmp/uses" || status=1

# Cycles inside a layer, between modules: the files that share a module's
# private header (lib/<module>-internal.h) are one module, split along its
# seams, whose parts may call each other. Repeatedly drop the modules that
# use, or are used by, no other module of their layer still left; what
# stays is in a cycle.
for c in lib/*.c; do
	m=$(sed -n 's/^#include "\(.*\)-internal\.h"$/\1/p' "$c" | head -n 1)
	if [ -n "$m" ]; then echo "${c%.c}.o lib/$m*.o"; else echo "${c%.c}.o ${c%.c}.o"; fi
done >"$tmp/module-of"
awk '
	FILENAME == ARGV[1] { module[$1] = $2; next }
	FILENAME == ARGV[2] { layer[$1] = $2; next }
	($1 in layer) && ($2 in layer) && layer[$1] == layer[$2] && module[$1] != module[$2] &&
	!seen[module[$1] " " module[$2]]++ {
		edge[++n] = module[$1] " " module[$2]
		layer[module[$1]] = layer[module[$2]] = layer[$1]
	}
	END {
		for (i = 1; i <= n; i++) {
			split(edge[i], e, " ")
			alive[e[1]] = alive[e[2]] = 1
		}
		do {
			changed = 0
			for (m in alive) { out[m] = 0; in_[m] = 0 }
			for (i = 1; i <= n; i++) {
				split(edge[i], e, " ")
				if ((e[1] in alive) && (e[2] in alive)) { out[e[1]]++; in_[e[2]]++ }
			}
			for (m in alive) if (!out[m] || !in_[m]) { delete alive[m]; changed = 1 }
		} while (changed)
		for (i = 1; i <= n; i++) {
			split(edge[i], e, " ")
			if ((e[1] in alive) && (e[2] in alive)) {
				printf "%s and %s are in a cycle of their layer (%s uses %s)\n", e[1], e[2], e[1], e[2]
				bad = 1
			}
		}
		exit bad
	}' "$tmp/module-of" "$tmp/layer-of" "$tmp/uses" || status=1
exit $status
