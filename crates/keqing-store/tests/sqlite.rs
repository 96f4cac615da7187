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
    use keqing_store::prelude::*;
    assert_eq!(s.users().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_version_1_database_migrates_to_version_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(include_str!("../src/sqlite/schema.sql"))
            .unwrap();
        c.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO teams (name, region) VALUES ('老团队', '江苏');
             INSERT INTO customers (version, name, pinyin, initials, stage, tags, doc, created_at, updated_at)
             VALUES (1, '老客户恒远商行', 'laokehuhengyuanshanghang', 'lkhhysh', 'to_identify', '',
                     '{\"name\":\"老客户恒远商行\"}', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z');
             INSERT INTO contacts (customer_id, version, name, doc, created_at) VALUES
                 (1, 1, '甲', '{\"name\":\"甲\",\"birthday\":\"1985-11-23\"}', '2025-01-01T00:00:00Z'),
                 (1, 1, '乙', '{\"name\":\"乙\",\"birthday\":\"农历1975-08-15\"}', '2025-01-01T00:00:00Z'),
                 (1, 1, '丙', '{\"name\":\"丙\",\"birthday\":\"农历闰04-30\"}', '2025-01-01T00:00:00Z'),
                 (1, 1, '丁', '{\"name\":\"丁\"}', '2025-01-01T00:00:00Z');",
        )
        .unwrap();
    }
    let s = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    use keqing_store::prelude::*;
    assert_eq!(s.teams().await.unwrap().len(), 1);
    assert!(s.care_templates().await.unwrap().is_empty());
    let c = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 20, "a version 1 database migrates to the latest version");
    let left: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE name LIKE 'customer_search%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        !left.iter().any(|n| n == "customer_search_content"),
        "version 4's content table is gone: {left:?}"
    );
    assert!(left.iter().any(|n| n == "customer_search_data"));
    // Version 10 keys the stored birthdays as the store keys new ones.
    let keys: Vec<Option<String>> = c
        .prepare("SELECT birthday_key FROM contacts ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = |b: &str| {
        Some(keqing_store::birthday_key(
            &keqing_domain::Birthday::parse(b).unwrap(),
        ))
    };
    assert_eq!(
        keys,
        vec![
            key("1985-11-23"),
            key("农历1975-08-15"),
            key("农历闰04-30"),
            None
        ]
    );
    assert_eq!(keys[2].as_deref(), Some("LL04-30"));
    // Version 9 lists the regions the teams and users name already.
    let regions = s.regions().await.unwrap();
    assert_eq!(
        regions
            .iter()
            .map(|r| (r.name.as_str(), r.teams))
            .collect::<Vec<_>>(),
        vec![("江苏", 1)]
    );
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

#[tokio::test]
async fn a_version_3_database_keeps_its_care_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v3.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(include_str!("../src/sqlite/schema.sql"))
            .unwrap();
        c.execute_batch(include_str!("../src/sqlite/schema_v2.sql"))
            .unwrap();
        c.execute_batch(include_str!("../src/sqlite/schema_v3.sql"))
            .unwrap();
        c.execute_batch(
            r#"PRAGMA user_version = 3;
             INSERT INTO teams (id, name) VALUES (1, '老团队');
             INSERT INTO users (id, username, display_name, role, team_id, password_hash, active, created_at)
                 VALUES (7, 'wang', '王芳', 'manager', 1, 'x', 1, '2026-01-01T00:00:00.000000Z');
             INSERT INTO customers (id, version, name, pinyin, initials, stage, tags, doc, owner_id, team_id, created_at, updated_at)
                 VALUES (3, 1, '老客户', '', '', 'order', '', '{"name":"老客户"}', 7, 1, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z');
             INSERT INTO contacts (id, customer_id, version, name, doc, created_at)
                 VALUES (5, 3, 1, '张三', '{"name":"张三"}', '2026-01-01T00:00:00.000000Z');
             INSERT INTO care_tasks (id, key, kind, date, customer_id, contact_id, owner_id, occasions, channel, message, status, created_at, updated_at)
                 VALUES (1, 'greeting:c3:p5:2026-09-25', 'greeting', '2026-09-25', 3, 5, 7, '["mid_autumn"]', 'call', '张三您好！中秋快乐！——公司 王芳', 'open', '2026-09-01T00:00:00.000000Z', '2026-09-01T00:00:00.000000Z'),
                        (2, 'quota:s7:2026-09-25', 'quota', '2026-09-25', NULL, NULL, 7, '{"calls":4}', NULL, '今日还需电话4次', 'done', '2026-09-01T00:00:00.000000Z', '2026-09-02T00:00:00.000000Z');"#,
        )
        .unwrap();
    }
    let s = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    use keqing_store::prelude::*;
    let t = s.care_task(1).await.unwrap().unwrap();
    assert_eq!(t.key, "greeting:c3:p5:2026-09-25");
    assert_eq!(t.occasions, serde_json::json!(["mid_autumn"]));
    // Stored messages and channels stay as they were written.
    assert_eq!(
        t.message.as_deref(),
        Some("张三您好！中秋快乐！——公司 王芳")
    );
    assert_eq!(t.channel.as_deref(), Some("call"));
    assert_eq!(t.owner_id, Some(7));
    let q = s.care_task(2).await.unwrap().unwrap();
    assert_eq!(
        (q.key.as_str(), q.owner_id),
        ("quota:s7:2026-09-25", Some(7))
    );
    assert_eq!(q.message.as_deref(), Some("今日还需电话4次"));
    // The key still holds: planning the same greeting again adds nothing.
    let mut b = keqing_store::CareTaskBatch::default();
    let occasions = b.text("[]");
    let day = "2026-09-25".parse().unwrap();
    b.tasks.push(keqing_store::NewCareTask {
        kind: "greeting",
        planned_for: day,
        date: day,
        customer_id: Some(3),
        contact_id: Some(5),
        salesperson_id: None,
        occasions,
        template: None,
        message: None,
        channel: None,
    });
    assert_eq!(s.insert_care_tasks(b).await.unwrap(), 0);
}

