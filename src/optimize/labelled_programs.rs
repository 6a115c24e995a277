//! The teacher labels the numbers of the training texts by solving them (optimiser
//! v9): which number of each text plays which role, learned from programs the build
//! runs and checks, not from words the teacher lists.
//!
//! 1. The teacher solves one training text as a program whose first lines name its
//!    quantities (`boxes_bought = 3`), shown the training answer; the build runs it
//!    in the sandbox and keeps it only if it gives that answer (one feedback round
//!    with the result or the error, on at most two texts).
//! 2. For every other training text, code first fills the same program (v13): the
//!    text's numbers assigned to the template's roles, each number once, such that
//!    the template's computation gives that text's answer (of several, the one the
//!    context table learned so far prefers). Only for a text no assignment solves
//!    is the teacher asked to fill the program with that text's numbers (names and
//!    computation kept; renamed lines are read by position); the build runs the
//!    *template's* computation on the filled values, so a filled program is kept
//!    only if it gives that text's answer by the same computation. At least one
//!    other text must be filled.
//! 0. Only when the training texts share a content word (one problem
//!    in several wordings names the same things) and are not one template (then
//!    positions say which number is which); otherwise no teacher call.
//! 3. A named value that is a number of the text in every labelled text is a
//!    *role*; one with the same value everywhere and not read from the text is a
//!    *constant* ("a dozen", "half"). Anything else ends the move.
//!
//! Why (measured 2026-12-01): asked for the words that go with each quantity
//! (v8, `role_vocabulary`), the 1.5B teacher copied the placeholder keys of the
//! reply's shape and the plans held on 0.5% of held-out texts of four families
//! written after v8. Solving a word problem as a program is what a coder model is
//! trained for, the answer it must reach is known, and the sandbox checks every
//! label; the words next to each role are then counted by code
//! (`context_readers`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::context_readers::same_number;
use super::moves::MoveContext;
use super::teacher::{assistant, code_block_in, render_prompt, user, TeacherError, FILL_PROGRAM_PROMPT, SOLVE_WITH_NAMED_QUANTITIES_PROMPT};
use crate::models::ChatMessage;
use crate::models::OutputConstraint;

/// Training texts the first program is asked for (in order, until one is solved),
/// and rounds per question (the first answer, then one with the run's result as
/// feedback).
const FIRST_PROGRAM_TEXTS: usize = 3;
const ROUNDS_PER_QUESTION: usize = 2;

/// Content words every training text must share for the texts to be taken as one
/// problem in several wordings. One (v16; it was two): exam_average's three
/// wordings share only "average" (one says "French tests", one "maths quizzes"),
/// and roles by search then reads 43 of 50 held-out problems right, while
/// examples/gsm_hard's three different problems share none (function words
/// aside), measured with the readers' own words. Every other paraphrased family of
/// the 33 measured before v16 shares two or more.
const MIN_SHARED_CONTENT_WORDS: usize = 1;

/// A program as the build reads it: `name = literal` lines, then the computation,
/// which ends by assigning `answer`.
#[derive(Clone, Debug, PartialEq)]
pub struct CanonicalProgram {
    pub assignments: Vec<(String, String)>,
    pub computation: Vec<String>,
}

