//! The Rust side of `bench/recommend.c`: times `Engine::recommend` on the model that program
//! saved, with the same customers and options, to measure what the C layer adds.
//!
//! `RAPPORT_BENCH_MODEL=/tmp/rapport_bench.rapport cargo bench -p rapport-c --bench recommend`
//! (without the variable it prints how to run it and exits).

use rapport_core::{Engine, RecommendOptions};
use std::time::Instant;

const CUSTOMERS: usize = 20_000;
const QUERIES: usize = 2_000;

fn main() {
    let Ok(path) = std::env::var("RAPPORT_BENCH_MODEL") else {
        eprintln!("set RAPPORT_BENCH_MODEL to a model saved by bindings/c/bench/recommend.c");
        return;
    };
    let engine = Engine::load(&path).expect("a model saved by bench/recommend.c");
    let options = RecommendOptions {
        k: 10,
        ..Default::default()
    };
    let ids: Vec<String> = (0..QUERIES)
        .map(|q| format!("c{}", (q * 7919) % CUSTOMERS))
        .collect();
    for warm in [false, true] {
        let start = Instant::now();
        for id in &ids {
            let r = engine.recommend(id, &options).expect("trained");
            std::hint::black_box(r);
        }
        let per = start.elapsed().as_secs_f64() / QUERIES as f64;
        if warm {
            println!(
                "Rust recommend (k=10): {:.1} us per call over {QUERIES} calls",
                per * 1e6
            );
        }
    }
}
