//! `akapit watch`: keeps the index up to date. The indexed folders are looked at every few
//! seconds (size and time of each file, as `status` does); when something changed, appeared
//! or disappeared, akapit waits until those files have stopped changing (a file being
//! written is not indexed half-written), then runs an ordinary `index`, which embeds only
//! what changed and publishes a new generation that readers and servers switch to.

use std::thread::sleep;
use std::time::{Duration, SystemTime};

use super::index::{self, Plan};
use super::loaded::Loaded;
use super::{Context, Outcome, Result};
use crate::cli::WatchArgs;
use crate::ingest::{self, display_path};
use crate::pipeline::freshness::{self, Stale};
use crate::store::Manifest;

pub fn run(ctx: &Context, args: WatchArgs) -> Result<Outcome> {
    follow(ctx, &args, None)?;
    Ok(Outcome::Found)
}

/// Watches and re-indexes until the process ends; returns only on an error that watching
/// again cannot fix (no folders to watch). Embeds with a model of `loaded` (a server's) when
/// it is the one the index needs.
pub fn follow(ctx: &Context, args: &WatchArgs, loaded: Option<&Loaded>) -> Result<()> {
    let every = Duration::from_secs_f64(args.every);
    let settle = Duration::from_secs_f64(args.settle);
    if Manifest::read(&ctx.index_dir).ok().flatten().is_none() {
        index::build(ctx, &Plan::new(ctx, Vec::new(), None, None, false)?)?;
    }
    ctx.ui.note(format!(
        "watching the folders of {} (every {:.1} s); Ctrl-C stops",
        ingest::display(&ctx.index_dir),
        args.every
    ));
    loop {
        sleep(every);
        let Ok(Some(manifest)) = Manifest::read(&ctx.index_dir) else {
            continue;
        };
        let mut changes = freshness::stale_and_new(&manifest);
        if changes.is_empty() {
            continue;
        }
        // Settled: the same files, of the same sizes and times, twice `settle` apart.
        loop {
            let before = signature(&changes);
            sleep(settle);
            changes = freshness::stale_and_new(&manifest);
            if signature(&changes) == before {
                break;
            }
        }
        if changes.is_empty() {
            continue;
        }
        let list: Vec<String> = changes
            .iter()
            .take(5)
            .map(|s| format!("{} ({})", display_path(&s.path), s.change.as_str()))
            .collect();
        let more = changes.len().saturating_sub(list.len());
        ctx.ui.note(format!(
            "{} file(s) changed: {}{}; re-indexing",
            changes.len(),
            list.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
        let built = Plan::new(ctx, Vec::new(), None, None, false).and_then(|plan| {
            let model = loaded.and_then(|l| l.find(&plan.spec.name, plan.dims));
            index::build_with(ctx, &plan, model)
        });
        match built {
            Ok(report) => ctx.ui.note(format!(
                "re-indexed: {} document(s) embedded, {} removed; {} passages in all",
                report.embedded_documents,
                report.removed_documents.len(),
                report.manifest.passages
            )),
            // The next look tries again (a file may have been unreadable for a moment).
            Err(e) => ctx.ui.warn(format!("re-indexing failed: {e}")),
        }
    }
}

/// A file's size and modification time, `None` when it is gone.
type Look = Option<(u64, Option<SystemTime>)>;

/// What the changed files look like now.
fn signature(changes: &[Stale]) -> Vec<(String, Look)> {
    changes
        .iter()
        .map(|s| {
            let meta = std::fs::metadata(ingest::path_of(&s.path)).ok();
            (s.path.clone(), meta.map(|m| (m.len(), m.modified().ok())))
        })
        .collect()
}
