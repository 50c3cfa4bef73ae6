#!/bin/sh
# make test-install: install analloc into a temporary prefix and use it as a
# newcomer would, then uninstall.
#
#   tools/check-install.sh WORKDIR [CC]     (environment: MAKE, BUILD)
#
#  1. make install PREFIX=WORKDIR/prefix;
#  2. build tests/consumer/consumer.c through pkg-config (shared, with the
#     SONAME's file as NEEDED, and static from the installed archive), through
#     find_package(analloc <major>.0 CONFIG) (analloc::analloc and
#     analloc::analloc_static), and through add_subdirectory of the source
#     tree (compiled -ffreestanding -Werror, as the Makefile does); run each;
#     find_package(analloc <next major>.0) must be refused (the version file), and so
#     must find_package from a build of the other pointer size (-m32);
#  3. render every installed manual page with man --warnings and groff -ww:
#     no warning (a broken page must warn); generated again, the pages are
#     the same bytes; man finds analloc(3) and analloc_free(3) through
#     MANPATH; every function the shared library exports has a page;
#  4. make uninstall: no file or symlink may be left under the prefix;
#  5. the same install staged with DESTDIR, PREFIX=/opt/analloc and
#     LIBDIR=/opt/analloc/lib64: the files land under DESTDIR, the
#     pkg-config and CMake files name /opt/analloc, and uninstall with the
#     same variables leaves nothing.
set -eu
work=$1
CC=${2:-gcc}
MAKE=${MAKE:-make}
src=$(pwd)
case $work in /*) ;; *) work=$src/$work ;; esac
prefix=$work/prefix
rm -rf "$work"
mkdir -p "$work"
fail() { echo "test-install: FAIL: $*"; exit 1; }
# make, on the build of the caller (BUILD, CC): nothing is rebuilt.
m() { $MAKE --no-print-directory -s BUILD="${BUILD:-build}" "$@" >"$work/make.log" 2>&1 ||
      { cat "$work/make.log"; fail "make $*"; }; }

version=$(sed -n 's/^#define ANALLOC_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' include/analloc.h |
          paste -sd.)
major=${version%%.*}
expect="analloc $version"

# run NAME PROGRAM: the consumer must print the version and exit 0.
run() {
    out=$("$2") || fail "$1: the consumer exited $?: $out"
    [ "$out" = "$expect" ] || fail "$1: the consumer printed '$out', not '$expect'"
    echo "test-install: $1: $out"
}

# 1. Install.
m install PREFIX="$prefix" CC="$CC"
files=$(cd "$prefix" && find . \( -type f -o -type l \) | sort)
echo "test-install: installed $(echo "$files" | grep -c .) files and links into $prefix:"
(cd "$prefix" && find . -type f ! -path './share/man/*' -exec ls -l {} + | sort -k9 |
    awk '{ printf "    %8d  %s\n", $5, $9 }')
pages=$(grep -L '^\.so' "$prefix"/share/man/man3/*.3)
# shellcheck disable=SC2086
echo "    $(echo "$pages" | wc -l) manual pages ($(cat $pages | wc -c) bytes)" \
     "and $(grep -l '^\.so' "$prefix"/share/man/man3/*.3 | wc -l) .so links"
for f in include/analloc.h include/analloc/buddy.h include/analloc/bitvector.h \
         lib/libanalloc.a lib/libanalloc.so.$version lib/pkgconfig/analloc.pc \
         lib/cmake/analloc/analloc-config.cmake lib/cmake/analloc/analloc-config-version.cmake \
         share/man/man3/analloc.3 bin/analloc-trace; do
    [ -f "$prefix/$f" ] || fail "$f not installed"
done
# The trace tool, installed, reads a trace (the hand-written one, imported).
"$prefix/bin/analloc-trace" import tests/traces/edge.txt "$work/edge.trace" &&
    "$prefix/bin/analloc-trace" text "$work/edge.trace" | grep -q '^# analloc trace v1' ||
    fail "the installed analloc-trace does not read a trace"

[ "$(readlink "$prefix/lib/libanalloc.so")" = "libanalloc.so.$major" ] || fail "libanalloc.so link"
[ "$(readlink "$prefix/lib/libanalloc.so.$major")" = "libanalloc.so.$version" ] || fail "libanalloc.so.$major link"
readelf -d "$prefix/lib/libanalloc.so.$version" | grep -q "SONAME.*\[libanalloc.so.$major\]" ||
    fail "the SONAME is not libanalloc.so.$major"

# 2a. pkg-config.
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[ "$(pkg-config --modversion analloc)" = "$version" ] || fail "pkg-config --modversion"
libdir=$(pkg-config --variable=libdir analloc)
# shellcheck disable=SC2046
$CC -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags analloc) tests/consumer/consumer.c \
    $(pkg-config --libs analloc) -Wl,-rpath,"$libdir" -o "$work/pc-shared"
readelf -d "$work/pc-shared" | grep -q "NEEDED.*\[libanalloc.so.$major\]" ||
    fail "pkg-config: the consumer does not need libanalloc.so.$major"
run "pkg-config, shared" "$work/pc-shared"
# shellcheck disable=SC2046
$CC -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags analloc) tests/consumer/consumer.c \
    "$libdir/libanalloc.a" -o "$work/pc-static"
! readelf -d "$work/pc-static" | grep -q 'NEEDED.*libanalloc' || fail "the static consumer needs the .so"
run "pkg-config, static" "$work/pc-static"

# 2b. find_package and add_subdirectory.
cm() {
    dir=$work/$1
    shift
    cmake -S tests/consumer -B "$dir" -DCMAKE_C_COMPILER="$CC" -DANALLOC_WANT_VERSION="$major.0" \
        "$@" >"$dir.log" 2>&1 &&
        cmake --build "$dir" >>"$dir.log" 2>&1
}
cm cmake-shared -DCMAKE_PREFIX_PATH="$prefix" || { cat "$work/cmake-shared.log"; fail "find_package"; }
grep -q "analloc $version from $prefix/lib/cmake/analloc" "$work/cmake-shared.log" ||
    fail "find_package did not report analloc $version from the prefix"
readelf -d "$work/cmake-shared/consumer" | grep -q "NEEDED.*\[libanalloc.so.$major\]" ||
    fail "find_package: the consumer does not need libanalloc.so.$major"
run "find_package, analloc::analloc" "$work/cmake-shared/consumer"
cm cmake-static -DCMAKE_PREFIX_PATH="$prefix" -DANALLOC_STATIC=ON ||
    { cat "$work/cmake-static.log"; fail "find_package, static"; }
run "find_package, analloc::analloc_static" "$work/cmake-static/consumer"
next=$((major + 1)).0
if cm cmake-next -DCMAKE_PREFIX_PATH="$prefix" -DANALLOC_WANT_VERSION="$next"; then
    fail "find_package(analloc $next) accepted version $version"
fi
grep -q 'analloc-config.cmake, version: '"$version" "$work/cmake-next.log" ||
    { cat "$work/cmake-next.log"; fail "find_package(analloc $next) failed, but not on the version"; }
echo "test-install: find_package(analloc $next): refused, as it must be (version $version)"
# A 32-bit consumer must not take the 64-bit package (or the reverse).
bits=$(printf '__SIZEOF_POINTER__\n' | $CC -E -P -x c - | tr -d ' ')
other=-m32
[ "$bits" = 8 ] || other=-m64
if cm cmake-other -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$other"; then
    fail "find_package accepted the $bits-byte-pointer package for a $other build"
fi
grep -q "version: $version ($bits-byte pointers)" "$work/cmake-other.log" ||
    { cat "$work/cmake-other.log"; fail "the $other find_package failed, but not on the pointer size"; }
echo "test-install: find_package from a $other build: refused, as it must be ($bits-byte pointers)"
cm cmake-sub -DANALLOC_SOURCE_DIR="$src" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON ||
    { cat "$work/cmake-sub.log"; fail "add_subdirectory"; }
for flag in -ffreestanding -Werror -Wmissing-prototypes -std=c11; do
    grep '"command"' "$work/cmake-sub/compile_commands.json" | grep 'src/analloc\.c' |
        grep -q -- "$flag" || fail "add_subdirectory: src/analloc.c not compiled $flag"
done
run "add_subdirectory" "$work/cmake-sub/consumer"

# 3. Manual pages: each rendered by man --warnings and by groff with every
# warning (-ww), from the man directory so that the .so links resolve; a
# broken page first, which both must report (else the check proves nothing).
man_dir=$prefix/share/man
render() {
    LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$1" 2>"$work/man.err" >/dev/null &&
        groff -ww -man -z -Tutf8 "$1" 2>>"$work/man.err" && [ ! -s "$work/man.err" ]
}
printf '.TH BAD 3\n.SH NAME\nbad \\- a broken page\n.XX\n' >"$work/bad.3"
! render "$work/bad.3" || fail "a broken page rendered without a warning"
(cd "$man_dir" && for p in man3/*.3; do
    render "$p" || { cat "$work/man.err"; fail "$p: rendering warned or failed"; }
done)
python3 tools/man.py --out "$work/man-again" include/analloc.h include/analloc/buddy.h \
    include/analloc/bitvector.h
diff -r "$work/man-again" "$man_dir/man3" >/dev/null ||
    fail "tools/man.py wrote other pages a second time"
for p in analloc analloc_free bv_next_set buddy_alloc; do
    MANPATH=$man_dir man -w "$p" >/dev/null 2>&1 || fail "man does not find $p(3) in MANPATH"
done
MANPATH=$man_dir MANWIDTH=80 man analloc_free 2>/dev/null | grep -q 'double free' ||
    fail "man analloc_free does not show analloc_free's contract"
# Every function the shared library exports has a page (or a link to one).
for sym in $(nm -D --defined-only "$prefix/lib/libanalloc.so.$version" | awk '$2 == "T" {print $3}'); do
    [ -f "$man_dir/man3/$sym.3" ] || fail "no manual page for $sym"
done
echo "test-install: $(find "$man_dir/man3" -type f | wc -l) pages and links render without a warning;" \
     "every exported function has one"

# 4. Uninstall.
m uninstall PREFIX="$prefix" CC="$CC"
left=$(find "$prefix" \( -type f -o -type l \))
[ -z "$left" ] || { echo "$left"; fail "make uninstall left files behind"; }
echo "test-install: make uninstall left no file under $prefix"

# 5. DESTDIR, another LIBDIR.
stage=$work/stage
m install DESTDIR="$stage" PREFIX=/opt/analloc LIBDIR=/opt/analloc/lib64 CC="$CC"
[ -f "$stage/opt/analloc/lib64/libanalloc.so.$version" ] || fail "DESTDIR: the library is not in lib64"
[ ! -e "/opt/analloc/lib64/libanalloc.so.$version" ] || fail "DESTDIR: installed outside DESTDIR"
grep -qx 'libdir=/opt/analloc/lib64' "$stage/opt/analloc/lib64/pkgconfig/analloc.pc" ||
    fail "DESTDIR: analloc.pc does not name the final libdir"
grep -q '"/opt/analloc/lib64/libanalloc.so.'"$version"'"' \
    "$stage/opt/analloc/lib64/cmake/analloc/analloc-config.cmake" ||
    fail "DESTDIR: analloc-config.cmake does not name the final library"
n=$(find "$stage" \( -type f -o -type l \) | wc -l)
[ "$n" -eq "$(echo "$files" | grep -c .)" ] || fail "DESTDIR: $n files, not as many as in step 1"
m uninstall DESTDIR="$stage" PREFIX=/opt/analloc LIBDIR=/opt/analloc/lib64 CC="$CC"
left=$(find "$stage" \( -type f -o -type l \))
[ -z "$left" ] || { echo "$left"; fail "make uninstall DESTDIR=... left files behind"; }
echo "test-install: DESTDIR staging with LIBDIR=lib64: $n files, uninstall left none"
echo "test-install: ok"
