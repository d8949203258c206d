//! Small dense kernels for factor vectors: dot products, axpy, matrix–vector products, Gram
//! matrices and a Cholesky solve.
//!
//! Hot loops are generic over [`Kernels`]: [`Portable`] runs everywhere (eight independent
//! accumulators the compiler keeps in SIMD registers); [`Avx2Fma`] uses AVX2 and FMA
//! intrinsics and can only be obtained from [`Avx2Fma::detect`], so holding one proves the CPU
//! runs them. Each path gives the same result on every run.

use ndarray::{Array2, ArrayView2};

const LANES: usize = 8;

/// The vector primitives the hot loops are written in.
pub trait Kernels: Copy + Send + Sync + 'static {
    /// Dot product of the common prefix of `a` and `b`.
    fn dot(self, a: &[f32], b: &[f32]) -> f32;
    /// `y += alpha · x` over the common prefix.
    fn axpy(self, alpha: f32, x: &[f32], y: &mut [f32]);
    /// `out = m · v` for a row-major matrix `m` with `v.len()` columns (one output per row).
    #[inline(always)]
    fn matvec(self, m: &[f32], v: &[f32], out: &mut [f32]) {
        let n = v.len();
        for (o, row) in out.iter_mut().zip(m.chunks_exact(n)) {
            *o = self.dot(row, v);
        }
    }
    /// One column of a rank-one Cholesky update over the common prefix: `u ← (u + a·w)·b`,
    /// then `w ← c·w − d·u` with the new `u` (see [`UpdatableCholesky::rank_one`]).
    #[inline(always)]
    fn rotate(self, u: &mut [f32], w: &mut [f32], [a, b, c, d]: [f32; 4]) {
        for (u, w) in u.iter_mut().zip(w.iter_mut()) {
            *u = (*u + a * *w) * b;
            *w = c * *w - d * *u;
        }
    }
    /// `out += Σ_k coefs[k] · row_k(m)` for a row-major `m` with `out.len()` columns.
    #[inline(always)]
    fn combine_rows(self, coefs: &[f32], m: &[f32], out: &mut [f32]) {
        self.combine_rows_strided(coefs, m, out.len(), out);
    }
    /// [`Kernels::combine_rows`] over the first `out.len()` columns of a row-major `m` whose
    /// rows are `stride` apart (`stride ≥ out.len()`; rows that do not fit in `m` are ignored).
    #[inline(always)]
    fn combine_rows_strided(self, coefs: &[f32], m: &[f32], stride: usize, out: &mut [f32]) {
        let n = out.len();
        for (k, &c) in coefs.iter().enumerate() {
            match m.get(k * stride..k * stride + n) {
                Some(row) if stride >= n => self.axpy(c, row, out),
                _ => break,
            }
        }
    }
    /// `out[r] = row(r) · v` for `r < rows` (and `r < out.len()`): [`Kernels::matvec`] over rows
    /// that lie anywhere, such as a customer's products picked by index, with the same
    /// arithmetic as `matvec` over the same rows stored together. Like [`Kernels::dot`], a row
    /// and `v` meet over their common prefix.
    #[inline(always)]
    fn matvec_rows<'a>(
        self,
        row: impl Fn(usize) -> &'a [f32],
        rows: usize,
        v: &[f32],
        out: &mut [f32],
    ) {
        for (r, o) in out.iter_mut().enumerate().take(rows) {
            *o = self.dot(row(r), v);
        }
    }
    /// `out += Σ_{k < rows} coef(k, row(k) · v) · row(k)`: [`Kernels::matvec_rows`] then
    /// [`Kernels::combine_rows_with`], with the same bits, but four rows at a time, so each row
    /// is still in L1 for the second use instead of read again after all the others.
    /// `v` and `out` are distinct borrows, so the dot products never see a changed `out`.
    #[inline(always)]
    fn combine_rows_by_dot<'a>(
        self,
        row: impl Fn(usize) -> &'a [f32],
        rows: usize,
        v: &[f32],
        coef: impl Fn(usize, f32) -> f32,
        out: &mut [f32],
    ) {
        // Both kernels work in groups of four rows from the first, the rest one at a time; a
        // full group here is one of their groups, and a last short one their rest.
        let mut d = [0f32; 4];
        let mut g = 0;
        while g < rows {
            let m = (rows - g).min(4);
            self.matvec_rows(|t| row(g + t), m, v, &mut d[..m]);
            for (t, d) in d[..m].iter_mut().enumerate() {
                *d = coef(g + t, *d);
            }
            self.combine_rows_with(&d[..m], |t| row(g + t), m, out);
            g += m;
        }
    }
    /// [`Kernels::matvec`] of four vectors at once: `vs` holds four vectors one after another
    /// and `out` their four products of `out.len() / 4` rows each. Each product is exactly what
    /// `matvec` gives for its vector alone; the point is to read `m` once instead of four
    /// times, which is what bounds a product with a matrix that does not fit in L1.
    #[inline(always)]
    fn matvec4(self, m: &[f32], vs: &[f32], out: &mut [f32]) {
        let Some((v, stride, _)) = shape4(m, vs, out) else {
            return;
        };
        for (k, v) in v.into_iter().enumerate() {
            self.matvec(m, v, &mut out[k * stride..(k + 1) * stride]);
        }
    }
    /// `out += Σ_{k < rows} coefs[k] · row(k)`: [`Kernels::combine_rows`] over rows that lie
    /// anywhere, with the same arithmetic as over the same rows stored together. Like
    /// [`Kernels::axpy`], a row shorter than `out` adds into its prefix only.
    #[inline(always)]
    fn combine_rows_with<'a>(
        self,
        coefs: &[f32],
        row: impl Fn(usize) -> &'a [f32],
        rows: usize,
        out: &mut [f32],
    ) {
        for (k, &c) in coefs.iter().enumerate().take(rows) {
            self.axpy(c, row(k), out);
        }
    }
}

/// Portable kernels. On `wasm32` built with `simd128` they are written with WebAssembly SIMD
/// intrinsics (`linalg/simd128.rs`; the feature is fixed at build time, nothing to detect).
#[derive(Clone, Copy, Debug, Default)]
pub struct Portable;

/// The four vectors of [`Kernels::matvec4`] (`n` floats each), the length of each output and the
/// rows of `m` that fit in both; `None` after zeroing `out` when the vectors are empty.
#[inline(always)]
fn shape4<'v>(m: &[f32], vs: &'v [f32], out: &mut [f32]) -> Option<([&'v [f32]; 4], usize, usize)> {
    let n = vs.len() / 4;
    let stride = out.len() / 4;
    if n == 0 {
        out.iter_mut().for_each(|o| *o = 0.0);
        return None;
    }
    let v = [
        &vs[..n],
        &vs[n..2 * n],
        &vs[2 * n..3 * n],
        &vs[3 * n..4 * n],
    ];
    Some((v, stride, stride.min(m.len() / n)))
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
impl Kernels for Portable {
    #[inline(always)]
    fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc = [0f32; LANES];
        let mut ca = a.chunks_exact(LANES);
        let mut cb = b.chunks_exact(LANES);
        for (x, y) in (&mut ca).zip(&mut cb) {
            for j in 0..LANES {
                acc[j] += x[j] * y[j];
            }
        }
        let mut tail = 0f32;
        for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
            tail += x * y;
        }
        let s0 = (acc[0] + acc[4]) + (acc[1] + acc[5]);
        let s1 = (acc[2] + acc[6]) + (acc[3] + acc[7]);
        (s0 + s1) + tail
    }

    #[inline(always)]
    fn axpy(self, alpha: f32, x: &[f32], y: &mut [f32]) {
        for (yi, xi) in y.iter_mut().zip(x) {
            *yi += alpha * xi;
        }
    }
}

