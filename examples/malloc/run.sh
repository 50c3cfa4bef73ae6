#!/bin/sh
# Run other people's programs on libanalloc-malloc.so (examples/malloc/README.md).
#
#   sh examples/malloc/run.sh test  LIB DIR STRESS   outputs identical to glibc's, preload proven
#   sh examples/malloc/run.sh bench LIB DIR STRESS   wall time and peak RSS against glibc
#
# LIB: the library; DIR: a scratch directory (inputs, outputs, tables);
# STRESS: the stress program (examples/malloc/stress.c).  Run from the top of
# the tree.  MALLOC_BENCH_RUNS (default 3): runs per program and allocator.
set -u
mode=$1 lib=$(realpath "$2") dir=$3 stress=$(realpath "$4")
here=$(dirname "$0")
py=/usr/bin/python3
limit=120
mkdir -p "$dir"
dir=$(realpath "$dir")

for tool in "$py" sqlite3 sort gcc xz timeout; do
    command -v "$tool" >/dev/null || { echo "malloc-$mode: $tool is missing"; exit 1; }
done

# Inputs, made without the preload: 23 MB of text lines for sort, 8 MB of it for xz.
if [ ! -s "$dir/sort-input.txt" ]; then
    "$py" - > "$dir/sort-input.txt.tmp" <<'EOF' || exit 1
import random, sys
r = random.Random(7)
letters = "abcdefghijklmnopqrstuvwxyz"
w = ["".join(r.choice(letters) for _ in range(r.randint(2, 9))) for _ in range(5000)]
out = sys.stdout
for i in range(700000):
    out.write("%s %06d %s %s %d\n" % (r.choice(w), r.randrange(1000000), r.choice(w), r.choice(w).upper(), i))
EOF
    mv "$dir/sort-input.txt.tmp" "$dir/sort-input.txt"
fi
[ -s "$dir/xz-input.txt" ] || head -c 8000000 "$dir/sort-input.txt" > "$dir/xz-input.txt"

# name | process names that must report (ANALLOC_MALLOC_STATS) | command
programs="python|python3|PYTHONMALLOC=malloc PYTHONHASHSEED=0 exec $py $here/work.py
sqlite|sqlite3|exec sqlite3 < $here/work.sql
sort|sort|LC_ALL=C exec sort --parallel=2 -k1,1 -k2,2n $dir/sort-input.txt
gcc|gcc cc1 as|gcc -O2 -g -Iinclude -c src/analloc.c -o \$OBJ && exec cat \$OBJ
xz|xz|exec xz -T2 -1 --block-size=1MiB -c $dir/xz-input.txt
stress|stress|exec $stress"

# run NAME glibc|analloc CMD: stdout, stderr and the exit code in DIR/NAME.KIND.*
run() {
    rm -f "$dir/$1.$2.stats"
    if [ "$2" = analloc ]; then pre="LD_PRELOAD=$lib"; else pre="MALLOC_RUN=glibc"; fi
    OBJ="$dir/$1.$2.o" env "$pre" ANALLOC_MALLOC_STATS="$dir/$1.$2.stats" \
        timeout "$limit" sh -c "$3" > "$dir/$1.$2.out" 2> "$dir/$1.$2.err"
    echo $? > "$dir/$1.$2.rc"
}

