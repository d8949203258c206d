//! The customer × product matrix of implicit feedback, stored as CSR rows.
//!
//! Rows are customers, columns products; a value is a non-negative weight such as the number of
//! orders that contained the product. Training reads it by row and, transposed, by column.

use crate::error::{Error, Result, check_weight, filled};
use serde::{Deserialize, Serialize};

/// One observation: `user` interacted with `item` with strength `weight`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Triple {
    /// Row (customer) index.
    pub user: u32,
    /// Column (product) index.
    pub item: u32,
    /// Strength of the interaction (finite, ≥ 0).
    pub weight: f32,
}

/// A sparse matrix in compressed sparse row form; column indices sorted within each row.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Interactions {
    rows: usize,
    cols: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl Interactions {
    /// Builds the matrix from triples. Repeated (user, item) pairs are summed; zero weights are
    /// dropped (they carry no evidence). Errors on NaN, infinite or negative weights (summed
    /// ones included), on
    /// indices outside `rows × cols`, on `rows` or `cols` beyond what a `u32` index reaches, and on
    /// a `rows` whose offsets do not fit in memory.
    ///
    /// ```
    /// use rapport::interactions::{Interactions, Triple};
    /// let m = Interactions::from_triples(2, 3, &[
    ///     Triple { user: 0, item: 2, weight: 1.0 },
    ///     Triple { user: 0, item: 2, weight: 2.0 },
    ///     Triple { user: 1, item: 0, weight: 1.0 },
    /// ]).unwrap();
    /// assert_eq!(m.row(0), (&[2u32][..], &[3.0f32][..]));
    /// assert_eq!(m.nnz(), 2);
    /// ```
    pub fn from_triples(rows: usize, cols: usize, triples: &[Triple]) -> Result<Self> {
        // u32 indices reach 2³² rows and columns (and `rows + 1` must fit a 32-bit usize)
        let fits = |n: usize| n as u64 <= 1 << 32 && n < usize::MAX;
        if !(fits(rows) && fits(cols)) {
            return Err(Error::InvalidArgument(format!(
                "a {rows} × {cols} matrix: indices are u32, so at most 2^32 rows and columns"
            )));
        }
        let mut counts = filled(rows + 1, 0usize, "row offsets")?;
        for t in triples {
            check_weight("weight", t.weight as f64)?;
            if t.user as usize >= rows || t.item as usize >= cols {
                return Err(Error::InvalidArgument(format!(
                    "triple ({}, {}) outside a {rows} × {cols} matrix",
                    t.user, t.item
                )));
            }
            counts[t.user as usize + 1] += 1;
        }
        for i in 0..rows {
            counts[i + 1] += counts[i];
        }
        let mut fill = counts.clone();
        let mut cells = vec![(0u32, 0f32); triples.len()];
        for t in triples {
            let slot = &mut fill[t.user as usize];
            cells[*slot] = (t.item, t.weight);
            *slot += 1;
        }
        let mut indptr = Vec::with_capacity(rows + 1);
        let mut indices = Vec::with_capacity(triples.len());
        let mut values = Vec::with_capacity(triples.len());
        indptr.push(0);
        for r in 0..rows {
            let row = &mut cells[counts[r]..counts[r + 1]];
            row.sort_unstable_by_key(|c| c.0);
            let mut k = 0;
            while k < row.len() {
                let (item, mut w) = row[k];
                k += 1;
                while k < row.len() && row[k].0 == item {
                    w += row[k].1;
                    k += 1;
                }
                // repeated pairs can sum past f32's range
                check_weight("summed weight", w as f64)?;
                if w > 0.0 {
                    indices.push(item);
                    values.push(w);
                }
            }
            indptr.push(indices.len());
        }
        Ok(Interactions {
            rows,
            cols,
            indptr,
            indices,
            values,
        })
    }

    /// The transpose (products × customers).
    pub fn transpose(&self) -> Interactions {
        let mut counts = vec![0usize; self.cols + 1];
        for &c in &self.indices {
            counts[c as usize + 1] += 1;
        }
        for i in 0..self.cols {
            counts[i + 1] += counts[i];
        }
        let mut fill = counts.clone();
        let mut indices = vec![0u32; self.indices.len()];
        let mut values = vec![0f32; self.values.len()];
        for r in 0..self.rows {
            let (cols, vals) = self.row(r);
            for (&c, &v) in cols.iter().zip(vals) {
                let slot = &mut fill[c as usize];
                indices[*slot] = r as u32;
                values[*slot] = v;
                *slot += 1;
            }
        }
        Interactions {
            rows: self.cols,
            cols: self.rows,
            indptr: counts,
            indices,
            values,
        }
    }

    /// Checks the structure of a matrix that was read back from bytes: row offsets that
    /// rise to the number of entries, column indices in range, finite weights.
    pub(crate) fn check(&self) -> Result<()> {
        let ok = self.indptr.len() == self.rows + 1
            && self.indptr.first() == Some(&0)
            && self.indptr.windows(2).all(|w| w[0] <= w[1])
            && self.indptr.last() == Some(&self.indices.len())
            && self.values.len() == self.indices.len()
            && self.indices.iter().all(|&c| (c as usize) < self.cols)
            && self.values.iter().all(|v| v.is_finite());
        if ok {
            Ok(())
        } else {
            Err(Error::Corrupted(format!(
                "the {} × {} interaction matrix is inconsistent",
                self.rows, self.cols
            )))
        }
    }

    /// Column indices and values of row `r` (empty for rows out of range).
    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        if r >= self.rows {
            return (&[], &[]);
        }
        let (a, b) = (self.indptr[r], self.indptr[r + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }

    /// Weight at (r, c), 0 when absent.
    pub fn get(&self, r: usize, c: u32) -> f32 {
        let (cols, vals) = self.row(r);
        cols.binary_search(&c).map(|k| vals[k]).unwrap_or(0.0)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Number of stored (non-zero) entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// The same matrix with every stored value mapped through `f`.
    pub fn map_values(&self, f: impl Fn(f32) -> f32) -> Interactions {
        Interactions {
            values: self.values.iter().map(|&v| f(v)).collect(),
            ..self.clone()
        }
    }

    /// Number of non-zero entries per column.
    pub fn column_counts(&self) -> Vec<u32> {
        let mut n = vec![0u32; self.cols];
        for &c in &self.indices {
            n[c as usize] += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(user: u32, item: u32, weight: f32) -> Triple {
        Triple { user, item, weight }
    }

    #[test]
    fn builds_sums_and_transposes() {
        let m = Interactions::from_triples(
            3,
            4,
            &[
                t(2, 1, 1.0),
                t(0, 3, 2.0),
                t(0, 1, 1.0),
                t(2, 1, 4.0),
                t(1, 0, 0.0),
            ],
        )
        .unwrap();
        assert_eq!(m.row(0), (&[1u32, 3][..], &[1.0f32, 2.0][..]));
        assert_eq!(m.row(1).0.len(), 0, "zero weight dropped");
        assert_eq!(m.get(2, 1), 5.0);
        assert_eq!(m.nnz(), 3);
        let tr = m.transpose();
        assert_eq!((tr.rows(), tr.cols()), (4, 3));
        assert_eq!(tr.row(1), (&[0u32, 2][..], &[1.0f32, 5.0][..]));
        assert_eq!(tr.transpose(), m);
        assert_eq!(m.column_counts(), vec![0, 2, 0, 1]);
    }

    #[test]
    fn rejects_shapes_beyond_u32_indices() {
        for (rows, cols) in [(usize::MAX, 1), (1, usize::MAX)] {
            assert!(matches!(
                Interactions::from_triples(rows, cols, &[]),
                Err(Error::InvalidArgument(_))
            ));
        }
        #[cfg(target_pointer_width = "64")]
        assert!(matches!(
            Interactions::from_triples((1 << 32) + 1, 1, &[]),
            Err(Error::InvalidArgument(_))
        ));
        let m = Interactions::from_triples(3, 1 << 20, &[t(2, (1 << 20) - 1, 1.0)]).unwrap();
        assert_eq!((m.rows(), m.cols(), m.nnz()), (3, 1 << 20, 1));
    }

    #[test]
    fn rejects_bad_weights_and_indices() {
        for w in [f32::NAN, f32::INFINITY, -1.0] {
            assert!(matches!(
                Interactions::from_triples(1, 1, &[t(0, 0, w)]),
                Err(Error::InvalidWeight { .. })
            ));
        }
        assert!(matches!(
            Interactions::from_triples(1, 1, &[t(0, 1, 1.0)]),
            Err(Error::InvalidArgument(_))
        ));
        let empty = Interactions::from_triples(0, 0, &[]).unwrap();
        assert_eq!(empty.nnz(), 0);
        assert_eq!(empty.row(5).0.len(), 0);
    }
}
