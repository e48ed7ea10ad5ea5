//! Merging segments, by a size-tiered policy: segments are grouped by the order of
//! magnitude (in base `factor`) of their live passages, and when one tier holds `factor`
//! segments they become one; a segment whose deleted passages pass `max_deleted` of it is
//! rewritten without them. An index built by many small runs so keeps about
//! `factor × log(size)` segments, and each passage is copied about `log(size)` times over
//! its life. A merge writes a new segment from the live documents (vectors read back from
//! the vector files, never embedded again) and publishes it with a new manifest; until then
//! readers see the segments it merges, and a killed merge leaves only an unfinished folder
//! that the next build removes.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::layout;
use super::segment::Segment;
use super::writer::{PendingState, Progress, SegmentWriter};
use super::{Error, Manifest};

/// When segments are merged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MergePolicy {
    /// Segments of one tier that are merged into one; also the base of the tiers.
    pub factor: usize,
    /// A segment whose share of deleted passages passes this is rewritten.
    pub max_deleted: f64,
    /// Merge every segment into one (`akapit index --optimize`).
    pub everything: bool,
}

impl MergePolicy {
    /// Ten segments per tier, as Lucene's default tiered policy allows per tier; a third
    /// deleted before a segment is rewritten.
    pub const DEFAULT: MergePolicy = MergePolicy {
        factor: 10,
        max_deleted: 1.0 / 3.0,
        everything: false,
    };

    /// Everything into one segment without deletions.
    pub const OPTIMIZE: MergePolicy = MergePolicy {
        everything: true,
        ..MergePolicy::DEFAULT
    };

    /// Never merge (for tests that look at the segments one build writes).
    pub const NEVER: MergePolicy = MergePolicy {
        factor: usize::MAX,
        max_deleted: f64::INFINITY,
        everything: false,
    };
}

/// Live passages per segment.
fn live_passages(manifest: &Manifest) -> HashMap<&str, usize> {
    let mut live: HashMap<&str, usize> = HashMap::new();
    for doc in &manifest.documents {
        *live.entry(doc.segment.as_str()).or_default() += doc.passages;
    }
    live
}

/// The segments the policy would merge next, if any.
pub fn plan(manifest: &Manifest, policy: MergePolicy) -> Option<Vec<String>> {
    let live = live_passages(manifest);
    let segments = &manifest.segments;
    if policy.everything {
        let needed = segments.len() > 1 || segments.iter().any(|s| !s.deleted.is_empty());
        return needed.then(|| segments.iter().map(|s| s.name.clone()).collect());
    }
    for segment in segments {
        let kept = live.get(segment.name.as_str()).copied().unwrap_or(0);
        let deleted = segment.passages.saturating_sub(kept);
        if segment.passages > 0 && deleted as f64 / segment.passages as f64 > policy.max_deleted {
            return Some(vec![segment.name.clone()]);
        }
    }
    if policy.factor < 2 || policy.factor == usize::MAX {
        return None;
    }
    let mut tiers: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for segment in segments {
        let kept = live.get(segment.name.as_str()).copied().unwrap_or(0).max(1);
        let tier = kept.ilog(policy.factor);
        tiers.entry(tier).or_default().push(segment.name.clone());
    }
    tiers
        .into_values()
        .find(|names| names.len() >= policy.factor)
}

/// Merges by `policy` until it finds nothing to merge; returns the manifest published last.
pub fn run(
    dir: &std::path::Path,
    id: &str,
    mut manifest: Manifest,
    policy: MergePolicy,
    progress: &dyn Progress,
) -> Result<Manifest, Error> {
    while let Some(names) = plan(&manifest, policy) {
        manifest = merge(dir, id, &manifest, &names, progress)?;
    }
    Ok(manifest)
}

