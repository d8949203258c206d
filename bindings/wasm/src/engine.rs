//! The `Engine` class: every call translates its arguments, calls [`rapport::Engine`] and
//! translates the result.

use crate::convert::{
    Obj, boolean_arg, byte_array, count, count_arg, date, kind_of, number_arg, object, objects,
    opt_date, opt_f64, opt_str, options, single, snapshot, string, strings, timestamp,
    timestamp_or_now,
};
use crate::error::{IntoJs, JsResult, invalid, to_js};

/// `Number.MAX_SAFE_INTEGER`, 2^53 − 1.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
use js_sys::{Array, Float32Array, Float64Array, Uint8Array};
use rapport::als::AlsConfig;
use rapport::greeting::{Engagement, RunnerUp, VectorSource, Why};
use rapport::neighbours::Blend;
use rapport::{
    Channel, CsvLayout, CustomerInfo, EngineConfig, IngestOptions, Period, Product, Purchase,
    Reason, RecommendOptions, Recorded, Score, Timestamp,
};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** A time: a `Date`, milliseconds since the Unix epoch, or a string such as "2011-12-09 12:50". */
export type Time = Date | number | string;

/** Where a customer is reached. */
export type Channel = "web" | "email" | "sms" | "app" | "in-store";

/** A customer segment (see the rapport docs for the rules). */
export type Segment = "new" | "active" | "at-risk" | "lapsed" | "champion";

/** What a greeting variant is for. */
export type GreetingKind = "standard" | "win-back" | "post-purchase" | "replenishment" | "service-recovery";

/** The `code` of a thrown `RapportError`: the name of the core error variant (a bad purchase quantity is `InvalidWeight`, except in `recordPurchases`, which reports any bad element as `InvalidArgument` naming its index). */
export type ErrorCode =
  | "InvalidWeight" | "InvalidConfig" | "InvalidArgument" | "UnknownCustomer" | "UnknownProduct"
  | "NotTrained" | "Empty" | "MissingColumn" | "BadRow" | "Template" | "InvalidVariant"
  | "UnknownVariant" | "ScoreOutOfRange" | "NotAModel" | "UnsupportedVersion" | "Corrupted"
  | "Serialize" | "Io" | "Unknown";

/** Every error thrown by this package. */
export interface RapportError extends Error {
  name: "RapportError";
  code: ErrorCode;
}

/** Engine settings; omitted fields keep the library defaults. Checked when training. */
export interface EngineConfig {
  /** Length of each factor vector, 1 to 4096 (default 256). */
  factors?: number;
  /** Training sweeps, at least 1 (default 10). */
  iterations?: number;
  /** Regularization strength (default 5). */
  regularization?: number;
  /** Frequency-scaling exponent for customers (default 0.25). */
  frequencyScaling?: number;
  /** Frequency-scaling exponent for products (default 0.5). */
  itemFrequencyScaling?: number;
  /** Confidence slope (default 3). */
  alpha?: number;
  /** Conjugate-gradient steps per row and half-sweep (default 2). */
  cgSteps?: number;
  /** Seed of the random initial factors (default 42). */
  seed?: number;
  /** Days (≥ 0) over which the popularity fallback counts buyers (default 30); `train` throws `InvalidConfig` for NaN or negative days. */
  popularityWindowDays?: number;
}

/** One purchase line. */
export interface Purchase {
  customer: string;
  product: string;
  timestamp: Time;
  /** Units bought (> 0). */
  quantity: number;
  /** Price per unit (≥ 0). */
  unitPrice: number;
  /** Order id; lines without one are grouped by customer and time. */
  order?: string | null;
}

/** A catalog entry. */
export interface Product {
  id: string;
  /** Display name (default: the id). */
  name?: string | null;
  category?: string | null;
  price?: number | null;
  /** Default true. */
  inStock?: boolean;
}

/** What the shop knows about a customer besides purchases. */
export interface CustomerInfo {
  id: string;
  firstName?: string | null;
  locale?: string | null;
  channel?: Channel | null;
}

/** Column names of a purchase log. */
export interface CsvColumns {
  customer: string;
  product: string;
  timestamp: string;
  quantity?: string | null;
  unitPrice?: string | null;
  order?: string | null;
  description?: string | null;
  category?: string | null;
}

/** How to read a purchase log. The presets keep the Online Retail cleaning rules on; custom
 * columns start with them off. */
export interface CsvOptions {
  layout?: "online-retail" | "online-retail-ii" | CsvColumns;
  strict?: boolean;
  /** One ASCII character (default ","). */
  delimiter?: string;
  dropCancelled?: boolean;
  dropNonProducts?: boolean;
  dropZeroPrice?: boolean;
}

/** What a CSV read did with each row: `rowsRead == kept + dropped`. */
export interface IngestReport {
  rowsRead: number;
  kept: number;
  dropped: number;
  unparsable: number;
  unparsableLines: number[];
  firstUnparsable: string | null;
  missingCustomer: number;
  missingProduct: number;
  cancelled: number;
  nonPositiveQuantity: number;
  nonPositivePrice: number;
  nonProduct: number;
  duplicates: number;
}

/** What `train` reports after each iteration. */
export interface TrainProgress {
  /** 1-based iteration just finished. */
  iteration: number;
  /** Of how many. */
  iterations: number;
  /** Weighted squared loss plus regularization, per interaction. */
  loss: number;
  /** Wall time of the iteration in milliseconds (0 where the platform has no clock). */
  elapsedMs: number;
}

/** A summary of one training run. */
export interface TrainReport {
  customers: number;
  products: number;
  interactions: number;
  /** Loss after each iteration. */
  losses: Float64Array;
}

/** What a recommendation request may return. */
export interface RecommendOptions {
  /** How many products, a whole number from 0 to 2^32 − 1 (default 10; a k past the catalog gives every product). */
  k?: number;
  /** Also recommend products the customer already bought (default false). */
  allowRepurchase?: boolean;
  /** Product ids never to return (unknown ids are ignored). */
  exclude?: string[];
  /** Only return products from this list (unknown ids are ignored). */
  candidates?: string[] | null;
  /** Only products of this category (an unknown category gives an empty list). */
  category?: string | null;
  /** Skip out-of-stock products (default true). */
  inStockOnly?: boolean;
}

