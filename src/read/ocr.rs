//! OCR: scanned pages and photos to words with boxes and confidences.
//!
//! Images are decoded by Leptonica (PNG, JPEG, multi-page TIFF, and the
//! PGM pages `pdftoppm` renders from scanned PDFs) and recognised by
//! Tesseract, both the system libraries (`tesseract-rs` binds the C API;
//! `build.rs` links them). Pages are recognised in parallel, one
//! single-threaded Tesseract per core (`OMP_THREAD_LIMIT=1`, set by `main`:
//! OpenMP threads inside Tesseract fight each other and a page gets 8x
//! slower). Every page is straightened first (Leptonica's deskew); a page
//! that then reads badly is checked for orientation (Tesseract's OSD) and
//! read again upright when it lies on its side or upside down.
//!
//! Hostile input: image headers are read before decoding, and an image
//! over [`MAX_PIXELS`] is refused before any pixel is allocated; one with a
//! side over [`MAX_SIDE`] is scaled down. PDFs are rasterised by a `pdftoppm`
//! child process with a deadline, so a PDF that makes poppler spin or crash
//! costs that process, not ours.

use std::ffi::c_void;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tesseract_rs::{TessPageIteratorLevel, TessPageSegMode, TesseractAPI};

use super::Error;
use crate::domain::{BBox, Line, Page, Word};

/// Resolution scanned PDF pages are rendered at (what Tesseract is tuned for).
pub const PDF_DPI: u32 = 300;
/// Images with more pixels than this are refused (a 20,000 px square is
/// 400 million: gigabytes once decoded).
pub const MAX_PIXELS: u64 = 150_000_000;
/// Longer sides are scaled down to this first: more pixels than an A4 page
/// at 600 dpi only cost time.
pub const MAX_SIDE: i32 = 7_000;
/// Images below this resolution are scaled up to [`PDF_DPI`] before
/// recognition: at 150-200 dpi the strokes of small print (a thermal
/// receipt, a fax) are a pixel or two wide, and Tesseract's page layout
/// analysis breaks words apart or drops them.
pub const MIN_DPI: f32 = 250.0;
/// Scaling up more than this invents nothing more and costs memory.
const MAX_UPSCALE: f32 = 3.0;
/// Pages of one document OCR'd at most (an invoice; not a book).
pub const MAX_OCR_PAGES: usize = 50;
/// How long rendering one page may take.
const RENDER_TIMEOUT: Duration = Duration::from_secs(60);

/// Which languages Tesseract reads, `+`-joined (`eng+deu`), and where its
/// data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcrOptions {
    pub languages: String,
    /// `None`: `TESSDATA_PREFIX`, then the Debian/Ubuntu locations.
    pub tessdata: Option<PathBuf>,
}

impl Default for OcrOptions {
    fn default() -> OcrOptions {
        OcrOptions {
            languages: "eng+deu".to_string(),
            tessdata: None,
        }
    }
}

// Leptonica: decoding, rotating and scaling images. Linked by build.rs.
#[allow(non_snake_case)]
unsafe extern "C" {
    fn pixReadMem(data: *const u8, size: usize) -> *mut c_void;
    fn pixReadMemTiff(data: *const u8, size: usize, n: i32) -> *mut c_void;
    fn pixReadHeaderMem(
        data: *const u8,
        size: usize,
        format: *mut i32,
        w: *mut i32,
        h: *mut i32,
        bps: *mut i32,
        spp: *mut i32,
        iscmap: *mut i32,
    ) -> i32;
    fn pixDestroy(pix: *mut *mut c_void);
    fn pixGetWidth(pix: *const c_void) -> i32;
    fn pixGetHeight(pix: *const c_void) -> i32;
    fn pixGetXRes(pix: *const c_void) -> i32;
    fn pixRotateOrth(pix: *mut c_void, quads: i32) -> *mut c_void;
    fn pixScale(pix: *mut c_void, sx: f32, sy: f32) -> *mut c_void;
    fn setMsgSeverity(severity: i32) -> i32;
    fn pixConvertTo8(pix: *mut c_void, cmapflag: i32) -> *mut c_void;
    fn pixConvertTo1(pix: *mut c_void, threshold: i32) -> *mut c_void;
    fn pixSelectBySize(
        pix: *mut c_void,
        width: i32,
        height: i32,
        connectivity: i32,
        select_type: i32,
        relation: i32,
        changed: *mut i32,
    ) -> *mut c_void;
    fn pixCountConnComp(pix: *mut c_void, connectivity: i32, count: *mut i32) -> i32;
    fn pixMedianFilter(pix: *mut c_void, wf: i32, hf: i32) -> *mut c_void;
    fn pixFindSkewAndDeskew(
        pix: *mut c_void,
        redsearch: i32,
        angle: *mut f32,
        conf: *mut f32,
    ) -> *mut c_void;
}

