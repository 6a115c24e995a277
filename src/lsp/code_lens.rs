//! Code lens per workflow: "plan: up to date" or "plan: stale (N nodes changed)"
//! against the `flow.lock` beside the file, with a command that runs `flowc build`.

use crossbeam_channel::Sender;
use lsp_server::{Message, Notification};
use lsp_types::notification::{Notification as _, ShowMessage};
use lsp_types::{CodeLens, CodeLensParams, Command, ExecuteCommandParams, MessageType, ShowMessageParams};

use super::plan_view::{current_plan, lock_beside, workflow_status, WorkflowPlanStatus};
use super::snapshot::{RequestFailure, RequestResult, Snapshot};
use crate::semantic::database::parse_file;
use crate::syntax::ast::Item;

pub const BUILD_COMMAND: &str = "flowc.build";

pub fn code_lens(snapshot: &Snapshot, params: CodeLensParams) -> RequestResult<Option<Vec<CodeLens>>> {
    let view = snapshot.file_of_uri(&params.text_document.uri)?;
    let lock = lock_beside(&view.path);
    let current = lock.as_ref().map(|(lock_path, _)| current_plan(snapshot.db(), view.file, lock_path));
    let mut lenses = Vec::new();
    for item in &parse_file(snapshot.db(), view.file).items {
        let Item::Workflow(workflow) = item else { continue };
        let title = match (&lock, &current) {
            (Some((_, lock)), Some(current)) => match workflow_status(lock, current, &workflow.name.text) {
                WorkflowPlanStatus::UpToDate => "plan: up to date".to_string(),
                WorkflowPlanStatus::Stale { changed, removed } => {
                    let count = changed.len() + removed.len();
                    format!("plan: stale ({count} node{} changed) — build", if count == 1 { "" } else { "s" })
                }
                WorkflowPlanStatus::NotLocked => "plan: not locked — build".into(),
                WorkflowPlanStatus::CannotTell(reason) => format!("plan: cannot tell ({reason})"),
            },
            _ => "plan: none — build".into(),
        };
        let arguments = vec![serde_json::Value::String(view.path.display().to_string()), serde_json::Value::String(workflow.name.text.clone())];
        lenses.push(CodeLens {
            range: view.contents.range(workflow.name.span),
            command: Some(Command { title, command: BUILD_COMMAND.into(), arguments: Some(arguments) }),
            data: None,
        });
    }
    Ok(Some(lenses))
}

/// `flowc.build PATH [WORKFLOW]`: runs `flowc build PATH` in the background and says
/// how it ended; the answer comes at once (a build takes minutes).
pub fn execute_command(_snapshot: &Snapshot, params: ExecuteCommandParams, sender: &Sender<Message>) -> RequestResult<Option<serde_json::Value>> {
    if params.command != BUILD_COMMAND {
        return Err(RequestFailure::InvalidParams(format!("unknown command {}", params.command)));
    }
    let Some(path) = params.arguments.first().and_then(|argument| argument.as_str()).map(str::to_string) else {
        return Err(RequestFailure::InvalidParams("flowc.build needs the path of a .flow file".into()));
    };
    let executable = std::env::current_exe().map_err(|error| RequestFailure::Refused(format!("cannot find the flowc executable: {error}")))?;
    let sender = sender.clone();
    let show = move |kind: MessageType, message: String| {
        let _ = sender.send(Notification::new(ShowMessage::METHOD.into(), ShowMessageParams { typ: kind, message }).into());
    };
    show(MessageType::INFO, format!("flowc build {path}: started"));
    std::thread::spawn(move || {
        let outcome = std::process::Command::new(executable).arg("build").arg(&path).stdin(std::process::Stdio::null()).output();
        match outcome {
            Ok(output) if output.status.success() => show(MessageType::INFO, format!("flowc build {path}: done")),
            Ok(output) => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let tail: Vec<&str> = stderr.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect();
                show(MessageType::ERROR, format!("flowc build {path} failed: {}", tail.join("\n")));
            }
            Err(error) => show(MessageType::ERROR, format!("cannot run flowc build: {error}")),
        }
    });
    Ok(None)
}
