//! Robustness of the public API against arbitrary and adversarial input.
//!
//! The contract under test: bad input gives a typed [`rapport::Error`] or a documented
//! behaviour, never a panic and never silent data loss. Property tests feed arbitrary bytes,
//! mutated Online Retail rows, extreme event values, corrupted model files and hostile greeting
//! text; the plain tests below them pin down each problem the properties found.
//!
//! Case counts are kept modest so the file runs in seconds in a debug build (where integer
//! overflow is checked).

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use rapport::als::AlsConfig;
use rapport::engine::SimilarProduct;
use rapport::greeting::{Engagement, GreetingConfig, Variant};
use rapport::{
    Channel, CsvLayout, CustomerInfo, Engine, EngineConfig, Error, History, IngestOptions,
    IngestReport, Period, Product, Purchase, RecommendOptions, Recommendations, Score, Timestamp,
    read_csv,
};
use std::sync::LazyLock;

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

const HEADER: &str =
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country";

/// A tiny, fast model configuration.
fn tiny() -> EngineConfig {
    EngineConfig {
        als: AlsConfig {
            factors: 4,
            iterations: 2,
            cg_steps: 1,
            threads: 1,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn purchase(customer: &str, product: &str, ts: i64, order: Option<&str>) -> Purchase {
    Purchase {
        customer: customer.into(),
        product: product.into(),
        timestamp: Timestamp(ts),
        quantity: 1.0,
        unit_price: 2.5,
        order: order.map(Into::into),
    }
}

const DAY: i64 = 86_400;
const T0: i64 = 1_300_000_000; // 2011-03-13

/// Twelve customers over eight products in two categories, trained, with the default greetings.
fn small_shop() -> Engine {
    let mut e = Engine::new(tiny());
    let tea = ["green-tea", "black-tea", "teapot", "tea-cups"];
    let coffee = ["espresso", "grinder", "mocha-pot", "coffee-mugs"];
    for c in 0..12i64 {
        let (name, set) = if c < 6 {
            (format!("t{c}"), tea)
        } else {
            (format!("c{c}"), coffee)
        };
        for (j, p) in set.iter().enumerate() {
            if !(c as usize + j).is_multiple_of(4) {
                let ts = T0 + (c * 3 + j as i64) * DAY;
                e.record_purchase(&purchase(&name, p, ts, None)).unwrap();
            }
        }
    }
    for p in tea {
        e.upsert_product(Product {
            id: p.into(),
            name: p.replace('-', " "),
            category: Some("tea".into()),
            price: Some(4.0),
            in_stock: true,
        })
        .unwrap();
    }
    e.upsert_customer(CustomerInfo {
        id: "t1".into(),
        first_name: Some("Ada".into()),
        locale: Some("en-GB".into()),
        channel: Some(Channel::Email),
    })
    .unwrap();
    e.train().unwrap();
    e.load_default_greetings().unwrap();
    e.refresh_greetings(Timestamp(T0 + 60 * DAY)).unwrap();
    e.record_feedback("c7", Score::Nps(2), Timestamp(T0 + 61 * DAY))
        .unwrap();
    e.record_engagement("t2", "hello-web", Engagement::Click)
        .unwrap();
    e
}

static SHOP: LazyLock<Engine> = LazyLock::new(small_shop);
static SHOP_BYTES: LazyLock<Vec<u8>> = LazyLock::new(|| SHOP.to_bytes().unwrap());

/// CRC-32 (IEEE), as the model envelope uses, so tests can forge well-formed envelopes.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A complete envelope (magic, version 1, length, CRC) around `payload`.
fn envelope(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + payload.len());
    out.extend_from_slice(b"RAPPORT\0");
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// `n` cases, or `PROPTEST_CASES` when set (for longer runs by hand).
fn cases(n: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Every count of a report adds up, and the history holds exactly the kept lines.
fn check_report(report: &IngestReport, history_lines_before: usize, history: &History) {
    assert_eq!(
        report.rows_read,
        report.kept + report.dropped(),
        "every row counted once: {report:?}"
    );
    assert_eq!(
        history.lines().len() - history_lines_before,
        report.kept as usize,
        "kept rows are stored"
    );
    assert!(report.unparsable_lines.len() <= rapport::ingest::MAX_RECORDED_LINES);
    assert_eq!(
        report.unparsable_lines.len() as u64,
        report
            .unparsable
            .min(rapport::ingest::MAX_RECORDED_LINES as u64)
    );
    assert_eq!(report.first_unparsable.is_some(), report.unparsable > 0);
    for l in history.lines() {
        assert!(l.quantity.is_finite() && l.quantity > 0.0, "{l:?}");
        assert!(l.unit_price.is_finite() && l.unit_price >= 0.0, "{l:?}");
    }
}

/// A recommendation list obeys the request: at most k, no duplicates, ranked, filters applied.
fn check_recs(e: &Engine, customer: &str, o: &RecommendOptions, r: &Recommendations) {
    assert_eq!(r.customer, customer);
    assert!(
        r.items.len() <= o.k,
        "{} items for k = {}",
        r.items.len(),
        o.k
    );
    let mut seen = std::collections::HashSet::new();
    for it in &r.items {
        assert!(
            seen.insert(it.product.clone()),
            "duplicate {:?} in {r:?}",
            it.product
        );
        assert!(!it.score.is_nan(), "NaN score in {r:?}");
        assert!(
            !o.exclude.contains(&it.product),
            "excluded {:?}",
            it.product
        );
        if let Some(c) = &o.candidates {
            assert!(c.contains(&it.product), "{:?} not a candidate", it.product);
        }
        let catalog = e.history().catalog();
        let i = catalog.index(&it.product).expect("a catalog product");
        if o.in_stock_only {
            assert!(catalog.in_stock(i), "out of stock {:?}", it.product);
        }
        if let Some(cat) = &o.category {
            assert_eq!(
                catalog.category_of(i).map(|c| catalog.category_name(c)),
                Some(cat.as_str())
            );
        }
    }
    for w in r.items.windows(2) {
        assert!(w[0].score >= w[1].score, "not ranked: {r:?}");
    }
    if !o.allow_repurchase
        && let Some(c) = e.history().customers().get(customer)
    {
        let owned: std::collections::HashSet<u32> =
            e.history().customer_lines(c).map(|l| l.product).collect();
        for it in &r.items {
            let i = e.history().catalog().index(&it.product).unwrap();
            assert!(!owned.contains(&i), "owned {:?} recommended", it.product);
        }
    }
}

fn check_similar(product: &str, k: usize, s: &[SimilarProduct]) {
    assert!(s.len() <= k);
    let mut seen = std::collections::HashSet::new();
    for p in s {
        assert_ne!(p.product, product);
        assert!(seen.insert(p.product.clone()));
        assert!(
            p.similarity.is_finite() && (-1.001..=1.001).contains(&p.similarity),
            "{p:?}"
        );
    }
    for w in s.windows(2) {
        assert!(w[0].similarity >= w[1].similarity);
    }
}

fn check_profiles(e: &Engine, as_of: Timestamp) {
    let profiles = match e.profiles(as_of) {
        Ok(p) => p,
        Err(err) => panic!("profiles as of {as_of:?} failed: {err}"),
    };
    assert_eq!(profiles.len(), e.history().customer_count());
    for p in profiles.iter() {
        for (what, v) in [
            ("churn_risk", p.churn_risk),
            ("prob_no_purchase_12m", p.prob_no_purchase_12m),
        ] {
            assert!((0.0..=1.0).contains(&v), "{what} = {v} for {p:?}");
        }
        for (what, v) in [
            ("units", p.units),
            ("total_spend", p.total_spend),
            ("average_order_value", p.average_order_value),
            ("expected_orders_12m", p.expected_orders_12m),
            ("expected_value_12m", p.expected_value_12m),
        ] {
            assert!(!v.is_nan() && v >= 0.0, "{what} = {v} for {p:?}");
        }
        if let Some(d) = p.median_days_between_orders {
            assert!(d.is_finite() && d >= 0.0);
        }
        for s in [p.rfm.recency, p.rfm.frequency, p.rfm.monetary] {
            assert!(s <= 5);
        }
        if p.orders > 0 {
            assert!(p.first_purchase.unwrap() <= as_of && p.last_purchase.unwrap() <= as_of);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

fn weird_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(-0.0),
        Just(1.0),
        Just(-1.0),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MAX),
        Just(f64::MIN),
        Just(f64::MIN_POSITIVE),
        Just(5e-324),
        Just(u32::MAX as f64),
        Just(u64::MAX as f64),
        Just(1e200),
        any::<f64>(),
        0.01f64..1000.0,
    ]
}

fn weird_ts() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(i64::MIN + 1),
        Just(0),
        Just(-1),
        Just(253_402_300_799), // 9999-12-31 23:59:59
        Just(8_210_266_876_799),
        Just(-8_334_601_228_800),
        any::<i64>(),
        (T0 - 400 * DAY)..(T0 + 400 * DAY),
        (T0 - 400 * DAY)..(T0 + 400 * DAY),
    ]
}

fn weird_id() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(" ".to_owned()),
        Just("t1".to_owned()),
        Just("c7".to_owned()),
        Just("teapot".to_owned()),
        Just("espresso".to_owned()),
        "[a-d]{1,2}",
        "\\PC{0,12}",
        any::<String>(),
        Just("x".repeat(300)),
        Just("\0".to_owned()),
        Just("<script>alert('x')</script>".to_owned()),
        Just("{first_name}".to_owned()),
        Just("Zoë 😀 \u{202e}\u{200b}".to_owned()),
    ]
}

