//! A shared cache over Bazel's HTTP remote-cache protocol: `GET`/`PUT` of
//! `<base>/ac/<key>` (the action cache: a key to a result) and `<base>/cas/<sha256>`
//! (content-addressed blobs), as bazel-remote, nginx with WebDAV `PUT`, or any
//! static server with uploads speak it.
//!
//! What flowc stores: for a cache key (exactly the local cache's key), the blob is
//! the local entry's bytes, put in the CAS under its own sha256, and the action
//! cache maps the key to that digest. The blob is written first, so an action entry
//! never points at nothing, and it is checked against its digest when read, so a
//! truncated or tampered blob is a miss, not a wrong answer. Entries hold what the
//! local cache holds (model identities, requests, responses) and never a secret:
//! API keys are neither part of identities nor of requests.
//!
//! A server that is down, refuses, or is slower than the timeout (connect, read and
//! write each bounded) costs one warning: the remote cache is then switched off for
//! the rest of the process, and flowc goes on with the local cache alone.
//!
//! Configured with `--remote-cache URL` or `FLOWC_REMOTE_CACHE=URL`
//! (`http://host:port/prefix`; TLS is not spoken: put a TLS-terminating proxy in
//! front or keep the cache on a trusted network), timeout `FLOWC_REMOTE_CACHE_TIMEOUT_MS`
//! (default 2000).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The environment variable naming the remote cache when no flag does.
pub const REMOTE_CACHE_VARIABLE: &str = "FLOWC_REMOTE_CACHE";
/// The environment variable for the per-operation timeout, in milliseconds.
pub const REMOTE_CACHE_TIMEOUT_VARIABLE: &str = "FLOWC_REMOTE_CACHE_TIMEOUT_MS";
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(2000);
/// Bumped when the layout of action entries changes.
const ACTION_FORMAT: &str = "flowc-remote-action/1";
/// The largest response read (a cached model answer is kilobytes).
const LARGEST_RESPONSE: usize = 64 << 20;

/// A remote cache endpoint; clones share the "switched off after a failure" state.
#[derive(Clone, Debug)]
pub struct RemoteCache {
    endpoint: Arc<Endpoint>,
    timeout: Duration,
    switched_off: Arc<AtomicBool>,
}

#[derive(Debug)]
struct Endpoint {
    /// As configured, for messages.
    url: String,
    host: String,
    port: u16,
    /// The path before `/ac/` and `/cas/`, without a trailing slash.
    prefix: String,
}

/// The body of an action-cache entry: which blob holds the result.
#[derive(Serialize, Deserialize)]
struct ActionEntry {
    format: String,
    blob_sha256: String,
    size: u64,
}

#[derive(Debug, thiserror::Error)]
enum TransportError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the server answered {0}")]
    Status(u16),
    #[error("the server's answer is not HTTP: {0}")]
    Malformed(String),
}

impl RemoteCache {
    /// A remote cache at `url` (`http://host[:port][/prefix]`).
    pub fn new(url: &str, timeout: Duration) -> Result<RemoteCache, String> {
        let endpoint = parse_url(url)?;
        Ok(RemoteCache { endpoint: Arc::new(endpoint), timeout, switched_off: Arc::new(AtomicBool::new(false)) })
    }

    /// The remote cache the flag names, else `FLOWC_REMOTE_CACHE`, else none.
    pub fn configured(flag: Option<&str>) -> Result<Option<RemoteCache>, String> {
        let from_environment = std::env::var(REMOTE_CACHE_VARIABLE).ok().filter(|url| !url.trim().is_empty());
        let Some(url) = flag.map(str::to_string).or(from_environment) else { return Ok(None) };
        let timeout = match std::env::var(REMOTE_CACHE_TIMEOUT_VARIABLE) {
            Ok(milliseconds) => Duration::from_millis(
                milliseconds.trim().parse::<u64>().map_err(|_| format!("{REMOTE_CACHE_TIMEOUT_VARIABLE} must be a whole number of milliseconds, not \"{milliseconds}\""))?,
            ),
            Err(_) => DEFAULT_TIMEOUT,
        };
        RemoteCache::new(url.trim(), timeout).map(Some)
    }

