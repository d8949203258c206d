//! # rapport
//!
//! Embeddable personalization for online shops: customer profiles from purchase history,
//! product recommendations scored by implicit-feedback matrix factorization, and the pieces
//! that greet each customer as someone the shop knows.
#![warn(missing_docs)]

pub mod catalog;
pub mod error;
pub mod history;
pub mod ids;
pub mod ingest;
pub mod time;

pub use catalog::{Catalog, Product};
pub use error::{Error, Result};
pub use history::{Channel, CustomerInfo, History, Line, Purchase, Recorded};
pub use ingest::{CsvLayout, IngestOptions, IngestReport, read_csv, read_csv_path};
pub use time::Timestamp;

pub mod als;
pub mod engine;
pub mod eval;
pub mod interactions;
pub mod linalg;
pub mod persist;
pub mod recommender;
pub mod topk;
pub mod triples;
pub use engine::{Engine, EngineConfig, Reason, RecommendOptions, Recommendation, Recommendations};
