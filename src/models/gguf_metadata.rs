//! Just enough of the GGUF format to read a model file's metadata: its architecture
//! and name, and the ids of its end-of-text tokens (needed to stop constrained
//! generation, see `mistralrs_backend`). Reads the header only, never the tensors.

use std::io::{BufReader, Read};
use std::path::Path;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GgufMetadata {
    pub architecture: Option<String>,
    pub name: Option<String>,
    pub eos_token_id: Option<u32>,
    /// Ids of the special tokens that end a text (`<|endoftext|>`, `<|im_end|>`, ...).
    pub end_token_ids: Vec<u32>,
}

const END_TOKENS: [&str; 4] = ["<|endoftext|>", "<|im_end|>", "</s>", "<|end_of_text|>"];

pub fn read_gguf_metadata(path: &Path) -> Result<GgufMetadata, String> {
    let file = std::fs::File::open(path).map_err(|error| format!("cannot open {}: {error}", path.display()))?;
    let mut reader = Reader { inner: BufReader::with_capacity(1 << 20, file) };
    let mut magic = [0u8; 4];
    reader.inner.read_exact(&mut magic).map_err(|error| error.to_string())?;
    if &magic != b"GGUF" {
        return Err(format!("{} is not a GGUF file", path.display()));
    }
    let version = reader.u32()?;
    if version < 2 {
        return Err(format!("{} uses GGUF version {version}; versions 2 and 3 are supported", path.display()));
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

struct Reader<R> {
    inner: R,
}

impl<R: Read> Reader<R> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut buffer = [0u8; N];
        self.inner.read_exact(&mut buffer).map_err(|error| format!("truncated GGUF header: {error}"))?;
        Ok(buffer)
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }

    fn string(&mut self) -> Result<String, String> {
        let length = self.u64()?;
        if length > 1 << 24 {
            return Err("a GGUF string longer than 16 MiB: the file is damaged".into());
        }
        let mut buffer = vec![0u8; length as usize];
        self.inner.read_exact(&mut buffer).map_err(|error| format!("truncated GGUF header: {error}"))?;
        Ok(String::from_utf8_lossy(&buffer).into_owned())
    }

    fn skip(&mut self, count: u64) -> Result<(), String> {
        let copied = std::io::copy(&mut (&mut self.inner).take(count), &mut std::io::sink()).map_err(|error| error.to_string())?;
        if copied == count {
            Ok(())
        } else {
            Err("truncated GGUF header".into())
        }
    }

    fn skip_value(&mut self, value_type: u32) -> Result<(), String> {
        match value_type {
            0 | 1 | 7 => self.skip(1),
            2 | 3 => self.skip(2),
            4..=6 => self.skip(4),
            10..=12 => self.skip(8),
            8 => {
                let length = self.u64()?;
                self.skip(length)
            }
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
