//! The offload move: deterministic code in place of the student.
//!
//! First the capability functions (no teacher call); then code the teacher writes
//! from the node's training I/O. Every teacher draft runs in the sandbox on all
//! training examples; failures and sandbox errors go back to the teacher as the
//! next turn (execution feedback), for a few rounds, over two independent chains
//! (the greedy answer, then a sampled one), because a weak teacher's first idea is
//! often its only idea.

use serde_json::Value;

use super::{as_code_node, code_arguments, reference_value, Candidate, MoveContext};
use crate::optimize::capabilities::numbers_in_node_source;
use crate::optimize::context_readers::NumberContext;
use crate::optimize::implied_constants::implied_constants;
use crate::optimize::role_readers::{mentions, role_formula_source, role_leaves, RoleReader};
use crate::optimize::gold_trace::{node_schema, pretty};
use crate::optimize::critique_history::AttemptVerdict;
use crate::optimize::settings::Move;
use crate::optimize::teacher::{assistant, code_block_in, render_prompt, user, TeacherError, CODE_FEEDBACK_PROMPT, WRITE_CODE_PROMPT};
use crate::models::OutputConstraint;

/// Feedback rounds per chain, and chains per descent.
const ROUNDS_PER_CHAIN: u32 = 3;
const CHAINS: u32 = 2;

/// A capability function whose output matches the gold values better than the node.
pub async fn capability(context: &MoveContext<'_>, score_before: usize, partial_before: f64) -> Option<Candidate> {
    let arguments = code_arguments(context.node);
    // The first argument that is text on every training example.
    let (text_argument, reference) = arguments.iter().find(|(_, reference)| {
        context.trial.environments.iter().all(|environment| matches!(reference_value(environment, reference), Some(Value::String(_))))
    })?;
    let source = numbers_in_node_source(text_argument, node_schema(context.node).as_ref())?;
    let candidate = as_code_node(context.node, source, &[(text_argument.clone(), reference.clone())]);
    let outputs = context.trial.outputs_of(std::slice::from_ref(&candidate)).await;
    let score = context.trial.score(&outputs);
    let partial = context.trial.partial(&outputs);
    context.tried(Move::Offload, format!("capability numbers_in (read the numbers of the text, in order; partial credit {partial:.2})"), score);
    let critique = format!(
        "The node's job is reading the numbers of `{reference}`: a deterministic reader (capability `numbers_in`) matched the gold output on {score} of {} training examples (partial credit {partial:.2}), the node on {score_before} ({partial_before:.2}).",
        context.trial.total()
    );
    let mut node = candidate;
    node.provenance = context.provenance(Move::Offload, &critique, score_before, score);
    let candidate = Candidate { nodes: vec![node], the_move: Move::Offload, critique, score, partial };
    candidate.beats(score_before, partial_before, context.node.kind != "code").then_some(candidate)
}

