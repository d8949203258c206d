//! Purchase history: the events a shop feeds in, interned and kept per customer.

use crate::catalog::{Catalog, Product};
use crate::error::{Error, Result, check_weight};
use crate::ids::IdMap;
use crate::interactions::Triple;
use crate::time::Timestamp;
use hashbrown::HashSet;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One purchase line as the shop reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Purchase {
    /// The shop's customer id.
    pub customer: String,
    /// The shop's product id.
    pub product: String,
    /// When the purchase happened.
    pub timestamp: Timestamp,
    /// Units bought (> 0).
    pub quantity: f64,
    /// Price per unit (≥ 0).
    pub unit_price: f64,
    /// Order or invoice id; lines without one are grouped into orders by customer and timestamp,
    /// which [`History::order_id`] names `customer@seconds`. Such a group is never the order of a
    /// given id spelled the same way: `ann@5` given for customer `ann` is an order of its own.
    pub order: Option<String>,
}

/// Where a customer is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    /// The shop's web site.
    Web,
    /// E-mail.
    Email,
    /// Text message.
    Sms,
    /// The shop's mobile app.
    App,
    /// A physical shop.
    InStore,
}

impl Channel {
    /// All channels, in declaration order.
    pub const ALL: [Channel; 5] = [
        Channel::Web,
        Channel::Email,
        Channel::Sms,
        Channel::App,
        Channel::InStore,
    ];

    /// The lower-case name used in files and APIs (`web`, `email`, `sms`, `app`, `in-store`).
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::App => "app",
            Channel::InStore => "in-store",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "web" => Ok(Channel::Web),
            "email" | "e-mail" => Ok(Channel::Email),
            "sms" => Ok(Channel::Sms),
            "app" => Ok(Channel::App),
            "in-store" | "instore" | "in_store" | "store" => Ok(Channel::InStore),
            other => Err(Error::InvalidArgument(format!("unknown channel {other:?}"))),
        }
    }
}

/// What the shop knows about a customer besides purchases.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerInfo {
    /// The shop's customer id.
    pub id: String,
    /// First name, for greetings.
    pub first_name: Option<String>,
    /// Preferred locale (`en-GB`, …).
    pub locale: Option<String>,
    /// Preferred channel.
    pub channel: Option<Channel>,
}

/// A stored purchase line, with interned indices.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// Customer index.
    pub customer: u32,
    /// Product index.
    pub product: u32,
    /// Order index (see [`History::order_id`]).
    pub order: u32,
    /// When.
    pub timestamp: Timestamp,
    /// Units.
    pub quantity: f64,
    /// Price per unit.
    pub unit_price: f64,
}

impl Line {
    /// Quantity × unit price.
    pub fn amount(&self) -> f64 {
        self.quantity * self.unit_price
    }
}

/// Whether [`History::record`] stored a line or recognised it as a repeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// The line was new and is stored.
    Added,
    /// An identical line (same customer, product, order, time, quantity and price) was already
    /// stored; it is not counted twice.
    Duplicate,
}

type LineKey = (u32, u32, u32, i64, u64, u64);

/// How a history names its orders: which saved engines need their order ids separated on load.
/// Saved as its number (0, 1): a derived enum encoding costs the WASM module several KB. The
/// default is the scheme of files that do not record one, written before it existed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum OrderIds {
    /// Files written before given and synthetic ids were kept apart: ids stored as they are,
    /// synthetic ones as `customer@seconds`.
    #[default]
    Shared,
    /// Given ids stored behind [`GIVEN_ORDER`], synthetic ones behind [`SYNTHETIC_ORDER`].
    Separate,
}

impl Serialize for OrderIds {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u8(*self as u8)
    }
}

impl<'de> Deserialize<'de> for OrderIds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match u8::deserialize(d)? {
            0 => Ok(OrderIds::Shared),
            1 => Ok(OrderIds::Separate),
            n => Err(serde::de::Error::custom(format!("order id scheme {n}"))),
        }
    }
}

