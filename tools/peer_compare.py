#!/usr/bin/env python3
"""Peers and rapport on the same split in one run: implicit ALS-CG and EASE at their
validation-chosen settings (../shared/peer/results.md), and recommend_csv with its defaults.

  /path/to/peer-venv/bin/python tools/peer_compare.py --peer ../shared/peer

Needs the peer venv (implicit, numpy, scipy, pandas, threadpoolctl) and a release build of the
recommend_csv example. Writes recommendation CSVs to a temp dir and prints one JSON line per
(dataset, system) with the evaluator's @10 metrics and the wall time of fit + recommend, then
one line per peer with rapport's paired difference in ndcg@10 over the same test users and its
95 % bootstrap interval (2,000 resamples of users), so a gap can be told from noise.

With `--folds DIR` (from tools/make_folds.py) the same three systems run on every validation
fold instead of the test split (peers at the same settings), and a last line per data set gives
each system's mean over the folds and rapport's paired difference pooled over all fold users:
the comparison on data none of the settings was scored on at test time.

With `--seeds N` the two seeded systems (implicit and rapport; EASE has no seed) are refitted
with random seeds 0 … N−1 at the same settings on the chosen splits, and one line per data set
gives each one's ndcg@10 per seed with its mean, standard deviation and range: how far a single
run's figure, such as the harness's (seed 42) or rapport's default seed, sits from the system's
typical one. A measurement, not a way to pick a seed.
"""
import argparse, functools, json, os, subprocess, sys, tempfile, time

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
ap.add_argument("--folds", help="folds directory from tools/make_folds.py (replaces the test split)")
ap.add_argument("--seeds", type=int, default=0,
                help="also refit implicit and rapport with seeds 0..N-1 and report the spread")
args = ap.parse_args()
sys.path.insert(0, args.peer)
import evaluate  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from paired import difference, per_user_ndcg  # noqa: E402


@functools.lru_cache(maxsize=None)
def load(d):
    """Split `d` as the Python peers see it, read once however many seeds and systems use it:
    the train matrix, user id -> row, column -> item id, and the test users known to train."""
    tr = pd.read_csv(f"{d}/train.csv", dtype={"user_id": str, "item_id": str})
    te = pd.read_csv(f"{d}/test.csv", dtype={"user_id": str, "item_id": str})
    users = {u: i for i, u in enumerate(tr.user_id.unique())}
    items = {it: i for i, it in enumerate(tr.item_id.unique())}
    m = sp.csr_matrix((tr.weight.astype(np.float32), (tr.user_id.map(users), tr.item_id.map(items))),
                      shape=(len(users), len(items)))
    test_users = [u for u in te.user_id.unique() if u in users]
    return m, users, np.array(list(items)), test_users


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


def paired(ds, runs, label=None):
    """rapport's paired ndcg@10 difference to each peer over the users of `runs` (pooled)."""
    rng = np.random.default_rng(0)
    for name in ("implicit", "EASE"):
        diff = np.concatenate([per_user_ndcg(evaluate, d, p["rapport"])
                               - per_user_ndcg(evaluate, d, p[name]) for d, p in runs])
        print(json.dumps({"dataset": ds, **({"folds": label} if label else {}),
                          "paired": f"rapport - {name}", **difference(diff, rng)}), flush=True)


def implicit_recs(ds, d, path, seed):
    """implicit's ALS at its chosen settings with `seed`, recommendations written to `path`;
    returns the seconds of fit + recommend."""
    m, users, inv_items, test_users = load(d)
    from implicit.cpu.als import AlternatingLeastSquares
    t = time.time()
    with threadpool_limits(1, "blas"):
        als = AlternatingLeastSquares(**IMPLICIT[ds], iterations=15, random_state=seed,
                                      num_threads=2)
        als.fit(m, show_progress=False)
        idx = np.array([users[u] for u in test_users])
        ids, scores = als.recommend(idx, m[idx], N=20, filter_already_liked_items=True)
    el = time.time() - t
    write(path, [(u, list(zip(inv_items[ids[i]], scores[i]))) for i, u in enumerate(test_users)])
    return el


def rapport_recs(d, path, seed=None):
    """recommend_csv at its defaults (and `seed`, when given), written to `path`."""
    cmd = [args.bin, "--train", f"{d}/train.csv", "--users", f"{d}/test.csv", "--k", "20",
           "--out", path, "--threads", "2"]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)


def seed_spread(ds, splits):
    """ndcg@10 of implicit and rapport over seeds 0..N-1, averaged over `splits` per seed."""
    for name in ("implicit", "rapport"):
        per_seed = []
        for seed in range(args.seeds):
            vals = []
            for d in splits:
                p = os.path.join(tmp, f"{ds}-seed{seed}-{name}.csv")
                if name == "implicit":
                    implicit_recs(ds, d, p, seed)
                else:
                    rapport_recs(d, p, seed)
                vals.append(score(d, p)["ndcg@10"])
            per_seed.append(float(np.mean(vals)))
        v = np.array(per_seed)
        print(json.dumps({"dataset": ds, "splits": len(splits), "system": name, "seeds": len(v),
                          "ndcg@10": [round(x, 4) for x in per_seed],
                          "mean": round(float(v.mean()), 4), "sd": round(float(v.std(ddof=1)), 4),
                          "min": round(float(v.min()), 4), "max": round(float(v.max()), 4)}),
              flush=True)


def run(ds, d, tag):
    """All three systems on split directory `d`; returns {system: recommendations CSV}."""
    m, users, inv_items, test_users = load(d)
    out, paths = {"dataset": ds, **({"fold": tag} if tag else {})}, {}

    p = paths["implicit"] = os.path.join(tmp, f"{ds}{tag}-implicit.csv")
    el = implicit_recs(ds, d, p, 42)
    print(json.dumps({**out, "system": f"implicit ALS {IMPLICIT[ds]}", "seconds": round(el, 2), **score(d, p)}), flush=True)

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
    p = paths["EASE"] = os.path.join(tmp, f"{ds}{tag}-ease.csv")
    write(p, [(u, [(inv_items[j], s[i, j]) for j in top[i]]) for i, u in enumerate(test_users)])
    print(json.dumps({**out, "system": f"EASE lambda={EASE[ds]}", "seconds": round(el, 2), **score(d, p)}), flush=True)

    p = paths["rapport"] = os.path.join(tmp, f"{ds}{tag}-rapport.csv")
    t = time.time()
    rapport_recs(d, p)
    el = time.time() - t
    print(json.dumps({**out, "system": "rapport recommend_csv (defaults)", "seconds": round(el, 2), **score(d, p)}), flush=True)
    return paths


tmp = tempfile.mkdtemp()
for ds in args.datasets:
    if not args.folds:
        d = os.path.join(args.peer, "data", ds)
        paired(ds, [(d, run(ds, d, ""))])
        if args.seeds:
            seed_spread(ds, [d])
        continue
    base = os.path.join(args.folds, ds)
    runs = [(os.path.join(base, f), run(ds, os.path.join(base, f), f))
            for f in sorted(os.listdir(base), reverse=True)]
    means = {name: round(float(np.mean([score(d, p[name])["ndcg@10"] for d, p in runs])), 4)
             for name in ("implicit", "EASE", "rapport")}
    print(json.dumps({"dataset": ds, "folds": len(runs), "mean ndcg@10": means}), flush=True)
    paired(ds, runs, f"{len(runs)} pooled")
    if args.seeds:
        seed_spread(ds, [d for d, _ in runs])
