//! The audit log: append-only, hash-chained, and MAC-chained with a key
//! kept outside the database.
//!
//! A plain hash chain (`prev_hash`, `hash`: SHA-256) finds an edit made
//! without care, but anyone who can write to the database can recompute it
//! after rewriting or deleting entries. So each entry also carries a
//! sequence number without gaps (`seq`) and an HMAC-SHA256 (`mac`) over the
//! previous entry's MAC, its `seq` and every stored field, keyed by a
//! secret that is not in the database ([`AuditKey`]: `audit_key`,
//! `audit_key_file`, or an `audit.key` file created on first use). Without
//! the key an attacker can neither forge an entry nor mend the chain around
//! a removed one. Cutting entries off the end leaves a valid shorter
//! chain; `apflow audit anchor` prints the head (seq and MAC) to keep
//! elsewhere, and `verify --anchor` checks that the log still reaches it.
//!
//! Entries written before the MAC chain existed (migration 0018) have no
//! `seq`: they are verified with the plain hash chain only, and reported as
//! such. The first MAC-chained entry covers the last plain hash, so
//! rewriting the old entries (even with a recomputed plain chain) breaks
//! the MAC chain at its first entry.

use std::path::{Path, PathBuf};

use hmac::Mac;
use sqlx::Row;

use super::{Error, QueryContext, Result, Store, now_ms};

/// Where the audit key comes from (settings `audit_key`, `audit_key_file`).
#[derive(Clone, Default)]
pub enum AuditKeySource {
    /// The key itself (`audit_key`, `APFLOW_AUDIT_KEY`).
    Inline(String),
    /// A file holding the key; created with a random key if absent.
    File(PathBuf),
    /// `audit.key` beside the SQLite database, or in `./data` for
    /// PostgreSQL; created with a random key if absent.
    #[default]
    Default,
}

impl std::fmt::Debug for AuditKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuditKeySource::Inline(_) => f.write_str("Inline(<redacted>)"),
            AuditKeySource::File(p) => f.debug_tuple("File").field(p).finish(),
            AuditKeySource::Default => f.write_str("Default"),
        }
    }
}

/// The secret that keys the audit MAC chain. Never logged, never stored in
/// the database.
#[derive(Clone)]
pub struct AuditKey(Vec<u8>);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(<redacted>)")
    }
}

/// Fewer bytes than this are guessable, not a key.
const MIN_KEY_BYTES: usize = 16;

impl AuditKey {
    /// A key from its bytes; refuses a short one.
    pub fn new(bytes: &[u8]) -> Result<AuditKey> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(Error::AuditKey {
                what: format!(
                    "the audit key has {} bytes; at least {MIN_KEY_BYTES} are needed",
                    bytes.len()
                ),
            });
        }
        Ok(AuditKey(bytes.to_vec()))
    }

    /// Loads the key `source` names for the database at `url`.
    pub fn load(source: &AuditKeySource, url: &str) -> Result<AuditKey> {
        match source {
            AuditKeySource::Inline(key) => AuditKey::new(key.trim().as_bytes()),
            AuditKeySource::File(path) => AuditKey::from_file(path),
            AuditKeySource::Default => AuditKey::from_file(&default_key_path(url)),
        }
    }

    /// Reads the key file, or creates it (mode 0600, 32 random bytes as
    /// hex) if it does not exist yet.
    fn from_file(path: &Path) -> Result<AuditKey> {
        let fail = |e: std::io::Error| Error::AuditKey {
            what: format!("cannot use the audit key file {}: {e}", path.display()),
        };
        match std::fs::read(path) {
            Ok(bytes) => AuditKey::new(bytes.trim_ascii()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                create_key_file(path).map_err(fail)?;
                let bytes = std::fs::read(path).map_err(fail)?;
                AuditKey::new(bytes.trim_ascii())
            }
            Err(e) => Err(fail(e)),
        }
    }

    /// The MAC of one entry, lowercase hex.
    fn mac(&self, prev: &str, seq: i64, at: i64, fields: [&str; 5]) -> Result<String> {
        let mut m =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.0).map_err(|_| Error::AuditKey {
                what: "the audit key is not usable for HMAC".into(),
            })?;
        feed_framed(
            &mut m,
            [prev, &seq.to_string(), &at.to_string()]
                .into_iter()
                .chain(fields),
        );
        Ok(crate::domain::hex(&m.finalize().into_bytes()))
    }
}