#[tokio::test]
async fn a_backup_from_before_version_4_restores() {
    use keqing_store::prelude::*;
    let s = SqliteStore::open(":memory:").await.unwrap();
    let f = suite::fixture(&s).await;
    let c = s
        .create_customer(
            &keqing_domain::CustomerInput::from_json(
                serde_json::json!({"name": "旧备份客户"})
                    .as_object()
                    .unwrap(),
            )
            .unwrap(),
            Some(f.manager_a.id),
            &f.admin,
        )
        .await
        .unwrap();
    let mut buf = vec![];
    s.export_all(&mut buf).await.unwrap();
    // Care tasks as version 2 and 3 wrote them: key, occasions and message inline.
    let old = [
        serde_json::json!({"table": "care_tasks", "row": {"id": 1, "key": format!("greeting:c{}:-:2026-09-25", c.id), "kind": "greeting", "date": "2026-09-25", "customer_id": c.id, "contact_id": null, "owner_id": f.manager_b.id, "occasions": [{"reason": "occasion", "occasion": "mid_autumn", "name_zh": "中秋节", "name_en": "Mid-Autumn Festival"}], "channel": "sms", "message": "中秋快乐！——公司 王芳", "status": "open", "reason": null, "snoozed_until": null, "activity_id": null, "created_at": "2026-09-01T00:00:00.000000Z", "updated_at": "2026-09-01T00:00:00.000000Z"}}),
        serde_json::json!({"table": "care_tasks", "row": {"id": 2, "key": format!("quota:s{}:2026-09-25", f.manager_a.id), "kind": "quota", "date": "2026-09-25", "customer_id": null, "contact_id": null, "owner_id": f.manager_a.id, "occasions": {"calls": 4}, "channel": null, "message": "中秋快乐！——公司 王芳", "status": "open", "reason": null, "snoozed_until": null, "activity_id": null, "created_at": "2026-09-01T00:00:00.000000Z", "updated_at": "2026-09-01T00:00:00.000000Z"}}),
    ];
    let mut text = String::from_utf8(buf).unwrap();
    for o in &old {
        text.push_str(&format!("{o}\n"));
    }
    let copy = SqliteStore::open(":memory:").await.unwrap();
    copy.import_all(&mut std::io::Cursor::new(text.into_bytes()))
        .await
        .unwrap();
    let t = copy.care_task(1).await.unwrap().unwrap();
    assert_eq!(t.key, format!("greeting:c{}:-:2026-09-25", c.id));
    assert_eq!(t.occasions[0]["occasion"], "mid_autumn");
    assert_eq!(t.message.as_deref(), Some("中秋快乐！——公司 王芳"));
    // Open, it is the customer's owner's, whoever it was written for.
    assert_eq!(t.owner_id, Some(f.manager_a.id));
    let q = copy.care_task(2).await.unwrap().unwrap();
    assert_eq!(
        (q.owner_id, q.occasions.clone()),
        (Some(f.manager_a.id), serde_json::json!({"calls": 4}))
    );
    let counts = copy.table_counts().await.unwrap();
    // Two occasions and one message, which both tasks share.
    assert!(
        counts.contains(&("care_texts".to_string(), 3)),
        "{counts:?}"
    );
}

