#!/bin/sh
# run.sh - `make test-lock-sections`: the instructions between the lock and
# unlock hooks of one call, for blocks of 1 to 1024 pages (measure.c under
# callgrind), must not grow with the block size: at 1024 pages at most
# GROWTH times the count at one page (the tree is deeper, nothing is
# copied or filled), and never more than LIMIT.  A copy or a fill under the
# lock would cost about a million instructions per 1024-page block.  LIMIT
# leaves room for what a small block's call may do under the lock and a
# large one's does not: refill an empty cache list with a quarter of it (32
# single pages at the defaults, about 10,000 instructions from a fresh
# arena; a moving realloc's new block may take one).
# usage: run.sh MEASURE-BINARY OUT-DIR
set -eu
bin=$1
out=$2
GROWTH=4
LIMIT=25000
mkdir -p "$out"
rm -f "$out"/cg.out*
valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$out/cg.out" \
    "$bin" > "$out/sections.txt" 2> "$out/valgrind.log" ||
    { cat "$out/valgrind.log"; echo "test-lock-sections: the driver failed"; exit 1; }
: > "$out/counts.txt"
for f in "$out"/cg.out.*; do
    label=$(sed -n 's/^desc: Trigger: Client Request: //p' "$f")
    ir=$(sed -n 's/^summary: //p;s/^totals: //p' "$f" | head -n 1)
    echo "$label $ir" >> "$out/counts.txt"
done
# Join "label sections" with "label instructions"; check each operation.
sort "$out/sections.txt" > "$out/s.txt"
sort "$out/counts.txt" > "$out/c.txt"
join "$out/s.txt" "$out/c.txt" | awk -v growth="$GROWTH" -v limit="$LIMIT" '
    function want(op) {
        return op == "realloc-move" || op == "realloc-shrink" || op == "free" ? 2 : 1
    }
    {
        n = split($1, part, "-"); pages = part[n]; op = substr($1, 1, length($1) - length(pages) - 1)
        ir[op, pages] = $3; secs[op, pages] = $2; ops[op] = 1
        if ($2 != want(op)) { printf "%s: %d lock sections, expected %d\n", $1, $2, want(op); bad = 1 }
        if ($3 > limit) { printf "%s: %d instructions under the lock, above %d\n", $1, $3, limit; bad = 1 }
    }
    END {
        printf "%-16s %8s %8s %8s %8s %8s %8s   (instructions inside the lock sections of one call, by block pages)\n",
               "operation", 1, 4, 16, 64, 256, 1024
        for (op in ops) {
            printf "%-16s", op
            for (p = 1; p <= 1024; p *= 4) printf " %8d", ir[op, p]
            printf "\n"
            if (ir[op, 1] == "" || ir[op, 1024] == "") { printf "%s: missing sizes\n", op; bad = 1; continue }
            if (ir[op, 1024] > growth * ir[op, 1]) {
                printf "%s: %d instructions at 1024 pages, more than %d x the %d at one page\n",
                       op, ir[op, 1024], growth, ir[op, 1]
                bad = 1
            }
        }
        exit bad
    }' || { echo "test-lock-sections: FAILED (details in $out)"; exit 1; }
echo "test-lock-sections: every lock section bounded (at most $GROWTH x from 1 to 1024 pages, below $LIMIT instructions)"
