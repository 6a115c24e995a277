//! Executing a locked workflow on one input: nodes in dependency order, independent
//! nodes at the same time, each node's work recorded in the trace.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::call_cache::CallCache;
use super::output_parsing::{conform_value, parse_output};
use super::trace::{CallTrace, NodeTrace, RunTrace};
use super::values::{read_path, render_template, Environment};
use super::vote::{majority, median};
use crate::models::{ChatMessage, ChatRequest, ChatResponse, DecodingParameters, ModelBackend, OutputConstraint, Role, ScoreRequest, ScoreResponse};
use crate::plan::lock_file::{LockedDecoding, LockedNode, LockedWorkflow};
use crate::sandbox::Sandbox;

/// Everything needed to run one workflow of a plan, shared by all its inputs.
pub struct WorkflowExecutor {
    pub workflow: LockedWorkflow,
    /// Backends by the model's name in the plan.
    pub models: HashMap<String, Arc<dyn ModelBackend>>,
    pub sandbox: Sandbox,
    pub cache: Option<CallCache>,
    /// Bounds the node executions in flight, across all inputs (`--jobs`).
    pub permits: Arc<Semaphore>,
}

struct NodeResult {
    name: String,
    value: Result<Value, String>,
    trace: NodeTrace,
}

impl WorkflowExecutor {
    pub async fn run(self: &Arc<Self>, inputs: Map<String, Value>) -> RunTrace {
        let started = Instant::now();
        let mut trace = RunTrace { workflow: self.workflow.name.clone(), inputs: inputs.clone(), ..Default::default() };
        let mut environment: Environment = BTreeMap::new();
        for port in &self.workflow.inputs {
            match inputs.get(&port.name) {
                Some(value) => {
                    environment.insert(port.name.clone(), value.clone());
                }
                None => {
                    trace.error = Some(format!("the input `{}` is missing", port.name));
                    trace.milliseconds = elapsed_ms(started);
                    return trace;
                }
            }
        }
        let node_names: HashSet<&str> = self.workflow.nodes.iter().map(|node| node.name.as_str()).collect();
        let mut started_nodes: HashSet<String> = HashSet::new();
        let mut finished: HashSet<String> = HashSet::new();
        let mut node_traces: HashMap<String, NodeTrace> = HashMap::new();
        let mut running: JoinSet<NodeResult> = JoinSet::new();
        loop {
            for node in &self.workflow.nodes {
                let ready = !started_nodes.contains(&node.name)
                    && node.reads.iter().all(|read| !node_names.contains(read.as_str()) || finished.contains(read));
                if ready {
                    started_nodes.insert(node.name.clone());
                    let executor = Arc::clone(self);
                    let node = node.clone();
                    let environment = environment.clone();
                    running.spawn(async move { executor.run_node(node, environment).await });
                }
            }
            let Some(joined) = running.join_next().await else { break };
            let result = match joined {
                Ok(result) => result,
                Err(error) => {
                    trace.error = Some(format!("a node task failed: {error}"));
                    break;
                }
            };
            node_traces.insert(result.name.clone(), result.trace);
            match result.value {
                Ok(value) => {
                    environment.insert(result.name.clone(), value);
                    finished.insert(result.name);
                }
                Err(message) => {
                    trace.error = Some(format!("node `{}`: {message}", result.name));
                    running.abort_all();
                    break;
                }
            }
        }
        trace.nodes = self.workflow.order.iter().filter_map(|name| node_traces.remove(name)).collect();
        if trace.error.is_none() {
            let mut outputs = Map::new();
            for output in &self.workflow.outputs {
                match read_path(&environment, &output.from) {
                    Ok(value) => {
                        outputs.insert(output.name.clone(), value);
                    }
                    Err(message) => {
                        trace.error = Some(format!("output `{}`: {message}", output.name));
                        break;
                    }
                }
            }
            if trace.error.is_none() {
                trace.outputs = Some(outputs);
            }
        }
        trace.milliseconds = elapsed_ms(started);
        trace
    }

    /// Runs one node on the values it reads, outside any workflow run: how the
    /// optimiser tries a candidate artefact on a node's training inputs.
    pub async fn run_node_alone(self: &Arc<Self>, node: LockedNode, environment: Environment) -> (Result<Value, String>, NodeTrace) {
        let result = Arc::clone(self).run_node(node, environment).await;
        (result.value, result.trace)
    }

    async fn run_node(self: Arc<Self>, node: LockedNode, environment: Environment) -> NodeResult {
        let _permit = self.permits.acquire().await.expect("the semaphore is never closed");
        let started = Instant::now();
        let mut trace = NodeTrace { node: node.name.clone(), kind: node.kind.to_string(), ..Default::default() };
        for read in &node.reads {
            if let Some(value) = environment.get(read) {
                trace.inputs.insert(read.clone(), value.clone());
            }
        }
        let schema: Option<Value> = match node.output_schema.as_deref().map(serde_json::from_str) {
            Some(Ok(schema)) => Some(schema),
            Some(Err(error)) => {
                return self.finish(node, trace, started, Err(format!("the plan's output schema is not JSON: {error}")));
            }
            None => None,
        };
        let value = match node.kind.as_str() {
            "code" => self.run_code(&node, &environment, schema.as_ref()).await,
            "llm" => self.run_llm(&node, &environment, schema.as_ref(), &mut trace).await,
            "consensus" => self.run_consensus(&node, &environment, schema.as_ref(), &mut trace).await,
            "likelihood_choice" => self.run_likelihood_choice(&node, &environment, schema.as_ref(), &mut trace).await,
            other => Err(format!("the plan has a node of unknown kind `{other}`")),
        };
        self.finish(node, trace, started, value)
    }

