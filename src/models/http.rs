//! The HTTP machinery shared by the remote backends ([`super::openai`],
//! [`super::anthropic`]): one JSON-over-HTTP client with timeouts, a deterministic
//! retry schedule, and API keys that never leave memory.
//!
//! What is retried, and why:
//! - HTTP 429 and every 5xx: the server is overloaded or restarting; the same request
//!   is likely to succeed later. A `Retry-After` (seconds) or `retry-after-ms` (OpenAI's
//!   millisecond variant) header replaces our own delay, capped so that a server cannot
//!   park a run for an hour.
//! - Connection errors (refused, reset, closed before answering): the request most
//!   likely never reached a model.
//! - Not other 4xx: a bad request, a wrong key or an unknown model fails the same way
//!   every time; retrying would only hide the message.
//! - Not a timeout once connected: the server accepted the request and is generating
//!   slowly; a retry would redo the same slow generation (and bill it again) and
//!   multiply the wait by `max_retries + 1`. A connect timeout is a connection error
//!   and is retried.
//!
//! The delays are a fixed doubling schedule without jitter (0.5 s, 1 s, 2 s, … capped),
//! so a run's timing behaviour is reproducible; flowc sends few concurrent requests to
//! one server, so the thundering herd that jitter prevents does not arise.
//!
//! Secrets: an [`ApiKey`] is read from the environment variable the `.flow` file names
//! (`api_key = env("OPENAI_API_KEY")`). Its value is sent in a header marked sensitive,
//! is redacted from every `Debug` output, and is scrubbed from server messages before
//! they become errors (some servers echo the key they rejected).

use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{StatusCode, Url};

use super::ModelError;

/// The default deadline for one attempt: the OpenAI Python SDK's default (10 minutes),
/// because a local server on a CPU can take minutes for a long answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// Long enough for a slow network, short enough to notice a wrong port quickly.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The OpenAI and Anthropic SDKs' default: two retries, three attempts in all.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
pub const DEFAULT_FIRST_RETRY_DELAY: Duration = Duration::from_millis(500);
pub const DEFAULT_LONGEST_RETRY_DELAY: Duration = Duration::from_secs(8);
pub const DEFAULT_LONGEST_SERVER_REQUESTED_DELAY: Duration = Duration::from_secs(60);

/// How many characters of a server's message or of an unreadable body an error quotes:
/// enough to recognise the problem, short enough for one line of a report.
const EXCERPT_CHARACTERS: usize = 300;

/// Timeouts and the retry schedule of one HTTP backend.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpSettings {
    /// The deadline of one attempt, from sending the request to the end of the answer
    /// (`timeout_seconds` in a `.flow` model). It bounds reading as well: a
    /// non-streamed answer arrives in one piece after generation, so a separate
    /// per-read timeout would be the same number.
    pub timeout: Duration,
    /// The deadline for opening the connection.
    pub connect_timeout: Duration,
    /// Retries after the first attempt (`max_retries` in a `.flow` model).
    pub max_retries: u32,
    /// The delay before the first retry; each later retry waits twice as long.
    pub first_retry_delay: Duration,
    /// The cap of the doubling schedule.
    pub longest_retry_delay: Duration,
    /// The cap on a delay the server asks for with `Retry-After`.
    pub longest_server_requested_delay: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            first_retry_delay: DEFAULT_FIRST_RETRY_DELAY,
            longest_retry_delay: DEFAULT_LONGEST_RETRY_DELAY,
            longest_server_requested_delay: DEFAULT_LONGEST_SERVER_REQUESTED_DELAY,
        }
    }
}

