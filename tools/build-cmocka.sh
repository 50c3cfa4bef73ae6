#!/bin/sh
# Compile cmocka from Debian's source package (tools/install-deps.sh fetches
# it into build/cmocka-src) into one object, for a target that has no
# libcmocka: the CPUs of tools/cross-test.sh, and i386 for make test-lto.
# It is configured by hand for a Linux target (what cmocka's CMake checks
# find there), the byte order asked of the compiler.
#
# usage: tools/build-cmocka.sh OUTPUT.o COMPILER [FLAGS...]
#   e.g. tools/build-cmocka.sh build/cmocka-i386.o gcc -m32 -idirafter /usr/include/x86_64-linux-gnu
# Environment: CMOCKA_SRC, the source tree (default build/cmocka-src).
# Link the tests with the object and -I$CMOCKA_SRC/include.
set -eu
if [ $# -lt 2 ]; then
    echo "usage: $0 OUTPUT.o COMPILER [FLAGS...]" >&2
    exit 2
fi
out=$1
shift
CMOCKA=${CMOCKA_SRC:-build/cmocka-src}
[ -f "$CMOCKA/src/cmocka.c" ] || {
    echo "no cmocka source in $CMOCKA (run tools/install-deps.sh, or make deps)" >&2
    exit 1
}
bigendian=
echo '__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__' | "$@" -E -P -x c - | grep -q 1 &&
    bigendian=-DWORDS_BIGENDIAN
mkdir -p "$(dirname "$out")"
"$@" -O2 -w -I"$CMOCKA/include" -DHAVE_SIGNAL_H -DHAVE_STRINGS_H -DHAVE_INTTYPES_H \
    -DHAVE_MALLOC_H -DHAVE_SIGLONGJMP -DHAVE_STRSIGNAL -DHAVE_STRUCT_TIMESPEC \
    -DHAVE_CLOCK_REALTIME -DHAVE_GCC_THREAD_LOCAL_STORAGE \
    -DWORDS_SIZEOF_VOID_P=__SIZEOF_POINTER__ $bigendian \
    -c "$CMOCKA/src/cmocka.c" -o "$out"