/** A ranked list, best first, as parallel arrays: item `i` is `products[i]`, `names[i]`,
 * `scores[i]`, `reasons[i]`, `because[i]`. */
export interface Recommendations {
  customer: string;
  /** True when this is the popularity fallback (unknown customer or no usable history). */
  fallback: boolean;
  products: string[];
  names: string[];
  /** Model scores (popularity counts for the fallback). */
  scores: Float32Array;
  /** "because you bought …" or "popular with other customers right now". */
  reasons: string[];
  /** The bought product id behind each reason; null for popular picks. */
  because: (string | null)[];
}

/** Products similar to one product, best first, as parallel arrays. */
export interface SimilarProducts {
  product: string;
  products: string[];
  names: string[];
  /** Cosine similarities in [-1, 1]. */
  similarities: Float32Array;
}

/** One customer as of a date. A time outside the range a `Date` holds (±8.64e15 ms around
 * 1970) comes back as null. */
export interface Profile {
  id: string;
  orders: number;
  units: number;
  totalSpend: number;
  averageOrderValue: number;
  /** Time of the first purchase line; null without purchases. */
  firstPurchase: Date | null;
  /** Time of the last purchase line; null without purchases. */
  lastPurchase: Date | null;
  /** Days (fractional) from the last purchase to the profile's date; null without purchases. */
  daysSinceLastPurchase: number | null;
  /** Median gap in whole days between distinct purchase days; null with fewer than two. */
  medianDaysBetweenOrders: number | null;
  /** The last purchase plus the median gap (may lie before the profile's date: overdue); null
   * without a median gap, or when it falls outside the range a `Date` holds (±8.64e15 ms). */
  expectedNextPurchase: Date | null;
  rfm: { recency: number; frequency: number; monetary: number };
  segment: Segment;
  churnRisk: number;
  probNoPurchase12m: number;
  expectedOrders12m: number;
  expectedValue12m: number;
  favouriteProducts: { product: string; name: string; weight: number }[];
  favouriteCategories: { category: string; weight: number }[];
}

/** Why a greeting was chosen. */
export interface GreetingWhy {
  kind: GreetingKind;
  affinity: number;
  prior: number;
  boost: number;
  source: "learned" | "featured" | "category" | "none";
  segment: Segment | null;
  detail: string | null;
  builtIn: boolean;
  /** The whole reason as one line of text. */
  text: string;
}

/** A ranked alternative to the chosen greeting. */
export interface RunnerUp {
  variant: string;
  /** Rendered, escaped and length-limited like `Greeting.text`. */
  text: string;
  score: number;
  products: string[];
  why: GreetingWhy;
}

/** The greeting chosen for a customer. */
export interface Greeting {
  customer: string;
  channel: Channel;
  variant: string;
  /** Rendered text: HTML-escaped for web and e-mail; for SMS and app, cut on a word boundary
   * to the channel's length limit (the `smsMaxChars` and `appMaxChars` greeting settings, 160
   * and 178 characters by default), ending in "..." for SMS (inside the GSM 7-bit alphabet)
   * and "…" for the app. */
  text: string;
  score: number;
  /** Featured product ids, best first. */
  products: string[];
  why: GreetingWhy;
  /** The next eligible variants, best first: at most `runnersUp` of them (a greeting setting,
   * 3 by default). */
  runnersUp: RunnerUp[];
  /** True for an unknown customer: a generic greeting. */
  generic: boolean;
  locale: string;
}

/** An engagement event. */
export type EngagementEvent = "impression" | "click" | "conversion";

/** A survey scale: NPS 0–10, CSAT 1–5, CES 1–7. */
export type SurveyKind = "nps" | "csat" | "ces";

/** Greeting settings; `setGreetingSettings` takes any subset (the rest stay as they are; a field
 * set to `undefined` counts as omitted). */
export interface GreetingSettings {
  /** Locale for customers without one, and the fallback language (default "en"). */
  defaultLocale?: string;
  /** Value of the `{shop_name}` slot, or null for none (the template's fallback applies). In
   * `setGreetingSettings`, null clears it and undefined leaves it unchanged. */
  shopName?: string | null;
  /** Runners-up returned with each greeting (default 3). */
  runnersUp?: number;
  /** A post-purchase greeting runs this many days after a purchase (default 14). */
  postPurchaseDays?: number;
  /** Distinct purchase days of a product before it can be replenished (default 3). */
  replenishMinPurchases?: number;
  /** Impressions before a variant's vector is learned (default 50). */
  learnMinImpressions?: number;
  /** Clicks plus conversions before a variant's vector is learned (default 5). */
  learnMinClicks?: number;
  /** Confidence slope of clicks (default 2). */
  clickAlpha?: number;
  /** A conversion counts as this many clicks (default 3). */
  conversionWeight?: number;
  /** Ridge of the variant solve, towards the derived vector (default 1). */
  engagementRegularization?: number;
  /** Anchor of the customer solve, towards the purchase-based vector (default 1). */
  customerAnchor?: number;
  /** SMS length limit in characters (default 160). */
  smsMaxChars?: number;
  /** App (push) length limit in characters (default 178). */
  appMaxChars?: number;
}

/**
 * The co-purchase re-rank of recommendations: the `pool` best factor scores of a query are
 * re-ranked by `(1 − weight)·z(factor score) + weight·z(similarity to the customer's products)`,
 * the similarity coming from the `neighbours` products whose buyers overlap each product most.
 * Off by default; `Engine.coPurchaseBlend()` is the validated setting. `setBlend` takes any
 * subset (the rest stay as they are).
 */
export interface Blend {
  /** Share of the neighbour signal in [0, 1]; 0 turns the re-rank off (default 0). */
  weight?: number;
  /** Neighbours kept per product (default 50; at least 1 when the weight is above 0). */
  neighbours?: number;
  /** How many of the best factor scores are re-ranked (default 50; at least 1). */
  pool?: number;
}

/** Which answers and periods `feedbackReport` covers. */
export interface FeedbackReportOptions {
  /** Cohort length for retention (default "month"). */
  period?: "month" | "quarter";
  /** Start of the window, inclusive (default: no start). */
  from?: Time | null;
  /** End of the window, exclusive (default: no end). */
  to?: Time | null;
}

