//! Reading PDFs and images in a child process. pdf-extract, Leptonica and
//! Tesseract parse hostile bytes; a panic is contained in-process, but a
//! segfault, an endless loop or a runaway allocation inside native code
//! is not. So the service runs those parsers in `apflow read-worker`, a
//! child with a memory limit that is killed at the deadline: whatever
//! happens inside costs that one document, which is rejected with the
//! reason, and the worker goes on.
//!
//! Starting this large binary (dynamic linking, page faults, the parsers'
//! tables) costs more than reading a typical text PDF, so a reader is
//! long-lived: it answers one document after another, and an idle one
//! waits in a small pool of this process for the next read. A reader that
//! crashed, timed out, answered garbage, panicked or served
//! [`DOCUMENTS_PER_READER`] documents is not reused; the next read starts a
//! fresh one. If a *reused* reader dies on a document, the document is
//! tried once more in a fresh reader, so that damage an earlier document
//! did to the process cannot cost a later one: only a document that kills
//! a fresh reader is reported as [`Error::Crashed`].
//!
//! Parent and child speak a small line format over the pipes (no serde in
//! the domain). Each request is `<length>\n` and that many bytes of the
//! document on the child's stdin; each answer is `<length>\n` and that many
//! bytes on its stdout, holding either the pages or an error:
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
//! or `error <code> <message>` after the first line. The child exits when
//! its stdin closes (the parent exited or retired it).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::{Error, ReadOptions, einvoice};
use crate::domain::{BBox, DocumentKind, Line, Page, ReadDocument, Word};

const MAGIC: &str = "apflow-read 1";

/// Address space the child may use: OCR of many pages in parallel needs a
/// few hundred megabytes; a bomb that slipped past the checks gets an
/// allocation failure instead of the machine's memory.
const CHILD_MEMORY_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// Most the parent accepts back (a 500-page text PDF is a few megabytes).
const MAX_REPLY_BYTES: usize = 256 * 1024 * 1024;

/// Documents one reader reads before it is replaced: bounds whatever a long
/// life accumulates (heap fragmentation, a leak in a native library) at the
/// price of one process start per this many documents.
pub const DOCUMENTS_PER_READER: u32 = 500;

/// Idle readers kept for the next read (one per concurrent read is enough;
/// more concurrent reads than this start and retire readers as needed).
const MAX_IDLE_READERS: usize = 16;

/// What a reader was started with: only a read with the same options may
/// reuse it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ReaderKind {
    exe: PathBuf,
    visual_only: bool,
    languages: String,
}

/// Idle readers of this process. Plain pipes and a plain child, not tokio
/// ones: those belong to the runtime that created them, and this pool
/// outlives any one runtime.
static IDLE: Mutex<Vec<Reader>> = Mutex::new(Vec::new());

/// A running `apflow read-worker` and its pipes.
struct Reader {
    kind: ReaderKind,
    process: Arc<Process>,
    stdin: Polled<ChildStdin>,
    stdout: BufReader<Polled<ChildStdout>>,
    served: u32,
}

/// The child itself, shared with the waiting side of a read, which kills
/// it when it gives up while a blocking thread talks to it.
struct Process {
    /// The pid cannot be reused before the child is reaped, and only a
    /// holder of this lock reaps it, so killing under the lock is safe.
    child: Mutex<Child>,
    /// Set when the waiting side gave up: the blocking thread stops waiting
    /// on the pipes (which a grandchild may still hold open) and returns.
    abandoned: std::sync::atomic::AtomicBool,
}

impl Process {
    fn child(&self) -> std::sync::MutexGuard<'_, Child> {
        self.child.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn abandoned(&self) -> bool {
        self.abandoned.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn abandon(&self) {
        self.abandoned
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = self.child().kill();
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let mut child = self.process.child();
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A pipe end that blocks only in slices of 100 ms, checking in between
/// whether the read was abandoned.
struct Polled<T> {
    pipe: T,
    process: Arc<Process>,
}

impl<T: std::os::fd::AsRawFd> Polled<T> {
    fn ready(&self, events: libc::c_short) -> std::io::Result<()> {
        loop {
            let mut fd = libc::pollfd {
                fd: self.pipe.as_raw_fd(),
                events,
                revents: 0,
            };
            // SAFETY: one valid pollfd for the duration of the call.
            let n = unsafe { libc::poll(&mut fd, 1, 100) };
            if n > 0 {
                // Ready, or hung up: the read or write says which.
                return Ok(());
            }
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            if self.process.abandoned() {
                return Err(std::io::Error::other("the read was abandoned"));
            }
        }
    }
}

impl Read for Polled<ChildStdout> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.ready(libc::POLLIN)?;
        self.pipe.read(buf)
    }
}

impl Write for Polled<ChildStdin> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.ready(libc::POLLOUT)?;
        self.pipe.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.pipe.flush()
    }
}

