//! Small dense kernels for factor vectors: dot products, axpy, Gram matrices and a Cholesky solve.
//!
//! Written with eight independent accumulators so the compiler can keep them in one SIMD
//! register without reassociating floating-point sums (results are identical on every run).

use ndarray::{Array2, ArrayView2};

const LANES: usize = 8;

/// Dot product of two equally long slices.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
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

/// `y += a · x`.
#[inline]
pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// `out = m · v` for a row-major `n × n` matrix `m`.
#[inline]
pub fn matvec(m: &[f32], v: &[f32], out: &mut [f32]) {
    let n = v.len();
    for (o, row) in out.iter_mut().zip(m.chunks_exact(n)) {
        *o = dot(row, v);
    }
}

/// `Xᵀ X` for a row-major `rows × f` matrix (the Gram matrix ALS reuses for every solve).
pub fn gram(x: ArrayView2<'_, f32>) -> Array2<f32> {
    x.t().dot(&x)
}

/// Solves `a · x = b` in place for a symmetric positive-definite row-major `n × n` matrix.
///
/// `a` is overwritten by its Cholesky factor, `b` by the solution. Returns `false` (leaving
/// garbage) when `a` is not positive definite. Only the lower triangle of `a` is read.
pub fn cholesky_solve(a: &mut [f32], b: &mut [f32]) -> bool {
    if !cholesky(a, b.len()) {
        return false;
    }
    forward_solve(a, b);
    let n = b.len();
    // backward: Lᵀ x = y
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[k * n + i] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    true
}

/// In-place Cholesky factorisation `a = L Lᵀ` of the lower triangle of a row-major `n × n`
/// matrix; `false` when it is not positive definite.
pub fn cholesky(a: &mut [f32], n: usize) -> bool {
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
            row_i[j] = (row_i[j] - dot(&row_i[..j], &row_j[..j])) / d;
        }
    }
    true
}

/// Solves `L y = b` in place for the lower-triangular factor left by [`cholesky`].
pub fn forward_solve(l: &[f32], b: &mut [f32]) {
    let n = b.len();
    for i in 0..n {
        let row = &l[i * n..i * n + n];
        let s = b[i] - dot(&row[..i], &b[..i]);
        b[i] = s / row[i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
