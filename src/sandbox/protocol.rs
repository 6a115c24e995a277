//! The messages between flowc and a worker: one JSON object per line, each way.
//!
//! ```text
//! flowc → worker   {"protocol":2,"max_memory_bytes":536870912}          (once, first)
//! worker → flowc   {"protocol":2}                                       (ready)
//! flowc → worker   {"define_source":{"id":7,"text":"def run(x): ..."}}  (no answer)
//! flowc → worker   {"call":{"source_id":7,"function":"run",
//!                   "arguments":{"json":{"x":2.5},"float_bits":[4612811918334230528]},
//!                   "max_steps":10000000,"timeout_ms":10000}}
//! worker → flowc   {"value":{"json":5.0,"float_bits":[4617315517961601024]}}
//!               or {"error":{"kind":"step_limit","steps":10000000}}
//!               or {"unknown_source":7}
//! ```
//!
//! The worker answers calls in order, one at a time; flowc never sends a second call
//! before the first answer. A worker that reads end-of-file on stdin exits.
//!
//! **A source crosses the pipe once per worker**, not once per call: flowc gives each
//! distinct source text an id ([`super::source_ids`]), sends `define_source` the first
//! time a worker is to run it, written in the same write as the call, and from then on
//! calls name the id. A served plan's code node is a few kilobytes that every request
//! used to carry, escaped into JSON by flowc and unescaped, copied and hashed by the
//! worker. The worker keeps at most [`WORKER_SOURCE_CAPACITY`] sources and forgets them
//! all when a new one would pass that ([`super::worker_sources`]); flowc keeps the
//! same account of each worker ([`super::worker_process`]), so it sends the text again
//! exactly when the worker has forgotten it. Should the two accounts ever disagree,
//! the worker answers `unknown_source` instead of running anything and flowc sends the
//! definition and the call again; a new worker (after a crash or a limit) starts with
//! no sources and is sent them again. Ids are never reused for another text, so a
//! stale id can only be unknown, never the wrong code.
//!
//! **Floats are carried twice**: as JSON numbers (so the line stays readable) and as
//! their exact bits. serde_json writes a float as its shortest round-trip text, but
//! without its `float_roundtrip` feature it may read such text back one unit in the
//! last place off, and a sandbox whose results change on the way out would not be
//! deterministic. [`ExactJson`] records every float's bits in the order it walks the
//! value, and the receiver puts them back in the same order (objects are walked in
//! their map's order on both sides, so the orders agree). In today's build starlark
//! switches on serde_json's `arbitrary_precision` for the whole crate graph, under
//! which numbers keep their text and read back exactly anyway; the bits keep the
//! protocol exact whichever features serde_json ends up with.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value as JsonValue};

use super::SandboxError;

/// Bumped whenever a message changes shape, so that a worker from another flowc
/// build is refused at the handshake instead of misread.
pub const PROTOCOL_VERSION: u32 = 2;

/// How many sources one worker keeps (and flowc believes it keeps): a plan has a
/// handful; a caller sending ever-new sources (the optimiser trying candidates) only
/// ever has the last ones kept.
pub const WORKER_SOURCE_CAPACITY: usize = 64;

/// The rule both sides follow before keeping source `id`: when it is new and
/// [`WORKER_SOURCE_CAPACITY`] sources are kept already, every source is forgotten
/// first. One function, so the worker's table and flowc's account of it cannot
/// drift apart.
pub fn forgets_every_source_before_keeping(id_is_kept: bool, kept: usize) -> bool {
    !id_is_kept && kept >= WORKER_SOURCE_CAPACITY
}

/// flowc → worker, once, before anything else.
#[derive(Debug, Serialize, Deserialize)]
pub struct WorkerSetup {
    pub protocol: u32,
    pub max_memory_bytes: u64,
}

/// worker → flowc, once the limits are in place: the worker is ready for requests.
#[derive(Debug, Serialize, Deserialize)]
pub struct WorkerReady {
    pub protocol: u32,
}

