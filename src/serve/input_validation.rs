//! Checking a request's input object against the workflow's declared input types,
//! before anything runs: a wrong input is a 400 that names the field and the type
//! expected there, not a node failure deep inside the run.

use serde_json::{Map, Value};

use super::errors::{ApiError, ErrorCode};
use crate::plan::lock_file::LockedWorkflow;
use crate::plan::port_type::{check_value, input_schema, parse_port_type};
use crate::semantic::suggest::closest;
use crate::semantic::types::Type;

/// A workflow's inputs with their types read back from the plan.
#[derive(Clone, Debug)]
pub struct InputSignature {
    pub ports: Vec<(String, Type)>,
}

impl InputSignature {
    pub fn of(workflow: &LockedWorkflow) -> Result<InputSignature, String> {
        let ports = workflow
            .inputs
            .iter()
            .map(|port| {
                parse_port_type(&port.ty)
                    .map(|ty| (port.name.clone(), ty))
                    .map_err(|error| format!("the plan's workflow `{}` declares its input `{}` with a type this flowc cannot read: {error}", workflow.name, port.name))
            })
            .collect::<Result<_, _>>()?;
        Ok(InputSignature { ports })
    }

    /// The inputs as one JSON Schema object (what `GET /v1/plan` shows).
    pub fn json_schema(&self) -> Value {
        let properties: Map<String, Value> = self.ports.iter().map(|(name, ty)| (name.clone(), input_schema(ty))).collect();
        let required: Vec<&String> = self.ports.iter().map(|(name, _)| name).collect();
        serde_json::json!({ "type": "object", "properties": properties, "required": required, "additionalProperties": false })
    }

    /// `place` prefixes the field in errors (`line 3: `) for batches.
    pub fn check(&self, input: &Map<String, Value>, place: &str) -> Result<(), ApiError> {
        for (name, ty) in &self.ports {
            match input.get(name) {
                None => {
                    return Err(ApiError::new(ErrorCode::InvalidInput, format!("{place}the input `{name}` is missing (expected {ty})")).with_field(format!("{place}{name}")))
                }
                Some(value) => check_value(value, ty, name).map_err(|mismatch| {
                    ApiError::new(ErrorCode::InvalidInput, format!("{place}`{}` must be {}, found {}", mismatch.field, mismatch.expected, mismatch.found))
                        .with_field(format!("{place}{}", mismatch.field))
                })?,
            }
        }
        if let Some(unknown) = input.keys().find(|key| self.ports.iter().all(|(name, _)| name != *key)) {
            let names: Vec<&str> = self.ports.iter().map(|(name, _)| name.as_str()).collect();
            let suggestion = closest(unknown, names.iter().copied()).map(|name| format!("; did you mean `{name}`?")).unwrap_or_default();
            return Err(ApiError::new(
                ErrorCode::UnknownInput,
                format!("{place}the workflow has no input `{unknown}` (its inputs: {}){suggestion}", names.join(", ")),
            )
            .with_field(format!("{place}{unknown}")));
        }
        Ok(())
    }
}

/// The body of a run: one JSON object.
pub fn parse_input_object(body: &[u8], place: &str) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(ApiError::new(ErrorCode::InvalidJson, format!("{place}expected a JSON object of the workflow's inputs, found {}", crate::runtime::values::excerpt(&other)))),
        Err(error) => Err(ApiError::new(ErrorCode::InvalidJson, format!("{place}the body is not JSON: {error}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn signature() -> InputSignature {
        InputSignature { ports: vec![("question".into(), Type::Text), ("count".into(), Type::Int)] }
    }

    #[test]
    fn names_the_field_and_the_expected_type() {
        let error = signature().check(json!({"question": 3, "count": 1}).as_object().unwrap(), "").unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidInput);
        assert_eq!(error.field.as_deref(), Some("question"));
        assert!(error.message.contains("must be text"), "{}", error.message);
        let error = signature().check(json!({"question": "q"}).as_object().unwrap(), "line 2: ").unwrap_err();
        assert_eq!(error.field.as_deref(), Some("line 2: count"));
        let error = signature().check(json!({"question": "q", "count": 1, "questoin": 1}).as_object().unwrap(), "").unwrap_err();
        assert_eq!(error.code, ErrorCode::UnknownInput);
        assert!(error.message.contains("did you mean `question`"), "{}", error.message);
        assert!(signature().check(json!({"question": "q", "count": 2}).as_object().unwrap(), "").is_ok());
        assert_eq!(parse_input_object(b"[1]", "").unwrap_err().code, ErrorCode::InvalidJson);
    }
}
