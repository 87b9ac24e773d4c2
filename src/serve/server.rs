//! The HTTP side of the local edge: binding, hyper's accept loop (one task per connection,
//! each request answered by [`Edge::respond`] and logged) and stopping on a signal.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use tokio::net::TcpListener;

use super::{Edge, ServeError, Served};

/// A listening socket and the address to show for it.
pub struct Bound {
    pub listener: TcpListener,
    /// Where a browser on this machine reaches the server: loopback when bound to every
    /// interface (an unspecified address is not something to type into a browser).
    pub shown: SocketAddr,
    pub every_interface: bool,
}

/// Listens on `addr` (port 0: any free one).
pub async fn bind(addr: SocketAddr) -> Result<Bound, ServeError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AddrInUse => ServeError::PortInUse(addr.port()),
            _ => ServeError::Listen { addr, source },
        })?;
    let bound = listener.local_addr().map_err(ServeError::LocalAddr)?;
    let every_interface = bound.ip().is_unspecified();
    let shown = match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bound.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), bound.port())
        }
        _ => bound,
    };
    Ok(Bound {
        listener,
        shown,
        every_interface,
    })
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM. The handlers are installed before the server
/// starts, so an early signal is not lost to the default handler.
pub fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, ServeError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt =
            signal(SignalKind::interrupt()).map_err(|e| ServeError::Signal("Ctrl-C", e))?;
        let mut terminate =
            signal(SignalKind::terminate()).map_err(|e| ServeError::Signal("SIGTERM", e))?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async move {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// Accepts connections until `shutdown` completes; each connection is served on its own task.
pub async fn run(
    listener: TcpListener,
    edge: Arc<Edge>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, viewer) = match accepted {
            Ok(a) => a,
            // Out of file descriptors and the like: wait a little rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let edge = edge.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let edge = edge.clone();
                async move { Ok::<_, Infallible>(handle(&edge, request, viewer).await) }
            });
            // A viewer that goes away mid-response is not an error worth reporting.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Answers a request from hyper and logs it. The body is dropped: GET and HEAD carry none
/// that matters, and the function never sees one.
async fn handle(
    edge: &Edge,
    request: Request<hyper::body::Incoming>,
    viewer: SocketAddr,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let (parts, _body) = request.into_parts();
    let (response, rewritten) = edge
        .respond(&parts.method, &parts.uri, &parts.headers, viewer)
        .await;
    (edge.log)(&Served {
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string()),
        rewritten,
        status: response.status().as_u16(),
        elapsed: started.elapsed(),
    });
    response
}
