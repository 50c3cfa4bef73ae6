#!/bin/sh
# The library exports only the public prefixes: analloc_, bv_, buddy_.
# Functions shared between the engine's files carry the internal prefix an_
# and hidden visibility: global in the archive's objects, never exported.
set -eu
status=0
for lib in "$@"; do
    case $lib in
        *.so*)
            syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /[A-Z]/ {print $3}')
            hidden= ;;
        *)
            # readelf -s: Num Value Size Type Bind Vis Ndx Name
            all=$(readelf -sW "$lib" | awk '$5 == "GLOBAL" && $7 != "UND" && NF >= 8 {print $6, $8}')
            syms=$(echo "$all" | awk '$1 == "DEFAULT" {print $2}')
            hidden=$(echo "$all" | awk '$1 == "HIDDEN" {print $2}') ;;
    esac
    bad=$(echo "$syms" | grep -Ev '^(analloc_|bv_|buddy_)' | grep -Ev '^(_init|_fini|__bss_start|_edata|_end)$' || true)
    badhidden=$(echo "$hidden" | grep -v '^$' | grep -Ev '^an_' || true)
    if [ -n "$bad$badhidden" ]; then
        echo "symbols $lib: FAIL, exported outside the public prefixes, or hidden without an_:"
        echo "$bad$badhidden" | sed 's/^/    /'
        status=1
    else
        echo "symbols $lib: ok ($(echo "$syms" | grep -c .) exported, all public;" \
             "$(echo "$hidden" | grep -c .) internal, hidden)"
    fi
done
exit $status
