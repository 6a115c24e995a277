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

/// llama-cpp-python's server, started so that every request is read from scratch.
///
/// Why: the server keeps the last request's tokens and, when the next prompt starts
/// with them, reads only the rest; a prompt equal to the last one gets its last
/// token read again alone. A prompt read in pieces computes slightly differently
/// from one read whole, so a greedy answer depended on the request before it:
/// the same teacher request gave other texts, fresh and right after itself
/// (seen with the 1.5B teacher and with SmolLM2), so a build from an empty call
/// cache and a rerun of `flowc run` with `engine = "llama.cpp"` could differ.
/// Resetting the context before each request makes an answer a function of its
/// request alone (tested: `tests/openai_llama_cpp_server.rs`); the price is that
/// a prompt shared by consecutive requests is read again each time.
const SERVER_READING_EVERY_PROMPT_WHOLE: &str = "\
import runpy
import llama_cpp.llama as engine
generate_after_the_last_request = engine.Llama.generate
def generate_from_scratch(self, tokens, *args, **kwargs):
    self.reset()
    return generate_after_the_last_request(self, tokens, *args, **kwargs)
engine.Llama.generate = generate_from_scratch
runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)
";

/// Loading a 1 GB model on a busy 2-core machine takes seconds; a broken install
/// must not hang a build.
const READINESS_DEADLINE: Duration = Duration::from_secs(300);

/// The Python that has llama-cpp-python: `$FLOWC_PYTHON`, else `python3`.
pub fn python_program() -> String {
    std::env::var("FLOWC_PYTHON").ok().filter(|value| !value.is_empty()).unwrap_or_else(|| "python3".into())
}

/// The threads the server decodes with (one token at a time): `$FLOWC_LLAMA_CPP_THREADS`,
/// else every core. Prompts are always read with every core.
///
/// Why a knob: ggml's threads wait for each other at every operation of a decoded
/// token by spinning, so when another process holds a core (a compile, a second
/// build, the in-process student) one late thread stalls the rest. Measured on a
/// 2-core machine with the 1.5B teacher: idle, 2 threads 31 tokens/s and 1 thread
/// 22; beside a compile, 2 threads 0.8 tokens/s and 1 thread 18. The answer to the
/// prompt tried was the same bytes with 1 and 2 threads (each row of a product is
/// one thread's work).
fn decode_threads(cores: usize) -> usize {
    let Some(setting) = std::env::var("FLOWC_LLAMA_CPP_THREADS").ok().filter(|value| !value.trim().is_empty()) else { return cores };
    thread_count(&setting).unwrap_or_else(|| {
        eprintln!("warning: FLOWC_LLAMA_CPP_THREADS={setting:?} is not a whole number of at least 1; the llama.cpp server decodes with all {cores} cores");
        cores
    })
}

/// A thread count as a person writes it: a whole number of at least one.
fn thread_count(setting: &str) -> Option<usize> {
    setting.trim().parse::<usize>().ok().filter(|threads| *threads >= 1)
}

/// A llama.cpp server process on a free loopback port, killed when dropped (and by
/// the kernel if flowc dies first). Its log goes to a temporary file, whose tail
/// explains a failed start.
pub struct LlamaCppServer {
    child: Mutex<Child>,
    port: u16,
    log_path: PathBuf,
}

impl LlamaCppServer {
    /// Starts the server for the GGUF file at `path` and waits until it answers.
    pub async fn start(path: &Path, context_size: u32, threads: usize) -> Result<LlamaCppServer, ModelError> {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).map_err(|error| ModelError::Load(format!("no free loopback port: {error}")))?.port();
        let log_path = std::env::temp_dir().join(format!("flowc-llama-cpp-{}-{port}.log", std::process::id()));
        let log = File::create(&log_path).map_err(|error| ModelError::Load(format!("cannot create {}: {error}", log_path.display())))?;
        let log_for_stderr = log.try_clone().map_err(|error| ModelError::Load(error.to_string()))?;
        let mut command = Command::new(python_program());
        command
            .args(["-c", SERVER_READING_EVERY_PROMPT_WHOLE, "--model"])
            .arg(path)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--n_ctx", &context_size.to_string()])
            .args(["--n_threads", &decode_threads(threads).to_string()])
            .args(["--n_threads_batch", &threads.to_string()])
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
        let server = LlamaCppServer { child: Mutex::new(child), port, log_path };
        server.wait_until_ready().await?;
        Ok(server)
    }

    /// The OpenAI-compatible base URL (`http://127.0.0.1:PORT/v1`).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    async fn wait_until_ready(&self) -> Result<(), ModelError> {
        let probe_client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().map_err(|error| ModelError::Load(error.to_string()))?;
        let started = Instant::now();
        loop {
            let exited = self.child.lock().expect("the server handle is never poisoned").try_wait().ok().flatten();
            if let Some(status) = exited {
                return Err(ModelError::Load(format!("the llama.cpp server exited with {status} before it was ready:\n{}", self.log_tail())));
            }
            let probe = probe_client.get(format!("{}/models", self.base_url())).send().await;
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

impl Drop for LlamaCppServer {
    fn drop(&mut self) {
        if let Ok(mut child) = self.child.lock() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.log_path);
    }
}

/// A GGUF model behind a [`LlamaCppServer`] that this backend owns.
pub struct LlamaCppServerBackend {
    client: OpenAiBackend,
    identity: ModelIdentity,
    // Dropped last: the server outlives the client's last request.
    _server: LlamaCppServer,
}

impl LlamaCppServerBackend {
    /// Starts the server for `path` (whose sha256 is `digest`). `context_size`
    /// defaults to 4096 tokens: teacher prompts are long.
    pub async fn start(name: &str, path: &Path, digest: String, context_size: Option<u32>) -> Result<LlamaCppServerBackend, ModelError> {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let server = LlamaCppServer::start(path, context_size.unwrap_or(4096), threads).await?;
        let config = HttpBackendConfig {
            model: name.to_string(),
            base_url: Some(server.base_url()),
            api_key_variable: None,
            // A local teacher can take minutes on a long prompt; it never rate-limits.
            http: HttpSettings { timeout: Duration::from_secs(900), ..HttpSettings::default() },
        };
        let client = OpenAiBackend::new(config)?;
        let file_name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        // The port changes each run and must not reach cache keys; the engine does.
        let identity = ModelIdentity { backend: "gguf".into(), model: file_name, file_sha256: Some(digest), endpoint: Some("llama.cpp server".into()) };
        Ok(LlamaCppServerBackend { client, identity, _server: server })
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

#[cfg(test)]
mod tests {
    use super::thread_count;

    #[test]
    fn a_thread_count_is_a_whole_number_of_at_least_one() {
        assert_eq!(thread_count("1"), Some(1));
        assert_eq!(thread_count(" 3 "), Some(3));
        assert_eq!(thread_count("0"), None);
        assert_eq!(thread_count("one"), None);
        assert_eq!(thread_count("-2"), None);
    }
}
