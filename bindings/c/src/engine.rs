//! The engine handle and every call on it.

use crate::boundary::{
    FfiError, FfiResult, boundary, opt_str_arg, rapport_status, str_arg, str_array_arg,
    write_opt_out, write_out,
};
use crate::results::{
    rapport_bytes, rapport_feedback_report, rapport_greeting, rapport_profile,
    rapport_recommendation_batch, rapport_recommendations, rapport_similar,
};
use rapport_core::als::AlsConfig;
use rapport_core::greeting::{Engagement, GreetingConfig};
use rapport_core::neighbours::Blend;
use rapport_core::{
    Channel, CustomerInfo, Engine, EngineConfig, IngestOptions, Period, Product, Purchase,
    RecommendOptions, Recorded, Score, Timestamp,
};
use std::ffi::{c_char, c_int};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// An engine: purchase history, catalog and trained model. Opaque; create it with
/// `rapport_engine_new`, `rapport_engine_load` or `rapport_engine_from_bytes` and release it
/// with `rapport_engine_free`.
///
/// Threading: a handle may be used from several threads at once. Reads (`recommend`,
/// `recommend_batch`, `similar`, `profile`, `greet`, `greeting_settings`, `blend`,
/// `feedback_report`, `is_trained`, `save`, `to_bytes`) run concurrently; writes
/// (`record_purchase`, `upsert_*`, `set_in_stock`, `read_csv_path`, `train`, `observe`,
/// `set_blend`, `load_default_greetings`,
/// `add_greeting_variants_json`, `refresh_greetings`, `set_greeting_*`, `record_engagement`,
/// `record_feedback`) take an internal exclusive lock
/// and wait for running reads. Only `rapport_engine_free` needs the caller's own
/// synchronisation: no other call on the handle may run or start during or after it.
pub struct rapport_engine {
    inner: RwLock<Engine>,
}

impl rapport_engine {
    fn boxed(engine: Engine) -> *mut rapport_engine {
        Box::into_raw(Box::new(rapport_engine {
            inner: RwLock::new(engine),
        }))
    }
}

const POISONED: &str = "the engine is unusable: an earlier call on it panicked while writing";

/// Borrows the engine for reading.
///
/// # Safety
/// `engine` is NULL or a live pointer from this library.
unsafe fn read<'a>(engine: *const rapport_engine) -> FfiResult<RwLockReadGuard<'a, Engine>> {
    // SAFETY: NULL or a live handle by the caller's contract.
    let e = unsafe { engine.as_ref() }.ok_or_else(|| FfiError::null("engine"))?;
    e.inner
        .read()
        .map_err(|_| FfiError::new(rapport_status::Panic, POISONED))
}

/// Borrows the engine for writing.
///
/// # Safety
/// As [`read`].
unsafe fn write<'a>(engine: *const rapport_engine) -> FfiResult<RwLockWriteGuard<'a, Engine>> {
    // SAFETY: NULL or a live handle by the caller's contract.
    let e = unsafe { engine.as_ref() }.ok_or_else(|| FfiError::null("engine"))?;
    e.inner
        .write()
        .map_err(|_| FfiError::new(rapport_status::Panic, POISONED))
}

/// Sets `*out` to NULL first, so that a failed call never leaves a stale pointer behind.
///
/// # Safety
/// `out` is NULL or valid for a write.
unsafe fn clear_out<T>(out: *mut *mut T) -> FfiResult {
    // SAFETY: forwarded contract.
    unsafe { write_out(out, std::ptr::null_mut(), "out") }
}

/// Engine settings for `rapport_engine_new`. Caller-owned plain data: fill it with
/// `rapport_config_default` and change the fields you need. Values are checked when training
/// (`RAPPORT_STATUS_INVALID_CONFIG`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rapport_config {
    /// Length of each factor vector (1 to 4096).
    pub factors: usize,
    /// Training sweeps (≥ 1).
    pub iterations: usize,
    /// Regularization strength (finite, ≥ 0).
    pub regularization: f32,
    /// Confidence slope alpha (finite, ≥ 0).
    pub alpha: f32,
    /// Worker threads of the factor training in `rapport_engine_train`: 0 runs it on the
    /// process-wide worker pool, any other value on a pool of that many threads started for
    /// the call. Nothing else uses this setting: batch scoring (`rapport_engine_recommend_batch`)
    /// and building the co-purchase neighbour table of the re-rank always run on the
    /// process-wide pool, which has one thread per available CPU unless the process configures
    /// rayon's global pool (for example with the `RAYON_NUM_THREADS` environment variable).
    pub threads: usize,
    /// Seed of the random initial factors.
    pub seed: u64,
    /// Days before the latest purchase over which the popularity fallback counts buyers (≥ 0;
    /// `rapport_engine_train` gives `RAPPORT_STATUS_INVALID_CONFIG` for NaN or negative days).
    pub popularity_window_days: f64,
}

impl From<rapport_config> for EngineConfig {
    fn from(c: rapport_config) -> Self {
        EngineConfig {
            als: AlsConfig {
                factors: c.factors,
                iterations: c.iterations,
                regularization: c.regularization,
                alpha: c.alpha,
                threads: c.threads,
                seed: c.seed,
                ..AlsConfig::default()
            },
            popularity_window_days: c.popularity_window_days,
        }
    }
}

/// Fills `*out` with the library's default settings.
///
/// # Safety
/// `out` is NULL (`RAPPORT_STATUS_NULL_ARGUMENT`) or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_config_default(out: *mut rapport_config) -> rapport_status {
    boundary(|| {
        let d = EngineConfig::default();
        let c = rapport_config {
            factors: d.als.factors,
            iterations: d.als.iterations,
            regularization: d.als.regularization,
            alpha: d.als.alpha,
            threads: d.als.threads,
            seed: d.als.seed,
            popularity_window_days: d.popularity_window_days,
        };
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { write_out(out, c, "out") }
    })
}

/// Creates an empty engine.
///
/// * `config`: borrowed for the call; NULL uses the defaults.
/// * `out`: receives a new engine owned by the caller (free it with `rapport_engine_free`), or
///   NULL on failure.
///
/// # Safety
/// `config` is NULL or points to a readable `rapport_config`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_new(
    config: *const rapport_config,
    out: *mut *mut rapport_engine,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { clear_out(out)? };
        // SAFETY: NULL or a readable config by the caller's contract.
        let config = unsafe { config.as_ref() }
            .map(|c| EngineConfig::from(*c))
            .unwrap_or_default();
        // SAFETY: checked non-NULL and writable just above.
        unsafe { out.write(rapport_engine::boxed(Engine::new(config))) };
        Ok(())
    })
}

