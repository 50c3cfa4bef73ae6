#!/bin/sh
# bench/opcost.sh - instructions per call of each operation (bench/opcost.c)
# under callgrind, counting only inside the library's public functions (and
# what they call).
# usage: sh bench/opcost.sh [BIN]   (default build/bench/opcost)
#
# Counted: the inclusive cost of every call from outside the library into an
# analloc_* function (a call arc whose caller's name does not start with
# analloc_), read from the dumps.  Not --toggle-collect='analloc_*': that
# toggles at the entry and exit of every matching function, so a public
# function that calls another (analloc_walk calls analloc_space_walk, which
# gcc also splits into analloc_space_walk.part.0; analloc_reserve calls
# analloc_space_reserve) stops the count inside, and the figure depended on
# what the compiler inlined (it gave the walk of 20,306 blocks as 24
# instructions).
set -eu
bin=${1:-build/bench/opcost}
command -v valgrind >/dev/null || { echo "opcost: valgrind is not installed" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" --collect-atstart=yes \
    --compress-strings=no --compress-pos=no "$bin" > "$dir/calls.txt" 2> "$dir/vg.log" ||
    { cat "$dir/vg.log" >&2; exit 1; }
# Each CALLGRIND_DUMP_STATS_AT writes cg.out.N with "desc: Trigger: Client
# Request: NAME"; in it, "fn=CALLER", then per call arc "cfn=CALLEE",
# "calls=COUNT TARGET" and a line "POSITION INCLUSIVE_IR".
printf '%-52s %10s %14s\n' operation calls 'instr/call'
grep -v '^  ' "$dir/calls.txt" | while read -r name calls; do
    f=$(grep -l "Client Request: $name\$" "$dir"/cg.out.* 2>/dev/null | head -n 1 || true)
    [ -n "$f" ] || { echo "opcost: no dump for $name" >&2; exit 1; }
    ir=$(awk '/^fn=/ { fn = substr($0, 4); next }
              /^cfn=/ { cfn = substr($0, 5); next }
              /^calls=/ { arc = fn !~ /^analloc_/ && cfn ~ /^analloc_/; next }
              arc { ir += $2; arc = 0 }
              END { print ir + 0 }' "$f")
    awk -v n="$name" -v c="$calls" -v ir="$ir" 'BEGIN { printf "%-52s %10d %14.1f\n", n, c, ir / c }'
done
grep '^  ' "$dir/calls.txt" || true
