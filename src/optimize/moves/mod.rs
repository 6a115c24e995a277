//! The moves of SGDe (DESIGN.md "What the teacher can change"): each proposes
//! candidate artefacts for one node; the descent tries them on the node's gold I/O
//! and keeps the best, then validates the whole plan.
//!
//! - `offload`: replace the node (or the part the student gets wrong) by code: a
//!   capability function when one fits, else code the teacher writes from the
//!   node's training I/O, refined with the sandbox's execution feedback.
//! - `prompt_rewrite`: the teacher's critique of the student's failures and a new
//!   system prompt; optionally the training examples as demonstrations.
//! - `consensus`: n samples at distinct seeds and a deterministic vote, with n
//!   chosen from the measured agreement.
//! - `topology`: insert an extraction node before a code node that must read
//!   numbers out of text.
//! - `keyword_classifier` (an offload): a node choosing among closed classes
//!   becomes code over a vocabulary the teacher lists per class.
//! - `word_frequency_classifier` (an offload): the same, over a table of word
//!   weights fitted on texts the teacher writes per class.
//! - `likelihood_choice` (a prompt move: the student stays): the student reads the
//!   text after each class's prompt, with the teacher's texts as demonstrations,
//!   and the class whose prompt makes the text most likely wins.

pub mod consensus;
pub mod field_extraction;
pub mod keyword_classifier;
pub mod likelihood_choice;
pub mod offload;
pub mod prompt_rewrite;
pub mod topology;
pub mod word_frequency_classifier;

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use super::critique_history::{Attempt, AttemptVerdict};
use super::events::{BuildEvent, EventSink};
use super::settings::Move;
use super::teacher::Teacher;
use super::trial::NodeTrial;
use crate::plan::lock_file::{LockedNode, LockedProvenance, LockedWorkflow, PlanNodeKind};
use crate::plan::template::{parse_template_text, TemplateSegment};

/// A proposed replacement of one node: `nodes` are inserted nodes (topology) then
/// the node itself.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub nodes: Vec<LockedNode>,
    pub the_move: Move,
    pub critique: String,
    /// Training examples whose node output matches gold.
    pub score: usize,
    /// Partial credit against gold (see `value_match::similarity`): breaks ties.
    pub partial: f64,
}

impl Candidate {
    /// Strictly better than an incumbent with `score` exact matches and `partial`
    /// credit that calls a model (`incumbent_calls_a_model`): more exact matches;
    /// or as many, and deterministic code where the incumbent calls a model (at
    /// equal evidence, the artefact with no variance and no model cost); or as
    /// many, as deterministic, and closer to gold.
    pub fn beats(&self, score: usize, partial: f64, incumbent_calls_a_model: bool) -> bool {
        if self.score != score {
            return self.score > score;
        }
        let deterministic = self.is_deterministic();
        if deterministic && incumbent_calls_a_model && score > 0 {
            return true;
        }
        if !deterministic && !incumbent_calls_a_model {
            return false;
        }
        self.partial > partial + 1e-9
    }

    /// Only code: no model call at run time.
    pub fn is_deterministic(&self) -> bool {
        self.nodes.iter().all(|node| node.kind == "code")
    }
}

/// A candidate fitted to the training examples it is scored on (texts in a table,
/// demonstrations in a prompt), with the figure it was not fitted to: how many
/// training examples it gets right when each is left out of what it was fitted on.
/// Two such candidates are compared on that figure, not on their fitted scores.
#[derive(Clone, Debug)]
pub struct FittedCandidate {
    pub candidate: Candidate,
    pub left_out_right: usize,
}

/// What every move needs to know about the node it works on.
pub struct MoveContext<'a> {
    pub workflow: &'a LockedWorkflow,
    pub node: &'a LockedNode,
    pub trial: &'a NodeTrial,
    pub teacher: &'a Teacher,
    /// 0 on the first descent of a node; later rounds ask the teacher for other
    /// samples (a cached greedy answer would only repeat itself).
    pub round: u32,
    pub step: u32,
    /// Candidates evaluated so far in this build: the `k` of the PAC bound.
    pub hypotheses: &'a AtomicU64,
    pub events: &'a EventSink,
    /// The workflow output this node produces, if it is bound to one.
    pub output_name: Option<String>,
    /// What earlier steps tried on this node and how each fared (oldest first).
    pub history: &'a [Attempt],
    /// The failure localisation's diagnosis of this node, when it named it.
    pub diagnosis: Option<&'a str>,
    /// Where the moves record what they try now (read back by the descent).
    pub attempts: &'a std::sync::Mutex<Vec<Attempt>>,
}

