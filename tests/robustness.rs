//! Robustness of the public API against arbitrary and adversarial input.
//!
//! The contract under test: bad input gives a typed [`rapport::Error`] or a documented
//! behaviour, never a panic and never silent data loss. Property tests feed arbitrary bytes,
//! mutated Online Retail rows, extreme event values, corrupted model files and hostile greeting
//! text; the plain tests below them pin down each problem the properties found.
//!
//! Case counts are kept modest so the file runs in seconds in a debug build (where integer
//! overflow is checked).

use rapport::als::AlsConfig;
use rapport::greeting::{Engagement, Variant};
use rapport::{
    Channel, CustomerInfo, Engine, EngineConfig, Error, History, IngestOptions, IngestReport,
    Product, Purchase, RecommendOptions, Score, Timestamp, read_csv,
};
use std::sync::LazyLock;

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

const HEADER: &str =
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country";

/// A tiny, fast model configuration.
fn tiny() -> EngineConfig {
    EngineConfig {
        als: AlsConfig {
            factors: 4,
            iterations: 2,
            cg_steps: 1,
            threads: 1,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn purchase(customer: &str, product: &str, ts: i64, order: Option<&str>) -> Purchase {
    Purchase {
        customer: customer.into(),
        product: product.into(),
        timestamp: Timestamp(ts),
        quantity: 1.0,
        unit_price: 2.5,
        order: order.map(Into::into),
    }
}

const DAY: i64 = 86_400;
const T0: i64 = 1_300_000_000; // 2011-03-13

/// Twelve customers over eight products in two categories, trained, with the default greetings.
fn small_shop() -> Engine {
    let mut e = Engine::new(tiny());
    let tea = ["green-tea", "black-tea", "teapot", "tea-cups"];
    let coffee = ["espresso", "grinder", "mocha-pot", "coffee-mugs"];
    for c in 0..12i64 {
        let (name, set) = if c < 6 {
            (format!("t{c}"), tea)
        } else {
            (format!("c{c}"), coffee)
        };
        for (j, p) in set.iter().enumerate() {
            if (c as usize + j) % 4 != 0 {
                let ts = T0 + (c * 3 + j as i64) * DAY;
                e.record_purchase(&purchase(&name, p, ts, None)).unwrap();
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
    e.upsert_customer(CustomerInfo {
        id: "t1".into(),
        first_name: Some("Ada".into()),
        locale: Some("en-GB".into()),
        channel: Some(Channel::Email),
    })
    .unwrap();
    e.train().unwrap();
    e.load_default_greetings().unwrap();
    e.refresh_greetings(Timestamp(T0 + 60 * DAY)).unwrap();
    e.record_feedback("c7", Score::Nps(2), Timestamp(T0 + 61 * DAY))
        .unwrap();
    e.record_engagement("t2", "hello-web", Engagement::Click)
        .unwrap();
    e
}

static SHOP: LazyLock<Engine> = LazyLock::new(small_shop);

fn read_all(bytes: &[u8], options: &IngestOptions) -> (rapport::Result<IngestReport>, History) {
    let mut h = History::new();
    let r = read_csv(bytes, options, &mut h);
    (r, h)
}

fn check_profiles(e: &Engine, as_of: Timestamp) {
    let profiles = match e.profiles(as_of) {
        Ok(p) => p,
        Err(err) => panic!("profiles as of {as_of:?} failed: {err}"),
    };
    assert_eq!(profiles.len(), e.history().customer_count());
    for p in profiles.iter() {
        for (what, v) in [
            ("churn_risk", p.churn_risk),
            ("prob_no_purchase_12m", p.prob_no_purchase_12m),
        ] {
            assert!((0.0..=1.0).contains(&v), "{what} = {v} for {p:?}");
        }
        for (what, v) in [
            ("units", p.units),
            ("total_spend", p.total_spend),
            ("average_order_value", p.average_order_value),
            ("expected_orders_12m", p.expected_orders_12m),
            ("expected_value_12m", p.expected_value_12m),
        ] {
            assert!(!v.is_nan() && v >= 0.0, "{what} = {v} for {p:?}");
        }
        if let Some(d) = p.median_days_between_orders {
            assert!(d.is_finite() && d >= 0.0);
        }
        for s in [p.rfm.recency, p.rfm.frequency, p.rfm.monetary] {
            assert!(s <= 5);
        }
        if p.orders > 0 {
            assert!(p.first_purchase.unwrap() <= as_of && p.last_purchase.unwrap() <= as_of);
        }
    }
}

/// 40 customers buying every 3 to 12 days for a year: enough for the BG/NBD and Gamma-Gamma fits.
fn modelled_base() -> Engine {
    let mut e = Engine::new(tiny());
    for c in 0..40i64 {
        let gap = 3 + c % 10;
        let mut t = T0 + c * 3_600;
        let mut n = 0;
        while t < T0 + (100 + 7 * c) * DAY && n < 1 + c % 7 {
            let p = purchase(
                &format!("b{c}"),
                &format!("{}", 20_000 + (c * 7 + n) % 13),
                t,
                None,
            );
            e.record_purchase(&Purchase {
                unit_price: 1.0 + (c % 5) as f64,
                ..p
            })
            .unwrap();
            t += gap * DAY;
            n += 1;
        }
    }
    e
}

static BASE: LazyLock<Engine> = LazyLock::new(modelled_base);

// ---------------------------------------------------------------------------------------------
// Regressions: each problem the properties above found, as a minimal deterministic test
// ---------------------------------------------------------------------------------------------

/// `similar` with k = 0 is an empty list (the top-k selector's threshold indexed an empty heap).
#[test]
fn similar_with_k_zero_is_empty() {
    assert!(SHOP.similar("teapot", 0).unwrap().is_empty());
    assert_eq!(rapport::topk::TopK::new(0).threshold(), f32::INFINITY);
    assert_eq!(SHOP.similar("teapot", usize::MAX).unwrap().len(), 7);
}

/// `days_since` and `plus_days` are defined for every timestamp: the day difference of the two
/// ends of the `i64` range used to overflow, and moves past either end now saturate.
#[test]
fn timestamp_arithmetic_at_the_ends_of_the_range() {
    let (min, max) = (Timestamp(i64::MIN), Timestamp(i64::MAX));
    let span = u64::MAX as f64 / 86_400.0;
    assert_eq!(max.days_since(min), span);
    assert_eq!(min.days_since(max), -span);
    assert_eq!(Timestamp(0).days_since(min), 2f64.powi(63) / 86_400.0);
    assert_eq!(max.plus_days(1.0), max);
    assert_eq!(min.plus_days(-1.0), min);
    assert_eq!(Timestamp(5).plus_days(f64::INFINITY), max);
    assert_eq!(Timestamp(5).plus_days(f64::NEG_INFINITY), min);
    assert_eq!(Timestamp(5).plus_days(f64::NAN), Timestamp(5));
    assert_eq!(Timestamp(0).plus_days(1.5), Timestamp(129_600));
}

/// Profiles as of a far date of a customer who bought at the start of the `i64` range: the
/// favourite-product decay measured the age with an overflowing subtraction.
#[test]
fn profiles_span_the_whole_timestamp_range() {
    let mut e = Engine::new(tiny());
    e.record_purchase(&purchase("ann", "mug", i64::MIN, None))
        .unwrap();
    e.record_purchase(&purchase("bob", "mug", i64::MAX, None))
        .unwrap();
    for as_of in [i64::MIN, -1, 0, 253_402_300_799, i64::MAX] {
        check_profiles(&e, Timestamp(as_of));
    }
    let p = e.profiles(Timestamp(i64::MAX)).unwrap();
    let ann = p.by_id("ann").unwrap();
    assert_eq!(
        ann.days_since_last_purchase,
        Some(u64::MAX as f64 / 86_400.0)
    );
    assert_eq!(ann.favourite_products, vec![(0, 0.0)]);
}

/// Training with a purchase at the start of the `i64` range: the popularity window's start
/// (30 days before the latest purchase) used to overflow.
#[test]
fn training_with_purchases_at_the_ends_of_the_range() {
    let mut e = Engine::new(tiny());
    e.record_purchase(&purchase("ann", "mug", i64::MIN, None))
        .unwrap();
    e.train().unwrap();
    let r = e.recommend("nobody", &RecommendOptions::default()).unwrap();
    assert!(r.fallback);
    assert_eq!(r.items.len(), 1);
    // a negative window reaches past the latest purchase: empty, so all history counts
    let mut e = Engine::new(EngineConfig {
        popularity_window_days: -1e300,
        ..tiny()
    });
    e.record_purchase(&purchase("ann", "mug", T0, None))
        .unwrap();
    e.train().unwrap();
    let r = e.recommend("nobody", &RecommendOptions::default()).unwrap();
    assert_eq!((r.items.len(), r.items[0].score), (1, 1.0));
}

/// A line whose quantity × price overflows to infinity is refused, by `record_purchase` with a
/// typed error and by the CSV reader as an unparsable row; it used to be stored and made the
/// customer's spend infinite.
#[test]
fn overflowing_line_amounts_are_refused() {
    let mut e = Engine::new(tiny());
    let p = Purchase {
        quantity: 1e200,
        unit_price: 1e200,
        ..purchase("ann", "mug", T0, None)
    };
    assert!(matches!(
        e.record_purchase(&p),
        Err(Error::InvalidWeight { value, .. }) if value == f64::INFINITY
    ));
    assert!(e.history().lines().is_empty());
    assert!(e.history().customers().is_empty(), "nothing stored");
    let text = format!(
        "{HEADER}\n536365,85123A,HEART,1e200,12/1/2010 8:26,1e200,17850,UK\n\
         536366,71053,LANTERN,6,12/1/2010 8:28,3.39,17850,UK\n"
    );
    let (r, h) = read_all(text.as_bytes(), &IngestOptions::online_retail());
    let r = r.unwrap();
    assert_eq!((r.rows_read, r.kept, r.unparsable), (2, 1, 1));
    assert_eq!(r.unparsable_lines, vec![2]);
    assert_eq!(h.lines().len(), 1);
    let strict = IngestOptions {
        strict: true,
        ..IngestOptions::online_retail()
    };
    assert!(matches!(
        read_all(text.as_bytes(), &strict).0,
        Err(Error::BadRow { line: 2, .. })
    ));
}

/// Spend totals that overflow over several lines leave expected values at 0 for a customer
/// with no expected purchase, not NaN (0 × ∞).
#[test]
fn overflowing_spend_totals_give_no_nan_in_profiles() {
    let mut e = Engine::new(tiny());
    for product in ["mug", "tea"] {
        e.record_purchase(&Purchase {
            quantity: 1e154,
            unit_price: 1e154,
            ..purchase("ann", product, T0, Some("o1"))
        })
        .unwrap();
    }
    let p = e.profiles(Timestamp(T0 + DAY)).unwrap();
    let ann = p.by_id("ann").unwrap();
    assert_eq!(ann.total_spend, f64::INFINITY);
    assert_eq!(ann.expected_orders_12m, 0.0);
    assert_eq!(ann.expected_value_12m, 0.0);
    check_profiles(&e, Timestamp(T0 + DAY));
}

/// A product moved to another category after `refresh_greetings`: the engine used to save but
/// not load again (its category index no longer matched the catalog: `Corrupted`), and
/// greetings looked the new category up in the stale index and found no product.
#[test]
fn category_changes_after_refreshing_greetings() {
    let mut e = small_shop();
    e.upsert_product(Product {
        category: Some("kitchen".into()),
        ..Product::bare("teapot")
    })
    .unwrap();
    e.add_greeting_variant(Variant {
        id: "kitchen".into(),
        template: "New in the kitchen: {product}".into(),
        category: Some("kitchen".into()),
        boost: 10.0,
        ..Variant::default()
    })
    .unwrap();
    let at = Timestamp(T0 + 70 * DAY);
    let g = e.greet("c8", Channel::InStore, at).unwrap();
    assert_eq!(
        (g.variant.as_str(), g.products.as_slice()),
        ("kitchen", &["teapot".to_owned()][..])
    );
    let back = Engine::from_bytes(&e.to_bytes().unwrap()).unwrap();
    assert_eq!(back.greet("c8", Channel::InStore, at).unwrap(), g);
    // a file saved with the stale index loads too, and greets the same once refreshed
    let mut stale = small_shop();
    stale.history_mut();
    stale.refresh_greetings(Timestamp(T0 + 60 * DAY)).unwrap();
    let mut moved = stale.clone();
    moved
        .history_mut()
        .catalog_mut()
        .upsert(Product {
            category: Some("kitchen".into()),
            ..Product::bare("teapot")
        })
        .unwrap();
    assert!(Engine::from_bytes(&moved.to_bytes().unwrap()).is_ok());
}

/// Well-formed model files (valid envelope and checksum) whose catalog or customer records do
/// not fit together are `Corrupted`: they used to load, then panic at the first lookup (a
/// category index past the categories in `Catalog::product`, a product id without an entry in
/// `set_in_stock`, customer ids without attribute records in `greet`) or underflow the
/// out-of-stock count in `set_in_stock`, and lines with a negative quantity gave negative
/// units in profiles.
#[test]
fn model_files_whose_catalog_or_customers_do_not_fit_are_corrupted() {
    let good = serde_json::to_value(&*SHOP).unwrap();
    let reload = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good.clone();
        edit(&mut v);
        let e: Engine = serde_json::from_value(v).expect("an engine's serde form");
        Engine::from_bytes(&e.to_bytes().unwrap())
    };
    assert!(reload(&|_| ()).is_ok());
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "a category index past the categories",
            Box::new(|v| v["history"]["catalog"]["entries"][0]["category"] = 99.into()),
        ),
        (
            "a product id without an entry",
            Box::new(|v| {
                v["history"]["catalog"]["ids"]
                    .as_array_mut()
                    .unwrap()
                    .push("ghost".into());
            }),
        ),
        (
            "an out-of-stock count that does not match",
            Box::new(|v| v["history"]["catalog"]["out_of_stock"] = 3.into()),
        ),
        (
            "a negative price",
            Box::new(|v| v["history"]["catalog"]["entries"][0]["price"] = (-1.0).into()),
        ),
        (
            "customer ids without attribute records",
            Box::new(|v| {
                v["history"]["infos"].as_array_mut().unwrap().pop();
            }),
        ),
        (
            "a line with a negative quantity",
            Box::new(|v| v["history"]["lines"][0]["quantity"] = (-2.0).into()),
        ),
    ];
    for (what, edit) in cases {
        assert!(
            matches!(reload(&*edit), Err(Error::Corrupted(_))),
            "{what}: {:?}",
            reload(&*edit).map(|_| ())
        );
    }
}

/// A two-digit year is not a date: `12/1/10 8:26` used to parse as 1 December of the year 10
/// and was silently kept by the CSV reader, even in strict mode.
#[test]
fn two_digit_years_are_not_dates() {
    for bad in [
        "12/1/10 8:26",
        "1/4/11",
        "10-12-01 08:26:00",
        "210-12-01",
        "12/1/02010 8:26",
    ] {
        assert_eq!(Timestamp::parse(bad), None, "{bad}");
    }
    assert_eq!(
        Timestamp::parse("12/1/0010 8:26"),
        Timestamp::from_ymd_hms(10, 12, 1, 8, 26, 0)
    );
    let text = format!("{HEADER}\n536365,85123A,HEART,6,12/1/10 8:26,2.55,17850,UK\n");
    let (r, h) = read_all(text.as_bytes(), &IngestOptions::online_retail());
    let r = r.unwrap();
    assert_eq!((r.rows_read, r.kept, r.unparsable), (1, 0, 1));
    assert!(h.lines().is_empty());
    let strict = IngestOptions {
        strict: true,
        ..IngestOptions::online_retail()
    };
    assert!(matches!(
        read_all(text.as_bytes(), &strict).0,
        Err(Error::BadRow { line: 2, .. })
    ));
}

/// BG/NBD expected purchases of a fitted model with huge Beta parameters (a base where each
/// repeat purchase is followed by dropout with an almost fixed probability): the ₂F₁ series
/// could only stop after |c| ≈ 1.5e7 terms, gave up at 100 000 and returned NaN, which profiles
/// passed on as `expected_orders_12m` and `expected_value_12m` of single-purchase customers.
#[test]
fn expected_purchases_with_huge_beta_parameters() {
    use rapport::clv::{BgNbd, RfmSummary};
    let m = BgNbd {
        r: 0.829_540_489_202_609_6,
        alpha: 7.086_081_884_667_513,
        a: 4_424_015.927_168_623,
        b: 10_615_379.799_317_546,
    };
    // references: the same formula with the series summed directly at 40 digits (mpmath)
    for (t, want) in [
        (0.0, 3.061_317_093_172_419_2),
        (1.0, 3.024_893_233_212_427),
        (50.0, 1.986_218_261_480_031_6),
        (143.0, 1.226_780_157_681_071_4),
        (200.0, 0.995_521_999_742_903),
    ] {
        let got = m.expected_purchases(365.0, &RfmSummary::new(0.0, 0.0, t));
        assert!(
            (got - want).abs() <= 1e-12 * want,
            "T = {t}: {got} vs {want}"
        );
    }
    // the profile that showed it: a base fitted to such parameters and one single-purchase
    // customer
    let mut e = BASE.clone();
    e.record_purchase(&purchase("once", "20001", 1_304_899_200, None))
        .unwrap();
    check_profiles(&e, Timestamp(T0 + 200 * DAY));
    let p = e.profiles(Timestamp(T0 + 200 * DAY)).unwrap();
    assert!(p.bg_nbd.is_some());
    assert!(p.by_id("once").unwrap().expected_orders_12m > 0.0);
}
