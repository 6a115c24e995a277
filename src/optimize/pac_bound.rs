//! The PAC bound of a compiled plan (DESIGN.md "Stopping").
//!
//! The optimiser picks one plan among the `k` hypotheses it evaluated on `m`
//! training examples. Occam's bound for a finite class: if the chosen plan passed
//! all `m`, its true error rate is at most `(ln k + ln(1/δ)) / m` with probability
//! at least `1 - δ` (the *realisable* case). If it failed some, Hoeffding's
//! inequality with a union bound over the `k` hypotheses gives
//! `error ≤ training error + sqrt((ln k + ln(1/δ)) / (2m))` (the *agnostic* case).
//!
//! At m = 3 both are usually above 1, i.e. vacuous; we say so plainly and report
//! how many examples the same search would need for the target ε. A tighter
//! PAC-Bayes bound using the teacher as a prior would need the prior mass of the
//! accepted plan, which we cannot measure, so it is not claimed.

use crate::plan::lock_file::LockedPacBound;

pub fn pac_bound(examples: u32, passed: u32, hypotheses: u64, delta: f64, target_epsilon: f64) -> LockedPacBound {
    let m = f64::from(examples.max(1));
    let complexity = (hypotheses.max(1) as f64).ln() + (1.0 / delta).ln();
    let training_error = f64::from(examples.saturating_sub(passed)) / m;
    let (kind, epsilon, examples_for_target) = if passed >= examples && examples > 0 {
        ("realisable", complexity / m, Some((complexity / target_epsilon).ceil() as u64))
    } else {
        let margin = target_epsilon - training_error;
        // sqrt(c / 2m) ≤ margin  ⇔  m ≥ c / (2 margin²); impossible when the
        // training error alone exceeds the target.
        let needed = (margin > 0.0).then(|| (complexity / (2.0 * margin * margin)).ceil() as u64);
        ("agnostic", training_error + (complexity / (2.0 * m)).sqrt(), needed)
    };
    LockedPacBound {
        delta,
        epsilon: round6(epsilon),
        vacuous: epsilon >= 1.0,
        kind: kind.to_string(),
        target_epsilon: Some(target_epsilon),
        examples_for_target,
    }
}

/// Six decimals: the lock must not change with the last bits of a logarithm.
fn round6(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}

/// The bound in one readable sentence.
pub fn describe(bound: &LockedPacBound, examples: u32, hypotheses: u64) -> String {
    let confidence = 100.0 * (1.0 - bound.delta);
    let mut text = if bound.vacuous {
        format!(
            "PAC ({}): with m = {examples} and k = {hypotheses}, the bound ε ≤ {:.3} at {confidence:.0}% confidence is vacuous (above 1)",
            bound.kind, bound.epsilon
        )
    } else {
        format!("PAC ({}): true error ≤ {:.3} with {confidence:.0}% confidence (m = {examples}, k = {hypotheses})", bound.kind, bound.epsilon)
    };
    match (bound.target_epsilon, bound.examples_for_target) {
        (Some(target), Some(needed)) => text.push_str(&format!("; ε ≤ {target} would need m ≥ {needed} passing examples")),
        (Some(target), None) => text.push_str(&format!("; ε ≤ {target} is out of reach while training examples fail")),
        _ => {}
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realisable_bound_is_occam() {
        // ln 10 + ln 20 = 5.298317; / 3 = 1.766106
        let bound = pac_bound(3, 3, 10, 0.05, 0.1);
        assert_eq!(bound.kind, "realisable");
        assert!((bound.epsilon - 1.766106).abs() < 1e-6, "{}", bound.epsilon);
        assert!(bound.vacuous);
        assert_eq!(bound.examples_for_target, Some(53));
    }

    #[test]
    fn many_examples_make_the_bound_useful() {
        let bound = pac_bound(100, 100, 10, 0.05, 0.1);
        assert!((bound.epsilon - 0.052983).abs() < 1e-6);
        assert!(!bound.vacuous);
    }

    #[test]
    fn one_hypothesis_leaves_only_the_confidence_term() {
        let bound = pac_bound(30, 30, 1, 0.05, 0.1);
        assert!((bound.epsilon - (20f64).ln() / 30.0).abs() < 1e-6);
    }

    #[test]
    fn failures_give_the_agnostic_bound() {
        let bound = pac_bound(3, 2, 4, 0.05, 0.5);
        assert_eq!(bound.kind, "agnostic");
        let expected = 1.0 / 3.0 + (((4f64).ln() + (20f64).ln()) / 6.0).sqrt();
        assert!((bound.epsilon - expected).abs() < 1e-6);
        // margin 0.5 - 1/3 = 1/6: m ≥ c / (2/36) = 18 c
        assert_eq!(bound.examples_for_target, Some(((4f64).ln() + (20f64).ln()) * 18.0).map(|v| v.ceil() as u64));
        let hopeless = pac_bound(3, 0, 4, 0.05, 0.1);
        assert_eq!(hopeless.examples_for_target, None);
    }
}
