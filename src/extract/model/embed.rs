//! Sentence embeddings of the words around a candidate value, with
//! all-MiniLM-L6-v2 (BERT, 384 dimensions) run by candle on the CPU.
//!
//! Why embeddings: a value's label is what says which field it is, and
//! labels are worded in endless ways ("Amount payable", "Te betalen",
//! "Razem do zapłaty"). Rules know the wordings someone wrote down; an
//! embedding puts an unseen wording next to the known ones.
//!
//! Why a cache: the same few hundred label texts recur on every invoice,
//! and a BERT forward pass costs milliseconds. Texts are normalised (lower
//! case, each run of digits folded to `0`, at most eight words) before lookup, so
//! "MwSt. 19 %" and "MwSt. 7 %" are one entry. The cache is bounded.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// Width of one embedding.
pub const DIM: usize = 384;
/// Entries kept before the cache is cleared (about 6 MB of vectors).
const CACHE_LIMIT: usize = 4096;
/// Words of a neighbour text that are embedded.
const MAX_WORDS: usize = 8;

pub struct Embedder {
    bert: BertModel,
    tokenizer: Tokenizer,
    cache: Mutex<HashMap<String, Vec<f32>>>,
    cache_limit: usize,
}

/// The cache key and the text embedded: folded so that recurring labels
/// with different numbers in them share one entry.
pub fn normalise(text: &str) -> String {
    text.split_whitespace()
        .take(MAX_WORDS)
        .map(|w| {
            let mut out = String::with_capacity(w.len());
            for c in w.chars().flat_map(char::to_lowercase) {
                // A run of digits becomes one `0`.
                if !(c.is_ascii_digit() && out.ends_with('0')) {
                    out.push(if c.is_ascii_digit() { '0' } else { c });
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Embedder {
    /// Loads `model.safetensors`, `config.json` and `tokenizer.json` from
    /// `dir` (memory-mapped: the load takes milliseconds).
    pub fn load(dir: &Path) -> Result<Embedder> {
        let config_path = dir.join("config.json");
        let config: Config = serde_json::from_str(
            &std::fs::read_to_string(&config_path)
                .with_context(|| format!("cannot read {}", config_path.display()))?,
        )
        .with_context(|| format!("{} is not a BERT config", config_path.display()))?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| anyhow::anyhow!("{}: {e}", dir.join("tokenizer.json").display()))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: 32,
                ..Default::default()
            }))
            .map_err(|e| anyhow::anyhow!("tokenizer truncation: {e}"))?;
        let weights = dir.join("model.safetensors");
        // SAFETY: the weights file is not modified while it is mapped; it
        // belongs to the installation, like the binary itself.
        let vb = unsafe {
            VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &Device::Cpu)
                .with_context(|| format!("cannot map {}", weights.display()))?
        };
        let bert = BertModel::load(vb, &config)
            .with_context(|| format!("{} does not hold the BERT weights", weights.display()))?;
        Ok(Embedder {
            bert,
            tokenizer,
            cache: Mutex::new(HashMap::new()),
            cache_limit: CACHE_LIMIT,
        })
    }

    /// Keeps up to `limit` embeddings (training embeds every text once).
    pub fn with_cache_limit(mut self, limit: usize) -> Embedder {
        self.cache_limit = limit;
        self
    }

    /// The embedding of each text (normalised first), from the cache where
    /// it is there; the rest in one batch.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let keys: Vec<String> = texts.iter().map(|t| normalise(t)).collect();
        let missing: Vec<String> = {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            let mut m: Vec<String> = keys
                .iter()
                .filter(|k| !k.is_empty() && !cache.contains_key(*k))
                .cloned()
                .collect();
            // Similar lengths batch together, so little is padding.
            m.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
            m.dedup();
            m
        };
        for chunk in missing.chunks(32) {
            let vectors = self.forward(chunk)?;
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if cache.len() + chunk.len() > self.cache_limit {
                cache.clear();
            }
            for (k, v) in chunk.iter().zip(vectors) {
                cache.insert(k.clone(), v);
            }
        }
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        Ok(keys
            .iter()
            .map(|k| {
                if k.is_empty() {
                    vec![0.0; DIM]
                } else {
                    cache.get(k).cloned().unwrap_or_else(|| vec![0.0; DIM])
                }
            })
            .collect())
    }

    /// Mean-pooled over real tokens (padding masked out), L2-normalised:
    /// what sentence-transformers does for this model.
    fn forward(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| anyhow::anyhow!("tokenize: {e}"))?;
        let rows = encodings.len();
        let cols = encodings.first().map_or(0, |e| e.get_ids().len());
        let flat = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Vec<u32> {
            encodings.iter().flat_map(|e| f(e).to_vec()).collect()
        };
        let ids = Tensor::from_vec(flat(&|e| e.get_ids()), (rows, cols), &Device::Cpu)?;
        let types = Tensor::from_vec(flat(&|e| e.get_type_ids()), (rows, cols), &Device::Cpu)?;
        let mask = Tensor::from_vec(
            flat(&|e| e.get_attention_mask()),
            (rows, cols),
            &Device::Cpu,
        )?;
        let hidden = self.bert.forward(&ids, &types, Some(&mask))?;
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?.clamp(1.0, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        Ok(mean.broadcast_div(&norm)?.to_vec2::<f32>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn recurring_labels_share_one_key() {
        assert_eq!(normalise("MwSt.  19 %"), normalise("mwst. 7 %"));
        assert_eq!(normalise("MwSt. 19 %"), "mwst. 0 %");
        assert_eq!(normalise("Total Due:"), "total due:");
        assert_eq!(
            normalise("one two three four five six seven eight nine ten"),
            "one two three four five six seven eight"
        );
    }
}
