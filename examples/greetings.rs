//! Personalized greetings on a real purchase log: the shipped English variant set plus a few
//! shop-specific ones, for several customers across channels, the proactive cases (win-back,
//! post-purchase thanks, replenishment), a service-recovery case, an unknown visitor, learning
//! from clicks, and the customer-experience report.
//!
//! ```text
//! cargo run --release --example greetings                 # the bundled Online Retail sample
//! cargo run --release --example greetings -- retail.csv   # another Online Retail file
//! ```

use rapport::feedback::{Period, Score};
use rapport::greeting::{Engagement, Greeting, GreetingKind, Variant};
use rapport::{
    Channel, CustomerInfo, Engine, EngineConfig, GreetingConfig, IngestOptions, Product,
};
use std::process::ExitCode;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/online_retail_sample.csv");

/// The sample has no categories: derive a few from the product descriptions.
const CATEGORIES: [(&str, &[&str]); 8] = [
    ("Christmas", &["CHRISTMAS", "ADVENT", "XMAS"]),
    (
        "Candles & lights",
        &["T-LIGHT", "CANDLE", "LANTERN", "LIGHTS"],
    ),
    ("Bags", &["BAG"]),
    ("Cards & wrap", &["CARD", "WRAP", "PAPER", "RIBBON"]),
    (
        "Kitchen",
        &[
            "CAKE", "LUNCH", "PANTRY", "MUG", "TEA", "BOWL", "BOTTLE", "JAR", "PLATE", "CUP",
        ],
    ),
    (
        "Kids & party",
        &[
            "PARTY",
            "SPACEBOY",
            "DOLLY",
            "FELTCRAFT",
            "BUNTING",
            "CHILDREN",
            "TOY",
        ],
    ),
    ("Garden", &["GARDEN", "BIRD", "PLANT"]),
    (
        "Home decor",
        &[
            "SIGN",
            "DOORMAT",
            "FRAME",
            "CLOCK",
            "HEART",
            "HANGING",
            "CUSHION",
            "DECORATION",
        ],
    ),
];

const NAMES: [&str; 16] = [
    "Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Arthur", "Grace", "Leo", "Freya",
    "Oscar", "Lily", "Harry", "Ella", "Jack",
];

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("greetings: {e}");
            ExitCode::FAILURE
        }
    }
}

