//! The limits on one sandboxed call, and how each is enforced.
//!
//! | limit | enforced by | on excess |
//! |---|---|---|
//! | steps ([`SandboxLimits::max_steps`]) | starlark's tick counter in the worker: one tick per function call or loop iteration, checked every 1,000 ticks | [`StepLimit`](super::SandboxError::StepLimit), the worker lives on |
//! | call depth ([`MAX_CALL_DEPTH`]) | starlark's call-stack limit | [`Runtime`](super::SandboxError::Runtime) "too deep", the worker lives on |
//! | memory ([`SandboxLimits::max_memory_bytes`]) | `RLIMIT_AS` on the worker process (the hard wall), and starlark's own heap check at half of it (an early, clean stop) | [`MemoryLimit`](super::SandboxError::MemoryLimit); past the wall the worker dies and is replaced |
//! | wall-clock time ([`SandboxLimits::timeout`]) | the worker stops itself at the deadline (checked with the steps); flowc kills a worker that has not answered [`KILL_GRACE`] after it | [`Timeout`](super::SandboxError::Timeout); a killed worker is replaced |
//!
//! Steps are counted, not timed, so a step limit stops the same program at the same
//! point every time; the timeout is the backstop for work that takes long without
//! taking steps (one huge `sorted`, say).

use std::time::Duration;

/// Limits on one call. The memory limit applies to the worker process, so every
/// worker of a [`Sandbox`](super::Sandbox) has the same one; steps and time are per
/// call.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxLimits {
    /// Function calls plus loop iterations one call may take (the module's top level
    /// included).
    pub max_steps: u64,
    /// Address space of a worker process, in bytes: interpreter, binary and the code's
    /// data together. The flowc binary and the interpreter's stack take about 100 MiB
    /// of it before any code runs (see [`INTERPRETER_STACK_BYTES`]).
    pub max_memory_bytes: u64,
    /// Wall-clock time for one call, from the moment a worker takes it.
    pub timeout: Duration,
}

impl Default for SandboxLimits {
    /// 10 million steps (a few seconds of the busiest loops; a GSM-Hard program takes
    /// under a hundred), 512 MiB, 10 seconds.
    fn default() -> SandboxLimits {
        SandboxLimits {
            max_steps: 10_000_000,
            max_memory_bytes: 512 * 1024 * 1024,
            timeout: Duration::from_secs(10),
        }
    }
}

/// The deepest chain of calls code may make. Python's default recursion limit is
/// 1,000; starlark frames cost native stack, and this depth fits the interpreter
/// thread's stack with room to spare in debug builds.
pub const MAX_CALL_DEPTH: usize = 500;

/// Native stack of the worker's interpreter thread. Evaluation recurses on the native
/// stack (calls, nested expressions), so the thread gets far more than the 2 MiB
/// default: [`MAX_CALL_DEPTH`] frames of a debug build fit in it. It is reserved up
/// front, so it counts towards the memory limit.
pub const INTERPRETER_STACK_BYTES: usize = 64 * 1024 * 1024;

/// How long after the timeout flowc waits for a worker to stop itself before it
/// kills the process: the worker checks its deadline only between steps.
pub const KILL_GRACE: Duration = Duration::from_millis(250);

/// The smallest memory limit accepted: below this a worker cannot even start.
pub const MIN_MEMORY_BYTES: u64 = 128 * 1024 * 1024;

/// Starlark's heap check stops code cleanly (the worker survives) when the heap
/// passes this share of the memory limit; the OS limit is the wall behind it.
pub(crate) fn starlark_heap_limit(max_memory_bytes: u64) -> usize {
    usize::try_from(max_memory_bytes / 2).unwrap_or(usize::MAX)
}

/// Checks limits before any worker starts, so a bad configuration is one clear error.
pub(crate) fn validate(limits: &SandboxLimits) -> Result<(), String> {
    if limits.max_steps == 0 {
        return Err("the step limit must be at least 1".into());
    }
    if limits.max_memory_bytes < MIN_MEMORY_BYTES {
        return Err(format!(
            "the memory limit must be at least {} MiB (the worker itself needs about 100 MiB)",
            MIN_MEMORY_BYTES / (1024 * 1024)
        ));
    }
    if limits.timeout.is_zero() {
        return Err("the timeout must be longer than zero".into());
    }
    Ok(())
}

/// Applied by the worker process to itself, before it runs any code:
///
/// - `RLIMIT_AS` caps its address space: an allocation past it fails, Rust aborts the
///   process, and flowc reports the call as a [`MemoryLimit`](super::SandboxError::MemoryLimit).
///   Starlark's heap limit alone cannot do this: it is checked every 1,000 steps, and
///   one step (`[0] * 2000000000`) can ask for 16 GB.
/// - `RLIMIT_CORE` 0: those aborts must not write core files.
/// - `RLIMIT_FSIZE` 0: the interpreter has no way to write files; if one were found,
///   writing would still fail (the worker's pipes are not files, so this does not
///   touch them).
/// - glibc gets one malloc arena: each extra arena reserves 64 MiB of address space,
///   which would eat the limit without being used.
pub(crate) fn apply_to_this_worker_process(max_memory_bytes: u64) -> Result<(), String> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; it is called before the worker
    // starts its interpreter thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    set_resource_limit(libc::RLIMIT_CORE, 0, "RLIMIT_CORE")?;
    set_resource_limit(libc::RLIMIT_FSIZE, 0, "RLIMIT_FSIZE")?;
    set_resource_limit(libc::RLIMIT_AS, max_memory_bytes, "RLIMIT_AS")?;
    Ok(())
}

#[cfg(target_os = "linux")]
type ResourceKind = libc::__rlimit_resource_t;
#[cfg(not(target_os = "linux"))]
type ResourceKind = libc::c_int;

fn set_resource_limit(resource: ResourceKind, value: u64, name: &str) -> Result<(), String> {
    let limit = libc::rlimit {
        rlim_cur: value as libc::rlim_t,
        rlim_max: value as libc::rlim_t,
    };
    // SAFETY: setrlimit reads the struct we pass and changes only this process.
    let status = unsafe { libc::setrlimit(resource, &limit) };
    if status == 0 {
        Ok(())
    } else {
        Err(format!(
            "could not set {name} to {value}: {}",
            std::io::Error::last_os_error()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_limits_are_refused() {
        assert_eq!(validate(&SandboxLimits::default()), Ok(()));
        assert!(validate(&SandboxLimits { max_steps: 0, ..SandboxLimits::default() }).is_err());
        let tiny = SandboxLimits { max_memory_bytes: 1024, ..SandboxLimits::default() };
        assert!(validate(&tiny).unwrap_err().contains("at least 128 MiB"));
        assert!(validate(&SandboxLimits { timeout: Duration::ZERO, ..SandboxLimits::default() }).is_err());
    }
}