/// Writes a new random key to `path` unless a key is there already. The
/// key is written whole to a private temporary file and then linked into
/// place, which fails if `path` exists: processes starting together (a
/// web process and its workers) all end up reading the one key that won,
/// and none reads a half-written file.
fn create_key_file(path: &Path) -> std::io::Result<()> {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let hex = crate::domain::new_secret();
    // A random staging name of its own (never part of the key: directory
    // listings are readable by others).
    let staged = dir.join(format!(".audit.key.{:016x}", OsRng.next_u64()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&staged)?;
    let written = f
        .write_all(hex.as_bytes())
        .and_then(|()| f.sync_all())
        .and_then(|()| std::fs::hard_link(&staged, path));
    let _ = std::fs::remove_file(&staged);
    match written {
        Ok(()) => {
            tracing::warn!(path = %path.display(), "created a new audit key; back it up: without it the audit log cannot be verified");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// `audit.key` beside the SQLite file; `./data/audit.key` for PostgreSQL
/// (the default data folder). Several machines sharing one PostgreSQL must
/// be given the same key (`audit_key_file`).
fn default_key_path(url: &str) -> PathBuf {
    match super::sqlite_file(url) {
        Some(p) => Path::new(p)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("audit.key"),
        None => PathBuf::from("./data/audit.key"),
    }
}

/// One append-only audit record. Built by `workflow`, which is the only module
/// that decides what is worth auditing; written here inside the transaction
/// that makes the change, so the log cannot disagree with the data.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub actor: String,
    pub action: &'static str,
    pub entity: &'static str,
    pub entity_id: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub detail: String,
}

/// The `prev_hash` of the first chained entry.
const AUDIT_GENESIS: &str = "apflow-audit-genesis";

/// What the first MAC-chained entry follows: the last plain hash (entries
/// from before the MAC chain), or the genesis on a fresh log.
fn mac_genesis(last_plain_hash: Option<&str>) -> String {
    format!(
        "apflow-audit-mac:{}",
        last_plain_hash.unwrap_or(AUDIT_GENESIS)
    )
}

/// An entry's hash: SHA-256 over the previous hash and every stored field,
/// each length-prefixed so no two entries serialise alike.
fn audit_hash(prev: &str, at: i64, row: [&str; 5]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    feed_framed(&mut h, [prev, &at.to_string()].into_iter().chain(row));
    crate::domain::hex(&h.finalize())
}

/// Feeds `parts` to a hash or a MAC, each prefixed with its length, so
/// that no two sequences of parts feed the same bytes. The hash chain and
/// the MAC chain frame an entry alike.
fn feed_framed<'a>(h: &mut impl sha2::digest::Update, parts: impl IntoIterator<Item = &'a str>) {
    for part in parts {
        h.update(part.len().to_string().as_bytes());
        h.update(b":");
        h.update(part.as_bytes());
    }
}

/// The head of the MAC chain: what `apflow audit anchor` prints, as
/// `SEQ:MAC`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditAnchor {
    pub seq: i64,
    pub mac: String,
}

impl std::fmt::Display for AuditAnchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.mac)
    }
}

impl std::str::FromStr for AuditAnchor {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (seq, mac) = s
            .trim()
            .split_once(':')
            .ok_or_else(|| format!("{s:?} is not an audit anchor (SEQ:MAC)"))?;
        let seq = seq
            .parse()
            .map_err(|_| format!("{seq:?} is not a sequence number"))?;
        if mac.len() != 64 || !mac.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{mac:?} is not a MAC (64 hex digits)"));
        }
        Ok(AuditAnchor {
            seq,
            mac: mac.to_ascii_lowercase(),
        })
    }
}

