//! The hot path: score every product against one customer vector and keep the best `k`.
//!
//! Scores are computed a block of products at a time into a small buffer, then a bounded
//! selection keeps the best `k`, rejecting most products with a single comparison against the
//! current threshold. Ties are broken by lower product index, so results are deterministic.

use crate::linalg::{Avx2Fma, Kernels, Portable, dot};
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

/// A product index with its score.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// Product index.
    pub item: u32,
    /// Score: customer vector · product vector from the scan; a recommender's co-purchase
    /// re-rank ([`crate::neighbours::Blend`]) replaces it by the blended value.
    pub score: f32,
}

/// `a` ranks before `b`: higher score, then lower index.
#[inline]
fn better(a: Scored, b: Scored) -> bool {
    a.score > b.score || (a.score == b.score && a.item < b.item)
}

/// A set of product indices, one bit each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bitset {
    words: Vec<u64>,
}

impl Bitset {
    /// An empty set able to hold `0..len` without growing.
    pub fn with_len(len: usize) -> Self {
        Bitset {
            words: vec![0; len.div_ceil(64)],
        }
    }

    /// Adds `i`, growing as needed.
    pub fn insert(&mut self, i: u32) {
        let w = i as usize / 64;
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        self.words[w] |= 1 << (i % 64);
    }

    /// Whether `i` is in the set.
    #[inline]
    pub fn contains(&self, i: u32) -> bool {
        self.words
            .get(i as usize / 64)
            .is_some_and(|w| w >> (i % 64) & 1 == 1)
    }

    /// Number of members.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }
}

impl FromIterator<u32> for Bitset {
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> Self {
        let mut b = Bitset::default();
        for i in iter {
            b.insert(i);
        }
        b
    }
}

/// Keeps the best `k` of a stream of scored products (a binary min-heap on "worse").
#[derive(Clone, Debug)]
pub struct TopK {
    k: usize,
    heap: Vec<Scored>,
}

impl TopK {
    /// A selector for the best `k`. Any `k` is fine: room grows with what is kept, not with `k`.
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            heap: Vec::with_capacity(k.min(1024)),
        }
    }

    /// The score a new product must beat once `k` are held (−∞ before that; +∞ for `k = 0`,
    /// which keeps nothing).
    #[inline]
    pub fn threshold(&self) -> f32 {
        if self.k == 0 {
            f32::INFINITY
        } else if self.heap.len() < self.k {
            f32::NEG_INFINITY
        } else {
            self.heap[0].score
        }
    }

    /// Offers one product. NaN scores are ignored.
    #[inline]
    pub fn push(&mut self, s: Scored) {
        if self.k == 0 || s.score.is_nan() {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(s);
            self.sift_up(self.heap.len() - 1);
        } else if better(s, self.heap[0]) {
            self.heap[0] = s;
            self.sift_down(0);
        }
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if better(self.heap[parent], self.heap[i]) {
                self.heap.swap(parent, i);
                i = parent;
            } else {
                break;
            }
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut worst = i;
            if l < n && better(self.heap[worst], self.heap[l]) {
                worst = l;
            }
            if r < n && better(self.heap[worst], self.heap[r]) {
                worst = r;
            }
            if worst == i {
                break;
            }
            self.heap.swap(i, worst);
            i = worst;
        }
    }

    /// The kept products, best first.
    pub fn into_sorted(mut self) -> Vec<Scored> {
        // equal entries (a product offered twice) compare equal: the sort needs a total order
        self.heap.sort_unstable_by(|a, b| {
            if better(*a, *b) {
                std::cmp::Ordering::Less
            } else if better(*b, *a) {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        });
        self.heap
    }
}

const BLOCK: usize = 256;

/// The best `k` products for `query` over all rows of `items`, skipping those in `exclude`.
/// Empty when `k` is 0, when the query's length is not the rows' or when the rows are empty
/// (no factors: nothing to rank by).
///
/// ```
/// use ndarray::array;
/// use rapport::topk::{top_k, Bitset};
/// let items = array![[1.0f32, 0.0], [0.0, 1.0], [0.7, 0.7]];
/// let best = top_k(items.view(), &[1.0, 0.5], 2, None);
/// assert_eq!(best.iter().map(|s| s.item).collect::<Vec<_>>(), vec![2, 0]);
/// let no_two: Bitset = [2u32].into_iter().collect();
/// assert_eq!(top_k(items.view(), &[1.0, 0.5], 1, Some(&no_two))[0].item, 0);
/// ```
pub fn top_k(
    items: ArrayView2<'_, f32>,
    query: &[f32],
    k: usize,
    exclude: Option<&Bitset>,
) -> Vec<Scored> {
    let f = items.ncols();
    let mut sel = TopK::new(k);
    if k == 0 || f != query.len() || f == 0 {
        return Vec::new();
    }
    let data = match items.as_slice() {
        Some(d) => d,
        None => return top_k(items.as_standard_layout().view(), query, k, exclude),
    };
    let simd = Avx2Fma::detect();
    let mut scores = [0f32; BLOCK];
    for (b, block) in data.chunks(BLOCK * f).enumerate() {
        let n = block.len() / f;
        match simd {
            Some(k) => k.matvec(block, query, &mut scores[..n]),
            None => Portable.matvec(block, query, &mut scores[..n]),
        }
        let base = (b * BLOCK) as u32;
        let mut t = sel.threshold();
        for (j, &s) in scores[..n].iter().enumerate() {
            if s >= t {
                let item = base + j as u32;
                if exclude.is_some_and(|e| e.contains(item)) {
                    continue;
                }
                sel.push(Scored { item, score: s });
                t = sel.threshold();
            }
        }
    }
    sel.into_sorted()
}

