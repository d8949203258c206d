//! Customer profiles computed from the purchase history as of a date.
//!
//! [`Profiles::compute`] summarises every customer's purchases up to and including `as_of`
//! (later lines are ignored, so a past `as_of` reproduces what was known then): order counts and
//! spend, purchase rhythm, RFM scores, a [`Segment`], churn risk and expected value from the
//! buy-till-you-die models of [`crate::clv`], and favourite products and categories.
//!
//! # Conventions
//!
//! * **Days.** Calendar days are UTC days (`timestamp / 86 400`, rounded down). Purchase rhythm and
//!   the customer value models work on *purchase days*: several orders on one day count once, as
//!   in `lifetimes`' `summary_data_from_transaction_data` with daily frequency.
//! * **Model inputs.** For a customer with purchases, the BG/NBD [`RfmSummary`] is, in days:
//!   frequency = distinct purchase days − 1, recency = last − first purchase day,
//!   T = `as_of` day − first purchase day. The Gamma-Gamma monetary value is the mean spend per
//!   purchase day over the repeat days (the first purchase day is left out, as `lifetimes` does).
//! * **Models.** The BG/NBD model is fitted on every customer with at least one purchase when there
//!   are at least [`MIN_FIT_CUSTOMERS`] of them and at least [`MIN_FIT_REPEAT_CUSTOMERS`] with a
//!   repeat purchase day; the Gamma-Gamma model when at least [`MIN_FIT_REPEAT_CUSTOMERS`] repeat
//!   customers have positive repeat spend. A fit that fails leaves the model out (`None`) and the
//!   documented fallbacks of [`Profile::churn_risk`], [`Profile::expected_orders_12m`] and
//!   [`Profile::expected_value_12m`] apply.

use crate::clv::{BgNbd, GammaGamma, RfmSummary};
use crate::error::Result;
use crate::history::{History, Line};
use crate::time::{DAY, Timestamp};
use serde::{Deserialize, Serialize};

/// Customers with at least one purchase needed before the BG/NBD model is fitted.
pub const MIN_FIT_CUSTOMERS: usize = 30;
/// Customers with a repeat purchase day needed before the BG/NBD and Gamma-Gamma models are fitted.
pub const MIN_FIT_REPEAT_CUSTOMERS: usize = 10;
/// Horizon of [`Profile::expected_orders_12m`] and [`Profile::expected_value_12m`], in days.
pub const HORIZON_DAYS: f64 = 365.0;
/// Half-life, in days, of the recency weighting of favourite products and categories.
pub const FAVOURITE_HALF_LIFE_DAYS: f64 = 90.0;
/// Number of favourite products and categories kept per profile.
pub const FAVOURITES: usize = 5;

/// [`Segment::New`]: first purchase at most this many days before `as_of`.
pub const NEW_DAYS: f64 = 30.0;
/// [`Segment::AtRisk`]: no purchase for more than this many days.
pub const AT_RISK_DAYS: f64 = 90.0;
/// [`Segment::AtRisk`]: overdue means more than this many median intervals since the last purchase…
pub const OVERDUE_FACTOR: f64 = 2.0;
/// …and more than this many days (a few days' slip of a weekly buyer is no risk).
pub const MIN_OVERDUE_DAYS: f64 = 14.0;
/// [`Segment::Lapsed`]: no purchase for more than this many days…
pub const LAPSED_DAYS: f64 = 180.0;
/// …and more than this many median intervals.
pub const LAPSED_FACTOR: f64 = 3.0;
/// Typical interval between purchase days assumed by the churn fallback when no customer has one.
pub const DEFAULT_INTERVAL_DAYS: f64 = 90.0;

/// Where a customer stands. The rules are tried in this order and the first that matches wins
/// (`d` = days since the last purchase, `m` = the customer's median days between purchase days):
///
/// 1. [`Segment::New`] — no purchase yet, or a single order whose first purchase was at most
///    [`NEW_DAYS`] (30) days ago.
/// 2. [`Segment::Lapsed`] — `d > max(180, 3·m)` ([`LAPSED_DAYS`], [`LAPSED_FACTOR`]; just
///    `d > 180` without `m`).
/// 3. [`Segment::AtRisk`] — `d > 90` ([`AT_RISK_DAYS`]), or overdue: `d > max(2·m, 14)`
///    ([`OVERDUE_FACTOR`], [`MIN_OVERDUE_DAYS`]).
/// 4. [`Segment::Champion`] — RFM recency, frequency and monetary scores all ≥ 4.
/// 5. [`Segment::Active`] — everyone else.
///
/// Lapsed and at-risk come before champion on purpose: a best customer who has gone quiet is the
/// one to win back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Segment {
    /// No purchase yet, or one recent first order.
    New,
    /// Buying in their usual rhythm.
    Active,
    /// Overdue for their next purchase, or quiet for more than 90 days.
    AtRisk,
    /// Gone: no purchase for more than 180 days and more than three usual intervals.
    Lapsed,
    /// Recent, frequent and big-spending: top two quintiles on all three RFM scores.
    Champion,
}

impl Segment {
    /// All segments, in declaration order.
    pub const ALL: [Segment; 5] = [
        Segment::New,
        Segment::Active,
        Segment::AtRisk,
        Segment::Lapsed,
        Segment::Champion,
    ];

    /// The lower-case name used in files and APIs (`new`, `active`, `at-risk`, `lapsed`, `champion`).
    pub fn as_str(self) -> &'static str {
        match self {
            Segment::New => "new",
            Segment::Active => "active",
            Segment::AtRisk => "at-risk",
            Segment::Lapsed => "lapsed",
            Segment::Champion => "champion",
        }
    }
}