    fn finish(&self, node: LockedNode, mut trace: NodeTrace, started: Instant, value: Result<Value, String>) -> NodeResult {
        match &value {
            Ok(output) => trace.output = Some(output.clone()),
            Err(message) => trace.error = Some(message.clone()),
        }
        trace.milliseconds = elapsed_ms(started);
        NodeResult { name: node.name, value, trace }
    }

    async fn run_code(&self, node: &LockedNode, environment: &Environment, schema: Option<&Value>) -> Result<Value, String> {
        let code = node.code.as_deref().ok_or("the plan's code node has no code")?;
        let mut arguments = Map::new();
        for (argument, path) in &node.code_inputs {
            arguments.insert(argument.clone(), read_path(environment, path)?);
        }
        let value = self.sandbox.call(code, "run", arguments).await.map_err(|error| error.to_string())?;
        conform_value(value, schema)
    }

    fn messages(&self, node: &LockedNode, environment: &Environment) -> Result<Vec<ChatMessage>, String> {
        let mut messages = Vec::new();
        if let Some(system) = &node.system {
            messages.push(ChatMessage { role: Role::System, content: render_template(system, environment)? });
        }
        let prompt = node.prompt.as_deref().ok_or("the plan's llm node has no prompt")?;
        messages.push(ChatMessage { role: Role::User, content: render_template(prompt, environment)? });
        Ok(messages)
    }

    fn backend(&self, node: &LockedNode) -> Result<Arc<dyn ModelBackend>, String> {
        let name = node.model.as_deref().ok_or("the plan's node names no model")?;
        self.models.get(name).cloned().ok_or_else(|| format!("the model `{name}` is not loaded"))
    }

    async fn call(&self, backend: &Arc<dyn ModelBackend>, request: ChatRequest) -> Result<(ChatResponse, bool, f64), String> {
        let started = Instant::now();
        let key = self.cache.as_ref().map(|_| CallCache::key(&backend.identity(), &request));
        if let (Some(cache), Some(key)) = (&self.cache, &key) {
            if let Some(response) = cache.get(key) {
                return Ok((response, true, elapsed_ms(started)));
            }
        }
        let response = backend.chat(&request).await.map_err(|error| error.to_string())?;
        if let (Some(cache), Some(key)) = (&self.cache, &key) {
            // A cache that cannot be written costs speed, not correctness.
            if let Err(error) = cache.put(key, &response) {
                eprintln!("warning: could not write the call cache in {}: {error}", cache.directory().display());
            }
        }
        Ok((response, false, elapsed_ms(started)))
    }

    async fn score(&self, backend: &Arc<dyn ModelBackend>, request: &ScoreRequest) -> Result<(ScoreResponse, bool, f64), String> {
        let started = Instant::now();
        let key = self.cache.as_ref().map(|_| CallCache::score_key(&backend.identity(), request));
        if let (Some(cache), Some(key)) = (&self.cache, &key) {
            if let Some(response) = cache.get_score(key) {
                return Ok((response, true, elapsed_ms(started)));
            }
        }
        let response = backend.score(request).await.map_err(|error| error.to_string())?;
        if let (Some(cache), Some(key)) = (&self.cache, &key) {
            if let Err(error) = cache.put_score(key, &response) {
                eprintln!("warning: could not write the call cache in {}: {error}", cache.directory().display());
            }
        }
        Ok((response, false, elapsed_ms(started)))
    }

