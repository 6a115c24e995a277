//! Reading a request body under the size limit: a body over it is a 413 with a JSON
//! error (axum's own extractors would answer in plain text).

use axum::body::{to_bytes, Body, Bytes};
use axum::http::{header, HeaderMap};

use super::errors::{ApiError, ErrorCode};

pub async fn read_limited_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::new(ErrorCode::BodyTooLarge, format!("the body is larger than the server's limit of {limit} bytes"));
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|value| value.to_str().ok()).and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    to_bytes(body, limit).await.map_err(|error| {
        // A chunked body that grows past the limit fails inside the stream; any other
        // read error is a client that went away or sent garbage.
        let limited = std::error::Error::source(&error).is_some_and(|source| source.to_string().contains("length limit"))
            || error.to_string().contains("length limit");
        if limited {
            too_large()
        } else {
            ApiError::new(ErrorCode::InvalidJson, format!("the body could not be read: {error}"))
        }
    })
}
