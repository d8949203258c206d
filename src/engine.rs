//! The façade a shop links against: one [`Engine`] owns the purchase history, the catalog and
//! the trained model, and answers recommendation and similar-product requests.

use crate::als::{AlsConfig, Progress};
use crate::catalog::Product;
use crate::error::{Error, Result};
use crate::history::{CustomerInfo, History, OrderIds, Purchase, Recorded};
use crate::interactions::Interactions;
use crate::neighbours::Blend;
use crate::recommender::{Filter, Recommender};
use crate::time::Timestamp;
use crate::topk::{Bitset, Scored, TopK};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Engine-wide settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngineConfig {
    /// Matrix-factorization hyper-parameters.
    pub als: AlsConfig,
    /// Popularity for the fallback counts distinct buyers over this many days (≥ 0) before the
    /// latest purchase (all history when that window is empty).
    pub popularity_window_days: f64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            als: AlsConfig::default(),
            popularity_window_days: 30.0,
        }
    }
}

impl EngineConfig {
    /// Checks every field: the ALS settings ([`AlsConfig::validate`]) and a popularity window
    /// that is a number of days ≥ 0 (infinite: all history); else [`Error::InvalidConfig`].
    ///
    /// ```
    /// use rapport::EngineConfig;
    /// assert!(EngineConfig::default().validate().is_ok());
    /// let nan = EngineConfig { popularity_window_days: f64::NAN, ..Default::default() };
    /// assert!(nan.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<()> {
        self.als.validate()?;
        let days = self.popularity_window_days;
        if days.is_nan() || days < 0.0 {
            return Err(Error::InvalidConfig(format!(
                "popularity window of {days:?} days: must be ≥ 0"
            )));
        }
        Ok(())
    }
}

/// What a recommendation request may return.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecommendOptions {
    /// How many products (default 10).
    pub k: usize,
    /// Recommend products the customer already bought (repurchase). Default `false`.
    pub allow_repurchase: bool,
    /// Product ids never to return; unknown ids are ignored.
    pub exclude: Vec<String>,
    /// Only return products from this list; unknown ids are ignored.
    pub candidates: Option<Vec<String>>,
    /// Only return products of this category; an unknown category gives an empty list.
    pub category: Option<String>,
    /// Skip products marked out of stock. Default `true`.
    pub in_stock_only: bool,
}

impl Default for RecommendOptions {
    fn default() -> Self {
        RecommendOptions {
            k: 10,
            allow_repurchase: false,
            exclude: Vec::new(),
            candidates: None,
            category: None,
            in_stock_only: true,
        }
    }
}

/// Why a product was recommended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Reason {
    /// The owned product that contributes most to the score.
    BecauseYouBought {
        /// Its id.
        product: String,
        /// Its name.
        name: String,
    },
    /// The customer has no usable history: a popular product in the recent window.
    Popular,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::BecauseYouBought { name, .. } => write!(f, "because you bought {name}"),
            Reason::Popular => f.write_str("popular with other customers right now"),
        }
    }
}

/// One recommended product.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Product id.
    pub product: String,
    /// Product name.
    pub name: String,
    /// Ranking score: the factor score `x·y`; with the co-purchase re-rank on (see
    /// [`Engine::set_blend`]) a blend of z-scores, comparable within one list only; for the
    /// fallback, the popularity count.
    pub score: f32,
    /// Why it was picked.
    pub reason: Reason,
}

/// A ranked list for one customer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recommendations {
    /// The customer asked about.
    pub customer: String,
    /// Best first.
    pub items: Vec<Recommendation>,
    /// `true` when the model had nothing to say about this customer (unknown, or no purchases)
    /// and the list is the popularity fallback.
    pub fallback: bool,
}

/// A product similar to another one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimilarProduct {
    /// Product id.
    pub product: String,
    /// Product name.
    pub name: String,
    /// Cosine similarity of the two product vectors, in [−1, 1].
    pub similarity: f32,
}

/// A summary of one training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Customers (rows) in the model.
    pub customers: usize,
    /// Products (columns) in the model.
    pub products: usize,
    /// Customer–product pairs trained on.
    pub interactions: usize,
    /// Loss after each iteration (always computed, with or without a progress callback).
    pub losses: Vec<f64>,
}

/// The trained state, present after [`Engine::train`].
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Model {
    recommender: Recommender,
    item_norms: Vec<f32>,
}

/// Purchase history, catalog and model in one `Send + Sync` value.
///
/// ```
/// use rapport::{Engine, Purchase, Timestamp};
/// use rapport::engine::RecommendOptions;
/// let mut engine = Engine::default();
/// for (c, p, day) in [("ann", "mug", 1), ("ann", "tea", 2), ("bob", "mug", 3), ("bob", "tea", 3), ("cy", "mug", 4)] {
///     engine.record_purchase(&Purchase {
///         customer: c.into(), product: p.into(), timestamp: Timestamp(day * 86_400),
///         quantity: 1.0, unit_price: 3.0, order: None,
///     }).unwrap();
/// }
/// engine.train().unwrap();
/// let recs = engine.recommend("cy", &RecommendOptions::default()).unwrap();
/// assert_eq!(recs.items[0].product, "tea");
/// assert_eq!(recs.items[0].reason.to_string(), "because you bought mug");
/// ```
///
/// Its serde form is what [`Engine::save`] writes inside the envelope; reading it back through
/// any serde format checks it and rebuilds what is derived from it, as [`Engine::load`] does.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "SavedEngine")]
pub struct Engine {
    config: EngineConfig,
    history: History,
    model: Option<Model>,
    greetings: crate::greeting::Greetings,
    blend: Blend,
    /// How `history` names its orders: always `OrderIds::Separate` in memory, saved so that
    /// files from before the field existed are known (they read as `OrderIds::Shared`).
    order_ids: OrderIds,
}

