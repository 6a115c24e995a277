//! A bounded queue in front of a fixed number of run slots.
//!
//! A request takes a free slot at once, or waits in the queue if fewer than
//! `capacity` requests wait already; otherwise it is refused ([`QueueFull`]) and
//! answered 429 with `Retry-After`. Refusing early is what keeps latency bounded
//! under overload: a queue without a bound only turns overload into timeouts. A
//! waiting request whose client goes away leaves the queue (its future is dropped).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct AdmissionQueue {
    slots: Arc<Semaphore>,
    slot_count: usize,
    capacity: usize,
    waiting: Arc<AtomicUsize>,
}

/// Every slot is busy and the queue holds `capacity` requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull {
    pub capacity: usize,
}

/// A run slot, held until dropped.
pub struct AdmissionTicket {
    _permit: OwnedSemaphorePermit,
}

/// Counts a request as waiting for as long as it lives, however its wait ends.
struct WaitingGuard(Arc<AtomicUsize>);

impl Drop for WaitingGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl AdmissionQueue {
    pub fn new(slots: usize, capacity: usize) -> AdmissionQueue {
        let slots = slots.max(1);
        AdmissionQueue { slots: Arc::new(Semaphore::new(slots)), slot_count: slots, capacity, waiting: Arc::new(AtomicUsize::new(0)) }
    }

    /// A slot now, a place in the queue, or [`QueueFull`].
    pub async fn admit(&self) -> Result<AdmissionTicket, QueueFull> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(AdmissionTicket { _permit: permit });
        }
        // Reserve a place first, so that two requests cannot both take the last one.
        let before = self.waiting.fetch_add(1, Ordering::AcqRel);
        let guard = WaitingGuard(Arc::clone(&self.waiting));
        if before >= self.capacity {
            return Err(QueueFull { capacity: self.capacity });
        }
        let permit = Arc::clone(&self.slots).acquire_owned().await.expect("the semaphore is never closed");
        drop(guard);
        Ok(AdmissionTicket { _permit: permit })
    }

    /// Requests waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire).min(self.capacity)
    }

    /// Runs executing now.
    pub fn running(&self) -> usize {
        self.slot_count - self.slots.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_beyond_slots_plus_queue_and_admits_again_when_a_slot_frees() {
        let queue = Arc::new(AdmissionQueue::new(1, 1));
        let first = queue.admit().await.unwrap();
        assert_eq!(queue.running(), 1);
        let waiting_queue = Arc::clone(&queue);
        let second = tokio::spawn(async move { waiting_queue.admit().await.map(|_| ()) });
        while queue.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(queue.admit().await.err(), Some(QueueFull { capacity: 1 }));
        assert_eq!(queue.waiting(), 1, "a refused request does not stay counted");
        drop(first);
        assert_eq!(second.await.unwrap(), Ok(()));
        assert_eq!(queue.waiting(), 0);
        assert!(queue.admit().await.is_ok());
    }
}
