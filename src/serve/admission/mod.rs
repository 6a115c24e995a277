//! Admission control: how many runs execute at once, how many wait, and what
//! happens to the rest (429 at once, never a silent drop).

pub mod queue;

pub use queue::{AdmissionQueue, AdmissionTicket, QueueFull};
