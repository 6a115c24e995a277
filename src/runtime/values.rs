//! Values flowing between nodes (JSON values), how references read them, and how
//! they are written into prompts.

use serde_json::Value;

use crate::plan::template::{parse_template_text, TemplateSegment};

/// The values known so far for one input: workflow inputs and finished nodes.
pub type Environment = std::collections::BTreeMap<String, Value>;

/// Read `a.b.c`: the value named `a`, then its fields.
pub fn read_path(environment: &Environment, path: &str) -> Result<Value, String> {
    let mut segments = path.split('.');
    let first = segments.next().unwrap_or_default();
    let mut value = environment.get(first).ok_or_else(|| format!("`{first}` has no value"))?;
    let mut walked = first.to_string();
    for segment in segments {
        value = value.get(segment).ok_or_else(|| format!("`{walked}` has no field `{segment}` (its value is {})", excerpt(value)))?;
        walked.push('.');
        walked.push_str(segment);
    }
    Ok(value.clone())
}

/// How a value reads in a prompt: text as is, numbers as written, the rest as JSON.
pub fn prompt_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Fill a canonical template with values.
pub fn render_template(template: &str, environment: &Environment) -> Result<String, String> {
    let mut rendered = String::with_capacity(template.len());
    for segment in parse_template_text(template) {
        match segment {
            TemplateSegment::Text(text) => rendered.push_str(&text),
            TemplateSegment::Reference(path) => rendered.push_str(&prompt_text(&read_path(environment, &path.join("."))?)),
        }
    }
    Ok(rendered)
}

pub fn excerpt(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_references_as_prompt_text() {
        let mut environment = Environment::new();
        environment.insert("question".into(), json!("How many?"));
        environment.insert("extract".into(), json!({"numbers": [1, 2.5], "unit": "kg"}));
        let rendered = render_template("Q: {question} N: {extract.numbers} U: {extract.unit} {{x}}", &environment).unwrap();
        assert_eq!(rendered, "Q: How many? N: [1,2.5] U: kg {x}");
        assert!(render_template("{extract.missing}", &environment).is_err());
    }
}