/// Why an exchange with a reader failed.
enum Failure {
    /// It died (or cannot be talked to): the document may or may not be
    /// the cause.
    Died(String),
    /// It answered something no reader should: it is not reused.
    Garbled(String),
}

impl Reader {
    fn start(kind: &ReaderKind) -> Result<Reader, Error> {
        let mut command = std::process::Command::new(&kind.exe);
        command
            .arg("read-worker")
            .args(["--ocr-languages", &kind.languages])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if kind.visual_only {
            command.arg("--visual-only");
        }
        // SAFETY: only setrlimit, which is async-signal-safe, runs between
        // fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, || {
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
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Crashed("no pipes to the reading process".into()));
        };
        let process = Arc::new(Process {
            child: Mutex::new(child),
            abandoned: Default::default(),
        });
        Ok(Reader {
            kind: kind.clone(),
            stdin: Polled {
                pipe: stdin,
                process: process.clone(),
            },
            stdout: BufReader::new(Polled {
                pipe: stdout,
                process: process.clone(),
            }),
            process,
            served: 0,
        })
    }

    /// Sends one document and waits for the answer (blocking).
    fn exchange(&mut self, bytes: &[u8]) -> Result<Vec<u8>, Failure> {
        // A child that dies early closes the pipe; its exit status says why,
        // so a failed write is only noted and the answer read.
        let sent = self
            .stdin
            .write_all(format!("{}\n", bytes.len()).as_bytes())
            .and_then(|()| self.stdin.write_all(bytes))
            .and_then(|()| self.stdin.flush());
        let len = match read_header(&mut self.stdout) {
            Ok(Some(len)) => len,
            Err(e) if sent.is_ok() && !self.process.abandoned() => {
                return Err(Failure::Garbled(e));
            }
            Ok(None) | Err(_) => return Err(Failure::Died(self.exit_status())),
        };
        if len > MAX_REPLY_BYTES {
            return Err(Failure::Garbled(format!("an answer of {len} bytes")));
        }
        let mut reply = vec![0; len];
        if self.stdout.read_exact(&mut reply).is_err() {
            return Err(Failure::Died(self.exit_status()));
        }
        Ok(reply)
    }

    /// How the child ended, once its pipe closed. It is given a moment to
    /// exit (the lock is never held while blocking: the waiting side takes
    /// it to kill), then killed.
    fn exit_status(&mut self) -> String {
        for _ in 0..200 {
            match self.process.child().try_wait() {
                Ok(Some(status)) => return format!("the reading process died ({status})"),
                Ok(None) if !self.process.abandoned() => {}
                Ok(None) => break,
                Err(e) => return format!("the reading process died: {e}"),
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut child = self.process.child();
        let _ = child.kill();
        match child.wait() {
            Ok(status) => format!("the reading process stopped answering ({status})"),
            Err(e) => format!("the reading process stopped answering: {e}"),
        }
    }
}

/// Reads `<length>\n`; `Ok(None)` at end of input.
fn read_header(input: &mut impl BufRead) -> Result<Option<usize>, String> {
    let mut line = Vec::new();
    input
        .take(24)
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("reading the length: {e}"))?;
    if line.is_empty() {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        if line.len() < 24 {
            // Cut off inside the length: the writer died.
            return Ok(None);
        }
        return Err(format!(
            "a bad length line {:?}",
            String::from_utf8_lossy(&line)
        ));
    }
    line.pop();
    std::str::from_utf8(&line)
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Some)
        .ok_or_else(|| format!("a bad length line {:?}", String::from_utf8_lossy(&line)))
}

fn take_idle(kind: &ReaderKind) -> Option<Reader> {
    let mut idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner);
    let i = idle.iter().rposition(|r| r.kind == *kind)?;
    Some(idle.swap_remove(i))
}

fn give_back(reader: Reader) {
    let mut idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner);
    if idle.len() < MAX_IDLE_READERS {
        idle.push(reader);
    }
    // else: dropped after the lock is released (Drop kills and reaps).
}

/// Stops this process's idle readers and waits for them to exit, e.g.
/// before a command ends (otherwise they exit on their own once this
/// process has, seeing their input close). A later read starts a new one.
pub fn stop_idle_readers() {
    let idle = std::mem::take(&mut *IDLE.lock().unwrap_or_else(PoisonError::into_inner));
    // Dropping each kills and reaps it.
    drop(idle);
}

