//! Field readers: deterministic readers of ids, dates and amounts in free text,
//! each normalised (`#A-77812` → `A-77812`, `the 3rd of March` → `2026-03-03`,
//! `$129.50` → 129.5), for extraction nodes whose output is an object of such
//! fields.
//!
//! Why: copying a seven-character id or rewriting a date is where the 135M student
//! fails (it copied the example id of its own prompt into every ticket), and a
//! 1.5B teacher writing a date parser from three examples, without regular
//! expressions, rarely gets one right. These readers are general-purpose (they
//! know calendar formats, not any task), and which one fills which field — the
//! first id or the one after "order", day-first or month-first dates, the number
//! after `$` or nearest "total" — is searched on the training examples like a
//! formula, and checked leave-one-out.
//!
//! v21: amounts in the world's currencies (symbols, ISO codes, names after a
//! currency adjective, "bucks"), a decimal comma, minor units by name ("and 70
//! pence"), and a date-like number next to a currency read as money, not a date.
//! Added after the first measurement of the later3 extraction task (0.13: its
//! training texts wrote "Swiss francs" and "bucks", so no amount reader fitted);
//! measured on later4, written after.
//!
//! v22: dates by the calendar reader (`calendar_dates`); local currency marks
//! written before an amount, often glued to it ("RM606.31", "Rs. 62", "Ksh 68.70"),
//! but not an id's letters ("RS-38517"); cheque amounts ("34 and 35/100 dollars");
//! and a field no reader fits on every training example gets the reader that fits
//! the most of them (more than half), so that the fields that do fit are not lost
//! with it. Added after the first measurement of later4 (0.01); measured on later5.
//! After that measurement (0.52; development data from then on): every sign of
//! Unicode's currency-symbol category is a currency mark, not only the dozen listed
//! before (₦, the naira, was unknown); an id ends at "=", ":", "№" and the like
//! ("order-id=EU-19895", "注文番号：ZX9-56547"); a number with a CJK date unit
//! ("2026년") is not an id.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::calendar_dates::CALENDAR_DATES_SOURCE;
use crate::sandbox::Sandbox;

/// Starlark, appended to `role_readers::ROLE_READERS_SOURCE` (it uses `_tokens`
/// and `read_number`) and followed by `calendar_dates::CALENDAR_DATES_SOURCE`:
/// `id_at`, `id_after`, `date_at`, `amount_at` and `field_table`.
pub const FIELD_READERS_SOURCE: &str = r##"
_EDGE = "\"'()[]{}<>,.;:!?"

# Characters that end an id: "order-id=EU-19895", "ORDER:T3X-98054",
# "注文番号：ZX9-56547", "№PL-73839" (an id is letters, digits, "-", "_" and "/").
_ID_BREAKS = ["=", ":", "：", "№", "|", ";", ",", "(", ")", "[", "]", "<", ">", "{", "}", "\"", "—", "–", "、", "，"]
# A number with a CJK date unit ("2026년", "3月") is part of a date, not an id.
_CJK_DATE_UNITS = ["年", "月", "日", "년", "월", "일"]

def _raw_words(text):
    for mark in _ID_BREAKS:
        text = text.replace(mark, " ")
    words = []
    for word in text.split():
        word = word.strip(_EDGE)
        if word != "":
            words.append(word)
    return words

def _is_id(word):
    core = word.lstrip("#")
    if len(core) < 4:
        return False
    digits = 0
    letters = 0
    for c in core.elems():
        if c.isdigit():
            digits += 1
        elif c.isalpha():
            letters += 1
        elif c != "-" and c != "_" and c != "/":
            return False
    if digits == 0:
        return False
    # An ordinal ("16th", "2nd") is a day, not an id.
    if len(core) >= 3 and core[-2:].lower() in ["st", "nd", "rd", "th"] and core[:-2].isdigit():
        return False
    if letters == 0 and "-" not in core and len(core) < 5:
        return False
    if core[-1] in _CJK_DATE_UNITS and core[:-1].isdigit():
        return False
    # Digits and slashes are a date or a fraction ("35/100"), not an id.
    if letters == 0 and "/" in core:
        return False
    if _is_date_word(core):
        return False
    return True

def _ids(text):
    return [word.lstrip("#") for word in _raw_words(text) if _is_id(word)]

def id_at(text, index):
    found = _ids(text)
    if len(found) == 0 or index >= len(found) or index < -len(found):
        fail("no id number %d in: %s" % (index, text[:200]))
    return found[index]

