//! Status codes, the thread-local last error, the panic boundary and argument checks.

use rapport_core::Error;
use std::cell::RefCell;
use std::ffi::{CStr, c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The result of every fallible call. `RAPPORT_STATUS_OK` (0) is success; anything else is an
/// error whose message [`rapport_last_error_message`] returns on the same thread.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rapport_status {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 2,
    /// An argument broke a documented precondition (empty id, unknown enum value, …).
    InvalidArgument = 3,
    /// A configuration value out of its documented range (checked when training).
    InvalidConfig = 4,
    /// A purchase quantity that is not a finite number above 0, a price or weight that is NaN,
    /// infinite or negative, or a purchase whose quantity × unit price overflows.
    InvalidWeight = 5,
    /// A customer id the engine has never seen.
    UnknownCustomer = 6,
    /// A product id the engine has never seen.
    UnknownProduct = 7,
    /// The call needs a trained model: call `rapport_engine_train` (or load one) first.
    NotTrained = 8,
    /// Nothing to train on or nothing to compute from.
    Empty = 9,
    /// A CSV header lacks a required column.
    MissingColumn = 10,
    /// A CSV row could not be read.
    BadRow = 11,
    /// An I/O error (missing file, permission, disk full, …).
    Io = 12,
    /// Not a rapport model, a corrupted model, or one written by a newer format version.
    BadFile = 13,
    /// Serialising the engine failed.
    Serialize = 14,
    /// A caller-owned buffer was too small; the needed length was reported.
    BufferTooSmall = 15,
    /// An index past the end of a result object.
    IndexOutOfRange = 16,
    /// A Rust panic was caught at the boundary (a bug in rapport). An engine that panicked
    /// during a write is poisoned: later calls on it return this status too.
    Panic = 17,
    /// An error this version of the bindings does not classify (see the message).
    Unknown = 18,
    /// A greeting template that does not parse (the message gives the variant and the
    /// character position).
    Template = 19,
    /// A greeting variant that breaks a rule other than its template's syntax (blank or
    /// duplicate id, unknown category, bad hours or audience, malformed variant JSON, …).
    InvalidVariant = 20,
    /// A greeting variant id that is not registered.
    UnknownVariant = 21,
    /// A survey answer outside its scale (NPS 0–10, CSAT 1–5, CES 1–7).
    ScoreOutOfRange = 22,
}

impl rapport_status {
    fn name(self) -> &'static CStr {
        match self {
            rapport_status::Ok => c"RAPPORT_STATUS_OK",
            rapport_status::NullArgument => c"RAPPORT_STATUS_NULL_ARGUMENT",
            rapport_status::InvalidUtf8 => c"RAPPORT_STATUS_INVALID_UTF8",
            rapport_status::InvalidArgument => c"RAPPORT_STATUS_INVALID_ARGUMENT",
            rapport_status::InvalidConfig => c"RAPPORT_STATUS_INVALID_CONFIG",
            rapport_status::InvalidWeight => c"RAPPORT_STATUS_INVALID_WEIGHT",
            rapport_status::UnknownCustomer => c"RAPPORT_STATUS_UNKNOWN_CUSTOMER",
            rapport_status::UnknownProduct => c"RAPPORT_STATUS_UNKNOWN_PRODUCT",
            rapport_status::NotTrained => c"RAPPORT_STATUS_NOT_TRAINED",
            rapport_status::Empty => c"RAPPORT_STATUS_EMPTY",
            rapport_status::MissingColumn => c"RAPPORT_STATUS_MISSING_COLUMN",
            rapport_status::BadRow => c"RAPPORT_STATUS_BAD_ROW",
            rapport_status::Io => c"RAPPORT_STATUS_IO",
            rapport_status::BadFile => c"RAPPORT_STATUS_BAD_FILE",
            rapport_status::Serialize => c"RAPPORT_STATUS_SERIALIZE",
            rapport_status::BufferTooSmall => c"RAPPORT_STATUS_BUFFER_TOO_SMALL",
            rapport_status::IndexOutOfRange => c"RAPPORT_STATUS_INDEX_OUT_OF_RANGE",
            rapport_status::Panic => c"RAPPORT_STATUS_PANIC",
            rapport_status::Unknown => c"RAPPORT_STATUS_UNKNOWN",
            rapport_status::Template => c"RAPPORT_STATUS_TEMPLATE",
            rapport_status::InvalidVariant => c"RAPPORT_STATUS_INVALID_VARIANT",
            rapport_status::UnknownVariant => c"RAPPORT_STATUS_UNKNOWN_VARIANT",
            rapport_status::ScoreOutOfRange => c"RAPPORT_STATUS_SCORE_OUT_OF_RANGE",
        }
    }
}

