//! Personalized greetings: template variants with audiences, scored for each customer by matrix
//! factorization, rendered per channel, and learned from engagement.
//!
//! # Variants
//!
//! A [`Variant`] is an id, a [`template`] with slots (`{first_name|there}`), an [`Audience`]
//! (lifecycle segments, order and recency bounds, RFM scores), the channels it may run on (all
//! when empty), optional featured products or a category, an optional UTC hour window, a locale
//! and a [`GreetingKind`]. Variants are registered through [`Engine::add_greeting_variant`] or
//! loaded from JSON with [`Engine::add_greeting_variants_json`]; every rule is checked then, and
//! template errors come back as [`Error::Template`] with the character position. The English set
//! shipped in `data/greetings_en.json` ([`DEFAULT_VARIANTS_EN`]) is loaded by
//! [`Engine::load_default_greetings`].
//!
//! # Choosing
//!
//! [`Engine::greet`] keeps the variants that are **eligible** for the customer, channel and time,
//! scores them and renders the best; the next ones are returned as runners-up for A/B tests.
//!
//! * Eligible: the channel is listed (or none is), the hour of `at` (UTC) is in the window, the
//!   variant's language matches the customer's locale (else the default locale), the audience
//!   matches, the kind's trigger holds (below) and every required slot has a value.
//! * Kinds: [`GreetingKind::WinBack`] needs an at-risk or lapsed customer;
//!   [`GreetingKind::PostPurchase`] a purchase within [`GreetingConfig::post_purchase_days`];
//!   [`GreetingKind::Replenishment`] a product bought on at least
//!   [`GreetingConfig::replenish_min_purchases`] different days whose usual interval (median gap)
//!   has passed, but not more than [`REPLENISH_MAX_FACTOR`] intervals ago;
//!   [`GreetingKind::ServiceRecovery`] a customer in service recovery, who gets **only** such
//!   variants (an apology and help, never an offer).
//! * **Score** = `x_u · z_v` + audience prior + [`Variant::boost`]. `x_u` is the customer's
//!   factor vector (adjusted by their own greeting engagement, below); `z_v` the variant's vector
//!   in the product-factor space:
//!   - *learned* ([`VectorSource::Learned`]) once the variant has at least
//!     [`GreetingConfig::learn_min_impressions`] impressions and
//!     [`GreetingConfig::learn_min_clicks`] clicks or conversions from customers with factor
//!     vectors: the item-side ALS solve `z = (λI + Σ_u c_u x_u x_uᵀ)⁻¹ (λ z₀ + Σ_u c_u p_u x_u)`
//!     over the customers who saw it, `p_u = 1` when they clicked or converted, confidence
//!     `c_u = 1 + α·(clicks + w·conversions)` then, `1 + ln(impressions)` otherwise, shrunk
//!     towards the derived vector `z₀` with `λ` = [`GreetingConfig::engagement_regularization`];
//!   - otherwise *derived*: the mean of its featured products' vectors
//!     ([`VectorSource::Featured`]), else the mean of its category's product vectors weighted by
//!     `1 + orders containing the product` ([`VectorSource::Category`]), else none
//!     ([`VectorSource::None`]: the variant scores its prior only).
//! * **Audience prior** (documented constants): [`PRIOR_PER_CONDITION`] for each audience
//!   condition the variant states (the customer meets them all, or it would not be eligible),
//!   [`PRIOR_CHANNEL`] when it lists channels, [`PRIOR_HOURS`] when it has an hour window,
//!   [`PRIOR_LOCALE`] when it states a locale equal to the customer's (region included; a
//!   customer without a locale has [`GreetingConfig::default_locale`]; like the other priors
//!   this rewards what the variant states, so a variant without a locale gets none), and the
//!   kind's bonus ([`GreetingKind::prior`]): proactive messages win over generic hellos when they
//!   apply.
//! * Ties are broken by variant id (ascending). Everything is deterministic.
//!
//! # Learning from engagement
//!
//! [`Engine::record_engagement`] counts impressions, clicks and conversions per (variant,
//! customer) and, with a trained model, at once re-solves the variant's vector (above) and the
//! customer's engagement-adjusted vector
//! `x'_u = (μI + Σ_v c_uv z_v z_vᵀ)⁻¹ (μ x_u + Σ_v c_uv p_uv z_v)` with `μ` =
//! [`GreetingConfig::customer_anchor`]: a customer who keeps clicking greetings about one
//! category is shown those more, and greetings they ignore less.
//!
//! Cost per event: O(factors²) for the variant — its sums `Σ c_u x_u x_uᵀ` and `Σ c_u p_u x_u`
//! change by the one customer's term, and so does the Cholesky factor of its system (a rank-one
//! update or downdate), which is then solved; the factor is built again from the sums
//! (O(factors³/3)) after 64 events, and the sums are rebuilt from the counts
//! (O(engaged customers × factors²)) on the first event after loading or training — and
//! O(n² × factors) for the customer solve, `n` the variants the customer engaged with, while
//! `n` is at most half the factors (a Woodbury system; O(factors³/3) beyond).
//! The adjusted customer vector is anchored on the purchase-based vector of its last update; after
//! [`Engine::observe`] folds a new purchase in, it catches up at the customer's next engagement
//! or at [`Engine::refresh_greetings`]. The variants' sums follow such a fold-in at once (the
//! customer's term moves to the new vector, O(factors²) per variant they engaged with), so the
//! next event's solve equals one from scratch. Removing or replacing a variant solves again the
//! adjusted vectors of the customers who engaged with it; changing a learning setting
//! ([`Engine::set_greeting_config`]) solves again every learned and adjusted vector.
//!
//! # Rendering
//!
//! Slot values come from the customer's history up to `at` and their best product inside the
//! variant's featured products or category (see [`template::Slot`]). "Best" is the highest
//! `x_u · y_i` among in-stock products the customer has not bought (featured products keep their
//! listed order without a model). Post-purchase variants without a category pick complementary
//! products from the categories of the latest order (the whole catalog when those products have
//! no category). Without a trained model, or for unknown customers, only featured products
//! give `{product}` a value. Values and the final text
//! have control characters replaced by spaces and runs of white space collapsed. SMS text is cut
//! on a word boundary to [`GreetingConfig::sms_max_chars`] (160) characters, ending in `...`
//! (the one-character `…` is outside the GSM 7-bit alphabet and would send the whole message
//! as UCS-2, 70 characters a part), and app text to [`GreetingConfig::app_max_chars`], ending
//! in `…`; web and e-mail text is HTML-escaped
//! (`& < > " '`); SMS, app and in-store text is plain.
//!
//! # Service recovery
//!
//! A customer whose latest feedback ([`Engine::record_feedback`]) is poor — NPS 0–6, CSAT ≤ 2,
//! CES ≥ 5 — gets a [`GreetingKind::ServiceRecovery`] variant until newer feedback that is not
//! poor or a purchase after the feedback. With no eligible recovery variant a built-in apology is
//! used. Recovery variants cannot feature products, a category or product slots.
//!
//! # Speed and caches
//!
//! `greet` never fits the customer-base models of [`crate::profile`]: it summarises the one
//! customer's purchase lines directly (O(lines · log lines) for that customer) (orders, recency, median gap, favourite category, repeat
//! products, segment by the rules of [`Segment`]). The base-wide parts are cached by
//! [`Engine::refresh_greetings`]: the RFM distributions (without them no customer is
//! [`Segment::Champion`] and RFM conditions never match) and the variant vectors. Call it after
//! [`Engine::train`] and after bulk loading; variant vectors that do not belong to the current
//! model are recomputed inside every `greet` call until then (correct, but slow).
//!
//! # Unknown customers and edge cases
//!
//! * A customer id not in the history gets a greeting flagged [`Greeting::generic`]: only
//!   [`GreetingKind::Standard`] variants with an open audience, rendered with fallbacks, chosen
//!   per channel; or, after a poor feedback answer, [`GreetingKind::ServiceRecovery`] variants
//!   with an open audience.
//! * No registered variant: [`Error::Empty`]. Variants registered but none eligible: a built-in
//!   greeting for the channel ([`Why::built_in`]).
//! * Without a trained model every affinity is 0 and `{product}` has no value.

pub mod template;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::feedback::{FeedbackEvent, FeedbackLog, FeedbackReport, Period, Score};
use crate::history::{Channel, CustomerInfo, History, Line};
use crate::linalg::{
    Avx2Fma, Kernels, Portable, UpdatableCholesky, Woodbury, axpy, cholesky_solve, dot,
};
use crate::profile::{
    AT_RISK_DAYS, FAVOURITE_HALF_LIFE_DAYS, LAPSED_DAYS, LAPSED_FACTOR, MIN_OVERDUE_DAYS, NEW_DAYS,
    OVERDUE_FACTOR, Rfm, Segment,
};
use crate::time::{DAY, Timestamp};
use crate::topk::{Bitset, top_k_among};
use hashbrown::HashMap;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;
use template::{Slot, Template};

/// The English variant set shipped with the crate (`data/greetings_en.json`).
pub const DEFAULT_VARIANTS_EN: &str = include_str!("../data/greetings_en.json");

/// Prior added for each audience condition a variant states.
pub const PRIOR_PER_CONDITION: f32 = 0.1;
/// Prior added when a variant lists channels (it was written for this one).
pub const PRIOR_CHANNEL: f32 = 0.05;
/// Prior added when a variant has an hour window.
pub const PRIOR_HOURS: f32 = 0.05;
/// Prior added when a variant states a locale equal to the customer's, region included (a
/// variant without a locale states none).
pub const PRIOR_LOCALE: f32 = 0.02;
/// A replenishment reminder stops after this many usual intervals (interest has lapsed).
pub const REPLENISH_MAX_FACTOR: f64 = 3.0;
/// Longest variant id, in characters.
pub const MAX_ID_CHARS: usize = 100;

/// What a variant is for.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum GreetingKind {
    /// An ordinary greeting.
    #[default]
    Standard,
    /// Win-back: only for at-risk and lapsed customers.
    WinBack,
    /// Thanks after a recent purchase, with complementary products.
    PostPurchase,
    /// Reminder for a repeatedly bought product that is past its usual interval.
    Replenishment,
    /// Apology and help after poor feedback; never an offer.
    ServiceRecovery,
}

