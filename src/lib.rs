//! # rapport
//!
//! Embeddable personalization for online shops: customer profiles from purchase history,
//! product recommendations scored by implicit-feedback matrix factorization, and the pieces
//! that greet each customer as someone the shop knows.
//!
//! Start with [`Engine`]: record purchases (or read a purchase log with
//! [`Engine::read_csv_path`]), [`Engine::train`], then ask for [`Engine::recommend`],
//! [`Engine::similar`] and [`Engine::profiles`].
#![warn(missing_docs)]

pub mod als;
pub mod catalog;
pub mod clv;
pub mod engine;
pub mod error;
pub mod eval;
pub mod feedback;
pub mod greeting;
pub mod history;
pub mod ids;
pub mod ingest;
pub mod interactions;
pub mod linalg;
pub mod neighbours;
pub mod persist;
pub mod profile;
pub mod quantized;
pub mod recommender;
pub mod time;
pub mod topk;
pub mod triples;

pub use catalog::{Catalog, Product};
pub use clv::{BgNbd, GammaGamma, RfmSummary};
pub use engine::{Engine, EngineConfig, Reason, RecommendOptions, Recommendation, Recommendations};
pub use error::{Error, Result};
pub use feedback::{FeedbackLog, FeedbackReport, Period, Score};
pub use greeting::{Audience, Greeting, GreetingConfig, GreetingKind, Greetings, Variant};
pub use history::{Channel, CustomerInfo, History, Line, Purchase, Recorded};
pub use ingest::{CsvLayout, IngestOptions, IngestReport, read_csv, read_csv_path};
pub use profile::{Profile, Profiles, Rfm, Segment};
pub use time::Timestamp;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