/// Appends an entry to the audit log. Must run inside the transaction that
/// makes the change; on PostgreSQL an advisory lock held to commit makes
/// concurrent writers chain one after the other.
async fn append_audit(
    conn: &mut sqlx::AnyConnection,
    key: &AuditKey,
    entry: &AuditEntry,
) -> Result<()> {
    if conn.backend_name().eq_ignore_ascii_case("postgresql") {
        sqlx::query("SELECT pg_advisory_xact_lock(7411)")
            .execute(&mut *conn)
            .await
            .ctx("lock the audit chain")?;
    }
    let last = sqlx::query("SELECT hash, seq, mac FROM audit_log ORDER BY id DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await
        .ctx("read the audit chain")?;
    let (prev_hash, prev_seq, prev_mac) = match &last {
        Some(r) => (
            r.try_get::<Option<String>, _>("hash")
                .ctx("decode audit row")?,
            r.try_get::<Option<i64>, _>("seq").ctx("decode audit row")?,
            r.try_get::<Option<String>, _>("mac")
                .ctx("decode audit row")?,
        ),
        None => (None, None, None),
    };
    let seq = prev_seq.unwrap_or(0) + 1;
    let prev_mac = prev_mac.unwrap_or_else(|| mac_genesis(prev_hash.as_deref()));
    let prev_hash = prev_hash.unwrap_or_else(|| AUDIT_GENESIS.to_string());
    let at = now_ms();
    let detail = entry.detail.to_string();
    let fields = [
        entry.actor.as_str(),
        entry.action,
        entry.entity,
        entry.entity_id.as_str(),
        detail.as_str(),
    ];
    let hash = audit_hash(&prev_hash, at, fields);
    let mac = key.mac(&prev_mac, seq, at, fields)?;
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, entity, entity_id, detail, prev_hash, hash, seq, mac) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(at)
    .bind(entry.actor.clone())
    .bind(entry.action)
    .bind(entry.entity)
    .bind(entry.entity_id.clone())
    .bind(detail)
    .bind(prev_hash)
    .bind(hash)
    .bind(seq)
    .bind(mac)
    .execute(&mut *conn)
    .await
    .ctx("append to the audit log")?;
    Ok(())
}

/// What `apflow audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditVerdict {
    /// Entries checked and found intact (plain chain, and MAC where kept).
    pub chained: u64,
    /// Of those, entries whose MAC was checked (written since migration
    /// 0018); the rest are checked by the plain hash chain only.
    pub keyed: u64,
    /// Entries from before the chain existed (no hashes).
    pub unchained: u64,
    /// The first entry where the chain breaks, and why.
    pub broken_at: Option<(i64, String)>,
    /// The last intact MAC-chained entry.
    pub head: Option<AuditAnchor>,
}

/// One stored row, as verification needs it.
struct Stored {
    id: i64,
    at: i64,
    fields: [String; 5],
    prev_hash: Option<String>,
    hash: Option<String>,
    seq: Option<i64>,
    mac: Option<String>,
}

impl Stored {
    fn from_row(r: &sqlx::any::AnyRow) -> Result<Stored> {
        let get = |c: &str| -> Result<String> { r.try_get(c).ctx("decode audit row") };
        Ok(Stored {
            id: r.try_get("id").ctx("decode audit row")?,
            at: r.try_get("at").ctx("decode audit row")?,
            fields: [
                get("actor")?,
                get("action")?,
                get("entity")?,
                get("entity_id")?,
                get("detail")?,
            ],
            prev_hash: r.try_get("prev_hash").ctx("decode audit row")?,
            hash: r.try_get("hash").ctx("decode audit row")?,
            seq: r.try_get("seq").ctx("decode audit row")?,
            mac: r.try_get("mac").ctx("decode audit row")?,
        })
    }

    fn field_refs(&self) -> [&str; 5] {
        let [a, b, c, d, e] = &self.fields;
        [a, b, c, d, e]
    }
}

/// Walks the log in order, carrying what the next entry must follow.
#[derive(Default)]
struct Walk {
    prev_hash: Option<String>,
    prev_mac: Option<String>,
    prev_seq: i64,
}

