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
use rapport::greeting::Engagement;
use rapport::{Channel, CustomerInfo, Engine, EngineConfig, Product, Purchase, Score, Timestamp};
use std::sync::LazyLock;

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

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