impl GreetingKind {
    /// The kind's share of the audience prior: 0 for standard and service recovery (which is
    /// exclusive anyway), 0.2 for win-back, 0.3 for post-purchase, 0.4 for replenishment.
    pub fn prior(self) -> f32 {
        match self {
            GreetingKind::Standard | GreetingKind::ServiceRecovery => 0.0,
            GreetingKind::WinBack => 0.2,
            GreetingKind::PostPurchase => 0.3,
            GreetingKind::Replenishment => 0.4,
        }
    }

    /// The name used in files (`standard`, `win-back`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            GreetingKind::Standard => "standard",
            GreetingKind::WinBack => "win-back",
            GreetingKind::PostPurchase => "post-purchase",
            GreetingKind::Replenishment => "replenishment",
            GreetingKind::ServiceRecovery => "service-recovery",
        }
    }
}

impl fmt::Display for GreetingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a variant is for. Every stated condition must hold; an empty audience is open to all.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    /// Lifecycle segments (any of them); empty for any segment.
    #[serde(default)]
    pub segments: Vec<Segment>,
    /// At least this many orders.
    #[serde(default)]
    pub min_orders: Option<u32>,
    /// At most this many orders.
    #[serde(default)]
    pub max_orders: Option<u32>,
    /// At least this many days since the last purchase (customers without one never match).
    #[serde(default)]
    pub min_days_since_last_order: Option<f64>,
    /// At most this many days since the last purchase (customers without one never match).
    #[serde(default)]
    pub max_days_since_last_order: Option<f64>,
    /// RFM scores at least these, each (needs [`Engine::refresh_greetings`]).
    #[serde(default)]
    pub min_rfm: Option<Rfm>,
    /// RFM scores at most these, each (needs [`Engine::refresh_greetings`]).
    #[serde(default)]
    pub max_rfm: Option<Rfm>,
}

impl Audience {
    /// Number of stated conditions (the segment list counts as one).
    pub fn conditions(&self) -> usize {
        usize::from(!self.segments.is_empty())
            + usize::from(self.min_orders.is_some())
            + usize::from(self.max_orders.is_some())
            + usize::from(self.min_days_since_last_order.is_some())
            + usize::from(self.max_days_since_last_order.is_some())
            + usize::from(self.min_rfm.is_some())
            + usize::from(self.max_rfm.is_some())
    }

    /// True when no condition is stated.
    pub fn is_open(&self) -> bool {
        self.conditions() == 0
    }

    fn check(&self, id: &str) -> Result<()> {
        let bad = |m: String| {
            Err(Error::InvalidVariant {
                variant: id.to_owned(),
                message: m,
            })
        };
        if let (Some(a), Some(b)) = (self.min_orders, self.max_orders)
            && a > b
        {
            return bad(format!("min_orders {a} > max_orders {b}"));
        }
        for d in [
            self.min_days_since_last_order,
            self.max_days_since_last_order,
        ]
        .into_iter()
        .flatten()
        {
            if !(d.is_finite() && d >= 0.0) {
                return bad(format!("days since last order {d} must be finite and ≥ 0"));
            }
        }
        if let (Some(a), Some(b)) = (
            self.min_days_since_last_order,
            self.max_days_since_last_order,
        ) && a > b
        {
            return bad(format!("min_days_since_last_order {a} > max {b}"));
        }
        for r in [self.min_rfm, self.max_rfm].into_iter().flatten() {
            if r.recency > 5 || r.frequency > 5 || r.monetary > 5 {
                return bad("RFM scores range from 0 to 5".into());
            }
        }
        Ok(())
    }

    fn matches(&self, c: &Ctx<'_>) -> bool {
        if !self.segments.is_empty() && !c.segment.is_some_and(|s| self.segments.contains(&s)) {
            return false;
        }
        if self.min_orders.is_some_and(|m| c.orders < m)
            || self.max_orders.is_some_and(|m| c.orders > m)
        {
            return false;
        }
        if let Some(m) = self.min_days_since_last_order
            && !c.days_since.is_some_and(|d| d >= m)
        {
            return false;
        }
        if let Some(m) = self.max_days_since_last_order
            && !c.days_since.is_some_and(|d| d <= m)
        {
            return false;
        }
        if let Some(m) = self.min_rfm
            && !c.rfm.is_some_and(|r| {
                r.recency >= m.recency && r.frequency >= m.frequency && r.monetary >= m.monetary
            })
        {
            return false;
        }
        if let Some(m) = self.max_rfm
            && !c.rfm.is_some_and(|r| {
                r.recency <= m.recency && r.frequency <= m.frequency && r.monetary <= m.monetary
            })
        {
            return false;
        }
        true
    }
}

/// A UTC hour window `[from, to)`; `from > to` wraps past midnight (`22 → 6`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    /// First hour inside the window (0–23).
    pub from: u8,
    /// First hour after the window (0–24).
    pub to: u8,
}

impl Hours {
    /// Whether `hour` (0–23) is inside.
    pub fn contains(self, hour: u32) -> bool {
        let (f, t) = (self.from as u32, self.to as u32);
        if f < t {
            (f..t).contains(&hour)
        } else {
            hour >= f || hour < t
        }
    }
}

/// A greeting variant as the shop writes it (JSON fields have the same names; all but `id` and
/// `template` are optional).
///
/// ```
/// use rapport::greeting::{Variant, GreetingKind};
/// let v: Vec<Variant> = serde_json::from_str(r#"[{
///     "id": "win-back-1", "kind": "win-back",
///     "template": "We've missed you, {first_name|friend}!",
///     "audience": { "segments": ["lapsed", "at-risk"] }, "channels": ["email", "sms"]
/// }]"#).unwrap();
/// assert_eq!(v[0].kind, GreetingKind::WinBack);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Unique id (non-blank, at most [`MAX_ID_CHARS`] characters, no control characters).
    pub id: String,
    /// The text, in [`template`] syntax.
    pub template: String,
    /// What the variant is for.
    #[serde(default)]
    pub kind: GreetingKind,
    /// Locale (`en`, `en-GB`, …); `None` for [`GreetingConfig::default_locale`].
    #[serde(default)]
    pub locale: Option<String>,
    /// Who it is for.
    #[serde(default)]
    pub audience: Audience,
    /// Channels it may run on; empty for all.
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// Product ids it features (must be in the catalog when registered).
    #[serde(default)]
    pub featured_products: Vec<String>,
    /// Category it features (must be in the catalog when registered).
    #[serde(default)]
    pub category: Option<String>,
    /// UTC hours it may run in.
    #[serde(default)]
    pub hours: Option<Hours>,
    /// Added to the score (finite; business overrides, default 0).
    #[serde(default)]
    pub boost: f32,
}

/// Where a variant's vector comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum VectorSource {
    /// Learned from engagement.
    Learned {
        /// Impressions it was learned from.
        impressions: u32,
        /// Clicks and conversions it was learned from.
        clicks: u32,
    },
    /// Mean of the featured products' vectors.
    Featured,
    /// Popularity-weighted mean of the category's product vectors.
    Category,
    /// No vector (no model, or nothing to derive from): the prior alone scores the variant.
    #[default]
    None,
}

impl fmt::Display for VectorSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VectorSource::Learned {
                impressions,
                clicks,
            } => write!(f, "learned from {impressions} impressions, {clicks} clicks"),
            VectorSource::Featured => f.write_str("featured products"),
            VectorSource::Category => f.write_str("category"),
            VectorSource::None => f.write_str("no vector"),
        }
    }
}

/// An engagement event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engagement {
    /// The greeting was shown.
    Impression,
    /// The customer clicked or tapped it.
    Click,
    /// The customer bought after it.
    Conversion,
}

/// Engagement counts of one customer with one variant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Times shown.
    pub impressions: u32,
    /// Clicks.
    pub clicks: u32,
    /// Conversions.
    pub conversions: u32,
}

/// Settings of the greeting engine. `Default` holds the documented defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GreetingConfig {
    /// Locale for customers without one, and the fallback language (`en`).
    pub default_locale: String,
    /// Value of `{shop_name}`; `None` leaves it to the fallback.
    pub shop_name: Option<String>,
    /// Runners-up returned with each greeting (3).
    pub runners_up: usize,
    /// A post-purchase greeting runs this many days after a purchase (14).
    pub post_purchase_days: f64,
    /// Distinct purchase days of a product before it can be replenished (3).
    pub replenish_min_purchases: u32,
    /// Impressions before a variant's vector is learned (50).
    pub learn_min_impressions: u32,
    /// Clicks plus conversions before a variant's vector is learned (5).
    pub learn_min_clicks: u32,
    /// Confidence slope `α` of clicks (2).
    pub click_alpha: f32,
    /// A conversion counts as this many clicks (3).
    pub conversion_weight: f32,
    /// Ridge `λ` of the variant solve, towards the derived vector (1).
    pub engagement_regularization: f32,
    /// Anchor `μ` of the customer solve, towards the purchase-based vector (1).
    pub customer_anchor: f32,
    /// SMS length limit in characters (160).
    pub sms_max_chars: usize,
    /// App (push) length limit in characters (178).
    pub app_max_chars: usize,
}

impl Default for GreetingConfig {
    fn default() -> Self {
        GreetingConfig {
            default_locale: "en".into(),
            shop_name: None,
            runners_up: 3,
            post_purchase_days: 14.0,
            replenish_min_purchases: 3,
            learn_min_impressions: 50,
            learn_min_clicks: 5,
            click_alpha: 2.0,
            conversion_weight: 3.0,
            engagement_regularization: 1.0,
            customer_anchor: 1.0,
            sms_max_chars: 160,
            app_max_chars: 178,
        }
    }
}

impl GreetingConfig {
    /// Checks every field against its documented range.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::InvalidConfig(format!("greetings: {m}")));
        if self.default_locale.trim().is_empty() {
            return bad("default_locale is blank");
        }
        if !(self.post_purchase_days.is_finite() && self.post_purchase_days >= 0.0) {
            return bad("post_purchase_days must be finite and ≥ 0");
        }
        if self.replenish_min_purchases < 2 {
            return bad("replenish_min_purchases must be at least 2");
        }
        for (name, v) in [
            ("click_alpha", self.click_alpha),
            ("conversion_weight", self.conversion_weight),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(&format!("{name} must be finite and ≥ 0"));
            }
        }
        for (name, v) in [
            ("engagement_regularization", self.engagement_regularization),
            ("customer_anchor", self.customer_anchor),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(&format!("{name} must be finite and > 0"));
            }
        }
        if self.sms_max_chars < 20 || self.app_max_chars < 20 {
            return bad("length limits must be at least 20 characters");
        }
        Ok(())
    }

    /// The settings the learned vectors depend on (thresholds, `α`, `w`, `λ`, `μ`).
    fn learning(&self) -> (u32, u32, f32, f32, f32, f32) {
        (
            self.learn_min_impressions,
            self.learn_min_clicks,
            self.click_alpha,
            self.conversion_weight,
            self.engagement_regularization,
            self.customer_anchor,
        )
    }

    /// The channel's length limit with the ending a cut text gets: SMS keeps to the GSM 7-bit
    /// alphabet (three full stops, not `…`, which would send the whole text as UCS-2).
    fn limit(&self, channel: Channel) -> Option<(usize, &'static str)> {
        match channel {
            Channel::Sms => Some((self.sms_max_chars, "...")),
            Channel::App => Some((self.app_max_chars, "…")),
            Channel::Web | Channel::Email | Channel::InStore => None,
        }
    }
}

