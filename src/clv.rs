//! Buy-till-you-die customer value models, fitted by maximum likelihood.
//!
//! * [`BgNbd`] — the BG/NBD model of Fader, Hardie & Lee (2005), "Counting Your Customers the Easy
//!   Way: An Alternative to the Pareto/NBD Model", *Marketing Science* 24(2), 275–284. While alive, a
//!   customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each repeat purchase the
//!   customer drops out for good with probability p ~ Beta(a, b).
//! * [`GammaGamma`] — the Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005,
//!   "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis", and Fader & Hardie's note
//!   "The Gamma-Gamma Model of Monetary Value", 2013).
//!
//! Both follow the Python `lifetimes` package (`BetaGeoFitter`, `GammaGammaFitter`): the same
//! log-likelihoods, the same data conventions ([`RfmSummary`]), the same prediction formulas. The
//! likelihood is maximised over the logarithms of the parameters with a deterministic Nelder–Mead
//! simplex search, so the same data always gives the same fit.
//!
//! Everything here is plain arithmetic: no threads, no I/O, usable on `wasm32`.

use crate::error::{Error, Result};
use hashbrown::HashMap;
use libm::lgamma;
use serde::{Deserialize, Serialize};

/// One customer's purchase summary, in the conventions of `lifetimes`.
///
/// Any time unit works (days, weeks, …) as long as it is the same for every customer and for the
/// horizon passed to [`BgNbd::expected_purchases`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RfmSummary {
    /// Number of repeat purchases: purchase periods after the first one (a whole number ≥ 0).
    pub frequency: f64,
    /// Time from the first to the last purchase (0 when `frequency` is 0).
    pub recency: f64,
    /// Time from the first purchase to the end of the observation window (≥ `recency`).
    pub t: f64,
}

impl RfmSummary {
    /// A summary from its three fields (not checked; see [`RfmSummary::validate`]).
    pub fn new(frequency: f64, recency: f64, t: f64) -> Self {
        RfmSummary {
            frequency,
            recency,
            t,
        }
    }

    /// Checks the `lifetimes` preconditions: every field finite and non-negative, `frequency` a
    /// whole number, `recency ≤ t`, and `recency == 0` when `frequency == 0`.
    pub fn validate(&self) -> Result<()> {
        let RfmSummary {
            frequency,
            recency,
            t,
        } = *self;
        for (what, v) in [("frequency", frequency), ("recency", recency), ("T", t)] {
            if !v.is_finite() || v < 0.0 {
                return Err(Error::InvalidArgument(format!(
                    "{what} must be finite and non-negative, got {v}"
                )));
            }
        }
        if frequency.fract() != 0.0 {
            return Err(Error::InvalidArgument(format!(
                "frequency must be a whole number, got {frequency}"
            )));
        }
        if recency > t {
            return Err(Error::InvalidArgument(format!(
                "recency {recency} is larger than T {t}"
            )));
        }
        if frequency == 0.0 && recency != 0.0 {
            return Err(Error::InvalidArgument(format!(
                "recency {recency} is non-zero while frequency is zero"
            )));
        }
        Ok(())
    }
}

/// Largest |log-parameter| the optimiser explores: parameters stay within e^±30, so degenerate
/// data ends at a finite (if extreme) estimate instead of overflowing.
const LOG_PARAM_BOUND: f64 = 30.0;

/// Fitted BG/NBD parameters: purchase rates λ ~ Gamma(shape `r`, rate `alpha`), dropout
/// probabilities p ~ Beta(`a`, `b`).
///
/// `alpha` is in the time unit of the data it was fitted on; the other three are unit-free.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BgNbd {
    /// Shape of the Gamma distribution of purchase rates.
    pub r: f64,
    /// Rate (inverse scale) of the Gamma distribution of purchase rates, in the data's time unit.
    pub alpha: f64,
    /// First shape of the Beta distribution of dropout probabilities.
    pub a: f64,
    /// Second shape of the Beta distribution of dropout probabilities.
    pub b: f64,
}

impl BgNbd {
    /// Fits the model by maximum likelihood, as `lifetimes`' `BetaGeoFitter.fit` does.
    ///
    /// As in `lifetimes`, times are rescaled internally so that the largest `t` is 10 (which keeps
    /// the optimiser well conditioned) and `alpha` is scaled back afterwards.
    ///
    /// Errors: [`Error::Empty`] for no data or when no customer has a repeat purchase (the dropout
    /// process cannot be identified then); [`Error::InvalidArgument`] for a summary that fails
    /// [`RfmSummary::validate`]. Very small or degenerate bases (one repeat customer, say) still
    /// fit, but the estimates may sit at the optimiser's bounds (e^±30) and mean little.
    pub fn fit(data: &[RfmSummary]) -> Result<BgNbd> {
        if data.is_empty() {
            return Err(Error::Empty(
                "no customers to fit the BG/NBD model on".into(),
            ));
        }
        for (i, s) in data.iter().enumerate() {
            s.validate()
                .map_err(|e| Error::InvalidArgument(format!("customer {i}: {e}")))?;
        }
        if data.iter().all(|s| s.frequency == 0.0) {
            return Err(Error::Empty(
                "no repeat purchases: the BG/NBD model cannot be fitted".into(),
            ));
        }
        let max_t = data.iter().map(|s| s.t).fold(0.0, f64::max);
        if max_t <= 0.0 {
            return Err(Error::InvalidArgument(
                "every observation period T is zero".into(),
            ));
        }
        let scale = 10.0 / max_t;
        let rows = BgRows::new(data, scale);
        let (theta, _) = nelder_mead(&mut |th: &[f64]| rows.mean_neg_ll(th), &[0.0; 4], 4000);
        let fit = BgNbd {
            r: theta[0].exp(),
            alpha: theta[1].exp() / scale,
            a: theta[2].exp(),
            b: theta[3].exp(),
        };
        if fit.is_valid() {
            Ok(fit)
        } else {
            Err(Error::InvalidArgument(format!(
                "BG/NBD fit did not converge: {fit:?}"
            )))
        }
    }

