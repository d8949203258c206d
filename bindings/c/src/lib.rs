//! C bindings of rapport: a thin translation of [`rapport_core::Engine`] into opaque handles,
//! status codes and library-owned result objects.
//!
//! Conventions (repeated in `include/rapport.h` and `README.md`):
//!
//! * Every fallible function returns a [`rapport_status`]; `RAPPORT_STATUS_OK` is 0. On failure
//!   the message is kept per thread for [`rapport_last_error_message`].
//! * Results come back through out-parameters. Objects created by the library (`rapport_engine`,
//!   `rapport_recommendations`, …) are owned by the caller and released with their `_free`
//!   function; strings returned by accessors are borrowed from the object and live until it is
//!   freed.
//! * Ids are NUL-terminated UTF-8; timestamps are `int64_t` Unix seconds.
//! * No Rust panic crosses into C: every exported function runs inside a panic boundary and
//!   reports `RAPPORT_STATUS_PANIC` instead.

// The exported types keep their C names (`rapport_engine`, …), as the header shows them.
#![allow(non_camel_case_types)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

mod boundary;
mod engine;
mod results;

pub use boundary::*;
pub use engine::*;
pub use results::*;