/// Care tasks as version 6 stored them: days and times as text, the key on
/// expressions over customer_id and contact_id.
const V6_TASKS: &str = r#"
    INSERT INTO teams (id, name) VALUES (1, '老团队');
    INSERT INTO users (id, username, display_name, role, team_id, password_hash, active, created_at)
        VALUES (7, 'wang', '王芳', 'manager', 1, 'x', 1, '2026-01-01T00:00:00.000000Z'),
               (8, 'li', '李强', 'manager', 1, 'x', 1, '2026-01-01T00:00:00.000000Z');
    INSERT INTO customers (id, version, name, pinyin, initials, stage, tags, doc, owner_id, team_id, created_at, updated_at)
        VALUES (3, 1, '老客户', '', '', 'order', '', '{"name":"老客户"}', 8, 1, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z');
    INSERT INTO contacts (id, customer_id, version, name, doc, created_at)
        VALUES (5, 3, 1, '张三', '{"name":"张三"}', '2026-01-01T00:00:00.000000Z');
    INSERT INTO care_texts (id, body) VALUES (1, '[{"reason":"occasion","occasion":"mid_autumn"}]'), (2, '{联系人}您好！——{公司名称} {经理姓名}'), (3, '今日还需电话4次');
    INSERT INTO care_tasks (id, kind, planned_for, date, customer_id, contact_id, owner_id, occasions_id, template_id, message_id, channel, status, reason, snoozed_until, activity_id, created_at, updated_at)
        VALUES (1, 'greeting', '2026-09-25', '2026-09-25', 3, 5, NULL, 1, 2, NULL, NULL, 'open', NULL, NULL, NULL, '2026-09-01T08:30:00.123456Z', NULL),
               (2, 'quota', '2026-09-25', '2026-09-25', NULL, NULL, 7, 1, NULL, 3, NULL, 'done', NULL, NULL, NULL, '2026-09-01T00:00:00.000000Z', '2026-09-25T10:00:00.000001Z'),
               (3, 'cadence', '2026-09-20', '2026-09-30', 3, NULL, NULL, 1, NULL, 3, 'call', 'snoozed', NULL, '2026-10-02', NULL, '2026-09-20T00:00:00.000000Z', '2026-09-21T00:00:00.000000Z'),
               (4, 'order_day', '1969-12-31', '1969-12-31', 3, NULL, 7, 1, NULL, NULL, 'call', 'skipped', '客户出差', NULL, NULL, '1969-12-31T23:59:59.500000Z', '1970-01-01T00:00:00.000000Z');
"#;

/// The same tasks in a backup: the shape both backends write, whatever
/// they store.
fn v6_task_lines() -> Vec<serde_json::Value> {
    use serde_json::json;
    vec![
        json!({"id": 1, "kind": "greeting", "planned_for": "2026-09-25", "date": "2026-09-25", "customer_id": 3, "contact_id": 5, "owner_id": null, "occasions_id": 1, "template_id": 2, "message_id": null, "channel": null, "status": "open", "reason": null, "snoozed_until": null, "activity_id": null, "created_at": "2026-09-01T08:30:00.123456Z", "updated_at": null}),
        json!({"id": 2, "kind": "quota", "planned_for": "2026-09-25", "date": "2026-09-25", "customer_id": null, "contact_id": null, "owner_id": 7, "occasions_id": 1, "template_id": null, "message_id": 3, "channel": null, "status": "done", "reason": null, "snoozed_until": null, "activity_id": null, "created_at": "2026-09-01T00:00:00.000000Z", "updated_at": "2026-09-25T10:00:00.000001Z"}),
        json!({"id": 3, "kind": "cadence", "planned_for": "2026-09-20", "date": "2026-09-30", "customer_id": 3, "contact_id": null, "owner_id": null, "occasions_id": 1, "template_id": null, "message_id": 3, "channel": "call", "status": "snoozed", "reason": null, "snoozed_until": "2026-10-02", "activity_id": null, "created_at": "2026-09-20T00:00:00.000000Z", "updated_at": "2026-09-21T00:00:00.000000Z"}),
        json!({"id": 4, "kind": "order_day", "planned_for": "1969-12-31", "date": "1969-12-31", "customer_id": 3, "contact_id": null, "owner_id": 7, "occasions_id": 1, "template_id": null, "message_id": null, "channel": "call", "status": "skipped", "reason": "客户出差", "snoozed_until": null, "activity_id": null, "created_at": "1969-12-31T23:59:59.500000Z", "updated_at": "1970-01-01T00:00:00.000000Z"}),
    ]
}

/// The care tasks of a backup, as its JSON rows.
fn task_lines(backup: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(backup.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["table"] == "care_tasks")
        .map(|v| v["row"].clone())
        .collect()
}

/// The checks both a migrated version 6 database and a restored version 6
/// backup must pass: every task reads as it was, the key still holds, and
/// a backup gives the rows back as version 6 wrote them.
async fn v6_tasks_hold(s: &SqliteStore) {
    use keqing_store::prelude::*;
    let g = s.care_task(1).await.unwrap().unwrap();
    assert_eq!(g.key, "greeting:c3:p5:2026-09-25");
    assert_eq!(
        (g.status.as_str(), g.owner_id, g.contact_id),
        ("open", Some(8), Some(5)),
        "an open task is its customer's owner's"
    );
    assert_eq!(
        g.template.as_deref(),
        Some("{联系人}您好！——{公司名称} {经理姓名}")
    );
    assert_eq!(g.occasions[0]["occasion"], "mid_autumn");
    assert_eq!(
        g.created_at.to_rfc3339(),
        "2026-09-01T08:30:00.123456+00:00"
    );
    assert_eq!(
        g.updated_at, g.created_at,
        "never changed: updated when created"
    );
    let q = s.care_task(2).await.unwrap().unwrap();
    assert_eq!(
        (q.key.as_str(), q.owner_id),
        ("quota:s7:2026-09-25", Some(7))
    );
    assert_eq!(q.message.as_deref(), Some("今日还需电话4次"));
    assert_eq!(
        q.updated_at.to_rfc3339(),
        "2026-09-25T10:00:00.000001+00:00"
    );
    let c = s.care_task(3).await.unwrap().unwrap();
    assert_eq!(
        (c.key.as_str(), c.date, c.snoozed_until, c.status.as_str()),
        (
            "cadence:c3:-:2026-09-20",
            "2026-09-30".parse().unwrap(),
            Some("2026-10-02".parse().unwrap()),
            "snoozed"
        )
    );
    let o = s.care_task(4).await.unwrap().unwrap();
    assert_eq!(
        (o.planned_for, o.owner_id, o.reason.as_deref()),
        ("1969-12-31".parse().unwrap(), Some(7), Some("客户出差"))
    );
    assert_eq!(o.created_at.to_rfc3339(), "1969-12-31T23:59:59.500+00:00");
    // Listed by day, kind, status and owner as before.
    let day = |d: &str| Some(d.parse().unwrap());
    let list = |f: keqing_store::CareTaskFilter| async move {
        let page = s.care_tasks(&f).await.unwrap();
        page.items.iter().map(|t| t.id).collect::<Vec<_>>()
    };
    let sept = keqing_store::CareTaskFilter {
        from: day("2026-09-01"),
        to: day("2026-09-30"),
        ..Default::default()
    };
    assert_eq!(list(sept.clone()).await, vec![1, 2, 3]);
    let of = |owner: i64| keqing_store::CareTaskFilter {
        owners: Some(vec![owner]),
        ..sept.clone()
    };
    assert_eq!(
        list(of(8)).await,
        vec![1, 3],
        "the customer's owner's open tasks"
    );
    assert_eq!(
        list(of(7)).await,
        vec![2],
        "the quota task stays its salesperson's"
    );
    let skipped = keqing_store::CareTaskFilter {
        status: Some("skipped".into()),
        kind: Some("order_day".into()),
        ..Default::default()
    };
    assert_eq!(list(skipped).await, vec![4]);
    let unknown = keqing_store::CareTaskFilter {
        status: Some("lost".into()),
        ..Default::default()
    };
    assert_eq!(s.care_tasks(&unknown).await.unwrap().total, 0);
    // What the cap counts: the open greeting on its day, the snoozed
    // cadence task on the day it wakes.
    let planned = ("2026-09-25".parse().unwrap(), "2026-09-25".parse().unwrap());
    let counted = s
        .care_task_contacts(
            "2026-09-01".parse().unwrap(),
            "2026-10-31".parse().unwrap(),
            planned,
        )
        .await
        .unwrap();
    assert!(counted.days.is_empty());
    let mut seen: Vec<(&str, Option<i64>, String)> = counted
        .tasks
        .iter()
        .map(|t| (t.kind, t.contact_id, t.date.to_string()))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("cadence", None, "2026-10-02".into()),
            ("greeting", Some(5), "2026-09-25".into())
        ]
    );
    // The key holds: the same tasks planned again add nothing, a new day does.
    let mut b = keqing_store::CareTaskBatch::default();
    let occasions = b.text("[]");
    for (kind, customer, contact, salesperson, day) in [
        ("greeting", Some(3), Some(5), None, "2026-09-25"),
        ("quota", None, None, Some(7), "2026-09-25"),
        ("cadence", Some(3), None, None, "2026-09-20"),
        ("greeting", Some(3), Some(5), None, "2026-09-26"),
    ] {
        let day = day.parse().unwrap();
        b.tasks.push(keqing_store::NewCareTask {
            kind,
            planned_for: day,
            date: day,
            customer_id: customer,
            contact_id: contact,
            salesperson_id: salesperson,
            occasions,
            template: None,
            message: None,
            channel: None,
        });
    }
    assert_eq!(s.insert_care_tasks(b).await.unwrap(), 1, "only the new day");
    // Backed up as version 6 wrote them (and the new one alike).
    let mut buf = vec![];
    s.export_all(&mut buf).await.unwrap();
    let lines = task_lines(&buf);
    assert_eq!(&lines[..4], &v6_task_lines()[..]);
    assert_eq!(lines[4]["planned_for"], "2026-09-26");
    assert_eq!(
        (
            lines[4]["customer_id"].clone(),
            lines[4]["contact_id"].clone()
        ),
        (3.into(), 5.into())
    );
}

