#!/bin/sh
# make-repos.sh DEST
#
# Turns each example app beside this script (every directory with a
# Dockerfile) into a git repository DEST/<name> with one commit, made with a
# fixed author, committer and date so that the commit ids are the same on
# every machine.  Prints the path of each repository, one per line.
# An existing DEST/<name> is replaced.
set -eu

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: $0 DEST" >&2
	exit 129
fi

src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
dest=$(cd "$1" && pwd)

GIT_AUTHOR_NAME='apphub examples'
GIT_AUTHOR_EMAIL='examples@apphub.invalid'
GIT_COMMITTER_NAME='apphub examples'
GIT_COMMITTER_EMAIL='examples@apphub.invalid'
GIT_AUTHOR_DATE='2026-01-01T00:00:00Z'
GIT_COMMITTER_DATE='2026-01-01T00:00:00Z'
GIT_CONFIG_NOSYSTEM=1
GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL \
	GIT_AUTHOR_DATE GIT_COMMITTER_DATE GIT_CONFIG_NOSYSTEM GIT_CONFIG_GLOBAL

for dir in "$src"/*/; do
	dir=${dir%/}
	[ -f "$dir/Dockerfile" ] || continue
	name=${dir##*/}
	repo=$dest/$name
	rm -rf "$repo"
	mkdir -p "$repo"
	# cp -R of the contents, dotfiles (.apphub/) included.
	(cd "$dir" && tar cf - .) | (cd "$repo" && tar xf -)
	git -C "$repo" init -q
	git -C "$repo" symbolic-ref HEAD refs/heads/main
	git -C "$repo" add -A
	git -C "$repo" commit -q -m "$name: example app"
	printf '%s\n' "$repo"
done
