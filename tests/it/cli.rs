//! The `apflow` binary as a user runs it.

use std::process::Command;

use crate::helpers::repo_path;

fn apflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_apflow"))
}

/// The command succeeded; otherwise fail with what it said on stderr.
fn assert_ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Imports the sample master data into `db` through the CLI.
fn import_samples(db: &str) {
    for (kind, file) in [
        ("vendors", "vendors.jsonl"),
        ("pos", "pos.jsonl"),
        ("receipts", "receipts.jsonl"),
    ] {
        let out = apflow()
            .args(["--database-url", db, "import", kind])
            .arg(repo_path(&format!("samples/{file}")))
            .output()
            .unwrap();
        assert_ok(&out);
    }
}

#[test]
fn extract_json_uses_the_corpus_field_names() {
    let out = apflow()
        .args(["extract", "--json"])
        .arg(repo_path("samples/invoices/03_atelier_F2026-0193.pdf"))
        .output()
        .unwrap();
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["invoice_number"], "F2026-0193");
    assert_eq!(v["invoice_date"], "2026-03-10");
    assert_eq!(v["total_amount"], "2540.40");
    assert_eq!(v["currency"], "EUR");
    assert_eq!(v["line_items"].as_array().map(Vec::len), Some(3));
    assert!(v["confidence"]["total_amount"].as_f64().is_some());
}

#[test]
fn extract_of_bad_input_fails_with_a_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let crashing = std::fs::read(repo_path("tests/fixtures/corrupt-panics-parser.pdf")).unwrap();
    for (name, bytes, expect) in [
        ("crash.pdf", crashing.as_slice(), "reading crashed"),
        ("empty.pdf", &b""[..], "empty file"),
        ("x.txt", &b"hello"[..], "not a PDF"),
        ("t.pdf", &b"%PDF-1.4\n1 0 obj <<"[..], "malformed PDF"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = apflow().arg("extract").arg(&path).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains("error:") && err.contains(expect),
            "{name}: {err}"
        );
        assert!(
            !err.contains("panicked at") && !err.contains("stack backtrace"),
            "{err}"
        );
    }
}

#[test]
fn ingest_prints_status_and_reasons_per_file_and_keeps_going() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/a.db", dir.path().display());
    import_samples(&db);
    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, "no invoice here").unwrap();
    let out = apflow()
        .args(["--database-url", &db, "ingest", "--json"])
        .arg(&junk)
        .arg(repo_path("samples/invoices/01_nordlicht_RE-2026-00412.pdf"))
        .arg(repo_path("samples/invoices/08_atelier_F2026-0211.pdf"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a rejected file makes the exit code non-zero"
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["status"], "rejected");
    assert_eq!(lines[1]["status"], "scheduled");
    assert_eq!(lines[2]["status"], "needs_review");
    assert_eq!(lines[2]["reasons"], serde_json::json!(["po_not_found"]));
}

#[test]
fn import_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/a.db", dir.path().display());
    let bad = dir.path().join("pos.jsonl");
    std::fs::write(&bad, "{\"po_number\":\"P1\",\"vendor_id\":\"V\",\"currency\":\"EUR\",\"lines\":[]}\n{\"po_number\":\"P2\",\"vendor_id\":\"V\",\"currency\":\"EUR\",\"lines\":[{\"line_no\":1,\"description\":\"x\",\"quantity\":\"three\",\"unit_price\":\"1\"}]}\n").unwrap();
    let out = apflow()
        .args(["--database-url", &db, "import", "pos"])
        .arg(&bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("pos.jsonl:2") && err.contains("quantity"),
        "{err}"
    );
    let csv = dir.path().join("vendors.csv");
    std::fs::write(
        &csv,
        "vendor_id,name,ibans\nV9,Acme Ltd,GB82WEST12345698765432;DE89370400440532013000\n",
    )
    .unwrap();
    let out = apflow()
        .args(["--database-url", &db, "import", "vendors"])
        .arg(&csv)
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 1 vendors"));
}

