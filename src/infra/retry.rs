//! Calling AWS again while it answers "not yet": IAM roles that are seconds old, and
//! resources a distribution deleted moments ago still holds. One loop, two patiences.

use std::time::{Duration, Instant};

use std::error::Error;
use std::fmt::Debug;

use aws_smithy_runtime_api::client::result::SdkError;

use super::{InfraError, Stack, aws_err};

/// An AWS call that can be made again: a closure that sends a request.
pub(crate) trait SdkCall<T, E, R> {
    fn call(&mut self) -> impl Future<Output = Result<T, SdkError<E, R>>>;
}

impl<T, E, R, F, Fut> SdkCall<T, E, R> for F
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
{
    fn call(&mut self) -> impl Future<Output = Result<T, SdkError<E, R>>> {
        self()
    }
}

/// Calls `call` again while `propagating` says a role created seconds ago is not usable yet
/// (IAM is eventually consistent): up to 6 retries, 2 s doubling to 10 s.
pub(crate) async fn retry_while_role_propagates<T, E: Error + 'static, R: Debug>(
    action: &str,
    call: impl SdkCall<T, E, R>,
    propagating: impl Fn(&SdkError<E, R>) -> bool,
) -> Result<T, InfraError> {
    let delays = Delays {
        first: Duration::from_secs(2),
        longest: Duration::from_secs(10),
    };
    retry(action, call, propagating, delays, |attempt, _| {
        (attempt < 6).then_some(Duration::MAX)
    })
    .await
}

/// Calls `call` again while `in_use` says AWS still holds the resource for a distribution
/// deleted moments ago: ACM, CloudFront functions, policies and origin access controls stay
/// "in use" for minutes after the distribution is gone (terraform-provider-aws retries ACM
/// deletes for up to 10 minutes). Bounded by `stack.options.timeout`; says what it waits on.
pub(crate) async fn retry_while_in_use<T, E: Error + 'static, R: Debug>(
    stack: &Stack<'_>,
    what: &str,
    call: impl SdkCall<T, E, R>,
    in_use: impl Fn(&SdkError<E, R>) -> bool,
) -> Result<T, InfraError> {
    let timeout = stack.options.timeout;
    let delays = Delays {
        first: Duration::from_secs(1),
        longest: Duration::from_secs(30),
    };
    retry(&format!("delete {what}"), call, in_use, delays, |_, waited| {
        (waited < timeout).then(|| {
            stack.wait_line(&format!(
                "{what} is still in use by the deleted distribution; AWS releases it within minutes ({}s)",
                waited.as_secs()
            ));
            timeout.saturating_sub(waited)
        })
    })
    .await
}

/// The pause before the first retry, doubling up to `longest`.
struct Delays {
    first: Duration,
    longest: Duration,
}

/// Calls `call` until it succeeds, fails with an error `retryable` rejects, or `again` (given
/// the retries so far and the time since the first call) gives up by answering `None`; its
/// `Some` caps the next pause.
async fn retry<T, E: Error + 'static, R: Debug>(
    action: &str,
    mut call: impl SdkCall<T, E, R>,
    retryable: impl Fn(&SdkError<E, R>) -> bool,
    delays: Delays,
    mut again: impl FnMut(u32, Duration) -> Option<Duration>,
) -> Result<T, InfraError> {
    let started = Instant::now();
    let mut delay = delays.first;
    let mut attempt = 0;
    loop {
        let err = match call.call().await {
            Ok(out) => return Ok(out),
            Err(e) => e,
        };
        let cap = if retryable(&err) {
            again(attempt, started.elapsed())
        } else {
            None
        };
        let Some(cap) = cap else {
            return Err(aws_err(action, &err));
        };
        attempt += 1;
        tokio::time::sleep(delay.min(cap)).await;
        delay = (delay * 2).min(delays.longest);
    }
}
