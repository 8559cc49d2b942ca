//! Reading PDFs and images in a child process. pdf-extract, Leptonica and
//! Tesseract parse hostile bytes; a panic is contained in-process, but a
//! segfault, an endless loop or a runaway allocation inside native code
//! is not. So the service runs those parsers in `apflow read-worker`, a
//! child with a memory limit that is killed at the deadline: whatever
//! happens inside costs that one document, which is rejected with the
//! reason, and the worker goes on.
//!
//! Parent and child speak a small line format over the pipes (no serde in
//! the domain): the document's bytes go to the child's stdin, and the
//! child writes either the pages or an error:
//!
//! ```text
//! apflow-read 1
//! kind application/pdf
//! page <number> <width> <height>
//! line
//! word <x0> <y0> <x1> <y1> <confidence> <text>
//! xml <length>            (then that many bytes of e-invoice XML and "\n")
//! end
//! ```
//!
//! or `error <code> <message>` after the first line.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Error, ReadOptions, einvoice};
use crate::domain::{BBox, DocumentKind, Line, Page, ReadDocument, Word};

const MAGIC: &str = "apflow-read 1";

/// Address space the child may use: OCR of many pages in parallel needs a
/// few hundred megabytes; a bomb that slipped past the checks gets an
/// allocation failure instead of the machine's memory.
const CHILD_MEMORY_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// Most the parent accepts back (a 500-page text PDF is a few megabytes).
const MAX_REPLY_BYTES: u64 = 256 * 1024 * 1024;

/// Reads `bytes` in `exe read-worker`, killed after `limit`.
pub async fn read_in_child(
    exe: &Path,
    bytes: std::sync::Arc<Vec<u8>>,
    options: &ReadOptions,
    limit: Duration,
) -> Result<ReadDocument, Error> {
    let mut command = tokio::process::Command::new(exe);
    command
        .arg("read-worker")
        .args(["--ocr-languages", &options.ocr.languages])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    if options.visual_only {
        command.arg("--visual-only");
    }
    // SAFETY: only setrlimit, which is async-signal-safe, runs between fork
    // and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: CHILD_MEMORY_BYTES as libc::rlim_t,
                rlim_max: CHILD_MEMORY_BYTES as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .map_err(|e| Error::Crashed(format!("cannot start the reading process: {e}")))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| Error::Crashed("no pipe to the reading process".into()))?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::Crashed("no pipe from the reading process".into()))?;
    let run = async {
        let feed = async {
            // A child that dies early closes the pipe; its exit status says why.
            let _ = stdin.write_all(&bytes).await;
            drop(stdin);
        };
        let mut reply = Vec::new();
        let mut limited = (&mut stdout).take(MAX_REPLY_BYTES);
        let collect = limited.read_to_end(&mut reply);
        let (_, read) = tokio::join!(feed, collect);
        read.map_err(|e| Error::Crashed(format!("reading process output: {e}")))?;
        let status = child
            .wait()
            .await
            .map_err(|e| Error::Crashed(format!("reading process: {e}")))?;
        Ok::<_, Error>((status, reply))
    };
    let (status, reply) = match tokio::time::timeout(limit, run).await {
        Ok(r) => r?,
        Err(_) => {
            // Dropping the future drops the child handle: kill_on_drop.
            return Err(Error::TimedOut(limit));
        }
    };
    if !status.success() {
        return Err(Error::Crashed(format!(
            "the reading process died ({status})"
        )));
    }
    decode(&reply)
}

/// `apflow read-worker`: reads the document on stdin, answers on stdout.
pub fn child_main(options: &ReadOptions) -> i32 {
    crate::failpoint::hit("read-worker");
    let mut bytes = Vec::new();
    let limit = u64::try_from(super::MAX_DOCUMENT_BYTES).unwrap_or(u64::MAX) + 1;
    if let Err(e) = std::io::stdin().take(limit).read_to_end(&mut bytes) {
        eprintln!("read-worker: cannot read stdin: {e}");
        return 2;
    }
    let result = std::panic::catch_unwind(|| super::read(&bytes, options)).unwrap_or_else(|p| {
        let message = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(Error::Crashed(message))
    });
    let reply = encode(&result);
    let mut out = std::io::stdout().lock();
    if out.write_all(&reply).and_then(|()| out.flush()).is_err() {
        return 2;
    }
    0
}

/// One line of text: the format is line-based.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn encode(result: &Result<ReadDocument, Error>) -> Vec<u8> {
    let mut out = format!("{MAGIC}\n").into_bytes();
    let doc = match result {
        Ok(doc) => doc,
        Err(e) => {
            let code = match e {
                Error::MalformedPdf(_) => "malformed",
                Error::PasswordProtected => "password",
                Error::DecompressionBomb { .. } => "bomb",
                Error::Ocr(_) => "ocr",
                _ => "other",
            };
            let message = match e {
                Error::MalformedPdf(m) | Error::Ocr(m) | Error::Crashed(m) => m.clone(),
                Error::DecompressionBomb { limit } => limit.to_string(),
                other => other.to_string(),
            };
            out.extend_from_slice(format!("error {code} {}\n", clean(&message)).as_bytes());
            return out;
        }
    };
    out.extend_from_slice(format!("kind {}\n", doc.kind.media_type()).as_bytes());
    for page in &doc.pages {
        out.extend_from_slice(
            format!("page {} {} {}\n", page.number, page.width, page.height).as_bytes(),
        );
        for line in &page.lines {
            out.extend_from_slice(b"line\n");
            for w in &line.words {
                let b = w.bbox;
                out.extend_from_slice(
                    format!(
                        "word {} {} {} {} {} {}\n",
                        b.x0,
                        b.y0,
                        b.x1,
                        b.y1,
                        w.confidence,
                        clean(&w.text)
                    )
                    .as_bytes(),
                );
            }
        }
    }
    if let Some(xml) = &doc.einvoice_xml {
        out.extend_from_slice(format!("xml {}\n", xml.len()).as_bytes());
        out.extend_from_slice(xml);
        out.push(b'\n');
    }
    out.extend_from_slice(b"end\n");
    out
}

