//! Products: id, name, category, price and stock, indexed like the model's item factors.

use crate::error::{Error, Result, check_weight};
use crate::ids::IdMap;
use crate::topk::Bitset;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// A catalog entry as the shop describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// The shop's product id (SKU, stock code, …).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Optional category, used by category filters and favourite categories.
    pub category: Option<String>,
    /// Current unit price, when known.
    pub price: Option<f64>,
    /// Whether the product can be sold now; out-of-stock products can be filtered out.
    pub in_stock: bool,
}

impl Product {
    /// A product known only by id: named after it, no category, no price, in stock.
    pub fn bare(id: &str) -> Self {
        Product {
            id: id.to_owned(),
            name: id.to_owned(),
            category: None,
            price: None,
            in_stock: true,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Entry {
    name: String,
    category: Option<u32>,
    price: Option<f64>,
    in_stock: bool,
}

/// All known products. Product indices are shared with the interaction matrix and item factors.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Catalog {
    ids: IdMap,
    entries: Vec<Entry>,
    categories: IdMap,
    /// How many entries are out of stock, so requests skip the stock filter when none is.
    out_of_stock: usize,
    /// The products of each category, in index order: derived from `entries` on first use and
    /// dropped when a product's category changes, so it is never saved and never stale.
    #[serde(skip)]
    members: OnceLock<Vec<Vec<u32>>>,
    /// The out-of-stock products as a set, derived on first use and dropped when a product's
    /// stock changes: a stock filter then costs a copy of the bits, not a pass over `entries`.
    #[serde(skip)]
    sold_out: OnceLock<Bitset>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a product; returns its index.
    pub fn upsert(&mut self, product: Product) -> Result<u32> {
        if product.id.is_empty() {
            return Err(Error::InvalidArgument("empty product id".into()));
        }
        if let Some(p) = product.price {
            check_weight("price", p)?;
        }
        let category = product
            .category
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(|c| self.categories.intern(c));
        let entry = Entry {
            name: product.name,
            category,
            price: product.price,
            in_stock: product.in_stock,
        };
        let i = self.ids.intern(&product.id);
        let before = self.entries.get(i as usize).and_then(|e| e.category);
        if before != category {
            self.members.take();
        }
        let was_in_stock = self.entries.get(i as usize).is_none_or(|e| e.in_stock);
        if was_in_stock != product.in_stock {
            self.sold_out.take();
        }
        if (i as usize) < self.entries.len() {
            self.out_of_stock -= usize::from(!was_in_stock);
            self.entries[i as usize] = entry;
        } else {
            self.entries.push(entry);
        }
        self.out_of_stock += usize::from(!product.in_stock);
        Ok(i)
    }

    /// Checks a catalog read back from bytes: one entry per product id, category indices in
    /// range, the out-of-stock count right and prices finite and non-negative, as
    /// [`Catalog::upsert`] keeps them; else [`Error::Corrupted`].
    pub(crate) fn check(&self) -> Result<()> {
        let corrupted = |m: String| Err(Error::Corrupted(format!("catalog: {m}")));
        if self.entries.len() != self.ids.len() {
            return corrupted(format!(
                "{} entries for {} product ids",
                self.entries.len(),
                self.ids.len()
            ));
        }
        let categories = self.categories.len();
        if let Some(c) = self
            .entries
            .iter()
            .filter_map(|e| e.category)
            .find(|&c| c as usize >= categories)
        {
            return corrupted(format!("category {c} of {categories}"));
        }
        let out = self.entries.iter().filter(|e| !e.in_stock).count();
        if out != self.out_of_stock {
            return corrupted(format!(
                "{out} products out of stock, counted as {}",
                self.out_of_stock
            ));
        }
        if let Some(p) = self
            .entries
            .iter()
            .filter_map(|e| e.price)
            .find(|p| !(p.is_finite() && *p >= 0.0))
        {
            return corrupted(format!("price {p}"));
        }
        Ok(())
    }

    /// Index of a product id, adding a bare entry when it is new (products seen only in purchases).
    pub fn intern(&mut self, id: &str) -> u32 {
        let i = self.ids.intern(id);
        if i as usize == self.entries.len() {
            self.entries.push(Entry {
                name: id.to_owned(),
                category: None,
                price: None,
                in_stock: true,
            });
        }
        i
    }

    /// Sets the name if the product still carries its id as name (first description wins otherwise).
    pub(crate) fn set_name_if_bare(&mut self, index: u32, name: &str) {
        let e = &mut self.entries[index as usize];
        if e.name == self.ids.name(index) && !name.is_empty() {
            e.name = name.to_owned();
        }
    }

    /// Sets the current price.
    pub(crate) fn set_price(&mut self, index: u32, price: f64) {
        self.entries[index as usize].price = Some(price);
    }

    /// Marks a product in or out of stock.
    pub fn set_in_stock(&mut self, id: &str, in_stock: bool) -> Result<()> {
        let i = self
            .index(id)
            .ok_or_else(|| Error::UnknownProduct(id.to_owned()))?;
        let e = &mut self.entries[i as usize];
        if e.in_stock != in_stock {
            e.in_stock = in_stock;
            self.sold_out.take();
            if in_stock {
                self.out_of_stock -= 1;
            } else {
                self.out_of_stock += 1;
            }
        }
        Ok(())
    }

    /// Index of a product id.
    pub fn index(&self, id: &str) -> Option<u32> {
        self.ids.get(id)
    }

    /// The product id at `index`.
    ///
    /// Panics if `index` is out of range, as slice indexing does: indices come from this catalog.
    pub fn id(&self, index: u32) -> &str {
        self.ids.name(index)
    }

    /// The product at `index`, as an owned [`Product`].
    ///
    /// Panics if `index` is out of range, as slice indexing does: indices come from this catalog.
    pub fn product(&self, index: u32) -> Product {
        let e = &self.entries[index as usize];
        Product {
            id: self.ids.name(index).to_owned(),
            name: e.name.clone(),
            category: e.category.map(|c| self.categories.name(c).to_owned()),
            price: e.price,
            in_stock: e.in_stock,
        }
    }

    /// Display name of the product at `index`.
    ///
    /// Panics if `index` is out of range, as slice indexing does: indices come from this catalog.
    pub fn name(&self, index: u32) -> &str {
        &self.entries[index as usize].name
    }

    /// Category index of the product at `index`.
    ///
    /// Panics if `index` is out of range, as slice indexing does: indices come from this catalog.
    pub fn category_of(&self, index: u32) -> Option<u32> {
        self.entries[index as usize].category
    }

    /// Category name for a category index.
    ///
    /// Panics if `category` is out of range, as slice indexing does: indices come from this
    /// catalog.
    pub fn category_name(&self, category: u32) -> &str {
        self.categories.name(category)
    }

    /// Category index for a category name.
    pub fn category_index(&self, name: &str) -> Option<u32> {
        self.categories.get(name)
    }

    /// The products of a category, in index order; empty for an unknown category.
    ///
    /// Greetings scoped to a category look here instead of scanning the catalog. Built on first
    /// use after a change of categories, in `O(products)`.
    ///
    /// ```
    /// use rapport::catalog::{Catalog, Product};
    /// let mut c = Catalog::new();
    /// for (id, cat) in [("a", "mugs"), ("b", "tea"), ("c", "mugs")] {
    ///     c.upsert(Product { category: Some(cat.into()), ..Product::bare(id) }).unwrap();
    /// }
    /// let mugs = c.category_index("mugs").unwrap();
    /// assert_eq!(c.products_in(mugs), &[0, 2]);
    /// c.upsert(Product { category: Some("tea".into()), ..Product::bare("a") }).unwrap();
    /// assert_eq!(c.products_in(mugs), &[2]);
    /// assert!(c.products_in(99).is_empty());
    /// ```
    pub fn products_in(&self, category: u32) -> &[u32] {
        let members = self.members.get_or_init(|| {
            let mut members = vec![Vec::new(); self.categories.len()];
            for (i, e) in self.entries.iter().enumerate() {
                // categories are in range (`upsert` interns them, loading checks them)
                if let Some(m) = e.category.and_then(|c| members.get_mut(c as usize)) {
                    m.push(i as u32);
                }
            }
            members
        });
        members.get(category as usize).map_or(&[], Vec::as_slice)
    }

    /// Number of distinct categories.
    pub fn category_count(&self) -> usize {
        self.categories.len()
    }

    /// Whether the product at `index` is in stock.
    ///
    /// Panics if `index` is out of range, as slice indexing does: indices come from this catalog.
    pub fn in_stock(&self, index: u32) -> bool {
        self.entries[index as usize].in_stock
    }

    /// The products marked out of stock, as a set of indices.
    ///
    /// ```
    /// use rapport::catalog::{Catalog, Product};
    /// let mut c = Catalog::new();
    /// c.upsert(Product::bare("a")).unwrap();
    /// c.upsert(Product { in_stock: false, ..Product::bare("b") }).unwrap();
    /// assert!(c.sold_out().contains(1) && c.sold_out().count() == 1);
    /// c.set_in_stock("b", true).unwrap();
    /// assert_eq!(c.sold_out().count(), 0);
    /// ```
    pub fn sold_out(&self) -> &Bitset {
        self.sold_out.get_or_init(|| {
            let mut set = Bitset::with_len(self.entries.len());
            for (i, e) in self.entries.iter().enumerate() {
                if !e.in_stock {
                    set.insert(i as u32);
                }
            }
            set
        })
    }

    /// Number of products marked out of stock.
    pub fn out_of_stock_count(&self) -> usize {
        self.out_of_stock
    }

    /// Current price of the product at `index`.
    ///
    /// Panics if `index` is out of range, as slice indexing does: indices come from this catalog.
    pub fn price(&self, index: u32) -> Option<f64> {
        self.entries[index as usize].price
    }

    /// Number of products.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the catalog has no product.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsert_and_lookup() {
        let mut c = Catalog::new();
        let i = c
            .upsert(Product {
                id: "85123A".into(),
                name: "WHITE HANGING HEART".into(),
                category: Some("decor".into()),
                price: Some(2.55),
                in_stock: true,
            })
            .unwrap();
        assert_eq!(c.index("85123A"), Some(i));
        assert_eq!(c.product(i).category.as_deref(), Some("decor"));
        let j = c.intern("22423");
        assert_eq!(c.name(j), "22423");
        c.set_name_if_bare(j, "REGENCY CAKESTAND");
        c.set_name_if_bare(j, "other");
        assert_eq!(c.name(j), "REGENCY CAKESTAND");
        assert_eq!(c.out_of_stock_count(), 0);
        c.set_in_stock("22423", false).unwrap();
        c.set_in_stock("22423", false).unwrap();
        assert!(!c.in_stock(j));
        assert_eq!(c.out_of_stock_count(), 1);
        c.upsert(Product::bare("22423")).unwrap();
        assert_eq!(c.out_of_stock_count(), 0);
        assert!(matches!(
            c.set_in_stock("nope", false),
            Err(Error::UnknownProduct(_))
        ));
    }

    /// The category members always equal a scan of the entries, through every change and a
    /// save and load (they are not saved).
    #[test]
    fn category_members_follow_every_change() {
        let scan = |c: &Catalog| -> Vec<Vec<u32>> {
            (0..c.category_count() as u32)
                .map(|k| {
                    (0..c.len() as u32)
                        .filter(|&i| c.category_of(i) == Some(k))
                        .collect()
                })
                .collect()
        };
        let members = |c: &Catalog| -> Vec<Vec<u32>> {
            (0..c.category_count() as u32)
                .map(|k| c.products_in(k).to_vec())
                .collect()
        };
        fn in_cat(id: &str, cat: Option<&str>) -> Product {
            Product {
                category: cat.map(Into::into),
                ..Product::bare(id)
            }
        }
        let mut c = Catalog::new();
        let steps: [fn(&mut Catalog); 9] = [
            |c| {
                c.upsert(in_cat("a", Some("mugs"))).unwrap();
            },
            |c| {
                c.upsert(in_cat("b", Some("tea"))).unwrap();
            },
            |c| {
                c.intern("c");
            },
            |c| {
                c.upsert(in_cat("c", Some("mugs"))).unwrap();
            },
            |c| {
                c.upsert(in_cat("a", Some("tea"))).unwrap();
            },
            |c| {
                c.upsert(in_cat("b", None)).unwrap();
            },
            |c| {
                c.upsert(in_cat("d", Some(""))).unwrap();
            },
            |c| c.set_in_stock("a", false).unwrap(),
            |c| {
                c.upsert(in_cat("e", Some("cups"))).unwrap();
            },
        ];
        for step in &steps {
            step(&mut c);
            assert_eq!(members(&c), scan(&c));
        }
        assert_eq!(members(&c), [vec![2], vec![0], vec![4]]);
        let back: Catalog = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(members(&back), scan(&c));
        assert!(c.products_in(3).is_empty());
    }

    /// The sold-out set equals a scan of the entries after every kind of change, and after
    /// save and load (it is not saved).
    #[test]
    fn sold_out_follows_every_change() {
        let scan =
            |c: &Catalog| -> Vec<u32> { (0..c.len() as u32).filter(|&i| !c.in_stock(i)).collect() };
        let set = |c: &Catalog| -> Vec<u32> {
            let s = c.sold_out();
            let members: Vec<u32> = (0..c.len() as u32 + 70)
                .filter(|&i| s.contains(i))
                .collect();
            assert_eq!(members.len(), s.count(), "no member past the catalog");
            assert_eq!(members.len(), c.out_of_stock_count());
            members
        };
        fn stock(id: &str, in_stock: bool) -> Product {
            Product {
                in_stock,
                ..Product::bare(id)
            }
        }
        let mut c = Catalog::new();
        let steps: [fn(&mut Catalog); 10] = [
            |c| {
                c.upsert(stock("a", true)).unwrap();
            },
            |c| {
                c.upsert(stock("b", false)).unwrap();
            },
            |c| {
                c.intern("c");
            },
            |c| c.set_in_stock("c", false).unwrap(),
            |c| c.set_in_stock("c", false).unwrap(),
            |c| {
                c.upsert(stock("b", true)).unwrap();
            },
            |c| {
                c.upsert(stock("a", false)).unwrap();
            },
            |c| {
                c.upsert(stock("a", false)).unwrap();
            },
            |c| {
                for i in 0..100 {
                    c.upsert(stock(&format!("n{i}"), i % 3 == 0)).unwrap();
                }
            },
            |c| assert!(c.set_in_stock("zz", false).is_err()),
        ];
        for step in &steps {
            step(&mut c);
            assert_eq!(set(&c), scan(&c));
        }
        assert_eq!(set(&c)[..2], [0, 2]);
        let back: Catalog = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(set(&back), scan(&c));
    }

    #[test]
    fn rejects_bad_products() {
        let mut c = Catalog::new();
        assert!(c.upsert(Product::bare("")).is_err());
        let mut p = Product::bare("a");
        p.price = Some(f64::NAN);
        assert!(matches!(c.upsert(p), Err(Error::InvalidWeight { .. })));
        assert!(c.is_empty());
    }
}
