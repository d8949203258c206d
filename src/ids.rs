//! External string ids ⇄ dense `u32` indices.
//!
//! Outside the engine a customer or product is a string; inside, an index into dense arrays.

use hashbrown::HashMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A bijection between string ids and `0..len` indices, in first-seen order.
#[derive(Clone, Debug, Default)]
pub struct IdMap {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl IdMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Index of `id`, if known.
    pub fn get(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    /// Index of `id`, adding it at the end when new.
    pub fn intern(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(id.to_owned());
        self.index.insert(id.to_owned(), i);
        i
    }

    /// The string id at `index` (panics if out of range: indices come from this map).
    pub fn name(&self, index: u32) -> &str {
        &self.names[index as usize]
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when no id was added.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// All ids in index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The map with `names[i]` at index `i`; a message naming the first repeated id otherwise.
    pub(crate) fn from_names(names: Vec<String>) -> Result<IdMap, String> {
        let mut index = HashMap::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            if index.insert(n.clone(), i as u32).is_some() {
                return Err(format!("duplicate id {n:?}"));
            }
        }
        Ok(IdMap { names, index })
    }
}

impl Serialize for IdMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.names.serialize(s)
    }
}

impl<'de> Deserialize<'de> for IdMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        IdMap::from_names(Vec::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_in_order() {
        let mut m = IdMap::new();
        assert_eq!(m.intern("b"), 0);
        assert_eq!(m.intern("a"), 1);
        assert_eq!(m.intern("b"), 0);
        assert_eq!(m.get("a"), Some(1));
        assert_eq!(m.get("zz"), None);
        assert_eq!(m.name(1), "a");
        assert_eq!(m.len(), 2);
    }
}
