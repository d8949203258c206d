//! Customer-experience signals: survey scores (NPS, CSAT, CES) per customer, and a base-level
//! report with NPS, CSAT %, average CES and period-over-period retention and churn.
//!
//! # Definitions
//!
//! * **NPS** (Net Promoter Score, 0–10 answers): % promoters (9–10) − % detractors (0–6), from
//!   −100 to 100. Passives (7–8) count in the denominator only.
//! * **CSAT** (customer satisfaction, 1–5 answers): % of answers that are 4 or 5.
//! * **CES** (customer effort score, 1–7 answers, 7 = most effort): the mean answer.
//! * Every response in the report window counts once (a customer answering twice counts twice).
//! * **Retention** for period `P` (calendar month or quarter, UTC): of the customers with a
//!   purchase in `P`, the share who also bought in `P + 1`; **churn** is `1 − retention`.
//!   Periods whose successor lies after the last recorded purchase are left out; the last
//!   reported successor may be a partial period.
//! * A **poor** response — NPS detractor (0–6), CSAT ≤ 2, CES ≥ 5 — puts the customer in
//!   service recovery until a newer response that is not poor or a newer purchase (see
//!   [`crate::greeting`]).
//!
//! ```
//! use rapport::feedback::{FeedbackLog, Period, Score, report};
//! use rapport::{History, Timestamp};
//! let mut log = FeedbackLog::default();
//! let t = Timestamp::parse("2024-03-01").unwrap();
//! log.record("ann", Score::Nps(10), t).unwrap();
//! log.record("bob", Score::Nps(3), t).unwrap();
//! log.record("cy", Score::Nps(8), t).unwrap();
//! assert!(log.record("cy", Score::Nps(11), t).is_err());
//! let r = report(&History::new(), &log, Period::Month, None).unwrap();
//! assert_eq!(r.nps, Some(0.0));
//! assert!(log.is_poor("bob", t));
//! ```

use crate::error::{Error, Result};
use crate::history::History;
use crate::time::Timestamp;
use chrono::Datelike;
use hashbrown::HashMap;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One survey answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Score {
    /// Net Promoter answer, 0–10.
    Nps(u8),
    /// Customer satisfaction, 1–5.
    Csat(u8),
    /// Customer effort, 1–7 (higher is more effort).
    Ces(u8),
}

impl Score {
    /// The scale's name (`NPS`, `CSAT`, `CES`).
    pub fn kind(self) -> &'static str {
        match self {
            Score::Nps(_) => "NPS",
            Score::Csat(_) => "CSAT",
            Score::Ces(_) => "CES",
        }
    }

    /// The answer.
    pub fn value(self) -> u8 {
        match self {
            Score::Nps(v) | Score::Csat(v) | Score::Ces(v) => v,
        }
    }

    /// Smallest and largest valid answer.
    pub fn range(self) -> (u8, u8) {
        match self {
            Score::Nps(_) => (0, 10),
            Score::Csat(_) => (1, 5),
            Score::Ces(_) => (1, 7),
        }
    }

    /// The score itself when it is in range, else [`Error::ScoreOutOfRange`].
    pub fn validate(self) -> Result<Score> {
        Score::on_scale(Self::scale(self), i64::from(self.value()))
    }

    /// An answer on `scale` (`Score::Nps`, `Score::Csat` or `Score::Ces`) from any integer, as
    /// callers outside Rust hand them over: [`Error::ScoreOutOfRange`] when it is off the scale,
    /// also beyond what a `u8` holds.
    ///
    /// ```
    /// use rapport::{Error, Score};
    /// assert_eq!(Score::on_scale(Score::Csat, 4).unwrap(), Score::Csat(4));
    /// let e = Score::on_scale(Score::Nps, 300).unwrap_err();
    /// assert!(matches!(e, Error::ScoreOutOfRange { value: 300, .. }));
    /// assert_eq!(e.to_string(), "NPS score 300 is out of range 0–10");
    /// ```
    pub fn on_scale(scale: fn(u8) -> Score, value: i64) -> Result<Score> {
        let probe = scale(0);
        let (min, max) = probe.range();
        match u8::try_from(value) {
            Ok(v) if (min..=max).contains(&v) => Ok(scale(v)),
            _ => Err(Error::ScoreOutOfRange {
                kind: probe.kind(),
                value,
                min,
                max,
            }),
        }
    }

    /// The constructor of this score's scale.
    fn scale(self) -> fn(u8) -> Score {
        match self {
            Score::Nps(_) => Score::Nps,
            Score::Csat(_) => Score::Csat,
            Score::Ces(_) => Score::Ces,
        }
    }

    /// A poor experience: NPS 0–6, CSAT 1–2, CES 5–7.
    pub fn is_poor(self) -> bool {
        match self {
            Score::Nps(v) => v <= 6,
            Score::Csat(v) => v <= 2,
            Score::Ces(v) => v >= 5,
        }
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind(), self.value())
    }
}