if [ "$mode" = test ]; then
    fail=0
    # The checks below must be able to fail: without the preload no report appears.
    rm -f "$dir/control.stats"
    ANALLOC_MALLOC_STATS="$dir/control.stats" sh -c 'exec ls / > /dev/null'
    maps=$(LD_PRELOAD="$lib" grep -c 'libanalloc-malloc\.so' /proc/self/maps)
    if [ -e "$dir/control.stats" ] || [ "${maps:-0}" -lt 1 ]; then
        echo "malloc-test: control FAILED (a report without the preload, or the library not in /proc/self/maps)"
        fail=1
    else
        echo "malloc-test: control    ok: no report without LD_PRELOAD; with it, the library is in /proc/self/maps"
    fi
    echo "$programs" | while IFS='|' read -r name procs cmd; do
        run "$name" glibc "$cmd"
        run "$name" analloc "$cmd"
        why=
        [ "$(cat "$dir/$name.glibc.rc")" = 0 ] || why="$why; exit code $(cat "$dir/$name.glibc.rc") under glibc"
        [ "$(cat "$dir/$name.analloc.rc")" = 0 ] || why="$why; exit code $(cat "$dir/$name.analloc.rc") under analloc"
        cmp -s "$dir/$name.glibc.out" "$dir/$name.analloc.out" || why="$why; stdout differs"
        cmp -s "$dir/$name.glibc.err" "$dir/$name.analloc.err" || why="$why; stderr differs"
        [ -s "$dir/$name.glibc.out" ] || why="$why; no output"
        seen=
        for p in $procs; do
            n=$(sed -n "s/^analloc-malloc: pid [0-9]* $p: ~\([0-9]*\) allocations.*/\1/p" \
                "$dir/$name.analloc.stats" 2>/dev/null | head -n 1)
            if [ -n "$n" ] && [ "$n" -gt 0 ]; then seen="$seen $p (~$n)"
            else why="$why; no allocation report from $p"; fi
        done
        if [ -z "$why" ]; then
            printf 'malloc-test: %-8s ok: %s bytes of stdout identical to glibc; allocations through analloc:%s\n' \
                "$name" "$(wc -c < "$dir/$name.glibc.out" | tr -d ' ')" "$seen"
        else
            printf 'malloc-test: %-8s FAILED%s (files: %s/%s.*)\n' "$name" "$why" "$dir" "$name"
            head -n 5 "$dir/$name.analloc.err"
            echo fail >> "$dir/test-failed"
        fi
    done
    if [ -e "$dir/test-failed" ] || [ $fail -ne 0 ]; then
        rm -f "$dir/test-failed"
        echo "malloc-test: FAILED"
        exit 1
    fi
    echo "malloc-test: all programs ran on analloc with output identical to glibc's"
    exit 0
fi

[ "$mode" = bench ] || { echo "usage: $0 test|bench LIB DIR STRESS"; exit 2; }
[ -x /usr/bin/time ] || { echo "malloc-bench: /usr/bin/time is missing (Debian package: time)"; exit 1; }
runs=${MALLOC_BENCH_RUNS:-3}
table="$dir/bench.txt"
# One timed run: wall ms, peak RSS (KiB, the largest process), CPU ms (user + system).
timed() {
    if [ "$2" = analloc ]; then pre="LD_PRELOAD=$lib"; else pre="MALLOC_BENCH=glibc"; fi
    t0=$(date +%s%N)
    OBJ="$dir/$1.$2.o" env "$pre" /usr/bin/time -f '%M %U %S' -o "$dir/$1.$2.rss" \
        timeout "$limit" sh -c "$3" > /dev/null 2> "$dir/$1.$2.err" || { echo "$1 failed under $2"; exit 1; }
    t1=$(date +%s%N)
    tail -n 1 "$dir/$1.$2.rss" | awk -v ms=$(( (t1 - t0) / 1000000 )) '{ print ms, $1, int(($2 + $3) * 1000) }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
{
    echo "median of $runs runs: wall ms, CPU ms (user + system), peak RSS MiB of the largest process"
    printf '%-8s %7s %7s %6s | %7s %7s %6s | %7s %7s %6s\n' program "wall" "" "" "CPU" "" "" "RSS" "" ""
    printf '%-8s %7s %7s %6s | %7s %7s %6s | %7s %7s %6s\n' "" glibc analloc ratio glibc analloc ratio glibc analloc ratio
} > "$table"
echo "$programs" | while IFS='|' read -r name procs cmd; do
    : > "$dir/$name.g" ; : > "$dir/$name.a"
    i=0
    while [ $i -lt "$runs" ]; do
        timed "$name" glibc "$cmd" >> "$dir/$name.g" || exit 1
        timed "$name" analloc "$cmd" >> "$dir/$name.a" || exit 1
        i=$((i + 1))
    done
    gt=$(cut -d' ' -f1 "$dir/$name.g" | median) at=$(cut -d' ' -f1 "$dir/$name.a" | median)
    gm=$(cut -d' ' -f2 "$dir/$name.g" | median) am=$(cut -d' ' -f2 "$dir/$name.a" | median)
    gc=$(cut -d' ' -f3 "$dir/$name.g" | median) ac=$(cut -d' ' -f3 "$dir/$name.a" | median)
    awk -v n="$name" -v gt="$gt" -v at="$at" -v gm="$gm" -v am="$am" -v gc="$gc" -v ac="$ac" 'BEGIN {
        printf "%-8s %7d %7d %6.2f | %7d %7d %6.2f | %7.1f %7.1f %6.2f\n", n, gt, at, at / gt,
            gc, ac, ac / (gc ? gc : 1), gm / 1024, am / 1024, am / gm }' >> "$table"
done || exit 1
cat "$table"
