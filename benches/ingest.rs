//! Ingest throughput: the full Online Retail file when available, else the bundled sample, and
//! `user_id,item_id,weight` tables as `recommend_csv` reads them.
//!
//! The full file is taken from `RAPPORT_ONLINE_RETAIL` or `../shared/datasets/online_retail.csv`.
//! The file is read into memory once; each iteration parses it into a fresh `History`.
//! The triple tables are generated in memory (one million rows, 20,000 users × 5,000 items),
//! once in user order, as evaluation files usually come, and once shuffled.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rapport::triples::TripleCsv;
use rapport::{History, IngestOptions, read_csv};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn input() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let full = std::env::var_os("RAPPORT_ONLINE_RETAIL")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/datasets/online_retail.csv"));
    if full.exists() {
        full
    } else {
        root.join("data/online_retail_sample.csv")
    }
}

fn ingest(c: &mut Criterion) {
    let path = input();
    let bytes = std::fs::read(&path).expect("read the Online Retail CSV");
    let options = IngestOptions::default();
    let mut history = History::new();
    let report = read_csv(&bytes[..], &options, &mut history).unwrap();
    eprintln!("{}: {} bytes\n{report}", path.display(), bytes.len());

    let mut group = c.benchmark_group("ingest");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("online_retail", |b| {
        b.iter(|| {
            let mut history = History::new();
            let report = read_csv(black_box(&bytes[..]), &options, &mut history).unwrap();
            black_box((report, history))
        })
    });
    group.finish();
}

/// A `user_id,item_id,weight` table of `users × per_user` rows with ids like `u123` / `i45`.
fn triple_table(users: usize, items: usize, per_user: usize, shuffled: bool) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut rows: Vec<String> = Vec::with_capacity(users * per_user);
    for u in 0..users {
        for _ in 0..per_user {
            let i = rng.random_range(0..items);
            let w = rng.random_range(1..4u32);
            rows.push(format!("u{u},i{i},{w}\n"));
        }
    }
    if shuffled {
        rows.shuffle(&mut rng);
    }
    let mut out = b"user_id,item_id,weight\n".to_vec();
    for r in rows {
        out.extend_from_slice(r.as_bytes());
    }
    out
}

fn triples(c: &mut Criterion) {
    let mut group = c.benchmark_group("triples");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    for (name, shuffled) in [("sorted_1m", false), ("shuffled_1m", true)] {
        let bytes = triple_table(20_000, 5_000, 50, shuffled);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| black_box(TripleCsv::read(black_box(&bytes[..])).unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, ingest, triples);
criterion_main!(benches);