/// An error on its way to C: a status and a message for [`rapport_last_error_message`].
#[derive(Debug)]
pub(crate) struct FfiError {
    pub(crate) status: rapport_status,
    pub(crate) message: String,
}

impl FfiError {
    pub(crate) fn new(status: rapport_status, message: impl Into<String>) -> Self {
        FfiError {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn null(what: &str) -> Self {
        Self::new(rapport_status::NullArgument, format!("{what} is NULL"))
    }
}

impl From<Error> for FfiError {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::InvalidWeight { .. } | Error::InvalidQuantity { .. } => {
                rapport_status::InvalidWeight
            }
            Error::InvalidConfig(_) => rapport_status::InvalidConfig,
            Error::InvalidArgument(_) => rapport_status::InvalidArgument,
            Error::UnknownCustomer(_) => rapport_status::UnknownCustomer,
            Error::UnknownProduct(_) => rapport_status::UnknownProduct,
            Error::NotTrained => rapport_status::NotTrained,
            Error::Empty(_) => rapport_status::Empty,
            Error::MissingColumn { .. } => rapport_status::MissingColumn,
            Error::BadRow { .. } => rapport_status::BadRow,
            Error::NotAModel | Error::UnsupportedVersion { .. } | Error::Corrupted(_) => {
                rapport_status::BadFile
            }
            Error::Serialize(_) => rapport_status::Serialize,
            Error::Io { .. } => rapport_status::Io,
            Error::Template { .. } => rapport_status::Template,
            Error::InvalidVariant { .. } => rapport_status::InvalidVariant,
            Error::UnknownVariant(_) => rapport_status::UnknownVariant,
            Error::ScoreOutOfRange { .. } => rapport_status::ScoreOutOfRange,
            // `Error` is non-exhaustive: variants added later still get a status and a message.
            _ => rapport_status::Unknown,
        };
        FfiError::new(status, e.to_string())
    }
}

pub(crate) type FfiResult<T = ()> = Result<T, FfiError>;

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_last_error(message: String) {
    // A message with an interior NUL would be cut at the NUL by C readers; make it visible.
    let message = message.replace('\0', "\\0");
    LAST_ERROR.with(|m| *m.borrow_mut() = message);
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_owned());
    format!("internal error (panic caught at the C boundary): {what}")
}

/// Runs `f` inside the panic boundary and turns its outcome into a status, recording the
/// message of a failure in the thread-local last error.
pub(crate) fn boundary(f: impl FnOnce() -> FfiResult) -> rapport_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => rapport_status::Ok,
        Ok(Err(e)) => {
            set_last_error(e.message);
            e.status
        }
        Err(payload) => {
            set_last_error(panic_message(payload.as_ref()));
            rapport_status::Panic
        }
    }
}

/// The panic boundary for accessors that return a value instead of a status: a panic gives
/// `fallback` (and sets the last error).
pub(crate) fn boundary_value<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(payload) => {
            set_last_error(panic_message(payload.as_ref()));
            fallback
        }
    }
}

/// Borrows a NUL-terminated UTF-8 argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays alive and unchanged for `'a`.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, what: &str) -> FfiResult<&'a str> {
    if ptr.is_null() {
        return Err(FfiError::null(what));
    }
    // SAFETY: non-NULL, and the caller guarantees a live NUL-terminated string.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes.to_str().map_err(|e| {
        FfiError::new(
            rapport_status::InvalidUtf8,
            format!("{what} is not valid UTF-8 (byte {})", e.valid_up_to()),
        )
    })
}

/// Borrows an optional NUL-terminated UTF-8 argument (NULL gives `None`).
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(ptr: *const c_char, what: &str) -> FfiResult<Option<&'a str>> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract of this function.
        unsafe { str_arg(ptr, what) }.map(Some)
    }
}

/// Borrows an array of `len` NUL-terminated UTF-8 strings (NULL is allowed when `len` is 0).
///
/// # Safety
/// `ptr` is NULL or points to `len` readable pointers, each valid for [`str_arg`].
pub(crate) unsafe fn str_array_arg<'a>(
    ptr: *const *const c_char,
    len: usize,
    what: &str,
) -> FfiResult<Vec<&'a str>> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if ptr.is_null() {
        return Err(FfiError::null(what));
    }
    // SAFETY: non-NULL, and the caller guarantees `len` readable, aligned pointers.
    let ptrs = unsafe { std::slice::from_raw_parts(ptr, len) };
    ptrs.iter()
        .enumerate()
        // SAFETY: each element is valid for `str_arg` by the caller's contract.
        .map(|(i, &p)| unsafe { str_arg(p, &format!("{what}[{i}]")) })
        .collect()
}

