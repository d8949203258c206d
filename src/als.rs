//! Implicit-feedback matrix factorization: alternating least squares with conjugate-gradient
//! solves (Hu, Koren & Volinsky 2008; Takács, Pilászy & Tikk 2011), frequency-scaled
//! regularization (Rendle et al. 2021), and fold-in of new rows against fixed item factors.
//!
//! Each customer row `u` minimises
//! `Σ_i c_ui (p_ui − x_u·y_i)² + λ_u ‖x_u‖²`, with `p_ui = 1` where the customer bought `i`,
//! `c_ui = 1 + α·w_ui` there (or `1 + α·ln(1 + w_ui/ε)` with log scaling) and `c_ui = 1`
//! elsewhere. The unobserved part is the precomputed Gram matrix `YᵀY`, so a solve only touches
//! the customer's own purchases. Products are solved the same way against the customer factors.
//! Trained factors end on the principal axes of the product factors, where `YᵀY` is diagonal
//! and fold-in is cheap (see [`Factors::fold_in`]).

use crate::error::{Error, Result, filled};
use crate::interactions::Interactions;
use crate::linalg::{
    Avx2Fma, Kernels, Portable, Woodbury, backward_solve, dot, forward_solve, gram,
};
use crate::quantized::QuantizedItems;
use crate::topk::{Bitset, Scored, top_k};
use ndarray::Array2;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use std::time::Duration;

/// How interaction weights become confidences.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Confidence {
    /// `c = 1 + α·w`.
    Linear,
    /// `c = 1 + α·ln(1 + w/ε)`: damps heavy repeat buyers.
    Log {
        /// Scale `ε` of the weights (> 0).
        epsilon: f32,
    },
}

/// Hyper-parameters of ALS training. `Default` holds the validated defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlsConfig {
    /// Length of each factor vector (1 to 4096).
    pub factors: usize,
    /// Full sweeps over customers and products (≥ 1: without one the model is its random
    /// start).
    pub iterations: usize,
    /// Regularization strength `λ` (finite, ≥ 0).
    pub regularization: f32,
    /// Frequency scaling exponent `ν`: row `u` is regularized by `λ·n_u^ν`, where `n_u` is its
    /// number of interactions. `0` gives the classic constant `λ`.
    pub frequency_scaling: f32,
    /// The same exponent for product columns (`λ·n_i^ν`, `n_i` = the product's buyers).
    pub item_frequency_scaling: f32,
    /// Confidence slope `α` (finite, ≥ 0).
    pub alpha: f32,
    /// Weight-to-confidence mapping.
    pub confidence: Confidence,
    /// Conjugate-gradient steps per row and half-sweep (≥ 1).
    pub cg_steps: usize,
    /// Seed of the random initial factors.
    pub seed: u64,
    /// Worker threads; `0` uses every core. Ignored without the `parallel` feature.
    /// The model is the same for any thread count.
    pub threads: usize,
}

impl Default for AlsConfig {
    /// Chosen by validation (`tools/tune_defaults.py --folds`: mean ndcg@10 over five
    /// rolling-origin folds of Online Retail and five reseeded folds of MovieLens, all carved
    /// from the training data; never on the test splits). 256 factors beat 128 on every fold;
    /// two CG steps per sweep keep training near the old 128-factor cost without losing
    /// accuracy, and from [`train`]'s ±1/√f start 10 sweeps do as well as 12.
    fn default() -> Self {
        AlsConfig {
            factors: 256,
            iterations: 10,
            regularization: 5.0,
            frequency_scaling: 0.25,
            item_frequency_scaling: 0.5,
            alpha: 3.0,
            confidence: Confidence::Log { epsilon: 1.0 },
            cg_steps: 2,
            seed: 42,
            threads: 0,
        }
    }
}

impl AlsConfig {
    /// Checks every field against its documented range.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidConfig(m));
        if self.factors == 0 {
            return bad("factors must be at least 1".into());
        }
        if self.iterations == 0 {
            return bad("iterations must be at least 1".into());
        }
        if self.factors > 4096 {
            return bad(format!("factors = {} is more than 4096", self.factors));
        }
        if !(self.regularization.is_finite() && self.regularization >= 0.0) {
            return bad(format!(
                "regularization = {} must be finite and ≥ 0",
                self.regularization
            ));
        }
        if !(self.item_frequency_scaling.is_finite() && self.item_frequency_scaling >= 0.0) {
            return bad(format!(
                "item_frequency_scaling = {} must be finite and ≥ 0",
                self.item_frequency_scaling
            ));
        }
        if !(self.frequency_scaling.is_finite() && self.frequency_scaling >= 0.0) {
            return bad(format!(
                "frequency_scaling = {} must be finite and ≥ 0",
                self.frequency_scaling
            ));
        }
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return bad(format!("alpha = {} must be finite and ≥ 0", self.alpha));
        }
        if let Confidence::Log { epsilon } = self.confidence
            && !(epsilon.is_finite() && epsilon > 0.0)
        {
            return bad(format!(
                "log confidence epsilon = {epsilon} must be finite and > 0"
            ));
        }
        if self.cg_steps == 0 {
            return bad("cg_steps must be at least 1".into());
        }
        Ok(())
    }

    /// Confidence for a weight.
    #[inline]
    pub fn confidence(&self, weight: f32) -> f32 {
        match self.confidence {
            Confidence::Linear => 1.0 + self.alpha * weight,
            Confidence::Log { epsilon } => 1.0 + self.alpha * (weight / epsilon).ln_1p(),
        }
    }

    /// Regularization for a row with `n` interactions.
    #[inline]
    pub fn row_regularization(&self, n: usize) -> f32 {
        scaled(self.regularization, n, self.frequency_scaling)
    }

    /// Regularization for a product column with `n` interactions.
    #[inline]
    pub fn column_regularization(&self, n: usize) -> f32 {
        scaled(self.regularization, n, self.item_frequency_scaling)
    }
}

#[inline]
fn scaled(lambda: f32, n: usize, nu: f32) -> f32 {
    if nu == 0.0 {
        lambda
    } else {
        lambda * (n.max(1) as f32).powf(nu)
    }
}

/// What the training callback sees after each iteration.
#[derive(Clone, Debug)]
pub struct Progress {
    /// 1-based iteration just finished.
    pub iteration: usize,
    /// Of how many.
    pub iterations: usize,
    /// Weighted squared loss plus regularization, divided by the number of interactions.
    pub loss: f64,
    /// Wall time of this iteration (excluding the loss computation).
    pub elapsed: Duration,
}

/// Catalog size from which [`Factors::top_k_items`] scans the int8 copy of the product table.
pub const QUANTIZED_SCAN_MIN_ITEMS: usize = 2048;

/// Trained factors: one vector per customer row and per product column.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Factors {
    config: AlsConfig,
    users: Array2<f32>,
    items: Array2<f32>,
    /// `YᵀY` of the item factors, kept for fold-in.
    item_gram: Array2<f32>,
    /// The int8 copy of `items` for the top-k scan, built on first use (never saved).
    #[serde(skip)]
    item_table: OnceLock<Option<QuantizedItems>>,
    /// The diagonal of `item_gram` when it is diagonal (factors on their principal axes, as
    /// training leaves them), found on first use: fold-in then takes the Woodbury route.
    #[serde(skip)]
    gram_diagonal: OnceLock<Option<Vec<f32>>>,
    /// [`Factors::fingerprint`], found on first use (the product factors never change).
    #[serde(skip)]
    fingerprint: OnceLock<u64>,
}

