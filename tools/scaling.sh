#!/bin/sh
# Instructions per operation (callgrind) from 2^10 to 2^24 pages, for page
# churn and mixed orders.  usage: tools/scaling.sh [OPS]
set -eu
OPS=${1:-200000}
make -s build/bench/scaling
printf '%-8s %14s %14s %10s\n' pages "churn Ir/op" "mixed Ir/op" "bits/page"
for n in 10 12 14 16 18 20 22 24; do
    row=""
    for mode in "" mixed; do
        out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect=run_steps \
              ./build/bench/scaling "$n" "$OPS" $mode 2>&1)
        ir=$(echo "$out" | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
        bits=$(echo "$out" | sed -n 's/.*metadata \([0-9.]*\) bits.*/\1/p')
        row="$row $(awk -v ir="$ir" -v ops="$OPS" 'BEGIN { printf "%14.1f", ir / ops }')"
    done
    printf '2^%-6s%s %10s\n' "$n" "$row" "$bits"
done