    /// Every class's prompt scores the same text, all at once (an in-process model
    /// batches them, and reads each class's prompt from its prefix cache after the
    /// first input); the most likely class wins, ties to the one listed first.
    async fn run_likelihood_choice(&self, node: &LockedNode, environment: &Environment, schema: Option<&Value>, trace: &mut NodeTrace) -> Result<Value, String> {
        let choice = node.likelihood.as_ref().ok_or("the plan's likelihood_choice node has no classes")?;
        if choice.classes.is_empty() {
            return Err("the plan's likelihood_choice node has no classes".to_string());
        }
        let backend = self.backend(node)?;
        let reply = render_template(&choice.reply, environment)?;
        let mut requests = Vec::new();
        for class in &choice.classes {
            let messages = vec![
                ChatMessage { role: Role::System, content: class.system.clone() },
                ChatMessage { role: Role::User, content: class.prompt.clone() },
            ];
            requests.push(ScoreRequest { messages, reply: reply.clone() });
        }
        let responses = futures::future::join_all(requests.iter().map(|request| self.score(&backend, request))).await;
        let table_scores = choice.word_table.as_ref().and_then(|table| table.class_scores(&reply));
        let mut likelihoods = Map::new();
        let mut best: Option<(&str, f64)> = None;
        for ((class, request), response) in choice.classes.iter().zip(requests).zip(responses) {
            let (response, cached, milliseconds) = response?;
            trace.calls.push(CallTrace {
                messages: request.messages,
                seed: None,
                raw_output: request.reply,
                parsed_output: Some(serde_json::json!({ "class": class.class, "log_probability": response.log_probability })),
                parse_error: None,
                prompt_tokens: response.prompt_tokens,
                completion_tokens: response.reply_tokens,
                cached,
                milliseconds,
            });
            likelihoods.insert(class.class.clone(), serde_json::json!(response.log_probability));
            let table_score = table_scores.as_ref().map_or(0.0, |scores| scores.get(&class.class).copied().unwrap_or(f64::NEG_INFINITY));
            let total = response.log_probability + table_score;
            if best.is_none_or(|(_, score)| total > score) {
                best = Some((&class.class, total));
            }
        }
        trace.likelihoods = Some(serde_json::json!({ "student": likelihoods, "word_table": table_scores }));
        let (winner, _) = best.expect("at least one class");
        conform_value(Value::String(winner.to_string()), schema)
    }

    async fn run_llm(&self, node: &LockedNode, environment: &Environment, schema: Option<&Value>, trace: &mut NodeTrace) -> Result<Value, String> {
        let backend = self.backend(node)?;
        let messages = self.messages(node, environment)?;
        let decoding = decoding_parameters(node.decoding.as_ref());
        let seed = decoding.seed;
        let request = ChatRequest { messages: messages.clone(), decoding, constraint: constraint(schema) };
        let (response, cached, milliseconds) = self.call(&backend, request).await?;
        let parsed = parse_output(&response.text, schema);
        trace.calls.push(call_trace(messages, seed, &response, &parsed, cached, milliseconds));
        parsed
    }

    async fn run_consensus(&self, node: &LockedNode, environment: &Environment, schema: Option<&Value>, trace: &mut NodeTrace) -> Result<Value, String> {
        let consensus = node.consensus.as_ref().ok_or("the plan's consensus node has no consensus settings")?;
        let backend = self.backend(node)?;
        let messages = self.messages(node, environment)?;
        let sample_request = |index: u32| {
            let mut decoding = decoding_parameters(node.decoding.as_ref());
            decoding.seed = Some(consensus.first_seed + u64::from(index));
            decoding.temperature = Some(consensus.temperature);
            ChatRequest { messages: messages.clone(), decoding, constraint: constraint(schema) }
        };
        // The first sample reads the prompt; the others then run together, so an
        // in-process model serves them the prompt from its prefix cache and generates
        // them as one batch. A sample's bytes depend only on its request, so this
        // order gives the same samples as one at a time.
        let mut responses = Vec::new();
        if consensus.samples > 0 {
            responses.push(Ok(self.call(&backend, sample_request(0)).await?));
        }
        responses.extend(futures::future::join_all((1..consensus.samples).map(|index| self.call(&backend, sample_request(index)))).await);
        let mut samples = Vec::new();
        for (index, response) in (0..consensus.samples).zip(responses) {
            let seed = consensus.first_seed + u64::from(index);
            let (response, cached, milliseconds) = response?;
            let parsed = parse_output(&response.text, schema);
            if let Ok(value) = &parsed {
                samples.push(value.clone());
            }
            trace.calls.push(call_trace(messages.clone(), Some(seed), &response, &parsed, cached, milliseconds));
        }
        let outcome = match consensus.vote.as_str() {
            "median" => median(&samples),
            _ => majority(&samples),
        }
        .ok_or_else(|| format!("none of the {} samples could be read as the declared type", consensus.samples))?;
        trace.votes = Some(serde_json::json!({ "rule": consensus.vote, "tally": outcome.tally, "valid_samples": samples.len() }));
        Ok(outcome.winner)
    }
}

fn call_trace(messages: Vec<ChatMessage>, seed: Option<u64>, response: &ChatResponse, parsed: &Result<Value, String>, cached: bool, milliseconds: f64) -> CallTrace {
    CallTrace {
        messages,
        seed,
        raw_output: response.text.clone(),
        parsed_output: parsed.as_ref().ok().cloned(),
        parse_error: parsed.as_ref().err().cloned(),
        prompt_tokens: response.prompt_tokens,
        completion_tokens: response.completion_tokens,
        cached,
        milliseconds,
    }
}

pub fn decoding_parameters(locked: Option<&LockedDecoding>) -> DecodingParameters {
    let locked = locked.cloned().unwrap_or_default();
    DecodingParameters {
        temperature: locked.temperature,
        seed: locked.seed,
        max_tokens: locked.max_tokens,
        top_p: locked.top_p,
        top_k: locked.top_k,
        repeat_penalty: locked.repeat_penalty,
    }
}

fn constraint(schema: Option<&Value>) -> OutputConstraint {
    match schema {
        Some(schema) => OutputConstraint::JsonSchema { schema: schema.clone() },
        None => OutputConstraint::None,
    }
}

fn elapsed_ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}