impl Walk {
    /// Checks one entry; `Ok(false)` for an entry from before the chain,
    /// `Err` with the reason it breaks the chain.
    fn check(&mut self, key: &AuditKey, s: &Stored) -> std::result::Result<bool, String> {
        let Some(hash) = &s.hash else {
            if self.prev_hash.is_some() {
                return Err("an entry without a hash inside the chain".into());
            }
            return Ok(false);
        };
        let expected_prev = self
            .prev_hash
            .clone()
            .unwrap_or_else(|| AUDIT_GENESIS.to_string());
        let stored_prev = s.prev_hash.clone().unwrap_or_default();
        // The first chained entry follows either the genesis or the
        // unchained entries from before the migration.
        if stored_prev != expected_prev
            && !(self.prev_hash.is_none() && stored_prev == AUDIT_GENESIS)
        {
            return Err(
                "it does not follow the entry before it (an entry was removed or inserted)".into(),
            );
        }
        if audit_hash(&stored_prev, s.at, s.field_refs()) != *hash {
            return Err("its content does not match its hash (it was edited)".into());
        }
        match (s.seq, &s.mac) {
            (None, None) if self.prev_mac.is_none() => {}
            (Some(seq), Some(mac)) => {
                if seq != self.prev_seq + 1 {
                    return Err(format!(
                        "its sequence number is {seq}, not {} (entries were removed or inserted)",
                        self.prev_seq + 1
                    ));
                }
                let prev_mac = self
                    .prev_mac
                    .clone()
                    .unwrap_or_else(|| mac_genesis(self.prev_hash.as_deref()));
                let expected = key
                    .mac(&prev_mac, seq, s.at, s.field_refs())
                    .map_err(|e| e.to_string())?;
                if expected != *mac {
                    return Err("its MAC does not match (it was edited or forged, an entry before it was removed, or the audit key is not the one the log was written with)".into());
                }
                self.prev_seq = seq;
                self.prev_mac = Some(mac.clone());
            }
            _ => return Err("an entry without a sequence number and MAC inside the MAC chain (inserted, or its MAC removed)".into()),
        }
        self.prev_hash = Some(hash.clone());
        Ok(true)
    }
}

impl Store {
    /// Appends `entry` to the audit log inside `conn`'s transaction.
    pub(crate) async fn append_audit(
        &self,
        conn: &mut sqlx::AnyConnection,
        entry: &AuditEntry,
    ) -> Result<()> {
        append_audit(conn, &self.audit_key, entry).await
    }

    /// Writes an audit record outside of any other change (e.g. a login).
    pub async fn audit(&self, entry: &AuditEntry) -> Result<()> {
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        self.append_audit(&mut tx, entry).await?;
        tx.commit().await.ctx("commit an audit entry")
    }

    /// Recomputes the audit chain from the first entry: every entry's hash
    /// must match its content and the previous entry's hash; every entry
    /// since migration 0018 must carry the next sequence number and a MAC
    /// made with this store's key over the previous MAC and its content.
    pub async fn verify_audit_chain(&self) -> Result<AuditVerdict> {
        use futures_util::TryStreamExt;
        let mut rows = sqlx::query(
            "SELECT id, at, actor, action, entity, entity_id, detail, prev_hash, hash, seq, mac \
             FROM audit_log ORDER BY id",
        )
        .fetch(self.pool());
        let mut verdict = AuditVerdict {
            chained: 0,
            keyed: 0,
            unchained: 0,
            broken_at: None,
            head: None,
        };
        let mut walk = Walk::default();
        while let Some(r) = rows.try_next().await.ctx("read the audit log")? {
            let stored = Stored::from_row(&r)?;
            match walk.check(&self.audit_key, &stored) {
                Ok(false) => verdict.unchained += 1,
                Ok(true) => {
                    verdict.chained += 1;
                    if let (Some(seq), Some(mac)) = (stored.seq, stored.mac) {
                        verdict.keyed += 1;
                        verdict.head = Some(AuditAnchor { seq, mac });
                    }
                }
                Err(why) => {
                    verdict.broken_at = Some((stored.id, why));
                    break;
                }
            }
        }
        Ok(verdict)
    }

    /// Verifies the chain and then that it still reaches `anchor` (an
    /// earlier `apflow audit anchor`): the entry with the anchor's sequence
    /// number must exist and carry its MAC. Entries cut off the end leave
    /// an intact but shorter chain; this finds that.
    pub async fn verify_audit_against(&self, anchor: &AuditAnchor) -> Result<AuditVerdict> {
        let mut verdict = self.verify_audit_chain().await?;
        if verdict.broken_at.is_some() {
            return Ok(verdict);
        }
        let at_anchor: Option<(i64, Option<String>)> =
            sqlx::query("SELECT id, mac FROM audit_log WHERE seq = $1")
                .bind(anchor.seq)
                .fetch_optional(self.pool())
                .await
                .ctx("read the audit log")?
                .map(|r| -> Result<_> {
                    Ok((
                        r.try_get("id").ctx("decode audit row")?,
                        r.try_get("mac").ctx("decode audit row")?,
                    ))
                })
                .transpose()?;
        let head = verdict.head.as_ref().map_or(0, |h| h.seq);
        verdict.broken_at = match at_anchor {
            None => Some((
                0,
                format!(
                    "the log ends at sequence number {head}, before the anchor's {} (entries were removed from its end)",
                    anchor.seq
                ),
            )),
            Some((id, mac)) if mac.as_deref() != Some(anchor.mac.as_str()) => Some((
                id,
                format!(
                    "entry {} does not carry the anchor's MAC (the log was rewritten from there on)",
                    anchor.seq
                ),
            )),
            Some(_) => None,
        };
        Ok(verdict)
    }