/// Releases an engine. NULL is a no-op. The handle must not be used afterwards, and no other
/// call on it may be running.
///
/// # Safety
/// `engine` is NULL or a pointer from this library not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_free(engine: *mut rapport_engine) {
    let _ = boundary(|| {
        if !engine.is_null() {
            // SAFETY: a pointer from `Box::into_raw` that the caller gives back exactly once.
            drop(unsafe { Box::from_raw(engine) });
        }
        Ok(())
    });
}

/// What `rapport_engine_read_csv_path` did with each row (caller-owned plain data). Every data
/// row is counted once: `rows_read == kept + dropped`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rapport_ingest_report {
    /// Data rows (header excluded).
    pub rows_read: u64,
    /// Rows recorded as purchases.
    pub kept: u64,
    /// Rows dropped for any reason (the sum of the counts below).
    pub dropped: u64,
    /// Rows with a field that could not be parsed.
    pub unparsable: u64,
    /// Rows without a customer id.
    pub missing_customer: u64,
    /// Rows without a product id.
    pub missing_product: u64,
    /// Cancelled invoices.
    pub cancelled: u64,
    /// Rows with quantity ≤ 0.
    pub non_positive_quantity: u64,
    /// Rows with price ≤ 0.
    pub non_positive_price: u64,
    /// Postage, fees and other non-product codes.
    pub non_product: u64,
    /// Exact repeats of an earlier row.
    pub duplicates: u64,
}

/// Reads a purchase log in the Online Retail layout (`InvoiceNo, StockCode, Description,
/// Quantity, InvoiceDate, UnitPrice, CustomerID`) into the history, leniently: cancellations,
/// non-product codes, zero prices and unreadable rows are dropped and counted. A write.
///
/// * `path`: borrowed NUL-terminated UTF-8 path.
/// * `report`: optional (NULL ignores it); receives the counts.
///
/// # Safety
/// `engine` is NULL or live; `path` is NULL or a NUL-terminated string; `report` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_read_csv_path(
    engine: *mut rapport_engine,
    path: *const c_char,
    report: *mut rapport_ingest_report,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or a NUL-terminated string by the caller's contract.
        let path = unsafe { str_arg(path, "path")? };
        // SAFETY: NULL or a live handle by the caller's contract.
        let mut e = unsafe { write(engine)? };
        let r = e.read_csv_path(path, &IngestOptions::online_retail())?;
        let out = rapport_ingest_report {
            rows_read: r.rows_read,
            kept: r.kept,
            dropped: r.dropped(),
            unparsable: r.unparsable,
            missing_customer: r.missing_customer,
            missing_product: r.missing_product,
            cancelled: r.cancelled,
            non_positive_quantity: r.non_positive_quantity,
            non_positive_price: r.non_positive_price,
            non_product: r.non_product,
            duplicates: r.duplicates,
        };
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { write_opt_out(report, out) };
        Ok(())
    })
}

/// Builds a purchase from C arguments.
///
/// # Safety
/// The string pointers follow [`str_arg`]'s contract.
unsafe fn purchase(
    customer: *const c_char,
    product: *const c_char,
    timestamp: i64,
    quantity: f64,
    unit_price: f64,
    order: *const c_char,
) -> FfiResult<Purchase> {
    // SAFETY: forwarded contract.
    let (customer, product, order) = unsafe {
        (
            str_arg(customer, "customer")?,
            str_arg(product, "product")?,
            opt_str_arg(order, "order")?,
        )
    };
    Ok(Purchase {
        customer: customer.to_owned(),
        product: product.to_owned(),
        timestamp: Timestamp(timestamp),
        quantity,
        unit_price,
        order: order.map(str::to_owned),
    })
}

/// Records one purchase line without touching the model (bulk loading before training). A write.
///
/// * `customer`, `product`: required, non-empty ids (borrowed; an empty one gives
///   `RAPPORT_STATUS_INVALID_ARGUMENT`).
/// * `timestamp`: Unix seconds.
/// * `quantity`: finite and > 0. `unit_price`: finite and ≥ 0. Their product, the line's
///   amount, must be finite too. Anything else (NaN, ±∞, a quantity of 0 or less, a negative
///   price, an amount that overflows) gives `RAPPORT_STATUS_INVALID_WEIGHT`.
/// * `order`: optional order id. NULL or empty: the lines of one customer at one timestamp
///   form one order, whose id reads `<customer>@<timestamp>` (`c1@1700000000`; an explicit
///   order id written that way is a different order).
/// * `added`: optional; receives `false` when the line repeats one already recorded (same
///   customer, product, order, timestamp, quantity and unit price), which is not stored again.
///
/// Nothing is recorded when the call fails.
///
/// # Safety
/// Pointers are NULL or valid as described; strings NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_record_purchase(
    engine: *mut rapport_engine,
    customer: *const c_char,
    product: *const c_char,
    timestamp: i64,
    quantity: f64,
    unit_price: f64,
    order: *const c_char,
    added: *mut bool,
) -> rapport_status {
    boundary(|| {
        // SAFETY: string arguments are NULL or NUL-terminated by the caller's contract.
        let p = unsafe { purchase(customer, product, timestamp, quantity, unit_price, order)? };
        // SAFETY: NULL or a live handle by the caller's contract.
        let r = unsafe { write(engine)? }.record_purchase(&p)?;
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { write_opt_out(added, r == Recorded::Added) };
        Ok(())
    })
}

/// Records a purchase and, when a model is trained, folds the customer's vector in again from
/// their whole history so the next recommendation reflects it without retraining (works for new
/// customers too). Only products the model was trained on enter the fold-in: a product first
/// seen after training reaches the model at the next `rapport_engine_train`, and a customer
/// whose purchases are all such products still gets the popularity fallback. Before training
/// it only records. A write.
///
/// Arguments and their errors as `rapport_engine_record_purchase` (a refused line records
/// nothing). Should the fold-in itself fail, the purchase stays recorded and the fold-in's
/// error is returned.
///
/// # Safety
/// As `rapport_engine_record_purchase`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_observe(
    engine: *mut rapport_engine,
    customer: *const c_char,
    product: *const c_char,
    timestamp: i64,
    quantity: f64,
    unit_price: f64,
    order: *const c_char,
    added: *mut bool,
) -> rapport_status {
    boundary(|| {
        // SAFETY: string arguments are NULL or NUL-terminated by the caller's contract.
        let p = unsafe { purchase(customer, product, timestamp, quantity, unit_price, order)? };
        // SAFETY: NULL or a live handle by the caller's contract.
        let r = unsafe { write(engine)? }.observe(&p)?;
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { write_opt_out(added, r == Recorded::Added) };
        Ok(())
    })
}

