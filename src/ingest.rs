//! Streaming CSV ingest of purchase logs into a [`History`].
//!
//! Reads the UCI "Online Retail" layout out of the box
//! (`InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country`, dates
//! either `YYYY-MM-DD HH:MM:SS` or the original `M/D/YYYY H:MM`) and any other layout through a
//! [`CsvLayout`] column mapping.
//!
//! # Cleaning rules
//!
//! Every data row is counted exactly once in the [`IngestReport`], under the **first** rule it
//! fails, in this order:
//!
//! 1. **unparsable** — wrong number of fields (compared with the header), invalid UTF-8 in a
//!    mapped column, a timestamp [`Timestamp::parse`] rejects, a quantity / unit price that is
//!    not a finite decimal number, or a quantity × unit price too large for a finite line amount
//!    (which [`History::record`] refuses). In strict mode the first such row stops the read with
//!    [`Error::BadRow`]; otherwise it is counted and its line number kept (the first
//!    [`MAX_RECORDED_LINES`]).
//! 2. **missing customer** — empty customer id (after trimming).
//! 3. **missing product** — empty product id (after trimming).
//! 4. **cancelled** — with [`IngestOptions::drop_cancelled`], an order id starting with `C`.
//! 5. **quantity ≤ 0** — always (a [`History`] stores only positive quantities).
//! 6. **price ≤ 0** — a negative unit price always; a zero unit price with
//!    [`IngestOptions::drop_zero_price`]. Not applied when no price column is mapped.
//! 7. **non-product** — with [`IngestOptions::drop_non_products`], a product id that does not
//!    start with an ASCII digit (Online Retail's `POST`, `M`, `D`, `DOT`, `BANK CHARGES`,
//!    `AMAZONFEE`, `B`, `C2`, `PADS`, `CRUK`, `gift_0001_…`).
//! 8. **duplicate** — [`History::record`] recognised an exact repeat of a stored line.
//!
//! Rows that pass every rule are stored and counted as kept. Cleaning-rule drops are never errors,
//! not even in strict mode.
//!
//! # Values
//!
//! All fields are trimmed. Product ids are also upper-cased. Customer ids are kept as written
//! (`17850` and `17850.0` are different customers). Without a quantity column every line counts
//! one unit; without a unit-price column the price is 0 (and rule 6 does not apply). An empty
//! order id, or no order column, groups lines into orders by customer and timestamp.
//!
//! # Catalog
//!
//! Each kept line also feeds the catalog: the product's name becomes the first non-empty
//! description seen (trailing spaces trimmed) unless the catalog already had a name for it (a
//! name equal to the product id counts as none), its price becomes the unit price of its latest
//! kept line by timestamp, lines already in the history included (ties: the later row in the
//! file; only when a price column is mapped), and its category the first non-empty value of the
//! category column when one is mapped and the product has no category yet.

use crate::error::{Error, Result};
use crate::history::{History, Purchase, Recorded};
use crate::time::Timestamp;
use csv::ByteRecord;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;
use std::io::Read;
use std::path::Path;

/// How many unparsable line numbers an [`IngestReport`] keeps.
pub const MAX_RECORDED_LINES: usize = 10;

/// Which header names hold which purchase field.
///
/// Names are matched exactly against the header after trimming (a UTF-8 byte-order mark before
/// the first name is ignored). Every mapped column must be present, or reading fails with
/// [`Error::MissingColumn`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvLayout {
    /// Customer id column.
    pub customer: String,
    /// Product id column.
    pub product: String,
    /// Timestamp column (`YYYY-MM-DD HH:MM:SS`, `M/D/YYYY H:MM`, … see [`Timestamp::parse`]).
    pub timestamp: String,
    /// Units column; without one every line counts one unit.
    pub quantity: Option<String>,
    /// Unit-price column; without one the price is 0 and the price rule is skipped.
    pub unit_price: Option<String>,
    /// Order / invoice id column; without one lines are grouped by customer and timestamp.
    pub order: Option<String>,
    /// Product description column, used as catalog name.
    pub description: Option<String>,
    /// Product category column, used as catalog category.
    pub category: Option<String>,
}

impl CsvLayout {
    /// A layout with only the three required columns mapped.
    ///
    /// ```
    /// use rapport::CsvLayout;
    /// let layout = CsvLayout {
    ///     quantity: Some("qty".into()),
    ///     ..CsvLayout::new("user", "sku", "when")
    /// };
    /// assert_eq!(layout.unit_price, None);
    /// ```
    pub fn new(
        customer: impl Into<String>,
        product: impl Into<String>,
        timestamp: impl Into<String>,
    ) -> Self {
        CsvLayout {
            customer: customer.into(),
            product: product.into(),
            timestamp: timestamp.into(),
            quantity: None,
            unit_price: None,
            order: None,
            description: None,
            category: None,
        }
    }

