//! Greeting latency: one `Engine::greet` call with 50 registered variants at 64 factors, and
//! the cost of engagement at the default 256 factors (one click event; a refresh of the caches
//! after every customer has engaged with three variants; a purchase folded in by
//! `Engine::observe` before and after the customers engaged).
//!
//! A synthetic shop: 2,000 customers, 2,000 products in 20 categories, about 25 purchase lines
//! per customer over a year, ALS with 64 factors. The 50 variants mix category offers, featured
//! products, audience-restricted and proactive messages and per-channel hellos. The caches are
//! refreshed once ([`rapport::Engine::refresh_greetings`]), as a shop would after training.

use criterion::{Criterion, criterion_group, criterion_main};
use rapport::als::AlsConfig;
use rapport::greeting::{Audience, Engagement, GreetingKind, Variant};
use rapport::{Channel, CustomerInfo, Engine, EngineConfig, Product, Purchase, Segment, Timestamp};
use std::hint::black_box;

const CUSTOMERS: usize = 2_000;
const PRODUCTS: usize = 2_000;
const CATEGORIES: usize = 20;

/// A seeded xorshift64 draw in `0..n`: the same shop on every run, without a dependency.
fn xorshift(seed: u64) -> impl FnMut(usize) -> usize {
    let mut state = seed;
    move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    }
}

fn shop(factors: usize) -> (Engine, Vec<String>, Timestamp) {
    let mut e = Engine::new(EngineConfig {
        als: AlsConfig {
            factors,
            iterations: 5,
            ..Default::default()
        },
        ..Default::default()
    });
    let mut rand = xorshift(0x9e37_79b9_7f4a_7c15);
    let start = Timestamp::parse("2024-01-01").unwrap();
    let mut ids = Vec::with_capacity(CUSTOMERS);
    for c in 0..CUSTOMERS {
        let id = format!("cust-{c}");
        let favourite = [rand(CATEGORIES), rand(CATEGORIES)];
        for order in 0..(2 + rand(8)) {
            let day = rand(365) as f64;
            for _ in 0..(1 + rand(5)) {
                let cat = if rand(4) == 0 {
                    rand(CATEGORIES)
                } else {
                    favourite[rand(2)]
                };
                let p = cat * (PRODUCTS / CATEGORIES) + rand(PRODUCTS / CATEGORIES);
                e.record_purchase(&Purchase {
                    customer: id.clone(),
                    product: format!("p{p}"),
                    timestamp: start.plus_days(day),
                    quantity: 1.0,
                    unit_price: 3.5,
                    order: Some(format!("{id}-{order}")),
                })
                .unwrap();
            }
        }
        e.upsert_customer(CustomerInfo {
            id: id.clone(),
            first_name: (c % 5 != 0).then(|| format!("Name{c}")),
            locale: Some("en-GB".into()),
            channel: None,
        })
        .unwrap();
        ids.push(id);
    }
    for p in 0..PRODUCTS {
        e.upsert_product(Product {
            id: format!("p{p}"),
            name: format!("Product number {p}"),
            category: Some(format!("category-{}", p / (PRODUCTS / CATEGORIES))),
            price: Some(3.5),
            in_stock: p % 17 != 0,
        })
        .unwrap();
    }
    e.train().unwrap();

    let mut variants = Vec::new();
    for c in 0..CATEGORIES {
        variants.push(Variant {
            id: format!("category-{c}"),
            template: "{first_name|Hello}, new in {top_category|the shop}: {product}".into(),
            category: Some(format!("category-{c}")),
            ..Default::default()
        });
    }
    for f in 0..10 {
        variants.push(Variant {
            id: format!("featured-{f}"),
            template: "Hi {first_name|there}, {product} is back".into(),
            featured_products: (0..3).map(|k| format!("p{}", f * 150 + k * 7)).collect(),
            ..Default::default()
        });
    }
    for (i, seg) in Segment::ALL.iter().enumerate() {
        variants.push(Variant {
            id: format!("segment-{i}"),
            template: "{first_name|Hello}, {order_count|lots of} orders so far!".into(),
            audience: Audience {
                segments: vec![*seg],
                ..Default::default()
            },
            ..Default::default()
        });
    }
    for (i, kind) in [
        GreetingKind::WinBack,
        GreetingKind::PostPurchase,
        GreetingKind::Replenishment,
        GreetingKind::ServiceRecovery,
        GreetingKind::WinBack,
    ]
    .into_iter()
    .enumerate()
    {
        let template = match kind {
            GreetingKind::Replenishment => "Time for more {replenish_product}?",
            GreetingKind::ServiceRecovery => "{first_name|Hello}, we're sorry.",
            _ => "{first_name|Hello}, it's been {days_since_last_order} days",
        };
        variants.push(Variant {
            id: format!("proactive-{i}"),
            template: template.into(),
            kind,
            ..Default::default()
        });
    }
    for (i, ch) in Channel::ALL.iter().chain(&Channel::ALL).enumerate() {
        variants.push(Variant {
            id: format!("hello-{i}"),
            template: "Good {part_of_day}, {first_name|there}!".into(),
            channels: vec![*ch],
            hours: (i >= 5).then_some(rapport::greeting::Hours { from: 6, to: 20 }),
            ..Default::default()
        });
    }
    assert_eq!(variants.len(), 50);
    e.add_greeting_variants(variants).unwrap();
    let at = start.plus_days(366.4);
    e.refresh_greetings(at).unwrap();
    (e, ids, at)
}

