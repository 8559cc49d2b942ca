//! apflow: self-hosted, AI-assisted accounts-payable invoice processing.
//!
//! One module per pipeline stage, in the order an invoice meets them:
//!
//! - [`capture`]: brings documents in (inbox folder, mailboxes; upload lives in `web`).
//! - [`read`]: bytes → positioned words, or the exact e-invoice.
//! - [`extract`]: words → invoice fields with confidence and page box.
//! - [`validate`]: arithmetic, checksums, vendor resolution, bank details.
//! - [`matching`]: invoice ↔ purchase order ↔ goods receipts.
//! - [`workflow`]: chains the stages as durable jobs, routes, audits.
//! - [`payment`]: plans payments; the only stage that creates them.
//! - [`store`]: the database; the only module with SQL.
//! - [`web`]: HTTP API, review app, health and metrics.
//! - [`cli`]: the `apflow` command.
//!
//! Stages exchange the plain values of [`domain`]; only `capture`, `store`,
//! `web`, `cli` and the workflow runner do I/O. See ARCHITECTURE.md.

pub mod capture;
pub mod cli;
pub mod config;
pub mod domain;
pub mod extract;
pub mod failpoint;
pub mod matching;
pub mod payment;
pub mod read;
pub mod store;
pub mod validate;
pub mod web;
pub mod workflow;
pub mod xml;