def id_after(text, anchor):
    words = _raw_words(text)
    seen = False
    for word in words:
        if seen and _is_id(word):
            return word.lstrip("#")
        if _stem(word.lower()) == anchor:
            seen = True
    fail("no id after \"%s\" in: %s" % (anchor, text[:200]))

# Currency marks, as the tokenizer reads them (lower-cased, a final "s" off): the
# mark written before an amount ("$12", "NZ$12" — the tokenizer splits "nz" off —,
# "€12", "£12", "USD 12") or after it ("12 USD", "12 €", "12 dollars", "12 Swiss
# francs"). v21: the ISO 4217 codes and currency names of the world's most traded
# currencies and their symbols, and money slang ("bucks", "quid"), not only the
# dollar, euro and pound (codes that are also common words — TRY, PHP, COP — are
# left out: "try 3 times").
_CURRENCY_CODES = [
    "usd", "eur", "gbp", "chf", "cad", "aud", "nzd", "hkd", "sgd", "jpy", "cny", "rmb",
    "inr", "sek", "nok", "dkk", "pln", "czk", "huf", "zar", "mxn", "brl", "krw",
    "thb", "myr", "aed", "sar", "ils", "rub", "idr", "twd", "ars", "clp",
    "kes", "ngn", "ghs", "egp", "pkr", "bdt", "lkr", "vnd", "uah", "kzt", "qar",
    "kwd", "bhd", "omr", "jod", "mad", "pen", "uyu", "isk", "ron", "bgn", "rsd",
]
# Every character of Unicode's currency-symbol category but the cent signs.
_CURRENCY_SYMBOLS = [c for c in "$£¤¥֏؋৳৻૱௹฿៛₠₡₢₣₤₥₦₧₨₩₪₫€₭₮₯₰₱₲₳₴₵₶₷₸₹₺₻₼₽₾₿﷼﹩＄￡￥￦".elems()]
_CURRENCY_NAMES = [
    "dollar", "euro", "pound", "franc", "yen", "yuan", "renminbi", "rupee", "krona",
    "krone", "kronor", "kroner", "rand", "peso", "real", "reai", "won", "zloty", "forint",
    "lira", "ruble", "rouble", "baht", "ringgit", "dirham", "riyal", "shekel", "koruna",
    "dinar", "rupiah", "buck", "quid", "shilling", "naira", "cedi", "taka", "dong",
    "hryvnia", "tenge", "leu",
]
# Hundredths of a currency, by name ("and 70 pence").
_MINOR_UNITS = ["cent", "penny", "pence", "pennie", "centime", "centavo", "centesimo", "kopek", "kopeck", "ore", "paisa", "sen", "grosz"]
# Marks written only before an amount, often glued to it ("RM606.31", "Rs. 62",
# "Ksh 68.70", "R95.88", "kr 100"): local abbreviations of currencies.
_CURRENCY_PREFIXES = ["rs", "rm", "ksh", "r", "rp", "kr", "tk", "sh", "zł", "kč", "ft", "lei", "fr", "din", "sr"]
_CURRENCY_BEFORE = _CURRENCY_SYMBOLS + _CURRENCY_CODES + _CURRENCY_PREFIXES
_CURRENCY_AFTER = _CURRENCY_SYMBOLS + _CURRENCY_CODES + _CURRENCY_NAMES

def _money_value(t):
    # A decimal comma ("333,20", "1.234,56"): the number's last
    # separator is a comma followed by one or two digits. The tokenizer, which
    # reads "12,171" as twelve thousand, does not know the text is money.
    text = t["text"]
    comma = text.rfind(",")
    if comma > 0 and comma > text.rfind(".") and len(text) - comma - 1 in [1, 2]:
        return float(text[:comma].replace(".", "").replace(",", "") + "." + text[comma + 1:])
    return t["value"]

def _currency_after(tokens, i):
    # The currency named after the number at i: the next word, or a name after
    # one or two words that are not numbers ("Swiss francs", "Hong Kong dollars").
    if i + 1 >= len(tokens) or tokens[i + 1]["kind"] != "word":
        return ""
    after = tokens[i + 1]["text"]
    if after in _CURRENCY_AFTER:
        return after
    for k in [i + 2, i + 3]:
        if k >= len(tokens) or tokens[k]["kind"] != "word" or tokens[k]["sentence"] != tokens[i]["sentence"]:
            return ""
        if tokens[k]["text"] in _CURRENCY_NAMES:
            return tokens[k]["text"]
    return ""

