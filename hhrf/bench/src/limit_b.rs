//! Limit B: an in-process hyper server answering the hello function's bytes (the body
//! `hello world from C at <path>` and the same two headers), with no process per call. Run
//! by `fezz-bench limit-b-server` as a server process of its own, so its memory and CPU are
//! measured as any other server's.

use std::convert::Infallible;
use std::net::SocketAddr;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// What the hello function answers for `path`.
pub fn hello_body(path: &str) -> String {
    format!("hello world from C at {path}\n")
}

async fn hello(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = hello_body(request.uri().path());
    let response = Response::builder()
        .header("content-type", "text/plain; charset=utf-8")
        .header("x-accept-count", "0")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())));
    Ok(response)
}

/// Serves on `listen` until killed, on a runtime with one worker per CPU (as hhrf's).
pub fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        eprintln!("limit-b listening on http://{}", listener.local_addr()?);
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(hello);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_the_hello_functions() {
        assert_eq!(hello_body("/world"), "hello world from C at /world\n");
    }
}
