//! The previous lock's plan as one more candidate at the end of a rebuild.
//!
//! A rebuild whose build keys no longer match (a new optimiser version, another
//! budget, new training data) starts every node from the plan as written, and a
//! move that asks the teacher again may find less than before: on a cold call
//! cache the same question can get a worse answer (`examples/gsm_hard`, rebuilt on
//! a new machine on 2026-12-04: the teacher's code for `compute` passed 1 of 3
//! training examples before, 0 after, and the lock lost the better one). What was
//! compiled is not thrown away for that: where the workflow as written is the same
//! and every locked artefact is one the allowed moves make, the previous plan is
//! run on the training examples as they are now, and kept if it passes more of
//! them than the plan the rebuild found. It is one more hypothesis in k.

use std::sync::atomic::Ordering;

use super::Engine;
use crate::optimize::events::BuildEvent;
use crate::optimize::settings::Move;

impl Engine {
    pub(super) async fn keep_the_previous_plan_where_it_passes_more(&mut self) -> Result<(), String> {
        let Some(previous) = self.request.previous.clone() else { return Ok(()) };
        let passed_now = self.validation.as_ref().map_or(0, |validation| validation.count());
        let recorded = previous.build.as_ref().map_or(0, |build| build.train_passed_after as usize);
        // Its own record says it did better (a cheap gate: no run when it did not),
        // and the workflow as written is the one it was compiled from.
        if recorded <= passed_now || previous.fingerprint != self.request.as_written.fingerprint {
            return Ok(());
        }
        let allowed = |origin: &str| origin.split('+').all(|part| part == "as-written" || Move::from_name(part).is_some_and(|the_move| self.request.settings.moves.contains(&the_move)));
        if !previous.nodes.iter().all(|node| allowed(&node.provenance.origin)) {
            return Ok(());
        }
        let mut candidate = self.plan.clone();
        candidate.nodes = previous.nodes.clone();
        candidate.order = previous.order.clone();
        let examples = self.request.examples.clone();
        let validation = self.validate_on(&candidate, &examples).await?;
        self.hypotheses.fetch_add(1, Ordering::Relaxed);
        let passed = validation.count();
        (self.services.events)(&BuildEvent::Validated {
            workflow: self.workflow_name(),
            step: self.step,
            passed,
            total: validation.passed.len(),
            note: "the previous lock's plan, on the training examples as they are now".into(),
        });
        if passed <= passed_now {
            return Ok(());
        }
        let total = validation.passed.len();
        self.plan = candidate;
        self.validation = Some(validation);
        for name in self.request.as_written.order.clone() {
            self.outcomes.insert(name, format!("kept from the previous lock: its plan passes {passed} of {total} training examples as they are now, the plan this rebuild found {passed_now}"));
        }
        Ok(())
    }
}