/// A version 6 database at `path`, holding [`V6_TASKS`].
fn write_v6_database(path: &std::path::Path) {
    let c = rusqlite::Connection::open(path).unwrap();
    for script in [
        include_str!("../src/sqlite/schema.sql"),
        include_str!("../src/sqlite/schema_v2.sql"),
        include_str!("../src/sqlite/schema_v3.sql"),
        include_str!("../src/sqlite/schema_v4.sql"),
        include_str!("../src/sqlite/schema_v5.sql"),
        include_str!("../src/sqlite/schema_v6.sql"),
        "PRAGMA user_version = 6;",
        V6_TASKS,
    ] {
        c.execute_batch(script).unwrap();
    }
}

#[tokio::test]
async fn a_version_6_database_keeps_its_care_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v6.db");
    write_v6_database(&path);
    let s = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    v6_tasks_hold(&s).await;
    // The merge triggers are rebuilt on the new table (the suite tests what they do).
    let c = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        v, 20,
        "version 6 migrates through 7 (care tasks) to the latest"
    );
    // Version 14 widened the kinds in place: the file is sound, and a
    // follow-up is stored where a version 13 database refused it.
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let mut batch = keqing_store::CareTaskBatch::default();
    let (detail, message) = (batch.text("{}"), batch.text("跟进：看样品"));
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 9).unwrap();
    batch.tasks.push(keqing_store::NewCareTask {
        kind: "follow_up",
        planned_for: day,
        date: day,
        customer_id: None,
        contact_id: None,
        salesperson_id: Some(7),
        occasions: detail,
        template: None,
        message: Some(message),
        channel: Some("visit"),
    });
    use keqing_store::CareStore;
    assert_eq!(s.insert_care_tasks(batch).await.unwrap(), 1);
    let triggers: i64 = c
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'care_tasks_follow_%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(triggers, 2);
}

#[tokio::test]
async fn a_version_6_backup_restores() {
    use keqing_store::prelude::*;
    // The rows of a version 6 database, as its backup holds them.
    let s = SqliteStore::open(":memory:").await.unwrap();
    let mut lines = vec![];
    {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v6.db");
        write_v6_database(&path);
        let old = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
        let mut buf = vec![];
        old.export_all(&mut buf).await.unwrap();
        for l in String::from_utf8(buf).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            if v["table"] != "care_tasks" {
                lines.push(v);
            }
        }
    }
    lines.extend(
        v6_task_lines()
            .into_iter()
            .map(|row| serde_json::json!({"table": "care_tasks", "row": row})),
    );
    let text: String = lines.iter().map(|v| format!("{v}\n")).collect();
    s.import_all(&mut std::io::Cursor::new(text.into_bytes()))
        .await
        .unwrap();
    v6_tasks_hold(&s).await;
}

/// The names and SQL of every index, for comparing before and after.
fn indexes(path: &std::path::Path) -> Vec<(String, String)> {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut st = c
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// Every import of the suite taken by the bulk path (one transaction,
/// secondary indexes built at the end): the same answers, and afterwards
/// the same indexes as a database that never took it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_imports_pass_the_suite_and_keep_every_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bulk.db");
    let s = SqliteStore::open(path.to_str().unwrap())
        .await
        .unwrap()
        .with_bulk_rows(1);
    let before = indexes(&path);
    assert!(before.iter().any(|(n, _)| n == "customers_scope"));
    suite::run_all(&s).await;
    assert_eq!(indexes(&path), before);
}

/// A store in `dir` whose every import takes the bulk path, with the
/// suite's users and teams and no customer; and its file.
async fn bulk_store(dir: &tempfile::TempDir) -> (SqliteStore, suite::Fixture, std::path::PathBuf) {
    let path = dir.path().join("bulk.db");
    let s = SqliteStore::open(path.to_str().unwrap())
        .await
        .unwrap()
        .with_bulk_rows(1);
    let f = suite::fixture(&s).await;
    (s, f, path)
}

