//! Re-quantisation at load: a copy of a GGUF file whose Q4_1 tensors are rewritten as
//! Q8_0, for candle (under mistralrs) has a vectorised kernel for Q8_0 and none for
//! Q4_1. mistralrs refuses in-situ quantisation of GGUF models, so this is done on the
//! file. The quantisation is ggml's reference Q8_0 (one f16 scale per 32 values, round
//! half away from zero); everything else in the file is copied unchanged.
//!
//! Pure Rust over bytes, apart from the engine: `mistralrs_backend` calls it.

use std::io::Read;
use std::path::Path;

use super::gguf_format::{GgufCursor, TRUNCATED};

const HEADER_READ: u64 = 32 << 20;
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
    let mut cursor = GgufCursor::new(data);
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
    let metadata_end = cursor.position();
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
    let data_start = cursor.position().next_multiple_of(alignment);
    if tensors.iter().any(|tensor| data_start + tensor.offset + tensor.size > file_length) {
        return Err("a tensor lies past the end of the file".into());
    }
    Ok(Layout { metadata_end, tensors, alignment, data_start })
}

pub fn f16_to_f32(half: u16) -> f32 {
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
pub fn f32_to_f16(value: f32) -> u16 {
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