/// Trains factors on `matrix` (customers × products).
///
/// Errors: [`Error::InvalidConfig`] for settings out of range ([`AlsConfig::validate`]) or threads
/// that cannot start, [`Error::Empty`] for a matrix without interactions, and
/// [`Error::InvalidArgument`] when the factor matrices of its shape do not fit in memory.
///
/// ```
/// use rapport::als::{train, AlsConfig};
/// use rapport::interactions::{Interactions, Triple};
/// let m = Interactions::from_triples(2, 2, &[Triple { user: 0, item: 1, weight: 1.0 }]).unwrap();
/// let f = train(&m, &AlsConfig { factors: 4, iterations: 3, ..Default::default() }).unwrap();
/// assert_eq!(f.user(0).len(), 4);
/// ```
pub fn train(matrix: &Interactions, config: &AlsConfig) -> Result<Factors> {
    train_with(matrix, config, None)
}

/// Trains like [`train`], calling `progress` after each iteration with the loss.
pub fn train_with(
    matrix: &Interactions,
    config: &AlsConfig,
    mut progress: Option<&mut dyn FnMut(&Progress)>,
) -> Result<Factors> {
    config.validate()?;
    if matrix.rows() == 0 || matrix.cols() == 0 || matrix.nnz() == 0 {
        return Err(Error::Empty("no interactions to train on".into()));
    }
    let f = config.factors;
    let mut rng = SmallRng::seed_from_u64(config.seed);
    // uniform on ±1/√f: vectors of norm about 0.58 from the start. A start ten times smaller
    // spends the first sweeps growing the factors: it needed 12 sweeps to do what this one does
    // in 10, and still scored lower on the MovieLens validation folds (see tools/TUNING.md).
    let scale = 1.0 / (f as f32).sqrt();
    // row-major, one draw per element in order: the same start as `Array2::from_shape_fn`, but a
    // shape too big for memory is an error, not an abort
    let mut init = |n: usize, what: &str| -> Result<Array2<f32>> {
        let len = n
            .checked_mul(f)
            .ok_or_else(|| Error::InvalidArgument(format!("{what}: {n} × {f} factors overflow")))?;
        let mut v = filled(len, 0f32, what)?;
        v.iter_mut()
            .for_each(|x| *x = rng.random_range(-scale..scale));
        Array2::from_shape_vec((n, f), v)
            .map_err(|e| Error::InvalidArgument(format!("{what}: {e}")))
    };
    let mut users = init(matrix.rows(), "customer factors")?;
    let mut items = init(matrix.cols(), "product factors")?;
    // confidences once, not in every conjugate-gradient step
    let by_user = matrix.map_values(|w| config.confidence(w));
    let by_item = by_user.transpose();
    let pool = Pool::new(config.threads)?;
    // Each half-sweep needs the other side's Gram matrix, and the loss needs both: the
    // products' one is made after their half-sweep, for the loss and the next sweep alike.
    let mut item_gram = pool.run(|| gram(items.view()));
    for it in 0..config.iterations {
        let start = Clock::start();
        let wanted = it + 1 < config.iterations || progress.is_some();
        let user_gram = pool.run(|| {
            solve_rows(&mut users, &items, &item_gram, &by_user, config, |n| {
                config.row_regularization(n)
            });
            let g = gram(users.view());
            solve_rows(&mut items, &users, &g, &by_item, config, |n| {
                config.column_regularization(n)
            });
            if wanted {
                item_gram = gram(items.view());
            }
            g
        });
        let elapsed = start.elapsed();
        if let Some(cb) = progress.as_deref_mut() {
            let loss = loss(
                &users, &items, &user_gram, &item_gram, &by_user, &by_item, config,
            );
            cb(&Progress {
                iteration: it + 1,
                iterations: config.iterations,
                loss,
                elapsed,
            });
        }
    }
    let item_gram = pool.run(|| to_principal_axes(&mut users, &mut items));
    Ok(Factors {
        config: config.clone(),
        users,
        items,
        item_gram,
        item_table: OnceLock::new(),
        gram_diagonal: OnceLock::new(),
        fingerprint: OnceLock::new(),
    })
}

/// Turns trained factors to the principal axes of the product factors and returns their new,
/// diagonal Gram matrix.
///
/// With `YᵀY = V Λ Vᵀ`, customers become `XV` and products `YV`. `V` is orthogonal, so every
/// score `x·y`, norm and cosine stays as it was, while `YᵀY` becomes `Λ`: a customer's system
/// is then a diagonal plus one rank-one term per purchase, which fold-in solves in `O(n²f)`
/// through the Woodbury identity instead of `O(f³)` (see [`Factors::fold_in`]). The axes are
/// sorted by decreasing eigenvalue and signed so that each one's largest entry is positive,
/// so equal factors give equal results. Off-diagonal rounding residue is dropped from the
/// stored Gram matrix (fold-in solves exactly the system it describes). Should the
/// eigensolver fail to give finite axes, the factors stay as they are with their full Gram.
fn to_principal_axes(users: &mut Array2<f32>, items: &mut Array2<f32>) -> Array2<f32> {
    let g = gram(items.view());
    let f = g.nrows();
    let sym =
        nalgebra::DMatrix::<f64>::from_fn(f, f, |r, c| (g[[r, c]] as f64 + g[[c, r]] as f64) / 2.0);
    let eig = nalgebra::SymmetricEigen::new(sym);
    if !(eig.eigenvalues.iter().all(|v| v.is_finite())
        && eig.eigenvectors.iter().all(|v| v.is_finite()))
    {
        return g;
    }
    let mut order: Vec<usize> = (0..f).collect();
    order.sort_by(|&a, &b| {
        eig.eigenvalues[b]
            .total_cmp(&eig.eigenvalues[a])
            .then(a.cmp(&b))
    });
    let mut v = Array2::<f32>::zeros((f, f));
    for (k, &e) in order.iter().enumerate() {
        let axis = eig.eigenvectors.column(e);
        let mut top = 0;
        for r in 1..f {
            if axis[r].abs() > axis[top].abs() {
                top = r;
            }
        }
        let sign = if axis[top] < 0.0 { -1.0 } else { 1.0 };
        for r in 0..f {
            v[[r, k]] = (sign * axis[r]) as f32;
        }
    }
    rotate_rows(users, &v);
    rotate_rows(items, &v);
    let mut diagonal = vec![0f64; f];
    for y in items.rows() {
        for (d, &x) in diagonal.iter_mut().zip(y) {
            *d += x as f64 * x as f64;
        }
    }
    Array2::from_diag(&ndarray::Array1::from_iter(
        diagonal.iter().map(|&d| d as f32),
    ))
}

/// `m ← m·v` in blocks of rows (in parallel with the `parallel` feature; every row is computed
/// the same way whatever the thread count).
fn rotate_rows(m: &mut Array2<f32>, v: &Array2<f32>) {
    let f = v.nrows();
    if m.nrows() == 0 {
        return;
    }
    let rotate = |block: &mut [f32]| {
        let rows = block.len() / f;
        let view = ndarray::ArrayView2::from_shape((rows, f), &*block).expect("whole rows");
        let out = view.dot(v);
        block.copy_from_slice(out.as_slice().expect("a new array is contiguous"));
    };
    let data = m.as_slice_mut().expect("factors are contiguous");
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        data.par_chunks_mut(256 * f).for_each(rotate);
    }
    #[cfg(not(feature = "parallel"))]
    data.chunks_mut(256 * f).for_each(rotate);
}