/// AVX2 + FMA kernels (x86-64). The private field makes [`Avx2Fma::detect`] the only way to
/// get one.
#[derive(Clone, Copy, Debug)]
pub struct Avx2Fma {
    /// The CPU also has AVX-512F (checked once, in `detect`): the Gram products of training
    /// then use it, with the same results.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    avx512: bool,
}

impl Avx2Fma {
    /// `Some` when this CPU has AVX2 and FMA (std caches the check).
    #[inline]
    pub fn detect() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Some(Avx2Fma {
                avx512: std::arch::is_x86_feature_detected!("avx512f"),
            });
        }
        None
    }
}

impl Kernels for Avx2Fma {
    #[inline(always)]
    fn rotate(self, u: &mut [f32], w: &mut [f32], coefs: [f32; 4]) {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: an `Avx2Fma` exists only when `detect` found AVX2 and FMA.
            unsafe { x86::rotate(u, w, coefs) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Portable.rotate(u, w, coefs)
    }

    #[inline(always)]
    fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: an `Avx2Fma` exists only when `detect` found AVX2 and FMA.
            unsafe { x86::dot(a, b) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Portable.dot(a, b)
    }

    #[inline(always)]
    fn axpy(self, alpha: f32, x: &[f32], y: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: an `Avx2Fma` exists only when `detect` found AVX2 and FMA.
            unsafe { x86::axpy(alpha, x, y) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Portable.axpy(alpha, x, y)
    }

    #[inline(always)]
    fn matvec(self, m: &[f32], v: &[f32], out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: an `Avx2Fma` exists only when `detect` found AVX2 and FMA.
            unsafe { x86::matvec(m, v, out) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Portable.matvec(m, v, out)
    }

    #[inline(always)]
    fn combine_rows_strided(self, coefs: &[f32], m: &[f32], stride: usize, out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: an `Avx2Fma` exists only when `detect` found AVX2 and FMA.
            unsafe { x86::combine_rows(coefs, m, stride, out) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Portable.combine_rows_strided(coefs, m, stride, out)
    }

    #[inline(always)]
    fn matvec_rows<'a>(
        self,
        row: impl Fn(usize) -> &'a [f32],
        rows: usize,
        v: &[f32],
        out: &mut [f32],
    ) {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: an `Avx2Fma` exists only when `detect` found AVX2 and FMA.
            unsafe { x86::matvec_rows(row, rows, v, out) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Portable.matvec_rows(row, rows, v, out)
    }

    #[inline(always)]
    fn matvec4(self, m: &[f32], vs: &[f32], out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        {
            if self.avx512 {
                // SAFETY: `detect` found AVX2, FMA and AVX-512F.
                unsafe { x86::matvec4_avx512(m, vs, out) }
            } else {
                // SAFETY: an `Avx2Fma` exists only when `detect` found AVX2 and FMA.
                unsafe { x86::matvec4(m, vs, out) }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Portable.matvec4(m, vs, out)
    }

    #[inline(always)]
    fn combine_rows_with<'a>(
        self,
        coefs: &[f32],
        row: impl Fn(usize) -> &'a [f32],
        rows: usize,
        out: &mut [f32],
    ) {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: an `Avx2Fma` exists only when `detect` found AVX2 and FMA.
            unsafe { x86::combine_rows_with(coefs, row, rows, out) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Portable.combine_rows_with(coefs, row, rows, out)
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Kernels, Portable, shape4};
    use std::arch::x86_64::*;

    /// Sum of the eight lanes.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    /// Dot product over the common prefix, four FMA chains of eight lanes.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        // SAFETY: every load reads 8 floats at offsets i..i+8 ≤ n, inside both slices.
        unsafe {
            while i + 32 <= n {
                for (k, a_k) in acc.iter_mut().enumerate() {
                    let o = i + 8 * k;
                    *a_k = _mm256_fmadd_ps(
                        _mm256_loadu_ps(pa.add(o)),
                        _mm256_loadu_ps(pb.add(o)),
                        *a_k,
                    );
                }
                i += 32;
            }
            while i + 8 <= n {
                acc[0] = _mm256_fmadd_ps(
                    _mm256_loadu_ps(pa.add(i)),
                    _mm256_loadu_ps(pb.add(i)),
                    acc[0],
                );
                i += 8;
            }
        }
        let v = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut s = hsum(v);
        while i < n {
            s = a[i].mul_add(b[i], s);
            i += 1;
        }
        s
    }

    /// One dot product per row of `m` (row length `v.len()`), through [`matvec_rows`].
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn matvec(m: &[f32], v: &[f32], out: &mut [f32]) {
        let n = v.len();
        if n == 0 {
            out.iter_mut().for_each(|o| *o = 0.0);
            return;
        }
        let rows = out.len().min(m.len() / n);
        matvec_rows(|r| &m[r * n..(r + 1) * n], rows, v, out)
    }

    /// The four sums `[Σa, Σb, Σc, Σd]` of the lanes of four accumulators, each reduced as
    /// `((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))` whichever four are reduced together.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn reduce4(acc: [__m256; 4]) -> [f32; 4] {
        let h01 = _mm256_hadd_ps(acc[0], acc[1]);
        let h23 = _mm256_hadd_ps(acc[2], acc[3]);
        let h = _mm256_hadd_ps(h01, h23);
        let s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
        let mut sums = [0f32; 4];
        // SAFETY: `sums` holds four floats.
        unsafe { _mm_storeu_ps(sums.as_mut_ptr(), s) };
        sums
    }

    /// `out[r] = row(r) · v` for the first `rows` outputs (a shorter row over its common
    /// prefix with `v`, as [`dot`] takes it):
    /// four rows per pass share the loads of `v`, and their four sums are reduced together.
    /// Each output is one chain of eight lanes reduced by [`reduce4`], then the columns past
    /// the last multiple of eight in order; rows past the last multiple of four use [`dot`].
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) fn matvec_rows<'a>(
        row: impl Fn(usize) -> &'a [f32],
        rows: usize,
        v: &[f32],
        out: &mut [f32],
    ) {
        let n = v.len();
        let rows = rows.min(out.len());
        let body = n - n % 8;
        let mut r = 0;
        while r + 4 <= rows {
            let (Some(b0), Some(b1), Some(b2), Some(b3)) = (
                row(r).get(..n),
                row(r + 1).get(..n),
                row(r + 2).get(..n),
                row(r + 3).get(..n),
            ) else {
                // a row shorter than the vector: the common prefix, one row at a time
                short_dots(&row, r, v, &mut out[r..r + 4]);
                r += 4;
                continue;
            };
            let base = [b0, b1, b2, b3];
            let mut acc = [_mm256_setzero_ps(); 4];
            let mut i = 0;
            // SAFETY: i + 8 ≤ body ≤ n, so every load stays inside `v` and inside each of the
            // four rows, which hold n floats.
            unsafe {
                while i < body {
                    let x = _mm256_loadu_ps(v.as_ptr().add(i));
                    for (a, b) in acc.iter_mut().zip(&base) {
                        *a = _mm256_fmadd_ps(_mm256_loadu_ps(b.as_ptr().add(i)), x, *a);
                    }
                    i += 8;
                }
            }
            let mut sums = reduce4(acc);
            for (k, sum) in sums.iter_mut().enumerate() {
                for j in body..n {
                    *sum = base[k][j].mul_add(v[j], *sum);
                }
                out[r + k] = *sum;
            }
            r += 4;
        }
        while r < rows {
            out[r] = dot(row(r), v);
            r += 1;
        }
    }

    /// [`matvec`] of four vectors at once (`vs` holds them one after another, `out` their
    /// products, `out.len() / 4` rows each), with the same arithmetic per vector as four calls.
    /// Two rows of `m` meet four vectors per pass, so each load of `m` feeds four products:
    /// `m` is read once for all four, not four times.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn matvec4(m: &[f32], vs: &[f32], out: &mut [f32]) {
        let Some((v, stride, rows)) = shape4(m, vs, out) else {
            return;
        };
        let n = v[0].len();
        let body = n - n % 8;
        let mut r = 0;
        while r + 4 <= rows {
            for pair in [r, r + 2] {
                let base = [
                    &m[pair * n..(pair + 1) * n],
                    &m[(pair + 1) * n..(pair + 2) * n],
                ];
                let mut acc = [[_mm256_setzero_ps(); 4]; 2];
                let mut i = 0;
                // SAFETY: i + 8 ≤ body ≤ n, so every load stays inside each vector of `v` and
                // each row of `base`, all n floats long.
                unsafe {
                    while i < body {
                        let x = [
                            _mm256_loadu_ps(v[0].as_ptr().add(i)),
                            _mm256_loadu_ps(v[1].as_ptr().add(i)),
                            _mm256_loadu_ps(v[2].as_ptr().add(i)),
                            _mm256_loadu_ps(v[3].as_ptr().add(i)),
                        ];
                        for (acc, b) in acc.iter_mut().zip(&base) {
                            let y = _mm256_loadu_ps(b.as_ptr().add(i));
                            for (a, x) in acc.iter_mut().zip(&x) {
                                *a = _mm256_fmadd_ps(y, *x, *a);
                            }
                        }
                        i += 8;
                    }
                }
                for (k, acc) in acc.into_iter().enumerate() {
                    finish4(reduce4(acc), base[k], &v, body, out, stride, pair + k);
                }
            }
            r += 4;
        }
        rest4(m, &v, r..rows, out, stride);
    }

    /// [`matvec_rows`] for a group of rows with one shorter than the vector (misuse, kept out
    /// of the hot loop): a [`dot`] over the common prefix each.
    #[cold]
    #[inline(never)]
    fn short_dots<'a>(row: &impl Fn(usize) -> &'a [f32], r: usize, v: &[f32], out: &mut [f32]) {
        for (k, o) in out.iter_mut().enumerate() {
            *o = Portable.dot(row(r + k), v);
        }
    }

