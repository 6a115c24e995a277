//! Just enough of the GGUF format to read a model file's metadata: its architecture
//! and name, and the ids of its end-of-text tokens (needed to stop constrained
//! generation, see `mistralrs_backend`). Reads the header only, never the tensors.

use std::path::Path;

use super::gguf_format::{parse_header, GgufCursor};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GgufMetadata {
    pub architecture: Option<String>,
    pub name: Option<String>,
    pub eos_token_id: Option<u32>,
    /// Ids of the special tokens that end a text (`<|endoftext|>`, `<|im_end|>`, ...).
    pub end_token_ids: Vec<u32>,
}

const END_TOKENS: [&str; 4] = ["<|endoftext|>", "<|im_end|>", "</s>", "<|end_of_text|>"];

/// Headers (metadata and vocabulary) are a few MiB; read more only if needed.
const HEADER_READ: u64 = 8 << 20;

pub fn read_gguf_metadata(path: &Path) -> Result<GgufMetadata, String> {
    parse_header(path, HEADER_READ, |data| parse_metadata(data).map_err(|error| if error == "not a GGUF file" { format!("{} is not a GGUF file", path.display()) } else { error }))
}

fn parse_metadata(data: &[u8]) -> Result<GgufMetadata, String> {
    let mut reader = GgufCursor::new(data);
    if reader.take(4)? != b"GGUF" {
        return Err("not a GGUF file".into());
    }
    let version = reader.u32()?;
    if version < 2 {
        return Err(format!("GGUF version {version}; versions 2 and 3 are supported"));
    }
    let _tensor_count = reader.u64()?;
    let entries = reader.u64()?;
    let mut metadata = GgufMetadata::default();
    for _ in 0..entries {
        let key = reader.string()?;
        let value_type = reader.u32()?;
        match (key.as_str(), value_type) {
            ("general.architecture", 8) => metadata.architecture = Some(reader.string()?),
            ("general.name", 8) => metadata.name = Some(reader.string()?),
            ("tokenizer.ggml.eos_token_id", 4) => metadata.eos_token_id = Some(reader.u32()?),
            ("tokenizer.ggml.tokens", 9) => {
                let element_type = reader.u32()?;
                let count = reader.u64()?;
                for index in 0..count {
                    if element_type == 8 {
                        let token = reader.string()?;
                        if END_TOKENS.contains(&token.as_str()) {
                            metadata.end_token_ids.push(index as u32);
                        }
                    } else {
                        reader.skip_value(element_type)?;
                    }
                }
            }
            (_, value_type) => reader.skip_value(value_type)?,
        }
    }
    if let Some(eos) = metadata.eos_token_id {
        if !metadata.end_token_ids.contains(&eos) {
            metadata.end_token_ids.push(eos);
        }
    }
    metadata.end_token_ids.sort_unstable();
    Ok(metadata)
}