/// The largest speck [`Pix::despeckled`] counts, in pixels a side at
/// 300 dpi: dust and toner spray are 1-3 pixels, a printed period 4 and
/// more.
const SPECK_PIXELS: i32 = 3;

/// Specks per million pixels from which a page counts as speckled: a
/// clean page (a PDF rendered for OCR) has next to none, an office scan's
/// hundreds.
const SPECKLED: f32 = 100.0;

/// The least resolution (after scaling up) at which specks are removed.
const DESPECKLE_DPI: f32 = 250.0;

/// The most an image may have been scaled up for its specks to be removed:
/// 200 dpi scans are (1.5), 140 dpi faxes are not (2.1).
const MAX_DESPECKLE_UPSCALE: f32 = 1.6;

/// Leptonica reports decode failures on stderr; we report them ourselves,
/// as the document's reason, so its own messages are switched off.
fn quiet_leptonica() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: sets a global int inside Leptonica; L_SEVERITY_NONE = 6.
    ONCE.call_once(|| unsafe {
        setMsgSeverity(6);
    });
}

/// An owned Leptonica image.
struct Pix(*mut c_void);

// A Pix is plain memory owned by exactly one `Pix`; moving it to the thread
// that recognises it is sound.
unsafe impl Send for Pix {}

impl Drop for Pix {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: we own the pointer; pixDestroy nulls it.
            unsafe { pixDestroy(&mut self.0) };
        }
    }
}

impl Pix {
    fn from_raw(ptr: *mut c_void) -> Option<Pix> {
        (!ptr.is_null()).then_some(Pix(ptr))
    }

    fn size(&self) -> (i32, i32) {
        // SAFETY: self.0 is a live Pix.
        unsafe { (pixGetWidth(self.0), pixGetHeight(self.0)) }
    }

    /// Straightened when Leptonica finds the text lines tilted (a page fed
    /// in crooked); `None` when it is straight enough or unsure.
    fn deskewed(&self) -> Option<Pix> {
        let (mut angle, mut conf) = (0.0f32, 0.0f32);
        // SAFETY: returns a new image (a copy when nothing was done) or null.
        let pix = Pix::from_raw(unsafe { pixFindSkewAndDeskew(self.0, 2, &mut angle, &mut conf) })?;
        (angle.abs() >= 0.3 && conf >= 2.5).then_some(pix)
    }

    /// Cleared of specks when the page is speckled: an office scan's dust
    /// and toner spray, dark dots of a few pixels all over the page, which
    /// Tesseract reads as ".", ":" and "'" inside words and numbers and as
    /// lines of garbage between the real ones. A 3 × 3 median removes
    /// them and keeps the strokes of text at 300 dpi; it would also thin
    /// faint thermal print away, so a page with few specks (a clean scan,
    /// a receipt) is left as it is. `None` when left alone or when
    /// Leptonica cannot (an unusual pixel format).
    fn despeckled(&self) -> Option<Pix> {
        // SAFETY: each call returns a new image or null from an image this
        // function borrows or owns.
        unsafe {
            let gray = Pix::from_raw(pixConvertTo8(self.0, 0))?;
            if self.specks_per_megapixel(&gray)? < SPECKLED {
                return None;
            }
            Pix::from_raw(pixMedianFilter(gray.0, 3, 3))
        }
    }

