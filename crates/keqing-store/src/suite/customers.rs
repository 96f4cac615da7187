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

/// The list's slipping-away filters and sorts (issue 25): the RFM class
/// and P(alive) the analysis wrote, days since the last purchase and the
/// last follow-up; a search of several words; the facets of a scope.
pub(super) async fn slipping_away(s: &dyn Store, f: &Fixture) {
    let tag = "流失测试";
    let make = |name: &str, province: &str, tags: &[&str]| {
        let mut t = vec![tag.to_string()];
        t.extend(tags.iter().map(|x| x.to_string()));
        customer(json!({"name": name, "province": province, "tags": t}))
    };
    let mut ids = vec![];
    for (name, province, tags) in [
        ("安徽合肥钢业有限公司", "安徽", &["钢铁"][..]),
        ("江苏常州钢业有限公司", "江苏", &["钢铁", "老客户"][..]),
        ("江苏常州纺织有限公司", "江苏", &[][..]),
        ("山东济南食品有限公司", "山东", &["食品"][..]),
    ] {
        let c = s
            .create_customer(&make(name, province, tags), Some(f.manager_a.id), &f.admin)
            .await
            .unwrap();
        ids.push(c.id);
    }
    let (hefei, changzhou, textile, jinan) = (ids[0], ids[1], ids[2], ids[3]);
    let now = Utc::now();
    let days = |n: i64| now - chrono::Duration::days(n);
    // Bought 200, 100 and 10 days ago; the textile firm never.
    let order = |customer_id: i64, ext: &str, at: DateTime<Utc>| NewOrder {
        external_id: Some(format!("slip-{ext}")),
        customer_id,
        ordered_at: at,
        amount: keqing_domain::Money(10_000),
        quantity: 1,
        unit: None,
        product: None,
        channel: None,
        store: None,
        due_date: None,
        paid_date: None,
    };
    s.add_orders(&[
        order(hefei, "1", days(300)),
        order(hefei, "2", days(200)),
        order(changzhou, "3", days(100)),
        order(jinan, "4", days(10)),
    ])
    .await
    .unwrap();
    // Followed up 50 days ago (Jinan) and today (Changzhou).
    let visit = |at: DateTime<Utc>| {
        let mut a = NewActivity::from_json(
            json!({"kind": "visit", "summary": "拜访"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        a.at = Some(at);
        a
    };
    s.add_activity(jinan, &visit(days(50)), &f.manager_a)
        .await
        .unwrap();
    s.add_activity(changzhou, &visit(now), &f.manager_a)
        .await
        .unwrap();
    let value = |customer_id: i64, rfm: &str, p: f64| ValueUpdate {
        customer_id,
        class: None,
        rfm_class: Some(rfm.into()),
        tier: None,
        clv: None,
        p_alive: Some(p),
    };
    s.set_values(&[
        value(hefei, "important_retain", 0.12),
        value(changzhou, "important_keep", 0.45),
        value(jinan, "general_value", 0.93),
    ])
    .await
    .unwrap();

    let list = |g: &dyn Fn(&mut CustomerFilter)| {
        let mut q = CustomerFilter {
            tag: Some(tag.into()),
            limit: 50,
            ..Default::default()
        };
        g(&mut q);
        async move {
            let p = s.list_customers(&q).await.unwrap();
            assert_eq!(p.total, p.items.len() as i64);
            p.items.into_iter().map(|c| c.id).collect::<Vec<_>>()
        }
    };
    let c = s.customer(hefei).await.unwrap().unwrap();
    let last = c
        .last_order_at
        .expect("the last purchase is read with the customer");
    assert!((last - days(200)).num_seconds().abs() < 2, "{last}");
    assert_eq!(
        s.customer(textile).await.unwrap().unwrap().last_order_at,
        None
    );

    assert_eq!(
        list(&|q| q.rfm_class = Some("important_keep".into())).await,
        [changzhou]
    );
    assert_eq!(
        list(&|q| q.p_alive_below = Some(0.5)).await,
        [hefei, changzhou]
    );
    // The lowest P(alive) first, those without one last.
    assert_eq!(
        list(&|q| q.sort = CustomerSort::PAliveAsc).await,
        [hefei, changzhou, jinan, textile]
    );
    // No purchase for 90 days: those who bought before, not the one who never did.
    assert_eq!(
        list(&|q| q.no_purchase_since = Some(days(90))).await,
        [hefei, changzhou]
    );
    // The longest without a purchase first, those who never bought last.
    assert_eq!(
        list(&|q| q.sort = CustomerSort::LastPurchaseAsc).await,
        [hefei, changzhou, jinan, textile]
    );
    assert_eq!(
        list(&|q| {
            q.p_alive_below = Some(0.5);
            q.sort = CustomerSort::LastPurchaseAsc;
        })
        .await,
        [hefei, changzhou]
    );
    // No follow-up for 30 days: never followed up counts.
    assert_eq!(
        list(&|q| q.no_follow_up_since = Some(days(30))).await,
        [hefei, textile, jinan]
    );
    assert_eq!(
        list(&|q| q.no_follow_up_since = Some(days(60))).await,
        [hefei, textile]
    );

    // Several words: each must match (name part, pinyin, initials).
    let words = |first: NameQuery, more: Vec<NameQuery>| {
        let q = CustomerFilter {
            tag: Some(tag.into()),
            query: Some(first),
            more_words: more,
            limit: 50,
            ..Default::default()
        };
        async move {
            let mut ids: Vec<i64> = s
                .list_customers(&q)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|c| c.id)
                .collect();
            ids.sort();
            ids
        }
    };
    let text = |t: &str| NameQuery::Text(t.into());
    let py = |t: &str| NameQuery::Pinyin(t.into());
    assert_eq!(words(text("江苏"), vec![text("钢业")]).await, [changzhou]);
    assert_eq!(words(text("钢业"), vec![text("江苏")]).await, [changzhou]);
    assert_eq!(words(text("常州"), vec![]).await, [changzhou, textile]);
    assert_eq!(words(py("changzhou"), vec![py("fangzhi")]).await, [textile]);
    assert_eq!(words(text("钢"), vec![py("ah")]).await, [hefei]);
    assert_eq!(words(py("jsgy"), vec![text("州")]).await, [changzhou]);
    assert!(words(text("江苏"), vec![text("食品")]).await.is_empty());
    // With another filter and a sort that reads the table.
    let mut q = CustomerFilter {
        tag: Some(tag.into()),
        query: Some(text("有限")),
        more_words: vec![text("钢业")],
        p_alive_below: Some(0.2),
        sort: CustomerSort::LastPurchaseAsc,
        limit: 50,
        ..Default::default()
    };
    let only = |q: &CustomerFilter| {
        let q = q.clone();
        async move {
            s.list_customers(&q)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|c| c.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(only(&q).await, [hefei]);
    q.sort = CustomerSort::IdAsc;
    assert_eq!(only(&q).await, [hefei]);

    // The facets of a scope: its provinces, the tags in use.
    let mine = s
        .customer_facets(&Visibility::OwnerOrPool(f.manager_a.id))
        .await
        .unwrap();
    for p in ["安徽", "江苏", "山东"] {
        assert!(mine.provinces.iter().any(|x| x == p), "{p} in {mine:?}");
    }
    let mut sorted = mine.provinces.clone();
    sorted.sort();
    assert_eq!(sorted, mine.provinces);
    for t in [tag, "钢铁", "老客户", "食品"] {
        assert!(mine.tags.iter().any(|x| x == t), "{t} in {:?}", mine.tags);
    }
    let mut sorted = mine.tags.clone();
    sorted.sort();
    assert_eq!(sorted, mine.tags);
    let theirs = s
        .customer_facets(&Visibility::OwnerOrPool(f.manager_b.id))
        .await
        .unwrap();
    assert!(!theirs.tags.iter().any(|x| x == "老客户"), "{theirs:?}");

    // Released by hand, with the reason in the log and the audit.
    let released = s
        .release_customers(
            &[textile, textile, hefei + 1_000_000],
            "客户已停业",
            &f.manager_a,
        )
        .await
        .unwrap();
    assert_eq!(released, [textile]);
    let log = s.ownership_log(textile).await.unwrap();
    let last = log.last().unwrap();
    assert_eq!(
        (last.reason.as_str(), last.note.as_deref(), last.to_user),
        ("release", Some("客户已停业"), None)
    );
    assert_eq!(s.customer(textile).await.unwrap().unwrap().owner_id, None);
    assert!(s
        .release_customers(&[textile], "again", &f.manager_a)
        .await
        .unwrap()
        .is_empty());
    // A transfer's reason is kept too.
    s.transfer_customers(&[jinan], f.manager_b.id, "区域调整", &f.admin)
        .await
        .unwrap();
    let log = s.ownership_log(jinan).await.unwrap();
    assert_eq!(log.last().unwrap().note.as_deref(), Some("区域调整"));
}
