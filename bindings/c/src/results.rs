//! Library-owned result objects and their accessors.
//!
//! Accessors return their value directly; a NULL object or an index past the end gives the
//! documented sentinel (0, NULL, NaN, false) instead of a status. Strings they return are
//! borrowed from the object: valid until it is freed, never to be freed by the caller.

use crate::boundary::{
    FfiResult, boundary, boundary_value, rapport_status, write_opt_out, write_out,
};
use crate::engine::rapport_channel;
use rapport_core::engine::SimilarProduct;
use rapport_core::{
    Catalog, Channel, FeedbackReport, Greeting, GreetingKind, Profile, Reason, Recommendations,
    Segment,
};
use std::ffi::{CString, c_char};

/// A Rust string as a C string; interior NULs (never produced by rapport ids, but possible in
/// names read from files) are replaced by U+FFFD so the rest of the text survives.
fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "\u{FFFD}")).unwrap_or_default()
}

/// Borrows a result object.
///
/// # Safety
/// `p` is NULL or a live pointer from this library.
unsafe fn get<'a, T>(p: *const T) -> Option<&'a T> {
    // SAFETY: NULL or live by the caller's contract.
    unsafe { p.as_ref() }
}

/// Frees a boxed result object; NULL is a no-op.
///
/// # Safety
/// `p` is NULL or a pointer from `Box::into_raw` not freed before.
unsafe fn free<T>(p: *mut T) {
    let _ = boundary(|| {
        if !p.is_null() {
            // SAFETY: from `Box::into_raw`, given back exactly once by the caller's contract.
            drop(unsafe { Box::from_raw(p) });
        }
        Ok(())
    });
}

/// Why a product was recommended.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rapport_reason_kind {
    /// A product the customer bought contributes most to the score
    /// (`rapport_recommendations_reason_product_id` names it).
    BecauseYouBought = 0,
    /// The customer has no usable history: a product popular in the recent window.
    Popular = 1,
}

struct Item {
    product: CString,
    name: CString,
    score: f32,
    kind: rapport_reason_kind,
    reason: CString,
    reason_product: Option<CString>,
}

/// A ranked list of recommended products for one customer. Library-owned; from
/// `rapport_engine_recommend`, freed with `rapport_recommendations_free`.
pub struct rapport_recommendations {
    customer: CString,
    fallback: bool,
    items: Vec<Item>,
}

impl rapport_recommendations {
    fn new(r: Recommendations) -> Self {
        rapport_recommendations {
            customer: c_string(&r.customer),
            fallback: r.fallback,
            items: r
                .items
                .into_iter()
                .map(|i| Item {
                    product: c_string(&i.product),
                    name: c_string(&i.name),
                    score: i.score,
                    kind: match i.reason {
                        Reason::BecauseYouBought { .. } => rapport_reason_kind::BecauseYouBought,
                        _ => rapport_reason_kind::Popular,
                    },
                    reason: c_string(&i.reason.to_string()),
                    reason_product: match &i.reason {
                        Reason::BecauseYouBought { product, .. } => Some(c_string(product)),
                        _ => None,
                    },
                })
                .collect(),
        }
    }

    pub(crate) fn boxed(r: Recommendations) -> *mut Self {
        Box::into_raw(Box::new(Self::new(r)))
    }

    /// Borrows item `i`.
    ///
    /// # Safety
    /// `r` is NULL or live.
    unsafe fn item<'a>(r: *const Self, i: usize) -> Option<&'a Item> {
        // SAFETY: forwarded contract.
        unsafe { get(r) }.and_then(|r| r.items.get(i))
    }
}

/// Releases a recommendation list; NULL is a no-op. Strings borrowed from it become invalid.
///
/// # Safety
/// `recs` is NULL or a pointer from this library not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_recommendations_free(recs: *mut rapport_recommendations) {
    // SAFETY: forwarded contract.
    unsafe { free(recs) }
}

/// Number of products in the list (0 for NULL).
///
/// # Safety
/// `recs` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_recommendations_len(
    recs: *const rapport_recommendations,
) -> usize {
    // SAFETY: NULL or live by the caller's contract.
    boundary_value(0, || unsafe { get(recs) }.map_or(0, |r| r.items.len()))
}

/// True when the model knew nothing about the customer and the list is the popularity
/// fallback (false for NULL).
///
/// # Safety
/// `recs` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_recommendations_fallback(
    recs: *const rapport_recommendations,
) -> bool {
    // SAFETY: NULL or live by the caller's contract.
    boundary_value(false, || unsafe { get(recs) }.is_some_and(|r| r.fallback))
}

/// The customer id the list is for (borrowed; NULL for NULL).
///
/// # Safety
/// `recs` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_recommendations_customer_id(
    recs: *const rapport_recommendations,
) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(recs) }.map_or(std::ptr::null(), |r| r.customer.as_ptr())
    })
}

/// Product id of item `i` (0 = best); borrowed; NULL when out of range.
///
/// # Safety
/// `recs` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_recommendations_product_id(
    recs: *const rapport_recommendations,
    i: usize,
) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { rapport_recommendations::item(recs, i) }
            .map_or(std::ptr::null(), |it| it.product.as_ptr())
    })
}