impl HttpSettings {
    /// The settings a `.flow` model declares (`timeout_seconds`, `max_retries`), the
    /// defaults for the rest.
    pub fn from_declaration(timeout_seconds: Option<f64>, max_retries: Option<u32>) -> Result<HttpSettings, ModelError> {
        let mut settings = HttpSettings::default();
        if let Some(seconds) = timeout_seconds {
            settings.timeout = match Duration::try_from_secs_f64(seconds) {
                Ok(duration) if !duration.is_zero() => duration,
                _ => return Err(ModelError::Configuration(format!("`timeout_seconds` must be a positive number of seconds, not {seconds}"))),
            };
        }
        if let Some(retries) = max_retries {
            settings.max_retries = retries;
        }
        Ok(settings)
    }

    /// The delay before retry number `retry_number` (1 for the first retry) when the
    /// server did not ask for one: `first_retry_delay × 2^(retry_number − 1)`, capped.
    pub fn retry_delay(&self, retry_number: u32) -> Duration {
        let doublings = retry_number.saturating_sub(1).min(31);
        self.first_retry_delay.saturating_mul(1u32 << doublings).min(self.longest_retry_delay)
    }
}

/// What an `openai(...)` or `anthropic(...)` model declaration says about reaching
/// the server, with `env(...)` in `base_url` already resolved by the caller (a base
/// URL is not a secret; the API key is, so only its variable's name is given here).
#[derive(Clone, Debug, PartialEq)]
pub struct HttpBackendConfig {
    /// The served model's name: `openai("gpt-4.1")` gives `gpt-4.1`.
    pub model: String,
    /// The server's base URL; `None` for the provider's public API.
    pub base_url: Option<String>,
    /// The NAME of the environment variable that holds the API key.
    pub api_key_variable: Option<String>,
    pub http: HttpSettings,
}

impl HttpBackendConfig {
    /// A model at `base_url` with default timeouts and retries and no API key.
    pub fn new(model: impl Into<String>) -> HttpBackendConfig {
        HttpBackendConfig { model: model.into(), base_url: None, api_key_variable: None, http: HttpSettings::default() }
    }
}

/// An API key read from the environment. It has no `Display`, its `Debug` shows only
/// the variable's name, and only this module reads its value (to put it in a header
/// and to scrub it from server messages).
#[derive(Clone)]
pub struct ApiKey {
    variable: String,
    value: String,
}

impl ApiKey {
    /// Reads the key from the environment variable `variable`. A missing, empty or
    /// non-Unicode variable is a configuration error that names the variable, never
    /// its value.
    pub fn from_environment(variable: &str) -> Result<ApiKey, ModelError> {
        match std::env::var(variable) {
            Ok(value) if value.trim().is_empty() => Err(ModelError::Configuration(format!(
                "the environment variable `{variable}` (which should hold the API key) is set but empty; set it to the API key"
            ))),
            Ok(value) => {
                // Refused here rather than at the first request, so that a key with a
                // stray newline fails when the model is built, with a clear message.
                if HeaderValue::from_str(&value).is_err() {
                    return Err(ModelError::Configuration(format!(
                        "the environment variable `{variable}` (which should hold the API key) contains characters that cannot be sent in an HTTP header (a newline?)"
                    )));
                }
                Ok(ApiKey { variable: variable.to_string(), value })
            }
            Err(std::env::VarError::NotPresent) => Err(ModelError::Configuration(format!(
                "the environment variable `{variable}` (which should hold the API key) is not set; export it before running, e.g. `export {variable}=...` (flowc reads API keys only from the environment)"
            ))),
            Err(std::env::VarError::NotUnicode(_)) => Err(ModelError::Configuration(format!(
                "the environment variable `{variable}` (which should hold the API key) is not valid Unicode"
            ))),
        }
    }

    /// The name of the variable the key came from (safe to show).
    pub fn variable(&self) -> &str {
        &self.variable
    }

    /// The key as a header value marked sensitive, so that the HTTP stack's own
    /// `Debug` output shows `Sensitive` instead of it. `prefix` is e.g. `"Bearer "`.
    fn header_value(&self, prefix: &str) -> HeaderValue {
        let mut value = HeaderValue::from_str(&format!("{prefix}{}", self.value))
            .expect("checked when the key was read from the environment");
        value.set_sensitive(true);
        value
    }

