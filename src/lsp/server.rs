//! The main loop: one thread owns the database and applies every edit; requests and
//! diagnostics run on snapshots in worker threads.
//!
//! Invariants:
//! - Edits are applied in the order they arrive, on this thread only.
//! - Before an edit touches the database, the edit generation is bumped; a worker
//!   checks it before answering and answers `ContentModified` instead of a result
//!   computed from older text. Salsa cancels the queries of older snapshots and the
//!   edit waits for them to be dropped, so a stale worker stops within one query.
//! - A panic in a handler answers the request with an error; the server goes on.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_channel::{Receiver, Sender};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{self as notifications, Notification as _};
use lsp_types::request::{self as requests, Request as _};
use lsp_types::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::capabilities::server_capabilities;
use super::diagnostics::{publish_diagnostics, PublishedDiagnostics};
use super::disk_watch::{start_disk_watch, ServerEvent};
use super::plan_view::{when_digests_known, LOCK_FILE_NAME};
use super::semantic_tokens::TokenHistory;
use super::snapshot::{RequestFailure, RequestResult, Snapshot};
use super::workspace::{apply_changes, DocumentText, FileLayer, OpenDocument, OpenDocuments, PathMapping};
use super::*;
use crate::semantic::database::{normalize_path, FlowDatabase};

pub struct Server {
    sender: Sender<Message>,
    database: FlowDatabase,
    documents: Arc<OpenDocuments>,
    paths: PathMapping,
    generation: Arc<AtomicU64>,
    /// `$/cancelRequest` sets a request's flag; its worker answers `RequestCancelled`.
    in_flight: Arc<Mutex<HashMap<RequestId, Arc<AtomicBool>>>>,
    published: PublishedDiagnostics,
    token_history: TokenHistory,
    /// Workers still running, joined (bounded) at exit so no answer is cut in half.
    workers: Vec<std::thread::JoinHandle<()>>,
    /// The client re-asks for code lenses on `workspace/codeLens/refresh`.
    code_lens_refresh: bool,
    /// Ids of the requests the server sends the client.
    next_request_id: u64,
    /// The disk watcher's list of files to watch (`None`: no watcher).
    watch_files: Option<Sender<Vec<PathBuf>>>,
}

/// Run a server on `connection` until the client says exit.
pub fn serve(connection: Connection) -> Result<(), String> {
    let capabilities = serde_json::to_value(server_capabilities()).map_err(|error| error.to_string())?;
    let initialize = connection.initialize(capabilities).map_err(|error| format!("the client did not initialise: {error}"))?;
    let code_lens_refresh = initialize.pointer("/capabilities/workspace/codeLens/refreshSupport").and_then(serde_json::Value::as_bool).unwrap_or(false);
    let (event_sender, events): (Sender<ServerEvent>, Receiver<ServerEvent>) = crossbeam_channel::unbounded();
    let digest_events = event_sender.clone();
    when_digests_known(move || {
        let _ = digest_events.send(ServerEvent::DigestsKnown);
    });
    let mut server = Server {
        sender: connection.sender.clone(),
        database: FlowDatabase::default(),
        documents: Arc::new(OpenDocuments::default()),
        paths: PathMapping::new(),
        generation: Arc::new(AtomicU64::new(0)),
        in_flight: Default::default(),
        published: Default::default(),
        token_history: Default::default(),
        workers: Vec::new(),
        code_lens_refresh,
        next_request_id: 0,
        watch_files: start_disk_watch(event_sender),
    };
    loop {
        let message = crossbeam_channel::select! {
            recv(connection.receiver) -> message => match message {
                Ok(message) => message,
                Err(_) => break,
            },
            recv(events) -> event => {
                if let Ok(event) = event {
                    server.on_event(event);
                }
                server.workers.retain(|worker| !worker.is_finished());
                continue;
            }
        };
        match message {
            Message::Request(request) => {
                if connection.handle_shutdown(&request).map_err(|error| error.to_string())? {
                    break;
                }
                server.on_request(request);
            }
            Message::Notification(notification) => server.on_notification(notification),
            Message::Response(_) => {}
        }
        server.workers.retain(|worker| !worker.is_finished());
    }
    for worker in server.workers.drain(..) {
        let _ = worker.join();
    }
    Ok(())
}

