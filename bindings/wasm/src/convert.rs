//! Conversions between JavaScript values and the core's types.

use crate::error::{JsResult, invalid};
use js_sys::{Array, ArrayBuffer, Date, Float32Array, Object, Reflect, Uint8Array};
use rapport::Timestamp;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/snapshot.js")]
extern "C" {
    /// `{ value }`, a plain copy of the argument, or `{ error }`; see `snapshot.js`.
    #[wasm_bindgen(catch, js_name = snapshot)]
    fn snapshot_js(value: &JsValue) -> Result<JsValue, JsValue>;

    /// `Array.isArray`, false where it would throw (a revoked Proxy).
    #[wasm_bindgen(js_name = isArrayQuietly)]
    fn is_array_quietly(value: &JsValue) -> bool;
}

/// A plain copy of an object argument, made in JavaScript (`snapshot.js`) before Rust reads
/// it: any of the caller's code that reading runs (getters, Proxy traps, an overridden
/// `getTime` or `length`) runs there, and an exception it throws becomes an `InvalidArgument`
/// naming `what` instead of unwinding through Rust frames. Primitives are returned as they are.
pub(crate) fn snapshot(value: &JsValue, what: &str) -> JsResult<JsValue> {
    if !value.is_object() {
        return Ok(value.clone());
    }
    let threw = || invalid(format!("{what}: reading it threw an exception"));
    let out = snapshot_js(value).map_err(|_| threw())?;
    // `out` is the helper's own plain object: reading it runs none of the caller's code.
    let field = |name: &str| Reflect::get(&out, &JsValue::from_str(name)).map_err(|_| threw());
    if let Some(message) = field("error")?.as_string() {
        return Err(invalid(format!("{what}: {message}")));
    }
    field("value")
}

/// Largest `|milliseconds|` a JS `Date` holds (±100 000 000 days).
const MAX_DATE_MS: f64 = 8.64e15;

/// A time from a `Date`, epoch milliseconds or a date string. `what` names the argument in
/// error messages.
pub(crate) fn timestamp(value: &JsValue, what: &str) -> JsResult<Timestamp> {
    let value = &snapshot(value, what)?;
    let ms = if let Some(d) = value.dyn_ref::<Date>() {
        d.get_time()
    } else if let Some(n) = value.as_f64() {
        n
    } else if let Some(s) = value.as_string() {
        return Timestamp::parse(&s).ok_or_else(|| {
            invalid(format!(
                "{what}: {s:?} is not a date (use a Date, epoch milliseconds or \"YYYY-MM-DD HH:MM:SS\")"
            ))
        });
    } else {
        return Err(invalid(format!(
            "{what} must be a Date, a number of milliseconds since the epoch or a date string"
        )));
    };
    if !ms.is_finite() || ms.abs() > MAX_DATE_MS {
        return Err(invalid(format!(
            "{what}: {} is not a valid time",
            number(ms)
        )));
    }
    Ok(Timestamp((ms / 1000.0).floor() as i64))
}

/// `timestamp`, or the current time when `value` is missing, `undefined` or `null`.
pub(crate) fn timestamp_or_now(value: Option<JsValue>, what: &str) -> JsResult<Timestamp> {
    match value {
        Some(v) if !v.is_undefined() && !v.is_null() => timestamp(&v, what),
        _ => timestamp(&JsValue::from_f64(Date::now()), what),
    }
}

/// Epoch milliseconds of a core time, or `None` outside the range a `Date` holds. Times that
/// come in from JavaScript are inside it, but the core's are any `i64` seconds: a time in a
/// model saved natively, or one the core derives (the last purchase plus a gap), can lie
/// outside.
fn date_ms(t: Timestamp) -> Option<f64> {
    let ms = t.0 as f64 * 1000.0;
    (ms.abs() <= MAX_DATE_MS).then_some(ms)
}

/// A `Date` for a core time, or `null` when the time lies outside the range a `Date` holds
/// (±8.64e15 ms around 1970, where `new Date` would give an Invalid Date).
pub(crate) fn date(t: Timestamp) -> JsValue {
    date_ms(t).map_or(JsValue::NULL, |ms| Date::new(&JsValue::from_f64(ms)).into())
}

/// A `Date`, or `null` for no time or one outside the range a `Date` holds ([`date`]).
pub(crate) fn opt_date(t: Option<Timestamp>) -> JsValue {
    t.map_or(JsValue::NULL, date)
}

