//! CSV ingest: the bundled Online Retail sample, layouts, cleaning rules and bad input.

use rapport::{
    CsvLayout, Error, History, IngestOptions, IngestReport, Timestamp, read_csv, read_csv_path,
};
use std::path::{Path, PathBuf};

const HEADER: &str =
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";

fn sample_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/online_retail_sample.csv")
}

fn read(text: &[u8], options: &IngestOptions) -> (rapport::Result<IngestReport>, History) {
    let mut history = History::new();
    let report = read_csv(text, options, &mut history);
    (report, history)
}

fn lenient(text: &str) -> (IngestReport, History) {
    let (r, h) = read(text.as_bytes(), &IngestOptions::default());
    (r.unwrap(), h)
}

fn strict() -> IngestOptions {
    IngestOptions {
        strict: true,
        ..IngestOptions::default()
    }
}

#[test]
fn bundled_sample_counts() {
    // Expected counts were computed independently with a short Python `csv` script applying the
    // same rules in the same order (empty CustomerID, InvoiceNo starting with C, Quantity <= 0,
    // UnitPrice <= 0, StockCode not starting with a digit, then exact repeats of
    // (customer, upper-cased StockCode, invoice, date, quantity, price)).
    let mut history = History::new();
    let report = read_csv_path(sample_path(), &IngestOptions::default(), &mut history).unwrap();
    let expected = IngestReport {
        rows_read: 52_074,
        kept: 49_285,
        missing_customer: 773,
        cancelled: 1_146,
        non_positive_price: 5,
        non_product: 132,
        duplicates: 733,
        ..IngestReport::default()
    };
    assert_eq!(report, expected, "\n{report}");
    assert_eq!(report.rows_read, report.kept + report.dropped());
    assert_eq!(history.lines().len(), 49_285);
    assert_eq!(history.customer_count(), 616);
    let catalog = history.catalog();
    assert_eq!(catalog.len(), 3_030);
    // Name: first non-empty description; price: unit price of the latest kept line.
    for (code, name, price) in [
        ("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 2.95),
        ("22423", "REGENCY CAKESTAND 3 TIER", 12.75),
        ("47566", "PARTY BUNTING", 4.95),
    ] {
        let i = catalog.index(code).unwrap();
        assert_eq!(catalog.name(i), name);
        assert_eq!(catalog.price(i), Some(price));
    }
    assert_eq!(
        history.last_timestamp(),
        Timestamp::parse("2011-12-09 10:46:00")
    );

    // Reading the same file again adds nothing: every line is a duplicate.
    let again = read_csv_path(sample_path(), &IngestOptions::default(), &mut history).unwrap();
    assert_eq!(again.kept, 0);
    assert_eq!(again.duplicates, 49_285 + 733);
}

/// The full shared file, when present (set `RAPPORT_ONLINE_RETAIL` or keep it at
/// `../shared/datasets/online_retail.csv`). Counts checked with the same Python script.
#[test]
fn full_file_counts_when_available() {
    let path = std::env::var_os("RAPPORT_ONLINE_RETAIL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/online_retail.csv")
        });
    if !path.exists() {
        eprintln!("skipped: {} not found", path.display());
        return;
    }
    let mut history = History::new();
    let report = read_csv_path(&path, &IngestOptions::default(), &mut history).unwrap();
    assert_eq!(report.rows_read, 541_909);
    assert_eq!(report.kept, 391_148);
    assert_eq!(report.missing_customer, 135_080);
    assert_eq!(report.cancelled, 8_905);
    assert_eq!(report.non_positive_quantity, 0);
    assert_eq!(report.non_positive_price, 40);
    assert_eq!(report.non_product, 1_547);
    assert_eq!(report.duplicates, 5_189);
    assert_eq!(report.unparsable, 0);
    assert_eq!(history.customer_count(), 4_334);
    assert_eq!(history.catalog().len(), 3_659);
}

#[test]
fn both_date_layouts() {
    let iso =
        format!("{HEADER}536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n");
    let uci = format!("{HEADER}536365,85123A,HEART,6,12/1/2010 8:26,2.55,17850,United Kingdom\n");
    let (a, ha) = lenient(&iso);
    let (b, hb) = lenient(&uci);
    assert_eq!((a.kept, b.kept), (1, 1));
    assert_eq!(ha.lines()[0].timestamp, hb.lines()[0].timestamp);
    assert_eq!(ha.lines()[0].timestamp.0, 1_291_191_960);
}