/// An [`Engine`] as saved, before it is checked and its derived state rebuilt
/// ([`Engine::try_from`]).
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
pub(crate) struct SavedEngine {
    config: EngineConfig,
    history: crate::history::SavedHistory,
    model: Option<Model>,
    #[serde(default, deserialize_with = "crate::persist::trailing_or_default")]
    greetings: crate::greeting::Greetings,
    #[serde(default, deserialize_with = "crate::persist::trailing_or_default")]
    blend: Blend,
    /// How `history` names its orders; files from before this field read as the default,
    /// [`OrderIds::Shared`], and are separated on load.
    #[serde(default, deserialize_with = "crate::persist::trailing_or_default")]
    order_ids: OrderIds,
}

/// Checks what the checksum cannot (a well-formed file whose indices do not fit together)
/// and rebuilds what is derived from the saved parts.
impl TryFrom<SavedEngine> for Engine {
    type Error = Error;

    fn try_from(saved: SavedEngine) -> Result<Engine> {
        let mut e = Engine {
            config: saved.config,
            history: saved.history.into_history(saved.order_ids)?,
            model: saved.model,
            greetings: saved.greetings,
            blend: saved.blend,
            order_ids: OrderIds::Separate,
        };
        e.check_loaded()?;
        Ok(e)
    }
}

impl Default for Engine {
    /// An empty engine with the default settings.
    fn default() -> Self {
        Engine::new(EngineConfig::default())
    }
}

impl Engine {
    /// An empty engine with these settings (checked at [`Engine::train`]).
    pub fn new(config: EngineConfig) -> Self {
        Engine {
            config,
            history: History::new(),
            model: None,
            greetings: Default::default(),
            blend: Blend::default(),
            order_ids: OrderIds::Separate,
        }
    }

    /// How co-purchase neighbours re-rank the factor scores ([`Blend`]; saved with the engine,
    /// the default for engines saved before the setting existed).
    pub fn blend(&self) -> &Blend {
        &self.blend
    }

