//! WASM bindings of rapport: a thin translation of [`rapport::Engine`] for browsers and Node,
//! through wasm-bindgen, with TypeScript types.
//!
//! Conventions (repeated in `README.md` and in the generated `.d.ts`):
//!
//! * Ids are strings; scores come back as `Float32Array`.
//! * Times go in as a `Date`, a number of milliseconds since the Unix epoch (what
//!   `Date.now()` gives), or a string `Timestamp::parse` reads (`2011-12-09 12:50`,
//!   `2011-12-09T12:50:00Z`, …); they come back as `Date`. The core counts whole seconds:
//!   milliseconds are rounded down to the second. A time outside the range a `Date` holds
//!   (±8.64e15 ms) is `InvalidArgument` going in and `null` coming back (a time the core
//!   derives, or one in a model saved natively, can lie outside it).
//! * Every error is a thrown JS `Error` named `RapportError`, whose `message` is the
//!   [`rapport::Error`] message and whose `code` is the variant's name (`UnknownProduct`,
//!   `NotAModel`, …). Bad JavaScript input (a wrong type, a fractional `k`, an unknown
//!   channel) is `InvalidArgument`; nothing is coerced (`"7"` or `null` for a number, `"true"`
//!   or `1` for a boolean, a string inside an array of numbers).
//! * Nothing here should panic: inputs are checked before they reach the core. Should a bug
//!   panic anyway, the hook installed at start-up prints the panic message and location with
//!   `console.error`, and the call throws a `RuntimeError` (`unreachable`); the module is not
//!   usable after that and must be loaded again.

#![warn(missing_docs)]

mod convert;
mod engine;
mod error;
mod table;

pub use engine::Engine;
pub use table::FactorTable;

use wasm_bindgen::prelude::*;

/// Installs the panic hook that reports a panic's message and location with `console.error`.
/// Runs by itself when the module is instantiated; calling it again does nothing.
#[wasm_bindgen(start, js_name = installPanicHook)]
pub fn install_panic_hook() {
    console_error_panic_hook::set_once();
}

/// The version of this package (and of the rapport core it was built from).
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// The newest model file format version this build reads (files from older versions load too).
#[wasm_bindgen(js_name = modelFormatVersion)]
pub fn model_format_version() -> u32 {
    rapport::persist::FORMAT_VERSION
}
