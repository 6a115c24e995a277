//! What has been tried on a node, and why each attempt failed: the history the
//! teacher reads before it proposes the next artefact.
//!
//! Why: a critique is a gradient only if the next step sees it. Without a history a
//! weak teacher, asked again, writes the same prompt it wrote last round (at
//! temperature 0 the cache even answers with it), and a rejected candidate teaches
//! nothing. With it, each proposal reads the earlier critiques, the candidates they
//! produced and how each fared (its score on the node's training examples, and
//! whether the whole plan kept it) — SGDe's momentum term. The failure
//! localisation's diagnosis of a node is carried the same way.

use std::fmt::Write;

use super::settings::Move;

/// How an attempt fared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptVerdict {
    /// A candidate the search measured on its own, with no critique behind it
    /// (a formula, a capability): kept for the build's diagnosis, not shown to
    /// the teacher.
    Measured,
    /// Scored on the node's training examples, not (yet) validated on the plan.
    Scored,
    /// No better than the node it would replace.
    NotBetter,
    /// Kept: the whole plan passed at least as many training examples.
    Kept { train_before: usize, train_after: usize },
    /// Better on the node, but the whole plan passed fewer training examples.
    Reverted { train_before: usize, train_after: usize },
    /// Every reply the teacher gave this move was rejected before it could be
    /// scored (no code in it, or the expected answer written literally). Not shown
    /// to the teacher; it tells later steps not to ask for the move again.
    EveryReplyRejected,
}

/// One candidate proposed for a node.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    pub step: u32,
    pub the_move: Move,
    /// The critique the candidate was written from.
    pub critique: String,
    /// What was proposed, as the teacher would read it (a system prompt, code).
    pub artefact: String,
    /// Training examples whose node output matched gold, of `total`.
    pub score: usize,
    pub total: usize,
    pub verdict: AttemptVerdict,
}

/// The attempts on one node, oldest first, as text for a teacher prompt; empty
/// when there are none.
pub fn render_history(attempts: &[Attempt]) -> String {
    if attempts.is_empty() {
        return String::new();
    }
    let attempts: Vec<&Attempt> = attempts.iter().filter(|attempt| !matches!(attempt.verdict, AttemptVerdict::Measured | AttemptVerdict::EveryReplyRejected)).collect();
    if attempts.is_empty() {
        return String::new();
    }
    let mut text = String::from("Earlier attempts on this step (do not repeat one that failed; fix what its critique names):\n");
    for (index, attempt) in attempts.iter().enumerate() {
        let verdict = match &attempt.verdict {
            AttemptVerdict::Scored | AttemptVerdict::Measured | AttemptVerdict::EveryReplyRejected => String::new(),
            AttemptVerdict::NotBetter => " — no better than the step as it was".to_string(),
            AttemptVerdict::Kept { train_before, train_after } => format!(" — kept (whole workflow: {train_before} → {train_after} training examples right)"),
            AttemptVerdict::Reverted { train_before, train_after } => format!(" — rejected: the whole workflow dropped from {train_before} to {train_after} training examples right"),
        };
        let _ = writeln!(
            text,
            "{}. ({} move, step {}) critique: {}\n   proposed: {}\n   result: right on {} of {} training examples{verdict}",
            index + 1,
            attempt.the_move.name(),
            attempt.step,
            one_line(&attempt.critique, 400),
            one_line(&attempt.artefact, 600),
            attempt.score,
            attempt.total,
        );
    }
    text
}

fn one_line(text: &str, limit: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= limit {
        return flat;
    }
    let cut: String = flat.chars().take(limit).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_names_critique_artefact_score_and_verdict() {
        let attempts = vec![Attempt {
            step: 2,
            the_move: Move::Prompt,
            critique: "It drops the last number.".into(),
            artefact: "Copy the numbers.".into(),
            score: 1,
            total: 3,
            verdict: AttemptVerdict::Reverted { train_before: 2, train_after: 1 },
        }];
        let text = render_history(&attempts);
        assert!(text.contains("critique: It drops the last number."), "{text}");
        assert!(text.contains("proposed: Copy the numbers."), "{text}");
        assert!(text.contains("right on 1 of 3"), "{text}");
        assert!(text.contains("dropped from 2 to 1"), "{text}");
        assert_eq!(render_history(&[]), "");
    }
}