/// The threads training runs on: rayon's global pool, or a dedicated one of a fixed size.
pub(crate) struct Pool(#[cfg(feature = "parallel")] Option<rayon::ThreadPool>);

impl Pool {
    /// A pool of `threads` workers (`0`: the global pool, every core).
    pub(crate) fn new(threads: usize) -> Result<Self> {
        #[cfg(feature = "parallel")]
        {
            if threads == 0 {
                return Ok(Pool(None));
            }
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map(|p| Pool(Some(p)))
                .map_err(|e| Error::InvalidConfig(format!("cannot start {threads} threads: {e}")))
        }
        #[cfg(not(feature = "parallel"))]
        {
            let _ = threads;
            Ok(Pool())
        }
    }

    /// Runs `job` inside the pool.
    pub(crate) fn run<R: Send>(&self, job: impl FnOnce() -> R + Send) -> R {
        #[cfg(feature = "parallel")]
        if let Some(p) = &self.0 {
            return p.install(job);
        }
        job()
    }
}

/// Wall-clock timing where the platform has a clock (`wasm32-unknown-unknown` has none: zero).
struct Clock(#[cfg(not(target_arch = "wasm32"))] std::time::Instant);

impl Clock {
    fn start() -> Self {
        Clock(
            #[cfg(not(target_arch = "wasm32"))]
            std::time::Instant::now(),
        )
    }

    fn elapsed(&self) -> Duration {
        #[cfg(not(target_arch = "wasm32"))]
        {
            self.0.elapsed()
        }
        #[cfg(target_arch = "wasm32")]
        {
            Duration::ZERO
        }
    }
}

/// Rows solved together: their Gram products read the `f × f` Gram matrix once for all of
/// them (see [`Kernels::matvec4`]). Everything else is per row, and each row's arithmetic is
/// the same whichever block it falls in, so results do not depend on the blocking.
const BLOCK: usize = 4;

/// Scratch space for the conjugate-gradient solves of one block of rows.
struct Scratch {
    /// Residuals, directions and `A·p`, `BLOCK` vectors of `f` each.
    r: Vec<f32>,
    p: Vec<f32>,
    ap: Vec<f32>,
}

impl Scratch {
    fn new(f: usize) -> Self {
        Scratch {
            r: vec![0.0; BLOCK * f],
            p: vec![0.0; BLOCK * f],
            ap: vec![0.0; BLOCK * f],
        }
    }
}

/// One half-sweep: every row of `target` re-solved against the fixed `other` factors.
fn solve_rows(
    target: &mut Array2<f32>,
    other: &Array2<f32>,
    g: &Array2<f32>,
    matrix: &Interactions,
    cfg: &AlsConfig,
    reg: impl Fn(usize) -> f32 + Sync,
) {
    let f = cfg.factors;
    let other = other.as_slice().expect("factors are contiguous");
    let g = g.as_slice().expect("gram is contiguous");
    let rows = target.as_slice_mut().expect("factors are contiguous");
    let avx2 = Avx2Fma::detect();
    let solve = |s: &mut Scratch, (b, xs): (usize, &mut [f32])| {
        let sys = Rows {
            first: b * BLOCK,
            other,
            f,
            g,
            matrix,
            reg: &reg,
        };
        match avx2 {
            Some(k) => cg_solve_block(k, &sys, xs, cfg.cg_steps, s),
            None => cg_solve_block(Portable, &sys, xs, cfg.cg_steps, s),
        }
    };
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        rows.par_chunks_mut(BLOCK * f)
            .enumerate()
            .with_min_len(4)
            .for_each_init(|| Scratch::new(f), solve);
    }
    #[cfg(not(feature = "parallel"))]
    {
        let mut s = Scratch::new(f);
        rows.chunks_mut(BLOCK * f)
            .enumerate()
            .for_each(|bx| solve(&mut s, bx));
    }
}

/// What the systems of a block of rows are made of.
struct Rows<'a, R> {
    /// Index of the block's first row.
    first: usize,
    /// The fixed factors, row-major, `f` columns.
    other: &'a [f32],
    f: usize,
    /// Gram matrix of `other`, `f × f`.
    g: &'a [f32],
    /// Each row's interactions with their confidences.
    matrix: &'a Interactions,
    /// Regularization for a row with `n` interactions.
    reg: &'a R,
}

impl<R: Fn(usize) -> f32> Rows<'_, R> {
    /// Row `i` of the fixed factors.
    #[inline(always)]
    fn factor(&self, i: u32) -> &[f32] {
        &self.other[i as usize * self.f..(i as usize + 1) * self.f]
    }

    /// `out_j = G·v_j` for the first `b` vectors of `vs`: four at a time when the block is
    /// full (the same values as one at a time).
    #[inline(always)]
    fn gram_times<K: Kernels>(&self, k: K, vs: &[f32], b: usize, out: &mut [f32]) {
        let f = self.f;
        if b == BLOCK {
            k.matvec4(self.g, &vs[..BLOCK * f], &mut out[..BLOCK * f]);
        } else {
            for (v, o) in vs.chunks_exact(f).zip(out.chunks_exact_mut(f)).take(b) {
                k.matvec(self.g, v, o);
            }
        }
    }

    /// `out += Σ_i d_i y_i` over row `u`'s interactions `i`, with `d_i = h(c_i, y_i·v)`.
    #[inline(always)]
    fn add_own<K: Kernels>(
        &self,
        k: K,
        u: usize,
        v: &[f32],
        h: impl Fn(f32, f32) -> f32,
        out: &mut [f32],
    ) {
        let (idx, conf) = self.matrix.row(u);
        let row = |t: usize| self.factor(idx[t]);
        k.combine_rows_by_dot(row, idx.len(), v, |t, d| h(conf[t], d), out);
    }
}

/// A few conjugate-gradient steps for each row `u` of a block (its vector a row of `xs`) on
/// `(G + λI + Σ (c_i − 1) y_i y_iᵀ) x = Σ c_i y_i` (`c_i` the confidences of its
/// interactions), warm-started from the current `x` (Takács et al. 2011). The rows step
/// together so that their products with `G` share one read of it; a row whose residual
/// vanishes, or whose step would not be finite, stops where it is, as it would alone.
#[inline(always)]
fn cg_solve_block<K: Kernels, R: Fn(usize) -> f32>(
    k: K,
    sys: &Rows<'_, R>,
    xs: &mut [f32],
    steps: usize,
    s: &mut Scratch,
) {
    let f = sys.f;
    let b = xs.len() / f;
    let Scratch { r, p, ap } = s;
    let mut rs_old = [0f32; BLOCK];
    let mut active = [false; BLOCK];
    // r = b − A x = Σ (c − (c − 1)·y·x) y − G x − λ x
    sys.gram_times(k, xs, b, r);
    for j in 0..b {
        let u = sys.first + j;
        let lambda = (sys.reg)(sys.matrix.row(u).0.len());
        let (x, rj) = (&xs[j * f..(j + 1) * f], &mut r[j * f..(j + 1) * f]);
        for (ri, xi) in rj.iter_mut().zip(x.iter()) {
            *ri = -*ri - lambda * xi;
        }
        sys.add_own(k, u, x, |c, d| c - (c - 1.0) * d, rj);
        p[j * f..(j + 1) * f].copy_from_slice(rj);
        rs_old[j] = k.dot(rj, rj);
        active[j] = true;
    }
    for _ in 0..steps {
        for (a, &rs) in active.iter_mut().zip(&rs_old) {
            *a &= rs >= 1e-20;
        }
        if !active.contains(&true) {
            break;
        }
        // ap = A p = G p + λ p + Σ (c − 1)(y·p) y
        sys.gram_times(k, p, b, ap);
        for j in 0..b {
            if !active[j] {
                continue;
            }
            let u = sys.first + j;
            let lambda = (sys.reg)(sys.matrix.row(u).0.len());
            let span = j * f..(j + 1) * f;
            let (pj, apj) = (&mut p[span.clone()], &mut ap[span.clone()]);
            k.axpy(lambda, pj, apj);
            sys.add_own(k, u, pj, |c, d| d * (c - 1.0), apj);
            let pap = k.dot(pj, apj);
            if pap <= 0.0 || !pap.is_finite() {
                active[j] = false;
                continue;
            }
            let step = rs_old[j] / pap;
            let (xj, rj) = (&mut xs[span.clone()], &mut r[span]);
            k.axpy(step, pj, xj);
            k.axpy(-step, apj, rj);
            let rs_new = k.dot(rj, rj);
            let beta = rs_new / rs_old[j];
            for (pi, ri) in pj.iter_mut().zip(rj.iter()) {
                *pi = ri + beta * *pi;
            }
            rs_old[j] = rs_new;
        }
    }
}