/** Retention from one period to the next. */
export interface PeriodRetention {
  /** "2011-03" for months, "2011-Q1" for quarters. */
  period: string;
  /** First instant of the period. */
  start: Date;
  /** Customers with a purchase in the period. */
  active: number;
  /** Of those, customers with a purchase in the next period. */
  retained: number;
  retentionRate: number;
  churnRate: number;
}

/** The base-level customer-experience report. */
export interface FeedbackReport {
  /** NPS in [-100, 100]; null without NPS answers. */
  nps: number | null;
  promoters: number;
  passives: number;
  detractors: number;
  /** % of CSAT answers that are 4 or 5; null without CSAT answers. */
  csat: number | null;
  csatResponses: number;
  /** Mean CES answer; null without CES answers. */
  ces: number | null;
  cesResponses: number;
  /** Retention per period, oldest first: periods with purchases that start inside the window
   * and are followed by a later period with purchases. */
  retention: PeriodRetention[];
}
"#;

/// An optional argument: omitted or `undefined` is `None` (`null` is treated the same).
type Opt = Option<JsValue>;

/// Engine settings from JS (omitted fields keep the defaults).
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConfigIn {
    factors: Option<usize>,
    iterations: Option<usize>,
    regularization: Option<f64>,
    frequency_scaling: Option<f64>,
    item_frequency_scaling: Option<f64>,
    alpha: Option<f64>,
    cg_steps: Option<usize>,
    seed: Option<u64>,
    popularity_window_days: Option<f64>,
}

