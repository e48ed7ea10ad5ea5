//! A long-running akapit: the model and the index loaded once, answering the HTTP API, the
//! search page and MCP over streamable HTTP (`serve`), or MCP over stdio (`mcp`).
//!
//! - `live`: the current generation, switched when a build publishes a new one;
//! - `queue`: the model's thread, batching what arrives together, with a bounded queue;
//! - `service`: requests' parameters and limits, answered off the async threads;
//! - `http`: routes, the page, JSON errors; `gate`: `Host`, `Origin` and token checks;
//! - `mcp`: the tools; `failure`: this layer's error, as an HTTP status or an MCP error.

mod failure;
mod gate;
mod http;
mod live;
mod mcp;
mod queue;
mod service;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::ServiceExt;
use tokio_util::sync::CancellationToken;

pub use live::{Live, ModelLoader};
pub use service::Service;

use crate::ui::Ui;

/// How often the manifest is looked at for a newly published generation.
const REFRESH_EVERY: Duration = Duration::from_millis(250);

/// Errors that stop a server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("listening on {host} would let other machines query the index; give --token SECRET (clients then send `Authorization: Bearer SECRET`), or listen on 127.0.0.1")]
    NeedsToken { host: IpAddr },
    #[error("the server failed: {0}")]
    Runtime(String),
}

/// Where and how `serve` listens.
pub struct Options {
    pub host: IpAddr,
    pub port: u16,
    /// Required when `host` is not a loopback address.
    pub token: Option<String>,
    /// Host names accepted in the `Host` header besides `localhost` and IP addresses.
    pub allow_hosts: Vec<String>,
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("akapit-serve")
        .build()
        .map_err(|e| Error::Runtime(e.to_string()))
}

/// Follows the index: switches to each generation a build publishes, saying so on stderr.
fn follow(service: Arc<Service>, ui: Ui, stop: CancellationToken) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(REFRESH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            let live = Arc::clone(&service);
            if let Ok(Some(generation)) =
                tokio::task::spawn_blocking(move || live.live.refresh()).await
            {
                ui.note(format!("now answering from {generation}"));
            }
        }
    });
}

/// Waits for SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// Serves HTTP until SIGINT or SIGTERM, then finishes the requests in flight and returns.
/// `label` is the index folder as `status` names it.
pub fn http(service: Service, label: String, options: Options, ui: Ui) -> Result<(), Error> {
    if !options.host.is_loopback() && options.token.is_none() {
        return Err(Error::NeedsToken { host: options.host });
    }
    let service = Arc::new(service);
    let _ = service.live.refresh();
    runtime()?.block_on(async move {
        let stop = CancellationToken::new();
        follow(Arc::clone(&service), ui, stop.clone());
        let addr = SocketAddr::new(options.host, options.port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        let tools = mcp::Tools::new(Arc::clone(&service), label.clone());
        // The gate checks Host and Origin for every path, /mcp included.
        let mcp = StreamableHttpService::new(
            move || Ok(tools.clone()),
            Arc::new(LocalSessionManager::default()),
            StreamableHttpServerConfig::default()
                .with_legacy_session_mode(false)
                .with_json_response(true)
                .with_sse_keep_alive(None)
                .disable_allowed_hosts()
                .with_cancellation_token(stop.child_token()),
        );
        let gate = Arc::new(gate::Gate::new(&options.allow_hosts, options.token.clone()));
        let app = http::router(Arc::clone(&service), label, gate, mcp, ui);
        let shown = match bound.ip() {
            ip if ip.is_unspecified() => {
                SocketAddr::new(IpAddr::from([127, 0, 0, 1]), bound.port())
            }
            _ => bound,
        };
        ui.note(format!(
            "serving http://{shown}/ (the page), /api/ and /mcp; Ctrl-C stops"
        ));
        if service.live.current().is_err() {
            ui.warn(service.no_index.clone());
        }
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| Error::Runtime(e.to_string()))?;
        stop.cancel();
        ui.note("stopped: every request in flight was answered");
        Ok(())
    })
}

/// Speaks MCP on stdin and stdout until the client closes them (or SIGINT/SIGTERM).
pub fn stdio(service: Service, label: String, ui: Ui) -> Result<(), Error> {
    let service = Arc::new(service);
    let _ = service.live.refresh();
    runtime()?.block_on(async move {
        let stop = CancellationToken::new();
        follow(Arc::clone(&service), ui, stop.clone());
        if service.live.current().is_err() {
            ui.warn(service.no_index.clone());
        }
        let running = mcp::Tools::new(Arc::clone(&service), label)
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| Error::Runtime(e.to_string()))?;
        let cancel = running.cancellation_token();
        tokio::select! {
            ended = running.waiting() => { ended.map_err(|e| Error::Runtime(e.to_string()))?; }
            _ = shutdown_signal() => { cancel.cancel(); }
        }
        stop.cancel();
        Ok(())
    })
}