/// A failure in the middle of a bulk import leaves nothing of it: not its
/// rows, and not its dropped indexes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_bulk_import_leaves_the_database_as_it_was() {
    use keqing_store::{prelude::*, ImportCustomer, ImportRows};
    let dir = tempfile::tempdir().unwrap();
    let (s, f, path) = bulk_store(&dir).await;
    let before = indexes(&path);
    let counts = s.table_counts().await.unwrap();
    let row = |i: usize| ImportCustomer {
        line: i as u64 + 2,
        customer: keqing_domain::customer::CustomerInput::from_json(
            serde_json::json!({"name": format!("批量客户{i}")})
                .as_object()
                .unwrap(),
        )
        .unwrap(),
        contact: None,
    };
    // A row the database refuses, late in the file: the indexes are dropped by then.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse_25 BEFORE INSERT ON customers WHEN NEW.name = '批量客户25'
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
        )
        .unwrap();
    let err = s
        .import_customers(
            ImportRows::from_vec((0..30).map(row).collect()),
            Some(f.manager_a.id),
            &f.admin,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("refused by the test"), "{err}");
    assert_eq!(indexes(&path), before);
    assert_eq!(s.table_counts().await.unwrap(), counts);
}

/// A bulk import into an empty customers table builds its unique indexes
/// (external code; name + phone) at its end, and still refuses a row that
/// repeats a stored one's key: counted as existing, stored once. Whether
/// the first repeat comes in the middle (the indexes are built then) or
/// none comes (built at the end), the database ends with the indexes it
/// began with, and a re-run finds every row stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_import_into_an_empty_table_refuses_repeats_and_keeps_its_unique_indexes() {
    use keqing_store::{prelude::*, ImportCustomer, ImportRows};
    let row = |i: usize, name: String, code: String| {
        ImportCustomer {
        line: i as u64 + 2,
        customer: keqing_domain::customer::CustomerInput::from_json(
            serde_json::json!({"name": name, "phone": format!("1390000{i:04}"), "external_code": code})
                .as_object()
                .unwrap(),
        )
        .unwrap(),
        contact: None,
    }
    };
    let unique = |i: usize| row(i, format!("空表客户{i}"), format!("91350200MA{i:08}"));
    for repeats in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (s, f, path) = bulk_store(&dir).await;
        let before = indexes(&path);
        assert!(before.iter().any(|(n, _)| n == "customers_dedup"));
        assert!(before.iter().any(|(n, _)| n == "customers_external_code"));
        let mut rows: Vec<ImportCustomer> = (0..40).map(unique).collect();
        if repeats {
            // Row 12 has row 3's code, row 25 row 7's name and phone.
            rows[12] = row(12, "空表客户12".into(), "91350200MA00000003".into());
            let mut same = row(7, "空表客户7".into(), "91350200MA99999999".into());
            same.line = 27;
            rows[25] = same;
        }
        let out = s
            .import_customers(ImportRows::from_vec(rows.clone()), None, &f.admin)
            .await
            .unwrap();
        let want_existing: Vec<u64> = if repeats { vec![14, 27] } else { vec![] };
        assert_eq!(out.existing, want_existing, "repeats: {repeats}");
        assert_eq!(out.imported, 40 - want_existing.len() as u64);
        assert_eq!(indexes(&path), before, "repeats: {repeats}");
        let again = s
            .import_customers(ImportRows::from_vec(rows), None, &f.admin)
            .await
            .unwrap();
        assert_eq!(again.imported, 0, "repeats: {repeats}");
        assert_eq!(again.existing.len(), 40);
    }
}