/// flowc → worker: a source to keep under an id, or a call.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerRequest<'a> {
    /// Not answered: the call that needs it follows at once.
    DefineSource(#[serde(borrow)] SourceDefinition<'a>),
    Call(#[serde(borrow)] CallRequest<'a>),
}

/// flowc → worker: the text behind a source id.
#[derive(Debug, Serialize, Deserialize)]
pub struct SourceDefinition<'a> {
    pub id: u64,
    #[serde(borrow)]
    pub text: Cow<'a, str>,
}

/// flowc → worker: one call of a source the worker was given.
#[derive(Debug, Serialize, Deserialize)]
pub struct CallRequest<'a> {
    pub source_id: u64,
    #[serde(borrow)]
    pub function: Cow<'a, str>,
    /// Always an object: the keyword arguments.
    pub arguments: ExactJson,
    pub max_steps: u64,
    pub timeout_ms: u64,
}

/// worker → flowc: the outcome of one call.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallResponse {
    Value(ExactJson),
    Error(SandboxError),
    /// The worker has no source of this id (see the module docs): nothing ran, and
    /// flowc sends the definition with the call again. Never reaches a caller.
    UnknownSource(u64),
}

/// A JSON value with the exact bits of its floats beside it (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExactJson {
    json: JsonValue,
    float_bits: Vec<u64>,
}

impl ExactJson {
    pub fn new(json: JsonValue) -> ExactJson {
        let mut float_bits = Vec::new();
        collect_float_bits(&json, &mut float_bits);
        ExactJson { json, float_bits }
    }

    /// The value, with every float exactly as it was sent.
    pub fn into_json(self) -> Result<JsonValue, String> {
        let ExactJson { mut json, float_bits } = self;
        let mut remaining = float_bits.into_iter();
        restore_float_bits(&mut json, &mut remaining)?;
        if remaining.next().is_some() {
            return Err("a message carried more float bits than floats".into());
        }
        Ok(json)
    }
}

fn collect_float_bits(value: &JsonValue, bits: &mut Vec<u64>) {
    match value {
        JsonValue::Number(number) if number.is_f64() => {
            bits.push(number.as_f64().unwrap_or_default().to_bits());
        }
        JsonValue::Array(items) => items.iter().for_each(|item| collect_float_bits(item, bits)),
        JsonValue::Object(fields) => fields.values().for_each(|field| collect_float_bits(field, bits)),
        _ => {}
    }
}

fn restore_float_bits(value: &mut JsonValue, bits: &mut impl Iterator<Item = u64>) -> Result<(), String> {
    match value {
        JsonValue::Number(number) if number.is_f64() => {
            let exact = bits.next().ok_or("a message carried fewer float bits than floats")?;
            *number =
                Number::from_f64(f64::from_bits(exact)).ok_or("a message carried the bits of a non-finite float")?;
        }
        JsonValue::Array(items) => {
            for item in items {
                restore_float_bits(item, bits)?;
            }
        }
        JsonValue::Object(fields) => {
            for field in fields.values_mut() {
                restore_float_bits(field, bits)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn floats_cross_the_wire_bit_for_bit() {
        // Values whose shortest text has 17 significant digits are the ones a
        // best-effort float parser may read back one ulp off.
        let floats: [f64; 7] = [
            0.1 + 0.2,
            2.638344616030823e-256,
            1.7976931348623157e308,
            5e-324,
            9007199254740993.0,
            0.30000000000000004,
            123456789.12345679,
        ];
        let value = json!({"floats": floats, "nested": {"x": [1, 2.5, {"y": 1e-7}]}, "int": 3});
        let line = serde_json::to_string(&ExactJson::new(value.clone())).unwrap();
        let back: ExactJson = serde_json::from_str(&line).unwrap();
        let back = back.into_json().unwrap();
        assert_eq!(back, value);
        for (index, float) in floats.iter().enumerate() {
            assert_eq!(back["floats"][index].as_f64().unwrap().to_bits(), float.to_bits());
        }
        assert!(back["int"].is_i64());
    }

    #[test]
    fn mismatched_float_bits_are_an_error_not_a_wrong_number() {
        let short = ExactJson {
            json: json!([1.5, 2.5]),
            float_bits: vec![1.5f64.to_bits()],
        };
        assert!(short.into_json().is_err());
        let long = ExactJson {
            json: json!(1.5),
            float_bits: vec![0, 0],
        };
        assert!(long.into_json().is_err());
    }
}
