//! The hot scoring path: top-10 for one customer over random factor tables of several shapes,
//! top-10 for batches of customers (bare and through the engine, with names and reasons), and
//! fold-in of one customer.
//!
//! `RAPPORT_BENCH_QUICK=1` limits the shapes to 10k and 100k items at 64 factors.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array2;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rapport::als::{AlsConfig, Progress, train, train_with};
use rapport::interactions::{Interactions, Triple};
use rapport::quantized::QuantizedItems;
use rapport::recommender::{Filter, Recommender};
use rapport::topk::top_k;
use std::hint::black_box;
use std::time::Duration;

fn random(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
    let mut rng = SmallRng::seed_from_u64(seed);
    Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.0f32..1.0))
}

fn quick() -> bool {
    std::env::var_os("RAPPORT_BENCH_QUICK").is_some()
}

fn single(c: &mut Criterion) {
    let mut group = c.benchmark_group("top10_single");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let shapes: Vec<(usize, usize)> = if quick() {
        vec![(10_000, 64), (100_000, 64)]
    } else {
        [10_000, 100_000, 1_000_000]
            .iter()
            .flat_map(|&n| [32, 64, 128].map(|f| (n, f)))
            .collect()
    };
    for (n, f) in shapes {
        let items = random(n, f, 1);
        let queries = random(64, f, 2);
        group.throughput(Throughput::Bytes((n * f * 4) as u64));
        let mut q = 0;
        group.bench_function(BenchmarkId::new(format!("f32_{f}f"), n), |b| {
            b.iter(|| {
                q = (q + 1) % 64;
                black_box(top_k(
                    items.view(),
                    queries.row(q).as_slice().unwrap(),
                    10,
                    None,
                ))
            })
        });
        // What recommendations use: the int8 table with exact re-scoring.
        let table = QuantizedItems::new(items.view()).unwrap();
        group.bench_function(BenchmarkId::new(format!("int8_exact_{f}f"), n), |b| {
            b.iter(|| {
                q = (q + 1) % 64;
                black_box(table.top_k(items.view(), queries.row(q).as_slice().unwrap(), 10, None))
            })
        });
    }
    group.finish();
}

/// A recommender whose item table is `items` random vectors, with `users` customers who each
/// bought a few products (so owned products are filtered as in production).
fn model(users: usize, items: usize, f: usize) -> Recommender {
    let mut rng = SmallRng::seed_from_u64(3);
    let triples: Vec<Triple> = (0..users as u32)
        .flat_map(|u| {
            let picks: Vec<u32> = (0..5).map(|_| rng.random_range(0..items as u32)).collect();
            picks.into_iter().map(move |i| Triple {
                user: u,
                item: i,
                weight: 1.0,
            })
        })
        .collect();
    let m = Interactions::from_triples(users, items, &triples).unwrap();
    let cfg = AlsConfig {
        factors: f,
        iterations: 1,
        threads: 2,
        ..Default::default()
    };
    Recommender::train(&m, &cfg).unwrap()
}

/// 64 customers over 100k × 64 on one thread: one by one, and eight per pass over the table.
fn tiled(c: &mut Criterion) {
    let mut group = c.benchmark_group("top10_64_queries");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let items = random(100_000, 64, 1);
    let queries = random(64, 64, 2);
    let refs: Vec<&[f32]> = queries
        .outer_iter()
        .map(|q| q.to_slice().unwrap())
        .collect();
    let table = QuantizedItems::new(items.view()).unwrap();
    group.throughput(Throughput::Elements(64));
    group.bench_function("one_by_one_100000x64", |b| {
        b.iter(|| {
            refs.iter()
                .map(|q| table.top_k(items.view(), q, 10, None))
                .collect::<Vec<_>>()
        })
    });
    group.bench_function("eight_per_pass_100000x64", |b| {
        b.iter(|| black_box(table.top_k_many(items.view(), &refs, 10, &[])))
    });
    group.finish();
}