    /// [`combine_rows_with`] for a group of rows with one shorter than `out` (misuse, kept
    /// out of the hot loop): an [`axpy`] over the common prefix each.
    #[cold]
    #[inline(never)]
    fn short_axpys<'a>(
        coefs: &[f32],
        row: &impl Fn(usize) -> &'a [f32],
        r: usize,
        out: &mut [f32],
    ) {
        for (k, &c) in coefs.iter().enumerate() {
            Portable.axpy(c, row(r + k), out);
        }
    }

    /// Ends the four sums of one row of `m` against the four vectors of [`matvec4`]: the
    /// columns from `body` on, in order, then stores them at `at` of each output.
    #[inline(always)]
    fn finish4(
        mut sums: [f32; 4],
        row: &[f32],
        v: &[&[f32]; 4],
        body: usize,
        out: &mut [f32],
        stride: usize,
        at: usize,
    ) {
        for (j, sum) in sums.iter_mut().enumerate() {
            for c in body..v[j].len() {
                *sum = row[c].mul_add(v[j][c], *sum);
            }
            out[j * stride + at] = *sum;
        }
    }

    /// The rows of `m` past the last group of four, against the four vectors of [`matvec4`],
    /// one [`dot`] each as [`matvec_rows`] does them.
    #[target_feature(enable = "avx2,fma")]
    fn rest4(
        m: &[f32],
        v: &[&[f32]; 4],
        rows: std::ops::Range<usize>,
        out: &mut [f32],
        stride: usize,
    ) {
        let n = v[0].len();
        for r in rows {
            for (j, v) in v.iter().enumerate() {
                out[j * stride + r] = dot(&m[r * n..(r + 1) * n], v);
            }
        }
    }

    /// Eight floats at `lo` in the lower half of a 16-lane register and eight at `hi` in the
    /// upper one (with AVX-512F alone: the f32x8 forms of these moves need AVX-512DQ).
    ///
    /// # Safety
    /// `lo` and `hi` are each valid for reading eight `f32`, and the CPU has AVX-512F.
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    unsafe fn pair(lo: *const f32, hi: *const f32) -> __m512 {
        // SAFETY: forwarded contract.
        let (lo, hi) = unsafe { (_mm256_loadu_ps(lo), _mm256_loadu_ps(hi)) };
        _mm512_castpd_ps(_mm512_insertf64x4::<1>(
            _mm512_castpd256_pd512(_mm256_castps_pd(lo)),
            _mm256_castps_pd(hi),
        ))
    }

    /// [`matvec4`] with AVX-512: four rows of `m` meet the four vectors per pass, two vectors
    /// per 16-lane register (one in each half), so each half runs exactly the eight-lane chain
    /// of the AVX2 kernel and the results are the same bits, at twice the width.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn matvec4_avx512(m: &[f32], vs: &[f32], out: &mut [f32]) {
        let Some((v, stride, rows)) = shape4(m, vs, out) else {
            return;
        };
        let n = v[0].len();
        let body = n - n % 8;
        // the upper eight lanes of a 16-lane register
        let high = |a: __m512| _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(a)));

        let mut r = 0;
        while r + 4 <= rows {
            let base = [
                &m[r * n..(r + 1) * n],
                &m[(r + 1) * n..(r + 2) * n],
                &m[(r + 2) * n..(r + 3) * n],
                &m[(r + 3) * n..(r + 4) * n],
            ];
            // acc[k][q]: row k of `base` against vectors 2q (low half) and 2q + 1 (high half)
            let mut acc = [[_mm512_setzero_ps(); 2]; 4];
            let mut i = 0;
            // SAFETY: i + 8 ≤ body ≤ n, so every eight-float load stays inside each vector of
            // `v` and each row of `base`, all n floats long.
            unsafe {
                while i < body {
                    let x = [
                        pair(v[0].as_ptr().add(i), v[1].as_ptr().add(i)),
                        pair(v[2].as_ptr().add(i), v[3].as_ptr().add(i)),
                    ];
                    for (acc, b) in acc.iter_mut().zip(&base) {
                        let y = pair(b.as_ptr().add(i), b.as_ptr().add(i));
                        for (a, x) in acc.iter_mut().zip(&x) {
                            *a = _mm512_fmadd_ps(y, *x, *a);
                        }
                    }
                    i += 8;
                }
            }
            for (k, [a01, a23]) in acc.into_iter().enumerate() {
                let halves = [
                    _mm512_castps512_ps256(a01),
                    high(a01),
                    _mm512_castps512_ps256(a23),
                    high(a23),
                ];
                finish4(reduce4(halves), base[k], &v, body, out, stride, r + k);
            }
            r += 4;
        }
        rest4(m, &v, r..rows, out, stride);
    }

    /// `out += Σ_k coefs[k] · row_k(m)` for a row-major `m` whose rows are `stride` apart,
    /// through [`combine_rows_with`].
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn combine_rows(coefs: &[f32], m: &[f32], stride: usize, out: &mut [f32]) {
        let n = out.len();
        if n == 0 || stride < n {
            return;
        }
        // rows whose first n columns lie inside m
        let rows = coefs.len().min((m.len() + stride - n) / stride);
        combine_rows_with(coefs, |k| &m[k * stride..k * stride + n], rows, out)
    }

    /// `out += Σ_{k < rows} coefs[k] · row(k)` (a shorter row over its prefix), four rows per
    /// pass so `out` is loaded and stored once per four rows; rows past the last multiple of
    /// four use [`axpy`].
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) fn combine_rows_with<'a>(
        coefs: &[f32],
        row: impl Fn(usize) -> &'a [f32],
        rows: usize,
        out: &mut [f32],
    ) {
        let n = out.len();
        let rows = rows.min(coefs.len());
        let body = n - n % 8;
        let mut r = 0;
        while r + 4 <= rows {
            let (Some(b0), Some(b1), Some(b2), Some(b3)) = (
                row(r).get(..n),
                row(r + 1).get(..n),
                row(r + 2).get(..n),
                row(r + 3).get(..n),
            ) else {
                // a row shorter than `out`: its prefix, one row at a time
                short_axpys(&coefs[r..r + 4], &row, r, out);
                r += 4;
                continue;
            };
            let base = [b0, b1, b2, b3];
            let c = [
                _mm256_set1_ps(coefs[r]),
                _mm256_set1_ps(coefs[r + 1]),
                _mm256_set1_ps(coefs[r + 2]),
                _mm256_set1_ps(coefs[r + 3]),
            ];
            let mut i = 0;
            // SAFETY: i + 8 ≤ body ≤ n, inside `out` and inside each of the four rows, which
            // hold n floats.
            unsafe {
                while i < body {
                    let po = out.as_mut_ptr().add(i);
                    let mut acc = _mm256_loadu_ps(po);
                    for (ck, b) in c.iter().zip(&base) {
                        acc = _mm256_fmadd_ps(*ck, _mm256_loadu_ps(b.as_ptr().add(i)), acc);
                    }
                    _mm256_storeu_ps(po, acc);
                    i += 8;
                }
            }
            for j in body..n {
                let mut o = out[j];
                for (k, b) in base.iter().enumerate() {
                    o = coefs[r + k].mul_add(b[j], o);
                }
                out[j] = o;
            }
            r += 4;
        }
        while r < rows {
            axpy(coefs[r], row(r), out);
            r += 1;
        }
    }

    /// [`super::Kernels::rotate`], eight lanes at a time.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn rotate(u: &mut [f32], w: &mut [f32], [a, b, c, d]: [f32; 4]) {
        let n = u.len().min(w.len());
        let (pu, pw) = (u.as_mut_ptr(), w.as_mut_ptr());
        let (va, vb, vc, vd) = (
            _mm256_set1_ps(a),
            _mm256_set1_ps(b),
            _mm256_set1_ps(c),
            _mm256_set1_ps(d),
        );
        let mut i = 0;
        // SAFETY: every access touches 8 floats at offsets i..i+8 ≤ n, inside both slices;
        // `u` and `w` cannot overlap (two exclusive borrows).
        unsafe {
            while i + 8 <= n {
                let (uu, ww) = (_mm256_loadu_ps(pu.add(i)), _mm256_loadu_ps(pw.add(i)));
                let nu = _mm256_mul_ps(_mm256_fmadd_ps(va, ww, uu), vb);
                let nw = _mm256_fnmadd_ps(vd, nu, _mm256_mul_ps(vc, ww));
                _mm256_storeu_ps(pu.add(i), nu);
                _mm256_storeu_ps(pw.add(i), nw);
                i += 8;
            }
        }
        while i < n {
            u[i] = a.mul_add(w[i], u[i]) * b;
            w[i] = (-d).mul_add(u[i], c * w[i]);
            i += 1;
        }
    }

    /// `y += alpha · x` over the common prefix.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
        let n = x.len().min(y.len());
        let (px, py) = (x.as_ptr(), y.as_mut_ptr());
        let va = _mm256_set1_ps(alpha);
        let mut i = 0;
        // SAFETY: every access touches 8 floats at offsets i..i+8 ≤ n, inside both slices;
        // `x` and `y` cannot overlap (shared and exclusive borrows).
        unsafe {
            while i + 8 <= n {
                let r = _mm256_fmadd_ps(va, _mm256_loadu_ps(px.add(i)), _mm256_loadu_ps(py.add(i)));
                _mm256_storeu_ps(py.add(i), r);
                i += 8;
            }
        }
        while i < n {
            y[i] = alpha.mul_add(x[i], y[i]);
            i += 1;
        }
    }
}

