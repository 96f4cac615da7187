//! The shared store suite on SQLite (a temporary file, as in production).

use keqing_store::{suite, SqliteStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keqing.db");
    let s = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    suite::run_all(&s).await;
    let copy = SqliteStore::open(dir.path().join("restored.db").to_str().unwrap())
        .await
        .unwrap();
    suite::backup_round_trip(&s, &copy).await;
}

#[tokio::test]
async fn sqlite_in_memory_passes_the_suite() {
    let s = SqliteStore::open(":memory:").await.unwrap();
    suite::run_all(&s).await;
}

#[tokio::test]
async fn reopening_keeps_the_data_and_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.db");
    let p = path.to_str().unwrap();
    {
        let s = SqliteStore::open(p).await.unwrap();
        suite::fixture(&s).await;
    }
    let s = SqliteStore::open(p).await.unwrap();
    use keqing_store::Store;
    assert_eq!(s.users().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_version_1_database_migrates_to_version_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(include_str!("../src/sqlite_schema.sql"))
            .unwrap();
        c.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO teams (name) VALUES ('老团队');
             INSERT INTO customers (version, name, pinyin, initials, stage, tags, doc, created_at, updated_at)
             VALUES (1, '老客户恒远商行', 'laokehuhengyuanshanghang', 'lkhhysh', 'to_identify', '',
                     '{\"name\":\"老客户恒远商行\"}', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z');",
        )
        .unwrap();
    }
    let s = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    use keqing_store::Store;
    assert_eq!(s.teams().await.unwrap().len(), 1);
    assert!(s.care_templates().await.unwrap().is_empty());
    let c = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 5, "a version 1 database migrates to the latest version");
    // Version 4 fills the search index with the customers already stored.
    for q in [
        keqing_store::NameQuery::Text("恒远".into()),
        keqing_store::NameQuery::Pinyin("hengyuan".into()),
        keqing_store::NameQuery::Pinyin("lkhy".into()),
    ] {
        let found = s
            .list_customers(&keqing_store::CustomerFilter {
                query: Some(q.clone()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(found.total, 1, "{q:?}");
    }
}