/// A recorded answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackEvent {
    /// The answer.
    pub score: Score,
    /// When it was given.
    pub timestamp: Timestamp,
}

/// Every answer, per customer id, in time order. Customers need not be in the purchase history.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedbackLog {
    #[serde(serialize_with = "crate::persist::sorted_map")]
    by_customer: HashMap<String, Vec<FeedbackEvent>>,
}

impl FeedbackLog {
    /// Records an answer. Errors on an empty customer id ([`Error::InvalidArgument`]) and an
    /// out-of-range score ([`Error::ScoreOutOfRange`]); nothing is stored then.
    pub fn record(&mut self, customer: &str, score: Score, at: Timestamp) -> Result<()> {
        if customer.is_empty() {
            return Err(Error::InvalidArgument("empty customer id".into()));
        }
        let score = score.validate()?;
        let events = self.by_customer.entry_ref(customer).or_default();
        let pos = events.partition_point(|e| e.timestamp <= at);
        events.insert(
            pos,
            FeedbackEvent {
                score,
                timestamp: at,
            },
        );
        Ok(())
    }

    /// A customer's answers, oldest first (empty when none).
    pub fn events(&self, customer: &str) -> &[FeedbackEvent] {
        self.by_customer.get(customer).map_or(&[], Vec::as_slice)
    }

    /// The customer's latest answer given at or before `at`.
    pub fn latest(&self, customer: &str, at: Timestamp) -> Option<FeedbackEvent> {
        let events = self.events(customer);
        let n = events.partition_point(|e| e.timestamp <= at);
        n.checked_sub(1).map(|i| events[i])
    }

    /// Whether the customer's latest answer at or before `at` is poor ([`Score::is_poor`]).
    /// Purchases are not considered here; the greeting engine also ends recovery at a newer
    /// purchase.
    pub fn is_poor(&self, customer: &str, at: Timestamp) -> bool {
        self.latest(customer, at).is_some_and(|e| e.score.is_poor())
    }

    /// Number of answers.
    pub fn len(&self) -> usize {
        self.by_customer.values().map(Vec::len).sum()
    }

    /// True when no answer is recorded.
    pub fn is_empty(&self) -> bool {
        self.by_customer.values().all(Vec::is_empty)
    }

    /// Checks a loaded log: every answer in range and each customer's answers in time order
    /// (what [`FeedbackLog::record`] keeps), else [`Error::Corrupted`].
    pub(crate) fn check(&self) -> Result<()> {
        for (customer, events) in &self.by_customer {
            if customer.is_empty() {
                return Err(Error::Corrupted(
                    "feedback with an empty customer id".into(),
                ));
            }
            if let Some(e) = events.iter().find(|e| e.score.validate().is_err()) {
                return Err(Error::Corrupted(format!(
                    "feedback of {customer:?}: {} is out of range",
                    e.score
                )));
            }
            if events.windows(2).any(|w| w[0].timestamp > w[1].timestamp) {
                return Err(Error::Corrupted(format!(
                    "feedback of {customer:?} is not in time order"
                )));
            }
        }
        Ok(())
    }

    /// Every (customer, answer) pair, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &FeedbackEvent)> + '_ {
        self.by_customer
            .iter()
            .flat_map(|(c, es)| es.iter().map(move |e| (c.as_str(), e)))
    }
}

/// Cohort length for retention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Period {
    /// Calendar months (UTC).
    Month,
    /// Calendar quarters (UTC).
    Quarter,
}

impl Period {
    /// Period number of a timestamp (months or quarters since year 0). Timestamps beyond the
    /// calendar's range (about ±262,000 years) fall in its first or last month, so they keep
    /// their order instead of landing in 1970.
    fn index(self, t: Timestamp) -> i64 {
        let dt = chrono::DateTime::from_timestamp(t.0, 0).unwrap_or(if t.0 < 0 {
            chrono::DateTime::<chrono::Utc>::MIN_UTC
        } else {
            chrono::DateTime::<chrono::Utc>::MAX_UTC
        });
        let m = dt.year() as i64 * 12 + dt.month0() as i64;
        match self {
            Period::Month => m,
            Period::Quarter => m.div_euclid(3),
        }
    }

