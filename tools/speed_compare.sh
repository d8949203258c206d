#!/usr/bin/env bash
# Scoring and training speed next to the peers, in one run on this machine:
#   tools/speed_compare.sh [PEER_DIR] [PYTHON]
# PEER_DIR is the peer harness (default ../shared/peer); PYTHON has implicit, faiss and numpy.
# Writes the peers' tables to target/speed/ and prints criterion's lines for rapport.
set -euo pipefail
cd "$(dirname "$0")/.."
peer=${1:-../shared/peer}
py=${2:-python3}
out=target/speed
mkdir -p "$out"
cargo bench --bench scoring --no-run
echo "== peers: single-customer top-10 (1 thread) and batch 10k customers (2 threads)"
"$py" "$peer/bench_scoring.py" --items 10000 100000 1000000 --factors 64 --threads 1 2 \
    --batch-users 10000 --out "$out/peer_scoring" >/dev/null
grep -E '^\| (10,000|100,000|1,000,000) \| 64 \|' "$out/peer_scoring.md" || true
echo "== peers: ALS-CG on Online Retail (2 threads)"
"$py" "$peer/bench_training.py" --datasets online_retail --threads 2 --repeats 3 \
    --out "$out/peer_training" >/dev/null
grep -E 'als \| cg' "$out/peer_training.md" || true
echo "== rapport"
cargo bench --bench scoring -- 'top10_single|top10_64_queries|top10_batch|fold_in|als/online_retail' 2>&1 |
    grep -E '^(top10|fold_in|als|recommend)|time:' | grep -v 'change' || true