/// The smallest arithmetic formula over a number-list argument that gives every
/// gold output (`formula_search`): no teacher call, and exact when it exists.
pub async fn formula(context: &MoveContext<'_>, score_before: usize) -> Option<Candidate> {
    let gold = numeric_gold(context)?;
    let arguments = code_arguments(context.node);
    let (argument, reference, inputs) = arguments.iter().find_map(|(argument, reference)| {
        let inputs: Vec<Vec<f64>> = context
            .trial
            .environments
            .iter()
            .map(|environment| match reference_value(environment, reference) {
                Some(Value::Array(items)) => items.iter().map(Value::as_f64).collect::<Option<Vec<f64>>>(),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        Some((argument.clone(), reference.clone(), inputs))
    })?;
    let constants = text_constants(context);
    let search = crate::optimize::formula_search::search(&inputs, &gold, &argument, &constants);
    // Every expression considered is a hypothesis the data chose among, found or
    // not (the candidate below counts one more when it is tried).
    context.hypotheses.fetch_add(search.considered.saturating_sub(u64::from(search.found.is_some())), std::sync::atomic::Ordering::Relaxed);
    let Some(found) = search.found else {
        let message = format!("formula search: no expression of up to four leaves fits ({} considered)", search.considered);
        context.found_nothing(Move::Offload, message.clone());
        (context.events)(&crate::optimize::events::BuildEvent::Note { workflow: context.workflow.name.clone(), message: format!("`{}`: {message}", context.node.name) });
        return None;
    };
    let leave_one_out = leave_one_out(context, |others| {
        let (fit_inputs, fit_gold) = (pick(&inputs, &others), pick(&gold, &others));
        let (argument, reference, constants) = (argument.clone(), reference.clone(), constants.clone());
        async move {
            let found = crate::optimize::formula_search::search(&fit_inputs, &fit_gold, &argument, &constants).found?;
            Some(as_code_node(context.node, format!("def run({argument}):\n    return {}\n", found.expression), &[(argument.clone(), reference.clone())]))
        }
    })
    .await;
    let source = format!("def run({argument}):\n    return {}\n", found.expression);
    let mut node = as_code_node(context.node, source, &[(argument.clone(), reference.clone())]);
    node.reads = vec![reference.split('.').next().unwrap_or(&reference).to_string()];
    let outputs = context.trial.outputs_of(std::slice::from_ref(&node)).await;
    let score = context.trial.score(&outputs);
    context.tried(Move::Offload, format!("formula search: `{}` ({} expressions considered)", found.expression, found.considered), score);
    (score > score_before).then(|| {
        let critique = format!(
            "The output is arithmetic on `{reference}`: the smallest formula that gives all {} training outputs, found by search among {} expressions, is `{}`.",
            context.trial.total(),
            found.considered,
            found.expression
        );
        node.provenance = context.provenance(Move::Offload, &critique, score_before, score);
        node.provenance.leave_one_out = Some(leave_one_out);
        Candidate { nodes: vec![node], the_move: Move::Offload, critique, score, partial: context.trial.partial(&outputs) }
    })
}

/// The node's gold outputs as numbers, when every one is a number (the moves that
/// fit arithmetic need that).
fn numeric_gold(context: &MoveContext<'_>) -> Option<Vec<f64>> {
    context.trial.gold.iter().map(|gold| gold.as_ref().and_then(Value::as_f64)).collect()
}

/// Leave-one-out of a fitted formula: for each training example in turn, the
/// search is refitted on the others and its code (from `code_for`) run on the one
/// left out, in the sandbox, as the plan would run it.
async fn leave_one_out<F, Fut>(context: &MoveContext<'_>, refit: F) -> String
where
    F: Fn(Vec<usize>) -> Fut,
    Fut: std::future::Future<Output = Option<crate::plan::lock_file::LockedNode>>,
{
    let examples = context.trial.environments.len();
    if examples < 2 {
        return "not defined with one training example".into();
    }
    let mut right = 0;
    for left_out in 0..examples {
        let others: Vec<usize> = (0..examples).filter(|index| *index != left_out).collect();
        let Some(node) = refit(others).await else { continue };
        let (output, _) = context.trial.executor.run_node_alone(node, context.trial.environments[left_out].clone()).await;
        if context.trial.passes(left_out, &output) {
            right += 1;
        }
    }
    format!("{right}/{examples} left-out examples right (refitted on the others each time)")
}

fn pick<T: Clone>(items: &[T], indices: &[usize]) -> Vec<T> {
    indices.iter().map(|index| items[*index].clone()).collect()
}

/// The constants the training texts imply ("twice", "a dozen", "per cent"): every
/// text the node's examples carry (workflow inputs and upstream outputs).
fn text_constants(context: &MoveContext<'_>) -> Vec<f64> {
    let texts: Vec<&str> = context.trial.environments.iter().flat_map(|environment| environment.values().filter_map(Value::as_str)).collect();
    implied_constants(&texts)
}

/// The text the node's quantities are written in, on every training example: the
/// first of the node's arguments that is text on all of them, else the first
/// workflow input that is. Returns (argument name, reference, the texts).
fn source_text(context: &MoveContext<'_>) -> Option<(String, String, Vec<String>)> {
    let texts_of = |reference: &str| -> Option<Vec<String>> {
        context.trial.environments.iter().map(|environment| match reference_value(environment, reference) {
            Some(Value::String(text)) => Some(text),
            _ => None,
        }).collect()
    };
    for (argument, reference) in code_arguments(context.node) {
        if let Some(texts) = texts_of(&reference) {
            return Some((argument, reference, texts));
        }
    }
    context.workflow.inputs.iter().find_map(|port| Some((port.name.clone(), port.name.clone(), texts_of(&port.name)?)))
}

/// Quantities by role, not position, for a node whose output is computed from the
/// quantities of a text worded differently from one example to the next. First
/// roles by search (`role_search`, no teacher call): the formula and each training
/// text's assignment of its numbers to roles, found together; the roles read by a
/// context table learned from those assignments (`context_readers`). When that does
/// not give every training output, the teacher's labelled programs
/// (`labelled_programs`), then formula search over the roles read by the words
/// every training text shares (no teacher call); the best is proposed.
pub async fn role_formula(context: &MoveContext<'_>, score_before: usize) -> Result<Option<Candidate>, TeacherError> {
    let Some(gold) = numeric_gold(context) else { return Ok(None) };
    let Some((argument, reference, texts)) = source_text(context) else { return Ok(None) };
    let full = |candidate: &Option<Candidate>| candidate.as_ref().is_some_and(|candidate| candidate.score == context.trial.total());
    // Both moves that read numbers by the words around them pass one gate, and read
    // the texts' contexts once.
    let (searched, labelled) = match crate::optimize::labelled_programs::texts_read_by_role(&context.trial.executor.sandbox, &texts).await {
        Ok(contexts) => {
            let searched = searched_roles(context, score_before, &argument, &reference, &contexts, &gold).await;
            if full(&searched) {
                return Ok(searched);
            }
            let labelled = labelled_program(context, score_before, &argument, &reference, &texts, contexts).await?;
            if full(&labelled) {
                return Ok(labelled);
            }
            (searched, labelled)
        }
        Err(why) => {
            for the_move in ["roles by search", "labelled programs"] {
                context.found_nothing(Move::Offload, format!("{the_move}: {why}"));
                (context.events)(&crate::optimize::events::BuildEvent::Note { workflow: context.workflow.name.clone(), message: format!("{the_move} on `{}`: {why}", context.node.name) });
            }
            (None, None)
        }
    };
    let shared = shared_word_formula(context, score_before, &argument, &reference, &texts, &gold).await;
    // The most training outputs; at equal scores the earlier (fewer teacher calls
    // behind it, or none).
    Ok([searched, labelled, shared].into_iter().flatten().fold(None, |best: Option<Candidate>, candidate| match best {
        Some(best) if best.score >= candidate.score => Some(best),
        _ => Some(candidate),
    }))
}

/// Roles by search alone (no teacher call), for a node whose training outputs a
/// formula over positions already gives: `None` where the texts are one template
/// or share no content words (positions do say which number is which there), or
/// where the search finds no fit that beats `score_before`.
pub async fn role_formula_by_search(context: &MoveContext<'_>, score_before: usize) -> Option<Candidate> {
    let gold = numeric_gold(context)?;
    let (argument, reference, texts) = source_text(context)?;
    let contexts = crate::optimize::labelled_programs::texts_read_by_role(&context.trial.executor.sandbox, &texts).await.ok()?;
    searched_roles(context, score_before, &argument, &reference, &contexts, &gold).await
}

/// Roles by search as a node: a context table learned from the searched
/// assignments reads the roles, the searched formula gives the output.
async fn searched_roles(context: &MoveContext<'_>, score_before: usize, argument: &str, reference: &str, contexts: &[Vec<NumberContext>], gold: &[f64]) -> Option<Candidate> {
    use crate::optimize::context_readers::{context_program_source, AnswerSign};
    use crate::optimize::role_search::{search_roles, SearchedRoles};
    let note = |message: String| (context.events)(&crate::optimize::events::BuildEvent::Note { workflow: context.workflow.name.clone(), message: format!("roles by search on `{}`: {message}", context.node.name) });
    let constants = text_constants(context);
    let search = search_roles(contexts, gold, &constants);
    context.hypotheses.fetch_add(search.considered.saturating_sub(u64::from(search.found.is_some())), std::sync::atomic::Ordering::Relaxed);
    let Some(found) = search.found else {
        let why = search.skipped.unwrap_or_else(|| format!("no formula of up to five leaves over one text's numbers fits every text under any assignment ({} considered)", search.considered));
        context.found_nothing(Move::Offload, format!("roles by search: {why}"));
        note(why);
        return None;
    };
    let source_of = |found: &SearchedRoles, answers: &[f64]| context_program_source(argument, &found.table, &[], &[format!("answer = {}", found.expression)], AnswerSign::of(answers));
    let mut node = as_code_node(context.node, source_of(&found, gold), &[(argument.to_string(), reference.to_string())]);
    node.reads = vec![reference.split('.').next().unwrap_or(reference).to_string()];
    let outputs = context.trial.outputs_of(std::slice::from_ref(&node)).await;
    let score = context.trial.score(&outputs);
    let total = context.trial.total();
    let words: usize = found.table.values().map(|weights| weights.len()).sum();
    context.tried(Move::Offload, format!("roles by search: `{}` over {} roles of training text {}, read by a table of {words} context weights ({} expressions and assignments considered)", found.expression, found.roles.len(), found.anchor + 1, search.considered), score);
    context.record_attempt(Move::Offload, "roles by search", &found.expression, score, score_before);
    if score <= score_before {
        return None;
    }
    let leave_one_out = leave_one_out(context, |others| {
        let (fit_contexts, fit_gold) = (pick(contexts, &others), pick(gold, &others));
        let constants = constants.clone();
        async move {
            let refitted = search_roles(&fit_contexts, &fit_gold, &constants).found?;
            Some(as_code_node(context.node, source_of(&refitted, &fit_gold), &[(argument.to_string(), reference.to_string())]))
        }
    })
    .await;
    let critique = format!(
        "The quantities of `{reference}` are not in the same order in every training text, so they are read by role. The roles are the numbers of training text {} ({}); the {} formula over them that gives every training answer, each other text's numbers assigned to the roles (one number per role), is `{}` (search among {} expressions and assignments, no teacher call). Each role is read as the number whose neighbouring words weigh most for it, by a table of {words} weights learned from those assignments; it reads every role of {} of the {total} training texts back, and of {} left out of its learning in turn (reported, not used to choose).",
        found.anchor + 1,
        found.roles.iter().map(|role| format!("`{role}`")).collect::<Vec<_>>().join(", "),
        if found.passed_over.is_some() { "kept" } else { "smallest" },
        found.expression,
        search.considered,
        found.read_back,
        found.read_left_out,
    );
    let critique = match &found.passed_over {
        Some(passed_over) => format!("{critique} Passed over: {passed_over}; a problem states what its answer needs, so the fit that uses more of the quantities is kept."),
        None => critique,
    };
    node.provenance = context.provenance(Move::Offload, &critique, score_before, score);
    node.provenance.leave_one_out = Some(leave_one_out);
    Some(Candidate { nodes: vec![node], the_move: Move::Offload, critique, score, partial: context.trial.partial(&outputs) })
}

/// The teacher's labelled programs as a node: a context table learned from the
/// labels reads the roles, the teacher's computation gives the output.
async fn labelled_program(context: &MoveContext<'_>, score_before: usize, argument: &str, reference: &str, texts: &[String], contexts: Vec<Vec<NumberContext>>) -> Result<Option<Candidate>, TeacherError> {
    use crate::optimize::context_readers::{context_program_source, learn_context_table, AnswerSign};
    let note = |message: String| (context.events)(&crate::optimize::events::BuildEvent::Note { workflow: context.workflow.name.clone(), message: format!("labelled programs on `{}`: {message}", context.node.name) });
    let labelling = match crate::optimize::labelled_programs::label_training_texts(context, texts, contexts).await? {
        Ok(labelling) => labelling,
        Err(why) => {
            context.found_nothing(Move::Offload, format!("labelled programs: {why}"));
            note(why);
            return Ok(None);
        }
    };
    let contexts = &labelling.contexts;
    // The table learned on the labelled texts among `indices`.
    let fit = |indices: &[usize]| {
        let (mut fit_contexts, mut fit_labels) = (Vec::new(), Vec::new());
        for index in indices {
            if let Some(label) = &labelling.labels[*index] {
                fit_contexts.push(contexts[*index].clone());
                fit_labels.push(label.clone());
            }
        }
        learn_context_table(&fit_contexts, &fit_labels, &labelling.roles)
    };
    let sign = numeric_gold(context).map_or(AnswerSign::Any, |gold| AnswerSign::of(&gold));
    let source_of = |table| context_program_source(argument, &table, &labelling.constants, &labelling.template.computation, sign);
    let all: Vec<usize> = (0..texts.len()).collect();
    let table = fit(&all);
    let words: usize = table.values().map(|weights| weights.len()).sum();
    // How many labelled texts the table reads back exactly (every role).
    let read_back = labelling.labels.iter().zip(contexts).filter(|(label, contexts)| label.as_ref().is_some_and(|label| crate::optimize::context_readers::assign_roles(contexts, &table) == *label)).count();
    let mut node = as_code_node(context.node, source_of(table), &[(argument.to_string(), reference.to_string())]);
    node.reads = vec![reference.split('.').next().unwrap_or(reference).to_string()];
    let outputs = context.trial.outputs_of(std::slice::from_ref(&node)).await;
    let score = context.trial.score(&outputs);
    let total = context.trial.total();
    context.tried(Move::Offload, format!("labelled programs: {} roles read by a table of {words} context weights, the teacher's computation ({} of {total} texts labelled)", labelling.roles.len(), labelling.labelled()), score);
    context.record_attempt(Move::Offload, "labelled programs", &labelling.template.render(), score, score_before);
    if score <= score_before {
        return Ok(None);
    }
    let leave_one_out = leave_one_out(context, |others| {
        let node = as_code_node(context.node, source_of(fit(&others)), &[(argument.to_string(), reference.to_string())]);
        async move { Some(node) }
    })
    .await;
    let critique = format!(
        "The quantities of `{reference}` are not in the same order in every training text, so they are read by role. The teacher solved training text {} as a program naming its quantities ({}{}) and filled the same program for {} of the other {} texts, each run and checked against the training answer; each role is read as the number whose neighbouring words weigh most for it, by a table of {words} weights learned from those labels (it reads every role of {read_back} of the {} labelled texts back), and the teacher's computation gives the output: {}.",
        labelling.first + 1,
        labelling.roles.iter().map(|role| format!("`{role}`")).collect::<Vec<_>>().join(", "),
        if labelling.constants.is_empty() { String::new() } else { format!("; constants {}", labelling.constants.iter().map(|(name, literal)| format!("`{name} = {literal}`")).collect::<Vec<_>>().join(", ")) },
        labelling.labelled() - 1,
        texts.len() - 1,
        labelling.labelled(),
        labelling.template.computation.join("; "),
    );
    node.provenance = context.provenance(Move::Offload, &critique, score_before, score);
    node.provenance.leave_one_out = Some(leave_one_out);
    Ok(Some(Candidate { nodes: vec![node], the_move: Move::Offload, critique, score, partial: context.trial.partial(&outputs) }))
}

/// Formula search over the roles read by the words every training text shares
/// (`role_readers`; no teacher call).
async fn shared_word_formula(context: &MoveContext<'_>, score_before: usize, argument: &str, reference: &str, texts: &[String], gold: &[f64]) -> Option<Candidate> {
    let constants = text_constants(context);
    let sandbox = &context.trial.executor.sandbox;
    let fitted = match formula_over_roles(sandbox, texts, gold, &constants).await {
        Ok(fitted) => fitted,
        Err(message) => {
            (context.events)(&crate::optimize::events::BuildEvent::Note { workflow: context.workflow.name.clone(), message: format!("role readers on `{}`: {message}", context.node.name) });
            return None;
        }
    };
    // Every reader and every expression is a hypothesis the data chose among.
    context.hypotheses.fetch_add(fitted.considered.saturating_sub(u64::from(fitted.found.is_some())), std::sync::atomic::Ordering::Relaxed);
    let Some((readers, found)) = fitted.found else {
        let message = format!("role formula: no expression over {} roles fits ({} considered)", fitted.roles, fitted.considered);
        context.found_nothing(Move::Offload, message.clone());
        (context.events)(&crate::optimize::events::BuildEvent::Note { workflow: context.workflow.name.clone(), message: format!("`{}`: {message}", context.node.name) });
        return None;
    };
    let leave_one_out = leave_one_out(context, |others| {
        let (fit_texts, fit_gold) = (pick(texts, &others), pick(gold, &others));
        let constants = constants.clone();
        async move {
            let (readers, found) = formula_over_roles(&context.trial.executor.sandbox, &fit_texts, &fit_gold, &constants).await.ok()?.found?;
            Some(as_code_node(context.node, role_formula_source(argument, &readers, &found.expression), &[(argument.to_string(), reference.to_string())]))
        }
    })
    .await;
    let source = role_formula_source(argument, &readers, &found.expression);
    let mut node = as_code_node(context.node, source, &[(argument.to_string(), reference.to_string())]);
    node.reads = vec![reference.split('.').next().unwrap_or(reference).to_string()];
    let outputs = context.trial.outputs_of(std::slice::from_ref(&node)).await;
    let score = context.trial.score(&outputs);
    let used: Vec<&RoleReader> = readers.iter().filter(|reader| mentions(&found.expression, &reader.variable())).collect();
    context.tried(Move::Offload, format!("role formula: `{}` over roles read by shared words ({} expressions considered)", found.expression, found.considered), score);
    (score > score_before).then(|| {
        let critique = format!(
            "The quantities of `{reference}` are not in the same order in every training text, so the output is computed from their roles: {}; the smallest formula over them that gives all {} training outputs is `{}` (search among {} expressions).",
            used.iter().map(|reader| reader.describe()).collect::<Vec<_>>().join(", "),
            context.trial.total(),
            found.expression,
            found.considered
        );
        let mut node = node;
        node.provenance = context.provenance(Move::Offload, &critique, score_before, score);
        node.provenance.leave_one_out = Some(leave_one_out);
        Candidate { nodes: vec![node], the_move: Move::Offload, critique, score, partial: context.trial.partial(&outputs) }
    })
}

/// What formula search over roles found: the readers and the formula, how many
/// roles it searched over and how many hypotheses it held against the data.
struct RoleFormulaFit {
    found: Option<(Vec<RoleReader>, crate::optimize::formula_search::FoundFormula)>,
    roles: usize,
    considered: u64,
}

/// Formula search over the shared-word roles (formula search prefers, at equal
/// size, the leaves listed first: the tightest-bound).
async fn formula_over_roles(sandbox: &crate::sandbox::Sandbox, texts: &[String], gold: &[f64], constants: &[f64]) -> Result<RoleFormulaFit, String> {
    use crate::optimize::formula_search::search_leaves;
    let shared = role_leaves(sandbox, texts).await?;
    let mut considered = shared.considered;
    if shared.leaves.is_empty() {
        return Ok(RoleFormulaFit { found: None, roles: 0, considered });
    }
    let roles = shared.leaves.len();
    let search = search_leaves(shared.leaves, constants, gold);
    considered += search.considered;
    Ok(RoleFormulaFit { found: search.found.map(|found| (shared.readers, found)), roles, considered })
}

/// Code written by the teacher. `extra` are nodes inserted before the node (by the
/// topology move) whose outputs the code may read through `arguments`.
pub async fn teacher_code(
    context: &MoveContext<'_>,
    score_before: usize,
    arguments: &[(String, String)],
    inserted: &[crate::plan::lock_file::LockedNode],
) -> Result<Option<Candidate>, TeacherError> {
    let total = context.trial.total();
    if total == 0 {
        return Ok(None);
    }
    // Fail fast (v17): when every reply of an earlier step's teacher code was
    // rejected unscored, the teacher cannot write this node's code, and asking
    // again with new samples costs CHAINS × rounds calls of a minute or more each
    // on a loaded CPU (the support-triage build timed out doing so). Seen on one
    // build; a hypothesis about the weak teacher, not a measured rule.
    if let Some(earlier) = context.history.iter().find(|attempt| attempt.verdict == AttemptVerdict::EveryReplyRejected && attempt.step < context.step) {
        context.found_nothing(Move::Offload, format!("teacher code not asked again: every reply in step {} was rejected", earlier.step));
        return Ok(None);
    }
    let all_environments = argument_environments(context, arguments, inserted).await;
    let mut replies = 0usize;
    let mut rejected = 0usize;
    // The structure the teacher fills matters more than the critique loop
    // (teacher notes): when the node has the numbers as a list, the first chain
    // sees only the numbers, so it computes instead of parsing prose; the second
    // chain sees every argument.
    let focused: Vec<(String, String)> = {
        let is_list_of_numbers = |name: &str| all_environments.iter().all(|values| matches!(values.get(name), Some(Value::Array(items)) if items.iter().all(Value::is_number)));
        let is_text = |name: &str| all_environments.iter().all(|values| matches!(values.get(name), Some(Value::String(_))));
        if arguments.iter().any(|(name, _)| is_list_of_numbers(name)) {
            arguments.iter().filter(|(name, _)| !is_text(name)).cloned().collect()
        } else {
            arguments.to_vec()
        }
    };
    let mut best: Option<Candidate> = None;
    for chain in 0..CHAINS {
        let arguments: &[(String, String)] = if chain == 0 { &focused } else { arguments };
        let environments: Vec<serde_json::Map<String, Value>> =
            all_environments.iter().map(|values| arguments.iter().filter_map(|(name, _)| Some((name.clone(), values.get(name)?.clone()))).collect()).collect();
        let prompt = code_prompt(context, arguments, &environments);
        let sample = context.round * CHAINS + chain;
        let mut messages = vec![user(prompt)];
        // A feedback round that does not improve on the chain's best abandons the
        // chain: the teacher is not converging, and more rounds cost calls that
        // cannot beat what the build has (fail fast).
        let mut chain_best: Option<usize> = None;
        for round in 0..ROUNDS_PER_CHAIN {
            let reply = context.teacher.ask(&format!("offload `{}`", context.node.name), messages.clone(), OutputConstraint::None, sample).await?;
            replies += 1;
            messages.push(assistant(reply.clone()));
            let Some(code) = code_block_in(&reply) else {
                rejected += 1;
                context.tried(Move::Offload, format!("teacher code (chain {chain}, round {round}): no code in the reply"), 0);
                // A rejected reply is a round that scored nothing: it counts
                // towards abandoning the chain like any round that did not improve.
                if chain_best.is_some() {
                    break;
                }
                chain_best = Some(0);
                messages.push(user("Your reply had no ```python code block. Reply with the complete function in one code block.".into()));
                continue;
            };
            if let Some(literal) = hard_coded_answer(&code, &context.trial.gold) {
                rejected += 1;
                context.tried(Move::Offload, format!("teacher code (chain {chain}, round {round}): rejected, it hard-codes the answer {literal}"), 0);
                if chain_best.is_some() {
                    break;
                }
                chain_best = Some(0);
                messages.push(user(format!("Your function contains the expected answer {literal} literally. Compute it from the arguments instead; reply with the complete function in one code block.")));
                continue;
            }
            let mut node = as_code_node(context.node, code.clone(), arguments);
            node.reads = reads_of(context, arguments, inserted);
            let mut nodes: Vec<_> = inserted.to_vec();
            nodes.push(node.clone());
            let outputs = context.trial.outputs_of(&nodes).await;
            let score = context.trial.score(&outputs);
            context.tried(Move::Offload, format!("teacher code (chain {chain}, round {round})"), score);
            let critique = format!("The student's output did not match the gold output on {} of {total} training examples; the teacher wrote `run` from the examples and it passes {score} of them in the sandbox (chain {chain}, feedback round {round}).", total - score_before);
            if score > score_before && best.as_ref().is_none_or(|best| score > best.score) {
                node.provenance = context.provenance(Move::Offload, &critique, score_before, score);
                let mut chosen = inserted.to_vec();
                chosen.push(node.clone());
                best = Some(Candidate { nodes: chosen, the_move: Move::Offload, critique, score, partial: context.trial.partial(&outputs) });
            }
            if score == total {
                return Ok(best);
            }
            if chain_best.is_some_and(|chain_best| score <= chain_best) {
                break;
            }
            chain_best = Some(chain_best.map_or(score, |chain_best| chain_best.max(score)));
            let results = feedback(context, arguments, &environments, &outputs);
            messages.push(user(render_prompt(CODE_FEEDBACK_PROMPT, &[("results", &results)])));
        }
    }
    if replies > 0 && rejected == replies {
        context.every_reply_rejected(Move::Offload, format!("teacher code: all {replies} replies rejected unscored"));
    }
    Ok(best)
}

fn code_prompt(context: &MoveContext<'_>, arguments: &[(String, String)], environments: &[serde_json::Map<String, Value>]) -> String {
    let signature = format!("def run({}):", arguments.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>().join(", "));
    let argument_list = arguments.iter().map(|(name, reference)| format!("{name} (from `{reference}`)")).collect::<Vec<_>>().join(", ");
    let mut examples = String::new();
    for (index, gold) in context.trial.gold.iter().enumerate() {
        let Some(gold) = gold else { continue };
        let values: Vec<String> = arguments.iter().map(|(name, _)| format!("{name} = {}", pretty(environments[index].get(name).unwrap_or(&Value::Null)))).collect();
        examples.push_str(&format!("Example {}: {} -> {}\n", index + 1, values.join(", "), pretty(gold)));
    }
    let task = task_description(context);
    render_prompt(
        WRITE_CODE_PROMPT,
        &[("task", &task), ("signature", &signature), ("arguments", &argument_list), ("examples", examples.trim_end()), ("output_type", &context.node.output_type)],
    )
}

fn task_description(context: &MoveContext<'_>) -> String {
    let mut task = String::new();
    if let Some(output) = &context.output_name {
        task.push_str(&format!("compute the workflow's final output `{output}` ({}). ", context.node.output_type));
    }
    if let Some(system) = &context.node.system {
        task.push_str(system.trim());
        task.push(' ');
    }
    if context.node.kind == "llm" {
        if let Some(prompt) = &context.node.prompt {
            task.push_str(&format!("(The step was a prompt to a language model: {})", prompt.trim()));
        }
    }
    if task.is_empty() {
        task = format!("produce the output of step `{}`", context.node.name);
    }
    task.trim().to_string()
}

/// Per example: argument name → value (after running inserted nodes).
async fn argument_environments(context: &MoveContext<'_>, arguments: &[(String, String)], inserted: &[crate::plan::lock_file::LockedNode]) -> Vec<serde_json::Map<String, Value>> {
    let mut environments = Vec::new();
    for environment in &context.trial.environments {
        let mut environment = environment.clone();
        for node in inserted {
            if let (Ok(value), _) = context.trial.executor.run_node_alone(node.clone(), environment.clone()).await {
                environment.insert(node.name.clone(), value);
            }
        }
        let mut values = serde_json::Map::new();
        for (name, reference) in arguments {
            values.insert(name.clone(), reference_value(&environment, reference).unwrap_or(Value::Null));
        }
        environments.push(values);
    }
    environments
}

/// What a code node with `arguments` reads: the roots of its references.
fn reads_of(context: &MoveContext<'_>, arguments: &[(String, String)], inserted: &[crate::plan::lock_file::LockedNode]) -> Vec<String> {
    let mut reads: Vec<String> = Vec::new();
    for (_, reference) in arguments {
        let root = reference.split('.').next().unwrap_or(reference).to_string();
        let known = inserted.iter().any(|node| node.name == root) || context.workflow.nodes.iter().any(|node| node.name == root) || context.workflow.inputs.iter().any(|port| port.name == root);
        if known && !reads.contains(&root) {
            reads.push(root);
        }
    }
    reads.sort();
    reads
}

fn feedback(context: &MoveContext<'_>, arguments: &[(String, String)], environments: &[serde_json::Map<String, Value>], outputs: &[Result<Value, String>]) -> String {
    let mut lines = Vec::new();
    for (index, output) in outputs.iter().enumerate() {
        let Some(Some(gold)) = context.trial.gold.get(index) else { continue };
        let values: Vec<String> = arguments.iter().map(|(name, _)| format!("{name} = {}", pretty(environments[index].get(name).unwrap_or(&Value::Null)))).collect();
        let verdict = match output {
            Ok(value) if context.trial.passes(index, output) => format!("returned {} (correct)", pretty(value)),
            Ok(value) => format!("returned {} but {} was expected", pretty(value), pretty(gold)),
            Err(error) => format!("failed: {} ({} was expected)", first_line(error), pretty(gold)),
        };
        lines.push(format!("Example {}: {} -> {verdict}", index + 1, values.join(", ")));
    }
    lines.join("\n")
}

fn first_line(text: &str) -> String {
    text.lines().take(3).collect::<Vec<_>>().join(" ").chars().take(300).collect()
}

/// An expected output (a number of 3+ digits, or a longer text) written literally in
/// the code: a lookup table that would pass training and fail everything else.
fn hard_coded_answer(code: &str, gold: &[Option<Value>]) -> Option<String> {
    for value in gold.iter().flatten() {
        let literals: Vec<String> = match value {
            Value::Number(number) => {
                let float = number.as_f64().unwrap_or(0.0);
                if float.abs() < 100.0 {
                    continue;
                }
                let mut forms = vec![number.to_string()];
                if float.fract() == 0.0 {
                    forms.push(format!("{}", float as i64));
                }
                forms
            }
            Value::String(text) if text.len() >= 6 => vec![text.clone()],
            _ => continue,
        };
        for literal in literals {
            let bare = literal.trim_start_matches('-');
            if code.contains(bare) {
                return Some(literal);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literal_answers_are_caught() {
        let gold = vec![Some(json!(-9867630.0)), Some(json!(12))];
        assert_eq!(hard_coded_answer("def run(n):\n    return -9867630", &gold).as_deref(), Some("-9867630"));
        assert!(hard_coded_answer("def run(n):\n    return (n[0] - 3 - n[1]) * 2", &gold).is_none());
        // Small answers are too common to be evidence of a lookup table.
        assert!(hard_coded_answer("def run(n):\n    return 12", &[Some(json!(12))]).is_none());
    }
}