    /// Replaces the re-rank settings: [`Error::InvalidConfig`] names the field out of range and
    /// nothing changes then. Applies at once to a trained model (a new neighbour count rebuilds
    /// its table now).
    pub fn set_blend(&mut self, blend: Blend) -> Result<()> {
        blend.validate()?;
        if let Some(m) = &mut self.model {
            m.recommender.set_blend(blend)?;
        }
        self.blend = blend;
        Ok(())
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The recorded history and catalog.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The history, mutable (bulk loaders such as the CSV reader write here). Purchases recorded
    /// this way reach the model at the next [`Engine::train`] or [`Engine::refresh_customer`].
    pub fn history_mut(&mut self) -> &mut History {
        &mut self.history
    }

    /// Reads a purchase log (see [`crate::ingest`]) into the history; returns the cleaning report.
    pub fn read_csv_path(
        &mut self,
        path: impl AsRef<std::path::Path>,
        options: &crate::ingest::IngestOptions,
    ) -> Result<crate::ingest::IngestReport> {
        crate::ingest::read_csv_path(path, options, &mut self.history)
    }

    /// Reads a purchase log from any reader (see [`crate::ingest`]).
    pub fn read_csv<R: std::io::Read>(
        &mut self,
        reader: R,
        options: &crate::ingest::IngestOptions,
    ) -> Result<crate::ingest::IngestReport> {
        crate::ingest::read_csv(reader, options, &mut self.history)
    }

    /// Records a purchase without touching the model (bulk loading before training).
    pub fn record_purchase(&mut self, purchase: &Purchase) -> Result<Recorded> {
        self.history.record(purchase)
    }

    /// Records many purchases; stops at the first invalid one, reporting its position.
    pub fn record_purchases(&mut self, purchases: &[Purchase]) -> Result<usize> {
        let mut added = 0;
        for (i, p) in purchases.iter().enumerate() {
            match self.history.record(p) {
                Ok(Recorded::Added) => added += 1,
                Ok(Recorded::Duplicate) => {}
                Err(e) => return Err(Error::InvalidArgument(format!("purchase {i}: {e}"))),
            }
        }
        Ok(added)
    }

    /// Adds or replaces a catalog entry.
    pub fn upsert_product(&mut self, product: Product) -> Result<()> {
        self.history.upsert_product(product).map(drop)
    }

    /// Adds or updates a customer's attributes.
    pub fn upsert_customer(&mut self, info: CustomerInfo) -> Result<()> {
        self.history.upsert_customer(info).map(|_| ())
    }

    /// Marks a product in or out of stock.
    pub fn set_in_stock(&mut self, product: &str, in_stock: bool) -> Result<()> {
        self.history.catalog_mut().set_in_stock(product, in_stock)
    }

    /// Whether a model has been trained (or loaded).
    pub fn is_trained(&self) -> bool {
        self.model.is_some()
    }

    /// Trains the model on the whole history.
    pub fn train(&mut self) -> Result<TrainReport> {
        self.train_with(None)
    }

    /// Trains, calling `progress` after each iteration.
    pub fn train_with(
        &mut self,
        mut progress: Option<&mut dyn FnMut(&Progress)>,
    ) -> Result<TrainReport> {
        self.config.validate()?;
        let triples = self.history.order_counts(None);
        let rows = self.history.customer_count();
        let cols = self.history.catalog().len();
        if triples.is_empty() {
            return Err(Error::Empty("no purchases to train on".into()));
        }
        let matrix = Interactions::from_triples(rows, cols, &triples)?;
        let mut losses = Vec::new();
        let mut record = |p: &Progress| {
            losses.push(p.loss);
            if let Some(cb) = progress.as_deref_mut() {
                cb(p);
            }
        };
        let mut recommender =
            Recommender::train_with(&matrix, &self.config.als, Some(&mut record))?;
        recommender.set_popularity(self.recent_popularity(cols))?;
        recommender.set_blend(self.blend)?;
        let item_norms = recommender
            .factors()
            .items()
            .rows()
            .into_iter()
            .map(|r| r.dot(&r).sqrt())
            .collect();
        self.model = Some(Model {
            recommender,
            item_norms,
        });
        Ok(TrainReport {
            customers: rows,
            products: cols,
            interactions: matrix.nnz(),
            losses,
        })
    }

    /// Distinct buyers per product over the popularity window (all time when the window is empty).
    fn recent_popularity(&self, cols: usize) -> Vec<f32> {
        let count = |since: Option<Timestamp>| {
            let mut pairs: Vec<(u32, u32)> = self
                .history
                .lines()
                .iter()
                .filter(|l| since.is_none_or(|s| l.timestamp >= s))
                .map(|l| (l.product, l.customer))
                .collect();
            pairs.sort_unstable();
            pairs.dedup();
            let mut pop = vec![0f32; cols];
            for (p, _) in pairs {
                pop[p as usize] += 1.0;
            }
            pop
        };
        let since = self
            .history
            .last_timestamp()
            .map(|t| t.plus_days(-self.config.popularity_window_days));
        let pop = count(since);
        if pop.iter().any(|&p| p > 0.0) {
            pop
        } else {
            count(None)
        }
    }

    /// The trained factors, for the greeting module.
    pub(crate) fn trained_factors(&self) -> Option<&crate::als::Factors> {
        self.model.as_ref().map(|m| m.recommender.factors())
    }

    /// The greeting state and the history, for the greeting module.
    pub(crate) fn greeting_parts(
        &mut self,
    ) -> (
        &mut crate::greeting::Greetings,
        &History,
        Option<&crate::als::Factors>,
    ) {
        (
            &mut self.greetings,
            &self.history,
            self.model.as_ref().map(|m| m.recommender.factors()),
        )
    }

    /// The greeting state.
    pub(crate) fn greeting_state(&self) -> &crate::greeting::Greetings {
        &self.greetings
    }

    fn model(&self) -> Result<&Model> {
        self.model.as_ref().ok_or(Error::NotTrained)
    }

    /// A customer's products and order counts from the current history (model products only).
    fn owned(&self, customer: u32, item_count: usize) -> (Vec<u32>, Vec<f32>) {
        let mut keys: Vec<(u32, u32)> = self
            .history
            .customer_lines(customer)
            .filter(|l| (l.product as usize) < item_count)
            .map(|l| (l.product, l.order))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let (mut items, mut weights): (Vec<u32>, Vec<f32>) = (Vec::new(), Vec::new());
        for (p, _) in keys {
            if items.last() == Some(&p) {
                *weights.last_mut().expect("paired") += 1.0;
            } else {
                items.push(p);
                weights.push(1.0);
            }
        }
        (items, weights)
    }

    /// Records a purchase and folds the customer's vector in again from their whole history, so
    /// the next recommendation reflects it without retraining. Works for new customers too.
    /// Before training it only records. A purchase that is refused is not recorded; should the
    /// fold-in itself fail (a model whose factors give no solvable system), the purchase stays
    /// recorded, the error is returned and [`Engine::refresh_customer`] can retry.
    pub fn observe(&mut self, purchase: &Purchase) -> Result<Recorded> {
        let r = self.history.record(purchase)?;
        if self.model.is_some() {
            let c = self
                .history
                .customers()
                .get(&purchase.customer)
                .expect("just recorded");
            self.refresh_customer_index(c)?;
        }
        Ok(r)
    }

    /// Folds a customer's vector in from their current history (after bulk `record_purchase`).
    pub fn refresh_customer(&mut self, customer: &str) -> Result<()> {
        let c = self
            .history
            .customers()
            .get(customer)
            .ok_or_else(|| Error::UnknownCustomer(customer.to_owned()))?;
        self.refresh_customer_index(c)
    }

    fn refresh_customer_index(&mut self, c: u32) -> Result<()> {
        let n = self.model()?.recommender.factors().item_count();
        let (items, weights) = self.owned(c, n);
        let model = self.model.as_mut().ok_or(Error::NotTrained)?;
        let v = model.recommender.factors().fold_in(&items, &weights)?;
        let customer = self.history.customers().name(c);
        // the greeting engagement sums hold an engaged customer's vector: move them to the new
        // one (nothing to move, and no copy to make, for everyone else)
        let old = self
            .greetings
            .has_engaged(customer)
            .then(|| model.recommender.factors().user(c as usize).to_vec());
        model.recommender.factors_mut().set_user(c as usize, &v)?;
        if let Some(old) = old {
            self.greetings.customer_vector_changed(
                customer,
                &old,
                model.recommender.factors(),
                &self.history,
            );
        }
        Ok(())
    }

    /// Top products for a customer, each with its score and a reason.
    ///
    /// Unknown customers and customers without purchases get the popularity fallback, flagged
    /// in [`Recommendations::fallback`]. Errors only when no model is trained.
    pub fn recommend(&self, customer: &str, options: &RecommendOptions) -> Result<Recommendations> {
        let rec = &self.model()?.recommender;
        let Some(shared) = self.shared_filter(options, rec.factors().item_count()) else {
            return Ok(Recommendations::empty(customer));
        };
        let filter = shared.filter(options);
        let asking = self.asking(customer, rec.factors());
        let (scored, fallback) = match asking.vector {
            Some(v) => (rec.top_k_for(v, &asking.owned, options.k, &filter), false),
            None => (rec.popular(options.k, &asking.owned, &filter), true),
        };
        self.finish(customer, &asking, rec.factors(), &scored, fallback)
    }

    /// [`Engine::recommend`] for many customers, in parallel with the `parallel` feature. Equal
    /// to one call per customer; the filters are built once, and customers with a vector share
    /// passes over the product table in chunks.
    pub fn recommend_batch(
        &self,
        customers: &[&str],
        options: &RecommendOptions,
    ) -> Result<Vec<Recommendations>> {
        let rec = &self.model()?.recommender;
        let factors = rec.factors();
        let Some(shared) = self.shared_filter(options, factors.item_count()) else {
            return Ok(customers
                .iter()
                .map(|c| Recommendations::empty(c))
                .collect());
        };
        let filter = shared.filter(options);
        let k = options.k;
        let chunk = |chunk: &[&str]| -> Result<Vec<Recommendations>> {
            let asking: Vec<Asking<'_>> = chunk.iter().map(|c| self.asking(c, factors)).collect();
            let asked: Vec<Option<(&[f32], &[u32])>> = asking
                .iter()
                .map(|a| a.vector.map(|v| (v, a.owned.as_slice())))
                .collect();
            let personal = rec.top_k_many_for(&asked, k, &filter);
            chunk
                .iter()
                .zip(&asking)
                .zip(personal)
                .map(|((c, a), scored)| match scored {
                    Some(s) => self.finish(c, a, factors, &s, false),
                    None => self.finish(c, a, factors, &rec.popular(k, &a.owned, &filter), true),
                })
                .collect()
        };
        const CHUNK: usize = 64;
        let lists: Vec<Result<Vec<Recommendations>>> = {
            #[cfg(feature = "parallel")]
            {
                use rayon::prelude::*;
                customers.par_chunks(CHUNK).map(chunk).collect()
            }
            #[cfg(not(feature = "parallel"))]
            {
                customers.chunks(CHUNK).map(chunk).collect()
            }
        };
        let mut out = Vec::with_capacity(customers.len());
        for list in lists {
            out.extend(list?);
        }
        Ok(out)
    }

    /// The customer-independent part of a request: excluded ids, the stock filter and the
    /// candidate list (a category narrows it). `None` for an unknown category (no results).
    fn shared_filter(&self, options: &RecommendOptions, n: usize) -> Option<SharedFilter> {
        let catalog = self.history.catalog();
        let mut exclude = if options.in_stock_only && catalog.out_of_stock_count() > 0 {
            catalog.sold_out().clone()
        } else {
            Bitset::with_len(n)
        };
        for id in &options.exclude {
            if let Some(i) = catalog.index(id) {
                exclude.insert(i);
            }
        }
        let mut candidates: Option<Vec<u32>> = options.candidates.as_ref().map(|c| {
            c.iter()
                .filter_map(|id| catalog.index(id))
                .filter(|&i| (i as usize) < n)
                .collect()
        });
        if let Some(cat) = &options.category {
            let ci = catalog.category_index(cat)?;
            let in_cat = |i: u32| catalog.category_of(i) == Some(ci);
            candidates = Some(match candidates {
                Some(c) => c.into_iter().filter(|&i| in_cat(i)).collect(),
                None => (0..n as u32).filter(|&i| in_cat(i)).collect(),
            });
        }
        Some(SharedFilter {
            exclude,
            candidates,
        })
    }

    /// A customer's model products with order counts, and their vector when it can be scored
    /// (known to the model, with purchases, not all zeros).
    fn asking<'f>(&self, customer: &str, factors: &'f crate::als::Factors) -> Asking<'f> {
        let index = self.history.customers().get(customer);
        let (owned, weights) = index
            .map(|c| self.owned(c, factors.item_count()))
            .unwrap_or_default();
        let vector = index
            .filter(|_| !owned.is_empty())
            .and_then(|c| factors.usable_user(c as usize));
        Asking {
            owned,
            weights,
            vector,
        }
    }

    /// Names, scores and reasons for a ranked list.
    fn finish(
        &self,
        customer: &str,
        asking: &Asking<'_>,
        factors: &crate::als::Factors,
        scored: &[Scored],
        fallback: bool,
    ) -> Result<Recommendations> {
        let catalog = self.history.catalog();
        let reasons = if fallback {
            vec![None; scored.len()]
        } else {
            let targets: Vec<u32> = scored.iter().map(|s| s.item).collect();
            factors.explain(&asking.owned, &asking.weights, &targets)?
        };
        let items = scored
            .iter()
            .zip(reasons)
            .map(|(s, why)| Recommendation {
                product: catalog.id(s.item).to_owned(),
                name: catalog.name(s.item).to_owned(),
                score: s.score,
                reason: match why {
                    Some((j, _)) => Reason::BecauseYouBought {
                        product: catalog.id(j).to_owned(),
                        name: catalog.name(j).to_owned(),
                    },
                    None => Reason::Popular,
                },
            })
            .collect();
        Ok(Recommendations {
            customer: customer.to_owned(),
            items,
            fallback,
        })
    }

    /// Products whose vectors point the same way as `product`'s (cosine similarity), best first,
    /// excluding the product itself.
    pub fn similar(&self, product: &str, k: usize) -> Result<Vec<SimilarProduct>> {
        let model = self.model()?;
        let catalog = self.history.catalog();
        let p = catalog
            .index(product)
            .ok_or_else(|| Error::UnknownProduct(product.to_owned()))?;
        let factors = model.recommender.factors();
        let q = factors.item(p as usize);
        if q.is_empty() {
            // added to the catalog after training: no vector yet
            return Ok(Vec::new());
        }
        let qn = model.item_norms[p as usize];
        let mut sel = TopK::new(k);
        if qn > 0.0 {
            for (i, &norm) in model.item_norms.iter().enumerate() {
                if i as u32 == p || norm == 0.0 {
                    continue;
                }
                // rounding can take a cosine just past ±1
                let score = (crate::linalg::dot(q, factors.item(i)) / (qn * norm)).clamp(-1.0, 1.0);
                if score >= sel.threshold() {
                    sel.push(Scored {
                        item: i as u32,
                        score,
                    });
                }
            }
        }
        Ok(sel
            .into_sorted()
            .into_iter()
            .map(|s| SimilarProduct {
                product: catalog.id(s.item).to_owned(),
                name: catalog.name(s.item).to_owned(),
                similarity: s.score,
            })
            .collect())
    }

    /// Profiles of every customer as of `as_of` (purchases after it are ignored), with the
    /// BG/NBD and Gamma-Gamma models fitted on the customer base.
    pub fn profiles(&self, as_of: Timestamp) -> Result<crate::profile::Profiles> {
        crate::profile::Profiles::compute(&self.history, as_of)
    }

    /// Writes the whole engine (history, catalog, model) to `path` atomically, in the versioned
    /// and checksummed envelope of [`crate::persist`].
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        crate::persist::save(self, path)
    }

    /// Reads an engine written by [`Engine::save`]. Truncated, corrupted, foreign or
    /// newer-version files give a typed error.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Engine> {
        let saved: SavedEngine = crate::persist::load(path)?;
        Engine::try_from(saved)
    }

    /// The engine as bytes (the same envelope as [`Engine::save`]), e.g. to ship to a browser.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        crate::persist::to_bytes(self)
    }

    /// An engine from bytes made by [`Engine::to_bytes`] or read from a saved file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Engine> {
        let saved: SavedEngine = crate::persist::from_bytes(bytes)?;
        Engine::try_from(saved)
    }

    /// The checks of a loaded engine beyond its history's own ([`SavedHistory::into_history`]).
    ///
    /// [`SavedHistory::into_history`]: crate::history::SavedHistory::into_history
    fn check_loaded(&mut self) -> Result<()> {
        self.blend
            .validate()
            .map_err(|e| Error::Corrupted(format!("saved blend: {e}")))?;
        if let Some(m) = &mut self.model {
            m.recommender.check()?;
            m.recommender.set_blend(self.blend)?;
            if m.item_norms.len() != m.recommender.factors().item_count()
                || m.recommender.factors().item_count() > self.history.catalog().len()
                || m.recommender.factors().user_count() > self.history.customer_count()
            {
                return Err(Error::Corrupted(
                    "the model does not match the saved catalog and customers".into(),
                ));
            }
        }
        let factors = self.model.as_ref().map(|m| m.recommender.factors());
        self.greetings.check_loaded(&self.history, factors)
    }
}