/// Dot product of two equally long slices (portable kernels).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    Portable.dot(a, b)
}

/// `y += a · x` (portable kernels).
#[inline]
pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    Portable.axpy(a, x, y)
}

/// `out = m · v` for a row-major `n × n` matrix `m` (portable kernels).
#[inline]
pub fn matvec(m: &[f32], v: &[f32], out: &mut [f32]) {
    Portable.matvec(m, v, out)
}

/// `Xᵀ X` for a row-major `rows × f` matrix (the Gram matrix ALS reuses for every solve).
pub fn gram(x: ArrayView2<'_, f32>) -> Array2<f32> {
    x.t().dot(&x)
}

/// Solves `a · x = b` in place for a symmetric positive-definite row-major `n × n` matrix.
///
/// `a` is overwritten by its Cholesky factor, `b` by the solution. Returns `false` (leaving
/// garbage) when `a` is not positive definite, and `false` (touching nothing) when `a` does
/// not hold `n × n` values for `n = b.len()`. Only the lower triangle of `a` is read.
pub fn cholesky_solve(a: &mut [f32], b: &mut [f32]) -> bool {
    if !cholesky(a, b.len()) {
        return false;
    }
    forward_solve(a, b);
    backward_solve(a, b);
    true
}

/// In-place Cholesky factorisation `a = L Lᵀ` of the lower triangle of a row-major `n × n`
/// matrix; `false` when it is not positive definite, or (touching nothing) when `a` does not
/// hold `n × n` values. Uses the AVX2/FMA kernels when the CPU has them.
pub fn cholesky(a: &mut [f32], n: usize) -> bool {
    match Avx2Fma::detect() {
        Some(k) => cholesky_with(k, a, n),
        None => cholesky_with(Portable, a, n),
    }
}

/// [`cholesky`] with the given kernels for the inner products.
#[inline(always)]
pub fn cholesky_with<K: Kernels>(k: K, a: &mut [f32], n: usize) -> bool {
    if n.checked_mul(n) != Some(a.len()) {
        return false;
    }
    for j in 0..n {
        let (upto_j, below) = a.split_at_mut((j + 1) * n);
        let row_j = &mut upto_j[j * n..];
        let d = row_j[j] as f64 - row_j[..j].iter().map(|&v| v as f64 * v as f64).sum::<f64>();
        if d <= 0.0 || !d.is_finite() {
            return false;
        }
        let d = d.sqrt() as f32;
        row_j[j] = d;
        // column j below the diagonal: a[i][j] = (a[i][j] - Σ_k<j a[i][k]·a[j][k]) / d
        for row_i in below.chunks_exact_mut(n) {
            row_i[j] = (row_i[j] - k.dot(&row_i[..j], &row_j[..j])) / d;
        }
    }
    true
}

