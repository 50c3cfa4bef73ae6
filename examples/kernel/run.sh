#!/bin/sh
# run.sh ELF OUTDIR [TIMEOUT] - boot the analloc test kernel under
# qemu-system-i386 with several memory sizes and memory maps, then the
# negative controls; one line per run, logs in OUTDIR/<name>.log.
#
# A passing run must exit with QEMU status 1 (the guest wrote 0 to the
# isa-debug-exit port) and print "ANALLOC-KERNEL: PASS".  A negative control
# (a deliberate fault, given on the kernel command line) must exit with 3
# (the guest wrote 1) or 5 (CPU exception) and print "ANALLOC-KERNEL: FAIL"
# and its expected complaint.  Anything else, a timeout included, fails.
set -u
elf=$1
out=$2
tmo=${3:-60}
QEMU=${QEMU:-qemu-system-i386}
mkdir -p "$out"
if ! command -v "$QEMU" >/dev/null 2>&1; then
    echo "kernel: $QEMU not found (apt-get install --no-install-recommends qemu-system-x86)"
    exit 1
fi
bad=0
extra=""  # more QEMU arguments for the next run

# run NAME MEM EXPECT APPEND [PATTERN]
#   EXPECT: pass, or the QEMU exit status a negative control must give.
run() {
    name=$1 mem=$2 expect=$3 append=$4 pattern=${5:-}
    log=$out/$name.log
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086
    timeout "$tmo" "$QEMU" -kernel "$elf" -append "$append" -m "$mem" $extra -display none \
        -serial stdio -monitor none -no-reboot \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 > "$log" 2>&1 < /dev/null
    rc=$?
    t1=$(date +%s.%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    tr -d '\r' < "$log" > "$log.tmp" && mv "$log.tmp" "$log"
    if [ "$expect" = pass ]; then
        line=$(grep -a '^ANALLOC-KERNEL: PASS' "$log")
        if [ $rc -eq 1 ] && [ -n "$line" ]; then
            echo "kernel $name (-m $mem${append:+, $append}): $secs s, ${line#ANALLOC-KERNEL: }"
            return
        fi
        why="exit status $rc"
        [ $rc -eq 124 ] && why="timeout after $tmo s"
        [ -z "$line" ] && why="$why, no PASS line"
        echo "kernel $name (-m $mem${append:+, $append}): FAILED: $why (log: $log)"
        grep -a -E '^(FAIL|FATAL|CPU EXCEPTION)' "$log" | head -n 10 | sed 's/^/  /'
        tail -n 5 "$log" | sed 's/^/  | /'
        bad=1
    else
        if [ $rc -eq "$expect" ] && grep -aq '^ANALLOC-KERNEL: FAIL' "$log" &&
            { [ -z "$pattern" ] || grep -aqE "$pattern" "$log"; }; then
            echo "kernel $name (-m $mem, $append): $secs s, failed as it must (exit $rc):" \
                "$(grep -a -m1 -E "$pattern" "$log" | cut -c1-110)"
            return
        fi
        echo "kernel $name (-m $mem, $append): negative control NOT caught: exit $rc," \
            "expected $expect with /$pattern/ (log: $log)"
        bad=1
    fi
}

run m8M 8M pass ""
run m128M 128M pass ""
run m3G 3G pass ""
# 4 GiB: QEMU puts 1 GiB above 4 GiB, which a 32-bit kernel ignores.
run m4G 4G pass ""
# Firmware holes as the command line pretends them: below 16 MiB (the DMA
# zone), two overlapping ones, one that starts and ends mid-page.
run m256M-holes 256M pass \
    "hole=0xc00000:64K hole=0x3000000:1M hole=0x3080000:2M hole=0x5000800:0x1000 hole=0xfe00000:1M"
# No mmap entries: the fallback to mem_lower/mem_upper.
run m64M-nommap 64M pass "nommap"
# Two multiboot modules (the kernel file itself and this script): boot data
# that must survive the test (checksummed at boot and at the end).
extra="-initrd $elf,$0"
run m64M-modules 64M pass ""
extra=""

# Negative controls: each deliberate fault must fail the run.
run break-pattern 32M 3 "break=pattern" '^FAIL: before free: block'
run break-meta 32M 3 "break=meta" '^FAIL: analloc_check'
run break-leak 32M 3 "break=leak" '^FAIL: (walk|at the end)'
run break-fault 32M 5 "break=fault" '^CPU EXCEPTION 0 '
exit $bad