/// `serve` answers on its port and stops cleanly on SIGTERM.
#[test]
fn serve_answers_and_shuts_down_on_sigterm() {
    use std::io::{BufRead, BufReader, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/a.db", dir.path().display());
    let mut child = apflow()
        .args(["--database-url", &db, "serve", "--bind", "127.0.0.1:0"])
        .env("APFLOW_INBOX", dir.path().join("inbox"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Watchdog: a serve that never logs its address must fail the test,
    // not hang it.
    let pid = child.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(90));
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    });
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut addr = None;
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        if let Some(rest) = line
            .split("addr=")
            .nth(1)
            .filter(|_| line.contains("web app listening"))
        {
            addr = Some(rest.split_whitespace().next().unwrap().to_string());
            break;
        }
        line.clear();
    }
    let addr = addr.expect("serve logs its address (plain text when stderr is not a terminal)");
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).unwrap();
    assert!(
        reply.starts_with("HTTP/1.1 200") && reply.ends_with("ok\n"),
        "{reply}"
    );
    assert!(
        dir.path().join("inbox/processed").is_dir(),
        "the inbox watcher runs"
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve did not stop within 30 s of SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

/// `apflow ingest` takes a saved email and processes the invoices in it.
#[test]
fn ingest_reads_invoices_out_of_an_eml_file() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/a.db", dir.path().display());
    import_samples(&db);
    let pdf = std::fs::read(repo_path("samples/invoices/03_atelier_F2026-0193.pdf")).unwrap();
    let eml = format!(
        "From: compta@atelier-lumiere.example\r\nSubject: Facture F2026-0193\r\nMessage-ID: <f1@atelier>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nBonjour\r\n--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"facture.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--B--\r\n",
        base64::engine::general_purpose::STANDARD.encode(&pdf)
    );
    let path = dir.path().join("mail.eml");
    std::fs::write(&path, eml).unwrap();
    let out = apflow()
        .args(["--database-url", &db, "ingest", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    assert_ok(&out);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["status"], "scheduled");
    assert!(
        lines[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("mail.eml/facture.pdf")
    );
    // The same PDF dropped as a file is the same document.
    let again = apflow()
        .args(["--database-url", &db, "ingest", "--json"])
        .arg(repo_path("samples/invoices/03_atelier_F2026-0193.pdf"))
        .output()
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&again.stdout).trim()).unwrap();
    assert_eq!(
        (v["document_id"].clone(), v["seen_before"].clone()),
        (lines[0]["document_id"].clone(), serde_json::json!(true))
    );
}

/// `apflow read --json`: every word with its box on the page (PDF points,
/// top-left origin) and confidence, for debugging and the review screen.
#[test]
fn read_json_gives_words_with_boxes() {
    let out = apflow()
        .args(["read", "--json"])
        .arg(repo_path("samples/invoices/01_nordlicht_RE-2026-00412.pdf"))
        .output()
        .unwrap();
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "application/pdf");
    let page = &v["pages"][0];
    assert_eq!(page["page"], 1);
    let words: Vec<&serde_json::Value> = page["lines"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["words"].as_array().unwrap())
        .collect();
    let number = words
        .iter()
        .find(|w| w["text"] == "RE-2026-00412")
        .expect("the invoice number is a word");
    let b: Vec<f64> = number["box"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!(b[0] < b[2] && b[1] < b[3] && b[2] <= page["width"].as_f64().unwrap());
    assert_eq!(number["confidence"], 1.0);
    assert!(v["einvoice"].is_null());
}

/// The service reads PDFs in a child process: when that process dies (here
/// it aborts on purpose, as a segfault in a native parser would), the
/// document is rejected with the reason and the command itself goes on to
/// the next file.
#[test]
fn a_reader_that_dies_costs_one_document_not_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/apflow.db", dir.path().display());
    let out = apflow()
        .args(["--database-url", &db, "ingest"])
        .arg(repo_path("samples/invoices/01_nordlicht_RE-2026-00412.pdf"))
        .arg(repo_path("samples/invoices/03_atelier_F2026-0193.pdf"))
        .env("APFLOW_FAILPOINT", "read-worker")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let died = stdout.matches("reading process died").count();
    assert_eq!(
        died, 2,
        "both files reported, one by one: {stdout}\n{stderr}"
    );

    // Without the crash the same files read normally through the child.
    let ok = apflow()
        .args(["extract", "--json"])
        .arg(repo_path("samples/invoices/01_nordlicht_RE-2026-00412.pdf"))
        .output()
        .unwrap();
    assert_ok(&ok);
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(v["invoice_number"], "RE-2026-00412");
}

