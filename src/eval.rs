//! Offline evaluation of top-k recommendations: train/test splits, ranking metrics and a small
//! grid search.
//!
//! The metrics are those of the peer evaluator the project compares against (`evaluate.py`), so
//! numbers from rapport and from other libraries are comparable. For every evaluated user — every
//! user with at least one test triple — the first `k` distinct recommended items are taken (a
//! repeated item counts once, at its best rank). With `T` the user's test items and hits at
//! 1-based positions `i`:
//!
//! - precision@k = hits / k
//! - recall@k = hits / min(k, |T|)
//! - ndcg@k = Σ_hits 1/log2(i+1) / Σ_{j=1..min(k,|T|)} 1/log2(j+1)
//! - map@k = Σ_hits (hits among the first i)/i / min(k, |T|)
//!
//! Each is averaged over all evaluated users; a user without recommendations scores 0.
//! coverage@k = distinct items in the evaluated users' top-k lists / distinct train items.

use crate::error::{Error, Result, check_weight};
use crate::history::History;
use crate::interactions::Triple;
use crate::time::Timestamp;
use hashbrown::HashSet;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Ranking quality at one cut-off `k`, averaged over the evaluated users.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// The cut-off.
    pub k: usize,
    /// Number of evaluated users (users with at least one test item).
    pub users: usize,
    /// Mean precision@k.
    pub precision: f64,
    /// Mean recall@k (denominator min(k, |T|)).
    pub recall: f64,
    /// Mean binary nDCG@k (ideal DCG over min(k, |T|) items).
    pub ndcg: f64,
    /// Mean average precision@k (denominator min(k, |T|)).
    pub map: f64,
    /// Distinct recommended items over distinct train items.
    pub coverage: f64,
}

impl fmt::Display for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.k;
        write!(
            f,
            "users={} precision@{k}={:.4} recall@{k}={:.4} ndcg@{k}={:.4} map@{k}={:.4} \
             coverage@{k}={:.4}",
            self.users, self.precision, self.recall, self.ndcg, self.map, self.coverage
        )
    }
}

/// Test targets grouped by user, built once and reused for several `k` or several models.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TestSet {
    /// Evaluated users, ascending.
    users: Vec<u32>,
    /// Each user's distinct test items, ascending.
    items: Vec<Vec<u32>>,
}

impl TestSet {
    /// Groups test triples by user. Every triple is a target whatever its weight; repeated
    /// (user, item) pairs count once.
    pub fn new(test: &[Triple]) -> Self {
        let mut pairs: Vec<(u32, u32)> = test.iter().map(|t| (t.user, t.item)).collect();
        pairs.sort_unstable();
        pairs.dedup();
        let mut set = TestSet::default();
        for (u, i) in pairs {
            if set.users.last() != Some(&u) {
                set.users.push(u);
                set.items.push(Vec::new());
            }
            set.items.last_mut().expect("pushed above").push(i);
        }
        set
    }

