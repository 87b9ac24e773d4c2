//! A TCP proxy for the publish benchmark: loopback hides the network, and this kernel has no
//! netem, so this adds what a CI runner talking to S3 pays: a fixed delay before every request
//! and a shared bandwidth cap. It also counts requests by method (HTTP/1.1 without pipelining:
//! after the server has answered, the client's next bytes start a new request).
//!
//! The same proxy as benches/latency_proxy.py, in Rust: on a 2-core machine shared with builds,
//! Python's event loop costs ~0.2 ms of CPU per request, which alone would add seconds to the
//! 10,000 copies of a one-page change of a documentation site.
//!
//! usage: latency_proxy LISTEN_PORT TARGET_PORT DELAY_MS MBIT STATS_FILE   (MBIT 0 = no cap)
//! Built by scripts/bench-publish (`cargo build --release --example latency_proxy`); on SIGTERM
//! or SIGINT it writes the counts as JSON to STATS_FILE.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

const METHODS: [&str; 6] = ["GET", "PUT", "POST", "HEAD", "DELETE", "PATCH"];

struct Shared {
    delay: Duration,
    /// Bytes per second, shared by every connection and both directions; 0 = no cap.
    rate: f64,
    bucket: tokio::sync::Mutex<(f64, Instant)>,
    counts: Mutex<BTreeMap<String, u64>>,
}

impl Shared {
    async fn throttle(&self, n: usize) {
        if self.rate <= 0.0 {
            return;
        }
        // Held across the sleep: senders queue for the link, as packets do.
        let mut bucket = self.bucket.lock().await;
        let now = Instant::now();
        let (tokens, stamp) = *bucket;
        let tokens =
            (tokens + (now - stamp).as_secs_f64() * self.rate).min(self.rate * 0.05) - n as f64;
        *bucket = (tokens, now);
        if tokens < 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(-tokens / self.rate)).await;
        }
    }

    fn count(&self, data: &[u8]) -> bool {
        let Some(method) = METHODS
            .iter()
            .find(|m| data.starts_with(m.as_bytes()) && data.get(m.len()) == Some(&b' '))
        else {
            return false;
        };
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry(method.to_string()).or_default() += 1;
        *counts.entry("total".into()).or_default() += 1;
        true
    }
}

async fn upstream(
    shared: Arc<Shared>,
    idle: Arc<AtomicBool>,
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
) {
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            break;
        }
        if idle.swap(false, Ordering::AcqRel) && shared.count(&buf[..n]) && !shared.delay.is_zero()
        {
            tokio::time::sleep(shared.delay).await;
        }
        shared.throttle(n).await;
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

async fn downstream(
    shared: Arc<Shared>,
    idle: Arc<AtomicBool>,
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
) {
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            break;
        }
        // The server answered: the client's next bytes are a new request.
        idle.store(true, Ordering::Release);
        shared.throttle(n).await;
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

async fn handle(shared: Arc<Shared>, client: TcpStream, target: u16) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let idle = Arc::new(AtomicBool::new(true));
    tokio::join!(
        upstream(shared.clone(), idle.clone(), client_read, server_write),
        downstream(shared, idle, server_read, client_write),
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 5 {
        eprintln!("usage: latency_proxy LISTEN_PORT TARGET_PORT DELAY_MS MBIT STATS_FILE");
        return Ok(());
    }
    let listen: u16 = args[0].parse()?;
    let target: u16 = args[1].parse()?;
    let shared = Arc::new(Shared {
        delay: Duration::from_secs_f64(args[2].parse::<f64>()? / 1000.0),
        rate: args[3].parse::<f64>()? * 1e6 / 8.0,
        bucket: tokio::sync::Mutex::new((0.0, Instant::now())),
        counts: Mutex::new(BTreeMap::new()),
    });
    let stats_file = args[4].clone();
    // One thread: the proxy should cost the machine as little as it can.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(("127.0.0.1", listen)).await?;
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    if let Ok((client, _)) = accepted {
                        tokio::spawn(handle(shared.clone(), client, target));
                    }
                }
                _ = term.recv() => break,
                _ = tokio::signal::ctrl_c() => break,
            }
        }
        let counts = shared
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        std::fs::write(&stats_file, serde_json::to_string(&counts)?)?;
        Ok(())
    })
}