    pub fn url(&self) -> &str {
        &self.endpoint.url
    }

    /// True once a failure switched the remote cache off for this process.
    pub fn is_switched_off(&self) -> bool {
        self.switched_off.load(Ordering::Relaxed)
    }

    /// The bytes stored for `key`, or `None` (a miss, or the server failed).
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        if self.is_switched_off() {
            return None;
        }
        let action = match self.request("GET", &format!("ac/{key}"), None) {
            Ok(Some(body)) => body,
            Ok(None) => return None,
            Err(error) => return self.fail(&error),
        };
        let action: ActionEntry = serde_json::from_slice(&action).ok().filter(|action: &ActionEntry| action.format == ACTION_FORMAT)?;
        let blob = match self.request("GET", &format!("cas/{}", action.blob_sha256), None) {
            Ok(Some(body)) => body,
            Ok(None) => return None,
            Err(error) => return self.fail(&error),
        };
        (sha256_hex(&blob) == action.blob_sha256 && blob.len() as u64 == action.size).then_some(blob)
    }

    /// Store `bytes` for `key`: the blob first, then the action entry naming it.
    pub fn put(&self, key: &str, bytes: &[u8]) {
        if self.is_switched_off() {
            return;
        }
        let digest = sha256_hex(bytes);
        if let Err(error) = self.request("PUT", &format!("cas/{digest}"), Some(bytes)) {
            self.fail::<()>(&error);
            return;
        }
        let action = serde_json::to_vec(&ActionEntry { format: ACTION_FORMAT.to_string(), blob_sha256: digest, size: bytes.len() as u64 }).expect("action entries serialise");
        if let Err(error) = self.request("PUT", &format!("ac/{key}"), Some(&action)) {
            self.fail::<()>(&error);
        }
    }

    /// Switch the remote cache off, warning once (the one place below the CLI that
    /// prints, like the local cache's write warning: a cache must never fail a run).
    fn fail<T>(&self, error: &TransportError) -> Option<T> {
        if !self.switched_off.swap(true, Ordering::Relaxed) {
            eprintln!("warning: the remote cache {} failed ({error}); going on with the local cache only", self.endpoint.url);
        }
        None
    }

    /// One HTTP/1.1 exchange (`Connection: close`). `Ok(None)` is a 404 on GET.
    fn request(&self, method: &str, path: &str, body: Option<&[u8]>) -> Result<Option<Vec<u8>>, TransportError> {
        let deadline = Instant::now() + self.timeout * 2;
        let endpoint = &self.endpoint;
        let address = (endpoint.host.as_str(), endpoint.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, format!("{} has no address", endpoint.host)))?;
        let mut stream = TcpStream::connect_timeout(&address, self.timeout)?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        let body = body.unwrap_or_default();
        let head = format!(
            "{method} {}/{path} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: flowc/{}\r\nConnection: close\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
            endpoint.prefix,
            endpoint.host,
            endpoint.port,
            env!("CARGO_PKG_VERSION"),
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        stream.flush()?;
        let mut response = Vec::new();
        let mut buffer = [0u8; 16 * 1024];
        loop {
            if Instant::now() > deadline {
                return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "the answer took too long").into());
            }
            let read = stream.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            response.extend_from_slice(&buffer[..read]);
            if response.len() > LARGEST_RESPONSE {
                return Err(TransportError::Malformed("the answer is too large".into()));
            }
        }
        let (status, body) = parse_response(&response)?;
        match (method, status) {
            (_, 200..=299) => Ok(Some(body)),
            ("GET", 404) => Ok(None),
            (_, status) => Err(TransportError::Status(status)),
        }
    }
}