    /// Number of evaluated users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether there is no test user.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// The evaluated users (ascending) with their test items (ascending, distinct).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (u32, &[u32])> + '_ {
        self.users
            .iter()
            .copied()
            .zip(self.items.iter().map(Vec::as_slice))
    }

    /// Scores recommendations given per user index (best first); users beyond the slice have
    /// none. See [`evaluate`].
    pub fn evaluate(&self, recs: &[Vec<u32>], train_items: usize, k: usize) -> Metrics {
        self.evaluate_with(train_items, k, |u| {
            recs.get(u as usize).map(Vec::as_slice).unwrap_or(&[])
        })
    }

    /// Scores recommendations produced on demand: `recommend(user)` is called once per
    /// evaluated user and returns that user's items, best first (only the first `k` distinct
    /// ones are read). Lets a caller compute lists for the test users only.
    pub fn evaluate_with<R: AsRef<[u32]>>(
        &self,
        train_items: usize,
        k: usize,
        mut recommend: impl FnMut(u32) -> R,
    ) -> Metrics {
        let mut m = Metrics {
            k,
            users: self.len(),
            precision: 0.0,
            recall: 0.0,
            ndcg: 0.0,
            map: 0.0,
            coverage: 0.0,
        };
        if k == 0 {
            return m;
        }
        // ideal[j] = Σ_{i=1..j} 1/log2(i+1)
        let longest = self.items.iter().map(Vec::len).max().unwrap_or(0).min(k);
        let mut ideal = Vec::with_capacity(longest + 1);
        ideal.push(0.0);
        for j in 1..=longest {
            ideal.push(ideal[j - 1] + discount(j));
        }
        let mut recommended: HashSet<u32> = HashSet::new();
        let mut top: Vec<u32> = Vec::with_capacity(k.min(1024));
        let mut seen: HashSet<u32> = HashSet::new();
        for (user, targets) in self.iter() {
            let list = recommend(user);
            top.clear();
            seen.clear();
            for &item in list.as_ref() {
                if top.len() == k {
                    break;
                }
                if seen.insert(item) {
                    top.push(item);
                }
            }
            recommended.extend(top.iter().copied());
            let (mut hits, mut dcg, mut ap) = (0usize, 0.0f64, 0.0f64);
            for (pos, item) in top.iter().enumerate() {
                if targets.binary_search(item).is_ok() {
                    let i = pos + 1;
                    hits += 1;
                    dcg += discount(i);
                    ap += hits as f64 / i as f64;
                }
            }
            let denom = k.min(targets.len());
            m.precision += hits as f64 / k as f64;
            m.recall += hits as f64 / denom as f64;
            m.ndcg += dcg / ideal[denom];
            m.map += ap / denom as f64;
        }
        let n = self.len().max(1) as f64;
        m.precision /= n;
        m.recall /= n;
        m.ndcg /= n;
        m.map /= n;
        m.coverage = recommended.len() as f64 / train_items.max(1) as f64;
        m
    }
}

/// 1 / log2(i + 1) for a 1-based position `i`.
fn discount(i: usize) -> f64 {
    1.0 / ((i + 1) as f64).log2()
}

/// Scores top-k recommendations against held-out test triples.
///
/// `recs[u]` lists the items recommended to user index `u`, best first (train items should
/// already be removed); users beyond the slice have none. The evaluated users are the users of
/// `test`; `train_items` is the number of distinct train items (the coverage denominator).
/// With `k == 0` every metric is 0. To score several `k` or models against the same test set,
/// build a [`TestSet`] once.
///
/// ```
/// use rapport::eval::evaluate;
/// use rapport::interactions::Triple;
/// let test = [Triple { user: 0, item: 2, weight: 1.0 }];
/// let m = evaluate(&[vec![5, 2]], &test, 10, 2);
/// assert_eq!((m.users, m.precision, m.recall), (1, 0.5, 1.0));
/// assert_eq!(m.coverage, 0.2);
/// ```
pub fn evaluate(recs: &[Vec<u32>], test: &[Triple], train_items: usize, k: usize) -> Metrics {
    TestSet::new(test).evaluate(recs, train_items, k)
}

/// A train/test partition of interaction triples.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// Interactions to train on.
    pub train: Vec<Triple>,
    /// Held-out targets.
    pub test: Vec<Triple>,
}

impl Split {
    /// Number of distinct items in train (the coverage denominator of [`evaluate`]).
    pub fn train_items(&self) -> usize {
        self.train
            .iter()
            .map(|t| t.item)
            .collect::<HashSet<_>>()
            .len()
    }

    /// The test triples grouped for [`TestSet::evaluate`].
    pub fn test_set(&self) -> TestSet {
        TestSet::new(&self.test)
    }
}