fn weird_k() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1),
        Just(3),
        Just(usize::MAX),
        Just(u32::MAX as usize),
        0usize..50,
    ]
}

// ---------------------------------------------------------------------------------------------
// CSV ingest
// ---------------------------------------------------------------------------------------------

fn read_all(bytes: &[u8], options: &IngestOptions) -> (rapport::Result<IngestReport>, History) {
    let mut h = History::new();
    let r = read_csv(bytes, options, &mut h);
    (r, h)
}

/// Strict mode refuses `text` (Online Retail layout) with `BadRow` at `line`.
fn strict_stops_at_line(text: &str, line: u64) {
    let strict = IngestOptions {
        strict: true,
        ..IngestOptions::online_retail()
    };
    match read_all(text.as_bytes(), &strict).0 {
        Err(Error::BadRow { line: l, .. }) => assert_eq!(l, line),
        other => panic!("expected BadRow at line {line}, got {other:?}"),
    }
}

fn custom_options(strict: bool, delimiter: u8) -> IngestOptions {
    IngestOptions {
        strict,
        delimiter,
        ..IngestOptions::new(CsvLayout {
            quantity: Some("qty".into()),
            unit_price: Some("price".into()),
            order: Some("order".into()),
            description: Some("name".into()),
            category: Some("cat".into()),
            ..CsvLayout::new("user", "sku", "when")
        })
    }
}

/// One field of an Online Retail row: a valid value or a mutation.
fn field(valid: &'static [&'static str], bad: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        6 => proptest::sample::select(valid).prop_map(str::to_owned),
        3 => proptest::sample::select(bad).prop_map(str::to_owned),
        1 => "\\PC{0,8}",
    ]
    .boxed()
}

const BAD_NUMBERS: &[&str] = &[
    "",
    " ",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "infinity",
    "1e309",
    "-1e309",
    "1e308",
    "-1e308",
    "1.7976931348623157e308",
    "4.9e-324",
    "0",
    "-0",
    "-1",
    "-6",
    "+5",
    " 5 ",
    "0x10",
    "1_000",
    "1,5",
    "١٢",
    "18446744073709551616",
    "4294967296",
    "99999999999999999999999999",
    "\"6\"",
    "6\u{0}",
    "1e-400",
];
const BAD_DATES: &[&str] = &[
    "",
    "0/0/0 0:00",
    "2/29/2011 8:26",
    "2/29/2012 8:26",
    "13/1/2010 8:26",
    "12/32/2010 8:26",
    "12/1/2010 24:00",
    "12/1/2010 8:60",
    "12/1/2010 8:26:60",
    "12/1/10 8:26",
    "12/1/0 0:00",
    "9999-12-31 23:59:59",
    "0000-01-01 00:00:00",
    "2010-12-01T08:26:00Z",
    "2010-12-01 08:26:00+01:00",
    "2010-12-01 08:26:00.999",
    "2010-12-01  08:26",
    "2010-12-01 8",
    "1/1/99999 0:00",
    "-1/1/2010 0:00",
    "12/1/2010 8:26 PM",
    "12/1/2010\t8:26",
    "12//2010",
    "2010-12",
    "\u{0}",
    "12/1/2010 -8:26",
    "2010-12-01 08:26:00:00",
];

/// A row of the Online Retail layout; `None` fields are left out (a short row).
fn retail_row() -> impl Strategy<Value = Vec<String>> {
    (
        field(
            &["536365", "536366", "C536379", "A1", ""],
            &["C", "c536379", " 536365 "],
        ),
        field(
            &["85123A", "71053", "84406B", "22423", "85123a"],
            &["POST", "D", "M", "", " ", "DOT", "BANK CHARGES", "ß", "ﬁ"],
        ),
        field(
            &["WHITE HANGING HEART", "", "Mug, blue"],
            &["\"quoted\"", "a\nb", "\u{feff}"],
        ),
        field(&["6", "1", "24", "2.5"], BAD_NUMBERS),
        field(
            &["12/1/2010 8:26", "2010-12-01 08:26:00", "1/4/2011 10:00"],
            BAD_DATES,
        ),
        field(&["2.55", "0.85", "0", "12.75"], BAD_NUMBERS),
        field(&["17850", "13047", "", "17850.0"], &[" ", "\t", "\u{0}"]),
        field(&["United Kingdom", "France"], &["", "EIRE"]),
        0usize..12,
    )
        .prop_map(|(a, b, c, d, e, f, g, h, shape)| {
            let mut row = vec![a, b, c, d, e, f, g, h];
            match shape {
                0 => {
                    row.pop(); // a missing column
                }
                1 => row.push("extra".into()), // an extra column
                2 => row.truncate(1),
                _ => {}
            }
            row
        })
}