fn parse_url(url: &str) -> Result<Endpoint, String> {
    let help = "write it as http://HOST:PORT/PREFIX (e.g. http://127.0.0.1:8080/flowc)";
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(if url.starts_with("https://") {
            format!("the remote cache \"{url}\" uses https, which flowc does not speak: put a TLS-terminating proxy in front of it, or use http on a trusted network")
        } else {
            format!("the remote cache \"{url}\" is not an http:// URL; {help}")
        });
    };
    let (authority, prefix) = match rest.find('/') {
        Some(slash) => (&rest[..slash], rest[slash..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err(format!("the remote cache URL \"{url}\" holds credentials; flowc keeps secrets out of its configuration and caches"));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().map_err(|_| format!("the remote cache URL \"{url}\" has an invalid port; {help}"))?),
        None => (authority, 80),
    };
    if host.is_empty() {
        return Err(format!("the remote cache URL \"{url}\" names no host; {help}"));
    }
    Ok(Endpoint { url: url.to_string(), host: host.trim_start_matches('[').trim_end_matches(']').to_string(), port, prefix: prefix.to_string() })
}

/// The status and body of an HTTP/1.1 response read to its end.
fn parse_response(response: &[u8]) -> Result<(u16, Vec<u8>), TransportError> {
    let head_end = response.windows(4).position(|window| window == b"\r\n\r\n").ok_or_else(|| TransportError::Malformed("no end of headers".into()))?;
    let head = std::str::from_utf8(&response[..head_end]).map_err(|_| TransportError::Malformed("headers are not text".into()))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|_| status_line.starts_with("HTTP/1."))
        .ok_or_else(|| TransportError::Malformed(format!("status line \"{status_line}\"")))?;
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "content-length" {
            content_length = value.parse::<usize>().ok();
        } else if name == "transfer-encoding" && value.to_ascii_lowercase().contains("chunked") {
            chunked = true;
        }
    }
    let raw = &response[head_end + 4..];
    let body = if chunked {
        dechunk(raw)?
    } else {
        match content_length {
            Some(length) if raw.len() >= length => raw[..length].to_vec(),
            Some(_) => return Err(TransportError::Malformed("the body ended early".into())),
            None => raw.to_vec(),
        }
    };
    Ok((status, body))
}

fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>, TransportError> {
    let mut body = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|window| window == b"\r\n").ok_or_else(|| TransportError::Malformed("a chunk without a size".into()))?;
        let size_text = std::str::from_utf8(&raw[..line_end]).unwrap_or_default();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or_default().trim(), 16).map_err(|_| TransportError::Malformed("a bad chunk size".into()))?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if raw.len() < size + 2 {
            return Err(TransportError::Malformed("a chunk ended early".into()));
        }
        body.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_with_a_reason() {
        let endpoint = parse_url("http://127.0.0.1:8080/flowc/").unwrap();
        assert_eq!((endpoint.host.as_str(), endpoint.port, endpoint.prefix.as_str()), ("127.0.0.1", 8080, "/flowc"));
        assert_eq!(parse_url("http://cache.internal").unwrap().port, 80);
        assert!(parse_url("https://cache.internal").unwrap_err().contains("TLS"));
        assert!(parse_url("http://user:secret@cache.internal/").unwrap_err().contains("credentials"));
        assert!(parse_url("cache.internal:8080").unwrap_err().contains("http://"));
        assert!(parse_url("http://cache.internal:port/").unwrap_err().contains("port"));
    }

    #[test]
    fn responses_are_read_with_length_or_chunks() {
        let (status, body) = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").unwrap();
        assert_eq!((status, body.as_slice()), (200, b"hello".as_slice()));
        let (status, body) = parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n").unwrap();
        assert_eq!((status, body.as_slice()), (200, b"hello".as_slice()));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhello").is_err());
        assert!(parse_response(b"garbage").is_err());
    }
}
