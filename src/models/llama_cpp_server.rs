//! A GGUF model served by a llama.cpp server that flowc starts on loopback
//! (`gguf("file.gguf") { engine = "llama.cpp" }`).
//!
//! Why: measured on this project's 2-core machine, llama.cpp reads prompts 5–10×
//! faster than the embedded engine. A teacher reads long traces, so `flowc build`
//! with a local 1.5B teacher is minutes instead of hours. The server is
//! llama-cpp-python's (installed by the README set-up); it binds 127.0.0.1 on a free
//! port, is spoken to with the OpenAI protocol, and dies with flowc (killed on drop,
//! and by the kernel if flowc dies first).

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::http::{HttpBackendConfig, HttpSettings};
use super::openai::OpenAiBackend;
use super::{ChatRequest, ChatResponse, ModelBackend, ModelError, ModelIdentity};

/// Loading a 1 GB model on a busy 2-core machine takes seconds; a broken install
/// must not hang a build.
const READINESS_DEADLINE: Duration = Duration::from_secs(300);

/// The Python that has llama-cpp-python: `$FLOWC_PYTHON`, else `python3`.
pub fn python_program() -> String {
    std::env::var("FLOWC_PYTHON").ok().filter(|value| !value.is_empty()).unwrap_or_else(|| "python3".into())
}

pub struct LlamaCppServerBackend {
    server: Mutex<Child>,
    log_path: PathBuf,
    client: OpenAiBackend,
    identity: ModelIdentity,
}

impl LlamaCppServerBackend {
    /// Starts the server for `path` (whose sha256 is `digest`) and waits until it
    /// answers. `context_size` defaults to 4096 tokens: teacher prompts are long.
    pub async fn start(name: &str, path: &Path, digest: String, context_size: Option<u32>) -> Result<LlamaCppServerBackend, ModelError> {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).map_err(|error| ModelError::Load(format!("no free loopback port: {error}")))?.port();
        let log_path = std::env::temp_dir().join(format!("flowc-llama-cpp-{}-{port}.log", std::process::id()));
        let log = File::create(&log_path).map_err(|error| ModelError::Load(format!("cannot create {}: {error}", log_path.display())))?;
        let log_for_stderr = log.try_clone().map_err(|error| ModelError::Load(error.to_string()))?;
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let mut command = Command::new(python_program());
        command
            .args(["-m", "llama_cpp.server", "--model"])
            .arg(path)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--n_ctx", &context_size.unwrap_or(4096).to_string()])
            .args(["--n_threads", &threads.to_string()])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_for_stderr);
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to kill the
        // server when flowc dies, so no orphan keeps the port and the memory.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command.spawn().map_err(|error| {
            ModelError::Load(format!("could not start `{} -m llama_cpp.server` ({error}); run the README set-up, or set FLOWC_PYTHON", python_program()))
        })?;
        let base_url = format!("http://127.0.0.1:{port}/v1");
        let config = HttpBackendConfig {
            model: name.to_string(),
            base_url: Some(base_url.clone()),
            api_key_variable: None,
            // A local teacher can take minutes on a long prompt; it never rate-limits.
            http: HttpSettings { timeout: Duration::from_secs(900), ..HttpSettings::default() },
        };
        let client = OpenAiBackend::new(config)?;
        let file_name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let backend = LlamaCppServerBackend {
            server: Mutex::new(child),
            log_path,
            client,
            // The port changes each run and must not reach cache keys; the engine does.
            identity: ModelIdentity { backend: "gguf".into(), model: file_name, file_sha256: Some(digest), endpoint: Some("llama.cpp server".into()) },
        };
        backend.wait_until_ready(&base_url).await?;
        Ok(backend)
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    async fn wait_until_ready(&self, base_url: &str) -> Result<(), ModelError> {
        let probe_client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().map_err(|error| ModelError::Load(error.to_string()))?;
        let started = Instant::now();
        loop {
            let exited = self.server.lock().expect("the server handle is never poisoned").try_wait().ok().flatten();
            if let Some(status) = exited {
                return Err(ModelError::Load(format!("the llama.cpp server exited with {status} before it was ready:\n{}", self.log_tail())));
            }
            let probe = probe_client.get(format!("{base_url}/models")).send().await;
            if matches!(probe, Ok(response) if response.status().is_success()) {
                return Ok(());
            }
            if started.elapsed() > READINESS_DEADLINE {
                return Err(ModelError::Load(format!("the llama.cpp server was not ready after {} s:\n{}", READINESS_DEADLINE.as_secs(), self.log_tail())));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

#[async_trait]
impl ModelBackend for LlamaCppServerBackend {
    fn identity(&self) -> ModelIdentity {
        self.identity.clone()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        self.client.chat(request).await
    }
}

impl Drop for LlamaCppServerBackend {
    fn drop(&mut self) {
        if let Ok(mut child) = self.server.lock() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.log_path);
    }
}