/// Solves `Lᵀ x = y` in place for the lower-triangular factor left by [`cholesky`]; `false`,
/// touching nothing, when `l` does not hold `n × n` values for `n = b.len()`.
///
/// Column-oriented: once `x_k` is known, row `k` of `L` (contiguous, unlike column `k`) is
/// subtracted from the rest, so no step strides down a column.
pub fn backward_solve(l: &[f32], b: &mut [f32]) -> bool {
    let n = b.len();
    if n.checked_mul(n) != Some(l.len()) {
        return false;
    }
    for k in (0..n).rev() {
        let row = &l[k * n..k * n + k + 1];
        let x = b[k] / row[k];
        b[k] = x;
        axpy(-x, &row[..k], &mut b[..k]);
    }
    true
}

/// Solves `L y = b` in place for the lower-triangular factor left by [`cholesky`]; `false`,
/// touching nothing, when `l` does not hold `n × n` values for `n = b.len()`.
pub fn forward_solve(l: &[f32], b: &mut [f32]) -> bool {
    let n = b.len();
    if n.checked_mul(n) != Some(l.len()) {
        return false;
    }
    for i in 0..n {
        let row = &l[i * n..i * n + n];
        let s = b[i] - dot(&row[..i], &b[..i]);
        b[i] = s / row[i];
    }
    true
}

/// The Cholesky factor of a small symmetric positive-definite system in `f64`: the `n × n`
/// Woodbury systems of fold-in, one row and column per purchased product, where the extra
/// precision costs little and keeps the identity's subtraction accurate.
#[derive(Clone, Debug)]
pub struct Cholesky64 {
    /// Row-major `n × n`; the lower triangle holds `L`.
    l: Vec<f64>,
    n: usize,
}

impl Cholesky64 {
    /// Factors the lower triangle of the row-major `n × n` matrix `a`; `None` when `a` is not
    /// positive definite (or holds NaN) or is not `n × n`.
    pub fn new(mut a: Vec<f64>, n: usize) -> Option<Self> {
        if a.len() != n * n {
            return None;
        }
        for j in 0..n {
            let (upto_j, below) = a.split_at_mut((j + 1) * n);
            let row_j = &upto_j[j * n..];
            let d = row_j[j] - row_j[..j].iter().map(|v| v * v).sum::<f64>();
            if d <= 0.0 || !d.is_finite() {
                return None;
            }
            let d = d.sqrt();
            let row_j = &mut upto_j[j * n..];
            row_j[j] = d;
            let row_j = &*row_j;
            for row_i in below.chunks_exact_mut(n) {
                let s: f64 = row_i[..j].iter().zip(&row_j[..j]).map(|(a, b)| a * b).sum();
                row_i[j] = (row_i[j] - s) / d;
            }
        }
        Some(Cholesky64 { l: a, n })
    }

    /// Solves `L Lᵀ x = b` in place. Returns `false`, leaving `b` untouched, when `b` is not
    /// `n` long.
    pub fn solve(&self, b: &mut [f64]) -> bool {
        let (l, n) = (&self.l, self.n);
        if b.len() != n {
            return false;
        }
        for i in 0..n {
            let row = &l[i * n..i * n + i + 1];
            let s: f64 = row[..i].iter().zip(&b[..i]).map(|(a, b)| a * b).sum();
            b[i] = (b[i] - s) / row[i];
        }
        for k in (0..n).rev() {
            let row = &l[k * n..k * n + k + 1];
            let x = b[k] / row[k];
            b[k] = x;
            for (b, r) in b[..k].iter_mut().zip(&row[..k]) {
                *b -= x * r;
            }
        }
        true
    }
}

/// The Cholesky factor of an `f32` system kept up to date under rank-one changes
/// `A ± w xxᵀ` in `O(n²)` each, instead of factoring again in `O(n³)`: a greeting variant's
/// engagement system changes by one customer per event.
///
/// Holds `U = Lᵀ` (upper triangle, row-major), so that both the update, which walks the
/// columns of `L`, and the two triangular solves read contiguous rows.
///
/// ```
/// use rapport::linalg::UpdatableCholesky;
/// // A = 4·I (2 × 2), then A + 1·[1, 1][1, 1]ᵀ = [[5, 1], [1, 5]]
/// let mut c = UpdatableCholesky::new(&[4.0, 0.0, 0.0, 4.0], 2).unwrap();
/// assert!(c.rank_one(&[1.0, 1.0], 1.0));
/// let mut b = [6.0, 6.0]; // = A' · [1, 1]
/// assert!(c.solve(&mut b));
/// assert!((b[0] - 1.0).abs() < 1e-6 && (b[1] - 1.0).abs() < 1e-6);
/// ```
#[derive(Clone, Debug)]
pub struct UpdatableCholesky {
    u: Vec<f32>,
    n: usize,
}

impl UpdatableCholesky {
    /// Factors the lower triangle of the row-major `n × n` matrix `a`; `None` when it is not
    /// positive definite (or holds NaN) or is not `n × n`.
    pub fn new(a: &[f32], n: usize) -> Option<Self> {
        if a.len() != n * n {
            return None;
        }
        let mut l = a.to_vec();
        if !cholesky(&mut l, n) {
            return None;
        }
        let mut u = vec![0f32; n * n];
        for i in 0..n {
            for k in 0..=i {
                u[k * n + i] = l[i * n + k];
            }
        }
        Some(UpdatableCholesky { u, n })
    }

    /// Changes the factored matrix to `A + weight · x xᵀ` (a downdate for negative `weight`).
    /// `false`, leaving the factor unusable, when the result is not positive definite or not
    /// finite (a downdate that removes more than was added, or rounding at its edge): factor
    /// the matrix again then.
    pub fn rank_one(&mut self, x: &[f32], weight: f32) -> bool {
        match Avx2Fma::detect() {
            Some(k) => self.rank_one_with(k, x, weight),
            None => self.rank_one_with(Portable, x, weight),
        }
    }

    /// [`UpdatableCholesky::rank_one`] with the given kernels.
    #[inline(always)]
    fn rank_one_with<K: Kernels>(&mut self, k: K, x: &[f32], weight: f32) -> bool {
        let n = self.n;
        if x.len() != n || !weight.is_finite() {
            return false;
        }
        if weight == 0.0 {
            return true;
        }
        let sigma = weight.signum();
        let scale = weight.abs().sqrt();
        let mut w: Vec<f32> = x.iter().map(|v| v * scale).collect();
        for j in 0..n {
            let Some((row, rest)) = self.u[j * n + j..j * n + n].split_first_mut() else {
                return false;
            };
            let ukk = *row as f64;
            let wk = w[j] as f64;
            let r2 = ukk * ukk + sigma as f64 * wk * wk;
            if !(r2 > 0.0 && r2.is_finite()) {
                return false;
            }
            let r = r2.sqrt();
            let (c, s, inv_c) = ((r / ukk) as f32, (wk / ukk) as f32, (ukk / r) as f32);
            *row = r as f32;
            k.rotate(rest, &mut w[j + 1..], [sigma * s, inv_c, c, s]);
        }
        true
    }