    fn is_valid(&self) -> bool {
        [self.r, self.alpha, self.a, self.b]
            .iter()
            .all(|v| v.is_finite() && *v > 0.0)
    }

    /// Total log-likelihood of `data` under these parameters (the sum over customers; Fader, Hardie
    /// & Lee report −9582.4 for CDNOW). Errors on invalid summaries or parameters.
    pub fn log_likelihood(&self, data: &[RfmSummary]) -> Result<f64> {
        if !self.is_valid() {
            return Err(Error::InvalidArgument(format!(
                "BG/NBD parameters must be finite and positive: {self:?}"
            )));
        }
        let mut total = 0.0;
        for s in data {
            s.validate()?;
            total += bg_ll(
                self.r,
                self.alpha,
                self.a,
                self.b,
                s.frequency,
                s.recency,
                s.t,
            );
        }
        Ok(total)
    }

    /// Expected number of purchases in the next `t_future` time units for a customer with history
    /// `s` (`lifetimes`' `conditional_expected_number_of_purchases_up_to_time`, equation 10 of
    /// the paper).
    ///
    /// Returns 0 for `t_future ≤ 0` and NaN for non-finite input or parameters.
    pub fn expected_purchases(&self, t_future: f64, s: &RfmSummary) -> f64 {
        let RfmSummary {
            frequency: x,
            recency: tx,
            t,
        } = *s;
        if !self.is_valid() || ![t_future, x, tx, t].iter().all(|v| v.is_finite()) {
            return f64::NAN;
        }
        if t_future <= 0.0 {
            return 0.0;
        }
        let BgNbd { r, alpha, b, .. } = *self;
        // The formula is 0/0 at a = 1; step just off it (the function is smooth there).
        let a = if (self.a - 1.0).abs() < 1e-7 {
            if self.a >= 1.0 {
                1.0 + 1e-7
            } else {
                1.0 - 1e-7
            }
        } else {
            self.a
        };
        let (ha, hb, hc) = (r + x, b + x, a + b + x - 1.0);
        let first = (a + b + x - 1.0) / (a - 1.0);
        let denom = if x > 0.0 {
            1.0 + a / (b + x - 1.0) * ((r + x) * ((alpha + t).ln() - (alpha + tx).ln())).exp()
        } else {
            1.0
        };
        // With positive series parameters every ₂F₁ term is positive, so the bracket below lies
        // in [0, 1] and `first / denom` bounds the result. When that bound underflows (dropout
        // after the last purchase is all but certain, as in fits at the optimiser's bounds) the
        // answer is 0, even where the series is out of reach (r ≈ 10¹³ needs as many terms).
        if ha > 0.0 && hb > 0.0 && hc > 0.0 && (first / denom).abs() < f64::MIN_POSITIVE {
            return 0.0;
        }
        let z = t_future / (alpha + t + t_future);
        let ln_1mz = -(t_future / (alpha + t)).ln_1p();
        let hyp = ln_hyp2f1(ha, hb, hc, z)
            .or_else(|| {
                ln_hyp2f1(hc - ha, hc - hb, hc, z).map(|(l, s)| (l + (hc - ha - hb) * ln_1mz, s))
            })
            .or_else(|| ln_hyp2f1_near_one(ha, hb, hc, ln_1mz));
        let Some((ln_f, sign)) = hyp else {
            return f64::NAN;
        };
        let y = ln_f + (r + x) * ln_1mz;
        let second = if sign > 0.0 {
            -y.exp_m1()
        } else {
            1.0 + y.exp()
        };
        (first * second / denom).max(0.0)
    }

    /// Probability that a customer with history `s` is still alive (has not dropped out), in
    /// [0, 1] (`lifetimes`' `conditional_probability_alive`; Fader, Hardie & Lee, note 021).
    ///
    /// A customer without repeat purchases (`frequency == 0`) is alive with probability 1: in the
    /// BG/NBD model dropout only happens right after a repeat purchase. NaN for non-finite input.
    pub fn prob_alive(&self, s: &RfmSummary) -> f64 {
        let RfmSummary {
            frequency: x,
            recency: tx,
            t,
        } = *s;
        if !self.is_valid() || ![x, tx, t].iter().all(|v| v.is_finite()) {
            return f64::NAN;
        }
        if x <= 0.0 {
            return 1.0;
        }
        let log_div = (self.r + x) * ((self.alpha + t).ln() - (self.alpha + tx).ln())
            + (self.a / (self.b + x - 1.0)).ln();
        (1.0 / (1.0 + log_div.exp())).clamp(0.0, 1.0)
    }

    /// Probability that a customer with history `s` makes no purchase at all in the next
    /// `t_future` time units: `1 − P(alive) + P(alive)·((α+T)/(α+T+t))^(r+x)` — dropped out, or
    /// alive with a purchase rate λ ~ Gamma(r + x, α + T) that happens to give no purchase.
    ///
    /// Unlike [`BgNbd::prob_alive`] this grows with the time since the last purchase for customers
    /// without repeat purchases too. 1 for `t_future ≤ 0`; NaN for non-finite input.
    pub fn prob_no_purchase(&self, t_future: f64, s: &RfmSummary) -> f64 {
        let alive = self.prob_alive(s);
        if alive.is_nan() || t_future.is_nan() {
            return f64::NAN;
        }
        if t_future <= 0.0 {
            return 1.0;
        }
        let quiet = ((self.r + s.frequency) * -(t_future / (self.alpha + s.t)).ln_1p()).exp();
        (1.0 - alive + alive * quiet).clamp(0.0, 1.0)
    }
}