/// Product name of item `i`; borrowed; NULL when out of range.
///
/// # Safety
/// `recs` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_recommendations_name(
    recs: *const rapport_recommendations,
    i: usize,
) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { rapport_recommendations::item(recs, i) }
            .map_or(std::ptr::null(), |it| it.name.as_ptr())
    })
}

/// Score of item `i` (model score, or distinct recent buyers for the fallback); NaN when out
/// of range.
///
/// # Safety
/// `recs` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_recommendations_score(
    recs: *const rapport_recommendations,
    i: usize,
) -> f32 {
    boundary_value(f32::NAN, || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { rapport_recommendations::item(recs, i) }.map_or(f32::NAN, |it| it.score)
    })
}

/// Reason for item `i` as English text (`"because you bought WHITE METAL LANTERN"`); borrowed;
/// NULL when out of range.
///
/// # Safety
/// `recs` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_recommendations_reason(
    recs: *const rapport_recommendations,
    i: usize,
) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { rapport_recommendations::item(recs, i) }
            .map_or(std::ptr::null(), |it| it.reason.as_ptr())
    })
}

/// Kind of reason for item `i`; writes it to `*out`. `RAPPORT_STATUS_INDEX_OUT_OF_RANGE` past
/// the end.
///
/// # Safety
/// `recs` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_recommendations_reason_kind(
    recs: *const rapport_recommendations,
    i: usize,
    out: *mut rapport_reason_kind,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or live by the caller's contract.
        let r = unsafe { get(recs) }.ok_or_else(|| crate::boundary::FfiError::null("recs"))?;
        let it = index(&r.items, i)?;
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { write_out(out, it.kind, "out") }
    })
}

/// For a `RAPPORT_REASON_KIND_BECAUSE_YOU_BOUGHT` item, the id of the owned product behind it
/// (borrowed); NULL for popular items or out of range.
///
/// # Safety
/// `recs` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_recommendations_reason_product_id(
    recs: *const rapport_recommendations,
    i: usize,
) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { rapport_recommendations::item(recs, i) }
            .and_then(|it| it.reason_product.as_ref())
            .map_or(std::ptr::null(), |p| p.as_ptr())
    })
}

fn index<T>(items: &[T], i: usize) -> FfiResult<&T> {
    items.get(i).ok_or_else(|| {
        crate::boundary::FfiError::new(
            rapport_status::IndexOutOfRange,
            format!("index {i} out of range (length {})", items.len()),
        )
    })
}

/// Recommendation lists for several customers, in request order. Library-owned; from
/// `rapport_engine_recommend_batch`, freed with `rapport_recommendation_batch_free`.
pub struct rapport_recommendation_batch {
    lists: Vec<rapport_recommendations>,
}

impl rapport_recommendation_batch {
    pub(crate) fn boxed(r: Vec<Recommendations>) -> *mut Self {
        Box::into_raw(Box::new(rapport_recommendation_batch {
            lists: r.into_iter().map(rapport_recommendations::new).collect(),
        }))
    }
}

/// Releases a batch and every list in it; NULL is a no-op.
///
/// # Safety
/// `batch` is NULL or a pointer from this library not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_recommendation_batch_free(
    batch: *mut rapport_recommendation_batch,
) {
    // SAFETY: forwarded contract.
    unsafe { free(batch) }
}

/// Number of lists (the number of customers asked about; 0 for NULL).
///
/// # Safety
/// `batch` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_recommendation_batch_len(
    batch: *const rapport_recommendation_batch,
) -> usize {
    // SAFETY: NULL or live by the caller's contract.
    boundary_value(0, || unsafe { get(batch) }.map_or(0, |b| b.lists.len()))
}

/// List `i`, borrowed from the batch: read it with the `rapport_recommendations_*` accessors,
/// never free it. NULL when out of range.
///
/// # Safety
/// `batch` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_recommendation_batch_get(
    batch: *const rapport_recommendation_batch,
    i: usize,
) -> *const rapport_recommendations {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(batch) }
            .and_then(|b| b.lists.get(i))
            .map_or(std::ptr::null(), |l| l as *const _)
    })
}

struct SimilarItem {
    product: CString,
    name: CString,
    similarity: f32,
}

/// Products similar to one product, best first. Library-owned; from `rapport_engine_similar`,
/// freed with `rapport_similar_free`.
pub struct rapport_similar {
    items: Vec<SimilarItem>,
}

impl rapport_similar {
    pub(crate) fn boxed(s: Vec<SimilarProduct>) -> *mut Self {
        Box::into_raw(Box::new(rapport_similar {
            items: s
                .into_iter()
                .map(|s| SimilarItem {
                    product: c_string(&s.product),
                    name: c_string(&s.name),
                    similarity: s.similarity,
                })
                .collect(),
        }))
    }

    /// # Safety
    /// `s` is NULL or live.
    unsafe fn item<'a>(s: *const Self, i: usize) -> Option<&'a SimilarItem> {
        // SAFETY: forwarded contract.
        unsafe { get(s) }.and_then(|s| s.items.get(i))
    }
}

/// Releases a similar-products list; NULL is a no-op.
///
/// # Safety
/// `similar` is NULL or a pointer from this library not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_similar_free(similar: *mut rapport_similar) {
    // SAFETY: forwarded contract.
    unsafe { free(similar) }
}