def _cheque_fractions(text):
    # "34 and 35/100 dollars", as cheques write amounts: 34.35.
    words = text.split(" ")
    for k in range(1, len(words) - 1):
        fraction = words[k + 1].split("/")
        if words[k] == "and" and words[k - 1].replace(",", "").isdigit() and len(fraction) == 2 and fraction[1] == "100" and fraction[0].isdigit() and len(fraction[0]) <= 2:
            words[k - 1] = words[k - 1].replace(",", "") + "." + _two(int(fraction[0]))
            words[k] = ""
            words[k + 1] = ""
    return " ".join([word for word in words if word != ""])

def _amounts(text):
    tokens = _tokens(_cheque_fractions(text))
    found = []
    for i in range(len(tokens)):
        t = tokens[i]
        if t["kind"] != "number":
            continue
        before = tokens[i - 1]["text"] if i > 0 and tokens[i - 1]["kind"] == "word" else ""
        after = _currency_after(tokens, i)
        # A mark followed by a number belongs to that number ("C-29486 (USD 132)").
        if after != "" and i + 2 < len(tokens) and tokens[i + 1]["text"] == after and tokens[i + 2]["kind"] == "number":
            after = ""
        # A local mark glued by a hyphen is an id's letters ("RS-38517").
        if before in _CURRENCY_PREFIXES and "-" in t["gap"]:
            before = ""
        if before in _CURRENCY_BEFORE or after != "":
            value = _money_value(t)
            # "15 dollars and 89 cents", "11 pounds and 70 pence"
            if after in _CURRENCY_NAMES and i + 4 < len(tokens) and tokens[i + 1]["text"] == after and tokens[i + 2]["text"] == "and" and tokens[i + 3]["kind"] == "number" and tokens[i + 4]["text"] in _MINOR_UNITS:
                value = value + tokens[i + 3]["value"] / 100.0
            found.append(value)
    return found

def amount_at(text, index):
    found = _amounts(text)
    if len(found) == 0 or index >= len(found) or index < -len(found):
        fail("no amount of money number %d (a number next to a currency symbol, code or name: $, €, USD, \"dollars\", \"Swiss francs\") in: %s" % (index, text[:200]))
    return found[index]

def _two(n):
    return ("0" + str(n)) if n < 10 else str(n)

def _iso(year, month, day):
    if month < 1 or month > 12 or day < 1 or day > 31:
        return None
    return "%d-%s-%s" % (year, _two(month), _two(day))

def date_at(text, index, default_year, order):
    found = _dates(text, default_year, order)
    if len(found) == 0 or index >= len(found) or index < -len(found):
        fail("no date number %d in: %s" % (index, text[:200]))
    return found[index]

def field_table(text, anchors, default_year):
    table = {}
    ids = _ids(text)
    if len(ids) > 0:
        table["id_at 0"] = ids[0]
        table["id_at -1"] = ids[-1]
    words = _raw_words(text)
    lowered = [_stem(w.lower()) for w in words]
    for anchor in anchors:
        if anchor not in lowered:
            continue
        start = lowered.index(anchor)
        for word in words[start + 1:]:
            if _is_id(word):
                table["id_after " + anchor] = word.lstrip("#")
                break
    amounts = _amounts(text)
    if len(amounts) > 0:
        table["amount_at 0"] = amounts[0]
        table["amount_at -1"] = amounts[-1]
    for order in ["dmy", "mdy"]:
        dates = _dates(text, default_year, order)
        if len(dates) > 0:
            table["date_at 0 " + order] = dates[0]
            table["date_at -1 " + order] = dates[-1]
    return table
"##;

/// A reader of one field, as found on the training examples.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldReader {
    /// The `index`-th id-like word (0 the first, -1 the last).
    IdAt(i64),
    /// The first id-like word after the word `anchor`.
    IdAfter(String),
    /// The `index`-th date, normalised to ISO; `order` is `dmy` or `mdy` for
    /// numeric dates; `default_year` for dates written without one.
    DateAt { index: i64, order: String, default_year: i64 },
    /// The `index`-th amount of money: a number next to a currency mark (`$12`,
    /// `USD 12`, `12 EUR`, `12 dollars`, `12 Swiss francs`, `12,50 €`).
    AmountAt(i64),
    /// A number read by its anchor (see `role_readers`).
    Number(super::role_readers::RoleReader),
}

impl FieldReader {
    pub fn call(&self, text_argument: &str) -> String {
        match self {
            FieldReader::IdAt(index) => format!("id_at({text_argument}, {index})"),
            FieldReader::IdAfter(anchor) => format!("id_after({text_argument}, {})", json!(anchor)),
            FieldReader::DateAt { index, order, default_year } => format!("date_at({text_argument}, {index}, {default_year}, {})", json!(order)),
            FieldReader::AmountAt(index) => format!("amount_at({text_argument}, {index})"),
            FieldReader::Number(reader) => reader.call(text_argument),
        }
    }