    fn start(self, index: i64) -> Timestamp {
        let m = match self {
            Period::Month => index,
            Period::Quarter => index * 3,
        };
        Timestamp::from_ymd_hms(
            m.div_euclid(12) as i32,
            m.rem_euclid(12) as u32 + 1,
            1,
            0,
            0,
            0,
        )
        .unwrap_or(Timestamp(0))
    }

    fn label(self, index: i64) -> String {
        match self {
            Period::Month => format!("{}-{:02}", index.div_euclid(12), index.rem_euclid(12) + 1),
            Period::Quarter => format!("{}-Q{}", index.div_euclid(4), index.rem_euclid(4) + 1),
        }
    }
}

/// Retention from one period to the next.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeriodRetention {
    /// `2011-03` for months, `2011-Q1` for quarters.
    pub period: String,
    /// First second of the period.
    pub start: Timestamp,
    /// Customers with a purchase in the period.
    pub active: usize,
    /// Of those, customers with a purchase in the next period.
    pub retained: usize,
    /// `retained / active` (0 when no one was active).
    pub retention_rate: f64,
    /// `1 − retention_rate` (0 when no one was active).
    pub churn_rate: f64,
}

/// The customer-experience report of [`report`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeedbackReport {
    /// NPS in [−100, 100]; `None` without NPS answers.
    pub nps: Option<f64>,
    /// NPS answers 9–10.
    pub promoters: usize,
    /// NPS answers 7–8.
    pub passives: usize,
    /// NPS answers 0–6.
    pub detractors: usize,
    /// % of CSAT answers that are 4 or 5; `None` without CSAT answers.
    pub csat: Option<f64>,
    /// CSAT answers.
    pub csat_responses: usize,
    /// Mean CES answer; `None` without CES answers.
    pub ces: Option<f64>,
    /// CES answers.
    pub ces_responses: usize,
    /// Retention per period, oldest first.
    pub retention: Vec<PeriodRetention>,
}

impl fmt::Display for FeedbackReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |v: Option<f64>, unit: &str| v.map_or("–".into(), |v| format!("{v:.1}{unit}"));
        writeln!(
            f,
            "NPS {} ({} promoters, {} passives, {} detractors) · CSAT {} of {} · CES {} of {}",
            opt(self.nps, ""),
            self.promoters,
            self.passives,
            self.detractors,
            opt(self.csat, " %"),
            self.csat_responses,
            opt(self.ces, ""),
            self.ces_responses
        )?;
        for r in &self.retention {
            writeln!(
                f,
                "  {}: {} active, {} bought again next period — retention {:.1} %, churn {:.1} %",
                r.period,
                r.active,
                r.retained,
                100.0 * r.retention_rate,
                100.0 * r.churn_rate
            )?;
        }
        Ok(())
    }
}