/// One customer's BG/NBD log-likelihood (section 7 of the paper, as in `lifetimes`).
fn bg_ll(r: f64, alpha: f64, a: f64, b: f64, x: f64, tx: f64, t: f64) -> f64 {
    let a1 = lgamma(r + x) - lgamma(r) + r * alpha.ln();
    let a2 = lgamma(a + b) + lgamma(b + x) - lgamma(b) - lgamma(a + b + x);
    a1 + a2 + bg_tail(r, alpha, a, b, x, tx, t)
}

/// `ln(e^A₃ + [x > 0]·e^A₄)`, the part of the likelihood that depends on recency and T.
fn bg_tail(r: f64, alpha: f64, a: f64, b: f64, x: f64, tx: f64, t: f64) -> f64 {
    let a3 = -(r + x) * (alpha + t).ln();
    if x > 0.0 {
        let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (tx + alpha).ln();
        log_add_exp(a3, a4)
    } else {
        a3
    }
}

fn log_add_exp(u: f64, v: f64) -> f64 {
    let (hi, lo) = if u >= v { (u, v) } else { (v, u) };
    if hi == f64::NEG_INFINITY {
        hi
    } else {
        hi + (lo - hi).exp().ln_1p()
    }
}

/// The fitting data, with identical customers merged into weighted rows and the frequency-only
/// terms computed once per distinct frequency.
struct BgRows {
    /// Distinct frequencies.
    xs: Vec<f64>,
    /// (index into `xs`, scaled recency, scaled T, weight).
    rows: Vec<(usize, f64, f64, f64)>,
    total_weight: f64,
}

impl BgRows {
    fn new(data: &[RfmSummary], scale: f64) -> Self {
        let mut merged: HashMap<(u64, u64, u64), usize> = HashMap::new();
        let mut x_index: HashMap<u64, usize> = HashMap::new();
        let mut xs = Vec::new();
        let mut rows: Vec<(usize, f64, f64, f64)> = Vec::new();
        for s in data {
            let key = (s.frequency.to_bits(), s.recency.to_bits(), s.t.to_bits());
            match merged.get(&key) {
                Some(&i) => rows[i].3 += 1.0,
                None => {
                    let xi = *x_index.entry(s.frequency.to_bits()).or_insert_with(|| {
                        xs.push(s.frequency);
                        xs.len() - 1
                    });
                    merged.insert(key, rows.len());
                    rows.push((xi, s.recency * scale, s.t * scale, 1.0));
                }
            }
        }
        BgRows {
            xs,
            rows,
            total_weight: data.len() as f64,
        }
    }

    /// Mean negative log-likelihood at log-parameters `theta` (what `lifetimes` minimises).
    fn mean_neg_ll(&self, theta: &[f64]) -> f64 {
        if theta.iter().any(|v| v.abs() > LOG_PARAM_BOUND) {
            return f64::INFINITY;
        }
        let (r, alpha, a, b) = (
            theta[0].exp(),
            theta[1].exp(),
            theta[2].exp(),
            theta[3].exp(),
        );
        let base = -lgamma(r) + r * alpha.ln() + lgamma(a + b) - lgamma(b);
        let per_x: Vec<f64> = self
            .xs
            .iter()
            .map(|&x| base + lgamma(r + x) + lgamma(b + x) - lgamma(a + b + x))
            .collect();
        let mut ll = 0.0;
        for &(xi, tx, t, w) in &self.rows {
            let x = self.xs[xi];
            ll += w * (per_x[xi] + bg_tail(r, alpha, a, b, x, tx, t));
        }
        let v = -ll / self.total_weight;
        if v.is_nan() { f64::INFINITY } else { v }
    }
}

/// Fitted Gamma-Gamma parameters for spend per purchase: each purchase of a customer is
/// Gamma(shape `p`, rate ν) with ν ~ Gamma(shape `q`, rate `v`) across customers.
///
/// The mean spend per purchase in the population is `p·v / (q − 1)` (finite only for q > 1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GammaGamma {
    /// Shape of the spend distribution of each purchase.
    pub p: f64,
    /// Shape of the Gamma distribution of customers' rate parameters ν.
    pub q: f64,
    /// Rate of the Gamma distribution of customers' rate parameters ν (in money units).
    pub v: f64,
}

impl GammaGamma {
    /// Why a `(frequency, mean repeat spend)` pair cannot enter [`GammaGamma::fit`], or `None`
    /// when it can (a frequency of 0 can: the fit skips it). One rule for the fit's errors and
    /// for callers that leave bad pairs out instead.
    pub(crate) fn pair_problem(x: f64, m: f64) -> Option<String> {
        if !x.is_finite() || x < 0.0 || x.fract() != 0.0 {
            return Some(format!("frequency must be a whole number ≥ 0, got {x}"));
        }
        if x == 0.0 {
            return None;
        }
        if !m.is_finite() || m <= 0.0 {
            return Some(format!(
                "monetary value must be finite and positive, got {m}"
            ));
        }
        // the likelihood takes ln(x·m + v): a total spend past f64 leaves it infinite
        // everywhere, and the search would return an arbitrary point
        if !(x * m).is_finite() {
            return Some(format!("total repeat spend {x} × {m} is not finite"));
        }
        None
    }

