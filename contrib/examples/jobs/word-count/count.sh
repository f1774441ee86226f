#!/bin/sh
# word-count: an apphub job (runtime exec), a POSIX shell script.
#
# Reads the job's input, {parameters: {text, top?}, run, job}, as JSON on
# stdin; counts the lines, words and characters of text and its `top` (5)
# most frequent words (lowercased); writes them to counts.txt in the work
# directory (its current directory, /work), which the run keeps as a file
# output; prints the result as JSON on stdout.  Its log is stderr; progress
# lines go to fd 3.  See apphub-jobs(1), HANDLERS.
set -eu

input=$(cat)
text=$(printf '%s' "$input" | jq -r '.parameters.text // empty')
top=$(printf '%s' "$input" | jq -r '.parameters.top // 5')
case $top in
'' | *[!0-9]*)
	echo "word-count: top must be a whole number, not '$top'" >&2
	exit 2
	;;
esac

# text is jq's output without its trailing newline; count it as wc would a file
# that ends in one, unless it is empty.
if [ -n "$text" ]; then
	counts=$(printf '%s\n' "$text" | wc -l -w -m)
else
	counts='0 0 0'
fi
# shellcheck disable=SC2086 # the three numbers, split on purpose
set -- $counts
lines=$1 words=$2 chars=$3

printf '%s\n' "$text" | tr -cs '[:alnum:]' '\n' | tr '[:upper:]' '[:lower:]' |
	grep -v '^$' | sort | uniq -c | sort -k1,1nr -k2,2 | head -n "$top" >frequent.tmp || :

{
	printf 'lines\t%s\nwords\t%s\ncharacters\t%s\n\n' "$lines" "$words" "$chars"
	awk '{ printf "%s\t%s\n", $2, $1 }' frequent.tmp
} >counts.txt

echo "word-count: $words words in $lines lines" >&2
# fd 3 is open in a run; elsewhere (by hand) the lines are dropped.
{
	printf '{"type":"metric","name":"words","value":%s}\n' "$words"
	printf '{"type":"output","name":"counts","path":"counts.txt"}\n'
} 2>/dev/null >&3 || :

jq -n --argjson lines "$lines" --argjson words "$words" --argjson chars "$chars" \
	--rawfile frequent frequent.tmp '{
	lines: $lines, words: $words, characters: $chars,
	top: [$frequent | split("\n")[] | select(length > 0) |
	      capture("^ *(?<count>[0-9]+) (?<word>.*)$") |
	      {word: .word, count: (.count | tonumber)}],
	file: "counts.txt"
}'
rm -f frequent.tmp
