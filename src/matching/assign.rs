//! Optimal assignment of invoice lines to PO lines.
//!
//! Greedy first-fit pairs the first plausible lines and can steal the right
//! partner of a later line ("Toner black" takes the PO line meant for "Toner
//! black XL"). The Hungarian method maximises the total affinity over all
//! pairs instead; with the tens of lines an invoice has it costs
//! microseconds.

/// Affinity below which two lines are not paired at all.
pub const MIN_AFFINITY: f64 = 0.6;

/// Pairs rows with columns to maximise the summed affinity; `affinity[i][j]`
/// is `None` where row `i` must not go to column `j`. Returns, per row, its
/// column if it got one.
pub fn assign(affinity: &[Vec<Option<f64>>]) -> Vec<Option<usize>> {
    let rows = affinity.len();
    let cols = affinity.iter().map(Vec::len).max().unwrap_or(0);
    if rows == 0 || cols == 0 {
        return vec![None; rows];
    }
    let n = rows.max(cols);
    // Minimise cost = 1 - affinity on a square matrix padded with
    // "no pair" cells that cost more than any real pair.
    const NO_PAIR: f64 = 2.0;
    let cost = |i: usize, j: usize| -> f64 {
        affinity
            .get(i)
            .and_then(|r| r.get(j))
            .copied()
            .flatten()
            .map_or(NO_PAIR, |a| 1.0 - a)
    };
    // Jonker-Volgenant style O(n^3) Hungarian with potentials (1-based).
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; n + 1];
    let mut p = vec![0usize; n + 1];
    let mut way = vec![0usize; n + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![f64::INFINITY; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=n {
                if !used[j] {
                    let cur = cost(i0 - 1, j - 1) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut out = vec![None; rows];
    for (j, &i) in p.iter().enumerate().skip(1) {
        if i >= 1 && i <= rows && j <= cols && cost(i - 1, j - 1) < NO_PAIR {
            out[i - 1] = Some(j - 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beats_greedy() {
        // Greedy would give row 0 column 0 (0.9) and leave row 1 with 0.0;
        // the optimum is 0.8 + 0.85.
        let a = vec![vec![Some(0.9), Some(0.8)], vec![Some(0.85), None]];
        assert_eq!(assign(&a), vec![Some(1), Some(0)]);
    }

    #[test]
    fn rectangular_and_forbidden() {
        let a = vec![
            vec![None, None],
            vec![Some(0.7), Some(0.9)],
            vec![Some(0.95), None],
        ];
        assert_eq!(assign(&a), vec![None, Some(1), Some(0)]);
        assert_eq!(assign(&[]), Vec::<Option<usize>>::new());
        assert_eq!(assign(&[vec![]]), vec![None]);
    }
}
