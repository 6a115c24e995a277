//! GGUF models in process, with mistralrs: the embedded default backend.
//!
//! What this backend guarantees, and why (measured on this kind of machine):
//! - No network at load: mistralrs treats a missing local folder as a model-hub id
//!   and contacts the hub, so the file is checked to exist first, and the tokenizer
//!   and chat template come from the GGUF itself (`TokenSource::None`).
//! - Determinism: greedy decoding at temperature 0; above it, seeded sampling that
//!   depends only on the request (see `seeded_sampling`).
//! - Concurrent requests to one model run in mistralrs's scheduler, batched (see
//!   `patches/README.md` for the two dependency fixes this needs: decode attention that
//!   mixed the sequences of a batch, and a quantised matmul that re-read the weights
//!   once per row). A request's bytes do not depend on what else is in its batch:
//!   every kernel computes a token's row on its own (`tests/student_batching.rs`).
//! - Prefill is shared: the prefix cache serves a prompt's KV cache to the next request
//!   with the same prefix (a shared system prompt, or the same prompt again: the other
//!   samples of a consensus node), bit for bit the same as computing it.
//! - Throughput (measured, see ARCHITECTURE.md): F32 activations and Q4_1 weights
//!   re-quantised to Q8_0 at load; both change the text, so both are named in the
//!   identity ([`NUMERICS`]).
//! - Constrained decoding (JSON schema) stops: the grammar ends with the model's
//!   end-of-text token, which mistralrs does not stop on for every model, so the
//!   GGUF's end tokens are passed as stop tokens explicitly.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use mistralrs::{Constraint, RequestBuilder, StopTokens, TextMessageRole, TokenSource};

use super::gguf_metadata::{read_gguf_metadata, GgufMetadata};
use super::seeded_sampling::SeededSampling;
use super::{ChatMessage, ChatRequest, ChatResponse, ModelBackend, ModelError, ModelIdentity, OutputConstraint, Role, ScoreRequest, ScoreResponse};

/// Generation is bounded even when the plan sets no `max_tokens`.
const DEFAULT_MAX_TOKENS: usize = 512;

/// How this backend computes, pinned in the model's identity (and so in every call
/// cache key): another dtype or quantisation writes other text (see `load_pipeline`).
/// The second form is for files with Q4_1 tensors, re-quantised to Q8_0 at load.
/// `attention-rows`: decode steps compute attention in one pass per row, as prefill
/// does (the patched kernel, `patches/README.md`), which rounds differently from the
/// tiled kernel of earlier builds; their cache entries do not mix with these.
pub const NUMERICS: [&str; 2] = ["f32+attention-rows", "f32+q4_1-as-q8_0+attention-rows"];

/// The most sequences mistralrs runs at once (prompts and generation): enough for the
/// executor's `--jobs` and a consensus node's samples in flight together. Batching
/// never changes a sequence's bytes, so this is a speed setting only.
const MAX_RUNNING_SEQUENCES: usize = 16;

/// Numbers the scratch folders of loads running at the same time in one process.
static SCRATCH: AtomicUsize = AtomicUsize::new(0);

pub struct MistralRsBackend {
    model: mistralrs::Model,
    identity: ModelIdentity,
    metadata: GgufMetadata,
}