/// Full objective divided by the number of interactions.
///
/// The unobserved part `Σ_u Σ_i (x_u·y_i)²` over every pair is `⟨XᵀX, YᵀY⟩`, the sum of the
/// element-wise product of the two Gram matrices (`xtx`, `yty`), which training has made
/// anyway: the rest is a pass over the observed pairs, whose confidences (`by_user`) and
/// per-product counts (the rows of `by_item`) training has made too. (One matrix–vector
/// product per customer, as before, made the loss a third of a training run at 256 factors.)
fn loss(
    users: &Array2<f32>,
    items: &Array2<f32>,
    xtx: &Array2<f32>,
    yty: &Array2<f32>,
    by_user: &Interactions,
    by_item: &Interactions,
    cfg: &AlsConfig,
) -> f64 {
    let f = cfg.factors;
    let mut total: f64 = xtx
        .iter()
        .zip(yty.iter())
        .map(|(&a, &b)| f64::from(a) * f64::from(b))
        .sum();
    let (us, is) = (users.as_slice().unwrap(), items.as_slice().unwrap());
    for u in 0..by_user.rows() {
        let x = &us[u * f..u * f + f];
        // the observed pairs: their confidence-weighted error, less their share of the above
        let (idx, conf) = by_user.row(u);
        for (&i, &c) in idx.iter().zip(conf) {
            let s = dot(x, &is[i as usize * f..i as usize * f + f]) as f64;
            let c = c as f64;
            total += c * (1.0 - s) * (1.0 - s) - s * s;
        }
        total += cfg.row_regularization(idx.len()) as f64 * dot(x, x) as f64;
    }
    for i in 0..by_item.rows() {
        let y = &is[i * f..i * f + f];
        let n = by_item.row(i).0.len();
        total += cfg.column_regularization(n) as f64 * dot(y, y) as f64;
    }
    total / by_user.nnz().max(1) as f64
}

impl Factors {
    /// A fingerprint of the product factors (their shape and three rows), so that state
    /// derived from one trained model (greeting vectors) can tell it from another. Computed
    /// once per value: greetings ask for it on every call.
    pub(crate) fn fingerprint(&self) -> u64 {
        *self.fingerprint.get_or_init(|| {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            let mut mix = |v: u64| {
                h ^= v;
                h = h.wrapping_mul(0x0100_0000_01b3);
            };
            mix(self.dim() as u64);
            mix(self.item_count() as u64);
            let n = self.item_count();
            if n > 0 {
                for i in [0, n / 2, n - 1] {
                    for &x in self.item(i) {
                        mix(x.to_bits() as u64);
                    }
                }
            }
            h | 1
        })
    }

    /// The configuration the factors were trained with.
    pub fn config(&self) -> &AlsConfig {
        &self.config
    }

    /// Number of factors per vector.
    pub fn dim(&self) -> usize {
        self.config.factors
    }

    /// Number of customer rows.
    pub fn user_count(&self) -> usize {
        self.users.nrows()
    }

    /// Number of product columns.
    pub fn item_count(&self) -> usize {
        self.items.nrows()
    }

    /// The trained vector of customer row `u` (empty when out of range).
    pub fn user(&self, u: usize) -> &[f32] {
        row(&self.users, u)
    }

    /// The vector of customer row `u` when it can be scored: in range and not all zero (a row
    /// that training or fold-in never reached stays zero and would score every product 0).
    pub fn usable_user(&self, u: usize) -> Option<&[f32]> {
        let x = self.user(u);
        self.usable(x).then_some(x)
    }

    /// Whether `x` can stand for a customer: the model's length and not all zero.
    pub fn usable(&self, x: &[f32]) -> bool {
        x.len() == self.dim() && x.iter().any(|&v| v != 0.0)
    }

    /// The vector of product `i` (empty when out of range).
    pub fn item(&self, i: usize) -> &[f32] {
        row(&self.items, i)
    }

    /// Checks the shapes of factors read back from bytes.
    pub(crate) fn check(&self) -> Result<()> {
        let f = self.config.factors;
        let ok = f > 0
            && self.users.ncols() == f
            && self.items.ncols() == f
            && self.item_gram.dim() == (f, f)
            && self.users.is_standard_layout()
            && self.items.is_standard_layout()
            && self.item_gram.is_standard_layout();
        if ok {
            Ok(())
        } else {
            Err(Error::Corrupted(format!(
                "factor tables do not have {f} columns, or the Gram matrix is not {f} × {f}"
            )))
        }
    }

    /// The best `k` products for `query` over all product vectors, skipping `exclude`.
    ///
    /// Catalogs of [`QUANTIZED_SCAN_MIN_ITEMS`] products or more are scanned through an int8
    /// copy of the table (built on first use) with exact re-scoring, which returns the same
    /// products as [`crate::topk::top_k`] while reading a quarter of the bytes.
    pub fn top_k_items(&self, query: &[f32], k: usize, exclude: Option<&Bitset>) -> Vec<Scored> {
        let view = self.items.view();
        match self.item_table(k) {
            Some(table) => table.top_k(view, query, k, exclude),
            None => top_k(view, query, k, exclude),
        }
    }

    /// [`Factors::top_k_items`] for many queries; `excludes` is empty or one per query.
    pub fn top_k_items_many(
        &self,
        queries: &[&[f32]],
        k: usize,
        excludes: &[Option<&Bitset>],
    ) -> Vec<Vec<Scored>> {
        let view = self.items.view();
        match self.item_table(k) {
            Some(table) => table.top_k_many(view, queries, k, excludes),
            None => queries
                .iter()
                .enumerate()
                .map(|(i, q)| top_k(view, q, k, excludes.get(i).copied().flatten()))
                .collect(),
        }
    }

    /// The int8 table when it pays for a top `k` (built on first use), else `None`.
    fn item_table(&self, k: usize) -> Option<&QuantizedItems> {
        let n = self.items.nrows();
        if n < QUANTIZED_SCAN_MIN_ITEMS || k.saturating_mul(16) > n {
            return None;
        }
        self.item_table
            .get_or_init(|| QuantizedItems::new(self.items.view()))
            .as_ref()
    }

    /// All product vectors, row-major `items × factors`.
    pub fn items(&self) -> &Array2<f32> {
        &self.items
    }

    /// All customer vectors, row-major `customers × factors`.
    pub fn users(&self) -> &Array2<f32> {
        &self.users
    }

    /// Computes a customer vector from a purchase list against the fixed product factors: an
    /// exact solve of the same least-squares problem training solves, so a new customer or a new
    /// purchase changes recommendations at once, without retraining.
    ///
    /// Items out of range are an error; repeated items are summed; an empty list gives the zero
    /// vector. With at most half as many purchases as factors, on factors as training leaves
    /// them (on their principal axes), the solve takes `O(n²f)` through the Woodbury identity
    /// instead of the `O(f³)` Cholesky factor; both give the same vector up to rounding.
    pub fn fold_in(&self, items: &[u32], weights: &[f32]) -> Result<Vec<f32>> {
        let merged = self.merge_history(items, weights)?;
        let f = self.dim();
        if merged.is_empty() {
            return Ok(vec![0.0; f]);
        }
        let woodbury = match Avx2Fma::detect() {
            Some(k) => self.woodbury_fold_in(k, &merged),
            None => self.woodbury_fold_in(Portable, &merged),
        };
        if let Some(x) = woodbury {
            return Ok(x);
        }
        let (l, mut b) = self.customer_system(&merged)?;
        // L Lᵀ x = b
        let solved = forward_solve(&l, &mut b) && backward_solve(&l, &mut b);
        debug_assert!(solved, "customer_system gives an f × f factor");
        Ok(b)
    }