/// A registered variant with its parsed template, resolved catalog indices and cached vectors.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Registered {
    variant: Variant,
    template: Template,
    featured: Vec<u32>,
    category: Option<u32>,
    /// Vector derived from featured products or category (empty: none).
    derived: Vec<f32>,
    derived_source: VectorSource,
    /// Vector used for scoring (learned or derived; empty: none).
    vector: Vec<f32>,
    source: VectorSource,
    /// [`Factors::fingerprint`](crate::als::Factors::fingerprint) of the model the vectors
    /// belong to (0: none).
    stamp: u64,
    /// Engagement sums for incremental updates (not saved: rebuilt on the first event).
    #[serde(skip)]
    acc: Option<Acc>,
}

/// RFM distributions of the base, for scoring one customer without recomputing profiles.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct RfmCache {
    last_days: Vec<i64>,
    orders: Vec<u32>,
    spend: Vec<f64>,
}

/// All greeting state of an [`Engine`]: variants, engagement, feedback, settings and caches.
/// Saved and loaded with the engine.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Greetings {
    config: GreetingConfig,
    variants: Vec<Registered>,
    #[serde(serialize_with = "crate::persist::sorted_nested_map")]
    engagement: HashMap<String, HashMap<String, Counts>>,
    feedback: FeedbackLog,
    #[serde(serialize_with = "crate::persist::sorted_map")]
    customer_vectors: HashMap<String, (u64, Vec<f32>)>,
    rfm: Option<RfmCache>,
    /// Unused: where earlier versions kept a category index (now [`Catalog::products_in`]).
    /// Kept so that files of either version load; written empty, cleared on load.
    ///
    /// [`Catalog::products_in`]: crate::catalog::Catalog::products_in
    retired_category_index: (usize, Vec<Vec<u32>>),
}

impl Greetings {
    /// The settings.
    pub fn config(&self) -> &GreetingConfig {
        &self.config
    }

    /// Registered variants, sorted by id.
    pub fn variants(&self) -> impl ExactSizeIterator<Item = &Variant> + '_ {
        self.variants.iter().map(|r| &r.variant)
    }

    /// The variant with this id.
    pub fn variant(&self, id: &str) -> Option<&Variant> {
        self.find(id).map(|i| &self.variants[i].variant)
    }

    /// Where the variant's current vector comes from (as of the last refresh or engagement).
    pub fn vector_source(&self, id: &str) -> Option<VectorSource> {
        self.find(id).map(|i| self.variants[i].source)
    }

    /// Number of registered variants.
    pub fn len(&self) -> usize {
        self.variants.len()
    }

    /// True when no variant is registered.
    pub fn is_empty(&self) -> bool {
        self.variants.is_empty()
    }

    /// Engagement counts of a customer with a variant (zeros when none).
    pub fn engagement(&self, variant: &str, customer: &str) -> Counts {
        self.engagement
            .get(variant)
            .and_then(|m| m.get(customer))
            .copied()
            .unwrap_or_default()
    }

    /// Engagement totals of a variant over all customers.
    pub fn engagement_totals(&self, variant: &str) -> Counts {
        let mut t = Counts::default();
        for c in self
            .engagement
            .get(variant)
            .into_iter()
            .flat_map(|m| m.values())
        {
            t.impressions += c.impressions;
            t.clicks += c.clicks;
            t.conversions += c.conversions;
        }
        t
    }

    /// The feedback log.
    pub fn feedback(&self) -> &FeedbackLog {
        &self.feedback
    }

    /// Checks greeting state read from a file against the loaded history and model, so that a
    /// well-formed file whose parts do not fit together is [`Error::Corrupted`] rather than a
    /// panic later. Each variant is registered again from its definition (template, featured
    /// products and category resolved against the loaded catalog); saved vectors must have the
    /// model's length. The slot of the retired category index is cleared.
    pub(crate) fn check_loaded(
        &mut self,
        history: &History,
        factors: Option<&crate::als::Factors>,
    ) -> Result<()> {
        let corrupted = |m: String| Error::Corrupted(format!("greetings: {m}"));
        self.config
            .validate()
            .map_err(|e| corrupted(format!("settings: {e}")))?;
        self.feedback.check()?;
        if self
            .variants
            .windows(2)
            .any(|w| w[0].variant.id >= w[1].variant.id)
        {
            return Err(corrupted("variants are not sorted by unique id".into()));
        }
        // Vectors of an older model are stale (recomputed on refresh) and may have any length;
        // those stamped with the loaded model are used as they are.
        let (dim, current) = factors.map_or((0, None), |f| (f.dim(), Some(f.fingerprint())));
        let fits = |st: u64, v: &[f32]| Some(st) != current || v.is_empty() || v.len() == dim;
        for r in &mut self.variants {
            let fresh = Self::register(r.variant.clone(), history)
                .map_err(|e| corrupted(format!("variant {:?}: {e}", r.variant.id)))?;
            if !fits(r.stamp, &r.vector) || !fits(r.stamp, &r.derived) {
                return Err(corrupted(format!(
                    "variant {:?} has a vector of the wrong length",
                    r.variant.id
                )));
            }
            r.template = fresh.template;
            r.featured = fresh.featured;
            r.category = fresh.category;
        }
        if let Some((c, (_, v))) = self
            .customer_vectors
            .iter()
            .find(|(_, (st, v))| !fits(*st, v))
        {
            return Err(corrupted(format!(
                "customer {c:?} has a vector of {} numbers",
                v.len()
            )));
        }
        if let Some(rfm) = &self.rfm
            && (rfm.orders.len() != rfm.last_days.len() || rfm.spend.len() != rfm.last_days.len())
        {
            return Err(corrupted("RFM distributions of different lengths".into()));
        }
        self.retired_category_index = (0, Vec::new());
        Ok(())
    }

    fn find(&self, id: &str) -> Option<usize> {
        self.variants
            .binary_search_by(|r| r.variant.id.as_str().cmp(id))
            .ok()
    }
}

/// Why a greeting was chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Why {
    /// The variant's kind.
    pub kind: GreetingKind,
    /// `x_u · z_v`.
    pub affinity: f32,
    /// Audience prior.
    pub prior: f32,
    /// The variant's boost.
    pub boost: f32,
    /// Where the variant vector came from.
    pub source: VectorSource,
    /// The customer's segment (`None` for unknown customers).
    pub segment: Option<Segment>,
    /// What triggered a proactive kind (overdue product, days since the order, feedback, …).
    pub detail: Option<String>,
    /// True for the built-in greeting used when no variant was eligible.
    pub built_in: bool,
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.built_in {
            f.write_str("built-in greeting: no registered variant was eligible")?;
        } else {
            write!(f, "{}", self.kind)?;
            if let Some(s) = self.segment {
                let article = if matches!(s, Segment::Active | Segment::AtRisk) {
                    "an"
                } else {
                    "a"
                };
                write!(f, " for {article} {s} customer")?;
            }
            write!(
                f,
                " · affinity {:+.3} ({}) + audience prior {:.2}",
                self.affinity, self.source, self.prior
            )?;
            if self.boost != 0.0 {
                write!(f, " + boost {:.2}", self.boost)?;
            }
        }
        if let Some(d) = &self.detail {
            write!(f, " · {d}")?;
        }
        Ok(())
    }
}

/// A ranked alternative to the chosen greeting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunnerUp {
    /// Variant id.
    pub variant: String,
    /// Rendered text.
    pub text: String,
    /// Score.
    pub score: f32,
    /// Featured product ids.
    pub products: Vec<String>,
    /// Why it ranked here.
    pub why: Why,
}

/// The greeting chosen for a customer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Greeting {
    /// The customer asked about.
    pub customer: String,
    /// The channel asked about.
    pub channel: Channel,
    /// Chosen variant id (`builtin-…` for the built-in greetings).
    pub variant: String,
    /// Rendered, escaped and length-limited text.
    pub text: String,
    /// Score of the chosen variant.
    pub score: f32,
    /// Featured product ids, best first.
    pub products: Vec<String>,
    /// Why it was chosen.
    pub why: Why,
    /// The next eligible variants, best first (up to [`GreetingConfig::runners_up`]).
    pub runners_up: Vec<RunnerUp>,
    /// True when the customer is unknown: a generic greeting.
    pub generic: bool,
    /// Locale of the chosen variant.
    pub locale: String,
}

/// Orders containing each product (for category vector weights).
fn popularity(history: &History, n: usize) -> Vec<f32> {
    let mut pairs: Vec<(u32, u32)> = history
        .lines()
        .iter()
        .map(|l| (l.product, l.order))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut pop = vec![0f32; n];
    for (p, _) in pairs {
        if let Some(x) = pop.get_mut(p as usize) {
            *x += 1.0;
        }
    }
    pop
}

/// The derived vector of a variant: mean of featured product vectors, else popularity-weighted
/// mean of its category's product vectors.
fn derive(
    r: &Registered,
    factors: &crate::als::Factors,
    history: &History,
    pop: &mut Option<Vec<f32>>,
) -> (Vec<f32>, VectorSource) {
    let f = factors.dim();
    let mut z = vec![0f32; f];
    let mut total = 0f32;
    if !r.featured.is_empty() {
        for &i in &r.featured {
            let y = factors.item(i as usize);
            if y.len() == f {
                axpy(1.0, y, &mut z);
                total += 1.0;
            }
        }
        if total > 0.0 {
            z.iter_mut().for_each(|v| *v /= total);
            return (z, VectorSource::Featured);
        }
        return (Vec::new(), VectorSource::None);
    }
    if let Some(c) = r.category {
        let catalog = history.catalog();
        let pop = pop.get_or_insert_with(|| popularity(history, catalog.len()));
        for i in 0..factors.item_count().min(catalog.len()) as u32 {
            if catalog.category_of(i) == Some(c) {
                let w = 1.0 + pop[i as usize];
                axpy(w, factors.item(i as usize), &mut z);
                total += w;
            }
        }
        if total > 0.0 {
            z.iter_mut().for_each(|v| *v /= total);
            return (z, VectorSource::Category);
        }
    }
    (Vec::new(), VectorSource::None)
}

