#!/usr/bin/env python3
"""Validation grid for recommend_csv's defaults (stdlib only).

Runs the release `recommend_csv` on each data set's val_train -> val_test split (never on test)
and scores it with the peer evaluator, printing one JSON line per configuration.

  python3 tools/tune_defaults.py --peer ../shared/peer --datasets online_retail ml-latest-small \
      --grid 'factors=64,128 regularization=0.1,1,10 alpha=1,2,5'

With `--folds DIR` (made by tools/make_folds.py) every configuration runs on each fold
DIR/<dataset>/<fold>/{train,test}.csv instead, and the row holds the per-fold figures and their mean.
"""
import argparse, itertools, json, os, subprocess, sys, tempfile

ap = argparse.ArgumentParser()
ap.add_argument("--peer", default="../shared/peer")
ap.add_argument("--datasets", nargs="+", default=["online_retail", "ml-latest-small"])
ap.add_argument("--grid", required=True, help="space-separated name=v1,v2 lists (recommend_csv flags)")
ap.add_argument("--bin", default="target/release/examples/recommend_csv")
ap.add_argument("--split", default="val", choices=["val", "test"])
ap.add_argument("--threads", default="2")
ap.add_argument("--folds", help="folds directory from tools/make_folds.py (replaces --split)")
args = ap.parse_args()

axes = [(kv.split("=")[0], kv.split("=")[1].split(",")) for kv in args.grid.split()]
pre = "val_" if args.split == "val" else ""


def score(train, test, params):
    """ndcg@10 of recommend_csv with `params` trained on `train`, scored on `test`."""
    with tempfile.NamedTemporaryFile(suffix=".csv") as out:
        cmd = [args.bin, "--train", train, "--users", test, "--k", "20", "--out", out.name,
               "--threads", args.threads]
        for n, v in params.items():
            cmd += [f"--{n}", v]
        subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
        ev = subprocess.run([sys.executable, os.path.join(args.peer, "evaluate.py"), "--recs", out.name,
                             "--test", test, "--train", train, "--k", "10"],
                            check=True, capture_output=True, text=True)
        return round(json.loads(ev.stdout)["ndcg@10"], 4)


for combo in itertools.product(*[vals for _, vals in axes]):
    params = dict(zip([n for n, _ in axes], combo))
    row = {"params": params}
    for ds in args.datasets:
        if args.folds:
            base = os.path.join(args.folds, ds)
            splits = [(os.path.join(base, f, "train.csv"), os.path.join(base, f, "test.csv"))
                      for f in sorted(os.listdir(base), reverse=True)]
        else:
            d = os.path.join(args.peer, "data", ds)
            splits = [(f"{d}/{pre}train.csv", f"{d}/{pre}test.csv")]
        scores = [score(train, test, params) for train, test in splits]
        row[ds] = scores[0] if len(scores) == 1 else {
            "folds": scores, "mean": round(sum(scores) / len(scores), 4)}
    print(json.dumps(row), flush=True)
