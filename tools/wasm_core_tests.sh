#!/usr/bin/env bash
# The core's unit tests compiled for wasm32 with simd128 (the browser build's kernels) and run
# in Node through WASI. Tests that write files are skipped: the browser has no file system.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target list --installed | grep -q '^wasm32-wasip1$' || rustup target add wasm32-wasip1
export RUSTFLAGS="-C target-feature=+simd128"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/wasip1-simd128"
wasm=$(cargo test --lib --target wasm32-wasip1 --no-default-features --no-run --message-format=json 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const l of s.split("\n")){try{const m=JSON.parse(l);if(m.reason==="compiler-artifact"&&m.profile&&m.profile.test&&m.target.name==="rapport"&&m.executable){console.log(m.executable)}}catch{}}})')
[ -n "$wasm" ] || { echo "no test binary built"; exit 1; }
node --no-warnings tools/wasi_run.mjs "$wasm" --test-threads 1 \
    --skip engine::tests::save_and_load_round_trip \
    --skip persist::tests::round_trips_file \
    --skip persist::tests::save_into_missing_directory_names_the_path \
    --skip persist::tests::save_replaces_atomically_without_leftovers
