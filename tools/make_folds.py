#!/usr/bin/env python3
"""More validation folds, carved from the training period only (never from test).

One validation split is noisy (Online Retail: about ±0.003 ndcg@10 between equally good
configurations). This writes several folds per data set with the peer harness's own split code,
so a configuration can be judged by its mean over folds:

- online_retail: rolling origins inside the training period (before 2011-11-01), a one-month
  window each: train before 2011-10-01 / 09-01 / 08-01 / 07-01 / 06-01, test the following month
  (novel items of known customers, the harness's rule). The first fold is the harness's own val
  split.
- ml-latest-small: the harness's per-user random 80/20 split of `train`, with seeds 43 (the
  harness's val split) to 47.

  /tmp/peer-venv/bin/python tools/make_folds.py --peer ../shared/peer --out /tmp/folds

With `--users-fraction F` every fold keeps a random fraction F of its training customers (seed
7), with their training and test rows: smaller data sets of the same kind, to check that settings
chosen on the full folds carry over to less data.

Writes <out>/<dataset>/<fold>/{train,test}.csv (`user_id,item_id,weight`).
"""
import argparse, os, sys

ap = argparse.ArgumentParser()
ap.add_argument("--peer", default="../shared/peer")
ap.add_argument("--out", default="/tmp/folds")
ap.add_argument("--users-fraction", type=float, default=1.0,
                help="share of each fold's training customers to keep, in (0, 1]")
args = ap.parse_args()
if not 0.0 < args.users_fraction <= 1.0:  # also refuses nan
    ap.error(f"--users-fraction must be in (0, 1], not {args.users_fraction}")
sys.path.insert(0, os.path.abspath(args.peer))
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import prepare  # noqa: E402


def write(name, fold, train, test):
    if args.users_fraction < 1.0:
        users = sorted(train.user_id.unique())
        rng = np.random.default_rng(7)
        keep = set(rng.choice(users, max(1, int(len(users) * args.users_fraction)), replace=False))
        train, test = train[train.user_id.isin(keep)], test[test.user_id.isin(keep)]
    d = os.path.join(args.out, name, fold)
    os.makedirs(d, exist_ok=True)
    prepare.write_interactions(train, os.path.join(d, "train.csv"))
    prepare.write_interactions(test, os.path.join(d, "test.csv"))
    print(name, fold, "train", len(train), "test", len(test), "users", test.user_id.nunique())


path = next(p for p in prepare.SOURCES["online_retail"] if os.path.exists(p))
df, _ = prepare.load_retail(path, "online_retail")
df = df[df.date < pd.Timestamp("2011-11-01")]
for start, end in [("2011-10-01", "2011-11-01"), ("2011-09-01", "2011-10-01"),
                   ("2011-08-01", "2011-09-01"), ("2011-07-01", "2011-08-01"),
                   ("2011-06-01", "2011-07-01")]:
    tr, te, _ = prepare.retail_split(df, pd.Timestamp(start), pd.Timestamp(end))
    write("online_retail", start, tr, te)

ml = os.path.join(args.peer, "data", "ml-latest-small", "train.csv")
train = pd.read_csv(ml)
for seed in [43, 44, 45, 46, 47]:
    tr, te, _ = prepare.random_split(train, seed)
    write("ml-latest-small", f"seed{seed}", tr, te)
