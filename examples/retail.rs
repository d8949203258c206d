//! End to end on a real purchase log: ingest with cleaning report, a temporal evaluation,
//! training with progress, and three customers' profiles with their top 5 and the reasons.
//!
//! ```text
//! cargo run --release --example retail                  # the bundled Online Retail sample
//! cargo run --release --example retail -- online_retail.csv   # the full file, by path
//! ```

use rapport::eval::temporal_split;
use rapport::recommender::{Filter, Recommender};
use rapport::{Engine, EngineConfig, IngestOptions, RecommendOptions};
use std::process::ExitCode;
use std::time::Instant;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/online_retail_sample.csv");

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("retail: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| SAMPLE.to_owned());
    let mut engine = Engine::new(EngineConfig::default());

    println!("== Ingest: {path}");
    let t = Instant::now();
    let report = engine.read_csv_path(&path, &IngestOptions::online_retail())?;
    println!("{report}");
    println!("read in {:.2} s", t.elapsed().as_secs_f64());
    let history = engine.history();
    let last = history.last_timestamp().ok_or("no purchases kept")?;

    // Hold out the last 39 days, as the evaluation protocol for Online Retail does
    // (2011-11-01 on the full file): recommend products each customer had not bought before.
    let cutoff = last.plus_days(-39.0);
    println!("\n== Temporal evaluation: train before {cutoff}, test after");
    let split = temporal_split(history, cutoff);
    let test = split.test_set();
    let matrix = rapport::interactions::Interactions::from_triples(
        history.customer_count(),
        history.catalog().len(),
        &split.train,
    )?;
    let model = Recommender::train(&matrix, &engine.config().als)?;
    let filter = Filter::default();
    let items = |s: Vec<rapport::topk::Scored>| s.into_iter().map(|s| s.item).collect::<Vec<u32>>();
    let als = test.evaluate_with(split.train_items(), 10, |u| {
        let owned = matrix.row(u as usize).0;
        model
            .recommend(u as usize, 10, &filter)
            .map(items)
            .unwrap_or_else(|| items(model.popular(10, owned, &filter)))
    });
    let pop = test.evaluate_with(split.train_items(), 10, |u| {
        items(model.popular(10, matrix.row(u as usize).0, &filter))
    });
    println!("{} customers with held-out purchases", test.len());
    println!("ALS        {als}");
    println!("popularity {pop}");

    println!("\n== Training on everything");
    let report = engine.train_with(Some(&mut |p: &rapport::als::Progress| {
        println!(
            "iteration {:>2}/{}: loss {:.4} ({:.0} ms)",
            p.iteration,
            p.iterations,
            p.loss,
            p.elapsed.as_secs_f64() * 1e3
        );
    }))?;
    println!(
        "{} customers × {} products, {} customer–product pairs",
        report.customers, report.products, report.interactions
    );

    let profiles = engine.profiles(last)?;
    // three different customers: the biggest spender, the most frequent buyer, and the
    // customer gone longest among those with several orders
    let by = |key: &dyn Fn(&rapport::profile::Profile) -> f64| {
        profiles
            .iter()
            .filter(|p| p.orders >= 2)
            .max_by(|a, b| key(a).total_cmp(&key(b)).then_with(|| b.id.cmp(&a.id)))
            .map(|p| p.id.clone())
    };
    let picks = [
        by(&|p| p.total_spend),
        by(&|p| p.orders as f64),
        by(&|p| p.days_since_last_purchase.unwrap_or(0.0)),
    ];
    for id in picks.into_iter().flatten() {
        let p = profiles.by_id(&id).ok_or("profile missing")?;
        println!("\n== Customer {id}");
        println!("{p}");
        let recs = engine.recommend(
            &id,
            &RecommendOptions {
                k: 5,
                ..Default::default()
            },
        )?;
        for (rank, r) in recs.items.iter().enumerate() {
            println!(
                "  {}. {} [{}] score {:.3} — {}",
                rank + 1,
                r.name.trim(),
                r.product,
                r.score,
                r.reason
            );
        }
    }
    Ok(())
}
