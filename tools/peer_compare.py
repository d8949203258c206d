#!/usr/bin/env python3
"""Peers and rapport on the same split in one run: implicit ALS-CG and EASE at their
validation-chosen settings (../shared/peer/results.md), and recommend_csv with its defaults.

  /path/to/peer-venv/bin/python tools/peer_compare.py --peer ../shared/peer

Needs the peer venv (implicit, numpy, scipy, pandas, threadpoolctl) and a release build of the
recommend_csv example. Writes recommendation CSVs to a temp dir and prints one JSON line per
(dataset, system) with the evaluator's @10 metrics and the wall time of fit + recommend, then
one line per peer with rapport's paired difference in ndcg@10 over the same test users and its
95 % bootstrap interval (2,000 resamples of users), so a gap can be told from noise.
"""
import argparse, json, os, subprocess, sys, tempfile, time

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

# validation-chosen settings, from the peer harness's results.md (in-brief grid + extension)
IMPLICIT = {"online_retail": dict(factors=128, regularization=30.0, alpha=2.0),
            "ml-latest-small": dict(factors=128, regularization=30.0, alpha=5.0)}
EASE = {"online_retail": 500.0, "ml-latest-small": 100.0}

ap = argparse.ArgumentParser()
ap.add_argument("--peer", default="../shared/peer")
ap.add_argument("--datasets", nargs="+", default=["online_retail", "ml-latest-small"])
ap.add_argument("--bin", default="target/release/examples/recommend_csv")
args = ap.parse_args()
sys.path.insert(0, args.peer)
import evaluate  # noqa: E402


def load(ds):
    d = os.path.join(args.peer, "data", ds)
    tr = pd.read_csv(f"{d}/train.csv", dtype={"user_id": str, "item_id": str})
    te = pd.read_csv(f"{d}/test.csv", dtype={"user_id": str, "item_id": str})
    users = {u: i for i, u in enumerate(tr.user_id.unique())}
    items = {it: i for i, it in enumerate(tr.item_id.unique())}
    m = sp.csr_matrix((tr.weight.astype(np.float32), (tr.user_id.map(users), tr.item_id.map(items))),
                      shape=(len(users), len(items)))
    return d, m, users, items, te


def write(path, rows):
    with open(path, "w") as f:
        f.write("user_id,rank,item_id,score\n")
        for u, recs in rows:
            for r, (it, s) in enumerate(recs, 1):
                f.write(f"{u},{r},{it},{s}\n")


def score(d, path):
    out = subprocess.run([sys.executable, os.path.join(args.peer, "evaluate.py"), "--recs", path,
                          "--test", f"{d}/test.csv", "--train", f"{d}/train.csv", "--k", "10"],
                         check=True, capture_output=True, text=True).stdout
    m = json.loads(out)
    return {k: round(v, 4) for k, v in m.items() if k.endswith("@10") and isinstance(v, float)}


def per_user_ndcg(d, path):
    """ndcg@10 of every test user, by the evaluator's own definition (0 without recommendations)."""
    recs, _ = evaluate.read_recs(path)
    test = evaluate.read_interactions(f"{d}/test.csv")
    return np.array([evaluate.evaluate({u: recs.get(u, [])}, {u: test[u]}, ks=(10,))["ndcg@10"]
                     for u in sorted(test)])


def paired(ds, d, ours, peers):
    a = per_user_ndcg(d, ours)
    rng = np.random.default_rng(0)
    for name, path in peers:
        diff = a - per_user_ndcg(d, path)
        boot = diff[rng.integers(0, len(diff), size=(2000, len(diff)))].mean(axis=1)
        lo, hi = np.percentile(boot, [2.5, 97.5])
        print(json.dumps({"dataset": ds, "paired": f"rapport - {name}", "users": len(diff),
                          "ndcg@10_diff": round(float(diff.mean()), 4),
                          "ci95": [round(float(lo), 4), round(float(hi), 4)]}), flush=True)


tmp = tempfile.mkdtemp()
for ds in args.datasets:
    d, m, users, items, te = load(ds)
    inv_items = np.array(list(items))
    test_users = [u for u in te.user_id.unique() if u in users]

    from implicit.cpu.als import AlternatingLeastSquares
    t = time.time()
    with threadpool_limits(1, "blas"):
        als = AlternatingLeastSquares(**IMPLICIT[ds], iterations=15, random_state=42, num_threads=2)
        als.fit(m, show_progress=False)
        idx = np.array([users[u] for u in test_users])
        ids, scores = als.recommend(idx, m[idx], N=20, filter_already_liked_items=True)
    el = time.time() - t
    p = os.path.join(tmp, f"{ds}-implicit.csv")
    write(p, [(u, list(zip(inv_items[ids[i]], scores[i]))) for i, u in enumerate(test_users)])
    print(json.dumps({"dataset": ds, "system": f"implicit ALS {IMPLICIT[ds]}", "seconds": round(el, 2), **score(d, p)}), flush=True)

    t = time.time()
    with threadpool_limits(2, "blas"):
        x = (m > 0).astype(np.float64).toarray()
        g = x.T @ x
        g[np.diag_indices_from(g)] += EASE[ds]
        pinv = np.linalg.inv(g)
        b = pinv / (-np.diag(pinv))
        b[np.diag_indices_from(b)] = 0
        idx = np.array([users[u] for u in test_users])
        s = x[idx] @ b
        s[x[idx] > 0] = -np.inf
        top = np.argsort(-s, axis=1)[:, :20]
    el = time.time() - t
    p = os.path.join(tmp, f"{ds}-ease.csv")
    write(p, [(u, [(inv_items[j], s[i, j]) for j in top[i]]) for i, u in enumerate(test_users)])
    print(json.dumps({"dataset": ds, "system": f"EASE lambda={EASE[ds]}", "seconds": round(el, 2), **score(d, p)}), flush=True)

    p = os.path.join(tmp, f"{ds}-rapport.csv")
    t = time.time()
    subprocess.run([args.bin, "--train", f"{d}/train.csv", "--users", f"{d}/test.csv", "--k", "20",
                    "--out", p, "--threads", "2"], check=True, stderr=subprocess.DEVNULL)
    el = time.time() - t
    print(json.dumps({"dataset": ds, "system": "rapport recommend_csv (defaults)", "seconds": round(el, 2), **score(d, p)}), flush=True)
    paired(ds, d, p, [("implicit", os.path.join(tmp, f"{ds}-implicit.csv")),
                      ("EASE", os.path.join(tmp, f"{ds}-ease.csv"))])
