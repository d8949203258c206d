//! [`Portable`] kernels for WebAssembly built with the `simd128` target feature, written with
//! `core::arch::wasm32` intrinsics.
//!
//! A WebAssembly module's features are fixed when it is built (an engine without SIMD refuses
//! to load a module that uses it), so no run-time detection is needed: compiled with
//! `-C target-feature=+simd128`, [`Portable`] is this implementation; without it, the generic
//! one in the parent module. WebAssembly SIMD has no fused multiply-add, so every product is
//! rounded before it is added, as in the generic kernels.
//!
//! The matrix–vector product scores four rows per pass: one load of the vector feeds four
//! rows, and the four sums are reduced together, as the AVX2 kernel does. The four-vector
//! product turns that around: one load of a row feeds four vectors.

use super::{Kernels, LANES, Portable};
use core::arch::wasm32::*;

/// Floats per `v128`.
const W: usize = 4;

/// Loads four floats.
///
/// # Safety
/// `p` is valid for reading four `f32` (no alignment needed: WebAssembly loads are unaligned).
#[inline(always)]
unsafe fn load(p: *const f32) -> v128 {
    // SAFETY: forwarded contract; `v128_load` reads 16 bytes at any alignment.
    unsafe { v128_load(p as *const v128) }
}

/// Sum of the four lanes.
#[inline(always)]
fn hsum(v: v128) -> f32 {
    let s = f32x4_add(v, i32x4_shuffle::<2, 3, 0, 1>(v, v));
    let s = f32x4_add(s, i32x4_shuffle::<1, 0, 3, 2>(s, s));
    f32x4_extract_lane::<0>(s)
}

/// `[Σa, Σb, Σc, Σd]`: the lane sums of four vectors in one vector.
#[inline(always)]
fn hsum4(a: v128, b: v128, c: v128, d: v128) -> v128 {
    // [a0+a2, b0+b2, a1+a3, b1+b3] and the same for c, d
    let ab = f32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(a, b),
        i32x4_shuffle::<2, 6, 3, 7>(a, b),
    );
    let cd = f32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(c, d),
        i32x4_shuffle::<2, 6, 3, 7>(c, d),
    );
    f32x4_add(i64x2_shuffle::<0, 2>(ab, cd), i64x2_shuffle::<1, 3>(ab, cd))
}

