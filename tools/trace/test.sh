#!/bin/sh
# make trace-test (tools/trace/README.md):
#   sh tools/trace/test.sh TOOL DIR [--update | MALLOC_SO SQLITE_TEST STRESS]
# 0. with MALLOC_SO, SQLITE_TEST and STRESS: recordings from each client
#    (python3 and the threaded stress program of examples/malloc under the
#    malloc replacement, the SQLite workload): valid traces whose replay
#    knows every address freed (with threads: each record in an order the
#    calls can have had); SQLite's frees every block;
# 1. every replay of tests/traces/ARGS (of NAME.trace.xz, or of NAME.txt,
#    a trace in text form, imported), its summary compared with
#    tests/traces/NAME.expected (--update writes them instead);
# 2. text: a header line and one line per record; import gives the trace back;
# 3. draw: valid SVG (python3's XML parser) and PNG (libpng's pngfix), the
#    maps at two moments different;
# 4. report: the page loaded in headless chromium with #selftest: the script
#    moves the slider, the picture's pixels and the label must change, and
#    no console message or error may appear; the same check must fail on a
#    copy of the page with a script error put in (negative control).
# 5. the progress bar: on stderr under a terminal (script(1)), absent
#    otherwise (the summaries of 1 include stderr).
set -u
tool=$1 dir=$2 update=${3:-}
traces=tests/traces
mkdir -p "$dir"
fail=0
bad() { echo "trace-test: $*"; fail=1; }
for need in xz pngfix chromium /usr/bin/python3; do
    command -v "$need" > /dev/null ||
        { echo "trace-test: $need is missing (sh tools/install-deps.sh installs it)"; exit 1; }
done

# 0. recording
if [ -n "$update" ] && [ "$update" != --update ]; then
    lib=$(realpath "$3") sqlite=$4
    rm -f "$dir"/rec.*
    ANALLOC_TRACE="$dir/rec.py.%p" LD_PRELOAD="$lib" /usr/bin/python3 -S -E -c 'print(sum(range(10)))' \
        > "$dir/rec.py.out" || bad "record: python3 under the preload failed"
    ANALLOC_TRACE="$dir/rec.sq.%p" "$sqlite" --scale 200 > "$dir/rec.sq.out" || bad "record: sqlite_test failed"
    ANALLOC_TRACE="$dir/rec.st.%p" LD_PRELOAD="$lib" "$5" > "$dir/rec.st.out" || bad "record: stress failed"
    for kind in py sq st; do
        f=$(ls -S "$dir"/rec.$kind.[0-9]* 2>/dev/null | head -n 1)
        if [ -z "$f" ]; then bad "record: no trace from the $kind recording"; continue; fi
        "$tool" replay "$f" > "$dir/rec.$kind.replay" 2>&1 || bad "record: replay of $f failed"
        grep -q '^analloc: [1-9][0-9]* ops, 0 failed, 0 unknown addresses' "$dir/rec.$kind.replay" ||
            bad "record: $f: $(sed -n 3p "$dir/rec.$kind.replay")"
    done
    # The workload frees all it allocates: as many frees as allocations.
    sed -n 's/^trace: [0-9]* records: \([0-9]*\) alloc, \([0-9]*\) free.*/\1 \2/p' "$dir/rec.sq.replay" |
        awk '$1 == $2 && $1 > 0 { ok = 1 } END { exit !ok }' || bad "record: SQLite's trace: allocations and frees differ"
    records() { sed -n 's/^trace: \([0-9]*\) records.*/\1/p' "$dir/rec.$1.replay"; }
    [ $fail -eq 0 ] && echo "trace-test: record: python3 ($(records py) records), SQLite ($(records sq))" \
        "and the threaded stress program ($(records st)) traced and replayed, no unknown address"
    rm -f "$dir"/rec.st.[0-9]* # (tens of MB)
    update=
fi

# 1. replays
for name in $(sed '/^#/d; s/ .*//' $traces/ARGS | uniq); do
    out="$dir/$name.out"
    : > "$out"
    # NAME.trace.xz, or NAME.txt (a trace made by hand, in text form)
    file=$traces/$name.trace.xz
    if [ ! -f "$file" ]; then
        file=$dir/$name.trace
        "$tool" import "$traces/$name.txt" "$file" >> "$out" 2>&1 || echo "import: exit $?" >> "$out"
    fi
    sed '/^#/d' $traces/ARGS | awk -v n="$name" '$1 == n { $1 = ""; print }' | while read -r args; do
        echo "== replay $(basename "$file") $args" >> "$out"
        # shellcheck disable=SC2086
        "$tool" replay "$file" $args >> "$out" 2>&1 || echo "exit $?" >> "$out"
    done
    if [ "$update" = --update ]; then
        cp "$out" "$traces/$name.expected"
        echo "trace-test: wrote $traces/$name.expected"
    elif diff -u "$traces/$name.expected" "$out" > "$dir/$name.diff"; then
        echo "trace-test: $name: $(grep -c '^== replay' "$out") replays as expected" \
             "($(sed -n 's/^trace: \([0-9]*\) records.*/\1/p' "$out" | head -n 1) records)"
    else
        cat "$dir/$name.diff"
        bad "$name: the replay differs from $traces/$name.expected"
    fi
