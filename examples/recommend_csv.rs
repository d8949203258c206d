//! Batch recommendations from a `user_id,item_id,weight` CSV: the evaluation and benchmarking
//! entry point.
//!
//! ```text
//! cargo run --release --example recommend_csv -- --train train.csv --users test.csv --k 20 --out recs.csv
//!     [--factors N] [--regularization X] [--alpha X] [--iterations N] [--threads N] [--seed N]
//!     [--frequency-scaling X] [--item-frequency-scaling X] [--cg-steps N]
//!     [--confidence linear|log|log:EPSILON] [--blend-weight X] [--neighbours N] [--pool N]
//! ```
//! Every user in `--users` (a CSV with a `user_id` column; repeats once) gets `k` products they
//! did not interact with in `--train`; users unknown to the training data get the most popular
//! products. Output: `user_id,rank,item_id,score`. `--blend-weight` above 0 turns on the
//! co-purchase re-rank (`rapport::neighbours::Blend`; off by default).

use rapport::als::{AlsConfig, Confidence};
use rapport::neighbours::Blend;
use rapport::recommender::Recommender;
use rapport::triples::TripleCsv;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("recommend_csv: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut train, mut users, mut out, mut k) = (None, None, None, 10usize);
    let mut cfg = AlsConfig::default();
    let mut blend = Blend::default();
    while let Some(flag) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--train" => train = Some(val()?),
            "--users" => users = Some(val()?),
            "--out" => out = Some(val()?),
            "--k" => k = val()?.parse()?,
            "--factors" => cfg.factors = val()?.parse()?,
            "--regularization" => cfg.regularization = val()?.parse()?,
            "--alpha" => cfg.alpha = val()?.parse()?,
            "--iterations" => cfg.iterations = val()?.parse()?,
            "--threads" => cfg.threads = val()?.parse()?,
            "--seed" => cfg.seed = val()?.parse()?,
            "--frequency-scaling" => cfg.frequency_scaling = val()?.parse()?,
            "--item-frequency-scaling" => cfg.item_frequency_scaling = val()?.parse()?,
            "--cg-steps" => cfg.cg_steps = val()?.parse()?,
            "--blend-weight" => blend.weight = val()?.parse()?,
            "--neighbours" => blend.neighbours = val()?.parse()?,
            "--pool" => blend.pool = val()?.parse()?,
            "--confidence" => {
                cfg.confidence = match val()?.as_str() {
                    "linear" => Confidence::Linear,
                    "log" => Confidence::Log { epsilon: 1.0 },
                    other => match other.strip_prefix("log:") {
                        Some(eps) => Confidence::Log {
                            epsilon: eps.parse()?,
                        },
                        None => {
                            return Err(format!(
                                "--confidence takes linear, log or log:EPSILON, not {other}"
                            )
                            .into());
                        }
                    },
                }
            }
            "-h" | "--help" => {
                println!(
                    "usage: recommend_csv --train FILE --users FILE --k N --out FILE [--factors N --regularization X --alpha X --iterations N --threads N --seed N --frequency-scaling X --item-frequency-scaling X --cg-steps N --confidence linear|log|log:EPS --blend-weight X --neighbours N --pool N]"
                );
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let train = train.ok_or("--train FILE is required")?;
    let users = users.ok_or("--users FILE is required")?;
    let out = out.ok_or("--out FILE is required")?;

    let t0 = Instant::now();
    let data = TripleCsv::read_path(&train)?;
    let wanted = TripleCsv::read_user_column(&users)?;
    let t1 = Instant::now();
    blend.validate()?;
    let mut model = Recommender::train(&data.matrix()?, &cfg)?;
    model.set_blend(blend)?;
    let t2 = Instant::now();
    let rows: Vec<Option<u32>> = wanted.iter().map(|u| data.users().get(u)).collect();
    let recs = model.recommend_batch(&rows, k);
    let t3 = Instant::now();

    let file = std::fs::File::create(&out).map_err(|e| format!("{out}: {e}"))?;
    let mut w = std::io::BufWriter::new(file);
    writeln!(w, "user_id,rank,item_id,score")?;
    for (user, list) in wanted.iter().zip(&recs) {
        for (rank, s) in list.0.iter().enumerate() {
            writeln!(
                w,
                "{user},{},{},{}",
                rank + 1,
                data.items().name(s.item),
                s.score
            )?;
        }
    }
    w.flush()?;
    eprintln!(
        "{} users × {} items, {} interactions; read {:.2}s, train {:.2}s, recommend {} users {:.2}s",
        data.users().len(),
        data.items().len(),
        data.len(),
        (t1 - t0).as_secs_f64(),
        (t2 - t1).as_secs_f64(),
        wanted.len(),
        (t3 - t2).as_secs_f64()
    );
    Ok(())
}
