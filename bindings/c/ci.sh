#!/usr/bin/env bash
# Builds the C bindings, checks the committed header, builds the example and the C tests against
# the static and the shared library, runs the example and both tests under valgrind.
# Run from anywhere; paths are resolved from the repository root. Respects CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

target_dir=${CARGO_TARGET_DIR:-target}
case $target_dir in
/*) ;;
*) target_dir=$root/$target_dir ;;
esac
lib_dir=$target_dir/release
out=$target_dir/c-ci
mkdir -p "$out"

echo "::: c: cargo build -p rapport-c --release"
cargo build -p rapport-c --release

echo "::: c: generated header matches the committed one"
if ! git diff --exit-code -- bindings/c/include/rapport.h; then
    echo "bindings/c/include/rapport.h changed when regenerated: commit the new header" >&2
    exit 1
fi
if [ -n "$(git ls-files --others --exclude-standard -- bindings/c/include/rapport.h)" ]; then
    echo "bindings/c/include/rapport.h is not committed" >&2
    exit 1
fi

cflags=(-std=c11 -O1 -g -Wall -Wextra -Werror -pedantic -Ibindings/c/include)
static_libs=("$lib_dir/librapport.a" -lpthread -ldl -lm)
shared_libs=(-L "$lib_dir" -lrapport -Wl,-rpath,"$lib_dir" -lpthread -lm)

echo "::: c: compile example and tests (static and shared)"
gcc "${cflags[@]}" bindings/c/examples/retail.c "${static_libs[@]}" -o "$out/retail_static"
gcc "${cflags[@]}" bindings/c/examples/retail.c "${shared_libs[@]}" -o "$out/retail_shared"
gcc "${cflags[@]}" bindings/c/tests/test_rapport.c "${static_libs[@]}" -o "$out/test_rapport_static"
gcc "${cflags[@]}" bindings/c/tests/test_rapport.c "${shared_libs[@]}" -o "$out/test_rapport_shared"

echo "::: c: example"
"$out/retail_static" data/online_retail_sample.csv
"$out/retail_shared" data/online_retail_sample.csv >/dev/null

valgrind_flags=(--leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99)
for kind in static shared; do
    echo "::: c: tests ($kind library) under valgrind"
    log=$out/valgrind_$kind.log
    if ! valgrind "${valgrind_flags[@]}" --log-file="$log" "$out/test_rapport_$kind"; then
        cat "$log" >&2
        echo "C tests against the $kind library failed (exit status above; valgrind log: $log)" >&2
        exit 1
    fi
    grep -E "definitely lost|indirectly lost|ERROR SUMMARY" "$log" | sed 's/^==[0-9]*== */  valgrind: /'
done
echo "::: c: all passed"