/// Folds a customer's vector in again from their whole current history, after purchases
/// recorded with `rapport_engine_record_purchase` (bulk loads) rather than
/// `rapport_engine_observe`, so their recommendations reflect them without retraining. Only
/// products the model was trained on enter the fold-in. A write.
///
/// Errors: `RAPPORT_STATUS_NOT_TRAINED` before training; `RAPPORT_STATUS_UNKNOWN_CUSTOMER` for
/// an id the engine has never seen.
///
/// # Safety
/// `engine` is NULL or live; `customer` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_refresh_customer(
    engine: *mut rapport_engine,
    customer: *const c_char,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or NUL-terminated by the caller's contract.
        let customer = unsafe { str_arg(customer, "customer")? };
        // SAFETY: NULL or a live handle by the caller's contract.
        unsafe { write(engine)? }.refresh_customer(customer)?;
        Ok(())
    })
}

/// Adds or replaces a catalog entry. A write.
///
/// * `id`: required product id.
/// * `name`: display name; NULL uses the id.
/// * `category`: optional (NULL or empty: none).
/// * `price`: finite and ≥ 0, or NaN for "unknown".
///
/// # Safety
/// Pointers are NULL or valid; strings NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_upsert_product(
    engine: *mut rapport_engine,
    id: *const c_char,
    name: *const c_char,
    category: *const c_char,
    price: f64,
    in_stock: bool,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or NUL-terminated strings by the caller's contract.
        let (id, name, category) = unsafe {
            (
                str_arg(id, "id")?,
                opt_str_arg(name, "name")?,
                opt_str_arg(category, "category")?,
            )
        };
        let product = Product {
            id: id.to_owned(),
            name: name.unwrap_or(id).to_owned(),
            category: category.map(str::to_owned),
            price: (!price.is_nan()).then_some(price),
            in_stock,
        };
        // SAFETY: NULL or a live handle by the caller's contract.
        unsafe { write(engine)? }.upsert_product(product)?;
        Ok(())
    })
}

/// Where a customer is reached (`rapport_engine_upsert_customer`) and the channel a greeting
/// is rendered for (`rapport_engine_greet`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rapport_channel {
    /// No preference recorded.
    Unspecified = 0,
    /// The shop's web site.
    Web = 1,
    /// E-mail.
    Email = 2,
    /// Text message.
    Sms = 3,
    /// The shop's mobile app.
    App = 4,
    /// A physical shop.
    InStore = 5,
}

/// A `rapport_channel` argument: `None` for `RAPPORT_CHANNEL_UNSPECIFIED`, an error for a
/// value that is not a `rapport_channel`.
fn channel_arg(channel: c_int) -> FfiResult<Option<Channel>> {
    match channel {
        0 => Ok(None),
        1..=5 => Ok(Channel::ALL.get(channel as usize - 1).copied()),
        other => Err(FfiError::new(
            rapport_status::InvalidArgument,
            format!("channel {other} is not a rapport_channel value"),
        )),
    }
}

/// Adds or updates what the shop knows about a customer besides purchases. A write.
///
/// * `id`: required customer id.
/// * `first_name`, `locale`: optional (NULL: unknown).
/// * `channel`: a `rapport_channel` value (`RAPPORT_CHANNEL_UNSPECIFIED` for none); other
///   values give `RAPPORT_STATUS_INVALID_ARGUMENT`.
///
/// # Safety
/// Pointers are NULL or valid; strings NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_upsert_customer(
    engine: *mut rapport_engine,
    id: *const c_char,
    first_name: *const c_char,
    locale: *const c_char,
    channel: c_int,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or NUL-terminated strings by the caller's contract.
        let (id, first_name, locale) = unsafe {
            (
                str_arg(id, "id")?,
                opt_str_arg(first_name, "first_name")?,
                opt_str_arg(locale, "locale")?,
            )
        };
        let channel = channel_arg(channel)?;
        let info = CustomerInfo {
            id: id.to_owned(),
            first_name: first_name.map(str::to_owned),
            locale: locale.map(str::to_owned),
            channel,
        };
        // SAFETY: NULL or a live handle by the caller's contract.
        unsafe { write(engine)? }.upsert_customer(info)?;
        Ok(())
    })
}

/// Marks a product in or out of stock (`RAPPORT_STATUS_UNKNOWN_PRODUCT` for an unknown id).
/// A write.
///
/// # Safety
/// `engine` is NULL or live; `product` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_set_in_stock(
    engine: *mut rapport_engine,
    product: *const c_char,
    in_stock: bool,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or NUL-terminated by the caller's contract.
        let product = unsafe { str_arg(product, "product")? };
        // SAFETY: NULL or a live handle by the caller's contract.
        unsafe { write(engine)? }.set_in_stock(product, in_stock)?;
        Ok(())
    })
}

/// A summary of one training run (caller-owned plain data).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rapport_train_report {
    /// Customers (rows) in the model.
    pub customers: usize,
    /// Products (columns) in the model.
    pub products: usize,
    /// Customer–product pairs trained on.
    pub interactions: usize,
    /// Loss after the last iteration.
    pub final_loss: f64,
}

/// Called after each training iteration with the 1-based iteration, the total and the loss,
/// plus the caller's `user_data`. It runs on the training thread, inside the engine's write
/// lock: it must not call back into the same engine.
#[allow(non_camel_case_types)]
pub type rapport_progress_fn = Option<
    unsafe extern "C" fn(
        iteration: usize,
        iterations: usize,
        loss: f64,
        user_data: *mut std::ffi::c_void,
    ),
>;

/// Trains the model on the whole history (`RAPPORT_STATUS_EMPTY` without purchases,
/// `RAPPORT_STATUS_INVALID_CONFIG` for bad settings). A write.
///
/// * `progress`: optional callback (NULL: none), `user_data` is passed to it untouched.
/// * `report`: optional (NULL ignores it).
///
/// # Safety
/// `engine` is NULL or live; `report` is NULL or writable; `progress`, when given, is safe to
/// call with `user_data`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_train(
    engine: *mut rapport_engine,
    progress: rapport_progress_fn,
    user_data: *mut std::ffi::c_void,
    report: *mut rapport_train_report,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or a live handle by the caller's contract.
        let mut e = unsafe { write(engine)? };
        let mut last = f64::NAN;
        let mut cb = |p: &rapport_core::als::Progress| {
            last = p.loss;
            if let Some(f) = progress {
                // SAFETY: the caller vouches that `progress` may be called with `user_data`.
                unsafe { f(p.iteration, p.iterations, p.loss, user_data) };
            }
        };
        let r = e.train_with(Some(&mut cb))?;
        let out = rapport_train_report {
            customers: r.customers,
            products: r.products,
            interactions: r.interactions,
            final_loss: last,
        };
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { write_opt_out(report, out) };
        Ok(())
    })
}

