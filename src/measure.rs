//! Measuring, for `bench` and `eval`: a larger synthetic corpus recombined from seed
//! passages, percentiles, this process's peak memory, timing a child process with its
//! own peak resident memory, and naming the CPU a figure was measured on.

use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// `n` passages made by recombining sentences of the seed passages: similar lengths and
/// vocabulary to the seeds, but no two alike, so nothing is served from a cache.
pub fn synthetic_corpus(seeds: &[String], n: usize) -> Vec<String> {
    let sentences: Vec<Vec<&str>> = seeds.iter().map(|p| split_sentences(p)).collect();
    let mut out = Vec::with_capacity(n);
    let mut state: u64 = 0x9E3779B97F4A7C15;
    let mut next = move || {
        // xorshift64: deterministic, no dependency.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    if seeds.is_empty() {
        return out;
    }
    for i in 0..n {
        let base = &sentences[i % seeds.len()];
        let mut picked: Vec<&str> = base.clone();
        // Rotate the passage's own sentences and swap one in from another passage.
        let rotate = (next() as usize) % picked.len().max(1);
        picked.rotate_left(rotate);
        let other = &sentences[(next() as usize) % sentences.len()];
        if let (Some(slot), Some(sentence)) = (
            picked.last_mut(),
            other.get((next() as usize) % other.len().max(1)),
        ) {
            *slot = sentence;
        }
        out.push(picked.join(" "));
    }
    out
}

fn split_sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, '.' | '?' | '!') && text[i + 1..].starts_with(' ') {
            out.push(text[start..=i].trim());
            start = i + 1;
        }
    }
    if !text[start..].trim().is_empty() {
        out.push(text[start..].trim());
    }
    out
}

/// The `p`-th percentile (0–1) of `values`, nearest rank.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// A finished child process: wall time, peak resident memory and exit status.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub wall: Duration,
    pub peak_rss_mb: f64,
    pub status: ExitStatus,
}

/// Runs `command` to completion with stdout discarded. Peak memory is the child's own
/// `VmHWM`, polled while it runs: `wait4`'s `ru_maxrss` would report the parent's peak,
/// which a child inherits across fork on Linux.
pub fn measure(command: &mut Command) -> std::io::Result<Measured> {
    let started = Instant::now();
    let mut child = command.stdout(Stdio::null()).spawn()?;
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0.0f64;
    let status = loop {
        if let Some(kb) = std::fs::read_to_string(&status_file)
            .ok()
            .as_deref()
            .and_then(vm_hwm_kb)
        {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Ok(Measured {
        wall: started.elapsed(),
        peak_rss_mb: peak_kb / 1024.0,
        status,
    })
}

/// The `VmHWM` (peak resident set) line of a `/proc/PID/status` file, in KiB.
fn vm_hwm_kb(status: &str) -> Option<f64> {
    status_kb(status, "VmHWM:")
}

/// A `/proc/<pid>/status` field given in kB.
fn status_kb(status: &str, field: &str) -> Option<f64> {
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse().ok())
}

/// This process's resident memory now, in MiB, as (anonymous, file-backed): the second is
/// pages of mapped files, such as a memory-mapped index, which the kernel may drop and read
/// again (Linux; zeros elsewhere).
pub fn own_rss_parts_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mb = |field| status_kb(&status, field).map_or(0.0, |kb| kb / 1024.0);
    (mb("RssAnon:"), mb("RssFile:"))
}

/// This process's peak resident memory so far, in MiB (Linux; 0 elsewhere).
pub fn own_peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .as_deref()
        .and_then(vm_hwm_kb)
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Starts a new peak for `own_peak_rss_mb` at the current resident size (Linux: writing
/// 5 to `/proc/self/clear_refs` resets VmHWM; elsewhere nothing happens).
pub fn reset_own_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The CPU as a speed figure should name it: model name, family and model from
/// `/proc/cpuinfo`, and which of the vector features akapit's products use it has.
pub fn cpu_description() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(key, _)| key.trim() == name)
            .map(|(_, value)| value.trim().to_string())
    };
    let mut out = field("model name").unwrap_or_else(|| "an unknown CPU".to_string());
    if let (Some(family), Some(model)) = (field("cpu family"), field("model")) {
        out.push_str(&format!(" (family {family}, model {model})"));
    }
    #[cfg(target_arch = "x86_64")]
    {
        let features = [
            ("avx2", is_x86_feature_detected!("avx2")),
            ("fma", is_x86_feature_detected!("fma")),
            ("avx-vnni", is_x86_feature_detected!("avxvnni")),
            ("avx512f", is_x86_feature_detected!("avx512f")),
            ("avx512-vnni", is_x86_feature_detected!("avx512vnni")),
            ("avx512-bf16", is_x86_feature_detected!("avx512bf16")),
        ];
        let present: Vec<&str> = features
            .iter()
            .filter(|(_, has)| *has)
            .map(|(name, _)| *name)
            .collect();
        if !present.is_empty() {
            out.push_str(&format!(", with {}", present.join(" ")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_corpus_is_deterministic_varied_and_sized() {
        let seeds = vec![
            "Rosja zwiększa presję. Białoruś się waha. Unia patrzy.".to_string(),
            "Plan zakłada 160 działań. Część to ćwiczenia.".to_string(),
        ];
        let a = synthetic_corpus(&seeds, 50);
        assert_eq!(a.len(), 50);
        assert_eq!(a, synthetic_corpus(&seeds, 50));
        let distinct: std::collections::HashSet<&String> = a.iter().collect();
        assert!(distinct.len() > 5, "{distinct:?}");
        assert!(a.iter().all(|p| !p.is_empty()));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v = [5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(percentile(&v, 0.5), 3.0);
        assert_eq!(percentile(&v, 0.95), 5.0);
        assert!(percentile(&[], 0.5).is_nan());
    }

    #[test]
    fn measures_a_child_not_the_parent() {
        let m = measure(Command::new("sleep").arg("0.1")).unwrap();
        assert!(m.status.success());
        assert!(m.wall >= Duration::from_millis(100));
        // `sleep` needs a few MB; the test process itself holds far more.
        assert!(
            m.peak_rss_mb > 0.0 && m.peak_rss_mb < 50.0,
            "{}",
            m.peak_rss_mb
        );
    }
}