impl std::fmt::Display for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// RFM scores, 1 (worst) to 5 (best), by quintile among the customers with at least one order;
/// all three are 0 for a customer without orders.
///
/// * recency: whole days since the last purchase day, fewer is better;
/// * frequency: number of orders, more is better;
/// * monetary: total spend, more is better.
///
/// Ties share a score: a value's percentile is its mid-rank, `(below + equal/2) / n`, and the score
/// is `⌈5 · percentile⌉` (so five distinct values score 1, 2, 3, 4, 5, and a base where everyone
/// is equal scores 3 throughout). A large tie therefore leaves scores unused: where half the
/// customers have one order, they all score frequency 2 (mid-rank 0.25, `⌈1.25⌉`), and nobody
/// scores 1. Scores rank customers; they are not a fixed fifth of the base each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rfm {
    /// Recency score (5 = bought most recently).
    pub recency: u8,
    /// Frequency score (5 = most orders).
    pub frequency: u8,
    /// Monetary score (5 = highest total spend).
    pub monetary: u8,
}

/// One customer as of a date.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The shop's customer id.
    pub id: String,
    /// Distinct orders.
    pub orders: u32,
    /// Units bought (sum of line quantities).
    pub units: f64,
    /// Total spend (sum of quantity × unit price).
    pub total_spend: f64,
    /// `total_spend / orders`; 0 without orders.
    pub average_order_value: f64,
    /// Time of the first purchase line.
    pub first_purchase: Option<Timestamp>,
    /// Time of the last purchase line.
    pub last_purchase: Option<Timestamp>,
    /// Days (fractional) from the last purchase to `as_of`.
    pub days_since_last_purchase: Option<f64>,
    /// Median of the gaps, in whole days, between consecutive distinct purchase days; `None` with
    /// fewer than two purchase days.
    pub median_days_between_orders: Option<f64>,
    /// `last_purchase` plus the median gap, when both are known (may lie before `as_of`: overdue).
    pub expected_next_purchase: Option<Timestamp>,
    /// RFM quintile scores (all 0 without orders).
    pub rfm: Rfm,
    /// Segment, by the rules documented on [`Segment`].
    pub segment: Segment,
    /// Risk in [0, 1] that the customer has stopped buying.
    ///
    /// * With a fitted BG/NBD model: `1 − P(alive)`. The model lets customers drop out only right
    ///   after a repeat purchase, so a customer with a single purchase day scores 0 whatever their
    ///   recency; use [`Profile::segment`] (which looks at recency) for those.
    /// * Without one (small base): `1 − 2^(−d / (2g))` with `d` the whole days since the last
    ///   purchase day and `g` the customer's median gap between purchase days, or the median of those medians
    ///   over the base, or [`DEFAULT_INTERVAL_DAYS`]: 0 right after a purchase, ½ when two usual
    ///   gaps have passed, tending to 1.
    /// * Without orders: the mean churn risk of the customers who have orders (½ when none has).
    pub churn_risk: f64,
    /// Probability in [0, 1] of no purchase at all in the next [`HORIZON_DAYS`] (365) days.
    ///
    /// * With a fitted BG/NBD model: [`BgNbd::prob_no_purchase`]. Unlike `churn_risk` it also
    ///   rises with idle time for customers with a single purchase day, and it stays informative
    ///   on bases where the fitted dropout probability is tiny (Online Retail: a ≈ 0.003, so
    ///   `churn_risk` is close to 0 for almost everyone).
    /// * Without one: `churn_risk + (1 − churn_risk)·e^(−365/g)`, a Poisson process with mean gap
    ///   `g` (the gap of the `churn_risk` fallback) for a customer still alive.
    /// * Without orders: the mean over the customers who have orders (½ when none has).
    pub prob_no_purchase_12m: f64,
    /// Expected purchase days in the next [`HORIZON_DAYS`] (365) days: BG/NBD's conditional
    /// expectation; without the model, the observed repeat rate `365 · frequency / T` scaled by
    /// `1 − churn_risk`. 0 without orders (the models describe customers after their first purchase).
    pub expected_orders_12m: f64,
    /// `expected_orders_12m` × expected spend per purchase day: Gamma-Gamma's conditional
    /// expectation for repeat customers (also when their repeat days cost nothing) and its
    /// population mean for customers with a single purchase day; without the model, the
    /// customer's own mean spend per purchase day.
    pub expected_value_12m: f64,
    /// Up to five (product index, weight) pairs, heaviest first (ties: lower index first). Each
    /// order containing the product adds `2^(−age / 90 days)`, age measured from the order to
    /// `as_of` ([`FAVOURITE_HALF_LIFE_DAYS`]).
    pub favourite_products: Vec<(u32, f64)>,
    /// Up to five (category index, weight) pairs, weighted like `favourite_products` (each order
    /// counts once per category); empty when no bought product has a category.
    pub favourite_categories: Vec<(u32, f64)>,
}

/// Profiles of every customer of a history as of one date, with the models fitted on them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profiles {
    /// The date the profiles describe: purchases after it were ignored.
    pub as_of: Timestamp,
    /// One profile per customer, indexed by customer index.
    pub profiles: Vec<Profile>,
    /// BG/NBD fitted on the base (time unit: days), when the base was large enough.
    pub bg_nbd: Option<BgNbd>,
    /// Gamma-Gamma fitted on the repeat customers, when there were enough.
    pub gamma_gamma: Option<GammaGamma>,
}

impl std::fmt::Display for Profile {
    /// A short multi-line summary for logs and examples.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let day = |t: Option<Timestamp>| {
            // the date part: years outside 0..=9999 carry a sign and more digits
            t.map(|t| {
                t.to_string()
                    .split(' ')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .unwrap_or_else(|| "–".into())
        };
        writeln!(
            f,
            "  segment {} · RFM {}{}{}",
            self.segment, self.rfm.recency, self.rfm.frequency, self.rfm.monetary
        )?;
        writeln!(
            f,
            "  {} orders, {} units, spend {:.2} (average order {:.2})",
            self.orders, self.units, self.total_spend, self.average_order_value
        )?;
        writeln!(
            f,
            "  first {} · last {} ({} days ago) · usually every {} days · next expected {}",
            day(self.first_purchase),
            day(self.last_purchase),
            self.days_since_last_purchase
                .map_or("–".into(), |d| format!("{d:.0}")),
            self.median_days_between_orders
                .map_or("–".into(), |d| format!("{d:.0}")),
            day(self.expected_next_purchase)
        )?;
        write!(
            f,
            "  churn risk {:.3} · no purchase in 12 months {:.2} · expected 12-month value {:.2} ({:.1} orders)",
            self.churn_risk,
            self.prob_no_purchase_12m,
            self.expected_value_12m,
            self.expected_orders_12m
        )
    }
}