    /// The UCI "Online Retail" header:
    /// `InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country`.
    pub fn online_retail() -> Self {
        CsvLayout {
            quantity: Some("Quantity".into()),
            unit_price: Some("UnitPrice".into()),
            order: Some("InvoiceNo".into()),
            description: Some("Description".into()),
            ..CsvLayout::new("CustomerID", "StockCode", "InvoiceDate")
        }
    }

    /// The UCI "Online Retail II" header:
    /// `Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country`.
    pub fn online_retail_ii() -> Self {
        CsvLayout {
            quantity: Some("Quantity".into()),
            unit_price: Some("Price".into()),
            order: Some("Invoice".into()),
            description: Some("Description".into()),
            ..CsvLayout::new("Customer ID", "StockCode", "InvoiceDate")
        }
    }
}

impl Default for CsvLayout {
    /// [`CsvLayout::online_retail`].
    fn default() -> Self {
        Self::online_retail()
    }
}

/// How to read a purchase log.
///
/// The [`Default`] reads Online Retail leniently with its cleaning rules on
/// ([`IngestOptions::online_retail`]); [`IngestOptions::new`] starts from a custom layout with
/// the Online Retail specific rules off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestOptions {
    /// Column mapping.
    pub layout: CsvLayout,
    /// Stop with [`Error::BadRow`] at the first unparsable row instead of counting it.
    pub strict: bool,
    /// Field delimiter byte (`b','`, `b';'`, `b'\t'`, …).
    pub delimiter: u8,
    /// Drop lines whose order id starts with `C` (Online Retail cancellations).
    pub drop_cancelled: bool,
    /// Drop lines whose product id does not start with an ASCII digit (Online Retail postage,
    /// fees, discounts, manual adjustments and gift vouchers).
    pub drop_non_products: bool,
    /// Drop lines with a zero unit price (negative prices are always dropped).
    pub drop_zero_price: bool,
}

impl IngestOptions {
    /// Lenient, comma-separated options for `layout` with only the generic rules on: no
    /// cancellation, non-product or zero-price rule.
    pub fn new(layout: CsvLayout) -> Self {
        IngestOptions {
            layout,
            strict: false,
            delimiter: b',',
            drop_cancelled: false,
            drop_non_products: false,
            drop_zero_price: false,
        }
    }

    /// Lenient Online Retail options: cancellations, non-product codes and zero prices dropped.
    pub fn online_retail() -> Self {
        IngestOptions {
            drop_cancelled: true,
            drop_non_products: true,
            drop_zero_price: true,
            ..Self::new(CsvLayout::online_retail())
        }
    }
}

impl Default for IngestOptions {
    /// [`IngestOptions::online_retail`].
    fn default() -> Self {
        Self::online_retail()
    }
}

/// What a read did with each row. Every data row is counted once, so
/// `rows_read == kept + dropped()`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestReport {
    /// Data rows read (the header is not counted).
    pub rows_read: u64,
    /// Rows stored in the history.
    pub kept: u64,
    /// Rows that could not be parsed (field count, UTF-8, date, number).
    pub unparsable: u64,
    /// 1-based file line numbers (header = line 1) of the first unparsable rows, at most
    /// [`MAX_RECORDED_LINES`].
    pub unparsable_lines: Vec<u64>,
    /// `line N: reason` for the first unparsable row.
    pub first_unparsable: Option<String>,
    /// Rows with an empty customer id.
    pub missing_customer: u64,
    /// Rows with an empty product id.
    pub missing_product: u64,
    /// Cancelled orders (order id starting with `C`).
    pub cancelled: u64,
    /// Rows with quantity ≤ 0.
    pub non_positive_quantity: u64,
    /// Rows with a negative unit price, or a zero one when zero prices are dropped.
    pub non_positive_price: u64,
    /// Rows whose product id is not a product (does not start with a digit).
    pub non_product: u64,
    /// Exact repeats of a stored line.
    pub duplicates: u64,
}

impl IngestReport {
    /// Rows not stored, over all rules.
    pub fn dropped(&self) -> u64 {
        self.unparsable
            + self.missing_customer
            + self.missing_product
            + self.cancelled
            + self.non_positive_quantity
            + self.non_positive_price
            + self.non_product
            + self.duplicates
    }