    /// [`Factors::fold_in`] through the Woodbury identity where [`Factors::woodbury`] applies;
    /// `None` otherwise.
    #[inline(always)]
    fn woodbury_fold_in<K: Kernels>(&self, k: K, merged: &[(u32, f32)]) -> Option<Vec<f32>> {
        let (w, confidence) = self.woodbury(k, merged)?;
        // b = Σ c_j y_j
        let mut b = vec![0f32; self.dim()];
        for (y, &c) in w.rows().chunks_exact(self.dim()).zip(&confidence) {
            k.axpy(c, y, &mut b);
        }
        Some(w.solve(k, b))
    }

    /// The customer's system `A = D + Oᵀ W O` as a [`Woodbury`] system, where `D` is the
    /// diagonal Gram matrix plus the customer's regularization, `O` holds the owned products'
    /// rows and `W` their extra confidences `c − 1`; with the confidences `c`. `None` unless the
    /// factors are on their principal axes and `2n ≤ f` (where it is clearly the cheaper route: at
    /// 256 factors the two cross near 160 purchases in `cargo bench --bench scoring -- fold_in_256f`).
    #[inline(always)]
    fn woodbury<K: Kernels>(&self, k: K, merged: &[(u32, f32)]) -> Option<(Woodbury, Vec<f32>)> {
        let f = self.dim();
        let n = merged.len();
        if 2 * n > f {
            return None;
        }
        let diagonal = self
            .gram_diagonal
            .get_or_init(|| diagonal_of(&self.item_gram))
            .as_ref()?;
        let reg = self.config.row_regularization(n).max(1e-6);
        let d_inv: Vec<f32> = diagonal.iter().map(|&d| 1.0 / (d + reg)).collect();
        let mut owned = Vec::with_capacity(n * f);
        let mut confidence = Vec::with_capacity(n);
        for &(i, w) in merged {
            owned.extend_from_slice(self.item(i as usize));
            confidence.push(self.config.confidence(w));
        }
        let extra: Vec<f32> = confidence.iter().map(|c| (c - 1.0).max(0.0)).collect();
        Some((Woodbury::new(k, d_inv, owned, &extra)?, confidence))
    }

    /// Why a customer with this history gets each of `targets`: for every target, the owned
    /// product that contributes most to its score, with that contribution.
    ///
    /// The fold-in score decomposes exactly as `x·y_t = Σ_j c_j · y_tᵀ A⁻¹ y_j` over the owned
    /// products `j` (Hu, Koren & Volinsky 2008, §5), where `A` is the customer's system matrix.
    /// `None` for a target when the history is empty.
    pub fn explain(
        &self,
        items: &[u32],
        weights: &[f32],
        targets: &[u32],
    ) -> Result<Vec<Option<(u32, f32)>>> {
        let merged = self.merge_history(items, weights)?;
        if merged.is_empty() {
            return Ok(vec![None; targets.len()]);
        }
        let woodbury = match Avx2Fma::detect() {
            Some(k) => self.woodbury_explain(k, &merged, targets),
            None => self.woodbury_explain(Portable, &merged, targets),
        };
        if let Some(reasons) = woodbury {
            return Ok(reasons);
        }
        let (l, _) = self.customer_system(&merged)?;
        Ok(match Avx2Fma::detect() {
            Some(k) => self.explain_in(k, &l, &merged, targets),
            None => self.explain_in(Portable, &l, &merged, targets),
        })
    }

    /// [`Factors::explain`] through the Woodbury identity (see [`Factors::woodbury`] and
    /// [`Woodbury::inner_products`]); `None` where that route does not apply.
    #[inline(always)]
    fn woodbury_explain<K: Kernels>(
        &self,
        k: K,
        merged: &[(u32, f32)],
        targets: &[u32],
    ) -> Option<Vec<Option<(u32, f32)>>> {
        let (w, confidence) = self.woodbury(k, merged)?;
        let n = merged.len();
        let mut g = Vec::with_capacity(targets.len() * n);
        for &t in targets {
            let y = self.item(t as usize);
            if !y.is_empty() {
                w.inner_products(k, y, &mut g);
            }
        }
        Some(self.pick_reasons(merged, &confidence, targets, g.chunks(n)))
    }