/// Confidence and preference of one customer's engagement with one variant.
fn confidence(c: &Counts, cfg: &GreetingConfig) -> Option<(f32, f32)> {
    let positive = c.clicks as f32 + cfg.conversion_weight * c.conversions as f32;
    if c.clicks + c.conversions > 0 {
        Some((1.0 + cfg.click_alpha * positive, 1.0))
    } else if c.impressions > 0 {
        Some((1.0 + (c.impressions as f32).ln(), 0.0))
    } else {
        None
    }
}

/// Solves `(reg·I + Σ c v vᵀ) x = reg·anchor + Σ c p v` (all vectors of length `f`).
///
/// A customer engages with a few variants (`n` rows), so while `2n ≤ f` the system is solved
/// as a [`Woodbury`] system (`D = reg·I`) instead of through an `f × f` Cholesky factor.
fn ridge(f: usize, reg: f32, anchor: &[f32], rows: &[(&[f32], f32, f32)]) -> Option<Vec<f32>> {
    let n = rows.len();
    // positive finite weights keep S positive definite (NaN and ≤ 0 go the dense way)
    let positive = |v: f32| v.is_finite() && v > 0.0;
    if 2 * n > f || !positive(reg) || rows.iter().any(|r| r.0.len() != f || !positive(r.1)) {
        return ridge_dense(f, reg, anchor, rows);
    }
    let mut b = vec![0f32; f];
    if anchor.len() == f {
        axpy(reg, anchor, &mut b);
    }
    for &(v, c, p) in rows {
        if p != 0.0 {
            axpy(c * p, v, &mut b);
        }
    }
    let vectors: Vec<f32> = rows.iter().flat_map(|r| r.0.iter().copied()).collect();
    let weights: Vec<f32> = rows.iter().map(|r| r.1).collect();
    let system = Woodbury::new(Portable, vec![1.0 / reg; f], vectors, &weights)?;
    Some(system.solve(Portable, b))
}

/// [`ridge`] through the `f × f` system's Cholesky factor.
fn ridge_dense(
    f: usize,
    reg: f32,
    anchor: &[f32],
    rows: &[(&[f32], f32, f32)],
) -> Option<Vec<f32>> {
    let mut a = vec![0f32; f * f];
    let mut b = vec![0f32; f];
    for k in 0..f {
        a[k * f + k] = reg;
    }
    if anchor.len() == f {
        axpy(reg, anchor, &mut b);
    }
    for &(v, c, p) in rows {
        for r in 0..f {
            axpy(c * v[r], &v[..=r], &mut a[r * f..r * f + r + 1]);
        }
        if p != 0.0 {
            axpy(c * p, v, &mut b);
        }
    }
    cholesky_solve(&mut a, &mut b).then_some(b)
}

/// Running sums of a variant's engagement solve: `Σ c_u x_u x_uᵀ` (lower triangle),
/// `Σ c_u p_u x_u` and the event totals, for the model with this stamp. Rebuilt from the counts
/// when missing (after loading) or stale (after training); updated in O(factors²) per event,
/// with the system's Cholesky factor (once the variant learns), so that an event's solve is
/// O(factors²) too rather than a new O(factors³) factorisation.
#[derive(Clone, Debug, Default)]
struct Acc {
    stamp: u64,
    a: Vec<f32>,
    b: Vec<f32>,
    impressions: u32,
    clicks: u32,
    /// The factor of `reg·I + a`, with its `reg` and the rank-one changes since it was
    /// factored from the sums; refactored after [`Acc::REFACTOR_AFTER`] changes, so that
    /// rounding cannot build up.
    factor: Option<(UpdatableCholesky, f32, u32)>,
}

impl Acc {
    /// Rank-one changes to the factor before it is factored again from the sums.
    const REFACTOR_AFTER: u32 = 64;

    fn new(stamp: u64, f: usize) -> Acc {
        Acc {
            stamp,
            a: vec![0.0; f * f],
            b: vec![0.0; f],
            impressions: 0,
            clicks: 0,
            factor: None,
        }
    }

    /// One customer's counts changed from `before` to `after`: the sums by one rank-one pass
    /// of the confidence difference, and the factor by the same change.
    fn change(&mut self, x: &[f32], before: &Counts, after: &Counts, cfg: &GreetingConfig) {
        let terms = |k: &Counts| confidence(k, cfg).map_or((0.0, 0.0), |(c, p)| (c, c * p));
        let ((c0, cp0), (c1, cp1)) = (terms(before), terms(after));
        let delta = c1 - c0;
        self.add_outer(x, delta);
        if cp1 != cp0 {
            axpy(cp1 - cp0, x, &mut self.b);
        }
        self.count(before, -1.0);
        self.count(after, 1.0);
        if let Some((factor, _, changes)) = &mut self.factor {
            *changes += 1;
            if !factor.rank_one(x, delta) {
                self.factor = None;
            }
        }
    }

    /// One customer's purchase-based vector changed from `old` to `new` (`None`: no usable
    /// vector) while their counts stayed: their term in the sums, the event totals and the
    /// factor moves to the new vector.
    fn swap(
        &mut self,
        old: Option<&[f32]>,
        new: Option<&[f32]>,
        counts: &Counts,
        cfg: &GreetingConfig,
    ) {
        let Some((c, _)) = confidence(counts, cfg) else {
            return;
        };
        // add before removing, so that the factor stays positive definite in between
        if let Some(x) = new {
            self.apply(x, counts, cfg);
            self.change_factor(x, c);
        }
        if let Some(x) = old {
            self.remove(x, counts, cfg);
            self.change_factor(x, -c);
        }
    }

    /// The factor by `weight · x xᵀ`; dropped (factored again at the next solve) when that fails.
    fn change_factor(&mut self, x: &[f32], weight: f32) {
        if let Some((factor, _, changes)) = &mut self.factor {
            *changes += 1;
            if !factor.rank_one(x, weight) {
                self.factor = None;
            }
        }
    }

    /// Removes one customer's counts (the inverse of [`Acc::apply`]).
    fn remove(&mut self, x: &[f32], counts: &Counts, cfg: &GreetingConfig) {
        let Some((c, p)) = confidence(counts, cfg) else {
            return;
        };
        self.add_outer(x, -c);
        if p != 0.0 {
            axpy(-c * p, x, &mut self.b);
        }
        self.count(counts, -1.0);
    }

    /// Adds one customer's counts.
    fn apply(&mut self, x: &[f32], counts: &Counts, cfg: &GreetingConfig) {
        let Some((c, p)) = confidence(counts, cfg) else {
            return;
        };
        self.add_outer(x, c);
        if p != 0.0 {
            axpy(c * p, x, &mut self.b);
        }
        self.count(counts, 1.0);
    }

    /// `a += weight · x xᵀ` (lower triangle).
    fn add_outer(&mut self, x: &[f32], weight: f32) {
        if weight == 0.0 {
            return;
        }
        match Avx2Fma::detect() {
            Some(k) => self.add_outer_with(k, x, weight),
            None => self.add_outer_with(Portable, x, weight),
        }
    }

    #[inline(always)]
    fn add_outer_with<K: Kernels>(&mut self, k: K, x: &[f32], weight: f32) {
        let f = self.b.len();
        for r in 0..f {
            k.axpy(weight * x[r], &x[..=r], &mut self.a[r * f..r * f + r + 1]);
        }
    }

    /// Adds (`sign` = 1) or removes (−1) one customer's counts from the event totals.
    fn count(&mut self, counts: &Counts, sign: f32) {
        let (i, k) = (
            counts.impressions.max(counts.clicks),
            counts.clicks + counts.conversions,
        );
        if sign > 0.0 {
            self.impressions = self.impressions.saturating_add(i);
            self.clicks = self.clicks.saturating_add(k);
        } else {
            self.impressions = self.impressions.saturating_sub(i);
            self.clicks = self.clicks.saturating_sub(k);
        }
    }

    /// The learned vector when the thresholds are met, else the derived one.
    fn solve(
        &mut self,
        cfg: &GreetingConfig,
        derived: &[f32],
        dsource: VectorSource,
    ) -> (Vec<f32>, VectorSource) {
        let f = self.b.len();
        if self.impressions >= cfg.learn_min_impressions && self.clicks >= cfg.learn_min_clicks {
            let reg = cfg.engagement_regularization;
            let fresh = |&(_, r, changes): &(UpdatableCholesky, f32, u32)| {
                r == reg && changes < Self::REFACTOR_AFTER
            };
            if !self.factor.as_ref().is_some_and(fresh) {
                let mut a = self.a.clone();
                for k in 0..f {
                    a[k * f + k] += reg;
                }
                self.factor = UpdatableCholesky::new(&a, f).map(|c| (c, reg, 0));
            }
            let mut b = self.b.clone();
            if derived.len() == f {
                axpy(reg, derived, &mut b);
            }
            let solved = self
                .factor
                .as_ref()
                .is_some_and(|(factor, _, _)| factor.solve(&mut b));
            if solved && b.iter().all(|v| v.is_finite()) {
                return (
                    b,
                    VectorSource::Learned {
                        impressions: self.impressions,
                        clicks: self.clicks,
                    },
                );
            }
        }
        (derived.to_vec(), dsource)
    }
}

/// A customer's factor vector when it is usable (known, right length, not all zero).
fn user_vector<'f>(
    factors: &'f crate::als::Factors,
    history: &History,
    customer: &str,
) -> Option<&'f [f32]> {
    let u = history.customers().get(customer)?;
    factors.usable_user(u as usize)
}

impl Greetings {
    /// Derived and, with enough engagement, learned vector of variant `i`:
    /// (derived, derived source, vector, source).
    fn solve_variant(
        &self,
        i: usize,
        factors: &crate::als::Factors,
        history: &History,
        pop: &mut Option<Vec<f32>>,
    ) -> (Vec<f32>, VectorSource, Vec<f32>, VectorSource) {
        let (derived, dsource) = derive(&self.variants[i], factors, history, pop);
        let (vector, source) = self.learn(i, &derived, dsource, factors, history);
        (derived, dsource, vector, source)
    }

