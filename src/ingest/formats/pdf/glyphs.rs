//! Text lines with positions from born-digital PDFs, using the pure-Rust
//! `hayro-syntax` (parsing, decryption) and `hayro-interpret` (content stream
//! interpretation) crates. Nothing is rendered: a `Device` collects the glyphs
//! hayro reports, and this module turns them into words, lines and a reading
//! order (with detection of multi-column layouts).
//!
//! Pipeline per page:
//! 1. `Collector` (a hayro `Device`) records every glyph: its Unicode text, its
//!    origin and advance end in page space (y grows downward, origin at the
//!    top-left of the crop box, page rotation applied), its font size and the
//!    direction of its baseline.
//! 2. Glyphs are grouped by baseline direction; upright text is the body,
//!    rotated text (margin notes, vertical labels) becomes extra lines at the
//!    end of the page.
//! 3. Body glyphs are clustered into rows by baseline; superscripts,
//!    subscripts and raised accents are folded into their row.
//! 4. Gutters (x ranges that few rows cross while many rows have text on both
//!    sides) split the page into columns; rows that cross a gutter (titles,
//!    full-width paragraphs) cut the page into bands, and inside a band the
//!    columns are read left to right, each top to bottom.
//! 5. Each row piece becomes a line: glyphs sorted along the baseline, a space
//!    inserted for real space glyphs or gaps wider than `WORD_GAP_EM`, accents
//!    attached to their base letter, ligatures expanded, NFC applied.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hayro_interpret::font::{Glyph, GlyphRun};
use hayro_interpret::hayro_cmap::BfString;
use hayro_interpret::kurbo::{Affine, BezPath, Point, Rect, Vec2};
use hayro_interpret::{
    interpret_page, BlendMode, ClipPath, Context, Device, DrawMode, DrawProps, Image,
    ImageDrawProps, InterpreterCache, InterpreterSettings, RenderContent, SoftMask, TransformExt,
};
use hayro_syntax::{DecryptionError, LoadPdfError, Pdf, PdfData};
use unicode_normalization::UnicodeNormalization;

/// One line of text, in page space (points, origin top-left, y downward).
#[derive(Debug, Clone, PartialEq)]
pub struct PdfLine {
    pub text: String,
    pub x0: f32,
    pub x1: f32,
    /// Baseline, from the page top, growing downward.
    pub y: f32,
    /// Font size in points.
    pub size: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PdfPage {
    pub width: f32,
    pub height: f32,
    /// In reading order.
    pub lines: Vec<PdfLine>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PdfProblem {
    /// Needs a password (or uses an encryption method hayro does not support).
    Encrypted,
    /// Not readable, with a reason for the user.
    Damaged(String),
    /// Readable, but no page has any extractable text (scans, drawings).
    NoText,
}

impl std::fmt::Display for PdfProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PdfProblem::Encrypted => write!(f, "the PDF is encrypted with a password"),
            PdfProblem::Damaged(why) => write!(f, "the PDF is damaged: {why}"),
            PdfProblem::NoText => write!(f, "the PDF has no extractable text"),
        }
    }
}

/// A space is inserted between two glyphs whose gap exceeds this many ems.
const WORD_GAP_EM: f64 = 0.17;
/// Glyphs whose baselines differ by less than this many ems share a row.
const ROW_TOLERANCE_EM: f64 = 0.2;
/// Text smaller than this (points) is dropped: hidden SEO text, artefacts.
const MIN_SIZE: f64 = 1.0;
/// At most this many glyphs are kept per page (memory bound on hostile files).
const MAX_GLYPHS_PER_PAGE: usize = 500_000;
/// A page whose interpretation takes longer is abandoned. Checked whenever
/// hayro calls the device (glyphs, paths, images, clips, groups, marked
/// content), which also covers Form XObject fan-out bombs: hayro calls the
/// device for every form it enters.
const PAGE_TIME_BUDGET: Duration = Duration::from_secs(20);

