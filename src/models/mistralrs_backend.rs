//! GGUF models in process, with mistralrs: the embedded default backend.
//!
//! What this backend guarantees, and why (measured on this kind of machine):
//! - No network at load: mistralrs treats a missing local folder as a model-hub id
//!   and contacts the hub, so the file is checked to exist first, and the tokenizer
//!   and chat template come from the GGUF itself (`TokenSource::None`).
//! - Determinism: greedy decoding at temperature 0; above it, seeded sampling that
//!   depends only on the request (see `seeded_sampling`).
//! - Requests to one model are serialised: concurrent requests to one mistralrs model
//!   were seen to corrupt each other's output, and gave no throughput gain.
//! - Throughput (measured, see ARCHITECTURE.md): F32 activations and Q4_1 weights
//!   re-quantised to Q8_0 at load; both change the text, so both are named in the
//!   identity ([`NUMERICS`]).
//! - Constrained decoding (JSON schema) stops: the grammar ends with the model's
//!   end-of-text token, which mistralrs does not stop on for every model, so the
//!   GGUF's end tokens are passed as stop tokens explicitly.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use mistralrs::{Constraint, RequestBuilder, StopTokens, TextMessageRole, TokenSource};
use tokio::sync::Mutex;

use super::gguf_metadata::{read_gguf_metadata, GgufMetadata};
use super::seeded_sampling::SeededSampling;
use super::{ChatRequest, ChatResponse, ModelBackend, ModelError, ModelIdentity, OutputConstraint, Role};

/// Generation is bounded even when the plan sets no `max_tokens`.
const DEFAULT_MAX_TOKENS: usize = 512;

/// How this backend computes, pinned in the model's identity (and so in every call
/// cache key): another dtype or quantisation writes other text (see `load_pipeline`).
/// The second form is for files with Q4_1 tensors, re-quantised to Q8_0 at load.
pub const NUMERICS: [&str; 2] = ["f32", "f32+q4_1-as-q8_0"];

/// Numbers the scratch folders of loads running at the same time in one process.
static SCRATCH: AtomicUsize = AtomicUsize::new(0);

pub struct MistralRsBackend {
    model: Mutex<mistralrs::Model>,
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
            let converted = requantize::q4_1_to_q8_0(path, &scratch.join(file_name))?;
            let load_folder = if converted > 0 { &scratch } else { &folder };
            Ok::<_, String>((load_pipeline(load_folder.to_string_lossy().into_owned(), file_name.to_string()).await?, converted > 0))
        }
        .await;
        let _ = std::fs::remove_dir_all(&scratch);
        let (model, requantised) = loaded.map_err(|error| ModelError::Load(format!("{}: {error}", path.display())))?;
        let backend = format!("gguf/{}", NUMERICS[usize::from(requantised)]);
        let identity = ModelIdentity { backend, model: file_name.to_string(), file_sha256: Some(file_sha256), endpoint: None };
        Ok(MistralRsBackend { model: Mutex::new(model), identity, metadata })
    }

    pub fn metadata(&self) -> &GgufMetadata {
        &self.metadata
    }
}

/// What [`NUMERICS`] names: F32 activations (the `Auto` dtype is F16 on CPUs, which
/// converts to and from F32 around every quantised matmul) and Q4_1 weights re-quantised
/// to Q8_0 (candle has a vectorised kernel for Q8_0, none for Q4_1). The prefix cache
/// serves the KV of a shared system prompt to the next input (16 sequences, as
/// mistralrs's default); a hit gives the same text as a cold start (checked by
/// `benches/student_throughput.rs`).
async fn load_pipeline(folder: String, file: String) -> Result<mistralrs::Model, String> {
    use mistralrs::core::{AddModelConfig, EngineConfig, GGUFLoaderBuilder, GGUFSpecificConfig};
    use mistralrs::{AutoDeviceMapParams, DefaultSchedulerMethod, DeviceMapSetting, ModelDType, SchedulerConfig};
    let loader = GGUFLoaderBuilder::new(None, None, folder, vec![file], GGUFSpecificConfig { topology: None }, false, None).build();
    let silent = true;
    let pipeline = loader
        .load_model_from_hf(None, TokenSource::None, &ModelDType::F32, &mistralrs::Device::Cpu, silent, DeviceMapSetting::Auto(AutoDeviceMapParams::default_text()), None, None)
        .map_err(|error| error.to_string())?;
    let scheduler = SchedulerConfig::DefaultScheduler { method: DefaultSchedulerMethod::Fixed(1.try_into().expect("1 is not 0")) };
    let engine = EngineConfig { no_prefix_cache: false, prefix_cache_n: 16, throughput_logging_enabled: false, ..Default::default() };
    Ok(mistralrs::model_builder_trait::build_model_from_pipeline(pipeline, scheduler, AddModelConfig::new(engine)).await)
}

