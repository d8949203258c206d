#!/usr/bin/env bash
# Builds the WASM package: bindings/wasm/pkg (ES module for browsers and bundlers) and
# bindings/wasm/pkg-node (CommonJS for Node), both with TypeScript types, plus the demo's model
# file bindings/wasm/demo/sample.rapport, trained and saved by native rapport.
#
#   bash bindings/wasm/build.sh
#
# Installs what is missing: the wasm32 target and the wasm-bindgen CLI at exactly the version
# in Cargo.lock. Run from anywhere; respects CARGO_TARGET_DIR. The module is built with
# `+simd128` (every current browser, and Node ≥ 16.4, runs it).
#
# No wasm-opt pass: binaryen 132's -O3 and -Oz make the module smaller raw but larger gzipped
# than wasm-bindgen's output without the name section (see README.md, "Size").
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
wasm_dir=$root/bindings/wasm

target_dir=${CARGO_TARGET_DIR:-target}
case $target_dir in
/*) ;;
*) target_dir=$root/$target_dir ;;
esac

echo "::: wasm: toolchain"
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
# The CLI must match the wasm-bindgen crate exactly.
version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$version" ] || { echo "wasm-bindgen is not in Cargo.lock" >&2; exit 1; }
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $version" ]; then
    # Without --locked: the CLI's own lockfile pins a crate version the registry does not serve.
    cargo install wasm-bindgen-cli --version "$version"
fi

echo "::: wasm: cargo build --release --target wasm32-unknown-unknown -p rapport-wasm"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128" \
    cargo build --release --target wasm32-unknown-unknown -p rapport-wasm --lib
wasm=$target_dir/wasm32-unknown-unknown/release/rapport_wasm.wasm

echo "::: wasm: wasm-bindgen $version (web, nodejs)"
version_of_package=$(awk -F'"' '/^version = / { print $2; exit }' bindings/wasm/Cargo.toml)
for kind in web nodejs; do
    case $kind in
    web) out=$wasm_dir/pkg type=module side_effects='["./snippets/*"]' ;;
    nodejs) out=$wasm_dir/pkg-node type=commonjs side_effects=false ;;
    esac
    rm -rf "$out"
    # Panic messages keep their Rust file and line without the name section; only stack
    # frames lose function names.
    wasm-bindgen --target "$kind" --remove-name-section --out-dir "$out" "$wasm"
    if [ "$kind" = nodejs ]; then
        # wasm-bindgen copies the JS snippets (src/snapshot.js) as written, ES modules, but the
        # Node package `require`s them: turn `export function f` into CommonJS exports.
        find "$out/snippets" -name '*.js' | while read -r snippet; do
            names=$(sed -nE 's/^export function ([A-Za-z_][A-Za-z0-9_]*).*/\1/p' "$snippet" | paste -sd, -)
            sed -i -E 's/^export function /function /' "$snippet"
            if grep -qE '^[[:space:]]*(export|import)[[:space:]]' "$snippet"; then
                echo "$snippet: only \`export function\` can be made CommonJS" >&2
                exit 1
            fi
            echo "module.exports = { $names };" >>"$snippet"
        done
    fi
    cat >"$out/package.json" <<EOF
{
  "name": "rapport-wasm",
  "version": "$version_of_package",
  "description": "rapport in the browser: customer profiles, recommendations and greetings from purchase history",
  "license": "MIT OR Apache-2.0",
  "type": "$type",
  "main": "rapport_wasm.js",
  "types": "rapport_wasm.d.ts",
  "files": ["rapport_wasm.js", "rapport_wasm.d.ts", "rapport_wasm_bg.wasm", "rapport_wasm_bg.wasm.d.ts", "snippets/"],
  "sideEffects": $side_effects
}
EOF
done

echo "::: wasm: demo model (trained and saved by native rapport)"
cargo run --quiet --release --example export_model -- "$wasm_dir/demo/sample.rapport"

raw=$(wc -c <"$wasm_dir/pkg/rapport_wasm_bg.wasm")
gz=$(gzip -9 -c "$wasm_dir/pkg/rapport_wasm_bg.wasm" | wc -c)
echo "::: wasm: rapport_wasm_bg.wasm $raw bytes, $gz gzipped (gzip -9)"