    /// Dark blobs of at most [`SPECK_PIXELS`] a side, touching nothing,
    /// per million pixels of `gray` (this image at 8 bits).
    fn specks_per_megapixel(&self, gray: &Pix) -> Option<f32> {
        const EIGHT_CONNECTED: i32 = 8;
        const IF_BOTH: i32 = 6; // L_SELECT_IF_BOTH
        const IF_AT_MOST: i32 = 3; // L_SELECT_IF_LTE
        // SAFETY: as in `despeckled`; the count is written to a local.
        unsafe {
            let ink = Pix::from_raw(pixConvertTo1(gray.0, 160))?;
            let mut changed = 0;
            let specks = Pix::from_raw(pixSelectBySize(
                ink.0,
                SPECK_PIXELS,
                SPECK_PIXELS,
                EIGHT_CONNECTED,
                IF_BOTH,
                IF_AT_MOST,
                &mut changed,
            ))?;
            let mut count = 0;
            if pixCountConnComp(specks.0, EIGHT_CONNECTED, &mut count) != 0 {
                return None;
            }
            let (w, h) = self.size();
            Some(count as f32 / (w.max(1) as f32 * h.max(1) as f32 / 1e6))
        }
    }

    fn rotated(&self, quads: i32) -> Option<Pix> {
        // SAFETY: pixRotateOrth returns a new image or null.
        Pix::from_raw(unsafe { pixRotateOrth(self.0, quads) })
    }

    /// Ready for recognition: straightened when crooked (text lines that
    /// run uphill break the reading order and the table columns), scaled
    /// up to [`PDF_DPI`] when its resolution `dpi` is below [`MIN_DPI`],
    /// and scaled down so that neither side exceeds [`MAX_SIDE`], then
    /// cleared of a scanner's specks where `specks` says so (see
    /// [`Pix::despeckled`]); returns the scale factor applied (1.0 when
    /// left alone).
    fn prepared(self, dpi: f32, specks: Specks) -> Result<(Pix, f32), Error> {
        let pix = self.deskewed().unwrap_or(self);
        let (w, h) = pix.size();
        let longest = w.max(h).max(1) as f32;
        let up = if dpi < MIN_DPI {
            (PDF_DPI as f32 / dpi).min(MAX_UPSCALE)
        } else {
            1.0
        };
        let f = up.min(MAX_SIDE as f32 / longest);
        let (pix, f) = if (f - 1.0).abs() < 0.05 {
            (pix, 1.0)
        } else {
            // SAFETY: pixScale returns a new image or null.
            let scaled = Pix::from_raw(unsafe { pixScale(pix.0, f, f) })
                .ok_or_else(|| Error::Ocr("cannot scale the image".into()))?;
            (scaled, f)
        };
        // At 300 dpi a stroke of text is wider than a speck. An image of
        // much less detail (150 dpi scaled up) keeps strokes no wider than
        // specks, and a 3 × 3 median would take both; office scans are
        // 200 dpi and more.
        let pix =
            if specks == Specks::Remove && dpi * f >= DESPECKLE_DPI && f <= MAX_DESPECKLE_UPSCALE {
                pix.despeckled().unwrap_or(pix)
            } else {
                pix
            };
        Ok((pix, f))
    }
}

/// Refuses images too large to decode safely, from their header alone.
fn check_header(bytes: &[u8]) -> Result<(), Error> {
    quiet_leptonica();
    let (mut format, mut w, mut h, mut bps, mut spp, mut cmap) = (0, 0, 0, 0, 0, 0);
    // SAFETY: Leptonica reads at most `len` bytes and writes the six ints.
    let bad = unsafe {
        pixReadHeaderMem(
            bytes.as_ptr(),
            bytes.len(),
            &mut format,
            &mut w,
            &mut h,
            &mut bps,
            &mut spp,
            &mut cmap,
        )
    };
    if bad != 0 || w <= 0 || h <= 0 {
        return Err(Error::Ocr("unreadable image (header)".into()));
    }
    let pixels = u64::from(w.unsigned_abs()) * u64::from(h.unsigned_abs());
    if pixels > MAX_PIXELS {
        return Err(Error::Ocr(format!(
            "image of {w} x {h} pixels is larger than the {MAX_PIXELS} pixel limit"
        )));
    }
    Ok(())
}