    /// `text` with every occurrence of the key replaced by a placeholder.
    fn scrub(&self, text: &str) -> String {
        text.replace(&self.value, "<redacted API key>")
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("ApiKey").field("variable", &self.variable).field("value", &"<redacted>").finish()
    }
}

/// The API key a declaration asks for: from the variable it names; for the
/// provider's public API (no `base_url`), from `public_api_variable`, the variable the
/// provider's own SDKs read; otherwise none, since local servers need no key.
pub fn read_api_key(config: &HttpBackendConfig, public_api_variable: &str) -> Result<Option<ApiKey>, ModelError> {
    let variable = match (&config.api_key_variable, &config.base_url) {
        (Some(variable), _) => Some(variable.as_str()),
        (None, None) => Some(public_api_variable),
        (None, Some(_)) => None,
    };
    variable.map(ApiKey::from_environment).transpose()
}

/// Parses and checks a base URL: http or https, no query or fragment (paths are
/// appended to it).
pub fn parse_base_url(text: &str) -> Result<Url, ModelError> {
    let url = Url::parse(text.trim()).map_err(|error| ModelError::Configuration(format!("`base_url` {:?} is not a URL: {error}", public_text_of_url_text(text))))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(ModelError::Configuration(format!("`base_url` must start with http:// or https://, not {}://", url.scheme())));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ModelError::Configuration("`base_url` must not have a query (`?…`) or fragment (`#…`): flowc appends the API's path to it".to_string()));
    }
    Ok(url)
}

/// The base URL as it may appear in identities, locks and messages: without a user
/// name or password (a URL may carry credentials) and without a trailing slash.
pub fn public_endpoint(base_url: &Url) -> String {
    let mut public = base_url.clone();
    // Both only fail for URLs that cannot have credentials, which then have none.
    let _ = public.set_username("");
    let _ = public.set_password(None);
    public.as_str().trim_end_matches('/').to_string()
}

/// `base_url` followed by `path` (which starts with `/`), keeping the base's own path
/// (`http://host/v1` + `/chat/completions`), unlike `Url::join`, which would replace
/// its last segment.
pub fn endpoint_url(base_url: &Url, path: &str) -> Result<Url, ModelError> {
    let joined = format!("{}{}", base_url.as_str().trim_end_matches('/'), path);
    Url::parse(&joined).map_err(|error| ModelError::Configuration(format!("cannot form the endpoint URL from `base_url`: {error}")))
}

/// For messages about an unparsable base URL: drop anything before an `@`, which
/// could be credentials.
fn public_text_of_url_text(text: &str) -> String {
    match (text.find("://"), text.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => format!("{}://…@{}", &text[..scheme_end], &text[at + 1..]),
        _ => text.to_string(),
    }
}

/// One JSON-over-HTTP client: a connection pool, fixed headers (some of them secret),
/// and the retry schedule.
pub struct JsonHttpClient {
    client: reqwest::Client,
    settings: HttpSettings,
    headers: HeaderMap,
    api_key: Option<ApiKey>,
}

/// How the API key travels: `Authorization: Bearer …` (OpenAI) or a header of its own
/// (`x-api-key`, Anthropic).
pub enum ApiKeyHeader {
    Bearer,
    Named(HeaderName),
}