#[async_trait]
impl ModelBackend for MistralRsBackend {
    fn identity(&self) -> ModelIdentity {
        self.identity.clone()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let mut builder = RequestBuilder::new();
        for message in &request.messages {
            let role = match message.role {
                Role::System => TextMessageRole::System,
                Role::User => TextMessageRole::User,
                Role::Assistant => TextMessageRole::Assistant,
            };
            builder = builder.add_message(role, &message.content);
        }
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
        let started = Instant::now();
        let model = self.model.lock().await;
        let response = model.send_chat_request(builder).await.map_err(|error| ModelError::BadResponse(error.to_string()))?;
        drop(model);
        let text = response.choices.first().and_then(|choice| choice.message.content.clone()).unwrap_or_default();
        let usage = &response.usage;
        let _ = started;
        Ok(ChatResponse {
            text,
            prompt_tokens: usage.prompt_tokens as u32,
            completion_tokens: usage.completion_tokens as u32,
            prompt_seconds: Some(f64::from(usage.total_prompt_time_sec)),
            generation_seconds: Some(f64::from(usage.total_completion_time_sec)),
        })
    }
}

/// Re-quantisation at load: a copy of a GGUF file whose Q4_1 tensors are rewritten as
/// Q8_0, for candle (under mistralrs) has a vectorised kernel for Q8_0 and none for
/// Q4_1. mistralrs refuses in-situ quantisation of GGUF models, so this is done on the
/// file. The quantisation is ggml's reference Q8_0 (one f16 scale per 32 values, round
/// half away from zero); everything else in the file is copied unchanged.
mod requantize {
    use std::io::Read;
    use std::path::Path;

    const HEADER_READ: u64 = 32 << 20;
    const TRUNCATED: &str = "truncated GGUF file";
    const Q4_1: u32 = 3;
    const Q8_0: u32 = 8;
    const BLOCK: usize = 32;

    /// Elements and bytes per block of each ggml tensor type this reader knows.
    fn block_layout(ggml_type: u32) -> Option<(usize, usize)> {
        Some(match ggml_type {
            0 => (1, 4),
            1 | 30 => (1, 2),
            2 => (32, 18),
            3 => (32, 20),
            6 => (32, 22),
            7 => (32, 24),
            8 => (32, 34),
            9 => (32, 36),
            10 => (256, 84),
            11 => (256, 110),
            12 => (256, 144),
            13 => (256, 176),
            14 => (256, 210),
            15 => (256, 292),
            _ => return None,
        })
    }

    /// Writes into `target` the file `source` with every Q4_1 tensor re-quantised to
    /// Q8_0 and returns how many tensors were. `Ok(0)` writes nothing (and reads the
    /// header only, when it fits in `HEADER_READ`): the file has no Q4_1 tensor, or one of a type this reader
    /// does not know, or a header it cannot read (mistralrs then loads the file as it
    /// is, and says what is wrong with it).
    pub fn q4_1_to_q8_0(source: &Path, target: &Path) -> Result<usize, String> {
        let read_error = |error: std::io::Error| format!("cannot read {}: {error}", source.display());
        let mut file = std::fs::File::open(source).map_err(read_error)?;
        let file_length = file.metadata().map_err(read_error)?.len() as usize;
        // The header (metadata, vocabulary, tensor descriptions) is a few MiB at most.
        let mut data = Vec::new();
        (&mut file).take(HEADER_READ).read_to_end(&mut data).map_err(read_error)?;
        let layout = match parse(&data, file_length) {
            Err(error) if error == TRUNCATED && data.len() < file_length => {
                file.read_to_end(&mut data).map_err(read_error)?;
                parse(&data, file_length)
            }
            parsed => parsed,
        };
        let Ok(layout) = layout else { return Ok(0) };
        let converted = layout.tensors.iter().filter(|tensor| tensor.ggml_type == Q4_1).count();
        if converted == 0 {
            return Ok(0);
        }
        file.read_to_end(&mut data).map_err(read_error)?;
        if data.len() != file_length {
            return Err(format!("{} changed while it was read", source.display()));
        }
        let mut header = data[..layout.metadata_end].to_vec();
        let mut payload: Vec<u8> = Vec::with_capacity(data.len() * 2);
        for tensor in &layout.tensors {
            let bytes = &data[layout.data_start + tensor.offset..][..tensor.size];
            let new_type = if tensor.ggml_type == Q4_1 { Q8_0 } else { tensor.ggml_type };
            header.extend_from_slice(&(tensor.name.len() as u64).to_le_bytes());
            header.extend_from_slice(tensor.name.as_bytes());
            header.extend_from_slice(&(tensor.dims.len() as u32).to_le_bytes());
            for dim in &tensor.dims {
                header.extend_from_slice(&dim.to_le_bytes());
            }
            header.extend_from_slice(&new_type.to_le_bytes());
            header.extend_from_slice(&(payload.len() as u64).to_le_bytes());
            if tensor.ggml_type == Q4_1 {
                for block in bytes.chunks_exact(20) {
                    push_q8_0(&dequantize_q4_1(block), &mut payload);
                }
            } else {
                payload.extend_from_slice(bytes);
            }
            payload.resize(payload.len().next_multiple_of(layout.alignment), 0);
        }
        header.resize(header.len().next_multiple_of(layout.alignment), 0);
        header.extend_from_slice(&payload);
        std::fs::write(target, header).map_err(|error| format!("cannot write {}: {error}", target.display()))?;
        Ok(converted)
    }