impl ConfigIn {
    /// The core's settings. The `f32` ones go through [`single`], so that a number `f32`
    /// cannot hold is refused here rather than rounded to 0 or infinity.
    fn config(self) -> JsResult<EngineConfig> {
        let d = EngineConfig::default();
        let a = d.als;
        let f32_or = |v: Option<f64>, default: f32, what: &str| {
            v.map_or(Ok(default), |v| single(v, &format!("config.{what}")))
        };
        Ok(EngineConfig {
            als: AlsConfig {
                factors: self.factors.unwrap_or(a.factors),
                iterations: self.iterations.unwrap_or(a.iterations),
                regularization: f32_or(self.regularization, a.regularization, "regularization")?,
                frequency_scaling: f32_or(
                    self.frequency_scaling,
                    a.frequency_scaling,
                    "frequencyScaling",
                )?,
                item_frequency_scaling: f32_or(
                    self.item_frequency_scaling,
                    a.item_frequency_scaling,
                    "itemFrequencyScaling",
                )?,
                alpha: f32_or(self.alpha, a.alpha, "alpha")?,
                cg_steps: self.cg_steps.unwrap_or(a.cg_steps),
                seed: self.seed.unwrap_or(a.seed),
                ..a
            },
            popularity_window_days: self
                .popularity_window_days
                .unwrap_or(d.popularity_window_days),
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PurchaseIn {
    customer: String,
    product: String,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    timestamp: JsValue,
    quantity: f64,
    unit_price: f64,
    #[serde(default)]
    order: Option<String>,
}

impl PurchaseIn {
    fn purchase(self, what: &str) -> JsResult<Purchase> {
        Ok(Purchase {
            timestamp: timestamp(&self.timestamp, &format!("{what}.timestamp"))?,
            customer: self.customer,
            product: self.product,
            quantity: self.quantity,
            unit_price: self.unit_price,
            order: self.order,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ProductIn {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    price: Option<f64>,
    #[serde(default)]
    in_stock: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CustomerIn {
    id: String,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    locale: Option<String>,
    #[serde(default)]
    channel: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CsvIn {
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    layout: JsValue,
    strict: Option<bool>,
    delimiter: Option<String>,
    drop_cancelled: Option<bool>,
    drop_non_products: Option<bool>,
    drop_zero_price: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ColumnsIn {
    customer: String,
    product: String,
    timestamp: String,
    quantity: Option<String>,
    unit_price: Option<String>,
    order: Option<String>,
    description: Option<String>,
    category: Option<String>,
}

impl CsvIn {
    fn options(self) -> JsResult<IngestOptions> {
        let mut o = if self.layout.is_undefined() || self.layout.is_null() {
            IngestOptions::online_retail()
        } else if let Some(preset) = self.layout.as_string() {
            match preset.as_str() {
                "online-retail" => IngestOptions::online_retail(),
                "online-retail-ii" => IngestOptions {
                    layout: CsvLayout::online_retail_ii(),
                    ..IngestOptions::online_retail()
                },
                other => {
                    return Err(invalid(format!(
                        "options.layout: unknown preset {other:?} (use \"online-retail\", \"online-retail-ii\" or column names)"
                    )));
                }
            }
        } else {
            let c: ColumnsIn = object(self.layout, "options.layout")?;
            IngestOptions::new(CsvLayout {
                customer: c.customer,
                product: c.product,
                timestamp: c.timestamp,
                quantity: c.quantity,
                unit_price: c.unit_price,
                order: c.order,
                description: c.description,
                category: c.category,
            })
        };
        if let Some(d) = self.delimiter {
            o.delimiter = match d.as_bytes() {
                [b] if b.is_ascii() => *b,
                _ => {
                    return Err(invalid(format!(
                        "options.delimiter must be one ASCII character, got {d:?}"
                    )));
                }
            };
        }
        o.strict = self.strict.unwrap_or(o.strict);
        o.drop_cancelled = self.drop_cancelled.unwrap_or(o.drop_cancelled);
        o.drop_non_products = self.drop_non_products.unwrap_or(o.drop_non_products);
        o.drop_zero_price = self.drop_zero_price.unwrap_or(o.drop_zero_price);
        Ok(o)
    }
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SettingsIn {
    default_locale: Option<String>,
    /// Absent or `undefined`: unchanged; `null`: no shop name; else a string. Kept as the JS
    /// value: serde sees `undefined` and `null` alike.
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    shop_name: JsValue,
    runners_up: Option<f64>,
    post_purchase_days: Option<f64>,
    replenish_min_purchases: Option<f64>,
    learn_min_impressions: Option<f64>,
    learn_min_clicks: Option<f64>,
    click_alpha: Option<f64>,
    conversion_weight: Option<f64>,
    engagement_regularization: Option<f64>,
    customer_anchor: Option<f64>,
    sms_max_chars: Option<f64>,
    app_max_chars: Option<f64>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlendIn {
    weight: Option<f64>,
    neighbours: Option<f64>,
    pool: Option<f64>,
}

/// A [`Blend`] as a JS object.
fn blend_js(b: &Blend) -> JsValue {
    Obj::new()
        .set("weight", b.weight)
        .set("neighbours", b.neighbours as f64)
        .set("pool", b.pool as f64)
        .build()
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReportIn {
    period: Option<String>,
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    from: JsValue,
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    to: JsValue,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RecommendIn {
    k: Option<f64>,
    allow_repurchase: Option<bool>,
    exclude: Option<Vec<String>>,
    candidates: Option<Vec<String>>,
    category: Option<String>,
    in_stock_only: Option<bool>,
}

impl RecommendIn {
    fn options(self) -> JsResult<RecommendOptions> {
        let d = RecommendOptions::default();
        Ok(RecommendOptions {
            k: match self.k {
                Some(k) => count(k, "options.k")?,
                None => d.k,
            },
            allow_repurchase: self.allow_repurchase.unwrap_or(d.allow_repurchase),
            exclude: self.exclude.unwrap_or(d.exclude),
            candidates: self.candidates,
            category: self.category,
            in_stock_only: self.in_stock_only.unwrap_or(d.in_stock_only),
        })
    }
}

/// A channel from its name (`web`, `email`, `sms`, `app`, `in-store`).
fn channel(name: &str) -> JsResult<Channel> {
    name.parse::<Channel>().js()
}

fn source(s: VectorSource) -> &'static str {
    match s {
        VectorSource::Learned { .. } => "learned",
        VectorSource::Featured => "featured",
        VectorSource::Category => "category",
        VectorSource::None => "none",
    }
}

fn why(w: &Why) -> JsValue {
    Obj::new()
        .set("kind", w.kind.as_str())
        .set("affinity", w.affinity)
        .set("prior", w.prior)
        .set("boost", w.boost)
        .set("source", source(w.source))
        .set("segment", opt_str(w.segment.map(|s| s.as_str())))
        .set("detail", opt_str(w.detail.as_deref()))
        .set("builtIn", w.built_in)
        .set("text", w.to_string())
        .build()
}

fn runner_up(r: &RunnerUp) -> JsValue {
    Obj::new()
        .set("variant", r.variant.as_str())
        .set("text", r.text.as_str())
        .set("score", r.score)
        .set("products", strings(&r.products))
        .set("why", why(&r.why))
        .build()
}

/// Purchase history, catalog and trained model: a [`rapport::Engine`] held by JavaScript.
///
/// Create one empty (`new Engine(config?)`) or from a saved model (`Engine.fromBytes(bytes)`).
/// Its memory lives in the WASM heap: `free()` releases it at once; otherwise the garbage
/// collector does, through a `FinalizationRegistry`, some time after the last reference goes.
#[wasm_bindgen]
pub struct Engine {
    inner: rapport::Engine,
}

#[wasm_bindgen]
impl Engine {
    /// An empty engine. `config` is optional; omitted fields keep the defaults (checked when
    /// training).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "EngineConfig")] config: Opt,
    ) -> JsResult<Engine> {
        let c: ConfigIn = options(config, "config")?;
        Ok(Engine {
            inner: rapport::Engine::new(c.config()?),
        })
    }

    /// An engine from the bytes of a model file saved by native rapport (`Engine::save`) or by
    /// `toBytes`. Not a model, truncated, corrupted or newer-version bytes throw
    /// (`NotAModel`, `Corrupted`, `UnsupportedVersion`).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] bytes: JsValue,
    ) -> JsResult<Engine> {
        let bytes = byte_array(&bytes, "bytes")?;
        Ok(Engine {
            inner: rapport::Engine::from_bytes(&bytes).js()?,
        })
    }

    /// The whole engine (history, catalog, model, greetings) in the model file format.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> JsResult<Uint8Array> {
        let bytes = self.inner.to_bytes().js()?;
        Ok(Uint8Array::from(bytes.as_slice()))
    }

    /// Whether a model has been trained or loaded.
    #[wasm_bindgen(getter = isTrained)]
    pub fn is_trained(&self) -> bool {
        self.inner.is_trained()
    }

    /// Number of customers in the history.
    #[wasm_bindgen(getter = customerCount)]
    pub fn customer_count(&self) -> usize {
        self.inner.history().customer_count()
    }

    /// Number of products in the catalog.
    #[wasm_bindgen(getter = productCount)]
    pub fn product_count(&self) -> usize {
        self.inner.history().catalog().len()
    }

    /// Number of purchase lines in the history.
    #[wasm_bindgen(getter = purchaseCount)]
    pub fn purchase_count(&self) -> usize {
        self.inner.history().lines().len()
    }

    /// Time of the latest recorded purchase, or `null` without purchases (or when it lies outside
    /// the range a `Date` holds, ±8.64e15 ms, as in a model saved natively).
    #[wasm_bindgen(getter = lastPurchaseAt, unchecked_return_type = "Date | null")]
    pub fn last_purchase_at(&self) -> JsValue {
        opt_date(self.inner.history().last_timestamp())
    }

    /// Every customer id, in the order they were first seen.
    #[wasm_bindgen(js_name = customerIds)]
    pub fn customer_ids(&self) -> Vec<String> {
        self.inner.history().customers().names().to_vec()
    }

    /// Reads a purchase log (CSV text, or its UTF-8 bytes) into the history; returns what was
    /// kept and dropped. Default layout: UCI Online Retail, with its cleaning rules.
    #[wasm_bindgen(js_name = readCsv, unchecked_return_type = "IngestReport")]
    pub fn read_csv(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string | Uint8Array")] text: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "CsvOptions")] options: Opt,
    ) -> JsResult<JsValue> {
        let bytes = match text.as_string() {
            Some(s) => s.into_bytes(),
            None => byte_array(&text, "text")
                .map_err(|_| invalid("text must be a string or a Uint8Array"))?,
        };
        let o = crate::convert::options::<CsvIn>(options, "options")?.options()?;
        let r = self.inner.read_csv(bytes.as_slice(), &o).js()?;
        Ok(Obj::new()
            .set("rowsRead", r.rows_read as f64)
            .set("kept", r.kept as f64)
            .set("dropped", r.dropped() as f64)
            .set("unparsable", r.unparsable as f64)
            .set(
                "unparsableLines",
                r.unparsable_lines
                    .iter()
                    .map(|&l| JsValue::from_f64(l as f64))
                    .collect::<Array>(),
            )
            .set("firstUnparsable", opt_str(r.first_unparsable.as_deref()))
            .set("missingCustomer", r.missing_customer as f64)
            .set("missingProduct", r.missing_product as f64)
            .set("cancelled", r.cancelled as f64)
            .set("nonPositiveQuantity", r.non_positive_quantity as f64)
            .set("nonPositivePrice", r.non_positive_price as f64)
            .set("nonProduct", r.non_product as f64)
            .set("duplicates", r.duplicates as f64)
            .build())
    }

    /// Records one purchase without touching the model (bulk loading before training).
    /// Returns `false` when it repeats a recorded line exactly.
    #[wasm_bindgen(js_name = recordPurchase)]
    pub fn record_purchase(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Purchase")] purchase: JsValue,
    ) -> JsResult<bool> {
        let p = object::<PurchaseIn>(purchase, "purchase")?.purchase("purchase")?;
        Ok(self.inner.record_purchase(&p).js()? == Recorded::Added)
    }

    /// Records many purchases in order; returns how many were new (exact repeats are skipped).
    /// A malformed element (wrong type, missing field, bad time) throws before anything is
    /// recorded; an invalid value (quantity ≤ 0, empty id, …) stops at that purchase with
    /// `InvalidArgument` (a bad quantity too), whose message names its index and the reason,
    /// and the ones before it stay recorded.
    #[wasm_bindgen(js_name = recordPurchases)]
    pub fn record_purchases(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Purchase[]")] purchases: JsValue,
    ) -> JsResult<usize> {
        let raw: Vec<PurchaseIn> = objects(purchases, "purchases")?;
        let list = raw
            .into_iter()
            .enumerate()
            .map(|(i, p)| p.purchase(&format!("purchases[{i}]")))
            .collect::<JsResult<Vec<_>>>()?;
        self.inner.record_purchases(&list).js()
    }

    /// Records a purchase and, with a trained model, folds the customer in again at once, so
    /// the next recommendation reflects it (new customers too). Returns `false` for an exact
    /// repeat.
    pub fn observe(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Purchase")] purchase: JsValue,
    ) -> JsResult<bool> {
        let p = object::<PurchaseIn>(purchase, "purchase")?.purchase("purchase")?;
        Ok(self.inner.observe(&p).js()? == Recorded::Added)
    }

    /// Adds or replaces a catalog entry.
    #[wasm_bindgen(js_name = upsertProduct)]
    pub fn upsert_product(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Product")] product: JsValue,
    ) -> JsResult<()> {
        let p: ProductIn = object(product, "product")?;
        self.inner
            .upsert_product(Product {
                name: p.name.unwrap_or_else(|| p.id.clone()),
                id: p.id,
                category: p.category,
                price: p.price,
                in_stock: p.in_stock.unwrap_or(true),
            })
            .js()
    }

    /// Adds or updates what the shop knows about a customer (first name, locale, channel).
    #[wasm_bindgen(js_name = upsertCustomer)]
    pub fn upsert_customer(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "CustomerInfo")] info: JsValue,
    ) -> JsResult<()> {
        let c: CustomerIn = object(info, "info")?;
        let channel = c.channel.as_deref().map(channel).transpose()?;
        self.inner
            .upsert_customer(CustomerInfo {
                id: c.id,
                first_name: c.first_name,
                locale: c.locale,
                channel,
            })
            .js()
    }

    /// A catalog entry (`UnknownProduct` for an unknown id).
    #[wasm_bindgen(unchecked_return_type = "Required<Product>")]
    pub fn product(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> JsResult<JsValue> {
        let id = &string(&id, "id")?;
        let catalog = self.inner.history().catalog();
        let i = catalog
            .index(id)
            .ok_or_else(|| to_js(&rapport::Error::UnknownProduct(id.to_owned())))?;
        let p = catalog.product(i);
        Ok(Obj::new()
            .set("id", p.id)
            .set("name", p.name)
            .set("category", opt_str(p.category.as_deref()))
            .set("price", opt_f64(p.price))
            .set("inStock", p.in_stock)
            .build())
    }

    /// Marks a product in or out of stock (`UnknownProduct` for an unknown id).
    #[wasm_bindgen(js_name = setInStock)]
    pub fn set_in_stock(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] product: JsValue,
        #[wasm_bindgen(js_name = "inStock", unchecked_param_type = "boolean")] in_stock: JsValue,
    ) -> JsResult<()> {
        let product = string(&product, "product")?;
        let in_stock = boolean_arg(&in_stock, "inStock")?;
        self.inner.set_in_stock(&product, in_stock).js()
    }

    /// Trains the model on the whole history (synchronously: keep models small in a page, or
    /// run this in a Worker), calling `onProgress` after each iteration. If `onProgress`
    /// throws, it is not called again and its exception is rethrown once training has
    /// finished; the new model is in place either way.
    #[wasm_bindgen(unchecked_return_type = "TrainReport")]
    pub fn train(
        &mut self,
        #[wasm_bindgen(
            js_name = "onProgress",
            unchecked_optional_param_type = "(progress: TrainProgress) => void"
        )]
        on_progress: Opt,
    ) -> JsResult<JsValue> {
        let callback = match on_progress {
            // `typeof`, not `instanceof`: the latter runs a Proxy's traps
            Some(v) if !v.is_undefined() && !v.is_null() => {
                if !v.is_function() {
                    return Err(invalid("onProgress must be a function"));
                }
                Some(v.unchecked_into::<js_sys::Function>())
            }
            _ => None,
        };
        let mut thrown: Option<JsValue> = None;
        let mut report = |p: &rapport::als::Progress| {
            let Some(f) = callback.as_ref().filter(|_| thrown.is_none()) else {
                return;
            };
            let progress = Obj::new()
                .set("iteration", p.iteration as f64)
                .set("iterations", p.iterations as f64)
                .set("loss", p.loss)
                .set("elapsedMs", p.elapsed.as_secs_f64() * 1000.0)
                .build();
            if let Err(e) = f.call1(&JsValue::UNDEFINED, &progress) {
                thrown = Some(e);
            }
        };
        let r = self.inner.train_with(Some(&mut report)).js()?;
        if let Some(e) = thrown {
            return Err(e);
        }
        Ok(Obj::new()
            .set("customers", r.customers as f64)
            .set("products", r.products as f64)
            .set("interactions", r.interactions as f64)
            .set("losses", Float64Array::from(r.losses.as_slice()))
            .build())
    }

    /// Folds a customer in again from their current history (after bulk `recordPurchase`).
    #[wasm_bindgen(js_name = refreshCustomer)]
    pub fn refresh_customer(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] customer: JsValue,
    ) -> JsResult<()> {
        let customer = string(&customer, "customer")?;
        self.inner.refresh_customer(&customer).js()
    }

    /// Top products for a customer, with scores and reasons. Unknown customers and customers
    /// without purchases get the popularity fallback (`fallback: true`). Throws `NotTrained`
    /// before training.
    #[wasm_bindgen(unchecked_return_type = "Recommendations")]
    pub fn recommend(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] customer: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RecommendOptions")] options: Opt,
    ) -> JsResult<JsValue> {
        let customer = string(&customer, "customer")?;
        let o = crate::convert::options::<RecommendIn>(options, "options")?.options()?;
        let r = self.inner.recommend(&customer, &o).js()?;
        let scores: Vec<f32> = r.items.iter().map(|i| i.score).collect();
        let because: Array = r
            .items
            .iter()
            .map(|i| match &i.reason {
                Reason::BecauseYouBought { product, .. } => JsValue::from_str(product),
                _ => JsValue::NULL,
            })
            .collect();
        Ok(Obj::new()
            .set("customer", r.customer.as_str())
            .set("fallback", r.fallback)
            .set("products", strings(r.items.iter().map(|i| &i.product)))
            .set("names", strings(r.items.iter().map(|i| &i.name)))
            .set("scores", Float32Array::from(scores.as_slice()))
            .set(
                "reasons",
                strings(r.items.iter().map(|i| i.reason.to_string())),
            )
            .set("because", because)
            .build())
    }

    /// Up to `k` (default 10) products whose vectors point the same way as `product`'s,
    /// best first, without the product itself.
    #[wasm_bindgen(unchecked_return_type = "SimilarProducts")]
    pub fn similar(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] product: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number | null")] k: Opt,
    ) -> JsResult<JsValue> {
        let product = string(&product, "product")?;
        let k = match k {
            Some(k) if !k.is_undefined() && !k.is_null() => count_arg(&k, "k")?,
            _ => 10,
        };
        let s = self.inner.similar(&product, k).js()?;
        let sims: Vec<f32> = s.iter().map(|p| p.similarity).collect();
        Ok(Obj::new()
            .set("product", product.as_str())
            .set("products", strings(s.iter().map(|p| &p.product)))
            .set("names", strings(s.iter().map(|p| &p.name)))
            .set("similarities", Float32Array::from(sims.as_slice()))
            .build())
    }

    /// A customer's profile as of `at` (default: now; later purchases are ignored). Computes
    /// the whole base's profiles (RFM quintiles and the customer-value models need them).
    #[wasm_bindgen(unchecked_return_type = "Profile")]
    pub fn profile(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] customer: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Time")] at: Opt,
    ) -> JsResult<JsValue> {
        let customer = &string(&customer, "customer")?;
        let at = timestamp_or_now(at, "at")?;
        let unknown = || to_js(&rapport::Error::UnknownCustomer(customer.to_owned()));
        if self.inner.history().customers().get(customer).is_none() {
            return Err(unknown());
        }
        let profiles = self.inner.profiles(at).js()?;
        let p = profiles.by_id(customer).ok_or_else(unknown)?;
        let catalog = self.inner.history().catalog();
        let favourite_products: Array = p
            .favourite_products
            .iter()
            .filter(|&&(i, _)| (i as usize) < catalog.len())
            .map(|&(i, w)| {
                Obj::new()
                    .set("product", catalog.id(i))
                    .set("name", catalog.name(i))
                    .set("weight", w)
                    .build()
            })
            .collect();
        let favourite_categories: Array = p
            .favourite_categories
            .iter()
            .filter(|&&(c, _)| (c as usize) < catalog.category_count())
            .map(|&(c, w)| {
                Obj::new()
                    .set("category", catalog.category_name(c))
                    .set("weight", w)
                    .build()
            })
            .collect();
        Ok(Obj::new()
            .set("id", p.id.as_str())
            .set("orders", p.orders)
            .set("units", p.units)
            .set("totalSpend", p.total_spend)
            .set("averageOrderValue", p.average_order_value)
            .set("firstPurchase", opt_date(p.first_purchase))
            .set("lastPurchase", opt_date(p.last_purchase))
            .set("daysSinceLastPurchase", opt_f64(p.days_since_last_purchase))
            .set(
                "medianDaysBetweenOrders",
                opt_f64(p.median_days_between_orders),
            )
            .set("expectedNextPurchase", opt_date(p.expected_next_purchase))
            .set(
                "rfm",
                Obj::new()
                    .set("recency", p.rfm.recency)
                    .set("frequency", p.rfm.frequency)
                    .set("monetary", p.rfm.monetary)
                    .build(),
            )
            .set("segment", p.segment.as_str())
            .set("churnRisk", p.churn_risk)
            .set("probNoPurchase12m", p.prob_no_purchase_12m)
            .set("expectedOrders12m", p.expected_orders_12m)
            .set("expectedValue12m", p.expected_value_12m)
            .set("favouriteProducts", favourite_products)
            .set("favouriteCategories", favourite_categories)
            .build())
    }

    /// Registers the shipped English greeting set; returns how many variants it holds.
    #[wasm_bindgen(js_name = loadDefaultGreetings)]
    pub fn load_default_greetings(&mut self) -> JsResult<usize> {
        self.inner.load_default_greetings().js()
    }

    /// Registers greeting variants, all or none: a JSON string or an array of objects with the
    /// fields of `data/greetings_en.json` (`id`, `template`, `kind`, `audience`, `channels`,
    /// `featured_products`, …). Returns how many were registered.
    #[wasm_bindgen(js_name = addGreetingVariants)]
    pub fn add_greeting_variants(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string | object[]")] variants: JsValue,
    ) -> JsResult<usize> {
        let not_a_list = || invalid("variants must be a JSON string or an array of objects");
        let json = match variants.as_string() {
            Some(s) => s,
            None => {
                let variants = snapshot(&variants, "variants")?;
                if !Array::is_array(&variants) {
                    return Err(not_a_list());
                }
                js_sys::JSON::stringify(&variants)
                    .ok()
                    .and_then(|s| s.as_string())
                    .ok_or_else(not_a_list)?
            }
        };
        self.inner.add_greeting_variants_json(&json).js()
    }

    /// The greeting settings in force.
    #[wasm_bindgen(js_name = greetingSettings, unchecked_return_type = "Required<GreetingSettings>")]
    pub fn greeting_settings(&self) -> JsValue {
        let c = self.inner.greetings().config();
        Obj::new()
            .set("defaultLocale", c.default_locale.as_str())
            .set("shopName", opt_str(c.shop_name.as_deref()))
            .set("runnersUp", c.runners_up as f64)
            .set("postPurchaseDays", c.post_purchase_days)
            .set("replenishMinPurchases", c.replenish_min_purchases)
            .set("learnMinImpressions", c.learn_min_impressions)
            .set("learnMinClicks", c.learn_min_clicks)
            .set("clickAlpha", c.click_alpha)
            .set("conversionWeight", c.conversion_weight)
            .set("engagementRegularization", c.engagement_regularization)
            .set("customerAnchor", c.customer_anchor)
            .set("smsMaxChars", c.sms_max_chars as f64)
            .set("appMaxChars", c.app_max_chars as f64)
            .build()
    }

    /// Changes the greeting settings given (the rest stay); all or nothing: out-of-range values
    /// throw `InvalidConfig` and change nothing.
    #[wasm_bindgen(js_name = setGreetingSettings)]
    pub fn set_greeting_settings(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "GreetingSettings")] settings: JsValue,
    ) -> JsResult<()> {
        let s: SettingsIn = object(settings, "settings")?;
        let mut c = self.inner.greetings().config().clone();
        // whole numbers ≤ u32::MAX (`count`), so the `u32` fields take them as they are
        let whole = |v: Option<f64>, what: &str| v.map(|v| count(v, what)).transpose();
        if let Some(l) = s.default_locale {
            c.default_locale = l;
        }
        if s.shop_name.is_null() {
            c.shop_name = None;
        } else if !s.shop_name.is_undefined() {
            c.shop_name = Some(s.shop_name.as_string().ok_or_else(|| {
                invalid(format!(
                    "settings.shopName must be a string or null, got {}",
                    kind_of(&s.shop_name)
                ))
            })?);
        }
        if let Some(n) = whole(s.runners_up, "settings.runnersUp")? {
            c.runners_up = n;
        }
        if let Some(d) = s.post_purchase_days {
            c.post_purchase_days = d;
        }
        for (v, what, into) in [
            (
                s.replenish_min_purchases,
                "settings.replenishMinPurchases",
                &mut c.replenish_min_purchases,
            ),
            (
                s.learn_min_impressions,
                "settings.learnMinImpressions",
                &mut c.learn_min_impressions,
            ),
            (
                s.learn_min_clicks,
                "settings.learnMinClicks",
                &mut c.learn_min_clicks,
            ),
        ] {
            if let Some(n) = whole(v, what)? {
                *into = n as u32;
            }
        }
        for (v, what, into) in [
            (s.click_alpha, "settings.clickAlpha", &mut c.click_alpha),
            (
                s.conversion_weight,
                "settings.conversionWeight",
                &mut c.conversion_weight,
            ),
            (
                s.engagement_regularization,
                "settings.engagementRegularization",
                &mut c.engagement_regularization,
            ),
            (
                s.customer_anchor,
                "settings.customerAnchor",
                &mut c.customer_anchor,
            ),
        ] {
            if let Some(v) = v {
                *into = single(v, what)?;
            }
        }
        if let Some(n) = whole(s.sms_max_chars, "settings.smsMaxChars")? {
            c.sms_max_chars = n;
        }
        if let Some(n) = whole(s.app_max_chars, "settings.appMaxChars")? {
            c.app_max_chars = n;
        }
        self.inner.set_greeting_config(c).js()
    }

    /// The co-purchase re-rank setting in force (saved with the engine).
    #[wasm_bindgen(unchecked_return_type = "Required<Blend>")]
    pub fn blend(&self) -> JsValue {
        blend_js(self.inner.blend())
    }

    /// The validated co-purchase setting (weight 0.2, 50 neighbours, pool 50), for `setBlend`.
    #[wasm_bindgen(js_name = coPurchaseBlend, unchecked_return_type = "Required<Blend>")]
    pub fn co_purchase_blend() -> JsValue {
        blend_js(&Blend::CO_PURCHASE)
    }

    /// Changes the re-rank settings given (the rest stay); all or nothing: out-of-range values
    /// throw `InvalidConfig` and change nothing. Applies at once to a trained model.
    #[wasm_bindgen(js_name = setBlend)]
    pub fn set_blend(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Blend")] settings: JsValue,
    ) -> JsResult<()> {
        let s: BlendIn = object(settings, "settings")?;
        let mut b = *self.inner.blend();
        if let Some(w) = s.weight {
            b.weight = single(w, "settings.weight")?;
        }
        if let Some(n) = s.neighbours {
            b.neighbours = count(n, "settings.neighbours")?;
        }
        if let Some(n) = s.pool {
            b.pool = count(n, "settings.pool")?;
        }
        self.inner.set_blend(b).js()
    }

    /// Removes a greeting variant; `false` when the id is unknown.
    #[wasm_bindgen(js_name = removeGreetingVariant)]
    pub fn remove_greeting_variant(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> JsResult<bool> {
        Ok(self.inner.remove_greeting_variant(&string(&id, "id")?))
    }

    /// Recomputes the greeting caches as of `at` (default: now). Call after training and after
    /// bulk loading.
    #[wasm_bindgen(js_name = refreshGreetings)]
    pub fn refresh_greetings(
        &mut self,
        #[wasm_bindgen(unchecked_optional_param_type = "Time")] at: Opt,
    ) -> JsResult<()> {
        let at = timestamp_or_now(at, "at")?;
        self.inner.refresh_greetings(at).js()
    }

    /// The greeting for `customer` on `channel` at `at` (default: now), with up to `runnersUp`
    /// (a greeting setting) ranked runners-up. Unknown customers get a generic greeting
    /// (`generic: true`).
    #[wasm_bindgen(unchecked_return_type = "Greeting")]
    pub fn greet(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] customer: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Channel")] channel: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Time")] at: Opt,
    ) -> JsResult<JsValue> {
        let customer = string(&customer, "customer")?;
        let ch = self::channel(&string(&channel, "channel")?)?;
        let at = timestamp_or_now(at, "at")?;
        let g = self.inner.greet(&customer, ch, at).js()?;
        let runners: Array = g.runners_up.iter().map(runner_up).collect();
        Ok(Obj::new()
            .set("customer", g.customer.as_str())
            .set("channel", g.channel.as_str())
            .set("variant", g.variant.as_str())
            .set("text", g.text.as_str())
            .set("score", g.score)
            .set("products", strings(&g.products))
            .set("why", why(&g.why))
            .set("runnersUp", runners)
            .set("generic", g.generic)
            .set("locale", g.locale.as_str())
            .build())
    }

    /// Records that `customer` saw, clicked or bought after greeting `variant`.
    #[wasm_bindgen(js_name = recordEngagement)]
    pub fn record_engagement(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] customer: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] variant: JsValue,
        #[wasm_bindgen(unchecked_param_type = "EngagementEvent")] event: JsValue,
    ) -> JsResult<()> {
        let (customer, variant) = (string(&customer, "customer")?, string(&variant, "variant")?);
        let e = match string(&event, "event")?.as_str() {
            "impression" => Engagement::Impression,
            "click" => Engagement::Click,
            "conversion" => Engagement::Conversion,
            other => {
                return Err(invalid(format!(
                    "unknown engagement event {other:?} (use \"impression\", \"click\" or \"conversion\")"
                )));
            }
        };
        self.inner.record_engagement(&customer, &variant, e).js()
    }

    /// NPS, CSAT and CES over the answers inside the window, and retention and churn per
    /// month or quarter (see `FeedbackReportOptions`).
    #[wasm_bindgen(js_name = feedbackReport, unchecked_return_type = "FeedbackReport")]
    pub fn feedback_report(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "FeedbackReportOptions")] options: Opt,
    ) -> JsResult<JsValue> {
        let o: ReportIn = crate::convert::options(options, "options")?;
        let period = match o.period.as_deref() {
            None | Some("month") => Period::Month,
            Some("quarter") => Period::Quarter,
            Some(other) => {
                return Err(invalid(format!(
                    "options.period: unknown period {other:?} (use \"month\" or \"quarter\")"
                )));
            }
        };
        let bound = |v: &JsValue, what: &str| -> JsResult<Option<Timestamp>> {
            if v.is_undefined() || v.is_null() {
                Ok(None)
            } else {
                timestamp(v, what).map(Some)
            }
        };
        let (from, to) = (bound(&o.from, "options.from")?, bound(&o.to, "options.to")?);
        let window = match (from, to) {
            (None, None) => None,
            (f, t) => Some((
                f.unwrap_or(Timestamp(i64::MIN)),
                t.unwrap_or(Timestamp(i64::MAX)),
            )),
        };
        let r = self.inner.feedback_report(period, window).js()?;
        let retention: Array = r
            .retention
            .iter()
            .map(|p| {
                Obj::new()
                    .set("period", p.period.as_str())
                    // never null: the core puts times beyond its calendar (about ±262 000
                    // years) in the calendar's first or last period, well inside a `Date`'s range
                    .set("start", date(p.start))
                    .set("active", p.active as f64)
                    .set("retained", p.retained as f64)
                    .set("retentionRate", p.retention_rate)
                    .set("churnRate", p.churn_rate)
                    .build()
            })
            .collect();
        Ok(Obj::new()
            .set("nps", opt_f64(r.nps))
            .set("promoters", r.promoters as f64)
            .set("passives", r.passives as f64)
            .set("detractors", r.detractors as f64)
            .set("csat", opt_f64(r.csat))
            .set("csatResponses", r.csat_responses as f64)
            .set("ces", opt_f64(r.ces))
            .set("cesResponses", r.ces_responses as f64)
            .set("retention", retention)
            .build())
    }

    /// Records a survey answer (NPS 0–10, CSAT 1–5, CES 1–7) at `at` (default: now). A poor
    /// answer switches the customer's greetings to service recovery. A safe integer
    /// (`Number.isSafeInteger`) outside the scale is `ScoreOutOfRange`; any other number is
    /// `InvalidArgument`.
    #[wasm_bindgen(js_name = recordFeedback)]
    pub fn record_feedback(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] customer: JsValue,
        #[wasm_bindgen(unchecked_param_type = "SurveyKind")] kind: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] value: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Time")] at: Opt,
    ) -> JsResult<()> {
        let value = number_arg(&value, "value")?;
        // `Number.isSafeInteger`: exact as an `i64`, and printed alike by Rust and JS
        if !(value.fract() == 0.0 && value.abs() <= MAX_SAFE_INTEGER) {
            return Err(invalid(format!(
                "value must be a safe integer (a whole number up to ±(2^53 − 1)), got {}",
                crate::convert::number(value)
            )));
        }
        let customer = string(&customer, "customer")?;
        let scale: fn(u8) -> Score = match string(&kind, "kind")?.to_ascii_lowercase().as_str() {
            "nps" => Score::Nps,
            "csat" => Score::Csat,
            "ces" => Score::Ces,
            other => {
                return Err(invalid(format!(
                    "unknown survey kind {other:?} (use \"nps\", \"csat\" or \"ces\")"
                )));
            }
        };
        let at = timestamp_or_now(at, "at")?;
        let score = Score::on_scale(scale, value as i64).js()?;
        self.inner.record_feedback(&customer, score, at).js()
    }
}