impl JsonHttpClient {
    /// A client with the given settings, sending `fixed_headers` and, when there is a
    /// key, the key in `key_header` with every request.
    pub fn new(
        settings: HttpSettings,
        fixed_headers: HeaderMap,
        api_key: Option<ApiKey>,
        key_header: ApiKeyHeader,
    ) -> Result<JsonHttpClient, ModelError> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout.min(settings.timeout))
            .timeout(settings.timeout)
            .user_agent(concat!("flowc/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| ModelError::Configuration(format!("cannot build the HTTP client: {}", describe_transport_error(error, None))))?;
        let mut headers = fixed_headers;
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(key) = &api_key {
            match key_header {
                ApiKeyHeader::Bearer => headers.insert(reqwest::header::AUTHORIZATION, key.header_value("Bearer ")),
                ApiKeyHeader::Named(name) => headers.insert(name, key.header_value("")),
            };
        }
        Ok(JsonHttpClient { client, settings, headers, api_key })
    }

    pub fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    /// POSTs `body` to `url` and returns the parsed JSON answer of the first
    /// successful attempt, retrying as the module documentation says.
    pub async fn post_json(&self, url: &Url, body: &serde_json::Value) -> Result<serde_json::Value, ModelError> {
        self.post_json_unless_refused(url, body, |_, _| false).await
    }

    /// Like [`JsonHttpClient::post_json`], but an answer for which
    /// `is_deliberate_refusal(status, message)` holds is not retried even when its
    /// status would be: some servers report a request they will never accept as an
    /// HTTP 500 (llama-cpp-python does so for a request that fails validation), and
    /// the caller knows those messages. `message` is the server's whole message.
    pub async fn post_json_unless_refused(
        &self,
        url: &Url,
        body: &serde_json::Value,
        is_deliberate_refusal: impl Fn(u16, &str) -> bool,
    ) -> Result<serde_json::Value, ModelError> {
        let mut attempts: u32 = 0;
        loop {
            attempts += 1;
            let failure = match self.attempt(url, body).await {
                AttemptOutcome::Answer(answer) => return Ok(answer),
                AttemptOutcome::Failed(error) => return Err(error),
                AttemptOutcome::Refused { status, message } => return Err(self.http_error(status, attempts, &message)),
                AttemptOutcome::Retryable(failure) => failure,
            };
            let deliberate = match &failure.kind {
                FailureKind::Status { status, message } => is_deliberate_refusal(*status, message),
                FailureKind::Connection { .. } => false,
            };
            if deliberate || attempts > self.settings.max_retries {
                return Err(match failure.kind {
                    FailureKind::Status { status, message } => self.http_error(status, attempts, &message),
                    FailureKind::Connection { message } => ModelError::Transport(format!("{message} (after {attempts} attempts)")),
                });
            }
            let delay = match failure.server_requested_delay {
                Some(requested) => requested.min(self.settings.longest_server_requested_delay),
                None => self.settings.retry_delay(attempts),
            };
            tokio::time::sleep(delay).await;
        }
    }

    fn http_error(&self, status: u16, attempts: u32, message: &str) -> ModelError {
        ModelError::Http { status, attempts, message: excerpt(message, EXCERPT_CHARACTERS) }
    }

    async fn attempt(&self, url: &Url, body: &serde_json::Value) -> AttemptOutcome {
        let sent = self.client.post(url.clone()).headers(self.headers.clone()).json(body).send().await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => return self.classify_transport_error(error, url),
        };
        let status = response.status();
        let server_requested_delay = server_requested_delay(response.headers());
        let text = match response.text().await {
            Ok(text) => text,
            Err(error) => return self.classify_transport_error(error, url),
        };
        if status.is_success() {
            return match serde_json::from_str(&text) {
                Ok(answer) => AttemptOutcome::Answer(answer),
                Err(error) => AttemptOutcome::Failed(ModelError::BadResponse(format!(
                    "the answer is not JSON ({error}): {}",
                    self.scrubbed_excerpt(&text)
                ))),
            };
        }
        let message = self.server_message(status, &text);
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            AttemptOutcome::Retryable(RetryableFailure { kind: FailureKind::Status { status: status.as_u16(), message }, server_requested_delay })
        } else {
            AttemptOutcome::Refused { status: status.as_u16(), message }
        }
    }

    fn classify_transport_error(&self, error: reqwest::Error, url: &Url) -> AttemptOutcome {
        // The URL without credentials: reqwest's own message is taken without its URL.
        let endpoint = public_endpoint(url);
        // `is_connect` first: a connect timeout is also `is_timeout`, and it is a
        // connection error (nothing was sent), so it is retried. A connection that
        // breaks while sending (`is_request`) or while the answer is read (reqwest
        // reports a broken body as `is_decode`) is retried too, unless the break was
        // our own deadline.
        let broken_connection = error.is_request() || error.is_body() || error.is_decode();
        if error.is_connect() || (broken_connection && !error.is_timeout()) {
            let message = format!("{endpoint}: {}", describe_transport_error(error, self.api_key.as_ref()));
            return AttemptOutcome::Retryable(RetryableFailure { kind: FailureKind::Connection { message }, server_requested_delay: None });
        }
        if error.is_timeout() {
            return AttemptOutcome::Failed(ModelError::Timeout { seconds: self.settings.timeout.as_secs_f64() });
        }
        AttemptOutcome::Failed(ModelError::Transport(format!("{endpoint}: {}", describe_transport_error(error, self.api_key.as_ref()))))
    }

    /// The server's own explanation of a refusal: `error.message` (OpenAI, Anthropic,
    /// llama.cpp, vLLM), `message`, `detail` (FastAPI-based servers), else the start of
    /// the body, else the status's name. Scrubbed of the key; shortened only when it
    /// becomes an error, so that refusal checks see all of it.
    fn server_message(&self, status: StatusCode, text: &str) -> String {
        let from_json = serde_json::from_str::<serde_json::Value>(text).ok().and_then(|json| {
            let candidates = [json.pointer("/error/message"), json.get("error"), json.get("message"), json.get("detail")];
            candidates.into_iter().flatten().find_map(|value| match value {
                serde_json::Value::String(message) => Some(message.clone()),
                serde_json::Value::Null | serde_json::Value::Object(_) => None,
                other => Some(other.to_string()),
            })
        });
        let message = match from_json {
            Some(message) => message,
            None if !text.trim().is_empty() => text.trim().to_string(),
            None => status.canonical_reason().unwrap_or("no message").to_string(),
        };
        self.scrubbed(&message)
    }

    fn scrubbed(&self, text: &str) -> String {
        match &self.api_key {
            Some(key) => key.scrub(text),
            None => text.to_string(),
        }
    }

    fn scrubbed_excerpt(&self, text: &str) -> String {
        excerpt(&self.scrubbed(text), EXCERPT_CHARACTERS)
    }
}

