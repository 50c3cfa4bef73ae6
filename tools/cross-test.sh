#!/bin/sh
# Build the library and every test for other CPUs and run them: i386
# natively (-m32), aarch64, riscv64 and s390x (64-bit big-endian) under
# qemu-user.  cmocka is compiled for each target from Debian's source package
# (tools/install-deps.sh fetches it; tools/build-cmocka.sh), the library from
# every src/*.c, and everything is linked statically.
#
# usage: tools/cross-test.sh [TARGET...]      (default: all four)
set -eu
CMOCKA=${CMOCKA_SRC:-build/cmocka-src}
[ -f "$CMOCKA/src/cmocka.c" ] || { echo "cross: no cmocka source in $CMOCKA (run tools/install-deps.sh)"; exit 1; }
WARN="-Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Wpointer-arith"
status=0
for target in ${@:-i386 aarch64 riscv64 s390x}; do
    case $target in
        i386) cc="gcc -m32 -idirafter /usr/include/x86_64-linux-gnu"; run= ;;
        aarch64) cc=aarch64-linux-gnu-gcc; run=qemu-aarch64 ;;
        riscv64) cc=riscv64-linux-gnu-gcc; run=qemu-riscv64 ;;
        s390x) cc=s390x-linux-gnu-gcc; run=qemu-s390x ;;
        *) echo "cross: unknown target $target"; exit 2 ;;
    esac
    out=build/cross/$target
    mkdir -p "$out"
    rm -f "$out/counts"
    # shellcheck disable=SC2086
    CMOCKA_SRC=$CMOCKA sh tools/build-cmocka.sh "$out/cmocka.o" $cc
    flags="-std=c11 -O2 -g $WARN -D_GNU_SOURCE -Iinclude -Isrc -Itests -I$CMOCKA/include"
    # The library: every src/*.c, freestanding as always.
    rm -f "$out"/src-*.o
    lib=
    for src in src/*.c; do
        obj="$out/src-$(basename "$src" .c).o"
        $cc $flags -ffreestanding -c "$src" -o "$obj"
        lib="$lib $obj"
    done
    # The shadow model, linked into the tests that use it (harmless elsewhere).
    $cc $flags -c tests/model.c -o "$out/model.o"
    bins=
    for t in tests/test_*.c; do
        name=$(basename "$t" .c)
        case $name in
            test_bitvector)
                for v in uint32_t uint64_t; do
                    $cc $flags -DBV_TYPE=$v "$t" "$out/cmocka.o" -static -o "$out/${name}_$v"
                    bins="$bins $out/${name}_$v"
                done ;;
            *)
                # shellcheck disable=SC2086
                $cc $flags -fno-freestanding "$t" "$out/model.o" $lib "$out/cmocka.o" -static -lpthread \
                    -o "$out/$name"
                bins="$bins $out/$name" ;;
        esac
    done
    # The fuzz harness's replay of tests/corpus.
    # shellcheck disable=SC2086
    $cc $flags -DANALLOC_FUZZ_REPLAY tests/fuzz_analloc.c "$out/model.o" $lib "$out/cmocka.o" -static \
        -o "$out/fuzz_replay"
    bins="$bins $out/fuzz_replay"
    echo "== cross $target ($($cc -dumpmachine), run: ${run:-native})"
    ANALLOC_QUICK=1 RUNNER="$run" sh tools/run-tests.sh "$out/counts" $bins || status=1
done
exit $status