    /// For each target, the owned product with the largest contribution `c_j · g_tj`, reading
    /// one row of `g` (over the owned products, possibly padded) per target in range.
    fn pick_reasons<'g>(
        &self,
        merged: &[(u32, f32)],
        confidence: &[f32],
        targets: &[u32],
        mut rows: impl Iterator<Item = &'g [f32]>,
    ) -> Vec<Option<(u32, f32)>> {
        targets
            .iter()
            .map(|&t| {
                if (t as usize) >= self.item_count() {
                    return None;
                }
                let gt = rows.next()?;
                let mut best: Option<(u32, f32)> = None;
                for ((&(j, _), &c), &s) in merged.iter().zip(confidence).zip(gt) {
                    let v = c * s;
                    if best.is_none_or(|(_, b)| v > b) {
                        best = Some((j, v));
                    }
                }
                best
            })
            .collect()
    }

    /// [`Factors::explain`] after the customer's Cholesky factor `l`: the owned and target
    /// vectors are whitened (`L⁻¹ y`) together, one column each, so the forward substitution
    /// runs along rows of all of them at once; contributions are `c_j · z_tᵀ z_j`.
    #[inline(always)]
    fn explain_in<K: Kernels>(
        &self,
        k: K,
        l: &[f32],
        merged: &[(u32, f32)],
        targets: &[u32],
    ) -> Vec<Option<(u32, f32)>> {
        let f = self.dim();
        let owned = merged.len();
        let known: Vec<u32> = targets
            .iter()
            .copied()
            .filter(|&t| (t as usize) < self.item_count())
            .collect();
        // z is f × m: row r holds dimension r of every vector, owned products first, padded
        // with zero columns to whole SIMD lanes
        let m = (owned + known.len()).next_multiple_of(8);
        let mut z = vec![0f32; f * m];
        for (c, i) in merged
            .iter()
            .map(|&(j, _)| j)
            .chain(known.iter().copied())
            .enumerate()
        {
            for (r, &y) in self.item(i as usize).iter().enumerate() {
                z[r * m + c] = y;
            }
        }
        let mut coefs = vec![0f32; f];
        for r in 0..f {
            let (done, rest) = z.split_at_mut(r * m);
            let row = &mut rest[..m];
            for (c, &v) in coefs.iter_mut().zip(&l[r * f..r * f + r]) {
                *c = -v;
            }
            k.combine_rows(&coefs[..r], done, row);
            let d = l[r * f + r];
            row.iter_mut().for_each(|x| *x /= d);
        }
        // g[t][j] = z_tᵀ z_j = Σ_r z[r][t] · z[r][j]: one row combination per target over the
        // owned columns (copied out, padded like z)
        let op = owned.next_multiple_of(8);
        let mut zo = vec![0f32; f * op];
        for (dst, src) in zo.chunks_exact_mut(op).zip(z.chunks_exact(m)) {
            dst[..owned].copy_from_slice(&src[..owned]);
        }
        let mut g = vec![0f32; known.len() * op];
        let mut column = vec![0f32; f];
        for (t, gt) in g.chunks_exact_mut(op).enumerate() {
            for (c, zr) in column.iter_mut().zip(z.chunks_exact(m)) {
                *c = zr[owned + t];
            }
            k.combine_rows(&column, &zo, gt);
        }
        let confidence: Vec<f32> = merged
            .iter()
            .map(|&(_, w)| self.config.confidence(w))
            .collect();
        self.pick_reasons(merged, &confidence, targets, g.chunks_exact(op))
    }

    /// Validates a purchase list and merges repeated products; zero weights are dropped.
    fn merge_history(&self, items: &[u32], weights: &[f32]) -> Result<Vec<(u32, f32)>> {
        if items.len() != weights.len() {
            return Err(Error::InvalidArgument(format!(
                "{} items but {} weights",
                items.len(),
                weights.len()
            )));
        }
        let n = self.item_count();
        let mut merged: Vec<(u32, f32)> = Vec::with_capacity(items.len());
        for (&i, &w) in items.iter().zip(weights) {
            crate::error::check_weight("weight", w as f64)?;
            if i as usize >= n {
                return Err(Error::InvalidArgument(format!(
                    "item index {i} out of range ({n} items)"
                )));
            }
            merged.push((i, w));
        }
        merged.sort_unstable_by_key(|p| p.0);
        merged.dedup_by(|b, a| {
            if a.0 == b.0 {
                a.1 += b.1;
                true
            } else {
                false
            }
        });
        merged.retain(|p| p.1 > 0.0);
        Ok(merged)
    }

    /// The Cholesky factor `L` of `A = YᵀY + λI + Σ (c_j − 1) y_j y_jᵀ` and `b = Σ c_j y_j`.
    fn customer_system(&self, merged: &[(u32, f32)]) -> Result<(Vec<f32>, Vec<f32>)> {
        match Avx2Fma::detect() {
            Some(k) => self.customer_system_in(k, merged),
            None => self.customer_system_in(Portable, merged),
        }
    }

    #[inline(always)]
    fn customer_system_in<K: Kernels>(
        &self,
        k: K,
        merged: &[(u32, f32)],
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let f = self.dim();
        let cfg = &self.config;
        let reg = cfg.row_regularization(merged.len()).max(1e-6);
        let mut a = self.item_gram.as_slice().expect("contiguous").to_vec();
        let mut b = vec![0f32; f];
        for i in 0..f {
            a[i * f + i] += reg;
        }
        let ys = self.items.as_slice().expect("contiguous");
        // the bought rows with confidence above 1, gathered so the update reads them from L1
        let mut own = Vec::with_capacity(merged.len() * f);
        let mut extra = Vec::with_capacity(merged.len());
        for &(i, w) in merged {
            let y = &ys[i as usize * f..i as usize * f + f];
            let c = cfg.confidence(w);
            k.axpy(c, y, &mut b);
            if c != 1.0 {
                own.extend_from_slice(y);
                extra.push(c - 1.0);
            }
        }
        // A += Σ (c − 1) y yᵀ, one row of A at a time, its lower triangle only (all the
        // factorisation reads), rounded up to whole SIMD lanes
        let mut coefs = vec![0f32; extra.len()];
        for r in 0..f {
            for ((c, e), y) in coefs.iter_mut().zip(&extra).zip(own.chunks_exact(f)) {
                *c = e * y[r];
            }
            let width = (r + 1).next_multiple_of(8).min(f);
            k.combine_rows_strided(&coefs, &own, f, &mut a[r * f..r * f + width]);
        }
        if !crate::linalg::cholesky_with(k, &mut a, f) {
            return Err(Error::InvalidConfig(
                "customer system is not positive definite; use regularization > 0".into(),
            ));
        }
        Ok((a, b))
    }

    /// Replaces the vector of customer row `u`, growing the table when `u` is a new row.
    pub fn set_user(&mut self, u: usize, v: &[f32]) -> Result<()> {
        let f = self.dim();
        if v.len() != f {
            return Err(Error::InvalidArgument(format!(
                "vector of length {} for {f} factors",
                v.len()
            )));
        }
        if u >= self.users.nrows() {
            let extra = u + 1 - self.users.nrows();
            let zeros = Array2::<f32>::zeros((extra, f));
            self.users
                .append(ndarray::Axis(0), zeros.view())
                .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        }
        self.users
            .row_mut(u)
            .as_slice_mut()
            .expect("contiguous")
            .copy_from_slice(v);
        Ok(())
    }
}

/// The diagonal of a square matrix whose off-diagonal entries are all zero, else `None`.
fn diagonal_of(g: &Array2<f32>) -> Option<Vec<f32>> {
    let off_diagonal_zero = g.indexed_iter().all(|((r, c), &v)| r == c || v == 0.0);
    off_diagonal_zero.then(|| g.diag().to_vec())
}