    /// The engagement sums of variant `i`, from scratch.
    fn accumulate(&self, i: usize, factors: &crate::als::Factors, history: &History) -> Acc {
        let mut acc = Acc::new(factors.fingerprint(), factors.dim());
        if let Some(m) = self.engagement.get(&self.variants[i].variant.id) {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_unstable(); // deterministic summation order
            for k in keys {
                if let Some(x) = user_vector(factors, history, k) {
                    acc.apply(x, &m[k], &self.config);
                }
            }
        }
        acc
    }

    /// The learned vector of variant `i` when it has enough engagement, else the derived one.
    fn learn(
        &self,
        i: usize,
        derived: &[f32],
        dsource: VectorSource,
        factors: &crate::als::Factors,
        history: &History,
    ) -> (Vec<f32>, VectorSource) {
        self.accumulate(i, factors, history)
            .solve(&self.config, derived, dsource)
    }

    fn refresh_variant(
        &mut self,
        i: usize,
        factors: &crate::als::Factors,
        history: &History,
        pop: &mut Option<Vec<f32>>,
    ) {
        let st = factors.fingerprint();
        let r = &self.variants[i];
        let (derived, dsource) = if r.stamp == st {
            // derived vector still valid: only the learned part can change
            (r.derived.clone(), r.derived_source)
        } else {
            derive(r, factors, history, pop)
        };
        let mut acc = self.accumulate(i, factors, history);
        let (vector, source) = acc.solve(&self.config, &derived, dsource);
        let r = &mut self.variants[i];
        r.derived = derived;
        r.derived_source = dsource;
        r.vector = vector;
        r.source = source;
        r.stamp = st;
        r.acc = Some(acc);
    }

    /// The customer's engagement-adjusted vector (anchored on their purchase-based vector).
    fn refresh_customer(
        &mut self,
        customer: &str,
        factors: &crate::als::Factors,
        history: &History,
    ) {
        let Some(u) = history.customers().get(customer) else {
            return;
        };
        let f = factors.dim();
        let x = factors.user(u as usize);
        if x.len() != f {
            return;
        }
        let st = factors.fingerprint();
        let mut rows: Vec<(&[f32], f32, f32)> = Vec::new();
        for r in &self.variants {
            if r.stamp != st || r.vector.len() != f {
                continue;
            }
            let Some(c) = self
                .engagement
                .get(&r.variant.id)
                .and_then(|m| m.get(customer))
            else {
                continue;
            };
            if let Some((conf, p)) = confidence(c, &self.config) {
                rows.push((&r.vector, conf, p));
            }
        }
        if rows.is_empty() {
            self.customer_vectors.remove(customer);
            return;
        }
        if let Some(v) = ridge(f, self.config.customer_anchor, x, &rows) {
            self.customer_vectors.insert(customer.to_owned(), (st, v));
        }
    }

    /// Every customer with engagement counts, sorted (a fixed order for the solves).
    fn engaged_customers(&self) -> Vec<String> {
        let mut customers: Vec<String> = self
            .engagement
            .values()
            .flat_map(|m| m.keys().cloned())
            .collect();
        customers.sort_unstable();
        customers.dedup();
        customers
    }

    /// Whether `customer` has engagement counts with any variant (only then do the running
    /// sums hold their vector).
    pub(crate) fn has_engaged(&self, customer: &str) -> bool {
        self.engagement.values().any(|m| m.contains_key(customer))
    }

    /// [`Greetings::refresh_customer`] for each of `customers`, whose engagement changed other
    /// than by an event (a variant removed or replaced). Without a model their adjusted
    /// vectors, all of an older model, are dropped.
    fn refresh_customers(
        &mut self,
        customers: impl IntoIterator<Item = String>,
        factors: Option<&crate::als::Factors>,
        history: &History,
    ) {
        for c in customers {
            match factors {
                Some(f) => self.refresh_customer(&c, f, history),
                None => {
                    self.customer_vectors.remove(&c);
                }
            }
        }
    }

    /// The purchase-based vector of `customer` changed from `old` to the one in `factors` (a
    /// fold-in after a purchase): the engagement sums of the variants they engaged with swap
    /// the customer's term, so that the next event's solve still equals one from scratch.
    /// Vectors are used as [`user_vector`] uses them (empty or all-zero ones are none).
    pub(crate) fn customer_vector_changed(
        &mut self,
        customer: &str,
        old: &[f32],
        factors: &crate::als::Factors,
        history: &History,
    ) {
        let old = Some(old).filter(|x| factors.usable(x));
        let new = user_vector(factors, history, customer);
        if old == new {
            return;
        }
        let st = factors.fingerprint();
        for r in &mut self.variants {
            let Some(acc) = r.acc.as_mut().filter(|a| a.stamp == st) else {
                continue;
            };
            if let Some(counts) = self
                .engagement
                .get(&r.variant.id)
                .and_then(|m| m.get(customer))
            {
                acc.swap(old, new, counts, &self.config);
            }
        }
    }

    /// Checks a variant and resolves its catalog references.
    fn register(v: Variant, history: &History) -> Result<Registered> {
        let bad = |m: String| Error::InvalidVariant {
            variant: v.id.clone(),
            message: m,
        };
        if v.id.trim().is_empty() {
            return Err(bad("empty id".into()));
        }
        if v.id.chars().count() > MAX_ID_CHARS || v.id.chars().any(char::is_control) {
            return Err(bad(format!(
                "id must be at most {MAX_ID_CHARS} characters without control characters"
            )));
        }
        let template = Template::parse(&v.template).map_err(|e| Error::Template {
            variant: v.id.clone(),
            position: e.position,
            message: e.message,
        })?;
        v.audience.check(&v.id)?;
        if let Some(h) = v.hours
            && (h.from > 23 || h.to > 24 || h.from == h.to)
        {
            return Err(bad(format!(
                "hours {}–{}: from must be 0–23, to 0–24, and they must differ",
                h.from, h.to
            )));
        }
        if !v.boost.is_finite() {
            return Err(bad(format!("boost {} is not finite", v.boost)));
        }
        if let Some(l) = &v.locale
            && (l.trim().is_empty() || l.chars().any(char::is_control))
        {
            return Err(bad("blank locale (leave it out for the default)".into()));
        }
        if v.kind == GreetingKind::ServiceRecovery
            && (!v.featured_products.is_empty()
                || v.category.is_some()
                || template.uses(Slot::Product)
                || template.uses(Slot::ReplenishProduct))
        {
            return Err(bad(
                "a service-recovery greeting is an apology, never an offer: no featured products, category or product slots".into(),
            ));
        }
        if v.kind != GreetingKind::Replenishment && template.uses(Slot::ReplenishProduct) {
            return Err(bad(
                "{replenish_product} is only available to replenishment variants".into(),
            ));
        }
        let catalog = history.catalog();
        let mut featured = Vec::with_capacity(v.featured_products.len());
        for p in &v.featured_products {
            let i = catalog
                .index(p)
                .ok_or_else(|| Error::UnknownProduct(p.clone()))?;
            if !featured.contains(&i) {
                featured.push(i);
            }
        }
        let category = match &v.category {
            None => None,
            Some(c) => Some(
                catalog
                    .category_index(c)
                    .ok_or_else(|| bad(format!("unknown category {c:?}")))?,
            ),
        };
        Ok(Registered {
            variant: v,
            template,
            featured,
            category,
            derived: Vec::new(),
            derived_source: VectorSource::None,
            vector: Vec::new(),
            source: VectorSource::None,
            stamp: 0,
            acc: None,
        })
    }
}

/// Language part of a locale (`en-GB` → `en`).
fn language(locale: &str) -> &str {
    locale.split(['-', '_']).next().unwrap_or("").trim()
}