fn batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("top10_batch");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    let n_items = if quick() { 10_000 } else { 100_000 };
    let rec = model(10_000, n_items, 64);
    for users in [1_000usize, 10_000] {
        let rows: Vec<Option<u32>> = (0..users as u32).map(Some).collect();
        group.throughput(Throughput::Elements(users as u64));
        group.bench_function(BenchmarkId::new(format!("{n_items}x64"), users), |b| {
            b.iter(|| black_box(rec.recommend_batch(&rows, 10)))
        });
    }
    group.finish();
}

/// An engine with 20k products and 5k customers of 20 purchases each (`factors`, 3 sweeps).
fn engine(factors: usize) -> rapport::Engine {
    let mut e = rapport::Engine::new(rapport::EngineConfig {
        als: AlsConfig {
            factors,
            iterations: 3,
            ..Default::default()
        },
        ..Default::default()
    });
    let mut rng = SmallRng::seed_from_u64(9);
    let lines: Vec<rapport::Purchase> = (0..5_000u32)
        .flat_map(|c| (0..20).map(move |j| (c, j)))
        .map(|(c, j)| {
            let p = if j % 4 == 3 {
                rng.random_range(0..20_000u32)
            } else {
                (c % 200) * 100 + rng.random_range(0..100u32)
            };
            rapport::Purchase {
                customer: format!("c{c}"),
                product: format!("p{p}"),
                timestamp: rapport::Timestamp(1_300_000_000 + 3_600 * (c as i64 + j as i64)),
                quantity: 1.0,
                unit_price: 2.0,
                order: None,
            }
        })
        .collect();
    e.record_purchases(&lines).unwrap();
    e.train().unwrap();
    e
}

fn engine_batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine_recommend");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    let e = engine(64);
    let names: Vec<String> = (0..1_000).map(|c| format!("c{c}")).collect();
    let customers: Vec<&str> = names.iter().map(String::as_str).collect();
    let options = rapport::RecommendOptions::default();
    group.throughput(Throughput::Elements(customers.len() as u64));
    group.bench_function("batch_1000_of_20000x64", |b| {
        b.iter(|| black_box(e.recommend_batch(&customers, &options).unwrap()))
    });
    // the same with the co-purchase re-rank
    let mut blended = engine(64);
    blended
        .set_blend(rapport::neighbours::Blend::CO_PURCHASE)
        .unwrap();
    group.bench_function("batch_1000_of_20000x64_co_purchase", |b| {
        b.iter(|| black_box(blended.recommend_batch(&customers, &options).unwrap()))
    });
    // the default factor count
    let wide = engine(256);
    group.bench_function("batch_1000_of_20000x256", |b| {
        b.iter(|| black_box(wide.recommend_batch(&customers, &options).unwrap()))
    });
    group.bench_function("one_call_each_1000_of_20000x64", |b| {
        b.iter(|| black_box(one_call_each(&e, &customers, &options)))
    });
    // a shop with some products sold out: every request applies the stock filter
    let mut stocked = engine(64);
    for p in (0..20_000).step_by(50) {
        let _ = stocked.set_in_stock(&format!("p{p}"), false);
    }
    group.bench_function("one_call_each_1000_of_20000x64_2pct_sold_out", |b| {
        b.iter(|| black_box(one_call_each(&stocked, &customers, &options)))
    });
    group.finish();
}

/// One `Engine::recommend` call per customer, spread over the thread pool: how a service
/// answering separate requests uses the engine, as opposed to `recommend_batch`.
fn one_call_each(
    engine: &rapport::Engine,
    customers: &[&str],
    options: &rapport::RecommendOptions,
) -> Vec<rapport::Recommendations> {
    use rayon::prelude::*;
    customers
        .par_iter()
        .map(|c| engine.recommend(c, options).unwrap())
        .collect()
}