impl fmt::Debug for JsonHttpClient {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header names only: even values marked sensitive are left out, so that no
        // future header can leak through this output.
        let header_names: Vec<&str> = self.headers.keys().map(HeaderName::as_str).collect();
        formatter
            .debug_struct("JsonHttpClient")
            .field("settings", &self.settings)
            .field("header_names", &header_names)
            .field("api_key", &self.api_key)
            .finish()
    }
}

enum AttemptOutcome {
    Answer(serde_json::Value),
    /// A status that retrying will not change (4xx other than 429); the message is
    /// whole and scrubbed.
    Refused { status: u16, message: String },
    /// Anything else that ends the request: a timeout, an unreadable answer.
    Failed(ModelError),
    Retryable(RetryableFailure),
}

struct RetryableFailure {
    kind: FailureKind,
    server_requested_delay: Option<Duration>,
}

enum FailureKind {
    /// 429 or 5xx; the message is whole and scrubbed.
    Status { status: u16, message: String },
    Connection { message: String },
}

/// The delay a 429 or 503 answer asks for: `retry-after-ms` (OpenAI's header, in
/// milliseconds) or `Retry-After` in seconds. The HTTP-date form of `Retry-After` is
/// not read (no API flowc talks to sends it); the normal schedule applies then.
fn server_requested_delay(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| -> Option<f64> {
        let value: f64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
        (value.is_finite() && value >= 0.0).then_some(value)
    };
    if let Some(milliseconds) = number("retry-after-ms") {
        return Duration::try_from_secs_f64(milliseconds / 1000.0).ok();
    }
    number("retry-after").and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
}