#[test]
fn custom_layout_through_mapping() {
    let text = "\u{feff} user ; sku ;when;category;note\n\
                u1;ab-1;2024-03-01 10:00:00;Books;x\n\
                u1;AB-1;2024-03-02 10:00:00;Games;y\n\
                u2;cd-2;2024-03-02;;z\n\
                ;cd-2;2024-03-03;Music;z\n";
    let options = IngestOptions {
        delimiter: b';',
        ..IngestOptions::new(CsvLayout {
            category: Some("category".into()),
            ..CsvLayout::new("user", "sku", "when")
        })
    };
    let (report, history) = read(text.as_bytes(), &options);
    let report = report.unwrap();
    assert_eq!(
        (report.rows_read, report.kept, report.missing_customer),
        (4, 3, 1)
    );
    // No quantity column: one unit; no price column: price 0 and no catalog price.
    assert!(
        history
            .lines()
            .iter()
            .all(|l| l.quantity == 1.0 && l.unit_price == 0.0)
    );
    let catalog = history.catalog();
    assert_eq!(catalog.len(), 2);
    let ab = catalog.index("AB-1").unwrap();
    assert_eq!(catalog.price(ab), None);
    assert_eq!(catalog.product(ab).category.as_deref(), Some("Books"));
    // Without a description column the name stays the id.
    assert_eq!(catalog.name(ab), "AB-1");
    let cd = catalog.index("CD-2").unwrap();
    assert_eq!(catalog.category_of(cd), None);
    // Without an order column, lines are grouped by customer and timestamp.
    assert_eq!(history.order_id(history.lines()[0].order), "u1@1709287200");

    // Online Retail II header through its preset.
    let ii = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n\
              489434,85048,15CM CHRISTMAS GLASS BALL 20 LIGHTS,12,2009-12-01 07:45:00,6.95,13085.0,United Kingdom\n";
    let options = IngestOptions {
        layout: CsvLayout::online_retail_ii(),
        ..IngestOptions::default()
    };
    let (report, history) = read(ii.as_bytes(), &options);
    assert_eq!(report.unwrap().kept, 1);
    // Customer ids are kept as written.
    assert_eq!(history.customer_info(0).id, "13085.0");
}

#[test]
fn each_cleaning_rule_counted_once() {
    let text = format!(
        "{HEADER}\
         536365,85123A,HEART ,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n\
         536366,22633,HAND WARMER,6,2010-12-01 08:28:00,1.85,,United Kingdom\n\
         C536379,D,Discount,-1,2010-12-01 09:41:00,27.50,14527,United Kingdom\n\
         C536383,35004C,SET OF 3 COLOURED  FLYING DUCKS,-1,2010-12-01 09:49:00,4.65,,United Kingdom\n\
         536414,22139,,56,2010-12-01 11:52:00,0,,United Kingdom\n\
         536589,21777,damaged,-10,2010-12-01 16:50:00,0,15311,United Kingdom\n\
         536981,72817,,0,2010-12-03 14:26:00,1.5,15311,United Kingdom\n\
         536544,21773,DECORATIVE ROSE BATHROOM BOTTLE,1,2010-12-01 14:32:00,0,16029,United Kingdom\n\
         A563185,B,Adjust bad debt,1,2011-08-12 14:50:00,-11062.06,12345,United Kingdom\n\
         536370,POST,POSTAGE,3,2010-12-01 08:45:00,18,12583,France\n\
         536370, gift_0001_20 ,Dotcomgiftshop Gift Voucher £20.00,1,2010-12-01 08:45:00,17.02,12583,France\n\
         536370,  ,NO CODE,3,2010-12-01 08:45:00,18,12583,France\n\
         536365,85123a,heart again,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n\
         536365, 85123A ,HEART,6,2010-12-01 08:26:00,2.55, 17850 ,United Kingdom\n\
         536367,85123A,,6,2010-12-01 08:34:00,2.95,17850,United Kingdom\n"
    );
    let (report, history) = lenient(&text);
    let expected = IngestReport {
        rows_read: 15,
        kept: 2,
        // includes the cancelled line without a customer: first failing rule wins
        missing_customer: 3,
        missing_product: 1,
        cancelled: 1,
        // quantity -10 with price 0, and quantity 0
        non_positive_quantity: 2,
        // zero price and the negative bad-debt adjustment
        non_positive_price: 2,
        // POST and the upper-cased gift voucher
        non_product: 2,
        // same line with the code in lower case, and with padded code and customer
        duplicates: 2,
        ..IngestReport::default()
    };
    assert_eq!(report, expected, "\n{report}");
    let catalog = history.catalog();
    let i = catalog.index("85123A").unwrap();
    assert_eq!(catalog.name(i), "HEART");
    assert_eq!(catalog.price(i), Some(2.95));
    assert_eq!(catalog.len(), 1);

    // Each drop rule that depends on an option is off in the generic options.
    let options = IngestOptions::new(CsvLayout::online_retail());
    let (report, _) = read(text.as_bytes(), &options);
    let report = report.unwrap();
    assert_eq!(report.cancelled, 0);
    assert_eq!(report.non_product, 0);
    // only the negative price is left under the price rule
    assert_eq!(report.non_positive_price, 1);
    assert_eq!(report.kept, 5, "\n{report}");
}

