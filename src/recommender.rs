//! A trained recommender over dense indices: factors, what each customer already has, and a
//! popularity ranking for customers the model cannot speak for.

pub use crate::als::Progress;
use crate::als::{AlsConfig, Factors, train_with};
use crate::error::{Error, Result};
use crate::interactions::Interactions;
use crate::neighbours::{Blend, Neighbours};
use crate::topk::{Bitset, Scored, TopK, top_k_among};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// Which products a query may return.
#[derive(Clone, Debug, Default)]
pub struct Filter<'a> {
    /// Also return products the customer already has (repurchase).
    pub allow_seen: bool,
    /// Never return these.
    pub exclude: Option<&'a Bitset>,
    /// Only return products from this list.
    pub candidates: Option<&'a [u32]>,
}

/// Factors plus the interaction matrix they were trained on, and the optional co-purchase
/// re-rank ([`Blend`], off by default) whose neighbour table is built from that matrix.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Recommender {
    factors: Factors,
    seen: Interactions,
    popularity: Vec<f32>,
    /// Not saved: the owner (e.g. [`crate::Engine`]) keeps its own setting.
    #[serde(skip)]
    blend: Blend,
    #[serde(skip)]
    neighbours: OnceLock<Neighbours>,
}

impl Recommender {
    /// Trains on `matrix`; popularity defaults to the number of customers per product.
    pub fn train(matrix: &Interactions, config: &AlsConfig) -> Result<Self> {
        Self::train_with(matrix, config, None)
    }

    /// Trains like [`Recommender::train`], reporting progress after each iteration.
    pub fn train_with(
        matrix: &Interactions,
        config: &AlsConfig,
        progress: Option<&mut dyn FnMut(&Progress)>,
    ) -> Result<Self> {
        let factors = train_with(matrix, config, progress)?;
        let popularity = matrix
            .column_counts()
            .into_iter()
            .map(|c| c as f32)
            .collect();
        Ok(Recommender {
            factors,
            seen: matrix.clone(),
            popularity,
            blend: Blend::default(),
            neighbours: OnceLock::new(),
        })
    }

    /// The co-purchase re-rank settings.
    pub fn blend(&self) -> &Blend {
        &self.blend
    }

    /// Replaces the re-rank settings ([`Error::InvalidConfig`] when out of range; nothing
    /// changes then) and builds the neighbour table now when the re-rank is on (again for a
    /// new neighbour count).
    pub fn set_blend(&mut self, blend: Blend) -> Result<()> {
        blend.validate()?;
        if blend.neighbours != self.blend.neighbours {
            self.neighbours = OnceLock::new();
        }
        self.blend = blend;
        self.prepare();
        Ok(())
    }

    /// The co-purchase neighbour table of the training matrix (built on first call).
    pub fn neighbours(&self) -> &Neighbours {
        self.neighbours
            .get_or_init(|| Neighbours::from_interactions(&self.seen, self.blend.neighbours))
    }

    /// Builds the neighbour table now if the re-rank will need it. [`Recommender::set_blend`]
    /// does this (training leaves the re-rank off); a recommender read back from bytes builds
    /// it on first use, or here (before sharing it between threads, so that no worker waits
    /// on another's first use).
    pub fn prepare(&self) {
        if self.blend.weight > 0.0 {
            self.neighbours();
        }
    }

    /// `scored` (the best factor scores, [`Recommender::depth`] of them) re-ranked for a
    /// customer owning `owned` when the re-rank applies, cut to `k`.
    fn finish(&self, mut scored: Vec<Scored>, owned: &[u32], k: usize) -> Vec<Scored> {
        if self.blend.applies(owned) {
            self.blend.rerank(scored, owned, self.neighbours(), k)
        } else {
            scored.truncate(k);
            scored
        }
    }

    /// How many factor scores a top-`k` query for a customer owning `owned` needs.
    fn depth(&self, owned: &[u32], k: usize) -> usize {
        if self.blend.applies(owned) {
            self.blend.pool_for(k)
        } else {
            k
        }
    }

