//! Capture: bring documents in from the outside world and hand them to
//! `workflow::receive_document`, which stores the bytes (once per content
//! hash) and queues them. Capture never interprets a document.
//!
//! Sources: the watched inbox folder (here), HTTP upload (`web`), and the
//! command line (`cli`), and `.eml` files (`mail`: the documents inside a
//! message). The IMAP watcher will feed `mail` from mailboxes.

mod folder;
pub mod imap;
pub mod mail;

pub use folder::{FolderWatcher, TakeError, watch_folder};