/// A number as JavaScript writes it in messages (`Infinity`, not `inf`).
pub(crate) fn number(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        v.to_string()
    }
}

/// A number, or `null`.
pub(crate) fn opt_f64(v: Option<f64>) -> JsValue {
    v.map_or(JsValue::NULL, JsValue::from_f64)
}

/// A string, or `null`.
pub(crate) fn opt_str(v: Option<&str>) -> JsValue {
    v.map_or(JsValue::NULL, JsValue::from_str)
}

/// A JS array of strings.
pub(crate) fn strings<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Array {
    items
        .into_iter()
        .map(|s| JsValue::from_str(s.as_ref()))
        .collect()
}

/// A plain object built field by field.
pub(crate) struct Obj(Object);

impl Obj {
    /// `{}`.
    pub(crate) fn new() -> Self {
        Obj(Object::new())
    }

    /// Sets `key` to `value`.
    pub(crate) fn set(self, key: &str, value: impl Into<JsValue>) -> Self {
        // Defining a property on a fresh, unfrozen plain object cannot fail.
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), &value.into());
        self
    }

    /// The object.
    pub(crate) fn build(self) -> JsValue {
        self.0.into()
    }
}

/// A string argument. The generated glue would copy any value into WASM memory as if it were a
/// string; taking a `JsValue` and checking it turns a wrong type into an `InvalidArgument`.
pub(crate) fn string(value: &JsValue, what: &str) -> JsResult<String> {
    value
        .as_string()
        .ok_or_else(|| invalid(format!("{what} must be a string")))
}

/// The bytes of a `Uint8Array` or an `ArrayBuffer`, copied into WASM memory.
pub(crate) fn byte_array(value: &JsValue, what: &str) -> JsResult<Vec<u8>> {
    let value = &snapshot(value, what)?;
    if let Some(a) = value.dyn_ref::<Uint8Array>() {
        Ok(a.to_vec())
    } else if value.is_instance_of::<ArrayBuffer>() {
        Ok(Uint8Array::new(value).to_vec())
    } else {
        Err(invalid(format!(
            "{what} must be a Uint8Array or an ArrayBuffer"
        )))
    }
}

/// What a JS value is, for messages: `a string`, `null`, `an array`, ….
pub(crate) fn kind_of(value: &JsValue) -> &'static str {
    if value.is_undefined() {
        "undefined"
    } else if value.is_null() {
        "null"
    } else if value.as_f64().is_some() {
        "a number"
    } else if value.as_bool().is_some() {
        "a boolean"
    } else if value.is_string() {
        "a string"
    } else if value.is_bigint() {
        "a BigInt"
    } else if value.is_symbol() {
        "a symbol"
    } else if value.is_function() {
        "a function"
    } else if is_array_quietly(value) {
        "an array"
    } else {
        "an object"
    }
}

/// A number argument. The generated glue would pass any value as `+value` (`null` and `""`
/// become 0, `"7"` becomes 7, `{}` becomes NaN); taking a `JsValue` and checking it turns a
/// wrong type into an `InvalidArgument`.
pub(crate) fn number_arg(value: &JsValue, what: &str) -> JsResult<f64> {
    value
        .as_f64()
        .ok_or_else(|| invalid(format!("{what} must be a number, got {}", kind_of(value))))
}

/// A boolean argument. The generated glue would take any value's truthiness or numeric
/// value; taking a `JsValue` and checking it turns a wrong type into an `InvalidArgument`.
pub(crate) fn boolean_arg(value: &JsValue, what: &str) -> JsResult<bool> {
    value
        .as_bool()
        .ok_or_else(|| invalid(format!("{what} must be a boolean, got {}", kind_of(value))))
}

/// [`count`] of a number argument ([`number_arg`]).
pub(crate) fn count_arg(value: &JsValue, what: &str) -> JsResult<usize> {
    count(number_arg(value, what)?, what)
}

/// The numbers of a `Float32Array` or an array of numbers, copied into WASM memory. Every
/// element of an array must be a number (a string or `null` is an error, not NaN or 0); it is
/// read one by one, so large inputs are faster as a `Float32Array`.
pub(crate) fn floats(value: &JsValue, what: &str) -> JsResult<Vec<f32>> {
    let value = &snapshot(value, what)?;
    if let Some(a) = value.dyn_ref::<Float32Array>() {
        Ok(a.to_vec())
    } else if let Some(a) = value.dyn_ref::<Array>() {
        a.iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_f64().map(|x| x as f32).ok_or_else(|| {
                    invalid(format!("{what}[{i}] must be a number, got {}", kind_of(&v)))
                })
            })
            .collect()
    } else {
        Err(invalid(format!(
            "{what} must be a Float32Array or an array of numbers"
        )))
    }
}