/// Writes `value` to an out-parameter, failing on NULL.
///
/// # Safety
/// `out` is NULL or valid for a write of `T`.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T, what: &str) -> FfiResult {
    if out.is_null() {
        return Err(FfiError::null(what));
    }
    // SAFETY: non-NULL and writable by the caller's contract.
    unsafe { out.write(value) };
    Ok(())
}

/// Writes `value` to an optional out-parameter (NULL: ignored).
///
/// # Safety
/// `out` is NULL or valid for a write of `T`.
pub(crate) unsafe fn write_opt_out<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-NULL and writable by the caller's contract.
        unsafe { out.write(value) };
    }
}

/// Copies the calling thread's last error message into `buf` as a NUL-terminated UTF-8 string.
///
/// The message is **thread-local**: it describes the most recent call on this thread that
/// returned something other than `RAPPORT_STATUS_OK`, and is overwritten by the next failing
/// call on the same thread. Successful calls leave it unchanged; it is empty before any failure.
/// This function never changes it, so it can be called again with a larger buffer.
///
/// * `buf`: caller-owned, `len` bytes; may be NULL only when `len` is 0 (a size query).
/// * `written`: required; receives the message length in bytes, *excluding* the NUL.
///
/// Returns `RAPPORT_STATUS_OK` when the whole message and its NUL fit, and
/// `RAPPORT_STATUS_BUFFER_TOO_SMALL` otherwise (then `*written + 1` is the size to allocate,
/// and `buf`, if `len > 0`, holds the longest prefix of the message that ends on a character
/// boundary and has at most `len - 1` bytes, plus a NUL: a multi-byte character that does not
/// fit whole is left out, so the copy stays valid UTF-8 and may be up to 3 bytes shorter than
/// `len - 1`).
///
/// # Safety
/// `buf` is NULL or valid for `len` writable bytes; `written` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rapport_last_error_message(
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> rapport_status {
    // Not through `boundary`: reporting a problem here must not replace the stored message.
    catch_unwind(AssertUnwindSafe(|| {
        if written.is_null() || (buf.is_null() && len > 0) {
            return rapport_status::NullArgument;
        }
        LAST_ERROR.with(|m| {
            let m = m.borrow();
            let bytes = m.as_bytes();
            // SAFETY: `written` is non-NULL and writable by the caller's contract.
            unsafe { written.write(bytes.len()) };
            if len == 0 {
                // Even an empty message needs a byte for its NUL.
                return rapport_status::BufferTooSmall;
            }
            // Cut at a character boundary: half a character would not be UTF-8.
            let mut n = bytes.len().min(len - 1);
            while !m.is_char_boundary(n) {
                n -= 1;
            }
            // SAFETY: `buf` has `len` writable bytes and `n + 1 <= len`; the source is a
            // distinct Rust allocation, so the ranges do not overlap.
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), n);
                buf.add(n).write(0);
            }
            if n == bytes.len() {
                rapport_status::Ok
            } else {
                rapport_status::BufferTooSmall
            }
        })
    }))
    .unwrap_or(rapport_status::Panic)
}

/// The name of a status code as a static NUL-terminated string (`"RAPPORT_STATUS_NOT_TRAINED"`),
/// or `"RAPPORT_STATUS_<invalid>"` for a value that is not a status. Never free it.
#[unsafe(no_mangle)]
pub extern "C" fn rapport_status_name(status: c_int) -> *const c_char {
    boundary_value(c"RAPPORT_STATUS_<invalid>".as_ptr(), || {
        use rapport_status::*;
        let all = [
            Ok,
            NullArgument,
            InvalidUtf8,
            InvalidArgument,
            InvalidConfig,
            InvalidWeight,
            UnknownCustomer,
            UnknownProduct,
            NotTrained,
            Empty,
            MissingColumn,
            BadRow,
            Io,
            BadFile,
            Serialize,
            BufferTooSmall,
            IndexOutOfRange,
            Panic,
            Unknown,
            Template,
            InvalidVariant,
            UnknownVariant,
            ScoreOutOfRange,
        ];
        all.iter()
            .find(|s| **s as c_int == status)
            .map_or(c"RAPPORT_STATUS_<invalid>".as_ptr(), |s| s.name().as_ptr())
    })
}