/// Writes a row as CSV, quoting fields that need it (or, with `quote_all`, every field).
fn csv_line(row: &[String], quote_all: bool) -> String {
    row.iter()
        .map(|f| {
            if quote_all || f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

proptest! {
    #![proptest_config(cases(256))]

    /// Arbitrary bytes never panic the reader, in either mode, with either layout.
    #[test]
    fn csv_arbitrary_bytes(
        body in proptest::collection::vec(any::<u8>(), 0..600),
        with_header in any::<bool>(),
        strict in any::<bool>(),
        custom in any::<bool>(),
        delimiter in prop_oneof![Just(b','), Just(b';'), Just(b'\t'), any::<u8>()],
    ) {
        let mut bytes = Vec::new();
        if with_header {
            let header = if custom { "user,sku,when,qty,price,order,name,cat\n" } else { "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n" };
            bytes.extend_from_slice(header.replace(',', &(delimiter as char).to_string()).as_bytes());
        }
        bytes.extend_from_slice(&body);
        let options = if custom {
            custom_options(strict, delimiter)
        } else {
            IngestOptions { strict, delimiter, ..IngestOptions::online_retail() }
        };
        let (r, h) = read_all(&bytes, &options);
        match r {
            Ok(report) => check_report(&report, 0, &h),
            Err(Error::BadRow { .. } | Error::MissingColumn { .. }) => {}
            Err(e) => panic!("unexpected error kind: {e:?}"),
        }
    }

    /// Mutated Online Retail rows: every row counted once, clean rows never lost, strict mode
    /// stops exactly where lenient mode records the first unparsable row.
    #[test]
    fn csv_mutated_online_retail_rows(
        rows in proptest::collection::vec(retail_row(), 0..12),
        quote_all in any::<bool>(),
        crlf in any::<bool>(),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut text = String::from(HEADER);
        text.push_str(eol);
        for row in &rows {
            text.push_str(&csv_line(row, quote_all));
            text.push_str(eol);
        }
        let (lenient, h) = read_all(text.as_bytes(), &IngestOptions::online_retail());
        let lenient = lenient.expect("lenient reads of well-quoted CSV succeed");
        check_report(&lenient, 0, &h);
        // a row of one empty unquoted field is a blank line, which CSV readers skip
        let blank = |r: &Vec<String>| !quote_all && r.len() == 1 && r[0].is_empty();
        let written = rows.iter().filter(|r| !blank(r)).count() as u64;
        prop_assert_eq!(lenient.rows_read, written, "no row lost");
        let (strict, hs) = read_all(
            text.as_bytes(),
            &IngestOptions { strict: true, ..IngestOptions::online_retail() },
        );
        match strict {
            Ok(report) => {
                prop_assert_eq!(lenient.unparsable, 0);
                prop_assert_eq!(&report, &lenient);
                prop_assert_eq!(hs.lines().len(), h.lines().len());
            }
            Err(Error::BadRow { line, .. }) => {
                prop_assert!(lenient.unparsable > 0);
                prop_assert_eq!(Some(line), lenient.unparsable_lines.first().copied());
            }
            Err(e) => prop_assert!(false, "unexpected strict error {:?}", e),
        }
    }

    /// The same rows through a custom layout with reordered columns and another delimiter.
    #[test]
    fn csv_custom_layout_rows(
        rows in proptest::collection::vec(retail_row(), 0..10),
        strict in any::<bool>(),
    ) {
        // columns: when;sku;user;qty;price;order;name;cat
        let mut text = String::from("when;sku;user;qty;price;order;name;cat\n");
        for r in &rows {
            if r.len() != 8 {
                text.push_str(&r.join(";").replace('\n', " "));
            } else {
                let pick = [4, 1, 6, 3, 5, 0, 2, 7];
                let fields: Vec<String> = pick.iter().map(|&i| {
                    let f = &r[i];
                    if f.contains([';', '"', '\n', '\r']) { format!("\"{}\"", f.replace('"', "\"\"")) } else { f.clone() }
                }).collect();
                text.push_str(&fields.join(";"));
            }
            text.push('\n');
        }
        let (r, h) = read_all(text.as_bytes(), &custom_options(strict, b';'));
        match r {
            Ok(report) => {
                check_report(&report, 0, &h);
                if strict { prop_assert_eq!(report.unparsable, 0); }
            }
            Err(Error::BadRow { .. }) => prop_assert!(strict),
            Err(e) => prop_assert!(false, "unexpected error {:?}", e),
        }
    }

    /// Timestamp parsing never panics, and whatever it accepts prints and parses back.
    #[test]
    fn timestamp_parse_arbitrary(s in prop_oneof!["\\PC{0,30}", "[0-9/: -]{0,24}", "[0-9]{1,5}/[0-9]{1,5}/[0-9]{1,5} [0-9]{1,3}:[0-9]{1,3}"]) {
        if let Some(t) = Timestamp::parse(&s) {
            let shown = t.to_string();
            prop_assert_eq!(Timestamp::parse(&shown), Some(t), "{:?} -> {}", s, shown);
        }
    }

    /// Timestamp arithmetic on any values does not panic.
    #[test]
    fn timestamp_arithmetic_extremes(a in weird_ts(), b in weird_ts(), days in weird_f64()) {
        let (a, b) = (Timestamp(a), Timestamp(b));
        let d = a.days_since(b);
        prop_assert!(!d.is_nan());
        let _ = a.plus_days(days);
        prop_assert!(a.hour() < 24);
        let _ = a.to_string();
    }
}

// ---------------------------------------------------------------------------------------------
// Model files
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(cases(256))]

    /// Arbitrary bytes, with or without the magic in front, are a typed error.
    #[test]
    fn load_arbitrary_bytes(mut bytes in proptest::collection::vec(any::<u8>(), 0..300), magic in any::<bool>()) {
        if magic {
            let mut b = b"RAPPORT\0".to_vec();
            b.append(&mut bytes);
            bytes = b;
        }
        prop_assert!(Engine::from_bytes(&bytes).is_err());
    }

    /// Any single bit flip of a valid file is caught.
    #[test]
    fn load_single_bit_flip(pos in any::<proptest::sample::Index>(), bit in 0u8..8) {
        let mut bytes = SHOP_BYTES.clone();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        match Engine::from_bytes(&bytes) {
            Err(Error::NotAModel | Error::Corrupted(_) | Error::UnsupportedVersion { .. }) => {}
            other => prop_assert!(false, "flip at byte {} bit {}: {:?}", i, bit, other.map(|_| ())),
        }
    }

    /// A payload edited behind a valid envelope (length and checksum recomputed) decodes to an
    /// engine that works, or to a typed error; never a panic, at load or afterwards.
    #[test]
    fn load_forged_payloads(
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>(), 0u8..4), 1..4),
    ) {
        let mut payload = SHOP_BYTES[24..].to_vec();
        for (pos, byte, how) in edits {
            if payload.is_empty() { break; }
            let i = pos.index(payload.len());
            match how {
                0 => payload[i] = byte,
                1 => payload[i] ^= 1 << (byte % 8),
                2 => { payload.remove(i); }
                _ => payload.insert(i, byte),
            }
        }
        if let Ok(e) = Engine::from_bytes(&envelope(&payload)) {
            exercise(&e);
        }
    }
}

/// Calls every read-only entry point on an engine that loaded, for panics.
fn exercise(e: &Engine) {
    let at = Timestamp(T0 + 70 * DAY);
    let o = RecommendOptions::default();
    let mut customers: Vec<String> = e.history().customers().names().to_vec();
    customers.push("nobody".into());
    for c in &customers {
        if let Ok(r) = e.recommend(c, &o) {
            assert!(r.items.len() <= o.k);
        }
        for ch in Channel::ALL {
            let _ = e.greet(c, ch, at);
        }
    }
    let names: Vec<&str> = customers.iter().map(String::as_str).collect();
    let _ = e.recommend_batch(&names, &o);
    for p in e.history().catalog().len().checked_sub(1).into_iter() {
        let id = e.history().catalog().id(p as u32).to_owned();
        let _ = e.similar(&id, 5);
    }
    for i in 0..e.history().catalog().len() as u32 {
        let _ = e.history().catalog().product(i);
    }
    let _ = e.profiles(at);
    let _ = e.feedback_report(Period::Month, None);
    let mut again = e.clone();
    let _ = again.refresh_greetings(at);
    let _ = again.observe(&purchase("t1", "teapot", T0 + 80 * DAY, Some("new")));
    let _ = again.set_in_stock("teapot", false);
    let _ = again.train();
    let _ = e.to_bytes();
}

#[test]
fn load_every_truncation_of_a_valid_file() {
    let bytes = &*SHOP_BYTES;
    for n in 0..bytes.len() {
        match Engine::from_bytes(&bytes[..n]) {
            Err(Error::NotAModel) => assert!(n < 8, "{n}"),
            Err(Error::Corrupted(_)) => assert!(n >= 8, "{n}"),
            other => panic!("truncated to {n} bytes: {:?}", other.map(|_| ())),
        }
    }
    let full = Engine::from_bytes(bytes).unwrap();
    let o = RecommendOptions::default();
    assert_eq!(
        full.recommend("t1", &o).unwrap(),
        SHOP.recommend("t1", &o).unwrap()
    );
}