/// Shorthand for [`Profiles::compute`].
pub fn profiles(history: &History, as_of: Timestamp) -> Result<Profiles> {
    Profiles::compute(history, as_of)
}

/// What one customer's lines add up to, before the base-wide steps.
struct Base {
    orders: u32,
    units: f64,
    spend: f64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    median_gap: Option<f64>,
    /// Whole days from the last purchase day to the `as_of` day.
    idle_days: i64,
    summary: Option<RfmSummary>,
    /// Mean spend per repeat purchase day (0 without repeat days).
    repeat_value: f64,
    /// Mean spend per purchase day.
    day_value: f64,
    favourite_products: Vec<(u32, f64)>,
    favourite_categories: Vec<(u32, f64)>,
}

impl Profiles {
    /// Profiles of all customers of `history` from the lines with `timestamp ≤ as_of`.
    ///
    /// Customers without a purchase by `as_of` (registered only, or first buying later) still get
    /// a profile, with `orders == 0` and segment [`Segment::New`]. An `as_of` before all purchases
    /// gives such profiles for everyone and no models. Deterministic.
    pub fn compute(history: &History, as_of: Timestamp) -> Result<Profiles> {
        let as_day = as_of.0.div_euclid(DAY);
        let catalog = history.catalog();
        let mut lines: Vec<Line> = Vec::new();
        let bases: Vec<Base> = (0..history.customer_count() as u32)
            .map(|c| {
                lines.clear();
                lines.extend(history.customer_lines(c).filter(|l| l.timestamp <= as_of));
                summarise(&mut lines, as_of, as_day, |p| catalog.category_of(p))
            })
            .collect();

        let rfm = rfm_scores(&bases);

        let summaries: Vec<RfmSummary> = bases.iter().filter_map(|b| b.summary).collect();
        let repeaters = summaries.iter().filter(|s| s.frequency > 0.0).count();
        let bg_nbd = (summaries.len() >= MIN_FIT_CUSTOMERS
            && repeaters >= MIN_FIT_REPEAT_CUSTOMERS)
            .then(|| BgNbd::fit(&summaries).ok())
            .flatten();
        let spend: Vec<(f64, f64)> = bases
            .iter()
            .filter_map(|b| b.summary.map(|s| (s.frequency, b.repeat_value)))
            // spend that overflows says nothing about the others' spend: leave that customer
            // out of the fit rather than fail it for everyone (the fit's own rule; first-time
            // buyers, x = 0, carry no spend information and stay out too)
            .filter(|&(x, m)| x > 0.0 && GammaGamma::pair_problem(x, m).is_none())
            .collect();
        let gamma_gamma = (spend.len() >= MIN_FIT_REPEAT_CUSTOMERS)
            .then(|| GammaGamma::fit(&spend).ok())
            .flatten();

        // Typical gap for the churn fallback: the median of the customers' median gaps.
        let mut gaps: Vec<f64> = bases.iter().filter_map(|b| b.median_gap).collect();
        let base_gap = median(&mut gaps).unwrap_or(DEFAULT_INTERVAL_DAYS);

        // (churn risk, probability of no purchase in the horizon) for customers with orders.
        let risks: Vec<Option<(f64, f64)>> = bases
            .iter()
            .map(|b| {
                let s = b.summary?;
                Some(match &bg_nbd {
                    Some(m) => (1.0 - m.prob_alive(&s), m.prob_no_purchase(HORIZON_DAYS, &s)),
                    None => {
                        let gap = b.median_gap.unwrap_or(base_gap).max(1.0);
                        let churn = 1.0 - (-(b.idle_days as f64) / (2.0 * gap)).exp2();
                        (churn, churn + (1.0 - churn) * (-HORIZON_DAYS / gap).exp())
                    }
                })
            })
            .collect();
        let known: Vec<(f64, f64)> = risks.iter().flatten().copied().collect();
        let prior = if known.is_empty() {
            (0.5, 0.5)
        } else {
            let n = known.len() as f64;
            (
                known.iter().map(|k| k.0).sum::<f64>() / n,
                known.iter().map(|k| k.1).sum::<f64>() / n,
            )
        };

        let profiles = bases
            .into_iter()
            .zip(rfm)
            .zip(risks)
            .enumerate()
            .map(|(c, ((b, rfm), risk))| {
                let (churn_risk, prob_no_purchase_12m) = risk.unwrap_or(prior);
                let (churn_risk, prob_no_purchase_12m) = (
                    churn_risk.clamp(0.0, 1.0),
                    prob_no_purchase_12m.clamp(0.0, 1.0),
                );
                let (expected_orders_12m, expected_value_12m) = match b.summary {
                    None => (0.0, 0.0),
                    Some(s) => {
                        let n = match &bg_nbd {
                            Some(m) => m.expected_purchases(HORIZON_DAYS, &s),
                            None if s.t > 0.0 => {
                                HORIZON_DAYS * s.frequency / s.t * (1.0 - churn_risk)
                            }
                            None => 0.0,
                        };
                        let value = match &gamma_gamma {
                            // repeat days that cost nothing are still evidence of low
                            // spend: shrink towards 0, not back to the population mean
                            Some(g) if s.frequency > 0.0 => {
                                g.conditional_expected_average_value(s.frequency, b.repeat_value)
                            }
                            Some(g) => g.population_mean().unwrap_or(b.day_value),
                            None => b.day_value,
                        };
                        // no expected purchase is worth nothing, even when the spend per
                        // day overflowed to infinity (0 · ∞ would be NaN)
                        (n, if n > 0.0 { n * value } else { 0.0 })
                    }
                };
                let days_since = b.last.map(|l| as_of.days_since(l));
                let segment = segment(&b, days_since, rfm, as_of);
                Profile {
                    id: history.customers().name(c as u32).to_owned(),
                    orders: b.orders,
                    units: b.units,
                    total_spend: b.spend,
                    average_order_value: if b.orders > 0 {
                        b.spend / b.orders as f64
                    } else {
                        0.0
                    },
                    first_purchase: b.first,
                    last_purchase: b.last,
                    days_since_last_purchase: days_since,
                    median_days_between_orders: b.median_gap,
                    expected_next_purchase: b.last.zip(b.median_gap).map(|(l, g)| l.plus_days(g)),
                    rfm,
                    segment,
                    churn_risk,
                    prob_no_purchase_12m,
                    expected_orders_12m,
                    expected_value_12m,
                    favourite_products: b.favourite_products,
                    favourite_categories: b.favourite_categories,
                }
            })
            .collect();
        Ok(Profiles {
            as_of,
            profiles,
            bg_nbd,
            gamma_gamma,
        })
    }

