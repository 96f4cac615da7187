//! Imports: idempotent, and refused when their rows stop early.

use super::*;

pub(super) async fn import_is_idempotent(s: &dyn Store, f: &Fixture) {
    let rows: Vec<ImportCustomer> = (0..(IMPORT_BATCH as u64 + 5))
        .map(|i| ImportCustomer {
            line: i + 2,
            customer: customer(
                json!({"name": format!("导入客户{i}"), "phone": format!("136{:08}", i)}),
            ),
            contact: (i % 2 == 0).then(|| contact(json!({"name": format!("联系人{i}")}))),
        })
        .collect();
    let import = || {
        s.import_customers(
            ImportRows::from_vec(rows.clone()),
            Some(f.manager_a.id),
            &f.admin,
        )
    };
    let before = s.table_counts().await.unwrap();
    let r = import().await.unwrap();
    assert_eq!(r.imported, rows.len() as u64);
    assert!(r.existing.is_empty());
    let r2 = import().await.unwrap();
    assert_eq!(r2.imported, 0, "a re-run creates nothing new");
    assert_eq!(r2.existing.len(), rows.len());
    assert_eq!(r2.existing[0], 2);
    // A contacts file adds second contacts to stored customers, once.
    let mine = s
        .list_customers(&CustomerFilter {
            query: Some(NameQuery::Text("导入客户".into())),
            limit: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    let extra: Vec<ImportContact> = mine
        .items
        .iter()
        .enumerate()
        .map(|(i, c)| ImportContact {
            line: i as u64 + 2,
            customer_id: c.id,
            contact: contact(
                json!({"name": format!("第二联系人{i}"), "mobile": format!("1590000{:04}", i)}),
            ),
        })
        .collect();
    let r = s
        .import_contacts(ImportRows::from_vec(extra.clone()), &f.admin)
        .await
        .unwrap();
    assert_eq!((r.imported, r.existing.len()), (3, 0));
    let r = s
        .import_contacts(ImportRows::from_vec(extra.clone()), &f.admin)
        .await
        .unwrap();
    assert_eq!(
        (r.imported, r.existing.len()),
        (0, 3),
        "a re-run of a contacts file adds nothing"
    );
    let after = s.table_counts().await.unwrap();
    let count = |c: &TableCounts, t: &str| c.iter().find(|(n, _)| n == t).map(|x| x.1).unwrap();
    assert_eq!(
        count(&after, "customers") - count(&before, "customers"),
        rows.len() as i64
    );
    assert_eq!(
        count(&after, "contacts") - count(&before, "contacts"),
        rows.len().div_ceil(2) as i64 + 3,
        "one contact for every second row, and the three second contacts"
    );
    // The same customer, and the same contact, twice in one import: stored
    // once, the second counted as stored already.
    let pair = |a: serde_json::Value, b: serde_json::Value| async move {
        let row = |line: u64, v: serde_json::Value| ImportCustomer {
            line,
            customer: customer(v),
            contact: None,
        };
        let r = s
            .import_customers(
                ImportRows::from_vec(vec![row(2, a), row(3, b)]),
                None,
                &f.admin,
            )
            .await
            .unwrap();
        (r.imported, r.existing)
    };
    let same = json!({"name": "重复行客户", "phone": "13800001111"});
    let code = |c: &str| {
        let mut v = same.clone();
        v["external_code"] = c.into();
        v
    };
    assert_eq!(
        pair(code("91320000DUP000001"), code("91320000DUP000002")).await,
        (1, vec![3]),
        "same name and phone"
    );
    assert_eq!(
        pair(
            json!({"name": "代码甲", "external_code": "91320000DUP000009"}),
            json!({"name": "代码乙", "external_code": "91320000DUP000009"})
        )
        .await,
        (1, vec![3]),
        "same external code"
    );
    let again = |line: u64| ImportContact {
        line,
        customer_id: mine.items[0].id,
        contact: contact(json!({"name": "重复联系人", "mobile": "15911112222"})),
    };
    let r = s
        .import_contacts(ImportRows::from_vec(vec![again(2), again(3)]), &f.admin)
        .await
        .unwrap();
    assert_eq!((r.imported, r.existing), (1, vec![3]));
}

/// The rows of an import arrive while the file is read; a reader that stops
/// before the end (it failed) fails the import instead of leaving it taken
/// as complete, and a re-run of the whole file completes it.
pub(super) async fn import_whose_rows_stop_early(s: &dyn Store, f: &Fixture) {
    let row = |i: u64| ImportCustomer {
        line: i + 2,
        customer: customer(
            json!({"name": format!("中断导入{i}"), "phone": format!("137{:08}", i)}),
        ),
        contact: None,
    };
    let (tx, rows) = ImportRows::channel(20);
    let sent = tx.send((0..10).map(row).collect()).await;
    assert!(sent, "the store takes the first batch");
    drop(tx);
    let err = s
        .import_customers(rows, Some(f.manager_a.id), &f.admin)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Refused(m) if m.contains("stopped before their end")),
        "{err}"
    );
    let r = s
        .import_customers(
            ImportRows::from_vec((0..20).map(row).collect()),
            Some(f.manager_a.id),
            &f.admin,
        )
        .await
        .unwrap();
    assert_eq!(
        r.imported + r.existing.len() as u64,
        20,
        "the re-run stores what the broken run did not, and nothing twice"
    );
    let found = s
        .list_customers(&CustomerFilter {
            query: Some(NameQuery::Text("中断导入".into())),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.total, 20);
}