/// Number of products (0 for NULL).
///
/// # Safety
/// `similar` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_similar_len(similar: *const rapport_similar) -> usize {
    // SAFETY: NULL or live by the caller's contract.
    boundary_value(0, || unsafe { get(similar) }.map_or(0, |s| s.items.len()))
}

/// Product id of item `i`; borrowed; NULL when out of range.
///
/// # Safety
/// `similar` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_similar_product_id(
    similar: *const rapport_similar,
    i: usize,
) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { rapport_similar::item(similar, i) }
            .map_or(std::ptr::null(), |s| s.product.as_ptr())
    })
}

/// Product name of item `i`; borrowed; NULL when out of range.
///
/// # Safety
/// `similar` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_similar_name(
    similar: *const rapport_similar,
    i: usize,
) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { rapport_similar::item(similar, i) }.map_or(std::ptr::null(), |s| s.name.as_ptr())
    })
}

/// Cosine similarity of item `i` with the query product, in [-1, 1]; NaN when out of range.
///
/// # Safety
/// `similar` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_similar_similarity(
    similar: *const rapport_similar,
    i: usize,
) -> f32 {
    boundary_value(f32::NAN, || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { rapport_similar::item(similar, i) }.map_or(f32::NAN, |s| s.similarity)
    })
}

/// A customer segment (see `rapport_segment_name`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rapport_segment {
    /// No purchase yet, or one recent first order.
    New = 0,
    /// Buying in their usual rhythm.
    Active = 1,
    /// Overdue for their next purchase, or quiet for more than 90 days.
    AtRisk = 2,
    /// No purchase for more than 180 days and more than three usual intervals.
    Lapsed = 3,
    /// Recent, frequent and big-spending: top two quintiles on all three RFM scores.
    Champion = 4,
}

impl From<Segment> for rapport_segment {
    fn from(s: Segment) -> Self {
        match s {
            Segment::New => rapport_segment::New,
            Segment::Active => rapport_segment::Active,
            Segment::AtRisk => rapport_segment::AtRisk,
            Segment::Lapsed => rapport_segment::Lapsed,
            Segment::Champion => rapport_segment::Champion,
        }
    }
}

/// The lower-case name of a segment (`"new"`, `"active"`, `"at-risk"`, `"lapsed"`,
/// `"champion"`) as a static string, or NULL for a value that is not a segment. Never free it.
#[unsafe(no_mangle)]
pub extern "C" fn rapport_segment_name(segment: std::ffi::c_int) -> *const c_char {
    boundary_value(std::ptr::null(), || match segment {
        0 => c"new".as_ptr(),
        1 => c"active".as_ptr(),
        2 => c"at-risk".as_ptr(),
        3 => c"lapsed".as_ptr(),
        4 => c"champion".as_ptr(),
        _ => std::ptr::null(),
    })
}

/// The numeric fields of a profile (caller-owned plain data, filled by
/// `rapport_profile_get_fields`). Each optional value has a `has_` flag; when it is false the
/// value is 0.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rapport_profile_fields {
    /// Distinct orders.
    pub orders: u32,
    /// Units bought.
    pub units: f64,
    /// Total spend (sum of quantity × unit price).
    pub total_spend: f64,
    /// `total_spend / orders`; 0 without orders.
    pub average_order_value: f64,
    /// Whether `first_purchase` and `last_purchase` are set (false without purchases).
    pub has_purchases: bool,
    /// Time of the first purchase line (Unix seconds).
    pub first_purchase: i64,
    /// Time of the last purchase line (Unix seconds).
    pub last_purchase: i64,
    /// Whether `days_since_last_purchase` is set.
    pub has_days_since_last_purchase: bool,
    /// Fractional days from the last purchase to `as_of`.
    pub days_since_last_purchase: f64,
    /// Whether `median_days_between_orders` is set (needs two purchase days).
    pub has_median_days_between_orders: bool,
    /// Median gap in whole days between consecutive purchase days.
    pub median_days_between_orders: f64,
    /// Whether `expected_next_purchase` is set.
    pub has_expected_next_purchase: bool,
    /// Last purchase plus the median gap (Unix seconds; may lie before `as_of`: overdue).
    pub expected_next_purchase: i64,
    /// RFM recency score, 1–5 (0 without orders).
    pub rfm_recency: u8,
    /// RFM frequency score, 1–5 (0 without orders).
    pub rfm_frequency: u8,
    /// RFM monetary score, 1–5 (0 without orders).
    pub rfm_monetary: u8,
    /// Segment.
    pub segment: rapport_segment,
    /// Risk in [0, 1] that the customer has stopped buying.
    pub churn_risk: f64,
    /// Probability in [0, 1] of no purchase in the next 365 days.
    pub prob_no_purchase_12m: f64,
    /// Expected purchase days in the next 365 days.
    pub expected_orders_12m: f64,
    /// Expected spend in the next 365 days.
    pub expected_value_12m: f64,
}

struct Favourite {
    id: CString,
    name: CString,
    weight: f64,
}