    fn note_unparsable(&mut self, line: u64, message: &str) {
        self.unparsable += 1;
        if self.unparsable_lines.len() < MAX_RECORDED_LINES {
            self.unparsable_lines.push(line);
        }
        if self.first_unparsable.is_none() {
            self.first_unparsable = Some(format!("line {line}: {message}"));
        }
    }

    fn count(&mut self, rule: Rule) {
        let c = match rule {
            Rule::MissingCustomer => &mut self.missing_customer,
            Rule::MissingProduct => &mut self.missing_product,
            Rule::Cancelled => &mut self.cancelled,
            Rule::Quantity => &mut self.non_positive_quantity,
            Rule::Price => &mut self.non_positive_price,
            Rule::NonProduct => &mut self.non_product,
        };
        *c += 1;
    }
}

impl fmt::Display for IngestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "rows read            {:>10}", self.rows_read)?;
        writeln!(f, "kept                 {:>10}", self.kept)?;
        writeln!(f, "dropped              {:>10}", self.dropped())?;
        let rows = [
            ("unparsable", self.unparsable),
            ("missing customer", self.missing_customer),
            ("missing product", self.missing_product),
            ("cancelled", self.cancelled),
            ("quantity <= 0", self.non_positive_quantity),
            ("price <= 0", self.non_positive_price),
            ("non-product code", self.non_product),
            ("duplicate", self.duplicates),
        ];
        for (label, n) in rows {
            writeln!(f, "  {label:<18} {n:>10}")?;
        }
        if !self.unparsable_lines.is_empty() {
            let lines: Vec<String> = self.unparsable_lines.iter().map(u64::to_string).collect();
            let more = if self.unparsable > self.unparsable_lines.len() as u64 {
                ", …"
            } else {
                ""
            };
            writeln!(f, "unparsable lines: {}{more}", lines.join(", "))?;
        }
        if let Some(first) = &self.first_unparsable {
            writeln!(f, "first unparsable: {first}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug)]
enum Rule {
    MissingCustomer,
    MissingProduct,
    Cancelled,
    Quantity,
    Price,
    NonProduct,
}

/// Column indices resolved from the header.
struct Columns {
    width: usize,
    customer: usize,
    product: usize,
    timestamp: usize,
    quantity: Option<usize>,
    unit_price: Option<usize>,
    order: Option<usize>,
    description: Option<usize>,
    category: Option<usize>,
}

impl Columns {
    fn resolve(header: &ByteRecord, layout: &CsvLayout) -> Result<Self> {
        let names: Vec<String> = header
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let f = if i == 0 {
                    f.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(f)
                } else {
                    f
                };
                String::from_utf8_lossy(f).trim().to_owned()
            })
            .collect();
        let find = |name: &str| {
            let want = name.trim();
            names
                .iter()
                .position(|n| n == want)
                .ok_or_else(|| Error::MissingColumn {
                    column: name.to_owned(),
                    available: names.join(","),
                })
        };
        let opt = |name: &Option<String>| name.as_deref().map(find).transpose();
        Ok(Columns {
            width: names.len(),
            customer: find(&layout.customer)?,
            product: find(&layout.product)?,
            timestamp: find(&layout.timestamp)?,
            quantity: opt(&layout.quantity)?,
            unit_price: opt(&layout.unit_price)?,
            order: opt(&layout.order)?,
            description: opt(&layout.description)?,
            category: opt(&layout.category)?,
        })
    }
}

/// Reads a purchase log from `reader` into `history`, applying the module's cleaning rules.
///
/// Errors: [`Error::MissingColumn`] when the header lacks a mapped column, [`Error::BadRow`] for
/// the first unparsable row in strict mode (or a CSV structure the parser cannot recover from),
/// [`Error::Io`] when reading fails. An empty input gives an empty report. Lines stored before
/// an error stay in `history`.
///
/// ```
/// use rapport::{History, IngestOptions, read_csv};
/// let csv = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n\
///            536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom\n\
///            C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527,United Kingdom\n";
/// let mut history = History::new();
/// let report = read_csv(csv.as_bytes(), &IngestOptions::default(), &mut history).unwrap();
/// assert_eq!((report.rows_read, report.kept, report.cancelled), (2, 1, 1));
/// assert_eq!(history.catalog().name(0), "WHITE HANGING HEART T-LIGHT HOLDER");
/// ```
pub fn read_csv<R: Read>(
    reader: R,
    options: &IngestOptions,
    history: &mut History,
) -> Result<IngestReport> {
    read_impl(reader, options, history, None)
}

/// [`read_csv`] on a file; I/O errors name the path.
pub fn read_csv_path(
    path: impl AsRef<Path>,
    options: &IngestOptions,
    history: &mut History,
) -> Result<IngestReport> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| Error::io_at(path, e))?;
    read_impl(file, options, history, Some(path))
}

