//! Customers: versions, history, duplicates, search, the pool, the change deadline, concurrent edits.

use super::*;

pub(super) async fn customers_versions_history(s: &dyn Store, f: &Fixture) {
    let input = customer(
        json!({"name": "江苏恒远钢业有限公司", "phone": "025-86001234", "province": "江苏", "city": "南京", "class": "A", "tags": ["钢材"]}),
    );
    let c = s
        .create_customer(&input, Some(f.manager_a.id), &f.admin)
        .await
        .unwrap();
    assert_eq!(c.version, 1);
    assert_eq!(c.fields, input);
    assert_eq!(c.owner_id, Some(f.manager_a.id));
    assert_eq!(
        c.team_id,
        Some(f.team_a.id),
        "a customer takes its owner's team"
    );
    let got = s.customer(c.id).await.unwrap().unwrap();
    assert_eq!(got, c);

    let new = input
        .patched(
            json!({"city": "苏州", "industry": "钢铁"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
    let changes = keqing_domain::history::diff(&input.to_json(), &new.to_json());
    let c2 = s
        .update_customer(c.id, 1, &new, &changes, &f.manager_a)
        .await
        .unwrap();
    assert_eq!(c2.version, 2);
    assert_eq!(c2.fields.city.as_deref(), Some("苏州"));
    // A stale version changes nothing.
    let stale = input
        .patched(json!({"city": "无锡"}).as_object().unwrap())
        .unwrap();
    match s.update_customer(c.id, 1, &stale, &[], &f.manager_a).await {
        Err(StoreError::Conflict {
            expected: 1,
            current: 2,
        }) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(
        s.customer(c.id)
            .await
            .unwrap()
            .unwrap()
            .fields
            .city
            .as_deref(),
        Some("苏州")
    );

    let h = s.history(c.id).await.unwrap();
    let fields: Vec<_> = h.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["city", "industry"]);
    assert_eq!(h[0].old, json!("南京"));
    assert_eq!(h[0].new, json!("苏州"));
    assert_eq!(h[0].user_id, Some(f.manager_a.id));

    // Soft delete keeps the file and its history; restore brings it back.
    s.delete_customer(c.id, &f.admin).await.unwrap();
    let d = s.customer(c.id).await.unwrap().unwrap();
    assert!(d.deleted_at.is_some());
    assert!(matches!(
        s.delete_customer(c.id, &f.admin).await,
        Err(StoreError::NotFound)
    ));
    let r = s.restore_customer(c.id, &f.admin).await.unwrap();
    assert!(r.deleted_at.is_none());
    assert_eq!(s.history(c.id).await.unwrap().len(), 4);
    assert!(s
        .audit_log(100)
        .await
        .unwrap()
        .iter()
        .any(|a| a.action == "restore" && a.entity_id == Some(c.id)));
}

pub(super) async fn duplicates_and_merge(s: &dyn Store, f: &Fixture) {
    let a = s
        .create_customer(&customer(json!({"name": "常州 新科电子", "phone": "13912345678", "external_code": "91320400MA1ABCDE1X"})), Some(f.manager_a.id), &f.admin)
        .await
        .unwrap();
    // Same normalised name + phone.
    let same = customer(json!({"name": "常州新科电子", "phone": "139-1234-5678"}));
    assert_eq!(s.find_duplicates(&same).await.unwrap(), vec![a.id]);
    match s.create_customer(&same, None, &f.admin).await {
        Err(StoreError::Duplicate(ids)) => assert_eq!(ids, vec![a.id]),
        other => panic!("expected a duplicate, got {other:?}"),
    }
    // Codes resolve in the order asked, in any case, `None` where unknown.
    assert_eq!(
        s.resolve_codes(&[
            "91320400MA0NONE00X".into(),
            "91320400ma1abcde1x".into(),
            "".into(),
            "91320400MA1ABCDE1X".into()
        ])
        .await
        .unwrap(),
        vec![None, Some(a.id), None, Some(a.id)]
    );
    // Same external code, other name.
    let code = customer(json!({"name": "新科", "external_code": "91320400ma1abcde1x"}));
    assert!(matches!(
        s.create_customer(&code, None, &f.admin).await,
        Err(StoreError::Duplicate(_))
    ));

    let b = named_customer(s, "常州新科电子(老账户)", Some(f.manager_b.id), &f.admin).await;
    s.create_contact(b.id, &contact(json!({"name": "周强"})), &f.admin)
        .await
        .unwrap();
    s.add_activity(
        b.id,
        &NewActivity::from_json(json!({"kind": "call"}).as_object().unwrap()).unwrap(),
        &f.manager_b,
    )
    .await
    .unwrap();
    let kept = s.merge_customers(a.id, b.id, &f.admin).await.unwrap();
    assert_eq!(kept.id, a.id);
    assert_eq!(
        s.contacts(a.id).await.unwrap().len(),
        1,
        "the merged customer's contacts move over"
    );
    assert_eq!(s.activities(a.id).await.unwrap().len(), 1);
    let gone = s.customer(b.id).await.unwrap().unwrap();
    assert_eq!(gone.merged_into, Some(a.id));
    assert!(gone.deleted_at.is_some());
    assert!(s
        .history(a.id)
        .await
        .unwrap()
        .iter()
        .any(|h| h.field == "merged"));
}

pub(super) async fn search_and_filters(s: &dyn Store, f: &Fixture) {
    let hz = s
        .create_customer(&customer(json!({"name": "杭州西湖茶业有限公司", "phone": "0571-87654321", "province": "浙江", "class": "B", "tags": ["茶叶", "重点"], "stage": "user"})), Some(f.manager_b.id), &f.admin)
        .await
        .unwrap();
    s.create_contact(
        hz.id,
        &contact(json!({"name": "陈静", "mobile": "13700009999"})),
        &f.admin,
    )
    .await
    .unwrap();
    let pool = s
        .create_customer(
            &customer(json!({"name": "无主公司", "province": "浙江"})),
            None,
            &f.admin,
        )
        .await
        .unwrap();
    let list = |q: Option<NameQuery>| CustomerFilter {
        query: q,
        limit: 50,
        ..Default::default()
    };
    let names = |p: Page<Customer>| {
        p.items
            .into_iter()
            .map(|c| c.fields.name)
            .collect::<Vec<_>>()
    };

    let r = s
        .list_customers(&list(Some(NameQuery::Pinyin("jsgy".into()))))
        .await
        .unwrap();
    assert_eq!(names(r), vec!["江苏恒远钢业有限公司"]);
    let r = s
        .list_customers(&list(Some(NameQuery::Pinyin("jiangsu".into()))))
        .await
        .unwrap();
    assert_eq!(names(r), vec!["江苏恒远钢业有限公司"]);
    let r = s
        .list_customers(&list(Some(NameQuery::Text("西湖".into()))))
        .await
        .unwrap();
    assert_eq!(names(r), vec!["杭州西湖茶业有限公司"]);
    let r = s
        .list_customers(&list(Some(NameQuery::PhoneSuffix("4321".into()))))
        .await
        .unwrap();
    assert_eq!(
        names(r),
        vec!["杭州西湖茶业有限公司"],
        "company phone suffix"
    );
    let r = s
        .list_customers(&list(Some(NameQuery::PhoneSuffix("9999".into()))))
        .await
        .unwrap();
    assert_eq!(
        names(r),
        vec!["杭州西湖茶业有限公司"],
        "contact mobile suffix"
    );
    let r = s
        .list_customers(&list(Some(NameQuery::Text("100%".into()))))
        .await
        .unwrap();
    assert_eq!(r.total, 0, "LIKE wildcards in a query are literal");

    let mut by_tag = list(None);
    by_tag.tag = Some("重点".into());
    assert_eq!(
        names(s.list_customers(&by_tag).await.unwrap()),
        vec!["杭州西湖茶业有限公司"]
    );
    by_tag.tag = Some("重".into());
    assert_eq!(
        s.list_customers(&by_tag).await.unwrap().total,
        0,
        "tags match whole"
    );
    let mut by = list(None);
    by.province = Some("浙江".into());
    by.class = Some("B".into());
    by.stage = Some("user".into());
    assert_eq!(s.list_customers(&by).await.unwrap().total, 1);

    // Visibility: a manager sees their own customers and the pool only.
    let mut mine = list(None);
    mine.visibility = Visibility::OwnerOrPool(f.manager_b.id);
    let ids: Vec<i64> = s
        .list_customers(&mine)
        .await
        .unwrap()
        .items
        .iter()
        .map(|c| c.id)
        .collect();
    assert!(ids.contains(&hz.id) && ids.contains(&pool.id));
    assert!(s
        .list_customers(&mine)
        .await
        .unwrap()
        .items
        .iter()
        .all(|c| c.owner_id.is_none() || c.owner_id == Some(f.manager_b.id)));
    let mut team = list(None);
    team.visibility = Visibility::TeamOrPool {
        user: f.admin.id,
        team: Some(f.team_a.id),
    };
    assert!(s
        .list_customers(&team)
        .await
        .unwrap()
        .items
        .iter()
        .all(|c| c.owner_id.is_none() || c.team_id == Some(f.team_a.id)));

    // Walking a whole set by id pages: every customer once, in id order.
    let all = crate::all_customers(s, &CustomerFilter::default())
        .await
        .unwrap();
    let total = s.list_customers(&list(None)).await.unwrap().total;
    assert_eq!(all.len() as i64, total);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    let owned = crate::all_customers(
        s,
        &CustomerFilter {
            owned_only: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(!owned.is_empty() && owned.iter().all(|c| c.owner_id.is_some()));
    assert!(owned.len() < all.len(), "the pool customer is left out");

    // Paging.
    let mut page = list(None);
    page.limit = 2;
    let p1 = s.list_customers(&page).await.unwrap();
    page.offset = 2;
    let p2 = s.list_customers(&page).await.unwrap();
    assert_eq!(p1.total, p2.total);
    assert_eq!(p1.items.len(), 2);
    assert!(p1
        .items
        .iter()
        .all(|a| p2.items.iter().all(|b| a.id != b.id)));
}

/// Search by part of the name, pinyin and initials follows renames and
/// deletes (the SQLite backend answers these from its search index).
pub(super) async fn name_search(s: &dyn Store, f: &Fixture) {
    let tagged = |name: &str| customer(json!({"name": name, "tags": ["搜索测试"]}));
    let mut ids = vec![];
    for name in ["苏州云帆科技有限公司", "无锡云帆纺织坊", "XYZ国际贸易"] {
        ids.push(
            s.create_customer(&tagged(name), None, &f.admin)
                .await
                .unwrap(),
        );
    }
    let find = |q: NameQuery| CustomerFilter {
        query: Some(q),
        tag: Some("搜索测试".into()),
        limit: 50,
        ..Default::default()
    };
    let names = |q: NameQuery| async move {
        let p = s.list_customers(&find(q)).await.unwrap();
        let names: Vec<String> = p.items.into_iter().map(|c| c.fields.name).collect();
        assert_eq!(p.total, names.len() as i64);
        names
    };
    let text = |t: &str| NameQuery::Text(t.into());
    let py = |t: &str| NameQuery::Pinyin(t.into());
    // Shorter names first.
    assert_eq!(
        names(text("云帆")).await,
        ["无锡云帆纺织坊", "苏州云帆科技有限公司"]
    );
    assert_eq!(names(text("帆纺织")).await, ["无锡云帆纺织坊"]);
    assert_eq!(
        names(text("坊")).await,
        ["无锡云帆纺织坊"],
        "the last character"
    );
    assert_eq!(
        names(text("苏")).await,
        ["苏州云帆科技有限公司"],
        "the first character"
    );
    assert_eq!(
        names(text("yz")).await,
        ["XYZ国际贸易"],
        "Latin letters, any case"
    );
    assert!(
        names(text("云 帆")).await.is_empty(),
        "the typed text decides"
    );
    assert_eq!(
        names(py("yunfan")).await,
        ["无锡云帆纺织坊", "苏州云帆科技有限公司"]
    );
    assert_eq!(names(py("yunfankeji")).await, ["苏州云帆科技有限公司"]);
    assert_eq!(names(py("szyf")).await, ["苏州云帆科技有限公司"]);
    assert_eq!(
        names(py("sykj")).await,
        ["苏州云帆科技有限公司"],
        "initials in order"
    );
    assert!(
        names(py("yfkj")).await.is_empty(),
        "initials start at the first"
    );
    assert_eq!(names(py("xyzguoji")).await, ["XYZ国际贸易"]);
    assert_eq!(names(py("w")).await, ["无锡云帆纺织坊"]);
    // Pinyin is read from a syllable's start, across syllables, short or long.
    assert_eq!(names(py("fankeji")).await, ["苏州云帆科技有限公司"]);
    assert_eq!(
        names(py("zhouyunfankejiyou")).await,
        ["苏州云帆科技有限公司"]
    );
    assert_eq!(names(py("fangzh")).await, ["无锡云帆纺织坊"]);
    assert!(
        names(py("unfan")).await.is_empty(),
        "not from the middle of a syllable (yun)"
    );
    assert!(
        names(py("houyunfankeji")).await.is_empty(),
        "nor a long query from the middle of one (zhou)"
    );
    // Found by its initials (无锡…: w x), by its pinyin and its initials
    // both (WX: syllables w, x): each once, shorter names first.
    ids.push(
        s.create_customer(&tagged("WX贸易"), None, &f.admin)
            .await
            .unwrap(),
    );
    assert_eq!(names(py("wx")).await, ["WX贸易", "无锡云帆纺织坊"]);
    assert_eq!(names(py("wxmaoyi")).await, ["WX贸易"]);

    let old = ids[1].fields.clone();
    let new = old
        .patched(json!({"name": "无锡星河纺织坊"}).as_object().unwrap())
        .unwrap();
    let changes = keqing_domain::history::diff(&old.to_json(), &new.to_json());
    s.update_customer(ids[1].id, 1, &new, &changes, &f.admin)
        .await
        .unwrap();
    assert_eq!(
        names(text("云帆")).await,
        ["苏州云帆科技有限公司"],
        "a renamed file moves"
    );
    assert_eq!(names(py("xinghe")).await, ["无锡星河纺织坊"]);
    assert_eq!(names(py("wxxh")).await, ["无锡星河纺织坊"]);
    s.delete_customer(ids[0].id, &f.admin).await.unwrap();
    assert!(
        names(text("云帆")).await.is_empty(),
        "a deleted file is not found"
    );
    s.restore_customer(ids[0].id, &f.admin).await.unwrap();
    assert_eq!(
        names(text("云帆")).await,
        ["苏州云帆科技有限公司"],
        "nor lost when restored"
    );
}

pub(super) async fn ownership_and_pool(s: &dyn Store, f: &Fixture) {
    let c1 = named_customer(s, "交接客户一", Some(f.manager_a.id), &f.admin).await;
    let c2 = s
        .create_customer(
            &customer(json!({"name": "交接客户二", "class": "A"})),
            Some(f.manager_a.id),
            &f.admin,
        )
        .await
        .unwrap();
    let n = s
        .transfer_customers(&[c1.id, c2.id], f.manager_b.id, "离职交接", &f.admin)
        .await
        .unwrap();
    assert_eq!(n, 2);
    let t = s.customer(c1.id).await.unwrap().unwrap();
    assert_eq!(t.owner_id, Some(f.manager_b.id));
    let log = s.ownership_log(c1.id).await.unwrap();
    assert_eq!(
        log.iter().map(|e| e.reason.as_str()).collect::<Vec<_>>(),
        vec!["create", "transfer"]
    );
    assert_eq!(log[1].from_user, Some(f.manager_a.id));

    // Release: nothing is stale now; 40 days on, the default 30-day rule
    // releases c1, while class A (60 days) keeps c2.
    let mut rules = PoolRules::default();
    rules.days_by_class.insert("A".into(), 60);
    let now = Utc::now();
    let r = s.release_stale(&rules, now, &f.admin).await.unwrap();
    assert!(!r.contains(&c1.id));
    let later = now + chrono::Duration::days(40);
    s.add_activity(
        c2.id,
        &NewActivity::from_json(json!({"kind": "visit"}).as_object().unwrap()).unwrap(),
        &f.manager_b,
    )
    .await
    .unwrap();
    let r = s.release_stale(&rules, later, &f.admin).await.unwrap();
    assert!(r.contains(&c1.id));
    assert!(!r.contains(&c2.id));
    assert_eq!(s.customer(c1.id).await.unwrap().unwrap().owner_id, None);

    // Claim with a limit.
    let owned = s
        .list_customers(&CustomerFilter {
            owner_id: Some(f.manager_a.id),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .total;
    match s.claim(c1.id, &f.manager_a, owned).await {
        Err(StoreError::Refused(_)) => {}
        other => panic!("the limit must refuse a claim: {other:?}"),
    }
    let got = s.claim(c1.id, &f.manager_a, owned + 1).await.unwrap();
    assert_eq!(got.owner_id, Some(f.manager_a.id));
    assert!(
        matches!(
            s.claim(c1.id, &f.manager_b, 1000).await,
            Err(StoreError::Refused(_))
        ),
        "an owned customer cannot be claimed"
    );
    let reasons: Vec<String> = s
        .ownership_log(c1.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.reason)
        .collect();
    assert_eq!(reasons, vec!["create", "transfer", "release", "claim"]);
}

pub(super) async fn change_deadline(s: &dyn Store, f: &Fixture) {
    let c = named_customer(s, "地址变更客户", Some(f.manager_a.id), &f.admin).await;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let r = s
        .report_change(c.id, "搬迁到新地址", day, &f.manager_a)
        .await
        .unwrap();
    assert_eq!(
        r.due_on,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 16).unwrap()
    );
    assert!(s
        .open_changes(Some(f.manager_a.id))
        .await
        .unwrap()
        .iter()
        .any(|x| x.id == r.id));
    assert!(s
        .open_changes(Some(f.manager_b.id))
        .await
        .unwrap()
        .iter()
        .all(|x| x.id != r.id));
    let done = s.register_change(r.id, day, &f.manager_a).await.unwrap();
    assert_eq!(done.registered_on, Some(day));
    assert!(s
        .open_changes(None)
        .await
        .unwrap()
        .iter()
        .all(|x| x.id != r.id));
}

pub(super) async fn concurrent_edits(s: &dyn Store, f: &Fixture) {
    let c = named_customer(s, "并发客户", Some(f.manager_a.id), &f.admin).await;
    let a = c
        .fields
        .patched(json!({"city": "甲"}).as_object().unwrap())
        .unwrap();
    let b = c
        .fields
        .patched(json!({"city": "乙"}).as_object().unwrap())
        .unwrap();
    let (ra, rb) = tokio::join!(
        s.update_customer(c.id, c.version, &a, &[], &f.manager_a),
        s.update_customer(c.id, c.version, &b, &[], &f.admin)
    );
    let ok = [ra.is_ok(), rb.is_ok()].iter().filter(|x| **x).count();
    assert_eq!(ok, 1, "exactly one of two concurrent edits wins");
    assert!(matches!(
        ra.err().or(rb.err()),
        Some(StoreError::Conflict { .. })
    ));
    assert_eq!(s.customer(c.id).await.unwrap().unwrap().version, 2);
}
