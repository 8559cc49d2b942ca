//! Scanned documents made from the sample invoices, for the OCR tests and
//! the OCR benchmark (which includes this file with `#[path]`): a page is
//! rendered to gray pixels with `pdftoppm`, optionally turned, and wrapped
//! into an image-only PDF (no text layer: what a scanner produces) or a
//! multi-page TIFF.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// An 8-bit gray image.
pub struct Gray {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl Gray {
    /// Page 1 of `pdf` rendered at `dpi`.
    pub fn render(pdf: &Path, dpi: u32) -> Gray {
        let out = Command::new("pdftoppm")
            .args(["-r", &dpi.to_string(), "-gray", "-f", "1", "-l", "1"])
            .arg(pdf)
            .output()
            .expect("pdftoppm is installed (poppler-utils)");
        assert!(out.status.success(), "pdftoppm failed on {}", pdf.display());
        Gray::from_pgm(&out.stdout)
    }

    /// Parses a binary PGM (P5, maxval 255).
    pub fn from_pgm(bytes: &[u8]) -> Gray {
        let mut fields = Vec::new();
        let mut i = 0;
        while fields.len() < 4 {
            while bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if bytes[i] == b'#' {
                while bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            let start = i;
            while !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            fields.push(String::from_utf8_lossy(&bytes[start..i]).to_string());
        }
        assert_eq!(fields[0], "P5");
        let width: usize = fields[1].parse().unwrap();
        let height: usize = fields[2].parse().unwrap();
        let pixels = bytes[i + 1..i + 1 + width * height].to_vec();
        Gray {
            width,
            height,
            pixels,
        }
    }

    pub fn to_pgm(&self) -> Vec<u8> {
        let mut out = format!("P5\n{} {}\n255\n", self.width, self.height).into_bytes();
        out.extend_from_slice(&self.pixels);
        out
    }

    /// Turned a quarter clockwise (a page fed into the scanner sideways).
    pub fn quarter_turn(&self) -> Gray {
        let (w, h) = (self.width, self.height);
        let mut pixels = vec![0u8; w * h];
        for y in 0..h {
            for x in 0..w {
                // (x, y) goes to (h - 1 - y, x) in an image h wide.
                pixels[x * h + (h - 1 - y)] = self.pixels[y * w + x];
            }
        }
        Gray {
            width: h,
            height: w,
            pixels,
        }
    }

    /// With dust on the scanner's glass: dark specks of one and two
    /// pixels sprayed over the page, `per_million` of them per million
    /// pixels, at fixed pseudo-random places (the development corpus's
    /// scans have about 500).
    pub fn speckled(&self, per_million: usize) -> Gray {
        let mut pixels = self.pixels.clone();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as usize
        };
        let (w, h) = (self.width, self.height);
        for _ in 0..(w * h / 1000 * per_million / 1000) {
            let (x, y, size) = (next() % (w - 2), next() % (h - 2), 1 + next() % 2);
            for dy in 0..size {
                for dx in 0..size {
                    pixels[(y + dy) * w + x + dx] = 40;
                }
            }
        }
        Gray {
            width: w,
            height: h,
            pixels,
        }
    }

    /// Tilted by `degrees` clockwise about the centre (a page fed in
    /// crooked), white where the page does not reach.
    pub fn tilted(&self, degrees: f32) -> Gray {
        let (w, h) = (self.width as f32, self.height as f32);
        let (sin, cos) = degrees.to_radians().sin_cos();
        let mut pixels = vec![255u8; self.pixels.len()];
        for y in 0..self.height {
            for x in 0..self.width {
                // Where this output pixel comes from in the upright page.
                let (dx, dy) = (x as f32 - w / 2.0, y as f32 - h / 2.0);
                let sx = (cos * dx + sin * dy + w / 2.0).round();
                let sy = (-sin * dx + cos * dy + h / 2.0).round();
                if sx >= 0.0 && sy >= 0.0 && sx < w && sy < h {
                    pixels[y * self.width + x] =
                        self.pixels[sy as usize * self.width + sx as usize];
                }
            }
        }
        Gray {
            width: self.width,
            height: self.height,
            pixels,
        }
    }