/// Whether a model has been trained or loaded. A read.
///
/// # Safety
/// `engine` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_is_trained(
    engine: *const rapport_engine,
    out: *mut bool,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or a live handle by the caller's contract.
        let trained = unsafe { read(engine)? }.is_trained();
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { write_out(out, trained, "out") }
    })
}

/// What a recommendation request may return (caller-owned; every pointer in it is borrowed for
/// the duration of the call only). Fill it with `rapport_recommend_options_default` first.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rapport_recommend_options {
    /// How many products at most (default 10; `SIZE_MAX` for all).
    pub k: usize,
    /// Also recommend products the customer already bought (default false).
    pub allow_repurchase: bool,
    /// Skip products marked out of stock (default true).
    pub in_stock_only: bool,
    /// `exclude_len` product ids never to return (unknown ids are ignored); NULL when 0.
    pub exclude: *const *const c_char,
    /// Length of `exclude`.
    pub exclude_len: usize,
    /// NULL with `candidates_len` 0: any product. Otherwise only the `candidates_len` ids
    /// listed (unknown ids ignored); NULL with a non-zero length is
    /// `RAPPORT_STATUS_NULL_ARGUMENT`, as for every array.
    pub candidates: *const *const c_char,
    /// Length of `candidates`.
    pub candidates_len: usize,
    /// NULL: any category. Otherwise only products of this category (unknown: empty result).
    pub category: *const c_char,
}

/// Fills `*out` with the default request: 10 products, no repurchase, in stock only, no filters.
///
/// # Safety
/// `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_recommend_options_default(
    out: *mut rapport_recommend_options,
) -> rapport_status {
    boundary(|| {
        let d = RecommendOptions::default();
        let o = rapport_recommend_options {
            k: d.k,
            allow_repurchase: d.allow_repurchase,
            in_stock_only: d.in_stock_only,
            exclude: std::ptr::null(),
            exclude_len: 0,
            candidates: std::ptr::null(),
            candidates_len: 0,
            category: std::ptr::null(),
        };
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { write_out(out, o, "out") }
    })
}

/// Translates C options (NULL: defaults).
///
/// # Safety
/// `options` is NULL or a readable struct whose pointers follow its documentation.
unsafe fn options(options: *const rapport_recommend_options) -> FfiResult<RecommendOptions> {
    // SAFETY: NULL or readable by the caller's contract.
    let Some(o) = (unsafe { options.as_ref() }) else {
        return Ok(RecommendOptions::default());
    };
    // SAFETY: the arrays and string are valid as documented on the struct.
    let (exclude, candidates, category) = unsafe {
        (
            str_array_arg(o.exclude, o.exclude_len, "options.exclude")?,
            // NULL means "no restriction" only with a zero length: a NULL array with a length
            // (say, a failed allocation) is an error, not an unfiltered list
            if o.candidates.is_null() && o.candidates_len == 0 {
                None
            } else {
                Some(str_array_arg(
                    o.candidates,
                    o.candidates_len,
                    "options.candidates",
                )?)
            },
            opt_str_arg(o.category, "options.category")?,
        )
    };
    Ok(RecommendOptions {
        k: o.k,
        allow_repurchase: o.allow_repurchase,
        exclude: exclude.into_iter().map(str::to_owned).collect(),
        candidates: candidates.map(|c| c.into_iter().map(str::to_owned).collect()),
        category: category.map(str::to_owned),
        in_stock_only: o.in_stock_only,
    })
}

/// No list can be longer than the catalog: a larger `k` (say `SIZE_MAX` for "all") is cut to
/// its size here, before the core reserves room for `k` results.
fn clamp_k(mut opts: RecommendOptions, engine: &Engine) -> RecommendOptions {
    opts.k = opts.k.min(engine.history().catalog().len());
    opts
}

/// Top products for a customer with scores and reasons. A read.
///
/// Customers the model cannot speak for get the popularity fallback
/// (`rapport_recommendations_fallback` is true): unknown ids, customers without purchases, and
/// customers whose purchases have not reached the model (first recorded after training with
/// `rapport_engine_record_purchase` and not refreshed, or buying only products new since
/// training).
/// The only customer-related error is `RAPPORT_STATUS_NOT_TRAINED` before training.
///
/// * `customer`: borrowed id. `options`: borrowed, NULL for defaults.
/// * `out`: receives a new result owned by the caller (free it with
///   `rapport_recommendations_free`), or NULL on failure.
///
/// # Safety
/// Pointers are NULL or valid as described.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_recommend(
    engine: *const rapport_engine,
    customer: *const c_char,
    options: *const rapport_recommend_options,
    out: *mut *mut rapport_recommendations,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { clear_out(out)? };
        // SAFETY: the string and options follow the documented contract.
        let (customer, opts) = unsafe { (str_arg(customer, "customer")?, self::options(options)?) };
        // SAFETY: NULL or a live handle by the caller's contract.
        let e = unsafe { read(engine)? };
        let recs = e.recommend(customer, &clamp_k(opts, &e))?;
        // SAFETY: checked non-NULL and writable above.
        unsafe { out.write(rapport_recommendations::boxed(recs)) };
        Ok(())
    })
}

/// `rapport_engine_recommend` for `len` customers at once, in parallel on the process-wide
/// worker pool (not `rapport_config.threads`; see there). A read.
///
/// * `customers`: `len` borrowed ids (NULL only when `len` is 0).
/// * `out`: receives a new batch owned by the caller (free it with
///   `rapport_recommendation_batch_free`), or NULL on failure.
///
/// # Safety
/// Pointers are NULL or valid as described.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_recommend_batch(
    engine: *const rapport_engine,
    customers: *const *const c_char,
    len: usize,
    options: *const rapport_recommend_options,
    out: *mut *mut rapport_recommendation_batch,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { clear_out(out)? };
        // SAFETY: the array and options follow the documented contract.
        let (customers, opts) = unsafe {
            (
                str_array_arg(customers, len, "customers")?,
                self::options(options)?,
            )
        };
        // SAFETY: NULL or a live handle by the caller's contract.
        let e = unsafe { read(engine)? };
        let recs = e.recommend_batch(&customers, &clamp_k(opts, &e))?;
        // SAFETY: checked non-NULL and writable above.
        unsafe { out.write(rapport_recommendation_batch::boxed(recs)) };
        Ok(())
    })
}

