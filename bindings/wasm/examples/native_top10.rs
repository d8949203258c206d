//! Native single-thread timing of top-10 over 10 000 × 64 random product vectors, measured
//! exactly as `test/browser.mjs` measures the WASM build in Chromium, so the figures compare.
//!
//! Both kernels behind recommendations: the exact f32 scan (`rapport::topk::top_k`) and the
//! int8 scan with exact re-scoring (`rapport::quantized::QuantizedItems`, used from 2048
//! products). Data: the tables of `FactorTable.random` (uniform in [−1, 1) from `StdRng`,
//! which, unlike `SmallRng`, draws the same numbers on 32- and 64-bit targets; seed 1 for the
//! 10 000 products, seed 2 for 64 query vectors used in turn). Method: 500 warm-up calls,
//! then 60 samples of 50 calls; the median per call.
//!
//! ```text
//! cargo run --release -p rapport-wasm --example native_top10
//! ```

use ndarray::Array2;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rapport::quantized::QuantizedItems;
use rapport::topk::{Scored, top_k};
use std::hint::black_box;
use std::time::Instant;

/// One scan: top-10 for a query.
type Scan<'a> = &'a dyn Fn(&[f32]) -> Vec<Scored>;

fn random(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.0f32..1.0))
}

/// Median, min and max microseconds per call of `f` over the 64 queries in turn.
fn time(queries: &[Vec<f32>], f: impl Fn(&[f32]) -> Vec<Scored>) -> (f64, f64, f64) {
    let mut n = 0;
    let mut call = || {
        black_box(f(black_box(&queries[n % queries.len()])));
        n += 1;
    };
    for _ in 0..500 {
        call();
    }
    let mut per_call: Vec<f64> = (0..60)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..50 {
                call();
            }
            t.elapsed().as_secs_f64() * 1e6 / 50.0
        })
        .collect();
    per_call.sort_by(f64::total_cmp);
    (per_call[30], per_call[0], per_call[59])
}

fn main() {
    let items = random(10_000, 64, 1);
    let q = random(64, 64, 2);
    let queries: Vec<Vec<f32>> = q.outer_iter().map(|r| r.to_vec()).collect();
    let Some(table) = QuantizedItems::new(items.view()) else {
        eprintln!("native_top10: the random table did not quantize");
        std::process::exit(1);
    };
    let kernels: [(&str, Scan<'_>); 2] = [
        ("f32 scan", &|q| top_k(items.view(), q, 10, None)),
        ("int8 scan + exact re-score", &|q| {
            table.top_k(items.view(), q, 10, None)
        }),
    ];
    for (name, f) in kernels {
        let (median, min, max) = time(&queries, f);
        let best = f(&queries[0]);
        println!(
            "native top-10 over 10000 x 64, one thread, {name}: median {median:.1} µs per call (min {min:.1}, max {max:.1}; 60 samples of 50 calls); query 0 best item {} score {:.4}",
            best[0].item, best[0].score
        );
    }
}
