//! Reading a model's raw text as the node's typed output.
//!
//! With constrained decoding the text is already valid JSON for the schema; without
//! it (a backend that cannot constrain), the usual wrappings of small models are
//! tolerated — surrounding whitespace, a Markdown code fence — and anything else is
//! a typed error naming what was expected and what came back.

use serde_json::Value;

use crate::plan::output_schema::check_against_schema;

pub fn parse_output(raw: &str, schema: Option<&Value>) -> Result<Value, String> {
    let Some(schema) = schema else {
        return Ok(Value::String(raw.trim().to_string()));
    };
    let text = strip_code_fence(raw.trim());
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        // A bare word for an enum or text field: read it as a string.
        Err(_) if schema.get("enum").is_some() => Value::String(text.trim_matches('"').to_string()),
        Err(error) => return Err(format!("the output is not valid JSON for the declared type ({error}): {}", excerpt(raw))),
    };
    let value = normalise_integers(value, schema);
    check_against_schema(&value, schema).map_err(|reason| format!("the output does not have the declared type: {reason}"))?;
    Ok(value)
}

/// Check a value produced by code against the declared schema, with the same
/// integer normalisation as model outputs.
pub fn conform_value(value: Value, schema: Option<&Value>) -> Result<Value, String> {
    let Some(schema) = schema else {
        return match value {
            Value::String(_) => Ok(value),
            other => Err(format!("the declared type is text, but the code returned {other}")),
        };
    };
    let value = normalise_integers(value, schema);
    check_against_schema(&value, schema).map_err(|reason| format!("the value does not have the declared type: {reason}"))?;
    Ok(value)
}

/// `3.0` where an `int` is declared is the integer 3.
fn normalise_integers(value: Value, schema: &Value) -> Value {
    match (schema.get("type").and_then(Value::as_str), value) {
        (Some("integer"), Value::Number(number)) if !number.is_i64() && !number.is_u64() => match number.as_f64() {
            Some(float) if float.fract() == 0.0 && float.abs() < 9.0e15 => Value::from(float as i64),
            _ => Value::Number(number),
        },
        (Some("array"), Value::Array(items)) => {
            let item_schema = schema.get("items").cloned().unwrap_or(Value::Null);
            Value::Array(items.into_iter().map(|item| normalise_integers(item, &item_schema)).collect())
        }
        (Some("object"), Value::Object(fields)) => {
            let properties = schema.get("properties").cloned().unwrap_or(Value::Null);
            Value::Object(
                fields
                    .into_iter()
                    .map(|(name, field)| {
                        let field_schema = properties.get(&name).cloned().unwrap_or(Value::Null);
                        (name, normalise_integers(field, &field_schema))
                    })
                    .collect(),
            )
        }
        (_, value) => value,
    }
}

fn strip_code_fence(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else { return text };
    let rest = rest.trim_start_matches(|c: char| c.is_alphanumeric());
    rest.strip_suffix("```").unwrap_or(rest).trim()
}

fn excerpt(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.chars().count() > 120 {
        format!("{:?}…", trimmed.chars().take(120).collect::<String>())
    } else {
        format!("{trimmed:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_typed_outputs_and_reports_the_rest() {
        let number = json!({"type": "number"});
        assert_eq!(parse_output(" 42\n", Some(&number)).unwrap(), json!(42));
        assert_eq!(parse_output("```json\n{\"a\": 1}\n```", Some(&json!({"type": "object", "properties": {"a": {"type": "integer"}}}))).unwrap(), json!({"a": 1}));
        assert_eq!(parse_output("3.0", Some(&json!({"type": "integer"}))).unwrap(), json!(3));
        assert!(parse_output("forty-two", Some(&number)).unwrap_err().contains("not valid JSON"));
        assert!(parse_output("\"x\"", Some(&number)).unwrap_err().contains("declared type"));
        assert_eq!(parse_output("positive", Some(&json!({"type": "string", "enum": ["positive", "negative"]}))).unwrap(), json!("positive"));
        assert_eq!(parse_output("  free text ", None).unwrap(), json!("free text"));
    }
}