    /// Fewer choices fitted to the data first: the description-length order used
    /// to prefer one reader over another that fits as well.
    fn complexity(&self) -> u32 {
        match self {
            FieldReader::IdAt(0) => 0,
            FieldReader::IdAt(_) => 1,
            FieldReader::DateAt { index: 0, .. } => 1,
            FieldReader::AmountAt(0) => 1,
            FieldReader::AmountAt(_) => 2,
            FieldReader::DateAt { .. } => 2,
            FieldReader::IdAfter(_) => 2,
            FieldReader::Number(reader) if reader.relation == "nearest" => 2,
            FieldReader::Number(_) => 3,
        }
    }

    fn describe(&self) -> String {
        match self {
            FieldReader::IdAt(0) => "the first id-like word".into(),
            FieldReader::IdAt(-1) => "the last id-like word".into(),
            FieldReader::IdAt(index) => format!("id-like word {index}"),
            FieldReader::IdAfter(anchor) => format!("the first id-like word after \"{anchor}\""),
            FieldReader::DateAt { index, order, default_year } => {
                format!("the {} date ({order} for numeric dates, year {default_year} when none is written), as YYYY-MM-DD", if *index == 0 { "first" } else { "last" })
            }
            FieldReader::AmountAt(index) => format!("the {} amount of money (a number next to a currency symbol, code or name: $, €, USD, \"dollars\")", if *index == 0 { "first" } else { "last" }),
            FieldReader::Number(reader) => format!("the number {} \"{}\"", if reader.relation == "nearest" { "nearest to" } else { reader.relation.as_str() }, reader.anchor),
        }
    }
}

/// A reader per field, and what the search measured.
pub struct FieldPlan {
    pub readers: Vec<(String, FieldReader)>,
    /// Per field (in the order of `readers`), the training texts its reader gives
    /// the gold value on.
    pub fitted: Vec<usize>,
    /// Readers held against the data (hypotheses).
    pub considered: u64,
}

impl FieldPlan {
    /// The fields whose reader misses some training text, with how many it fits.
    pub fn partial_fields(&self, texts: usize) -> Vec<(String, usize)> {
        self.readers.iter().zip(&self.fitted).filter(|(_, fitted)| **fitted < texts).map(|((field, _), fitted)| (field.clone(), *fitted)).collect()
    }
}

/// Per field of `gold` (objects, one per training text), the simplest reader that
/// gives the gold value on every text; where none does, the reader that gives it
/// on the most texts, if that is more than half of them (why: a reader that fits
/// most texts keeps the other fields' readers in the plan, where demanding every
/// field fit every text would leave the whole node to the student; the candidate
/// is still scored on the training examples against the node it replaces).
/// `None` if some field has no reader that fits more than half.
pub async fn field_plan(sandbox: &Sandbox, texts: &[String], gold: &[Map<String, Value>], fields: &[String]) -> Result<Option<FieldPlan>, String> {
    let default_year = most_common_gold_year(gold).unwrap_or(2000);
    let anchors = common_anchors(sandbox, texts).await?;
    let mut tables = Vec::new();
    for text in texts {
        let arguments: Map<String, Value> = json!({"text": text, "anchors": anchors, "default_year": default_year}).as_object().cloned().unwrap_or_default();
        let table = sandbox.call(&full_source(), "field_table", arguments).await.map_err(|error| format!("the field readers failed: {error}"))?;
        let mut table = table.as_object().cloned().unwrap_or_default();
        let arguments: Map<String, Value> = json!({"text": text, "anchors": anchors}).as_object().cloned().unwrap_or_default();
        let numbers = sandbox.call(&super::role_readers::ROLE_READERS_SOURCE, "reader_table", arguments).await.map_err(|error| format!("the role readers failed: {error}"))?;
        for (key, found) in numbers.as_object().cloned().unwrap_or_default() {
            if let Some(value) = found.as_array().and_then(|pair| pair.first()).cloned() {
                table.insert(format!("number {key}"), value);
            }
        }
        tables.push(table);
    }
    let mut considered = 0u64;
    let mut readers = Vec::new();
    let mut fitted = Vec::new();
    for field in fields {
        let mut candidates: BTreeMap<String, FieldReader> = BTreeMap::new();
        for table in &tables {
            for key in table.keys() {
                if let Some(reader) = reader_of(key, default_year) {
                    candidates.entry(key.clone()).or_insert(reader);
                }
            }
        }
        let mut scored: Vec<(usize, FieldReader)> = Vec::new();
        for (key, reader) in candidates {
            considered += 1;
            let fits = tables.iter().zip(gold).filter(|(table, gold)| match (table.get(&key), gold.get(field)) {
                (Some(found), Some(expected)) => field_values_match(found, expected),
                _ => false,
            }).count();
            scored.push((fits, reader));
        }
        // Most texts fitted first, then the smaller description.
        let Some((fits, best)) = scored.into_iter().min_by_key(|(fits, reader)| (std::cmp::Reverse(*fits), reader.complexity())) else { return Ok(None) };
        if fits * 2 <= texts.len() {
            return Ok(None);
        }
        readers.push((field.clone(), best));
        fitted.push(fits);
    }
    Ok(Some(FieldPlan { readers, fitted, considered }))
}