/// One customer as of a date. Library-owned; from `rapport_engine_profile`, freed with
/// `rapport_profile_free`.
pub struct rapport_profile {
    id: CString,
    fields: rapport_profile_fields,
    products: Vec<Favourite>,
    categories: Vec<Favourite>,
}

impl rapport_profile {
    pub(crate) fn boxed(p: &Profile, catalog: &Catalog) -> *mut Self {
        let ts = |t: Option<rapport_core::Timestamp>| t.map_or(0, |t| t.0);
        let fields = rapport_profile_fields {
            orders: p.orders,
            units: p.units,
            total_spend: p.total_spend,
            average_order_value: p.average_order_value,
            has_purchases: p.first_purchase.is_some() && p.last_purchase.is_some(),
            first_purchase: ts(p.first_purchase),
            last_purchase: ts(p.last_purchase),
            has_days_since_last_purchase: p.days_since_last_purchase.is_some(),
            days_since_last_purchase: p.days_since_last_purchase.unwrap_or(0.0),
            has_median_days_between_orders: p.median_days_between_orders.is_some(),
            median_days_between_orders: p.median_days_between_orders.unwrap_or(0.0),
            has_expected_next_purchase: p.expected_next_purchase.is_some(),
            expected_next_purchase: ts(p.expected_next_purchase),
            rfm_recency: p.rfm.recency,
            rfm_frequency: p.rfm.frequency,
            rfm_monetary: p.rfm.monetary,
            segment: p.segment.into(),
            churn_risk: p.churn_risk,
            prob_no_purchase_12m: p.prob_no_purchase_12m,
            expected_orders_12m: p.expected_orders_12m,
            expected_value_12m: p.expected_value_12m,
        };
        let products = p
            .favourite_products
            .iter()
            .map(|&(i, w)| Favourite {
                id: c_string(catalog.id(i)),
                name: c_string(catalog.name(i)),
                weight: w,
            })
            .collect();
        let categories = p
            .favourite_categories
            .iter()
            .map(|&(c, w)| {
                let name = c_string(catalog.category_name(c));
                Favourite {
                    id: name.clone(),
                    name,
                    weight: w,
                }
            })
            .collect();
        Box::into_raw(Box::new(rapport_profile {
            id: c_string(&p.id),
            fields,
            products,
            categories,
        }))
    }
}

/// Releases a profile; NULL is a no-op.
///
/// # Safety
/// `profile` is NULL or a pointer from this library not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_profile_free(profile: *mut rapport_profile) {
    // SAFETY: forwarded contract.
    unsafe { free(profile) }
}

/// Copies the numeric fields of a profile into caller-owned `*out`.
///
/// # Safety
/// `profile` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_profile_get_fields(
    profile: *const rapport_profile,
    out: *mut rapport_profile_fields,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or live by the caller's contract.
        let p =
            unsafe { get(profile) }.ok_or_else(|| crate::boundary::FfiError::null("profile"))?;
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { write_out(out, p.fields, "out") }
    })
}

/// The customer id (borrowed; NULL for NULL).
///
/// # Safety
/// `profile` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_profile_customer_id(
    profile: *const rapport_profile,
) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(profile) }.map_or(std::ptr::null(), |p| p.id.as_ptr())
    })
}

/// Number of favourite products (up to 5, heaviest first; 0 for NULL).
///
/// # Safety
/// `profile` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_profile_favourite_products_len(
    profile: *const rapport_profile,
) -> usize {
    boundary_value(0, || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(profile) }.map_or(0, |p| p.products.len())
    })
}

/// Id of favourite product `i` (borrowed; NULL when out of range).
///
/// # Safety
/// `profile` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_profile_favourite_product_id(
    profile: *const rapport_profile,
    i: usize,
) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(profile) }
            .and_then(|p| p.products.get(i))
            .map_or(std::ptr::null(), |f| f.id.as_ptr())
    })
}

/// Name of favourite product `i` (borrowed; NULL when out of range).
///
/// # Safety
/// `profile` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_profile_favourite_product_name(
    profile: *const rapport_profile,
    i: usize,
) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(profile) }
            .and_then(|p| p.products.get(i))
            .map_or(std::ptr::null(), |f| f.name.as_ptr())
    })
}

/// Recency-weighted order count of favourite product `i` (NaN when out of range).
///
/// # Safety
/// `profile` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_profile_favourite_product_weight(
    profile: *const rapport_profile,
    i: usize,
) -> f64 {
    boundary_value(f64::NAN, || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(profile) }
            .and_then(|p| p.products.get(i))
            .map_or(f64::NAN, |f| f.weight)
    })
}

/// Number of favourite categories (up to 5, heaviest first; 0 for NULL or without categories).
///
/// # Safety
/// `profile` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_profile_favourite_categories_len(
    profile: *const rapport_profile,
) -> usize {
    boundary_value(0, || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(profile) }.map_or(0, |p| p.categories.len())
    })
}

/// Name of favourite category `i` (borrowed; NULL when out of range).
///
/// # Safety
/// `profile` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_profile_favourite_category(
    profile: *const rapport_profile,
    i: usize,
) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(profile) }
            .and_then(|p| p.categories.get(i))
            .map_or(std::ptr::null(), |f| f.name.as_ptr())
    })
}

