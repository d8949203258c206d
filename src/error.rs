//! One error type for the whole crate.
//!
//! Every fallible call returns [`Result`]; bad input is named here instead of panicking, so the
//! C and WASM bindings can translate each case into a status code or a thrown `Error`.

use std::path::PathBuf;

/// Everything that can go wrong in rapport.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value that must be finite and non-negative was not (NaN, ±∞, negative).
    #[error("invalid {what}: {value} (must be finite and non-negative)")]
    InvalidWeight {
        /// What the value was (weight, quantity, price, …).
        what: &'static str,
        /// The offending value.
        value: f64,
    },
    /// A purchase quantity that is not a finite number above 0.
    #[error("invalid quantity: {value} (must be finite and greater than 0)")]
    InvalidQuantity {
        /// The offending quantity.
        value: f64,
    },
    /// A configuration value out of its documented range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// An argument that breaks a documented precondition (empty id, lengths that differ, …).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A customer id the engine has never seen.
    #[error("unknown customer {0:?}")]
    UnknownCustomer(String),
    /// A product id the engine has never seen.
    #[error("unknown product {0:?}")]
    UnknownProduct(String),
    /// An operation that needs a trained model was called before training.
    #[error("the model is not trained yet")]
    NotTrained,
    /// Nothing to train on or nothing to compute from.
    #[error("empty input: {0}")]
    Empty(String),
    /// A CSV file whose header lacks a required column.
    #[error("CSV header has no column {column:?} (have: {available})")]
    MissingColumn {
        /// The column the layout asked for.
        column: String,
        /// The columns the header had, comma-separated.
        available: String,
    },
    /// A CSV row that could not be read (strict mode, or a structural error).
    #[error("line {line}: {message}")]
    BadRow {
        /// 1-based line number in the file (the header is line 1).
        line: u64,
        /// What was wrong with the row.
        message: String,
    },
    /// A greeting template that does not parse.
    #[error("greeting variant {variant:?}: template error at character {position}: {message}")]
    Template {
        /// The variant's id.
        variant: String,
        /// 0-based character position of the problem in the template.
        position: usize,
        /// What is wrong.
        message: String,
    },
    /// A greeting variant that breaks a rule other than its template's syntax.
    #[error("greeting variant {variant:?}: {message}")]
    InvalidVariant {
        /// The variant's id (may be empty when that is the problem).
        variant: String,
        /// What is wrong.
        message: String,
    },
    /// A greeting variant id that is not registered.
    #[error("unknown greeting variant {0:?}")]
    UnknownVariant(String),
    /// A survey answer outside its scale.
    #[error("{kind} score {value} is out of range {min}–{max}")]
    ScoreOutOfRange {
        /// `NPS`, `CSAT` or `CES`.
        kind: &'static str,
        /// The answer given (any integer a caller passed, also those no `u8` holds).
        value: i64,
        /// Smallest valid answer.
        min: u8,
        /// Largest valid answer.
        max: u8,
    },
    /// A model file that is not a rapport file.
    #[error("not a rapport model file (bad magic bytes)")]
    NotAModel,
    /// A model file written by a newer format version than this library reads.
    #[error("model file format version {found} is newer than supported version {supported}")]
    UnsupportedVersion {
        /// Version in the file.
        found: u32,
        /// Newest version this build reads.
        supported: u32,
    },
    /// A model file that is shorter than its header says, or whose checksum does not match.
    #[error("corrupted model file: {0}")]
    Corrupted(String),
    /// Serialisation failed (should not happen for well-formed engines).
    #[error("serialisation failed: {0}")]
    Serialize(String),
    /// An I/O error, with the path when there is one.
    #[error("I/O error{}: {source}", path.as_ref().map(|p| format!(" on {}", p.display())).unwrap_or_default())]
    Io {
        /// The file involved, when known.
        path: Option<PathBuf>,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        Error::Io { path: None, source }
    }
}

impl Error {
    pub(crate) fn io_at(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: Some(path.into()),
            source,
        }
    }
}

/// Shorthand for results with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Checks that a weight-like value is finite and non-negative.
pub(crate) fn check_weight(what: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(Error::InvalidWeight { what, value })
    }
}

/// A vector of `len` copies of `value`, or [`Error::InvalidArgument`] when the memory cannot be
/// had. For sizes a caller chooses (matrix shapes): asking for too much is bad input, and must
/// not abort the host process.
pub(crate) fn filled<T: Clone>(len: usize, value: T, what: &str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
        Error::InvalidArgument(format!(
            "{what}: {len} elements of {} bytes do not fit in memory",
            std::mem::size_of::<T>()
        ))
    })?;
    v.resize(len, value);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filled_refuses_sizes_memory_cannot_hold() {
        assert_eq!(filled(3, 7u16, "x").unwrap(), vec![7, 7, 7]);
        assert!(filled(0, 0f32, "x").unwrap().is_empty());
        // past isize::MAX bytes: a capacity overflow on every platform
        let e = filled(usize::MAX / 2, 0u32, "row offsets").unwrap_err();
        assert!(
            matches!(&e, Error::InvalidArgument(m) if m.starts_with("row offsets: ")),
            "{e}"
        );
        // 2^46 f32 (256 TiB): beyond what any allocator here hands out
        #[cfg(target_pointer_width = "64")]
        assert!(matches!(
            filled(1usize << 46, 0f32, "product factors"),
            Err(Error::InvalidArgument(_))
        ));
    }
}