#[test]
fn latest_price_wins_regardless_of_file_order() {
    let text = format!(
        "{HEADER}\
         2,22423,,1,2011-01-02 00:00:00,12.75,1,UK\n\
         1,22423,REGENCY CAKESTAND 3 TIER,1,2011-01-01 00:00:00,10.95,1,UK\n\
         3,22423,OTHER NAME,1,2011-01-02 00:00:00,12.50,2,UK\n"
    );
    let (report, history) = lenient(&text);
    assert_eq!(report.kept, 3);
    let catalog = history.catalog();
    assert_eq!(catalog.name(0), "REGENCY CAKESTAND 3 TIER");
    // tie on the latest timestamp: the later row wins
    assert_eq!(catalog.price(0), Some(12.50));
}

/// One good row, then a bad one at file line 3, then a good one.
fn with_bad_row(bad: &[u8]) -> Vec<u8> {
    let mut v = HEADER.as_bytes().to_vec();
    v.extend_from_slice(b"536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n");
    v.extend_from_slice(bad);
    v.extend_from_slice(
        b"\n536366,22633,HAND WARMER,6,2010-12-01 08:28:00,1.85,17850,United Kingdom\n",
    );
    v
}

#[test]
fn bad_rows_counted_in_lenient_mode_and_fatal_in_strict_mode() {
    let cases: [(&str, &[u8], &str); 7] = [
        (
            "bad date",
            b"536365,22752,SET,2,2010-13-01 08:26:00,7.65,17850,United Kingdom",
            "timestamp",
        ),
        (
            "bad quantity",
            b"536365,22752,SET,two,2010-12-01 08:26:00,7.65,17850,United Kingdom",
            "quantity",
        ),
        (
            "decimal comma",
            b"536365,22752,SET,2,2010-12-01 08:26:00,7,65,17850,United Kingdom",
            "expected 8 fields",
        ),
        (
            "nan price",
            b"536365,22752,SET,2,2010-12-01 08:26:00,NaN,17850,United Kingdom",
            "unit price",
        ),
        (
            "invalid UTF-8",
            b"536365,22752,SET \xff\xfe,2,2010-12-01 08:26:00,7.65,17850,United Kingdom",
            "UTF-8",
        ),
        (
            "too few fields",
            b"536365,22752,SET,2,2010-12-01 08:26:00,7.65,17850",
            "expected 8 fields, found 7",
        ),
        (
            "empty quantity",
            b"536365,22752,SET,,2010-12-01 08:26:00,7.65,17850,United Kingdom",
            "quantity",
        ),
    ];
    for (what, bad, needle) in cases {
        let text = with_bad_row(bad);
        let (report, history) = read(&text, &IngestOptions::default());
        let report = report.unwrap();
        assert_eq!(
            (report.rows_read, report.kept, report.unparsable),
            (3, 2, 1),
            "{what}"
        );
        assert_eq!(report.unparsable_lines, vec![3], "{what}");
        let first = report.first_unparsable.as_deref().unwrap();
        assert!(
            first.starts_with("line 3: ") && first.contains(needle),
            "{what}: {first}"
        );
        assert_eq!(history.lines().len(), 2);

        match read(&text, &strict()).0 {
            Err(Error::BadRow { line, message }) => {
                assert_eq!(line, 3, "{what}");
                assert!(message.contains(needle), "{what}: {message}");
            }
            other => panic!("{what}: expected BadRow, got {other:?}"),
        }
    }
}