/// Recency-weighted order count of favourite category `i` (NaN when out of range).
///
/// # Safety
/// `profile` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_profile_favourite_category_weight(
    profile: *const rapport_profile,
    i: usize,
) -> f64 {
    boundary_value(f64::NAN, || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(profile) }
            .and_then(|p| p.categories.get(i))
            .map_or(f64::NAN, |f| f.weight)
    })
}

impl From<Channel> for rapport_channel {
    fn from(c: Channel) -> Self {
        match c {
            Channel::Web => rapport_channel::Web,
            Channel::Email => rapport_channel::Email,
            Channel::Sms => rapport_channel::Sms,
            Channel::App => rapport_channel::App,
            Channel::InStore => rapport_channel::InStore,
        }
    }
}

/// What a greeting is for (see `rapport_greeting_kind_name`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rapport_greeting_kind {
    /// An ordinary greeting.
    Standard = 0,
    /// Win-back: only for at-risk and lapsed customers.
    WinBack = 1,
    /// Thanks after a recent purchase, with complementary products.
    PostPurchase = 2,
    /// Reminder for a repeatedly bought product that is past its usual interval.
    Replenishment = 3,
    /// Apology and help after poor feedback; never an offer.
    ServiceRecovery = 4,
}

impl From<GreetingKind> for rapport_greeting_kind {
    fn from(k: GreetingKind) -> Self {
        match k {
            GreetingKind::Standard => rapport_greeting_kind::Standard,
            GreetingKind::WinBack => rapport_greeting_kind::WinBack,
            GreetingKind::PostPurchase => rapport_greeting_kind::PostPurchase,
            GreetingKind::Replenishment => rapport_greeting_kind::Replenishment,
            GreetingKind::ServiceRecovery => rapport_greeting_kind::ServiceRecovery,
        }
    }
}

/// The name of a greeting kind as used in variant files (`"standard"`, `"win-back"`,
/// `"post-purchase"`, `"replenishment"`, `"service-recovery"`) as a static string, or NULL for
/// a value that is not a kind. Never free it.
#[unsafe(no_mangle)]
pub extern "C" fn rapport_greeting_kind_name(kind: std::ffi::c_int) -> *const c_char {
    boundary_value(std::ptr::null(), || match kind {
        0 => c"standard".as_ptr(),
        1 => c"win-back".as_ptr(),
        2 => c"post-purchase".as_ptr(),
        3 => c"replenishment".as_ptr(),
        4 => c"service-recovery".as_ptr(),
        _ => std::ptr::null(),
    })
}

struct RunnerUpItem {
    variant: CString,
    text: CString,
    score: f32,
    reason: CString,
}

/// The greeting chosen for one customer on one channel, with ranked runners-up.
/// Library-owned; from `rapport_engine_greet`, freed with `rapport_greeting_free`.
pub struct rapport_greeting {
    customer: CString,
    channel: rapport_channel,
    variant: CString,
    text: CString,
    score: f32,
    kind: rapport_greeting_kind,
    reason: CString,
    products: Vec<CString>,
    runners_up: Vec<RunnerUpItem>,
    generic: bool,
    locale: CString,
}

impl rapport_greeting {
    pub(crate) fn boxed(g: Greeting) -> *mut Self {
        Box::into_raw(Box::new(rapport_greeting {
            customer: c_string(&g.customer),
            channel: g.channel.into(),
            variant: c_string(&g.variant),
            text: c_string(&g.text),
            score: g.score,
            kind: g.why.kind.into(),
            reason: c_string(&g.why.to_string()),
            products: g.products.iter().map(|p| c_string(p)).collect(),
            runners_up: g
                .runners_up
                .iter()
                .map(|r| RunnerUpItem {
                    variant: c_string(&r.variant),
                    text: c_string(&r.text),
                    score: r.score,
                    reason: c_string(&r.why.to_string()),
                })
                .collect(),
            generic: g.generic,
            locale: c_string(&g.locale),
        }))
    }

    /// Borrows runner-up `i`.
    ///
    /// # Safety
    /// `g` is NULL or live.
    unsafe fn runner_up<'a>(g: *const Self, i: usize) -> Option<&'a RunnerUpItem> {
        // SAFETY: forwarded contract.
        unsafe { get(g) }.and_then(|g| g.runners_up.get(i))
    }
}

/// Releases a greeting; NULL is a no-op. Strings borrowed from it become invalid.
///
/// # Safety
/// `greeting` is NULL or a pointer from this library not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_greeting_free(greeting: *mut rapport_greeting) {
    // SAFETY: forwarded contract.
    unsafe { free(greeting) }
}

/// The customer id the greeting is for (borrowed; NULL for NULL).
///
/// # Safety
/// `greeting` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_greeting_customer_id(
    greeting: *const rapport_greeting,
) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(greeting) }.map_or(std::ptr::null(), |g| g.customer.as_ptr())
    })
}

/// The channel the greeting was rendered for (`RAPPORT_CHANNEL_UNSPECIFIED` for NULL).
///
/// # Safety
/// `greeting` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_greeting_channel(
    greeting: *const rapport_greeting,
) -> rapport_channel {
    boundary_value(rapport_channel::Unspecified, || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(greeting) }.map_or(rapport_channel::Unspecified, |g| g.channel)
    })
}

