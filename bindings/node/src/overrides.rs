//! The overrides of `withOptions`: a JavaScript object read key by key into the core's
//! [`nairi::RequestOptions`].
//!
//! Read from the object itself rather than from its JSON: `JSON.stringify` turns `NaN` and
//! the infinities into `null`, so a bad timeout would silently become no override at all.
//! Every refusal is the core's `ValidationError` envelope naming the key, as the Python
//! binding's `with_options` refuses the same values.

use std::time::Duration;

use napi::bindgen_prelude::*;

use crate::core_error;

/// The keys `withOptions` takes, in the order its messages list them.
const KEYS: &str = "max_retries, timeout or recover_prompts";

/// The core's per-call overrides from the object given to `withOptions`. A key set to
/// `undefined` or `null` is no override (as in `ClientOptions`, whose JSON drops or nulls
/// it); an unknown key, a value of the wrong type or out of range is a `ValidationError`.
pub(crate) fn from_object(overrides: Unknown<'_>) -> Result<nairi::RequestOptions> {
    let kind = overrides.get_type()?;
    if kind != ValueType::Object {
        return Err(invalid(
            "overrides",
            format!("must be an object with {KEYS}, not {}", type_name(kind)),
        ));
    }
    // SAFETY: its type was checked to be an object just above.
    let object = unsafe { overrides.cast::<Object>() }?;
    let mut options = nairi::RequestOptions::default();
    for key in Object::keys(&object)? {
        let value: Unknown = object.get_named_property(&key)?;
        let kind = value.get_type()?;
        if matches!(kind, ValueType::Undefined | ValueType::Null) {
            continue;
        }
        match key.as_str() {
            "max_retries" => options.max_retries = Some(retries(number(&key, value, kind)?)?),
            "timeout" => options.timeout = Some(seconds(number(&key, value, kind)?)?),
            "recover_prompts" => {
                if kind != ValueType::Boolean {
                    return Err(wrong_type(&key, "a boolean", kind));
                }
                // SAFETY: its type was checked to be a boolean just above.
                options.recover_prompts = Some(unsafe { value.cast::<bool>() }?);
            }
            _ => {
                return Err(invalid(
                    &key,
                    format!("unknown option of withOptions (it takes {KEYS})"),
                ));
            }
        }
    }
    Ok(options)
}

/// The value of `key` as a number, refusing any other type.
fn number(key: &str, value: Unknown<'_>, kind: ValueType) -> Result<f64> {
    if kind != ValueType::Number {
        return Err(wrong_type(key, "a number", kind));
    }
    // SAFETY: its type was checked to be a number just above.
    unsafe { value.cast::<f64>() }
}

/// `max_retries`: a whole number that fits the core's `u32`.
fn retries(n: f64) -> Result<u32> {
    if n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n) {
        // In range and whole (NaN and the infinities fail the checks above), so exact.
        Ok(n as u32)
    } else {
        Err(invalid(
            "max_retries",
            format!(
                "must be a whole number from 0 to {}, not {}",
                u32::MAX,
                js(n)
            ),
        ))
    }
}

/// `timeout`: seconds, positive and finite (the core's rule and message).
fn seconds(t: f64) -> Result<Duration> {
    nairi::RequestOptions::timeout_from_secs(t).map_err(|e| core_error(&e))
}

/// A number as JavaScript prints it where Rust differs (`Infinity`, not `inf`).
fn js(n: f64) -> String {
    match n {
        f64::INFINITY => "Infinity".to_owned(),
        f64::NEG_INFINITY => "-Infinity".to_owned(),
        _ => n.to_string(),
    }
}

fn wrong_type(key: &str, expected: &str, kind: ValueType) -> Error {
    invalid(key, format!("must be {expected}, not {}", type_name(kind)))
}

fn invalid(field: &str, message: String) -> Error {
    core_error(&nairi::Error::validation(field, message))
}

/// The JavaScript name of a value's type, as `typeof` says it (and `null`).
fn type_name(kind: ValueType) -> &'static str {
    match kind {
        ValueType::Undefined => "undefined",
        ValueType::Null => "null",
        ValueType::Boolean => "a boolean",
        ValueType::Number => "a number",
        ValueType::String => "a string",
        ValueType::Symbol => "a symbol",
        ValueType::Object => "an object",
        ValueType::Function => "a function",
        ValueType::BigInt => "a bigint",
        ValueType::External | ValueType::Unknown => "a native value",
    }
}