impl Kernels for Portable {
    /// Two chains of four lanes: the generic kernel's eight independent sums.
    #[inline(always)]
    fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [f32x4_splat(0.0); 2];
        let mut i = 0;
        // SAFETY: every load reads four floats at offsets i..i+4 ≤ n, inside both slices.
        unsafe {
            while i + LANES <= n {
                for (h, a_h) in acc.iter_mut().enumerate() {
                    let o = i + h * W;
                    *a_h = f32x4_add(*a_h, f32x4_mul(load(pa.add(o)), load(pb.add(o))));
                }
                i += LANES;
            }
            if i + W <= n {
                acc[0] = f32x4_add(acc[0], f32x4_mul(load(pa.add(i)), load(pb.add(i))));
                i += W;
            }
        }
        let mut s = hsum(f32x4_add(acc[0], acc[1]));
        while i < n {
            s += a[i] * b[i];
            i += 1;
        }
        s
    }

    #[inline(always)]
    fn axpy(self, alpha: f32, x: &[f32], y: &mut [f32]) {
        let n = x.len().min(y.len());
        let (px, py) = (x.as_ptr(), y.as_mut_ptr());
        let va = f32x4_splat(alpha);
        let mut i = 0;
        // SAFETY: every access touches four floats at offsets i..i+4 ≤ n, inside both slices;
        // `x` and `y` cannot overlap (shared and exclusive borrows).
        unsafe {
            while i + W <= n {
                let r = f32x4_add(load(py.add(i)), f32x4_mul(va, load(px.add(i))));
                v128_store(py.add(i) as *mut v128, r);
                i += W;
            }
        }
        while i < n {
            y[i] += alpha * x[i];
            i += 1;
        }
    }

    /// One dot product per row of `m` (row length `v.len()`), through `matvec_rows`.
    #[inline(always)]
    fn matvec(self, m: &[f32], v: &[f32], out: &mut [f32]) {
        let n = v.len();
        if n == 0 {
            out.iter_mut().for_each(|o| *o = 0.0);
            return;
        }
        let rows = out.len().min(m.len() / n);
        self.matvec_rows(|r| &m[r * n..(r + 1) * n], rows, v, out)
    }

    /// `out[r] = row(r) · v` (a shorter row over its common prefix with `v`), four rows per
    /// pass.
    #[inline(always)]
    fn matvec_rows<'a>(
        self,
        row: impl Fn(usize) -> &'a [f32],
        rows: usize,
        v: &[f32],
        out: &mut [f32],
    ) {
        let n = v.len();
        let rows = rows.min(out.len());
        let body = n - n % W;
        let pv = v.as_ptr();
        let mut r = 0;
        while r + 4 <= rows {
            let base = [row(r), row(r + 1), row(r + 2), row(r + 3)];
            if base.iter().any(|b| b.len() < n) {
                // a row shorter than the vector: the common prefix, as one at a time
                for (k, b) in base.iter().enumerate() {
                    out[r + k] = self.dot(b, v);
                }
                r += 4;
                continue;
            }
            let base = base.map(|b| &b[..n]);
            // Two sets of four sums (even and odd steps of four columns): eight independent
            // addition chains keep the adder busy.
            let mut acc = [[f32x4_splat(0.0); 4]; 2];
            let mut i = 0;
            // SAFETY: every load reads four floats at offsets i..i+4 ≤ body ≤ n, inside `v`
            // and inside each of the four rows, which hold n floats.
            unsafe {
                while i + 2 * W <= body {
                    for (h, acc) in acc.iter_mut().enumerate() {
                        let o = i + h * W;
                        let x = load(pv.add(o));
                        for (a, b) in acc.iter_mut().zip(&base) {
                            *a = f32x4_add(*a, f32x4_mul(load(b.as_ptr().add(o)), x));
                        }
                    }
                    i += 2 * W;
                }
                if i < body {
                    let x = load(pv.add(i));
                    for (a, b) in acc[0].iter_mut().zip(&base) {
                        *a = f32x4_add(*a, f32x4_mul(load(b.as_ptr().add(i)), x));
                    }
                }
            }
            let [a, b] = acc;
            let s = hsum4(
                f32x4_add(a[0], b[0]),
                f32x4_add(a[1], b[1]),
                f32x4_add(a[2], b[2]),
                f32x4_add(a[3], b[3]),
            );
            let mut sums = [
                f32x4_extract_lane::<0>(s),
                f32x4_extract_lane::<1>(s),
                f32x4_extract_lane::<2>(s),
                f32x4_extract_lane::<3>(s),
            ];
            for (sum, b) in sums.iter_mut().zip(&base) {
                for j in body..n {
                    *sum += b[j] * v[j];
                }
            }
            out[r..r + 4].copy_from_slice(&sums);
            r += 4;
        }
        while r < rows {
            out[r] = self.dot(row(r), v);
            r += 1;
        }
    }

    /// Each row of `m` meets the four vectors in one pass, so `m` is read once instead of four
    /// times. Every (row, vector) sum keeps [`Kernels::dot`]'s two chains and reduction, so each
    /// product has `matvec`'s bits.
    #[inline(always)]
    fn matvec4(self, m: &[f32], vs: &[f32], out: &mut [f32]) {
        let (n, stride) = (vs.len() / 4, out.len() / 4);
        if n == 0 {
            out.iter_mut().for_each(|o| *o = 0.0);
            return;
        }
        let rows = stride.min(m.len() / n);
        let body = n - n % W;
        let v = [
            &vs[..n],
            &vs[n..2 * n],
            &vs[2 * n..3 * n],
            &vs[3 * n..4 * n],
        ];
        for (r, row) in m.chunks_exact(n).take(rows).enumerate() {
            let py = row.as_ptr();
            let mut acc = [[f32x4_splat(0.0); 4]; 2];
            let mut i = 0;
            // SAFETY: every load reads four floats at offsets i..i+4 ≤ body ≤ n, inside `row`
            // and inside each of the four vectors, all n floats long.
            unsafe {
                while i + 2 * W <= body {
                    for (h, acc) in acc.iter_mut().enumerate() {
                        let o = i + h * W;
                        let y = load(py.add(o));
                        for (a, x) in acc.iter_mut().zip(&v) {
                            *a = f32x4_add(*a, f32x4_mul(y, load(x.as_ptr().add(o))));
                        }
                    }
                    i += 2 * W;
                }
                if i < body {
                    let y = load(py.add(i));
                    for (a, x) in acc[0].iter_mut().zip(&v) {
                        *a = f32x4_add(*a, f32x4_mul(y, load(x.as_ptr().add(i))));
                    }
                }
            }
            let [a, b] = acc;
            let s = hsum4(
                f32x4_add(a[0], b[0]),
                f32x4_add(a[1], b[1]),
                f32x4_add(a[2], b[2]),
                f32x4_add(a[3], b[3]),
            );
            let sums = [
                f32x4_extract_lane::<0>(s),
                f32x4_extract_lane::<1>(s),
                f32x4_extract_lane::<2>(s),
                f32x4_extract_lane::<3>(s),
            ];
            for (k, (mut sum, x)) in sums.into_iter().zip(&v).enumerate() {
                for j in body..n {
                    sum += row[j] * x[j];
                }
                out[k * stride + r] = sum;
            }
        }
    }
}