/// A whole number in `0..=u32::MAX` (`k` and counts), from a JS number.
pub(crate) fn count(value: f64, what: &str) -> JsResult<usize> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= u32::MAX as f64 {
        Ok(value as usize)
    } else {
        Err(invalid(format!(
            "{what} must be a whole number from 0 to {}, got {}",
            u32::MAX,
            number(value)
        )))
    }
}

/// A setting stored as `f32`. A finite number that `f32` cannot hold — one that would round
/// to infinity, or a non-zero one that would round to 0 — is refused rather than changed;
/// NaN and infinities pass through for the core's own range checks.
pub(crate) fn single(value: f64, what: &str) -> JsResult<f32> {
    let x = value as f32;
    if value.is_finite() && (x.is_infinite() || (x == 0.0 && value != 0.0)) {
        Err(invalid(format!(
            "{what} is outside the range of a 32-bit float (0, or a size from about 1.4e-45 to 3.4e38)"
        )))
    } else {
        Ok(x)
    }
}

/// Deserialises an options object; missing, `undefined` and `null` give `T::default()`.
pub(crate) fn options<T: DeserializeOwned + Default>(
    value: Option<JsValue>,
    what: &str,
) -> JsResult<T> {
    match value {
        Some(v) if !v.is_undefined() && !v.is_null() => object(v, what),
        _ => Ok(T::default()),
    }
}

/// Deserialises a required object. Properties the struct does not have are an error (a
/// misspelt option should not pass silently), which `serde_wasm_bindgen` alone does not check.
pub(crate) fn object<T: DeserializeOwned>(value: JsValue, what: &str) -> JsResult<T> {
    plain_object(snapshot(&value, what)?, what)
}

/// [`object`] of a value that is already a [`snapshot`].
fn plain_object<T: DeserializeOwned>(value: JsValue, what: &str) -> JsResult<T> {
    if !value.is_object() || Array::is_array(&value) {
        return Err(invalid(format!("{what} must be an object")));
    }
    let fields = struct_fields::<T>();
    if !fields.is_empty() {
        for key in Object::keys(value.unchecked_ref::<Object>()).iter() {
            let key = key.as_string().unwrap_or_default();
            if !fields.contains(&key.as_str()) {
                return Err(invalid(format!(
                    "{what}: unknown property {key:?} (expected one of: {})",
                    fields.join(", ")
                )));
            }
        }
    }
    serde_wasm_bindgen::from_value(value).map_err(|e| {
        // The error is a JS `Error`; its Display would prefix "Error: ".
        let e = JsValue::from(e);
        let message = e
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_else(|| format!("{e:?}"));
        invalid(format!("{what}: {message}"))
    })
}

/// Deserialises an array of objects, naming the bad element in errors (`what[3]: …`).
pub(crate) fn objects<T: DeserializeOwned>(value: JsValue, what: &str) -> JsResult<Vec<T>> {
    let value = snapshot(&value, what)?;
    let array: &Array = value
        .dyn_ref()
        .ok_or_else(|| invalid(format!("{what} must be an array")))?;
    array
        .iter()
        .enumerate()
        .map(|(i, v)| plain_object(v, &format!("{what}[{i}]")))
        .collect()
}

/// The (serialised) field names of a struct, as its `Deserialize` impl hands them to
/// `deserialize_struct`; empty for anything else.
fn struct_fields<T: DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{self, Deserializer, Visitor};

    struct Capture<'a>(&'a mut &'static [&'static str]);

    impl<'de> Deserializer<'de> for Capture<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields captured"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Capture(&mut fields));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_range_is_the_js_date_range() {
        // ±8.64e15 ms is ±8.64e12 s
        assert_eq!(date_ms(Timestamp(0)), Some(0.0));
        assert_eq!(date_ms(Timestamp(8_640_000_000_000)), Some(MAX_DATE_MS));
        assert_eq!(date_ms(Timestamp(-8_640_000_000_000)), Some(-MAX_DATE_MS));
        assert_eq!(date_ms(Timestamp(8_640_000_000_001)), None);
        assert_eq!(date_ms(Timestamp(-8_640_000_000_001)), None);
        assert_eq!(date_ms(Timestamp(i64::MAX)), None);
        assert_eq!(date_ms(Timestamp(i64::MIN)), None);
    }
}
