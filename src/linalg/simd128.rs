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

use super::{Kernels, LANES, Portable, shape4};
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

/// `[s · f₀, s · f₁, s · f₂, s · f₃]`, every slice `s.len()` long: one load of `s` feeds the
/// four products. Two sets of four sums (even and odd steps of four columns) keep eight
/// independent addition chains busy, and each product is reduced and finished as
/// [`Kernels::dot`] does it, so each has `dot`'s bits.
#[inline(always)]
fn dots4(s: &[f32], f: [&[f32]; 4]) -> [f32; 4] {
    let n = s.len();
    let f = f.map(|x| &x[..n]);
    let body = n - n % W;
    let ps = s.as_ptr();
    let mut acc = [[f32x4_splat(0.0); 4]; 2];
    let mut i = 0;
    // SAFETY: every load reads four floats at offsets i..i+4 ≤ body ≤ n, inside `s` and inside
    // each of the four slices, cut to n floats above.
    unsafe {
        while i + 2 * W <= body {
            for (h, acc) in acc.iter_mut().enumerate() {
                let o = i + h * W;
                let x = load(ps.add(o));
                for (a, y) in acc.iter_mut().zip(&f) {
                    *a = f32x4_add(*a, f32x4_mul(load(y.as_ptr().add(o)), x));
                }
            }
            i += 2 * W;
        }
        if i < body {
            let x = load(ps.add(i));
            for (a, y) in acc[0].iter_mut().zip(&f) {
                *a = f32x4_add(*a, f32x4_mul(load(y.as_ptr().add(i)), x));
            }
        }
    }
    let [a, b] = acc;
    let h = hsum4(
        f32x4_add(a[0], b[0]),
        f32x4_add(a[1], b[1]),
        f32x4_add(a[2], b[2]),
        f32x4_add(a[3], b[3]),
    );
    let mut sums = [
        f32x4_extract_lane::<0>(h),
        f32x4_extract_lane::<1>(h),
        f32x4_extract_lane::<2>(h),
        f32x4_extract_lane::<3>(h),
    ];
    for (sum, y) in sums.iter_mut().zip(&f) {
        for j in body..n {
            *sum += y[j] * s[j];
        }
    }
    sums
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
            out[r..r + 4].copy_from_slice(&dots4(v, base));
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
        let Some((v, stride, rows)) = shape4(m, vs, out) else {
            return;
        };
        let n = v[0].len();
        for (r, row) in m.chunks_exact(n).take(rows).enumerate() {
            for (k, sum) in dots4(row, v).into_iter().enumerate() {
                out[k * stride + r] = sum;
            }
        }
    }
}
