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
//! products. A row with weight 0 counts as an interaction for that filter but carries no
//! evidence for training. Output: `user_id,rank,item_id,score`, quoted where an id needs it.
//! `--blend-weight` above 0 turns on the co-purchase re-rank (`rapport::neighbours::Blend`; off
//! by default).

use rapport::als::{AlsConfig, Confidence};
use rapport::neighbours::Blend;
use rapport::recommender::Recommender;
use rapport::triples::TripleCsv;
use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    match run(std::env::args().skip(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("recommend_csv: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(mut args: impl Iterator<Item = String>) -> Result<(), Box<dyn std::error::Error>> {
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
    // Weight-0 rows are not in the model's matrix, so the model does not filter them: ask for
    // enough extra products to drop them here.
    let mut unweighted: HashMap<u32, Vec<u32>> = HashMap::new();
    for t in data.triples().iter().filter(|t| t.weight == 0.0) {
        unweighted.entry(t.user).or_default().push(t.item);
    }
    for items in unweighted.values_mut() {
        items.sort_unstable();
        items.dedup();
    }
    let extra = rows
        .iter()
        .flatten()
        .filter_map(|u| unweighted.get(u).map(Vec::len))
        .max()
        .unwrap_or(0);
    let recs = model.recommend_batch(&rows, k.saturating_add(extra));
    let t3 = Instant::now();

    let mut w = csv::Writer::from_path(&out).map_err(|e| format!("{out}: {e}"))?;
    w.write_record(["user_id", "rank", "item_id", "score"])?;
    for ((user, row), (list, _)) in wanted.iter().zip(&rows).zip(&recs) {
        let skip = row
            .and_then(|u| unweighted.get(&u))
            .map_or(&[][..], Vec::as_slice);
        let kept = list
            .iter()
            .filter(|s| skip.binary_search(&s.item).is_err())
            .take(k);
        for (rank, s) in kept.enumerate() {
            let (rank, score) = ((rank + 1).to_string(), s.score.to_string());
            w.write_record([user, &rank, data.items().name(s.item), &score])?;
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

#[cfg(test)]
mod tests {
    use super::run;
    use std::collections::HashMap;
    use std::path::Path;

    /// Runs the example on `train` and `users` (CSV text) and reads its output back with a CSV
    /// parser: user → item ids in rank order.
    fn recommend(train: &str, users: &str, k: usize) -> HashMap<String, Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
        std::fs::write(path("train.csv"), train).unwrap();
        std::fs::write(path("users.csv"), users).unwrap();
        let args = [
            "--train",
            &path("train.csv"),
            "--users",
            &path("users.csv"),
            "--out",
            &path("recs.csv"),
            "--k",
            &k.to_string(),
            "--factors",
            "4",
            "--iterations",
            "3",
        ];
        run(args.iter().map(|s| s.to_string())).unwrap();
        read(Path::new(&path("recs.csv")))
    }

    fn read(path: &Path) -> HashMap<String, Vec<String>> {
        let mut rdr = csv::Reader::from_path(path).unwrap();
        assert_eq!(
            rdr.headers().unwrap(),
            vec!["user_id", "rank", "item_id", "score"]
        );
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for row in rdr.records() {
            let row = row.unwrap();
            assert_eq!(row.len(), 4, "{row:?}");
            let list = out.entry(row[0].to_owned()).or_default();
            assert_eq!(
                row[1].parse::<usize>().unwrap(),
                list.len() + 1,
                "ranks from 1"
            );
            assert!(row[3].parse::<f32>().unwrap().is_finite());
            list.push(row[2].to_owned());
        }
        out
    }

    #[test]
    fn ids_with_commas_and_quotes_survive_the_round_trip() {
        let train = "user_id,item_id,weight\n\
            u1,\"Toy, red\",1\nu1,b,2\nu2,b,1\nu2,\"say \"\"hi\"\"\",1\nu3,a,1\n\"u,4\",a,1\n";
        let recs = recommend(train, "user_id\nu1\nu2\n\"u,4\"\n", 3);
        let items = |u: &str| {
            let mut v = recs[u].clone();
            v.sort();
            v
        };
        assert_eq!(items("u1"), ["a", "say \"hi\""]);
        assert_eq!(items("u2"), ["Toy, red", "a"]);
        assert_eq!(items("u,4"), ["Toy, red", "b", "say \"hi\""]);
    }

    #[test]
    fn weight_zero_rows_are_filtered_like_any_train_item() {
        // u2's only row has weight 0: no evidence, so u2 gets the popular products, but never b
        let train = "user_id,item_id,weight\nu1,a,1\nu1,b,3\nu3,b,1\nu3,c,1\nu5,b,1\nu2,b,0\nu4,a,0\nu4,a,2\n";
        let recs = recommend(train, "user_id\nu2\nu1\nu4\nnew\n", 2);
        assert_eq!(recs["u2"], ["a", "c"]);
        assert_eq!(recs["u1"], ["c"]);
        assert!(!recs["u4"].contains(&"a".to_owned()), "{:?}", recs["u4"]);
        assert_eq!(recs["u4"].len(), 2);
        assert_eq!(recs["new"], ["b", "a"], "unknown users get the most bought");
    }
}