    /// The profile of the customer with this id (a linear scan; use [`Profiles::get`] with the
    /// history's customer index in loops).
    pub fn by_id(&self, id: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.id == id)
    }

    /// The profile of the customer at `customer` (a customer index of the history).
    pub fn get(&self, customer: u32) -> Option<&Profile> {
        self.profiles.get(customer as usize)
    }

    /// All profiles, in customer-index order.
    pub fn iter(&self) -> std::slice::Iter<'_, Profile> {
        self.profiles.iter()
    }

    /// Number of profiles (= customers).
    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    /// True when the history had no customer.
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }
}

/// One customer's totals, rhythm, model summary and favourites from their lines (reordered).
fn summarise(
    lines: &mut [Line],
    as_of: Timestamp,
    as_day: i64,
    category_of: impl Fn(u32) -> Option<u32>,
) -> Base {
    let mut base = Base {
        orders: 0,
        units: 0.0,
        spend: 0.0,
        first: None,
        last: None,
        median_gap: None,
        idle_days: 0,
        summary: None,
        repeat_value: 0.0,
        day_value: 0.0,
        favourite_products: Vec::new(),
        favourite_categories: Vec::new(),
    };
    if lines.is_empty() {
        return base;
    }
    lines.sort_by_key(|l| (l.timestamp, l.order, l.product));
    base.first = Some(lines[0].timestamp);
    base.last = Some(lines[lines.len() - 1].timestamp);
    base.units = lines.iter().map(|l| l.quantity).sum();
    base.spend = lines.iter().map(Line::amount).sum();
    let mut orders: Vec<u32> = lines.iter().map(|l| l.order).collect();
    orders.sort_unstable();
    orders.dedup();
    base.orders = orders.len() as u32;

    // Spend per purchase day (lines are in time order).
    let mut days: Vec<(i64, f64)> = Vec::new();
    for l in lines.iter() {
        let d = l.timestamp.0.div_euclid(DAY);
        match days.last_mut() {
            Some((day, spend)) if *day == d => *spend += l.amount(),
            _ => days.push((d, l.amount())),
        }
    }
    let (first_day, last_day) = (days[0].0, days[days.len() - 1].0);
    let mut gaps: Vec<f64> = days.windows(2).map(|w| (w[1].0 - w[0].0) as f64).collect();
    base.median_gap = median(&mut gaps);
    base.idle_days = as_day - last_day;
    let repeat = days.len() - 1;
    base.summary = Some(RfmSummary::new(
        repeat as f64,
        (last_day - first_day) as f64,
        (as_day - first_day) as f64,
    ));
    base.day_value = base.spend / days.len() as f64;
    if repeat > 0 {
        base.repeat_value = days[1..].iter().map(|d| d.1).sum::<f64>() / repeat as f64;
    }

    // Favourites: each (order, product) and (order, category) pair counts once, decayed by age.
    let decay = |t: Timestamp| (-as_of.days_since(t).max(0.0) / FAVOURITE_HALF_LIFE_DAYS).exp2();
    let mut pairs: Vec<(u32, u32, Timestamp)> = lines
        .iter()
        .map(|l| (l.product, l.order, l.timestamp))
        .collect();
    base.favourite_products = top_weights(&mut pairs, decay);
    let mut pairs: Vec<(u32, u32, Timestamp)> = lines
        .iter()
        .filter_map(|l| category_of(l.product).map(|c| (c, l.order, l.timestamp)))
        .collect();
    base.favourite_categories = top_weights(&mut pairs, decay);
    base
}

/// Sums the decayed weight of each key over its distinct orders and keeps the heaviest
/// [`FAVOURITES`] (ties: lower key first). Each (key, order) pair counts once, at its latest time.
fn top_weights(
    pairs: &mut [(u32, u32, Timestamp)],
    decay: impl Fn(Timestamp) -> f64,
) -> Vec<(u32, f64)> {
    pairs.sort_unstable();
    let mut weights: Vec<(u32, f64)> = Vec::new();
    for (i, &(key, order, t)) in pairs.iter().enumerate() {
        if pairs
            .get(i + 1)
            .is_some_and(|&(k, o, _)| k == key && o == order)
        {
            continue; // a later line of the same order: count the pair once
        }
        match weights.last_mut() {
            Some((k, w)) if *k == key => *w += decay(t),
            _ => weights.push((key, decay(t))),
        }
    }
    weights.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    weights.truncate(FAVOURITES);
    weights
}

/// Median of `values` (mean of the two middle values for an even count); `None` when empty.
fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// RFM quintile scores for every customer (zeros for customers without orders).
fn rfm_scores(bases: &[Base]) -> Vec<Rfm> {
    let with_orders: Vec<usize> = (0..bases.len()).filter(|&i| bases[i].orders > 0).collect();
    // Recency is negated so that "higher is better" holds for all three.
    let r = quintiles(
        with_orders
            .iter()
            .map(|&i| -(bases[i].idle_days as f64))
            .collect(),
    );
    let f = quintiles(
        with_orders
            .iter()
            .map(|&i| bases[i].orders as f64)
            .collect(),
    );
    let m = quintiles(with_orders.iter().map(|&i| bases[i].spend).collect());
    let mut out = vec![Rfm::default(); bases.len()];
    for (k, &i) in with_orders.iter().enumerate() {
        out[i] = Rfm {
            recency: r[k],
            frequency: f[k],
            monetary: m[k],
        };
    }
    out
}

