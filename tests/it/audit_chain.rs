//! The audit log against someone with database access: a rewritten entry
//! (with the plain hash chain recomputed), a removed entry and a cut-off
//! tail are all found by `apflow audit verify`; an untouched log passes.

use apflow::store::{AuditAnchor, AuditEntry, AuditKeySource, Store};
use sqlx::AnyPool;

use crate::helpers::{BOTH, Db, TestDb, fresh};

const KEY: &str = "test audit key, kept outside the database";

fn entry(i: usize) -> AuditEntry {
    AuditEntry {
        actor: format!("clerk{i}"),
        action: "test.entry",
        entity: "invoice",
        entity_id: i.to_string(),
        detail: serde_json::json!({ "n": i, "amount": "100.00" }),
    }
}

/// A fresh database with ten keyed entries; the store, a raw pool with the
/// append-only triggers dropped (as an attacker would), and the ids.
async fn ten_entries(db: Db) -> (TestDb, Store, AnyPool, Vec<i64>) {
    let t = fresh(db).await;
    let store = Store::connect_with(&t.url, &AuditKeySource::Inline(KEY.into()))
        .await
        .unwrap();
    for i in 0..10 {
        store.audit(&entry(i)).await.unwrap();
    }
    let pool = AnyPool::connect(&t.url).await.unwrap();
    drop_append_only_triggers(db, &pool).await;
    let ids = sqlx::query_scalar("SELECT id FROM audit_log ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    (t, store, pool, ids)
}

/// What an attacker with database access does first: drops the triggers
/// that keep the log append-only.
async fn drop_append_only_triggers(db: Db, pool: &AnyPool) {
    let lift: &[&str] = match db {
        Db::Sqlite => &[
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
        ],
        Db::Postgres => &["DROP TRIGGER audit_log_no_change ON audit_log"],
    };
    for sql in lift {
        sqlx::query(sqlx::AssertSqlSafe(*sql))
            .execute(pool)
            .await
            .unwrap();
    }
}

/// Runs one statement on the entry `id` (an edit or a deletion).
async fn tamper(pool: &AnyPool, sql: &'static str, id: i64) {
    sqlx::query(sql).bind(id).execute(pool).await.unwrap();
}

/// The plain chain's hash, as anyone can compute it (see store/audit.rs).
fn plain_hash(prev: &str, at: i64, fields: [&str; 5]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for part in [prev, &at.to_string()].into_iter().chain(fields) {
        h.update(part.len().to_string().as_bytes());
        h.update(b":");
        h.update(part.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What an attacker does after editing or deleting rows: recompute the
/// plain hash chain over what is left, so that it is consistent again.
async fn recompute_plain_chain(pool: &AnyPool) {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT id, at, actor, action, entity, entity_id, detail FROM audit_log ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut prev = "apflow-audit-genesis".to_string();
    for r in rows {
        let f: Vec<String> = ["actor", "action", "entity", "entity_id", "detail"]
            .iter()
            .map(|c| r.get::<String, _>(*c))
            .collect();
        let hash = plain_hash(&prev, r.get("at"), [&f[0], &f[1], &f[2], &f[3], &f[4]]);
        sqlx::query("UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE id = $3")
            .bind(prev.clone())
            .bind(hash.clone())
            .bind(r.get::<i64, _>("id"))
            .execute(pool)
            .await
            .unwrap();
        prev = hash;
    }
}

#[tokio::test]
async fn an_untouched_log_verifies_up_to_its_anchor() {
    for db in BOTH {
        let (_t, store, _pool, ids) = ten_entries(db).await;
        let v = store.verify_audit_chain().await.unwrap();
        assert_eq!((v.chained, v.keyed, v.broken_at), (10, 10, None), "{db:?}");
        let anchor = store.audit_anchor().await.unwrap().expect("a head");
        assert_eq!(anchor.seq, 10);
        assert_eq!(v.head.as_ref(), Some(&anchor));
        let v = store.verify_audit_against(&anchor).await.unwrap();
        assert_eq!(v.broken_at, None, "{db:?}");
        // The anchor parses back from what `apflow audit anchor` prints.
        assert_eq!(anchor.to_string().parse::<AuditAnchor>(), Ok(anchor));
        assert_eq!(ids.len(), 10);
    }
}

#[tokio::test]
async fn a_rewritten_entry_is_found_even_with_the_plain_chain_recomputed() {
    for db in BOTH {
        let (_t, store, pool, ids) = ten_entries(db).await;
        tamper(
            &pool,
            "UPDATE audit_log SET detail = '{\"amount\":\"99999.00\",\"n\":4}' WHERE id = $1",
            ids[4],
        )
        .await;
        recompute_plain_chain(&pool).await;
        let v = store.verify_audit_chain().await.unwrap();
        let (at, why) = v.broken_at.expect("rewrite found");
        assert_eq!((at, v.chained), (ids[4], 4), "{db:?}");
        assert!(why.contains("MAC does not match"), "{why}");
    }
}

#[tokio::test]
async fn a_deleted_middle_entry_is_found() {
    for db in BOTH {
        let (_t, store, pool, ids) = ten_entries(db).await;
        tamper(&pool, "DELETE FROM audit_log WHERE id = $1", ids[4]).await;
        recompute_plain_chain(&pool).await;
        let v = store.verify_audit_chain().await.unwrap();
        let (at, why) = v.broken_at.expect("removal found");
        assert_eq!(at, ids[5], "{db:?}");
        assert!(why.contains("sequence number is 6, not 5"), "{why}");
    }
}

#[tokio::test]
async fn a_cut_off_tail_is_found_against_the_anchor() {
    for db in BOTH {
        let (_t, store, pool, ids) = ten_entries(db).await;
        let anchor = store.audit_anchor().await.unwrap().expect("a head");
        tamper(&pool, "DELETE FROM audit_log WHERE id >= $1", ids[7]).await;
        // What is left is a valid, shorter chain...
        let v = store.verify_audit_chain().await.unwrap();
        assert_eq!((v.chained, v.broken_at), (7, None), "{db:?}");
        // ...that no longer reaches the anchor kept elsewhere.
        let v = store.verify_audit_against(&anchor).await.unwrap();
        let (_, why) = v.broken_at.expect("truncation found");
        assert!(
            why.contains("ends at sequence number 7, before the anchor's 10"),
            "{why}"
        );
    }
}

#[tokio::test]
async fn a_log_checked_with_another_key_fails() {
    for db in BOTH {
        let (t, _store, _pool, ids) = ten_entries(db).await;
        let other = Store::connect_with(
            &t.url,
            &AuditKeySource::Inline("some other key of enough length".into()),
        )
        .await
        .unwrap();
        let v = other.verify_audit_chain().await.unwrap();
        assert_eq!(v.broken_at.map(|b| b.0), Some(ids[0]), "{db:?}");
    }
}

/// The same through the real binary: `audit anchor`, then `audit verify
/// --anchor` passes, and fails with exit code 1 once the tail is cut off.
#[tokio::test]
async fn the_cli_verifies_against_an_anchor() {
    let apflow = |url: &str, args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_apflow"))
            .env("APFLOW_AUDIT_KEY", KEY)
            .args(["--database-url", url, "audit"])
            .args(args)
            .output()
            .unwrap()
    };
    for db in BOTH {
        let (t, _store, pool, ids) = ten_entries(db).await;
        let out = apflow(&t.url, &["anchor"]);
        assert!(out.status.success(), "{out:?}");
        let anchor = String::from_utf8(out.stdout).unwrap().trim().to_string();
        assert!(anchor.starts_with("10:"), "{anchor}");
        let out = apflow(&t.url, &["verify", "--anchor", &anchor]);
        assert!(out.status.success(), "{db:?} {out:?}");
        tamper(&pool, "DELETE FROM audit_log WHERE id = $1", ids[9]).await;
        let out = apflow(&t.url, &["verify"]);
        assert!(out.status.success(), "{db:?}: a shorter chain is intact");
        let out = apflow(&t.url, &["verify", "--anchor", &anchor]);
        assert_eq!(out.status.code(), Some(1), "{db:?} {out:?}");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("audit log BROKEN"), "{said}");
    }
}

/// Entries from before the MAC chain (migration 0018) have only the plain
/// hash chain. They still verify, are counted apart, and rewriting one of
/// them (plain chain recomputed) breaks the first MAC-chained entry, whose
/// MAC covers the last plain hash.
#[tokio::test]
async fn entries_from_before_the_mac_chain_are_bound_to_it() {
    for db in BOTH {
        let t = fresh(db).await;
        let pool = AnyPool::connect(&t.url).await.unwrap();
        // Five entries as the code before migration 0018 wrote them.
        let mut prev = "apflow-audit-genesis".to_string();
        for i in 0..5 {
            let e = entry(i);
            let (at, detail) = (
                1_700_000_000_000 + i64::try_from(i).unwrap(),
                e.detail.to_string(),
            );
            let hash = plain_hash(
                &prev,
                at,
                [&e.actor, e.action, e.entity, &e.entity_id, &detail],
            );
            sqlx::query(
                "INSERT INTO audit_log (at, actor, action, entity, entity_id, detail, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(at)
            .bind(e.actor.clone())
            .bind(e.action)
            .bind(e.entity)
            .bind(e.entity_id.clone())
            .bind(detail)
            .bind(prev.clone())
            .bind(hash.clone())
            .execute(&pool)
            .await
            .unwrap();
            prev = hash;
        }
        let store = Store::connect_with(&t.url, &AuditKeySource::Inline(KEY.into()))
            .await
            .unwrap();
        for i in 5..8 {
            store.audit(&entry(i)).await.unwrap();
        }
        let v = store.verify_audit_chain().await.unwrap();
        assert_eq!((v.chained, v.keyed, v.broken_at), (8, 3, None), "{db:?}");
        assert_eq!(v.head.map(|h| h.seq), Some(3), "the MAC chain starts at 1");

        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM audit_log ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
        drop_append_only_triggers(db, &pool).await;
        tamper(
            &pool,
            "UPDATE audit_log SET actor = 'someone else' WHERE id = $1",
            ids[2],
        )
        .await;
        recompute_plain_chain(&pool).await;
        let v = store.verify_audit_chain().await.unwrap();
        let (at, why) = v.broken_at.expect("rewrite found");
        assert_eq!(at, ids[5], "{db:?}: at the first MAC-chained entry");
        assert!(why.contains("MAC does not match"), "{why}");
    }
}
