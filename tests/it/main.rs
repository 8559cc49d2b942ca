//! Integration tests: one binary, each test on a fresh database. Store and
//! pipeline tests run on both SQLite and PostgreSQL.

mod cli;
mod helpers;
mod injection;
mod pipeline;
mod queue;
mod store;
mod web;