/// One page image ready for OCR, with how many points one pixel is.
struct PageImage {
    number: u32,
    pix: Pix,
    points_per_pixel: f32,
}

/// The pages of a PNG, JPEG or (multi-page) TIFF image.
pub fn ocr_image(bytes: &[u8], tiff: bool, options: &OcrOptions) -> Result<Vec<Page>, Error> {
    check_header(bytes)?;
    let mut images = Vec::new();
    if tiff {
        for n in 0..MAX_OCR_PAGES {
            let n32 = i32::try_from(n).unwrap_or(i32::MAX);
            // SAFETY: Leptonica reads at most `len` bytes; null past the last page.
            let Some(pix) =
                Pix::from_raw(unsafe { pixReadMemTiff(bytes.as_ptr(), bytes.len(), n32) })
            else {
                break;
            };
            images.push(image_page(
                u32::try_from(n + 1).unwrap_or(u32::MAX),
                pix,
                Specks::Remove,
            )?);
        }
    } else {
        // SAFETY: as above.
        let pix = Pix::from_raw(unsafe { pixReadMem(bytes.as_ptr(), bytes.len()) })
            .ok_or_else(|| Error::Ocr("cannot decode the image".into()))?;
        images.push(image_page(1, pix, Specks::Keep)?);
    }
    if images.is_empty() {
        return Err(Error::Ocr("cannot decode the image".into()));
    }
    recognise_all(images, options)
}

/// Whether an image's specks are removed before recognition, by where it
/// comes from: pages of a PDF and TIFF files are what office scanners and
/// fax servers write, with their dust and noise; photos (JPEG, PNG) of
/// receipts are not, and lose faint thermal print to the filter (measured
/// on the SROIE receipts: 1 % of their fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Specks {
    Remove,
    Keep,
}

fn image_page(number: u32, pix: Pix, specks: Specks) -> Result<PageImage, Error> {
    // SAFETY: live Pix.
    let dpi = match unsafe { pixGetXRes(pix.0) } {
        d if (70..=1200).contains(&d) => d as f32,
        _ => {
            let (w, h) = pix.size();
            estimated_dpi(w, h)
        }
    };
    let (pix, scale) = pix.prepared(dpi, specks)?;
    Ok(PageImage {
        number,
        pix,
        points_per_pixel: 72.0 / dpi / scale,
    })
}

/// OCRs the given 1-based pages of a PDF, rendered at [`PDF_DPI`].
pub fn ocr_pdf_pages(pdf: &[u8], pages: &[u32], options: &OcrOptions) -> Result<Vec<Page>, Error> {
    let dir = scratch_dir()?;
    let path = dir.path().join("document.pdf");
    std::fs::write(&path, pdf).map_err(|e| Error::Ocr(format!("cannot stage the PDF: {e}")))?;
    let rendered: Vec<Result<PageImage, Error>> = pages
        .iter()
        .take(MAX_OCR_PAGES)
        .map(|&n| {
            let pgm = render_page(&path, n)?;
            check_header(&pgm)?;
            // SAFETY: Leptonica reads at most `len` bytes.
            let pix = Pix::from_raw(unsafe { pixReadMem(pgm.as_ptr(), pgm.len()) })
                .ok_or_else(|| Error::Ocr(format!("page {n}: cannot decode the rendering")))?;
            let (pix, scale) = pix.prepared(PDF_DPI as f32, Specks::Remove)?;
            Ok(PageImage {
                number: n,
                pix,
                points_per_pixel: 72.0 / PDF_DPI as f32 / scale,
            })
        })
        .collect();
    drop(dir);
    let images = rendered.into_iter().collect::<Result<Vec<_>, _>>()?;
    recognise_all(images, options)
}

/// A private scratch directory under the system temp dir: a fresh random
/// name, created (never reused: `mkdir` fails on an existing name or
/// symlink) with mode 0700, removed when dropped. A
/// predictable name (`apflow-ocr-<pid>-<n>`) let another local user plant a
/// symlink there and receive the invoices we stage.
fn scratch_dir() -> Result<tempfile::TempDir, Error> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix("apflow-ocr-")
        // tempfile's default is 0777 less the umask: readable by others.
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .map_err(|e| Error::Ocr(format!("cannot create a scratch directory: {e}")))
}

