//! What the server answers, for the HTTP API and the MCP tools alike: a request's
//! parameters checked against their limits, answered on the current generation off the
//! async threads, within a time limit, as the command line's `--json` shapes.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::failure::{Failure, Kind, Result};
use super::live::{Generation, Live};
use crate::answer::{self, Names, RelatedTo, Selection, MAX_QUESTION_CHARS, MAX_TEXT_CHARS};
use crate::embed::Embedder;
use crate::output::json::{AskJson, RelatedJson, ShowJson, StatusJson};
use crate::search::Mode;

/// A request that takes longer than this gets an error (its work is abandoned).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Results per request at most (`k`).
pub const MAX_K: usize = 100;
/// Neighbours on each side that `show` gives at most (`context`).
pub const MAX_CONTEXT: u32 = 50;
/// `in` patterns per request at most.
const MAX_PATTERNS: usize = 32;

/// A request's parameters, from a query string or a JSON object, as name and text pairs
/// (a JSON array gives one pair per element, as a repeated query parameter does).
#[derive(Debug, Default, Clone)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub fn from_query(query: &str) -> Params {
        Params {
            pairs: form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    pub fn from_json_bytes(bytes: &[u8]) -> Result<Params> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Params::default());
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Params::from_object(&map),
            Ok(_) => Err(Failure::bad_request("the body must be a JSON object")),
            Err(e) => Err(Failure::bad_request(format!(
                "the body is not valid JSON: {e}"
            ))),
        }
    }

    pub fn from_object(map: &Map<String, Value>) -> Result<Params> {
        let mut pairs = Vec::new();
        for (name, value) in map {
            let values = match value {
                Value::Array(items) => items.iter().collect(),
                Value::Null => Vec::new(),
                other => vec![other],
            };
            for value in values {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => {
                        return Err(Failure::bad_request(format!(
                            "{name} must be a string or a number"
                        )))
                    }
                };
                pairs.push((name.clone(), text));
            }
        }
        Ok(Params { pairs })
    }

    /// Fails on a parameter that is none of `known` (a misspelt one would be ignored).
    fn only(&self, known: &[&str]) -> Result<()> {
        match self
            .pairs
            .iter()
            .find(|(k, _)| !known.contains(&k.as_str()))
        {
            Some((name, _)) => Err(Failure::bad_request(format!(
                "unknown parameter {}; this request takes {}",
                quoted(name),
                known.join(", ")
            ))),
            None => Ok(()),
        }
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn one(&self, name: &str) -> Result<Option<&str>> {
        match self.all(name).as_slice() {
            [] => Ok(None),
            [value] => Ok(Some(value)),
            _ => Err(Failure::bad_request(format!(
                "{name} is given more than once"
            ))),
        }
    }

    fn number<T: FromStr + PartialOrd + std::fmt::Display>(
        &self,
        name: &str,
        min: T,
        max: T,
    ) -> Result<Option<T>> {
        let Some(text) = self.one(name)? else {
            return Ok(None);
        };
        match text.trim().parse::<T>() {
            Ok(n) if n >= min && n <= max => Ok(Some(n)),
            _ => Err(Failure::bad_request(format!(
                "{name} must be a number from {min} to {max}, not {}",
                quoted(text)
            ))),
        }
    }

    fn mode(&self) -> Result<Mode> {
        match self.one("mode")? {
            None => Ok(Mode::DEFAULT),
            Some(text) => Mode::ALL
                .into_iter()
                .find(|m| m.as_str() == text)
                .ok_or_else(|| {
                    Failure::bad_request(format!(
                        "mode must be dense, lexical or hybrid, not {}",
                        quoted(text)
                    ))
                }),
        }
    }

    fn text(&self, name: &str, limit: usize) -> Result<Option<&str>> {
        let Some(text) = self.one(name)? else {
            return Ok(None);
        };
        let chars = text.chars().count();
        if chars > limit {
            return Err(Failure::bad_request(format!(
                "{name} is {chars} characters long; the limit is {limit}"
            )));
        }
        Ok(Some(text))
    }
}

/// A value from a request, quoted and cut short for an error message.
fn quoted(text: &str) -> String {
    let short: String = text.chars().take(60).collect();
    let more = if short.len() < text.len() { "…" } else { "" };
    format!("{:?}", format!("{short}{more}"))
}

/// The server's state: the live index, and what to say while there is none.
pub struct Service {
    pub live: Live,
    /// The message for a request while no index exists (with the command that builds one).
    pub no_index: String,
}

impl Service {
    /// Runs `work` on a blocking thread with the current generation, within
    /// `REQUEST_TIMEOUT`.
    pub async fn run<T, F>(self: &Arc<Self>, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Generation) -> Result<T> + Send + 'static,
    {
        let service = Arc::clone(self);
        let task = tokio::task::spawn_blocking(move || {
            let generation = service.generation()?;
            work(&generation)
        });
        match tokio::time::timeout(REQUEST_TIMEOUT, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => Err(Failure::new(
                Kind::Internal,
                format!("the request failed inside akapit: {e}"),
            )),
            Err(_) => Err(Failure::new(
                Kind::Timeout,
                format!(
                    "the request took longer than {} s",
                    REQUEST_TIMEOUT.as_secs()
                ),
            )),
        }
    }

