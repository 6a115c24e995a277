//! The settings of one `optimize` block, read from checked source: which teacher,
//! which data, which moves, how much to spend, how sure the bound must be.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::plan::from_source::{lock_named_model, PlanError, PlanOptions};
use crate::plan::lock_file::LockedModel;
use crate::semantic::check_dataset::{dataset_field_map, dataset_path};
use crate::semantic::database::{file_scope, item_hir, Db, ItemId, SourceFile};
use crate::semantic::hir::*;

/// The moves of DESIGN.md, in the order the optimiser tries them on a node: the
/// cheapest first (a library function costs no teacher call; consensus multiplies
/// the student's cost at run time, so it comes last).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Move {
    Offload,
    Prompt,
    Topology,
    Consensus,
}

impl Move {
    pub fn name(self) -> &'static str {
        match self {
            Move::Prompt => "prompt",
            Move::Offload => "offload",
            Move::Consensus => "consensus",
            Move::Topology => "topology",
        }
    }

    pub fn from_name(name: &str) -> Option<Move> {
        Some(match name {
            "prompt" => Move::Prompt,
            "offload" => Move::Offload,
            "consensus" => Move::Consensus,
            "topology" => Move::Topology,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BudgetLimits {
    /// Rounds of localise-and-descend after the first pass over the nodes.
    pub iterations: u32,
    pub teacher_calls: u64,
    /// Teacher tokens, prompt and completion together.
    pub tokens: u64,
}

/// Defaults sized for a local 1.5B teacher (seconds per call): a build of a few
/// minutes.
impl Default for BudgetLimits {
    fn default() -> BudgetLimits {
        BudgetLimits { iterations: 5, teacher_calls: 60, tokens: 200_000 }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OptimizeSettings {
    pub workflow: String,
    pub teacher_name: String,
    pub teacher: LockedModel,
    #[serde(skip)]
    pub train_path: PathBuf,
    #[serde(skip)]
    pub validation_path: Option<PathBuf>,
    /// The validation dataset's own field map (workflow input/output → record
    /// field), which may differ from the training set's.
    #[serde(skip)]
    pub validation_fields: std::collections::BTreeMap<String, String>,
    pub moves: BTreeSet<Move>,
    pub budget: BudgetLimits,
    pub delta: f64,
    pub target_epsilon: f64,
}

pub const DEFAULT_DELTA: f64 = 0.05;
pub const DEFAULT_TARGET_EPSILON: f64 = 0.1;

/// The settings of `optimize <workflow>` in `file`, or `None` when the workflow has
/// no optimize block. The source must have checked cleanly.
pub fn optimize_settings(db: &dyn Db, file: SourceFile, workflow: &str, options: &PlanOptions) -> Result<Option<OptimizeSettings>, PlanError> {
    let Some(hir) = item_hir(db, ItemId::new(db, file, format!("optimize:{workflow}"))) else { return Ok(None) };
    let ItemHir::Optimize(optimize) = &*hir else { return Ok(None) };
    let name_of = |key: &str| -> Option<String> {
        match &optimize.properties.get(key)?.value.as_value()?.kind {
            ValueKindHir::Path(path) => Some(path.segments.first()?.text.clone()),
            _ => None,
        }
    };
    let number_of = |key: &str| -> Option<f64> {
        match &optimize.properties.get(key)?.value.as_value()?.kind {
            ValueKindHir::Number(number) => number.as_f64(),
            _ => None,
        }
    };
    let teacher_name = name_of("teacher").ok_or_else(|| PlanError::Environment(format!("`optimize {workflow}` names no teacher")))?;
    let teacher = lock_named_model(db, file, &teacher_name, options)?;
    let dataset_file = |dataset_name: &str| -> Result<(PathBuf, std::collections::BTreeMap<String, String>), PlanError> {
        let scope = file_scope(db, file);
        let item = scope.entries.get(dataset_name).ok_or_else(|| PlanError::Environment(format!("no dataset `{dataset_name}`")))?;
        let hir = item_hir(db, ItemId::new(db, item.file, item.key.clone())).ok_or_else(|| PlanError::Environment(format!("no dataset `{dataset_name}`")))?;
        let ItemHir::Dataset(dataset) = &*hir else { return Err(PlanError::Environment(format!("`{dataset_name}` is not a dataset"))) };
        let (written, _) = dataset_path(dataset).ok_or_else(|| PlanError::Environment(format!("the dataset `{dataset_name}` names no file")))?;
        let directory = item.file.path(db).parent().unwrap_or(Path::new("")).to_path_buf();
        Ok((directory.join(written), dataset_field_map(dataset)))
    };
    let train_name = name_of("train").ok_or_else(|| PlanError::Environment(format!("`optimize {workflow}` names no training set")))?;
    let (train_path, _) = dataset_file(&train_name)?;
    let validation = name_of("validation").map(|name| dataset_file(&name)).transpose()?;
    let (validation_path, validation_fields) = match validation {
        Some((path, fields)) => (Some(path), fields),
        None => (None, Default::default()),
    };
    let moves = match optimize.properties.get("moves").and_then(|property| property.value.as_value()).map(|value| &value.kind) {
        Some(ValueKindHir::List(values)) => values
            .iter()
            .filter_map(|value| match &value.kind {
                ValueKindHir::Path(path) => Move::from_name(&path.segments.first()?.text),
                _ => None,
            })
            .collect(),
        _ => [Move::Prompt, Move::Offload, Move::Consensus, Move::Topology].into_iter().collect(),
    };
    let mut budget = BudgetLimits::default();
    let budget_block = optimize.properties.get("budget").and_then(|property| match &property.value {
        PropertyValueHir::Block(block) => Some(block),
        PropertyValueHir::Value(ValueHir { kind: ValueKindHir::Object(block), .. }) => Some(block),
        _ => None,
    });
    for property in budget_block.map(|block| block.entries.as_slice()).unwrap_or_default() {
        let Some(ValueKindHir::Number(number)) = property.value.as_value().map(|value| &value.kind) else { continue };
        let Some(value) = number.as_i64().filter(|value| *value >= 0) else { continue };
        match property.key.text.as_str() {
            "iterations" => budget.iterations = value as u32,
            "teacher_calls" => budget.teacher_calls = value as u64,
            "tokens" => budget.tokens = value as u64,
            _ => {}
        }
    }
    Ok(Some(OptimizeSettings {
        workflow: workflow.to_string(),
        teacher_name,
        teacher,
        train_path,
        validation_path,
        validation_fields,
        moves,
        budget,
        delta: number_of("delta").unwrap_or(DEFAULT_DELTA),
        target_epsilon: number_of("target_epsilon").unwrap_or(DEFAULT_TARGET_EPSILON),
    }))
}