/// The resolution of an image that does not state one (a phone photo, a
/// JPEG with "1x1" density), from its shape: long and narrow is a till
/// receipt (80 mm wide), anything else a page (A4, 210 mm wide).
fn estimated_dpi(w: i32, h: i32) -> f32 {
    let (short, long) = (w.min(h).max(1) as f32, w.max(h).max(1) as f32);
    let inches = if long / short >= 1.8 { 80.0 } else { 210.0 } / 25.4;
    (short / inches).clamp(72.0, 1200.0)
}

/// One page as 8-bit gray PGM from `pdftoppm`, killed past its deadline.
fn render_page(pdf: &std::path::Path, page: u32) -> Result<Vec<u8>, Error> {
    run_pdftoppm(pdf, page, &["-r", &PDF_DPI.to_string(), "-gray"])
}

/// One page of a PDF as 8-bit gray PGM at `dpi` (training renders pages
/// and degrades them into synthetic scans).
pub fn page_pgm(pdf: &[u8], page: u32, dpi: u32) -> Result<Vec<u8>, Error> {
    render_staged(pdf, page, &["-r", &dpi.to_string(), "-gray"])
}

/// One page of a PDF as a colour PNG at `dpi`, for people to look at (the
/// review screen draws the fields' boxes on it).
pub fn page_png(pdf: &[u8], page: u32, dpi: u32) -> Result<Vec<u8>, Error> {
    render_staged(pdf, page, &["-r", &dpi.to_string(), "-png"])
}

/// Writes the PDF to a scratch folder and renders one page of it.
fn render_staged(pdf: &[u8], page: u32, args: &[&str]) -> Result<Vec<u8>, Error> {
    let dir = scratch_dir()?;
    let path = dir.path().join("document.pdf");
    std::fs::write(&path, pdf)
        .map_err(|e| Error::Ocr(format!("cannot stage the PDF: {e}")))
        .and_then(|()| run_pdftoppm(&path, page, args))
}

/// Runs `pdftoppm ARGS -f page -l page pdf` with a deadline; its stdout.
fn run_pdftoppm(pdf: &std::path::Path, page: u32, args: &[&str]) -> Result<Vec<u8>, Error> {
    let n = page.to_string();
    let mut child = Command::new("pdftoppm")
        .args(args)
        .args(["-f", &n, "-l", &n])
        .arg(pdf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::Ocr(format!("cannot run pdftoppm (install poppler-utils): {e}")))?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::Ocr("pdftoppm gave no output".into()))?;
    // Read on another thread so the deadline holds even if it stops writing.
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        // A 300 dpi A4 page is ~9 MB; cap what one page may produce.
        let _ = (&mut stdout).take(MAX_PIXELS + 1024).read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + RENDER_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::Ocr(format!(
                    "page {page}: rendering took longer than {RENDER_TIMEOUT:?}"
                )));
            }
        }
    };
    let out = reader
        .join()
        .map_err(|_| Error::Ocr("pdftoppm reader crashed".into()))?;
    if !status.success() || out.is_empty() {
        return Err(Error::Ocr(format!(
            "page {page}: pdftoppm failed ({status})"
        )));
    }
    Ok(out)
}

/// Finds the Tesseract language data.
fn tessdata(options: &OcrOptions) -> Result<PathBuf, Error> {
    if let Some(p) = &options.tessdata {
        return Ok(p.clone());
    }
    let candidates = std::env::var_os("TESSDATA_PREFIX")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            [
                "/usr/share/tesseract-ocr/5/tessdata",
                "/usr/share/tesseract-ocr/4.00/tessdata",
                "/usr/share/tessdata",
                "/usr/local/share/tessdata",
            ]
            .map(PathBuf::from),
        );
    for dir in candidates {
        if dir.join("eng.traineddata").exists() {
            return Ok(dir);
        }
    }
    Err(Error::Ocr(
        "no Tesseract language data found (install tesseract-ocr-eng, or set TESSDATA_PREFIX)"
            .into(),
    ))
}