    fn dequantize_q4_1(block: &[u8]) -> [f32; BLOCK] {
        let scale = f16_to_f32(u16::from_le_bytes([block[0], block[1]]));
        let minimum = f16_to_f32(u16::from_le_bytes([block[2], block[3]]));
        let mut values = [0f32; BLOCK];
        for (index, byte) in block[4..20].iter().enumerate() {
            values[index] = f32::from(byte & 0x0f) * scale + minimum;
            values[index + BLOCK / 2] = f32::from(byte >> 4) * scale + minimum;
        }
        values
    }

    /// ggml's reference Q8_0 quantisation: one f16 scale, 32 signed bytes.
    fn push_q8_0(values: &[f32; BLOCK], out: &mut Vec<u8>) {
        let largest = values.iter().fold(0f32, |largest, value| largest.max(value.abs()));
        let scale = largest / 127.0;
        let inverse = if scale != 0.0 { 1.0 / scale } else { 0.0 };
        out.extend_from_slice(&f32_to_f16(scale).to_le_bytes());
        out.extend(values.iter().map(|value| (value * inverse).round() as i8 as u8));
    }

    struct Tensor {
        name: String,
        dims: Vec<u64>,
        ggml_type: u32,
        offset: usize,
        size: usize,
    }

    struct Layout {
        /// Where the tensor descriptions begin (the header and metadata come before).
        metadata_end: usize,
        tensors: Vec<Tensor>,
        alignment: usize,
        data_start: usize,
    }

    /// Reads the header in `data`, the beginning of a file of `file_length` bytes.
    fn parse(data: &[u8], file_length: usize) -> Result<Layout, String> {
        let mut cursor = Cursor { data, position: 0 };
        if cursor.take(4)? != b"GGUF" {
            return Err("not a GGUF file".into());
        }
        let version = cursor.u32()?;
        if !(2..=3).contains(&version) {
            return Err(format!("GGUF version {version} is not supported"));
        }
        let tensor_count = cursor.u64()?;
        let entries = cursor.u64()?;
        let mut alignment = 32usize;
        for _ in 0..entries {
            let key = cursor.string()?;
            let value_type = cursor.u32()?;
            if key == "general.alignment" && value_type == 4 {
                alignment = cursor.u32()? as usize;
            } else {
                cursor.skip_value(value_type)?;
            }
        }
        if alignment == 0 || alignment % 8 != 0 {
            return Err(format!("unusual alignment {alignment}"));
        }
        let metadata_end = cursor.position;
        let mut tensors = Vec::new();
        for _ in 0..tensor_count {
            let name = cursor.string()?;
            let dimension_count = cursor.u32()?;
            let dims = (0..dimension_count).map(|_| cursor.u64()).collect::<Result<Vec<_>, _>>()?;
            let ggml_type = cursor.u32()?;
            let offset = cursor.u64()? as usize;
            let (block_elements, block_bytes) = block_layout(ggml_type).ok_or_else(|| format!("tensor {name} has an unknown type {ggml_type}"))?;
            let elements: u64 = dims.iter().product();
            if elements as usize % block_elements != 0 {
                return Err(format!("tensor {name} is not a whole number of blocks"));
            }
            tensors.push(Tensor { name, dims, ggml_type, offset, size: elements as usize / block_elements * block_bytes });
        }
        let data_start = cursor.position.next_multiple_of(alignment);
        if tensors.iter().any(|tensor| data_start + tensor.offset + tensor.size > file_length) {
            return Err("a tensor lies past the end of the file".into());
        }
        Ok(Layout { metadata_end, tensors, alignment, data_start })
    }