/// A product's price is that of its latest line even when the older file is read last, and
/// its name the first description even when that equals its code.
#[test]
fn catalog_from_several_files_follows_the_latest_line() {
    let newer =
        format!("{HEADER}536365,22752,SET OF 7,2,2011-12-01 08:26:00,5.00,17850,United Kingdom\n");
    let older = format!(
        "{HEADER}536300,22752,SET OF SEVEN,2,2010-12-01 08:26:00,3.00,17850,United Kingdom\n"
    );
    let mut history = History::new();
    for text in [&newer, &older] {
        read_csv(text.as_bytes(), &IngestOptions::default(), &mut history).unwrap();
    }
    let catalog = history.catalog();
    let i = catalog.index("22752").unwrap();
    assert_eq!(
        (catalog.price(i), catalog.name(i)),
        (Some(5.00), "SET OF 7")
    );
    // in the other order the newer file's price replaces the older one's
    let mut history = History::new();
    for text in [&older, &newer] {
        read_csv(text.as_bytes(), &IngestOptions::default(), &mut history).unwrap();
    }
    let i = history.catalog().index("22752").unwrap();
    assert_eq!(history.catalog().price(i), Some(5.00));

    let text = format!(
        "{HEADER}536365,POST,POST,1,2011-12-01 08:26:00,18,17850,United Kingdom\n\
         536366,POST,POSTAGE,1,2011-12-02 08:26:00,18,17850,United Kingdom\n"
    );
    let options = IngestOptions {
        drop_non_products: false,
        ..IngestOptions::default()
    };
    let mut history = History::new();
    let report = read_csv(text.as_bytes(), &options, &mut history).unwrap();
    assert_eq!(report.kept, 2);
    let catalog = history.catalog();
    assert_eq!(catalog.name(catalog.index("POST").unwrap()), "POST");
}

/// Hands the input over a few bytes at a time, so line breaks fall across reads.
struct Trickle<'a>(&'a [u8], usize);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// Bad rows are reported at their file line whatever ends the lines, after blank lines the
/// reader skips, after a quoted field with a line break in it, and at the end without a break.
#[test]
fn bad_row_lines_are_file_lines() {
    let lines = [
        HEADER.trim_end(),
        "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom",
        "",
        "",
        "536365,22752,SET,two,2010-12-01 08:26:00,7.65,17850,United Kingdom",
        "536366,22633,\"HAND<BR>WARMER\",6,2010-12-01 08:28:00,1.85,17850,United Kingdom",
        "536366,22634,MUG,6,2010-13-01 08:28:00,1.85,17850,United Kingdom",
        "536367,22635,\"BAD<BR>ROW\",x,2010-12-01 08:28:00,1.85,17850,United Kingdom",
        "536367,22636,JUG,1,2010-12-01 08:29:00,NaN,17850,United Kingdom",
    ];
    for eol in ["\n", "\r\n", "\r"] {
        let text = lines.join(eol).replace("<BR>", eol);
        for chunk in [1, 2, 3, 7, usize::MAX] {
            let what = format!("{eol:?} in reads of {chunk}");
            let mut history = History::new();
            let options = IngestOptions::default();
            let report = read_csv(Trickle(text.as_bytes(), chunk), &options, &mut history);
            let report = report.unwrap();
            assert_eq!((report.rows_read, report.kept), (6, 2), "{what}");
            assert_eq!(report.unparsable_lines, [5, 8, 9, 11], "{what}");
            assert!(report.first_unparsable.unwrap().starts_with("line 5: "));
            let mut history = History::new();
            match read_csv(Trickle(text.as_bytes(), chunk), &strict(), &mut history) {
                Err(Error::BadRow { line: 5, .. }) => {}
                other => panic!("{what}: {other:?}"),
            }
        }
    }
}