fn greet(c: &mut Criterion) {
    let (engine, ids, at) = shop(64);
    let mut i = 0;
    c.bench_function("greet/50 variants/64 factors", |b| {
        b.iter(|| {
            i = (i + 1) % ids.len();
            black_box(engine.greet(&ids[i], Channel::Web, at).unwrap())
        })
    });
    c.bench_function("greet/unknown customer", |b| {
        b.iter(|| black_box(engine.greet("visitor", Channel::Sms, at).unwrap()))
    });
}

fn engagement(c: &mut Criterion) {
    let (mut engine, ids, at) = shop(256);
    let variants: Vec<String> = engine
        .greetings()
        .variants()
        .map(|v| v.id.clone())
        .take(10)
        .collect();
    // a new order folded in at once (an engaged customer's greeting sums move to the new
    // vector too); each call is a new order, so that the customer's counts change
    let mut orders = 0u64;
    let mut observe = |engine: &mut Engine, i: usize| {
        orders += 1;
        engine
            .observe(&Purchase {
                customer: ids[i].clone(),
                product: "p5".into(),
                timestamp: at,
                quantity: 1.0,
                unit_price: 3.5,
                order: Some(format!("bench-{orders}")),
            })
            .unwrap()
    };
    let mut i = 0;
    c.bench_function("greet/observe/not engaged/256 factors", |b| {
        b.iter(|| {
            i = (i + 1) % ids.len();
            observe(&mut engine, i)
        })
    });
    for (i, id) in ids.iter().enumerate() {
        for k in 0..3 {
            let v = &variants[(i + k * 3) % variants.len()];
            engine
                .record_engagement(id, v, Engagement::Impression)
                .unwrap();
            if (i + k) % 2 == 0 {
                engine.record_engagement(id, v, Engagement::Click).unwrap();
            }
        }
    }
    c.bench_function("greet/observe/engaged/256 factors", |b| {
        b.iter(|| {
            i = (i + 1) % ids.len();
            observe(&mut engine, i)
        })
    });
    c.bench_function("greet/refresh after engagement/256 factors", |b| {
        b.iter(|| engine.refresh_greetings(at).unwrap())
    });
    let mut i = 0;
    c.bench_function("greet/click event/256 factors", |b| {
        b.iter(|| {
            i = (i + 1) % ids.len();
            let v = &variants[i % variants.len()];
            engine
                .record_engagement(&ids[i], v, Engagement::Click)
                .unwrap()
        })
    });
}

/// One "picked for you" variant whose `{product}` comes from the whole catalog: 100,000
/// products at 64 factors, about 2 % sold out, so the pick scans the catalog (int8 from 2,048
/// products on) minus the sold-out and owned ones.
fn catalog_wide_pick(c: &mut Criterion) {
    const BIG: usize = 100_000;
    let mut e = Engine::new(EngineConfig {
        als: AlsConfig {
            factors: 64,
            iterations: 3,
            ..Default::default()
        },
        ..Default::default()
    });
    let start = Timestamp::parse("2024-01-01").unwrap();
    let mut rand = xorshift(0x2545_f491_4f6c_dd1d);
    let ids: Vec<String> = (0..2_000).map(|c| format!("cust-{c}")).collect();
    for (c, id) in ids.iter().enumerate() {
        let home = c % 100 * (BIG / 100);
        for j in 0..20 {
            let p = if j % 4 == 3 {
                rand(BIG)
            } else {
                home + rand(BIG / 100)
            };
            e.record_purchase(&Purchase {
                customer: id.clone(),
                product: format!("p{p}"),
                timestamp: start.plus_days(rand(365) as f64),
                quantity: 1.0,
                unit_price: 3.5,
                order: None,
            })
            .unwrap();
        }
    }
    for p in 0..BIG {
        e.upsert_product(Product {
            id: format!("p{p}"),
            name: format!("Product number {p}"),
            category: None,
            price: Some(3.5),
            in_stock: p % 50 != 7,
        })
        .unwrap();
    }
    e.train().unwrap();
    e.add_greeting_variants(vec![Variant {
        id: "picked".into(),
        template: "Picked for you: {product}".into(),
        ..Default::default()
    }])
    .unwrap();
    let at = start.plus_days(366.0);
    e.refresh_greetings(at).unwrap();
    let mut i = 0;
    c.bench_function("greet/catalog-wide pick/100k products", |b| {
        b.iter(|| {
            i = (i + 1) % ids.len();
            black_box(e.greet(&ids[i], Channel::Web, at).unwrap())
        })
    });
}

criterion_group!(benches, greet, engagement, catalog_wide_pick);
criterion_main!(benches);