    /// Replaces the popularity scores used by the fallback (one per product, finite: a NaN
    /// product would silently drop out of every fallback list). [`Error::InvalidArgument`]
    /// otherwise; nothing changes then.
    pub fn set_popularity(&mut self, popularity: Vec<f32>) -> Result<()> {
        if popularity.len() != self.factors.item_count() {
            return Err(Error::InvalidArgument(format!(
                "{} popularity scores for {} products",
                popularity.len(),
                self.factors.item_count()
            )));
        }
        if let Some(i) = popularity.iter().position(|p| !p.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "popularity of product {i} is {}, not a finite number",
                popularity[i]
            )));
        }
        self.popularity = popularity;
        Ok(())
    }

    /// Checks that a recommender read back from bytes is consistent.
    pub(crate) fn check(&self) -> Result<()> {
        self.factors.check()?;
        self.seen.check()?;
        // customers folded in after training have factors but no training row
        if self.seen.rows() > self.factors.user_count()
            || self.seen.cols() != self.factors.item_count()
            || self.popularity.len() != self.factors.item_count()
        {
            return Err(Error::Corrupted(
                "the model's customers and products do not match its factors".into(),
            ));
        }
        Ok(())
    }

    /// The trained factors.
    pub fn factors(&self) -> &Factors {
        &self.factors
    }

    /// The factors, mutable (fold-in writes customer rows).
    pub fn factors_mut(&mut self) -> &mut Factors {
        &mut self.factors
    }

    /// The training interactions.
    pub fn seen(&self) -> &Interactions {
        &self.seen
    }

    /// Whether the model has a non-empty vector and history for customer row `user`.
    pub fn knows(&self, user: usize) -> bool {
        !self.seen.row(user).0.is_empty() && self.factors.usable_user(user).is_some()
    }

    /// Best `k` products for an arbitrary customer vector (e.g. a fresh fold-in), excluding the
    /// products in `owned` unless the filter allows repurchase, re-ranked by the [`Blend`]
    /// with the neighbours of `owned`.
    pub fn top_k_for(
        &self,
        vector: &[f32],
        owned: &[u32],
        k: usize,
        filter: &Filter<'_>,
    ) -> Vec<Scored> {
        let exclude = self.exclusions(owned, filter);
        let items = self.factors.items().view();
        let depth = self.depth(owned, k);
        let scored = match filter.candidates {
            Some(c) => top_k_among(items, vector, c, depth, exclude.as_ref().or(filter.exclude)),
            None => self
                .factors
                .top_k_items(vector, depth, exclude.as_ref().or(filter.exclude)),
        };
        self.finish(scored, owned, k)
    }

    /// The filter's exclusions plus the customer's products the model has, unless repurchase is
    /// allowed or the customer has none (`None`: the filter's own exclusions apply).
    pub(crate) fn exclusions(&self, owned: &[u32], filter: &Filter<'_>) -> Option<Bitset> {
        if filter.allow_seen || owned.is_empty() {
            return None;
        }
        let n = self.factors.item_count();
        let mut b = filter
            .exclude
            .cloned()
            .unwrap_or_else(|| Bitset::with_len(n));
        // products past the model are never scored: excluding them would only grow the set
        for &i in owned.iter().filter(|&&i| (i as usize) < n) {
            b.insert(i);
        }
        Some(b)
    }

    /// Best `k` products for trained customer row `user`, or `None` when the model has no
    /// history or an all-zero vector for that row (use [`Recommender::popular`] then).
    pub fn recommend(&self, user: usize, k: usize, filter: &Filter<'_>) -> Option<Vec<Scored>> {
        if !self.knows(user) {
            return None;
        }
        Some(self.top_k_for(self.factors.user(user), self.seen.row(user).0, k, filter))
    }

    /// The `k` most popular products passing the filter (scores are the popularity values).
    pub fn popular(&self, k: usize, owned: &[u32], filter: &Filter<'_>) -> Vec<Scored> {
        let exclude = self.exclusions(owned, filter);
        let exclude = exclude.as_ref().or(filter.exclude);
        let mut sel = TopK::new(k);
        let mut offer = |i: u32| {
            if (i as usize) < self.popularity.len() && !exclude.is_some_and(|e| e.contains(i)) {
                sel.push(Scored {
                    item: i,
                    score: self.popularity[i as usize],
                });
            }
        };
        match filter.candidates {
            Some(c) => {
                let mut seen = Bitset::with_len(self.popularity.len());
                for &i in c {
                    // range first: an index past the model must not grow the repeat set
                    if (i as usize) < self.popularity.len() && !seen.contains(i) {
                        seen.insert(i);
                        offer(i);
                    }
                }
            }
            None => (0..self.popularity.len() as u32).for_each(offer),
        }
        sel.into_sorted()
    }

    /// Top-`k` for many customer rows at once (in parallel with the `parallel` feature), each
    /// excluding what that customer already has; rows the model does not know get the popular
    /// products. The result is flagged per row: `true` when it is the popularity fallback.
    pub fn recommend_batch(&self, users: &[Option<u32>], k: usize) -> Vec<(Vec<Scored>, bool)> {
        self.prepare();
        let none = Filter::default();
        let chunk = |users: &[Option<u32>]| -> Vec<(Vec<Scored>, bool)> {
            let owned = |u: Option<u32>| u.map_or(&[][..], |u| self.seen.row(u as usize).0);
            let asked: Vec<Option<(&[f32], &[u32])>> = users
                .iter()
                .map(|&u| {
                    u.filter(|&u| self.knows(u as usize))
                        .map(|u| (self.factors.user(u as usize), owned(Some(u))))
                })
                .collect();
            self.top_k_many_for(&asked, k, &none)
                .into_iter()
                .zip(users)
                .map(|(scored, &u)| match scored {
                    Some(s) => (s, false),
                    None => (self.popular(k, owned(u), &none), true),
                })
                .collect()
        };
        const CHUNK: usize = 64;
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            users.par_chunks(CHUNK).flat_map_iter(chunk).collect()
        }
        #[cfg(not(feature = "parallel"))]
        {
            users.chunks(CHUNK).flat_map(chunk).collect()
        }
    }

    /// [`Recommender::top_k_for`] for many customers under one filter: each
    /// `Some((vector, owned))` is scored, `None` stays `None`. Without a candidate list the
    /// queries share passes over the product table ([`Factors::top_k_items_many`]).
    pub fn top_k_many_for(
        &self,
        asked: &[Option<(&[f32], &[u32])>],
        k: usize,
        filter: &Filter<'_>,
    ) -> Vec<Option<Vec<Scored>>> {
        let mut scored = if filter.candidates.is_none() {
            let (queries, excludes): (Vec<&[f32]>, Vec<Option<Bitset>>) = asked
                .iter()
                .flatten()
                .map(|&(v, owned)| (v, self.exclusions(owned, filter)))
                .unzip();
            let refs: Vec<Option<&Bitset>> = excludes
                .iter()
                .map(|e| e.as_ref().or(filter.exclude))
                .collect();
            // one depth for the shared pass: the deepest any query needs
            let depth = asked
                .iter()
                .flatten()
                .map(|&(_, owned)| self.depth(owned, k))
                .max()
                .unwrap_or(k);
            let owned = asked.iter().flatten().map(|&(_, owned)| owned);
            self.factors
                .top_k_items_many(&queries, depth, &refs)
                .into_iter()
                .zip(owned)
                .map(|(s, owned)| self.finish(s, owned, k))
                .collect::<Vec<_>>()
        } else {
            asked
                .iter()
                .flatten()
                .map(|&(v, owned)| self.top_k_for(v, owned, k, filter))
                .collect()
        }
        .into_iter();
        asked
            .iter()
            .map(|a| a.and_then(|_| scored.next()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interactions::Triple;
    use rand::rngs::SmallRng;
    use rand::{RngExt, SeedableRng};

    /// A two-factor model of `(customer, product)` purchases of weight 1.
    fn tiny(pairs: &[(u32, u32)], shape: (usize, usize), iterations: usize) -> Recommender {
        let t: Vec<Triple> = pairs
            .iter()
            .map(|&(user, item)| Triple {
                user,
                item,
                weight: 1.0,
            })
            .collect();
        let m = Interactions::from_triples(shape.0, shape.1, &t).unwrap();
        let cfg = AlsConfig {
            factors: 2,
            iterations,
            threads: 1,
            ..Default::default()
        };
        Recommender::train(&m, &cfg).unwrap()
    }

    #[test]
    fn a_customer_with_an_all_zero_vector_gets_the_popular_products() {
        let mut rec = tiny(&[(0, 0), (1, 1), (2, 1), (2, 2)], (3, 3), 2);
        assert!(rec.knows(0));
        rec.factors_mut().set_user(0, &[0.0, 0.0]).unwrap();
        // a zero vector scores every product 0: no ranking to give, so no personal answer
        assert!(!rec.knows(0));
        assert_eq!(rec.recommend(0, 2, &Filter::default()), None);
        let batch = rec.recommend_batch(&[Some(0), Some(2)], 2);
        assert!(batch[0].1, "flagged as the fallback");
        // buyers per product: 1 has two, 2 one; 0 is owned
        assert_eq!(
            batch[0].0.iter().map(|s| s.item).collect::<Vec<_>>(),
            [1, 2]
        );
        assert!(!batch[1].1);
    }

    #[test]
    fn popularity_must_be_finite() {
        let mut rec = tiny(&[(0, 0), (1, 1), (2, 1)], (3, 2), 1);
        let items = |r: &Recommender| -> Vec<u32> {
            r.popular(2, &[], &Filter::default())
                .iter()
                .map(|s| s.item)
                .collect()
        };
        assert_eq!(items(&rec), [1, 0], "buyers per product by default");
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let e = rec.set_popularity(vec![5.0, bad]).unwrap_err();
            assert!(
                matches!(e, Error::InvalidArgument(ref m) if m.starts_with("popularity of product 1 is")),
                "{e}"
            );
            assert_eq!(items(&rec), [1, 0], "nothing changed");
        }
        assert!(rec.set_popularity(vec![1.0]).is_err());
        rec.set_popularity(vec![5.0, -1.0]).unwrap();
        assert_eq!(items(&rec), [0, 1]);
    }

    #[test]
    fn batch_matches_one_by_one_on_a_catalog_large_enough_for_the_int8_scan() {
        let (users, items) = (150usize, 3000usize);
        let mut rng = SmallRng::seed_from_u64(5);
        let triples: Vec<Triple> = (0..users as u32)
            .flat_map(|u| {
                let picks: Vec<u32> = (0..4).map(|_| rng.random_range(0..items as u32)).collect();
                picks.into_iter().map(move |item| Triple {
                    user: u,
                    item,
                    weight: 1.0,
                })
            })
            .collect();
        let m = Interactions::from_triples(users + 2, items, &triples).unwrap();
        let cfg = AlsConfig {
            factors: 16,
            iterations: 2,
            threads: 1,
            ..Default::default()
        };
        let rec = Recommender::train(&m, &cfg).unwrap();
        let asked: Vec<Option<u32>> = (0..users as u32 + 2)
            .map(Some)
            .chain([None, Some(10_000)])
            .collect();
        let batch = rec.recommend_batch(&asked, 7);
        assert_eq!(batch.len(), asked.len());
        for (u, (got, fallback)) in asked.iter().zip(&batch) {
            match u.and_then(|u| rec.recommend(u as usize, 7, &Filter::default())) {
                Some(want) => {
                    assert!(!fallback);
                    assert_eq!(got, &want);
                    let owned = rec.seen().row(u.unwrap() as usize).0;
                    assert!(got.iter().all(|s| !owned.contains(&s.item)));
                }
                None => {
                    assert!(fallback);
                    assert_eq!(got.len(), 7);
                }
            }
        }
    }

    #[test]
    fn blend_reorders_the_best_factor_scores_by_co_purchase() {
        // 40 baskets of 5 from 8 themes of 25 products each
        let (users, items) = (400u32, 200u32);
        let mut rng = SmallRng::seed_from_u64(9);
        let mut triples = Vec::new();
        for user in 0..users {
            let theme = rng.random_range(0..8u32) * 25;
            for _ in 0..5 {
                let item = theme + rng.random_range(0..25u32);
                triples.push(Triple {
                    user,
                    item,
                    weight: 1.0,
                });
            }
        }
        let m = Interactions::from_triples(users as usize, items as usize, &triples).unwrap();
        let cfg = AlsConfig {
            factors: 8,
            iterations: 3,
            threads: 1,
            ..Default::default()
        };
        let mut rec = Recommender::train(&m, &cfg).unwrap();
        assert_eq!(rec.blend(), &Blend::OFF);
        rec.set_blend(Blend::CO_PURCHASE).unwrap();
        let k = 10;
        let on: Vec<Vec<Scored>> = (0..users as usize)
            .map(|u| rec.recommend(u, k, &Filter::default()).unwrap())
            .collect();
        let bad = Blend {
            weight: -1.0,
            ..Blend::default()
        };
        assert!(matches!(rec.set_blend(bad), Err(Error::InvalidConfig(_))));
        assert_eq!(rec.blend(), &Blend::CO_PURCHASE);
        rec.set_blend(Blend::OFF).unwrap();
        let pool = Blend::CO_PURCHASE.pool_for(k);
        let mut reordered = 0;
        for (u, got) in on.iter().enumerate() {
            let off = rec.recommend(u, pool, &Filter::default()).unwrap();
            let table = rec.neighbours();
            // the re-rank of the off list's pool is what the blended query returned
            let owned = rec.seen().row(u).0;
            assert_eq!(
                got,
                &Blend::CO_PURCHASE.rerank(off.clone(), owned, table, k)
            );
            assert!(got.iter().all(|s| off.iter().any(|o| o.item == s.item)));
            assert!(got.iter().all(|s| !owned.contains(&s.item)));
            reordered += usize::from(
                got.iter()
                    .map(|s| s.item)
                    .ne(off[..k].iter().map(|s| s.item)),
            );
        }
        assert!(reordered > 0, "the blend changed no list");
        // the neighbour table is the training matrix's
        assert_eq!(rec.neighbours(), &Neighbours::from_interactions(&m, 50));
        // batch with the blend equals one query at a time
        rec.set_blend(Blend::CO_PURCHASE).unwrap();
        let asked: Vec<Option<u32>> = (0..users).map(Some).collect();
        for (got, want) in rec.recommend_batch(&asked, k).iter().zip(&on) {
            assert_eq!(&got.0, want);
        }
    }
}
