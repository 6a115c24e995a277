//! Capability functions: deterministic code the optimiser can offload a node to
//! without asking the teacher. They are tried first on a node's gold outputs
//! because they cost no teacher call and never vary.
//!
//! Today there is one: reading the numbers of a text in order (digits with
//! thousands separators and decimals, and cardinal words such as "three"), the
//! step a small student gets wrong most often on word problems (measured: SmolLM2
//! drops or mangles seven-digit numbers) and the decomposition that made a weak
//! teacher succeed (teacher notes: extraction + `compute(n)`).

use std::sync::LazyLock;

use serde_json::Value;

/// Starlark: `_tokens(text)`, the words, symbols and numbers of a text with their
/// sentence (digits with thousands separators and decimals, cardinal words as
/// numbers, a plural `s` stripped from words, and each token's `gap`: the characters
/// between it and the token before). Every reader of text is built on it, so they
/// agree on what a number is. v22: digits with two dots or more ("03.11.2027") are a
/// word, not a number (before, reading one failed the whole node).
pub const TEXT_TOKENS_SOURCE: &str = r#"_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}

# Currency signs: every character of Unicode's currency-symbol category but the
# cent signs (¢ is a hundredth, not a currency mark).
_SYMBOLS = "%#@&+$£¤¥֏؋৳৻૱௹฿៛₠₡₢₣₤₥₦₧₨₩₪₫€₭₮₯₰₱₲₳₴₵₶₷₸₹₺₻₼₽₾₿﷼﹩＄￡￥￦"

def _stem(word):
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word

def _tokens(text):
    # Each token also keeps `gap`, the characters between it and the token
    # before ("-" in "RS-38517", "" in "RM606"): what tells a glued currency
    # mark from an id's letters.
    tokens = []
    token = ""
    kind = ""
    sentence = 0
    gap = ""
    token_gap = ""
    size = len(text)
    for i in range(size + 1):
        c = text[i] if i < size else " "
        if c.isdigit():
            k = "digits"
        elif (c == "," or c == ".") and kind == "digits" and i + 1 < size and text[i + 1].isdigit():
            k = "digits"
        elif c.isalpha():
            k = "word"
        elif c in _SYMBOLS:
            k = "symbol"
        else:
            k = ""
        if k != kind or k == "symbol":
            if kind == "digits" and token.count(".") > 1:
                # "03.11.2027", "1.2.3": a date or a version, not a quantity.
                tokens.append({"kind": "word", "text": token, "value": None, "sentence": sentence, "gap": token_gap})
            elif kind == "digits":
                digits = token.replace(",", "")
                value = float(digits) if "." in digits else int(digits)
                tokens.append({"kind": "number", "text": token, "value": value, "sentence": sentence, "gap": token_gap})
            elif kind == "word":
                lowered = token.lower()
                if lowered in _NUMBER_WORDS:
                    tokens.append({"kind": "number", "text": lowered, "value": _NUMBER_WORDS[lowered], "sentence": sentence, "gap": token_gap})
                else:
                    tokens.append({"kind": "word", "text": _stem(lowered), "value": None, "sentence": sentence, "gap": token_gap})
            elif kind == "symbol":
                tokens.append({"kind": "word", "text": token, "value": None, "sentence": sentence, "gap": token_gap})
            token = ""
        if k == "" and (c == "." or c == "?" or c == "!" or c == ";" or c == "\n"):
            sentence += 1
        kind = k
        if k == "":
            gap += c
        else:
            if token == "":
                token_gap = gap
                gap = ""
            token += c
    return tokens

"#;

/// Starlark: `numbers_in(text)` returns the numbers of `text` in order.
pub static NUMBERS_IN_SOURCE: LazyLock<String> = LazyLock::new(|| format!("{TEXT_TOKENS_SOURCE}{NUMBERS_IN}"));

const NUMBERS_IN: &str = r#"
def numbers_in(text):
    return [t["value"] for t in _tokens(text) if t["kind"] == "number"]
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
    Some(format!("{}\ndef run({text_argument}):\n    return {body}\n", NUMBERS_IN_SOURCE.as_str()))
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
