//! Embeddings of the words around a candidate value: static token vectors
//! distilled from the sentence-embedding model all-MiniLM-L6-v2 (BERT, 384
//! dimensions), in the manner of Model2Vec.
//!
//! Why embeddings: a value's label is what says which field it is, and
//! labels are worded in endless ways ("Amount payable", "Te betalen",
//! "Razem do zapłaty"). Rules know the wordings someone wrote down; an
//! embedding puts an unseen wording next to the known ones.
//!
//! Why distilled, not a BERT pass per text: the label texts recur, but the
//! vendor names, addresses and item descriptions beside them do not, and a
//! BERT pass costs about 8 ms a text on one core, some 30 texts on a new
//! vendor's invoice. Instead `distill` runs BERT once per vocabulary token
//! (`[CLS] token [SEP]`, mean-pooled as sentence-transformers does) and
//! keeps the 30,522 vectors; a text's embedding is then the mean and the
//! maximum of its word pieces' vectors, each L2-normalised: microseconds,
//! on any invoice, and unseen wordings still land near the known ones
//! through their word pieces. Training and extraction use the same table, so nothing the
//! scorer learned depends on the cache state.
//!
//! The table is derived, not shipped: `apflow distill` (run by `make`)
//! writes it beside the fetched BERT weights.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use half::slice::HalfFloatSliceExt;
use tokenizers::{Tokenizer, TruncationParams};

/// Width of one token vector (BERT's hidden size).
const TOKEN_DIM: usize = 384;
/// Width of one text's embedding: the mean and the maximum of its word
/// pieces' vectors.
pub const DIM: usize = 2 * TOKEN_DIM;
/// Words of a neighbour text that are embedded.
const MAX_WORDS: usize = 8;
/// Word pieces of a neighbour text that are embedded.
const MAX_PIECES: usize = 32;
/// The distilled token vectors, inside the embedding model's folder.
pub const TABLE_FILE: &str = "token-vectors.safetensors";
/// Vocabulary tokens run through BERT at once while distilling.
const DISTILL_BATCH: usize = 512;

/// Embeddings kept by text, so a label printed on every invoice is
/// tokenized once (about 12 MB of vectors at the bound).
const CACHE_LIMIT: usize = 4096;

pub struct Embedder {
    tokenizer: Tokenizer,
    /// `token_vectors`: `vocab × TOKEN_DIM` half floats, row-major, each
    /// row L2-normalised. Memory-mapped: loading costs nothing, and only
    /// the rows of word pieces that occur are ever read from disk.
    table: MmapedSafetensors,
    /// By normalised text; cleared when full. Only a shortcut: a text's
    /// embedding is the same whether it comes from here or not.
    cache: Mutex<HashMap<String, Arc<[f32]>>>,
}

/// The text embedded: folded so that recurring labels with different
/// numbers in them are one text.
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

fn tokenizer(dir: &Path) -> Result<Tokenizer> {
    let path = dir.join("tokenizer.json");
    let mut tokenizer =
        Tokenizer::from_file(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: MAX_PIECES,
            ..Default::default()
        }))
        .map_err(|e| anyhow::anyhow!("tokenizer truncation: {e}"))?;
    Ok(tokenizer)
}

fn l2_normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 1e-12 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

impl Embedder {
    /// Loads the tokenizer and maps the distilled table from the embedding
    /// model's folder (milliseconds).
    pub fn load(dir: &Path) -> Result<Embedder> {
        let tokenizer = tokenizer(dir)?;
        let path = dir.join(TABLE_FILE);
        if !path.exists() {
            bail!(
                "{} is missing: run `apflow distill` (`make` does)",
                path.display()
            );
        }
        // SAFETY: the table belongs to the installation, like the binary;
        // `distill` replaces it by renaming a new file over it, which
        // leaves a mapped old one intact.
        let table = unsafe { MmapedSafetensors::new(&path) }
            .with_context(|| format!("cannot map {}", path.display()))?;
        let vectors = table
            .get("token_vectors")
            .with_context(|| format!("{} has no token_vectors", path.display()))?;
        let vocab = tokenizer.get_vocab_size(true);
        if vectors.shape() != [vocab, TOKEN_DIM] || vectors.data().len() != vocab * TOKEN_DIM * 2 {
            bail!(
                "{} holds {:?} vectors, the tokenizer has {vocab} tokens of {TOKEN_DIM} half floats: run `apflow distill --force`",
                path.display(),
                vectors.shape()
            );
        }
        Ok(Embedder {
            tokenizer,
            table,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The embedding of each text (normalised first): the mean and the
    /// maximum of its word pieces' vectors, each L2-normalised; zeros for
    /// an empty text.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Arc<[f32]>>> {
        texts.iter().map(|t| self.embed_one(t)).collect()
    }

    fn embed_one(&self, text: &str) -> Result<Arc<[f32]>> {
        let text = normalise(text);
        if let Some(v) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&text)
        {
            return Ok(v.clone());
        }
        let v: Arc<[f32]> = self.pool(&text)?.into();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(text, v.clone());
        Ok(v)
    }

    /// Mean and maximum of the word pieces' vectors of a normalised text.
    fn pool(&self, text: &str) -> Result<Vec<f32>> {
        if text.is_empty() {
            return Ok(vec![0.0f32; DIM]);
        }
        let encoding = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| anyhow::anyhow!("tokenize: {e}"))?;
        let vectors = self.table.get("token_vectors")?;
        let data = vectors.data();
        let mut mean = vec![0.0f32; TOKEN_DIM];
        let mut max = vec![f32::NEG_INFINITY; TOKEN_DIM];
        let mut halves = [half::f16::ZERO; TOKEN_DIM];
        let mut row = [0.0f32; TOKEN_DIM];
        for &id in encoding.get_ids() {
            let start = id as usize * TOKEN_DIM * 2;
            let Some(bytes) = data.get(start..start + TOKEN_DIM * 2) else {
                continue;
            };
            for (x, b) in halves.iter_mut().zip(bytes.chunks_exact(2)) {
                *x = half::f16::from_bits(u16::from_le_bytes([b[0], b[1]]));
            }
            // The whole row at once, with the CPU's conversion instructions.
            halves.convert_to_f32_slice(&mut row);
            mean.iter_mut().zip(&row).for_each(|(a, b)| *a += b);
            // Not `f32::max`: its NaN rule keeps the loop from vectorising.
            max.iter_mut()
                .zip(&row)
                .for_each(|(a, b)| *a = if *b > *a { *b } else { *a });
        }
        if max[0] == f32::NEG_INFINITY {
            return Ok(vec![0.0f32; DIM]);
        }
        l2_normalise(&mut mean);
        l2_normalise(&mut max);
        mean.extend(max);
        Ok(mean)
    }
}