/// One engine per thread, initialised once with the document's languages.
fn engine(data: &std::path::Path, languages: &str) -> Result<TesseractAPI, Error> {
    let api = TesseractAPI::new();
    api.init(data, languages).map_err(|_| {
        Error::Ocr(format!(
            "Tesseract cannot load the languages {languages:?} from {} (install tesseract-ocr-<lang>)",
            data.display()
        ))
    })?;
    api.set_page_seg_mode(TessPageSegMode::PSM_AUTO)
        .map_err(|e| Error::Ocr(e.to_string()))?;
    Ok(api)
}

/// Recognises every page, in parallel across the cores.
fn recognise_all(images: Vec<PageImage>, options: &OcrOptions) -> Result<Vec<Page>, Error> {
    let data = tessdata(options)?;
    let threads = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .min(images.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<PageImage>>> = images
        .into_iter()
        .map(|i| std::sync::Mutex::new(Some(i)))
        .collect();
    let results: Vec<Result<Vec<Page>, Error>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let api = engine(&data, &options.languages)?;
                    let mut osd = Osd {
                        data: &data,
                        engine: None,
                    };
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(slot) = slots.get(i) else { break };
                        let image = slot.lock().ok().and_then(|mut s| s.take());
                        if let Some(image) = image {
                            done.push(recognise(&api, &mut osd, image)?);
                        }
                    }
                    Ok(done)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(Error::Ocr("the OCR engine crashed".into())))
            })
            .collect()
    });
    let mut pages = Vec::new();
    for r in results {
        pages.extend(r?);
    }
    pages.sort_by_key(|p| p.number);
    Ok(pages)
}

/// Quarter turns (clockwise) that make the page upright, by Tesseract's
/// orientation detection; 0 when unsure.
fn upright_turns(osd: &TesseractAPI, pix: &Pix, dpi: i32) -> i32 {
    if osd.set_image_2(pix.0).is_err() || osd.set_source_resolution(dpi).is_err() {
        return 0;
    }
    match osd.detect_os() {
        // orient_deg is how far the text is turned clockwise from upright;
        // turning the image on by the rest of a full turn rights it.
        Ok((deg, confidence, _, _)) if confidence >= 1.5 => match deg {
            90 => 3,
            180 => 2,
            270 => 1,
            _ => 0,
        },
        _ => 0,
    }
}

/// The orientation detector, loaded the first time a page needs it.
struct Osd<'a> {
    data: &'a std::path::Path,
    /// `Some(None)`: loading failed (no osd.traineddata); pages stay as read.
    engine: Option<Option<TesseractAPI>>,
}

impl Osd<'_> {
    fn get(&mut self) -> Option<&TesseractAPI> {
        let data = self.data;
        self.engine
            .get_or_insert_with(|| engine(data, "osd").ok())
            .as_ref()
    }
}

fn recognise(api: &TesseractAPI, osd: &mut Osd<'_>, image: PageImage) -> Result<Page, Error> {
    let dpi = (72.0 / image.points_per_pixel).round() as i32;
    let mut words = words_of(api, &image.pix, image.number, dpi)?;
    let mut size = image.pix.size();
    // Most pages arrive upright, and orientation detection costs a fifth
    // of a page's time: only a page that reads badly is checked, and read
    // again turned if the check says so; the better reading wins.
    // Layout analysis can split a till receipt photographed on a dark
    // table into blocks it then drops, leaving a line or two; read as one
    // block of text, its lines come back.
    if reads_badly(&words) {
        let again = words_as_one_block(api, &image.pix, image.number, dpi)?;
        if quality(&again) > quality(&words) {
            words = again;
        }
    }
    if reads_badly(&words)
        && let Some(osd) = osd.get()
    {
        let turns = upright_turns(osd, &image.pix, dpi);
        if let Some(turned) = (turns != 0).then(|| image.pix.rotated(turns)).flatten() {
            let again = words_of(api, &turned, image.number, dpi)?;
            if quality(&again) > quality(&words) {
                words = again;
                size = turned.size();
            }
        }
    }
    Ok(Page {
        number: image.number,
        width: size.0 as f32 * image.points_per_pixel,
        height: size.1 as f32 * image.points_per_pixel,
        lines: lines_from_words(
            words
                .into_iter()
                .map(|mut w| {
                    let s = image.points_per_pixel;
                    w.bbox = BBox {
                        x0: w.bbox.x0 * s,
                        y0: w.bbox.y0 * s,
                        x1: w.bbox.x1 * s,
                        y1: w.bbox.y1 * s,
                    };
                    w
                })
                .collect(),
        ),
    })
}

