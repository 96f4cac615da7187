//! Analysis snapshots.

use super::*;

/// A saved analysis keeps its parameters, summary and members; members are
/// read by class, page by page, only within the caller's scope and only of
/// live customers; deleting a snapshot removes its members.
pub(super) async fn analysis_snapshots(s: &dyn Store, f: &Fixture) {
    let mk = |name: &str| customer(json!({ "name": name }));
    let a1 = s
        .create_customer(&mk("快照客户甲"), Some(f.manager_a.id), &f.admin)
        .await
        .unwrap();
    let a2 = s
        .create_customer(&mk("快照客户乙"), Some(f.manager_a.id), &f.admin)
        .await
        .unwrap();
    let b1 = s
        .create_customer(&mk("快照客户丙"), Some(f.manager_b.id), &f.admin)
        .await
        .unwrap();
    let pool = s
        .create_customer(&mk("快照客户丁"), None, &f.admin)
        .await
        .unwrap();
    let gone = s
        .create_customer(&mk("快照客户戊"), Some(f.manager_a.id), &f.admin)
        .await
        .unwrap();
    let member = |c: &Customer, class: &str, score: f64| SnapshotMember {
        customer_id: c.id,
        class: Some(class.into()),
        data: json!({ "score": score, "r": 12, "m": "1234.50" }),
    };
    let new = NewAnalysisSnapshot {
        kind: "rfm".into(),
        name: "2026 秋季促销".into(),
        params: json!({ "as_of": "2026-10-01" }),
        as_of: Some(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()),
        summary: json!({ "customers": 5, "classes": { "important_value": { "count": 3 } } }),
        created_by: Some(f.manager_a.id),
        members: vec![
            member(&a1, "important_value", 5.0),
            member(&b1, "important_value", 4.5),
            member(&pool, "important_value", 4.0),
            member(&a2, "general_retain", 1.0),
            member(&gone, "important_value", 3.5),
        ],
    };
    let snap = s.create_analysis_snapshot(&new).await.unwrap();
    assert_eq!(
        (snap.kind.as_str(), snap.name.as_str(), snap.members),
        ("rfm", "2026 秋季促销", 5)
    );
    assert_eq!(snap.params, new.params);
    assert_eq!(snap.summary, new.summary);
    assert_eq!(snap.as_of, new.as_of);
    assert_eq!(snap.created_by, Some(f.manager_a.id));
    assert_eq!(
        s.analysis_snapshot(snap.id).await.unwrap(),
        Some(snap.clone())
    );
    let other = s
        .create_analysis_snapshot(&NewAnalysisSnapshot {
            kind: "abc".into(),
            name: "ABC".into(),
            params: json!({ "cuts": "70,20,5,5" }),
            as_of: None,
            summary: json!({}),
            created_by: Some(f.admin.id),
            members: vec![],
        })
        .await
        .unwrap();
    let ids = |v: Vec<AnalysisSnapshot>| v.iter().map(|x| x.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.analysis_snapshots(None).await.unwrap()),
        vec![other.id, snap.id],
        "newest first"
    );
    assert_eq!(
        ids(s.analysis_snapshots(Some(f.manager_a.id)).await.unwrap()),
        vec![snap.id]
    );

    s.delete_customer(gone.id, &f.admin).await.unwrap();
    let read = |visibility: Visibility, class: Option<&str>, offset: i64, limit: i64| {
        let filter = SnapshotMemberFilter {
            visibility,
            class: class.map(str::to_string),
            offset,
            limit,
        };
        async move { s.analysis_snapshot_members(snap.id, &filter).await.unwrap() }
    };
    let all = read(Visibility::All, None, 0, 0).await;
    let got: Vec<(i64, Option<&str>)> = all
        .items
        .iter()
        .map(|m| (m.customer_id, m.class.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (a1.id, Some("important_value")),
            (b1.id, Some("important_value")),
            (pool.id, Some("important_value")),
            (a2.id, Some("general_retain")),
        ],
        "in the snapshot's order; the deleted customer is no target"
    );
    assert_eq!(all.total, 4);
    assert_eq!(all.items[0].name, "快照客户甲");
    assert_eq!(all.items[0].owner_id, Some(f.manager_a.id));
    assert_eq!(all.items[0].data["score"], 5.0);
    let iv = read(Visibility::All, Some("important_value"), 1, 1).await;
    assert_eq!((iv.total, iv.items.len()), (3, 1));
    assert_eq!(iv.items[0].customer_id, b1.id, "second page of one");
    let mine = read(
        Visibility::OwnerOrPool(f.manager_a.id),
        Some("important_value"),
        0,
        50,
    )
    .await;
    assert_eq!(
        mine.items.iter().map(|m| m.customer_id).collect::<Vec<_>>(),
        vec![a1.id, pool.id],
        "manager A sees their own customers and the pool only"
    );
    assert_eq!(mine.total, 2);
    let team_b = read(
        Visibility::TeamOrPool {
            user: f.manager_b.id,
            team: f.manager_b.team_id,
        },
        None,
        0,
        0,
    )
    .await;
    assert_eq!(
        team_b
            .items
            .iter()
            .map(|m| m.customer_id)
            .collect::<Vec<_>>(),
        vec![b1.id, pool.id]
    );

    s.delete_analysis_snapshot(other.id).await.unwrap();
    assert!(matches!(
        s.delete_analysis_snapshot(other.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.analysis_snapshot(other.id).await.unwrap(), None);
    // `snap` stays, so the backup round trip carries both tables.
    assert_eq!(
        ids(s.analysis_snapshots(None).await.unwrap()),
        vec![snap.id]
    );
}
