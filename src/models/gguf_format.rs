//! Reading GGUF headers: a cursor over the bytes of a file's beginning. One reader
//! for the two things that read headers, the metadata (`gguf_metadata`) and the
//! re-quantiser (`gguf_requantize`), which also needs byte positions.

/// The error of a read past the bytes available: the caller may read more of the
/// file and try again.
pub const TRUNCATED: &str = "truncated GGUF file";

pub struct GgufCursor<'a> {
    data: &'a [u8],
    position: usize,
}

impl<'a> GgufCursor<'a> {
    pub fn new(data: &'a [u8]) -> GgufCursor<'a> {
        GgufCursor { data, position: 0 }
    }

    /// Bytes read so far.
    pub fn position(&self) -> usize {
        self.position
    }

    pub fn take(&mut self, count: usize) -> Result<&'a [u8], String> {
        let end = self.position.checked_add(count).filter(|end| *end <= self.data.len()).ok_or(TRUNCATED)?;
        let bytes = &self.data[self.position..end];
        self.position = end;
        Ok(bytes)
    }

    pub fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }

    pub fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    pub fn string(&mut self) -> Result<String, String> {
        let length = usize::try_from(self.u64()?).map_err(|_| TRUNCATED.to_string())?;
        Ok(String::from_utf8_lossy(self.take(length)?).into_owned())
    }

    /// Skips one metadata value of GGUF type `value_type`.
    pub fn skip_value(&mut self, value_type: u32) -> Result<(), String> {
        match value_type {
            0 | 1 | 7 => self.take(1).map(drop),
            2 | 3 => self.take(2).map(drop),
            4..=6 => self.take(4).map(drop),
            10..=12 => self.take(8).map(drop),
            8 => {
                let length = usize::try_from(self.u64()?).map_err(|_| TRUNCATED.to_string())?;
                self.take(length).map(drop)
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

/// The first `limit` bytes of the file at `path`, or all of it when it is shorter;
/// `parse` is retried on the whole file when the header does not fit in `limit`.
pub fn parse_header<T>(path: &std::path::Path, limit: u64, parse: impl Fn(&[u8]) -> Result<T, String>) -> Result<T, String> {
    use std::io::Read;
    let read_error = |error: std::io::Error| format!("cannot read {}: {error}", path.display());
    let mut file = std::fs::File::open(path).map_err(read_error)?;
    let mut data = Vec::new();
    (&mut file).take(limit).read_to_end(&mut data).map_err(read_error)?;
    match parse(&data) {
        Err(error) if error == TRUNCATED && data.len() as u64 == limit => {
            file.read_to_end(&mut data).map_err(read_error)?;
            parse(&data)
        }
        parsed => parsed,
    }
}