#[test]
fn load_truncated_payloads_behind_valid_envelopes() {
    // every truncation of the payload, with the length and checksum made to match
    let payload = &SHOP_BYTES[24..];
    for n in 0..payload.len() {
        if let Ok(e) = Engine::from_bytes(&envelope(&payload[..n])) {
            exercise(&e);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Engine events, profiles, recommendations
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Record(Purchase),
    Observe(Purchase),
    Product(String, Option<String>, Option<f64>, bool),
    Customer(String, Option<String>, Option<String>),
    Stock(String, bool),
    Train,
    Recommend(String, RecommendOptions),
    Similar(String, usize),
    Profiles(i64),
    Feedback(String, Score, i64),
    Greet(String, Channel, i64),
    Refresh(i64),
    Engage(String, String, Engagement),
    Report(Period, Option<(i64, i64)>),
    RefreshCustomer(String),
    RoundTrip,
}

fn purchase_strategy() -> impl Strategy<Value = Purchase> {
    (
        weird_id(),
        weird_id(),
        weird_ts(),
        prop_oneof![3 => Just(1.0), 1 => weird_f64()],
        prop_oneof![3 => Just(3.0), 1 => weird_f64()],
        proptest::option::of(prop_oneof![Just(String::new()), "[a-c]{1,3}", weird_id()]),
    )
        .prop_map(
            |(customer, product, ts, quantity, unit_price, order)| Purchase {
                customer,
                product,
                timestamp: Timestamp(ts),
                quantity,
                unit_price,
                order,
            },
        )
}

/// Request options from strategies for `k`, the excluded ids, the candidate list and the
/// category (both flags arbitrary).
fn options_of(
    k: impl Strategy<Value = usize>,
    exclude: impl Strategy<Value = Vec<String>>,
    candidates: impl Strategy<Value = Option<Vec<String>>>,
    category: impl Strategy<Value = Option<String>>,
) -> impl Strategy<Value = RecommendOptions> {
    (
        k,
        any::<bool>(),
        exclude,
        candidates,
        category,
        any::<bool>(),
    )
        .prop_map(
            |(k, allow_repurchase, exclude, candidates, category, in_stock_only)| {
                RecommendOptions {
                    k,
                    allow_repurchase,
                    exclude,
                    candidates,
                    category,
                    in_stock_only,
                }
            },
        )
}

fn options_strategy() -> impl Strategy<Value = RecommendOptions> {
    options_of(
        weird_k(),
        proptest::collection::vec(weird_id(), 0..3),
        proptest::option::of(proptest::collection::vec(weird_id(), 0..4)),
        proptest::option::of(prop_oneof![Just("tea".to_owned()), weird_id()]),
    )
}

fn score_strategy() -> impl Strategy<Value = Score> {
    prop_oneof![
        any::<u8>().prop_map(Score::Nps),
        any::<u8>().prop_map(Score::Csat),
        any::<u8>().prop_map(Score::Ces),
    ]
}

fn channel_strategy() -> impl Strategy<Value = Channel> {
    proptest::sample::select(Channel::ALL.to_vec())
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => purchase_strategy().prop_map(Op::Record),
        3 => purchase_strategy().prop_map(Op::Observe),
        1 => (weird_id(), proptest::option::of(weird_id()), proptest::option::of(weird_f64()), any::<bool>())
            .prop_map(|(a, b, c, d)| Op::Product(a, b, c, d)),
        1 => (weird_id(), proptest::option::of(weird_id()), proptest::option::of(weird_id()))
            .prop_map(|(a, b, c)| Op::Customer(a, b, c)),
        1 => (weird_id(), any::<bool>()).prop_map(|(a, b)| Op::Stock(a, b)),
        1 => Just(Op::Train),
        3 => (weird_id(), options_strategy()).prop_map(|(a, b)| Op::Recommend(a, b)),
        1 => (weird_id(), weird_k()).prop_map(|(a, b)| Op::Similar(a, b)),
        2 => weird_ts().prop_map(Op::Profiles),
        1 => (weird_id(), score_strategy(), weird_ts()).prop_map(|(a, b, c)| Op::Feedback(a, b, c)),
        2 => (weird_id(), channel_strategy(), weird_ts()).prop_map(|(a, b, c)| Op::Greet(a, b, c)),
        1 => weird_ts().prop_map(Op::Refresh),
        1 => (weird_id(), prop_oneof![Just("hello-web".to_owned()), Just("picked-for-you".to_owned()), weird_id()],
              prop_oneof![Just(Engagement::Impression), Just(Engagement::Click), Just(Engagement::Conversion)])
            .prop_map(|(a, b, c)| Op::Engage(a, b, c)),
        1 => (prop_oneof![Just(Period::Month), Just(Period::Quarter)], proptest::option::of((weird_ts(), weird_ts())))
            .prop_map(|(a, b)| Op::Report(a, b)),
        1 => weird_id().prop_map(Op::RefreshCustomer),
        1 => Just(Op::RoundTrip),
    ]
}

fn valid_purchase(p: &Purchase) -> bool {
    !p.customer.is_empty()
        && !p.product.is_empty()
        && p.quantity.is_finite()
        && p.quantity > 0.0
        && p.unit_price.is_finite()
        && p.unit_price >= 0.0
        && (p.quantity * p.unit_price).is_finite()
}

fn apply(e: &mut Engine, op: &Op) {
    match op {
        Op::Record(p) | Op::Observe(p) => {
            let before = e.history().lines().len();
            let r = if matches!(op, Op::Record(_)) {
                e.record_purchase(p)
            } else {
                e.observe(p)
            };
            match r {
                Ok(_) => assert!(valid_purchase(p), "accepted {p:?}"),
                Err(
                    Error::InvalidWeight { .. }
                    | Error::InvalidQuantity { .. }
                    | Error::InvalidArgument(_),
                ) => {
                    assert!(!valid_purchase(p), "rejected {p:?}");
                    assert_eq!(e.history().lines().len(), before, "nothing stored");
                }
                Err(err) => panic!("unexpected error {err:?} for {p:?}"),
            }
        }
        Op::Product(id, cat, price, stock) => {
            let r = e.upsert_product(Product {
                id: id.clone(),
                name: format!("name of {id}"),
                category: cat.clone(),
                price: *price,
                in_stock: *stock,
            });
            let ok = !id.is_empty() && price.is_none_or(|p| p.is_finite() && p >= 0.0);
            assert_eq!(r.is_ok(), ok, "{r:?}");
        }
        Op::Customer(id, first_name, locale) => {
            let r = e.upsert_customer(CustomerInfo {
                id: id.clone(),
                first_name: first_name.clone(),
                locale: locale.clone(),
                channel: None,
            });
            assert_eq!(r.is_ok(), !id.is_empty());
        }
        Op::Stock(id, s) => {
            let known = e.history().catalog().index(id).is_some();
            assert_eq!(e.set_in_stock(id, *s).is_ok(), known);
            let catalog = e.history().catalog();
            let out = (0..catalog.len() as u32)
                .filter(|&i| !catalog.in_stock(i))
                .count();
            assert_eq!(catalog.out_of_stock_count(), out);
        }
        Op::Train => match e.train() {
            Ok(_) | Err(Error::Empty(_)) => {}
            Err(err) => panic!("training failed: {err:?}"),
        },
        Op::Recommend(c, o) => match e.recommend(c, o) {
            Ok(r) => {
                check_recs(e, c, o, &r);
                let batch = e.recommend_batch(&[c.as_str()], o).unwrap();
                assert_eq!(batch, vec![r]);
            }
            Err(Error::NotTrained) => assert!(!e.is_trained()),
            Err(err) => panic!("recommend failed: {err:?}"),
        },
        Op::Similar(p, k) => match e.similar(p, *k) {
            Ok(s) => check_similar(p, *k, &s),
            Err(Error::NotTrained) => assert!(!e.is_trained()),
            Err(Error::UnknownProduct(_)) => assert!(e.history().catalog().index(p).is_none()),
            Err(err) => panic!("similar failed: {err:?}"),
        },
        Op::Profiles(t) => check_profiles(e, Timestamp(*t)),
        Op::Feedback(c, s, t) => {
            let r = e.record_feedback(c, *s, Timestamp(*t));
            assert_eq!(r.is_ok(), !c.is_empty() && s.validate().is_ok(), "{r:?}");
        }
        Op::Greet(c, ch, t) => match e.greet(c, *ch, Timestamp(*t)) {
            Ok(g) => check_greeting_text(&g.text, *ch, e.greetings().config()),
            Err(Error::InvalidArgument(_)) => assert!(c.is_empty()),
            Err(Error::Empty(_)) => assert!(e.greetings().is_empty()),
            Err(err) => panic!("greet failed: {err:?}"),
        },
        Op::Refresh(t) => e.refresh_greetings(Timestamp(*t)).unwrap(),
        Op::Engage(c, v, ev) => {
            let r = e.record_engagement(c, v, *ev);
            match r {
                Ok(()) => {}
                Err(Error::InvalidArgument(_)) => assert!(c.is_empty()),
                Err(Error::UnknownVariant(_)) => assert!(e.greetings().variant(v).is_none()),
                Err(err) => panic!("engagement failed: {err:?}"),
            }
        }
        Op::Report(p, w) => {
            let window = w.map(|(a, b)| (Timestamp(a), Timestamp(b)));
            match e.feedback_report(*p, window) {
                Ok(r) => {
                    for x in &r.retention {
                        assert!(x.retained <= x.active && x.active > 0);
                        assert!((0.0..=1.0).contains(&x.retention_rate));
                    }
                    if let Some(nps) = r.nps {
                        assert!((-100.0..=100.0).contains(&nps));
                    }
                }
                Err(Error::InvalidArgument(_)) => {
                    assert!(window.is_some_and(|(a, b)| a >= b))
                }
                Err(err) => panic!("report failed: {err:?}"),
            }
        }
        Op::RefreshCustomer(c) => match e.refresh_customer(c) {
            Ok(()) => assert!(e.is_trained()),
            Err(Error::UnknownCustomer(_)) => assert!(e.history().customers().get(c).is_none()),
            Err(Error::NotTrained) => assert!(!e.is_trained()),
            Err(err) => panic!("refresh_customer failed: {err:?}"),
        },
        Op::RoundTrip => {
            let bytes = e.to_bytes().expect("an engine serialises");
            let back = Engine::from_bytes(&bytes).expect("and loads back");
            assert_eq!(back.history().lines(), e.history().lines());
            if e.is_trained() {
                let o = RecommendOptions::default();
                for c in e.history().customers().names().iter().take(3) {
                    assert_eq!(back.recommend(c, &o).unwrap(), e.recommend(c, &o).unwrap());
                }
            }
            *e = back;
        }
    }
}

/// Rendered text is clean for its channel: no control characters, escaped for HTML channels,
/// within the length limit for SMS and app.
fn check_greeting_text(text: &str, ch: Channel, cfg: &GreetingConfig) {
    assert!(!text.chars().any(char::is_control), "{text:?}");
    match ch {
        Channel::Web | Channel::Email => {
            assert!(!text.contains(['<', '>', '"', '\'']), "{text:?}");
            let mut rest = text;
            while let Some(i) = rest.find('&') {
                rest = &rest[i..];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                        .iter()
                        .any(|e| rest.starts_with(e)),
                    "bare & in {text:?}"
                );
                rest = &rest[1..];
            }
        }
        Channel::Sms => assert!(text.chars().count() <= cfg.sms_max_chars, "{text:?}"),
        Channel::App => assert!(text.chars().count() <= cfg.app_max_chars, "{text:?}"),
        Channel::InStore => {}
    }
}