/// Writes the live documents of segments `names` into one new segment and publishes it.
fn merge(
    dir: &std::path::Path,
    id: &str,
    manifest: &Manifest,
    names: &[String],
    progress: &dyn Progress,
) -> Result<Manifest, Error> {
    let chosen: HashSet<&str> = names.iter().map(String::as_str).collect();
    let mut readers: HashMap<&str, Segment> = HashMap::new();
    for info in manifest
        .segments
        .iter()
        .filter(|s| chosen.contains(s.name.as_str()))
    {
        readers.insert(info.name.as_str(), Segment::open(dir, info, manifest)?);
    }
    // In path order, so that ids within a segment follow (document, paragraph), as a
    // fresh build's do.
    let mut moving: Vec<usize> = (0..manifest.documents.len())
        .filter(|&i| chosen.contains(manifest.documents[i].segment.as_str()))
        .collect();
    moving.sort_by(|&a, &b| manifest.documents[a].path.cmp(&manifest.documents[b].path));
    let passages: usize = moving.iter().map(|&i| manifest.documents[i].passages).sum();
    if moving.is_empty() {
        // Nothing live is left in them (the builder drops such segments itself).
        let segments = manifest
            .segments
            .iter()
            .filter(|s| !chosen.contains(s.name.as_str()));
        let merged = Manifest {
            segments: segments.cloned().collect(),
            ..manifest.clone()
        };
        merged.write(dir)?;
        return Ok(merged);
    }
    progress.merging(names.len(), passages);

    let state = PendingState {
        model: manifest.model.clone(),
        chunker_version: manifest.chunker_version,
        analyzer: manifest.analyzer.clone(),
        window_policy: manifest.window_policy.clone(),
        titles: manifest.titles,
        vectors: manifest.vectors.clone(),
        merge: true,
    };
    let mut writer = SegmentWriter::create(dir, id, layout::next_segment(dir)?, &state)?;
    let mut documents = manifest.documents.clone();
    // For each segment merged, the new id of each of its passages (0: not copied).
    let mut new_ids: HashMap<&str, Vec<u32>> = HashMap::new();
    let mut next = 1u64;
    for &i in &moving {
        let doc = &manifest.documents[i];
        let reader = &readers[doc.segment.as_str()];
        let held = || Error::Corrupt {
            path: reader.path.join(layout::PASSAGES),
            reason: format!(
                "it does not hold {}, which the manifest places there",
                doc.path
            ),
        };
        let (_, passages) = reader.document(&doc.path)?.ok_or_else(held)?;
        let old = reader.placement(&doc.path)?.passages;
        let ids = new_ids.entry(doc.segment.as_str()).or_default();
        for (old, new) in old.zip(next..) {
            let (old, new) = (old as usize, u32::try_from(new).map_err(|_| too_many(dir))?);
            if ids.len() <= old {
                ids.resize(old + 1, 0);
            }
            ids[old] = new;
        }
        next += passages.len() as u64;
        documents[i] = writer.add(doc.clone(), &passages)?;
    }
    let sources = readers
        .iter()
        .map(|(name, reader)| reader.postings_source(new_ids.remove(name).unwrap_or_default()))
        .collect::<Result<Vec<_>, Error>>()?;
    let info = writer.finish_merge(
        dir,
        &manifest.vectors,
        &|done, total| progress.graph(done, total),
        &sources,
    )?;
    drop(sources);
    drop(readers);
    let mut segments: Vec<_> = manifest
        .segments
        .iter()
        .filter(|s| !chosen.contains(s.name.as_str()))
        .cloned()
        .collect();
    segments.push(info);
    let generation = layout::parse_generation(&manifest.generation).unwrap_or(0) + 1;
    let merged = Manifest {
        generation: layout::generation_name(generation),
        segments,
        documents,
        ..manifest.clone()
    };
    merged.write(dir)?;
    Ok(merged)
}

fn too_many(dir: &std::path::Path) -> Error {
    Error::Corrupt {
        path: dir.to_path_buf(),
        reason: "a merge would hold more passages than a segment can number".into(),
    }
}
