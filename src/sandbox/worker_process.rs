//! flowc's side of one worker process: start it, exchange a line with it under a
//! deadline, and when it dies, find out why.
//!
//! All I/O here is blocking and runs on the pool's own threads (see
//! [`super::pool`]), never on the async runtime: a read waits in `poll(2)` with the
//! call's deadline, so a worker that hangs costs a thread its wait, not a runtime
//! worker.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::protocol::{forgets_every_source_before_keeping, WorkerReady, WorkerSetup, PROTOCOL_VERSION};
use super::SandboxError;

/// How long a new worker may take to become ready. Starting the flowc binary takes
/// milliseconds; this is generous for a loaded machine.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of a dead worker's stderr is kept to explain its death.
const STDERR_TAIL_BYTES: usize = 8 * 1024;

/// The most one read from a worker's stdout takes at once.
const READ_CHUNK_BYTES: usize = 64 * 1024;

pub struct WorkerProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    /// Bytes read from stdout past the last complete line.
    unread: Vec<u8>,
    /// What each read from stdout lands in, kept for the worker's life: a fresh
    /// zeroed 64 KiB per exchange cost a `calloc` (a 64 KiB memset) and a `free`
    /// large enough to make the allocator consolidate its fast bins, twice per
    /// request of a two-node plan.
    read_chunk: Box<[u8]>,
    /// The ids of the sources this worker keeps, by the rule the worker itself
    /// follows (`WorkerSources`): what flowc need not send it again.
    known_sources: HashSet<u64>,
    /// Drains stderr so the worker can never block on it, keeping the tail.
    stderr_reader: Option<JoinHandle<Vec<u8>>>,
    stopped: bool,
}

/// Why an exchange did not return a line.
pub enum ExchangeFailure {
    /// The deadline passed first; the worker is still running.
    TimedOut,
    /// The response grew past the allowed size; the worker is still running.
    TooLong,
    /// The worker closed its stdout or refused input: it died, or is dying.
    Closed,
}

/// How a worker process ended.
pub struct WorkerEnding {
    pub status: Option<ExitStatus>,
    pub stderr: String,
}

