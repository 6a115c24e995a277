//! Values across the sandbox boundary: JSON in, starlark inside, JSON out.
//!
//! Results are read as values, never as text: starlark's `str()` of a float keeps only
//! about 7 significant digits (`str(1234567.5)` is `"1.23457e+06"`), so printing a
//! result and parsing it would change numbers. Here every value is taken apart
//! structurally:
//!
//! | JSON | starlark | back to JSON |
//! |---|---|---|
//! | `null` | `None` | `null` |
//! | `true` / `false` | `True` / `False` | bool |
//! | integer (i64 or u64) | `int` (exact) | integer, if it fits i64 or u64 |
//! | float | `float` (the same f64) | float (the same f64) |
//! | string | `str` | string |
//! | array | `list` | array (from a list or a tuple) |
//! | object | `dict` with `str` keys, in the object's order | object |
//!
//! Refused on the way out, as [`SandboxError::UnsupportedValue`] with the reason:
//!
//! - **integers outside the 64-bit range.** Starlark's ints are arbitrary precision
//!   and stay exact while the code runs; flowc's numbers are i64, u64 or f64.
//!   Turning such an int into a float would round it silently, and into a string
//!   would change its type, so the call fails instead and the message carries the
//!   exact digits. Code that wants a rounded number can return `float(n)`, and code
//!   that wants the digits, `str(n)`. (serde_json's `arbitrary_precision` feature,
//!   which starlark happens to switch on for the whole build, could carry the digits
//!   in a `Number`; flowc does not rely on it: every consumer of values would have to
//!   expect numbers that fit no Rust type, and the build would silently change
//!   meaning if starlark dropped the feature. The way *in* is exact either way: an
//!   argument of any size that serde_json kept as digits becomes a big int.)
//! - NaN and ±infinity (JSON has no form for them);
//! - dicts with keys that are not strings (JSON object keys are strings; Python's
//!   `json.dumps` would quietly turn `1` into `"1"`, which changes the key's type);
//! - anything else: functions, sets, ranges, structs, ...
//! - structures nested deeper than [`MAX_NESTING`], which includes a list that
//!   contains itself.

use serde_json::{Map, Number, Value as JsonValue};
use starlark::values::dict::{AllocDict, DictRef};
use starlark::values::float::StarlarkFloat;
use starlark::values::list::{AllocList, ListRef};
use starlark::values::tuple::TupleRef;
use starlark::values::{Heap, UnpackValue, Value};

use super::SandboxError;

/// How deep lists and dicts may nest, going in or coming out. serde_json refuses to
/// parse JSON nested past 128 levels, and the worker protocol wraps values in a
/// few levels of its own, so values stay well under that.
pub const MAX_NESTING: usize = 100;

/// A JSON value as a starlark value on `heap`.
pub fn json_to_starlark<'v>(value: &JsonValue, heap: Heap<'v>) -> Result<Value<'v>, SandboxError> {
    json_to_starlark_at(value, heap, 0)
}

fn json_to_starlark_at<'v>(value: &JsonValue, heap: Heap<'v>, depth: usize) -> Result<Value<'v>, SandboxError> {
    if depth > MAX_NESTING {
        return Err(SandboxError::UnsupportedValue {
            message: format!("an argument is nested more than {MAX_NESTING} levels deep"),
        });
    }
    Ok(match value {
        JsonValue::Null => Value::new_none(),
        JsonValue::Bool(flag) => Value::new_bool(*flag),
        JsonValue::Number(number) => number_to_starlark(number, heap)?,
        JsonValue::String(text) => heap.alloc(text.as_str()),
        JsonValue::Array(items) => {
            let mut converted = Vec::with_capacity(items.len());
            for item in items {
                converted.push(json_to_starlark_at(item, heap, depth + 1)?);
            }
            heap.alloc(AllocList(converted))
        }
        JsonValue::Object(fields) => {
            let mut converted = Vec::with_capacity(fields.len());
            for (key, field) in fields {
                converted.push((key.as_str(), json_to_starlark_at(field, heap, depth + 1)?));
            }
            heap.alloc(AllocDict(converted))
        }
    })
}

fn number_to_starlark<'v>(number: &Number, heap: Heap<'v>) -> Result<Value<'v>, SandboxError> {
    if let Some(integer) = number.as_i64() {
        return Ok(heap.alloc(integer));
    }
    if let Some(integer) = number.as_u64() {
        // Past i64::MAX: starlark stores it as a big int, still exact.
        return Ok(heap.alloc(integer));
    }
    // With serde_json's `arbitrary_precision` (which starlark turns on), a Number can
    // hold an integer of any size as its digits: it enters exactly, as a big int.
    let text = number.to_string();
    if let Some(integer) = decimal_integer_to_starlark(&text, heap) {
        return Ok(integer);
    }
    match number.as_f64() {
        Some(float) if float.is_finite() => Ok(heap.alloc(float)),
        _ => Err(SandboxError::UnsupportedValue {
            message: format!("the argument {text} is out of the range of a 64-bit float"),
        }),
    }
}