/// Bulk contacts imports with and without birthdays, the index of
/// birthdays held until a row with one comes (`Later`, whose test in
/// `sqlite.rs` shows it dropped at that row): every birthday is found
/// through the index, and the database ends with the indexes it began
/// with, whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_import_keeps_the_birthday_index_until_a_row_with_a_birthday_comes() {
    use keqing_store::{prelude::*, ImportContact, ImportCustomer, ImportRows};
    let dir = tempfile::tempdir().unwrap();
    let (s, f, path) = bulk_store(&dir).await;
    let before = indexes(&path);
    let input = |v: serde_json::Value| {
        keqing_domain::contact::ContactInput::from_json(v.as_object().unwrap()).unwrap()
    };
    // Twenty customers, their first contacts born on 8 August.
    let customers = (0..20)
        .map(|i| ImportCustomer {
            line: i + 2,
            customer: keqing_domain::customer::CustomerInput::from_json(
                serde_json::json!({"name": format!("生日客户{i}")})
                    .as_object()
                    .unwrap(),
            )
            .unwrap(),
            contact: Some(input(
                serde_json::json!({"name": format!("甲{i}"), "birthday": "1980-08-08"}),
            )),
        })
        .collect();
    s.import_customers(ImportRows::from_vec(customers), None, &f.admin)
        .await
        .unwrap();
    let ids: Vec<i64> = rusqlite::Connection::open(&path)
        .unwrap()
        .prepare("SELECT id FROM customers ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(ids.len(), 20);
    let born = |path: &std::path::Path| -> i64 {
        rusqlite::Connection::open(path)
            .unwrap()
            .query_row(
                "SELECT count(*) FROM contacts INDEXED BY contacts_birthday_key
                 WHERE deleted_at IS NULL AND birthday_key IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(born(&path), 20);
    let second = |birthday: Option<usize>| -> Vec<ImportContact> {
        ids.iter()
            .enumerate()
            .map(|(i, id)| ImportContact {
                line: i as u64 + 2,
                customer_id: *id,
                contact: input(match birthday == Some(i) {
                    true => serde_json::json!({"name": format!("乙{i}"), "birthday": "农历1975-08-15"}),
                    false => serde_json::json!({"name": format!("乙{i}"), "mobile": format!("1390000{i:04}")}),
                }),
            })
            .collect()
    };
    let out = s
        .import_contacts(ImportRows::from_vec(second(None)), &f.admin)
        .await
        .unwrap();
    assert_eq!(out.imported, 20);
    assert_eq!(born(&path), 20);
    assert_eq!(indexes(&path), before);
    // Third contacts, the 13th born on a lunar date: built again, with it.
    let third: Vec<ImportContact> = second(Some(12))
        .into_iter()
        .map(|mut c| {
            c.contact.name = c.contact.name.replace('乙', "丙");
            c
        })
        .collect();
    let out = s
        .import_contacts(ImportRows::from_vec(third), &f.admin)
        .await
        .unwrap();
    assert_eq!(out.imported, 20);
    assert_eq!(born(&path), 21);
    assert_eq!(indexes(&path), before);
    let check: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

/// A name search matching more than `SEARCH_COUNT_CAP` customers counts up to
/// the cap and says so; a narrower one (or a page past the cap) is exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_very_broad_search_stops_counting_at_the_cap() {
    use keqing_store::{
        prelude::*, CustomerFilter, ImportCustomer, ImportRows, NameQuery, Visibility,
        LIST_COUNT_CAP, SEARCH_COUNT_CAP,
    };
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(dir.path().join("cap.db").to_str().unwrap())
        .await
        .unwrap();
    let f = suite::fixture(&s).await;
    // More than a list counts, too.
    let n = LIST_COUNT_CAP as usize + 50;
    let rows = (0..n)
        .map(|i| ImportCustomer {
            line: i as u64 + 2,
            // Every name has 恒; one in twenty also has 远恒.
            customer: keqing_domain::customer::CustomerInput::from_json(
                serde_json::json!({"name": format!("恒{}{i}商行", if i % 20 == 0 { "远恒" } else { "" })})
                    .as_object()
                    .unwrap(),
            )
            .unwrap(),
            contact: None,
        })
        .collect();
    let out = s
        .import_customers(ImportRows::from_vec(rows), Some(f.manager_a.id), &f.admin)
        .await
        .unwrap();
    assert_eq!(out.imported, n as u64);
    let search = |q: NameQuery, offset: i64| CustomerFilter {
        visibility: Visibility::All,
        query: Some(q),
        offset,
        limit: 20,
        ..Default::default()
    };
    let broad = s
        .list_customers(&search(NameQuery::Text("恒".into()), 0))
        .await
        .unwrap();
    assert!(broad.capped);
    assert_eq!(broad.total, SEARCH_COUNT_CAP);
    assert_eq!(broad.items.len(), 20);
    assert!(broad.items.iter().all(|c| c.fields.name.contains('恒')));
    // Capped, pages follow the id order: paging on neither repeats nor skips.
    let ids: Vec<i64> = broad.items.iter().map(|c| c.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let mut seen = vec![];
    for offset in (0..n as i64).step_by(1000) {
        let mut pf = search(NameQuery::Text("恒".into()), offset);
        pf.limit = 1000;
        seen.extend(
            s.list_customers(&pf)
                .await
                .unwrap()
                .items
                .iter()
                .map(|c| c.id),
        );
    }
    let mut all = seen.clone();
    all.sort_unstable();
    all.dedup();
    assert_eq!((seen.len(), all.len()), (n, n), "every match once");
    // Paging past the cap counts as far as the page.
    let deep = s
        .list_customers(&search(NameQuery::Text("恒".into()), n as i64 - 10))
        .await
        .unwrap();
    assert!(!deep.capped);
    assert_eq!(deep.total, n as i64);
    assert_eq!(deep.items.len(), 10);
    let narrow = s
        .list_customers(&search(NameQuery::Text("远恒".into()), 0))
        .await
        .unwrap();
    assert!(!narrow.capped);
    assert_eq!(narrow.total, (n as i64 + 19) / 20);
    // A plain list counts up to LIST_COUNT_CAP (the fixture's customers and these).
    let list = |offset: i64| CustomerFilter {
        visibility: Visibility::All,
        offset,
        limit: 20,
        ..Default::default()
    };
    let first = s.list_customers(&list(0)).await.unwrap();
    assert!(first.capped);
    assert_eq!(first.total, LIST_COUNT_CAP);
    let last = s.list_customers(&list(n as i64 - 5)).await.unwrap();
    assert!(!last.capped, "a page past the cap counts to its end");
    assert_eq!((last.total, last.items.len()), (n as i64, 5));
    // Pinyin: heng matches all of them, hyh (initials h…y…h) one in twenty.
    let py = s
        .list_customers(&search(NameQuery::Pinyin("heng".into()), 0))
        .await
        .unwrap();
    assert!(py.capped && py.total == SEARCH_COUNT_CAP);
    let ini = s
        .list_customers(&search(NameQuery::Pinyin("hyh".into()), 0))
        .await
        .unwrap();
    assert!(!ini.capped);
    assert_eq!(ini.total, (n as i64 + 19) / 20);
    // h: every name by its pinyin and by its initials; merged, each once,
    // page after page.
    let mut seen = vec![];
    for offset in (0..n as i64 + 1000).step_by(1000) {
        let mut pf = search(NameQuery::Pinyin("h".into()), offset);
        pf.limit = 1000;
        let page = s.list_customers(&pf).await.unwrap();
        seen.extend(page.items.iter().map(|c| c.id));
    }
    let mut all = seen.clone();
    all.sort_unstable();
    all.dedup();
    assert_eq!((seen.len(), all.len()), (n, n), "every match once");
}

#[tokio::test]
async fn a_backup_from_before_version_9_gets_the_regions_its_users_and_teams_name() {
    use keqing_store::prelude::*;
    let s = SqliteStore::open(":memory:").await.unwrap();
    suite::fixture(&s).await;
    let mut buf = vec![];
    s.export_all(&mut buf).await.unwrap();
    // The backup as version 8 wrote it: no regions table.
    let old: String = String::from_utf8(buf)
        .unwrap()
        .lines()
        .filter(|l| !l.contains(r#""table":"regions""#))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(!old.contains(r#""table":"regions""#));
    let copy = SqliteStore::open(":memory:").await.unwrap();
    copy.import_all(&mut std::io::Cursor::new(old.into_bytes()))
        .await
        .unwrap();
    let names: Vec<(String, i64)> = copy
        .regions()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.name, r.teams))
        .collect();
    assert_eq!(names, vec![("江苏".into(), 1), ("浙江".into(), 1)]);
}

/// Each query's total and first ids.
async fn answers(s: &SqliteStore, queries: &[keqing_store::NameQuery]) -> Vec<(i64, Vec<i64>)> {
    use keqing_store::{prelude::*, CustomerFilter, Visibility};
    let mut all = vec![];
    for q in queries {
        let page = s
            .list_customers(&CustomerFilter {
                visibility: Visibility::All,
                query: Some(q.clone()),
                limit: 500,
                ..Default::default()
            })
            .await
            .unwrap();
        all.push((page.total, page.items.iter().map(|c| c.id).collect()));
    }
    all
}

/// Runs FTS5's own check of the search index on the database at `path`.
fn search_index_is_sound(path: &std::path::Path) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch("INSERT INTO customer_search (customer_search) VALUES ('integrity-check')")
        .unwrap();
}

/// A bulk import into an empty search index has the index built beside the
/// writer and copied in (`search_build`). FTS5 finds it sound, every search
/// answers as on the same import indexed row by row, and the writer keeps
/// it up to date afterwards: the copy is the index, not a snapshot of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_index_built_beside_a_bulk_import_answers_as_one_built_row_by_row() {
    use keqing_domain::customer::CustomerInput;
    use keqing_store::{prelude::*, ImportCustomer, ImportRows, NameQuery};
    let dir = tempfile::tempdir().unwrap();
    let (side_path, rows_path) = (dir.path().join("side.db"), dir.path().join("rows.db"));
    let side = SqliteStore::open(side_path.to_str().unwrap())
        .await
        .unwrap()
        .with_bulk_rows(1);
    // Never the bulk path: batch by batch, the index updated row by row.
    let by_row = SqliteStore::open(rows_path.to_str().unwrap())
        .await
        .unwrap()
        .with_bulk_rows(usize::MAX);
    let places = ["江苏", "上海", "杭州", "南京", "无锡", "苏州", "合肥"];
    let words = [
        "恒远", "泰和", "星河", "云帆", "华信", "长江", "金桥", "天成", "宏图", "安达", "鼎盛",
    ];
    let trades = ["钢业", "纺织", "贸易", "物流", "电子"];
    let input = |name: String| {
        CustomerInput::from_json(serde_json::json!({"name": name}).as_object().unwrap()).unwrap()
    };
    let n = places.len() * words.len() * trades.len() * 6;
    let rows = |_: ()| {
        (0..n)
            .map(|i| ImportCustomer {
                line: i as u64 + 2,
                customer: input(format!(
                    "{}{}{}{}号",
                    places[i % 7],
                    words[i / 7 % 11],
                    trades[i / 77 % 5],
                    i / 385
                )),
                contact: None,
            })
            .collect::<Vec<_>>()
    };
    let mut admins = vec![];
    for s in [&side, &by_row] {
        let f = suite::fixture(s).await;
        let out = s
            .import_customers(ImportRows::from_vec(rows(())), None, &f.admin)
            .await
            .unwrap();
        assert_eq!(out.imported, n as u64);
        admins.push(f.admin);
    }
    let queries = [
        NameQuery::Text("恒远".into()),
        NameQuery::Text("远钢".into()),
        NameQuery::Text("苏州星河".into()),
        NameQuery::Text("号".into()),
        NameQuery::Text("3号".into()),
        NameQuery::Pinyin("jiangsu".into()),
        NameQuery::Pinyin("hengyuan".into()),
        NameQuery::Pinyin("jshygy".into()),
        NameQuery::Pinyin("shxh".into()),
        NameQuery::Pinyin("tai".into()),
        NameQuery::Pinyin("w".into()),
        NameQuery::Pinyin("zhongshan".into()),
    ];
    let first = answers(&side, &queries).await;
    assert_eq!(first, answers(&by_row, &queries).await);
    assert!(first[0].0 > 0 && first[7].0 > 0, "{first:?}");
    search_index_is_sound(&side_path);
    // After the import, the same edits on both: a new customer, a renamed
    // one, a deleted one.
    let renamed = first[0].1[0];
    let deleted = first[0].1[1];
    for (s, admin) in [&side, &by_row].into_iter().zip(&admins) {
        s.create_customer(&input("中山鼎盛物流".into()), None, admin)
            .await
            .unwrap();
        let old = s.customer(renamed).await.unwrap().unwrap();
        let new = old
            .fields
            .patched(
                serde_json::json!({"name": "中山泰和电子"})
                    .as_object()
                    .unwrap(),
            )
            .unwrap();
        let changes = keqing_domain::history::diff(&old.fields.to_json(), &new.to_json());
        s.update_customer(renamed, old.version, &new, &changes, admin)
            .await
            .unwrap();
        s.delete_customer(deleted, admin).await.unwrap();
    }
    let after = answers(&side, &queries).await;
    assert_eq!(after, answers(&by_row, &queries).await);
    assert_eq!(
        after[0].0,
        first[0].0 - 2,
        "the renamed and the deleted are gone"
    );
    assert_eq!(after[11].0, 2, "中山: the new one and the renamed one");
    search_index_is_sound(&side_path);
}

#[tokio::test]
async fn receivables_are_aged_by_due_day() {
    let s = SqliteStore::open(":memory:").await.unwrap();
    suite::receivable_buckets(&s).await;
}

#[tokio::test]
async fn receivables_feed_the_daily_totals() {
    let s = SqliteStore::open(":memory:").await.unwrap();
    suite::receivables_metric(&s).await;
}

/// Version 19 turns each order paid before payments existed into one
/// payment of its full amount (due as the order says), and the receivables
/// metric counts it.
#[tokio::test]
async fn version_19_pays_the_orders_paid_before_it() {
    use keqing_domain::performance::Metric;
    use keqing_domain::{Money, NewOrder};
    use keqing_store::prelude::*;
    use keqing_store::Grain;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v18.db");
    let p = path.to_str().unwrap();
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let owner;
    {
        let s = SqliteStore::open(p).await.unwrap();
        let f = suite::fixture(&s).await;
        owner = f.manager_a.id;
        let c = s
            .create_customer(
                &keqing_domain::CustomerInput::from_json(
                    serde_json::json!({"name": "迁移回款"}).as_object().unwrap(),
                )
                .unwrap(),
                Some(owner),
                &f.admin,
            )
            .await
            .unwrap();
        let order = |ext: &str, paid: Option<&str>| NewOrder {
            external_id: Some(ext.into()),
            customer_id: c.id,
            ordered_at: day("2025-02-01").and_hms_opt(4, 0, 0).unwrap().and_utc(),
            amount: Money(88_800),
            quantity: 1,
            unit: None,
            product: None,
            channel: None,
            store: None,
            due_date: Some(day("2025-02-20")),
            paid_date: paid.map(day),
        };
        s.add_orders(&[order("M-1", Some("2025-02-18")), order("M-2", None)])
            .await
            .unwrap();
    }
    // Back to version 18: no payments, no order versions, no receivables.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "DROP TRIGGER payments_receivables_insert; DROP TRIGGER payments_receivables_update;
             DROP TRIGGER payments_receivables_delete; DROP TABLE payments;
             ALTER TABLE orders DROP COLUMN version; DELETE FROM perf_daily WHERE metric = 3;
             PRAGMA user_version = 18;",
        )
        .unwrap();
    }
    let s = SqliteStore::open(p).await.unwrap();
    let c = s
        .list_customers(&keqing_store::CustomerFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|c| c.fields.name == "迁移回款")
        .unwrap();
    let orders = s.orders(c.id).await.unwrap();
    let paid = orders
        .iter()
        .find(|o| o.fields.external_id.as_deref() == Some("M-1"))
        .unwrap();
    assert_eq!(paid.version, 1);
    assert_eq!(paid.payments.len(), 1);
    let pay = &paid.payments[0];
    assert_eq!(
        (pay.amount, pay.due_date, pay.paid_date, pay.created_by),
        (
            Money(88_800),
            Some(day("2025-02-20")),
            Some(day("2025-02-18")),
            None
        )
    );
    assert_eq!(paid.outstanding, Money(0));
    let open = orders
        .iter()
        .find(|o| o.fields.external_id.as_deref() == Some("M-2"))
        .unwrap();
    assert!(open.payments.is_empty());
    let r = s
        .actuals(
            Metric::Receivables,
            day("2025-01-01"),
            day("2025-12-31"),
            Grain::Day,
            None,
        )
        .await
        .unwrap();
    let mine: Vec<_> = r
        .iter()
        .filter(|x| x.user_id == owner && x.value != 0)
        .map(|x| (x.period, x.value))
        .collect();
    assert_eq!(mine, [(day("2025-02-18"), 88_800)]);
}

