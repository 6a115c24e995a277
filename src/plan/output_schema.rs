//! JSON schemas of typed outputs: what constrained decoding enforces and what a
//! parsed output is checked against.

use serde_json::{json, Value};

use crate::semantic::types::Type;

/// Arrays are bounded: a small model under an unbounded array constraint was seen to
/// loop ("1, 2, 2, 2, ...") until it ran out of tokens.
pub const MAXIMUM_ARRAY_ITEMS: usize = 16;

/// The schema of a type; `None` for `text`, which is not constrained.
pub fn output_schema(ty: &Type) -> Option<Value> {
    match ty {
        Type::Text | Type::Error => None,
        other => Some(type_schema(other, SchemaUse::ConstrainedOutput)),
    }
}

/// What a schema is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaUse {
    /// Constrained decoding of a model's output: arrays bounded, no extra fields.
    ConstrainedOutput,
    /// Describing or checking an input (`flowc serve`'s `/v1/plan`): unbounded, as
    /// the request's body limit bounds it.
    Input,
}

pub fn type_schema(ty: &Type, usage: SchemaUse) -> Value {
    let output = usage == SchemaUse::ConstrainedOutput;
    match ty {
        Type::Text | Type::Error => json!({ "type": "string" }),
        Type::Number => json!({ "type": "number" }),
        Type::Int => json!({ "type": "integer" }),
        Type::Bool => json!({ "type": "boolean" }),
        Type::Enum(variants) => json!({ "type": "string", "enum": variants }),
        Type::List(element) if output => json!({ "type": "array", "items": type_schema(element, usage), "maxItems": MAXIMUM_ARRAY_ITEMS }),
        Type::List(element) => json!({ "type": "array", "items": type_schema(element, usage) }),
        Type::Json(fields) => {
            let properties: serde_json::Map<String, Value> = fields.iter().map(|(name, ty)| (name.clone(), type_schema(ty, usage))).collect();
            let required: Vec<&String> = fields.iter().map(|(name, _)| name).collect();
            if output {
                json!({ "type": "object", "properties": properties, "required": required, "additionalProperties": false })
            } else {
                json!({ "type": "object", "properties": properties, "required": required })
            }
        }
    }
}

/// Whether `value` conforms to `schema` (the subset of JSON schema written above).
/// Returns a short reason when it does not.
pub fn check_against_schema(value: &Value, schema: &Value) -> Result<(), String> {
    if let Some(variants) = schema.get("enum").and_then(Value::as_array) {
        return if variants.contains(value) { Ok(()) } else { Err(format!("{value} is not one of {}", Value::Array(variants.clone()))) };
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("string") if value.is_string() => Ok(()),
        Some("number") if value.is_number() => Ok(()),
        Some("integer") if value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0 && f.is_finite()) => Ok(()),
        Some("boolean") if value.is_boolean() => Ok(()),
        Some("array") => {
            let Some(items) = value.as_array() else { return Err(format!("expected a list, found {value}")) };
            match schema.get("items") {
                Some(item_schema) => items.iter().try_for_each(|item| check_against_schema(item, item_schema)),
                None => Ok(()),
            }
        }
        Some("object") => {
            let Some(object) = value.as_object() else { return Err(format!("expected an object, found {value}")) };
            let properties = schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
            for (name, property_schema) in &properties {
                match object.get(name) {
                    Some(field) => check_against_schema(field, property_schema).map_err(|reason| format!("field `{name}`: {reason}"))?,
                    None => return Err(format!("missing field `{name}`")),
                }
            }
            Ok(())
        }
        Some(expected) => Err(format!("expected {expected}, found {value}")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_bound_arrays_and_check_values() {
        let ty = Type::Json(vec![("quantities".into(), Type::List(Box::new(Type::Number)))]);
        let schema = output_schema(&ty).unwrap();
        assert_eq!(schema["properties"]["quantities"]["maxItems"], MAXIMUM_ARRAY_ITEMS);
        assert!(check_against_schema(&json!({"quantities": [1, 2.5]}), &schema).is_ok());
        assert!(check_against_schema(&json!({"quantities": ["x"]}), &schema).is_err());
        assert!(check_against_schema(&json!({}), &schema).is_err());
        assert!(output_schema(&Type::Text).is_none());
        assert!(check_against_schema(&json!(3), &output_schema(&Type::Int).unwrap()).is_ok());
        assert!(check_against_schema(&json!(3.5), &output_schema(&Type::Int).unwrap()).is_err());
    }
}
