//! The diagnosis of a build that did not pass every training example: what the
//! nearest plan gets wrong on which example, what was tried, and what would likely
//! help — so the user can act instead of reading "stopped: no-progress".

use std::fmt::Write;

use super::*;

impl Engine {
    pub(super) fn diagnosis(&self, stopped: StopReason) -> Option<String> {
        let validation = self.validation.as_ref()?;
        if validation.all() {
            return None;
        }
        let total = validation.passed.len();
        let mut text = String::new();
        let why = match stopped {
            StopReason::NothingLeftToTry => "no move left to try could beat the best plan found".to_string(),
            StopReason::NoProgress => "rounds in a row kept no change".to_string(),
            StopReason::BudgetSpent(limit) => format!("the budget's `{}` ran out", limit.name()),
            StopReason::AllPassed => return None,
        };
        let _ = writeln!(text, "the build stopped because {why}; the plan passes {}/{total} training examples.", validation.count());
        // The first failing example, and the first node that went wrong on it.
        if let Some(failing) = validation.passed.iter().position(|passed| !passed) {
            let example = &self.request.examples[failing];
            let trace = &validation.traces[failing];
            let input = pretty(&Value::Object(example.inputs.clone()));
            let got = trace.outputs.as_ref().map(|outputs| pretty(&Value::Object(outputs.clone()))).or_else(|| trace.error.clone()).unwrap_or_else(|| "nothing".into());
            let _ = writeln!(text, "nearest plan: on training example {} {} it gives {got}, expected {}.", failing + 1, shorten(&input, 160), pretty(&Value::Object(example.expected.clone())));
            if let Some((node, reason)) = self.request.as_written.order.iter().find_map(|node| self.diagnoses.get(node).map(|reason| (node, reason))) {
                let _ = writeln!(text, "  first wrong node: `{node}` — {reason}.");
            }
        }
        let _ = writeln!(text, "tried:");
        for name in &self.request.as_written.order {
            let attempts = self.history.get(name).map(Vec::as_slice).unwrap_or(&[]);
            if attempts.is_empty() {
                continue;
            }
            // What the search measured, grouped by kind of candidate ("teacher
            // code", "formula search", "rewritten system prompt").
            let mut by_kind: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
            for attempt in attempts.iter().filter(|attempt| attempt.verdict == AttemptVerdict::Measured) {
                let kind = attempt.artefact.split([':', '(']).next().unwrap_or_default().trim().to_string();
                let entry = by_kind.entry(format!("{} — {kind}", attempt.the_move.name())).or_insert((0, 0, attempt.total));
                entry.0 += 1;
                entry.1 = entry.1.max(attempt.score);
            }
            if by_kind.is_empty() {
                continue;
            }
            let moves: Vec<String> = by_kind.iter().map(|(kind, (count, best, of))| format!("{kind} ×{count} (best {best}/{of})")).collect();
            let _ = writeln!(text, "  `{name}`: {}", moves.join(", "));
        }
        let _ = writeln!(text, "what would likely help:");
        for suggestion in self.suggestions() {
            let _ = writeln!(text, "  - {suggestion}");
        }
        Some(text.trim_end().to_string())
    }

    fn suggestions(&self) -> Vec<String> {
        let mut suggestions = Vec::new();
        let examples = self.request.examples.len();
        if let Some(gold) = &self.gold {
            for node in &self.request.as_written.nodes {
                let missing = gold.iter().filter(|values| !values.contains_key(&node.name)).count();
                if missing > 0 && self.output_name(&node.name).is_none() {
                    suggestions.push(format!(
                        "the teacher gave no usable value for `{}` on {missing} of {examples} training example(s): its gold trace guides that node, so a stronger teacher (or a node whose output is easier to state) would help",
                        node.name
                    ));
                }
            }
        }
        for (name, attempts) in &self.history {
            let node = self.plan.nodes.iter().find(|node| node.name == *name);
            let best = attempts.iter().map(|attempt| attempt.score).max().unwrap_or(0);
            let total = attempts.iter().map(|attempt| attempt.total).max().unwrap_or(0);
            if total == 0 || best == total {
                continue;
            }
            if node.is_some_and(|node| node.kind != "code") && attempts.iter().any(|attempt| attempt.the_move == Move::Prompt) {
                suggestions.push(format!(
                    "`{name}` stays wrong with the student even after rewrites (best {best}/{total}): split its decision into smaller ones the student can make, or use a larger student"
                ));
            }
            if attempts.iter().any(|attempt| attempt.the_move == Move::Offload && attempt.artefact.starts_with("teacher code")) {
                suggestions.push(format!("teacher-written code for `{name}` passed at most {best}/{total}: a stronger teacher, or an intermediate node that hands it simpler inputs"));
            }
        }
        if examples < 5 {
            suggestions.push(format!("more training examples: with m = {examples}, a wrong guess in one gold trace is a third of the evidence"));
        }
        if self.request.validation_examples.is_empty() {
            suggestions.push("a validation set (`validation = …` in the optimize block), to tell a plan that fits from one that generalises".into());
        }
        suggestions
    }
}

fn shorten(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    format!("{}…", text.chars().take(limit).collect::<String>())
}
