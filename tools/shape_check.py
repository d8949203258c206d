#!/usr/bin/env python3
"""recommend_csv's defaults on splits shaped unlike the ones they were chosen on, beside peers
that are tuned on each split's own validation data.

  /path/to/peer-venv/bin/python tools/shape_check.py --peer ../shared/peer --out /tmp/shapes

The defaults were chosen on folds of the harness's two data sets (one-month Online Retail
windows, MovieLens ratings >= 4 split 80/20 at random). `recommend_csv` is also run on data
sets nobody here has seen, so this script builds splits of other shapes from the same raw
files with the harness's own code (`prepare.py`), and scores each with the harness's evaluator:

  online_retail-3m   train nine months (to 2011-09-01), test the next three months' novel
                     purchases (the shape of `prepare.py`'s online_retail_ii protocol);
                     validation split at 2011-06-01
  ml-all-ratings     every rating is a positive (weight 1), per-user random 80/20
  ml-rating-weight   the same split, weight = the rating (0.5 to 5)
  ml-temporal        ratings >= 4, each user's latest 20 % by timestamp held out (users with
                     fewer than 5 positives stay in train); validation the same inside train

Systems: popularity; implicit's ALS-CG chosen per split on validation over the harness's grid
and its extension (run_peers.ALS_GRID + edge_check.ALS_EXT, 15 iterations, seed 42); EASE
chosen per split over lambda 50 ... 10,000; rapport's `recommend_csv` with its defaults (no
tuning). Prints one JSON line per (split, system) with the test ndcg@10 / p@10 / r@10 (and the
validation ndcg@10), then rapport's paired ndcg@10 difference to each tuned peer with a 95 %
bootstrap interval over the test users.
"""
import argparse, json, os, subprocess, sys, tempfile, time

import numpy as np
import pandas as pd

ap = argparse.ArgumentParser()
ap.add_argument("--peer", default="../shared/peer")
ap.add_argument("--datasets", default=None, help="raw data directory (default: <peer>/../datasets)")
ap.add_argument("--out", default="/tmp/shapes", help="where the splits are written")
ap.add_argument("--bin", default="target/release/examples/recommend_csv")
ap.add_argument("--only", nargs="*", help="split names (default: all)")
args = ap.parse_args()
sys.path.insert(0, os.path.abspath(args.peer))
import evaluate  # noqa: E402
import prepare  # noqa: E402
import run_peers as rp  # noqa: E402
from edge_check import ALS_EXT, EASE_EXT  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from paired import difference, per_user_ndcg  # noqa: E402

raw = args.datasets or os.path.join(os.path.abspath(args.peer), "..", "datasets")


def retail_3m():
    df, _ = prepare.load_retail(os.path.join(raw, "online_retail.csv"), "online_retail")
    split, end, val = (pd.Timestamp(x) for x in ("2011-09-01", "2011-12-01", "2011-06-01"))
    train, test, _ = prepare.retail_split(df, split, end)
    vtrain, vtest, _ = prepare.retail_split(df[df.date < split], val)
    return train, test, vtrain, vtest


def movielens(positive, weight):
    df = prepare.load_movielens(os.path.join(raw, "ml-latest-small", "ratings.csv"))
    pos = df[positive(df)]
    pos = pd.DataFrame({"user_id": pos.user.astype(np.int64), "item_id": pos.item.astype(np.int64),
                        "weight": weight(pos)}).drop_duplicates(["user_id", "item_id"])
    train, test, _ = prepare.random_split(pos, 42)
    vtrain, vtest, _ = prepare.random_split(train, 43)
    return train, test, vtrain, vtest


def latest_split(pos):
    """Each user's latest floor(20 %) positives (ties by item id) to test, when the user has at
    least prepare.MIN_POS_FOR_SPLIT; test items restricted to train items."""
    pos = pos.sort_values(["user_id", "ts", "item_id"], kind="mergesort").reset_index(drop=True)
    n = pos.groupby("user_id").item_id.transform("size").values
    k = pos.groupby("user_id").cumcount(ascending=False).values  # 0 = the user's latest
    n_test = np.floor(prepare.TEST_FRACTION * n)
    is_test = (n >= prepare.MIN_POS_FOR_SPLIT) & (k < n_test)
    train, test = pos[~is_test], pos[is_test]
    test = test[test.item_id.isin(set(train.item_id))]
    return train.reset_index(drop=True), test.reset_index(drop=True)