/// The next `\n`-terminated line of `rest`, which moves past it.
fn next_line<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let end = rest.iter().position(|&b| b == b'\n')?;
    let (line, tail) = rest.split_at(end);
    *rest = &tail[1..];
    Some(line)
}

fn decode(reply: &[u8]) -> Result<ReadDocument, Error> {
    let bad =
        |what: &str| Error::Crashed(format!("garbled answer from the reading process: {what}"));
    let mut rest = reply;
    if next_line(&mut rest) != Some(MAGIC.as_bytes()) {
        return Err(bad("no header"));
    }
    let mut doc = ReadDocument {
        kind: DocumentKind::Pdf,
        pages: Vec::new(),
        einvoice: None,
        einvoice_xml: None,
    };
    loop {
        let line = next_line(&mut rest).ok_or_else(|| bad("cut off"))?;
        let text = String::from_utf8_lossy(line);
        let (tag, args) = text.split_once(' ').unwrap_or((&text, ""));
        match tag {
            "error" => {
                let (code, message) = args.split_once(' ').unwrap_or((args, ""));
                return Err(match code {
                    "malformed" => Error::MalformedPdf(message.to_string()),
                    "password" => Error::PasswordProtected,
                    "bomb" => Error::DecompressionBomb {
                        limit: message.parse().unwrap_or(0),
                    },
                    "ocr" => Error::Ocr(message.to_string()),
                    _ => Error::Crashed(message.to_string()),
                });
            }
            "kind" => {
                doc.kind = [
                    DocumentKind::Pdf,
                    DocumentKind::Png,
                    DocumentKind::Jpeg,
                    DocumentKind::Tiff,
                    DocumentKind::Xml,
                ]
                .into_iter()
                .find(|k| k.media_type() == args)
                .ok_or_else(|| bad("kind"))?;
            }
            "page" => {
                let n: Vec<&str> = args.split(' ').collect();
                let [number, width, height] = n[..] else {
                    return Err(bad("page"));
                };
                doc.pages.push(Page {
                    number: number.parse().map_err(|_| bad("page number"))?,
                    width: width.parse().map_err(|_| bad("page width"))?,
                    height: height.parse().map_err(|_| bad("page height"))?,
                    lines: Vec::new(),
                });
            }
            "line" => doc
                .pages
                .last_mut()
                .ok_or_else(|| bad("line outside a page"))?
                .lines
                .push(Line { words: Vec::new() }),
            "word" => {
                let mut parts = args.splitn(6, ' ');
                let mut num = || -> Result<f32, Error> {
                    parts
                        .next()
                        .and_then(|p| p.parse().ok())
                        .ok_or_else(|| bad("word"))
                };
                let bbox = BBox {
                    x0: num()?,
                    y0: num()?,
                    x1: num()?,
                    y1: num()?,
                };
                let confidence = num()?;
                let word = Word {
                    text: parts.next().unwrap_or_default().to_string(),
                    bbox,
                    confidence,
                };
                doc.pages
                    .last_mut()
                    .and_then(|p| p.lines.last_mut())
                    .ok_or_else(|| bad("word outside a line"))?
                    .words
                    .push(word);
            }
            "xml" => {
                let len: usize = args.parse().map_err(|_| bad("xml length"))?;
                if rest.len() < len + 1 {
                    return Err(bad("xml cut off"));
                }
                let (xml, tail) = rest.split_at(len);
                rest = &tail[1..];
                // Parsed here, in the parent: the XML parser is memory-safe
                // Rust with its own bounds.
                doc.einvoice = einvoice::parse(xml).ok();
                doc.einvoice_xml = Some(xml.to_vec());
            }
            "end" => return Ok(doc),
            _ => return Err(bad("unknown record")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_errors_cross_the_pipe_intact() {
        let doc = ReadDocument {
            kind: DocumentKind::Png,
            pages: vec![Page {
                number: 2,
                width: 595.5,
                height: 842.0,
                lines: vec![Line {
                    words: vec![Word {
                        text: "Gesamtbetrag 1.033,10\n€".into(),
                        bbox: BBox {
                            x0: 1.5,
                            y0: 2.25,
                            x1: 3.0,
                            y1: 4.0,
                        },
                        confidence: 0.875,
                    }],
                }],
            }],
            einvoice: None,
            einvoice_xml: Some(b"<not\nan invoice/>".to_vec()),
        };
        let back = decode(&encode(&Ok(doc))).expect("decodes");
        assert_eq!(back.kind, DocumentKind::Png);
        assert_eq!(back.pages[0].number, 2);
        let w = &back.pages[0].lines[0].words[0];
        assert_eq!(w.text, "Gesamtbetrag 1.033,10 €");
        assert_eq!((w.bbox.y0, w.confidence), (2.25, 0.875));
        assert_eq!(
            back.einvoice_xml.as_deref(),
            Some(&b"<not\nan invoice/>"[..])
        );
        let err = decode(&encode(&Err(Error::PasswordProtected))).unwrap_err();
        assert!(matches!(err, Error::PasswordProtected));
        let err = decode(&encode(&Err(Error::DecompressionBomb { limit: 7 }))).unwrap_err();
        assert!(matches!(err, Error::DecompressionBomb { limit: 7 }));
        assert!(matches!(
            decode(b"apflow-read 1\nkind"),
            Err(Error::Crashed(_))
        ));
    }
}