fn csv_error(e: csv::Error, path: Option<&Path>) -> Error {
    let line = e.position().map_or(0, |p| p.line());
    let message = e.to_string();
    match e.into_kind() {
        csv::ErrorKind::Io(io) => match path {
            Some(p) => Error::io_at(p, io),
            None => Error::from(io),
        },
        _ => Error::BadRow { line, message },
    }
}

fn read_impl<R: Read>(
    reader: R,
    options: &IngestOptions,
    history: &mut History,
    path: Option<&Path>,
) -> Result<IngestReport> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(options.delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(LineFeeds::new(reader));
    let mut report = IngestReport::default();
    let mut record = ByteRecord::new();
    if !rdr
        .read_byte_record(&mut record)
        .map_err(|e| csv_error(e, path))?
    {
        return Ok(report);
    }
    let cols = Columns::resolve(&record, &options.layout)?;
    let mut purchase = Purchase {
        customer: String::new(),
        product: String::new(),
        timestamp: Timestamp(0),
        quantity: 1.0,
        unit_price: 0.0,
        order: cols.order.map(|_| String::new()),
    };
    // Latest line per product index, so an older file read after a newer one leaves the newer
    // price; and which products this read has named.
    let mut price_time: Vec<i64> = Vec::new();
    if cols.unit_price.is_some() {
        for l in history.lines() {
            let i = l.product as usize;
            if price_time.len() <= i {
                price_time.resize(i + 1, i64::MIN);
            }
            price_time[i] = price_time[i].max(l.timestamp.0);
        }
    }
    let mut named: Vec<bool> = Vec::new();

    while rdr
        .read_byte_record(&mut record)
        .map_err(|e| csv_error(e, path))?
    {
        report.rows_read += 1;
        let end = rdr.position().byte();
        // the record's last byte: its line feed, or its last field byte at the end of input
        let last_line = rdr.get_mut().line_of(end.saturating_sub(1));
        let (description, category) = match parse_row(&record, &cols, &mut purchase) {
            Ok(extra) => extra,
            Err(message) => {
                // breaks inside quoted fields: the row began that many lines earlier
                let inside: usize = record
                    .iter()
                    .map(|f| line_breaks(f).count() + usize::from(f.last() == Some(&b'\r')))
                    .sum();
                let line = last_line.saturating_sub(inside as u64);
                if options.strict {
                    return Err(Error::BadRow { line, message });
                }
                report.note_unparsable(line, &message);
                continue;
            }
        };
        if let Some(rule) = first_failing_rule(&purchase, &cols, options) {
            report.count(rule);
            continue;
        }
        match history.record(&purchase)? {
            Recorded::Duplicate => report.duplicates += 1,
            Recorded::Added => {
                report.kept += 1;
                let product = history.lines().last().map_or(0, |l| l.product);
                let catalog = history.catalog_mut();
                let i = product as usize;
                if named.len() <= i {
                    named.resize(i + 1, false);
                }
                if !description.is_empty() && !named[i] {
                    named[i] = true;
                    catalog.set_name_if_bare(product, description);
                }
                if cols.unit_price.is_some() {
                    let i = product as usize;
                    if price_time.len() <= i {
                        price_time.resize(i + 1, i64::MIN);
                    }
                    if purchase.timestamp.0 >= price_time[i] {
                        price_time[i] = purchase.timestamp.0;
                        catalog.set_price(product, purchase.unit_price);
                    }
                }
                if !category.is_empty() && catalog.category_of(product).is_none() {
                    let mut p = catalog.product(product);
                    p.category = Some(category.to_owned());
                    catalog.upsert(p)?;
                }
            }
        }
    }
    Ok(report)
}

/// The input as the CSV reader pulls it, with the offsets of its line breaks (`\n`, `\r\n`, or
/// a lone `\r` as old Mac exports end lines): the reader's own record positions count from
/// before the blank lines it skips, and count only `\n`, so a row's file line is worked out
/// from where the row ends instead.
struct LineFeeds<R> {
    inner: R,
    /// Offset of the next byte to read.
    offset: u64,
    /// Offsets of the line breaks read and not yet passed (a `\r\n` at its `\n`).
    pending: VecDeque<u64>,
    /// A `\r` that ended the last read: a break unless the next byte is `\n`.
    cr_at_end: Option<u64>,
    /// Line breaks passed.
    passed: u64,
}

