//! Why a workflow's descent ended: recorded in the lock (as its display form, a
//! stable string) and printed in the summary.

use std::fmt;

use serde::{Serialize, Serializer};

/// A budget limit of the optimize block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BudgetLimit {
    TeacherCalls,
    Tokens,
    Iterations,
}

impl BudgetLimit {
    /// The optimize block's name for the limit.
    pub fn name(self) -> &'static str {
        match self {
            BudgetLimit::TeacherCalls => "teacher_calls",
            BudgetLimit::Tokens => "tokens",
            BudgetLimit::Iterations => "iterations",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// Every training example passes.
    AllPassed,
    /// Rounds in a row kept no change: more rounds would ask the same questions.
    NoProgress,
    /// No move left to try could beat the best plan found (fail fast).
    NothingLeftToTry,
    /// A limit of the budget was reached; the plan so far is kept.
    BudgetSpent(BudgetLimit),
}

impl fmt::Display for StopReason {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::AllPassed => formatter.write_str("all-passed"),
            StopReason::NoProgress => formatter.write_str("no-progress"),
            StopReason::NothingLeftToTry => formatter.write_str("nothing-left-to-try"),
            StopReason::BudgetSpent(limit) => write!(formatter, "budget:{}", limit.name()),
        }
    }
}

/// Serialised as its display form, the string the lock records.
impl Serialize for StopReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_forms_are_the_lock_strings() {
        assert_eq!(StopReason::AllPassed.to_string(), "all-passed");
        assert_eq!(StopReason::BudgetSpent(BudgetLimit::TeacherCalls).to_string(), "budget:teacher_calls");
        assert_eq!(serde_json::to_string(&StopReason::NoProgress).unwrap(), "\"no-progress\"");
    }
}