#[cfg(test)]
impl Engine {
    /// `json` (serde's form of an engine) after `edit`, saved and loaded again: a valid
    /// envelope and checksum around contents that may not fit together.
    pub(crate) fn reload_edited(
        json: &serde_json::Value,
        edit: &dyn Fn(&mut serde_json::Value),
    ) -> Result<Engine> {
        let mut v = json.clone();
        edit(&mut v);
        let saved = serde_json::from_value::<SavedEngine>(v).expect("an engine's serde form");
        Engine::from_bytes(&crate::persist::to_bytes(&saved).expect("serialisable"))
    }
}

/// The customer-independent filters of one request.
struct SharedFilter {
    exclude: Bitset,
    candidates: Option<Vec<u32>>,
}

impl SharedFilter {
    fn filter(&self, options: &RecommendOptions) -> Filter<'_> {
        Filter {
            allow_seen: options.allow_repurchase,
            exclude: Some(&self.exclude),
            candidates: self.candidates.as_deref(),
        }
    }
}

/// One customer as a request sees them.
struct Asking<'f> {
    owned: Vec<u32>,
    weights: Vec<f32>,
    vector: Option<&'f [f32]>,
}

impl Recommendations {
    fn empty(customer: &str) -> Self {
        Recommendations {
            customer: customer.to_owned(),
            items: Vec::new(),
            fallback: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One unit at 2.0 on `day`, without an order id.
    fn purchase(c: &str, p: &str, day: i64) -> Purchase {
        Purchase {
            customer: c.into(),
            product: p.into(),
            timestamp: Timestamp(day * 86_400),
            quantity: 1.0,
            unit_price: 2.0,
            order: None,
        }
    }

    fn buy(e: &mut Engine, c: &str, p: &str, day: i64) {
        e.record_purchase(&purchase(c, p, day)).unwrap();
    }

    /// Tea drinkers and coffee drinkers.
    fn shop() -> Engine {
        let mut e = Engine::new(EngineConfig {
            als: AlsConfig {
                factors: 4,
                iterations: 15,
                regularization: 0.5,
                alpha: 5.0,
                threads: 1,
                ..Default::default()
            },
            ..Default::default()
        });
        let tea = ["green-tea", "black-tea", "teapot", "tea-cups"];
        let coffee = ["espresso", "grinder", "mocha-pot", "coffee-mugs"];
        for c in 0..12 {
            let (name, set) = if c < 6 {
                (format!("t{c}"), tea)
            } else {
                (format!("c{c}"), coffee)
            };
            for (j, p) in set.iter().enumerate() {
                if (c + j) % 4 != 0 {
                    buy(&mut e, &name, p, (c * 3 + j) as i64);
                }
            }
        }
        for p in tea {
            e.upsert_product(Product {
                id: p.into(),
                name: p.replace('-', " "),
                category: Some("tea".into()),
                price: Some(4.0),
                in_stock: true,
            })
            .unwrap();
        }
        e
    }

    #[test]
    fn train_checks_the_popularity_window() {
        for (days, ok) in [
            (f64::NAN, false),
            (-1.0, false),
            (0.0, true),
            (f64::INFINITY, true),
        ] {
            let mut e = shop();
            e.config.popularity_window_days = days;
            let r = e.train();
            assert_eq!(r.is_ok(), ok, "{days}: {r:?}");
            if !ok {
                assert!(matches!(r, Err(Error::InvalidConfig(_))));
                assert!(e.trained_factors().is_none(), "nothing trained");
            }
        }
    }

    #[test]
    fn recommends_within_taste_with_reasons() {
        let mut e = shop();
        assert!(matches!(
            e.recommend("t1", &RecommendOptions::default()),
            Err(Error::NotTrained)
        ));
        e.train().unwrap();
        let r = e
            .recommend(
                "t1",
                &RecommendOptions {
                    k: 1,
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(!r.fallback);
        // t1 bought everything tea but the item with (1 + j) % 4 == 0, i.e. j = 3: tea-cups
        assert_eq!(r.items[0].product, "tea-cups");
        assert!(
            matches!(&r.items[0].reason, Reason::BecauseYouBought { product, .. } if ["green-tea", "black-tea", "teapot"].contains(&product.as_str()))
        );
        // never an owned product unless repurchase is allowed
        let all = e
            .recommend(
                "t1",
                &RecommendOptions {
                    k: 20,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(all.items.len(), 8 - 3);
        let again = e
            .recommend(
                "t1",
                &RecommendOptions {
                    k: 20,
                    allow_repurchase: true,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(again.items.len(), 8);
    }

    #[test]
    fn filters_and_business_rules() {
        let mut e = shop();
        e.train().unwrap();
        let o = |f: fn(&mut RecommendOptions)| {
            let mut o = RecommendOptions {
                k: 10,
                ..Default::default()
            };
            f(&mut o);
            o
        };
        let r = e
            .recommend("c7", &o(|o| o.category = Some("tea".into())))
            .unwrap();
        assert!(r.items.iter().all(|i| i.product.contains("tea")), "{r:?}");
        assert!(
            e.recommend("c7", &o(|o| o.category = Some("wine".into())))
                .unwrap()
                .items
                .is_empty()
        );
        let r = e
            .recommend(
                "c7",
                &o(|o| o.candidates = Some(vec!["teapot".into(), "nope".into()])),
            )
            .unwrap();
        assert_eq!(r.items.len(), 1);
        e.set_in_stock("teapot", false).unwrap();
        assert!(
            e.recommend("c7", &o(|o| o.candidates = Some(vec!["teapot".into()])))
                .unwrap()
                .items
                .is_empty()
        );
        let r = e
            .recommend(
                "c7",
                &o(|o| {
                    o.exclude = vec![
                        "espresso".into(),
                        "grinder".into(),
                        "mocha-pot".into(),
                        "coffee-mugs".into(),
                    ]
                }),
            )
            .unwrap();
        assert!(r.items.iter().all(|i| i.product.contains("tea")));
    }

    #[test]
    fn unknown_customer_gets_flagged_fallback_and_observe_folds_in() {
        let mut e = shop();
        e.train().unwrap();
        let r = e
            .recommend("stranger", &RecommendOptions::default())
            .unwrap();
        assert!(r.fallback);
        assert!(r.items.iter().all(|i| i.reason == Reason::Popular));
        assert!(!r.items.is_empty());
        // a new customer buys coffee gear: recommendations switch to coffee at once
        for p in ["espresso", "grinder"] {
            e.observe(&Purchase {
                customer: "stranger".into(),
                product: p.into(),
                timestamp: Timestamp(100 * 86_400),
                quantity: 1.0,
                unit_price: 9.0,
                order: Some("o-1".into()),
            })
            .unwrap();
        }
        let r = e
            .recommend(
                "stranger",
                &RecommendOptions {
                    k: 2,
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(!r.fallback);
        let mut got: Vec<_> = r.items.iter().map(|i| i.product.as_str()).collect();
        got.sort();
        assert_eq!(got, vec!["coffee-mugs", "mocha-pot"]);
    }

    #[test]
    fn similar_products() {
        let mut e = shop();
        assert!(matches!(e.similar("teapot", 3), Err(Error::NotTrained)));
        e.train().unwrap();
        let s = e.similar("teapot", 3).unwrap();
        assert_eq!(s.len(), 3);
        assert!(
            s.iter()
                .all(|p| p.product.contains("tea") && p.product != "teapot"),
            "{s:?}"
        );
        assert!(s[0].similarity <= 1.0001 && s[0].similarity >= s[2].similarity);
        assert!(matches!(
            e.similar("nope", 3),
            Err(Error::UnknownProduct(_))
        ));
    }

    #[test]
    fn similarity_of_twin_products_stays_a_cosine() {
        let mut e = Engine::new(EngineConfig {
            als: AlsConfig {
                factors: 8,
                iterations: 6,
                threads: 1,
                ..Default::default()
            },
            ..Default::default()
        });
        // products `pNa` and `pNb` are bought by exactly the same customers, so their vectors
        // are equal and rounding can put the cosine past 1
        for c in 0..40 {
            for pair in [c % 7, (c * 3) % 7] {
                for twin in ["a", "b"] {
                    buy(&mut e, &format!("c{c}"), &format!("p{pair}{twin}"), c);
                }
            }
        }
        e.train().unwrap();
        let mut top = 0f32;
        for pair in 0..7 {
            let s = e.similar(&format!("p{pair}a"), 50).unwrap();
            assert_eq!(s[0].product, format!("p{pair}b"));
            for p in &s {
                assert!((-1.0..=1.0).contains(&p.similarity), "{p:?}");
            }
            top = top.max(s[0].similarity);
        }
        assert!(top > 0.9999, "the twins point the same way: {top}");
    }

    #[test]
    fn well_formed_files_that_do_not_fit_together_are_corrupted_errors() {
        let mut e = shop();
        e.train().unwrap();
        let good = serde_json::to_value(&e).unwrap();
        let corrupt = |edit: &dyn Fn(&mut serde_json::Value)| Engine::reload_edited(&good, edit);
        assert!(corrupt(&|_| ()).is_ok());
        for (what, edit) in [
            (
                "a line's customer",
                &(|v: &mut serde_json::Value| v["history"]["lines"][0]["customer"] = 10_000.into())
                    as &dyn Fn(&mut serde_json::Value),
            ),
            ("a line's product", &|v| {
                v["history"]["lines"][3]["product"] = 77.into()
            }),
            ("an interaction's product", &|v| {
                v["model"]["recommender"]["seen"]["indices"][0] = 9_999.into()
            }),
            ("the row offsets", &|v| {
                v["model"]["recommender"]["seen"]["indptr"][1] = 100_000.into()
            }),
            ("the popularity length", &|v| {
                v["model"]["recommender"]["popularity"]
                    .as_array_mut()
                    .unwrap()
                    .pop();
            }),
            ("the item norms", &|v| {
                v["model"]["item_norms"].as_array_mut().unwrap().pop();
            }),
            // the catalog and customer records (also checked through serde alone, in
            // tests/robustness.rs, which cannot build a file from edited parts)
            ("a category index past the categories", &|v| {
                v["history"]["catalog"]["entries"][0]["category"] = 99.into()
            }),
            ("a product id without an entry", &|v| {
                v["history"]["catalog"]["ids"]
                    .as_array_mut()
                    .unwrap()
                    .push("ghost".into());
            }),
            ("an out-of-stock count that does not match", &|v| {
                v["history"]["catalog"]["out_of_stock"] = 3.into()
            }),
            ("a negative price", &|v| {
                v["history"]["catalog"]["entries"][0]["price"] = (-1.0).into()
            }),
            ("customer ids without attribute records", &|v| {
                v["history"]["infos"].as_array_mut().unwrap().pop();
            }),
            ("a line with a negative quantity", &|v| {
                v["history"]["lines"][0]["quantity"] = (-2.0).into()
            }),
        ] {
            assert!(matches!(corrupt(edit), Err(Error::Corrupted(_))), "{what}");
            // read through serde alone, the same engine is refused with the same message
            let mut v = good.clone();
            edit(&mut v);
            let serde_error = serde_json::from_value::<Engine>(v).unwrap_err().to_string();
            let Err(corrupted) = corrupt(edit) else {
                unreachable!()
            };
            assert!(
                serde_error.contains(&corrupted.to_string()),
                "{what}: {serde_error}"
            );
        }
    }

    #[test]
    fn an_engine_read_back_through_serde_works_as_the_saved_one() {
        let mut e = shop();
        e.train().unwrap();
        let back: Engine = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        let opts = RecommendOptions::default();
        for c in ["t1", "c7", "c11"] {
            assert_eq!(
                back.recommend(c, &opts).unwrap(),
                e.recommend(c, &opts).unwrap()
            );
        }
        assert_eq!(back.history().lines(), e.history().lines());
        // the indexes were rebuilt: a repeat is known, and a new customer can buy
        let mut back = back;
        // t1 bought black-tea (index 1) on day 1 * 3 + 1
        let repeat = purchase("t1", "black-tea", 4);
        assert_eq!(back.record_purchase(&repeat).unwrap(), Recorded::Duplicate);
        let first = purchase("newcomer", "teapot", 50);
        assert_eq!(back.record_purchase(&first).unwrap(), Recorded::Added);
        let newcomer = back.history().customers().get("newcomer").unwrap();
        assert_eq!(back.history().customer_lines(newcomer).len(), 1);
    }

    #[test]
    fn blend_settings_are_checked_applied_and_saved() {
        let mut e = shop();
        e.train().unwrap();
        assert_eq!(e.blend(), &Blend::OFF);
        let o = RecommendOptions::default();
        // off (the default): factor scores x·y, best first
        let off = e.recommend("t2", &o).unwrap();
        assert!(!off.items.is_empty() && !off.fallback);
        let f = e.trained_factors().unwrap();
        let u = e.history().customers().get("t2").unwrap();
        for r in &off.items {
            let i = e.history().catalog().index(&r.product).unwrap();
            let dot: f32 = f
                .user(u as usize)
                .iter()
                .zip(f.item(i as usize))
                .map(|(a, b)| a * b)
                .sum();
            assert!(
                (r.score - dot).abs() < 1e-4,
                "{} {} {dot}",
                r.product,
                r.score
            );
        }
        e.set_blend(Blend::CO_PURCHASE).unwrap();
        let on = e.recommend("t2", &o).unwrap();
        // the same products here (the pool holds the whole small catalog), blended scores
        let ids = |r: &Recommendations| {
            let mut v: Vec<String> = r.items.iter().map(|i| i.product.clone()).collect();
            v.sort();
            v
        };
        assert_eq!(ids(&on), ids(&off));
        assert_ne!(on, off);
        // bad settings: a typed error and nothing changes
        let bad = Blend {
            pool: 0,
            ..Blend::CO_PURCHASE
        };
        assert!(matches!(e.set_blend(bad), Err(Error::InvalidConfig(_))));
        assert_eq!(e.blend(), &Blend::CO_PURCHASE);
        assert_eq!(e.recommend("t2", &o).unwrap(), on);
        // saved with the engine, applied after loading
        let back = Engine::from_bytes(&e.to_bytes().unwrap()).unwrap();
        assert_eq!(back.blend(), &Blend::CO_PURCHASE);
        assert_eq!(back.recommend("t2", &o).unwrap(), on);
        e.set_blend(Blend::OFF).unwrap();
        let back = Engine::from_bytes(&e.to_bytes().unwrap()).unwrap();
        assert_eq!(back.recommend("t2", &o).unwrap(), off);
        // set before training: the trained model uses it
        let mut fresh = shop();
        fresh.set_blend(Blend::CO_PURCHASE).unwrap();
        fresh.train().unwrap();
        assert_eq!(fresh.recommend("t2", &o).unwrap(), on);
        // a saved setting out of range is a corrupted file
        let json = serde_json::to_value(&e).unwrap();
        let edited = Engine::reload_edited(&json, &|v| v["blend"]["weight"] = 3.0.into());
        assert!(matches!(edited, Err(Error::Corrupted(_))), "{edited:?}");
    }

    #[test]
    fn engines_saved_before_the_blend_setting_load_with_the_default() {
        #[derive(Serialize)]
        struct Before<'a> {
            config: &'a EngineConfig,
            history: &'a History,
            model: Option<()>,
            greetings: &'a crate::greeting::Greetings,
        }
        let mut e = shop();
        e.set_blend(Blend::CO_PURCHASE).unwrap();
        let old = crate::persist::to_bytes(&Before {
            config: e.config(),
            history: e.history(),
            model: None,
            greetings: e.greetings(),
        })
        .unwrap();
        let back = Engine::from_bytes(&old).unwrap();
        assert_eq!(back.blend(), &Blend::OFF);
        assert_eq!(back.history().lines().len(), e.history().lines().len());
    }

    #[test]
    fn save_and_load_round_trip() {
        let mut e = shop();
        e.train().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.rapport");
        e.save(&path).unwrap();
        let back = Engine::load(&path).unwrap();
        let o = RecommendOptions::default();
        assert_eq!(
            back.recommend("t2", &o).unwrap(),
            e.recommend("t2", &o).unwrap()
        );
        assert_eq!(
            Engine::from_bytes(&e.to_bytes().unwrap())
                .unwrap()
                .similar("teapot", 2)
                .unwrap(),
            e.similar("teapot", 2).unwrap()
        );
        std::fs::write(&path, b"GIF89a not a model").unwrap();
        assert!(matches!(Engine::load(&path), Err(Error::NotAModel)));
        assert!(matches!(
            Engine::load(dir.path().join("missing")),
            Err(Error::Io { .. })
        ));
    }

    #[test]
    fn engine_is_send_and_sync() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Engine>();
    }

    /// 2,500 products in 25 groups of 100 (categories g0–g24, every 7th product out of stock);
    /// 150 customers who each buy 30 products, mostly from one group.
    fn big_shop() -> Engine {
        let mut e = Engine::new(EngineConfig {
            als: AlsConfig {
                factors: 8,
                iterations: 4,
                threads: 1,
                ..Default::default()
            },
            ..Default::default()
        });
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        for c in 0..150u32 {
            let group = c % 25;
            for j in 0..30u32 {
                let p = if j % 5 == 4 {
                    rng.random_range(0..2500)
                } else {
                    group * 100 + rng.random_range(0..100)
                };
                buy(&mut e, &format!("u{c}"), &format!("p{p}"), (c + j) as i64);
            }
        }
        for p in 0..2500u32 {
            e.upsert_product(Product {
                id: format!("p{p}"),
                name: format!("Product {p}"),
                category: Some(format!("g{}", p / 100)),
                price: Some(1.0),
                in_stock: p % 7 != 0,
            })
            .unwrap();
        }
        e.train().unwrap();
        e
    }

    #[test]
    fn batch_recommendations_equal_one_call_per_customer() {
        let e = big_shop();
        assert!(e.history().catalog().len() >= crate::als::QUANTIZED_SCAN_MIN_ITEMS);
        // more than one chunk, unknown and repeated customers
        let mut customers: Vec<String> = (0..150).map(|c| format!("u{c}")).collect();
        customers.extend(["nobody".to_owned(), "u3".to_owned(), String::new()]);
        let asked: Vec<&str> = customers.iter().map(String::as_str).collect();
        let base = RecommendOptions::default();
        for options in [
            base.clone(),
            RecommendOptions {
                k: 25,
                ..base.clone()
            },
            RecommendOptions {
                exclude: vec!["p101".into(), "p5".into(), "unknown".into()],
                ..base.clone()
            },
            RecommendOptions {
                allow_repurchase: true,
                ..base.clone()
            },
            RecommendOptions {
                in_stock_only: false,
                ..base.clone()
            },
            RecommendOptions {
                category: Some("g3".into()),
                ..base.clone()
            },
            RecommendOptions {
                category: Some("no-such-category".into()),
                ..base.clone()
            },
            RecommendOptions {
                candidates: Some((0..2500).step_by(3).map(|p| format!("p{p}")).collect()),
                ..base.clone()
            },
        ] {
            let batch = e.recommend_batch(&asked, &options).unwrap();
            let one_by_one: Vec<Recommendations> = asked
                .iter()
                .map(|c| e.recommend(c, &options).unwrap())
                .collect();
            assert_eq!(batch, one_by_one, "{options:?}");
            let personal = batch.iter().filter(|r| !r.fallback && !r.items.is_empty());
            if options.category.as_deref() != Some("no-such-category") {
                assert!(personal.count() >= 150, "{options:?}");
            }
        }
        assert!(matches!(
            Engine::default().recommend_batch(&["a"], &base),
            Err(Error::NotTrained)
        ));
    }

    #[test]
    fn training_on_nothing_is_an_error() {
        let mut e = Engine::default();
        assert!(matches!(e.train(), Err(Error::Empty(_))));
        e.upsert_product(Product::bare("x")).unwrap();
        assert!(matches!(e.train(), Err(Error::Empty(_))));
        let mut bad = shop();
        bad.config.als.factors = 0;
        assert!(matches!(bad.train(), Err(Error::InvalidConfig(_))));
    }

    #[test]
    fn engines_saved_before_order_ids_were_separated_load_and_keep_their_repeats() {
        let mut e = Engine::default();
        buy(&mut e, "ann", "tea", 1);
        e.record_purchase(&Purchase {
            customer: "ann".into(),
            product: "mug".into(),
            timestamp: Timestamp(2 * 86_400),
            quantity: 1.0,
            unit_price: 2.0,
            order: Some("A-1".into()),
        })
        .unwrap();
        let json = serde_json::to_value(&e).unwrap();
        let back = Engine::reload_edited(&json, &|v| {
            // no scheme field, ids spelled as they are
            v.as_object_mut().unwrap().remove("order_ids");
            v["history"] = serde_json::to_value(e.history().with_shared_order_ids()).unwrap();
        })
        .unwrap();
        let h = back.history();
        assert_eq!(h.order_id(0), "ann@86400");
        assert!(h.order_is_synthetic(0));
        assert_eq!(h.order_id(1), "A-1");
        assert!(!h.order_is_synthetic(1));
        // separated once: saved again, the file loads as it is and writes the same bytes
        let bytes = back.to_bytes().unwrap();
        let again = Engine::from_bytes(&bytes).unwrap();
        assert_eq!(again.to_bytes().unwrap(), bytes);
        let mut again = again;
        buy(&mut again, "ann", "tea", 1);
        assert_eq!(again.history().lines().len(), 2, "a repeat, not a new line");
        // the binary layout of a file from before the field (and before greetings and blend)
        #[derive(Serialize)]
        struct Before<'a> {
            config: &'a EngineConfig,
            history: &'a History,
            model: Option<()>,
        }
        let old_history = e.history().with_shared_order_ids();
        let old = crate::persist::to_bytes(&Before {
            config: e.config(),
            history: &old_history,
            model: None,
        })
        .unwrap();
        let mut back = Engine::from_bytes(&old).unwrap();
        let h = back.history();
        assert_eq!(
            (h.order_id(0), h.order_is_synthetic(0)),
            ("ann@86400", true)
        );
        assert_eq!((h.order_id(1), h.order_is_synthetic(1)), ("A-1", false));
        buy(&mut back, "ann", "tea", 1);
        assert_eq!(back.history().lines().len(), 2);
    }
}
