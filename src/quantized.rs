//! An int8 copy of the product factors that makes the top-k scan read a quarter of the bytes
//! and multiply in integers, and still returns exactly the top k of the f32 factors.
//!
//! Each product row `x` is stored as codes `c` with one scale `s` (`x ≈ s·c`, `|c| ≤ 127`) and
//! the largest rounding error of its row, `r = maxₐ |xₐ − s·cₐ|`. A query `q` is rounded the
//! same way to 16-bit codes `p` with scale `t` and errors `e = q − t·p`. The scan computes
//! `s·t·(p·c)` in exact integer arithmetic; its distance to the exact `q·x` is at most
//! `r·(‖q‖₁ + ‖e‖₁) + s·127·‖e‖₁` plus a margin for f32 rounding. So every product has a lower
//! and an upper bound on its exact score: the scan keeps the best `k` lower bounds, collects
//! every product whose upper bound reaches the `k`-th best lower bound, and re-scores those few
//! with the f32 rows. No product of the exact top k can be missed, and ties are still broken
//! by lower index.
//!
//! Codes are laid out eight products at a time, two dimensions at a time: one AVX2
//! `vpmaddwd` multiplies two dimensions of eight products by the query's two codes and adds
//! the pairs, so the scan needs neither conversions to float nor horizontal sums.

use crate::linalg::{Avx2Fma, Kernels, Portable};
use crate::topk::{Bitset, Scored, TopK};
use ndarray::ArrayView2;

/// Products per group: one 32-bit lane each in a 256-bit register.
const GROUP: usize = 8;
/// Bytes of one group for one pair of dimensions.
const PAIR_BYTES: usize = 2 * GROUP;
/// Queries per pass in [`QuantizedItems::top_k_many`].
const TILE: usize = 8;

/// Margin for f32 rounding per dimension, in units of `s·‖q‖₁`: the exact f32 dot product
/// may be off by `f · 2⁻²⁴ · Σ|qₐ xₐ|` with `|xₐ| ≤ 127·s`, and the approximate score by a few
/// roundings of the same size; this covers both with room to spare.
const ROUNDING_PER_DIM: f32 = 3.0e-5;

/// The int8 product table with per-row scales and error bounds.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedItems {
    rows: usize,
    dim: usize,
    /// `groups × ⌈dim/2⌉ × 8 × 2` codes (an odd last dimension is paired with a zero).
    codes: Vec<i8>,
    /// Per product (padded to whole groups): the scale `s`.
    scales: Vec<f32>,
    /// Per product (padded): the largest rounding error `r` of its row (rounded up).
    errors: Vec<f32>,
}

/// A query rounded to 16-bit codes, with what the bounds need.
struct Query {
    /// Pairs of codes, one `i32` per pair of dimensions (low half the even dimension).
    pairs: Vec<i32>,
    /// The code scale `t`.
    scale: f32,
    /// Multiplies a row's error `r`: `‖q‖₁ + ‖e‖₁`, rounded up.
    per_error: f32,
    /// Multiplies a row's scale `s`: `127·‖e‖₁` plus the f32 rounding margin.
    per_scale: f32,
}

impl Query {
    /// `None` for a non-finite query.
    fn new(q: &[f32]) -> Option<Query> {
        let dim = q.len();
        let max = q.iter().fold(0f32, |m, x| m.max(x.abs()));
        if !max.is_finite() || q.iter().any(|x| x.is_nan()) {
            return None;
        }
        // keep |Σ p·c| below 2³¹: dim · 127 · max_code < 2³¹
        let max_code = (i32::MAX as f64 / (127.0 * dim.max(1) as f64 * 1.01)).min(32767.0);
        let scale = (max as f64 / max_code) as f32;
        let mut pairs = vec![0i32; dim.div_ceil(2)];
        let (mut norm1, mut err1) = (0f64, 0f64);
        for (d, &x) in q.iter().enumerate() {
            let p = if scale > 0.0 {
                (x as f64 / scale as f64).round().clamp(-max_code, max_code)
            } else {
                0.0
            };
            norm1 += (x as f64).abs();
            err1 += (x as f64 - scale as f64 * p).abs();
            let bits = (p as i16 as u16 as i32) << (16 * (d % 2));
            pairs[d / 2] |= bits;
        }
        let up = 1.0 + 1e-6;
        Some(Query {
            pairs,
            scale,
            per_error: ((norm1 + err1) * up) as f32,
            per_scale: ((127.0 * err1
                + (dim as f64 + 4.0) * ROUNDING_PER_DIM as f64 * (norm1 + err1))
                * up) as f32,
        })
    }
}