def ml_temporal():
    df = prepare.load_movielens(os.path.join(raw, "ml-latest-small", "ratings.csv"))
    pos = df[df.rating >= 4]
    pos = pd.DataFrame({"user_id": pos.user.astype(np.int64), "item_id": pos.item.astype(np.int64),
                        "weight": 1, "ts": pos.ts.astype(np.int64)})
    train, test = latest_split(pos)
    vtrain, vtest = latest_split(train)
    return (f.drop(columns="ts") for f in (train, test, vtrain, vtest))


SPLITS = {
    "online_retail-3m": retail_3m,
    "ml-all-ratings": lambda: movielens(lambda d: d.rating > 0, lambda p: 1),
    "ml-rating-weight": lambda: movielens(lambda d: d.rating > 0, lambda p: p.rating.values),
    "ml-temporal": ml_temporal,
}


def rapport(d, train, users, path):
    t = time.time()
    subprocess.run([args.bin, "--train", f"{d}/{train}", "--users", f"{d}/{users}", "--k", "20",
                    "--out", path, "--threads", "2"], check=True, stderr=subprocess.DEVNULL)
    return time.time() - t


def tuned(name, make, grid, val, full, od):
    """Chooses the grid point with the best validation ndcg@10, refits it on train."""
    scores = [(rp.fit_and_score(make(p), val)[4]["ndcg@10"], p) for p in grid]
    best_val, best = max(scores, key=lambda s: s[0])
    _, _, ids, sc, _ = rp.fit_and_score(make(best), full)
    path = os.path.join(od, f"{name}.csv")
    rp.write_recs(path, full, ids, sc)
    return path, best, best_val


tmp = tempfile.mkdtemp()
for name in args.only or list(SPLITS):
    d = os.path.join(args.out, name)
    os.makedirs(d, exist_ok=True)
    for frame, file in zip(SPLITS[name](), ("train", "test", "val_train", "val_test")):
        prepare.write_interactions(frame, os.path.join(d, f"{file}.csv"))
    full = rp.Split(f"{d}/train.csv", f"{d}/test.csv")
    val = rp.Split(f"{d}/val_train.csv", f"{d}/val_test.csv")
    shape = {"split": name, "train users x items": list(full.X.shape), "nnz": int(full.X.nnz),
             "test users": len(full.test_users), "val users": len(val.test_users)}
    print(json.dumps(shape), flush=True)
    od = os.path.join(tmp, name)
    os.makedirs(od)
    paths = {}

    def report(system, path, params=None, val_ndcg=None):
        m = evaluate.evaluate_files(path, f"{d}/test.csv", f"{d}/train.csv")
        paths[system] = path
        print(json.dumps({"split": name, "system": system, **({"params": params} if params else {}),
                          **({"val ndcg@10": round(val_ndcg, 4)} if val_ndcg is not None else {}),
                          **{k: round(m[k], 4) for k in ("ndcg@10", "precision@10", "recall@10")}}),
              flush=True)

    _, _, ids, sc, _ = rp.fit_and_score(rp.Pop(), full)
    rp.write_recs(os.path.join(od, "pop.csv"), full, ids, sc)
    report("pop", os.path.join(od, "pop.csv"))
    grid = rp.ALS_GRID + [p for p in ALS_EXT if p not in rp.ALS_GRID]
    path, best, v = tuned("implicit", lambda p: rp.als(**p), grid, val, full, od)
    report("implicit", path, best, v)
    path, best, v = tuned("ease", rp.EASE, rp.EASE_GRID + EASE_EXT, val, full, od)
    report("EASE", path, {"lambda": best}, v)
    rapport(d, "val_train.csv", "val_test.csv", os.path.join(od, "rapport-val.csv"))
    v = evaluate.evaluate_files(os.path.join(od, "rapport-val.csv"), f"{d}/val_test.csv",
                                f"{d}/val_train.csv")["ndcg@10"]
    rapport(d, "train.csv", "test.csv", os.path.join(od, "rapport.csv"))
    report("rapport (defaults)", os.path.join(od, "rapport.csv"), None, v)

    rng = np.random.default_rng(0)
    mine = per_user_ndcg(evaluate, d, paths["rapport (defaults)"])
    for peer in ("implicit", "EASE"):
        diff = mine - per_user_ndcg(evaluate, d, paths[peer])
        print(json.dumps({"split": name, "paired": f"rapport - {peer}", **difference(diff, rng)}),
              flush=True)