/// Per-user random split, the protocol used for MovieLens (the same rule as the peer
/// harness's `prepare.py`, not the same draw: its generator is not numpy's, so seed 42 keeps
/// the same number of each user's items in train, but not the same items).
///
/// Repeated (user, item) pairs are first merged (weights summed). Users are visited in
/// ascending index order with their items ascending; a user with fewer than `min_interactions`
/// distinct items stays entirely in train; otherwise `floor(test_fraction · n)` of their `n`
/// items, drawn with a generator seeded by `seed`, go to test. Test items absent from train are
/// then dropped. Both halves come out sorted by (user, item); the same input and seed always
/// give the same split.
///
/// Errors: [`Error::InvalidArgument`] unless `0 < test_fraction < 1`;
/// [`Error::InvalidWeight`] on a NaN, infinite or negative weight, or a repeated pair whose
/// weights sum past `f32::MAX`.
pub fn random_split(
    triples: &[Triple],
    test_fraction: f64,
    min_interactions: usize,
    seed: u64,
) -> Result<Split> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(Error::InvalidArgument(format!(
            "test fraction {test_fraction} is not strictly between 0 and 1"
        )));
    }
    for t in triples {
        check_weight("weight", t.weight as f64)?;
    }
    let mut merged: Vec<Triple> = triples.to_vec();
    merged.sort_by_key(|t| (t.user, t.item));
    merged.dedup_by(|next, kept| {
        let same = (next.user, next.item) == (kept.user, kept.item);
        if same {
            kept.weight += next.weight;
        }
        same
    });
    for t in &merged {
        // repeated pairs can sum past f32's range
        check_weight("summed weight", t.weight as f64)?;
    }
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut is_test = vec![false; merged.len()];
    let mut order: Vec<usize> = Vec::new();
    let mut start = 0;
    while start < merged.len() {
        let user = merged[start].user;
        let end = start + merged[start..].partition_point(|t| t.user == user);
        let n = end - start;
        if n >= min_interactions {
            let n_test = (test_fraction * n as f64).floor() as usize;
            order.clear();
            order.extend(start..end);
            let (chosen, _) = order.partial_shuffle(&mut rng, n_test);
            for &i in chosen.iter() {
                is_test[i] = true;
            }
        }
        start = end;
    }
    let mut split = Split::default();
    for (t, test) in merged.into_iter().zip(is_test) {
        if test {
            split.test.push(t);
        } else {
            split.train.push(t);
        }
    }
    let train_items: HashSet<u32> = split.train.iter().map(|t| t.item).collect();
    split.test.retain(|t| train_items.contains(&t.item));
    Ok(split)
}

/// Temporal split of a purchase history, the protocol used for Online Retail.
///
/// Train holds the lines before `cutoff`, one triple per (customer, product) with weight = the
/// number of distinct orders that contained it. Test holds, with weight 1, the (customer,
/// product) pairs bought at or after `cutoff` that the customer had not bought before it,
/// restricted to customers and products that appear in train. Indices are the history's
/// customer and product indices; both halves come out sorted by (customer, product).
pub fn temporal_split(history: &History, cutoff: Timestamp) -> Split {
    let mut split = Split {
        train: history.order_counts(Some(cutoff)),
        test: Vec::new(),
    };
    let mut after: Vec<(u32, u32)> = history
        .lines()
        .iter()
        .filter(|l| l.timestamp >= cutoff)
        .map(|l| (l.customer, l.product))
        .collect();
    let customers: HashSet<u32> = split.train.iter().map(|t| t.user).collect();
    let products: HashSet<u32> = split.train.iter().map(|t| t.item).collect();
    after.sort_unstable();
    after.dedup();
    for (customer, product) in after {
        let bought_before = split
            .train
            .binary_search_by_key(&(customer, product), |t| (t.user, t.item))
            .is_ok();
        if !bought_before && customers.contains(&customer) && products.contains(&product) {
            split.test.push(Triple {
                user: customer,
                item: product,
                weight: 1.0,
            });
        }
    }
    split
}

