//! Trains on a purchase log and saves the engine as a model file: the file the WASM package's
//! demo page fetches, proving that a model saved by native rapport loads unchanged in a browser.
//!
//! ```text
//! cargo run --release --example export_model -- OUT.rapport              # the bundled sample
//! cargo run --release --example export_model -- OUT.rapport retail.csv   # another Online Retail file
//! ```
//!
//! The engine is saved with the default settings, the shipped English greetings and their
//! caches refreshed as of the latest purchase.

use rapport::{Engine, EngineConfig, IngestOptions};
use std::process::ExitCode;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/online_retail_sample.csv");

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next() else {
        eprintln!("usage: export_model OUT.rapport [PURCHASES.csv]");
        return ExitCode::from(2);
    };
    let input = args.next().unwrap_or_else(|| SAMPLE.to_owned());
    match run(&out, &input) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("export_model: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(out: &str, input: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut engine = Engine::new(EngineConfig::default());
    let report = engine.read_csv_path(input, &IngestOptions::online_retail())?;
    let last = engine
        .history()
        .last_timestamp()
        .ok_or("no purchases kept")?;
    let trained = engine.train()?;
    engine.load_default_greetings()?;
    engine.refresh_greetings(last)?;
    engine.save(out)?;
    let size = std::fs::metadata(out)?.len();
    println!(
        "{out}: {} customers, {} products, {} interactions ({} of {} rows kept), latest purchase {last}, {:.1} MB",
        trained.customers,
        trained.products,
        trained.interactions,
        report.kept,
        report.rows_read,
        size as f64 / 1e6
    );
    Ok(())
}
