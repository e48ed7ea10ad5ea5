//! The HTTP front: the JSON API under `/api/`, the search page at `/`, MCP at `/mcp`, all
//! behind the gate (`Host`, `Origin`, token) and the body limit. Nothing here reads a file:
//! the page is compiled in, and every answer comes from the index.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use super::failure::{Failure, Kind, Result};
use super::gate::Gate;
use super::live::Generation;
use super::mcp::Tools;
use super::service::{self, Params, Service};
use crate::text::sanitize;
use crate::ui::Ui;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::StreamableHttpService;

/// The response header naming the index generation that answered.
pub const GENERATION_HEADER: &str = "x-akapit-generation";
/// The response header giving the version of the JSON shapes (README, "The HTTP API"): raised
/// by a change that breaks a client of the shapes.
pub const FORMAT_HEADER: &str = "x-akapit-json";
pub const FORMAT_VERSION: &str = "1";

/// Request bodies larger than this are refused (a related text is 20,000 characters at most).
pub const MAX_BODY_BYTES: usize = 1 << 20;

const PAGE: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/page.js");
const STYLE: &str = include_str!("page/page.css");
/// The page runs only its own script and style, talks only to this server, and cannot be
/// framed: even a document text that slipped into the page as HTML could not run.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

#[derive(Clone)]
struct App {
    service: Arc<Service>,
    /// The index folder as `status` names it.
    label: String,
}

/// The whole HTTP application, with the MCP service mounted at `/mcp`.
pub fn router(
    service: Arc<Service>,
    label: String,
    gate: Arc<Gate>,
    mcp: StreamableHttpService<Tools, LocalSessionManager>,
    ui: Ui,
) -> Router {
    let app = App { service, label };
    Router::new()
        .route("/", get(|| async { page(PAGE, "text/html; charset=utf-8") }))
        .route(
            "/page.js",
            get(|| async { page(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/page.css",
            get(|| async { page(STYLE, "text/css; charset=utf-8") }),
        )
        .route("/api/search", get(api).post(api))
        .route("/api/related", get(api).post(api))
        .route("/api/show", get(api).post(api))
        .route("/api/status", get(api))
        .nest_service("/mcp", mcp)
        .fallback(|method: Method| async move {
            failure(&Failure::new(
                Kind::NotFound,
                format!(
                    "{method} of this path is not served; the API is /api/search, /api/related, /api/show and /api/status"
                ),
            ))
        })
        .with_state(app)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(Door { gate, ui }, guard))
}

/// Refuses a request the gate does not let through, or whose body is declared too large;
/// caps every body at `MAX_BODY_BYTES` as it is read (MCP's included); adds the headers every
/// answer carries.
async fn guard(State(door): State<Door>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let checked = door
        .gate
        .check(request.headers(), request.uri().path())
        .and_then(|()| match declared {
            Some(bytes) if bytes > MAX_BODY_BYTES as u64 => Err(too_large()),
            _ => Ok(()),
        });
    let mut response = match checked {
        Ok(()) => {
            let (parts, body) = request.into_parts();
            let body = Body::new(http_body_util::Limited::new(body, MAX_BODY_BYTES));
            next.run(Request::from_parts(parts, body)).await
        }
        Err(refused) => failure(&refused),
    };
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // One line per request: no query string, which may hold a private question.
    let generation = headers
        .get(GENERATION_HEADER)
        .and_then(|g| g.to_str().ok())
        .map_or(String::new(), |g| format!(" {g}"));
    door.ui.note(format!(
        "{method} {} {} {:.1} ms{generation}",
        sanitize::escape_lines(&path),
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    ));
    response
}

/// What every request passes: the gate, and the log line it leaves on stderr.
#[derive(Clone)]
struct Door {
    gate: Arc<Gate>,
    ui: Ui,
}

fn page(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, PAGE_POLICY),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// Every `/api/` endpoint: the parameters of the request, answered by the endpoint's
/// function from `service`.
async fn api(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    query: RawQuery,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let params = params(method, query, body);
    match uri.path() {
        "/api/search" => answer(app, params, |g, p, _| service::search(g, p)).await,
        "/api/related" => answer(app, params, |g, p, _| service::related(g, p)).await,
        "/api/show" => answer(app, params, |g, p, _| service::show(g, p)).await,
        _ => answer(app, params, service::status).await,
    }
}

/// The parameters of a GET (its query string) or a POST (its JSON body).
fn params(
    method: Method,
    RawQuery(query): RawQuery,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Params> {
    if method != Method::POST {
        return Ok(Params::from_query(query.as_deref().unwrap_or("")));
    }
    if query.is_some_and(|q| !q.is_empty()) {
        return Err(Failure::bad_request(
            "a POST takes its parameters in a JSON body, not in the query string",
        ));
    }
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        _ => Failure::bad_request(format!("the body cannot be read: {rejection}")),
    })?;
    Params::from_json_bytes(&body)
}

async fn answer<T, F>(app: App, params: Result<Params>, work: F) -> Response
where
    T: Serialize + Send + 'static,
    F: FnOnce(&Generation, &Params, String) -> Result<T> + Send + 'static,
{
    let params = match params {
        Ok(params) => params,
        Err(refused) => return failure(&refused),
    };
    let label = app.label.clone();
    let answered = app
        .service
        .run(move |g| Ok((work(g, &params, label)?, g.manifest.generation.clone())))
        .await;
    match answered {
        Ok((value, generation)) => {
            let mut response = json(StatusCode::OK, &value);
            // Which generation answered: one request is always answered by one.
            if let Ok(name) = HeaderValue::from_str(&generation) {
                response.headers_mut().insert(GENERATION_HEADER, name);
            }
            response
        }
        Err(failed) => failure(&failed),
    }
}

fn too_large() -> Failure {
    Failure::new(
        Kind::TooLarge,
        format!("the body is larger than {MAX_BODY_BYTES} bytes"),
    )
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    error: &'a str,
    status: u16,
}

/// A failure as JSON: `{"error": message, "status": code}`.
pub fn failure(failed: &Failure) -> Response {
    let status = StatusCode::from_u16(failed.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json(
        status,
        &ErrorJson {
            error: &failed.message,
            status: failed.status(),
        },
    );
    if failed.kind == Kind::Unauthorized {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"akapit\""),
        );
    }
    response
}

fn json(status: StatusCode, value: &impl Serialize) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(FORMAT_HEADER, HeaderValue::from_static(FORMAT_VERSION));
    match serde_json::to_vec(value) {
        Ok(body) => (status, headers, body).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            headers,
            format!("{{\"error\":\"cannot serialise the answer: {e}\",\"status\":500}}"),
        )
            .into_response(),
    }
}