/// Appends the id of the order made up for a customer's lines at one time: `customer@seconds`.
fn spell_synthetic(out: &mut String, customer: &str, at: Timestamp) {
    use std::fmt::Write;
    // writing to a String cannot fail
    let _ = write!(out, "{customer}@{}", at.0);
}

/// Stored before a given order id, so that no given id can equal a synthetic one.
const GIVEN_ORDER: char = '=';
/// Stored before a synthetic order id (`customer@seconds`).
const SYNTHETIC_ORDER: char = '@';

/// Every purchase, customer and product the engine has been told about.
///
/// Its serde form holds what was recorded; reading it back rebuilds the indexes made from
/// that (an error when the parts do not fit together), so a history that went through any
/// serde format works as before.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(try_from = "SavedHistory")]
pub struct History {
    customers: IdMap,
    infos: Vec<CustomerInfo>,
    catalog: Catalog,
    orders: IdMap,
    lines: Vec<Line>,
    #[serde(skip)]
    by_customer: Vec<Vec<u32>>,
    #[serde(skip)]
    seen: HashSet<LineKey>,
    /// Reused to spell an order's stored id without allocating per line.
    #[serde(skip)]
    order_key: String,
}

/// A [`History`] as saved: what was recorded, before the indexes are rebuilt and order ids of
/// older files separated ([`SavedHistory::into_history`]).
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
pub(crate) struct SavedHistory {
    customers: IdMap,
    infos: Vec<CustomerInfo>,
    catalog: Catalog,
    orders: IdMap,
    lines: Vec<Line>,
}

impl SavedHistory {
    /// The history, its order ids (saved in scheme `ids`) separated and its indexes rebuilt.
    pub(crate) fn into_history(self, ids: OrderIds) -> Result<History> {
        let mut h = History {
            customers: self.customers,
            infos: self.infos,
            catalog: self.catalog,
            orders: self.orders,
            lines: self.lines,
            ..History::default()
        };
        h.rebuild(ids)?;
        Ok(h)
    }
}

/// A history read on its own was saved by this version: its order ids are separated.
impl TryFrom<SavedHistory> for History {
    type Error = Error;