/// The co-purchase re-rank of recommendations: the `pool` best factor scores of a query are
/// re-ranked by `(1 − weight)·z(factor score) + weight·z(similarity to the customer's
/// products)`, the similarity coming from the `neighbours` products whose buyers overlap each
/// product most. Off by default (weight 0, neighbours 50, pool 50); weight 0.2 with 50 and 50
/// is the validated setting (`rapport_blend_co_purchase`). Caller-owned plain data.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rapport_blend {
    /// Share of the neighbour signal in [0, 1]; 0 turns the re-rank off.
    pub weight: f32,
    /// Neighbours kept per product (≥ 1 when the weight is above 0).
    pub neighbours: usize,
    /// How many of the best factor scores are re-ranked (≥ 1).
    pub pool: usize,
}

impl From<Blend> for rapport_blend {
    fn from(b: Blend) -> Self {
        rapport_blend {
            weight: b.weight,
            neighbours: b.neighbours,
            pool: b.pool,
        }
    }
}

/// Fills `*out` with the validated co-purchase setting (weight 0.2, 50 neighbours, pool 50).
///
/// # Safety
/// `out` is NULL (`RAPPORT_STATUS_NULL_ARGUMENT`) or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_blend_co_purchase(out: *mut rapport_blend) -> rapport_status {
    // SAFETY: NULL or writable by the caller's contract.
    boundary(|| unsafe { write_out(out, Blend::CO_PURCHASE.into(), "out") })
}

/// Fills `*out` with the engine's re-rank setting. A read.
///
/// # Safety
/// `engine` is NULL or live; `out` is NULL (`RAPPORT_STATUS_NULL_ARGUMENT`) or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_blend(
    engine: *const rapport_engine,
    out: *mut rapport_blend,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or a live handle by the caller's contract.
        let b = *unsafe { read(engine)? }.blend();
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { write_out(out, b.into(), "out") }
    })
}

/// Replaces the engine's re-rank setting (saved with the engine; applies at once to a trained
/// model, building its neighbour table when needed). A value out of range gives
/// `RAPPORT_STATUS_INVALID_CONFIG` naming the field, and nothing changes. A write.
///
/// # Safety
/// `engine` is NULL or live; `blend` is NULL (`RAPPORT_STATUS_NULL_ARGUMENT`) or readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_set_blend(
    engine: *mut rapport_engine,
    blend: *const rapport_blend,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or readable by the caller's contract.
        let b = *unsafe { blend.as_ref() }.ok_or_else(|| FfiError::null("blend"))?;
        // SAFETY: NULL or a live handle by the caller's contract.
        unsafe { write(engine)? }.set_blend(Blend {
            weight: b.weight,
            neighbours: b.neighbours,
            pool: b.pool,
        })?;
        Ok(())
    })
}

/// Up to `k` products most similar to `product` (cosine of the product vectors), best first,
/// excluding the product itself (`SIZE_MAX` for all). A read.
///
/// * `out`: receives a new result owned by the caller (free it with `rapport_similar_free`).
///
/// # Safety
/// Pointers are NULL or valid as described.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_similar(
    engine: *const rapport_engine,
    product: *const c_char,
    k: usize,
    out: *mut *mut rapport_similar,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { clear_out(out)? };
        // SAFETY: NULL or NUL-terminated by the caller's contract.
        let product = unsafe { str_arg(product, "product")? };
        // SAFETY: NULL or a live handle by the caller's contract.
        let e = unsafe { read(engine)? };
        let k = k.min(e.history().catalog().len());
        let sim = e.similar(product, k)?;
        // SAFETY: checked non-NULL and writable above.
        unsafe { out.write(rapport_similar::boxed(sim)) };
        Ok(())
    })
}

/// One customer's profile as of `as_of` (Unix seconds; later purchases are ignored). A read.
///
/// Computes the profiles of the whole customer base (the RFM quintiles and the BG/NBD and
/// Gamma-Gamma fits need them) and keeps this customer's: its cost grows with the history.
/// `RAPPORT_STATUS_UNKNOWN_CUSTOMER` when the id was never recorded.
///
/// * `out`: receives a new profile owned by the caller (free it with `rapport_profile_free`).
///
/// # Safety
/// Pointers are NULL or valid as described.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_profile(
    engine: *const rapport_engine,
    customer: *const c_char,
    as_of: i64,
    out: *mut *mut rapport_profile,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { clear_out(out)? };
        // SAFETY: NULL or NUL-terminated by the caller's contract.
        let customer = unsafe { str_arg(customer, "customer")? };
        // SAFETY: NULL or a live handle by the caller's contract.
        let e = unsafe { read(engine)? };
        if e.history().customers().get(customer).is_none() {
            return Err(rapport_core::Error::UnknownCustomer(customer.to_owned()).into());
        }
        let profiles = e.profiles(Timestamp(as_of))?;
        let p = profiles
            .by_id(customer)
            .ok_or_else(|| rapport_core::Error::UnknownCustomer(customer.to_owned()))?;
        let boxed = rapport_profile::boxed(p, e.history().catalog());
        // SAFETY: checked non-NULL and writable above.
        unsafe { out.write(boxed) };
        Ok(())
    })
}

/// Registers the English greeting variants shipped with the library (`data/greetings_en.json`:
/// hellos per channel, win-back, post-purchase, replenishment and service-recovery messages),
/// replacing registered variants with the same ids. A write.
///
/// * `added`: optional (NULL ignores it); receives how many variants were registered.
///
/// # Safety
/// `engine` is NULL or live; `added` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_load_default_greetings(
    engine: *mut rapport_engine,
    added: *mut usize,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or a live handle by the caller's contract.
        let n = unsafe { write(engine)? }.load_default_greetings()?;
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { write_opt_out(added, n) };
        Ok(())
    })
}

