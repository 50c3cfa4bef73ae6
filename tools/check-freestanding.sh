#!/bin/sh
# Compile every object of src/ freestanding, link them with ld -r, and fail if
# the result needs any symbol (nm -u): no libc, no compiler runtime helper
# (__udivdi3, __ctzdi2, memcpy, memset, ...).  x86-64 and i386 always; other
# targets when a cross compiler or clang target for them is installed.
# FREESTANDING_SRCS replaces src/*.c (make test-single: the amalgamation's
# implementation file), FREESTANDING_NAME prefixes the report's lines.
set -eu
CC=${1:-gcc}
FLAGS="-std=c11 -O2 -Wall -Wextra -Wpedantic -Werror -ffreestanding -nostdlib -fno-builtin -fno-stack-protector -Iinclude"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

# check NAME COMPILER LD-EMULATION EXTRA-FLAGS...
check() {
    name=$1 cc=$2 ldflags=$3
    shift 3
    objs=
    for src in ${FREESTANDING_SRCS:-src/*.c}; do
        obj="$tmp/$name-$(basename "$src" .c).o"
        $cc $FLAGS "$@" -c "$src" -o "$obj"
        objs="$objs $obj"
    done
    ${LD:-ld} -r $ldflags $objs -o "$tmp/$name.o"
    undef=$(nm -u "$tmp/$name.o")
    if [ -n "$undef" ]; then
        echo "${FREESTANDING_NAME:-freestanding} $name: FAIL, undefined symbols:"
        echo "$undef" | sed 's/^/    /'
        status=1
    else
        echo "${FREESTANDING_NAME:-freestanding} $name: ok (no undefined symbols)"
    fi
}

check x86-64 "$CC" "" -m64
check i386 "$CC" "-m elf_i386" -m32 -fno-pic
# clang targets bare-metal CPUs without extra packages; lld links any of them.
if command -v clang >/dev/null 2>&1 && command -v ld.lld >/dev/null 2>&1; then
    LD=ld.lld check aarch64 clang "" --target=aarch64-none-elf
    LD=ld.lld check riscv64 clang "" --target=riscv64-unknown-elf
    LD=ld.lld check arm32 clang "" --target=arm-none-eabi -mcpu=cortex-m3
    LD=ld.lld check riscv32 clang "" --target=riscv32-unknown-elf
fi
exit $status