/// `-123...` (digits only) as a starlark int of any size; `None` for anything else.
fn decimal_integer_to_starlark<'v>(text: &str, heap: Heap<'v>) -> Option<Value<'v>> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    // 18 digits at a time: each chunk fits an i64, and starlark's arithmetic carries
    // the total into a big int.
    const CHUNK: usize = 18;
    let mut total = heap.alloc(0);
    let first_chunk = digits.len() % CHUNK;
    let mut start = 0;
    let mut end = if first_chunk == 0 { CHUNK } else { first_chunk };
    while start < digits.len() {
        let chunk: i64 = digits[start..end].parse().ok()?;
        let scale = heap.alloc(10i64.pow((end - start) as u32));
        total = total.mul(scale, heap).ok()?.add(heap.alloc(chunk), heap).ok()?;
        start = end;
        end += CHUNK;
    }
    if negative {
        total.minus(heap).ok()
    } else {
        Some(total)
    }
}

/// A starlark value as JSON, or the reason it has no JSON form.
pub fn starlark_to_json(value: Value) -> Result<JsonValue, SandboxError> {
    starlark_to_json_at(value, 0)
}

fn unsupported(message: String) -> SandboxError {
    SandboxError::UnsupportedValue { message }
}

fn starlark_to_json_at(value: Value, depth: usize) -> Result<JsonValue, SandboxError> {
    if depth > MAX_NESTING {
        return Err(unsupported(format!(
            "the result is nested more than {MAX_NESTING} levels deep (or a list or dict contains itself)"
        )));
    }
    if value.is_none() {
        return Ok(JsonValue::Null);
    }
    if let Some(flag) = value.unpack_bool() {
        return Ok(JsonValue::Bool(flag));
    }
    if value.get_type() == "int" {
        return int_to_json(value);
    }
    if let Some(StarlarkFloat(float)) = StarlarkFloat::unpack_value_opt(value) {
        return Number::from_f64(float).map(JsonValue::Number).ok_or_else(|| {
            unsupported(format!(
                "the result contains the float {}, which JSON cannot represent (only finite numbers)",
                python_float_name(float)
            ))
        });
    }
    if let Some(text) = value.unpack_str() {
        return Ok(JsonValue::String(text.to_owned()));
    }
    if let Some(list) = ListRef::from_value(value) {
        return sequence_to_json(list.content(), depth);
    }
    if let Some(tuple) = TupleRef::from_value(value) {
        return sequence_to_json(tuple.content(), depth);
    }
    if let Some(dict) = DictRef::from_value(value) {
        let mut object = Map::new();
        for (key, field) in dict.iter() {
            let Some(key) = key.unpack_str() else {
                return Err(unsupported(format!(
                    "the result contains a dict with the key {} of type `{}`; only string keys can leave the sandbox (JSON object keys are strings)",
                    key.to_repr(),
                    key.get_type()
                )));
            };
            object.insert(key.to_owned(), starlark_to_json_at(field, depth + 1)?);
        }
        return Ok(JsonValue::Object(object));
    }
    Err(unsupported(format!(
        "the result contains a value of type `{}`, which has no JSON form; return numbers, strings, bools, None, lists or dicts",
        value.get_type()
    )))
}

fn sequence_to_json(items: &[Value], depth: usize) -> Result<JsonValue, SandboxError> {
    let mut array = Vec::with_capacity(items.len());
    for item in items {
        array.push(starlark_to_json_at(*item, depth + 1)?);
    }
    Ok(JsonValue::Array(array))
}

fn int_to_json(value: Value) -> Result<JsonValue, SandboxError> {
    if let Ok(Some(integer)) = i64::unpack_value(value) {
        return Ok(JsonValue::from(integer));
    }
    if let Ok(Some(integer)) = u64::unpack_value(value) {
        return Ok(JsonValue::from(integer));
    }
    // The repr of an int is its exact decimal digits.
    Err(unsupported(format!(
        "the result contains the integer {}, which does not fit in 64 bits; return float(n) for an approximate number or str(n) for the exact digits",
        value.to_repr()
    )))
}

