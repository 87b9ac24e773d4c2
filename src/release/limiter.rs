//! Adaptive concurrency for the S3 requests of a publish: additive increase, multiplicative
//! decrease (AIMD, as TCP does), and a byte budget for large bodies.
//!
//! Why adaptive: S3 takes at least 3,500 writes per second per prefix and answers 503 SlowDown
//! beyond. How many requests in flight that is depends on the round trip (a 20 ms copy: 70; at
//! 200 ms: 700), and most of a publish is small requests (server-side copies, small files) whose
//! cost is one round trip each. So the window starts at the ceiling (`upload.concurrency`, 256 by
//! default, what s5cmd runs), halves when S3 answers 503 (once per window: the answers to requests
//! sent under the larger window do not halve it again) and grows by one per window of successful
//! answers.
//!
//! Why a byte budget: a large body costs bandwidth, not a request. A hundred 16 MiB parts in
//! flight on a 100 Mbit/s link each crawl for two minutes (S3 drops connections that go quiet),
//! and a request-count window would hand them every slot. Bodies above [`LARGE_BODY`] also take
//! their size from a fixed budget ([`BYTE_BUDGET`], well above the bandwidth-delay product of
//! any link a publish runs on), so a few of them fill the link and the rest of the window goes
//! to small requests. Bodies stream from disk: the budget bounds the link, not memory.
//!
//! How it learns of SlowDown: the SDK's standard retry already retries 503 SlowDown with jittered
//! exponential back-off, inside `send()`. A per-request interceptor ([`ThrottleWatch`]) reads the
//! status of every attempt, retries included, so the window shrinks at the first SlowDown rather
//! than after the SDK has given up; the same watch tells the engine whether the final answer was
//! a throttle (then the request is sent again, later, under the smaller window).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bodies above this size are bounded by [`BYTE_BUDGET`] as well as by the window.
pub const LARGE_BODY: u64 = 1 << 20;
/// Bytes of large bodies in flight at once: 64 MiB covers 10 Gbit/s at 50 ms.
pub const BYTE_BUDGET: u64 = 64 << 20;
/// The window never shrinks below this.
const FLOOR: usize = 1;

/// How the window moved during a publish (in the JSON report, `concurrency`).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// `upload.concurrency` (lowered if the open-file limit could not be raised for it).
    pub ceiling: usize,
    /// The smallest window of the publish.
    pub lowest: usize,
    /// The window at the end.
    pub last: usize,
    /// Attempts S3 answered with 503 (SlowDown): each halved the window or fell in a window that
    /// had already been halved.
    pub throttled: u64,
}

#[derive(Debug)]
pub struct Limiter {
    slots: Arc<Semaphore>,
    /// In KiB, so that the budget fits a semaphore's u32 requests.
    bytes: Arc<Semaphore>,
    state: Mutex<State>,
    ceiling: usize,
    throttled: AtomicU64,
}

#[derive(Debug)]
struct State {
    limit: usize,
    /// Slots to withdraw as requests finish: the window shrank below what is in flight.
    debt: usize,
    /// Bumped on every decrease; a throttle from an older epoch was sent under a larger window.
    epoch: u64,
    successes: usize,
    lowest: usize,
}

