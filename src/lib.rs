//! # rapport
//!
//! Embeddable personalization for online shops: customer profiles from purchase history,
//! product recommendations scored by implicit-feedback matrix factorization, and the pieces
//! that greet each customer as someone the shop knows.
#![warn(missing_docs)]

pub mod catalog;
pub mod clv;
pub mod error;
pub mod history;
pub mod ids;
pub mod profile;
pub mod time;

pub use catalog::{Catalog, Product};
pub use clv::{BgNbd, GammaGamma, RfmSummary};
pub use error::{Error, Result};
pub use history::{Channel, CustomerInfo, History, Line, Purchase, Recorded};
pub use profile::{Profile, Profiles, Rfm, Segment};
pub use time::Timestamp;