fn fold_in(c: &mut Criterion) {
    let mut rng = SmallRng::seed_from_u64(4);
    let items: Vec<u32> = (0..50).map(|_| rng.random_range(0..20_000)).collect();
    let weights = vec![1.0f32; 50];
    // 256 is the default factor count
    let wide = model(2_000, 20_000, 256);
    // histories short and long against the factor count: the Woodbury route's n × n system
    // grows with the purchases, the Cholesky route's f × f one does not
    let mut group = c.benchmark_group("fold_in_256f");
    for n in [10usize, 120, 200] {
        let items: Vec<u32> = (0..n).map(|_| rng.random_range(0..20_000)).collect();
        let weights = vec![1.0f32; n];
        group.bench_function(format!("{n}_purchases"), |b| {
            b.iter(|| black_box(wide.factors().fold_in(&items, &weights).unwrap()))
        });
    }
    group.finish();
    c.bench_function("fold_in_50_purchases_256f", |b| {
        b.iter(|| black_box(wide.factors().fold_in(&items, &weights).unwrap()))
    });
    c.bench_function("explain_10_of_50_purchases_256f", |b| {
        b.iter(|| {
            black_box(
                wide.factors()
                    .explain(&items, &weights, &items[..10])
                    .unwrap(),
            )
        })
    });
    let rec = model(2_000, 20_000, 64);
    c.bench_function("fold_in_50_purchases_64f", |b| {
        b.iter(|| black_box(rec.factors().fold_in(&items, &weights).unwrap()))
    });
    let v = rec.factors().fold_in(&items, &weights).unwrap();
    c.bench_function("recommend_after_fold_in_20k_64f", |b| {
        b.iter(|| black_box(rec.top_k_for(&v, &items, 10, &Filter::default())))
    });
}

fn als(c: &mut Criterion) {
    let mut group = c.benchmark_group("als");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/data/online_retail_sample.csv");
    let mut engine = rapport::Engine::default();
    engine
        .read_csv_path(sample, &rapport::IngestOptions::online_retail())
        .unwrap();
    let h = engine.history();
    let m =
        Interactions::from_triples(h.customer_count(), h.catalog().len(), &h.order_counts(None))
            .unwrap();
    for f in [64usize, 128] {
        let cfg = AlsConfig {
            factors: f,
            iterations: 5,
            // implicit's conjugate-gradient step count, for a like-for-like iteration time
            cg_steps: 3,
            threads: 2,
            ..Default::default()
        };
        group.bench_function(BenchmarkId::new("sample_5_iterations", f), |b| {
            b.iter(|| black_box(train(&m, &cfg).unwrap()))
        });
    }
    // the default model on the sample as `Engine::train` trains it: with the loss after each
    // sweep, which the engine always reports (and a bare `train` does not compute)
    let cfg = AlsConfig {
        threads: 2,
        ..Default::default()
    };
    group.bench_function("sample_default_256", |b| {
        b.iter(|| black_box(train(&m, &cfg).unwrap()))
    });
    group.bench_function("sample_default_256_with_loss", |b| {
        b.iter(|| {
            let mut last = 0.0;
            let f = train_with(&m, &cfg, Some(&mut |p: &Progress| last = p.loss)).unwrap();
            black_box((f, last))
        })
    });
    // the peer harness's Online Retail training split, when it is beside the project
    let peer = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/peer/data/online_retail/train.csv"
    );
    if let Ok(t) = rapport::triples::TripleCsv::read_path(peer) {
        let m = t.matrix().unwrap();
        for f in [64usize, 128] {
            let cfg = AlsConfig {
                factors: f,
                iterations: 5,
                cg_steps: 3,
                threads: 2,
                ..Default::default()
            };
            group.bench_function(
                BenchmarkId::new("online_retail_train_5_iterations", f),
                |b| b.iter(|| black_box(train(&m, &cfg).unwrap())),
            );
        }
        // the default model (256 factors, 10 sweeps of 2 CG steps), as `recommend_csv` trains it
        let cfg = AlsConfig {
            threads: 2,
            ..Default::default()
        };
        group.bench_function("online_retail_train_default_256", |b| {
            b.iter(|| black_box(train(&m, &cfg).unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, single, tiled, batch, engine_batch, fold_in, als);
criterion_main!(benches);