impl QuantizedItems {
    /// Quantizes `items` (one row per product). `None` when a value is not finite, so callers
    /// keep the exact scan.
    pub fn new(items: ArrayView2<'_, f32>) -> Option<Self> {
        let (rows, dim) = items.dim();
        let groups = rows.div_ceil(GROUP);
        let per_group = dim.div_ceil(2) * PAIR_BYTES;
        let mut codes = vec![0i8; groups * per_group];
        let mut scales = vec![0f32; groups * GROUP];
        let mut errors = vec![0f32; groups * GROUP];
        for (i, row) in items.outer_iter().enumerate() {
            let mut max = 0f32;
            for &x in row.iter() {
                if !x.is_finite() {
                    return None;
                }
                max = max.max(x.abs());
            }
            let scale = max / 127.0;
            let (g, lane) = (i / GROUP, i % GROUP);
            let mut err = 0f64;
            for (d, &x) in row.iter().enumerate() {
                let c = if scale > 0.0 {
                    (x / scale).round().clamp(-127.0, 127.0)
                } else {
                    0.0
                };
                codes[g * per_group + (d / 2) * PAIR_BYTES + 2 * lane + d % 2] = c as i8;
                err = err.max((x as f64 - scale as f64 * c as f64).abs());
            }
            scales[i] = scale;
            errors[i] = (err * (1.0 + 1e-6)) as f32;
        }
        Some(QuantizedItems {
            rows,
            dim,
            codes,
            scales,
            errors,
        })
    }

    /// Number of products.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Factors per product.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The exact best `k` of `items · query` (the f32 table this was built from), skipping
    /// `exclude`; the same answer as [`crate::topk::top_k`].
    ///
    /// `items` must be the table given to [`QuantizedItems::new`]; a table of another shape,
    /// or a query with non-finite values, is answered by the exact scan.
    ///
    /// ```
    /// use ndarray::Array2;
    /// use rapport::quantized::QuantizedItems;
    /// use rapport::topk::top_k;
    /// let items = Array2::from_shape_fn((1000, 8), |(i, j)| ((i * 7 + j * 3) % 11) as f32 - 5.0);
    /// let table = QuantizedItems::new(items.view()).unwrap();
    /// let q = [0.5, -1.0, 0.25, 2.0, 0.0, 1.0, -0.5, 1.5];
    /// assert_eq!(table.top_k(items.view(), &q, 10, None), top_k(items.view(), &q, 10, None));
    /// ```
    pub fn top_k(
        &self,
        items: ArrayView2<'_, f32>,
        query: &[f32],
        k: usize,
        exclude: Option<&Bitset>,
    ) -> Vec<Scored> {
        let data = match items.as_slice() {
            Some(d) if items.dim() == (self.rows, self.dim) && query.len() == self.dim => d,
            _ => return crate::topk::top_k(items, query, k, exclude),
        };
        let Some(q) = Query::new(query) else {
            return crate::topk::top_k(items, query, k, exclude);
        };
        if k == 0 || self.rows == 0 {
            return Vec::new();
        }
        let mut shortlist = Shortlist {
            lower: TopK::new(k),
            candidates: Vec::new(),
            exclude,
            rows: self.rows,
        };
        let simd = Avx2Fma::detect();
        match simd {
            Some(kern) => self.scan(kern, &q, &mut shortlist),
            None => self.scan(Portable, &q, &mut shortlist),
        }
        self.rescore(data, query, k, shortlist, simd)
    }

