//! Makes a clean page rendering look scanned: skew, blur, noise, a lower
//! resolution and faded contrast, on an 8-bit gray PGM (what `pdftoppm
//! -gray` writes and Leptonica reads). The model must learn from what OCR
//! makes of real scans, not from perfect text.

use anyhow::{Context, Result, bail};

/// A gray image.
struct Gray {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Gray {
    /// An image of the same size with other pixels: what every
    /// degradation step returns.
    fn with_pixels(&self, pixels: Vec<u8>) -> Gray {
        Gray {
            pixels,
            width: self.width,
            height: self.height,
        }
    }
}

fn parse_pgm(bytes: &[u8]) -> Result<Gray> {
    // "P5\n<w> <h>\n<max>\n" then the pixels; pdftoppm writes no comments.
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        if start == at {
            bail!("truncated PGM header");
        }
        fields.push(std::str::from_utf8(&bytes[start..at]).context("PGM header")?);
    }
    if fields[0] != "P5" || fields[3] != "255" {
        bail!("not an 8-bit binary PGM");
    }
    let width: usize = fields[1].parse().context("PGM width")?;
    let height: usize = fields[2].parse().context("PGM height")?;
    let pixels = bytes
        .get(at + 1..at + 1 + width * height)
        .context("PGM shorter than its header says")?
        .to_vec();
    Ok(Gray {
        width,
        height,
        pixels,
    })
}

fn write_pgm(g: &Gray) -> Vec<u8> {
    let mut out = format!("P5\n{} {}\n255\n", g.width, g.height).into_bytes();
    out.extend_from_slice(&g.pixels);
    out
}

/// A degraded copy of the page; `rng` decides how much of each.
pub fn degrade(pgm: &[u8], rng: &mut fastrand::Rng) -> Result<Vec<u8>> {
    let mut g = parse_pgm(pgm)?;
    let angle = (rng.f32() * 2.0 - 1.0) * 1.5_f32.to_radians();
    g = rotate(&g, angle);
    if rng.f32() < 0.5 {
        g = blur(&g);
    }
    if rng.f32() < 0.4 {
        g = coarsen(&g);
    }
    let fade = 0.75 + 0.25 * rng.f32();
    let noise = 10.0 + 30.0 * rng.f32();
    for p in &mut g.pixels {
        let v = 255.0 - (255.0 - f32::from(*p)) * fade + (rng.f32() - 0.5) * noise;
        *p = v.clamp(0.0, 255.0) as u8;
    }
    Ok(write_pgm(&g))
}

/// Rotation about the centre, bilinear, white outside the page.
fn rotate(g: &Gray, angle: f32) -> Gray {
    let (s, c) = angle.sin_cos();
    let (cx, cy) = (g.width as f32 / 2.0, g.height as f32 / 2.0);
    let at = |x: isize, y: isize| -> f32 {
        if x < 0 || y < 0 || x as usize >= g.width || y as usize >= g.height {
            255.0
        } else {
            f32::from(g.pixels[y as usize * g.width + x as usize])
        }
    };
    let mut pixels = vec![255u8; g.pixels.len()];
    for y in 0..g.height {
        for x in 0..g.width {
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            let sx = c * dx + s * dy + cx;
            let sy = -s * dx + c * dy + cy;
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as isize, y0 as isize);
            let v = at(x0, y0) * (1.0 - fx) * (1.0 - fy)
                + at(x0 + 1, y0) * fx * (1.0 - fy)
                + at(x0, y0 + 1) * (1.0 - fx) * fy
                + at(x0 + 1, y0 + 1) * fx * fy;
            pixels[y * g.width + x] = v as u8;
        }
    }
    g.with_pixels(pixels)
}

/// A 3 × 3 box blur: an out-of-focus scanner or phone camera.
fn blur(g: &Gray) -> Gray {
    let mut pixels = g.pixels.clone();
    for y in 1..g.height.saturating_sub(1) {
        for x in 1..g.width.saturating_sub(1) {
            let mut sum = 0u32;
            for dy in 0..3 {
                for dx in 0..3 {
                    sum += u32::from(g.pixels[(y + dy - 1) * g.width + x + dx - 1]);
                }
            }
            pixels[y * g.width + x] = (sum / 9) as u8;
        }
    }
    g.with_pixels(pixels)
}

/// Half the resolution, blown up again: a 150 dpi scan, or a JPEG.
fn coarsen(g: &Gray) -> Gray {
    let mut pixels = g.pixels.clone();
    for y in (0..g.height.saturating_sub(1)).step_by(2) {
        for x in (0..g.width.saturating_sub(1)).step_by(2) {
            let i = y * g.width + x;
            let avg = (u32::from(g.pixels[i])
                + u32::from(g.pixels[i + 1])
                + u32::from(g.pixels[i + g.width])
                + u32::from(g.pixels[i + g.width + 1]))
                / 4;
            for j in [i, i + 1, i + g.width, i + g.width + 1] {
                pixels[j] = avg as u8;
            }
        }
    }
    g.with_pixels(pixels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_degraded_page_is_still_a_pgm_of_the_same_size() {
        let mut pgm = b"P5\n40 30\n255\n".to_vec();
        pgm.extend((0..1200).map(|i| if i % 7 == 0 { 0 } else { 255 }));
        let out = degrade(&pgm, &mut fastrand::Rng::with_seed(1)).unwrap();
        let g = parse_pgm(&out).unwrap();
        assert_eq!((g.width, g.height), (40, 30));
        assert_ne!(out, pgm);
        assert!(parse_pgm(b"P6\n1 1\n255\n\0\0\0").is_err());
        assert!(parse_pgm(b"P5\n10 10\n255\n\0").is_err());
    }
}