    fn generation(&self) -> Result<Arc<Generation>> {
        self.live.current().map_err(|problem| {
            Failure::new(
                Kind::Unavailable,
                match problem {
                    Some(problem) => format!("the index cannot be opened: {problem}"),
                    None => self.no_index.clone(),
                },
            )
        })
    }
}

/// `search`: `q` (or `query`), `k`, `mode`, `in` (repeatable), `min_score`.
pub fn search(generation: &Generation, params: &Params) -> Result<AskJson> {
    params.only(&["q", "query", "k", "mode", "in", "min_score"])?;
    let question = match (
        params.text("q", MAX_QUESTION_CHARS)?,
        params.text("query", MAX_QUESTION_CHARS)?,
    ) {
        (Some(q), None) | (None, Some(q)) => q,
        (Some(_), Some(_)) => return Err(Failure::bad_request("give q or query, not both")),
        (None, None) => {
            return Err(Failure::bad_request(
                "q is missing: the question to ask (query, for MCP)",
            ))
        }
    };
    let within = params.all("in");
    if within.len() > MAX_PATTERNS {
        return Err(Failure::bad_request(format!(
            "in is given {} times; the limit is {MAX_PATTERNS}",
            within.len()
        )));
    }
    let request = answer::Ask {
        question: question.to_string(),
        k: params.number("k", 1, MAX_K)?.unwrap_or(10),
        mode: params.mode()?,
        within: within.into_iter().map(str::to_string).collect(),
        min_score: params.number("min_score", f32::MIN, f32::MAX)?,
    };
    // The question waits for the model without holding one of the generation's readers.
    let embedder = generation.embedder.as_ref() as &dyn Embedder;
    let query = answer::question(&generation.manifest, Some(embedder), &request)?;
    let index = generation.reader();
    let found = answer::ask(&index, &query, &request, Names::Api)?;
    Ok(AskJson::new(&request, index.manifest(), &found))
}

/// `related`: `doc` and `paragraph`, or `text`; `k`, `mode`.
pub fn related(generation: &Generation, params: &Params) -> Result<RelatedJson> {
    params.only(&["doc", "paragraph", "text", "k", "mode"])?;
    let to = match (
        params.one("doc")?,
        params.number("paragraph", 1, u32::MAX)?,
        params.text("text", MAX_TEXT_CHARS)?,
    ) {
        (Some(doc), Some(paragraph), None) => RelatedTo::Passage {
            doc: PathBuf::from(doc),
            paragraph,
        },
        (None, None, Some(text)) => RelatedTo::Text(text.to_string()),
        (Some(_), None, None) => return Err(Failure::bad_request("doc needs paragraph")),
        (None, Some(_), None) => return Err(Failure::bad_request("paragraph needs doc")),
        (None, None, None) => RelatedTo::Text(String::new()),
        _ => {
            return Err(Failure::bad_request(
                "give text, or doc and paragraph, not both",
            ))
        }
    };
    let mode = params.mode()?;
    let k = params.number("k", 1, MAX_K)?.unwrap_or(10);
    let index = generation.reader();
    let embedder = generation.embedder.as_ref() as &dyn Embedder;
    let (source, hits) = answer::related(&index, Some(embedder), &to, mode, k, Names::Api)?;
    Ok(RelatedJson::new(&source, index.manifest(), mode, &hits))
}

/// `show`: `doc`, and `paragraph` (with `context`, default 1) or `page`.
pub fn show(generation: &Generation, params: &Params) -> Result<ShowJson> {
    params.only(&["doc", "paragraph", "context", "page"])?;
    let doc = params
        .one("doc")?
        .ok_or_else(|| Failure::bad_request("doc is missing: the document to show"))?;
    let selection = match (
        params.number("paragraph", 1, u32::MAX)?,
        params.number("page", 1, u32::MAX)?,
        params.number("context", 0, MAX_CONTEXT)?,
    ) {
        (Some(_), Some(_), _) => {
            return Err(Failure::bad_request("give paragraph or page, not both"))
        }
        (Some(paragraph), None, context) => Selection::Paragraph {
            paragraph,
            context: context.unwrap_or(1),
        },
        (None, _, Some(_)) => return Err(Failure::bad_request("context needs paragraph")),
        (None, Some(page), None) => Selection::Page(page),
        (None, None, None) => Selection::All,
    };
    let index = generation.reader();
    let shown = answer::show(&index, PathBuf::from(doc).as_path(), selection, Names::Api)?;
    Ok(ShowJson::new(&shown))
}

/// `status`: the index, its documents and model, what changed on disk since, its health.
pub fn status(generation: &Generation, params: &Params, index_label: String) -> Result<StatusJson> {
    params.only(&[])?;
    let status = answer::status(&generation.reader(), false)?;
    let mut json = StatusJson::new(index_label, &generation.manifest, &status);
    // A generation's files never change: checked once, then remembered.
    json.damage = generation.damage();
    Ok(json)
}
