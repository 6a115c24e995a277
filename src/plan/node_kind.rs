//! What a plan's node is: the lock writes it as `llm`, `code`, `consensus` or
//! `likelihood_choice`.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanNodeKind {
    /// One call to the node's model.
    Llm,
    /// Sandboxed code, no model call.
    Code,
    /// `samples` calls to the node's model and a deterministic vote.
    Consensus,
    /// The node's model reads the text after each class's prompt and the class
    /// whose prompt makes the text most likely wins (`LockedLikelihoodChoice`).
    /// Written by `flowc build` only: the student cannot *answer* which class a
    /// text is, but how likely it finds the text is its reading of the language.
    LikelihoodChoice,
}

impl PlanNodeKind {
    /// The kind as the source and the lock write it.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanNodeKind::Llm => "llm",
            PlanNodeKind::Code => "code",
            PlanNodeKind::Consensus => "consensus",
            PlanNodeKind::LikelihoodChoice => "likelihood_choice",
        }
    }

    /// The kind of a node declared as `kind` (`llm(student)`, `code`, …).
    pub fn from_written(kind: &str) -> Option<PlanNodeKind> {
        match kind {
            "llm" => Some(PlanNodeKind::Llm),
            "code" => Some(PlanNodeKind::Code),
            "consensus" => Some(PlanNodeKind::Consensus),
            "likelihood_choice" => Some(PlanNodeKind::LikelihoodChoice),
            _ => None,
        }
    }

    /// Whether running the node calls a model.
    pub fn calls_a_model(self) -> bool {
        self != PlanNodeKind::Code
    }
}

impl fmt::Display for PlanNodeKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Compares with the written form, so `node.kind == "code"` reads as it did.
impl PartialEq<&str> for PlanNodeKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for PlanNodeKind {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_forms_round_trip() {
        for kind in [PlanNodeKind::Llm, PlanNodeKind::Code, PlanNodeKind::Consensus, PlanNodeKind::LikelihoodChoice] {
            assert_eq!(PlanNodeKind::from_written(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{kind}\""));
        }
        assert_eq!(PlanNodeKind::from_written("vote"), None);
    }
}