    /// [`QuantizedItems::top_k`] for many queries at once: eight queries share each pass over
    /// the codes, so a batch reads the table an eighth as often and sign-extends each code
    /// once per eight customers. `excludes` is empty or holds one entry per query.
    pub fn top_k_many(
        &self,
        items: ArrayView2<'_, f32>,
        queries: &[&[f32]],
        k: usize,
        excludes: &[Option<&Bitset>],
    ) -> Vec<Vec<Scored>> {
        let exclude = |i: usize| excludes.get(i).copied().flatten();
        let data = match items.as_slice() {
            Some(d) if items.dim() == (self.rows, self.dim) => d,
            _ => {
                return (0..queries.len())
                    .map(|i| crate::topk::top_k(items, queries[i], k, exclude(i)))
                    .collect();
            }
        };
        let mut out: Vec<Vec<Scored>> = vec![Vec::new(); queries.len()];
        // queries the integer scan can take, a tile at a time; the rest one by one
        let mut ready: Vec<(usize, Query)> = Vec::with_capacity(queries.len());
        for (i, q) in queries.iter().enumerate() {
            match Query::new(q).filter(|_| q.len() == self.dim) {
                Some(query) => ready.push((i, query)),
                None => out[i] = self.top_k(items, q, k, exclude(i)),
            }
        }
        if k == 0 || self.rows == 0 {
            return out;
        }
        let simd = Avx2Fma::detect();
        for tile in ready.chunks(TILE) {
            let mut lists: Vec<Shortlist> = tile
                .iter()
                .map(|(i, _)| Shortlist {
                    lower: TopK::new(k),
                    candidates: Vec::new(),
                    exclude: exclude(*i),
                    rows: self.rows,
                })
                .collect();
            let qs: Vec<&Query> = tile.iter().map(|(_, q)| q).collect();
            match (simd, tile.len()) {
                (Some(kern), TILE) => self.scan_tile(kern, &qs, &mut lists),
                _ => {
                    for (q, list) in qs.iter().zip(&mut lists) {
                        match simd {
                            Some(kern) => self.scan(kern, q, list),
                            None => self.scan(Portable, q, list),
                        }
                    }
                }
            }
            for ((i, _), list) in tile.iter().zip(lists) {
                out[*i] = self.rescore(data, queries[*i], k, list, simd);
            }
        }
        out
    }

    /// Re-scores a shortlist with the f32 rows.
    fn rescore(
        &self,
        data: &[f32],
        query: &[f32],
        k: usize,
        list: Shortlist<'_>,
        simd: Option<Avx2Fma>,
    ) -> Vec<Scored> {
        let threshold = list.lower.threshold();
        let mut exact = TopK::new(k);
        for (item, upper) in list.candidates {
            if upper >= threshold {
                let row = &data[item as usize * self.dim..(item as usize + 1) * self.dim];
                let score = match simd {
                    Some(kern) => kern.dot(row, query),
                    None => Portable.dot(row, query),
                };
                exact.push(Scored { item, score });
            }
        }
        exact.into_sorted()
    }

