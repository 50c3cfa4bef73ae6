#!/bin/sh
# Install what `make check` needs, if it is missing (Debian 12; root or sudo),
# and fetch cmocka's source for the cross-CPU tests into build/cmocka-src.
#
#   libcmocka-dev               the unit tests
#   clang, libclang-rt-14-dev   the clang build, sanitizers and libFuzzer
#   lld                         linking the bare-metal freestanding checks
#   gcc-12-multilib             i386 (-m32) builds
#   gcc-<cpu>-linux-gnu, libc6-dev-<cpu>-cross, qemu-user
#                               the suite on aarch64, riscv64 and s390x
#   valgrind, gcovr, cppcheck, clang-tidy   memcheck, coverage, lint
#   dpkg-dev                    `apt-get source cmocka` (cmocka for other CPUs)
#   libjemalloc2, libmimalloc2.0  comparators in the benchmarks
#   qemu-system-x86             the multiboot kernel of examples/kernel (make kernel)
#   qemu-system-misc            the riscv64 SMP kernel of examples/riscv (make riscv;
#                               it also needs gcc-riscv64-linux-gnu, listed above)
#   python3, sqlite3, xz-utils, time   programs run under the malloc replacement
#                               (examples/malloc: make malloc-test, malloc-bench)
#   libsqlite3-dev              the SQLite adapter's test (examples/sqlite)
#   cmake, pkg-config           make test-install builds a consumer through
#                               pkg-config, find_package and add_subdirectory
#   man-db, groff-base          make test-install renders the manual pages
#   libpng-dev, libpng-tools    the trace tool's PNG pictures (tools/trace), and
#                               pngfix, which checks them (make trace-test)
#   chromium                    make trace-test loads the trace tool's HTML
#                               report in it, headless (a large download)
# With --bench, also what `make bench` needs beyond that:
#   npm                         fetches the SQLite amalgamation (better-sqlite3,
#                               pinned) for the memsys5 comparison
set -eu
bench=
[ "${1:-}" = --bench ] && bench=yes
need=
have() { command -v "$1" >/dev/null 2>&1; }
[ -f /usr/include/cmocka.h ] || need="$need libcmocka-dev"
have clang || need="$need clang"
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; return (int)n; }\n' |
    clang -fsanitize=fuzzer,address,undefined -x c - -o /tmp/analloc-fuzz-probe.$$ 2>/dev/null ||
    need="$need libclang-rt-14-dev"
rm -f /tmp/analloc-fuzz-probe.$$
have ld.lld || need="$need lld"
printf 'int main(void) { return 0; }\n' | gcc -m32 -static -x c - -o /tmp/analloc-m32-probe.$$ 2>/dev/null ||
    need="$need gcc-12-multilib"
rm -f /tmp/analloc-m32-probe.$$
have aarch64-linux-gnu-gcc || need="$need gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
have riscv64-linux-gnu-gcc || need="$need gcc-riscv64-linux-gnu libc6-dev-riscv64-cross"
have s390x-linux-gnu-gcc || need="$need gcc-s390x-linux-gnu libc6-dev-s390x-cross"
have qemu-aarch64 || need="$need qemu-user"
have valgrind || need="$need valgrind"
have gcovr || need="$need gcovr"
have cppcheck || need="$need cppcheck"
have clang-tidy || need="$need clang-tidy"
have dpkg-source || need="$need dpkg-dev"
have qemu-system-i386 || need="$need qemu-system-x86"
have qemu-system-riscv64 || need="$need qemu-system-misc"
[ -x /usr/bin/python3 ] || need="$need python3"
have sqlite3 || need="$need sqlite3"
have xz || need="$need xz-utils"
[ -x /usr/bin/time ] || need="$need time"
[ -f /usr/include/sqlite3.h ] || need="$need libsqlite3-dev"
have cmake || need="$need cmake"
have pkg-config || need="$need pkg-config"
have man || need="$need man-db"
have groff || need="$need groff-base"
[ -f /usr/include/png.h ] || need="$need libpng-dev"
have pngfix || need="$need libpng-tools"
[ -x /usr/bin/chromium ] || need="$need chromium"
[ -z "$bench" ] || have npm || need="$need npm"
# The benchmarks' general-purpose comparators (dlopen'd; skipped if absent).
ldconfig -p 2>/dev/null | grep -q 'libjemalloc.so.2 ' || need="$need libjemalloc2"
ldconfig -p 2>/dev/null | grep -q 'libmimalloc.so.2 ' || need="$need libmimalloc2.0"
fetch_cmocka=
[ -n "$bench" ] || [ -f build/cmocka-src/src/cmocka.c ] || fetch_cmocka=yes
[ -n "$need$fetch_cmocka" ] || exit 0

if [ "$(id -u)" -eq 0 ]; then SUDO=; elif have sudo; then SUDO=sudo; else
    echo "make check needs:$need${fetch_cmocka:+ (and cmocka's source)};" \
         "install them as root and run make check again" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
updated=
if [ -n "$need" ]; then
    echo "installing:$need"
    $SUDO apt-get update -qq || echo "apt-get update reported errors; trying anyway"
    updated=yes
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
if [ -n "$fetch_cmocka" ]; then
    # Source packages need a deb-src line; add Debian's own if there is none.
    if ! grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
            $SUDO tee /etc/apt/sources.list.d/analloc-deb-src.sources >/dev/null
        updated=
    fi
    [ -n "$updated" ] || $SUDO apt-get update -qq || echo "apt-get update reported errors; trying anyway"
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get source -qq cmocka >/dev/null 2>&1)
    mkdir -p build
    rm -rf build/cmocka-src
    mv "$tmp"/cmocka-*/ build/cmocka-src
    rm -rf "$tmp"
    echo "fetched cmocka's source into build/cmocka-src"
fi
