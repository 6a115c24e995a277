//! The consensus move: n samples of the node at distinct fixed seeds and a
//! deterministic vote (median for numbers, majority otherwise). n is chosen from
//! the measured agreement: the smallest n that scores best on the node's gold.

use super::{Candidate, MoveContext};
use crate::optimize::gold_trace::node_schema;
use crate::optimize::settings::Move;
use crate::plan::from_source::DEFAULT_CONSENSUS_TEMPERATURE;
use crate::plan::lock_file::{LockedConsensus, PlanNodeKind};

const SAMPLE_COUNTS: [u32; 2] = [3, 5];

pub async fn wrap(context: &MoveContext<'_>, score_before: usize) -> Option<Candidate> {
    let node = context.node;
    if node.kind != "llm" {
        return None;
    }
    let numeric = node_schema(node).and_then(|schema| schema.get("type").cloned()).is_some_and(|kind| kind == "number" || kind == "integer");
    let mut best: Option<Candidate> = None;
    for samples in SAMPLE_COUNTS {
        let mut candidate = node.clone();
        candidate.kind = PlanNodeKind::Consensus;
        candidate.consensus = Some(LockedConsensus {
            samples,
            vote: if numeric { "median" } else { "majority" }.into(),
            first_seed: 1,
            temperature: DEFAULT_CONSENSUS_TEMPERATURE,
        });
        // Samples i < 3 are shared between n = 3 and n = 5 (same seeds): the call
        // cache answers them, so measuring n = 5 costs two calls per example.
        let outputs = context.trial.outputs_of(std::slice::from_ref(&candidate)).await;
        let score = context.trial.score(&outputs);
        context.tried(Move::Consensus, format!("{samples} samples at temperature {DEFAULT_CONSENSUS_TEMPERATURE}"), score);
        if score > best.as_ref().map_or(score_before, |best| best.score) {
            let critique = format!(
                "The node's greedy output matched gold on {score_before} of {total}; {samples} samples with a {} vote matched on {score}: the node is variance-sensitive.",
                candidate.consensus.as_ref().map(|c| c.vote.clone()).unwrap_or_default(),
                total = context.trial.total()
            );
            candidate.provenance = context.provenance(Move::Consensus, &critique, score_before, score);
            best = Some(Candidate { nodes: vec![candidate], the_move: Move::Consensus, critique, score, partial: context.trial.partial(&outputs) });
        }
    }
    best
}