/// Registers greeting variants from a JSON array of variant objects, all or none, replacing
/// registered variants with the same ids (their engagement is kept). The format is that of
/// `data/greetings_en.json`: `id` and `template` (slots such as `{first_name|there}`,
/// `{product}`, `{top_category}`) plus optional `kind`, `locale`, `audience`, `channels`,
/// `featured_products`, `category`, `hours` and `boost`. A write.
///
/// Errors: `RAPPORT_STATUS_TEMPLATE` for a template that does not parse (the message gives the
/// variant and the character position), `RAPPORT_STATUS_UNKNOWN_PRODUCT` for a featured product
/// not in the catalog, `RAPPORT_STATUS_INVALID_VARIANT` for malformed JSON, unknown fields and
/// every other broken rule (blank or duplicate id, unknown category, …).
///
/// * `json`: borrowed NUL-terminated UTF-8.
/// * `added`: optional (NULL ignores it); receives how many variants were registered.
///
/// # Safety
/// `engine` is NULL or live; `json` is NULL or NUL-terminated; `added` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_add_greeting_variants_json(
    engine: *mut rapport_engine,
    json: *const c_char,
    added: *mut usize,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or NUL-terminated by the caller's contract.
        let json = unsafe { str_arg(json, "json")? };
        // SAFETY: NULL or a live handle by the caller's contract.
        let n = unsafe { write(engine)? }.add_greeting_variants_json(json)?;
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { write_opt_out(added, n) };
        Ok(())
    })
}

/// Recomputes the greeting caches as of `as_of` (Unix seconds; later purchases are ignored):
/// the customer base's RFM distributions (without them no customer is a champion and RFM
/// audience conditions never match), every variant vector and every engagement-adjusted
/// customer vector. Call it after `rapport_engine_train` and after bulk loading; until then
/// `rapport_engine_greet` recomputes stale variant vectors on every call (correct, but slow).
/// A write.
///
/// # Safety
/// `engine` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_refresh_greetings(
    engine: *mut rapport_engine,
    as_of: i64,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or a live handle by the caller's contract.
        unsafe { write(engine)? }.refresh_greetings(Timestamp(as_of))?;
        Ok(())
    })
}

/// Greeting settings other than the two strings (set those with
/// `rapport_engine_set_greeting_shop_name` and `rapport_engine_set_greeting_locale`).
/// Caller-owned plain data: read the engine's current values with
/// `rapport_engine_greeting_settings`, change the fields you need, write them back with
/// `rapport_engine_set_greeting_settings`. Library defaults in parentheses.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rapport_greeting_settings {
    /// Runners-up returned with each greeting (3).
    pub runners_up: usize,
    /// A post-purchase greeting runs this many days after a purchase (14; finite, ≥ 0).
    pub post_purchase_days: f64,
    /// Distinct purchase days of a product before it can be replenished (3; ≥ 2).
    pub replenish_min_purchases: u32,
    /// Impressions before a variant's vector is learned from engagement (50).
    pub learn_min_impressions: u32,
    /// Clicks plus conversions before a variant's vector is learned (5).
    pub learn_min_clicks: u32,
    /// Confidence slope of clicks (2; finite, ≥ 0).
    pub click_alpha: f32,
    /// A conversion counts as this many clicks (3; finite, ≥ 0).
    pub conversion_weight: f32,
    /// Ridge of the variant solve, towards the derived vector (1; finite, > 0).
    pub engagement_regularization: f32,
    /// Anchor of the customer solve, towards the purchase-based vector (1; finite, > 0).
    pub customer_anchor: f32,
    /// SMS length limit in characters (160; ≥ 20).
    pub sms_max_chars: usize,
    /// App (push) length limit in characters (178; ≥ 20).
    pub app_max_chars: usize,
}

/// Changes one part of the engine's greeting settings, all or nothing: the core checks the
/// whole result (`RAPPORT_STATUS_INVALID_CONFIG`) before anything changes.
///
/// # Safety
/// `engine` is NULL or live.
unsafe fn edit_greeting_config(
    engine: *mut rapport_engine,
    edit: impl FnOnce(&mut GreetingConfig),
) -> FfiResult {
    // SAFETY: NULL or a live handle by the caller's contract.
    let mut e = unsafe { write(engine)? };
    let mut c = e.greetings().config().clone();
    edit(&mut c);
    e.set_greeting_config(c)?;
    Ok(())
}

/// Fills `*out` with the engine's current greeting settings. A read.
///
/// # Safety
/// `engine` is NULL or live; `out` is NULL (`RAPPORT_STATUS_NULL_ARGUMENT`) or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_greeting_settings(
    engine: *const rapport_engine,
    out: *mut rapport_greeting_settings,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or a live handle by the caller's contract.
        let e = unsafe { read(engine)? };
        let c = e.greetings().config();
        let s = rapport_greeting_settings {
            runners_up: c.runners_up,
            post_purchase_days: c.post_purchase_days,
            replenish_min_purchases: c.replenish_min_purchases,
            learn_min_impressions: c.learn_min_impressions,
            learn_min_clicks: c.learn_min_clicks,
            click_alpha: c.click_alpha,
            conversion_weight: c.conversion_weight,
            engagement_regularization: c.engagement_regularization,
            customer_anchor: c.customer_anchor,
            sms_max_chars: c.sms_max_chars,
            app_max_chars: c.app_max_chars,
        };
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { write_out(out, s, "out") }
    })
}

/// Replaces the engine's greeting settings (except the shop name and default locale) with
/// `*settings`, all or nothing: a value out of its documented range gives
/// `RAPPORT_STATUS_INVALID_CONFIG` naming the field, and nothing changes. A write.
///
/// # Safety
/// `engine` is NULL or live; `settings` is NULL (`RAPPORT_STATUS_NULL_ARGUMENT`) or readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_set_greeting_settings(
    engine: *mut rapport_engine,
    settings: *const rapport_greeting_settings,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or readable by the caller's contract.
        let s = *unsafe { settings.as_ref() }.ok_or_else(|| FfiError::null("settings"))?;
        // SAFETY: forwarded contract.
        unsafe {
            edit_greeting_config(engine, |c| {
                c.runners_up = s.runners_up;
                c.post_purchase_days = s.post_purchase_days;
                c.replenish_min_purchases = s.replenish_min_purchases;
                c.learn_min_impressions = s.learn_min_impressions;
                c.learn_min_clicks = s.learn_min_clicks;
                c.click_alpha = s.click_alpha;
                c.conversion_weight = s.conversion_weight;
                c.engagement_regularization = s.engagement_regularization;
                c.customer_anchor = s.customer_anchor;
                c.sms_max_chars = s.sms_max_chars;
                c.app_max_chars = s.app_max_chars;
            })
        }
    })
}

/// Sets the value of the `{shop_name}` slot; NULL removes it, so templates use the slot's
/// fallback (`{shop_name|our shop}`). A write.
///
/// # Safety
/// `engine` is NULL or live; `name` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_set_greeting_shop_name(
    engine: *mut rapport_engine,
    name: *const c_char,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or NUL-terminated by the caller's contract.
        let name = unsafe { opt_str_arg(name, "name")? }.map(str::to_owned);
        // SAFETY: forwarded contract.
        unsafe { edit_greeting_config(engine, |c| c.shop_name = name) }
    })
}

