//! A plan's port types read back: the lock writes a type as its `Display` text
//! (`text`, `[number]`, `json { name: text, tags: [text] }`, `enum("a", "b")`); a
//! server that checks inputs against it needs the type again, its JSON schema, and
//! a precise reason when a value does not fit.

use serde_json::Value;

use crate::semantic::types::Type;

/// Reads a type as the lock writes it. The grammar is the `Display` of
/// [`Type`]; anything else is an error naming the position.
pub fn parse_port_type(text: &str) -> Result<Type, String> {
    let mut reader = TypeReader { text, position: 0 };
    let ty = reader.read_type()?;
    reader.skip_spaces();
    if reader.position != text.len() {
        return Err(format!("unexpected `{}` at column {} of the type `{text}`", &text[reader.position..], reader.position + 1));
    }
    Ok(ty)
}

struct TypeReader<'a> {
    text: &'a str,
    position: usize,
}

impl TypeReader<'_> {
    fn rest(&self) -> &str {
        &self.text[self.position..]
    }

    fn skip_spaces(&mut self) {
        let trimmed = self.rest().trim_start();
        self.position = self.text.len() - trimmed.len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_spaces();
        if self.rest().starts_with(token) {
            self.position += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str) -> Result<(), String> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(format!("expected `{token}` at column {} of the type `{}`", self.position + 1, self.text))
        }
    }

    fn identifier(&mut self) -> Result<String, String> {
        self.skip_spaces();
        let length = self.rest().find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(self.rest().len());
        if length == 0 {
            return Err(format!("expected a name at column {} of the type `{}`", self.position + 1, self.text));
        }
        let name = self.rest()[..length].to_string();
        self.position += length;
        Ok(name)
    }

    /// A variant of `enum(...)`: written with Rust's `{:?}`, i.e. a quoted string.
    fn quoted(&mut self) -> Result<String, String> {
        self.skip_spaces();
        let rest = self.rest();
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<String>();
        match stream.next() {
            Some(Ok(variant)) => {
                self.position += stream.byte_offset();
                Ok(variant)
            }
            _ => Err(format!("expected a quoted variant at column {} of the type `{}`", self.position + 1, self.text)),
        }
    }

    fn read_type(&mut self) -> Result<Type, String> {
        if self.eat("[") {
            let element = self.read_type()?;
            self.expect("]")?;
            return Ok(Type::List(Box::new(element)));
        }
        let name = self.identifier()?;
        match name.as_str() {
            "json" => {
                self.expect("{")?;
                let mut fields = Vec::new();
                while !self.eat("}") {
                    if !fields.is_empty() {
                        self.expect(",")?;
                    }
                    let field = self.identifier()?;
                    self.expect(":")?;
                    fields.push((field, self.read_type()?));
                }
                Ok(Type::Json(fields))
            }
            "enum" => {
                self.expect("(")?;
                let mut variants = Vec::new();
                while !self.eat(")") {
                    if !variants.is_empty() {
                        self.expect(",")?;
                    }
                    variants.push(self.quoted()?);
                }
                Ok(Type::Enum(variants))
            }
            other => Type::named(other).ok_or_else(|| format!("unknown type `{other}` in `{}`", self.text)),
        }
    }
}

/// The JSON schema of an input of this type. Unlike output schemas (which bound
/// arrays for constrained decoding), inputs are not bounded here: the server's body
/// limit bounds them.
pub fn input_schema(ty: &Type) -> Value {
    super::output_schema::type_schema(ty, super::output_schema::SchemaUse::Input)
}

/// Where a value does not fit its type: the field (`question`, `order.items[2]`),
/// the type expected there and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeMismatch {
    pub field: String,
    pub expected: String,
    pub found: String,
}

/// Checks `value` against `ty`; `field` names the value in the message.
pub fn check_value(value: &Value, ty: &Type, field: &str) -> Result<(), TypeMismatch> {
    let mismatch = || TypeMismatch { field: field.to_string(), expected: ty.to_string(), found: describe(value) };
    match ty {
        Type::Error => Ok(()),
        Type::Text if value.is_string() => Ok(()),
        Type::Number if value.is_number() => Ok(()),
        Type::Int if value.is_i64() || value.is_u64() => Ok(()),
        Type::Bool if value.is_boolean() => Ok(()),
        Type::Enum(variants) if value.as_str().is_some_and(|text| variants.iter().any(|variant| variant == text)) => Ok(()),
        Type::List(element) => {
            let Some(items) = value.as_array() else { return Err(mismatch()) };
            items.iter().enumerate().try_for_each(|(index, item)| check_value(item, element, &format!("{field}[{index}]")))
        }
        Type::Json(fields) => {
            let Some(object) = value.as_object() else { return Err(mismatch()) };
            for (name, field_type) in fields {
                let path = format!("{field}.{name}");
                match object.get(name) {
                    Some(inner) => check_value(inner, field_type, &path)?,
                    None => return Err(TypeMismatch { field: path, expected: field_type.to_string(), found: "nothing (the field is missing)".into() }),
                }
            }
            Ok(())
        }
        _ => Err(mismatch()),
    }
}

/// A value as a person reads it in an error: its kind and a short excerpt.
fn describe(value: &Value) -> String {
    let kind = match value {
        Value::Null => return "null".into(),
        Value::Bool(_) => "a boolean",
        Value::Number(number) if number.is_i64() || number.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    };
    format!("{kind} ({})", crate::runtime::values::excerpt(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_written_type_reads_back() {
        let types = [
            Type::Text,
            Type::Number,
            Type::List(Box::new(Type::Int)),
            Type::Json(vec![("name".into(), Type::Text), ("tags".into(), Type::List(Box::new(Type::Bool)))]),
            Type::Enum(vec!["a \"quoted\" one".into(), "b".into()]),
            Type::List(Box::new(Type::Json(vec![("x".into(), Type::Enum(vec!["p".into()]))]))),
        ];
        for ty in types {
            assert_eq!(parse_port_type(&ty.to_string()), Ok(ty.clone()), "{ty}");
        }
        assert!(parse_port_type("texts").is_err());
        assert!(parse_port_type("[number").is_err());
        assert!(parse_port_type("number number").is_err());
    }

    #[test]
    fn mismatches_name_the_field_and_the_expected_type() {
        let ty = Type::Json(vec![("items".into(), Type::List(Box::new(Type::Number)))]);
        let mismatch = check_value(&json!({"items": [1, "two"]}), &ty, "order").unwrap_err();
        assert_eq!(mismatch.field, "order.items[1]");
        assert_eq!(mismatch.expected, "number");
        assert_eq!(mismatch.found, "a string (\"two\")");
        assert!(check_value(&json!({"items": [1, 2.5]}), &ty, "order").is_ok());
        assert_eq!(check_value(&json!({}), &ty, "order").unwrap_err().field, "order.items");
        assert!(check_value(&json!(2.5), &Type::Int, "n").is_err());
        assert!(check_value(&json!("b"), &Type::Enum(vec!["a".into()]), "e").is_err());
    }
}
