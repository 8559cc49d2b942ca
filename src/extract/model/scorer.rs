//! The candidate scorer: a small multi-layer perceptron in candle that
//! gives each candidate a probability of being each field.
//!
//! Input: the embeddings of the text left of and above the candidate
//! (2 × 384) and the hand-made features. One sigmoid output per field, not
//! a softmax over fields: a value can truly be two fields at once (net =
//! total on a tax-free invoice). About 80 k weights: it trains in minutes on
//! two cores and scores a page's candidates in well under a millisecond.

use anyhow::{Context, Result};
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Linear, VarBuilder, VarMap, linear};

use super::FIELDS;
use super::candidates::FEATURES;
use super::embed::DIM;

/// Width of the scorer's input.
pub const INPUT: usize = 2 * DIM + FEATURES.len();
const HIDDEN1: usize = 96;
const HIDDEN2: usize = 48;

pub struct Scorer {
    l1: Linear,
    l2: Linear,
    out: Linear,
}

impl Scorer {
    pub fn new(vb: VarBuilder) -> Result<Scorer> {
        Ok(Scorer {
            l1: linear(INPUT, HIDDEN1, vb.pp("l1"))?,
            l2: linear(HIDDEN1, HIDDEN2, vb.pp("l2"))?,
            out: linear(HIDDEN2, FIELDS.len(), vb.pp("out"))?,
        })
    }

    /// Loads shipped weights (a few hundred kilobytes, read whole).
    pub fn load(path: &std::path::Path) -> Result<Scorer> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let vb = VarBuilder::from_buffered_safetensors(bytes, DType::F32, &Device::Cpu)
            .with_context(|| format!("{} is not a safetensors file", path.display()))?;
        Scorer::new(vb).with_context(|| format!("{} does not fit this scorer", path.display()))
    }

    /// Logits, one row per candidate and one column per field.
    pub fn logits(&self, inputs: &Tensor) -> Result<Tensor> {
        let h = self.l1.forward(inputs)?.relu()?;
        let h = self.l2.forward(&h)?.relu()?;
        Ok(self.out.forward(&h)?)
    }

    /// Probabilities, `[candidate][field]`.
    pub fn probabilities(&self, inputs: &Tensor) -> Result<Vec<Vec<f32>>> {
        Ok(candle_nn::ops::sigmoid(&self.logits(inputs)?)?.to_vec2::<f32>()?)
    }
}

/// A fresh scorer whose weights come from `seed` alone (candle's own
/// initialiser draws from an unseeded generator), so that training is
/// reproducible.
pub fn seeded(seed: u64) -> Result<(VarMap, Scorer)> {
    let varmap = VarMap::new();
    let scorer = Scorer::new(VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu))?;
    let mut rng = fastrand::Rng::with_seed(seed);
    let data = varmap.data().lock().unwrap_or_else(|p| p.into_inner());
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for name in names {
        let var = &data[name];
        let dims = var.dims().to_vec();
        let n: usize = dims.iter().product();
        let values: Vec<f32> = if name.ends_with(".bias") {
            vec![0.0; n]
        } else {
            // He-uniform for ReLU layers: U(-b, b), b = sqrt(6 / fan_in).
            let fan_in = dims.get(1).copied().unwrap_or(1) as f32;
            let bound = (6.0 / fan_in).sqrt();
            (0..n).map(|_| (rng.f32() * 2.0 - 1.0) * bound).collect()
        };
        var.set(&Tensor::from_vec(values, dims, &Device::Cpu)?)?;
    }
    drop(data);
    Ok((varmap, scorer))
}