/// Sets the locale used for customers without one and as the fallback language (`en` by
/// default); a blank locale gives `RAPPORT_STATUS_INVALID_CONFIG`. A write.
///
/// # Safety
/// `engine` is NULL or live; `locale` is NULL (`RAPPORT_STATUS_NULL_ARGUMENT`) or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_set_greeting_locale(
    engine: *mut rapport_engine,
    locale: *const c_char,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or NUL-terminated by the caller's contract.
        let locale = unsafe { str_arg(locale, "locale")? }.to_owned();
        // SAFETY: forwarded contract.
        unsafe { edit_greeting_config(engine, |c| c.default_locale = locale) }
    })
}

/// The greeting for `customer` on `channel` at `at` (Unix seconds; the hour, in UTC, decides
/// hour windows and `{part_of_day}`), with ranked runners-up. A read.
///
/// The eligible variants (channel, hours, locale, audience, the trigger of proactive kinds) are
/// scored by the customer's factor vector against each variant's vector plus an audience prior,
/// and the best is rendered from the customer's history up to `at`. A customer whose latest
/// feedback is poor gets only service-recovery variants. An id the engine has never seen gets a
/// generic greeting (`rapport_greeting_generic` is true); with no eligible variant a built-in
/// greeting for the channel is used. Works before training too (every affinity is then 0).
///
/// Errors: `RAPPORT_STATUS_EMPTY` when no variant is registered (see
/// `rapport_engine_load_default_greetings`), `RAPPORT_STATUS_INVALID_ARGUMENT` for an empty
/// customer id and for a `channel` that is not a `rapport_channel` or is
/// `RAPPORT_CHANNEL_UNSPECIFIED`.
///
/// * `customer`: borrowed id. `channel`: a `rapport_channel` value other than
///   `RAPPORT_CHANNEL_UNSPECIFIED`.
/// * `out`: receives a new greeting owned by the caller (free it with `rapport_greeting_free`),
///   or NULL on failure.
///
/// # Safety
/// Pointers are NULL or valid as described.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_greet(
    engine: *const rapport_engine,
    customer: *const c_char,
    channel: c_int,
    at: i64,
    out: *mut *mut rapport_greeting,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { clear_out(out)? };
        // SAFETY: NULL or NUL-terminated by the caller's contract.
        let customer = unsafe { str_arg(customer, "customer")? };
        let channel = channel_arg(channel)?.ok_or_else(|| {
            FfiError::new(
                rapport_status::InvalidArgument,
                "a greeting needs a channel: RAPPORT_CHANNEL_UNSPECIFIED is not one",
            )
        })?;
        // SAFETY: NULL or a live handle by the caller's contract.
        let g = unsafe { read(engine)? }.greet(customer, channel, Timestamp(at))?;
        // SAFETY: checked non-NULL and writable above.
        unsafe { out.write(rapport_greeting::boxed(g)) };
        Ok(())
    })
}

/// A customer's reaction to a greeting (`rapport_engine_record_engagement`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rapport_engagement {
    /// The greeting was shown.
    Impression = 0,
    /// The customer clicked or tapped it.
    Click = 1,
    /// The customer bought after it.
    Conversion = 2,
}

/// Records that `customer` saw, clicked or bought after greeting `variant`. With a trained
/// model, the customer's engagement-adjusted vector is updated at once, so their next
/// `rapport_engine_greet` reflects it. The variant's vector is learned from engagement only once
/// the variant has `learn_min_impressions` impressions and `learn_min_clicks` clicks or
/// conversions from customers with a factor vector (`rapport_greeting_settings`; 50 and 5 by
/// default); until then it stays the one derived from its featured products or category (if
/// any). Customers without a factor vector (never seen, or first recorded after the last
/// training and not folded in by `rapport_engine_observe`) are counted but teach the model
/// nothing. A write.
///
/// * `customer`, `variant`: borrowed ids (the variant id as in `rapport_greeting_variant_id`).
/// * `event`: a `rapport_engagement` value.
///
/// Errors: `RAPPORT_STATUS_UNKNOWN_VARIANT` for a variant id that is not registered,
/// `RAPPORT_STATUS_INVALID_ARGUMENT` for an empty customer id or an `event` that is not a
/// `rapport_engagement`.
///
/// # Safety
/// `engine` is NULL or live; `customer` and `variant` are NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_record_engagement(
    engine: *mut rapport_engine,
    customer: *const c_char,
    variant: *const c_char,
    event: c_int,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or NUL-terminated strings by the caller's contract.
        let (customer, variant) =
            unsafe { (str_arg(customer, "customer")?, str_arg(variant, "variant")?) };
        let event = match event {
            0 => Engagement::Impression,
            1 => Engagement::Click,
            2 => Engagement::Conversion,
            other => {
                return Err(FfiError::new(
                    rapport_status::InvalidArgument,
                    format!("event {other} is not a rapport_engagement value"),
                ));
            }
        };
        // SAFETY: NULL or a live handle by the caller's contract.
        unsafe { write(engine)? }.record_engagement(customer, variant, event)?;
        Ok(())
    })
}

/// The scale of a survey answer (`rapport_engine_record_feedback`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rapport_feedback_kind {
    /// Net Promoter answer, 0–10 (0–6 is poor).
    Nps = 0,
    /// Customer satisfaction, 1–5 (1–2 is poor).
    Csat = 1,
    /// Customer effort, 1–7, higher is more effort (5–7 is poor).
    Ces = 2,
}