impl Limiter {
    pub fn new(ceiling: usize) -> Arc<Self> {
        let ceiling = ceiling.max(FLOOR);
        Arc::new(Limiter {
            slots: Arc::new(Semaphore::new(ceiling)),
            bytes: Arc::new(Semaphore::new(kib(BYTE_BUDGET) as usize)),
            state: Mutex::new(State {
                limit: ceiling,
                debt: 0,
                epoch: 0,
                successes: 0,
                lowest: ceiling,
            }),
            ceiling,
            throttled: AtomicU64::new(0),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for room for one request with a body of `body` bytes (0 for copies, heads...).
    pub async fn acquire(self: &Arc<Self>, body: u64) -> Permit {
        // Bytes first: a large body waiting for the link must not hold a slot meanwhile.
        let bytes = if body > LARGE_BODY {
            Some(
                self.bytes
                    .clone()
                    .acquire_many_owned(kib(body.min(BYTE_BUDGET)))
                    .await
                    .expect("the limiter never closes its semaphores"),
            )
        } else {
            None
        };
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the limiter never closes its semaphores");
        let epoch = self.state().epoch;
        Permit {
            limiter: self.clone(),
            slot: Some(slot),
            _bytes: bytes,
            epoch,
            last_throttled: Arc::new(AtomicBool::new(false)),
        }
    }

    /// S3 answered 503 to a request sent in `epoch`.
    fn throttle(&self, epoch: u64) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
        let mut s = self.state();
        if epoch != s.epoch {
            return;
        }
        s.epoch += 1;
        s.successes = 0;
        let new = (s.limit / 2).max(FLOOR);
        let mut withdraw = s.limit - new;
        s.limit = new;
        s.lowest = s.lowest.min(new);
        // Idle slots go at once; the rest as requests in flight finish.
        withdraw -= self.slots.forget_permits(withdraw);
        s.debt += withdraw;
    }

    /// S3 answered something other than 503: one more success towards a wider window.
    fn success(&self) {
        let mut s = self.state();
        s.successes += 1;
        if s.successes < s.limit || s.limit >= self.ceiling {
            return;
        }
        s.successes = 0;
        s.limit += 1;
        if s.debt > 0 {
            s.debt -= 1;
        } else {
            self.slots.add_permits(1);
        }
    }

    fn release(&self, slot: OwnedSemaphorePermit) {
        let mut s = self.state();
        if s.debt > 0 {
            s.debt -= 1;
            slot.forget();
        } else {
            drop(slot);
        }
    }

    pub fn summary(&self) -> Summary {
        let s = self.state();
        Summary {
            ceiling: self.ceiling,
            lowest: s.lowest,
            last: s.limit,
            throttled: self.throttled.load(Ordering::Relaxed),
        }
    }
}

fn kib(bytes: u64) -> u32 {
    bytes.div_ceil(1024) as u32
}

/// Room for one request; attach [`Permit::watch`] to it so the limiter hears S3's answers.
#[derive(Debug)]
pub struct Permit {
    limiter: Arc<Limiter>,
    slot: Option<OwnedSemaphorePermit>,
    _bytes: Option<OwnedSemaphorePermit>,
    epoch: u64,
    last_throttled: Arc<AtomicBool>,
}

impl Permit {
    /// An interceptor for the request this permit admits (`.customize().interceptor(..)`).
    pub fn watch(&self) -> ThrottleWatch {
        ThrottleWatch {
            limiter: self.limiter.clone(),
            epoch: self.epoch,
            last_throttled: self.last_throttled.clone(),
        }
    }

    /// The request's last attempt was answered 503: the SDK gave up while S3 still throttled.
    pub fn throttled(&self) -> bool {
        self.last_throttled.load(Ordering::Relaxed)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            self.limiter.release(slot);
        }
    }
}

/// Reads the HTTP status of every attempt of one request (the SDK's retries included).
#[derive(Debug)]
pub struct ThrottleWatch {
    limiter: Arc<Limiter>,
    epoch: u64,
    last_throttled: Arc<AtomicBool>,
}

/// S3 asks a client to slow down with 503: `SlowDown`, or `ServiceUnavailable` ("Reduce your
/// request rate"). Other errors (500, 4xx) say nothing about the request rate.
pub fn is_throttle(status: u16) -> bool {
    status == 503
}

impl Intercept for ThrottleWatch {
    fn name(&self) -> &'static str {
        "ThrottleWatch"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // No response (a connection error, a timeout) says nothing about S3's request rate.
        if let Some(response) = context.response() {
            let throttled = is_throttle(response.status().as_u16());
            self.last_throttled.store(throttled, Ordering::Relaxed);
            if throttled {
                self.limiter.throttle(self.epoch);
            } else {
                self.limiter.success();
            }
        }
        Ok(())
    }
}