    /// Scans for `TILE` queries at once (AVX2 only).
    fn scan_tile(&self, kern: Avx2Fma, qs: &[&Query], lists: &mut [Shortlist<'_>]) {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: an `Avx2Fma` value only exists after `Avx2Fma::detect` found AVX2 and FMA.
            unsafe { x86::scan_tile(self, kern, qs, lists) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self.scan_tile_in(kern, qs, lists)
        }
    }

    #[inline(always)]
    fn scan_tile_in(&self, kern: Avx2Fma, qs: &[&Query], lists: &mut [Shortlist<'_>]) {
        let per_group = self.dim.div_ceil(2) * PAIR_BYTES;
        let mut dots = [[0i32; GROUP]; TILE];
        for (g, codes) in self.codes.chunks_exact(per_group.max(1)).enumerate() {
            let base = g * GROUP;
            let rows = Rows {
                scales: &self.scales[base..base + GROUP],
                errors: &self.errors[base..base + GROUP],
            };
            let mut thresholds = [0f32; TILE];
            for (t, l) in thresholds.iter_mut().zip(lists.iter()) {
                *t = l.lower.threshold();
            }
            let masks = kern.group_tile(codes, qs, &rows, &thresholds, &mut dots);
            for (u, &mask) in masks.iter().enumerate() {
                if mask != 0 {
                    lists[u].offer(base, mask, &dots[u], &rows, qs[u]);
                }
            }
        }
    }

    /// One query over every group. The AVX2 path runs the whole loop inside one
    /// `target_feature` function so the group kernel inlines into it (a call per group of
    /// eight products cost a third of the scan).
    fn scan<K: GroupKernel>(&self, kern: K, q: &Query, out: &mut Shortlist) {
        kern.scan(self, q, out)
    }

    #[inline(always)]
    fn scan_in<K: GroupKernel>(&self, kern: K, q: &Query, out: &mut Shortlist) {
        let per_group = q.pairs.len() * PAIR_BYTES;
        let mut dots = [0i32; GROUP];
        for (g, codes) in self.codes.chunks_exact(per_group.max(1)).enumerate() {
            let base = g * GROUP;
            let rows = Rows {
                scales: &self.scales[base..base + GROUP],
                errors: &self.errors[base..base + GROUP],
            };
            let mask = kern.group(codes, q, &rows, out.lower.threshold(), &mut dots);
            if mask != 0 {
                out.offer(base, mask, &dots, &rows, q);
            }
        }
    }
}

/// The scales and errors of one group's eight products.
struct Rows<'a> {
    scales: &'a [f32],
    errors: &'a [f32],
}

impl Rows<'_> {
    /// Approximate score and margin of `lane` for the integer dot product `dot`.
    #[inline]
    fn bounds(&self, lane: usize, dot: i32, q: &Query) -> (f32, f32) {
        let s = self.scales[lane];
        let approx = dot as f32 * (s * q.scale);
        let margin = self.errors[lane].mul_add(q.per_error, s * q.per_scale);
        (approx, margin)
    }
}

/// The running state of one scan: the best `k` lower bounds and every product whose upper
/// bound reached the `k`-th best lower bound when it was seen.
struct Shortlist<'a> {
    lower: TopK,
    candidates: Vec<(u32, f32)>,
    exclude: Option<&'a Bitset>,
    rows: usize,
}

impl Shortlist<'_> {
    #[inline(never)]
    fn offer(&mut self, base: usize, mask: u32, dots: &[i32; GROUP], rows: &Rows<'_>, q: &Query) {
        for (lane, &dot) in dots.iter().enumerate() {
            let item = base + lane;
            if mask >> lane & 1 == 0 || item >= self.rows {
                continue;
            }
            let item = item as u32;
            if self.exclude.is_some_and(|e| e.contains(item)) {
                continue;
            }
            let (approx, margin) = rows.bounds(lane, dot, q);
            let upper = approx + margin;
            if upper >= self.lower.threshold() {
                self.candidates.push((item, upper));
                self.lower.push(Scored {
                    item,
                    score: approx - margin,
                });
            }
        }
    }
}

/// Scores one group of eight products.
trait GroupKernel: Copy {
    /// Runs [`QuantizedItems::scan`]'s loop with this kernel.
    fn scan(self, table: &QuantizedItems, q: &Query, out: &mut Shortlist<'_>) {
        table.scan_in(self, q, out)
    }

    /// Writes the eight integer dot products `p·c` into `dots` and returns a bit mask of the
    /// lanes whose upper bound may reach `threshold` (a superset is fine: lanes are checked
    /// again one by one).
    fn group(
        self,
        codes: &[i8],
        q: &Query,
        rows: &Rows<'_>,
        threshold: f32,
        dots: &mut [i32; GROUP],
    ) -> u32;
}