/// The best `k` among `candidates` (indices into `items`; out-of-range and repeated ones are
/// skipped), skipping those in `exclude`. Empty in the cases [`top_k`] is.
pub fn top_k_among(
    items: ArrayView2<'_, f32>,
    query: &[f32],
    candidates: &[u32],
    k: usize,
    exclude: Option<&Bitset>,
) -> Vec<Scored> {
    let mut sel = TopK::new(k);
    if k == 0 || items.ncols() != query.len() || items.ncols() == 0 {
        return Vec::new();
    }
    let mut seen = Bitset::with_len(items.nrows());
    for &c in candidates {
        if c as usize >= items.nrows() || seen.contains(c) || exclude.is_some_and(|e| e.contains(c))
        {
            continue;
        }
        seen.insert(c);
        let row = items.row(c as usize);
        let score = match row.as_slice() {
            Some(r) => dot(r, query),
            None => row.iter().zip(query).map(|(a, b)| a * b).sum(),
        };
        sel.push(Scored { item: c, score });
    }
    sel.into_sorted()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use proptest::prelude::*;

    #[test]
    fn repeated_entries_sort_without_a_broken_order() {
        // the same product offered many times (a caller's repeated candidate list): equal
        // entries must compare equal, or the sort sees an order that is not total
        let mut t = TopK::new(2_000);
        for r in 0..1_500u32 {
            let item = r % 7;
            t.push(Scored {
                item,
                score: (item % 3) as f32,
            });
        }
        let sorted = t.into_sorted();
        assert_eq!(sorted.len(), 1_500);
        assert!(sorted.windows(2).all(|w| !better(w[1], w[0])), "best first");
        assert_eq!((sorted[0].item, sorted[1_499].item), (2, 6));
    }

    fn naive(items: &Array2<f32>, q: &[f32], k: usize, exclude: &Bitset) -> Vec<Scored> {
        let mut all: Vec<Scored> = (0..items.nrows() as u32)
            .filter(|&i| !exclude.contains(i))
            .map(|i| Scored {
                item: i,
                score: dot(items.row(i as usize).as_slice().unwrap(), q),
            })
            .collect();
        all.sort_by(|a, b| {
            b.score
                .partial_cmp(&a.score)
                .unwrap()
                .then(a.item.cmp(&b.item))
        });
        all.truncate(k);
        all
    }

    proptest! {
        #[test]
        fn matches_naive(n in 0usize..700, f in 1usize..20, k in 0usize..40, seed in 0u64..1000, ex in 0usize..4) {
            // coarse values make ties common
            let items = Array2::from_shape_fn((n, f), |(i, j)| (((i * 31 + j * 17) as u64 ^ seed) % 7) as f32 - 3.0);
            let q: Vec<f32> = (0..f).map(|j| ((j as u64 * 13 + seed) % 5) as f32 - 2.0).collect();
            let exclude: Bitset = (0..n as u32).filter(|i| ex > 0 && (*i as usize).is_multiple_of(ex + 1)).collect();
            let got = top_k(items.view(), &q, k, Some(&exclude));
            prop_assert_eq!(got, naive(&items, &q, k, &exclude));
            let all: Vec<u32> = (0..n as u32).rev().collect();
            prop_assert_eq!(top_k_among(items.view(), &q, &all, k, Some(&exclude)), naive(&items, &q, k, &exclude));
        }
    }

    #[test]
    fn zero_width_tables_rank_nothing() {
        for rows in [0usize, 5, 3000] {
            let items = Array2::<f32>::zeros((rows, 0));
            assert!(top_k(items.view(), &[], 3, None).is_empty(), "{rows}");
            assert!(top_k_among(items.view(), &[], &[0, 1], 3, None).is_empty());
            let table = crate::quantized::QuantizedItems::new(items.view()).unwrap();
            assert!(table.top_k(items.view(), &[], 3, None).is_empty());
            let many = table.top_k_many(items.view(), &[&[], &[]], 3, &[]);
            assert!(many.iter().all(Vec::is_empty) && many.len() == 2);
        }
    }

    #[test]
    fn everything_filtered_or_k_zero() {
        let items = Array2::from_elem((10, 3), 1.0f32);
        let all: Bitset = (0..10).collect();
        assert!(top_k(items.view(), &[1.0; 3], 5, Some(&all)).is_empty());
        assert!(top_k(items.view(), &[1.0; 3], 0, None).is_empty());
        assert!(
            top_k(items.view(), &[1.0; 2], 3, None).is_empty(),
            "wrong query length"
        );
        assert_eq!(
            top_k(items.view(), &[1.0; 3], usize::MAX, None).len(),
            10,
            "huge k"
        );
        let got = top_k(items.view(), &[1.0; 3], 50, None);
        assert_eq!(got.len(), 10);
        assert_eq!(
            got.iter().map(|s| s.item).collect::<Vec<_>>(),
            (0..10).collect::<Vec<_>>()
        );
    }
}