/// Read every page of a PDF. `on_page(done, total)` is called after each page.
pub fn read_pages(
    bytes: &[u8],
    on_page: &mut dyn FnMut(usize, usize),
) -> Result<Vec<PdfPage>, PdfProblem> {
    match catch_unwind(AssertUnwindSafe(|| read_pages_inner(bytes, on_page))) {
        Ok(result) => result,
        Err(payload) => Err(PdfProblem::Damaged(format!(
            "the PDF reader failed: {}",
            panic_message(payload.as_ref())
        ))),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// hayro caches every page's decoded content stream for the life of the
/// `Pdf`; reopening the document every this many pages bounds memory on
/// long documents (the file bytes are shared, only the xref is re-read).
const PAGES_PER_OPEN: usize = 100;

fn open(data: &Arc<Vec<u8>>) -> Result<Pdf, PdfProblem> {
    match Pdf::new(PdfData::from(Arc::clone(data))) {
        Ok(pdf) => Ok(pdf),
        Err(LoadPdfError::Decryption(DecryptionError::PasswordProtected))
        | Err(LoadPdfError::Decryption(DecryptionError::UnsupportedAlgorithm)) => {
            Err(PdfProblem::Encrypted)
        }
        Err(LoadPdfError::Decryption(e)) => Err(PdfProblem::Damaged(format!(
            "broken encryption dictionary ({e:?})"
        ))),
        Err(LoadPdfError::Invalid) => Err(PdfProblem::Damaged(
            if looks_truncated(data) {
                "the file is truncated (no end-of-file marker) and its pages could not be recovered"
            } else {
                "no readable cross-reference table or page tree"
            }
            .into(),
        )),
    }
}

#[derive(Default)]
struct Tally {
    first_failure: Option<String>,
    lost_pages: usize,
}

fn read_pages_inner(
    bytes: &[u8],
    on_page: &mut dyn FnMut(usize, usize),
) -> Result<Vec<PdfPage>, PdfProblem> {
    if !bytes
        .get(..1024.min(bytes.len()))
        .is_some_and(|head| contains(head, b"%PDF-"))
    {
        return Err(PdfProblem::Damaged(
            "no %PDF- header: not a PDF file".into(),
        ));
    }
    // hayro needs owned ('static) data; this copies the file once.
    let data = Arc::new(bytes.to_vec());
    let mut pdf = open(&data)?;
    let total = pdf.pages().len();
    if total == 0 {
        return Err(PdfProblem::Damaged("the PDF has no pages".into()));
    }
    let mut out = Vec::with_capacity(total);
    let mut tally = Tally::default();
    let mut start = 0;
    while start < total {
        if start > 0 {
            pdf = open(&data)?;
            if pdf.pages().len() != total {
                return Err(PdfProblem::Damaged(
                    "the page tree changed between reads".into(),
                ));
            }
        }
        let end = (start + PAGES_PER_OPEN).min(total);
        read_range(&pdf, start..end, total, &mut out, &mut tally, on_page);
        start = end;
    }
    if looks_truncated(&data) && tally.lost_pages > 0 {
        return Err(PdfProblem::Damaged(format!(
            "the file is truncated: {} of {total} pages could not be read",
            tally.lost_pages
        )));
    }
    if out.iter().all(|p| p.lines.is_empty()) {
        return Err(match tally.first_failure {
            Some(why) => PdfProblem::Damaged(format!("the PDF reader failed: {why}")),
            None => PdfProblem::NoText,
        });
    }
    Ok(out)
}

fn read_range(
    pdf: &Pdf,
    range: std::ops::Range<usize>,
    total: usize,
    out: &mut Vec<PdfPage>,
    tally: &mut Tally,
    on_page: &mut dyn FnMut(usize, usize),
) {
    // Defaults: embedded substitutes for the 14 standard fonts, embedded
    // predefined CMaps, page content and annotation appearances (filled-in
    // form fields, free-text comments; hidden annotations are skipped).
    let settings = InterpreterSettings {
        render_content: RenderContent::PAGE | RenderContent::ANNOTATIONS,
        ..InterpreterSettings::default()
    };
    let cache = InterpreterCache::new();
    for i in range {
        let Some(page) = pdf.pages().get(i) else {
            break;
        };
        // hayro recovers objects of damaged files by scanning; a page whose
        // content stream is gone (truncated file) decodes to nothing.
        if page.raw().contains_key(b"Contents") && page.page_stream().is_none() {
            tally.lost_pages += 1;
        }
        let (width, height) = page.render_dimensions();
        let result = catch_unwind(AssertUnwindSafe(|| {
            let initial = page.initial_transform(true).to_kurbo();
            let bbox = Rect::new(0.0, 0.0, f64::from(width), f64::from(height));
            let mut ctx = Context::new(initial, bbox, &cache, pdf.xref(), settings.clone());
            let mut collector = Collector::new(f64::from(width), f64::from(height));
            interpret_page(page, &mut ctx, &mut collector);
            collector.glyphs
        }));
        let lines = match result {
            Ok(glyphs) => layout_page(glyphs),
            Err(payload) => {
                if tally.first_failure.is_none() {
                    let why = panic_message(payload.as_ref());
                    tally.first_failure = Some(format!("page {}: {why}", i + 1));
                }
                Vec::new()
            }
        };
        out.push(PdfPage {
            width,
            height,
            lines,
        });
        on_page(i + 1, total);
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn looks_truncated(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(2048)..];
    !contains(tail, b"%%EOF")
}

// ---------------------------------------------------------------------------
// Glyph collection

/// The Unicode text of one glyph, without an allocation in the common case.
#[derive(Debug, Clone, PartialEq)]
enum GText {
    Nothing,
    One(char),
    Many(Box<str>),
}

impl GText {
    fn is_empty(&self) -> bool {
        match self {
            GText::Nothing => true,
            GText::One(_) => false,
            GText::Many(s) => s.is_empty(),
        }
    }
    fn is_blank(&self) -> bool {
        match self {
            GText::Nothing => true,
            GText::One(c) => c.is_whitespace(),
            GText::Many(s) => s.trim().is_empty(),
        }
    }
    fn single(&self) -> Option<char> {
        match self {
            GText::One(c) => Some(*c),
            _ => None,
        }
    }
    fn push_to(&self, out: &mut String) {
        match self {
            GText::Nothing => {}
            GText::One(c) => out.push(*c),
            GText::Many(s) => out.push_str(s),
        }
    }
}

#[derive(Debug, Clone)]
struct RawGlyph {
    text: GText,
    /// Origin and end of advance, page space.
    origin: Point,
    end: Point,
    /// Unit vector along the baseline, page space.
    dir: Vec2,
    /// Font size in points (length of the em vector perpendicular to the baseline).
    size: f64,
    space: bool,
    invisible: bool,
}

struct Collector {
    glyphs: Vec<RawGlyph>,
    width: f64,
    height: f64,
    started: Instant,
    calls: u32,
}

impl Collector {
    fn new(width: f64, height: f64) -> Self {
        Collector {
            glyphs: Vec::new(),
            width,
            height,
            started: Instant::now(),
            calls: 0,
        }
    }

    fn tick(&mut self) {
        self.calls = self.calls.wrapping_add(1);
        if self.calls.is_multiple_of(256) && self.started.elapsed() > PAGE_TIME_BUDGET {
            // Unwinds out of hayro; caught per page in `read_pages_inner`.
            panic!(
                "page took longer than {} s to interpret",
                PAGE_TIME_BUDGET.as_secs()
            );
        }
    }
}

impl<'a> Device<'a> for Collector {
    fn draw_path(&mut self, _: &BezPath, _: DrawProps<'a>, _: &DrawMode) {
        self.tick();
    }
    fn push_clip_path(&mut self, _: &ClipPath) {
        self.tick();
    }
    fn push_transparency_group(&mut self, _: f32, _: Option<SoftMask<'a>>, _: BlendMode) {
        self.tick();
    }
    fn draw_image(&mut self, _: Image<'a, '_>, _: ImageDrawProps<'a>) {
        // Images are decoded lazily by hayro (only in `with_rgba`), so ignoring
        // them here means they are never decompressed.
        self.tick();
    }
    fn pop_clip(&mut self) {}
    fn pop_transparency_group(&mut self) {}
    fn begin_marked_content(&mut self, _: &[u8], _: Option<&hayro_syntax::object::Dict<'_>>) {
        self.tick();
    }

    fn draw_glyph_run(&mut self, run: &GlyphRun<'_, 'a>, props: DrawProps<'a>, mode: &DrawMode) {
        self.tick();
        // Fill+stroke text is reported twice (once per mode); keep the fill.
        if matches!(mode, DrawMode::Stroke(_)) && self.last_run_matches(run, &props) {
            return;
        }
        let invisible = matches!(mode, DrawMode::Invisible);
        for pg in run.glyphs() {
            if self.glyphs.len() >= MAX_GLYPHS_PER_PAGE {
                return;
            }
            let t: Affine = props.transform * pg.transform();
            let origin = t * Point::ZERO;
            let c = t.as_coeffs();
            // Glyph space is 1000 units per em.
            let x_axis = Vec2::new(c[0], c[1]);
            let y_axis = Vec2::new(c[2], c[3]) * 1000.0;
            let size = y_axis.hypot();
            let xlen = x_axis.hypot();
            if !(origin.x.is_finite() && origin.y.is_finite() && size.is_finite() && xlen > 0.0)
                || size < MIN_SIZE
            {
                continue;
            }
            let margin = size.max(2.0);
            if origin.x < -margin
                || origin.y < -margin
                || origin.x > self.width + margin
                || origin.y > self.height + margin
            {
                continue; // off the page
            }
            let dir = x_axis / xlen;
            let advance = match &**pg {
                Glyph::Outline(g) => g.advance_width(),
                Glyph::Type3(g) => g.advance_width(),
            }
            .filter(|a| a.is_finite() && *a > 0.0)
            .map_or(0.0, f64::from);
            let end = t * Point::new(advance, 0.0);
            let (text, space) = match pg.as_unicode() {
                Some(BfString::Char(ch)) => (GText::One(ch), ch.is_whitespace()),
                Some(BfString::String(s)) => {
                    let space = !s.is_empty() && s.chars().all(char::is_whitespace);
                    (GText::Many(s.into_boxed_str()), space)
                }
                // No ToUnicode and no usable glyph name: keep the box (it still
                // matters for spacing) but no text. Code 32 in a simple font is
                // almost always a space.
                None => (GText::Nothing, pg.char_code() == 32),
            };
            self.glyphs.push(RawGlyph {
                text,
                origin,
                end,
                dir,
                size,
                space,
                invisible,
            });
        }
    }
}

impl Collector {
    /// True when the previous glyphs pushed are the same run (FillStroke mode).
    fn last_run_matches(&self, run: &GlyphRun<'_, '_>, props: &DrawProps<'_>) -> bool {
        let n = run.glyphs().len();
        if n == 0 || self.glyphs.len() < n {
            return n == 0;
        }
        let Some(first) = run.glyphs().first() else {
            return false;
        };
        let origin = (props.transform * first.transform()) * Point::ZERO;
        let prev = &self.glyphs[self.glyphs.len() - n];
        (prev.origin - origin).hypot() < 0.01
    }
}

// ---------------------------------------------------------------------------
// Layout

/// A glyph in its baseline frame: `u` along the baseline, `v` downward.
#[derive(Debug, Clone)]
struct G {
    text: GText,
    u0: f64,
    u1: f64,
    v: f64,
    size: f64,
    space: bool,
    /// Combining mark or spacing accent (attached to the letter it overlaps).
    mark: bool,
    seq: usize,
}

#[derive(Debug, Clone)]
struct Row {
    glyphs: Vec<G>,
    v: f64,
    size: f64,
}

fn layout_page(raw: Vec<RawGlyph>) -> Vec<PdfLine> {
    // Invisible text (render mode 3/7) is kept only on pages without visible
    // text: that is the OCR layer of a scanned page.
    let has_visible = raw
        .iter()
        .any(|g| !g.invisible && !g.space && !g.text.is_blank());
    let raw: Vec<RawGlyph> = raw
        .into_iter()
        .filter(|g| !(has_visible && g.invisible))
        .collect();

    // Group by baseline direction (1 degree buckets; upright text is bucket 0).
    let mut groups: Vec<(i32, Vec<RawGlyph>)> = Vec::new();
    for g in raw {
        let deg = g.dir.y.atan2(g.dir.x).to_degrees();
        let mut bucket = deg.round() as i32;
        if bucket.abs() <= 2 {
            bucket = 0;
        }
        match groups.iter_mut().find(|(b, _)| *b == bucket) {
            Some((_, v)) => v.push(g),
            None => groups.push((bucket, vec![g])),
        }
    }
    groups.sort_by_key(|(b, v)| (*b != 0, std::cmp::Reverse(v.len())));

    let mut lines = Vec::new();
    for (bucket, glyphs) in groups {
        let angle = f64::from(bucket).to_radians();
        let dir = Vec2::new(angle.cos(), angle.sin());
        let down = Vec2::new(-dir.y, dir.x);
        let gs: Vec<G> = glyphs
            .into_iter()
            .enumerate()
            .map(|(seq, g)| {
                let o = g.origin.to_vec2();
                let e = g.end.to_vec2();
                let (a, b) = (o.dot(dir), e.dot(dir));
                let mark = is_mark(&g.text);
                G {
                    u0: a.min(b),
                    u1: a.max(b),
                    v: o.dot(down),
                    size: g.size,
                    space: g.space,
                    mark,
                    text: g.text,
                    seq,
                }
            })
            .collect();
        let rows = build_rows(gs);
        if bucket == 0 {
            lines.extend(order_rows(rows, 0));
        } else {
            // Rotated text: one line per row, mapped back to page space.
            for row in rows {
                let (v, size) = (row.v, row.size);
                if let Some(mut line) = row_to_line(row.glyphs, v, size) {
                    let p0 = (dir * f64::from(line.x0) + down * v).to_point();
                    let p1 = (dir * f64::from(line.x1) + down * v).to_point();
                    line.x0 = p0.x.min(p1.x) as f32;
                    line.x1 = p0.x.max(p1.x) as f32;
                    line.y = p0.y.max(p1.y) as f32;
                    lines.push(line);
                }
            }
        }
    }
    lines
}

fn is_mark(text: &GText) -> bool {
    text.single()
        .is_some_and(|c| is_combining(c) || spacing_to_combining(c).is_some())
}

fn is_combining(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}')
}

/// Spacing accents that TeX-like producers draw over a base letter.
fn spacing_to_combining(c: char) -> Option<char> {
    Some(match c {
        '\u{0060}' | '\u{02CB}' => '\u{0300}', // grave
        '\u{00B4}' | '\u{02CA}' => '\u{0301}', // acute
        '\u{02C6}' | '\u{005E}' => '\u{0302}', // circumflex
        '\u{02DC}' => '\u{0303}',              // tilde
        '\u{00AF}' | '\u{02C9}' => '\u{0304}', // macron
        '\u{02D8}' => '\u{0306}',              // breve
        '\u{02D9}' => '\u{0307}',              // dot above
        '\u{00A8}' => '\u{0308}',              // diaeresis
        '\u{02DA}' => '\u{030A}',              // ring
        '\u{02DD}' => '\u{030B}',              // double acute
        '\u{02C7}' => '\u{030C}',              // caron
        '\u{00B8}' => '\u{0327}',              // cedilla
        '\u{02DB}' => '\u{0328}',              // ogonek
        _ => return None,
    })
}

fn median(mut xs: Vec<f64>) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn build_rows(mut gs: Vec<G>) -> Vec<Row> {
    gs.sort_by(|a, b| a.v.total_cmp(&b.v).then(a.seq.cmp(&b.seq)));
    // 1. Tight clusters by baseline.
    let mut rows: Vec<Row> = Vec::new();
    for g in gs {
        match rows.last_mut() {
            Some(r) if g.v - r.v <= ROW_TOLERANCE_EM * r.size.max(g.size).max(1.0) => {
                r.glyphs.push(g);
            }
            _ => rows.push(Row {
                v: g.v,
                size: g.size,
                glyphs: vec![g],
            }),
        }
    }
    for r in &mut rows {
        finish_row(r);
    }
    // 2. Fold minor rows (accents, super/subscripts, footnote marks) into the
    //    adjacent major row they sit next to (linear: targets are major rows).
    let n = rows.len();
    let reach: Vec<Option<f64>> = (0..n)
        .map(|i| if n < 2 { None } else { minor_reach(&rows, i) })
        .collect();
    let mut target: Vec<Option<usize>> = vec![None; n];
    for i in 0..n {
        let Some(reach_i) = reach[i] else { continue };
        let (lo, hi) = row_extent(&rows[i]);
        let mut best: Option<(usize, f64)> = None;
        for j in [i.wrapping_sub(1), i + 1] {
            let Some(r) = rows.get(j) else { continue };
            if reach[j].is_some() {
                continue;
            }
            let dv = (r.v - rows[i].v).abs();
            let (rlo, rhi) = row_extent(r);
            let slack = r.size;
            if dv < reach_i * r.size
                && r.size >= rows[i].size * 0.99
                && lo >= rlo - slack
                && hi <= rhi + slack
                && best.is_none_or(|(_, d)| dv < d)
            {
                best = Some((j, dv));
            }
        }
        target[i] = best.map(|(j, _)| j);
    }
    for i in 0..n {
        if let Some(j) = target[i] {
            let moved = std::mem::take(&mut rows[i].glyphs);
            rows[j].glyphs.extend(moved);
        }
    }
    rows.retain(|r| !r.glyphs.is_empty());
    rows
}

fn finish_row(r: &mut Row) {
    let main: Vec<&G> = r.glyphs.iter().filter(|g| !g.mark && !g.space).collect();
    let pick: Vec<&G> = if main.is_empty() {
        r.glyphs.iter().collect()
    } else {
        main
    };
    r.size = median(pick.iter().map(|g| g.size).collect());
    r.v = median(pick.iter().map(|g| g.v).collect());
}

/// How far (in ems of the neighbour) a row may be folded into a neighbour, or
/// None when it is a row of its own. Accent-only rows and short rows of smaller
/// text (super/subscripts) may sit farther away than short same-size rows
/// (the lowered E of the LaTeX logo).
fn minor_reach(rows: &[Row], i: usize) -> Option<f64> {
    let r = &rows[i];
    let only_marks = r.glyphs.iter().all(|g| g.mark || g.space);
    let count = r.glyphs.iter().filter(|g| !g.space).count();
    let neighbours = [i.checked_sub(1), Some(i + 1)];
    let smaller = neighbours
        .iter()
        .flatten()
        .filter_map(|&j| rows.get(j))
        .any(|n| r.size < 0.85 * n.size);
    if only_marks || (smaller && count <= 8) {
        Some(0.75)
    } else if count <= 3 {
        Some(0.45)
    } else {
        None
    }
}

fn row_extent(r: &Row) -> (f64, f64) {
    let lo = r.glyphs.iter().map(|g| g.u0).fold(f64::INFINITY, f64::min);
    let hi = r
        .glyphs
        .iter()
        .map(|g| g.u1)
        .fold(f64::NEG_INFINITY, f64::max);
    (lo, hi)
}

/// Merged horizontal intervals of a row (word gaps closed, big gaps kept).
fn row_intervals(r: &Row) -> Vec<(f64, f64)> {
    let mut boxes: Vec<(f64, f64)> = r
        .glyphs
        .iter()
        .filter(|g| !g.space)
        .map(|g| (g.u0, g.u1.max(g.u0 + 0.25 * g.size)))
        .collect();
    boxes.sort_by(|a, b| a.0.total_cmp(&b.0));
    let join = 0.6 * r.size;
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (a, b) in boxes {
        match out.last_mut() {
            Some(last) if a <= last.1 + join => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// A detected gutter: rows crossing `(lo, hi)` span columns; `split` divides them.
#[derive(Debug, Clone, Copy)]
struct Gutter {
    lo: f64,
    hi: f64,
    split: f64,
}

/// A stretch of text at least this many ems long counts as a line of prose
/// (so narrow table cells side by side are not taken for columns).
const PROSE_EM: f64 = 10.0;

/// Find gutters: x ranges such that some vertical run of consecutive rows,
/// none crossing the range, has at least two prose lines on each side.
fn find_gutters(rows: &[Row], ivs: &[Vec<(f64, f64)>]) -> Vec<Gutter> {
    if ivs.iter().filter(|v| !v.is_empty()).count() < 4 {
        return Vec::new();
    }
    let umin = ivs
        .iter()
        .flatten()
        .map(|i| i.0)
        .fold(f64::INFINITY, f64::min);
    let umax = ivs
        .iter()
        .flatten()
        .map(|i| i.1)
        .fold(f64::NEG_INFINITY, f64::max);
    if !(umin.is_finite() && umax.is_finite()) || umax - umin < 50.0 {
        return Vec::new();
    }
    let base = umin.floor();
    let nbins = ((umax - base).ceil() as usize + 1).min(5000);
    if rows.len().saturating_mul(nbins) > 20_000_000 {
        return Vec::new(); // pathological page (tens of thousands of rows)
    }
    let bin = |u: f64| (((u - base).max(0.0)) as usize).min(nbins);
    // Per row and bin: 0 = free, 1 = covered.
    // Per row: the bins left of which / right of which there is prose.
    let mut covered = vec![false; rows.len() * nbins];
    let mut prose_left_from = vec![usize::MAX; rows.len()]; // prose ends at or before bin
    let mut prose_right_to = vec![0usize; rows.len()]; // prose starts at or after bin
    for (ri, (r, iv)) in rows.iter().zip(ivs).enumerate() {
        let min_prose = PROSE_EM * r.size.max(1.0);
        for &(a, b) in iv {
            let (ia, ib) = (bin(a.floor()), bin(b.ceil()));
            if ia < ib {
                for c in &mut covered[ri * nbins + ia..ri * nbins + ib] {
                    *c = true;
                }
            }
            if b - a >= min_prose {
                prose_left_from[ri] = prose_left_from[ri].min(ib);
                prose_right_to[ri] = prose_right_to[ri].max(ia);
            }
        }
    }
    // Some text (at least a few words) right of a bin.
    let mut some_right_to = vec![0usize; rows.len()];
    for (ri, (r, iv)) in rows.iter().zip(ivs).enumerate() {
        for &(a, b) in iv {
            if b - a >= 5.0 * r.size.max(1.0) {
                some_right_to[ri] = some_right_to[ri].max(bin(a.floor()));
            }
        }
    }
    // Strong evidence: three prose lines on each side within one run of rows.
    // Weak evidence: three prose lines on the left, a few words on the right (the
    // last line or two of a right column); only trusted for gutter-like
    // widths. Not mirrored: short text left of long lines is a label column
    // (definition lists, option tables), better read row by row.
    let strong = |lp: u32, rp: u32, _: u32| lp >= 3 && rp >= 3;
    let weak = |lp: u32, _: u32, rs: u32| lp >= 3 && rs >= 1;
    let scan = |x: usize, rule: &dyn Fn(u32, u32, u32) -> bool| -> bool {
        let (mut lp, mut rp, mut rs) = (0u32, 0u32, 0u32);
        for ri in 0..rows.len() {
            if covered[ri * nbins + x] {
                if rule(lp, rp, rs) {
                    return true;
                }
                (lp, rp, rs) = (0, 0, 0);
                continue;
            }
            lp += u32::from(prose_left_from[ri] <= x);
            rp += u32::from(prose_right_to[ri] > x);
            rs += u32::from(some_right_to[ri] > x);
        }
        rule(lp, rp, rs)
    };
    let is_strong: Vec<bool> = (0..nbins).map(|x| scan(x, &strong)).collect();
    let is_weak: Vec<bool> = (0..nbins).map(|x| is_strong[x] || scan(x, &weak)).collect();
    let median_size = median(rows.iter().map(|r| r.size).collect()).max(1.0);
    let mut gutters: Vec<Gutter> = Vec::new();
    let mut x = 0;
    while x < nbins {
        if !is_weak[x] {
            x += 1;
            continue;
        }
        let s = x;
        while x < nbins && is_weak[x] {
            x += 1;
        }
        let (lo, hi) = (base + s as f64, base + x as f64);
        let any_strong = is_strong[s..x].iter().any(|&b| b);
        // Weak evidence only for gutter-like widths: a wide empty stretch
        // before a right-aligned label or page number is not a gutter.
        let width_ok = if any_strong {
            hi - lo >= 0.8 * median_size
        } else {
            (1.5 * median_size..=4.0 * median_size).contains(&(hi - lo))
        };
        if width_ok {
            gutters.push(Gutter {
                lo,
                hi,
                split: 0.5 * (lo + hi),
            });
        }
    }
    gutters
}

/// Reading order: bands separated by rows that cross a gutter; inside a band,
/// columns left to right, each top to bottom (recursively, for nested layouts).
fn order_rows(rows: Vec<Row>, depth: u32) -> Vec<PdfLine> {
    let ivs: Vec<Vec<(f64, f64)>> = rows.iter().map(row_intervals).collect();
    let gutters = if depth < 4 {
        find_gutters(&rows, &ivs)
    } else {
        Vec::new()
    };
    if gutters.is_empty() {
        return rows
            .into_iter()
            .filter_map(|r| row_to_line(r.glyphs, r.v, r.size))
            .collect();
    }
    let ncol = gutters.len() + 1;
    let column_of = |u: f64| gutters.iter().take_while(|g| u >= g.split).count();
    let mut lines = Vec::new();
    let mut band: Vec<Vec<Row>> = vec![Vec::new(); ncol];
    let mut spanning: Vec<Row> = Vec::new();
    let flush_band = |band: &mut Vec<Vec<Row>>, lines: &mut Vec<PdfLine>| {
        for col in band.iter_mut() {
            if !col.is_empty() {
                lines.extend(order_rows(std::mem::take(col), depth + 1));
            }
        }
    };
    let flush_spanning = |spanning: &mut Vec<Row>, lines: &mut Vec<PdfLine>| {
        if !spanning.is_empty() {
            lines.extend(order_rows(std::mem::take(spanning), depth + 1));
        }
    };
    for (r, iv) in rows.into_iter().zip(&ivs) {
        let spans = gutters
            .iter()
            .any(|g| iv.iter().any(|&(a, b)| a < g.hi - 0.5 && b > g.lo + 0.5));
        if spans {
            flush_band(&mut band, &mut lines);
            spanning.push(r);
            continue;
        }
        flush_spanning(&mut spanning, &mut lines);
        let mut pieces: Vec<Vec<G>> = vec![Vec::new(); ncol];
        for g in r.glyphs {
            pieces[column_of((g.u0 + g.u1) / 2.0).min(ncol - 1)].push(g);
        }
        for (c, p) in pieces.into_iter().enumerate() {
            if p.iter().any(|g| !g.space) {
                band[c].push(Row {
                    glyphs: p,
                    v: r.v,
                    size: r.size,
                });
            }
        }
    }
    flush_band(&mut band, &mut lines);
    flush_spanning(&mut spanning, &mut lines);
    lines
}

/// Turn the glyphs of one row piece into a line of text.
fn row_to_line(mut gs: Vec<G>, v: f64, size: f64) -> Option<PdfLine> {
    gs.sort_by(|a, b| a.u0.total_cmp(&b.u0).then(a.seq.cmp(&b.seq)));
    // Drop overprinted duplicates (fake bold, shadows).
    let mut kept: Vec<G> = Vec::with_capacity(gs.len());
    for g in gs {
        let dup = kept.iter().rev().take(4).any(|k| {
            !g.text.is_empty()
                && k.text == g.text
                && (k.u0 - g.u0).abs() < 0.15 * g.size
                && (k.v - g.v).abs() < 0.15 * g.size
        });
        if !dup {
            kept.push(g);
        }
    }
    // Attach accents to the letter they overlap most.
    let mut marks_on: Vec<Vec<char>> = vec![Vec::new(); kept.len()];
    let mut is_attached = vec![false; kept.len()];
    for i in 0..kept.len() {
        if !kept[i].mark {
            continue;
        }
        let m = &kept[i];
        let (mlo, mhi) = (m.u0, m.u1.max(m.u0 + 0.2 * m.size));
        let mut best: Option<(usize, f64)> = None;
        // Glyphs are sorted by start; the base letter is among the neighbours.
        let window = i.saturating_sub(8)..(i + 9).min(kept.len());
        for (j, b) in kept.iter().enumerate().take(window.end).skip(window.start) {
            if b.mark || b.space || b.text.is_empty() {
                continue;
            }
            let ov = mhi.min(b.u1) - mlo.max(b.u0);
            if ov > 0.0 && best.is_none_or(|(_, o)| ov > o) {
                best = Some((j, ov));
            }
        }
        if let (Some((j, _)), Some(c)) = (best, m.text.single()) {
            let comb = spacing_to_combining(c).unwrap_or(c);
            marks_on[j].push(comb);
            is_attached[i] = true;
        }
    }
    let mut text = String::new();
    let mut end = f64::NEG_INFINITY;
    // A space glyph counts only if it lies in a gap: it starts after the text
    // drawn so far and the next glyph starts after its middle (producers such
    // as ghostscript emit spaces under overstruck accents).
    let mut pending_space: Option<f64> = None;
    let mut x0 = f64::INFINITY;
    let mut x1 = f64::NEG_INFINITY;
    let mut prev_size = size;
    for (i, g) in kept.iter().enumerate() {
        if is_attached[i] {
            continue;
        }
        let em = 0.5 * (g.size + prev_size);
        if g.space {
            if !text.is_empty() && g.u0 >= end - 0.1 * em {
                pending_space = Some(0.5 * (g.u0 + g.u1.max(g.u0)));
            }
            continue;
        }
        let real_space = pending_space.is_some_and(|mid| g.u0 >= mid - 0.05 * em);
        if !text.is_empty() && !text.ends_with(' ') && (real_space || g.u0 - end > WORD_GAP_EM * em)
        {
            text.push(' ');
        }
        pending_space = None;
        g.text.push_to(&mut text);
        text.extend(marks_on[i].iter());
        end = end.max(g.u1);
        x0 = x0.min(g.u0);
        x1 = x1.max(g.u1);
        prev_size = g.size;
    }
    let text = clean_text(&text);
    if text.is_empty() {
        return None;
    }
    Some(PdfLine {
        text,
        x0: x0 as f32,
        x1: x1 as f32,
        y: v as f32,
        size: size as f32,
    })
}

/// Expand ligatures, drop control/private-use/replacement characters, keep a
/// line-final soft hyphen as '-', collapse whitespace, apply NFC.
fn clean_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.trim_end().chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '\u{FB00}' => out.push_str("ff"),
            '\u{FB01}' => out.push_str("fi"),
            '\u{FB02}' => out.push_str("fl"),
            '\u{FB03}' => out.push_str("ffi"),
            '\u{FB04}' => out.push_str("ffl"),
            '\u{FB05}' | '\u{FB06}' => out.push_str("st"),
            '\u{00AD}' => {
                if i + 1 == chars.len() {
                    out.push('-');
                }
            }
            '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{FFFD}' => {}
            '\u{E000}'..='\u{F8FF}' => {}
            c if c.is_whitespace() => {
                if !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    let trimmed = out.trim();
    trimmed.nfc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_ligatures_and_nfc() {
        assert_eq!(clean_text("\u{FB01}nanse za\u{0328}b"), "finanse ząb");
        assert_eq!(clean_text("kon\u{00AD}"), "kon-");
        assert_eq!(clean_text("a  \u{00A0} b"), "a b");
    }

    /// Glyphs for `text` starting at `x` on baseline `v`, 0.5 em per char, size 10.
    fn word(text: &str, x: f64, v: f64, seq: &mut usize) -> Vec<G> {
        text.chars()
            .enumerate()
            .map(|(i, c)| {
                *seq += 1;
                let u0 = x + 5.0 * i as f64;
                G {
                    text: GText::One(c),
                    u0,
                    u1: u0 + 5.0,
                    v,
                    size: 10.0,
                    space: c == ' ',
                    mark: is_mark(&GText::One(c)),
                    seq: *seq,
                }
            })
            .collect()
    }

    #[test]
    fn spaces_from_gaps_and_accents() {
        let mut seq = 0;
        let mut gs = word("ab", 0.0, 100.0, &mut seq);
        gs.extend(word("cd", 10.0 + 3.0, 100.0, &mut seq)); // 0.3 em gap
        gs.extend(word("ef", 23.0 + 0.5, 100.0, &mut seq)); // 0.05 em kern
        let line = row_to_line(gs, 100.0, 10.0).map(|l| l.text);
        assert_eq!(line.as_deref(), Some("ab cdef"));
        // An ogonek drawn over an 'e' (spacing U+02DB) joins it.
        let mut gs = word("w", 0.0, 100.0, &mut seq);
        gs.extend(word("e", 5.0, 100.0, &mut seq));
        gs.extend(word("\u{02DB}", 6.0, 100.0, &mut seq));
        gs.extend(word("gla", 10.0, 100.0, &mut seq));
        assert_eq!(
            row_to_line(gs, 100.0, 10.0).map(|l| l.text).as_deref(),
            Some("węgla")
        );
    }

    #[test]
    fn two_columns_with_full_width_title() {
        let mut seq = 0;
        let mut gs = word(
            "TITLE SPANNING THE WHOLE PAGE WIDTH HERE OK",
            60.0,
            50.0,
            &mut seq,
        );
        for i in 0..6 {
            let v = 100.0 + 12.0 * f64::from(i);
            gs.extend(word(
                &format!("left column line number {i} text"),
                50.0,
                v,
                &mut seq,
            ));
            gs.extend(word(
                &format!("right column line number {i} txt"),
                250.0,
                v,
                &mut seq,
            ));
        }
        let lines: Vec<String> = order_rows(build_rows(gs), 0)
            .into_iter()
            .map(|l| l.text)
            .collect();
        assert_eq!(lines.len(), 13, "{lines:?}");
        assert!(lines[0].starts_with("TITLE"));
        assert!(
            lines[1..7].iter().all(|l| l.starts_with("left")),
            "{lines:?}"
        );
        assert!(
            lines[7..].iter().all(|l| l.starts_with("right")),
            "{lines:?}"
        );
    }

    #[test]
    fn not_a_pdf() {
        let r = read_pages(b"hello", &mut |_, _| {});
        assert!(matches!(r, Err(PdfProblem::Damaged(_))));
    }
}