/// Raises the soft limit on open files for `ceiling` requests (a socket and a file each, plus
/// the idle connections of the pool) and returns the ceiling the limit allows: macOS starts
/// shells at 256 and many Linux setups at 1,024.
pub fn fit_open_files(ceiling: usize) -> usize {
    const RESERVE: u64 = 64;
    let wanted = 2 * ceiling as u64 + RESERVE;
    match rlimit::increase_nofile_limit(wanted) {
        Ok(limit) if limit < wanted => {
            ((limit.saturating_sub(RESERVE) / 2) as usize).clamp(FLOOR, ceiling)
        }
        _ => ceiling,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(l: &Limiter) -> usize {
        l.state().limit
    }

    #[tokio::test]
    async fn a_burst_of_throttles_from_one_window_halves_it_once() {
        let l = Limiter::new(256);
        let permits: Vec<Permit> = futures::future::join_all((0..256).map(|_| l.acquire(0))).await;
        for p in &permits {
            l.throttle(p.epoch);
        }
        assert_eq!(limit(&l), 128);
        let s = l.summary();
        assert_eq!((s.lowest, s.throttled), (128, 256));
        // A request sent under the halved window that is throttled halves it again.
        drop(permits);
        let p = l.acquire(0).await;
        l.throttle(p.epoch);
        assert_eq!(limit(&l), 64);
    }

    #[tokio::test]
    async fn the_window_bounds_what_is_in_flight_and_shrinks_as_requests_finish() {
        let l = Limiter::new(8);
        let mut permits: Vec<Permit> =
            futures::future::join_all((0..8).map(|_| l.acquire(0))).await;
        assert_eq!(l.slots.available_permits(), 0);
        l.throttle(permits[0].epoch);
        // Four of the eight in flight must finish before a new request may start.
        for _ in 0..4 {
            permits.pop();
        }
        assert_eq!(l.slots.available_permits(), 0);
        permits.pop();
        assert_eq!(l.slots.available_permits(), 1);
        assert!(l.slots.clone().try_acquire_owned().is_ok());
    }

    #[tokio::test]
    async fn idle_slots_are_withdrawn_at_once() {
        let l = Limiter::new(16);
        let p = l.acquire(0).await;
        l.throttle(p.epoch);
        assert_eq!(limit(&l), 8);
        assert_eq!(l.slots.available_permits(), 7);
        drop(p);
        assert_eq!(l.slots.available_permits(), 8);
    }

    #[tokio::test]
    async fn successes_grow_the_window_by_one_per_window_up_to_the_ceiling() {
        let l = Limiter::new(10);
        let p = l.acquire(0).await;
        l.throttle(p.epoch);
        drop(p);
        assert_eq!(limit(&l), 5);
        for _ in 0..4 {
            l.success();
        }
        assert_eq!(limit(&l), 5);
        l.success();
        assert_eq!(limit(&l), 6);
        assert_eq!(l.slots.available_permits(), 6);
        for _ in 0..1000 {
            l.success();
        }
        assert_eq!(limit(&l), 10);
        assert_eq!(l.slots.available_permits(), 10);
        assert_eq!(l.summary().lowest, 5);
    }

    #[tokio::test]
    async fn the_window_never_drops_below_one() {
        let l = Limiter::new(4);
        for _ in 0..10 {
            let p = l.acquire(0).await;
            l.throttle(p.epoch);
        }
        assert_eq!(limit(&l), 1);
        let p = l.acquire(0).await;
        drop(p);
        assert_eq!(l.slots.available_permits(), 1);
    }

    #[tokio::test]
    async fn large_bodies_share_a_byte_budget_small_ones_do_not() {
        let l = Limiter::new(256);
        let big: Vec<Permit> = futures::future::join_all((0..4).map(|_| l.acquire(16 << 20))).await;
        assert_eq!(l.bytes.available_permits(), 0);
        // A fifth large body waits for the link, a small one does not.
        let fifth = l.acquire(16 << 20);
        tokio::pin!(fifth);
        assert!(futures::poll!(&mut fifth).is_pending());
        let small = l.acquire(LARGE_BODY).await;
        drop(small);
        drop(big);
        let _fifth = fifth.await;
        // A body larger than the whole budget takes all of it rather than waiting forever.
        let huge = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            drop(_fifth);
            l.acquire(1 << 30).await
        })
        .await;
        assert!(huge.is_ok());
    }

    #[test]
    fn only_503_is_a_throttle() {
        assert!(is_throttle(503));
        for status in [200, 400, 403, 404, 412, 500, 502] {
            assert!(!is_throttle(status), "{status}");
        }
    }
}