    /// Fits the model by maximum likelihood, as `lifetimes`' `GammaGammaFitter.fit` does, on
    /// `(frequency, mean monetary value of the repeat purchases)` pairs.
    ///
    /// Pairs with `frequency == 0` carry no spend information and are skipped (the model is fitted
    /// on repeat customers only). Errors: [`Error::Empty`] when no pair has `frequency > 0`;
    /// [`Error::InvalidArgument`] for a non-finite or negative frequency, a frequency that is not a
    /// whole number, or a monetary value that is not finite and positive where `frequency > 0`,
    /// or whose product with the frequency (the total repeat spend) overflows, and when the
    /// fitted `q ≤ 1` (the population mean spend would be infinite: the data is too heavy-tailed
    /// for this model).
    pub fn fit(data: &[(f64, f64)]) -> Result<GammaGamma> {
        let mut pairs = Vec::with_capacity(data.len());
        for (i, &(x, m)) in data.iter().enumerate() {
            if x == 0.0 {
                continue;
            }
            if let Some(problem) = Self::pair_problem(x, m) {
                return Err(Error::InvalidArgument(format!("customer {i}: {problem}")));
            }
            pairs.push((x, m));
        }
        if pairs.is_empty() {
            return Err(Error::Empty(
                "no repeat customers to fit the Gamma-Gamma model on".into(),
            ));
        }
        let n = pairs.len() as f64;
        // Constant per-row terms: (p·x − 1)·ln m + p·x·ln x = p·x·(ln m + ln x) − ln m.
        let pre: Vec<(f64, f64, f64)> = pairs.iter().map(|&(x, m)| (x, m, m.ln())).collect();
        let mut objective = |th: &[f64]| {
            if th.iter().any(|v| v.abs() > LOG_PARAM_BOUND) {
                return f64::INFINITY;
            }
            let (p, q, v) = (th[0].exp(), th[1].exp(), th[2].exp());
            let base = -lgamma(q) + q * v.ln();
            let mut ll = 0.0;
            for &(x, m, ln_m) in &pre {
                let px = p * x;
                ll += base + lgamma(px + q) - lgamma(px) + (px - 1.0) * ln_m + px * x.ln()
                    - (px + q) * (x * m + v).ln();
            }
            let val = -ll / n;
            if val.is_nan() { f64::INFINITY } else { val }
        };
        let (theta, best) = nelder_mead(&mut objective, &[0.0; 3], 3000);
        if !best.is_finite() {
            return Err(Error::InvalidArgument(
                "Gamma-Gamma fit found no point of finite likelihood".into(),
            ));
        }
        let fit = GammaGamma {
            p: theta[0].exp(),
            q: theta[1].exp(),
            v: theta[2].exp(),
        };
        if ![fit.p, fit.q, fit.v]
            .iter()
            .all(|v| v.is_finite() && *v > 0.0)
        {
            return Err(Error::InvalidArgument(format!(
                "Gamma-Gamma fit did not converge: {fit:?}"
            )));
        }
        if fit.q <= 1.0 {
            return Err(Error::InvalidArgument(format!(
                "Gamma-Gamma fit has q = {} ≤ 1: the mean spend is undefined for this data",
                fit.q
            )));
        }
        Ok(fit)
    }

    /// Total log-likelihood of `(frequency, monetary)` pairs with `frequency > 0` (others skipped).
    pub fn log_likelihood(&self, data: &[(f64, f64)]) -> f64 {
        let GammaGamma { p, q, v } = *self;
        data.iter()
            .filter(|&&(x, _)| x > 0.0)
            .map(|&(x, m)| {
                let px = p * x;
                lgamma(px + q) - lgamma(px) - lgamma(q)
                    + q * v.ln()
                    + (px - 1.0) * m.ln()
                    + px * x.ln()
                    - (px + q) * (x * m + v).ln()
            })
            .sum()
    }

    /// Mean spend per purchase across the population, `p·v / (q − 1)`; `None` when q ≤ 1.
    pub fn population_mean(&self) -> Option<f64> {
        (self.q > 1.0).then(|| self.p * self.v / (self.q - 1.0))
    }

    /// Expected spend per purchase of a customer with `frequency` repeat purchases whose mean
    /// value was `monetary` (`lifetimes`' `conditional_expected_average_profit`): a weighted mean
    /// of the population mean and the customer's own mean, the weight growing with `frequency`.
    ///
    /// With `frequency == 0` this is the population mean. Requires q > 1 (which
    /// [`GammaGamma::fit`] guarantees); NaN otherwise.
    pub fn conditional_expected_average_value(&self, frequency: f64, monetary: f64) -> f64 {
        let Some(mean) = self.population_mean() else {
            return f64::NAN;
        };
        if frequency <= 0.0 {
            return mean;
        }
        let w = self.p * frequency / (self.p * frequency + self.q - 1.0);
        (1.0 - w) * mean + w * monetary
    }
}

