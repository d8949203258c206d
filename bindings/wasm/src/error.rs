//! `rapport::Error` → a thrown JS `Error` with the same message and a `code`.

use rapport::Error;
use wasm_bindgen::prelude::*;

/// What every fallible call returns: the `Err` side is thrown by the wasm-bindgen glue.
pub(crate) type JsResult<T> = Result<T, JsValue>;

/// The name of the variant, for the `code` property (the docs list them all).
pub(crate) fn code(e: &Error) -> &'static str {
    match e {
        Error::InvalidWeight { .. } | Error::InvalidQuantity { .. } => "InvalidWeight",
        Error::InvalidConfig(_) => "InvalidConfig",
        Error::InvalidArgument(_) => "InvalidArgument",
        Error::UnknownCustomer(_) => "UnknownCustomer",
        Error::UnknownProduct(_) => "UnknownProduct",
        Error::NotTrained => "NotTrained",
        Error::Empty(_) => "Empty",
        Error::MissingColumn { .. } => "MissingColumn",
        Error::BadRow { .. } => "BadRow",
        Error::Template { .. } => "Template",
        Error::InvalidVariant { .. } => "InvalidVariant",
        Error::UnknownVariant(_) => "UnknownVariant",
        Error::ScoreOutOfRange { .. } => "ScoreOutOfRange",
        Error::NotAModel => "NotAModel",
        Error::UnsupportedVersion { .. } => "UnsupportedVersion",
        Error::Corrupted(_) => "Corrupted",
        Error::Serialize(_) => "Serialize",
        Error::Io { .. } => "Io",
        // `Error` is non-exhaustive: later variants still get their message through.
        _ => "Unknown",
    }
}

/// A JS `Error` named `RapportError` with `message` and `code`.
pub(crate) fn to_js(e: &Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("RapportError");
    // Setting a property on a fresh, unfrozen object cannot fail.
    let _ = js_sys::Reflect::set(&err, &"code".into(), &code(e).into());
    err.into()
}

/// `rapport::Result` → a result whose error is the thrown JS value.
pub(crate) trait IntoJs<T> {
    /// Converts the error side.
    fn js(self) -> JsResult<T>;
}

impl<T> IntoJs<T> for rapport::Result<T> {
    fn js(self) -> JsResult<T> {
        self.map_err(|e| to_js(&e))
    }
}

/// An `InvalidArgument` error for bad JavaScript input.
pub(crate) fn invalid(message: impl Into<String>) -> JsValue {
    to_js(&Error::InvalidArgument(message.into()))
}