/// sha256 of the token table in `dir`, hex: which table a scorer was
/// trained on.
pub fn table_fingerprint(dir: &Path) -> Result<String> {
    let path = dir.join(TABLE_FILE);
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(crate::domain::sha256_hex(&bytes))
}

/// Writes the distilled table into the embedding model's folder `dir`
/// unless it is there already (or `force`): BERT run once on each
/// vocabulary token. Deterministic; about a minute on two cores.
pub fn distill(dir: &Path, force: bool) -> Result<PathBuf> {
    let out = dir.join(TABLE_FILE);
    if out.exists() && !force {
        return Ok(out);
    }
    let config_path = dir.join("config.json");
    let config: Config = serde_json::from_str(
        &std::fs::read_to_string(&config_path)
            .with_context(|| format!("cannot read {}", config_path.display()))?,
    )
    .with_context(|| format!("{} is not a BERT config", config_path.display()))?;
    let tokenizer = tokenizer(dir)?;
    let id = |t: &str| {
        tokenizer
            .token_to_id(t)
            .with_context(|| format!("the tokenizer has no {t} token"))
    };
    let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
    let weights = dir.join("model.safetensors");
    // SAFETY: the weights file is not modified while it is mapped; it
    // belongs to the installation, like the binary itself.
    let vb = unsafe {
        VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &Device::Cpu)
            .with_context(|| format!("cannot map {}", weights.display()))?
    };
    let bert = BertModel::load(vb, &config)
        .with_context(|| format!("{} does not hold the BERT weights", weights.display()))?;
    let vocab = u32::try_from(tokenizer.get_vocab_size(true)).context("vocabulary size")?;
    let mut table: Vec<f32> = Vec::with_capacity(vocab as usize * TOKEN_DIM);
    let ids: Vec<u32> = (0..vocab).collect();
    for chunk in ids.chunks(DISTILL_BATCH) {
        let rows = chunk.len();
        let seq: Vec<u32> = chunk.iter().flat_map(|&t| [cls, t, sep]).collect();
        let input = Tensor::from_vec(seq, (rows, 3), &Device::Cpu)?;
        let types = input.zeros_like()?;
        // Every position is a real token: the mean is over all three.
        let hidden = bert.forward(&input, &types, None)?;
        let mean = hidden.mean(1)?.to_vec2::<f32>()?;
        for mut v in mean {
            l2_normalise(&mut v);
            table.extend(v);
        }
    }
    // BERT's outputs share one large common direction (every token vector
    // is close to every other); removed, what is left is what tells one
    // word from another, as PCA does in Model2Vec.
    let rows = vocab as usize;
    let mut centre = vec![0.0f32; TOKEN_DIM];
    for row in table.chunks(TOKEN_DIM) {
        centre
            .iter_mut()
            .zip(row)
            .for_each(|(c, x)| *c += x / rows as f32);
    }
    for row in table.chunks_mut(TOKEN_DIM) {
        row.iter_mut().zip(&centre).for_each(|(x, c)| *x -= c);
        l2_normalise(row);
    }
    // Half precision: half the file, and far finer than what separates labels.
    let tensor =
        Tensor::from_vec(table, (vocab as usize, TOKEN_DIM), &Device::Cpu)?.to_dtype(DType::F16)?;
    let tmp = dir.join(format!("{TABLE_FILE}.{}.tmp", std::process::id()));
    candle_core::safetensors::save(
        &std::collections::HashMap::from([("token_vectors".to_string(), tensor)]),
        &tmp,
    )
    .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &out).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn recurring_labels_are_one_text() {
        assert_eq!(normalise("MwSt.  19 %"), normalise("mwst. 7 %"));
        assert_eq!(normalise("MwSt. 19 %"), "mwst. 0 %");
        assert_eq!(normalise("Total Due:"), "total due:");
        assert_eq!(
            normalise("one two three four five six seven eight nine ten"),
            "one two three four five six seven eight"
        );
    }
}