/// ln|₂F₁(a, b; c; z)| and its sign for 0 ≤ z < 1, by the Gauss series.
///
/// The sum is kept rescaled so that huge intermediate terms cannot overflow, and it stops once the
/// remaining tail, bounded by a geometric series, is below 1e-16 of the sum. `None` when the
/// series meets a pole (c a non-positive integer), does not settle within 100 000 terms, or
/// cancels to zero.
fn ln_hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Option<(f64, f64)> {
    const MAX_TERMS: usize = 100_000;
    const RESCALE: f64 = 1e200;
    if !(0.0..1.0).contains(&z) {
        return None;
    }
    let (mut term, mut sum, mut ln_scale) = (1.0f64, 1.0f64, 0.0f64);
    for n in 0..MAX_TERMS {
        let nf = n as f64;
        let den = (c + nf) * (nf + 1.0);
        if den == 0.0 {
            return None;
        }
        let ratio = (a + nf) * (b + nf) / den * z;
        term *= ratio;
        sum += term;
        if !sum.is_finite() {
            return None;
        }
        if sum.abs() > RESCALE || term.abs() > RESCALE {
            sum /= RESCALE;
            term /= RESCALE;
            ln_scale += RESCALE.ln();
        }
        let rho = tail_ratio_bound(a, b, c, z, nf).unwrap_or(if nf + 1.0 > c.abs() {
            ratio.abs().max(z)
        } else {
            f64::INFINITY
        });
        if term == 0.0 || (rho < 1.0 && term.abs() * rho / (1.0 - rho) <= 1e-16 * sum.abs()) {
            if sum == 0.0 {
                return None;
            }
            return Some((sum.abs().ln() + ln_scale, sum.signum()));
        }
    }
    None
}

/// `ln |₂F₁(a, b; c; z)|` and its sign for `z` near 1, given `ln(1 − z)`, by the connection to
/// series in `1 − z` (Abramowitz & Stegun 15.3.6):
///
/// `F(a,b;c;z) = Γ(c)Γ(c−a−b)/(Γ(c−a)Γ(c−b))·F(a,b;a+b−c+1;1−z)
///             + (1−z)^(c−a−b)·Γ(c)Γ(a+b−c)/(Γ(a)Γ(b))·F(c−a,c−b;c−a−b+1;1−z)`.
///
/// Both series converge fast where the ones in `z` need millions of terms or cannot start
/// (`z` rounded to 1, as in fits with a tiny `alpha`). `None` when `c − a − b` is within 1e-9 of
/// an integer (the formula's Gamma functions have poles there) or a series fails.
fn ln_hyp2f1_near_one(a: f64, b: f64, c: f64, ln_1mz: f64) -> Option<(f64, f64)> {
    let s = c - a - b;
    if !s.is_finite() || (s - s.round()).abs() < 1e-9 || !ln_1mz.is_finite() {
        return None;
    }
    let w = ln_1mz.exp();
    // ln |Γ(x)| and its sign; 1/Γ at a pole is 0, which `-inf` carries through `exp`.
    let lg = |x: f64| {
        let (l, sign) = libm::lgamma_r(x);
        (l, if sign < 0 { -1.0 } else { 1.0 })
    };
    let (lc, sc) = lg(c);
    // Γ(c)·Γ(up) / (Γ(d1)·Γ(d2)) times a series, as (ln |·|, sign)
    let part = |up: f64, d1: f64, d2: f64, (lf, sf): (f64, f64)| {
        let ((lu, su), (l1, s1), (l2, s2)) = (lg(up), lg(d1), lg(d2));
        (lc + lu - l1 - l2 + lf, sc * su * s1 * s2 * sf)
    };
    let first = part(s, c - a, c - b, ln_hyp2f1(a, b, 1.0 - s, w)?);
    let (l2, sign2) = part(-s, a, b, ln_hyp2f1(c - a, c - b, s + 1.0, w)?);
    let second = (l2 + s * ln_1mz, sign2);
    // Signed log-sum-exp of the two parts.
    let (hi, lo) = if first.0 >= second.0 {
        (first, second)
    } else {
        (second, first)
    };
    if !hi.0.is_finite() {
        return None;
    }
    let sum = hi.1 + lo.1 * (lo.0 - hi.0).exp();
    if sum == 0.0 || !sum.is_finite() {
        return None;
    }
    Some((hi.0 + sum.abs().ln(), sum.signum()))
}

/// A bound on every later term ratio of the ₂F₁ series once term `n` is summed, when `a + m`,
/// `b + m` and `c + m` are positive for all later `m`; `None` otherwise.
///
/// The ratio of term `m + 1` to term `m` is `z · (a+m)(b+m) / ((c+m)(1+m))`. Split into two
/// factors of the form `(p+m)/(q+m)` with `p + m, q + m > 0`, each moves monotonically towards 1
/// as `m` grows, so it never exceeds `max(its value at m = n + 1, 1)`. Both ways of pairing the
/// numerators with the denominators give a valid bound; the smaller is returned. Unlike the
/// generic test this bounds the tail long before `m` passes `|c|`, which matters for the huge
/// `c` of a fitted BG/NBD model with almost no dropout (a and b in the millions).
fn tail_ratio_bound(a: f64, b: f64, c: f64, z: f64, n: f64) -> Option<f64> {
    let m = n + 1.0;
    if !(a + m > 0.0 && b + m > 0.0 && c + m > 0.0) {
        return None;
    }
    let g = |p: f64, q: f64| ((p + m) / (q + m)).max(1.0);
    Some(z * (g(a, 1.0) * g(b, c)).min(g(a, c) * g(b, 1.0)))
}