impl<R> LineFeeds<R> {
    fn new(inner: R) -> Self {
        LineFeeds {
            inner,
            offset: 0,
            pending: VecDeque::new(),
            cr_at_end: None,
            passed: 0,
        }
    }

    /// The 1-based line of the byte at `offset`, which must not be before an earlier query's.
    fn line_of(&mut self, offset: u64) -> u64 {
        while self.pending.front().is_some_and(|&p| p < offset) {
            self.pending.pop_front();
            self.passed += 1;
        }
        self.passed + 1
    }
}

/// Offsets of the line breaks in `bytes`; a `\r` in the last byte is left to the caller.
fn line_breaks(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr2_iter(b'\n', b'\r', bytes)
        .filter(|&i| bytes[i] == b'\n' || bytes.get(i + 1).is_some_and(|&next| next != b'\n'))
}

impl<R: Read> Read for LineFeeds<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let bytes = &buf[..n];
        if let Some(cr) = self.cr_at_end.take()
            && bytes.first() != Some(&b'\n')
        {
            self.pending.push_back(cr);
        }
        let base = self.offset;
        self.pending
            .extend(line_breaks(bytes).map(|i| base + i as u64));
        if bytes.last() == Some(&b'\r') {
            self.cr_at_end = Some(base + n as u64 - 1);
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Field `i` as trimmed UTF-8.
fn text<'r>(record: &'r ByteRecord, i: usize, column: &str) -> Result<&'r str, String> {
    let bytes = record.get(i).unwrap_or_default();
    std::str::from_utf8(bytes)
        .map(str::trim)
        .map_err(|e| format!("{column}: invalid UTF-8 after byte {}", e.valid_up_to()))
}

fn number(record: &ByteRecord, i: usize, column: &str) -> Result<f64, String> {
    let s = text(record, i, column)?;
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("{column}: not a number: {s:?}")),
    }
}

fn set(buf: &mut String, s: &str) {
    buf.clear();
    buf.push_str(s);
}

/// Parses one row into `purchase` (reusing its buffers); returns description and category
/// (empty when unmapped), or why the row is unparsable.
fn parse_row<'r>(
    record: &'r ByteRecord,
    cols: &Columns,
    purchase: &mut Purchase,
) -> Result<(&'r str, &'r str), String> {
    if record.len() != cols.width {
        return Err(format!(
            "expected {} fields, found {}",
            cols.width,
            record.len()
        ));
    }
    set(
        &mut purchase.customer,
        text(record, cols.customer, "customer")?,
    );
    let product = text(record, cols.product, "product")?;
    purchase.product.clear();
    if product.is_ascii() {
        purchase.product.push_str(product);
        purchase.product.make_ascii_uppercase();
    } else {
        purchase
            .product
            .extend(product.chars().flat_map(char::to_uppercase));
    }
    let when = text(record, cols.timestamp, "timestamp")?;
    purchase.timestamp =
        Timestamp::parse(when).ok_or_else(|| format!("timestamp: bad date {when:?}"))?;
    purchase.quantity = match cols.quantity {
        Some(i) => number(record, i, "quantity")?,
        None => 1.0,
    };
    purchase.unit_price = match cols.unit_price {
        Some(i) => number(record, i, "unit price")?,
        None => 0.0,
    };
    if !(purchase.quantity * purchase.unit_price).is_finite() {
        return Err(format!(
            "quantity × unit price overflows: {} × {}",
            purchase.quantity, purchase.unit_price
        ));
    }
    if let (Some(i), Some(order)) = (cols.order, purchase.order.as_mut()) {
        set(order, text(record, i, "order")?);
    }
    let description = match cols.description {
        Some(i) => text(record, i, "description")?,
        None => "",
    };
    let category = match cols.category {
        Some(i) => text(record, i, "category")?,
        None => "",
    };
    Ok((description, category))
}

fn first_failing_rule(p: &Purchase, cols: &Columns, options: &IngestOptions) -> Option<Rule> {
    if p.customer.is_empty() {
        return Some(Rule::MissingCustomer);
    }
    if p.product.is_empty() {
        return Some(Rule::MissingProduct);
    }
    if options.drop_cancelled && p.order.as_deref().is_some_and(|o| o.starts_with('C')) {
        return Some(Rule::Cancelled);
    }
    if p.quantity <= 0.0 {
        return Some(Rule::Quantity);
    }
    if cols.unit_price.is_some()
        && (p.unit_price < 0.0 || (options.drop_zero_price && p.unit_price == 0.0))
    {
        return Some(Rule::Price);
    }
    if options.drop_non_products && !p.product.as_bytes()[0].is_ascii_digit() {
        return Some(Rule::NonProduct);
    }
    None
}