/// The report over answers and periods within `window` (`[from, to)`, everything when `None`).
/// A period is reported when it has purchases, starts inside the window, and a later period has
/// purchases (so its successor is observed, even if no one bought in it: retention 0).
///
/// A window whose `from` is not before its `to` is [`Error::InvalidArgument`]: it could only
/// give an empty report, which would read as "no answers" rather than a mistake.
pub fn report(
    history: &History,
    log: &FeedbackLog,
    period: Period,
    window: Option<(Timestamp, Timestamp)>,
) -> Result<FeedbackReport> {
    if let Some((from, to)) = window
        && from >= to
    {
        return Err(Error::InvalidArgument(format!(
            "empty report window: from ({from}) must be before to ({to})"
        )));
    }
    let inside = |t: Timestamp| window.is_none_or(|(from, to)| t >= from && t < to);
    let (mut promoters, mut passives, mut detractors) = (0, 0, 0);
    let (mut csat_n, mut satisfied, mut ces_n, mut ces_sum) = (0usize, 0usize, 0usize, 0u64);
    for (_, e) in log.iter().filter(|(_, e)| inside(e.timestamp)) {
        match e.score {
            Score::Nps(v) if v >= 9 => promoters += 1,
            Score::Nps(v) if v >= 7 => passives += 1,
            Score::Nps(_) => detractors += 1,
            Score::Csat(v) => {
                csat_n += 1;
                satisfied += usize::from(v >= 4);
            }
            Score::Ces(v) => {
                ces_n += 1;
                ces_sum += v as u64;
            }
        }
    }
    let nps_n = promoters + passives + detractors;
    let nps = (nps_n > 0).then(|| 100.0 * (promoters as f64 - detractors as f64) / nps_n as f64);
    let csat = (csat_n > 0).then(|| 100.0 * satisfied as f64 / csat_n as f64);
    let ces = (ces_n > 0).then(|| ces_sum as f64 / ces_n as f64);

    let mut pairs: Vec<(i64, u32)> = history
        .lines()
        .iter()
        .map(|l| (period.index(l.timestamp), l.customer))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut retention = Vec::new();
    let mut i = 0;
    while i < pairs.len() {
        let p = pairs[i].0;
        let end = i + pairs[i..].partition_point(|x| x.0 == p);
        let next_end = end + pairs[end..].partition_point(|x| x.0 == p + 1);
        let next = &pairs[end..next_end];
        let start = period.start(p);
        if end < pairs.len() && inside(start) {
            let current = &pairs[i..end];
            let retained = current
                .iter()
                .filter(|(_, c)| next.binary_search_by_key(c, |x| x.1).is_ok())
                .count();
            let active = current.len();
            let rate = retained as f64 / active as f64;
            retention.push(PeriodRetention {
                period: period.label(p),
                start,
                active,
                retained,
                retention_rate: rate,
                churn_rate: 1.0 - rate,
            });
        }
        i = end;
    }
    Ok(FeedbackReport {
        nps,
        promoters,
        passives,
        detractors,
        csat,
        csat_responses: csat_n,
        ces,
        ces_responses: ces_n,
        retention,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Purchase;

    fn day(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn scores_are_validated() {
        let mut log = FeedbackLog::default();
        for bad in [
            Score::Nps(11),
            Score::Csat(0),
            Score::Csat(6),
            Score::Ces(0),
            Score::Ces(8),
        ] {
            assert!(matches!(
                log.record("a", bad, Timestamp(0)),
                Err(Error::ScoreOutOfRange { .. })
            ));
        }
        assert!(matches!(
            log.record("", Score::Nps(5), Timestamp(0)),
            Err(Error::InvalidArgument(_))
        ));
        assert!(log.is_empty());
        for ok in [
            Score::Nps(0),
            Score::Nps(10),
            Score::Csat(1),
            Score::Csat(5),
            Score::Ces(7),
        ] {
            log.record("a", ok, Timestamp(0)).unwrap();
        }
        assert_eq!(log.len(), 5);
    }

    #[test]
    fn answers_on_a_scale_from_any_integer() {
        type Scale = fn(u8) -> Score;
        let scales: [(Scale, i64, i64); 3] =
            [(Score::Nps, 0, 10), (Score::Csat, 1, 5), (Score::Ces, 1, 7)];
        for (scale, min, max) in scales {
            for v in [min, (min + max) / 2, max] {
                assert_eq!(Score::on_scale(scale, v).unwrap(), scale(v as u8));
            }
            for v in [min - 1, max + 1, -1, 256, 1 << 40, i64::MIN, i64::MAX] {
                match Score::on_scale(scale, v) {
                    Err(Error::ScoreOutOfRange {
                        kind,
                        value,
                        min: lo,
                        max: hi,
                    }) => {
                        assert_eq!((kind, value), (scale(0).kind(), v));
                        assert_eq!((i64::from(lo), i64::from(hi)), (min, max));
                    }
                    other => panic!("{v}: {other:?}"),
                }
            }
        }
        // a stored score validates through the same check
        assert!(Score::Nps(11).validate().is_err());
        assert_eq!(Score::Ces(7).validate().unwrap(), Score::Ces(7));
    }

    #[test]
    fn poor_until_newer_answer() {
        let mut log = FeedbackLog::default();
        log.record("a", Score::Csat(2), day("2024-01-10")).unwrap();
        log.record("a", Score::Csat(5), day("2024-02-10")).unwrap();
        // recorded out of order: kept in time order
        log.record("a", Score::Ces(6), day("2024-01-20")).unwrap();
        assert!(!log.is_poor("a", day("2024-01-01")));
        assert!(log.is_poor("a", day("2024-01-15")));
        assert!(log.is_poor("a", day("2024-01-25")));
        assert!(!log.is_poor("a", day("2024-03-01")));
        assert!(Score::Nps(6).is_poor() && !Score::Nps(7).is_poor());
        assert!(Score::Ces(5).is_poor() && !Score::Ces(4).is_poor());
        assert!(!log.is_poor("nobody", day("2024-03-01")));
    }

    #[test]
    fn timestamps_beyond_the_calendar_keep_their_order() {
        let mut h = History::new();
        for t in [
            Timestamp(i64::MIN),
            day("2024-01-03"),
            day("2024-02-03"),
            Timestamp(i64::MAX),
        ] {
            h.record(&Purchase {
                customer: "a".into(),
                product: "p".into(),
                timestamp: t,
                quantity: 1.0,
                unit_price: 1.0,
                order: None,
            })
            .unwrap();
        }
        let r = report(&h, &FeedbackLog::default(), Period::Month, None).unwrap();
        let got: Vec<(&str, usize, usize)> = r
            .retention
            .iter()
            .map(|p| (p.period.as_str(), p.active, p.retained))
            .collect();
        // the earliest month first (not 1970-01), then January (retained in February), then
        // February (its successor is the latest month, with no purchase next to it)
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(
            got[0].0.starts_with('-') && got[0].1 == 1 && got[0].2 == 0,
            "{got:?}"
        );
        assert_eq!(&got[1..], &[("2024-01", 1, 1), ("2024-02", 1, 0)]);
        assert!(r.retention[0].start < r.retention[1].start);
        assert!(r.retention.iter().all(|p| !p.period.starts_with("1970")));
    }

    #[test]
    fn nps_csat_ces_and_retention() {
        let mut log = FeedbackLog::default();
        let t = day("2024-01-05");
        for (c, s) in [
            ("a", Score::Nps(10)),
            ("b", Score::Nps(9)),
            ("c", Score::Nps(8)),
            ("d", Score::Nps(2)),
            ("a", Score::Csat(5)),
            ("b", Score::Csat(4)),
            ("c", Score::Csat(2)),
            ("a", Score::Ces(2)),
            ("b", Score::Ces(5)),
        ] {
            log.record(c, s, t).unwrap();
        }
        log.record("z", Score::Nps(0), day("2025-01-01")).unwrap();

        let mut h = History::new();
        let mut buy = |c: &str, d: &str| {
            h.record(&Purchase {
                customer: c.into(),
                product: "p".into(),
                timestamp: day(d),
                quantity: 1.0,
                unit_price: 1.0,
                order: None,
            })
            .unwrap();
        };
        // January: a, b, c, d; February: a, b; April: a
        for c in ["a", "b", "c", "d"] {
            buy(c, "2024-01-03");
        }
        buy("a", "2024-01-20");
        buy("a", "2024-02-03");
        buy("b", "2024-02-28");
        buy("a", "2024-04-01");
        let window = Some((day("2024-01-01"), day("2024-12-31")));
        let r = report(&h, &log, Period::Month, window).unwrap();
        assert_eq!((r.promoters, r.passives, r.detractors), (2, 1, 1));
        assert_eq!(r.nps, Some(25.0));
        assert!((r.csat.unwrap() - 200.0 / 3.0).abs() < 1e-9);
        assert_eq!(r.ces, Some(3.5));
        let got: Vec<(&str, usize, usize)> = r
            .retention
            .iter()
            .map(|p| (p.period.as_str(), p.active, p.retained))
            .collect();
        assert_eq!(got, vec![("2024-01", 4, 2), ("2024-02", 2, 0)]);
        assert_eq!(r.retention[0].retention_rate, 0.5);
        assert_eq!(r.retention[1].churn_rate, 1.0);
        let q = report(&h, &log, Period::Quarter, None).unwrap();
        assert_eq!(q.retention.len(), 1);
        assert_eq!(q.retention[0].period, "2024-Q1");
        assert_eq!((q.retention[0].active, q.retention[0].retained), (4, 1));
        assert_eq!(q.detractors, 2, "no window: every answer");
        let empty = report(
            &History::new(),
            &FeedbackLog::default(),
            Period::Month,
            None,
        )
        .unwrap();
        assert_eq!((empty.nps, empty.csat, empty.ces), (None, None, None));
        assert!(empty.retention.is_empty());
        assert!(r.to_string().contains("NPS 25.0"));
        // an empty or reversed window is a mistake, not "no answers"
        for (from, to) in [("2024-03-01", "2024-03-01"), ("2024-04-01", "2024-03-01")] {
            let e = report(&h, &log, Period::Month, Some((day(from), day(to)))).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidArgument(m) if m.contains("before")),
                "{e:?}"
            );
        }
        let open_ended = Some((day("2024-02-01"), Timestamp(i64::MAX)));
        let later = report(&h, &log, Period::Month, open_ended).unwrap();
        assert_eq!(
            later.retention.len(),
            1,
            "only February starts inside the window"
        );
    }
}