/// The words read with the image taken as one uniform block of text, no
/// layout analysis; the engine is left as it was.
fn words_as_one_block(
    api: &TesseractAPI,
    pix: &Pix,
    page: u32,
    dpi: i32,
) -> Result<Vec<Word>, Error> {
    let mode = |m| {
        api.set_page_seg_mode(m)
            .map_err(|e| Error::Ocr(e.to_string()))
    };
    mode(TessPageSegMode::PSM_SINGLE_BLOCK)?;
    let words = words_of(api, pix, page, dpi);
    mode(TessPageSegMode::PSM_AUTO)?;
    words
}

/// Few words, or words Tesseract itself doubts: a page on its side or
/// upside down reads like this.
fn reads_badly(words: &[Word]) -> bool {
    words.len() < 10 || mean_confidence(words) < 0.75
}

fn mean_confidence(words: &[Word]) -> f32 {
    if words.is_empty() {
        return 0.0;
    }
    words.iter().map(|w| w.confidence).sum::<f32>() / words.len() as f32
}

/// Confident characters read: what a better reading of a page has more of.
fn quality(words: &[Word]) -> f32 {
    words
        .iter()
        .map(|w| w.confidence * w.text.chars().count() as f32)
        .sum()
}

/// The words Tesseract reads on `pix`, boxes in pixels.
fn words_of(api: &TesseractAPI, pix: &Pix, page: u32, dpi: i32) -> Result<Vec<Word>, Error> {
    let ocr_err = |e: tesseract_rs::TesseractError| Error::Ocr(format!("page {page}: {e}"));
    api.set_image_2(pix.0).map_err(ocr_err)?;
    api.set_source_resolution(dpi).map_err(ocr_err)?;
    api.recognize().map_err(ocr_err)?;
    let mut words = Vec::new();
    if let Ok(it) = api.get_iterator() {
        loop {
            if let Ok((text, l, t, r, b, conf)) = it.get_word_with_bounds() {
                let text = text.trim().to_string();
                if !text.is_empty() {
                    words.push(Word {
                        text,
                        bbox: BBox {
                            x0: l as f32,
                            y0: t as f32,
                            x1: r as f32,
                            y1: b as f32,
                        },
                        confidence: (conf / 100.0).clamp(0.0, 1.0),
                    });
                }
            }
            if !it.next(TessPageIteratorLevel::RIL_WORD).unwrap_or(false) {
                break;
            }
        }
    }
    let _ = api.clear();
    Ok(words)
}

