#!/usr/bin/env python3
"""A synthetic `user_id,item_id,weight` file of a chosen size, for checking how recommend_csv's
time and memory grow (not its quality: the purchases are random).

  python3 tools/synthetic_triples.py --users 138000 --items 20000 --interactions 10000000 \
      --out /tmp/big/m20

Writes PREFIX.csv (distinct user-item pairs, weight 1, sorted by user; products drawn with popularity falling as
rank^-0.8, users uniformly) and PREFIX-users.csv (every user id, some of them without a row in
the train file). Needs numpy; the same arguments and --seed give the same files.
"""
import argparse

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--users", type=int, required=True)
ap.add_argument("--items", type=int, required=True)
ap.add_argument("--interactions", type=int, required=True)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--out", required=True, help="path prefix of the two files")
a = ap.parse_args()

rng = np.random.default_rng(a.seed)
pop = 1 / np.arange(1, a.items + 1) ** 0.8
pop /= pop.sum()
draws = int(a.interactions * 1.1)  # repeated pairs collapse; draw a tenth more
user = rng.integers(0, a.users, size=draws).astype(np.int64)
item = rng.choice(a.items, size=draws, p=pop)
pairs = np.unique(user * a.items + item)
if len(pairs) < a.interactions:
    raise SystemExit(f"only {len(pairs)} distinct pairs; ask for fewer interactions")
pairs = np.sort(rng.choice(pairs, size=a.interactions, replace=False))
with open(f"{a.out}.csv", "w") as f:
    f.write("user_id,item_id,weight\n")
    f.writelines(f"{p // a.items},{p % a.items},1\n" for p in pairs)
with open(f"{a.out}-users.csv", "w") as f:
    f.write("user_id\n")
    f.writelines(f"{u}\n" for u in range(a.users))