    struct Cursor<'a> {
        data: &'a [u8],
        position: usize,
    }

    impl<'a> Cursor<'a> {
        fn take(&mut self, count: usize) -> Result<&'a [u8], String> {
            let end = self.position.checked_add(count).filter(|end| *end <= self.data.len()).ok_or(TRUNCATED)?;
            let bytes = &self.data[self.position..end];
            self.position = end;
            Ok(bytes)
        }

        fn u32(&mut self) -> Result<u32, String> {
            Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
        }

        fn u64(&mut self) -> Result<u64, String> {
            Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
        }

        fn string(&mut self) -> Result<String, String> {
            let length = self.u64()? as usize;
            Ok(String::from_utf8_lossy(self.take(length)?).into_owned())
        }

        fn skip_value(&mut self, value_type: u32) -> Result<(), String> {
            match value_type {
                0 | 1 | 7 => self.take(1).map(drop),
                2 | 3 => self.take(2).map(drop),
                4..=6 => self.take(4).map(drop),
                10..=12 => self.take(8).map(drop),
                8 => self.string().map(drop),
                9 => {
                    let element_type = self.u32()?;
                    let count = self.u64()?;
                    for _ in 0..count {
                        self.skip_value(element_type)?;
                    }
                    Ok(())
                }
                other => Err(format!("unknown GGUF value type {other}")),
            }
        }
    }

    pub(super) fn f16_to_f32(half: u16) -> f32 {
        let sign = if half & 0x8000 != 0 { -1.0 } else { 1.0 };
        let exponent = i32::from((half >> 10) & 0x1f);
        let mantissa = f32::from(half & 0x3ff);
        match exponent {
            0 => sign * mantissa * 2f32.powi(-24),
            0x1f if mantissa == 0.0 => sign * f32::INFINITY,
            0x1f => f32::NAN,
            _ => sign * (1.0 + mantissa / 1024.0) * 2f32.powi(exponent - 15),
        }
    }

    /// Round to nearest, ties to even (what `half` and ggml's F16 conversion do).
    pub(super) fn f32_to_f16(value: f32) -> u16 {
        let bits = value.to_bits();
        let sign = ((bits >> 16) & 0x8000) as u16;
        let exponent = ((bits >> 23) & 0xff) as i32;
        let mantissa = bits & 0x7f_ffff;
        if exponent == 0xff {
            return sign | 0x7c00 | if mantissa != 0 { 0x200 } else { 0 };
        }
        let half_exponent = exponent - 127 + 15;
        if half_exponent >= 0x1f {
            return sign | 0x7c00;
        }
        let (kept, dropped_bits) = if half_exponent <= 0 {
            if half_exponent < -10 {
                return sign;
            }
            ((mantissa | 0x80_0000), (14 - half_exponent) as u32)
        } else {
            (((half_exponent as u32) << 23) | mantissa, 13)
        };
        let truncated = kept >> dropped_bits;
        let remainder = kept & ((1 << dropped_bits) - 1);
        let halfway = 1 << (dropped_bits - 1);
        let rounded = if remainder > halfway || (remainder == halfway && truncated & 1 == 1) { truncated + 1 } else { truncated };
        sign | rounded as u16
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn half_precision_round_trips() {
            for half in 0..=u16::MAX {
                let value = f16_to_f32(half);
                if !value.is_nan() {
                    assert_eq!(f32_to_f16(value), half, "{half:#06x} -> {value}");
                }
            }
            assert_eq!(f32_to_f16(1.0 + 1.0 / 2048.0), 0x3c00, "a tie rounds to even");
            assert_eq!(f32_to_f16(1.0 + 3.0 / 2048.0), 0x3c02, "a tie rounds to even");
            assert_eq!(f32_to_f16(1e-9), 0);
            assert_eq!(f32_to_f16(1e6), 0x7c00);
        }

        #[test]
        fn q8_0_holds_a_q4_1_block_closely() {
            let mut block = vec![0u8; 20];
            block[0..2].copy_from_slice(&f32_to_f16(0.25).to_le_bytes());
            block[2..4].copy_from_slice(&f32_to_f16(-1.0).to_le_bytes());
            for (index, byte) in block[4..].iter_mut().enumerate() {
                *byte = (index as u8) | ((15 - index as u8) << 4);
            }
            let values = dequantize_q4_1(&block);
            assert_eq!((values[0], values[1], values[16]), (-1.0, -0.75, 2.75));
            let mut out = Vec::new();
            push_q8_0(&values, &mut out);
            let scale = f16_to_f32(u16::from_le_bytes([out[0], out[1]]));
            for (value, quantised) in values.iter().zip(&out[2..]) {
                assert!((f32::from(*quantised as i8) * scale - value).abs() <= scale / 2.0 + 1e-3);
            }
        }
    }
}
