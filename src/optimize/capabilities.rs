//! Capability functions: deterministic code the optimiser can offload a node to
//! without asking the teacher. They are tried first on a node's gold outputs
//! because they cost no teacher call and never vary.
//!
//! Today there is one: reading the numbers of a text in order (digits with
//! thousands separators and decimals, and cardinal words such as "three"), the
//! step a small student gets wrong most often on word problems (measured: SmolLM2
//! drops or mangles seven-digit numbers) and the decomposition that made a weak
//! teacher succeed (teacher notes: extraction + `compute(n)`).

use serde_json::Value;

/// Starlark: `numbers_in(text)` returns the numbers of `text` in order.
pub const NUMBERS_IN_SOURCE: &str = r#"_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}

def _number_of(token, kind):
    if kind == "word":
        return _NUMBER_WORDS.get(token.lower())
    digits = token.replace(",", "")
    if "." in digits:
        return float(digits)
    return int(digits)

def numbers_in(text):
    found = []
    token = ""
    kind = ""
    size = len(text)
    for i in range(size + 1):
        c = text[i] if i < size else " "
        if c.isdigit():
            k = "digits"
        elif (c == "," or c == ".") and kind == "digits" and i + 1 < size and text[i + 1].isdigit():
            k = "digits"
        elif c.isalpha():
            k = "word"
        else:
            k = ""
        if k != kind:
            if kind != "":
                value = _number_of(token, kind)
                if value != None:
                    found.append(value)
            token = ""
        kind = k
        if k != "":
            token += c
    return found
"#;

/// The source of a node that offloads to `numbers_in`, shaped to the node's output
/// schema: a list of numbers, or an object with one list-of-numbers field.
pub fn numbers_in_node_source(text_argument: &str, schema: Option<&Value>) -> Option<String> {
    let body = match schema {
        Some(schema) if is_number_list(schema) => format!("numbers_in({text_argument})"),
        Some(schema) if schema.get("type") == Some(&Value::from("object")) => {
            let properties = schema.get("properties")?.as_object()?;
            if properties.len() != 1 {
                return None;
            }
            let (field, field_schema) = properties.iter().next()?;
            if !is_number_list(field_schema) {
                return None;
            }
            format!("{{{}: numbers_in({text_argument})}}", serde_json::to_string(field).ok()?)
        }
        _ => return None,
    };
    Some(format!("{NUMBERS_IN_SOURCE}\ndef run({text_argument}):\n    return {body}\n"))
}

fn is_number_list(schema: &Value) -> bool {
    schema.get("type") == Some(&Value::from("array"))
        && schema.get("items").and_then(|items| items.get("type")).is_some_and(|item| item == "number" || item == "integer")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_number_shaped_outputs_get_the_capability() {
        assert!(numbers_in_node_source("q", Some(&json!({"type": "array", "items": {"type": "number"}}))).is_some());
        assert!(numbers_in_node_source("q", Some(&json!({"type": "string"}))).is_none());
        assert!(numbers_in_node_source("q", None).is_none());
    }
}
