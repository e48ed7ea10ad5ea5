//! The MCP tools (`search`, `related`, `show`, `status`) over the official Rust SDK, for
//! stdio (`akapit mcp`) and streamable HTTP (`/mcp` of `akapit serve`). Each tool answers
//! with the same JSON as the HTTP API, whose results carry their citation (file, page or
//! lines, section). A malformed call is an MCP error (invalid parameters); a call that names
//! what the index does not hold is a tool result marked as an error, which the model reads.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{json, Value};

use super::failure::{Failure, Kind};
use super::service::{self, Params, Service, MAX_CONTEXT, MAX_K};

const INSTRUCTIONS: &str = "akapit searches a local collection of documents (articles, reports, \
books; Polish and English) and answers with passages, each cited by its file, page or lines, \
and section. Use `search` with a question in natural language; quote the passages you rely on \
with their citation. Use `show` to read a hit in its context, `related` to find passages on \
the same subject in other documents, `status` to see what is indexed.";

#[derive(Clone)]
pub struct Tools {
    service: Arc<Service>,
    label: String,
}

impl Tools {
    pub fn new(service: Arc<Service>, label: String) -> Tools {
        Tools { service, label }
    }
}

fn schema(value: Value) -> Arc<JsonObject> {
    match value {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(JsonObject::new()),
    }
}

fn tools() -> Vec<Tool> {
    let read_only = || ToolAnnotations::new().read_only(true).open_world(false);
    let k = json!({"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 10,
        "description": "How many passages to return."});
    let mode = json!({"type": "string", "enum": ["hybrid", "dense", "lexical"], "default": "hybrid",
        "description": "Ranking: hybrid (meaning and keywords; best in general), dense (meaning only, across languages and paraphrase), lexical (exact keywords: names, numbers, rare terms)."});
    vec![
        Tool::new(
            "search",
            "Find the passages of the indexed documents that answer a question. Ask in Polish or \
English, as a full question or a few keywords. Each result has the passage `text`, its \
`highlights` (character offsets of the sentences that answer best), and its citation: `doc` \
(the file), `paragraph`, `page` (PDF) or `start_line`/`end_line` (text files), and `section` \
(the heading path). Scores are comparable within one answer only.",
            schema(json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "minLength": 1, "maxLength": crate::answer::MAX_QUESTION_CHARS,
                        "description": "The question or keywords."},
                    "k": k,
                    "mode": mode,
                    "in": {"type": "array", "items": {"type": "string"}, "maxItems": 32,
                        "description": "Only documents matching these paths, folders or globs (as `doc` names them, e.g. \"reports/*.pdf\")."},
                    "min_score": {"type": "number", "description": "Leave out results scoring below this."}
                },
                "required": ["query"],
                "additionalProperties": false
            })),
        )
        .with_annotations(read_only()),
        Tool::new(
            "related",
            "Find passages in other documents on the same subject as a given passage (by `doc` \
and `paragraph`, as a search result names them) or as a given `text`. Use it to follow a \
topic across documents or to find other sources for a claim.",
            schema(json!({
                "type": "object",
                "properties": {
                    "doc": {"type": "string", "description": "The document of the passage, as `doc` in a result."},
                    "paragraph": {"type": "integer", "minimum": 1, "description": "The passage's `paragraph` within doc."},
                    "text": {"type": "string", "maxLength": crate::answer::MAX_TEXT_CHARS,
                        "description": "A passage given as text instead of doc and paragraph."},
                    "k": k,
                    "mode": mode
                },
                "additionalProperties": false
            })),
        )
        .with_annotations(read_only()),
        Tool::new(
            "show",
            "Read a document's passages as indexed: one passage (`paragraph`) with `context` \
neighbours on each side, the passages that start on a PDF `page`, or the whole document \
(neither). Use it to read a search result in its place before quoting it; the passage asked \
for has `target: true`.",
            schema(json!({
                "type": "object",
                "properties": {
                    "doc": {"type": "string", "description": "The document, as `doc` in a result."},
                    "paragraph": {"type": "integer", "minimum": 1},
                    "context": {"type": "integer", "minimum": 0, "maximum": MAX_CONTEXT, "default": 1,
                        "description": "Passages shown on each side of paragraph."},
                    "page": {"type": "integer", "minimum": 1}
                },
                "required": ["doc"],
                "additionalProperties": false
            })),
        )
        .with_annotations(read_only()),
        Tool::new(
            "status",
            "What is indexed: the documents with their passage counts, the model, when the index \
was built, files changed or added since (stale), files skipped and why, and whether the index \
is intact.",
            schema(json!({"type": "object", "properties": {}, "additionalProperties": false})),
        )
        .with_annotations(read_only()),
    ]
}

impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("akapit", env!("CARGO_PKG_VERSION"))
                    .with_title("akapit: semantic search of local documents"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = request.arguments.unwrap_or_default();
        let params = Params::from_object(&arguments).map_err(invalid)?;
        let label = self.label.clone();
        let result = match request.name.as_ref() {
            "search" => to_value(self.service.run(move |g| service::search(g, &params)).await),
            "related" => to_value(
                self.service
                    .run(move |g| service::related(g, &params))
                    .await,
            ),
            "show" => to_value(self.service.run(move |g| service::show(g, &params)).await),
            "status" => to_value(
                self.service
                    .run(move |g| service::status(g, &params, label))
                    .await,
            ),
            other => {
                return Err(ErrorData::invalid_params(
                    format!(
                    "there is no tool {other:?}; the tools are search, related, show and status"
                ),
                    None,
                ))
            }
        };
        match result {
            Ok(value) => Ok(CallToolResult::structured(value).into()),
            Err(failed) if failed.kind == Kind::BadRequest => Err(invalid(failed)),
            Err(failed) => {
                Ok(CallToolResult::error(vec![ContentBlock::text(failed.message)]).into())
            }
        }
    }
}

fn to_value<T: serde::Serialize>(result: Result<T, Failure>) -> Result<Value, Failure> {
    result.and_then(|v| {
        serde_json::to_value(v)
            .map_err(|e| Failure::new(Kind::Internal, format!("cannot serialise the answer: {e}")))
    })
}

fn invalid(failed: Failure) -> ErrorData {
    ErrorData::invalid_params(failed.message, None)
}
