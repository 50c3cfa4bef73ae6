#!/bin/sh
# run.sh ELF PLAIN_ELF OUTDIR [TIMEOUT] - boot the analloc riscv64 SMP test
# kernel ELF under qemu-system-riscv64 (virt, 4 harts, OpenSBI) with
# 64 MiB, 512 MiB and 16 MiB under pressure, then the negative controls,
# then PLAIN_ELF (the kernel on analloc_alloc/analloc_free, without the
# per-CPU stores) once with 64 MiB; one line per run, logs in
# OUTDIR/<name>.log (OpenSBI's banner included; the kernel's lines start
# with "rv: ").
#
# A passing run must exit with status 0 (the guest wrote 0x5555 to the
# sifive_test device) and print "rv: PASS".  A negative control (given on
# the kernel command line) must exit with its status (1: a failed check,
# 2: a trap) and print its expected complaint.  Anything else, a timeout
# included, fails.  The seed is ANALLOC_SEED, or taken from the clock and
# printed; replay a run with ANALLOC_SEED=n.
set -u
elf=$1
plain=$2
out=$3
tmo=${4:-120}
QEMU=${QEMU:-qemu-system-riscv64}
SMP=${RISCV_SMP:-4}
seed=${ANALLOC_SEED:-$(( $(date +%s) % 100000 ))}
mkdir -p "$out"
if ! command -v "$QEMU" >/dev/null 2>&1; then
    echo "riscv: $QEMU not found (apt-get install --no-install-recommends qemu-system-misc)"
    exit 1
fi
bad=0

# run NAME MEM EXPECT APPEND [PATTERN]
#   EXPECT: pass, or the exit statuses a negative control may give ("1 2").
run() {
    name=$1 mem=$2 expect=$3 append=$4 pattern=${5:-}
    log=$out/$name.log
    t0=$(date +%s.%N)
    # shellcheck disable=SC2153
    timeout "$tmo" "$QEMU" -machine virt -smp "$SMP" -m "$mem" -bios default -kernel "$elf" \
        -append "$append" -display none -serial stdio -monitor none -no-reboot \
        > "$log" 2>&1 < /dev/null
    rc=$?
    t1=$(date +%s.%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    tr -d '\r' < "$log" > "$log.tmp" && mv "$log.tmp" "$log"
    desc="$name (-smp $SMP -m $mem, $append)"
    if [ "$expect" = pass ]; then
        line=$(grep -a '^rv: PASS' "$log")
        if [ $rc -eq 0 ] && [ -n "$line" ]; then
            echo "riscv $desc: $secs s, ${line#rv: }"
            return
        fi
        why="exit status $rc"
        [ $rc -eq 124 ] && why="timeout after $tmo s"
        [ -z "$line" ] && why="$why, no PASS line"
        echo "riscv $desc: FAILED: $why (log: $log)"
        grep -a -E '^rv: (FAIL|TRAP)' "$log" | head -n 10 | sed 's/^/  /'
        grep -a '^rv: ' "$log" | tail -n 5 | sed 's/^/  | /'
        bad=1
    else
        ok=
        for e in $expect; do [ $rc -eq "$e" ] && ok=yes; done
        if [ -n "$ok" ] && grep -aqE '^rv: FAIL' "$log" && grep -aqE "$pattern" "$log"; then
            echo "riscv $desc: $secs s, failed as it must (exit $rc):" \
                "$(grep -a -m1 -E "$pattern" "$log" | sed 's/^rv: //' | cut -c1-150)"
            return
        fi
        why="exit $rc"
        [ $rc -eq 124 ] && why="timeout after $tmo s"
        echo "riscv $desc: negative control NOT caught: $why," \
            "expected exit $expect with /$pattern/ (log: $log)"
        grep -a '^rv: ' "$log" | tail -n 5 | sed 's/^/  | /'
        bad=1
    fi
}

run m64M 64M pass "seed=$seed"
run m512M 512M pass "seed=$seed"
# Memory pressure: up to 256 live blocks per hart do not fit in 12 MiB, so
# allocations fail and give every store back while the others run.
run m16M-full 16M pass "seed=$seed live=256"

# Negative controls: each must fail the run.
# No lock: the harts race in the engine's slow paths.  Every order of the
# random phase (0-5) is a store's, so the races are the stores' refills and
# spills, analloc_check and analloc_drain.  What breaks first varies: a tag
# or pattern check, analloc_check, a block outside the arena, an error from
# free, or a wild access inside the engine (a trap); a hart stuck in a
# corrupted engine would end the run at the next barrier (3).
run break-nolock 64M "1 2 3" "seed=$seed break=nolock" \
    '^rv: (FAIL: hart [0-9]+: |TRAP on hart )'
# One hart writes its tag over a block another hart keeps.
run break-tag 64M 1 "seed=$seed break=tag" \
    "^rv: FAIL: hart [0-9]+: at the end, the pinned block, before free: .* hart [0-9]+'s tag"
# An illegal instruction: the trap handler reports scause 2.
run break-trap 64M 2 "seed=$seed break=trap" '^rv: TRAP on hart [0-9]+: scause 0x2 '

# The same test on the plain calls, where every call takes the lock, and
# without the lock, where every call races.
if [ "$plain" != "$elf" ]; then
    elf=$plain
    run m64M-plain 64M pass "seed=$seed"
    run break-nolock-plain 64M "1 2 3" "seed=$seed break=nolock" \
        '^rv: (FAIL: hart [0-9]+: |TRAP on hart )'
fi
exit $bad