/// Minimises `f` with the Nelder–Mead simplex method (reflection 1, expansion 2, contraction ½,
/// shrink ½), starting from a simplex of side 0.5 around `x0` and restarting from the best point
/// until a restart no longer improves it (at most 5 runs). Spends at most `max_evals` function
/// evaluations. Deterministic. Returns the best point and its value.
fn nelder_mead(f: &mut dyn FnMut(&[f64]) -> f64, x0: &[f64], max_evals: usize) -> (Vec<f64>, f64) {
    const FTOL: f64 = 1e-11;
    const XTOL: f64 = 1e-7;
    let n = x0.len();
    let mut evals = 0usize;
    let mut eval = |x: &[f64], evals: &mut usize| {
        *evals += 1;
        let v = f(x);
        if v.is_nan() { f64::INFINITY } else { v }
    };
    let mut best = x0.to_vec();
    let mut best_f = eval(&best, &mut evals);
    for run in 0..5 {
        let step = if run == 0 { 0.5 } else { 0.1 };
        let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(n + 1);
        simplex.push((best.clone(), best_f));
        for i in 0..n {
            let mut x = best.clone();
            x[i] += step;
            let fx = eval(&x, &mut evals);
            simplex.push((x, fx));
        }
        loop {
            simplex.sort_by(|p, q| p.1.total_cmp(&q.1));
            let (f_best, f_worst) = (simplex[0].1, simplex[n].1);
            let spread_x = simplex[1..]
                .iter()
                .flat_map(|(x, _)| x.iter().zip(&simplex[0].0).map(|(u, v)| (u - v).abs()))
                .fold(0.0, f64::max);
            if evals >= max_evals || ((f_worst - f_best).abs() <= FTOL && spread_x <= XTOL) {
                break;
            }
            let mut centroid = vec![0.0; n];
            for (x, _) in &simplex[..n] {
                for (c, v) in centroid.iter_mut().zip(x) {
                    *c += v / n as f64;
                }
            }
            let along = |t: f64| -> Vec<f64> {
                centroid
                    .iter()
                    .zip(&simplex[n].0)
                    .map(|(c, w)| c + t * (c - w))
                    .collect()
            };
            let xr = along(1.0);
            let fr = eval(&xr, &mut evals);
            if fr < f_best {
                let xe = along(2.0);
                let fe = eval(&xe, &mut evals);
                simplex[n] = if fe < fr { (xe, fe) } else { (xr, fr) };
                continue;
            }
            if fr < simplex[n - 1].1 {
                simplex[n] = (xr, fr);
                continue;
            }
            let (xc, fc) = if fr < f_worst {
                let xc = along(0.5);
                let fc = eval(&xc, &mut evals);
                (xc, fc)
            } else {
                let xc = along(-0.5);
                let fc = eval(&xc, &mut evals);
                (xc, fc)
            };
            if fc < fr.min(f_worst) {
                simplex[n] = (xc, fc);
                continue;
            }
            // Shrink towards the best vertex.
            let x_best = simplex[0].0.clone();
            for (x, fx) in simplex.iter_mut().skip(1) {
                for (v, b) in x.iter_mut().zip(&x_best) {
                    *v = b + 0.5 * (*v - b);
                }
                *fx = eval(x, &mut evals);
            }
        }
        simplex.sort_by(|p, q| p.1.total_cmp(&q.1));
        let improved = best_f - simplex[0].1;
        if simplex[0].1 <= best_f {
            best = simplex[0].0.clone();
            best_f = simplex[0].1;
        }
        if (run > 0 && improved <= FTOL) || evals >= max_evals {
            break;
        }
    }
    (best, best_f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{RngExt, SeedableRng};

    fn cdnow() -> Vec<RfmSummary> {
        let text = include_str!("../data/cdnow_customers_summary.csv");
        text.lines()
            .skip(1)
            .map(|l| {
                let f: Vec<f64> = l.split(',').skip(1).map(|v| v.parse().unwrap()).collect();
                RfmSummary::new(f[0], f[1], f[2])
            })
            .collect()
    }

    /// Published CDNOW estimates (Fader, Hardie & Lee 2005; lifetimes documentation).
    const CDNOW: BgNbd = BgNbd {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };

    #[test]
    fn bgnbd_recovers_published_cdnow_parameters() {
        let data = cdnow();
        assert_eq!(data.len(), 2357);
        let fit = BgNbd::fit(&data).unwrap();
        assert!((fit.r - CDNOW.r).abs() <= 0.01, "{fit:?}");
        for (got, want) in [(fit.alpha, CDNOW.alpha), (fit.a, CDNOW.a), (fit.b, CDNOW.b)] {
            assert!((got / want - 1.0).abs() <= 0.02, "{fit:?}");
        }
        // The paper's maximised log-likelihood is −9582.4.
        let ll = fit.log_likelihood(&data).unwrap();
        assert!((ll + 9582.4).abs() < 0.1, "{ll}");
        // The maximum: nudging any parameter lowers the likelihood.
        for i in 0..4 {
            let mut p = [fit.r, fit.alpha, fit.a, fit.b];
            p[i] *= 1.01;
            let nudged = BgNbd {
                r: p[0],
                alpha: p[1],
                a: p[2],
                b: p[3],
            };
            assert!(nudged.log_likelihood(&data).unwrap() < ll);
        }
    }

    #[test]
    fn bgnbd_matches_hardie_spreadsheet() {
        // lifetimes' test against Hardie's Excel sheet: x = 2, t_x = 30.43, T = 38.86, t = 39 → 1.226.
        let fit = BgNbd::fit(&cdnow()).unwrap();
        let s = RfmSummary::new(2.0, 30.43, 38.86);
        let e = fit.expected_purchases(39.0, &s);
        assert!((e - 1.226).abs() < 0.001, "{e}");
        // Same with the published parameters.
        assert!((CDNOW.expected_purchases(39.0, &s) - 1.226).abs() < 0.002);
    }

    #[test]
    fn bgnbd_predictions_behave() {
        let m = CDNOW;
        let t = 38.86;
        // Probability alive: 1 without repeats, falls as the last purchase recedes.
        assert_eq!(m.prob_alive(&RfmSummary::new(0.0, 0.0, t)), 1.0);
        let mut last = 1.0;
        for tx in [38.0, 30.0, 20.0, 10.0, 1.0] {
            let p = m.prob_alive(&RfmSummary::new(3.0, tx, t));
            assert!((0.0..=1.0).contains(&p) && p < last, "{tx} {p}");
            last = p;
        }
        // Expected purchases grow with the horizon and with frequency (recent buyers).
        let s = RfmSummary::new(5.0, 37.0, t);
        let e: Vec<f64> = [0.0, 1.0, 10.0, 52.0, 520.0]
            .iter()
            .map(|&h| m.expected_purchases(h, &s))
            .collect();
        assert_eq!(e[0], 0.0);
        assert!(e.windows(2).all(|w| w[0] < w[1]), "{e:?}");
        assert!(m.expected_purchases(10.0, &RfmSummary::new(10.0, 37.0, t)) > e[2]);
        // No purchase in the next t: 1 at t = 0, falling to 1 − P(alive), rising with idle time.
        let s3 = RfmSummary::new(3.0, 20.0, t);
        assert_eq!(m.prob_no_purchase(0.0, &s3), 1.0);
        let q: Vec<f64> = [1.0, 10.0, 100.0, 1e6]
            .iter()
            .map(|&h| m.prob_no_purchase(h, &s3))
            .collect();
        assert!(q.windows(2).all(|w| w[0] > w[1]), "{q:?}");
        assert!((q[3] - (1.0 - m.prob_alive(&s3))).abs() < 1e-3);
        let one = |t: f64| m.prob_no_purchase(10.0, &RfmSummary::new(0.0, 0.0, t));
        assert!(one(1.0) < one(10.0) && one(10.0) < one(38.0));
        // Large frequencies and long horizons stay finite.
        for (x, h) in [(0.0, 1e4), (200.0, 52.0), (1000.0, 1000.0)] {
            let v =
                m.expected_purchases(h, &RfmSummary::new(x, if x > 0.0 { 38.0 } else { 0.0 }, t));
            assert!(v.is_finite() && v >= 0.0, "{x} {h} {v}");
        }
        // a = 1 is a removable singularity.
        let near = |a: f64| BgNbd { a, ..m }.expected_purchases(10.0, &s);
        assert!((near(1.0) - near(1.001)).abs() < 0.01 && near(1.0).is_finite());
    }

    #[test]
    fn hyp2f1_known_values() {
        // ₂F₁(1, 1; 2; z) = −ln(1 − z)/z.
        for z in [0.1, 0.5, 0.9, 0.99] {
            let (l, s) = ln_hyp2f1(1.0, 1.0, 2.0, z).unwrap();
            assert_eq!(s, 1.0);
            assert!((l.exp() - (-(1.0 - z).ln() / z)).abs() < 1e-12, "{z}");
        }
        // ₂F₁(a, b; b; z) = (1 − z)^−a, with large parameters (rescaling path).
        let (l, _) = ln_hyp2f1(800.0, 3.0, 3.0, 0.9).unwrap();
        assert!((l - (-800.0 * 0.1f64.ln())).abs() < 1e-9, "{l}");
        // Terminating series: ₂F₁(−2, b; c; z) is a polynomial.
        let (l, s) = ln_hyp2f1(-2.0, 1.0, 1.0, 0.5).unwrap();
        assert!((s * l.exp() - 0.25).abs() < 1e-15);
        assert!(ln_hyp2f1(1.0, 1.0, -1.0, 0.5).is_none());
        assert!(ln_hyp2f1(1.0, 1.0, 2.0, 1.0).is_none());
    }

    #[test]
    fn hyp2f1_near_one_matches_the_series() {
        // Where both converge, the 1 − z connection agrees with the direct series, including
        // negative c − a and parts of opposite sign.
        for &(a, b, c) in &[
            (1.5, 2.3, 4.1),
            (0.3, 1.7, 2.5),
            (1.03, 233.3, 310_262.2),
            (2.0, 0.5, 1.2),
        ] {
            for z in [0.9, 0.99, 0.999] {
                let direct = ln_hyp2f1(a, b, c, z).expect("direct");
                let near = ln_hyp2f1_near_one(a, b, c, (-z).ln_1p()).expect("near");
                assert_eq!(direct.1, near.1, "{a} {b} {c} {z}");
                assert!(
                    (direct.0 - near.0).abs() < 1e-9,
                    "{a} {b} {c} {z}: {direct:?} {near:?}"
                );
            }
        }
        // ₂F₁(1, 1; 2; z) = −ln(1 − z)/z: c − a − b = 0 is a pole of the connection formula.
        assert!(ln_hyp2f1_near_one(1.0, 1.0, 2.0, -3.0).is_none());
        // At z rounded to 1 (1 − z = 1e-20) Gauss's sum Γ(c)Γ(c−a−b)/(Γ(c−a)Γ(c−b)) is the
        // limit: ₂F₁(1, 1; 3.5; 1) = Γ(3.5)Γ(1.5)/(Γ(2.5)Γ(2.5)) = 2.5/1.5.
        let (l, s) = ln_hyp2f1_near_one(1.0, 1.0, 3.5, -20.0 * 10f64.ln()).unwrap();
        assert_eq!(s, 1.0);
        assert!((l.exp() - 5.0 / 3.0).abs() < 1e-12, "{}", l.exp());
    }

    #[test]
    fn bgnbd_rejects_bad_input() {
        assert!(matches!(BgNbd::fit(&[]), Err(Error::Empty(_))));
        let zeros = vec![RfmSummary::new(0.0, 0.0, 10.0); 50];
        assert!(matches!(BgNbd::fit(&zeros), Err(Error::Empty(_))));
        for bad in [
            RfmSummary::new(f64::NAN, 0.0, 1.0),
            RfmSummary::new(1.0, -1.0, 1.0),
            RfmSummary::new(1.0, 2.0, 1.0),
            RfmSummary::new(1.5, 1.0, 2.0),
            RfmSummary::new(0.0, 1.0, 2.0),
            RfmSummary::new(1.0, 1.0, f64::INFINITY),
        ] {
            assert!(
                matches!(
                    BgNbd::fit(&[bad, RfmSummary::new(1.0, 1.0, 2.0)]),
                    Err(Error::InvalidArgument(_))
                ),
                "{bad:?}"
            );
        }
        // One customer, or all identical: no panic, finite parameters.
        let one = BgNbd::fit(&[RfmSummary::new(3.0, 5.0, 9.0)]).unwrap();
        assert!(one.prob_alive(&RfmSummary::new(3.0, 5.0, 9.0)).is_finite());
        let same = BgNbd::fit(&vec![RfmSummary::new(1.0, 1.0, 1.0); 20]).unwrap();
        assert!(
            same.expected_purchases(1.0, &RfmSummary::new(1.0, 1.0, 1.0))
                .is_finite()
        );
        let nan = BgNbd {
            r: f64::NAN,
            ..CDNOW
        };
        assert!(
            nan.expected_purchases(1.0, &RfmSummary::new(1.0, 1.0, 1.0))
                .is_nan()
        );
        assert!(nan.log_likelihood(&[]).is_err());
    }

    /// Gamma(shape, rate) by Marsaglia & Tsang, with Box–Muller normals.
    fn gamma(rng: &mut SmallRng, shape: f64, rate: f64) -> f64 {
        if shape < 1.0 {
            let u: f64 = rng.random_range(f64::EPSILON..1.0);
            return gamma(rng, shape + 1.0, rate) * u.powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let (u1, u2): (f64, f64) = (
                rng.random_range(f64::EPSILON..1.0),
                rng.random_range(0.0..1.0),
            );
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            let v = (1.0 + c * z).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u: f64 = rng.random_range(f64::EPSILON..1.0);
            if u.ln() < 0.5 * z * z + d - d * v + d * v.ln() {
                return d * v / rate;
            }
        }
    }

    #[test]
    fn gamma_gamma_recovers_synthetic_parameters() {
        let (p, q, v) = (6.0, 4.0, 15.0);
        let mut rng = SmallRng::seed_from_u64(7);
        let mut data = Vec::new();
        let mut truth = Vec::new();
        for _ in 0..4000 {
            let nu = gamma(&mut rng, q, v);
            let x = rng.random_range(1..=8) as f64;
            // The sum of x Gamma(p, ν) spends is Gamma(p·x, ν).
            let m = gamma(&mut rng, p * x, nu) / x;
            data.push((x, m));
            truth.push(p / nu);
        }
        data.push((0.0, 0.0)); // skipped
        let fit = GammaGamma::fit(&data).unwrap();
        let true_mean = p * v / (q - 1.0);
        let mean = fit.population_mean().unwrap();
        assert!(
            (mean / true_mean - 1.0).abs() < 0.05,
            "{fit:?} {mean} vs {true_mean}"
        );
        for (got, want) in [(fit.p, p), (fit.q, q), (fit.v, v)] {
            assert!((got / want - 1.0).abs() < 0.25, "{fit:?}");
        }
        // A maximum-likelihood fit explains the data at least as well as the true parameters.
        let truth_ll = GammaGamma { p, q, v }.log_likelihood(&data);
        assert!(fit.log_likelihood(&data) >= truth_ll);
        // Shrinkage beats each customer's raw mean at predicting their true mean spend.
        let (mut err_raw, mut err_shrunk) = (0.0, 0.0);
        for (&(x, m), &mu) in data.iter().zip(&truth) {
            err_raw += (m - mu).powi(2);
            err_shrunk += (fit.conditional_expected_average_value(x, m) - mu).powi(2);
        }
        assert!(err_shrunk < err_raw, "{err_shrunk} vs {err_raw}");
        assert_eq!(fit.conditional_expected_average_value(0.0, 123.0), mean);
    }

    #[test]
    fn gamma_gamma_rejects_bad_input() {
        assert!(matches!(GammaGamma::fit(&[]), Err(Error::Empty(_))));
        assert!(matches!(
            GammaGamma::fit(&[(0.0, 5.0), (0.0, 0.0)]),
            Err(Error::Empty(_))
        ));
        for bad in [
            (1.0, 0.0),
            (1.0, -3.0),
            (1.0, f64::NAN),
            (-1.0, 2.0),
            (f64::NAN, 2.0),
            (1.5, 2.0),
            (2.0, 1e308), // finite mean, infinite total
        ] {
            assert!(
                matches!(
                    GammaGamma::fit(&[bad, (2.0, 3.0)]),
                    Err(Error::InvalidArgument(_))
                ),
                "{bad:?}"
            );
        }
        // Degenerate data does not panic.
        let _ = GammaGamma::fit(&[(2.0, 10.0)]);
        let _ = GammaGamma::fit(&vec![(3.0, 10.0); 30]);
        let user = GammaGamma {
            p: 1.0,
            q: 0.5,
            v: 1.0,
        };
        assert!(user.population_mean().is_none());
        assert!(user.conditional_expected_average_value(2.0, 3.0).is_nan());
    }
}