/// Scores every candidate and returns the best one, its score, and all `(candidate, score)` pairs
/// in the order given. Higher is better; on a tie the earlier candidate wins; a NaN score never
/// wins.
///
/// Errors: [`Error::Empty`] when `candidates` is empty or every score is NaN; the first error
/// `score` returns, as is.
///
/// ```
/// use rapport::eval::grid_search;
/// let (best, score, all) = grid_search(&[1.0, 3.0, 2.0], |&x| Ok(-(x - 2.5f64).abs())).unwrap();
/// assert_eq!((best, score), (3.0, -0.5));
/// assert_eq!(all.len(), 3);
/// ```
#[allow(clippy::type_complexity)] // the plain tuple reads better than an alias here
pub fn grid_search<P: Clone>(
    candidates: &[P],
    mut score: impl FnMut(&P) -> Result<f64>,
) -> Result<(P, f64, Vec<(P, f64)>)> {
    if candidates.is_empty() {
        return Err(Error::Empty("no candidates to search".into()));
    }
    let mut all: Vec<(P, f64)> = Vec::with_capacity(candidates.len());
    let mut best: Option<usize> = None;
    for (i, c) in candidates.iter().enumerate() {
        let s = score(c)?;
        if !s.is_nan() && best.is_none_or(|b: usize| s > all[b].1) {
            best = Some(i);
        }
        all.push((c.clone(), s));
    }
    match best {
        Some(b) => Ok((all[b].0.clone(), all[b].1, all)),
        None => Err(Error::Empty("every candidate scored NaN".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Purchase;

    fn t(user: u32, item: u32) -> Triple {
        Triple {
            user,
            item,
            weight: 1.0,
        }
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    /// Evaluated users 0, 1, 2, 5. User 0: |T| = 2 < k, a repeated item in its list. User 1:
    /// |T| = 4 > k. User 2: an empty list. User 5: beyond the recs slice. User 3 has a list but
    /// no test items, so it is not evaluated and does not count towards coverage.
    fn tiny() -> (Vec<Vec<u32>>, Vec<Triple>) {
        let recs = vec![vec![1, 1, 3, 2, 9], vec![0, 5, 4, 6], vec![], vec![7, 8, 9]];
        let test = vec![
            t(0, 1),
            t(0, 2),
            t(0, 1),
            t(1, 4),
            t(1, 5),
            t(1, 6),
            t(1, 7),
            t(2, 8),
            t(5, 9),
        ];
        (recs, test)
    }

    #[test]
    fn metrics_by_hand() {
        let (recs, test) = tiny();
        let m = evaluate(&recs, &test, 10, 3);
        assert_eq!((m.k, m.users), (3, 4));
        let l3 = 1.0 / 3f64.log2();
        // user 0: top-3 = [1, 3, 2], hits at 1 and 3; user 1: top-3 = [0, 5, 4], hits at 2, 3
        close(m.precision, (2.0 / 3.0 + 2.0 / 3.0) / 4.0);
        close(m.recall, (2.0 / 2.0 + 2.0 / 3.0) / 4.0);
        let ndcg0 = (1.0 + 0.5) / (1.0 + l3);
        let ndcg1 = (l3 + 0.5) / (1.0 + l3 + 0.5);
        close(m.ndcg, (ndcg0 + ndcg1) / 4.0);
        let map0 = (1.0 / 1.0 + 2.0 / 3.0) / 2.0;
        let map1 = (1.0 / 2.0 + 2.0 / 3.0) / 3.0;
        close(m.map, (map0 + map1) / 4.0);
        close(m.coverage, 6.0 / 10.0);

        let m = evaluate(&recs, &test, 10, 10);
        // user 0: [1, 3, 2, 9], hits 1, 3; user 1: [0, 5, 4, 6], hits 2, 3, 4
        let l5 = 1.0 / 5f64.log2();
        close(m.precision, (0.2 + 0.3) / 4.0);
        close(m.recall, (1.0 + 0.75) / 4.0);
        let ndcg1 = (l3 + 0.5 + l5) / (1.0 + l3 + 0.5 + l5);
        close(m.ndcg, (ndcg0 + ndcg1) / 4.0);
        let map1 = (1.0 / 2.0 + 2.0 / 3.0 + 3.0 / 4.0) / 4.0;
        close(m.map, (map0 + map1) / 4.0);
        close(m.coverage, 0.8);
    }

    #[test]
    fn matches_peer_evaluator() {
        // Produced by the peer evaluator (evaluate.py --k 3 10) on the same data written as
        // CSV: test = tiny(), recs = tiny() as user_id,rank,item_id, a train file with items 0..9.
        let (recs, test) = tiny();
        let set = TestSet::new(&test);
        let m = set.evaluate(&recs, 10, 3);
        close(m.precision, 0.3333333333333333);
        close(m.recall, 0.41666666666666663);
        close(m.ndcg, 0.3626105157813577);
        close(m.map, 0.3055555555555555);
        close(m.coverage, 0.6);
        let m = set.evaluate(&recs, 10, 10);
        close(m.precision, 0.125);
        close(m.recall, 0.4375);
        close(m.ndcg, 0.3823351847890215);
        close(m.map, 0.328125);
        close(m.coverage, 0.8);
    }

    #[test]
    fn edge_cases_score_zero() {
        let (recs, test) = tiny();
        let m = evaluate(&recs, &test, 10, 0);
        assert_eq!(
            (m.users, m.precision, m.ndcg, m.coverage),
            (4, 0.0, 0.0, 0.0)
        );
        let m = evaluate(&recs, &[], 10, 5);
        assert_eq!(
            (m.users, m.precision, m.recall, m.coverage),
            (0, 0.0, 0.0, 0.0)
        );
        let m = evaluate(&[], &test, 0, 5);
        assert_eq!((m.users, m.map, m.coverage), (4, 0.0, 0.0));
        // a perfect list scores 1 everywhere
        let m = evaluate(&[vec![4, 2]], &[t(0, 2), t(0, 4)], 5, 2);
        assert_eq!((m.precision, m.recall, m.ndcg, m.map), (1.0, 1.0, 1.0, 1.0));
        assert!(m.to_string().contains("ndcg@2=1.0000"), "{m}");
    }

    #[test]
    fn evaluate_with_calls_only_test_users() {
        let (recs, test) = tiny();
        let mut asked = Vec::new();
        let m = TestSet::new(&test).evaluate_with(10, 3, |u| {
            asked.push(u);
            recs.get(u as usize).cloned().unwrap_or_default()
        });
        assert_eq!(asked, vec![0, 1, 2, 5]);
        assert_eq!(m, evaluate(&recs, &test, 10, 3));
    }

    fn many() -> Vec<Triple> {
        // user u has 3 + u distinct items; item 0 is seen by everyone
        let mut v = Vec::new();
        for u in 0..40u32 {
            for j in 0..(3 + u) {
                v.push(t(u, if j == 0 { 0 } else { 1 + (u * 7 + j * 13) % 96 }));
            }
        }
        v
    }

    #[test]
    fn random_split_sizes_and_restrictions() {
        let data = many();
        let s = random_split(&data, 0.2, 5, 42).unwrap();
        assert!(s.train.len() + s.test.len() <= data.len());
        for u in 0..40u32 {
            let n = data.iter().filter(|x| x.user == u).count();
            let n_test = s.test.iter().filter(|x| x.user == u).count();
            let n_train = s.train.iter().filter(|x| x.user == u).count();
            if n < 5 {
                assert_eq!((n_train, n_test), (n, 0), "user {u}");
            } else {
                assert_eq!(n_train, n - (n as f64 * 0.2).floor() as usize, "user {u}");
                assert!(n_test <= (n as f64 * 0.2).floor() as usize);
            }
        }
        let train_items: HashSet<u32> = s.train.iter().map(|x| x.item).collect();
        assert!(s.test.iter().all(|x| train_items.contains(&x.item)));
        let train_pairs: HashSet<(u32, u32)> = s.train.iter().map(|x| (x.user, x.item)).collect();
        assert!(
            s.test
                .iter()
                .all(|x| !train_pairs.contains(&(x.user, x.item)))
        );
        assert!(s.train.is_sorted_by_key(|x| (x.user, x.item)));
        assert!(s.test.is_sorted_by_key(|x| (x.user, x.item)));
        assert!(!s.test.is_empty());
    }

    #[test]
    fn random_split_is_seeded() {
        let data = many();
        let a = random_split(&data, 0.3, 3, 7).unwrap();
        assert_eq!(a, random_split(&data, 0.3, 3, 7).unwrap());
        let b = random_split(&data, 0.3, 3, 8).unwrap();
        assert_ne!(a.test, b.test);
        assert_eq!(a.train.len() + a.test.len(), b.train.len() + b.test.len());
    }

    #[test]
    fn random_split_merges_repeats_and_drops_unseen_items() {
        // item 99 only ever appears for user 0: if it lands in test it must be dropped
        let mut data: Vec<Triple> = (0..5).map(|i| t(0, i)).collect();
        data.push(t(0, 0));
        data.push(t(0, 99));
        data.extend((0..5).map(|i| t(1, i)));
        for seed in 0..20 {
            let s = random_split(&data, 0.5, 2, seed).unwrap();
            let zero = s
                .train
                .iter()
                .chain(&s.test)
                .find(|x| (x.user, x.item) == (0, 0));
            if let Some(z) = zero {
                assert_eq!(z.weight, 2.0);
            }
            assert!(s.test.iter().all(|x| x.item != 99));
            assert_eq!(
                s.train.iter().filter(|x| x.user == 0).count(),
                6 - 3,
                "6 distinct items, 3 to test"
            );
        }
    }

    #[test]
    fn random_split_rejects_bad_arguments() {
        for f in [0.0, 1.0, -0.1, 1.5, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                random_split(&many(), f, 5, 1),
                Err(Error::InvalidArgument(_))
            ));
        }
        let bad = [Triple {
            user: 0,
            item: 0,
            weight: f32::NAN,
        }];
        assert!(matches!(
            random_split(&bad, 0.2, 1, 1),
            Err(Error::InvalidWeight { .. })
        ));
        let huge = [0, 0, 1].map(|item| Triple {
            user: 0,
            item,
            weight: 3e38,
        });
        assert!(matches!(
            random_split(&huge, 0.2, 1, 1),
            Err(Error::InvalidWeight { .. })
        ));
        assert!(matches!(
            crate::interactions::Interactions::from_triples(1, 2, &huge),
            Err(Error::InvalidWeight { .. })
        ));
        assert_eq!(random_split(&[], 0.2, 1, 1).unwrap(), Split::default());
    }

    fn buy(h: &mut History, c: &str, item: &str, day: i64, order: &str) {
        h.record(&Purchase {
            customer: c.into(),
            product: item.into(),
            timestamp: Timestamp(day * 86_400),
            quantity: 1.0,
            unit_price: 2.0,
            order: Some(order.into()),
        })
        .unwrap();
    }

    #[test]
    fn temporal_split_counts_orders_and_keeps_novel_items() {
        let mut h = History::new();
        // before day 10
        buy(&mut h, "ann", "a", 1, "o1");
        buy(&mut h, "ann", "a", 1, "o1"); // duplicate line, ignored by History
        buy(&mut h, "ann", "a", 2, "o2"); // same product, second order
        buy(&mut h, "ann", "b", 2, "o2");
        buy(&mut h, "bob", "b", 3, "o3");
        // at or after day 10
        buy(&mut h, "ann", "a", 10, "o4"); // repurchase: excluded
        buy(&mut h, "ann", "c", 10, "o4"); // c never in train: excluded
        buy(&mut h, "bob", "a", 11, "o5"); // novel: kept
        buy(&mut h, "bob", "a", 12, "o6"); // same pair again: once
        buy(&mut h, "cid", "a", 12, "o7"); // customer not in train: excluded
        let (ann, bob) = (0, 1);
        let (a, b) = (0, 1);
        let s = temporal_split(&h, Timestamp(10 * 86_400));
        let train: Vec<_> = s.train.iter().map(|x| (x.user, x.item, x.weight)).collect();
        assert_eq!(train, vec![(ann, a, 2.0), (ann, b, 1.0), (bob, b, 1.0)]);
        assert_eq!(s.test, vec![t(bob, a)]);
        assert_eq!(s.train_items(), 2);
        // a second order holding the product on two lines: 3 lines, 2 orders
        let mut h2 = h.clone();
        buy(&mut h2, "bob", "b", 3, "o3x");
        h2.record(&Purchase {
            customer: "bob".into(),
            product: "b".into(),
            timestamp: Timestamp(3 * 86_400),
            quantity: 5.0,
            unit_price: 2.0,
            order: Some("o3x".into()),
        })
        .unwrap();
        let s2 = temporal_split(&h2, Timestamp(10 * 86_400));
        assert_eq!(s2.train[2].weight, 2.0);
    }

    #[test]
    fn grid_search_picks_first_best_and_skips_nan() {
        let (best, score, all) = grid_search(&["a", "b", "c", "d"], |&c| {
            Ok(match c {
                "a" => 0.5,
                "b" => f64::NAN,
                "c" => 0.9,
                _ => 0.9,
            })
        })
        .unwrap();
        assert_eq!((best, score), ("c", 0.9));
        assert_eq!(all.len(), 4);
        assert_eq!(all[0], ("a", 0.5));
        assert!(all[1].1.is_nan());
        // a NaN first does not block later candidates
        let (best, _, _) =
            grid_search(&[1, 2], |&c| Ok(if c == 1 { f64::NAN } else { -1.0 })).unwrap();
        assert_eq!(best, 2);
        assert!(matches!(
            grid_search(&[] as &[u8], |_| Ok(1.0)),
            Err(Error::Empty(_))
        ));
        assert!(matches!(
            grid_search(&[1], |_| Ok(f64::NAN)),
            Err(Error::Empty(_))
        ));
        let mut calls = 0;
        let r = grid_search(&[1, 2, 3], |&c| {
            calls += 1;
            if c == 2 {
                Err(Error::NotTrained)
            } else {
                Ok(1.0)
            }
        });
        assert!(matches!(r, Err(Error::NotTrained)));
        assert_eq!(calls, 2);
    }
}
