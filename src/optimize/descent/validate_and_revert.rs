//! Validate-and-revert: a candidate is kept only if the whole plan passes at least as
//! many training examples as before.

use super::*;
use super::move_schedule::{Search, SearchOutcome};

impl Engine {
    /// The validate-and-revert half: true when the change was kept.
    pub(super) async fn apply(&mut self, name: &str, step: u32, search: Search) -> Result<bool, TeacherError> {
        let plan_before = self.plan_key();
        let kept = self.apply_search(name, step, search).await?;
        if kept {
            self.fruitless.remove(name);
        } else {
            let in_a_row = match self.fruitless.get(name) {
                Some((plan, count)) if *plan == plan_before => count + 1,
                _ => 1,
            };
            self.fruitless.insert(name.to_string(), (plan_before, in_a_row));
        }
        Ok(kept)
    }

    async fn apply_search(&mut self, name: &str, step: u32, search: Search) -> Result<bool, TeacherError> {
        let Search { outcome: found, attempts } = search;
        let mut attempts = attempts;
        let candidate = match found {
            SearchOutcome::Matches { before, total } => {
                self.history.entry(name.to_string()).or_default().extend(attempts);
                self.outcomes.entry(name.to_string()).or_insert_with(|| format!("kept as written (matches gold on {before}/{total})"));
                return Ok(false);
            }
            SearchOutcome::NothingBetter { before, total } => {
                self.history.entry(name.to_string()).or_default().extend(attempts);
                // A later round that finds nothing better does not erase what an
                // earlier one changed.
                let outcome = self.outcomes.entry(name.to_string()).or_default();
                if outcome.is_empty() || outcome.starts_with("kept as written") {
                    *outcome = format!("unchanged: no move beat {before}/{total} on the gold outputs (step {step})");
                } else if !outcome.contains("then no better move") {
                    outcome.push_str(&format!("; then no better move at step {step}"));
                }
                return Ok(false);
            }
            SearchOutcome::Found(candidate) => candidate,
        };
        let mut candidate_plan = self.plan.clone();
        std::mem::swap(&mut self.plan, &mut candidate_plan);
        self.replace_node(name, candidate.nodes.clone());
        let candidate_workflow = std::mem::replace(&mut self.plan, candidate_plan);
        let validation = self.validate(&candidate_workflow).await.map_err(TeacherError::Model)?;
        let previously = self.validation.as_ref().expect("validated").count();
        let passed = validation.count();
        let verdict = if passed >= previously {
            AttemptVerdict::Kept { train_before: previously, train_after: passed }
        } else {
            AttemptVerdict::Reverted { train_before: previously, train_after: passed }
        };
        let gold_total = self.gold.as_ref().map_or(0, |gold| gold.iter().filter(|values| values.contains_key(name)).count());
        record_verdict(&mut attempts, &candidate, step, gold_total, verdict);
        self.history.entry(name.to_string()).or_default().extend(attempts);
        if passed >= previously {
            (self.services.events)(&BuildEvent::ChangeKept {
                workflow: self.workflow_name(),
                node: name.to_string(),
                step,
                move_name: candidate.the_move.name().into(),
                train_passed: passed,
                train_total: validation.passed.len(),
            });
            let leave_one_out = candidate.nodes.last().and_then(|node| node.provenance.leave_one_out.clone()).map(|figure| format!("; leave-one-out {figure}")).unwrap_or_default();
            self.outcomes.insert(name.to_string(), format!("{}: {} (step {step}; training {previously} → {passed} of {}{leave_one_out})", candidate.the_move.name(), candidate.critique, validation.passed.len()));
            self.plan = candidate_workflow;
            self.validation = Some(validation);
            Ok(true)
        } else {
            (self.services.events)(&BuildEvent::ChangeReverted {
                workflow: self.workflow_name(),
                node: name.to_string(),
                step,
                move_name: candidate.the_move.name().into(),
                train_passed: passed,
                previously_passed: previously,
            });
            let reverted = format!("reverted a {} change at step {step}: training would drop from {previously} to {passed}", candidate.the_move.name());
            let outcome = self.outcomes.entry(name.to_string()).or_default();
            if outcome.is_empty() || outcome.starts_with("kept as written") || outcome.starts_with("unchanged") {
                *outcome = reverted;
            } else {
                outcome.push_str(&format!("; {reverted}"));
            }
            Ok(false)
        }
    }
}

/// Marks the attempt that produced `candidate` with the plan's verdict (or adds
/// it, for moves that record no attempts of their own).
fn record_verdict(attempts: &mut Vec<Attempt>, candidate: &Candidate, step: u32, total: usize, verdict: AttemptVerdict) {
    if let Some(attempt) = attempts.iter_mut().rev().find(|attempt| attempt.the_move == candidate.the_move && attempt.score == candidate.score && attempt.verdict == AttemptVerdict::Scored) {
        attempt.verdict = verdict;
        return;
    }
    let node = candidate.nodes.last();
    let artefact = node.and_then(|node| node.code.clone().or_else(|| node.system.clone())).unwrap_or_default();
    attempts.push(Attempt { step, the_move: candidate.the_move, critique: candidate.critique.clone(), artefact, score: candidate.score, total, verdict });
}