/// The process of the read in progress, once the blocking thread has it,
/// and whether the waiting side gave up before that.
#[derive(Default)]
struct Watch {
    process: Option<Arc<Process>>,
    abandoned: bool,
}

/// The waiting side's end of a [`Watch`]: gives up on drop (the deadline
/// passed, or the caller dropped the read) unless disarmed, which kills the
/// child and releases the blocking thread.
struct AbandonOnDrop(Arc<Mutex<Watch>>);

impl AbandonOnDrop {
    fn disarm(&self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .process = None;
    }
}

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        let mut watch = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        watch.abandoned = true;
        if let Some(process) = watch.process.take() {
            process.abandon();
        }
    }
}

/// Reads `bytes` in an `exe read-worker` (an idle one when there is one),
/// killed after `limit`.
pub async fn read_in_child(
    exe: &Path,
    bytes: Arc<Vec<u8>>,
    options: &ReadOptions,
    limit: Duration,
) -> Result<ReadDocument, Error> {
    let kind = ReaderKind {
        exe: exe.to_path_buf(),
        visual_only: options.visual_only,
        languages: options.ocr.languages.clone(),
    };
    let deadline = tokio::time::Instant::now() + limit;
    let mut reuse = true;
    loop {
        let idle = if reuse { take_idle(&kind) } else { None };
        let reused = idle.is_some();
        let watch = Arc::new(Mutex::new(Watch::default()));
        let guard = AbandonOnDrop(watch.clone());
        let (kind, bytes) = (kind.clone(), bytes.clone());
        let task = tokio::task::spawn_blocking(move || {
            let mut reader = match idle {
                Some(r) => r,
                None => Reader::start(&kind)?,
            };
            {
                let mut w = watch.lock().unwrap_or_else(PoisonError::into_inner);
                if w.abandoned {
                    // Nobody waits for the answer; dropping kills the reader.
                    return Err(Error::TimedOut(Duration::ZERO));
                }
                w.process = Some(reader.process.clone());
            }
            let answer = reader.exchange(&bytes);
            Ok((reader, answer))
        });
        let (mut reader, answer) = match tokio::time::timeout_at(deadline, task).await {
            // Dropping `guard` kills the child; the blocking thread then
            // returns and reaps it.
            Err(_) => return Err(Error::TimedOut(limit)),
            Ok(Err(join)) => return Err(Error::Crashed(super::panic_message(join))),
            Ok(Ok(started)) => started?,
        };
        guard.disarm();
        let reply = match answer {
            Ok(reply) => reply,
            Err(Failure::Died(why)) if reused => {
                tracing::warn!(
                    reason = %why,
                    "a reused reading process died; trying the document in a fresh one"
                );
                reuse = false;
                continue;
            }
            Err(Failure::Died(why)) => return Err(Error::Crashed(why)),
            Err(Failure::Garbled(what)) => {
                return Err(Error::Crashed(format!(
                    "garbled answer from the reading process: {what}"
                )));
            }
        };
        reader.served += 1;
        let result = decode(&reply);
        // A panic inside the child (reported as Crashed) leaves a process
        // that is best not trusted with the next document.
        if !matches!(result, Err(Error::Crashed(_))) && reader.served < DOCUMENTS_PER_READER {
            give_back(reader);
        }
        return result;
    }
}