impl MoveContext<'_> {
    /// Records a search that found no candidate (no hypothesis is added: the
    /// search counted its own), for the build's diagnosis.
    pub fn found_nothing(&self, the_move: Move, detail: impl Into<String>) {
        let attempt = Attempt { step: self.step, the_move, critique: String::new(), artefact: detail.into(), score: 0, total: self.trial.total(), verdict: AttemptVerdict::Measured };
        self.attempts.lock().expect("never poisoned").push(attempt);
    }

    /// Records that every reply the teacher gave `the_move` was rejected unscored,
    /// so later steps need not ask for it again.
    pub fn every_reply_rejected(&self, the_move: Move, detail: impl Into<String>) {
        let attempt = Attempt { step: self.step, the_move, critique: String::new(), artefact: detail.into(), score: 0, total: self.trial.total(), verdict: AttemptVerdict::EveryReplyRejected };
        self.attempts.lock().expect("never poisoned").push(attempt);
    }

    /// Records a proposal for the history the next proposals read.
    pub fn record_attempt(&self, the_move: Move, critique: &str, artefact: &str, score: usize, score_before: usize) {
        let verdict = if score > score_before { AttemptVerdict::Scored } else { AttemptVerdict::NotBetter };
        let attempt = Attempt { step: self.step, the_move, critique: critique.to_string(), artefact: artefact.to_string(), score, total: self.trial.total(), verdict };
        self.attempts.lock().expect("never poisoned").push(attempt);
    }

    /// Records that a candidate was evaluated, and reports it.
    pub fn tried(&self, the_move: Move, detail: impl Into<String>, score: usize) {
        self.hypotheses.fetch_add(1, Ordering::Relaxed);
        let detail = detail.into();
        self.attempts.lock().expect("never poisoned").push(Attempt {
            step: self.step,
            the_move,
            critique: String::new(),
            artefact: detail.clone(),
            score,
            total: self.trial.total(),
            verdict: AttemptVerdict::Measured,
        });
        (self.events)(&BuildEvent::MoveTried {
            workflow: self.workflow.name.clone(),
            node: self.node.name.clone(),
            step: self.step,
            move_name: the_move.name().to_string(),
            detail,
            gold_passed: score,
            gold_total: self.trial.total(),
        });
    }

    pub fn provenance(&self, the_move: Move, critique: &str, score_before: usize, score_after: usize) -> LockedProvenance {
        LockedProvenance {
            origin: the_move.name().to_string(),
            step: Some(self.step),
            critique: Some(critique.trim().to_string()),
            node_score: Some(format!("{score_before}/{total} → {score_after}/{total} training examples match the gold output", total = self.trial.total())),
            ..Default::default()
        }
    }
}

/// The references a prompt template reads (`question`, `extract.quantities`), in
/// order of first use.
pub fn template_references(template: &str) -> Vec<String> {
    let mut references = Vec::new();
    for segment in parse_template_text(template) {
        if let TemplateSegment::Reference(path) = segment {
            let dotted = path.join(".");
            if !references.contains(&dotted) {
                references.push(dotted);
            }
        }
    }
    references
}

/// Argument name → reference for code replacing `node`: a code node keeps its
/// arguments; an llm node's template references become arguments named after
/// their last segment.
pub fn code_arguments(node: &LockedNode) -> Vec<(String, String)> {
    if node.kind == "code" {
        return node.code_inputs.iter().map(|(argument, reference)| (argument.clone(), reference.clone())).collect();
    }
    let mut arguments: Vec<(String, String)> = Vec::new();
    let mut references: Vec<String> = node.system.iter().chain(node.prompt.iter()).flat_map(|template| template_references(template)).collect();
    references.dedup();
    for reference in references {
        if arguments.iter().any(|(_, existing)| *existing == reference) {
            continue;
        }
        let base: String = reference.rsplit('.').next().unwrap_or(&reference).chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        let mut name = if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) { format!("arg_{base}") } else { base };
        while arguments.iter().any(|(existing, _)| *existing == name) {
            name.push('_');
        }
        arguments.push((name, reference));
    }
    arguments
}

/// `node` turned into a code node running `source` with `arguments`.
pub fn as_code_node(node: &LockedNode, source: String, arguments: &[(String, String)]) -> LockedNode {
    let mut code_node = node.clone();
    code_node.kind = PlanNodeKind::Code;
    code_node.code = Some(source);
    code_node.code_inputs = arguments.iter().cloned().collect();
    code_node.model = None;
    code_node.decoding = None;
    code_node.system = None;
    code_node.prompt = None;
    code_node.consensus = None;
    code_node.likelihood = None;
    code_node
}

/// The value of a reference in an environment (`node.field` walks into objects).
pub fn reference_value(environment: &crate::runtime::values::Environment, reference: &str) -> Option<Value> {
    crate::runtime::values::read_path(environment, reference).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::lock_file::LockedNode;

    fn candidate(kind: &str, score: usize, partial: f64) -> Candidate {
        let node = LockedNode {
            name: "n".into(),
            kind: PlanNodeKind::from_written(kind).unwrap(),
            fingerprint: String::new(),
            reads: Vec::new(),
            model: None,
            decoding: None,
            system: None,
            prompt: None,
            code: None,
            code_inputs: Default::default(),
            consensus: None,
            likelihood: None,
            output_type: "number".into(),
            output_schema: None,
            provenance: Default::default(),
        };
        Candidate { nodes: vec![node], the_move: Move::Offload, critique: String::new(), score, partial }
    }

    #[test]
    fn more_exact_matches_win_then_determinism_then_partial_credit() {
        assert!(candidate("llm", 2, 0.0).beats(1, 3.0, true));
        assert!(!candidate("code", 1, 3.0).beats(2, 0.0, true));
        // A tie in exact matches: code beats a model call, even with less partial credit…
        assert!(candidate("code", 2, 2.1).beats(2, 2.5, true));
        // …but not at zero matches (no evidence the code does the node's job).
        assert!(!candidate("code", 0, 0.1).beats(0, 0.5, true));
        // A model call never displaces code on a tie.
        assert!(!candidate("llm", 2, 2.9).beats(2, 2.5, false));
        // Like for like: partial credit decides.
        assert!(candidate("code", 2, 2.6).beats(2, 2.5, false));
        assert!(!candidate("llm", 2, 2.4).beats(2, 2.5, true));
    }
}