// On wasm32 with simd128, `quantized/simd128.rs` implements it with WebAssembly SIMD.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
impl GroupKernel for Portable {
    #[inline]
    fn group(
        self,
        codes: &[i8],
        q: &Query,
        rows: &Rows<'_>,
        threshold: f32,
        dots: &mut [i32; GROUP],
    ) -> u32 {
        let mut acc = [0i32; GROUP];
        for (&pair, c) in q.pairs.iter().zip(codes.chunks_exact(PAIR_BYTES)) {
            let (p0, p1) = (pair as i16 as i32, (pair >> 16) as i16 as i32);
            for (lane, a) in acc.iter_mut().enumerate() {
                *a += p0 * c[2 * lane] as i32 + p1 * c[2 * lane + 1] as i32;
            }
        }
        *dots = acc;
        let mut mask = 0;
        for (lane, &a) in dots.iter().enumerate() {
            let (approx, margin) = rows.bounds(lane, a, q);
            if approx + margin >= threshold {
                mask |= 1 << lane;
            }
        }
        mask
    }
}

impl GroupKernel for Avx2Fma {
    fn scan(self, table: &QuantizedItems, q: &Query, out: &mut Shortlist<'_>) {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: an `Avx2Fma` value only exists after `Avx2Fma::detect` found AVX2 and FMA.
            unsafe { x86::scan(table, self, q, out) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            table.scan_in(self, q, out)
        }
    }

    #[inline]
    fn group(
        self,
        codes: &[i8],
        q: &Query,
        rows: &Rows<'_>,
        threshold: f32,
        dots: &mut [i32; GROUP],
    ) -> u32 {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: an `Avx2Fma` value only exists after `Avx2Fma::detect` found AVX2 and FMA.
            unsafe { x86::group(codes, q, rows, threshold, dots) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Portable.group(codes, q, rows, threshold, dots)
        }
    }
}

impl Avx2Fma {
    /// [`GroupKernel::group`] for `TILE` queries sharing each load of the codes.
    #[inline]
    fn group_tile(
        self,
        codes: &[i8],
        qs: &[&Query],
        rows: &Rows<'_>,
        thresholds: &[f32; TILE],
        dots: &mut [[i32; GROUP]; TILE],
    ) -> [u32; TILE] {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: an `Avx2Fma` value only exists after `Avx2Fma::detect` found AVX2 and FMA.
            unsafe { x86::group_tile(codes, qs, rows, thresholds, dots) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let mut masks = [0; TILE];
            for u in 0..TILE {
                masks[u] = Portable.group(codes, qs[u], rows, thresholds[u], &mut dots[u]);
            }
            masks
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{GROUP, PAIR_BYTES, QuantizedItems, Query, Rows, Shortlist, TILE};
    use crate::linalg::Avx2Fma;
    use std::arch::x86_64::*;

    /// The single-query scan loop, compiled with AVX2 so the group kernel inlines.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn scan(table: &QuantizedItems, kern: Avx2Fma, q: &Query, out: &mut Shortlist<'_>) {
        table.scan_in(kern, q, out)
    }

    /// The tiled scan loop, compiled with AVX2 so the tile kernel inlines.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn scan_tile(
        table: &QuantizedItems,
        kern: Avx2Fma,
        qs: &[&Query],
        lists: &mut [Shortlist<'_>],
    ) {
        table.scan_tile_in(kern, qs, lists)
    }

    /// AVX2 group kernel: per pair of dimensions, sign-extend sixteen codes to 16 bits and
    /// `vpmaddwd` them with the query's pair; two accumulators alternate.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) fn group(
        codes: &[i8],
        q: &Query,
        rows: &Rows<'_>,
        threshold: f32,
        dots: &mut [i32; GROUP],
    ) -> u32 {
        let pairs = q.pairs.len().min(codes.len() / PAIR_BYTES);
        assert!(rows.scales.len() >= GROUP && rows.errors.len() >= GROUP);
        let (pc, pq) = (codes.as_ptr(), q.pairs.as_ptr());
        let mut acc = [_mm256_setzero_si256(); 2];
        let mut j = 0;
        // SAFETY: pair j < pairs reads codes[j·16 .. j·16+16] (inside `codes`, which holds
        // `pairs` pairs) and q.pairs[j] (j < q.pairs.len()).
        unsafe {
            while j + 2 <= pairs {
                for (h, a) in acc.iter_mut().enumerate() {
                    let c = _mm_loadu_si128(pc.add((j + h) * PAIR_BYTES) as *const __m128i);
                    let p = _mm256_set1_epi32(*pq.add(j + h));
                    *a = _mm256_add_epi32(*a, _mm256_madd_epi16(_mm256_cvtepi8_epi16(c), p));
                }
                j += 2;
            }
            if j < pairs {
                let c = _mm_loadu_si128(pc.add(j * PAIR_BYTES) as *const __m128i);
                let p = _mm256_set1_epi32(*pq.add(j));
                acc[0] = _mm256_add_epi32(acc[0], _mm256_madd_epi16(_mm256_cvtepi8_epi16(c), p));
            }
        }
        let sum = _mm256_add_epi32(acc[0], acc[1]);
        // SAFETY: `dots` holds 8 integers; `scales` and `errors` hold at least 8 (asserted).
        unsafe {
            _mm256_storeu_si256(dots.as_mut_ptr() as *mut __m256i, sum);
            let s = _mm256_loadu_ps(rows.scales.as_ptr());
            let approx = _mm256_mul_ps(
                _mm256_cvtepi32_ps(sum),
                _mm256_mul_ps(s, _mm256_set1_ps(q.scale)),
            );
            let margin = _mm256_fmadd_ps(
                _mm256_loadu_ps(rows.errors.as_ptr()),
                _mm256_set1_ps(q.per_error),
                _mm256_mul_ps(s, _mm256_set1_ps(q.per_scale)),
            );
            let upper = _mm256_add_ps(approx, margin);
            let hit = _mm256_cmp_ps(upper, _mm256_set1_ps(threshold), _CMP_GE_OQ);
            _mm256_movemask_ps(hit) as u32
        }
    }

