#!/usr/bin/env bash
# CI of the WASM package: build (build.sh), lint the wasm32 build, Node tests over the generated
# package, a TypeScript check of the declarations, and the demo page in headless Chromium.
# Installs what it needs (wasm32 target, wasm-bindgen CLI, npm dev tools, Debian's chromium).
# Exits non-zero on the first failure. Run from anywhere; respects CARGO_TARGET_DIR.
#
#   bash bindings/wasm/ci.sh
#   RAPPORT_WASM_NATIVE_TIMING=1 bash bindings/wasm/ci.sh   # also times top-10 natively, right
#                                                           # before the same timing in Chromium
set -euo pipefail
cd "$(dirname "$0")"

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
    echo "Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none))" >&2
    exit 1
fi

bash build.sh

echo "::: wasm: clippy on wasm32 with simd128 (the WebAssembly kernels compile only there)"
(cd ../.. && CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128" \
    cargo clippy -p rapport -p rapport-wasm --lib --no-default-features \
    --target wasm32-unknown-unknown -- -D warnings)

echo "::: wasm: npm ci (playwright-core, typescript)"
npm ci --no-audit --no-fund --loglevel=error
if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then
    echo "::: wasm: apt-get install chromium"
    apt-get update -qq
    apt-get install -y -qq chromium
fi

echo "::: wasm: Node tests"
node --test test/*.test.mjs

echo "::: wasm: TypeScript declarations"
./node_modules/.bin/tsc -p test/tsconfig.json

if [ -n "${RAPPORT_WASM_NATIVE_TIMING:-}" ]; then
    echo "::: wasm: native timing (examples/native_top10.rs)"
    (cd ../.. && cargo run --quiet --release -p rapport-wasm --example native_top10)
fi

echo "::: wasm: demo page in headless Chromium"
node test/browser.mjs

echo "::: wasm: all passed"
