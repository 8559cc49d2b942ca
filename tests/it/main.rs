//! Integration tests: one binary, each test on a fresh database. Store and
//! pipeline tests run on both SQLite and PostgreSQL.

mod audit_chain;
mod auth;
mod browser;
mod cli;
mod dovecot;
mod einvoice;
mod faults;
mod helpers;
mod hostile;
mod hybrid;
mod imap;
mod injection;
mod learning;
mod mail;
mod model;
mod money_controls;
mod ocr;
mod payment_files;
mod payments;
mod pipeline;
mod poison;
mod queue;
mod reevaluation;
mod scans;
mod store;
mod transient;
mod web;
mod web_security;
mod workspace;
