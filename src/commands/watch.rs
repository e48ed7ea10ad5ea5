//! `akapit watch`: keeps the index up to date. The indexed folders are looked at every few
//! seconds (size and time of each file, as `status` does); when something changed, appeared
//! or disappeared, akapit waits until those files have stopped changing (a file being
//! written is not indexed half-written), then runs an ordinary `index`, which embeds only
//! what changed and publishes a new generation that readers and servers switch to.
//! SIGINT or SIGTERM stops it between looks (a build under way finishes first; a second
//! signal stops at once, which leaves the previous index, as a killed build always does).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, sleep};
use std::time::{Duration, Instant, SystemTime};

use super::index::{self, Plan};
use super::loaded::Loaded;
use super::{Context, Outcome, Result};
use crate::cli::WatchArgs;
use crate::ingest::{self, display_path};
use crate::pipeline::freshness::{self, Stale};
use crate::store::Manifest;

pub fn run(ctx: &Context, args: WatchArgs) -> Result<Outcome> {
    let stop = Arc::new(AtomicBool::new(false));
    let (flag, ui) = (Arc::clone(&stop), ctx.ui);
    thread::Builder::new()
        .name("akapit-signals".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(crate::serve::shutdown_signal());
            flag.store(true, Ordering::SeqCst);
            ui.note("stopping after the build under way, if any (again to stop at once)");
            runtime.block_on(crate::serve::shutdown_signal());
            std::process::exit(130);
        })
        .map_err(super::Error::io("<signal thread>"))?;
    follow(ctx, &args, None, &stop)?;
    ctx.ui.note("stopped watching");
    Ok(Outcome::Found)
}

/// Watches and re-indexes until `stop` is set; returns early only on an error that watching
/// again cannot fix (no folders to watch). Embeds with a model of `loaded` (a server's) when
/// it is the one the index needs.
pub fn follow(
    ctx: &Context,
    args: &WatchArgs,
    loaded: Option<&Loaded>,
    stop: &AtomicBool,
) -> Result<()> {
    let every = Duration::from_secs_f64(args.every);
    let settle = Duration::from_secs_f64(args.settle);
    if Manifest::read(&ctx.index_dir).ok().flatten().is_none() {
        index::build(ctx, &Plan::new(ctx, Vec::new(), None, None, false, None)?)?;
    }
    ctx.ui.note(format!(
        "watching the folders of {} (every {:.1} s); Ctrl-C stops",
        ingest::display(&ctx.index_dir),
        args.every
    ));
    loop {
        if !pause(every, stop) {
            return Ok(());
        }
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
            if !pause(settle, stop) {
                return Ok(());
            }
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
        let built = Plan::new(ctx, Vec::new(), None, None, false, None).and_then(|plan| {
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

/// Sleeps for `time`, or less when `stop` is set; whether to go on.
fn pause(time: Duration, stop: &AtomicBool) -> bool {
    let until = Instant::now() + time;
    while !stop.load(Ordering::SeqCst) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        sleep(left.min(Duration::from_millis(100)));
    }
    false
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