/// Id of the chosen variant (borrowed; `"builtin-…"` for the built-in greeting used when no
/// registered variant was eligible; NULL for NULL).
///
/// # Safety
/// `greeting` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_greeting_variant_id(
    greeting: *const rapport_greeting,
) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(greeting) }.map_or(std::ptr::null(), |g| g.variant.as_ptr())
    })
}

/// The rendered text (borrowed; NULL for NULL): HTML-escaped for web and e-mail, plain for SMS,
/// app and in-store. SMS text longer than `rapport_greeting_settings.sms_max_chars` characters
/// (160 by default) and app text longer than `app_max_chars` (178 by default) is cut to that
/// many on a word boundary unless the last one lies in the first half, ending in `...` for SMS
/// (inside the GSM 7-bit alphabet) and `…` for the app.
///
/// # Safety
/// `greeting` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_greeting_text(greeting: *const rapport_greeting) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(greeting) }.map_or(std::ptr::null(), |g| g.text.as_ptr())
    })
}

/// Score of the chosen variant (affinity + audience prior + boost); NaN for NULL.
///
/// # Safety
/// `greeting` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_greeting_score(greeting: *const rapport_greeting) -> f32 {
    boundary_value(f32::NAN, || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(greeting) }.map_or(f32::NAN, |g| g.score)
    })
}

/// True when the customer is unknown to the engine and the greeting is a generic one (false
/// for NULL).
///
/// # Safety
/// `greeting` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_greeting_generic(greeting: *const rapport_greeting) -> bool {
    boundary_value(false, || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(greeting) }.is_some_and(|g| g.generic)
    })
}

/// Locale of the chosen variant (`"en"`, `"en-GB"`, …; borrowed; NULL for NULL).
///
/// # Safety
/// `greeting` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_greeting_locale(
    greeting: *const rapport_greeting,
) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(greeting) }.map_or(std::ptr::null(), |g| g.locale.as_ptr())
    })
}

/// Why the variant was chosen, as English text (`"standard for an active customer · affinity
/// +0.412 (category) + audience prior 0.15"`, plus what triggered a proactive kind); borrowed;
/// NULL for NULL.
///
/// # Safety
/// `greeting` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_greeting_reason(
    greeting: *const rapport_greeting,
) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(greeting) }.map_or(std::ptr::null(), |g| g.reason.as_ptr())
    })
}

/// Kind of the chosen variant; writes it to `*out`.
///
/// # Safety
/// `greeting` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_greeting_get_kind(
    greeting: *const rapport_greeting,
    out: *mut rapport_greeting_kind,
) -> rapport_status {
    boundary(|| {
        // SAFETY: NULL or live by the caller's contract.
        let g =
            unsafe { get(greeting) }.ok_or_else(|| crate::boundary::FfiError::null("greeting"))?;
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { write_out(out, g.kind, "out") }
    })
}

/// Number of featured products, best first (0 for NULL or when the variant features none).
///
/// # Safety
/// `greeting` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_greeting_featured_products_len(
    greeting: *const rapport_greeting,
) -> usize {
    boundary_value(0, || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(greeting) }.map_or(0, |g| g.products.len())
    })
}

/// Id of featured product `i` (borrowed; NULL when out of range).
///
/// # Safety
/// `greeting` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_greeting_featured_product_id(
    greeting: *const rapport_greeting,
    i: usize,
) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(greeting) }
            .and_then(|g| g.products.get(i))
            .map_or(std::ptr::null(), |p| p.as_ptr())
    })
}

/// Number of runners-up: the next eligible variants, best first, for A/B tests. At most
/// `rapport_greeting_settings.runners_up` (3 by default), fewer when fewer variants are
/// eligible; 0 for a built-in greeting and for NULL.
///
/// # Safety
/// `greeting` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_greeting_runners_up_len(
    greeting: *const rapport_greeting,
) -> usize {
    boundary_value(0, || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(greeting) }.map_or(0, |g| g.runners_up.len())
    })
}

/// Variant id of runner-up `i` (0 = best; borrowed; NULL when out of range).
///
/// # Safety
/// `greeting` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_greeting_runner_up_variant_id(
    greeting: *const rapport_greeting,
    i: usize,
) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { rapport_greeting::runner_up(greeting, i) }
            .map_or(std::ptr::null(), |r| r.variant.as_ptr())
    })
}

/// Rendered text of runner-up `i`, escaped and cut like `rapport_greeting_text` (borrowed;
/// NULL when out of range).
///
/// # Safety
/// `greeting` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_greeting_runner_up_text(
    greeting: *const rapport_greeting,
    i: usize,
) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { rapport_greeting::runner_up(greeting, i) }
            .map_or(std::ptr::null(), |r| r.text.as_ptr())
    })
}

/// Score of runner-up `i` (at most the chosen greeting's score); NaN when out of range.
///
/// # Safety
/// `greeting` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_greeting_runner_up_score(
    greeting: *const rapport_greeting,
    i: usize,
) -> f32 {
    boundary_value(f32::NAN, || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { rapport_greeting::runner_up(greeting, i) }.map_or(f32::NAN, |r| r.score)
    })
}