proptest! {
    #![proptest_config(cases(64))]

    /// Random sequences of events and queries on a fresh engine.
    #[test]
    fn engine_event_sequences_from_scratch(ops in proptest::collection::vec(op_strategy(), 1..30)) {
        let mut e = Engine::new(tiny());
        e.load_default_greetings().unwrap();
        for op in &ops {
            apply(&mut e, op);
        }
    }

    /// Random sequences of events and queries on a trained engine with greetings and feedback.
    #[test]
    fn engine_event_sequences_on_a_trained_shop(ops in proptest::collection::vec(op_strategy(), 1..30)) {
        let mut e = SHOP.clone();
        for op in &ops {
            apply(&mut e, op);
        }
    }

    /// Profiles as of any date, including before the first purchase and far in the future.
    #[test]
    fn profiles_as_of_any_date(t in weird_ts()) {
        check_profiles(&SHOP, Timestamp(t));
    }

    /// recommend and similar with any k, unknown ids, empty or odd candidate lists.
    #[test]
    fn recommend_and_similar_any_request(c in weird_id(), o in options_strategy(), p in weird_id(), k in weird_k()) {
        let r = SHOP.recommend(&c, &o).unwrap();
        check_recs(&SHOP, &c, &o, &r);
        match SHOP.similar(&p, k) {
            Ok(s) => check_similar(&p, k, &s),
            Err(Error::UnknownProduct(_)) => prop_assert!(SHOP.history().catalog().index(&p).is_none()),
            Err(err) => prop_assert!(false, "{:?}", err),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Greetings
// ---------------------------------------------------------------------------------------------

fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("<b>Bob</b> & \"Alice\" 'x'".to_owned()),
        Just("{first_name}".to_owned()),
        Just("{{}}{}{|}".to_owned()),
        Just("\u{0}\u{7}\u{1b}[31m\r\n\t".to_owned()),
        Just("a".repeat(3_000)),
        Just("word ".repeat(400)),
        Just("\u{202e}\u{200b}\u{feff}😀é".to_owned()),
        Just("&amp;&lt;".to_owned()),
        Just("   ".to_owned()),
        Just(String::new()),
        "\\PC{0,40}",
        any::<String>(),
    ]
}

fn template_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z ,.!]{0,8}",
        Just("{first_name}".to_owned()),
        Just("{first_name|there}".to_owned()),
        Just("{shop_name|<shop>}".to_owned()),
        Just("{ part_of_day }".to_owned()),
        Just("{product}".to_owned()),
        Just("{top_category|stuff}".to_owned()),
        Just("{days_since_last_order}".to_owned()),
        Just("{order_count|no}".to_owned()),
        Just("{{".to_owned()),
        Just("}}".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("{nope}".to_owned()),
        Just("{first_name|}".to_owned()),
        Just("<script>&\"'".to_owned()),
        Just("\u{0}\u{85}\u{2028}".to_owned()),
        "\\PC{0,5}",
    ];
    prop_oneof![
        proptest::collection::vec(piece, 0..8).prop_map(|v| v.concat()),
        any::<String>(),
        Just("x".repeat(1_001)),
        Just("{first_name|".to_owned() + &"y".repeat(990) + "}"),
    ]
}