/// Control characters become spaces, white-space runs one space, ends trimmed.
fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_control() || c.is_whitespace() {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Cuts to `max` characters on a word boundary, ending in `ellipsis` (`max` counts it; a
/// limit with no room for the ellipsis gets the first `max` characters).
fn cut(s: &str, max: usize, ellipsis: &str) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let room = ellipsis.chars().count();
    if max <= room {
        return s.chars().take(max).collect();
    }
    let mut chars = s.chars();
    let head: String = chars.by_ref().take(max - room).collect();
    // a head followed by white space already ends on a word boundary: keep its last word
    let ends_a_word = chars.next().is_some_and(char::is_whitespace);
    let body = match head.rfind(' ') {
        _ if ends_a_word => head.as_str(),
        Some(i) if head[..i].chars().count() >= max / 2 => &head[..i],
        _ => head.as_str(),
    };
    // punctuation before the ellipsis goes (full stops and ellipses too: no "them....")
    let body = body.trim_end_matches([' ', ',', ';', ':', '-', '—', '.', '…']);
    format!("{body}{ellipsis}")
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Final text for a channel: cleaned, cut, escaped.
fn finish(text: &str, channel: Channel, cfg: &GreetingConfig) -> String {
    let t = clean(text);
    let t = match cfg.limit(channel) {
        Some((max, ending)) => cut(&t, max, ending),
        None => t,
    };
    match channel {
        Channel::Web | Channel::Email => escape_html(&t),
        Channel::Sms | Channel::App | Channel::InStore => t,
    }
}

/// What greet knows about one customer at `at`.
struct Ctx<'a> {
    index: Option<u32>,
    info: Option<&'a CustomerInfo>,
    orders: u32,
    days_since: Option<f64>,
    last_product: Option<u32>,
    segment: Option<Segment>,
    rfm: Option<Rfm>,
    owned: Vec<u32>,
    top_category: Option<u32>,
    /// Categories of the products of the latest order, sorted.
    last_order_categories: Vec<u32>,
    /// (product, usual gap in days, days since it was last bought)
    replenish: Option<(u32, f64, i64)>,
    vector: Option<&'a [f32]>,
    recovery: Option<FeedbackEvent>,
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// `⌈5 · mid-rank percentile⌉` of `v` in a sorted distribution, 1–5.
fn quintile<T: PartialOrd>(sorted: &[T], v: &T) -> u8 {
    if sorted.is_empty() {
        return 3;
    }
    let below = sorted.partition_point(|x| x < v);
    let equal = sorted[below..].partition_point(|x| x <= v);
    let p = (below as f64 + equal as f64 / 2.0) / sorted.len() as f64;
    ((5.0 * p).ceil() as u8).clamp(1, 5)
}

impl<'a> Ctx<'a> {
    fn new(
        g: &'a Greetings,
        history: &'a History,
        factors: Option<&'a crate::als::Factors>,
        st: u64,
        customer: &str,
        at: Timestamp,
    ) -> Ctx<'a> {
        let index = history.customers().get(customer);
        let feedback_latest = g.feedback.latest(customer, at);
        let mut c = Ctx {
            index,
            info: index.map(|i| history.customer_info(i)),
            orders: 0,
            days_since: None,
            last_product: None,
            segment: None,
            rfm: None,
            owned: Vec::new(),
            top_category: None,
            last_order_categories: Vec::new(),
            replenish: None,
            vector: None,
            recovery: None,
        };
        let Some(u) = index else {
            c.recovery = feedback_latest.filter(|e| e.score.is_poor());
            return c;
        };
        let mut lines: Vec<Line> = history
            .customer_lines(u)
            .filter(|l| l.timestamp <= at)
            .copied()
            .collect();
        lines.sort_unstable_by(|a, b| {
            (a.timestamp, a.order, a.product).cmp(&(b.timestamp, b.order, b.product))
        });
        let catalog = history.catalog();
        let at_day = at.0.div_euclid(DAY);
        c.segment = Some(Segment::New);
        if let (Some(first), Some(last)) = (lines.first(), lines.last()) {
            let mut orders: Vec<u32> = lines.iter().map(|l| l.order).collect();
            orders.sort_unstable();
            orders.dedup();
            c.orders = orders.len() as u32;
            let d = at.days_since(last.timestamp);
            c.days_since = Some(d);
            c.last_product = Some(last.product);
            c.last_order_categories = lines
                .iter()
                .filter(|l| l.order == last.order)
                .filter_map(|l| catalog.category_of(l.product))
                .collect();
            c.last_order_categories.sort_unstable();
            c.last_order_categories.dedup();
            let mut days: Vec<i64> = lines
                .iter()
                .map(|l| l.timestamp.0.div_euclid(DAY))
                .collect();
            days.dedup();
            let mut gaps: Vec<f64> = days.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
            let m = median(&mut gaps);
            let spend: f64 = lines.iter().map(Line::amount).sum();
            if let Some(cache) = &g.rfm {
                c.rfm = Some(Rfm {
                    recency: quintile(&cache.last_days, &days[days.len() - 1]),
                    frequency: quintile(&cache.orders, &c.orders),
                    monetary: quintile(&cache.spend, &spend),
                });
            }
            // the rules of `Segment`
            c.segment = Some(
                if c.orders <= 1 && at.days_since(first.timestamp) <= NEW_DAYS {
                    Segment::New
                } else if d > m.map_or(LAPSED_DAYS, |m| LAPSED_DAYS.max(LAPSED_FACTOR * m)) {
                    Segment::Lapsed
                } else if d > AT_RISK_DAYS
                    || m.is_some_and(|m| d > (OVERDUE_FACTOR * m).max(MIN_OVERDUE_DAYS))
                {
                    Segment::AtRisk
                } else if c
                    .rfm
                    .is_some_and(|r| r.recency >= 4 && r.frequency >= 4 && r.monetary >= 4)
                {
                    Segment::Champion
                } else {
                    Segment::Active
                },
            );

            // favourite category: each (category, order) pair counts once, decayed by age
            let mut cats: Vec<(u32, u32, Timestamp)> = lines
                .iter()
                .filter_map(|l| {
                    catalog
                        .category_of(l.product)
                        .map(|k| (k, l.order, l.timestamp))
                })
                .collect();
            cats.sort_unstable();
            // one pair per (category, order), at the order's latest line (as profiles count it)
            cats.dedup_by(|next, kept| {
                let same = next.0 == kept.0 && next.1 == kept.1;
                if same {
                    kept.2 = next.2;
                }
                same
            });
            let mut best: Option<(u32, f64)> = None;
            let mut i = 0;
            while i < cats.len() {
                let k = cats[i].0;
                let mut w = 0.0;
                while i < cats.len() && cats[i].0 == k {
                    w += (-at.days_since(cats[i].2).max(0.0) / FAVOURITE_HALF_LIFE_DAYS).exp2();
                    i += 1;
                }
                if best.is_none_or(|(_, bw)| w > bw) {
                    best = Some((k, w));
                }
            }
            c.top_category = best.map(|b| b.0);

            // owned products and repeat purchases (product, day)
            let mut pd: Vec<(u32, i64)> = lines
                .iter()
                .map(|l| (l.product, l.timestamp.0.div_euclid(DAY)))
                .collect();
            pd.sort_unstable();
            pd.dedup();
            let mut i = 0;
            let mut best: Option<(u32, f64, i64, f64)> = None;
            while i < pd.len() {
                let p = pd[i].0;
                let start = i;
                while i < pd.len() && pd[i].0 == p {
                    i += 1;
                }
                c.owned.push(p);
                if i - start < g.config.replenish_min_purchases as usize || !catalog.in_stock(p) {
                    continue;
                }
                let mut gaps: Vec<f64> = pd[start..i]
                    .windows(2)
                    .map(|w| (w[1].1 - w[0].1) as f64)
                    .collect();
                let gap = median(&mut gaps).unwrap_or(1.0).max(1.0);
                let since = at_day - pd[i - 1].1;
                let ratio = since as f64 / gap;
                if ratio > 1.0 && ratio <= REPLENISH_MAX_FACTOR && best.is_none_or(|b| ratio > b.3)
                {
                    best = Some((p, gap, since, ratio));
                }
            }
            c.replenish = best.map(|b| (b.0, b.1, b.2));
        }
        if let Some(f) = factors {
            let custom = g
                .customer_vectors
                .get(customer)
                .filter(|(s, v)| *s == st && v.len() == f.dim())
                .map(|(_, v)| v.as_slice());
            let x = custom.unwrap_or_else(|| f.user(u as usize));
            if x.len() == f.dim() && x.iter().any(|&v| v != 0.0) {
                c.vector = Some(x);
            }
        }
        let last_purchase = lines_last(history, u, at);
        c.recovery = feedback_latest
            .filter(|e| e.score.is_poor() && last_purchase.is_none_or(|t| t <= e.timestamp));
        c
    }

    fn owns(&self, p: u32) -> bool {
        self.owned.binary_search(&p).is_ok()
    }
}

fn lines_last(history: &History, u: u32, at: Timestamp) -> Option<Timestamp> {
    history
        .customer_lines(u)
        .map(|l| l.timestamp)
        .filter(|&t| t <= at)
        .max()
}

/// Where products are picked from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// The whole catalog.
    All,
    /// One category.
    Category(u32),
    /// The categories of the customer's latest order (complementary products).
    LastOrder,
}

/// Dot product with the AVX2/FMA kernel when the CPU has it.
#[inline]
fn fast_dot(a: &[f32], b: &[f32]) -> f32 {
    match Avx2Fma::detect() {
        Some(k) => k.dot(a, b),
        None => dot(a, b),
    }
}

/// Top `k` in-stock products not owned within `scope`, by `x · y`: the whole catalog (through
/// the same exact scan as recommendations, int8 for large catalogs), or the products of the
/// scope's categories.
fn top_products(
    x: &[f32],
    factors: &crate::als::Factors,
    history: &History,
    c: &Ctx<'_>,
    scope: Scope,
    k: usize,
) -> Vec<u32> {
    let catalog = history.catalog();
    let n = factors.item_count();
    let mut exclude = if catalog.out_of_stock_count() > 0 {
        catalog.sold_out().clone()
    } else {
        Bitset::with_len(n)
    };
    for &p in &c.owned {
        exclude.insert(p);
    }
    // products the model knows but the catalog does not (none when the engine built both)
    for i in catalog.len().min(n)..n {
        exclude.insert(i as u32);
    }
    let cats: &[u32] = match scope {
        Scope::All => &[],
        Scope::Category(ref cat) => std::slice::from_ref(cat),
        Scope::LastOrder => &c.last_order_categories,
    };
    let best = if cats.is_empty() {
        factors.top_k_items(x, k, Some(&exclude))
    } else {
        let candidates: Vec<u32> = cats
            .iter()
            .flat_map(|&cat| catalog.products_in(cat))
            .copied()
            .collect();
        top_k_among(factors.items().view(), x, &candidates, k, Some(&exclude))
    };
    best.into_iter().map(|s| s.item).collect()
}

/// Built-in greetings, one per channel, and the built-in apology.
fn built_in(channel: Channel, recovery: bool) -> (&'static str, &'static str) {
    if recovery {
        return (
            "builtin-recovery",
            "{first_name|Hello}, we're sorry your last experience fell short. Tell us what happened and we'll put it right.",
        );
    }
    match channel {
        Channel::Web => (
            "builtin-web",
            "Hello {first_name|there}, welcome to {shop_name|our shop}!",
        ),
        Channel::Email => ("builtin-email", "Hello {first_name|there},"),
        Channel::Sms => (
            "builtin-sms",
            "Hi {first_name|there}, thanks for being with {shop_name|us}.",
        ),
        Channel::App => ("builtin-app", "Good {part_of_day}, {first_name|there}!"),
        Channel::InStore => ("builtin-in-store", "Welcome in, {first_name|friend}!"),
    }
}

struct Candidate<'a> {
    r: &'a Registered,
    score: f32,
    affinity: f32,
    prior: f32,
    source: VectorSource,
}

impl Engine {
    /// The greeting state: variants, engagement, feedback and settings.
    pub fn greetings(&self) -> &Greetings {
        self.greeting_state()
    }

    /// Replaces the greeting settings after checking them.
    ///
    /// When a learning setting changes (thresholds, confidences, ridge `λ` or anchor `μ`), the
    /// variant vectors of the current model and the engagement-adjusted customer vectors are
    /// solved again under the new settings (O(variants × engaged customers × factors²), as
    /// in [`Engine::refresh_greetings`]), so that greetings and the next events' solves are
    /// those of an engine that had these settings all along.
    pub fn set_greeting_config(&mut self, config: GreetingConfig) -> Result<()> {
        config.validate()?;
        let (g, history, factors) = self.greeting_parts();
        let (old, new) = (g.config.learning(), config.learning());
        g.config = config;
        if old == new {
            return Ok(());
        }
        // the sums hold confidences of the old settings: rebuilt from the counts
        for r in &mut g.variants {
            r.acc = None;
        }
        if let Some(f) = factors {
            let st = f.fingerprint();
            let mut pop = None;
            for i in 0..g.variants.len() {
                // vectors of an older model are solved inside `greet`, with the settings in force
                if g.variants[i].stamp == st {
                    g.refresh_variant(i, f, history, &mut pop);
                }
            }
        }
        let customers = g.engaged_customers();
        g.refresh_customers(customers, factors, history);
        Ok(())
    }