/// Why runner-up `i` ranked where it did, as `rapport_greeting_reason` (borrowed; NULL when out
/// of range).
///
/// # Safety
/// `greeting` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_greeting_runner_up_reason(
    greeting: *const rapport_greeting,
    i: usize,
) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { rapport_greeting::runner_up(greeting, i) }
            .map_or(std::ptr::null(), |r| r.reason.as_ptr())
    })
}

struct RetentionRow {
    period: CString,
    start: i64,
    active: usize,
    retained: usize,
    retention_rate: f64,
    churn_rate: f64,
}

/// NPS, CSAT, CES and retention per period. Values and counts cover the survey answers inside
/// the window the report was asked for (every answer without one). Library-owned; from
/// `rapport_engine_feedback_report`, freed with `rapport_feedback_report_free`.
pub struct rapport_feedback_report {
    nps: Option<f64>,
    promoters: usize,
    passives: usize,
    detractors: usize,
    csat: Option<f64>,
    csat_responses: usize,
    ces: Option<f64>,
    ces_responses: usize,
    retention: Vec<RetentionRow>,
}

impl rapport_feedback_report {
    pub(crate) fn boxed(r: FeedbackReport) -> *mut Self {
        Box::into_raw(Box::new(rapport_feedback_report {
            nps: r.nps,
            promoters: r.promoters,
            passives: r.passives,
            detractors: r.detractors,
            csat: r.csat,
            csat_responses: r.csat_responses,
            ces: r.ces,
            ces_responses: r.ces_responses,
            retention: r
                .retention
                .into_iter()
                .map(|p| RetentionRow {
                    period: c_string(&p.period),
                    start: p.start.0,
                    active: p.active,
                    retained: p.retained,
                    retention_rate: p.retention_rate,
                    churn_rate: p.churn_rate,
                })
                .collect(),
        }))
    }

    /// Borrows retention row `i`.
    ///
    /// # Safety
    /// `r` is NULL or live.
    unsafe fn row<'a>(r: *const Self, i: usize) -> Option<&'a RetentionRow> {
        // SAFETY: forwarded contract.
        unsafe { get(r) }.and_then(|r| r.retention.get(i))
    }

    /// An optional value of the report: written to `out` (NaN when absent), and whether it is
    /// present.
    ///
    /// # Safety
    /// `r` is NULL or live; `out` is NULL or writable.
    unsafe fn optional(r: *const Self, value: fn(&Self) -> Option<f64>, out: *mut f64) -> bool {
        // SAFETY: forwarded contract.
        let v = unsafe { get(r) }.and_then(value);
        // SAFETY: forwarded contract.
        unsafe { write_opt_out(out, v.unwrap_or(f64::NAN)) };
        v.is_some()
    }
}

/// Releases a feedback report; NULL is a no-op. Strings borrowed from it become invalid.
///
/// # Safety
/// `report` is NULL or a pointer from this library not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_feedback_report_free(report: *mut rapport_feedback_report) {
    // SAFETY: forwarded contract.
    unsafe { free(report) }
}

/// The Net Promoter Score in [−100, 100]: % promoters (answers 9–10) − % detractors (0–6) of
/// the NPS answers in the window. Returns true and writes it to `*out`; returns false
/// and writes NaN when there is no NPS answer (false for NULL). `out` may be NULL to ask only
/// whether there is a value.
///
/// # Safety
/// `report` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_feedback_report_nps(
    report: *const rapport_feedback_report,
    out: *mut f64,
) -> bool {
    boundary_value(false, || {
        // SAFETY: NULL or live, and NULL or writable, by the caller's contract.
        unsafe { rapport_feedback_report::optional(report, |r| r.nps, out) }
    })
}

/// NPS answers 9–10 in the window (0 for NULL).
///
/// # Safety
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_feedback_report_promoters(
    report: *const rapport_feedback_report,
) -> usize {
    // SAFETY: NULL or live by the caller's contract.
    boundary_value(0, || unsafe { get(report) }.map_or(0, |r| r.promoters))
}

/// NPS answers 7–8 in the window (0 for NULL).
///
/// # Safety
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_feedback_report_passives(
    report: *const rapport_feedback_report,
) -> usize {
    // SAFETY: NULL or live by the caller's contract.
    boundary_value(0, || unsafe { get(report) }.map_or(0, |r| r.passives))
}

/// NPS answers 0–6 in the window (0 for NULL).
///
/// # Safety
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_feedback_report_detractors(
    report: *const rapport_feedback_report,
) -> usize {
    // SAFETY: NULL or live by the caller's contract.
    boundary_value(0, || unsafe { get(report) }.map_or(0, |r| r.detractors))
}

/// CSAT: the % of CSAT answers in the window that are 4 or 5, in [0, 100]. Returns true and
/// writes it to `*out`; returns false and writes NaN when there is no CSAT answer (false for
/// NULL). `out` may be NULL to ask only whether there is a value.
///
/// # Safety
/// `report` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_feedback_report_csat(
    report: *const rapport_feedback_report,
    out: *mut f64,
) -> bool {
    boundary_value(false, || {
        // SAFETY: NULL or live, and NULL or writable, by the caller's contract.
        unsafe { rapport_feedback_report::optional(report, |r| r.csat, out) }
    })
}

