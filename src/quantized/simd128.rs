//! The [`Portable`] group kernel for WebAssembly built with the `simd128` target feature (fixed
//! at build time, as in `linalg/simd128.rs`).
//!
//! Per pair of dimensions, the sixteen codes of the group's eight products are loaded in two
//! halves widened to 16 bits (`i16x8.load8x8_s`, one instruction each) and `i32x4.dot_i16x8_s`
//! multiplies each half by the query's pair and adds the two products: the AVX2 kernel's
//! `vpmaddwd`, four lanes at a time.

use super::{GROUP, GroupKernel, PAIR_BYTES, Query, Rows};
use crate::linalg::Portable;
use core::arch::wasm32::*;

/// Lanes per `v128` of `i32` or `f32`.
const W: usize = 4;

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
        // Lanes 0–3 and 4–7, for even and odd pairs (two pairs per step).
        let mut acc = [[i32x4_splat(0); 2]; 2];
        let pairs = q.pairs.len().min(codes.len() / PAIR_BYTES);
        let (pc, pq) = (codes.as_ptr(), q.pairs.as_ptr());
        let mut j = 0;
        // SAFETY: pair j < pairs reads codes[j·16 .. j·16+16] in two loads of eight bytes
        // (inside `codes`, which holds `pairs` pairs; loads need no alignment) and q.pairs[j]
        // (j < q.pairs.len()).
        unsafe {
            let step = |acc: &mut [v128; 2], j: usize| {
                let c = pc.add(j * PAIR_BYTES);
                let p = v128_load32_splat(pq.add(j) as *const u32);
                let (lo, hi) = (i16x8_load_extend_i8x8(c), i16x8_load_extend_i8x8(c.add(8)));
                acc[0] = i32x4_add(acc[0], i32x4_dot_i16x8(lo, p));
                acc[1] = i32x4_add(acc[1], i32x4_dot_i16x8(hi, p));
            };
            while j + 2 <= pairs {
                step(&mut acc[0], j);
                step(&mut acc[1], j + 1);
                j += 2;
            }
            if j < pairs {
                step(&mut acc[0], j);
            }
        }
        let acc = [
            i32x4_add(acc[0][0], acc[1][0]),
            i32x4_add(acc[0][1], acc[1][1]),
        ];
        let (scale, per_error, per_scale) = (
            f32x4_splat(q.scale),
            f32x4_splat(q.per_error),
            f32x4_splat(q.per_scale),
        );
        let mut mask = 0;
        for (h, &a) in acc.iter().enumerate() {
            let lanes = h * W..(h + 1) * W;
            let (Some(s), Some(e)) = (rows.scales.get(lanes.clone()), rows.errors.get(lanes))
            else {
                continue;
            };
            // SAFETY: `s` and `e` hold four floats each; `dots` holds 8 integers, h·4 + 4 ≤ 8.
            let (s, e) = unsafe {
                v128_store(dots.as_mut_ptr().add(h * W) as *mut v128, a);
                (
                    v128_load(s.as_ptr() as *const v128),
                    v128_load(e.as_ptr() as *const v128),
                )
            };
            // As `Rows::bounds`, which adds `e·per_error` with a fused multiply-add; WebAssembly
            // SIMD rounds the product first, so the margin is widened by 2⁻²⁰ of itself to keep
            // every lane the exact check would keep (a superset is fine: `offer` checks again).
            let approx = f32x4_mul(f32x4_convert_i32x4(a), f32x4_mul(s, scale));
            let margin = f32x4_add(f32x4_mul(e, per_error), f32x4_mul(s, per_scale));
            let margin = f32x4_mul(margin, f32x4_splat(1.0 + 1.0 / 1_048_576.0));
            let hit = f32x4_ge(f32x4_add(approx, margin), f32x4_splat(threshold));
            mask |= (i32x4_bitmask(hit) as u32) << (h * W);
        }
        mask
    }
}