impl WorkerProcess {
    /// Starts `program arguments...`, sends the setup line and waits for the worker
    /// to report ready. The error is a sentence for [`SandboxError::Worker`].
    pub fn start(program: &Path, arguments: &[String], max_memory_bytes: u64) -> Result<WorkerProcess, String> {
        let mut command = Command::new(program);
        command
            .args(arguments)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Code cannot read the environment anyway; an empty one makes sure no
            // secret (API keys live in flowc's environment) is even in the process.
            // The dynamic loader's path is kept so the binary can start wherever
            // flowc could.
            .env_clear();
        if let Some(library_path) = std::env::var_os("LD_LIBRARY_PATH") {
            command.env("LD_LIBRARY_PATH", library_path);
        }
        let mut child = command
            .spawn()
            .map_err(|error| format!("could not start the worker `{}`: {error}", program.display()))?;
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("the worker's pipes could not be opened".into());
        };
        let stderr_reader = std::thread::Builder::new()
            .name("sandbox-worker-stderr".into())
            .spawn(move || keep_tail(stderr))
            .map_err(|error| format!("could not start a thread to read the worker's errors: {error}"))?;
        let mut worker = WorkerProcess {
            child,
            stdin,
            stdout,
            unread: Vec::new(),
            read_chunk: vec![0u8; READ_CHUNK_BYTES].into_boxed_slice(),
            known_sources: HashSet::new(),
            stderr_reader: Some(stderr_reader),
            stopped: false,
        };
        worker.handshake(max_memory_bytes).map_err(|problem| {
            let ending = worker.stop();
            let mut message = format!("the worker `{}` did not start: {problem}", program.display());
            if let Some(status) = ending.status.filter(|status| !status.success()) {
                message.push_str(&format!(" ({})", describe_status(status)));
            }
            if !ending.stderr.trim().is_empty() {
                message.push_str(&format!("; it said: {}", ending.stderr.trim()));
            }
            message
        })?;
        Ok(worker)
    }

    fn handshake(&mut self, max_memory_bytes: u64) -> Result<(), String> {
        let setup = WorkerSetup {
            protocol: PROTOCOL_VERSION,
            max_memory_bytes,
        };
        let mut line = serde_json::to_vec(&setup).map_err(|error| error.to_string())?;
        line.push(b'\n');
        let reply = self
            .exchange(&line, Instant::now() + STARTUP_TIMEOUT, 64 * 1024)
            .map_err(|failure| match failure {
                ExchangeFailure::TimedOut => format!("it was not ready within {} s", STARTUP_TIMEOUT.as_secs()),
                ExchangeFailure::TooLong | ExchangeFailure::Closed => "it exited or answered something else".to_owned(),
            })?;
        let ready: WorkerReady = serde_json::from_slice(&reply).map_err(|_| {
            format!(
                "it answered `{}` instead of the sandbox handshake; is it a flowc binary?",
                String::from_utf8_lossy(&reply).chars().take(200).collect::<String>()
            )
        })?;
        if ready.protocol != PROTOCOL_VERSION {
            return Err(format!(
                "it speaks sandbox protocol {} and this flowc speaks {PROTOCOL_VERSION}",
                ready.protocol
            ));
        }
        Ok(())
    }

    /// Whether this worker keeps the source `id`, so a call can name it alone.
    pub fn knows_source(&self, id: u64) -> bool {
        self.known_sources.contains(&id)
    }

    /// Records that the definition of `id` is being sent, forgetting every source
    /// first when the worker will, because its table is full.
    pub fn record_source_sent(&mut self, id: u64) {
        if forgets_every_source_before_keeping(self.known_sources.contains(&id), self.known_sources.len()) {
            self.known_sources.clear();
        }
        self.known_sources.insert(id);
    }

    /// Records that the worker said it does not have `id` after all.
    pub fn forget_source(&mut self, id: u64) {
        self.known_sources.remove(&id);
    }

    /// Writes `request` (lines ending in `\n`, of which only the last is answered)
    /// and reads one line back, waiting until `deadline` at most. The line comes back
    /// without its `\n`.
    pub fn exchange(
        &mut self,
        request: &[u8],
        deadline: Instant,
        max_line_bytes: usize,
    ) -> Result<Vec<u8>, ExchangeFailure> {
        // A worker reads its requests whole before answering, and they are far
        // smaller than what it can take in, so the write does not wait on the worker.
        if self.stdin.write_all(request).and_then(|()| self.stdin.flush()).is_err() {
            return Err(ExchangeFailure::Closed);
        }
        self.read_line(deadline, max_line_bytes)
    }

    fn read_line(&mut self, deadline: Instant, max_line_bytes: usize) -> Result<Vec<u8>, ExchangeFailure> {
        let mut scanned = 0;
        loop {
            if let Some(offset) = self.unread[scanned..].iter().position(|&byte| byte == b'\n') {
                let end = scanned + offset;
                let mut line: Vec<u8> = self.unread.drain(..=end).collect();
                line.pop();
                return Ok(line);
            }
            scanned = self.unread.len();
            if self.unread.len() > max_line_bytes {
                return Err(ExchangeFailure::TooLong);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ExchangeFailure::TimedOut);
            }
            if !wait_until_readable(self.stdout.as_raw_fd(), deadline - now) {
                continue; // woke without data: the loop checks the deadline again
            }
            match self.stdout.read(&mut self.read_chunk) {
                Ok(0) => return Err(ExchangeFailure::Closed),
                Ok(count) => self.unread.extend_from_slice(&self.read_chunk[..count]),
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Err(ExchangeFailure::Closed),
            }
        }
    }

    /// Whether the process is still running (a worker can die between calls, for
    /// example when someone kills it; the pool then replaces it before it gets work).
    pub fn is_running(&mut self) -> bool {
        !self.stopped && matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the process if it is still running, reaps it and collects what it wrote
    /// to stderr. Safe to call more than once.
    pub fn stop(&mut self) -> WorkerEnding {
        if self.stopped {
            return WorkerEnding {
                status: None,
                stderr: String::new(),
            };
        }
        self.stopped = true;
        // A worker that is dying by itself (an abort) is given a moment to finish, so
        // its exit status and its last words are its own and not our SIGKILL's.
        let status = match wait_briefly(&mut self.child, Duration::from_millis(500)) {
            Some(status) => Some(status),
            None => {
                let _ = self.child.kill();
                self.child.wait().ok()
            }
        };
        let stderr = self
            .stderr_reader
            .take()
            .and_then(|reader| reader.join().ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        WorkerEnding { status, stderr }
    }

    /// Kills the process at once (a timeout: it will not stop by itself).
    pub fn kill(&mut self) {
        if !self.stopped {
            let _ = self.child.kill();
        }
        self.stop();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits up to `limit` for the child to exit by itself.
fn wait_briefly(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let give_up = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < give_up => std::thread::sleep(Duration::from_millis(2)),
            _ => return None,
        }
    }
}

/// `poll(2)` on one descriptor: true when it is readable (or closed), false when
/// `timeout` passed or a signal interrupted the wait.
fn wait_until_readable(descriptor: i32, timeout: Duration) -> bool {
    let mut target = libc::pollfd {
        fd: descriptor,
        events: libc::POLLIN,
        revents: 0,
    };
    // Round up so a wait of 0.4 ms does not become a busy loop of zero-length polls.
    let milliseconds = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
    // SAFETY: one valid pollfd, and its count.
    let ready = unsafe { libc::poll(&mut target, 1, milliseconds) };
    ready > 0
}

fn keep_tail(mut stderr: impl Read) -> Vec<u8> {
    let mut tail = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stderr.read(&mut chunk) {
            Ok(0) => return tail,
            Ok(count) => {
                tail.extend_from_slice(&chunk[..count]);
                if tail.len() > STDERR_TAIL_BYTES {
                    tail.drain(..tail.len() - STDERR_TAIL_BYTES);
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return tail,
        }
    }
}

/// "exit status 70", "killed by signal 6 (SIGABRT)".
pub fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    match status.signal() {
        Some(signal) => {
            let name = match signal {
                libc::SIGABRT => " (SIGABRT)",
                libc::SIGKILL => " (SIGKILL)",
                libc::SIGSEGV => " (SIGSEGV)",
                libc::SIGBUS => " (SIGBUS)",
                libc::SIGXFSZ => " (SIGXFSZ)",
                _ => "",
            };
            format!("killed by signal {signal}{name}")
        }
        None => "ended in an unknown way".into(),
    }
}

/// Why a worker died in the middle of a call, as the call's error.
///
/// Rust aborts the process when an allocation fails, after printing "memory
/// allocation of N bytes failed"; with `RLIMIT_AS` in place that is how a memory bomb
/// ends. A native stack overflow prints "has overflowed its stack".
pub fn death_as_error(ending: &WorkerEnding, max_memory_bytes: u64) -> SandboxError {
    let stderr = ending.stderr.as_str();
    if stderr.contains("memory allocation of") || stderr.contains("out of memory") {
        return SandboxError::MemoryLimit {
            bytes: max_memory_bytes,
        };
    }
    if stderr.contains("has overflowed its stack") {
        return SandboxError::Runtime {
            message: "the code nests too deeply for the interpreter (its native stack ran out)".into(),
        };
    }
    let how = ending.status.map(describe_status).unwrap_or_else(|| "ended".into());
    let mut message = format!("the worker process died while running the code ({how})");
    let last_words = stderr.trim();
    if !last_words.is_empty() {
        let start = last_words.len().saturating_sub(500);
        let start = (start..last_words.len())
            .find(|&index| last_words.is_char_boundary(index))
            .unwrap_or(0);
        message.push_str(&format!(": {}", &last_words[start..]));
    }
    SandboxError::Worker { message }
}