/// The code of a node returning the object of `readers` read from `text_argument`.
pub fn field_plan_source(text_argument: &str, readers: &[(String, FieldReader)]) -> String {
    let fields: Vec<String> = readers.iter().map(|(field, reader)| format!("        {}: {},", json!(field), reader.call(text_argument))).collect();
    format!("{}\ndef run({text_argument}):\n    return {{\n{}\n    }}\n", full_source(), fields.join("\n"))
}

pub fn describe_plan(readers: &[(String, FieldReader)]) -> String {
    readers.iter().map(|(field, reader)| format!("`{field}` = {}", reader.describe())).collect::<Vec<_>>().join("; ")
}

fn full_source() -> String {
    format!("{}{FIELD_READERS_SOURCE}{CALENDAR_DATES_SOURCE}", super::role_readers::ROLE_READERS_SOURCE.as_str())
}

fn reader_of(key: &str, default_year: i64) -> Option<FieldReader> {
    let parts: Vec<&str> = key.split(' ').collect();
    match parts.as_slice() {
        ["id_at", index] => Some(FieldReader::IdAt(index.parse().ok()?)),
        ["id_after", anchor] => Some(FieldReader::IdAfter(anchor.to_string())),
        ["date_at", index, order] => Some(FieldReader::DateAt { index: index.parse().ok()?, order: order.to_string(), default_year }),
        ["amount_at", index] => Some(FieldReader::AmountAt(index.parse().ok()?)),
        ["number", anchor, relation] => Some(FieldReader::Number(super::role_readers::RoleReader { anchor: anchor.to_string(), relation: relation.to_string(), cue_words: Vec::new() })),
        _ => None,
    }
}

/// Text compared trimmed and case-sensitively (an id's case is part of it);
/// numbers to 1e-9 relative; a number and its digits as text are equal (`"55812"`).
fn field_values_match(found: &Value, expected: &Value) -> bool {
    match (found, expected) {
        (Value::String(found), Value::String(expected)) => found.trim() == expected.trim(),
        (Value::Number(found), Value::Number(expected)) => {
            let (found, expected) = (found.as_f64().unwrap_or(f64::NAN), expected.as_f64().unwrap_or(f64::NAN));
            (found - expected).abs() <= 1e-9 * expected.abs().max(1.0)
        }
        _ => false,
    }
}

fn most_common_gold_year(gold: &[Map<String, Value>]) -> Option<i64> {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for object in gold {
        for value in object.values() {
            if let Some(text) = value.as_str() {
                let bytes = text.as_bytes();
                if text.len() == 10 && bytes[4] == b'-' && bytes[7] == b'-' {
                    if let Ok(year) = text[..4].parse::<i64>() {
                        *counts.entry(year).or_default() += 1;
                    }
                }
            }
        }
    }
    counts.into_iter().max_by_key(|(year, count)| (*count, -year)).map(|(year, _)| year)
}

/// Words every text contains, as anchors for `id_after` and number readers.
async fn common_anchors(sandbox: &Sandbox, texts: &[String]) -> Result<Vec<String>, String> {
    Ok(super::role_readers::common_words(sandbox, texts).await?.into_iter().take(40).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_are_parsed_back_from_their_table_keys() {
        assert_eq!(reader_of("id_at -1", 2026), Some(FieldReader::IdAt(-1)));
        assert_eq!(reader_of("date_at 0 mdy", 2026), Some(FieldReader::DateAt { index: 0, order: "mdy".into(), default_year: 2026 }));
        assert_eq!(FieldReader::IdAfter("order".into()).call("message"), "id_after(message, \"order\")");
    }

    #[test]
    fn the_default_year_is_the_gold_dates_year() {
        let gold = vec![json!({"date": "2026-03-03"}).as_object().unwrap().clone(), json!({"date": "2026-11-20", "id": "A-1"}).as_object().unwrap().clone()];
        assert_eq!(most_common_gold_year(&gold), Some(2026));
    }
}