impl CanonicalProgram {
    pub fn render(&self) -> String {
        let mut text = String::new();
        for (name, literal) in &self.assignments {
            text.push_str(&format!("{name} = {literal}\n"));
        }
        for line in &self.computation {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    pub fn values(&self) -> BTreeMap<String, f64> {
        self.assignments.iter().filter_map(|(name, literal)| Some((name.clone(), parse_literal(literal)?))).collect()
    }

    fn names(&self) -> BTreeSet<&str> {
        self.assignments.iter().map(|(name, _)| name.as_str()).collect()
    }

    /// Starlark: `run()` returns `answer`.
    fn run_source(&self) -> String {
        let body: String = self.render().lines().map(|line| format!("    {line}\n")).collect();
        format!("def run():\n{body}    return answer\n")
    }
}

/// What the teacher's programs say about the training texts.
#[derive(Clone, Debug, PartialEq)]
pub struct Labelling {
    /// The first program that solved its text (the computation every label shares).
    pub template: CanonicalProgram,
    pub first: usize,
    /// Per training text: role → value, for the texts the teacher's program solved.
    pub labels: Vec<Option<BTreeMap<String, f64>>>,
    pub roles: Vec<String>,
    /// Named constants: (name, literal as the teacher wrote it).
    pub constants: Vec<(String, String)>,
    /// Per training text, its numbers with the words around them (what the
    /// context table is learned from).
    pub contexts: Vec<Vec<super::context_readers::NumberContext>>,
}

impl Labelling {
    pub fn labelled(&self) -> usize {
        self.labels.iter().flatten().count()
    }
}

/// The gate of both role moves (roles by search and labelled programs): the
/// training texts must be one problem in several wordings, not one template. Returns
/// each text's numbers with the words around them, read once for both moves, or
/// why the texts are not read by role.
pub async fn texts_read_by_role(sandbox: &crate::sandbox::Sandbox, texts: &[String]) -> Result<Vec<Vec<super::context_readers::NumberContext>>, String> {
    // One problem in several wordings names the same things (muffins, trays, a
    // shelter); texts that share no content word are different problems
    // (GSM-Hard's three training texts), and no template
    // filled from one would solve another, nor would one formula fitted across them
    // by free assignments be anything but a coincidence.
    let shared = super::role_readers::common_content_words(sandbox, texts).await?;
    if shared.len() < MIN_SHARED_CONTENT_WORDS {
        return Err(format!(
            "the training texts share {} content word(s) ({}), fewer than {MIN_SHARED_CONTENT_WORDS}: not one problem in several wordings",
            shared.len(),
            shared.iter().map(|word| format!("\"{word}\"")).collect::<Vec<_>>().join(", ")
        ));
    }
    // Texts that are one template (every number has the same word before it, in
    // the same order, in every text) need no roles: positions already say which
    // number is which, and formula search and teacher code by position have had
    // their turn.
    let mut contexts = Vec::new();
    for text in texts {
        contexts.push(super::context_readers::number_contexts(sandbox, text).await?);
    }
    if is_one_template(&contexts) {
        return Err("the training texts are one template (each number has the same word before it, in the same order): positions say which number is which".into());
    }
    Ok(contexts)
}

/// Labels the numbers of `texts` (the training texts, in trial order, past
/// `texts_read_by_role`, whose `contexts` they are) with roles. `Ok(Err(why))`: no
/// labelling (the move goes on without it); `Err`: the teacher cannot be asked.
pub async fn label_training_texts(context: &MoveContext<'_>, texts: &[String], contexts: Vec<Vec<super::context_readers::NumberContext>>) -> Result<Result<Labelling, String>, TeacherError> {
    // The numbers of each text, as the readers read them (the contexts' values).
    let numbers: Vec<Vec<f64>> = contexts.iter().map(|contexts| contexts.iter().map(|context| context.value).collect()).collect();
    let mut teacher_calls = 0;
    let mut first: Option<(usize, CanonicalProgram)> = None;
    let solvable: Vec<usize> = (0..texts.len()).filter(|index| context.trial.gold.get(*index).is_some_and(Option::is_some)).take(FIRST_PROGRAM_TEXTS).collect();
    'texts: for &index in &solvable {
        let answer = context.trial.gold[index].clone().unwrap_or(Value::Null);
        let listed = numbers[index].iter().map(|number| Value::from(*number).to_string()).collect::<Vec<_>>().join(", ");
        let prompt = render_prompt(SOLVE_WITH_NAMED_QUANTITIES_PROMPT, &[("text", texts[index].as_str()), ("numbers", &listed), ("answer", &answer.to_string())]);
        let purpose = format!("named quantities for `{}`", context.node.name);
        // The greedy answer with one feedback round, then a fresh sampled one: a
        // weak teacher told its program is wrong mostly repeats it (seen in the
        // call cache), a sample is another idea.
        for sample in [context.round * 2, context.round * 2 + 1] {
            let solved = ask_until_it_runs(context, &purpose, vec![user(prompt.clone())], &mut teacher_calls, |code| canonical_program(code, &numbers[index]), index, sample).await?;
            match solved {
                Asked::Solved(program) => {
                    first = Some((index, program));
                    break 'texts;
                }
                // A teacher that answers a coding question in prose will not
                // write programs for the next text either: the move ends.
                Asked::Prose => break 'texts,
                Asked::Wrong => {}
            }
        }
    }
    let Some((first, template)) = first else {
        return Ok(Err(format!("the teacher's programs did not give the training answer on {} training texts ({teacher_calls} calls)", solvable.len())));
    };
    let mut labels: Vec<Option<BTreeMap<String, f64>>> = vec![None; texts.len()];
    labels[first] = Some(template.values());
    // The template filled by search first (v13): the numbers of each other text
    // assigned to the template's roles, each number once, so that the template's
    // computation gives the text's answer; the teacher is asked only for a text no
    // assignment solves.
    let template_roles: Vec<String> = template.values().into_iter().filter(|(_, value)| numbers[first].iter().any(|number| same_number(*number, *value))).map(|(name, _)| name).collect();
    for index in 0..texts.len() {
        if index == first || context.trial.gold.get(index).is_none_or(Option::is_none) {
            continue;
        }
        if let Some(label) = filled_by_search(context, &template, &template_roles, &contexts, &labels, index).await {
            labels[index] = Some(label);
            continue;
        }
        let prompt = render_prompt(FILL_PROGRAM_PROMPT, &[("text_a", texts[first].as_str()), ("program_a", template.render().trim_end()), ("text_b", texts[index].as_str())]);
        let purpose = format!("fill the program of `{}`", context.node.name);
        let filled = ask_until_it_runs(context, &purpose, vec![user(prompt)], &mut teacher_calls, |code| filled_as_template(&template, canonical_program(code, &numbers[index])?), index, context.round * 2).await?;
        if let Some(program) = filled.solved() {
            labels[index] = Some(program.values());
        }
    }
    if labels.iter().flatten().count() < 2 {
        return Ok(Err(format!("the teacher's program for training text {} could not be filled for any other text ({teacher_calls} calls)", first + 1)));
    }
    Ok(roles_and_constants(&template, &labels, &numbers).map(|(roles, constants)| Labelling { template, first, labels, roles, constants, contexts }))
}

/// Assignments tried per text: beyond this many the teacher fills the text.
const MAX_FILL_ASSIGNMENTS: usize = 5040;

/// The template's values for text `index` with its numbers assigned to `roles`
/// (each number to one role), the template's other names kept as written, such
/// that the template's computation gives the text's training answer. Of several,
/// the one whose numbers' neighbouring words the table learned from `labels` (the
/// texts labelled so far) scores highest; the first at equal scores.
async fn filled_by_search(
    context: &MoveContext<'_>,
    template: &CanonicalProgram,
    roles: &[String],
    contexts: &[Vec<super::context_readers::NumberContext>],
    labels: &[Option<BTreeMap<String, f64>>],
    index: usize,
) -> Option<BTreeMap<String, f64>> {
    let numbers = &contexts[index];
    if roles.is_empty() || roles.len() > numbers.len() || permutations(numbers.len(), roles.len()) > MAX_FILL_ASSIGNMENTS {
        return None;
    }
    let values = template.values();
    let mut body = String::new();
    for (name, literal) in &template.assignments {
        if !roles.contains(name) {
            body.push_str(&format!("    {name} = {literal}\n"));
        }
    }
    for line in &template.computation {
        body.push_str(&format!("    {line}\n"));
    }
    let source = format!("def answer_of({}):\n{body}    return answer\n", roles.join(", "));
    let sandbox = &context.trial.executor.sandbox;
    let mut solving: Vec<Vec<usize>> = Vec::new();
    let mut assignments: Vec<Vec<usize>> = Vec::new();
    super::role_search::for_each_injective_assignment(numbers.len(), roles.len(), &mut |assignment| assignments.push(assignment.to_vec()));
    for assignment in assignments {
        let mut arguments = Map::new();
        for (role, number) in roles.iter().zip(&assignment) {
            arguments.insert(role.clone(), Value::from(numbers[*number].value));
        }
        let output = sandbox.call(&source, "answer_of", arguments).await.map_err(|error| error.to_string());
        if context.trial.passes(index, &output) {
            solving.push(assignment);
        }
    }
    // The table of the texts labelled so far, over the roles.
    let (mut known_contexts, mut known_labels) = (Vec::new(), Vec::new());
    for (text_contexts, label) in contexts.iter().zip(labels) {
        if let Some(label) = label {
            known_contexts.push(text_contexts.clone());
            known_labels.push(label.iter().filter(|(name, _)| roles.contains(name)).map(|(name, value)| (name.clone(), *value)).collect());
        }
    }
    let table = super::context_readers::learn_context_table(&known_contexts, &known_labels, roles);
    let score = |assignment: &Vec<usize>| super::role_search::assignment_score(&table, numbers, roles, assignment);
    let best = solving.iter().fold(None, |best: Option<(&Vec<usize>, f64)>, candidate| {
        let candidate_score = score(candidate);
        match best {
            Some((_, best_score)) if best_score >= candidate_score => best,
            _ => Some((candidate, candidate_score)),
        }
    })?;
    let mut label = values;
    for (role, number) in roles.iter().zip(best.0) {
        label.insert(role.clone(), numbers[*number].value);
    }
    Some(label)
}

/// n! / (n - k)!: injective assignments of k roles to n numbers.
fn permutations(n: usize, k: usize) -> usize {
    (n - k + 1..=n).fold(1usize, |product, factor| product.saturating_mul(factor))
}

/// How a question about one text ended.
enum Asked {
    Solved(CanonicalProgram),
    /// The program did not give the answer (or was not in the form asked).
    Wrong,
    /// The reply had no program at all.
    Prose,
}

impl Asked {
    fn solved(self) -> Option<CanonicalProgram> {
        match self {
            Asked::Solved(program) => Some(program),
            Asked::Wrong | Asked::Prose => None,
        }
    }
}

/// Whether every text has as many numbers as the first, each with the same word
/// right before it as the number at the same place in the first.
fn is_one_template(contexts: &[Vec<super::context_readers::NumberContext>]) -> bool {
    let word_before = |context: &super::context_readers::NumberContext| context.features.iter().find(|(feature, weight)| feature.starts_with("b:") && **weight == 1.0).map(|(feature, _)| feature.clone());
    let Some((first, others)) = contexts.split_first() else { return false };
    !first.is_empty()
        && others.iter().all(|other| other.len() == first.len() && other.iter().zip(first).all(|(a, b)| word_before(a).is_some() && word_before(a) == word_before(b)))
}

/// Asks (`sample` 0: the greedy answer), runs what the reply's code block becomes
/// through `read`, and checks it gives the training answer of text `index`; one
/// feedback round with the result.
async fn ask_until_it_runs(
    context: &MoveContext<'_>,
    purpose: &str,
    mut messages: Vec<ChatMessage>,
    teacher_calls: &mut usize,
    read: impl Fn(&str) -> Option<CanonicalProgram>,
    index: usize,
    sample: u32,
) -> Result<Asked, TeacherError> {
    let sandbox = &context.trial.executor.sandbox;
    for _ in 0..ROUNDS_PER_QUESTION {
        let reply = context.teacher.ask(purpose, messages.clone(), OutputConstraint::None, sample).await?;
        *teacher_calls += 1;
        messages.push(assistant(reply.clone()));
        // A reply in prose is not asked again: a teacher that did not write a
        // program for this question rarely writes one when told to (fail fast).
        let Some(code) = code_block_in(&reply) else { return Ok(Asked::Prose) };
        let Some(program) = read(&code) else {
            messages.push(user("Your program is not in the form asked (`name = value` lines, then the computation, keeping the names). Reply with the program in one ```python code block.".into()));
            continue;
        };
        let output = sandbox.call(&program.run_source(), "run", Map::new()).await.map_err(|error| error.to_string());
        if context.trial.passes(index, &output) {
            return Ok(Asked::Solved(program));
        }
        let expected = context.trial.gold.get(index).cloned().flatten().unwrap_or(Value::Null);
        let result = match output {
            Ok(value) => format!("gives {value}"),
            Err(error) => format!("fails: {}", error.lines().next().unwrap_or_default()),
        };
        messages.push(user(format!("Run as written, the program {result}, but the answer is {expected}. Reply with the corrected program in one ```python code block.")));
    }
    Ok(Asked::Wrong)
}

/// A filled program read as the template's: its values under the template's names
/// (by name; or, when the teacher renamed them, by position: it keeps the lines in
/// order, and the template's computation on them must still give the answer),
/// with the template's computation. None when the line counts differ.
fn filled_as_template(template: &CanonicalProgram, filled: CanonicalProgram) -> Option<CanonicalProgram> {
    if filled.assignments.len() != template.assignments.len() {
        return None;
    }
    let by_name: BTreeMap<&str, &String> = filled.assignments.iter().map(|(name, literal)| (name.as_str(), literal)).collect();
    let assignments = if filled.names() == template.names() {
        template.assignments.iter().map(|(name, _)| (name.clone(), by_name[name.as_str()].clone())).collect()
    } else {
        template.assignments.iter().zip(&filled.assignments).map(|((name, _), (_, literal))| (name.clone(), literal.clone())).collect()
    };
    Some(CanonicalProgram { assignments, computation: template.computation.clone() })
}

/// Roles: named values that are numbers of their text in every labelled text.
/// Constants: the others, when they have the same value in every labelled text.
fn roles_and_constants(template: &CanonicalProgram, labels: &[Option<BTreeMap<String, f64>>], numbers: &[Vec<f64>]) -> Result<(Vec<String>, Vec<(String, String)>), String> {
    let mut roles = Vec::new();
    let mut constants = Vec::new();
    for (name, literal) in &template.assignments {
        let in_text = labels.iter().zip(numbers).all(|(label, numbers)| match label {
            Some(label) => label.get(name).is_some_and(|value| numbers.iter().any(|number| same_number(*number, *value))),
            None => true,
        });
        let value = parse_literal(literal);
        let constant = labels.iter().flatten().all(|label| match (label.get(name), value) {
            (Some(a), Some(b)) => same_number(*a, b),
            _ => false,
        });
        if in_text {
            roles.push(name.clone());
        } else if constant {
            constants.push((name.clone(), literal.clone()));
        } else {
            return Err(format!("`{name}` is neither a number of every text nor the same value in all of them"));
        }
    }
    if roles.is_empty() {
        return Err("the teacher's program names no number of the text".into());
    }
    Ok((roles, constants))
}

/// Reads a reply's program into `name = literal` lines and a computation ending in
/// `answer`: comments, blank lines and `print` calls dropped; every number of the
/// text still written inside a computation line lifted into a line of its own
/// (named after the variable it computes: `hours = 8 * 6` becomes `hours_1 = 8`,
/// `hours_2 = 6`, `hours = hours_1 * hours_2`), since a number of the text is a
/// quantity to read; `answer = <last variable>` appended when no line assigns
/// `answer`. None when nothing is assigned.
pub fn canonical_program(code: &str, text_numbers: &[f64]) -> Option<CanonicalProgram> {
    let mut assignments: Vec<(String, String)> = Vec::new();
    let mut computation: Vec<String> = Vec::new();
    let mut taken: BTreeSet<String> = BTreeSet::new();
    let mut last: Option<String> = None;
    let mut assigns_answer = false;
    for line in code.lines() {
        let line = line.split('#').next().unwrap_or_default().trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with("print(") || trimmed.starts_with("import ") {
            continue;
        }
        let top_level = trimmed.len() == line.len();
        let target = assigned_name(trimmed);
        if top_level {
            if let Some((name, literal)) = target.as_ref().and_then(|name| Some((name.clone(), bare_literal(trimmed)?))) {
                taken.insert(name.clone());
                assigns_answer |= name == "answer";
                assignments.push((name.clone(), literal));
                last = Some(name);
                continue;
            }
        }
        let base = target.clone().unwrap_or_else(|| "quantity".into());
        let mut lifted = 0;
        let rewritten = replace_literals(line, |literal| {
            let value = parse_literal(literal)?;
            if !text_numbers.iter().any(|number| same_number(*number, value)) {
                return None;
            }
            let name = loop {
                lifted += 1;
                let name = format!("{base}_{lifted}");
                if !taken.contains(&name) {
                    break name;
                }
            };
            taken.insert(name.clone());
            assignments.push((name.clone(), literal.to_string()));
            Some(name)
        });
        computation.push(rewritten);
        if top_level {
            if let Some(name) = target {
                taken.insert(name.clone());
                assigns_answer |= name == "answer";
                last = Some(name);
            }
        }
    }
    let last = last?;
    if !assigns_answer {
        computation.push(format!("answer = {last}"));
    }
    Some(CanonicalProgram { assignments, computation })
}

/// `name` in `name = …` (not `==`, `<=`, `+=`).
fn assigned_name(line: &str) -> Option<String> {
    let (left, right) = line.split_once('=')?;
    if right.starts_with('=') {
        return None;
    }
    let name = left.trim();
    let is_identifier = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    is_identifier.then(|| name.to_string())
}

/// The literal of `name = <literal>`, when the right side is only a number.
fn bare_literal(line: &str) -> Option<String> {
    let (_, right) = line.split_once('=')?;
    let right = right.trim();
    parse_literal(right).map(|_| right.to_string())
}

pub fn parse_literal(text: &str) -> Option<f64> {
    let text = text.trim();
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.starts_with(|c: char| c.is_ascii_digit()) || !digits.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '_') {
        return None;
    }
    text.replace('_', "").parse().ok()
}

