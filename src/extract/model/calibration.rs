//! Calibrated confidence: the share of held-out invoices on which a field
//! decided in the same situation was right.
//!
//! A scorer's probability is not a promise (it is trained to rank, and on
//! synthetic invoices). Routing needs one: among fields reported at 0.9 or
//! more, at least 97 % must be right. So the confidence a field gets is
//! *measured*: `apflow train` decides every field of invoices it held out
//! from training and counts, per cell of (probability band, whether the
//! page was scanned, whether the rules agree, whether the arithmetic or
//! date order checks out), how many were right. Scans are their own cells
//! because OCR misreads a digit of a value the scorer is sure of: the same
//! probability is worth less on a scan. The confidence is that rate, smoothed toward 1/2 by two
//! pseudo-counts and shrunk by a margin, so a sparse cell never claims
//! more than it has shown.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::Situation;

/// Upper edges of the probability bands (the last band ends at 1).
pub const BANDS: [f32; 6] = [0.35, 0.5, 0.7, 0.85, 0.95, 0.99];

/// Subtracted from every measured rate: the held-out invoices are
/// synthetic, real ones are harder.
const MARGIN: f32 = 0.02;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Cell {
    pub decided: u32,
    pub right: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Calibration {
    /// `cells[band][scanned][agrees][validated]`.
    pub cells: Vec<[[[Cell; 2]; 2]; 2]>,
}

impl Default for Calibration {
    fn default() -> Self {
        Calibration {
            cells: (0..=BANDS.len()).map(|_| Default::default()).collect(),
        }
    }
}

fn band(p: f32) -> usize {
    BANDS
        .iter()
        .position(|&edge| p < edge)
        .unwrap_or(BANDS.len())
}

impl Calibration {
    pub fn load(path: &Path) -> Result<Calibration> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let c: Calibration = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a calibration table", path.display()))?;
        anyhow::ensure!(
            c.cells.len() == BANDS.len() + 1,
            "{}: {} bands, expected {}",
            path.display(),
            c.cells.len(),
            BANDS.len() + 1
        );
        Ok(c)
    }

    fn cell(&mut self, s: &Situation) -> &mut Cell {
        &mut self.cells[band(s.probability)][usize::from(s.scanned)][usize::from(s.agrees)]
            [usize::from(s.validated)]
    }

    /// Counts one decided field.
    pub fn record(&mut self, s: &Situation, right: bool) {
        let cell = self.cell(s);
        cell.decided += 1;
        cell.right += u32::from(right);
    }

    /// The confidence to report for a field decided in this situation.
    pub fn confidence(&self, s: &Situation) -> f32 {
        let cell = &self.cells[band(s.probability)][usize::from(s.scanned)][usize::from(s.agrees)]
            [usize::from(s.validated)];
        let rate = (cell.right as f32 + 1.0) / (cell.decided as f32 + 2.0);
        (rate - MARGIN).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn situation(probability: f32, scanned: bool, agrees: bool, validated: bool) -> Situation {
        Situation {
            probability,
            scanned,
            agrees,
            validated,
        }
    }

    #[test]
    fn confidence_is_the_measured_rate_and_never_more_than_shown() {
        let mut c = Calibration::default();
        for i in 0..1000 {
            c.record(&situation(0.97, false, true, true), i % 100 != 0);
            c.record(&situation(0.6, false, false, false), i % 2 == 0);
            c.record(&situation(0.97, true, true, true), i % 10 != 0);
        }
        let high = c.confidence(&situation(0.98, false, true, true));
        assert!((0.96..0.98).contains(&high), "{high}");
        let low = c.confidence(&situation(0.6, false, false, false));
        assert!((0.45..0.5).contains(&low), "{low}");
        // The same probability on a scan is worth what scans showed.
        let scanned = c.confidence(&situation(0.98, true, true, true));
        assert!((0.86..0.89).contains(&scanned), "{scanned}");
        // A cell never seen says nothing: one half, less the margin.
        assert!(c.confidence(&situation(0.2, false, true, false)) < 0.5);
    }
}