    fn try_from(saved: SavedHistory) -> Result<History> {
        saved.into_history(OrderIds::Separate)
    }
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks a history read back from bytes (the catalog, one attribute record per customer,
    /// lines that [`History::record`] would have stored, order ids of the `ids` scheme) and
    /// rebuilds the derived indexes. A history of the [`OrderIds::Shared`] scheme has its order
    /// ids separated: each one that its own lines' customer and time would have made up becomes
    /// synthetic, the others given.
    fn rebuild(&mut self, ids: OrderIds) -> Result<()> {
        self.catalog.check()?;
        let (customers, products, orders) =
            (self.customers.len(), self.catalog.len(), self.orders.len());
        if self.infos.len() != customers {
            return Err(Error::Corrupted(format!(
                "{} customer records for {customers} customer ids",
                self.infos.len()
            )));
        }
        if let Some(l) = self.lines.iter().find(|l| {
            let recordable = l.quantity.is_finite()
                && l.quantity > 0.0
                && l.unit_price.is_finite()
                && l.unit_price >= 0.0
                && l.amount().is_finite();
            !recordable
        }) {
            return Err(Error::Corrupted(format!(
                "a purchase line of quantity {} at unit price {}",
                l.quantity, l.unit_price
            )));
        }
        if let Some(l) = self.lines.iter().find(|l| {
            l.customer as usize >= customers
                || l.product as usize >= products
                || l.order as usize >= orders
        }) {
            return Err(Error::Corrupted(format!(
                "a purchase line points past the ids it was saved with (customer {} of {customers}, product {} of {products}, order {} of {orders})",
                l.customer, l.product, l.order
            )));
        }
        if ids == OrderIds::Shared {
            self.separate_order_ids()?;
        }
        // every id carries its mark, and something after it
        if let Some(o) = self.orders.names().iter().find(|o| {
            !(o.starts_with(GIVEN_ORDER) || o.starts_with(SYNTHETIC_ORDER)) || o.len() < 2
        }) {
            return Err(Error::Corrupted(format!("an order id stored as {o:?}")));
        }
        self.by_customer = vec![Vec::new(); customers];
        self.seen.clear();
        for (i, l) in self.lines.iter().enumerate() {
            self.by_customer[l.customer as usize].push(i as u32);
            self.seen.insert(key(l));
        }
        Ok(())
    }

    /// Records one purchase line.
    ///
    /// Errors on an empty id, a non-positive or non-finite quantity, a negative or non-finite
    /// price, or a quantity × price that overflows to infinity; nothing is stored then. An exact
    /// repeat of a stored line returns [`Recorded::Duplicate`] and is not stored again.
    pub fn record(&mut self, p: &Purchase) -> Result<Recorded> {
        if p.customer.is_empty() {
            return Err(Error::InvalidArgument("empty customer id".into()));
        }
        if p.product.is_empty() {
            return Err(Error::InvalidArgument("empty product id".into()));
        }
        if !(p.quantity.is_finite() && p.quantity > 0.0) {
            return Err(Error::InvalidQuantity { value: p.quantity });
        }
        check_weight("unit price", p.unit_price)?;
        // the line's amount feeds spend totals: one that overflows would make them infinite
        check_weight("amount (quantity × unit price)", p.quantity * p.unit_price)?;
        let customer = self.customer_index_or_add(&p.customer);
        let product = self.catalog.intern(&p.product);
        let spelled = &mut self.order_key;
        spelled.clear();
        match &p.order {
            Some(o) if !o.is_empty() => {
                spelled.push(GIVEN_ORDER);
                spelled.push_str(o);
            }
            _ => {
                spelled.push(SYNTHETIC_ORDER);
                spell_synthetic(spelled, &p.customer, p.timestamp);
            }
        }
        let order = self.orders.intern(spelled);
        let line = Line {
            customer,
            product,
            order,
            timestamp: p.timestamp,
            quantity: p.quantity,
            // one zero: the duplicate key compares bits, and -0 would make a second line
            unit_price: if p.unit_price == 0.0 {
                0.0
            } else {
                p.unit_price
            },
        };
        if !self.seen.insert(key(&line)) {
            return Ok(Recorded::Duplicate);
        }
        self.by_customer[customer as usize].push(self.lines.len() as u32);
        self.lines.push(line);
        Ok(Recorded::Added)
    }

    /// Adds or updates a customer's attributes.
    pub fn upsert_customer(&mut self, info: CustomerInfo) -> Result<u32> {
        if info.id.is_empty() {
            return Err(Error::InvalidArgument("empty customer id".into()));
        }
        let i = self.customer_index_or_add(&info.id);
        self.infos[i as usize] = info;
        Ok(i)
    }

    fn customer_index_or_add(&mut self, id: &str) -> u32 {
        let i = self.customers.intern(id);
        if i as usize == self.infos.len() {
            self.infos.push(CustomerInfo {
                id: id.to_owned(),
                ..Default::default()
            });
            self.by_customer.push(Vec::new());
        }
        i
    }

    /// Adds or replaces a catalog entry.
    pub fn upsert_product(&mut self, product: Product) -> Result<u32> {
        self.catalog.upsert(product)
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The catalog, mutable (stock flags, names, prices).
    pub fn catalog_mut(&mut self) -> &mut Catalog {
        &mut self.catalog
    }

    /// The customer id map.
    pub fn customers(&self) -> &IdMap {
        &self.customers
    }

    /// Attributes of the customer at `index`.
    ///
    /// Panics if the index is out of range, as slice indexing does: indices come from this
    /// history.
    pub fn customer_info(&self, index: u32) -> &CustomerInfo {
        &self.infos[index as usize]
    }

    /// Number of customers.
    pub fn customer_count(&self) -> usize {
        self.customers.len()
    }

    /// All stored lines in arrival order.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The lines of one customer, in arrival order.
    pub fn customer_lines(&self, customer: u32) -> impl ExactSizeIterator<Item = &Line> + '_ {
        let idx: &[u32] = self
            .by_customer
            .get(customer as usize)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        idx.iter().map(|&i| &self.lines[i as usize])
    }

    /// The order id string for an order index (synthetic `customer@seconds` when none was given).
    ///
    /// Panics if the index is out of range, as slice indexing does: indices come from this
    /// history.
    pub fn order_id(&self, order: u32) -> &str {
        // every stored id starts with its mark (recorded so, checked on load)
        let stored = self.orders.name(order);
        stored
            .strip_prefix(GIVEN_ORDER)
            .or_else(|| stored.strip_prefix(SYNTHETIC_ORDER))
            .unwrap_or(stored)
    }

    /// Whether the order at `order` was made up from a customer and a time (no id was given).
    pub fn order_is_synthetic(&self, order: u32) -> bool {
        self.orders.name(order).starts_with(SYNTHETIC_ORDER)
    }

    /// Marks the order ids of a history saved with [`OrderIds::Shared`]: an id equal to
    /// `customer@seconds` of a line that carries it is synthetic, any other given. Indices do not
    /// change. A given id that was spelled like its own synthetic one had already joined that
    /// group when it was recorded, and stays there.
    fn separate_order_ids(&mut self) -> Result<()> {
        let mut synthetic = vec![false; self.orders.len()];
        let mut spelled = String::new();
        for l in &self.lines {
            spelled.clear();
            spell_synthetic(&mut spelled, self.customers.name(l.customer), l.timestamp);
            if self.orders.name(l.order) == spelled {
                synthetic[l.order as usize] = true;
            }
        }
        let names = self
            .orders
            .names()
            .iter()
            .zip(&synthetic)
            .map(|(n, &s)| {
                let mark = if s { SYNTHETIC_ORDER } else { GIVEN_ORDER };
                format!("{mark}{n}")
            })
            .collect();
        self.orders = IdMap::from_names(names).map_err(Error::Corrupted)?;
        Ok(())
    }

    /// Customer × product weights: the number of distinct orders that contained the product,
    /// counting lines strictly before `before` (all lines when `None`). Quantities are ignored on
    /// purpose: one wholesale order of 500 units says less about taste than five separate orders.
    pub fn order_counts(&self, before: Option<Timestamp>) -> Vec<Triple> {
        let mut keys: Vec<(u32, u32, u32)> = self
            .lines
            .iter()
            .filter(|l| before.is_none_or(|b| l.timestamp < b))
            .map(|l| (l.customer, l.product, l.order))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut out: Vec<Triple> = Vec::new();
        for (c, p, _) in keys {
            match out.last_mut() {
                Some(t) if t.user == c && t.item == p => t.weight += 1.0,
                _ => out.push(Triple {
                    user: c,
                    item: p,
                    weight: 1.0,
                }),
            }
        }
        out
    }

    /// Latest purchase time over all customers.
    pub fn last_timestamp(&self) -> Option<Timestamp> {
        self.lines.iter().map(|l| l.timestamp).max()
    }
}

fn key(l: &Line) -> LineKey {
    (
        l.customer,
        l.product,
        l.order,
        l.timestamp.0,
        l.quantity.to_bits(),
        l.unit_price.to_bits(),
    )
}

#[cfg(test)]
impl History {
    /// This history as files written before order ids were separated spelled it (ids as they
    /// are). Panics where that would merge two orders.
    pub(crate) fn with_shared_order_ids(&self) -> History {
        let mut old = self.clone();
        let names = old
            .orders
            .names()
            .iter()
            .map(|n| n[1..].to_owned())
            .collect();
        old.orders = IdMap::from_names(names).expect("no two orders spelled alike");
        old
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(c: &str, item: &str, day: i64, qty: f64) -> Purchase {
        Purchase {
            customer: c.into(),
            product: item.into(),
            timestamp: Timestamp(day * 86_400),
            quantity: qty,
            unit_price: 1.5,
            order: None,
        }
    }

    #[test]
    fn records_and_dedups() {
        let mut h = History::new();
        assert_eq!(h.record(&p("c1", "a", 1, 2.0)).unwrap(), Recorded::Added);
        assert_eq!(
            h.record(&p("c1", "a", 1, 2.0)).unwrap(),
            Recorded::Duplicate
        );
        assert_eq!(h.record(&p("c1", "b", 1, 2.0)).unwrap(), Recorded::Added);
        assert_eq!(h.lines().len(), 2);
        assert_eq!(h.customer_lines(0).len(), 2);
        // both lines share the synthetic order of (c1, day 1)
        assert_eq!(h.lines()[0].order, h.lines()[1].order);
        assert_eq!(h.order_id(0), "c1@86400");
        h.record(&Purchase {
            order: Some("o2".into()),
            ..p("c1", "a", 3, 1.0)
        })
        .unwrap();
        h.record(&Purchase {
            order: Some("o2".into()),
            ..p("c1", "a", 3, 5.0)
        })
        .unwrap();
        let w = h.order_counts(None);
        assert_eq!(
            w,
            vec![
                Triple {
                    user: 0,
                    item: 0,
                    weight: 2.0
                },
                Triple {
                    user: 0,
                    item: 1,
                    weight: 1.0
                }
            ]
        );
        assert_eq!(h.order_counts(Some(Timestamp(2 * 86_400)))[0].weight, 1.0);
    }

    #[test]
    fn rejects_bad_lines() {
        let mut h = History::new();
        for bad in [f64::NAN, f64::INFINITY, -1.0, 0.0, -0.0] {
            let e = h.record(&p("c", "a", 1, bad)).unwrap_err();
            assert!(
                matches!(e, Error::InvalidQuantity { value } if value.to_bits() == bad.to_bits()),
                "{e:?}"
            );
            assert_eq!(
                e.to_string(),
                format!("invalid quantity: {bad} (must be finite and greater than 0)")
            );
        }
        let mut q = p("c", "a", 1, 1.0);
        q.unit_price = -2.0;
        assert!(h.record(&q).is_err());
        assert!(h.record(&p("", "a", 1, 1.0)).is_err());
        assert!(h.record(&p("c", "", 1, 1.0)).is_err());
        assert!(h.lines().is_empty());
    }

    #[test]
    fn a_given_id_spelled_like_a_synthetic_one_is_an_order_of_its_own() {
        let mut h = History::new();
        // no id: the order of (ann, 5 s)
        let mut made_up = p("ann", "a", 0, 1.0);
        made_up.timestamp = Timestamp(5);
        h.record(&made_up).unwrap();
        // the same spelling given, same customer and time, another product
        let given = Purchase {
            order: Some("ann@5".into()),
            ..p("ann", "b", 0, 1.0)
        };
        let given = Purchase {
            timestamp: Timestamp(5),
            ..given
        };
        assert_eq!(h.record(&given).unwrap(), Recorded::Added);
        let (l0, l1) = (h.lines()[0], h.lines()[1]);
        assert_ne!(l0.order, l1.order);
        assert_eq!(h.order_id(l0.order), "ann@5");
        assert_eq!(h.order_id(l1.order), "ann@5");
        assert!(h.order_is_synthetic(l0.order) && !h.order_is_synthetic(l1.order));
        // the same line again is still recognised, with or without its id
        assert_eq!(h.record(&made_up).unwrap(), Recorded::Duplicate);
        assert_eq!(h.record(&given).unwrap(), Recorded::Duplicate);
        // both products count one order each
        let w: Vec<f32> = h.order_counts(None).iter().map(|t| t.weight).collect();
        assert_eq!(w, vec![1.0, 1.0]);
    }

    #[test]
    fn histories_saved_with_shared_order_ids_are_separated_on_load() {
        let mut h = History::new();
        h.record(&p("c1", "a", 1, 1.0)).unwrap();
        h.record(&Purchase {
            order: Some("INV-7".into()),
            ..p("c1", "b", 2, 1.0)
        })
        .unwrap();
        // a given id spelled like a synthetic one that no line of the history makes up (c1's
        // line of day 2 has an id; c2 is not c1)
        h.record(&Purchase {
            order: Some("c1@172800".into()),
            ..p("c2", "a", 3, 1.0)
        })
        .unwrap();
        let json = serde_json::to_value(h.with_shared_order_ids()).unwrap();
        let saved: SavedHistory = serde_json::from_value(json.clone()).unwrap();
        let mut back = saved.into_history(OrderIds::Shared).unwrap();
        let ids: Vec<(&str, bool)> = (0..3)
            .map(|o| (back.order_id(o), back.order_is_synthetic(o)))
            .collect();
        assert_eq!(
            ids,
            vec![("c1@86400", true), ("INV-7", false), ("c1@172800", false)]
        );
        // lines recorded before the save are repeats after it
        assert_eq!(
            back.record(&p("c1", "a", 1, 1.0)).unwrap(),
            Recorded::Duplicate
        );
        assert_eq!(back.lines().len(), 3);
        // read as the current scheme, unmarked ids are a corrupted file
        let unmarked: SavedHistory = serde_json::from_value(json.clone()).unwrap();
        assert!(matches!(
            unmarked.into_history(OrderIds::Separate),
            Err(Error::Corrupted(m)) if m.contains("order id")
        ));
        // and so they are for a history read on its own, which is of the current scheme
        let e = serde_json::from_value::<History>(json).unwrap_err();
        assert!(e.to_string().contains("order id"), "{e}");
    }

    #[test]
    fn a_price_of_minus_zero_is_the_same_line_as_zero() {
        let mut h = History::new();
        let mut free = p("c1", "a", 1, 1.0);
        free.unit_price = 0.0;
        assert_eq!(h.record(&free).unwrap(), Recorded::Added);
        free.unit_price = -0.0;
        assert_eq!(h.record(&free).unwrap(), Recorded::Duplicate);
        assert_eq!(h.lines().len(), 1);
        let mut h = History::new();
        assert_eq!(h.record(&free).unwrap(), Recorded::Added);
        assert!(h.lines()[0].unit_price.is_sign_positive());
    }

    #[test]
    fn reading_a_history_back_rebuilds_its_indexes() {
        let mut h = History::new();
        h.record(&p("c1", "a", 1, 1.0)).unwrap();
        h.record(&p("c2", "a", 2, 1.0)).unwrap();
        h.record(&p("c2", "b", 3, 1.0)).unwrap();
        let bytes = serde_json::to_vec(&h).unwrap();
        // no call needed after serde: the indexes come back with the history
        let mut back: History = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back.customer_lines(1).len(), 2);
        assert_eq!(
            back.record(&p("c2", "a", 2, 1.0)).unwrap(),
            Recorded::Duplicate
        );
        // a new customer gets a place in the index (this indexed out of bounds before)
        assert_eq!(back.record(&p("c3", "a", 4, 1.0)).unwrap(), Recorded::Added);
        assert_eq!(back.customer_lines(2).len(), 1);
        // lines that point past the ids are an error, not a history that panics later
        let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        v["lines"][0]["customer"] = 9.into();
        let e = serde_json::from_value::<History>(v).unwrap_err();
        assert!(e.to_string().contains("points past the ids"), "{e}");
    }

    #[test]
    fn channels_parse() {
        assert_eq!("In-Store".parse::<Channel>().unwrap(), Channel::InStore);
        assert!("pigeon".parse::<Channel>().is_err());
        for c in Channel::ALL {
            assert_eq!(c.as_str().parse::<Channel>().unwrap(), c);
        }
    }
}