/// CSAT answers in the window (0 for NULL).
///
/// # Safety
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_feedback_report_csat_responses(
    report: *const rapport_feedback_report,
) -> usize {
    // SAFETY: NULL or live by the caller's contract.
    boundary_value(0, || unsafe { get(report) }.map_or(0, |r| r.csat_responses))
}

/// CES: the mean CES answer in the window, in [1, 7] (higher is more effort). Returns true and
/// writes it to `*out`; returns false and writes NaN when there is no CES answer (false for
/// NULL). `out` may be NULL to ask only whether there is a value.
///
/// # Safety
/// `report` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_feedback_report_ces(
    report: *const rapport_feedback_report,
    out: *mut f64,
) -> bool {
    boundary_value(false, || {
        // SAFETY: NULL or live, and NULL or writable, by the caller's contract.
        unsafe { rapport_feedback_report::optional(report, |r| r.ces, out) }
    })
}

/// CES answers in the window (0 for NULL).
///
/// # Safety
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_feedback_report_ces_responses(
    report: *const rapport_feedback_report,
) -> usize {
    // SAFETY: NULL or live by the caller's contract.
    boundary_value(0, || unsafe { get(report) }.map_or(0, |r| r.ces_responses))
}

/// Number of retention rows, oldest period first (0 for NULL).
///
/// # Safety
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_feedback_report_retention_len(
    report: *const rapport_feedback_report,
) -> usize {
    boundary_value(0, || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(report) }.map_or(0, |r| r.retention.len())
    })
}

/// Label of the period of retention row `i` (`"2024-03"` for months, `"2024-Q1"` for
/// quarters); borrowed; NULL when out of range.
///
/// # Safety
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_feedback_report_retention_period(
    report: *const rapport_feedback_report,
    i: usize,
) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { rapport_feedback_report::row(report, i) }
            .map_or(std::ptr::null(), |p| p.period.as_ptr())
    })
}

/// First second of the period of retention row `i` (Unix seconds, UTC); `INT64_MIN` when
/// out of range (or `report` is NULL), which no period starts at (0 is 1970-01-01).
///
/// # Safety
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_feedback_report_retention_start(
    report: *const rapport_feedback_report,
    i: usize,
) -> i64 {
    boundary_value(i64::MIN, || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { rapport_feedback_report::row(report, i) }.map_or(i64::MIN, |p| p.start)
    })
}

/// Customers with a purchase in the period of retention row `i`; 0 when out of range.
///
/// # Safety
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_feedback_report_retention_active(
    report: *const rapport_feedback_report,
    i: usize,
) -> usize {
    boundary_value(0, || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { rapport_feedback_report::row(report, i) }.map_or(0, |p| p.active)
    })
}

/// Of the active customers of retention row `i`, those with a purchase in the next period; 0
/// when out of range.
///
/// # Safety
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_feedback_report_retention_retained(
    report: *const rapport_feedback_report,
    i: usize,
) -> usize {
    boundary_value(0, || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { rapport_feedback_report::row(report, i) }.map_or(0, |p| p.retained)
    })
}

/// Retention of row `i`, `retained / active` in [0, 1]; NaN when out of range.
///
/// # Safety
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_feedback_report_retention_rate(
    report: *const rapport_feedback_report,
    i: usize,
) -> f64 {
    boundary_value(f64::NAN, || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { rapport_feedback_report::row(report, i) }.map_or(f64::NAN, |p| p.retention_rate)
    })
}

/// Churn of row `i`, `1 − retention` in [0, 1]; NaN when out of range.
///
/// # Safety
/// `report` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_feedback_report_retention_churn_rate(
    report: *const rapport_feedback_report,
    i: usize,
) -> f64 {
    boundary_value(f64::NAN, || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { rapport_feedback_report::row(report, i) }.map_or(f64::NAN, |p| p.churn_rate)
    })
}

/// A byte buffer owned by the library (a serialised engine). From `rapport_engine_to_bytes`,
/// freed with `rapport_bytes_free`.
pub struct rapport_bytes {
    bytes: Vec<u8>,
}

impl rapport_bytes {
    pub(crate) fn boxed(bytes: Vec<u8>) -> *mut Self {
        Box::into_raw(Box::new(rapport_bytes { bytes }))
    }
}

/// Releases a byte buffer; NULL is a no-op. `rapport_bytes_data` pointers become invalid.
///
/// # Safety
/// `bytes` is NULL or a pointer from this library not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_bytes_free(bytes: *mut rapport_bytes) {
    // SAFETY: forwarded contract.
    unsafe { free(bytes) }
}

/// The bytes (borrowed, `rapport_bytes_len` of them; NULL for NULL).
///
/// # Safety
/// `bytes` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_bytes_data(bytes: *const rapport_bytes) -> *const u8 {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or live by the caller's contract.
        unsafe { get(bytes) }.map_or(std::ptr::null(), |b| b.bytes.as_ptr())
    })
}

/// Number of bytes (0 for NULL).
///
/// # Safety
/// `bytes` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_bytes_len(bytes: *const rapport_bytes) -> usize {
    // SAFETY: NULL or live by the caller's contract.
    boundary_value(0, || unsafe { get(bytes) }.map_or(0, |b| b.bytes.len()))
}