fn row(m: &Array2<f32>, i: usize) -> &[f32] {
    if i >= m.nrows() {
        return &[];
    }
    let f = m.ncols();
    &m.as_slice().expect("contiguous")[i * f..i * f + f]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interactions::Triple;

    /// Saved greeting vectors carry the fingerprint of their model, so its value must not
    /// change between versions: pinned for a hand-made table (FNV-1a style over the shape and
    /// rows 0, n/2 and n − 1), computed once and kept by clones.
    #[test]
    fn fingerprint_is_pinned() {
        let items = Array2::from_shape_vec((3, 2), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let f = Factors {
            config: AlsConfig {
                factors: 2,
                ..AlsConfig::default()
            },
            users: Array2::zeros((1, 2)),
            item_gram: gram(items.view()),
            items,
            item_table: OnceLock::new(),
            gram_diagonal: OnceLock::new(),
            fingerprint: OnceLock::new(),
        };
        assert_eq!(f.fingerprint(), 0x38ed_50f7_bf6c_a0e3);
        assert_eq!(f.clone().fingerprint(), 0x38ed_50f7_bf6c_a0e3);
    }

    /// Two groups of customers who buy from two disjoint groups of products.
    fn blocks() -> Interactions {
        let mut t = Vec::new();
        for u in 0..20u32 {
            for i in 0..10u32 {
                let same_group = (u < 10) == (i < 5);
                if same_group && (u + i) % 3 != 0 {
                    t.push(Triple {
                        user: u,
                        item: i,
                        weight: 1.0 + (u % 2) as f32,
                    });
                }
            }
        }
        Interactions::from_triples(20, 10, &t).unwrap()
    }

    fn cfg() -> AlsConfig {
        AlsConfig {
            factors: 8,
            iterations: 10,
            regularization: 0.1,
            alpha: 5.0,
            threads: 1,
            ..Default::default()
        }
    }

    #[test]
    fn learns_block_structure_and_loss_falls() {
        let m = blocks();
        let mut losses = Vec::new();
        // two factors cannot memorise the matrix, so they must find the two groups
        let cfg = AlsConfig {
            factors: 2,
            regularization: 1.0,
            ..cfg()
        };
        let f = train_with(&m, &cfg, Some(&mut |p: &Progress| losses.push(p.loss))).unwrap();
        assert_eq!(losses.len(), 10);
        assert!(losses[9] < losses[0], "{losses:?}");
        // customer 0 (group A) scores an unbought group-A item above every group-B item
        let s = |u: usize, i: usize| dot(f.user(u), f.item(i));
        assert_eq!(m.get(0, 0), 0.0);
        for b in 5..10 {
            assert!(s(0, 0) > s(0, b) + 0.1, "{} vs {}", s(0, 0), s(0, b));
        }
    }

    #[test]
    fn loss_is_the_objective_summed_pair_by_pair() {
        let m = blocks();
        let cfg = AlsConfig {
            factors: 3,
            frequency_scaling: 0.3,
            item_frequency_scaling: 0.6,
            ..cfg()
        };
        let f = train(&m, &cfg).unwrap();
        let (users, items) = (f.users(), f.items());
        let counts = m.column_counts();
        let mut naive = 0f64;
        for u in 0..m.rows() {
            let (idx, _) = m.row(u);
            for i in 0..m.cols() {
                let s: f64 = (0..3)
                    .map(|k| f64::from(users[[u, k]]) * f64::from(items[[i, k]]))
                    .sum();
                let w = m.get(u, i as u32);
                let (c, p) = if w > 0.0 {
                    (f64::from(cfg.confidence(w)), 1.0)
                } else {
                    (1.0, 0.0)
                };
                naive += c * (p - s) * (p - s);
            }
            let norm: f64 = (0..3).map(|k| f64::from(users[[u, k]]).powi(2)).sum();
            naive += f64::from(cfg.row_regularization(idx.len())) * norm;
        }
        for (i, &n) in counts.iter().enumerate() {
            let norm: f64 = (0..3).map(|k| f64::from(items[[i, k]]).powi(2)).sum();
            naive += f64::from(cfg.column_regularization(n as usize)) * norm;
        }
        naive /= m.nnz() as f64;
        let (xtx, yty) = (gram(users.view()), gram(items.view()));
        let by_user = m.map_values(|w| cfg.confidence(w));
        let fast = loss(
            users,
            items,
            &xtx,
            &yty,
            &by_user,
            &by_user.transpose(),
            &cfg,
        );
        assert!((fast - naive).abs() < 1e-5 * naive, "{fast} vs {naive}");
    }

    #[test]
    fn usable_user_rows_are_in_range_and_not_all_zero() {
        let mut f = train(&blocks(), &cfg()).unwrap();
        assert_eq!(f.usable_user(3), Some(f.user(3)));
        assert!(f.usable(f.user(3)));
        // row 25 grows the table: rows 20–24 stay zero, the way new rows start
        f.set_user(25, &[0.5; 8]).unwrap();
        assert_eq!(f.usable_user(25), Some(&[0.5f32; 8][..]));
        assert_eq!(f.usable_user(22), None);
        assert_eq!(f.usable_user(26), None, "out of range");
        f.set_user(3, &[0.0; 8]).unwrap();
        assert_eq!(f.usable_user(3), None);
        assert!(!f.usable(&[1.0; 7]), "wrong length");
        assert!(!f.usable(&[]));
    }

    #[test]
    fn deterministic_for_any_thread_count() {
        let m = blocks();
        let a = train(&m, &cfg()).unwrap();
        let b = train(&m, &cfg()).unwrap();
        let c = train(
            &m,
            &AlsConfig {
                threads: 2,
                ..cfg()
            },
        )
        .unwrap();
        assert_eq!(a.users, b.users);
        assert_eq!(a.items, c.items);
        let d = train(&m, &AlsConfig { seed: 7, ..cfg() }).unwrap();
        assert_ne!(a.items, d.items);
    }

    #[test]
    fn fold_in_lands_near_trained_vector() {
        let m = blocks();
        let f = train(
            &m,
            &AlsConfig {
                iterations: 30,
                cg_steps: 8,
                ..cfg()
            },
        )
        .unwrap();
        for u in [0usize, 7, 13] {
            let (idx, w) = m.row(u);
            let v = f.fold_in(idx, w).unwrap();
            let t = f.user(u);
            let cos = dot(&v, t) / (dot(&v, &v).sqrt() * dot(t, t).sqrt());
            assert!(cos > 0.99, "user {u}: cosine {cos}");
        }
        assert_eq!(f.fold_in(&[], &[]).unwrap(), vec![0.0; 8]);
        assert!(f.fold_in(&[99], &[1.0]).is_err());
        assert!(f.fold_in(&[1], &[f32::NAN]).is_err());
        assert!(f.fold_in(&[1, 2], &[1.0]).is_err());
    }

    #[test]
    fn explanations_decompose_the_score() {
        let m = blocks();
        let f = train(&m, &cfg()).unwrap();
        let (idx, w) = m.row(0);
        let v = f.fold_in(idx, w).unwrap();
        let targets = [0u32, 3, 7];
        let why = f.explain(idx, w, &targets).unwrap();
        for (t, reason) in targets.iter().zip(&why) {
            let (j, contrib) = reason.unwrap();
            assert!(idx.contains(&j), "target {t}: reason {j} is not owned");
            assert!(contrib.is_finite());
        }
        // group-A customer, group-A target: the reason is a group-A product
        assert!(why[0].unwrap().0 < 5);
        // exact decomposition check on a single-product history: the only reason carries the whole score
        let single = f.explain(&[1], &[2.0], &[0]).unwrap()[0].unwrap();
        let v1 = f.fold_in(&[1], &[2.0]).unwrap();
        assert_eq!(single.0, 1);
        assert!(
            (single.1 - dot(&v1, f.item(0))).abs() < 1e-4,
            "{} vs {}",
            single.1,
            dot(&v1, f.item(0))
        );
        assert!(dot(&v, f.item(0)).is_finite());
        assert_eq!(f.explain(&[], &[], &[0]).unwrap(), vec![None]);
    }

    #[test]
    fn explanations_match_one_whitened_vector_at_a_time() {
        let m = blocks();
        let f = train(&m, &cfg()).unwrap();
        let targets: Vec<u32> = (0..m.cols() as u32).chain([9_999]).collect();
        for u in 0..m.rows() {
            let (idx, w) = m.row(u);
            let why = f.explain(idx, w, &targets).unwrap();
            // reference: whiten each vector on its own with the scalar forward substitution
            let merged = f.merge_history(idx, w).unwrap();
            let (l, _) = f.customer_system(&merged).unwrap();
            // the portable kernels give the same reasons
            let portable = f.explain_in(Portable, &l, &merged, &targets);
            for (p, q) in portable.iter().zip(&why) {
                assert_eq!(p.map(|x| x.0), q.map(|x| x.0), "user {u}");
                assert!(p.zip(*q).is_none_or(|(a, b)| (a.1 - b.1).abs() < 1e-4));
            }
            let whiten = |i: u32| {
                let mut z = f.item(i as usize).to_vec();
                assert!(forward_solve(&l, &mut z));
                z
            };
            for (&t, got) in targets.iter().zip(&why) {
                if t as usize >= m.cols() {
                    assert_eq!(*got, None);
                    continue;
                }
                let zt = whiten(t);
                let contributions: Vec<(u32, f32)> = merged
                    .iter()
                    .map(|&(j, wj)| (j, f.config.confidence(wj) * dot(&zt, &whiten(j))))
                    .collect();
                let best = contributions
                    .iter()
                    .fold(None, |b: Option<(u32, f32)>, &(j, v)| match b {
                        Some((_, bv)) if bv >= v => b,
                        _ => Some((j, v)),
                    })
                    .unwrap();
                let (j, v) = got.unwrap();
                assert!(
                    (v - best.1).abs() < 1e-4,
                    "user {u} target {t}: {v} vs {best:?}"
                );
                // the same product, or one whose contribution ties the best
                let vj = contributions.iter().find(|c| c.0 == j).unwrap().1;
                assert!(
                    (vj - best.1).abs() < 1e-4,
                    "user {u} target {t}: {j} vs {best:?}"
                );
            }
        }
    }

    /// A row's conjugate-gradient solve gives the same bits whether it runs in a block of four
    /// or alone, with each kernel: the model does not depend on the blocking.
    fn blocked_equals_alone<K: Kernels>(k: K) {
        let m = scattered().map_values(|w| cfg().confidence(w));
        for f in [5usize, 20, 32] {
            let mut rng = SmallRng::seed_from_u64(f as u64);
            let items = Array2::from_shape_fn((m.cols(), f), |_| rng.random_range(-0.5..0.5f32));
            let start: Vec<f32> = (0..m.rows() * f)
                .map(|_| rng.random_range(-0.5..0.5f32))
                .collect();
            let g = gram(items.view());
            let reg = |n: usize| 0.1 + n as f32 * 0.01;
            let rows = |first| Rows {
                first,
                other: items.as_slice().unwrap(),
                f,
                g: g.as_slice().unwrap(),
                matrix: &m,
                reg: &reg,
            };
            let mut s = Scratch::new(f);
            // 78 rows in blocks (the last one of two rows), then two alone
            let mut blocked = start.clone();
            for (b, xs) in blocked[..78 * f].chunks_mut(BLOCK * f).enumerate() {
                cg_solve_block(k, &rows(b * BLOCK), xs, 3, &mut s);
            }
            for u in 78..80 {
                cg_solve_block(k, &rows(u), &mut blocked[u * f..(u + 1) * f], 3, &mut s);
            }
            let mut alone = start.clone();
            for (u, x) in alone.chunks_mut(f).enumerate() {
                cg_solve_block(k, &rows(u), x, 3, &mut s);
            }
            assert!(blocked != start, "f={f}: the solves moved the vectors");
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&blocked), bits(&alone), "f={f}");
        }
    }

    #[test]
    fn blocked_solves_equal_solves_one_row_at_a_time() {
        blocked_equals_alone(Portable);
        if let Some(k) = Avx2Fma::detect() {
            blocked_equals_alone(k);
        }
    }

    /// 80 customers with 1–30 random purchases each among 60 products.
    fn scattered() -> Interactions {
        let mut rng = SmallRng::seed_from_u64(7);
        let mut t = Vec::new();
        for u in 0..80u32 {
            let n = 1 + (u % 30);
            for _ in 0..n {
                t.push(Triple {
                    user: u,
                    item: rng.random_range(0..60u32),
                    weight: rng.random_range(0.5..6.0f32),
                });
            }
        }
        Interactions::from_triples(80, 60, &t).unwrap()
    }

    /// The same factors with the full `YᵀY` of their product rows (its rounding residue off the
    /// diagonal kept), as a file saved before factors were turned to principal axes holds it:
    /// fold-in then takes the Cholesky route.
    fn with_full_gram(f: &Factors) -> Factors {
        let mut g = f.clone();
        g.item_gram = gram(g.items.view());
        g.gram_diagonal = OnceLock::new();
        assert!(diagonal_of(&g.item_gram).is_none());
        g
    }

    #[test]
    fn training_leaves_factors_on_principal_axes() {
        let m = scattered();
        let f = train(
            &m,
            &AlsConfig {
                factors: 16,
                ..cfg()
            },
        )
        .unwrap();
        let d = diagonal_of(&f.item_gram).expect("a diagonal Gram matrix");
        assert!(d.windows(2).all(|p| p[0] >= p[1]), "{d:?}");
        // the stored diagonal is YᵀY of the rotated rows, whose off-diagonal is rounding only
        let full = gram(f.items.view());
        for r in 0..16 {
            assert!((full[[r, r]] - d[r]).abs() <= 1e-4 * d[0], "{r}");
            for c in 0..r {
                assert!(
                    full[[r, c]].abs() <= 1e-4 * d[0],
                    "({r}, {c}): {}",
                    full[[r, c]]
                );
            }
        }
    }

    #[test]
    fn principal_axes_keep_every_score_and_norm() {
        let mut rng = SmallRng::seed_from_u64(3);
        let mut random =
            |n: usize| Array2::from_shape_fn((n, 12), |_| rng.random_range(-1.0..1.0f32));
        let (users0, items0) = (random(30), random(500));
        let (mut users, mut items) = (users0.clone(), items0.clone());
        let g = to_principal_axes(&mut users, &mut items);
        assert!(diagonal_of(&g).is_some());
        let (before, after) = (users0.dot(&items0.t()), users.dot(&items.t()));
        for (a, b) in before.iter().zip(&after) {
            assert!((a - b).abs() < 1e-4 * (1.0 + a.abs()), "{a} vs {b}");
        }
        for (y0, y) in items0.rows().into_iter().zip(items.rows()) {
            let (n0, n) = (y0.dot(&y0), y.dot(&y));
            assert!((n0 - n).abs() < 1e-4 * n0, "{n0} vs {n}");
        }
    }

    #[test]
    fn woodbury_route_matches_the_cholesky_route() {
        let m = scattered();
        let configs = [
            AlsConfig {
                factors: 16,
                ..cfg()
            },
            AlsConfig {
                factors: 16,
                confidence: Confidence::Linear,
                ..cfg()
            },
            // α = 0: every confidence is 1, no rank-one terms
            AlsConfig {
                factors: 16,
                alpha: 0.0,
                ..cfg()
            },
        ];
        let targets: Vec<u32> = (0..60).chain([500]).collect();
        for config in configs {
            let f = train(&m, &config).unwrap();
            let full = with_full_gram(&f);
            for u in 0..m.rows() {
                let (idx, w) = m.row(u);
                let merged = f.merge_history(idx, w).unwrap();
                assert_eq!(
                    f.woodbury(Portable, &merged).is_some(),
                    merged.len() <= 8,
                    "user {u}: {} products",
                    merged.len()
                );
                let (x, reference) = (f.fold_in(idx, w).unwrap(), full.fold_in(idx, w).unwrap());
                let scale = dot(&reference, &reference).sqrt();
                for (a, b) in x.iter().zip(&reference) {
                    assert!(
                        (a - b).abs() <= 1e-3 * scale,
                        "user {u}: {x:?} vs {reference:?}"
                    );
                }
                let (why, reference) = (
                    f.explain(idx, w, &targets).unwrap(),
                    full.explain(idx, w, &targets).unwrap(),
                );
                for ((t, a), b) in targets.iter().zip(&why).zip(&reference) {
                    match (a, b) {
                        (Some((ja, va)), Some((jb, vb))) => {
                            // the same reason, or one whose contribution ties it
                            assert!((va - vb).abs() <= 1e-3 * (1.0 + vb.abs()), "user {u} {t}");
                            if ja != jb {
                                assert!((va - vb).abs() < 1e-4, "user {u} {t}: {ja} vs {jb}");
                            }
                        }
                        (a, b) => assert_eq!(a, b, "user {u} target {t}"),
                    }
                }
            }
        }
    }

    #[test]
    fn non_finite_factors_are_an_error_on_both_routes() {
        // a crafted (checksummed) file may hold NaN: the Woodbury system then fails to factor
        // and the Cholesky route reports it, as it did before the Woodbury route existed
        let m = scattered();
        let mut f = train(
            &m,
            &AlsConfig {
                factors: 16,
                ..cfg()
            },
        )
        .unwrap();
        f.items[[3, 5]] = f32::NAN;
        assert!(f.woodbury(Portable, &[(3, 1.0)]).is_none());
        assert!(matches!(
            f.fold_in(&[3], &[1.0]),
            Err(Error::InvalidConfig(_))
        ));
        assert!(matches!(
            f.explain(&[3, 4], &[1.0, 2.0], &[7]),
            Err(Error::InvalidConfig(_))
        ));
        // histories without the broken product still fold in on the Woodbury route
        assert!(f.woodbury(Portable, &[(4, 1.0)]).is_some());
        assert!(
            f.fold_in(&[4, 9], &[1.0, 2.0])
                .unwrap()
                .iter()
                .all(|v| v.is_finite())
        );
        let full = with_full_gram(&f);
        assert!(full.fold_in(&[4, 9], &[1.0, 2.0]).is_err()); // NaN in YᵀY reaches every customer
    }

    #[test]
    fn bad_config_and_empty_data() {
        let m = blocks();
        for bad in [
            AlsConfig {
                factors: 0,
                ..cfg()
            },
            AlsConfig {
                regularization: f32::NAN,
                ..cfg()
            },
            AlsConfig {
                alpha: -1.0,
                ..cfg()
            },
            AlsConfig {
                cg_steps: 0,
                ..cfg()
            },
            AlsConfig {
                iterations: 0,
                ..cfg()
            },
            AlsConfig {
                confidence: Confidence::Log { epsilon: 0.0 },
                ..cfg()
            },
        ] {
            assert!(
                matches!(train(&m, &bad), Err(Error::InvalidConfig(_))),
                "{bad:?}"
            );
        }
        let empty = Interactions::from_triples(3, 3, &[]).unwrap();
        assert!(matches!(train(&empty, &cfg()), Err(Error::Empty(_))));
    }
}