proptest! {
    #![proptest_config(cases(128))]

    /// Hostile names, shop names and templates render to clean, escaped, bounded text or fail
    /// registration with a typed error.
    #[test]
    fn greetings_with_hostile_text(
        name in hostile_text(),
        shop in proptest::option::of(hostile_text()),
        template in template_text(),
        id in prop_oneof![Just("v".to_owned()), weird_id()],
        locale in proptest::option::of(hostile_text()),
        ch in channel_strategy(),
        at in weird_ts(),
        sms_max in prop_oneof![Just(20usize), Just(160), 0usize..400],
    ) {
        let mut e = SHOP.clone();
        e.upsert_customer(CustomerInfo { id: "t1".into(), first_name: Some(name), locale, channel: None }).unwrap();
        let cfg = GreetingConfig { shop_name: shop, sms_max_chars: sms_max, ..GreetingConfig::default() };
        match e.set_greeting_config(cfg) {
            Ok(()) => {}
            Err(Error::InvalidConfig(_)) => prop_assert!(sms_max < 20),
            Err(err) => prop_assert!(false, "{:?}", err),
        }
        let v = Variant { id: id.clone(), template: template.clone(), boost: 5.0, ..Variant::default() };
        match e.add_greeting_variant(v) {
            Ok(()) => {}
            Err(Error::Template { .. } | Error::InvalidVariant { .. }) => {}
            Err(err) => prop_assert!(false, "{:?}", err),
        }
        for c in ["t1", "c7", "nobody"] {
            let g = e.greet(c, ch, Timestamp(at)).unwrap();
            check_greeting_text(&g.text, ch, e.greetings().config());
            for r in &g.runners_up {
                check_greeting_text(&r.text, ch, e.greetings().config());
            }
        }
        let json = serde_json::to_string(&[Variant { id, template, ..Variant::default() }]).unwrap();
        let _ = e.add_greeting_variants_json(&json);
    }

    /// Arbitrary JSON for variants is a typed error or a registration.
    #[test]
    fn greeting_variants_from_arbitrary_json(json in prop_oneof![
        "\\PC{0,60}",
        Just("[{\"id\":\"a\",\"template\":\"Hi\",\"hours\":{\"from\":255,\"to\":255}}]".to_owned()),
        Just("[{\"id\":\"a\",\"template\":\"Hi\",\"boost\":1e39}]".to_owned()),
        Just("[{\"id\":\"a\",\"template\":\"Hi\",\"audience\":{\"min_days_since_last_order\":-1}}]".to_owned()),
        Just("[{\"id\":\"a\",\"template\":\"Hi\",\"featured_products\":[\"teapot\",\"teapot\"]}]".to_owned()),
        Just("[{\"id\":\"a\",\"template\":\"Hi\"},{\"id\":\"a\",\"template\":\"Ho\"}]".to_owned()),
    ]) {
        let mut e = SHOP.clone();
        let before = e.greetings().len();
        match e.add_greeting_variants_json(&json) {
            Ok(n) => prop_assert!(e.greetings().len() <= before + n),
            Err(_) => prop_assert_eq!(e.greetings().len(), before),
        }
        for ch in Channel::ALL {
            let g = e.greet("t1", ch, Timestamp(T0 + 70 * DAY)).unwrap();
            check_greeting_text(&g.text, ch, e.greetings().config());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A catalog large enough for the int8 scan, interaction tables, evaluation, value models
// ---------------------------------------------------------------------------------------------

/// 2,100 products (the int8 scan starts at 2,048) in ten categories, every ninth out of stock;
/// 80 customers with twelve purchases each.
fn big_shop() -> Engine {
    let mut e = Engine::new(tiny());
    let mut x: u64 = 7;
    let mut next = |n: u64| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) % n
    };
    for c in 0..80 {
        for j in 0..12 {
            let p = (c % 10) * 210 + next(210);
            let p = if j % 4 == 3 { next(2_100) } else { p };
            e.record_purchase(&purchase(
                &format!("u{c}"),
                &format!("p{p}"),
                T0 + (c + j) as i64 * DAY,
                None,
            ))
            .unwrap();
        }
    }
    for p in 0..2_100u32 {
        e.upsert_product(Product {
            id: format!("p{p}"),
            name: format!("Product {p}"),
            category: Some(format!("g{}", p / 210)),
            price: Some(1.0),
            in_stock: p % 9 != 0,
        })
        .unwrap();
    }
    e.train().unwrap();
    e
}

static BIG: LazyLock<Engine> = LazyLock::new(big_shop);

fn big_options() -> impl Strategy<Value = RecommendOptions> {
    let id = prop_oneof![(0u32..2_200).prop_map(|p| format!("p{p}")), weird_id()];
    options_of(
        prop_oneof![
            Just(0usize),
            Just(1),
            Just(10),
            Just(130),
            Just(131),
            Just(usize::MAX),
            0usize..300
        ],
        proptest::collection::vec(id.clone(), 0..20),
        proptest::option::of(proptest::collection::vec(id, 0..60)),
        proptest::option::of(prop_oneof![
            (0u32..11).prop_map(|g| format!("g{g}")),
            weird_id()
        ]),
    )
}

/// Reads an interaction table and trains on it: factors are finite, or a typed error.
fn train_triples(text: &[u8]) {
    use rapport::triples::TripleCsv;
    let Ok(t) = TripleCsv::read(text) else { return };
    let m = match rapport::interactions::Interactions::from_triples(
        t.users().len(),
        t.items().len(),
        t.triples(),
    ) {
        Ok(m) => m,
        Err(Error::InvalidWeight { .. }) => return,
        Err(e) => panic!("{e:?}"),
    };
    match rapport::als::train(&m, &tiny().als) {
        Ok(f) => {
            assert!(
                f.users().iter().all(|v| v.is_finite()),
                "non-finite customer factors"
            );
            assert!(
                f.items().iter().all(|v| v.is_finite()),
                "non-finite product factors"
            );
        }
        Err(Error::Empty(_) | Error::InvalidConfig(_) | Error::InvalidWeight { .. }) => {}
        Err(e) => panic!("{e:?}"),
    }
}

proptest! {
    #![proptest_config(cases(128))]

    /// Requests against a catalog scanned through the int8 table obey every filter, and a batch
    /// equals one call per customer.
    #[test]
    fn recommend_on_a_large_catalog(c in prop_oneof![(0u32..90).prop_map(|c| format!("u{c}")), weird_id()], o in big_options()) {
        let r = BIG.recommend(&c, &o).unwrap();
        check_recs(&BIG, &c, &o, &r);
        let batch = BIG.recommend_batch(&[c.as_str(), "u1", "nobody"], &o).unwrap();
        prop_assert_eq!(&batch[0], &r);
        prop_assert_eq!(&batch[1], &BIG.recommend("u1", &o).unwrap());
    }

    /// Interaction tables with odd weights: read, build and train, or a typed error.
    #[test]
    fn interaction_tables(rows in proptest::collection::vec(
        (prop_oneof!["u[0-3]", weird_id()], prop_oneof!["i[0-3]", weird_id()],
         prop_oneof![Just("1".to_owned()), Just("3e38".to_owned()), Just("1e39".to_owned()), Just("-0".to_owned()),
                     Just("0".to_owned()), Just("1e-45".to_owned()), Just("NaN".to_owned()), Just("".to_owned()),
                     any::<f32>().prop_map(|w| w.to_string())]),
        0..12)) {
        let mut text = String::from("user_id,item_id,weight\n");
        for (u, i, w) in &rows {
            let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
            text.push_str(&format!("{},{},{}\n", q(u), q(i), q(w)));
        }
        train_triples(text.as_bytes());
    }

    /// Arbitrary bytes as an interaction table.
    #[test]
    fn interaction_tables_from_bytes(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut text = b"user_id,item_id,weight\n".to_vec();
        text.extend_from_slice(&body);
        train_triples(&text);
    }

    /// Metrics stay in [0, 1] for any recommendations, test sets and k.
    #[test]
    fn evaluation_metrics(
        test in proptest::collection::vec((0u32..6, 0u32..8), 0..20),
        recs in proptest::collection::vec(proptest::collection::vec(0u32..10, 0..12), 0..8),
        k in prop_oneof![Just(0usize), Just(usize::MAX), 0usize..15],
        train_items in prop_oneof![Just(0usize), 0usize..20],
        fraction in weird_f64(),
        min in 0usize..4,
        seed in any::<u64>(),
    ) {
        use rapport::eval::{evaluate, random_split};
        use rapport::interactions::Triple;
        let triples: Vec<Triple> = test.iter().map(|&(user, item)| Triple { user, item, weight: 1.0 }).collect();
        let m = evaluate(&recs, &triples, train_items, k);
        for v in [m.precision, m.recall, m.ndcg, m.map] {
            prop_assert!((0.0..=1.0 + 1e-9).contains(&v), "{:?}", m);
        }
        prop_assert!(m.coverage.is_finite() && m.coverage >= 0.0);
        match random_split(&triples, fraction, min, seed) {
            Ok(s) => prop_assert!(s.train.len() + s.test.len() <= triples.len()),
            Err(Error::InvalidArgument(_)) => prop_assert!(!(fraction > 0.0 && fraction < 1.0)),
            Err(e) => prop_assert!(false, "{:?}", e),
        }
    }
}

/// 40 customers buying every 3 to 12 days for a year: enough for the BG/NBD and Gamma-Gamma fits.
fn modelled_base() -> Engine {
    let mut e = Engine::new(tiny());
    for c in 0..40i64 {
        let gap = 3 + c % 10;
        let mut t = T0 + c * 3_600;
        let mut n = 0;
        while t < T0 + (100 + 7 * c) * DAY && n < 1 + c % 7 {
            let p = purchase(
                &format!("b{c}"),
                &format!("{}", 20_000 + (c * 7 + n) % 13),
                t,
                None,
            );
            e.record_purchase(&Purchase {
                unit_price: 1.0 + (c % 5) as f64,
                ..p
            })
            .unwrap();
            t += gap * DAY;
            n += 1;
        }
    }
    e
}

static BASE: LazyLock<Engine> = LazyLock::new(modelled_base);

#[test]
fn the_modelled_base_fits_both_value_models() {
    let p = BASE.profiles(Timestamp(T0 + 200 * DAY)).unwrap();
    assert!(p.bg_nbd.is_some() && p.gamma_gamma.is_some());
}

/// Whether a summary's counts and ages fit the days between two `i64`-second timestamps (about
/// 2·10¹⁴): beyond that, sums such as `alpha + T` may overflow to ∞ and predictions are NaN.
fn within_day_range(s: &rapport::clv::RfmSummary) -> bool {
    [s.frequency, s.recency, s.t].iter().all(|v| *v <= 1e15)
}

proptest! {
    #![proptest_config(cases(48))]

    /// Profiles of a base large enough for the value models, with adversarial lines added,
    /// as of any date.
    #[test]
    fn profiles_with_fitted_models(extra in proptest::collection::vec(purchase_strategy(), 0..4), as_of in weird_ts()) {
        let mut e = BASE.clone();
        for p in &extra {
            let _ = e.record_purchase(p);
        }
        check_profiles(&e, Timestamp(as_of));
        check_profiles(&e, Timestamp(T0 + 200 * DAY));
        let _ = e.feedback_report(Period::Quarter, None).unwrap();
    }

    /// The customer value models fit or refuse any small data set, and predict without panics.
    #[test]
    fn value_models_on_any_data(
        data in proptest::collection::vec(prop_oneof![
            // valid summaries in whole days, as profiles make them: whole frequency,
            // recency ≤ T, recency 0 without repeats
            4 => (0u32..6, 0.0f64..1.0, prop_oneof![Just(1e300), (0u32..400).prop_map(f64::from)])
                .prop_map(|(f, r, t)| (f as f64, if f == 0 { 0.0 } else { (r * t).floor() }, t)),
            1 => (weird_f64(), weird_f64(), weird_f64()),
        ], 1..12),
        horizon in prop_oneof![Just(365.0), 0.0f64..3650.0, weird_f64()],
    ) {
        use rapport::clv::{BgNbd, GammaGamma, RfmSummary};
        let summaries: Vec<RfmSummary> = data.iter().map(|&(f, r, t)| RfmSummary::new(f, r, t)).collect();
        if let Ok(m) = BgNbd::fit(&summaries) {
            prop_assert!([m.r, m.alpha, m.a, m.b].iter().all(|v| v.is_finite() && *v > 0.0));
            for s in &summaries {
                let p = m.prob_alive(s);
                prop_assert!(p.is_nan() || (0.0..=1.0).contains(&p), "{}", p);
                let n = m.expected_purchases(horizon, s);
                let q = m.prob_no_purchase(horizon, s);
                if s.validate().is_ok() && within_day_range(s) && (0.0..=3650.0).contains(&horizon) {
                    // documented: NaN only for non-finite input or parameters, including fits
                    // at the optimiser's bounds
                    prop_assert!(n.is_finite() && n >= 0.0, "{:?} {:?} over {}: {}", m, s, horizon, n);
                    prop_assert!((0.0..=1.0).contains(&q), "{:?} {:?}: {}", m, s, q);
                }
            }
        }
        let pairs: Vec<(f64, f64)> = data.iter().map(|&(f, m, _)| (f, m)).collect();
        if let Ok(g) = GammaGamma::fit(&pairs) {
            prop_assert!(g.q > 1.0);
            for &(f, m) in &pairs {
                let _ = g.conditional_expected_average_value(f, m);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions: each problem the properties above found, as a minimal deterministic test
// ---------------------------------------------------------------------------------------------

/// `days_since` and `plus_days` are defined for every timestamp: the day difference of the two
/// ends of the `i64` range used to overflow, and moves past either end now saturate.
#[test]
fn timestamp_arithmetic_at_the_ends_of_the_range() {
    let (min, max) = (Timestamp(i64::MIN), Timestamp(i64::MAX));
    let span = u64::MAX as f64 / 86_400.0;
    assert_eq!(max.days_since(min), span);
    assert_eq!(min.days_since(max), -span);
    assert_eq!(Timestamp(0).days_since(min), 2f64.powi(63) / 86_400.0);
    assert_eq!(max.plus_days(1.0), max);
    assert_eq!(min.plus_days(-1.0), min);
    assert_eq!(Timestamp(5).plus_days(f64::INFINITY), max);
    assert_eq!(Timestamp(5).plus_days(f64::NEG_INFINITY), min);
    assert_eq!(Timestamp(5).plus_days(f64::NAN), Timestamp(5));
    assert_eq!(Timestamp(0).plus_days(1.5), Timestamp(129_600));
}

/// Profiles as of a far date of a customer who bought at the start of the `i64` range: the
/// favourite-product decay measured the age with an overflowing subtraction.
#[test]
fn profiles_span_the_whole_timestamp_range() {
    let mut e = Engine::new(tiny());
    e.record_purchase(&purchase("ann", "mug", i64::MIN, None))
        .unwrap();
    e.record_purchase(&purchase("bob", "mug", i64::MAX, None))
        .unwrap();
    for as_of in [i64::MIN, -1, 0, 253_402_300_799, i64::MAX] {
        check_profiles(&e, Timestamp(as_of));
    }
    let p = e.profiles(Timestamp(i64::MAX)).unwrap();
    let ann = p.by_id("ann").unwrap();
    assert_eq!(
        ann.days_since_last_purchase,
        Some(u64::MAX as f64 / 86_400.0)
    );
    assert_eq!(ann.favourite_products, vec![(0, 0.0)]);
}

/// Training with a purchase at the start of the `i64` range: the popularity window's start
/// (30 days before the latest purchase) used to overflow.
#[test]
fn training_with_purchases_at_the_ends_of_the_range() {
    let mut e = Engine::new(tiny());
    e.record_purchase(&purchase("ann", "mug", i64::MIN, None))
        .unwrap();
    e.train().unwrap();
    let r = e.recommend("nobody", &RecommendOptions::default()).unwrap();
    assert!(r.fallback);
    assert_eq!(r.items.len(), 1);
    // a window reaching before the start of the range saturates: all history counts
    let mut e = Engine::new(EngineConfig {
        popularity_window_days: 1e300,
        ..tiny()
    });
    e.record_purchase(&purchase("ann", "mug", T0, None))
        .unwrap();
    e.record_purchase(&purchase("bob", "mug", i64::MIN + 1, None))
        .unwrap();
    e.train().unwrap();
    let r = e.recommend("nobody", &RecommendOptions::default()).unwrap();
    assert_eq!((r.items.len(), r.items[0].score), (1, 2.0));
    // a negative window is refused (it used to mean all history, silently)
    let mut e = Engine::new(EngineConfig {
        popularity_window_days: -1e300,
        ..tiny()
    });
    e.record_purchase(&purchase("ann", "mug", T0, None))
        .unwrap();
    assert!(matches!(e.train(), Err(Error::InvalidConfig(m)) if m.contains("-1e300")));
}

/// `similar` with k = 0 is an empty list (the top-k selector's threshold indexed an empty heap).
#[test]
fn similar_with_k_zero_is_empty() {
    assert!(SHOP.similar("teapot", 0).unwrap().is_empty());
    assert_eq!(rapport::topk::TopK::new(0).threshold(), f32::INFINITY);
    assert_eq!(SHOP.similar("teapot", usize::MAX).unwrap().len(), 7);
}

/// A line whose quantity × price overflows to infinity is refused, by `record_purchase` with a
/// typed error and by the CSV reader as an unparsable row; it used to be stored and made the
/// customer's spend infinite.
#[test]
fn overflowing_line_amounts_are_refused() {
    let mut e = Engine::new(tiny());
    let p = Purchase {
        quantity: 1e200,
        unit_price: 1e200,
        ..purchase("ann", "mug", T0, None)
    };
    assert!(matches!(
        e.record_purchase(&p),
        Err(Error::InvalidWeight { value, .. }) if value == f64::INFINITY
    ));
    assert!(e.history().lines().is_empty());
    assert!(e.history().customers().is_empty(), "nothing stored");
    let text = format!(
        "{HEADER}\n536365,85123A,HEART,1e200,12/1/2010 8:26,1e200,17850,UK\n\
         536366,71053,LANTERN,6,12/1/2010 8:28,3.39,17850,UK\n"
    );
    let (r, h) = read_all(text.as_bytes(), &IngestOptions::online_retail());
    let r = r.unwrap();
    assert_eq!((r.rows_read, r.kept, r.unparsable), (2, 1, 1));
    assert_eq!(r.unparsable_lines, vec![2]);
    assert_eq!(h.lines().len(), 1);
    strict_stops_at_line(&text, 2);
}

/// Spend totals that overflow over several lines leave expected values at 0 for a customer
/// with no expected purchase, not NaN (0 × ∞).
#[test]
fn overflowing_spend_totals_give_no_nan_in_profiles() {
    let mut e = Engine::new(tiny());
    for product in ["mug", "tea"] {
        e.record_purchase(&Purchase {
            quantity: 1e154,
            unit_price: 1e154,
            ..purchase("ann", product, T0, Some("o1"))
        })
        .unwrap();
    }
    let p = e.profiles(Timestamp(T0 + DAY)).unwrap();
    let ann = p.by_id("ann").unwrap();
    assert_eq!(ann.total_spend, f64::INFINITY);
    assert_eq!(ann.expected_orders_12m, 0.0);
    assert_eq!(ann.expected_value_12m, 0.0);
    check_profiles(&e, Timestamp(T0 + DAY));
}

/// A product moved to another category after `refresh_greetings`: the engine used to save but
/// not load again (its category index no longer matched the catalog: `Corrupted`), and
/// greetings looked the new category up in the stale index and found no product. The catalog
/// now keeps the index itself, so a move through any path is seen at once.
#[test]
fn category_changes_after_refreshing_greetings() {
    let teapot = || Product {
        category: Some("kitchen".into()),
        ..Product::bare("teapot")
    };
    let kitchen = || Variant {
        id: "kitchen".into(),
        template: "New in the kitchen: {product}".into(),
        category: Some("kitchen".into()),
        boost: 10.0,
        ..Variant::default()
    };
    let mut e = small_shop();
    e.upsert_product(teapot()).unwrap();
    e.add_greeting_variant(kitchen()).unwrap();
    let at = Timestamp(T0 + 70 * DAY);
    let g = e.greet("c8", Channel::InStore, at).unwrap();
    assert_eq!(
        (g.variant.as_str(), g.products.as_slice()),
        ("kitchen", &["teapot".to_owned()][..])
    );
    let back = Engine::from_bytes(&e.to_bytes().unwrap()).unwrap();
    assert_eq!(back.greet("c8", Channel::InStore, at).unwrap(), g);
    // moved through the catalog itself, after a refresh
    let mut moved = small_shop();
    moved.refresh_greetings(Timestamp(T0 + 60 * DAY)).unwrap();
    moved.history_mut().catalog_mut().upsert(teapot()).unwrap();
    moved.add_greeting_variant(kitchen()).unwrap();
    assert_eq!(moved.greet("c8", Channel::InStore, at).unwrap(), g);
    let back = Engine::from_bytes(&moved.to_bytes().unwrap()).unwrap();
    assert_eq!(back.greet("c8", Channel::InStore, at).unwrap(), g);
}

/// A two-digit year is not a date: `12/1/10 8:26` used to parse as 1 December of the year 10
/// and was silently kept by the CSV reader, even in strict mode.
#[test]
fn two_digit_years_are_not_dates() {
    for bad in [
        "12/1/10 8:26",
        "1/4/11",
        "10-12-01 08:26:00",
        "210-12-01",
        "12/1/02010 8:26",
    ] {
        assert_eq!(Timestamp::parse(bad), None, "{bad}");
    }
    assert_eq!(
        Timestamp::parse("12/1/0010 8:26"),
        Timestamp::from_ymd_hms(10, 12, 1, 8, 26, 0)
    );
    let text = format!("{HEADER}\n536365,85123A,HEART,6,12/1/10 8:26,2.55,17850,UK\n");
    let (r, h) = read_all(text.as_bytes(), &IngestOptions::online_retail());
    let r = r.unwrap();
    assert_eq!((r.rows_read, r.kept, r.unparsable), (1, 0, 1));
    assert!(h.lines().is_empty());
    strict_stops_at_line(&text, 2);
}

/// BG/NBD expected purchases of a fitted model with huge Beta parameters (a base where each
/// repeat purchase is followed by dropout with an almost fixed probability): the ₂F₁ series
/// could only stop after |c| ≈ 1.5e7 terms, gave up at 100 000 and returned NaN, which profiles
/// passed on as `expected_orders_12m` and `expected_value_12m` of single-purchase customers.
#[test]
fn expected_purchases_with_huge_beta_parameters() {
    use rapport::clv::{BgNbd, RfmSummary};
    let m = BgNbd {
        r: 0.829_540_489_202_609_6,
        alpha: 7.086_081_884_667_513,
        a: 4_424_015.927_168_623,
        b: 10_615_379.799_317_546,
    };
    // references: the same formula with the series summed directly at 40 digits (mpmath)
    for (t, want) in [
        (0.0, 3.061_317_093_172_419_2),
        (1.0, 3.024_893_233_212_427),
        (50.0, 1.986_218_261_480_031_6),
        (143.0, 1.226_780_157_681_071_4),
        (200.0, 0.995_521_999_742_903),
    ] {
        let got = m.expected_purchases(365.0, &RfmSummary::new(0.0, 0.0, t));
        assert!(
            (got - want).abs() <= 1e-12 * want,
            "T = {t}: {got} vs {want}"
        );
    }
    // the profile that showed it: a base fitted to such parameters and one single-purchase
    // customer
    let mut e = BASE.clone();
    e.record_purchase(&purchase("once", "20001", 1_304_899_200, None))
        .unwrap();
    check_profiles(&e, Timestamp(T0 + 200 * DAY));
    let p = e.profiles(Timestamp(T0 + 200 * DAY)).unwrap();
    assert!(p.bg_nbd.is_some());
    assert!(p.by_id("once").unwrap().expected_orders_12m > 0.0);
}

/// Fits at the optimiser's bounds predict finite values. One customer with a single repeat
/// purchase fits r ≈ 10¹³ with a dropout probability of almost 1: the ₂F₁ series would need
/// about 10¹³ terms, but the answer is bounded by `first / denom`, which underflows to 0. A fit
/// with a tiny `alpha` rounds `z` to 1, where the series cannot start; the connection to series
/// in `1 − z` gives the value, here `first / denom` up to a `(1 − z)^(r+x)` term of 10⁻¹⁷.
#[test]
fn degenerate_bg_nbd_fits_predict_finite_values() {
    use rapport::clv::{BgNbd, RfmSummary};
    let s = RfmSummary::new(1.0, 0.0, 1.0);
    let m = BgNbd::fit(&[s]).unwrap();
    assert!(m.r > 1e10 && m.b < 1e-5, "{m:?}");
    assert_eq!(m.expected_purchases(365.0, &s), 0.0, "{m:?}");
    assert!(m.prob_alive(&s) < 1e-9, "{m:?}");

    let m = BgNbd {
        r: 0.030958743682975725,
        alpha: 9.357622970771176e-15,
        a: 310028.9663124141,
        b: 232.28817795568472,
    };
    let s = RfmSummary::new(1.0, 0.0, 0.0);
    let (x, BgNbd { a, b, .. }) = (1.0, m);
    let bound = (a + b + x - 1.0) / (a - 1.0) / (1.0 + a / (b + x - 1.0));
    let n = m.expected_purchases(365.0, &s);
    assert!((n - bound).abs() < 1e-12 * bound, "{n} vs {bound}");
}

/// Well-formed model files (valid envelope and checksum) whose catalog or customer records do
/// not fit together are `Corrupted`: they used to load, then panic at the first lookup (a
/// category index past the categories in `Catalog::product`, a product id without an entry in
/// `set_in_stock`, customer ids without attribute records in `greet`) or underflow the
/// out-of-stock count in `set_in_stock`, and lines with a negative quantity gave negative
/// units in profiles. An engine's serde form is checked as it is read, so the edited parts are
/// refused by serde here already, with the `Corrupted` message; the same edits inside a valid
/// envelope and checksum give `Error::Corrupted` from `Engine::from_bytes` (the unit test
/// `well_formed_files_that_do_not_fit_together_are_corrupted_errors`, which can build such a
/// file from the crate's saved form).
#[test]
fn model_files_whose_catalog_or_customers_do_not_fit_are_corrupted() {
    let good = serde_json::to_value(&*SHOP).unwrap();
    let reload = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good.clone();
        edit(&mut v);
        serde_json::from_value::<Engine>(v)
    };
    let back = reload(&|_| ()).unwrap();
    assert_eq!(
        Engine::from_bytes(&back.to_bytes().unwrap())
            .unwrap()
            .history()
            .lines(),
        SHOP.history().lines()
    );
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "a category index past the categories",
            Box::new(|v| v["history"]["catalog"]["entries"][0]["category"] = 99.into()),
        ),
        (
            "a product id without an entry",
            Box::new(|v| {
                v["history"]["catalog"]["ids"]
                    .as_array_mut()
                    .unwrap()
                    .push("ghost".into());
            }),
        ),
        (
            "an out-of-stock count that does not match",
            Box::new(|v| v["history"]["catalog"]["out_of_stock"] = 3.into()),
        ),
        (
            "a negative price",
            Box::new(|v| v["history"]["catalog"]["entries"][0]["price"] = (-1.0).into()),
        ),
        (
            "customer ids without attribute records",
            Box::new(|v| {
                v["history"]["infos"].as_array_mut().unwrap().pop();
            }),
        ),
        (
            "a line with a negative quantity",
            Box::new(|v| v["history"]["lines"][0]["quantity"] = (-2.0).into()),
        ),
    ];
    for (what, edit) in cases {
        let message = reload(&*edit).map(|_| ()).unwrap_err().to_string();
        assert!(
            message.starts_with("corrupted model file: "),
            "{what}: {message}"
        );
    }
}