    /// Registers a variant, replacing the one with the same id (its engagement is kept, and the
    /// adjusted vectors of the customers who engaged with it are solved again with its new
    /// vector).
    ///
    /// Errors: [`Error::Template`] for a template that does not parse (with the position),
    /// [`Error::UnknownProduct`] for a featured product not in the catalog, and
    /// [`Error::InvalidVariant`] for every other broken rule (blank id, unknown category, bad
    /// hours or audience bounds, a service-recovery variant that sells, …).
    pub fn add_greeting_variant(&mut self, variant: Variant) -> Result<()> {
        self.add_greeting_variants(vec![variant]).map(|_| ())
    }

    /// Registers several variants at once: all or none (the first error is returned).
    /// Duplicate ids in the list are an error. Returns how many were registered.
    pub fn add_greeting_variants(&mut self, variants: Vec<Variant>) -> Result<usize> {
        let (g, history, factors) = self.greeting_parts();
        let mut regs = Vec::with_capacity(variants.len());
        for v in variants {
            if regs.iter().any(|r: &Registered| r.variant.id == v.id) {
                return Err(Error::InvalidVariant {
                    variant: v.id,
                    message: "duplicate id".into(),
                });
            }
            regs.push(Greetings::register(v, history)?);
        }
        let n = regs.len();
        let mut added = Vec::with_capacity(n);
        // customers who engaged with a replaced variant: its vector may move
        let mut engaged: Vec<String> = Vec::new();
        for r in regs {
            let id = r.variant.id.clone();
            match g.find(&id) {
                Some(i) => {
                    g.variants[i] = r;
                    engaged.extend(
                        g.engagement
                            .get(&id)
                            .into_iter()
                            .flat_map(|m| m.keys().cloned()),
                    );
                }
                None => {
                    let pos = g.variants.partition_point(|x| x.variant.id < id);
                    g.variants.insert(pos, r);
                }
            }
            added.push(id);
        }
        if let Some(f) = factors {
            let mut pop = None;
            for id in added {
                let i = g.find(&id).expect("just added");
                g.refresh_variant(i, f, history, &mut pop);
            }
        }
        engaged.sort_unstable();
        engaged.dedup();
        g.refresh_customers(engaged, factors, history);
        Ok(n)
    }

    /// Registers variants from a JSON array of [`Variant`] objects (all or none).
    ///
    /// Malformed JSON and unknown fields give [`Error::InvalidVariant`] with an empty variant id
    /// and the line and column; the other errors are those of [`Engine::add_greeting_variant`].
    pub fn add_greeting_variants_json(&mut self, json: &str) -> Result<usize> {
        let variants: Vec<Variant> =
            serde_json::from_str(json).map_err(|e| Error::InvalidVariant {
                variant: String::new(),
                message: format!("malformed variant JSON: {e}"),
            })?;
        self.add_greeting_variants(variants)
    }

    /// Registers the shipped English set ([`DEFAULT_VARIANTS_EN`], `data/greetings_en.json`).
    pub fn load_default_greetings(&mut self) -> Result<usize> {
        self.add_greeting_variants_json(DEFAULT_VARIANTS_EN)
    }

    /// Removes a variant (its engagement counts are dropped too); `false` when unknown.
    ///
    /// The engagement-adjusted vectors of the customers who engaged with it are solved again
    /// without it (O(those customers × their variants² × factors)), so that they are greeted as
    /// if the variant had never been registered.
    pub fn remove_greeting_variant(&mut self, id: &str) -> bool {
        let (g, history, factors) = self.greeting_parts();
        let Some(i) = g.find(id) else {
            return false;
        };
        g.variants.remove(i);
        let engaged = g.engagement.remove(id).unwrap_or_default();
        g.refresh_customers(engaged.into_keys(), factors, history);
        true
    }

    /// Recomputes the greeting caches: the base's RFM distributions as of `as_of` (purchases
    /// after it are ignored), every variant vector and every engagement-adjusted customer
    /// vector. Call after [`Engine::train`] and after bulk loading; O(purchase lines + variants ×
    /// engaged customers × factors²).
    pub fn refresh_greetings(&mut self, as_of: Timestamp) -> Result<()> {
        let (g, history, factors) = self.greeting_parts();
        let mut cache = RfmCache::default();
        for u in 0..history.customer_count() as u32 {
            let mut last = None;
            let mut spend = 0.0;
            let mut orders: Vec<u32> = Vec::new();
            for l in history.customer_lines(u).filter(|l| l.timestamp <= as_of) {
                last = last.max(Some(l.timestamp.0.div_euclid(DAY)));
                spend += l.amount();
                orders.push(l.order);
            }
            if let Some(last) = last {
                orders.sort_unstable();
                orders.dedup();
                cache.last_days.push(last);
                cache.orders.push(orders.len() as u32);
                cache.spend.push(spend);
            }
        }
        cache.last_days.sort_unstable();
        cache.orders.sort_unstable();
        cache.spend.sort_by(f64::total_cmp);
        g.rfm = Some(cache);
        if let Some(f) = factors {
            let mut pop = None;
            for i in 0..g.variants.len() {
                g.variants[i].stamp = 0; // re-derive: the catalog or popularity may have changed
                g.refresh_variant(i, f, history, &mut pop);
            }
            let customers = g.engaged_customers();
            g.customer_vectors.clear();
            for c in customers {
                g.refresh_customer(&c, f, history);
            }
        }
        Ok(())
    }

    /// Records that `customer` saw, clicked or bought after greeting `variant`, and (with a
    /// trained model) updates the variant's vector and the customer's engagement-adjusted
    /// vector at once. Unknown customers are counted but do not teach the model.
    ///
    /// Errors: [`Error::UnknownVariant`], [`Error::InvalidArgument`] for an empty customer id.
    pub fn record_engagement(
        &mut self,
        customer: &str,
        variant: &str,
        event: Engagement,
    ) -> Result<()> {
        if customer.is_empty() {
            return Err(Error::InvalidArgument("empty customer id".into()));
        }
        let (g, history, factors) = self.greeting_parts();
        let i = g
            .find(variant)
            .ok_or_else(|| Error::UnknownVariant(variant.to_owned()))?;
        let c = g
            .engagement
            .entry_ref(variant)
            .or_default()
            .entry_ref(customer)
            .or_default();
        let before = *c;
        match event {
            Engagement::Impression => c.impressions = c.impressions.saturating_add(1),
            Engagement::Click => c.clicks = c.clicks.saturating_add(1),
            Engagement::Conversion => c.conversions = c.conversions.saturating_add(1),
        }
        let after = *c;
        if let Some(f) = factors {
            let st = f.fingerprint();
            let cfg = &g.config;
            let r = &mut g.variants[i];
            match r.acc.as_mut().filter(|a| a.stamp == st && r.stamp == st) {
                Some(acc) => {
                    // O(factors²) update of the sums, then one solve
                    if let Some(x) = user_vector(f, history, customer) {
                        acc.change(x, &before, &after, cfg);
                    }
                    let (v, source) = acc.solve(cfg, &r.derived, r.derived_source);
                    r.vector = v;
                    r.source = source;
                }
                None => g.refresh_variant(i, f, history, &mut None),
            }
            g.refresh_customer(customer, f, history);
        }
        Ok(())
    }

    /// Records a survey answer. Out-of-range scores give [`Error::ScoreOutOfRange`]. A poor
    /// answer puts the customer in service recovery (see [`crate::greeting`]).
    pub fn record_feedback(&mut self, customer: &str, score: Score, at: Timestamp) -> Result<()> {
        self.greeting_parts().0.feedback.record(customer, score, at)
    }

    /// NPS, CSAT, CES and retention per period (see [`crate::feedback::report`]; a window whose
    /// `from` is not before its `to` is [`Error::InvalidArgument`]).
    pub fn feedback_report(
        &self,
        period: Period,
        window: Option<(Timestamp, Timestamp)>,
    ) -> Result<FeedbackReport> {
        crate::feedback::report(
            self.history(),
            &self.greeting_state().feedback,
            period,
            window,
        )
    }