/// The version of the library as a static NUL-terminated string (`"0.1.0"`). Never free it.
#[unsafe(no_mangle)]
pub extern "C" fn rapport_version() -> *const c_char {
    static VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => c"unknown",
        };
    boundary_value(c"unknown".as_ptr(), || VERSION.as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last() -> String {
        let mut buf = [0 as c_char; 256];
        let mut n = 0;
        // SAFETY: a 256-byte buffer and a valid `written`.
        let s = unsafe { rapport_last_error_message(buf.as_mut_ptr(), buf.len(), &mut n) };
        assert_eq!(s, rapport_status::Ok);
        // SAFETY: the call wrote a NUL-terminated string into `buf`.
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn panics_become_a_status_and_a_message() {
        let s = boundary(|| panic!("boom {}", 42));
        assert_eq!(s, rapport_status::Panic);
        assert!(last().contains("boom 42"), "{}", last());
        assert_eq!(boundary_value(7, || panic!("static str")), 7);
        assert!(last().contains("static str"));
    }

    #[test]
    fn errors_map_to_statuses() {
        let cases = [
            (Error::NotTrained, rapport_status::NotTrained),
            (
                Error::InvalidQuantity { value: 0.0 },
                rapport_status::InvalidWeight,
            ),
            (Error::NotAModel, rapport_status::BadFile),
            (Error::Corrupted("x".into()), rapport_status::BadFile),
            (
                Error::UnsupportedVersion {
                    found: 9,
                    supported: 1,
                },
                rapport_status::BadFile,
            ),
            (
                Error::UnknownCustomer("c".into()),
                rapport_status::UnknownCustomer,
            ),
            (
                Error::Template {
                    variant: "hi".into(),
                    position: 3,
                    message: "unclosed slot".into(),
                },
                rapport_status::Template,
            ),
            (
                Error::InvalidVariant {
                    variant: String::new(),
                    message: "blank id".into(),
                },
                rapport_status::InvalidVariant,
            ),
            (
                Error::UnknownVariant("nope".into()),
                rapport_status::UnknownVariant,
            ),
            (
                Error::ScoreOutOfRange {
                    kind: "NPS",
                    value: 11,
                    min: 0,
                    max: 10,
                },
                rapport_status::ScoreOutOfRange,
            ),
            // last: the check after the loop expects its message
            (Error::Empty("e".into()), rapport_status::Empty),
        ];
        for (e, want) in cases {
            let msg = e.to_string();
            assert_eq!(boundary(|| Err(e.into())), want);
            assert_eq!(last(), msg);
        }
        // success leaves the message alone
        assert_eq!(boundary(|| Ok(())), rapport_status::Ok);
        assert_eq!(last(), Error::Empty("e".into()).to_string());
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        let s = boundary(|| Err(Error::UnknownProduct("ééé".into()).into()));
        assert_eq!(s, rapport_status::UnknownProduct);
        let message = "unknown product \"ééé\"";
        assert_eq!(message.len(), 24); // 17 ASCII bytes, three 2-byte 'é', one '"'
        // What a buffer of `len` bytes holds before its NUL: `len - 1` bytes when they end on
        // a character boundary, one byte less when they would end inside an 'é'.
        let expected = |len: usize| match len - 1 {
            18 => "unknown product \"",
            20 => "unknown product \"é",
            22 => "unknown product \"éé",
            n => &message[..n.min(message.len())],
        };
        assert_eq!(expected(19), "unknown product \"");
        for len in 0..=message.len() + 2 {
            let mut buf = vec![0x55 as c_char; len];
            let mut written = 0;
            // SAFETY: `buf` has `len` writable bytes (a non-NULL pointer even when empty) and
            // `written` is valid.
            let s = unsafe { rapport_last_error_message(buf.as_mut_ptr(), len, &mut written) };
            assert_eq!(written, message.len(), "len {len}");
            if len == 0 {
                assert_eq!(s, rapport_status::BufferTooSmall);
                continue;
            }
            let want = if len > message.len() {
                rapport_status::Ok
            } else {
                rapport_status::BufferTooSmall
            };
            assert_eq!(s, want, "len {len}");
            let bytes: Vec<u8> = buf.iter().map(|&b| b as u8).collect();
            let copy = CStr::from_bytes_until_nul(&bytes).expect("NUL-terminated");
            let copy = copy
                .to_str()
                .unwrap_or_else(|e| panic!("len {len}: not UTF-8: {e}"));
            assert_eq!(copy, expected(len), "len {len}");
        }
        // the stored message is unchanged by the truncated reads
        assert_eq!(last(), message);
    }

    #[test]
    fn status_names_cover_every_status() {
        for code in 0..=22 {
            // SAFETY: the function returns a static NUL-terminated string.
            let name = unsafe { CStr::from_ptr(rapport_status_name(code)) };
            assert!(name.to_str().unwrap().starts_with("RAPPORT_STATUS_"));
            assert!(!name.to_str().unwrap().contains("invalid"), "{code}");
        }
        // SAFETY: as above.
        let bad = unsafe { CStr::from_ptr(rapport_status_name(23)) };
        assert_eq!(bad.to_str().unwrap(), "RAPPORT_STATUS_<invalid>");
    }
}