/// Score 1–5 of each value by the mid-rank percentile of [`Rfm`]: `⌈5·(below + equal/2)/n⌉`,
/// computed in integers so equal inputs always get equal scores.
fn quintiles(values: Vec<f64>) -> Vec<u8> {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut scores = vec![0u8; n];
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // percentile = (start + (end − start)/2) / n = (start + end) / (2n)
        let score = (5 * (start + end)).div_ceil(2 * n).clamp(1, 5) as u8;
        for &i in &order[start..end] {
            scores[i] = score;
        }
        start = end;
    }
    scores
}

/// The segment rules documented on [`Segment`].
fn segment(b: &Base, days_since: Option<f64>, rfm: Rfm, as_of: Timestamp) -> Segment {
    let (Some(d), Some(first)) = (days_since, b.first) else {
        return Segment::New;
    };
    if b.orders <= 1 && as_of.days_since(first) <= NEW_DAYS {
        return Segment::New;
    }
    let m = b.median_gap;
    if d > m.map_or(LAPSED_DAYS, |m| LAPSED_DAYS.max(LAPSED_FACTOR * m)) {
        return Segment::Lapsed;
    }
    if d > AT_RISK_DAYS || m.is_some_and(|m| d > (OVERDUE_FACTOR * m).max(MIN_OVERDUE_DAYS)) {
        return Segment::AtRisk;
    }
    if rfm.recency >= 4 && rfm.frequency >= 4 && rfm.monetary >= 4 {
        return Segment::Champion;
    }
    Segment::Active
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Product;
    use crate::history::{CustomerInfo, Purchase};

    /// Noon of day `day` (days since the epoch).
    fn noon(day: i64) -> Timestamp {
        Timestamp(day * DAY + DAY / 2)
    }

    fn buy(
        h: &mut History,
        customer: &str,
        order: &str,
        product: &str,
        day: i64,
        quantity: f64,
        unit_price: f64,
    ) {
        h.record(&Purchase {
            customer: customer.into(),
            product: product.into(),
            timestamp: noon(day),
            quantity,
            unit_price,
            order: Some(format!("{customer}-{order}")),
        })
        .unwrap();
    }

    /// One single-line order per listed day.
    fn orders(h: &mut History, customer: &str, days: &[i64], value: f64) {
        for (k, &d) in days.iter().enumerate() {
            buy(h, customer, &format!("o{k}"), "p", d, 1.0, value);
        }
    }

    fn by_id<'a>(h: &History, p: &'a Profiles, id: &str) -> &'a Profile {
        p.get(h.customers().get(id).unwrap()).unwrap()
    }

    fn rfm(r: u8, f: u8, m: u8) -> Rfm {
        Rfm {
            recency: r,
            frequency: f,
            monetary: m,
        }
    }

    #[test]
    fn a_large_tie_shares_its_mid_rank_score() {
        // half the base with one order, the other half with 2..=51 orders
        let values: Vec<f64> = (0..100)
            .map(|i| if i < 50 { 1.0 } else { (i - 48) as f64 })
            .collect();
        let q = quintiles(values);
        assert!(q[..50].iter().all(|&s| s == 2), "{q:?}");
        assert!(!q.contains(&1));
        // the other half spreads over 3, 4 and 5 by their mid-ranks 0.505 … 0.995
        assert_eq!(
            (q[50], q[59], q[60], q[79], q[80], q[99]),
            (3, 3, 4, 4, 5, 5)
        );
    }

    #[test]
    fn the_summary_shows_whole_dates_in_any_year() {
        let mut h = History::new();
        // 0001-12-31 BCE (year −1 in chrono's count) and 10000-01-01
        let (old, far) = (Timestamp(-62_167_219_201), Timestamp(253_402_300_800));
        for (c, t) in [("ann", old), ("ann", noon(10)), ("bob", far)] {
            h.record(&Purchase {
                customer: c.into(),
                product: "mug".into(),
                timestamp: t,
                quantity: 1.0,
                unit_price: 2.0,
                order: None,
            })
            .unwrap();
        }
        let p = Profiles::compute(&h, Timestamp(far.0 + DAY)).unwrap();
        let ann = by_id(&h, &p, "ann").to_string();
        assert!(
            ann.contains("first -0001-12-31 · last 1970-01-11 "),
            "{ann}"
        );
        let bob = by_id(&h, &p, "bob").to_string();
        assert!(
            bob.contains("first +10000-01-01 · last +10000-01-01 "),
            "{bob}"
        );
    }

    #[test]
    fn fields_and_rfm_by_hand() {
        let mut h = History::new();
        // A: 3 orders (days 10, 20, 40) worth 10 each; the first has two lines.
        buy(&mut h, "A", "1", "p1", 10, 2.0, 2.5);
        buy(&mut h, "A", "1", "p2", 10, 1.0, 5.0);
        buy(&mut h, "A", "2", "p1", 20, 4.0, 2.5);
        buy(&mut h, "A", "3", "p1", 40, 1.0, 10.0);
        buy(&mut h, "A", "4", "p1", 150, 1.0, 10.0); // after as_of: ignored
        orders(&mut h, "B", &[95], 100.0);
        orders(&mut h, "C", &[60, 80], 5.0);
        orders(&mut h, "D", &[50, 60, 70, 90], 20.0);
        // E: 5 orders on 4 distinct days (two on day 0).
        orders(&mut h, "E", &[0, 0, 1, 2, 4], 1.0);
        let as_of = Timestamp(100 * DAY);
        let p = Profiles::compute(&h, as_of).unwrap();
        assert_eq!(p.len(), 5);
        assert!(p.bg_nbd.is_none() && p.gamma_gamma.is_none());

        let a = by_id(&h, &p, "A");
        assert_eq!(a.id, "A");
        assert_eq!(a.orders, 3);
        assert_eq!(a.units, 8.0);
        assert_eq!(a.total_spend, 30.0);
        assert_eq!(a.average_order_value, 10.0);
        assert_eq!(a.first_purchase, Some(noon(10)));
        assert_eq!(a.last_purchase, Some(noon(40)));
        assert_eq!(a.days_since_last_purchase, Some(59.5));
        assert_eq!(a.median_days_between_orders, Some(15.0)); // gaps 10, 20
        assert_eq!(a.expected_next_purchase, Some(noon(55)));

        let e = by_id(&h, &p, "E");
        assert_eq!(e.orders, 5);
        assert_eq!(e.median_days_between_orders, Some(1.0)); // day gaps 1, 1, 2
        assert_eq!(e.expected_next_purchase, Some(noon(5)));
        let b = by_id(&h, &p, "B");
        assert_eq!(
            (b.median_days_between_orders, b.expected_next_purchase),
            (None, None)
        );
        assert_eq!(by_id(&h, &p, "D").median_days_between_orders, Some(10.0)); // 10, 10, 20

        // Idle days A 60, B 5, C 20, D 10, E 96; orders 3, 1, 2, 4, 5; spend 30, 100, 10, 80, 5.
        assert_eq!(a.rfm, rfm(2, 3, 3));
        assert_eq!(b.rfm, rfm(5, 1, 5));
        assert_eq!(by_id(&h, &p, "C").rfm, rfm(3, 2, 2));
        assert_eq!(by_id(&h, &p, "D").rfm, rfm(4, 4, 4));
        assert_eq!(e.rfm, rfm(1, 5, 1));

        let segments: Vec<Segment> = ["A", "B", "C", "D", "E"]
            .iter()
            .map(|c| by_id(&h, &p, c).segment)
            .collect();
        use Segment::*;
        // A overdue (59.5 > 2·15), B one recent order, C on rhythm, D top on R, F, M, E 95.5 > 90 days.
        assert_eq!(segments, [AtRisk, New, Active, Champion, AtRisk]);

        // Fallback churn: 1 − 2^(−idle / (2·gap)); for B (no gap) the base median gap, median(15, 20, 10, 1) = 12.5.
        assert!((a.churn_risk - (1.0 - (-60.0f64 / 30.0).exp2())).abs() < 1e-12);
        assert!((b.churn_risk - (1.0 - (-5.0f64 / 25.0).exp2())).abs() < 1e-12);
        // Fallback expectations: 365·x/T·(1 − churn) purchase days, valued at the mean spend per day.
        let x_over_t = 2.0 / 90.0;
        assert!((a.expected_orders_12m - 365.0 * x_over_t * (1.0 - a.churn_risk)).abs() < 1e-9);
        assert!((a.expected_value_12m - a.expected_orders_12m * 10.0).abs() < 1e-9);
        assert_eq!(b.expected_orders_12m, 0.0);
    }

    #[test]
    fn quintiles_share_scores_on_ties() {
        assert_eq!(quintiles(vec![3.0, 1.0, 2.0, 5.0, 4.0]), [3, 1, 2, 5, 4]);
        assert_eq!(quintiles(vec![7.0; 4]), [3; 4]);
        assert_eq!(quintiles(vec![1.0]), [3]);
        // Ten values, two per quintile; ties across a boundary share the mid-rank score.
        assert_eq!(
            quintiles((0..10).map(f64::from).collect()),
            [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        );
        assert_eq!(quintiles(vec![1.0, 1.0, 1.0, 1.0, 2.0]), [2, 2, 2, 2, 5]);
        assert!(quintiles(vec![]).is_empty());
    }

    #[test]
    fn segment_rules() {
        let mut h = History::new();
        h.upsert_customer(CustomerInfo {
            id: "registered".into(),
            ..Default::default()
        })
        .unwrap();
        orders(&mut h, "new", &[380], 10.0);
        orders(&mut h, "two-recent", &[385, 390], 10.0); // two orders: no longer new
        orders(&mut h, "quiet-95", &[300], 10.0); // 99.5 days > 90
        orders(&mut h, "gone-300", &[100], 10.0); // 299.5 days > 180
        orders(&mut h, "gone-10", &[0, 10], 10.0); // 389.5 > max(180, 3·10)
        orders(&mut h, "slow-quiet", &[0, 100, 200], 10.0); // 199.5 < 3·100 = 300, but > 90
        orders(&mut h, "slow-fine", &[100, 200, 300, 350], 10.0); // 49.5 < 2·100
        let weekly: Vec<i64> = (0..11).map(|k| 300 + 7 * k).collect();
        orders(&mut h, "weekly-late", &weekly, 10.0); // 29.5 > max(2·7, 14)
        let weekly: Vec<i64> = (0..9).map(|k| 338 + 7 * k).collect();
        orders(&mut h, "weekly-best", &weekly, 100.0); // 5.5 days, R, F, M all top
        let p = Profiles::compute(&h, Timestamp(400 * DAY)).unwrap();
        use Segment::*;
        for (id, want) in [
            ("registered", New),
            ("new", New),
            ("two-recent", Active),
            ("quiet-95", AtRisk),
            ("gone-300", Lapsed),
            ("gone-10", Lapsed),
            ("slow-quiet", AtRisk),
            ("slow-fine", Active),
            ("weekly-late", AtRisk),
            ("weekly-best", Champion),
        ] {
            assert_eq!(by_id(&h, &p, id).segment, want, "{id}");
        }
        assert_eq!(by_id(&h, &p, "weekly-best").rfm, rfm(5, 5, 5));
        let registered = by_id(&h, &p, "registered");
        assert_eq!(
            (registered.orders, registered.rfm, registered.first_purchase),
            (0, Rfm::default(), None)
        );
        assert_eq!(registered.days_since_last_purchase, None);
        assert_eq!(
            (
                registered.expected_orders_12m,
                registered.expected_value_12m
            ),
            (0.0, 0.0)
        );
        // Without orders: the base's mean churn risk.
        let with_orders: Vec<f64> = p
            .iter()
            .filter(|q| q.orders > 0)
            .map(|q| q.churn_risk)
            .collect();
        let mean = with_orders.iter().sum::<f64>() / with_orders.len() as f64;
        assert!((registered.churn_risk - mean).abs() < 1e-12);
        assert_eq!(Segment::AtRisk.to_string(), "at-risk");
    }

    #[test]
    fn favourites_decay_with_age() {
        let mut h = History::new();
        for (id, cat) in [
            ("old", Some("kitchen")),
            ("fresh", Some("garden")),
            ("plain", None),
        ] {
            h.upsert_product(Product {
                category: cat.map(String::from),
                ..Product::bare(id)
            })
            .unwrap();
        }
        // "old" in three orders a year ago (2^(−4) each at 360 days), twice in one of them.
        for (k, d) in [0, 1, 2].into_iter().enumerate() {
            buy(&mut h, "c", &format!("old{k}"), "old", d, 1.0, 1.0);
        }
        buy(&mut h, "c", "old0", "old", 0, 5.0, 1.0);
        buy(&mut h, "c", "new", "fresh", 360, 1.0, 1.0);
        buy(&mut h, "c", "new", "plain", 360, 1.0, 1.0);
        let as_of = noon(360);
        let p = Profiles::compute(&h, as_of).unwrap();
        let c = p.get(0).unwrap();
        let idx = |id: &str| h.catalog().index(id).unwrap();
        let old = (-358.0f64 / 90.0).exp2() + (-359.0f64 / 90.0).exp2() + (-360.0f64 / 90.0).exp2();
        assert_eq!(c.favourite_products.len(), 3);
        assert_eq!(c.favourite_products[0], (idx("fresh"), 1.0));
        assert_eq!(c.favourite_products[1], (idx("plain"), 1.0));
        assert_eq!(c.favourite_products[2].0, idx("old"));
        assert!((c.favourite_products[2].1 - old).abs() < 1e-12);
        let cat = |name: &str| h.catalog().category_index(name).unwrap();
        assert_eq!(c.favourite_categories[0], (cat("garden"), 1.0));
        assert_eq!(c.favourite_categories[1].0, cat("kitchen"));
        assert_eq!(c.favourite_categories.len(), 2);

        // No categories in the catalog: none in the profile; at most five products.
        let mut h = History::new();
        for k in 0..8 {
            buy(&mut h, "c", &format!("o{k}"), &format!("p{k}"), k, 1.0, 1.0);
        }
        let p = Profiles::compute(&h, noon(10)).unwrap();
        let c = p.get(0).unwrap();
        assert!(c.favourite_categories.is_empty());
        let top: Vec<u32> = c.favourite_products.iter().map(|f| f.0).collect();
        assert_eq!(top, [7, 6, 5, 4, 3]); // most recent first
    }

    /// A base large enough for both models: steady buyers, buyers who stopped, one-timers, with
    /// spend varying by customer and order.
    fn synthetic_base() -> History {
        let mut h = History::new();
        for i in 0..90i64 {
            let id = format!("c{i}");
            let start = (i * 37) % 120;
            let gap = 3 + (i * 11) % 40;
            let stop = match i % 3 {
                0 => 400,                       // buys until the end
                1 => start + gap * (1 + i % 5), // stopped after a few orders
                _ => start,                     // one-timer
            };
            let mut d = start;
            let mut k = 0;
            while d <= stop.min(399) {
                let price = 10.0 + (i % 7) as f64 * 5.0 + ((d * 31) % 9) as f64;
                buy(
                    &mut h,
                    &id,
                    &format!("o{k}"),
                    &format!("p{}", (i + k) % 12),
                    d,
                    1.0,
                    price,
                );
                d += gap;
                k += 1;
            }
        }
        h
    }

    #[test]
    fn churn_rises_with_idle_time_under_bgnbd() {
        let mut h = synthetic_base();
        // Probes identical but for the last purchase day: first day 0, four purchase days.
        let lasts = [390, 300, 200, 120, 60];
        for (j, last) in lasts.iter().enumerate() {
            orders(&mut h, &format!("probe{j}"), &[0, 20, 40, *last], 25.0);
        }
        let p = Profiles::compute(&h, Timestamp(400 * DAY)).unwrap();
        let model = p.bg_nbd.expect("BG/NBD fitted");
        let gg = p.gamma_gamma.expect("Gamma-Gamma fitted");
        let churn: Vec<f64> = (0..lasts.len())
            .map(|j| by_id(&h, &p, &format!("probe{j}")).churn_risk)
            .collect();
        assert!(churn.windows(2).all(|w| w[0] < w[1]), "{churn:?} {model:?}");
        assert!(churn.iter().all(|c| (0.0..=1.0).contains(c)));
        let quiet: Vec<f64> = (0..lasts.len())
            .map(|j| by_id(&h, &p, &format!("probe{j}")).prob_no_purchase_12m)
            .collect();
        assert!(
            quiet.windows(2).all(|w| w[0] < w[1]) && quiet.iter().zip(&churn).all(|(q, c)| q >= c),
            "{quiet:?}"
        );
        // One-timers: churn 0 under BG/NBD, but the no-purchase probability grows with idle time.
        let mut one_timers: Vec<&Profile> = p.iter().filter(|q| q.orders == 1).collect();
        assert!(one_timers.iter().all(|q| q.churn_risk == 0.0));
        one_timers.sort_by(|x, y| {
            x.days_since_last_purchase
                .partial_cmp(&y.days_since_last_purchase)
                .unwrap()
        });
        let (young, old) = (one_timers[0], one_timers[one_timers.len() - 1]);
        assert!(young.days_since_last_purchase < old.days_since_last_purchase);
        assert!(young.prob_no_purchase_12m < old.prob_no_purchase_12m);
        // Churn is 1 − P(alive) of the probe's day summary (frequency 3, recency = last, T = 400).
        let s = RfmSummary::new(3.0, 300.0, 400.0);
        assert!((churn[1] - (1.0 - model.prob_alive(&s))).abs() < 1e-12);
        let probe = by_id(&h, &p, "probe1");
        assert!((probe.expected_orders_12m - model.expected_purchases(365.0, &s)).abs() < 1e-12);
        let value = gg.conditional_expected_average_value(3.0, 25.0);
        assert!((probe.expected_value_12m - probe.expected_orders_12m * value).abs() < 1e-9);
        // A one-timer is valued at the population mean.
        let one = p.iter().find(|q| q.orders == 1).unwrap();
        let want = one.expected_orders_12m * gg.population_mean().unwrap();
        assert!((one.expected_value_12m - want).abs() < 1e-9);
        assert!(
            p.iter()
                .all(|q| q.expected_orders_12m.is_finite() && q.expected_value_12m.is_finite())
        );
    }

    #[test]
    fn repeat_customers_with_free_repeat_days_are_valued_by_their_own_history() {
        let mut h = synthetic_base();
        // Same purchase days (first day 25 spent); the repeat days cost nothing or next to nothing.
        for (id, repeat_price) in [("free", 0.0), ("cheap", 0.01)] {
            buy(&mut h, id, "o0", "p", 0, 1.0, 25.0);
            for (k, d) in [20, 40, 60].into_iter().enumerate() {
                buy(
                    &mut h,
                    id,
                    &format!("o{}", k + 1),
                    "p",
                    d,
                    1.0,
                    repeat_price,
                );
            }
        }
        let p = Profiles::compute(&h, Timestamp(400 * DAY)).unwrap();
        let gg = p.gamma_gamma.expect("Gamma-Gamma fitted");
        let (free, cheap) = (by_id(&h, &p, "free"), by_id(&h, &p, "cheap"));
        assert_eq!(free.expected_orders_12m, cheap.expected_orders_12m);
        // Gamma-Gamma's conditional expectation with 3 repeat days of mean value 0: shrunk
        // towards 0 from the population mean, not the population mean itself.
        let want = free.expected_orders_12m * gg.conditional_expected_average_value(3.0, 0.0);
        assert!((free.expected_value_12m - want).abs() < 1e-9, "{free:?}");
        assert!(free.expected_value_12m < cheap.expected_value_12m);
        let mean = gg.population_mean().unwrap();
        assert!(free.expected_value_12m < free.expected_orders_12m * mean);
    }

    #[test]
    fn one_overflowing_spend_leaves_the_others_spend_model_in_place() {
        let base = Profiles::compute(&synthetic_base(), Timestamp(400 * DAY)).unwrap();
        let want = base.gamma_gamma.expect("Gamma-Gamma fitted");
        let mut h = synthetic_base();
        // days of two 1e308 lines: every line is finite, each day's spend is not
        for (k, d) in [0, 20, 40].into_iter().enumerate() {
            for product in ["p", "q"] {
                buy(&mut h, "huge", &format!("o{k}"), product, d, 1.0, 1e308);
            }
        }
        // days of one 1e308 line: finite days, but the two repeat days' sum overflows
        for (k, d) in [0, 20, 40].into_iter().enumerate() {
            buy(&mut h, "big", &format!("o{k}"), "p", d, 1.0, 1e308);
        }
        let p = Profiles::compute(&h, Timestamp(400 * DAY)).unwrap();
        let huge = by_id(&h, &p, "huge");
        assert_eq!(huge.total_spend, f64::INFINITY);
        // fitted on everyone else's spend, exactly as without those two customers
        assert_eq!(p.gamma_gamma, Some(want));
        assert_eq!(huge.expected_value_12m, f64::INFINITY);
        assert_eq!(by_id(&h, &p, "big").orders, 3);
        let others = p.iter().filter(|q| q.id != "huge" && q.id != "big");
        assert!(others.clone().count() > 50);
        assert!(others.clone().all(|q| q.expected_value_12m.is_finite()));
    }

    #[test]
    fn churn_rises_with_idle_time_without_model() {
        let mut h = History::new();
        let lasts = [390, 300, 200, 120, 60];
        for (j, last) in lasts.iter().enumerate() {
            orders(&mut h, &format!("probe{j}"), &[0, 20, 40, *last], 25.0);
        }
        let p = Profiles::compute(&h, Timestamp(400 * DAY)).unwrap();
        assert!(p.bg_nbd.is_none());
        let churn: Vec<f64> = p.iter().map(|q| q.churn_risk).collect();
        assert!(churn.windows(2).all(|w| w[0] < w[1]), "{churn:?}");
        let quiet: Vec<f64> = p.iter().map(|q| q.prob_no_purchase_12m).collect();
        assert!(quiet.windows(2).all(|w| w[0] < w[1]), "{quiet:?}");
    }

    #[test]
    fn as_of_before_all_data_gives_empty_profiles() {
        let h = synthetic_base();
        let p = Profiles::compute(&h, Timestamp(-5 * DAY)).unwrap();
        assert_eq!(p.len(), h.customer_count());
        assert!(p.bg_nbd.is_none() && p.gamma_gamma.is_none());
        for q in p.iter() {
            assert_eq!(
                (q.orders, q.total_spend, q.segment, q.rfm),
                (0, 0.0, Segment::New, Rfm::default())
            );
            assert!(q.last_purchase.is_none() && q.favourite_products.is_empty());
            assert_eq!(
                (q.churn_risk, q.prob_no_purchase_12m, q.expected_orders_12m),
                (0.5, 0.5, 0.0)
            );
        }
        let empty = profiles(&History::new(), Timestamp(0)).unwrap();
        assert!(empty.is_empty() && empty.get(0).is_none());
        // Serialises.
        let json =
            serde_json::to_string(&Profiles::compute(&h, Timestamp(400 * DAY)).unwrap()).unwrap();
        assert!(
            json.contains("\"segment\":\"lapsed\"") || json.contains("\"segment\":\"at-risk\"")
        );
    }
}