/// Replaces each numeric literal of `line` (digits not part of a name) by what
/// `replace` returns for it, when it returns something.
fn replace_literals(line: &str, mut replace: impl FnMut(&str) -> Option<String>) -> String {
    let characters: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut index = 0;
    while index < characters.len() {
        let c = characters[index];
        let after_name = index > 0 && (characters[index - 1].is_ascii_alphanumeric() || characters[index - 1] == '_' || characters[index - 1] == '.');
        if c.is_ascii_digit() && !after_name {
            let start = index;
            while index < characters.len() && (characters[index].is_ascii_digit() || characters[index] == '_' || (characters[index] == '.' && characters.get(index + 1).is_some_and(char::is_ascii_digit))) {
                index += 1;
            }
            let literal: String = characters[start..index].iter().collect();
            let followed_by_name = characters.get(index).is_some_and(|c| c.is_ascii_alphabetic() || *c == '_');
            match (!followed_by_name).then(|| replace(&literal)).flatten() {
                Some(name) => out.push_str(&name),
                None => out.push_str(&literal),
            }
            continue;
        }
        out.push(c);
        index += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_on_fill_assignments_counts_them() {
        let mut count = 0;
        crate::optimize::role_search::for_each_injective_assignment(7, 4, &mut |_| count += 1);
        assert_eq!(count, permutations(7, 4));
        assert_eq!(permutations(7, 4), 840);
    }

    #[test]
    fn numbers_of_the_text_inside_a_computation_are_lifted_into_named_lines() {
        let code = "# pay\nhours_worked = 8 * 6\nhourly_rate = 29.5\nbonus = 183\ntotal = hours_worked * hourly_rate + bonus / 2\nprint(total)\n";
        let program = canonical_program(code, &[8.0, 6.0, 29.5, 183.0]).unwrap();
        assert_eq!(
            program.assignments,
            vec![("hours_worked_1".into(), "8".into()), ("hours_worked_2".into(), "6".into()), ("hourly_rate".into(), "29.5".into()), ("bonus".into(), "183".into())]
        );
        // `2` is not a number of the text: it stays a constant of the computation.
        assert_eq!(program.computation, vec!["hours_worked = hours_worked_1 * hours_worked_2".to_string(), "total = hours_worked * hourly_rate + bonus / 2".into(), "answer = total".into()]);
    }

    #[test]
    fn a_program_that_assigns_answer_is_kept_as_it_is() {
        let program = canonical_program("boxes = 3\nper_box = 12\nanswer = boxes * per_box\n", &[3.0]).unwrap();
        assert_eq!(program.render(), "boxes = 3\nper_box = 12\nanswer = boxes * per_box\n");
        assert_eq!(program.values(), BTreeMap::from([("boxes".into(), 3.0), ("per_box".into(), 12.0)]));
        assert!(canonical_program("print(3)\n", &[3.0]).is_none());
    }

    #[test]
    fn names_with_digits_and_comparisons_are_not_literals_or_assignments() {
        assert_eq!(replace_literals("x2 = speed_1 * 3 + 4.5", |literal| Some(format!("<{literal}>"))), "x2 = speed_1 * <3> + <4.5>");
        assert_eq!(assigned_name("a == b"), None);
        assert_eq!(assigned_name("total = a + b").as_deref(), Some("total"));
        assert_eq!(parse_literal("1_000.5"), Some(1000.5));
        assert_eq!(parse_literal("abc"), None);
    }

    #[test]
    fn texts_of_one_template_have_the_same_word_before_each_number() {
        use super::super::context_readers::NumberContext;
        let context = |value: f64, before: &str| NumberContext { value, features: BTreeMap::from([(format!("b:{before}"), 1.0), ("a:x".to_string(), 1.0)]) };
        let ann = vec![context(12.0, "has"), context(40.0, "of"), context(7.0, "away")];
        let bo = vec![context(3.0, "has"), context(1500.0, "of"), context(20.0, "away")];
        assert!(is_one_template(&[ann.clone(), bo.clone()]));
        // Another phrasing puts the numbers in another order.
        let reworded = vec![context(20.0, "away"), context(3.0, "has"), context(1500.0, "of")];
        assert!(!is_one_template(&[ann, reworded]));
    }

    #[test]
    fn a_filled_program_is_read_under_the_templates_names_and_computation() {
        let template = canonical_program("bikes = 4\nrate = 4.57\nanswer = bikes * rate\n", &[4.0, 4.57]).unwrap();
        // Renamed lines, in the same order: read by position.
        let renamed = canonical_program("number_of_bikes = 7\ncost_per_hour = 9.5\ntotal = number_of_bikes * cost_per_hour\n", &[7.0, 9.5]).unwrap();
        let filled = filled_as_template(&template, renamed).unwrap();
        assert_eq!(filled.render(), "bikes = 7\nrate = 9.5\nanswer = bikes * rate\n");
        // Same names, other order: read by name.
        let reordered = canonical_program("rate = 9.5\nbikes = 7\nanswer = bikes * rate\n", &[7.0, 9.5]).unwrap();
        assert_eq!(filled_as_template(&template, reordered).unwrap().values(), BTreeMap::from([("bikes".into(), 7.0), ("rate".into(), 9.5)]));
        let short = canonical_program("bikes = 7\nanswer = bikes\n", &[7.0]).unwrap();
        assert!(filled_as_template(&template, short).is_none());
    }

    #[test]
    fn roles_are_numbers_of_every_text_and_constants_the_same_everywhere() {
        let template = canonical_program("trays = 10\nper_tray = 12\nsold = 39\nanswer = trays * per_tray - sold\n", &[10.0, 39.0]).unwrap();
        let labels = vec![Some(template.values()), Some(BTreeMap::from([("trays".into(), 7.0), ("per_tray".into(), 12.0), ("sold".into(), 20.0)])), None];
        let numbers = vec![vec![10.0, 39.0], vec![20.0, 7.0], vec![1.0]];
        let (roles, constants) = roles_and_constants(&template, &labels, &numbers).unwrap();
        assert_eq!(roles, vec!["trays".to_string(), "sold".into()]);
        assert_eq!(constants, vec![("per_tray".to_string(), "12".to_string())]);
        let drifting = vec![Some(template.values()), Some(BTreeMap::from([("trays".into(), 7.0), ("per_tray".into(), 6.0), ("sold".into(), 20.0)]))];
        assert!(roles_and_constants(&template, &drifting, &numbers[..2]).is_err());
    }
}