    /// The head of the MAC chain, for `apflow audit anchor`; `None` on a
    /// log without MAC-chained entries. Only the last entry is read: run
    /// `verify` to know the chain up to it is intact.
    pub async fn audit_anchor(&self) -> Result<Option<AuditAnchor>> {
        let row = sqlx::query(
            "SELECT seq, mac FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1",
        )
        .fetch_optional(self.pool())
        .await
        .ctx("read the audit log")?;
        row.map(|r| -> Result<_> {
            let seq: i64 = r.try_get("seq").ctx("decode audit row")?;
            let mac: Option<String> = r.try_get("mac").ctx("decode audit row")?;
            let mac = mac.ok_or(Error::Corrupt {
                column: "audit_log.mac",
                value: String::new(),
            })?;
            Ok(AuditAnchor { seq, mac })
        })
        .transpose()
    }

    /// Audit records about one entity, oldest first.
    pub async fn audit_trail(&self, entity: &str, entity_id: &str) -> Result<Vec<AuditRow>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, entity, entity_id, detail FROM audit_log \
             WHERE entity = $1 AND entity_id = $2 ORDER BY id",
        )
        .bind(entity.to_string())
        .bind(entity_id.to_string())
        .fetch_all(self.pool())
        .await
        .ctx("read the audit log")?;
        rows.iter()
            .map(|r| {
                Ok(AuditRow {
                    id: r.try_get("id").ctx("decode audit row")?,
                    at: r.try_get("at").ctx("decode audit row")?,
                    actor: r.try_get("actor").ctx("decode audit row")?,
                    action: r.try_get("action").ctx("decode audit row")?,
                    entity: r.try_get("entity").ctx("decode audit row")?,
                    entity_id: r.try_get("entity_id").ctx("decode audit row")?,
                    detail: r.try_get("detail").ctx("decode audit row")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_parse_and_print_alike() {
        let a: AuditAnchor = format!("12:{}", "aB".repeat(32)).parse().expect("anchor");
        assert_eq!(a.to_string(), format!("12:{}", "ab".repeat(32)));
        for bad in [
            "",
            "12",
            "x:ab",
            "12:abc",
            &format!("12:{}", "zz".repeat(32)),
        ] {
            assert!(bad.parse::<AuditAnchor>().is_err(), "{bad}");
        }
    }

    #[test]
    fn default_key_lives_beside_the_sqlite_file() {
        for (url, want) in [
            (
                "sqlite:///var/lib/apflow/apflow.db",
                "/var/lib/apflow/audit.key",
            ),
            ("sqlite://./data/apflow.db?mode=rwc", "./data/audit.key"),
            ("sqlite://apflow.db", "./audit.key"),
            ("postgres://u@h/db", "./data/audit.key"),
        ] {
            assert_eq!(default_key_path(url), PathBuf::from(want), "{url}");
        }
    }

    #[test]
    fn a_key_file_is_created_private_and_then_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keys/audit.key");
        let a = AuditKey::load(&AuditKeySource::File(path.clone()), "").expect("created");
        let mode = std::fs::metadata(&path).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = AuditKey::load(&AuditKeySource::File(path), "").expect("read");
        assert_eq!(a.0, b.0);
        assert!(AuditKey::load(&AuditKeySource::Inline("short".into()), "").is_err());
    }

    /// Processes starting together all get the one key that was written.
    #[test]
    fn concurrent_first_uses_agree_on_one_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("audit.key");
        let keys: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| AuditKey::load(&AuditKeySource::File(path.clone()), "")))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic").expect("a key").0)
                .collect()
        });
        assert!(keys.iter().all(|k| *k == keys[0] && k.len() == 64));
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
        assert_eq!(left.len(), 1, "no staged files left behind");
    }
}