impl MistralRsBackend {
    /// Load `path`, whose sha256 the caller has computed (it is part of the identity).
    pub async fn load(path: &Path, file_sha256: String) -> Result<MistralRsBackend, ModelError> {
        if !path.is_file() {
            return Err(ModelError::Load(format!("{} does not exist (flowc never downloads models at run time)", path.display())));
        }
        let metadata = read_gguf_metadata(path).map_err(ModelError::Load)?;
        let folder: PathBuf = path.parent().filter(|parent| !parent.as_os_str().is_empty()).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
        let folder = std::fs::canonicalize(&folder).map_err(|error| ModelError::Load(format!("{}: {error}", folder.display())))?;
        let file_name = path.file_name().and_then(|name| name.to_str()).ok_or_else(|| ModelError::Load(format!("{} has no file name", path.display())))?;
        // mistralrs refuses in-situ quantisation of GGUF models, so the re-quantised
        // copy is a file, in a folder of its own (the loader takes a folder and a name),
        // removed once loaded.
        let scratch = std::env::temp_dir().join(format!("flowc-requantised-{}-{}", std::process::id(), SCRATCH.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&scratch).map_err(|error| ModelError::Load(format!("{}: {error}", scratch.display())))?;
        let loaded = async {
            let converted = super::gguf_requantize::q4_1_to_q8_0(path, &scratch.join(file_name))?;
            let load_folder = if converted > 0 { &scratch } else { &folder };
            // quantized llama (mistralrs's model for `llama` GGUF files) masks a decode
            // batch of different lengths (the patched mistralrs-core); other
            // architectures batch only sequences of one length.
            let across_lengths = metadata.architecture.as_deref() == Some("llama");
            Ok::<_, String>((load_pipeline(load_folder.to_string_lossy().into_owned(), file_name.to_string(), across_lengths).await?, converted > 0))
        }
        .await;
        let _ = std::fs::remove_dir_all(&scratch);
        let (model, requantised) = loaded.map_err(|error| ModelError::Load(format!("{}: {error}", path.display())))?;
        let backend = format!("gguf/{}", NUMERICS[usize::from(requantised)]);
        let identity = ModelIdentity { backend, model: file_name.to_string(), file_sha256: Some(file_sha256), endpoint: None };
        Ok(MistralRsBackend { model, identity, metadata })
    }

    pub fn metadata(&self) -> &GgufMetadata {
        &self.metadata
    }
}

/// Every sequence generating at a time shares one decode step whatever its length
/// when `decode_across_lengths` (the model masks the left-padded batch); otherwise
/// mistralrs batches only sequences of one length, letting shorter ones catch up.
/// What [`NUMERICS`] names: F32 activations (the `Auto` dtype is F16 on CPUs, which
/// converts to and from F32 around every quantised matmul) and Q4_1 weights re-quantised
/// to Q8_0 (candle has a vectorised kernel for Q8_0, none for Q4_1). The prefix cache
/// serves the KV of a shared system prompt to the next input, and of the same prompt
/// to the next sample (16 sequences, as mistralrs's default); a hit gives the same
/// text as a cold start (`tests/student_batching.rs`).
async fn load_pipeline(folder: String, file: String, decode_across_lengths: bool) -> Result<mistralrs::Model, String> {
    use mistralrs::core::{AddModelConfig, EngineConfig, GGUFLoaderBuilder, GGUFSpecificConfig};
    use mistralrs::{AutoDeviceMapParams, DefaultSchedulerMethod, DeviceMapSetting, ModelDType, SchedulerConfig};
    let loader = GGUFLoaderBuilder::new(None, None, folder, vec![file], GGUFSpecificConfig { topology: None }, false, None).build();
    let silent = true;
    let pipeline = loader
        .load_model_from_hf(None, TokenSource::None, &ModelDType::F32, &mistralrs::Device::Cpu, silent, DeviceMapSetting::Auto(AutoDeviceMapParams::default_text()), None, None)
        .map_err(|error| error.to_string())?;
    let most = MAX_RUNNING_SEQUENCES.try_into().expect("not 0");
    let method = if decode_across_lengths { DefaultSchedulerMethod::FixedAcrossLengths(most) } else { DefaultSchedulerMethod::Fixed(most) };
    let scheduler = SchedulerConfig::DefaultScheduler { method };
    let engine = EngineConfig { no_prefix_cache: false, prefix_cache_n: 16, throughput_logging_enabled: false, ..Default::default() };
    Ok(mistralrs::model_builder_trait::build_model_from_pipeline(pipeline, scheduler, AddModelConfig::new(engine)).await)
}

fn request_builder(messages: &[ChatMessage]) -> RequestBuilder {
    let mut builder = RequestBuilder::new();
    for message in messages {
        let role = match message.role {
            Role::System => TextMessageRole::System,
            Role::User => TextMessageRole::User,
            Role::Assistant => TextMessageRole::Assistant,
        };
        builder = builder.add_message(role, &message.content);
    }
    builder
}

/// A reply read as the model's own tokens: at each step the logits processor notes
/// the log-probability the model gave the reply's next token and then leaves only
/// that token possible, so the greedy engine writes exactly the reply. A step whose
/// context does not end with the reply so far (the engine ran the processor more or
/// fewer times than it wrote tokens) is an error, never a wrong score.
struct ForcedReply {
    tokens: Vec<u32>,
    log_probabilities: Vec<f64>,
    out_of_step: bool,
}

impl ForcedReply {
    fn step(&mut self, logits: &[f32], context: &[u32]) -> Vec<f32> {
        let step = self.log_probabilities.len();
        let mut forced = vec![f32::NEG_INFINITY; logits.len()];
        let Some(&target) = self.tokens.get(step) else {
            self.out_of_step = true;
            return forced;
        };
        if !context.ends_with(&self.tokens[..step]) {
            self.out_of_step = true;
        }
        self.log_probabilities.push(log_softmax_at(logits, target as usize));
        if let Some(slot) = forced.get_mut(target as usize) {
            *slot = 0.0;
        }
        forced
    }
}

/// `log softmax(logits)[index]`, in f64 (a token outside the vocabulary is impossible).
fn log_softmax_at(logits: &[f32], index: usize) -> f64 {
    let Some(&chosen) = logits.get(index) else { return f64::NEG_INFINITY };
    let maximum = logits.iter().copied().filter(|logit| logit.is_finite()).fold(f32::NEG_INFINITY, f32::max);
    let total: f64 = logits.iter().filter(|logit| logit.is_finite()).map(|logit| f64::from(logit - maximum).exp()).sum();
    f64::from(chosen - maximum) - total.ln()
}

#[async_trait]
impl ModelBackend for MistralRsBackend {
    fn identity(&self) -> ModelIdentity {
        self.identity.clone()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let mut builder = request_builder(&request.messages);
        let decoding = &request.decoding;
        builder = builder
            .set_sampler_temperature(0.0)
            .set_sampler_max_len(decoding.max_tokens.map(|tokens| tokens as usize).unwrap_or(DEFAULT_MAX_TOKENS));
        if let Some(penalty) = decoding.repeat_penalty {
            builder = builder.set_sampler_frequency_penalty((penalty - 1.0) as f32);
        }
        let temperature = decoding.temperature.unwrap_or(0.0);
        if temperature > 0.0 {
            let sampling = SeededSampling { seed: decoding.seed.unwrap_or(0), temperature, top_k: decoding.top_k, top_p: decoding.top_p };
            let processor = move |logits: &mistralrs::Tensor, context: &[u32]| -> mistralrs::Result<mistralrs::Tensor> {
                let values: Vec<f32> = logits.to_dtype(mistralrs::DType::F32)?.to_vec1()?;
                let forced = sampling.force(&values, context);
                mistralrs::Tensor::from_vec(forced, values.len(), logits.device())?.to_dtype(logits.dtype())
            };
            builder = builder.add_logits_processor(Arc::new(processor));
        }
        match &request.constraint {
            OutputConstraint::None => {}
            OutputConstraint::JsonSchema { schema } => builder = builder.set_constraint(Constraint::JsonSchema(schema.clone())),
            OutputConstraint::Regex { pattern } => builder = builder.set_constraint(Constraint::Regex(pattern.clone())),
        }
        if !matches!(request.constraint, OutputConstraint::None) && !self.metadata.end_token_ids.is_empty() {
            builder = builder.set_sampler_stop_toks(StopTokens::Ids(self.metadata.end_token_ids.clone()));
        }
        let response = self.model.send_chat_request(builder).await.map_err(|error| ModelError::BadResponse(error.to_string()))?;
        let text = response.choices.first().and_then(|choice| choice.message.content.clone()).unwrap_or_default();
        let usage = &response.usage;
        Ok(ChatResponse {
            text,
            prompt_tokens: usage.prompt_tokens as u32,
            completion_tokens: usage.completion_tokens as u32,
            prompt_seconds: Some(f64::from(usage.total_prompt_time_sec)),
            generation_seconds: Some(f64::from(usage.total_completion_time_sec)),
        })
    }
    /// Scores by forcing the reply token by token (`ForcedReply`): every step is a
    /// decode step of the engine, so concurrent scores batch as generation does and a
    /// score's bytes do not depend on its batch (`tests/student_reply_scoring.rs`). The
    /// prompt is read through the prefix cache like any chat request, so the classes'
    /// prompts of a `likelihood_choice` node are read once per class, not per input.
    async fn score(&self, request: &ScoreRequest) -> Result<ScoreResponse, ModelError> {
        let tokens = self
            .model
            .tokenize(either::Either::Right(request.reply.clone()), None, false, false, None)
            .await
            .map_err(|error| ModelError::BadResponse(format!("could not tokenize the reply to score: {error}")))?;
        if tokens.is_empty() {
            return Ok(ScoreResponse::default());
        }
        let forced = Arc::new(std::sync::Mutex::new(ForcedReply { tokens: tokens.clone(), log_probabilities: Vec::new(), out_of_step: false }));
        let recorder = Arc::clone(&forced);
        let processor = move |logits: &mistralrs::Tensor, context: &[u32]| -> mistralrs::Result<mistralrs::Tensor> {
            let values: Vec<f32> = logits.to_dtype(mistralrs::DType::F32)?.to_vec1()?;
            let only = recorder.lock().expect("a scoring step never panics while holding the lock").step(&values, context);
            mistralrs::Tensor::from_vec(only, values.len(), logits.device())?.to_dtype(logits.dtype())
        };
        let builder = request_builder(&request.messages).set_sampler_temperature(0.0).set_sampler_max_len(tokens.len()).add_logits_processor(Arc::new(processor));
        let response = self.model.send_chat_request(builder).await.map_err(|error| ModelError::BadResponse(error.to_string()))?;
        let forced = forced.lock().expect("the request has finished");
        if forced.out_of_step || forced.log_probabilities.len() != tokens.len() {
            return Err(ModelError::BadResponse(format!(
                "scoring a reply of {} tokens went out of step with the engine ({} steps seen)",
                tokens.len(),
                forced.log_probabilities.len()
            )));
        }
        let total: f64 = forced.log_probabilities.iter().sum();
        Ok(ScoreResponse {
            log_probability: (total * 1e6).round() / 1e6,
            prompt_tokens: response.usage.prompt_tokens as u32,
            reply_tokens: tokens.len() as u32,
        })
    }
}
