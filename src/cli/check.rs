//! `apflow check FILE...`: validates e-invoices against EN 16931 (and
//! XRechnung where the invoice says so) without a database, the way a
//! receiving AP team or its auditor would before accepting one.
//!
//! Each file is read like any document (a PDF in the isolated reader), so a
//! hybrid PDF's embedded XML is checked too, along with whether its page
//! shows the same number, total, IBAN and due date. Exit status: 0 when
//! every file is valid (warnings allowed), 1 when one breaks a fatal rule,
//! 2 when one cannot be read as an e-invoice at all.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;

use crate::config::Settings;
use crate::domain::einvoice::{EInvoice, RuleViolation, Severity};
use crate::validate::en16931;
use crate::{extract, read, workflow};

/// What `check` found in one file.
enum Outcome {
    Checked {
        model: Box<EInvoice>,
        violations: Vec<RuleViolation>,
        /// Field, what the XML says, what the page shows.
        page_differs: Vec<(&'static str, String, String)>,
    },
    Unreadable(String),
}

pub(super) async fn check_cmd(files: &[PathBuf], json: bool, settings: &Settings) -> Result<i32> {
    let mut status = 0usize;
    let mut reports = Vec::new();
    // Valid, invalid, unreadable.
    let mut tally = [0usize; 3];
    for file in files {
        let outcome = check_file(file, settings).await;
        let verdict: usize = match &outcome {
            Outcome::Unreadable(_) => 2,
            Outcome::Checked { violations, .. } if !en16931::is_valid(violations) => 1,
            Outcome::Checked { .. } => 0,
        };
        status = status.max(verdict);
        tally[verdict] += 1;
        if json {
            reports.push(json_report(file, &outcome));
        } else {
            print_report(file, &outcome);
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else if files.len() > 1 {
        println!(
            "{} files: {} valid, {} invalid, {} unreadable",
            files.len(),
            tally[0],
            tally[1],
            tally[2]
        );
    }
    // 0 valid, 1 invalid, 2 unreadable: the worst file decides.
    Ok(i32::try_from(status).unwrap_or(2))
}

async fn check_file(file: &Path, settings: &Settings) -> Outcome {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => return Outcome::Unreadable(format!("cannot read the file: {e}")),
    };
    let options = settings.read_options(false);
    let doc = match read::read_document(Arc::new(bytes), options, settings.read_timeout).await {
        Ok(doc) => doc,
        Err(e) => return Outcome::Unreadable(workflow::error_chain(&e)),
    };
    let Some(xml) = &doc.einvoice_xml else {
        return Outcome::Unreadable(
            "no e-invoice in it (neither e-invoice XML nor a PDF with one attached)".to_string(),
        );
    };
    let model = match read::einvoice::parse_model(xml) {
        Ok(model) => model,
        Err(e) => return Outcome::Unreadable(workflow::error_chain(&e)),
    };
    let violations = en16931::check(&model);
    let page_differs = crate::validate::xml_against_page_values(&extract::extract(&doc));
    Outcome::Checked {
        model: Box::new(model),
        violations,
        page_differs,
    }
}

fn print_report(file: &Path, outcome: &Outcome) {
    match outcome {
        Outcome::Unreadable(why) => println!("{}: unreadable: {why}", file.display()),
        Outcome::Checked {
            model,
            violations,
            page_differs,
        } => {
            let fatal = violations
                .iter()
                .filter(|v| v.severity == Severity::Fatal)
                .count();
            let verdict = if fatal == 0 { "valid" } else { "INVALID" };
            println!(
                "{}: {verdict} ({}, {}; {fatal} errors, {} warnings)",
                file.display(),
                model.syntax.as_str(),
                model.profile.as_str(),
                violations.len() - fatal
            );
            for v in violations {
                println!(
                    "{} {}: {} at {}",
                    v.rule,
                    v.severity.as_str(),
                    v.message,
                    v.path
                );
            }
            for (field, xml, page) in page_differs {
                println!("XML-PAGE {field}: the XML says {xml}, the page shows {page}");
            }
        }
    }
}

fn json_report(file: &Path, outcome: &Outcome) -> serde_json::Value {
    match outcome {
        Outcome::Unreadable(why) => serde_json::json!({
            "file": file.display().to_string(),
            "readable": false,
            "error": why,
        }),
        Outcome::Checked {
            model,
            violations,
            page_differs,
        } => serde_json::json!({
            "file": file.display().to_string(),
            "readable": true,
            "syntax": model.syntax.as_str(),
            "profile": model.profile.as_str(),
            "specification": model.specification.as_ref().map(|s| s.value.clone()),
            "valid": en16931::is_valid(violations),
            "violations": violations.iter().map(|v| serde_json::json!({
                "rule": v.rule,
                "severity": v.severity.as_str(),
                "message": v.message,
                "path": v.path,
            })).collect::<Vec<_>>(),
            "page_differs": page_differs.iter().map(|(field, xml, page)| serde_json::json!({
                "field": field,
                "xml_says": xml,
                "page_shows": page,
            })).collect::<Vec<_>>(),
        }),
    }
}