/// Records a survey answer given by `customer` at `at` (Unix seconds). A poor answer puts the
/// customer in service recovery: from `at` on, `rapport_engine_greet` gives them only
/// service-recovery greetings (an apology and help, never an offer) until a newer answer that is
/// not poor or a purchase after the answer. Customers need not be in the purchase history: one
/// the engine has never seen (no purchase, no `rapport_engine_upsert_customer`) gets a
/// recovery variant open to every audience, or the built-in apology (variant id
/// `builtin-recovery`) when none is eligible. A write.
///
/// * `kind`: a `rapport_feedback_kind` value. `value`: the answer on that scale.
///
/// Errors: `RAPPORT_STATUS_SCORE_OUT_OF_RANGE` for a value outside the scale,
/// `RAPPORT_STATUS_INVALID_ARGUMENT` for an empty customer id or a `kind` that is not a
/// `rapport_feedback_kind`. Nothing is recorded then.
///
/// # Safety
/// `engine` is NULL or live; `customer` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_record_feedback(
    engine: *mut rapport_engine,
    customer: *const c_char,
    kind: c_int,
    value: c_int,
    at: i64,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or NUL-terminated by the caller's contract.
        let customer = unsafe { str_arg(customer, "customer")? };
        let scale: fn(u8) -> Score = match kind {
            0 => Score::Nps,
            1 => Score::Csat,
            2 => Score::Ces,
            other => {
                return Err(FfiError::new(
                    rapport_status::InvalidArgument,
                    format!("kind {other} is not a rapport_feedback_kind value"),
                ));
            }
        };
        let score = Score::on_scale(scale, i64::from(value))?;
        // SAFETY: NULL or a live handle by the caller's contract.
        unsafe { write(engine)? }.record_feedback(customer, score, Timestamp(at))?;
        Ok(())
    })
}

/// The cohort length of the retention rows of `rapport_engine_feedback_report`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rapport_period {
    /// Calendar months (UTC), labelled `"2024-03"`.
    Month = 0,
    /// Calendar quarters (UTC), labelled `"2024-Q1"`.
    Quarter = 1,
}

/// The customer-experience report: NPS, CSAT and CES over the survey answers recorded with
/// `rapport_engine_record_feedback`, and retention and churn per period over the purchase
/// history. A read.
///
/// * NPS: % promoters (answers 9–10) − % detractors (0–6), from −100 to 100; passives (7–8)
///   count in the denominator only. CSAT: % of CSAT answers that are 4 or 5. CES: the mean CES
///   answer. Every answer in the window counts: a customer who answered twice counts twice.
/// * Retention: one row per period (calendar month or quarter, UTC), oldest first, for each
///   period that has purchases, starts inside the window and has a purchase after it: of the
///   customers who bought in the period, the share who bought again in the next one (the last
///   row's next period may still be in progress). Churn is 1 − retention. Periods without
///   purchases get no row.
///
/// * `period`: a `rapport_period` value.
/// * `has_window`: false reports every answer and every period (`from` and `to` are ignored);
///   true keeps the answers given in `[from, to)` and the periods starting in it (Unix
///   seconds; `from` must be before `to`; `INT64_MIN` or `INT64_MAX` leave one end open).
/// * `out`: receives a new report owned by the caller (free it with
///   `rapport_feedback_report_free`), or NULL on failure.
///
/// Errors: `RAPPORT_STATUS_INVALID_ARGUMENT` for a `period` that is not a `rapport_period` and
/// for a window whose `from` is not before `to`. An engine without answers or purchases gives
/// a report without values or rows, not an error.
///
/// # Safety
/// `engine` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_feedback_report(
    engine: *const rapport_engine,
    period: c_int,
    has_window: bool,
    from: i64,
    to: i64,
    out: *mut *mut rapport_feedback_report,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { clear_out(out)? };
        let period = match period {
            0 => Period::Month,
            1 => Period::Quarter,
            other => {
                return Err(FfiError::new(
                    rapport_status::InvalidArgument,
                    format!("period {other} is not a rapport_period value"),
                ));
            }
        };
        let window = has_window.then_some((Timestamp(from), Timestamp(to)));
        // SAFETY: NULL or a live handle by the caller's contract.
        let r = unsafe { read(engine)? }.feedback_report(period, window)?;
        // SAFETY: checked non-NULL and writable above.
        unsafe { out.write(rapport_feedback_report::boxed(r)) };
        Ok(())
    })
}

/// Writes the whole engine (history, catalog, model) to `path` atomically in the versioned,
/// checksummed model format. A read.
///
/// # Safety
/// `engine` is NULL or live; `path` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_save(
    engine: *const rapport_engine,
    path: *const c_char,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or NUL-terminated by the caller's contract.
        let path = unsafe { str_arg(path, "path")? };
        // SAFETY: NULL or a live handle by the caller's contract.
        unsafe { read(engine)? }.save(path)?;
        Ok(())
    })
}

/// Reads an engine written by `rapport_engine_save`. Files that are not models, truncated,
/// corrupted or from a newer version give `RAPPORT_STATUS_BAD_FILE`; a missing file
/// `RAPPORT_STATUS_IO`.
///
/// * `out`: receives a new engine owned by the caller (free it with `rapport_engine_free`), or
///   NULL on failure.
///
/// # Safety
/// `path` is NULL or NUL-terminated; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_load(
    path: *const c_char,
    out: *mut *mut rapport_engine,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { clear_out(out)? };
        // SAFETY: NULL or NUL-terminated by the caller's contract.
        let path = unsafe { str_arg(path, "path")? };
        let e = Engine::load(path)?;
        // SAFETY: checked non-NULL and writable above.
        unsafe { out.write(rapport_engine::boxed(e)) };
        Ok(())
    })
}

/// The engine in the model format, as bytes (e.g. to store in a database). A read.
///
/// * `out`: receives a new byte buffer owned by the caller (read it with `rapport_bytes_data`
///   and `rapport_bytes_len`, free it with `rapport_bytes_free`).
///
/// # Safety
/// `engine` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_to_bytes(
    engine: *const rapport_engine,
    out: *mut *mut rapport_bytes,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { clear_out(out)? };
        // SAFETY: NULL or a live handle by the caller's contract.
        let bytes = unsafe { read(engine)? }.to_bytes()?;
        // SAFETY: checked non-NULL and writable above.
        unsafe { out.write(rapport_bytes::boxed(bytes)) };
        Ok(())
    })
}

/// An engine from bytes made by `rapport_engine_to_bytes` or read from a saved file.
///
/// * `data`: `len` borrowed bytes (NULL only when `len` is 0, which gives
///   `RAPPORT_STATUS_BAD_FILE`).
/// * `out`: receives a new engine owned by the caller (free it with `rapport_engine_free`).
///
/// # Safety
/// `data` is NULL or valid for `len` readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_engine_from_bytes(
    data: *const u8,
    len: usize,
    out: *mut *mut rapport_engine,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { clear_out(out)? };
        let bytes: &[u8] = if len == 0 {
            &[]
        } else if data.is_null() {
            return Err(FfiError::null("data"));
        } else {
            // SAFETY: non-NULL and `len` readable bytes by the caller's contract.
            unsafe { std::slice::from_raw_parts(data, len) }
        };
        let e = Engine::from_bytes(bytes)?;
        // SAFETY: checked non-NULL and writable above.
        unsafe { out.write(rapport_engine::boxed(e)) };
        Ok(())
    })
}