/// `apflow read-worker`: reads documents from stdin, one after another,
/// and answers each on stdout, until stdin closes.
pub fn child_main(options: &ReadOptions) -> i32 {
    let mut input = std::io::stdin().lock();
    let mut out = std::io::stdout().lock();
    loop {
        let len = match read_header(&mut input) {
            Ok(Some(len)) if len <= super::MAX_DOCUMENT_BYTES => len,
            Ok(None) => return 0,
            Ok(Some(len)) => {
                eprintln!("read-worker: a document of {len} bytes is over the limit");
                return 2;
            }
            Err(e) => {
                eprintln!("read-worker: {e}");
                return 2;
            }
        };
        let mut bytes = vec![0; len];
        if let Err(e) = input.read_exact(&mut bytes) {
            eprintln!("read-worker: cannot read stdin: {e}");
            return 2;
        }
        crate::failpoint::hit("read-worker");
        let result =
            std::panic::catch_unwind(|| super::read(&bytes, options)).unwrap_or_else(|p| {
                let message = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Err(Error::Crashed(message))
            });
        let reply = encode(&result);
        let sent = out
            .write_all(format!("{}\n", reply.len()).as_bytes())
            .and_then(|()| out.write_all(&reply))
            .and_then(|()| out.flush());
        if sent.is_err() {
            return 2;
        }
    }
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
                doc.kind = DocumentKind::from_media_type(args).ok_or_else(|| bad("kind"))?;
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

    /// A stand-in for `apflow read-worker`: a shell script speaking the
    /// framing, which notes each start in `starts` and runs `body` with the
    /// document in `$doc` and `$n` documents answered before.
    fn fake_reader(dir: &Path, body: &str) -> PathBuf {
        let reply = encode(&Ok(ReadDocument {
            kind: DocumentKind::Pdf,
            pages: vec![Page {
                number: 1,
                width: 100.0,
                height: 200.0,
                lines: vec![Line {
                    words: vec![Word {
                        text: "hello".into(),
                        bbox: BBox {
                            x0: 1.0,
                            y0: 2.0,
                            x1: 3.0,
                            y1: 4.0,
                        },
                        confidence: 1.0,
                    }],
                }],
            }],
            einvoice: None,
            einvoice_xml: None,
        }));
        let reply = String::from_utf8(reply).unwrap().replace('\n', "\\n");
        let script = format!(
            "#!/bin/sh\necho $$ >> '{starts}'\nn=0\n\
             while read len; do\n  doc=$(head -c \"$len\")\n{body}\n\
             \x20 printf '%d\\n' {len}\n  printf '{reply}'\n  n=$((n+1))\ndone\n",
            starts = dir.join("starts").display(),
            len = reply.len() - reply.matches("\\n").count(),
        );
        let path = dir.join("fake-apflow");
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn starts(dir: &Path) -> Vec<i32> {
        std::fs::read_to_string(dir.join("starts"))
            .unwrap_or_default()
            .lines()
            .map(|l| l.parse().unwrap())
            .collect()
    }

    async fn read(exe: &Path, doc: &str, limit: Duration) -> Result<ReadDocument, Error> {
        read_in_child(
            exe,
            Arc::new(doc.as_bytes().to_vec()),
            &ReadOptions::default(),
            limit,
        )
        .await
    }

    const LIMIT: Duration = Duration::from_secs(20);

    #[tokio::test]
    async fn one_reader_answers_document_after_document() {
        let dir = tempfile::tempdir().unwrap();
        let exe = fake_reader(dir.path(), "");
        for _ in 0..3 {
            let doc = read(&exe, "doc", LIMIT).await.expect("read");
            assert_eq!(doc.pages[0].lines[0].words[0].text, "hello");
        }
        assert_eq!(starts(dir.path()).len(), 1, "started once, reused");
    }

    #[tokio::test]
    async fn a_reused_reader_that_dies_costs_nothing_the_document_is_read_afresh() {
        let dir = tempfile::tempdir().unwrap();
        // The first process dies on its second document (as if the first
        // had damaged it); a fresh one reads that document.
        let exe = fake_reader(
            dir.path(),
            &format!(
                "  if [ $n = 1 ] && [ $(wc -l < '{}') = 1 ]; then exit 3; fi",
                dir.path().join("starts").display()
            ),
        );
        read(&exe, "one", LIMIT).await.expect("first read");
        let doc = read(&exe, "two", LIMIT).await.expect("read again afresh");
        assert_eq!(doc.pages.len(), 1);
        assert_eq!(starts(dir.path()).len(), 2);
    }

    #[tokio::test]
    async fn a_document_that_kills_a_fresh_reader_is_reported_and_the_next_one_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let exe = fake_reader(
            dir.path(),
            r#"  if [ "$doc" = crash ]; then kill -SEGV $$; fi"#,
        );
        read(&exe, "fine", LIMIT).await.expect("read");
        let err = read(&exe, "crash", LIMIT).await.unwrap_err();
        assert!(
            matches!(&err, Error::Crashed(m) if m.contains("reading process died")),
            "{err}"
        );
        // Reused, then fresh: two processes died on it.
        assert_eq!(starts(dir.path()).len(), 2);
        read(&exe, "fine", LIMIT)
            .await
            .expect("read after the crash");
        assert_eq!(starts(dir.path()).len(), 3);
    }

    #[tokio::test]
    async fn a_reader_past_the_deadline_is_killed_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let exe = fake_reader(dir.path(), r#"  if [ "$doc" = hang ]; then sleep 60; fi"#);
        read(&exe, "fine", LIMIT).await.expect("read");
        let started = std::time::Instant::now();
        let err = read(&exe, "hang", Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::TimedOut(_)), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
        let pid = starts(dir.path())[0];
        let mut gone = false;
        for _ in 0..200 {
            // SAFETY: signal 0 only checks that the process exists.
            if unsafe { libc::kill(pid, 0) } != 0 {
                gone = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(gone, "the hung reader {pid} was killed and reaped");
        read(&exe, "fine", LIMIT)
            .await
            .expect("read after the timeout");
        assert_eq!(starts(dir.path()).len(), 2);
    }
}