/// `apflow eval --scan` measures the scan path: the PDF is rendered to an
/// image and read by OCR, then scored like any other read.
#[test]
fn eval_scan_reads_rendered_pages() {
    let dir = tempfile::tempdir().unwrap();
    let name = "01_nordlicht_RE-2026-00412.pdf";
    std::fs::copy(
        repo_path(&format!("samples/invoices/{name}")),
        dir.path().join(name),
    )
    .unwrap();
    let truth = std::fs::read_to_string(repo_path("samples/invoices/truth.jsonl")).unwrap();
    std::fs::write(
        dir.path().join("truth.jsonl"),
        truth.lines().next().unwrap(),
    )
    .unwrap();
    let out = apflow()
        .args(["eval", "--scan", "--json"])
        .arg(dir.path())
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .unwrap();
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["documents"], 1);
    assert_eq!(v["errors"], 0);
    assert_eq!(v["fields"]["invoice_number"]["correct"], 1, "{v}");
    assert!(v["calibration"].as_array().is_some_and(|c| c.len() == 4));
    assert!(v["line_items"]["f1"].is_number());
}

/// `apflow eval` measures the model's contribution: `--no-model` is the
/// rules alone, and both runs score the same documents.
#[test]
fn eval_with_and_without_the_model() {
    let run = |extra: &[&str]| -> serde_json::Value {
        let out = apflow()
            .args(["eval", "--visual-only", "--json"])
            .args(extra)
            .arg(repo_path("samples/invoices"))
            .output()
            .unwrap();
        assert_ok(&out);
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let with_model = run(&[]);
    let rules = run(&["--no-model"]);
    assert_eq!(with_model["model"], true);
    assert_eq!(rules["model"], false);
    assert_eq!(with_model["documents"], rules["documents"]);
    let right = |v: &serde_json::Value| v["fields"]["total_amount"]["correct"].as_u64();
    assert_eq!(
        right(&with_model),
        with_model["documents"].as_u64(),
        "{with_model}"
    );
}

/// A corpus root with `splits.jsonl` is scored per source folder and
/// split: `tune` beside `check`, each document in the split the file names
/// and in no other, and a document no split names left out.
#[test]
fn eval_scores_a_corpus_root_per_split() {
    let root = tempfile::tempdir().unwrap();
    let source = root.path().join("born-digital");
    std::fs::create_dir_all(&source).unwrap();
    let truth = std::fs::read_to_string(repo_path("samples/invoices/truth.jsonl")).unwrap();
    let rows: Vec<&str> = truth.lines().take(3).collect();
    let mut files = Vec::new();
    for row in &rows {
        let v: serde_json::Value = serde_json::from_str(row).unwrap();
        let file = v["file"].as_str().unwrap().to_string();
        std::fs::copy(
            repo_path(&format!("samples/invoices/{file}")),
            source.join(&file),
        )
        .unwrap();
        files.push(file);
    }
    std::fs::write(source.join("truth.jsonl"), rows.join("\n")).unwrap();
    // Two tune documents, one check; the third file of truth.jsonl is in
    // no split at all.
    let split = |file: &str, split: &str| {
        format!(r#"{{"source": "born-digital", "file": "{file}", "split": "{split}"}}"#)
    };
    std::fs::write(
        root.path().join("splits.jsonl"),
        [split(&files[0], "tune"), split(&files[1], "check")].join("\n"),
    )
    .unwrap();
    let run = |json: bool| {
        let mut cmd = apflow();
        cmd.args(["eval", "--visual-only"]);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.arg(root.path()).output().unwrap();
        assert_ok(&out);
        out
    };
    let v: serde_json::Value = serde_json::from_slice(&run(true).stdout).unwrap();
    let (tune, check) = (&v["born-digital"]["tune"], &v["born-digital"]["check"]);
    assert_eq!(tune["documents"], 1, "{v}");
    assert_eq!(check["documents"], 1, "{v}");
    assert_eq!(tune["fields"]["invoice_number"]["labelled"], 1, "{v}");
    assert_eq!(check["fields"]["total_amount"]["correct"], 1, "{v}");
    assert!(check["line_items"]["f1"].is_number());
    let text = String::from_utf8(run(false).stdout).unwrap();
    assert!(
        text.contains("born-digital: tune 1 documents, check 1 documents"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("all header fields")),
        "{text}"
    );
}
