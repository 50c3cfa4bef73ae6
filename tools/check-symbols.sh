#!/bin/sh
# The library exports only the public prefixes: analloc_, bv_, buddy_.
set -eu
status=0
for lib in "$@"; do
    case $lib in
        *.so) syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /[A-Z]/ {print $3}') ;;
        *) syms=$(nm -g --defined-only "$lib" | awk 'NF == 3 {print $3}') ;;
    esac
    bad=$(echo "$syms" | grep -Ev '^(analloc_|bv_|buddy_)' | grep -Ev '^(_init|_fini|__bss_start|_edata|_end)$' || true)
    if [ -n "$bad" ]; then
        echo "symbols $lib: FAIL, exported outside the public prefixes:"
        echo "$bad" | sed 's/^/    /'
        status=1
    else
        echo "symbols $lib: ok ($(echo "$syms" | grep -c .) exported, all public)"
    fi
done
exit $status