impl Server {
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            database: self.database.clone(),
            documents: self.documents.clone(),
            paths: self.paths.clone(),
            generation: self.generation.load(Ordering::SeqCst),
            current_generation: self.generation.clone(),
        }
    }

    fn on_request(&mut self, request: Request) {
        match request.method.as_str() {
            requests::HoverRequest::METHOD => self.spawn::<requests::HoverRequest>(request, hover::hover),
            requests::GotoDefinition::METHOD => self.spawn::<requests::GotoDefinition>(request, definition::goto_definition),
            requests::References::METHOD => self.spawn::<requests::References>(request, references::references),
            requests::Completion::METHOD => self.spawn::<requests::Completion>(request, completion::completion),
            requests::DocumentSymbolRequest::METHOD => self.spawn::<requests::DocumentSymbolRequest>(request, document_symbols::document_symbols),
            requests::WorkspaceSymbolRequest::METHOD => self.spawn::<requests::WorkspaceSymbolRequest>(request, workspace_symbols::workspace_symbols),
            requests::FoldingRangeRequest::METHOD => self.spawn::<requests::FoldingRangeRequest>(request, folding_ranges::folding_ranges),
            requests::SemanticTokensFullRequest::METHOD => {
                let history = self.token_history.clone();
                self.spawn_with::<requests::SemanticTokensFullRequest>(request, move |snapshot, params| semantic_tokens::full(snapshot, params, &history))
            }
            requests::SemanticTokensFullDeltaRequest::METHOD => {
                let history = self.token_history.clone();
                self.spawn_with::<requests::SemanticTokensFullDeltaRequest>(request, move |snapshot, params| semantic_tokens::delta(snapshot, params, &history))
            }
            requests::Formatting::METHOD => self.spawn::<requests::Formatting>(request, formatting::formatting),
            requests::PrepareRenameRequest::METHOD => self.spawn::<requests::PrepareRenameRequest>(request, rename::prepare_rename),
            requests::Rename::METHOD => self.spawn::<requests::Rename>(request, rename::rename),
            requests::SignatureHelpRequest::METHOD => self.spawn::<requests::SignatureHelpRequest>(request, signature_help::signature_help),
            requests::InlayHintRequest::METHOD => self.spawn::<requests::InlayHintRequest>(request, inlay_hints::inlay_hints),
            requests::CodeActionRequest::METHOD => self.spawn::<requests::CodeActionRequest>(request, code_actions::code_actions),
            requests::CodeLensRequest::METHOD => self.spawn::<requests::CodeLensRequest>(request, code_lens::code_lens),
            requests::ExecuteCommand::METHOD => {
                let sender = self.sender.clone();
                self.spawn_with::<requests::ExecuteCommand>(request, move |snapshot, params| code_lens::execute_command(snapshot, params, &sender))
            }
            _ => {
                let response = Response::new_err(request.id, ErrorCode::MethodNotFound as i32, format!("flowc lsp does not handle {}", request.method));
                let _ = self.sender.send(response.into());
            }
        }
    }

    fn spawn<R>(&mut self, request: Request, handler: fn(&Snapshot, R::Params) -> RequestResult<R::Result>)
    where
        R: requests::Request,
        R::Params: DeserializeOwned + Send + 'static,
        R::Result: Serialize,
    {
        self.spawn_with::<R>(request, handler)
    }

    fn spawn_with<R>(&mut self, request: Request, handler: impl FnOnce(&Snapshot, R::Params) -> RequestResult<R::Result> + Send + 'static)
    where
        R: requests::Request,
        R::Params: DeserializeOwned + Send + 'static,
        R::Result: Serialize,
    {
        let id = request.id.clone();
        let params: R::Params = match serde_json::from_value(request.params) {
            Ok(params) => params,
            Err(error) => {
                let _ = self.sender.send(Response::new_err(id, ErrorCode::InvalidParams as i32, format!("invalid parameters: {error}")).into());
                return;
            }
        };
        let cancelled = Arc::new(AtomicBool::new(false));
        self.in_flight.lock().expect("in-flight table").insert(id.clone(), cancelled.clone());
        let snapshot = self.snapshot();
        let sender = self.sender.clone();
        let in_flight = self.in_flight.clone();
        let worker = std::thread::Builder::new().name(format!("flowc-lsp {}", R::METHOD)).spawn(move || {
            let outcome = catch_unwind(AssertUnwindSafe(|| handler(&snapshot, params)));
            let response = if cancelled.load(Ordering::SeqCst) {
                Response::new_err(id.clone(), ErrorCode::RequestCanceled as i32, "cancelled by the client".into())
            } else if snapshot.is_outdated() {
                content_modified(id.clone())
            } else {
                match outcome {
                    Ok(Ok(result)) => Response::new_ok(id.clone(), result),
                    Ok(Err(RequestFailure::InvalidParams(message))) => Response::new_err(id.clone(), ErrorCode::InvalidParams as i32, message),
                    Ok(Err(RequestFailure::Refused(message))) => Response::new_err(id.clone(), ErrorCode::RequestFailed as i32, message),
                    Err(payload) if payload.downcast_ref::<salsa::Cancelled>().is_some() => content_modified(id.clone()),
                    Err(payload) => {
                        let reason = payload
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| payload.downcast_ref::<&str>().map(|text| text.to_string()))
                            .unwrap_or_else(|| "unknown".into());
                        Response::new_err(id.clone(), ErrorCode::InternalError as i32, format!("internal error in flowc lsp: {reason}"))
                    }
                }
            };
            // Sent while the snapshot is held: an edit waits for it, so the answer
            // goes out before the editor's next text is applied.
            let _ = sender.send(response.into());
            in_flight.lock().expect("in-flight table").remove(&id);
            drop(snapshot);
        });
        match worker {
            Ok(worker) => self.workers.push(worker),
            Err(error) => eprintln!("flowc lsp: cannot start a worker: {error}"),
        }
    }

    fn on_notification(&mut self, notification: Notification) {
        match notification.method.as_str() {
            notifications::DidOpenTextDocument::METHOD => {
                let Some(params) = extract::<DidOpenTextDocumentParams>(notification) else { return };
                let Some(path) = self.paths.path_of_uri(&params.text_document.uri) else { return };
                let document = OpenDocument {
                    uri: params.text_document.uri,
                    path: path.clone(),
                    version: params.text_document.version,
                    contents: DocumentText::new(params.text_document.text),
                };
                self.apply_edit(|server| {
                    FileLayer::set_buffer_text(&mut server.database, &path, document.contents.text.to_string());
                    Arc::make_mut(&mut server.documents).by_path.insert(path.clone(), document);
                });
                plan_view::warm_model_digests(&path);
                self.check_open_documents(Some(path));
                self.update_watched_files();
            }
            notifications::DidChangeTextDocument::METHOD => {
                let Some(params) = extract::<DidChangeTextDocumentParams>(notification) else { return };
                let Some(path) = self.paths.path_of_uri(&params.text_document.uri) else { return };
                let Some(document) = self.documents.get(&path) else { return };
                let mut text = document.contents.text.to_string();
                apply_changes(&mut text, &params.content_changes);
                let version = params.text_document.version;
                self.apply_edit(|server| {
                    FileLayer::set_buffer_text(&mut server.database, &path, text.clone());
                    if let Some(document) = Arc::make_mut(&mut server.documents).by_path.get_mut(&path) {
                        document.version = version;
                        document.contents = DocumentText::new(text);
                    }
                });
                self.check_open_documents(Some(path));
                // What the previous check read (an import just typed, say) is watched
                // from now on: the list is cheap, and the watcher skips known folders.
                self.update_watched_files();
            }
            notifications::DidCloseTextDocument::METHOD => {
                let Some(params) = extract::<DidCloseTextDocumentParams>(notification) else { return };
                let Some(path) = self.paths.path_of_uri(&params.text_document.uri) else { return };
                self.apply_edit(|server| {
                    Arc::make_mut(&mut server.documents).by_path.remove(&path);
                    FileLayer::restore_disk_text(&mut server.database, &path);
                });
                self.token_history.forget(params.text_document.uri.as_str());
                self.published.forget(&path);
                let clear = PublishDiagnosticsParams { uri: params.text_document.uri, diagnostics: Vec::new(), version: None };
                let _ = self.sender.send(Notification::new(notifications::PublishDiagnostics::METHOD.into(), clear).into());
                self.check_open_documents(None);
                self.update_watched_files();
            }
            notifications::DidSaveTextDocument::METHOD => {
                self.check_open_documents(None);
                self.update_watched_files();
            }
            notifications::DidChangeWatchedFiles::METHOD => {
                let Some(params) = extract::<DidChangeWatchedFilesParams>(notification) else { return };
                let changed: Vec<PathBuf> = params.changes.iter().filter_map(|change| self.paths.path_of_uri(&change.uri)).collect();
                self.on_disk_changes(changed);
            }
            notifications::Cancel::METHOD => {
                let Some(params) = extract::<CancelParams>(notification) else { return };
                let id: RequestId = match params.id {
                    NumberOrString::Number(number) => number.into(),
                    NumberOrString::String(text) => text.into(),
                };
                if let Some(flag) = self.in_flight.lock().expect("in-flight table").get(&id) {
                    flag.store(true, Ordering::SeqCst);
                }
            }
            _ => {}
        }
    }

    fn on_event(&mut self, event: ServerEvent) {
        match event {
            ServerEvent::DiskChanged(paths) => self.on_disk_changes(paths),
            ServerEvent::DigestsKnown => self.refresh_code_lenses(),
        }
    }

    /// Files changed on disk (the watcher's report, or the client's): the database
    /// re-reads those it knows (open buffers keep the editor's text) and open files
    /// are re-checked; a lock rewritten beside an open file changes its code lens.
    fn on_disk_changes(&mut self, paths: Vec<PathBuf>) {
        let paths: Vec<PathBuf> = paths.into_iter().map(|path| normalize_path(&path)).collect();
        let lock_changed = paths.iter().any(|path| path.file_name().is_some_and(|name| name == LOCK_FILE_NAME));
        let on_disk: Vec<PathBuf> = paths.iter().filter(|path| self.documents.get(path).is_none()).cloned().collect();
        let known = self.database.watched_paths();
        let read_before: Vec<PathBuf> = on_disk.iter().filter(|path| known.contains(path)).cloned().collect();
        if !read_before.is_empty() {
            self.apply_edit(|server| {
                for path in &read_before {
                    FileLayer::restore_disk_text(&mut server.database, path);
                }
            });
            self.check_open_documents(None);
            self.update_watched_files();
        }
        if lock_changed {
            // What depends on the lock and is pushed, not asked for: the code lens.
            // (Hover reads the lock when asked.)
            self.refresh_code_lenses();
        }
    }

    /// Ask the client to request code lenses again, if it said it can.
    fn refresh_code_lenses(&mut self) {
        if !self.code_lens_refresh {
            return;
        }
        self.next_request_id += 1;
        let id = RequestId::from(format!("flowc-code-lens-refresh-{}", self.next_request_id));
        let request = Request::new(id, requests::CodeLensRefresh::METHOD.into(), serde_json::Value::Null);
        let _ = self.sender.send(request.into());
    }

    /// Tell the watcher what the server reads now: the open files (and so the locks
    /// beside them: the watcher watches folders) and every file the database read.
    fn update_watched_files(&mut self) {
        let Some(watch_files) = &self.watch_files else { return };
        let mut files = self.documents.paths();
        files.extend(self.database.watched_paths());
        files.sort();
        files.dedup();
        if watch_files.send(files).is_err() {
            self.watch_files = None;
        }
    }

    /// Every change of the database goes through here: the generation first, so that
    /// workers of older snapshots stop answering, then the change (which waits for
    /// them to drop their snapshots).
    fn apply_edit(&mut self, edit: impl FnOnce(&mut Server)) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        edit(self);
    }

    /// Re-check every open document (importers of a changed file included: salsa
    /// makes the unchanged ones cheap) on a snapshot. `changed` is always published,
    /// the others only when their diagnostics differ from what the client has.
    fn check_open_documents(&mut self, changed: Option<PathBuf>) {
        let snapshot = self.snapshot();
        let sender = self.sender.clone();
        let published = self.published.clone();
        let worker = std::thread::Builder::new().name("flowc-lsp diagnostics".into()).spawn(move || {
            let outcome = catch_unwind(AssertUnwindSafe(|| publish_diagnostics(&snapshot, changed.as_deref(), &published, &sender)));
            if let Err(payload) = outcome {
                if payload.downcast_ref::<salsa::Cancelled>().is_none() {
                    eprintln!("flowc lsp: checking failed (a bug): the diagnostics of this edit are not shown");
                }
            }
            drop(snapshot);
        });
        match worker {
            Ok(worker) => self.workers.push(worker),
            Err(error) => eprintln!("flowc lsp: cannot start a worker: {error}"),
        }
    }
}

fn content_modified(id: RequestId) -> Response {
    Response::new_err(id, ErrorCode::ContentModified as i32, "the document changed while the request ran".into())
}

fn extract<P: DeserializeOwned>(notification: Notification) -> Option<P> {
    match serde_json::from_value(notification.params) {
        Ok(params) => Some(params),
        Err(error) => {
            eprintln!("flowc lsp: ignoring a malformed {} notification: {error}", notification.method);
            None
        }
    }
}
