//! The KeyValueStore the local function reads: one fixed version, or the deployed store
//! (live pointer, previews, password) re-read at most every [`POINTER_TTL`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use super::{Notice, Notify};
use crate::release::pointer::{LIVE_KEY, LivePointer};
use crate::release::shards::version_of;

/// How long a read of the live pointer is reused. The distribution reads the store on every
/// request; a local server asking AWS per request would be slow, and a second is well below
/// the KeyValueStore's own propagation time.
pub const POINTER_TTL: Duration = Duration::from_secs(1);

/// What the function's KeyValueStore holds.
pub enum Live {
    /// Always this pointer value (a local directory, or `serve --version` / `--preview`).
    Fixed(String),
    /// The deployed store (live pointer, previews, password), re-read at most every
    /// [`POINTER_TTL`].
    Pointer(LivePointer),
}

pub(super) type Store = BTreeMap<String, String>;

/// [`Live`] with the cache of its last read.
pub(super) struct StoreReader {
    live: Live,
    cache: tokio::sync::Mutex<Option<(Instant, Store)>>,
    /// The last read failed (reported once, not per request).
    failing: AtomicBool,
}

impl StoreReader {
    pub(super) fn new(live: Live) -> Self {
        StoreReader {
            live,
            cache: tokio::sync::Mutex::new(None),
            failing: AtomicBool::new(false),
        }
    }

    /// The store as the function will see it (`None`: unreadable). A change of the live
    /// version and the first of a run of failed reads go to `notify`.
    pub(super) async fn read(&self, notify: &Notify) -> Option<Store> {
        let pointer = match &self.live {
            Live::Fixed(v) => return Some(Store::from([(LIVE_KEY.to_string(), v.clone())])),
            Live::Pointer(pointer) => pointer,
        };
        let mut cache = self.cache.lock().await;
        if let Some((at, store)) = cache.as_ref()
            && at.elapsed() < POINTER_TTL
        {
            return Some(store.clone());
        }
        // One listing instead of a read per key: the previews and the password come along
        // with the live pointer.
        let read = match crate::release::previews::list_keys(pointer.client(), pointer.arn()).await
        {
            Ok(store) => {
                self.failing.store(false, Relaxed);
                store
            }
            Err(e) => {
                if !self.failing.swap(true, Relaxed) {
                    notify(&Notice::PointerError(e.to_string()));
                }
                // Not cached: the next request asks again.
                return None;
            }
        };
        let version = |s: &Store| s.get(LIVE_KEY).map(|v| version_of(v).to_string());
        let before = cache.as_ref().map(|(_, s)| version(s));
        let now = version(&read);
        if let Some(before) = before
            && before != now
        {
            notify(&Notice::LiveChanged {
                from: before,
                to: now,
            });
        }
        *cache = Some((Instant::now(), read.clone()));
        Some(read)
    }
}