fn python_float_name(float: f64) -> &'static str {
    if float.is_nan() {
        "nan"
    } else if float > 0.0 {
        "inf"
    } else {
        "-inf"
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use starlark::environment::Module;

    use super::*;

    /// JSON → starlark → JSON.
    fn round_trip(value: &JsonValue) -> Result<JsonValue, SandboxError> {
        Module::with_temp_heap(|module| {
            let converted = json_to_starlark(value, module.heap())?;
            starlark_to_json(converted)
        })
    }

    #[test]
    fn scalars_and_structures_come_back_unchanged() {
        for value in [
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(-17),
            json!(i64::MIN),
            json!(i64::MAX),
            json!(u64::MAX),
            json!(0.1),
            json!(-0.0),
            json!(2.5e-300),
            json!("text with \"quotes\" and ünïcode"),
            json!([1, 2.5, "three", null, [true, {"deep": [[]]}]]),
            json!({"a": 1, "b": {"c": [1.5, 2]}, "": null}),
        ] {
            assert_eq!(round_trip(&value).unwrap(), value, "{value}");
        }
    }

    #[test]
    fn floats_of_a_million_and_more_keep_every_digit() {
        // starlark's str() of these is "1.23457e+06": reading values, not text,
        // keeps all 17 significant digits.
        for float in [
            1234567.5f64,
            3431580.0,
            98765432.12345679,
            1.0e22,
            123456789012345680.0,
        ] {
            let back = round_trip(&json!(float)).unwrap();
            assert_eq!(back.as_f64().unwrap().to_bits(), float.to_bits(), "{float}");
            assert!(back.is_f64(), "{float} must stay a float, not become an int");
        }
    }

    #[test]
    fn an_integral_float_stays_a_float_and_an_int_stays_an_int() {
        assert!(round_trip(&json!(5.0)).unwrap().is_f64());
        assert!(round_trip(&json!(5)).unwrap().is_i64());
    }

    fn evaluate(source: &str) -> Result<JsonValue, SandboxError> {
        use starlark::environment::Globals;
        use starlark::eval::Evaluator;
        use starlark::syntax::{AstModule, Dialect};
        let ast = AstModule::parse("test", source.to_owned(), &Dialect::Standard).unwrap();
        let globals = Globals::extended_by(&[starlark::environment::LibraryExtension::SetType]);
        Module::with_temp_heap(|module| {
            let mut evaluator = Evaluator::new(&module);
            let value = evaluator.eval_module(ast, &globals).unwrap();
            starlark_to_json(value)
        })
    }

    #[test]
    fn big_ints_are_refused_with_their_exact_digits() {
        // 2**64 is one past u64::MAX.
        let error = evaluate("18446744073709551615 + 1").unwrap_err();
        assert!(error.to_string().contains("18446744073709551616"), "{error}");
        assert!(matches!(error, SandboxError::UnsupportedValue { .. }));
        assert_eq!(evaluate("18446744073709551615").unwrap(), json!(u64::MAX));
        assert_eq!(evaluate("-9223372036854775808").unwrap(), json!(i64::MIN));
        // A big int made smaller again is an ordinary result.
        assert_eq!(
            evaluate("(18446744073709551615 * 1000) // 1000").unwrap(),
            json!(u64::MAX)
        );
        assert!(evaluate("-9223372036854775808 - 1").is_err());
    }

    #[test]
    fn tuples_become_arrays_and_nested_structures_convert() {
        assert_eq!(
            evaluate("(1, [2.5, None], {'k': (True,)})").unwrap(),
            json!([1, [2.5, null], {"k": [true]}])
        );
    }

    #[test]
    fn values_json_cannot_hold_are_refused() {
        for (source, expected) in [
            ("float('nan')", "nan"),
            ("-float('inf')", "-inf"),
            ("{1: 'a'}", "key 1 of type `int`"),
            ("len", "type `function`"),
            ("set([1])", "type `set`"),
            ("range(3)", "type `range`"),
        ] {
            let error = evaluate(source).unwrap_err();
            assert!(error.to_string().contains(expected), "{source}: {error}");
        }
    }

    #[test]
    fn a_list_that_contains_itself_is_refused_not_followed_forever() {
        let error = evaluate("x = []\nx.append(x)\nx").unwrap_err();
        assert!(error.to_string().contains("nested more than"), "{error}");
    }

    #[test]
    fn integers_of_any_size_enter_exactly() {
        for digits in [
            "-123456789012345678901234567890123456789",
            "18446744073709551616",
            "1000000000000000000",
            "7",
        ] {
            let repr =
                Module::with_temp_heap(|module| decimal_integer_to_starlark(digits, module.heap()).unwrap().to_repr());
            assert_eq!(repr, digits);
        }
        // Through a JSON number: exact when serde_json keeps the digits (its
        // `arbitrary_precision` feature, on in this build through starlark), a float
        // when it has already parsed them as one.
        let digits = "-123456789012345678901234567890123456789";
        let number: JsonValue = serde_json::from_str(digits).unwrap();
        let keeps_digits = number.to_string().as_str() == digits;
        let (kind, repr) = Module::with_temp_heap(|module| {
            let value = json_to_starlark(&number, module.heap()).unwrap();
            (value.get_type().to_owned(), value.to_repr())
        });
        if keeps_digits {
            assert_eq!((kind.as_str(), repr.as_str()), ("int", digits));
        } else {
            assert_eq!(kind, "float");
        }
    }

    #[test]
    fn arguments_nested_too_deep_are_refused() {
        let mut value = json!(1);
        for _ in 0..(MAX_NESTING + 5) {
            value = json!([value]);
        }
        assert!(matches!(round_trip(&value), Err(SandboxError::UnsupportedValue { .. })));
    }
}