fn title_case(s: &str) -> String {
    s.split_whitespace()
        .map(|w| {
            let lower = w.to_lowercase();
            let mut c = lower.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn show(label: &str, g: &Greeting) {
    println!("\n[{label}] customer {} on {}", g.customer, g.channel);
    println!("  → {:?} ({}, score {:.3})", g.text, g.variant, g.score);
    println!("    why: {}", g.why);
    if !g.products.is_empty() {
        println!("    featured products: {}", g.products.join(", "));
    }
    match g.runners_up.first() {
        Some(r) => println!(
            "  runner-up: {:?} ({}, score {:.3}) — {}",
            r.text, r.variant, r.score, r.why
        ),
        None => println!("  runner-up: none eligible"),
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| SAMPLE.to_owned());
    let mut engine = Engine::new(EngineConfig::default());
    let report = engine.read_csv_path(&path, &IngestOptions::online_retail())?;
    println!(
        "read {} lines of {} customers",
        report.kept,
        engine.history().customer_count()
    );

    // Catalog: readable names and keyword categories.
    let products: Vec<Product> = {
        let catalog = engine.history().catalog();
        (0..catalog.len() as u32)
            .map(|i| catalog.product(i))
            .collect()
    };
    for mut p in products {
        let upper = p.name.to_uppercase();
        p.category = CATEGORIES
            .iter()
            .find(|(_, words)| words.iter().any(|w| upper.contains(w)))
            .map(|(c, _)| (*c).to_owned());
        p.name = title_case(&p.name);
        engine.upsert_product(p)?;
    }
    // The sample has no names either: give most customers one (every seventh stays anonymous).
    let ids: Vec<String> = engine.history().customers().names().to_vec();
    for (i, id) in ids.iter().enumerate() {
        engine.upsert_customer(CustomerInfo {
            id: id.clone(),
            first_name: (i % 7 != 6).then(|| NAMES[i % NAMES.len()].to_owned()),
            locale: Some("en-GB".into()),
            channel: None,
        })?;
    }

    engine.train()?;
    let at = engine
        .history()
        .last_timestamp()
        .ok_or("no purchases")?
        .plus_days(0.9);
    println!("greeting as of {at} (UTC)");

    engine.set_greeting_config(GreetingConfig {
        shop_name: Some("Rapport Gifts".into()),
        ..Default::default()
    })?;
    let n = engine.load_default_greetings()?;
    let shop_variants = vec![
        Variant {
            id: "christmas-countdown".into(),
            template:
                "{first_name|Hello}, Christmas is nearly here: {product} is ready to ship today."
                    .into(),
            category: Some("Christmas".into()),
            channels: vec![Channel::Web, Channel::Email, Channel::App],
            ..Default::default()
        },
        Variant {
            id: "cosy-evenings".into(),
            template: "Cosy evenings ahead, {first_name|friend}: we picked {product} for you."
                .into(),
            category: Some("Candles & lights".into()),
            ..Default::default()
        },
        Variant {
            id: "kitchen-picks".into(),
            template: "{first_name|Hello}, something new for your kitchen: {product}.".into(),
            category: Some("Kitchen".into()),
            ..Default::default()
        },
        Variant {
            id: "party-time".into(),
            template: "Party planning, {first_name|friend}? Don't miss {product}.".into(),
            category: Some("Kids & party".into()),
            ..Default::default()
        },
    ];
    let m = engine.add_greeting_variants(shop_variants)?;
    engine.refresh_greetings(at)?;
    println!("{n} shipped variants + {m} shop variants");

    // Regular customers across channels: the ones with the most purchase lines.
    let mut by_lines: Vec<(usize, String)> = ids
        .iter()
        .map(|id| {
            let u = engine.history().customers().get(id).expect("known");
            (engine.history().customer_lines(u).len(), id.clone())
        })
        .collect();
    by_lines.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    println!("\n== Regular customers across channels");
    for ((_, id), ch) in by_lines.iter().skip(3).take(5).zip(Channel::ALL) {
        show("regular", &engine.greet(id, ch, at)?);
    }

    println!("\n== Proactive messages");
    for (kind, channel) in [
        (GreetingKind::WinBack, Channel::Email),
        (GreetingKind::PostPurchase, Channel::Web),
        (GreetingKind::Replenishment, Channel::App),
    ] {
        let found = ids
            .iter()
            .map(|id| engine.greet(id, channel, at))
            .find(|g| g.as_ref().is_ok_and(|g| g.why.kind == kind));
        match found {
            Some(g) => show(kind.as_str(), &g?),
            None => println!("\n[{kind}] no customer qualifies in this data"),
        }
    }
    // SMS: the same win-back message, cut to 160 characters on a word boundary
    if let Some(g) = ids
        .iter()
        .filter_map(|id| engine.greet(id, Channel::Sms, at).ok())
        .find(|g| g.why.kind == GreetingKind::WinBack)
    {
        show("win-back by SMS", &g);
    }

    println!("\n== Service recovery");
    let unhappy = by_lines[0].1.clone();
    show(
        "before feedback",
        &engine.greet(&unhappy, Channel::Email, at)?,
    );
    engine.record_feedback(&unhappy, Score::Nps(2), at.plus_days(-2.0))?;
    show("after NPS 2", &engine.greet(&unhappy, Channel::Email, at)?);
    show(
        "after NPS 2",
        &engine.greet(&unhappy, Channel::InStore, at)?,
    );

    println!("\n== Unknown visitor");
    show("generic", &engine.greet("visitor-123", Channel::Web, at)?);
    show(
        "generic",
        &engine.greet("visitor-123", Channel::InStore, at)?,
    );

    println!("\n== Learning from clicks");
    let fan = by_lines[10].1.clone();
    let before = engine.greet(&fan, Channel::App, at)?;
    show("before", &before);
    for _ in 0..6 {
        let g = engine.greet(&fan, Channel::App, at)?;
        for shown in std::iter::once(&g.variant).chain(g.runners_up.iter().map(|r| &r.variant)) {
            engine.record_engagement(&fan, shown, Engagement::Impression)?;
        }
        engine.record_engagement(&fan, "party-time", Engagement::Click)?;
    }
    show(
        "after 6 clicks on party greetings",
        &engine.greet(&fan, Channel::App, at)?,
    );

    println!("\n== Customer-experience report");
    for (i, id) in ids.iter().enumerate().take(120) {
        let t = at.plus_days(-(i as f64));
        engine.record_feedback(id, Score::Nps([10, 9, 8, 6, 10, 3, 9, 7][i % 8]), t)?;
        if i % 3 == 0 {
            engine.record_feedback(id, Score::Csat([5, 4, 2, 5, 3][(i / 3) % 5]), t)?;
        }
        if i % 4 == 0 {
            engine.record_feedback(id, Score::Ces([2, 3, 6, 1][(i / 4) % 4]), t)?;
        }
    }
    print!("{}", engine.feedback_report(Period::Quarter, None)?);
    Ok(())
}