/// A backup from before payments restores with its paid orders paid: one
/// payment each of the full amount, version 1 on every order.
#[tokio::test]
async fn a_backup_from_before_payments_restores_them() {
    use keqing_domain::{Money, NewOrder};
    use keqing_store::prelude::*;
    let s = SqliteStore::open(":memory:").await.unwrap();
    let f = suite::fixture(&s).await;
    let c = s
        .create_customer(
            &keqing_domain::CustomerInput::from_json(
                serde_json::json!({"name": "旧备份回款"})
                    .as_object()
                    .unwrap(),
            )
            .unwrap(),
            Some(f.manager_a.id),
            &f.admin,
        )
        .await
        .unwrap();
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let order = |ext: &str, paid: Option<&str>| NewOrder {
        external_id: Some(ext.into()),
        customer_id: c.id,
        ordered_at: day("2025-02-01").and_hms_opt(4, 0, 0).unwrap().and_utc(),
        amount: Money(5_000),
        quantity: 1,
        unit: None,
        product: None,
        channel: None,
        store: None,
        due_date: Some(day("2025-02-20")),
        paid_date: paid.map(day),
    };
    s.add_orders(&[order("B-1", Some("2025-02-10")), order("B-2", None)])
        .await
        .unwrap();
    let mut buf = vec![];
    s.export_all(&mut buf).await.unwrap();
    // As an older keqing wrote it: no payments, orders without a version.
    let text: String = String::from_utf8(buf)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            if v["table"] == "payments" {
                return None;
            }
            if v["table"] == "orders" {
                v["row"].as_object_mut().unwrap().remove("version");
            }
            Some(format!("{v}\n"))
        })
        .collect();
    let copy = SqliteStore::open(":memory:").await.unwrap();
    copy.import_all(&mut std::io::Cursor::new(text.into_bytes()))
        .await
        .unwrap();
    let orders = copy.orders(c.id).await.unwrap();
    let paid = orders
        .iter()
        .find(|o| o.fields.external_id.as_deref() == Some("B-1"))
        .unwrap();
    assert_eq!((paid.version, paid.payments.len()), (1, 1));
    assert_eq!(
        (paid.payments[0].amount, paid.payments[0].paid_date),
        (Money(5_000), Some(day("2025-02-10")))
    );
    let open = orders
        .iter()
        .find(|o| o.fields.external_id.as_deref() == Some("B-2"))
        .unwrap();
    assert!(open.payments.is_empty());
    assert_eq!(open.outstanding, Money(5_000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_payments_never_pass_the_amount() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(dir.path().join("k.db").to_str().unwrap())
        .await
        .unwrap();
    suite::concurrent_payments(&s).await;
}
