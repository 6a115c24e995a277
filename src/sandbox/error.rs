//! How a sandboxed call can fail.
//!
//! Each variant's `Display` is the message a person sees on the node that failed, so it
//! says what happened in the code's terms (a line, a limit, a function name) and never
//! in the sandbox's (pipes, processes), except for [`SandboxError::Worker`], which is
//! the one failure that is not the code's fault.
//!
//! The error crosses the pipe between a worker and flowc, hence the serde derives; the
//! wire form is internal and may change with the protocol version.

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, Clone, PartialEq, Serialize, Deserialize)]
// Externally tagged (`{"timeout":{"seconds":2.0}}`): an internally tagged enum
// buffers its fields, and buffered numbers do not deserialize while serde_json's
// `arbitrary_precision` feature is on (starlark turns it on for the whole build).
#[serde(rename_all = "snake_case")]
pub enum SandboxError {
    /// The source does not parse (this includes `load`, `while` and other constructs
    /// the language leaves out: they are refused before anything runs).
    #[error("{}", syntax_message(message, *line))]
    Syntax { message: String, line: Option<u32> },

    /// The code raised an error while running: a failed operation, a wrong argument,
    /// `fail(...)`, recursion deeper than the call-depth limit.
    #[error("the code failed: {message}")]
    Runtime { message: String },

    /// The code took more steps (function calls plus loop iterations) than allowed.
    #[error("the code was stopped after {steps} steps (function calls and loop iterations); it may loop forever, or the step limit is too low for it")]
    StepLimit { steps: u64 },

    /// The code tried to use more memory than allowed.
    #[error("the code was stopped because it needed more than {} of memory", describe_bytes(*bytes))]
    MemoryLimit { bytes: u64 },

    /// The code ran for longer than allowed, by the wall clock.
    #[error("the code was stopped after running for {seconds} s (the time limit)")]
    Timeout { seconds: f64 },

    /// The source ran, but defines no function of the name that was called.
    #[error("the code defines no function `{name}`")]
    MissingFunction { name: String },

    /// An argument cannot enter the sandbox, or the result cannot leave it (a value
    /// JSON has no form for: a function, a set, an integer beyond 64 bits, NaN...).
    #[error("{message}")]
    UnsupportedValue { message: String },

    /// The sandbox itself failed: a worker could not start, or died for a reason that
    /// is not one of the limits above.
    #[error("the code sandbox failed: {message}")]
    Worker { message: String },
}

fn syntax_message(message: &str, line: Option<u32>) -> String {
    match line {
        Some(line) => format!("syntax error in the code at line {line}: {message}"),
        None => format!("syntax error in the code: {message}"),
    }
}

/// `536870912` → `512 MiB`: limits are set in bytes but read in MiB.
fn describe_bytes(bytes: u64) -> String {
    const MEBIBYTE: u64 = 1024 * 1024;
    if bytes >= MEBIBYTE && bytes % MEBIBYTE == 0 {
        format!("{} MiB", bytes / MEBIBYTE)
    } else if bytes >= MEBIBYTE {
        format!("{:.1} MiB", bytes as f64 / MEBIBYTE as f64)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_limit_in_the_users_terms() {
        assert_eq!(
            SandboxError::MemoryLimit {
                bytes: 512 * 1024 * 1024
            }
            .to_string(),
            "the code was stopped because it needed more than 512 MiB of memory"
        );
        assert_eq!(
            SandboxError::Syntax {
                message: "unexpected `:`".into(),
                line: Some(3)
            }
            .to_string(),
            "syntax error in the code at line 3: unexpected `:`"
        );
        assert_eq!(
            SandboxError::Timeout { seconds: 2.5 }.to_string(),
            "the code was stopped after running for 2.5 s (the time limit)"
        );
        assert_eq!(
            SandboxError::MissingFunction { name: "run".into() }.to_string(),
            "the code defines no function `run`"
        );
    }

    #[test]
    fn errors_survive_the_wire() {
        for error in [
            SandboxError::Syntax {
                message: "bad".into(),
                line: None,
            },
            SandboxError::Syntax {
                message: "bad".into(),
                line: Some(7),
            },
            SandboxError::Timeout { seconds: 0.3 },
            SandboxError::StepLimit { steps: u64::MAX },
            SandboxError::MemoryLimit { bytes: 1 << 40 },
        ] {
            let text = serde_json::to_string(&error).unwrap();
            assert_eq!(serde_json::from_str::<SandboxError>(&text).unwrap(), error, "{text}");
        }
    }
}