/// A transport error as one line: reqwest's message and its causes ("error sending
/// request: client error (Connect): tcp connect error: Connection refused"), without
/// the URL (a URL may carry credentials; callers name the endpoint themselves).
fn describe_transport_error(error: reqwest::Error, api_key: Option<&ApiKey>) -> String {
    let error = error.without_url();
    let mut parts = vec![error.to_string()];
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    let joined = parts.join(": ");
    match api_key {
        Some(key) => key.scrub(&joined),
        None => joined,
    }
}

/// The first `limit` characters of `text` on one line, with `…` when cut.
pub fn excerpt(text: &str, limit: usize) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_schedule_doubles_from_half_a_second_and_is_capped() {
        let settings = HttpSettings::default();
        let delays: Vec<f64> = (1..=6).map(|retry| settings.retry_delay(retry).as_secs_f64()).collect();
        assert_eq!(delays, vec![0.5, 1.0, 2.0, 4.0, 8.0, 8.0]);
        assert_eq!(settings.retry_delay(1000), Duration::from_secs(8));
    }

    #[test]
    fn retry_after_headers_are_read_in_seconds_and_milliseconds() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(server_requested_delay(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", HeaderValue::from_static("150"));
        assert_eq!(server_requested_delay(&headers), Some(Duration::from_millis(150)));
        let mut dated = HeaderMap::new();
        dated.insert("retry-after", HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(server_requested_delay(&dated), None);
        let mut negative = HeaderMap::new();
        negative.insert("retry-after", HeaderValue::from_static("-3"));
        assert_eq!(server_requested_delay(&negative), None);
    }

    #[test]
    fn public_endpoints_drop_credentials_and_trailing_slashes() {
        let url = parse_base_url("https://user:hunter2@example.com/v1/").unwrap();
        assert_eq!(public_endpoint(&url), "https://example.com/v1");
        assert!(!public_text_of_url_text("https://user:hunter2@exa mple.com").contains("hunter2"));
    }

    #[test]
    fn endpoint_urls_keep_the_base_path() {
        let url = parse_base_url("http://127.0.0.1:8080/v1").unwrap();
        assert_eq!(endpoint_url(&url, "/chat/completions").unwrap().as_str(), "http://127.0.0.1:8080/v1/chat/completions");
        let url = parse_base_url("http://127.0.0.1:8080/v1/").unwrap();
        assert_eq!(endpoint_url(&url, "/chat/completions").unwrap().as_str(), "http://127.0.0.1:8080/v1/chat/completions");
    }

    #[test]
    fn base_urls_with_other_schemes_or_queries_are_refused() {
        assert!(matches!(parse_base_url("ftp://example.com"), Err(ModelError::Configuration(_))));
        assert!(matches!(parse_base_url("https://example.com/v1?key=x"), Err(ModelError::Configuration(_))));
        assert!(matches!(parse_base_url("not a url"), Err(ModelError::Configuration(_))));
    }

    #[test]
    fn excerpts_are_short_single_lines_cut_on_character_boundaries() {
        assert_eq!(excerpt("a\n  b", 10), "a b");
        assert_eq!(excerpt("ééééé", 3), "ééé…");
    }

    #[test]
    fn declared_timeouts_must_be_positive() {
        assert!(HttpSettings::from_declaration(Some(0.0), None).is_err());
        assert!(HttpSettings::from_declaration(Some(f64::NAN), None).is_err());
        let settings = HttpSettings::from_declaration(Some(2.5), Some(0)).unwrap();
        assert_eq!(settings.timeout, Duration::from_millis(2500));
        assert_eq!(settings.max_retries, 0);
    }
}