done
[ "$update" = --update ] && exit 0

# 2. text
"$tool" text $traces/gcc.trace.xz > "$dir/gcc.txt" || bad "text failed"
n=$(sed -n '1s/^# analloc trace v1 page [0-9]* start [0-9]* records \([0-9]*\)$/\1/p' "$dir/gcc.txt")
lines=$(wc -l < "$dir/gcc.txt")
if [ -z "$n" ] || [ "$lines" -ne $((n + 2)) ] ||
   [ "$(sed -n '3p' "$dir/gcc.txt" | awk '{print $2}')" != alloc ]; then
    bad "text: header or line count wrong ($lines lines for ${n:-?} records)"
else
    echo "trace-test: text: $n records, $lines lines"
fi
# ... and import makes the same bytes of it again.
xz -dc $traces/gcc.trace.xz > "$dir/gcc.bin"
if "$tool" import "$dir/gcc.txt" "$dir/gcc.imported" && cmp "$dir/gcc.bin" "$dir/gcc.imported"; then
    echo "trace-test: import: the text back to the same $(wc -c < "$dir/gcc.bin") bytes"
else
    bad "import: the text did not give the trace back"
fi

# 3. draw
rm -f "$dir"/gcc-*
"$tool" draw $traces/gcc.trace.xz --page 64 --arena 4M --at 0,5000,1000000 --out "$dir/gcc" > "$dir/draw.log" ||
    bad "draw failed"
count=0
for svg in "$dir"/gcc-map-*.svg "$dir/gcc-timeline.svg"; do
    /usr/bin/python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$svg" ||
        bad "draw: $svg is not well-formed XML"
    count=$((count + 1))
done
for png in "$dir"/gcc-map-*.png "$dir/gcc-timeline.png"; do
    pngfix --quiet "$png" > /dev/null 2>&1 || bad "draw: $png is not a valid PNG (pngfix)"
    count=$((count + 1))
done
[ "$count" -eq 8 ] || bad "draw: $count files, not 8 (3 maps and the timeline, as SVG and PNG)"
cmp -s "$dir/gcc-map-0.png" "$dir/gcc-map-5000.png" && bad "draw: the maps at 0 and 5000 are the same"
[ $fail -eq 0 ] && echo "trace-test: draw: 3 maps and the timeline as SVG and PNG, valid"

# 4. report in chromium
"$tool" report $traces/sqlite.trace.xz --snapshots 20 --out "$dir/report.html" > /dev/null || bad "report failed"
browse() { # page -> $dir/dom.txt, $dir/browser.log
    # (a profile of its own: a fresh machine's HOME may not be writable)
    timeout 120 chromium --headless=new --no-sandbox --disable-gpu --virtual-time-budget=10000 \
        --user-data-dir="$(realpath "$dir")/chromium-profile" --no-first-run \
        --enable-logging=stderr --v=0 --dump-dom "file://$(realpath "$1")#selftest" \
        > "$dir/dom.txt" 2> "$dir/browser.log"
}
# The verdict on a page: empty if it passed, else why not.
verdict() {
    browse "$1" || { echo "chromium exited $?"; return; }
    line=$(sed -n 's/^<pre id="selftest">\(selftest: [^<]*\)<\/pre>$/\1/p' "$dir/dom.txt")
    case $line in
        "selftest: snapshots 20; slider 19; label changed true; bytes differ "[1-9]*"; svg 1; errors 0 ") ;;
        *) echo "selftest said: ${line:-nothing}"; return ;;
    esac
    if grep -q ':CONSOLE' "$dir/browser.log"; then
        echo "console: $(grep ':CONSOLE' "$dir/browser.log" | head -n 3)"
    fi
}
v=$(verdict "$dir/report.html")
if [ -n "$v" ]; then
    bad "report: in chromium: $v (log: $dir/browser.log)"
else
    echo "trace-test: report: loads in chromium, the slider moves, the map changes, no console message" \
         "($(wc -c < "$dir/report.html") bytes)"
fi
sed 's/^show(Number(slider.value));$/show(Number(slider.value)); nosuch();/' "$dir/report.html" > "$dir/broken.html"
grep -q 'nosuch();' "$dir/broken.html" || bad "report: could not break the page for the negative control"
v=$(verdict "$dir/broken.html")
if [ -z "$v" ]; then
    bad "report: negative control: a page with a script error passed"
else
    echo "negative control (a script error in the page): caught: $(echo "$v" | head -c 160)"
fi

# 5. progress bar
if command -v script > /dev/null; then
    script -qec "$tool replay $traces/gcc.trace.xz" /dev/null > "$dir/tty.log" 2>&1
    grep -q '\[########################################\] ' "$dir/tty.log" ||
        bad "replay on a terminal: no progress bar"
    "$tool" replay $traces/gcc.trace.xz 2>&1 >/dev/null | grep -q . && bad "replay: stderr not silent"
    [ $fail -eq 0 ] && echo "trace-test: progress bar on a terminal, none otherwise"
fi
[ $fail -eq 0 ] && echo "trace-test: passed"
exit $fail