#[test]
fn invalid_utf8_in_unmapped_column_is_ignored() {
    let text = with_bad_row(b"536365,22752,SET,2,2010-12-01 08:26:00,7.65,17850,Fran\xe7e");
    let (report, _) = read(&text, &strict());
    assert_eq!(report.unwrap().kept, 3);
}

#[test]
fn strict_mode_does_not_fail_on_cleaning_drops() {
    let text = format!(
        "{HEADER}\
         C536379,D,Discount,-1,2010-12-01 09:41:00,27.50,14527,United Kingdom\n\
         536370,POST,POSTAGE,3,2010-12-01 08:45:00,18,,France\n"
    );
    let (report, _) = read(text.as_bytes(), &strict());
    let report = report.unwrap();
    assert_eq!((report.rows_read, report.kept, report.dropped()), (2, 0, 2));
}

#[test]
fn line_numbers_follow_quoted_newlines() {
    let text = format!(
        "{HEADER}\
         536365,85123A,\"TWO\nLINES\",6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n\
         536365,85123B,X,6,someday,2.55,17850,United Kingdom\n"
    );
    let (report, _) = lenient(&text);
    assert_eq!(report.unparsable_lines, vec![4]);
}

#[test]
fn only_the_first_ten_unparsable_lines_are_kept() {
    let mut text = HEADER.to_owned();
    for _ in 0..25 {
        text.push_str("1,2,3\n");
    }
    let (report, _) = lenient(&text);
    assert_eq!(report.unparsable, 25);
    assert_eq!(report.unparsable_lines, (2..12).collect::<Vec<u64>>());
    let shown = report.to_string();
    assert!(
        shown.contains("unparsable lines: 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, …"),
        "{shown}"
    );
}

#[test]
fn missing_column_is_an_error() {
    let text = "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n1,2,3,2011-01-01,1,1,UK\n";
    match read(text.as_bytes(), &IngestOptions::default()).0 {
        Err(Error::MissingColumn { column, available }) => {
            assert_eq!(column, "Description");
            assert_eq!(
                available,
                "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
            );
        }
        other => panic!("expected MissingColumn, got {other:?}"),
    }
    // A header with a byte-order mark and padded names still matches.
    let text = "\u{feff}InvoiceNo, StockCode ,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";
    assert_eq!(
        read(text.as_bytes(), &IngestOptions::default()).0.unwrap(),
        IngestReport::default()
    );
}

#[test]
fn empty_input_gives_an_empty_report() {
    for text in ["", HEADER, "\n\n", &HEADER.replace('\n', "\r\n")] {
        let (report, history) = lenient(text);
        assert_eq!(report, IngestReport::default(), "{text:?}");
        assert!(history.lines().is_empty());
        assert_eq!(report.dropped(), 0);
    }
}

#[test]
fn crlf_and_quoted_fields() {
    let text = HEADER.replace('\n', "\r\n")
        + "536365,85123A,\"HEART, WHITE\",6,2010-12-01 08:26:00,2.55,17850,United Kingdom\r\n";
    let (report, history) = lenient(&text);
    assert_eq!(report.kept, 1);
    assert_eq!(history.catalog().name(0), "HEART, WHITE");
    assert_eq!(history.customer_info(0).id, "17850");
}

#[test]
fn missing_file_names_the_path() {
    let mut history = History::new();
    match read_csv_path(
        "/nonexistent/rapport.csv",
        &IngestOptions::default(),
        &mut history,
    ) {
        Err(Error::Io { path: Some(p), .. }) => {
            assert_eq!(p, Path::new("/nonexistent/rapport.csv"))
        }
        other => panic!("expected Io, got {other:?}"),
    }
}

#[test]
fn report_display_and_serialisation() {
    let (report, _) = read(&with_bad_row(b"x"), &IngestOptions::default());
    let report = report.unwrap();
    let shown = report.to_string();
    for needle in [
        "rows read",
        "kept",
        "unparsable",
        "missing customer",
        "duplicate",
        "unparsable lines: 3",
    ] {
        assert!(shown.contains(needle), "{shown}");
    }
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["rows_read"], 3);
    assert_eq!(json["unparsable_lines"][0], 3);
}