    /// An image-only PDF of these pages, each drawn full-page at `dpi`.
    pub fn pdf(pages: &[Gray], dpi: u32) -> Vec<u8> {
        let n = pages.len();
        // Objects: 1 catalog, 2 pages, then per page: page, content, image.
        let mut objects = vec![b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()];
        let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 3 + 3 * i)).collect();
        objects
            .push(format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).into_bytes());
        for (i, page) in pages.iter().enumerate() {
            let (pw, ph) = (
                page.width as f32 * 72.0 / dpi as f32,
                page.height as f32 * 72.0 / dpi as f32,
            );
            let base = 3 + 3 * i;
            objects.push(
                format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {pw:.2} {ph:.2}] /Resources << /XObject << /Im0 {} 0 R >> >> /Contents {} 0 R >>",
                    base + 2,
                    base + 1
                )
                .into_bytes(),
            );
            let content = format!("q {pw:.2} 0 0 {ph:.2} 0 0 cm /Im0 Do Q");
            objects.push(stream("", content.as_bytes()));
            // Flate-compressed, as scanners write gray pages.
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut z, &page.pixels).expect("compress");
            let data = z.finish().expect("compress");
            objects.push(stream(
                &format!(
                    "/Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode",
                    page.width, page.height
                ),
                &data,
            ));
        }
        pdf_file(&objects)
    }

    /// A multi-page TIFF (baseline, uncompressed, 8-bit gray), as a
    /// document scanner writes a batch.
    pub fn tiff(pages: &[Gray], dpi: u32) -> Vec<u8> {
        let mut out = b"II*\0".to_vec();
        out.extend_from_slice(&8u32.to_le_bytes());
        for (i, page) in pages.iter().enumerate() {
            let entries: u16 = 11;
            let ifd = out.len();
            let after_ifd = ifd + 2 + usize::from(entries) * 12 + 4;
            let res = after_ifd; // two RATIONALs: x and y resolution
            let data = res + 16;
            let next = if i + 1 < pages.len() {
                data + page.pixels.len()
            } else {
                0
            };
            let mut ifd_bytes = entries.to_le_bytes().to_vec();
            let mut entry = |tag: u16, kind: u16, value: u32| {
                ifd_bytes.extend_from_slice(&tag.to_le_bytes());
                ifd_bytes.extend_from_slice(&kind.to_le_bytes());
                ifd_bytes.extend_from_slice(&1u32.to_le_bytes());
                ifd_bytes.extend_from_slice(&value.to_le_bytes());
            };
            let u = |v: usize| u32::try_from(v).unwrap();
            entry(256, 4, u(page.width)); // ImageWidth
            entry(257, 4, u(page.height)); // ImageLength
            entry(258, 3, 8); // BitsPerSample
            entry(259, 3, 1); // Compression: none
            entry(262, 3, 1); // Photometric: black is zero
            entry(273, 4, u(data)); // StripOffsets
            entry(278, 4, u(page.height)); // RowsPerStrip
            entry(279, 4, u(page.pixels.len())); // StripByteCounts
            entry(282, 5, u(res)); // XResolution
            entry(283, 5, u(res + 8)); // YResolution
            entry(296, 3, 2); // ResolutionUnit: inch
            ifd_bytes.extend_from_slice(&u(next).to_le_bytes());
            out.extend_from_slice(&ifd_bytes);
            for _ in 0..2 {
                out.extend_from_slice(&dpi.to_le_bytes());
                out.extend_from_slice(&1u32.to_le_bytes());
            }
            out.extend_from_slice(&page.pixels);
        }
        out
    }
}

/// A stream object: `<< extra /Length n >> stream ... endstream`.
pub fn stream(extra: &str, data: &[u8]) -> Vec<u8> {
    let mut body = format!("<< {extra} /Length {} >>\nstream\n", data.len()).into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(b"\nendstream");
    body
}

/// A PDF file of these objects, numbered from 1 (object 1 is the
/// catalog), with its cross-reference table and trailer.
pub fn pdf_file(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1).as_bytes(),
    );
    for o in &offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            offsets.len() + 1
        )
        .as_bytes(),
    );
    out
}
