//! `akapit bench --products`: each layer's matrix product of both models, one at a time,
//! in every arithmetic this CPU runs and in candle's q8_0 (`embed::compare_products`), for
//! a passage batch and for a question; a table or JSON of time per call, GMAC/s and each
//! product's worst cosine to f32.

use serde::Serialize;

use super::{print_json, print_text, Context, Outcome, Result};
use crate::cli::BenchArgs;
use crate::embed::ProductRun;
use crate::measure::cpu_description;
use crate::models::registry;

/// The products of each model's layers as akapit computes them: (model, layer, inputs,
/// outputs). Products computed together (Q, K and V; gate and up) are one product.
const LAYERS: &[(&str, &str, usize, usize)] = &[
    ("multilingual-e5-small", "Q, K, V", 384, 1152),
    ("multilingual-e5-small", "attention output", 384, 384),
    ("multilingual-e5-small", "feed-forward in", 384, 1536),
    ("multilingual-e5-small", "feed-forward out", 1536, 384),
    ("embeddinggemma-300m", "Q, K, V", 768, 1280),
    ("embeddinggemma-300m", "o_proj", 768, 768),
    ("embeddinggemma-300m", "gate, up", 768, 2304),
    ("embeddinggemma-300m", "down_proj", 1152, 768),
];

/// Rows of a product: a batch of passages (its tokens), and a question.
const PRODUCT_ROWS: [(&str, usize); 2] = [("passages", 512), ("question", 16)];

/// About how long each product is timed, in seven stretches.
const PRODUCT_BUDGET: std::time::Duration = std::time::Duration::from_millis(400);

#[derive(Debug, Serialize)]
struct ProductsJson {
    threads: usize,
    cpu: String,
    layers: Vec<LayerRuns>,
}

#[derive(Debug, Serialize)]
struct LayerRuns {
    model: &'static str,
    layer: &'static str,
    /// `passages` or `question`.
    rows_for: &'static str,
    runs: Vec<ProductRun>,
}

/// `--products`: each layer's product in every arithmetic this CPU runs, and candle's q8_0.
pub fn run(ctx: &Context, args: &BenchArgs) -> Result<Outcome> {
    for name in &args.model {
        registry::get(name)?;
    }
    let wanted = |model: &str| args.model.is_empty() || args.model.iter().any(|m| m == model);
    let mut report = ProductsJson {
        threads: rayon::current_num_threads(),
        cpu: cpu_description(),
        layers: Vec::new(),
    };
    for &(model, layer, inputs, outputs) in LAYERS.iter().filter(|l| wanted(l.0)) {
        for (rows_for, rows) in PRODUCT_ROWS {
            ctx.ui.note(format!(
                "{model}, {layer}: {rows} × {inputs} × {outputs} ({rows_for})"
            ));
            let runs = crate::embed::compare_products((rows, inputs, outputs), PRODUCT_BUDGET)?;
            report.layers.push(LayerRuns {
                model,
                layer,
                rows_for,
                runs,
            });
        }
    }
    if ctx.json {
        print_json(&report)?;
    } else {
        let mut out = format!(
            "{} threads on {}; each figure the median of 7 stretches of about {} ms; \"worst cos\": the lowest cosine of an output row to f32's\n\n{:<52} {:<22} {:>10} {:>8} {:>12}\n",
            report.threads, report.cpu, PRODUCT_BUDGET.as_millis() / 7, "layer: rows × inputs × outputs", "product", "µs/call", "GMAC/s", "worst cos"
        );
        for layer in &report.layers {
            for run in &layer.runs {
                let shape = format!(
                    "{} {}: {} × {} × {} ({})",
                    short(layer.model),
                    layer.layer,
                    run.rows,
                    run.inputs,
                    run.outputs,
                    layer.rows_for
                );
                out.push_str(&format!(
                    "{shape:<52} {:<22} {:>10.1} {:>8.1} {:>12.6}\n",
                    run.product, run.us_per_call, run.gmac_per_s, run.worst_cosine_to_f32
                ));
            }
        }
        print_text(&out)?;
    }
    Ok(Outcome::Found)
}

/// A model's name short enough for a table.
fn short(model: &str) -> &str {
    match model {
        "multilingual-e5-small" => "e5",
        "embeddinggemma-300m" => "Gemma",
        other => other,
    }
}
