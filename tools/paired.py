"""Per-user ndcg@10 and a paired bootstrap interval, shared by peer_compare.py and shape_check.py
so that both report a gap between two systems the same way."""
import numpy as np


def per_user_ndcg(evaluate, d, path):
    """ndcg@10 of every user in `d`/test.csv for the recommendations CSV `path`, by the peer
    evaluator's own definition (0 without recommendations), in sorted user order."""
    recs, _ = evaluate.read_recs(path)
    test = evaluate.read_interactions(f"{d}/test.csv")
    return np.array([evaluate.evaluate({u: recs.get(u, [])}, {u: test[u]}, ks=(10,))["ndcg@10"]
                     for u in sorted(test)])


def difference(diff, rng):
    """Mean of the per-user differences `diff` with its 95 % bootstrap interval (2,000
    resamples of users drawn from `rng`), as the JSON fields both scripts print."""
    boot = diff[rng.integers(0, len(diff), size=(2000, len(diff)))].mean(axis=1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return {"users": len(diff), "ndcg@10_diff": round(float(diff.mean()), 4),
            "ci95": [round(float(lo), 4), round(float(hi), 4)]}
