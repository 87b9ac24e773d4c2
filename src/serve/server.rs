//! The HTTP side of the local edge: hyper's accept loop, one task per connection, each request
//! answered by [`Edge::respond`] and logged.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use tokio::net::TcpListener;

use super::{Edge, Served};

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
