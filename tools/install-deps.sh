#!/bin/sh
# Install what `make check` needs, if it is missing (Debian; root or sudo).
# cmocka: unit tests; clang and lld: the clang build and the bare-metal
# freestanding checks; gcc-12-multilib: the i386 freestanding check.
set -eu
need=
[ -f /usr/include/cmocka.h ] || need="$need libcmocka-dev"
command -v clang >/dev/null 2>&1 || need="$need clang libclang-rt-14-dev"
command -v ld.lld >/dev/null 2>&1 || need="$need lld"
echo 'int x;' | gcc -m32 -x c -c -o /dev/null - 2>/dev/null || need="$need gcc-12-multilib"
[ -n "$need" ] || exit 0
echo "make check needs:$need"
if [ "$(id -u)" -eq 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install them (apt-get install$need) and run make check again" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