/// Groups OCR words into lines, lines top to bottom and words left to
/// right (the reading order the extractor expects).
///
/// Words are taken in order of their vertical centres. A word joins the
/// current line when its centre lies within half a word height of the
/// line's first word, or within the band the line's words already cover.
/// The band matters for table headers: a column title set in two lines
/// ("Art-Nr-Lief." over "Art-Nr") sits higher than its neighbours, and
/// measured from it alone the rest of the header row would start a line
/// of its own. A dot or a dash is too small to widen the band.
pub fn lines_from_words(mut words: Vec<Word>) -> Vec<Line> {
    let centre = |w: &Word| (w.bbox.y0 + w.bbox.y1) / 2.0;
    let height = |w: &Word| w.bbox.y1 - w.bbox.y0;
    words.sort_by(|a, b| centre(a).total_cmp(&centre(b)));
    let mut lines: Vec<(Vec<Word>, f32, f32)> = Vec::new();
    for w in words {
        let fits = lines.last().is_some_and(|(line, top, bottom)| {
            let near_first = line.first().is_some_and(|first| {
                (centre(&w) - centre(first)).abs() <= 0.5 * height(first).max(height(&w))
            });
            near_first || (*top..=*bottom).contains(&centre(&w))
        });
        if !fits {
            lines.push((Vec::new(), f32::INFINITY, f32::NEG_INFINITY));
        }
        if let Some((line, top, bottom)) = lines.last_mut() {
            let tallest = line.iter().map(height).fold(height(&w), f32::max);
            if height(&w) >= 0.5 * tallest {
                *top = top.min(w.bbox.y0);
                *bottom = bottom.max(w.bbox.y1);
            }
            line.push(w);
        }
    }
    lines
        .into_iter()
        .map(|(mut words, _, _)| {
            words.sort_by(|a, b| a.bbox.x0.total_cmp(&b.bbox.x0));
            Line { words }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    /// Scratch folders are new each time, readable by us alone, not a
    /// planted symlink, and gone after use.
    #[test]
    fn images_without_a_resolution_are_judged_by_their_shape() {
        // A receipt 604 px wide is about 190 dpi: scaled up.
        let receipt = estimated_dpi(604, 1716);
        assert!((185.0..200.0).contains(&receipt), "{receipt}");
        assert!(receipt < MIN_DPI);
        // An A4 page rendered at 300 dpi stays as it is.
        let page = estimated_dpi(2480, 3508);
        assert!((299.0..301.0).contains(&page), "{page}");
        assert!(page >= MIN_DPI);
        // Landscape is judged by its short side too.
        assert_eq!(estimated_dpi(3508, 2480), page);
    }

    #[test]
    fn scratch_dirs_are_fresh_private_and_removed() {
        use std::os::unix::fs::PermissionsExt;
        let a = super::scratch_dir().expect("scratch dir");
        let b = super::scratch_dir().expect("scratch dir");
        let (pa, pb) = (a.path().to_path_buf(), b.path().to_path_buf());
        assert_ne!(pa, pb);
        for p in [&pa, &pb] {
            let meta = std::fs::symlink_metadata(p).expect("exists");
            assert!(meta.is_dir() && !meta.file_type().is_symlink(), "{p:?}");
            assert_eq!(meta.permissions().mode() & 0o777, 0o700, "{p:?}");
        }
        drop((a, b));
        assert!(!pa.exists() && !pb.exists(), "removed after use");
    }

    use super::*;

    fn word(text: &str, x: f32, y: f32) -> Word {
        Word {
            text: text.into(),
            bbox: BBox {
                x0: x,
                y0: y,
                x1: x + 30.0,
                y1: y + 10.0,
            },
            confidence: 0.9,
        }
    }

    #[test]
    fn groups_words_into_lines_in_reading_order() {
        let lines = lines_from_words(vec![
            word("12,00", 200.0, 101.0),
            word("Total", 10.0, 100.0),
            word("Invoice", 10.0, 50.0),
            word("No.", 50.0, 52.0),
        ]);
        let texts: Vec<String> = lines.iter().map(Line::text).collect();
        assert_eq!(texts, ["Invoice No.", "Total 12,00"]);
    }

    #[test]
    fn a_header_row_stays_one_line_beside_a_raised_two_line_title() {
        let at = |text: &str, x: f32, y0: f32, y1: f32| Word {
            text: text.into(),
            bbox: BBox {
                x0: x,
                y0,
                x1: x + 40.0,
                y1,
            },
            confidence: 0.9,
        };
        // Read off a scan: the stacked title's words are taller and sit
        // higher than the rest of the header row.
        let lines = lines_from_words(vec![
            at("Pos", 51.0, 145.2, 150.2),
            at("Art-Nr-Lief.", 68.0, 139.7, 148.3),
            at("Beschreibung", 134.0, 145.0, 151.7),
            at("Nettopreis", 293.0, 145.2, 151.7),
            at("Menge", 389.0, 145.2, 151.7),
            at("Art-Nr", 68.0, 149.8, 154.8),
        ]);
        let texts: Vec<String> = lines.iter().map(Line::text).collect();
        assert_eq!(
            texts,
            ["Pos Art-Nr-Lief. Beschreibung Nettopreis Menge", "Art-Nr"]
        );
    }
}