    /// Solves `A x = b` in place; `false`, leaving `b` as it was, when `b` does not have
    /// length `n`.
    pub fn solve(&self, b: &mut [f32]) -> bool {
        if b.len() != self.n {
            return false;
        }
        match Avx2Fma::detect() {
            Some(k) => self.solve_with(k, b),
            None => self.solve_with(Portable, b),
        }
        true
    }

    /// [`UpdatableCholesky::solve`] with the given kernels.
    #[inline(always)]
    fn solve_with<K: Kernels>(&self, k: K, b: &mut [f32]) {
        let (u, n) = (&self.u, self.n);
        // Uᵀ y = b, column by column: y_j is final once the rows above have been subtracted
        for j in 0..n {
            let row = &u[j * n + j..j * n + n];
            let y = b[j] / row[0];
            b[j] = y;
            k.axpy(-y, &row[1..], &mut b[j + 1..]);
        }
        // U x = y, from the last row up
        for i in (0..n).rev() {
            let row = &u[i * n + i..i * n + n];
            b[i] = (b[i] - k.dot(&row[1..], &b[i + 1..])) / row[0];
        }
    }
}

/// A system `A = D + Σ_j w_j o_j o_jᵀ` (diagonal `D`, `n` rows `o_j` of length `f`, weights
/// `w_j ≥ 0`) prepared for the Woodbury identity
/// `A⁻¹ = D⁻¹ − D⁻¹ Oᵀ W^½ S⁻¹ W^½ O D⁻¹` with `S = I + W^½ O D⁻¹ Oᵀ W^½`: an `n × n` system
/// whose eigenvalues are all at least 1, factored in `f64`. Solves cost `O(n²f)` to set up
/// instead of the `O(f³)` of factoring `A`, which pays while `n` is well below `f` (fold-in:
/// one row per purchase; greetings: one per engaged variant).
#[derive(Clone, Debug)]
pub struct Woodbury {
    f: usize,
    /// `D⁻¹`.
    d_inv: Vec<f32>,
    /// The rows `O`, `n × f`.
    rows: Vec<f32>,
    /// The same rows times `D⁻¹`.
    scaled: Vec<f32>,
    /// `√w_j`.
    root: Vec<f64>,
    /// `M = O D⁻¹ Oᵀ`, row-major `n × n`.
    m: Vec<f64>,
    /// Cholesky factor of `S = I + W^½ M W^½`.
    s: Cholesky64,
}

impl Woodbury {
    /// Prepares the system from `D⁻¹` (length `f`), the rows (`n × f`, row-major) and their
    /// weights; `None` when the shapes disagree or `S` does not factor (NaN, negative weights).
    pub fn new<K: Kernels>(k: K, d_inv: Vec<f32>, rows: Vec<f32>, weights: &[f32]) -> Option<Self> {
        let f = d_inv.len();
        let n = weights.len();
        if f == 0 || rows.len() != n * f {
            return None;
        }
        let root: Vec<f64> = weights.iter().map(|&w| (w as f64).sqrt()).collect();
        let mut scaled = Vec::with_capacity(rows.len());
        for y in rows.chunks_exact(f) {
            scaled.extend(y.iter().zip(&d_inv).map(|(y, d)| y * d));
        }
        // M = O D⁻¹ Oᵀ, symmetric
        let mut m = vec![0f64; n * n];
        for a in 0..n {
            let sa = &scaled[a * f..a * f + f];
            for b in 0..=a {
                let v = k.dot(sa, &rows[b * f..b * f + f]) as f64;
                m[a * n + b] = v;
                m[b * n + a] = v;
            }
        }
        let s: Vec<f64> = (0..n * n)
            .map(|i| {
                let (a, b) = (i / n, i % n);
                root[a] * m[i] * root[b] + if a == b { 1.0 } else { 0.0 }
            })
            .collect();
        let s = Cholesky64::new(s, n)?;
        Some(Woodbury {
            f,
            d_inv,
            rows,
            scaled,
            root,
            m,
            s,
        })
    }

    /// The rows `O`, `n × f`.
    pub fn rows(&self) -> &[f32] {
        &self.rows
    }

    /// `A⁻¹ b = D⁻¹ (b − Oᵀ W^½ S⁻¹ W^½ O D⁻¹ b)`.
    pub fn solve<K: Kernels>(&self, k: K, b: Vec<f32>) -> Vec<f32> {
        let f = self.f;
        let mut t: Vec<f64> = self
            .scaled
            .chunks_exact(f)
            .zip(&self.root)
            .map(|(s, r)| r * k.dot(s, &b) as f64)
            .collect();
        // `t` has one entry per row, as the factor has
        let solved = self.s.solve(&mut t);
        debug_assert!(solved);
        let mut x = b;
        for ((y, &r), &t) in self.rows.chunks_exact(f).zip(&self.root).zip(&t) {
            k.axpy(-((r * t) as f32), y, &mut x);
        }
        x.iter_mut().zip(&self.d_inv).for_each(|(x, d)| *x *= d);
        x
    }

    /// Appends `yᵀ A⁻¹ o_j` for every row `j` to `out`:
    /// `p_j − Σ_k M_jk w_k^½ q_k` with `p = O D⁻¹ y` and `q = S⁻¹ W^½ p`.
    pub fn inner_products<K: Kernels>(&self, k: K, y: &[f32], out: &mut Vec<f32>) {
        let n = self.root.len();
        let p: Vec<f64> = self
            .scaled
            .chunks_exact(self.f)
            .map(|s| k.dot(s, y) as f64)
            .collect();
        let mut q: Vec<f64> = p.iter().zip(&self.root).map(|(p, r)| p * r).collect();
        let solved = self.s.solve(&mut q);
        debug_assert!(solved);
        q.iter_mut().zip(&self.root).for_each(|(q, r)| *q *= r);
        for (pj, mj) in p.iter().zip(self.m.chunks_exact(n.max(1))) {
            let correction: f64 = mj.iter().zip(&q).map(|(m, q)| m * q).sum();
            out.push((pj - correction) as f32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_f64_cholesky_solves_and_rejects() {
        // A = BᵀB + I over a fixed B, so A is SPD; x recovered from A x = b
        for n in [1usize, 2, 5, 17] {
            let b: Vec<f64> = (0..n * n)
                .map(|i| ((i * 7 % 11) as f64 - 5.0) / 3.0)
                .collect();
            let mut a = vec![0f64; n * n];
            for r in 0..n {
                for c in 0..n {
                    a[r * n + c] = (0..n).map(|k| b[k * n + r] * b[k * n + c]).sum::<f64>()
                        + if r == c { 1.0 } else { 0.0 };
                }
            }
            let x: Vec<f64> = (0..n).map(|i| i as f64 - 1.5).collect();
            let mut rhs: Vec<f64> = (0..n)
                .map(|r| (0..n).map(|c| a[r * n + c] * x[c]).sum())
                .collect();
            let c = Cholesky64::new(a, n).unwrap();
            // a right-hand side of the wrong length is refused and left as it was
            for len in [n - 1, n + 1] {
                let mut wrong = vec![1.0; len];
                assert!(!c.solve(&mut wrong), "n={n} len={len}");
                assert_eq!(wrong, vec![1.0; len]);
            }
            assert!(c.solve(&mut rhs));
            for (got, want) in rhs.iter().zip(&x) {
                assert!((got - want).abs() < 1e-9, "n={n}: {got} vs {want}");
            }
        }
        assert!(Cholesky64::new(vec![1.0, 2.0, 2.0, 1.0], 2).is_none()); // indefinite
        assert!(Cholesky64::new(vec![f64::NAN], 1).is_none());
        assert!(Cholesky64::new(vec![1.0; 3], 2).is_none()); // not n × n
        let empty = Cholesky64::new(Vec::new(), 0).unwrap();
        assert!(empty.solve(&mut []));
    }

    #[test]
    fn dot_matches_naive() {
        for n in [0, 1, 7, 8, 9, 31, 64, 100] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - naive).abs() < 1e-4, "n={n}");
        }
    }