    /// `TILE` queries per pass: each pair of dimensions is loaded and sign-extended once and
    /// multiplied with every query's pair.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) fn group_tile(
        codes: &[i8],
        qs: &[&Query],
        rows: &Rows<'_>,
        thresholds: &[f32; TILE],
        dots: &mut [[i32; GROUP]; TILE],
    ) -> [u32; TILE] {
        assert!(qs.len() == TILE && rows.scales.len() >= GROUP && rows.errors.len() >= GROUP);
        let pairs = codes.len() / PAIR_BYTES;
        assert!(qs.iter().all(|q| q.pairs.len() >= pairs));
        let pq: [*const i32; TILE] = std::array::from_fn(|u| qs[u].pairs.as_ptr());
        let pc = codes.as_ptr();
        let mut acc = [_mm256_setzero_si256(); TILE];
        // SAFETY: pair j < pairs reads codes[j·16 .. j·16+16], inside `codes`, and pairs[j]
        // of each query, which holds at least `pairs` entries (asserted).
        unsafe {
            for j in 0..pairs {
                let c =
                    _mm256_cvtepi8_epi16(_mm_loadu_si128(pc.add(j * PAIR_BYTES) as *const __m128i));
                for (u, a) in acc.iter_mut().enumerate() {
                    let p = _mm256_set1_epi32(*pq[u].add(j));
                    *a = _mm256_add_epi32(*a, _mm256_madd_epi16(c, p));
                }
            }
        }
        let mut masks = [0u32; TILE];
        // SAFETY: each `dots[u]` holds 8 integers; `scales` and `errors` hold at least 8.
        unsafe {
            let s = _mm256_loadu_ps(rows.scales.as_ptr());
            let e = _mm256_loadu_ps(rows.errors.as_ptr());
            for u in 0..TILE {
                let q = qs[u];
                _mm256_storeu_si256(dots[u].as_mut_ptr() as *mut __m256i, acc[u]);
                let approx = _mm256_mul_ps(
                    _mm256_cvtepi32_ps(acc[u]),
                    _mm256_mul_ps(s, _mm256_set1_ps(q.scale)),
                );
                let margin = _mm256_fmadd_ps(
                    e,
                    _mm256_set1_ps(q.per_error),
                    _mm256_mul_ps(s, _mm256_set1_ps(q.per_scale)),
                );
                let upper = _mm256_add_ps(approx, margin);
                let hit = _mm256_cmp_ps(upper, _mm256_set1_ps(thresholds[u]), _CMP_GE_OQ);
                masks[u] = _mm256_movemask_ps(hit) as u32;
            }
        }
        masks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topk::top_k;
    use ndarray::Array2;
    use proptest::prelude::*;
    use rand::rngs::SmallRng;
    use rand::{RngExt, SeedableRng};

    proptest! {
        #[test]
        fn matches_the_exact_scan_on_coarse_values(n in 0usize..700, f in 1usize..40, k in 0usize..40, seed in 0u64..1000, ex in 0usize..4) {
            // small integers: exact in f32 whatever the summation order, and ties are common
            let items = Array2::from_shape_fn((n, f), |(i, j)| (((i * 31 + j * 17) as u64 ^ seed) % 7) as f32 - 3.0);
            let q: Vec<f32> = (0..f).map(|j| ((j as u64 * 13 + seed) % 5) as f32 - 2.0).collect();
            let exclude: Bitset = (0..n as u32).filter(|i| ex > 0 && (*i as usize).is_multiple_of(ex + 1)).collect();
            let table = QuantizedItems::new(items.view()).unwrap();
            prop_assert_eq!(
                table.top_k(items.view(), &q, k, Some(&exclude)),
                top_k(items.view(), &q, k, Some(&exclude))
            );
        }

        #[test]
        fn same_items_as_the_exact_scan_on_random_values(n in 1usize..3000, f in 1usize..130, k in 1usize..50, seed in 0u64..1000) {
            let mut rng = SmallRng::seed_from_u64(seed);
            // rows of very different norms, as trained factors have
            let items = Array2::from_shape_fn((n, f), |(i, _)| rng.random_range(-1.0f32..1.0) * (1 + i % 5) as f32);
            let q: Vec<f32> = (0..f).map(|_| rng.random_range(-1.0f32..1.0)).collect();
            let table = QuantizedItems::new(items.view()).unwrap();
            let got = table.top_k(items.view(), &q, k, None);
            let want = top_k(items.view(), &q, k, None);
            // the re-scored values are exact dot products; the exact scan's may differ in the
            // last bit (another summation order), so compare items and scores within rounding
            prop_assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                prop_assert!((g.score - w.score).abs() <= 1e-5 * (1.0 + w.score.abs()));
            }
            let mut gi: Vec<u32> = got.iter().map(|s| s.item).collect();
            let mut wi: Vec<u32> = want.iter().map(|s| s.item).collect();
            gi.sort_unstable();
            wi.sort_unstable();
            if gi != wi {
                // only a near-tie at the k-th place may differ
                let kth = want.last().unwrap().score;
                for s in got.iter().chain(&want) {
                    prop_assert!(wi.contains(&s.item) && gi.contains(&s.item) || (s.score - kth).abs() <= 1e-5 * (1.0 + kth.abs()));
                }
            }
        }
    }

    #[test]
    fn many_queries_give_what_one_query_gives() {
        let mut rng = SmallRng::seed_from_u64(11);
        for (n, f) in [(1usize, 3usize), (1000, 64), (2049, 33), (517, 128)] {
            let items = Array2::from_shape_fn((n, f), |_| rng.random_range(-1.0f32..1.0));
            let table = QuantizedItems::new(items.view()).unwrap();
            let queries: Vec<Vec<f32>> = (0..11)
                .map(|i| {
                    (0..f)
                        .map(|_| rng.random_range(-1.0f32..1.0) * i as f32)
                        .collect()
                })
                .collect();
            let mut refs: Vec<&[f32]> = queries.iter().map(|q| q.as_slice()).collect();
            let nan = vec![f32::NAN; f];
            refs.push(&nan);
            let ex: Bitset = (0..n as u32).step_by(3).collect();
            let excludes: Vec<Option<&Bitset>> = (0..refs.len())
                .map(|i| (i % 2 == 0).then_some(&ex))
                .collect();
            let many = table.top_k_many(items.view(), &refs, 10, &excludes);
            assert_eq!(many.len(), refs.len());
            for (i, q) in refs.iter().enumerate() {
                assert_eq!(
                    many[i],
                    table.top_k(items.view(), q, 10, excludes[i]),
                    "query {i}"
                );
            }
            assert!(many[0].iter().all(|s| s.score == 0.0), "the zero query");
        }
    }

    #[test]
    fn portable_and_simd_kernels_agree() {
        let mut rng = SmallRng::seed_from_u64(7);
        let items = Array2::from_shape_fn((1001, 67), |_| rng.random_range(-2.0f32..2.0));
        let q: Vec<f32> = (0..67).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let table = QuantizedItems::new(items.view()).unwrap();
        let query = Query::new(&q).unwrap();
        let run = |simd: bool| {
            let mut s = Shortlist {
                lower: TopK::new(10),
                candidates: Vec::new(),
                exclude: None,
                rows: table.rows(),
            };
            match (simd, Avx2Fma::detect()) {
                (true, Some(k)) => table.scan(k, &query, &mut s),
                _ => table.scan(Portable, &query, &mut s),
            }
            (s.lower.into_sorted(), s.candidates)
        };
        // integer arithmetic: the two paths agree bit for bit
        let (a, b) = (run(true), run(false));
        assert_eq!(a.0.len(), 10);
        assert_eq!(a, b);
    }

    #[test]
    fn bounds_hold_for_every_row() {
        let mut rng = SmallRng::seed_from_u64(3);
        for dim in [1usize, 7, 64, 129] {
            let items = Array2::from_shape_fn((300, dim), |(i, _)| {
                rng.random_range(-1.0f32..1.0) * 10f32.powi(i as i32 % 7 - 3)
            });
            let table = QuantizedItems::new(items.view()).unwrap();
            let per_group = dim.div_ceil(2) * PAIR_BYTES;
            for _ in 0..20 {
                let q: Vec<f32> = (0..dim).map(|_| rng.random_range(-3.0f32..3.0)).collect();
                let query = Query::new(&q).unwrap();
                for i in 0..300 {
                    let (g, lane) = (i / GROUP, i % GROUP);
                    let dot: i32 = (0..dim)
                        .map(|d| {
                            let pair = query.pairs[d / 2];
                            let p = if d % 2 == 0 {
                                pair as i16
                            } else {
                                (pair >> 16) as i16
                            };
                            p as i32
                                * table.codes
                                    [g * per_group + (d / 2) * PAIR_BYTES + 2 * lane + d % 2]
                                    as i32
                        })
                        .sum();
                    let rows = Rows {
                        scales: &table.scales[g * GROUP..],
                        errors: &table.errors[g * GROUP..],
                    };
                    let (approx, margin) = rows.bounds(lane, dot, &query);
                    let exact: f64 = (0..dim).map(|d| q[d] as f64 * items[[i, d]] as f64).sum();
                    assert!(
                        (approx as f64 - exact).abs() <= margin as f64,
                        "dim {dim} row {i}"
                    );
                }
            }
        }
    }

    #[test]
    fn non_finite_values_are_refused_and_odd_queries_fall_back() {
        let mut items = Array2::from_elem((20, 4), 1.0f32);
        let table = QuantizedItems::new(items.view()).unwrap();
        assert_eq!(table.top_k(items.view(), &[1.0; 3], 5, None), Vec::new());
        assert_eq!(
            table.top_k(items.view(), &[f32::NAN, 1.0, 1.0, 1.0], 5, None),
            top_k(items.view(), &[f32::NAN, 1.0, 1.0, 1.0], 5, None)
        );
        assert_eq!(table.top_k(items.view(), &[1.0; 4], 0, None), Vec::new());
        let all: Bitset = (0..20).collect();
        assert!(
            table
                .top_k(items.view(), &[1.0; 4], 5, Some(&all))
                .is_empty()
        );
        assert_eq!(table.top_k(items.view(), &[1.0; 4], 100, None).len(), 20);
        items[[3, 2]] = f32::INFINITY;
        assert!(QuantizedItems::new(items.view()).is_none());
    }
}
