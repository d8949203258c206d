//! Ingest throughput: the full Online Retail file when available, else the bundled sample.
//!
//! The full file is taken from `RAPPORT_ONLINE_RETAIL` or `../shared/datasets/online_retail.csv`.
//! The file is read into memory once; each iteration parses it into a fresh `History`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
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

criterion_group!(benches, ingest);
criterion_main!(benches);