    /// The greeting for `customer` on `channel` at `at`, with ranked runners-up.
    ///
    /// See the [module documentation](crate::greeting) for eligibility, scoring and rendering.
    /// Errors: [`Error::Empty`] when no variant is registered, [`Error::InvalidArgument`] for an
    /// empty customer id. Unknown customers get a generic greeting ([`Greeting::generic`]).
    ///
    /// ```
    /// use rapport::{Channel, CustomerInfo, Engine, Timestamp};
    /// let mut engine = Engine::default();
    /// engine.load_default_greetings().unwrap();
    /// engine.upsert_customer(CustomerInfo { id: "c1".into(), first_name: Some("Ada".into()), ..Default::default() }).unwrap();
    /// let at = Timestamp::parse("2024-05-01 09:30").unwrap();
    /// let g = engine.greet("c1", Channel::Sms, at).unwrap();
    /// assert!(g.text.contains("Ada") && !g.generic);
    /// let stranger = engine.greet("nobody", Channel::Web, at).unwrap();
    /// assert!(stranger.generic && !stranger.text.contains('{'));
    /// ```
    pub fn greet(&self, customer: &str, channel: Channel, at: Timestamp) -> Result<Greeting> {
        if customer.is_empty() {
            return Err(Error::InvalidArgument("empty customer id".into()));
        }
        let g = self.greeting_state();
        if g.variants.is_empty() {
            return Err(Error::Empty("no greeting variants registered".into()));
        }
        let history = self.history();
        let factors = self.trained_factors();
        let st = factors.map_or(0, crate::als::Factors::fingerprint);
        let c = Ctx::new(g, history, factors, st, customer, at);
        let generic = c.index.is_none();
        let cfg = &g.config;
        let customer_locale = c
            .info
            .and_then(|i| i.locale.as_deref())
            .filter(|l| !l.trim().is_empty())
            .unwrap_or(&cfg.default_locale);
        let hour = at.hour();
        let mut pop = None;

        let eligible = |r: &Registered, lang: &str| -> bool {
            let v = &r.variant;
            let vl = v.locale.as_deref().unwrap_or(&cfg.default_locale);
            if !language(vl).eq_ignore_ascii_case(lang) {
                return false;
            }
            if !v.channels.is_empty() && !v.channels.contains(&channel) {
                return false;
            }
            if v.hours.is_some_and(|h| !h.contains(hour)) {
                return false;
            }
            if c.recovery.is_some() != (v.kind == GreetingKind::ServiceRecovery) {
                return false;
            }
            if generic {
                // no history: no proactive trigger holds, but an apology does
                return matches!(
                    v.kind,
                    GreetingKind::Standard | GreetingKind::ServiceRecovery
                ) && v.audience.is_open();
            }
            let trigger = match v.kind {
                GreetingKind::Standard | GreetingKind::ServiceRecovery => true,
                GreetingKind::WinBack => {
                    matches!(c.segment, Some(Segment::AtRisk | Segment::Lapsed))
                }
                GreetingKind::PostPurchase => {
                    c.days_since.is_some_and(|d| d <= cfg.post_purchase_days)
                }
                GreetingKind::Replenishment => c.replenish.is_some(),
            };
            trigger && v.audience.matches(&c)
        };

        // The customer's language first; the default one when none of its variants is eligible
        // (rule checks and required slots alike, so that a variant in the customer's language
        // that cannot be rendered does not hide eligible ones in the default language).
        let customer_lang = language(customer_locale);
        let default_lang = language(&cfg.default_locale);
        let languages = [
            Some(customer_lang),
            (!customer_lang.eq_ignore_ascii_case(default_lang)).then_some(default_lang),
        ];

        // The variants that pass the rules for `lang`, scored, best first.
        let mut scored = |lang: &str| {
            let pool: Vec<&Registered> = g.variants.iter().filter(|r| eligible(r, lang)).collect();
            let mut cands: Vec<Candidate<'_>> = Vec::with_capacity(pool.len());
            for r in pool {
                let v = &r.variant;
                let (z, source): (Cow<'_, [f32]>, VectorSource) = match factors {
                    Some(_) if r.stamp == st => (Cow::Borrowed(&r.vector), r.source),
                    Some(f) => {
                        // stale cache (retrained since the last refresh): slow path
                        let i = g.find(&v.id).expect("registered");
                        let (_, _, z, s) = g.solve_variant(i, f, history, &mut pop);
                        (Cow::Owned(z), s)
                    }
                    None => (Cow::Borrowed(&[][..]), VectorSource::None),
                };
                let affinity = match c.vector {
                    Some(x) if z.len() == x.len() => fast_dot(x, &z),
                    _ => 0.0,
                };
                let exact_locale = v
                    .locale
                    .as_deref()
                    .is_some_and(|l| l.eq_ignore_ascii_case(customer_locale));
                let prior = PRIOR_PER_CONDITION * v.audience.conditions() as f32
                    + if v.channels.is_empty() {
                        0.0
                    } else {
                        PRIOR_CHANNEL
                    }
                    + if v.hours.is_some() { PRIOR_HOURS } else { 0.0 }
                    + if exact_locale { PRIOR_LOCALE } else { 0.0 }
                    + v.kind.prior();
                cands.push(Candidate {
                    r,
                    score: affinity + prior + v.boost,
                    affinity,
                    prior,
                    source,
                });
            }
            cands.sort_by(|a, b| {
                b.score
                    .total_cmp(&a.score)
                    .then_with(|| a.r.variant.id.cmp(&b.r.variant.id))
            });
            cands
        };

        let catalog = history.catalog();
        let mut memo: Vec<(Scope, Vec<u32>)> = Vec::new();
        let mut ranked = |scope: Scope| -> Vec<u32> {
            if let Some((_, v)) = memo.iter().find(|(k, _)| *k == scope) {
                return v.clone();
            }
            let v = match (c.vector, factors) {
                (Some(x), Some(f)) => top_products(x, f, history, &c, scope, 3),
                _ => Vec::new(),
            };
            memo.push((scope, v.clone()));
            v
        };
        let why_of = |cand: &Candidate<'_>| -> Why {
            let kind = cand.r.variant.kind;
            let name = |p: u32| clean(catalog.name(p));
            let detail = match kind {
                GreetingKind::Standard => None,
                GreetingKind::WinBack => c
                    .days_since
                    .map(|d| format!("{} days since the last order", d.floor() as i64)),
                GreetingKind::PostPurchase => c.days_since.map(|d| {
                    format!(
                        "ordered {} {} days ago",
                        c.last_product.map(name).unwrap_or_default(),
                        d.floor() as i64
                    )
                }),
                GreetingKind::Replenishment => c.replenish.map(|(p, gap, since)| {
                    format!(
                        "buys {} about every {gap:.0} days, last bought {since} days ago",
                        name(p)
                    )
                }),
                GreetingKind::ServiceRecovery => c
                    .recovery
                    .map(|e| format!("latest feedback {} on {}", e.score, e.timestamp)),
            };
            Why {
                kind,
                affinity: cand.affinity,
                prior: cand.prior,
                boost: cand.r.variant.boost,
                source: cand.source,
                segment: c.segment,
                detail,
                built_in: false,
            }
        };

        let mut chosen: Vec<(Candidate<'_>, String, Vec<u32>)> = Vec::new();
        for lang in languages.into_iter().flatten() {
            if !chosen.is_empty() {
                break;
            }
            for cand in scored(lang) {
                if chosen.len() > cfg.runners_up {
                    break;
                }
                let r = cand.r;
                let v = &r.variant;
                let products: Vec<u32> = match v.kind {
                    GreetingKind::ServiceRecovery => Vec::new(),
                    GreetingKind::Replenishment => {
                        c.replenish.map(|p| vec![p.0]).unwrap_or_default()
                    }
                    _ if !r.featured.is_empty() => {
                        let mut fs: Vec<(f32, u32)> = r
                            .featured
                            .iter()
                            .filter(|&&p| catalog.in_stock(p) && !c.owns(p))
                            .map(|&p| {
                                let s = match (c.vector, factors) {
                                    (Some(x), Some(f)) if f.item(p as usize).len() == x.len() => {
                                        fast_dot(x, f.item(p as usize))
                                    }
                                    _ => 0.0,
                                };
                                (s, p)
                            })
                            .collect();
                        // best first; featured order breaks ties
                        fs.sort_by(|a, b| b.0.total_cmp(&a.0));
                        fs.into_iter().map(|x| x.1).take(3).collect()
                    }
                    _ if r.category.is_some()
                        || v.kind == GreetingKind::PostPurchase
                        || r.template.uses(Slot::Product) =>
                    {
                        ranked(match r.category {
                            Some(cat) => Scope::Category(cat),
                            None if v.kind == GreetingKind::PostPurchase => Scope::LastOrder,
                            None => Scope::All,
                        })
                    }
                    _ => Vec::new(),
                };
                let value = |slot: Slot| -> Option<String> {
                    let s = match slot {
                        Slot::FirstName => c.info.and_then(|i| i.first_name.clone())?,
                        Slot::TopCategory => catalog.category_name(c.top_category?).to_owned(),
                        Slot::Product => catalog.name(*products.first()?).to_owned(),
                        Slot::LastProduct => catalog.name(c.last_product?).to_owned(),
                        Slot::ReplenishProduct => catalog.name(c.replenish?.0).to_owned(),
                        Slot::DaysSinceLastOrder => format!("{}", c.days_since?.floor() as i64),
                        Slot::OrderCount => (c.orders > 0).then(|| c.orders.to_string())?,
                        Slot::PartOfDay => match hour {
                            5..=11 => "morning",
                            12..=16 => "afternoon",
                            _ => "evening",
                        }
                        .to_owned(),
                        Slot::ShopName => cfg.shop_name.clone()?,
                    };
                    Some(clean(&s)).filter(|s| !s.is_empty())
                };
                let Some(text) = r.template.render(value) else {
                    continue; // a required slot without value: not eligible
                };
                chosen.push((cand, finish(&text, channel, cfg), products));
            }
        }

        let ids =
            |ps: &[u32]| -> Vec<String> { ps.iter().map(|&p| catalog.id(p).to_owned()).collect() };
        let mut it = chosen.into_iter();
        let Some((best, text, products)) = it.next() else {
            let (id, t) = built_in(channel, c.recovery.is_some());
            let template = Template::parse(t).expect("built-in templates parse");
            let text = template
                .render(|s| match s {
                    Slot::FirstName => c.info.and_then(|i| i.first_name.as_deref()).map(clean),
                    Slot::ShopName => cfg.shop_name.as_deref().map(clean),
                    Slot::PartOfDay => Some(
                        match hour {
                            5..=11 => "morning",
                            12..=16 => "afternoon",
                            _ => "evening",
                        }
                        .to_owned(),
                    ),
                    _ => None,
                })
                .expect("built-in templates have fallbacks");
            return Ok(Greeting {
                customer: customer.to_owned(),
                channel,
                variant: id.to_owned(),
                text: finish(&text, channel, cfg),
                score: 0.0,
                products: Vec::new(),
                why: Why {
                    kind: if c.recovery.is_some() {
                        GreetingKind::ServiceRecovery
                    } else {
                        GreetingKind::Standard
                    },
                    affinity: 0.0,
                    prior: 0.0,
                    boost: 0.0,
                    source: VectorSource::None,
                    segment: c.segment,
                    detail: c
                        .recovery
                        .map(|e| format!("latest feedback {} on {}", e.score, e.timestamp)),
                    built_in: true,
                },
                runners_up: Vec::new(),
                generic,
                locale: cfg.default_locale.clone(),
            });
        };
        let runners_up = it
            .map(|(cand, text, ps)| RunnerUp {
                variant: cand.r.variant.id.clone(),
                text,
                score: cand.score,
                products: ids(&ps),
                why: why_of(&cand),
            })
            .collect();
        Ok(Greeting {
            customer: customer.to_owned(),
            channel,
            variant: best.r.variant.id.clone(),
            text,
            score: best.score,
            products: ids(&products),
            why: why_of(&best),
            runners_up,
            generic,
            locale: best
                .r
                .variant
                .locale
                .clone()
                .unwrap_or_else(|| cfg.default_locale.clone()),
        })
    }
}

#[cfg(test)]
mod tests;
