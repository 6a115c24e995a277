//! A backend that counts the calls that reach the model it wraps. The incremental
//! build's guarantees ("a no-op build makes no model call") are stated in calls,
//! so tests and `bench/incremental.sh` measure them through this wrapper, placed
//! below the call cache: a cache hit is not a model call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;

use super::{ChatRequest, ChatResponse, ModelBackend, ModelError, ModelIdentity, ScoreRequest, ScoreResponse};

pub struct CountingBackend {
    inner: Arc<dyn ModelBackend>,
    calls: Arc<AtomicU64>,
}

impl CountingBackend {
    /// Wraps `inner`; every call adds one to `calls`.
    pub fn new(inner: Arc<dyn ModelBackend>, calls: Arc<AtomicU64>) -> CountingBackend {
        CountingBackend { inner, calls }
    }

    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl ModelBackend for CountingBackend {
    fn identity(&self) -> ModelIdentity {
        self.inner.identity()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.chat(request).await
    }

    async fn score(&self, request: &ScoreRequest) -> Result<ScoreResponse, ModelError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.score(request).await
    }
}