    #[test]
    fn simd_and_portable_agree() {
        let Some(k) = Avx2Fma::detect() else {
            eprintln!("no AVX2/FMA here: nothing to compare");
            return;
        };
        for n in [0, 1, 3, 7, 8, 9, 16, 17, 31, 32, 33, 64, 100, 128, 200] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            assert!((k.dot(&a, &b) - dot(&a, &b)).abs() < 1e-4, "n={n}");
            // a longer second slice: only the common prefix counts
            assert!((k.dot(&a, &[b.as_slice(), &[9.0; 5]].concat()) - dot(&a, &b)).abs() < 1e-4);
            let coefs = [0.3, 0.9, 1.1, -0.4];
            let (mut u1, mut w1, mut u2, mut w2) = (a.clone(), b.clone(), a.clone(), b.clone());
            Portable.rotate(&mut u1, &mut w1, coefs);
            k.rotate(&mut u2, &mut w2, coefs);
            for (p, q) in u1.iter().zip(&u2).chain(w1.iter().zip(&w2)) {
                assert!((p - q).abs() < 1e-5, "rotate n={n}");
            }
            let mut y1 = b.clone();
            let mut y2 = b.clone();
            axpy(0.5, &a, &mut y1);
            k.axpy(0.5, &a, &mut y2);
            // combine_rows equals row-wise portable axpys
            if n > 0 {
                let m: Vec<f32> = (0..6 * n).map(|i| (i as f32 * 0.05).cos()).collect();
                let coefs = [0.5, -1.0, 2.0, 0.25, 1.5, -0.75];
                let (mut o1, mut o2) = (b.clone(), b.clone());
                Portable.combine_rows(&coefs, &m, &mut o1);
                k.combine_rows(&coefs, &m, &mut o2);
                for (p, q) in o1.iter().zip(&o2) {
                    assert!((p - q).abs() < 1e-4);
                }
                // the first w columns of rows `n` apart, against a naive sum; a sixth row that
                // would end past `m` is left out
                for w in [1, n / 2, n] {
                    let m5 = &m[..5 * n];
                    let mut naive = b[..w].to_vec();
                    for (r, c) in coefs.iter().enumerate().take(5) {
                        for j in 0..w {
                            naive[j] += c * m5[r * n + j];
                        }
                    }
                    let (mut o3, mut o4) = (b[..w].to_vec(), b[..w].to_vec());
                    Portable.combine_rows_strided(&coefs, m5, n, &mut o3);
                    k.combine_rows_strided(&coefs, m5, n, &mut o4);
                    for ((p, q), r) in o3.iter().zip(&o4).zip(&naive) {
                        assert!((p - r).abs() < 1e-4 && (q - r).abs() < 1e-4, "n={n} w={w}");
                    }
                }
            }
            // matvec over several rows equals row-wise portable dots
            if n > 0 {
                let m: Vec<f32> = (0..7 * n).map(|i| (i as f32 * 0.07).sin()).collect();
                let (mut o1, mut o2) = ([0f32; 7], [0f32; 7]);
                matvec(&m, &a, &mut o1);
                k.matvec(&m, &a, &mut o2);
                for (p, q) in o1.iter().zip(&o2) {
                    assert!((p - q).abs() < 1e-4);
                }
            }
            for (p, q) in y1.iter().zip(&y2) {
                assert!((p - q).abs() < 1e-6);
            }
        }
    }

    /// The gathered and four-vector products give exactly (bit for bit) what the plain ones
    /// give on the same rows stored together, with each kernel: training relies on it for
    /// results that do not depend on how rows are blocked.
    fn gathered_and_blocked_match<K: Kernels>(k: K) {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for n in [1, 3, 7, 8, 9, 16, 17, 33, 64, 100] {
            // a table of 11 rows, of which a "customer" picks 0 to 9 in scattered order
            let table: Vec<f32> = (0..11 * n).map(|i| (i as f32 * 0.173).sin()).collect();
            let v: Vec<f32> = (0..n).map(|i| (i as f32 * 0.29).cos()).collect();
            for picks in [0usize, 1, 3, 4, 5, 8, 9] {
                let idx: Vec<usize> = (0..picks).map(|t| (t * 7 + 3) % 11).collect();
                let row = |t: usize| &table[idx[t] * n..(idx[t] + 1) * n];
                let gathered: Vec<f32> = (0..picks).flat_map(row).copied().collect();
                let (mut plain, mut rows) = (vec![0f32; picks], vec![0f32; picks]);
                k.matvec(&gathered, &v, &mut plain);
                k.matvec_rows(row, picks, &v, &mut rows);
                assert_eq!(bits(&plain), bits(&rows), "matvec_rows n={n} picks={picks}");
                let coefs: Vec<f32> = (0..picks).map(|t| 0.5 - t as f32 * 0.3).collect();
                let (mut plain, mut rows) = (v.clone(), v.clone());
                k.combine_rows(&coefs, &gathered, &mut plain);
                k.combine_rows_with(&coefs, row, picks, &mut rows);
                assert_eq!(
                    bits(&plain),
                    bits(&rows),
                    "combine_rows_with n={n} picks={picks}"
                );
                // fused: coefficients from the dot products, as two separate passes give them
                let coef = |t: usize, d: f32| coefs[t] - 0.7 * d;
                let mut dots = vec![0f32; picks];
                k.matvec_rows(row, picks, &v, &mut dots);
                let c: Vec<f32> = dots.iter().enumerate().map(|(t, &d)| coef(t, d)).collect();
                let out0: Vec<f32> = (0..n).map(|i| (i as f32 * 0.05).cos()).collect();
                let (mut two, mut fused) = (out0.clone(), out0);
                k.combine_rows_with(&c, row, picks, &mut two);
                k.combine_rows_by_dot(row, picks, &v, coef, &mut fused);
                assert_eq!(
                    bits(&two),
                    bits(&fused),
                    "combine_rows_by_dot n={n} picks={picks}"
                );
            }
            // four vectors against an m of 0 to 9 rows of n
            let vs: Vec<f32> = (0..4 * n).map(|i| (i as f32 * 0.41).sin() * 2.0).collect();
            for m_rows in [0usize, 1, 3, 4, 5, 8, 9] {
                let m = &table[..m_rows * n];
                let mut four = vec![f32::NAN; 4 * m_rows];
                k.matvec4(m, &vs, &mut four);
                for (j, o) in four.chunks_exact(m_rows.max(1)).enumerate().take(4) {
                    let mut one = vec![0f32; m_rows];
                    k.matvec(m, &vs[j * n..(j + 1) * n], &mut one);
                    assert_eq!(
                        bits(&one),
                        bits(&o[..m_rows]),
                        "matvec4 n={n} rows={m_rows}"
                    );
                }
            }
        }
        // rows shorter or longer than the vector meet it over their common prefix, as a
        // plain dot product or axpy does, without a panic
        let v: Vec<f32> = (0..20).map(|i| i as f32 * 0.25 - 2.0).collect();
        let table: Vec<Vec<f32>> = [20, 7, 20, 25, 0, 20, 13]
            .iter()
            .map(|&len| (0..len).map(|i| (i as f32 * 0.31).cos()).collect())
            .collect();
        let mut out = vec![0f32; table.len()];
        k.matvec_rows(|t| &table[t], table.len(), &v, &mut out);
        for (o, row) in out.iter().zip(&table) {
            let naive: f32 = row.iter().zip(&v).map(|(a, b)| a * b).sum();
            assert!((o - naive).abs() < 1e-4, "{o} vs {naive}");
        }
        let coefs = [0.5, -1.0, 2.0, 0.25, 3.0, 1.5, -0.75];
        let mut sum = vec![1f32; 20];
        k.combine_rows_with(&coefs, |t| &table[t], table.len(), &mut sum);
        let mut naive = vec![1f32; 20];
        for (c, row) in coefs.iter().zip(&table) {
            for (s, x) in naive.iter_mut().zip(row) {
                *s += c * x;
            }
        }
        for (a, b) in sum.iter().zip(&naive) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
        // no columns: zero products
        let mut out = [f32::NAN; 8];
        k.matvec4(&[], &[], &mut out);
        assert_eq!(out, [0.0; 8]);
        // an output that is not four equal parts: each vector gets `len / 4` entries, and
        // the entries past the four parts are left as they were, on every kernel
        let m: Vec<f32> = (0..3 * 5).map(|i| (i as f32 * 0.13).sin()).collect();
        let vs: Vec<f32> = (0..4 * 5).map(|i| (i as f32 * 0.29).cos()).collect();
        let mut out = [f32::NAN; 4 * 3 + 3];
        k.matvec4(&m, &vs, &mut out);
        for j in 0..4 {
            let mut one = [0f32; 3];
            k.matvec(&m, &vs[j * 5..(j + 1) * 5], &mut one);
            assert_eq!(bits(&one), bits(&out[j * 3..(j + 1) * 3]));
        }
        assert!(out[12..].iter().all(|o| o.is_nan()));
        let mut short = [f32::NAN; 3];
        k.matvec4(&m, &vs, &mut short);
        assert!(short.iter().all(|o| o.is_nan()));
    }

    #[test]
    fn gathered_and_blocked_products_match_plain_ones() {
        gathered_and_blocked_match(Portable);
        match Avx2Fma::detect() {
            Some(k) => {
                gathered_and_blocked_match(k);
                // the AVX2 products also where the CPU would take the AVX-512 ones
                gathered_and_blocked_match(Avx2Fma { avx512: false });
                if !k.avx512 {
                    eprintln!("no AVX-512F here: AVX2 products only");
                }
            }
            None => eprintln!("no AVX2/FMA here: portable kernels only"),
        }
    }

    /// Rank-one updates and downdates of the factor give the solutions of the changed
    /// matrices, as a fresh factorisation of each does; a downdate past positive definiteness
    /// is refused.
    #[test]
    fn updatable_cholesky_follows_rank_one_changes() {
        let n = 12;
        let vec_of = |seed: usize| -> Vec<f32> {
            (0..n)
                .map(|i| (((i * 7 + seed * 13) % 17) as f32 - 8.0) / 6.0)
                .collect()
        };
        // A = I + Σ_k x_k x_kᵀ over five vectors (lower triangle is enough)
        let mut a = vec![0f32; n * n];
        let add = |a: &mut Vec<f32>, x: &[f32], w: f32| {
            for i in 0..n {
                for j in 0..n {
                    a[i * n + j] += w * x[i] * x[j];
                }
            }
        };
        for i in 0..n {
            a[i * n + i] = 1.0;
        }
        for k in 0..5 {
            add(&mut a, &vec_of(k), 1.0);
        }
        let mut c = UpdatableCholesky::new(&a, n).unwrap();
        let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.7).sin()).collect();
        let changes: [(usize, f32); 6] = [
            (9, 2.5),
            (3, -1.0),
            (9, -2.5),
            (11, 0.0),
            (4, 0.75),
            (0, -0.5),
        ];
        for (k, w) in changes {
            assert!(c.rank_one(&vec_of(k), w), "{k} {w}");
            add(&mut a, &vec_of(k), w);
            let (mut got, mut want) = (b.clone(), b.clone());
            assert!(c.solve(&mut got));
            assert!(cholesky_solve(&mut a.clone(), &mut want));
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() < 1e-4 * (1.0 + w.abs()),
                    "{got:?} vs {want:?}"
                );
            }
        }
        // removing more of x_1 than A holds leaves an indefinite matrix: refused
        let mut gone = c.clone();
        assert!(!gone.rank_one(&vec_of(1), -50.0));
        assert!(!c.clone().rank_one(&vec_of(1), f32::NAN));
        assert!(!c.rank_one(&vec_of(1)[..3], 1.0));
        // a right-hand side of the wrong length is refused, untouched
        for len in [0, n - 1, n + 1] {
            let mut short = vec![1.0f32; len];
            assert!(!c.solve(&mut short));
            assert!(short.iter().all(|&v| v == 1.0));
        }
        assert!(UpdatableCholesky::new(&a[..5], n).is_none());
        let mut indefinite = a.clone();
        indefinite[0] = -1.0;
        assert!(UpdatableCholesky::new(&indefinite, n).is_none());
    }

    #[test]
    fn cholesky_solves_spd_system() {
        // A = M Mᵀ + I, b = A · x_true
        let n = 5;
        let m: Vec<f32> = (0..n * n)
            .map(|i| ((i * 7 % 11) as f32) / 11.0 - 0.5)
            .collect();
        let mut a = vec![0f32; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|k| m[i * n + k] * m[j * n + k]).sum::<f32>()
                    + if i == j { 1.0 } else { 0.0 };
            }
        }
        let x_true = [1.0, -2.0, 0.5, 3.0, 0.0];
        let mut b = vec![0f32; n];
        matvec(&a, &x_true, &mut b);
        assert!(cholesky_solve(&mut a, &mut b));
        for (x, t) in b.iter().zip(x_true) {
            assert!((x - t).abs() < 1e-4);
        }
        let mut not_pd = vec![0.0, 1.0, 1.0, 0.0];
        assert!(!cholesky_solve(&mut not_pd, &mut [1.0, 1.0]));
        // a matrix of the wrong size is refused, and nothing is touched
        for len in [1, 3, 5] {
            let mut a = vec![4.0; len];
            let mut b = [1.0, 1.0];
            assert!(!cholesky_solve(&mut a, &mut b), "{len} values for 2 × 2");
            assert_eq!((a, b), (vec![4.0; len], [1.0, 1.0]));
        }
        assert!(!cholesky(&mut [1.0, 0.0, 0.0], 2));
        let l = [2.0, 0.0, 1.0, 1.0];
        let mut b = [1.0, 2.0, 3.0];
        assert!(!forward_solve(&l, &mut b) && !backward_solve(&l, &mut b));
        assert_eq!(b, [1.0, 2.0, 3.0]);
        let mut b = [2.0, 3.0];
        assert!(forward_solve(&l, &mut b) && backward_solve(&l, &mut b));
        // L = [[2, 0], [1, 1]]: L Lᵀ = [[4, 2], [2, 2]], and [[4, 2], [2, 2]]·[−0.5, 2] = [2, 3]
        assert_eq!(b, [-0.5, 2.0]);
    }
}
