//! The behaviour every backend must have. Each backend's test calls [`run_all`]
//! on a fresh, empty store.

use crate::*;
use keqing_domain::contact::ContactInput;
use keqing_domain::customer::CustomerInput;
use keqing_domain::order::NewOrder;
use keqing_domain::{Money, NewActivity};
use serde_json::json;

fn customer(v: serde_json::Value) -> CustomerInput {
    CustomerInput::from_json(v.as_object().expect("object")).expect("valid customer")
}

fn contact(v: serde_json::Value) -> ContactInput {
    ContactInput::from_json(v.as_object().expect("object")).expect("valid contact")
}

pub struct Fixture {
    pub admin: User,
    pub manager_a: User,
    pub manager_b: User,
    pub team_a: Team,
}

pub async fn fixture(s: &dyn Store) -> Fixture {
    let team_a = s.create_team("南京一部", Some("江苏")).await.unwrap();
    let team_b = s.create_team("杭州二部", Some("浙江")).await.unwrap();
    let mk = |name: &str, role: Role, team: Option<i64>| NewUser {
        username: name.into(),
        display_name: name.into(),
        role,
        team_id: team,
        region: None,
        password_hash: "x".into(),
    };
    let admin = s
        .create_user(&mk("admin", Role::Admin, None))
        .await
        .unwrap();
    let manager_a = s
        .create_user(&mk("wangfang", Role::Manager, Some(team_a.id)))
        .await
        .unwrap();
    let manager_b = s
        .create_user(&mk("lijun", Role::Manager, Some(team_b.id)))
        .await
        .unwrap();
    Fixture {
        admin,
        manager_a,
        manager_b,
        team_a,
    }
}

/// Runs every check on an empty store.
pub async fn run_all(s: &dyn Store) {
    let f = fixture(s).await;
    users_and_sessions(s, &f).await;
    customers_versions_history(s, &f).await;
    duplicates_and_merge(s, &f).await;
    search_and_filters(s, &f).await;
    name_search(s, &f).await;
    ownership_and_pool(s, &f).await;
    contacts_activities_orders(s, &f).await;
    change_deadline(s, &f).await;
    import_is_idempotent(s, &f).await;
    import_whose_rows_stop_early(s, &f).await;
    concurrent_edits(s, &f).await;
    care_tasks(s, &f).await;
    care_tasks_follow_ownership(s, &f).await;
    care_templates_and_settings(s).await;
    analysis_snapshots(s, &f).await;
    user_changes(s, &f).await;
    regions_and_teams(s, &f).await;
}

async fn users_and_sessions(s: &dyn Store, f: &Fixture) {
    let (u, hash) = s.user_by_name("wangfang").await.unwrap().unwrap();
    assert_eq!(u, f.manager_a);
    assert_eq!(hash, "x");
    assert!(matches!(
        s.create_user(&NewUser {
            username: "wangfang".into(),
            display_name: "dup".into(),
            role: Role::Manager,
            team_id: None,
            region: None,
            password_hash: "y".into()
        })
        .await,
        Err(StoreError::Refused(_))
    ));
    let now = Utc::now();
    s.create_session("tok1", u.id, now + chrono::Duration::hours(1))
        .await
        .unwrap();
    s.create_session("tok-old", u.id, now - chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(
        s.session_user("tok1", now).await.unwrap().map(|u| u.id),
        Some(u.id)
    );
    assert_eq!(
        s.session_user("tok-old", now).await.unwrap(),
        None,
        "an expired session gives no user"
    );
    assert_eq!(
        s.session_user("tok1", now + chrono::Duration::hours(2))
            .await
            .unwrap(),
        None
    );
    s.delete_session("tok1").await.unwrap();
    assert_eq!(s.session_user("tok1", now).await.unwrap(), None);
    s.create_session("tok2", u.id, now + chrono::Duration::hours(1))
        .await
        .unwrap();
    s.set_password(u.id, "x").await.unwrap();
    assert_eq!(
        s.session_user("tok2", now).await.unwrap(),
        None,
        "a password change ends sessions"
    );
    assert_eq!(s.teams().await.unwrap().len(), 2);
    assert_eq!(s.users().await.unwrap().len(), 3);
}

/// An administrator changes a user's role, team, region and active flag.
async fn user_changes(s: &dyn Store, f: &Fixture) {
    use keqing_domain::access::{Action, Grants, Resource, RowOwner};
    let grants = Grants::default();
    let team_c = s.create_team("苏州三部", Some("江苏")).await.unwrap();
    let mk = |name: &str, role: Role, team: Option<i64>| NewUser {
        username: name.into(),
        display_name: name.into(),
        role,
        team_id: team,
        region: None,
        password_hash: "x".into(),
    };
    let u = s
        .create_user(&mk("zhaomin", Role::Manager, Some(f.team_a.id)))
        .await
        .unwrap();
    let now = Utc::now();
    s.create_session("tok-zm", u.id, now + chrono::Duration::hours(1))
        .await
        .unwrap();
    // A teammate's customer: out of a manager's reach, within a supervisor's.
    let theirs = s
        .create_customer(
            &customer(json!({"name": "苏州明达纺织有限公司", "phone": "0512-66001234"})),
            Some(f.manager_a.id),
            &f.admin,
        )
        .await
        .unwrap();
    let row = RowOwner {
        owner_id: theirs.owner_id,
        team_id: theirs.team_id,
        region: None,
    };
    let may_read = |u: &User| grants.allows(u, Resource::Customer, Action::Read, row);
    let before = s.session_user("tok-zm", now).await.unwrap().unwrap();
    assert!(!may_read(&before));

    let promoted = s
        .update_user(
            u.id,
            &UserChange {
                role: Some(Role::Supervisor),
                region: Some(Some("江苏".into())),
                ..Default::default()
            },
            Some(f.admin.id),
        )
        .await
        .unwrap();
    assert_eq!(promoted.role, Role::Supervisor);
    assert_eq!(promoted.region.as_deref(), Some("江苏"));
    assert_eq!(s.user(u.id).await.unwrap().unwrap(), promoted);
    let next = s.session_user("tok-zm", now).await.unwrap().unwrap();
    assert_eq!(next, promoted, "the next request sees the new role");
    assert!(may_read(&next));
    let audit = &s.audit_log(1).await.unwrap()[0];
    assert_eq!(
        (
            audit.action.as_str(),
            audit.entity.as_str(),
            audit.entity_id
        ),
        ("update", "user", Some(u.id))
    );
    assert_eq!(audit.user_id, Some(f.admin.id));
    assert_eq!(
        audit.detail,
        json!({"old": {"role": "manager", "region": null}, "new": {"role": "supervisor", "region": "江苏"}})
    );

    // A change that changes nothing writes nothing.
    let same = UserChange {
        role: Some(Role::Supervisor),
        ..Default::default()
    };
    assert_eq!(
        s.update_user(u.id, &same, Some(f.admin.id)).await.unwrap(),
        promoted
    );
    assert_eq!(s.audit_log(1).await.unwrap()[0].id, audit.id);

    // A missing team is refused, and nothing changes.
    let to_nowhere = UserChange {
        team_id: Some(Some(team_c.id + 1000)),
        role: Some(Role::Manager),
        ..Default::default()
    };
    match s.update_user(u.id, &to_nowhere, Some(f.admin.id)).await {
        Err(StoreError::Refused(m)) => assert!(m.contains("no team"), "{m}"),
        other => panic!("a missing team must be refused: {other:?}"),
    }
    assert_eq!(s.user(u.id).await.unwrap().unwrap(), promoted);
    assert!(matches!(
        s.update_user(u.id + 1000, &same, Some(f.admin.id)).await,
        Err(StoreError::NotFound)
    ));

    // A new team: the customers the user owns go with them.
    let own = s
        .create_customer(
            &customer(json!({"name": "苏州恒通电子有限公司", "phone": "0512-66005678"})),
            Some(u.id),
            &f.admin,
        )
        .await
        .unwrap();
    assert_eq!(own.team_id, Some(f.team_a.id));
    let moved = s
        .update_user(
            u.id,
            &UserChange {
                team_id: Some(Some(team_c.id)),
                ..Default::default()
            },
            Some(f.admin.id),
        )
        .await
        .unwrap();
    assert_eq!(moved.team_id, Some(team_c.id));
    assert_eq!(
        s.customer(own.id).await.unwrap().unwrap().team_id,
        Some(team_c.id)
    );
    assert_eq!(
        s.audit_log(1).await.unwrap()[0].detail["customers_moved"],
        json!(1)
    );
    let cleared = s
        .update_user(
            u.id,
            &UserChange {
                team_id: Some(None),
                region: Some(None),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!((cleared.team_id, cleared.region), (None, None));

    // Deactivating ends the user's sessions.
    let off = UserChange {
        active: Some(false),
        ..Default::default()
    };
    assert!(
        !s.update_user(u.id, &off, Some(f.admin.id))
            .await
            .unwrap()
            .active
    );
    assert_eq!(s.session_user("tok-zm", now).await.unwrap(), None);
    let on = UserChange {
        active: Some(true),
        ..Default::default()
    };
    assert!(
        s.update_user(u.id, &on, Some(f.admin.id))
            .await
            .unwrap()
            .active
    );
    assert_eq!(
        s.session_user("tok-zm", now).await.unwrap(),
        None,
        "activating again does not bring an ended session back"
    );

    // The last active administrator stays one.
    let second = s
        .create_user(&mk("admin2", Role::Admin, None))
        .await
        .unwrap();
    let demote = UserChange {
        role: Some(Role::Director),
        ..Default::default()
    };
    s.update_user(second.id, &demote, Some(second.id))
        .await
        .unwrap();
    for change in [&demote, &off] {
        match s.update_user(f.admin.id, change, Some(f.admin.id)).await {
            Err(StoreError::Refused(m)) => assert!(m.contains("last active administrator"), "{m}"),
            other => panic!("the last administrator must stay: {other:?}"),
        }
    }
    assert_eq!(s.user(f.admin.id).await.unwrap().unwrap(), f.admin);
    // An inactive administrator does not count.
    let third = s
        .create_user(&mk("admin3", Role::Admin, None))
        .await
        .unwrap();
    s.update_user(third.id, &off, Some(f.admin.id))
        .await
        .unwrap();
    assert!(s
        .update_user(f.admin.id, &off, Some(f.admin.id))
        .await
        .is_err());
}

async fn customers_versions_history(s: &dyn Store, f: &Fixture) {
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

async fn duplicates_and_merge(s: &dyn Store, f: &Fixture) {
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

    let b = s
        .create_customer(
            &customer(json!({"name": "常州新科电子(老账户)"})),
            Some(f.manager_b.id),
            &f.admin,
        )
        .await
        .unwrap();
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

async fn search_and_filters(s: &dyn Store, f: &Fixture) {
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
async fn name_search(s: &dyn Store, f: &Fixture) {
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

async fn ownership_and_pool(s: &dyn Store, f: &Fixture) {
    let c1 = s
        .create_customer(
            &customer(json!({"name": "交接客户一"})),
            Some(f.manager_a.id),
            &f.admin,
        )
        .await
        .unwrap();
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

async fn contacts_activities_orders(s: &dyn Store, f: &Fixture) {
    let c = s
        .create_customer(
            &customer(json!({"name": "订单客户"})),
            Some(f.manager_a.id),
            &f.admin,
        )
        .await
        .unwrap();
    let k = s.create_contact(c.id, &contact(json!({"name": "赵敏", "mobile": "13800001111", "birthday": "农历1980-08-15", "level": "决策者"})), &f.admin).await.unwrap();
    assert_eq!(s.contact(k.id).await.unwrap().unwrap(), k);
    let k2 = s
        .update_contact(
            k.id,
            1,
            &contact(json!({"name": "赵敏", "mobile": "13800002222"})),
            &f.admin,
        )
        .await
        .unwrap();
    assert_eq!(k2.version, 2);
    assert!(matches!(
        s.update_contact(k.id, 1, &k.fields, &f.admin).await,
        Err(StoreError::Conflict { .. })
    ));
    s.delete_contact(k.id, &f.admin).await.unwrap();
    assert!(s.contacts(c.id).await.unwrap().is_empty());
    assert!(s
        .create_contact(999_999, &k.fields, &f.admin)
        .await
        .is_err());

    let at = chrono::DateTime::parse_from_rfc3339("2026-11-01T09:30:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let a = s
        .add_activity(c.id, &NewActivity::from_json(json!({"kind": "gift", "gift_item": "月饼", "gift_value": "188.00", "at": "2026-11-01T09:30:00Z"}).as_object().unwrap()).unwrap(), &f.manager_a)
        .await
        .unwrap();
    assert_eq!(a.at, at);
    let list = s.activities(c.id).await.unwrap();
    assert_eq!(list, vec![a]);
    assert_eq!(
        s.customer(c.id).await.unwrap().unwrap().last_follow_up_at,
        Some(at)
    );

    let o = |ext: &str, day: u32, fen: i64| NewOrder {
        external_id: Some(ext.into()),
        customer_id: c.id,
        ordered_at: chrono::NaiveDate::from_ymd_opt(2026, 10, day)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap()
            .and_utc(),
        amount: Money(fen),
        quantity: 1,
        product: Some("螺纹钢".into()),
        channel: None,
        store: None,
        due_date: None,
        paid_date: None,
    };
    let r = s
        .add_orders(&[o("SO-1", 1, 123_456), o("SO-2", 2, 1)])
        .await
        .unwrap();
    assert_eq!((r.imported, r.existing), (2, 0));
    let r = s
        .add_orders(&[o("SO-1", 1, 123_456), o("SO-3", 3, 99)])
        .await
        .unwrap();
    assert_eq!(
        (r.imported, r.existing),
        (1, 1),
        "a re-import of the same order number adds nothing"
    );
    let orders = s.orders(c.id).await.unwrap();
    assert_eq!(orders.len(), 3);
    assert_eq!(
        orders.iter().map(|o| o.fields.amount.fen()).sum::<i64>(),
        123_556
    );
    let facts: Vec<_> = s
        .order_facts()
        .await
        .unwrap()
        .into_iter()
        .filter(|f| f.customer_id == c.id)
        .collect();
    assert_eq!(facts.len(), 3);
    assert!(facts.iter().any(
        |f| f.date == chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()
            && f.amount_fen == 123_456
    ));
    assert_eq!(
        s.resolve_customer(None, Some("订单客户")).await.unwrap(),
        Some(c.id)
    );

    s.set_values(&[ValueUpdate {
        customer_id: c.id,
        class: Some("A".into()),
        rfm_class: Some("important_value".into()),
        tier: None,
        clv: Some("1234.50".into()),
        p_alive: Some(0.8125),
    }])
    .await
    .unwrap();
    let v = s.customer(c.id).await.unwrap().unwrap();
    assert_eq!(v.fields.class.as_deref(), Some("A"));
    assert_eq!(v.rfm_class.as_deref(), Some("important_value"));
    assert_eq!(
        (v.clv.as_deref(), v.p_alive),
        (Some("1234.50"), Some(0.8125))
    );
    // A later run that has no P(alive) for the customer keeps the one stored.
    s.set_values(&[ValueUpdate {
        customer_id: c.id,
        class: None,
        rfm_class: None,
        tier: None,
        clv: None,
        p_alive: None,
    }])
    .await
    .unwrap();
    let v = s.customer(c.id).await.unwrap().unwrap();
    assert_eq!(
        (v.fields.class.as_deref(), v.p_alive),
        (Some("A"), Some(0.8125))
    );
    let mut by = CustomerFilter {
        class: Some("A".into()),
        limit: 100,
        ..Default::default()
    };
    by.query = Some(NameQuery::Text("订单".into()));
    assert_eq!(s.list_customers(&by).await.unwrap().total, 1);
}

async fn change_deadline(s: &dyn Store, f: &Fixture) {
    let c = s
        .create_customer(
            &customer(json!({"name": "地址变更客户"})),
            Some(f.manager_a.id),
            &f.admin,
        )
        .await
        .unwrap();
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

async fn import_is_idempotent(s: &dyn Store, f: &Fixture) {
    let rows: Vec<ImportCustomer> = (0..(IMPORT_BATCH as u64 + 5))
        .map(|i| ImportCustomer {
            line: i + 2,
            customer: customer(
                json!({"name": format!("导入客户{i}"), "phone": format!("136{:08}", i)}),
            ),
            contact: (i % 2 == 0).then(|| contact(json!({"name": format!("联系人{i}")}))),
        })
        .collect();
    let before = s.table_counts().await.unwrap();
    let r = s
        .import_customers(
            ImportRows::from_vec(rows.clone()),
            Some(f.manager_a.id),
            &f.admin,
        )
        .await
        .unwrap();
    assert_eq!(r.imported, rows.len() as u64);
    assert!(r.existing.is_empty());
    let r2 = s
        .import_customers(
            ImportRows::from_vec(rows.clone()),
            Some(f.manager_a.id),
            &f.admin,
        )
        .await
        .unwrap();
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
async fn import_whose_rows_stop_early(s: &dyn Store, f: &Fixture) {
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

async fn concurrent_edits(s: &dyn Store, f: &Fixture) {
    let c = s
        .create_customer(
            &customer(json!({"name": "并发客户"})),
            Some(f.manager_a.id),
            &f.admin,
        )
        .await
        .unwrap();
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

/// Values of P(alive) as the demo's value analysis wrote them, whose
/// shortest digits a JSON reader that does not round correctly reads as the
/// neighbouring double (0.9975822398426251 came back as …252), with the
/// extremes of the range.
pub const HARD_FLOATS: &[f64] = &[
    0.9975822398426251,
    0.000028051176880421005,
    3.927649322240569e-6,
    0.30000000000000004,
    0.1,
    5e-324,
    1.7976931348623157e308,
];

/// Writes [`HARD_FLOATS`] as the P(alive) of the first customers of `s`.
async fn write_hard_floats(s: &dyn Store) -> Vec<(i64, f64)> {
    let page = s
        .list_customers(&CustomerFilter {
            limit: HARD_FLOATS.len() as i64,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        page.items.len() == HARD_FLOATS.len(),
        "the suite's customers"
    );
    let pairs: Vec<(i64, f64)> = page
        .items
        .iter()
        .map(|c| c.id)
        .zip(HARD_FLOATS.iter().copied())
        .collect();
    let updates: Vec<ValueUpdate> = pairs
        .iter()
        .map(|&(id, p)| ValueUpdate {
            customer_id: id,
            class: None,
            rfm_class: None,
            tier: None,
            clv: None,
            p_alive: Some(p),
        })
        .collect();
    s.set_values(&updates).await.unwrap();
    pairs
}

/// A backup whose CLV of 订单客户 is a number, not the text the column
/// holds: the restore stores it (as text), reads it back different, says
/// where and rolls everything back.
async fn a_restore_that_does_not_verify_leaves_nothing(backup: &[u8], to: &dyn Store) {
    let text = String::from_utf8(backup.to_vec()).unwrap();
    let tampered = text.replacen(r#""clv":"1234.50""#, r#""clv":1234.5"#, 1);
    assert_ne!(text, tampered, "the suite's backup has a CLV of 1234.50");
    let key = tampered
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["row"]["clv"] == json!(1234.5))
        .unwrap()["row"]["id"]
        .clone();
    let err = to
        .import_all(&mut std::io::Cursor::new(tampered.into_bytes()))
        .await
        .unwrap_err();
    let StoreError::Refused(m) = err else {
        panic!("not a verification failure: {err}")
    };
    assert!(m.starts_with("恢复校验失败"), "{m}");
    assert!(
        m.contains("restore verification failed: 1 differences"),
        "{m}"
    );
    assert!(
        m.contains(&format!(
            "customers id {key} clv: 备份 backup 1234.5, 数据库 database \"1234.5\""
        )),
        "{m}"
    );
    for (table, rows) in to.table_counts().await.unwrap() {
        assert_eq!(rows, 0, "{table} after a restore that did not verify");
    }
}

/// Backs `from` up and restores into the empty `to`; both must be equal,
/// floats to the bit.
pub async fn backup_round_trip(from: &dyn Store, to: &dyn Store) {
    let floats = write_hard_floats(from).await;
    let mut buf = vec![];
    let n = from.export_all(&mut buf).await.unwrap();
    assert_eq!(n, from.table_counts().await.unwrap(), "the rows written");
    let lines = String::from_utf8(buf.clone()).unwrap().lines().count();
    assert_eq!(n.iter().map(|(_, k)| *k as usize).sum::<usize>(), lines);
    a_restore_that_does_not_verify_leaves_nothing(&buf, to).await;
    let m = to
        .import_all(&mut std::io::Cursor::new(buf.clone()))
        .await
        .unwrap();
    assert_eq!(n, m);
    assert_eq!(
        from.table_counts().await.unwrap(),
        to.table_counts().await.unwrap()
    );
    let mut again = vec![];
    to.export_all(&mut again).await.unwrap();
    let (buf, again) = (
        String::from_utf8(buf).unwrap(),
        String::from_utf8(again).unwrap(),
    );
    for (i, (a, b)) in buf.lines().zip(again.lines()).enumerate() {
        assert_eq!(
            a,
            b,
            "a restore equals its original row for row: line {}",
            i + 1
        );
    }
    assert_eq!(buf.lines().count(), again.lines().count());
    for (id, p) in floats {
        let restored = to.customer(id).await.unwrap().unwrap().p_alive;
        assert_eq!(
            restored.map(f64::to_bits),
            Some(p.to_bits()),
            "customer {id}: P(alive) {p:e} came back as {restored:?}"
        );
    }
    let mut one = std::io::Cursor::new(b"{}\n".to_vec());
    assert!(
        to.import_all(&mut one).await.is_err(),
        "restore refuses a database that is not empty"
    );
}

/// Greetings on `date` for (customer, contact) pairs, sharing one text of
/// occasions and one template.
fn greetings(date: &str, people: &[(i64, Option<i64>)]) -> CareTaskBatch {
    let mut b = CareTaskBatch::default();
    let occasions = b.text(r#"[{"reason":"occasion","occasion":"mid_autumn","name_zh":"中秋节","name_en":"Mid-Autumn Festival"},{"reason":"birthday","years":null}]"#);
    let template = b.text("{联系人}您好！{节日}快乐！——{公司名称} {经理姓名}");
    let date: NaiveDate = date.parse().unwrap();
    for &(customer, contact) in people {
        b.tasks.push(NewCareTask {
            kind: "greeting",
            planned_for: date,
            date,
            customer_id: Some(customer),
            contact_id: contact,
            salesperson_id: None,
            occasions,
            template: Some(template),
            message: None,
            channel: None,
        });
    }
    b
}

async fn care_tasks(s: &dyn Store, f: &Fixture) {
    let c = s
        .create_customer(
            &customer(json!({"name": "关怀测试有限公司", "business_stage": "existing"})),
            Some(f.manager_a.id),
            &f.admin,
        )
        .await
        .unwrap();
    let p1 = s.create_contact(c.id, &contact(json!({"name": "赵一", "birthday": "农历08-15", "level": "decision_maker", "title": "总经理"})), &f.admin).await.unwrap();
    let p2 = s
        .create_contact(c.id, &contact(json!({"name": "钱二"})), &f.admin)
        .await
        .unwrap();
    let other = s
        .create_customer(
            &customer(json!({"name": "别人的客户公司"})),
            Some(f.manager_b.id),
            &f.admin,
        )
        .await
        .unwrap();
    let mut batch = greetings("2026-09-25", &[(c.id, Some(p1.id)), (c.id, Some(p2.id))]);
    let mut national = greetings("2026-10-01", &[(other.id, None)]);
    national.texts[0] = r#"[{"reason":"occasion","occasion":"national_day","name_zh":"国庆节","name_en":"National Day"}]"#.into();
    // A rule task with its own message and channel, and a salesperson's own.
    let detail = batch.text(r#"{"kind":"cadence","class":"crystal","made":0}"#);
    let message = batch.text("水晶客户联系标准：每月电话1次，本期已0次");
    let day: NaiveDate = "2026-09-25".parse().unwrap();
    batch.tasks.push(NewCareTask {
        kind: "cadence",
        planned_for: "2026-09-20".parse().unwrap(),
        date: day,
        customer_id: Some(c.id),
        contact_id: None,
        salesperson_id: None,
        occasions: detail,
        template: None,
        message: Some(message),
        channel: Some("call"),
    });
    batch.tasks.push(NewCareTask {
        kind: "quota",
        planned_for: day,
        date: day,
        customer_id: None,
        contact_id: None,
        salesperson_id: Some(f.manager_a.id),
        occasions: detail,
        template: None,
        message: Some(message),
        channel: None,
    });
    // Idempotent: storing the same keys again adds nothing; the key is
    // (customer or salesperson, contact, planned day, kind), not the due day.
    assert_eq!(s.insert_care_tasks(batch.clone()).await.unwrap(), 4);
    assert_eq!(s.insert_care_tasks(national.clone()).await.unwrap(), 1);
    assert_eq!(s.insert_care_tasks(batch.clone()).await.unwrap(), 0);
    let mut moved = batch.clone();
    moved
        .tasks
        .iter_mut()
        .for_each(|t| t.date = t.date.succ_opt().unwrap());
    moved.texts.reverse();
    assert_eq!(s.insert_care_tasks(moved).await.unwrap(), 0);
    assert_eq!(
        s.insert_care_tasks(CareTaskBatch::default()).await.unwrap(),
        0
    );

    // Facts for planning: the lunar birthday and the level come back typed.
    let facts = s.care_contacts(None, &[]).await.unwrap();
    // By birthday key: 农历08-15 is L08-15; a key nobody has finds nothing.
    let by_key = s
        .care_contacts(Some(&["L08-15".to_string(), "S09-25".to_string()]), &[])
        .await
        .unwrap();
    let ids: Vec<i64> = by_key
        .iter()
        .filter(|x| x.customer_id == c.id)
        .map(|x| x.id)
        .collect();
    assert_eq!(ids, vec![p1.id]);
    assert!(s
        .care_contacts(Some(&["LL08-15".to_string()]), &[])
        .await
        .unwrap()
        .iter()
        .all(|x| x.customer_id != c.id));
    assert!(s
        .care_contacts(Some(&[]), &[])
        .await
        .unwrap()
        .iter()
        .all(|x| x.customer_id != c.id));
    // All contacts of the customers asked for (a key date greets them all).
    let of_c = s.care_contacts(Some(&[]), &[c.id]).await.unwrap();
    assert_eq!(
        of_c.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![p1.id, p2.id]
    );
    let key = |b: &str| birthday_key(&keqing_domain::Birthday::parse(b).unwrap());
    assert_eq!(key("农历闰04-30"), "LL04-30");
    assert_eq!(key("1985-11-23"), "S11-23");
    let z = facts.iter().find(|x| x.id == p1.id).unwrap();
    assert_eq!(
        z.birthday,
        Some(keqing_domain::Birthday::Lunar {
            year: None,
            month: 8,
            day: 15,
            leap: false
        })
    );
    assert_eq!(z.level, Some(keqing_domain::ContactLevel::DecisionMaker));
    assert_eq!(z.title.as_deref(), Some("总经理"));
    let all_customers = CareCustomerQuery {
        all: true,
        ids: vec![],
    };
    let cf = s.care_customers(&all_customers).await.unwrap();
    let cc = cf.iter().find(|x| x.id == c.id).unwrap();
    // Without `all`: customers under a rule of their own, plus the ids asked for.
    let ruled = s
        .create_customer(
            &customer(json!({"name": "关怀测试二号公司", "class": "A", "key_dates": [{"name": "成立纪念日", "date": "2010-06-01", "lunar": false}], "custom": {"order_weekdays": "周一,周四"}})),
            Some(f.manager_a.id),
            &f.admin,
        )
        .await
        .unwrap();
    let some = s
        .care_customers(&CareCustomerQuery {
            all: false,
            ids: vec![c.id],
        })
        .await
        .unwrap();
    let some_ids: Vec<i64> = some.iter().map(|x| x.id).collect();
    assert!(
        some_ids.contains(&c.id) && some_ids.contains(&ruled.id),
        "{some_ids:?}"
    );
    assert!(!some_ids.contains(&other.id));
    assert_eq!(
        (cc.owner_id, cc.business_stage.as_deref()),
        (f.manager_a.id, Some("existing"))
    );
    let r = some.iter().find(|x| x.id == ruled.id).unwrap();
    assert_eq!(r.key_dates.len(), 1);
    assert_eq!(r.order_weekdays, Some(json!("周一,周四")));
    assert_eq!(r.class.as_deref(), Some("A"));

    // Whom a festival greets: owned live customers and their live contacts.
    let roster = s.care_roster(0, i64::MAX).await.unwrap();
    // Page by page, the same.
    let mut paged = CareRoster::default();
    let mut after = 0;
    loop {
        let page = s.care_roster(after, 2).await.unwrap();
        assert!(page.customers.len() <= 2);
        let Some(&(last, _)) = page.customers.last() else {
            break;
        };
        assert!(page
            .contacts
            .iter()
            .all(|p| page.customers.iter().any(|c| c.0 == p.1)));
        after = last;
        paged.customers.extend(page.customers);
        paged.contacts.extend(page.contacts);
    }
    assert_eq!(paged, roster);
    assert!(roster.customers.contains(&(c.id, f.manager_a.id)));
    assert!(roster.customers.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(roster.contacts.contains(&(p1.id, c.id)) && roster.contacts.contains(&(p2.id, c.id)));
    assert!(roster
        .contacts
        .windows(2)
        .all(|w| w[0].1 < w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0)));

    // Listing by range, owner set and status, with the total.
    let all = CareTaskFilter {
        from: Some("2026-09-01".parse().unwrap()),
        to: Some("2026-10-31".parse().unwrap()),
        details: true,
        ..Default::default()
    };
    let page = s.care_tasks(&all).await.unwrap();
    assert_eq!(page.total, 5);
    let g = page
        .items
        .iter()
        .find(|t| t.contact_id == Some(p1.id))
        .unwrap();
    assert_eq!(g.key, format!("greeting:c{}:p{}:2026-09-25", c.id, p1.id));
    assert_eq!(g.occasions[0]["occasion"], "mid_autumn");
    assert_eq!(g.occasions[1]["reason"], "birthday");
    assert_eq!(g.owner_id, Some(f.manager_a.id), "the customer's owner");
    assert_eq!(
        g.template.as_deref(),
        Some("{联系人}您好！{节日}快乐！——{公司名称} {经理姓名}")
    );
    assert_eq!((g.message.as_deref(), g.channel.as_deref()), (None, None));
    let facts = g.facts.clone().unwrap();
    assert_eq!(facts.customer_name.as_deref(), Some("关怀测试有限公司"));
    assert_eq!(facts.business_stage.as_deref(), Some("existing"));
    assert_eq!(facts.contact_name.as_deref(), Some("赵一"));
    assert_eq!(facts.contact_title.as_deref(), Some("总经理"));
    assert_eq!(
        facts.contact_level,
        Some(keqing_domain::ContactLevel::DecisionMaker)
    );
    assert_eq!(facts.owner_name.as_deref(), Some("wangfang"));
    let cad = page.items.iter().find(|t| t.kind == "cadence").unwrap();
    assert_eq!(
        (cad.key.as_str(), cad.date, cad.planned_for),
        (
            format!("cadence:c{}:-:2026-09-20", c.id).as_str(),
            day,
            "2026-09-20".parse().unwrap()
        )
    );
    assert_eq!(
        cad.message.as_deref(),
        Some("水晶客户联系标准：每月电话1次，本期已0次")
    );
    assert_eq!(cad.channel.as_deref(), Some("call"));
    let quota = page.items.iter().find(|t| t.kind == "quota").unwrap();
    assert_eq!(
        (quota.key.clone(), quota.owner_id),
        (
            format!("quota:s{}:2026-09-25", f.manager_a.id),
            Some(f.manager_a.id)
        )
    );
    // Ordered by due day, then id.
    assert!(page
        .items
        .windows(2)
        .all(|w| (w[0].date, w[0].id) < (w[1].date, w[1].id)));
    // Counting needs no details.
    let bare = s
        .care_tasks(&CareTaskFilter {
            details: false,
            ..all.clone()
        })
        .await
        .unwrap();
    assert_eq!(bare.total, 5);
    assert!(bare.items.iter().all(|t| t.facts.is_none()));
    let mine = s
        .care_tasks(&CareTaskFilter {
            owners: Some(vec![f.manager_a.id]),
            kind: Some("greeting".into()),
            ..all.clone()
        })
        .await
        .unwrap();
    assert_eq!(mine.total, 2);
    assert!(mine
        .items
        .iter()
        .all(|t| t.owner_id == Some(f.manager_a.id)));
    let a_all = s
        .care_tasks(&CareTaskFilter {
            owners: Some(vec![f.manager_a.id]),
            ..all.clone()
        })
        .await
        .unwrap();
    assert_eq!(a_all.total, 4, "greetings, the cadence task and the quota");
    let none = s
        .care_tasks(&CareTaskFilter {
            owners: Some(vec![]),
            ..all.clone()
        })
        .await
        .unwrap();
    assert_eq!(none.total, 0);
    let paged = s
        .care_tasks(&CareTaskFilter {
            limit: 1,
            offset: 1,
            ..all.clone()
        })
        .await
        .unwrap();
    assert_eq!((paged.total, paged.items.len()), (5, 1));
    assert_eq!(paged.items[0].id, page.items[1].id);

    // Completing logs the activity in the same transaction, once.
    let t0 = mine.items[0].clone();
    assert_eq!(t0.status, "open");
    let done = s
        .set_care_task_status(
            t0.id,
            &CareStatusChange {
                expected: "open".into(),
                status: "done".into(),
                reason: None,
                snoozed_until: None,
                activity: Some(
                    NewActivity::from_json(
                        json!({"kind": "call", "summary": "中秋问候"})
                            .as_object()
                            .unwrap(),
                    )
                    .unwrap(),
                ),
            },
            &f.manager_a,
        )
        .await
        .unwrap();
    assert_eq!(done.status, "done");
    assert_eq!(done.owner_id, Some(f.manager_a.id));
    assert!(done.updated_at >= done.created_at);
    let act = done.activity_id.expect("an activity was logged");
    assert!(s
        .activities(c.id)
        .await
        .unwrap()
        .iter()
        .any(|a| a.id == act));
    // A second completion decided from a stale "open" writes nothing.
    let again = s
        .set_care_task_status(
            t0.id,
            &CareStatusChange {
                expected: "open".into(),
                status: "done".into(),
                reason: None,
                snoozed_until: None,
                activity: Some(
                    NewActivity::from_json(json!({"kind": "call"}).as_object().unwrap()).unwrap(),
                ),
            },
            &f.manager_a,
        )
        .await;
    assert!(matches!(again, Err(StoreError::Refused(_))));
    assert_eq!(s.activities(c.id).await.unwrap().len(), 1);
    let done_list = s
        .care_tasks(&CareTaskFilter {
            status: Some("done".into()),
            ..all.clone()
        })
        .await
        .unwrap();
    assert_eq!(done_list.total, 1);

    // Skip with a reason, snooze with a date.
    let t1 = mine.items[1].clone();
    let snoozed = s
        .set_care_task_status(
            t1.id,
            &CareStatusChange {
                expected: "open".into(),
                status: "snoozed".into(),
                reason: None,
                snoozed_until: Some("2026-09-27".parse().unwrap()),
                activity: None,
            },
            &f.manager_a,
        )
        .await
        .unwrap();
    assert_eq!(
        (snoozed.status.as_str(), snoozed.snoozed_until),
        ("snoozed", Some("2026-09-27".parse().unwrap()))
    );
    // What the frequency cap counts: open tasks by due day, snoozed ones by
    // the day they wake; not done ones (their activity counts) nor quota.
    let window = ("2026-09-20".parse().unwrap(), "2026-09-30".parse().unwrap());
    let counted = s
        .care_task_contacts(window.0, window.1, (day, day))
        .await
        .unwrap();
    let mut seen: Vec<(&str, Option<i64>, NaiveDate)> = counted
        .tasks
        .iter()
        .filter(|x| x.customer_id == c.id)
        .map(|x| (x.kind, x.contact_id, x.date))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("cadence", None, day),
            (
                "greeting",
                Some(t1.contact_id.unwrap()),
                "2026-09-27".parse().unwrap()
            ),
        ]
    );
    assert!(counted
        .tasks
        .iter()
        .any(|x| x.kind == "cadence" && x.planned_for == "2026-09-20".parse().unwrap()));
    assert!(counted.days.iter().all(|x| x.0 != c.id));
    // A run of another day cannot plan those greetings again: they come as
    // the days they contact the customer; the cadence task stays a task.
    let other_day: NaiveDate = "2026-09-26".parse().unwrap();
    let counted = s
        .care_task_contacts(window.0, window.1, (other_day, other_day))
        .await
        .unwrap();
    let mut seen: Vec<(&str, Option<i64>, NaiveDate)> = counted
        .tasks
        .iter()
        .filter(|x| x.customer_id == c.id)
        .map(|x| (x.kind, x.contact_id, x.date))
        .collect();
    seen.sort();
    assert_eq!(seen, vec![("cadence", None, day)]);
    assert_eq!(
        counted
            .days
            .iter()
            .filter(|x| x.0 == c.id)
            .collect::<Vec<_>>(),
        vec![&(c.id, "2026-09-27".parse().unwrap())]
    );
    assert!(
        counted.days.windows(2).all(|w| w[0] < w[1]),
        "sorted, each once"
    );
    let skipped = s
        .set_care_task_status(
            t1.id,
            &CareStatusChange {
                expected: "snoozed".into(),
                status: "skipped".into(),
                reason: Some("客户出差".into()),
                snoozed_until: None,
                activity: None,
            },
            &f.manager_a,
        )
        .await
        .unwrap();
    assert_eq!(skipped.reason.as_deref(), Some("客户出差"));
    assert!(s.care_task(t1.id).await.unwrap().is_some());
    assert!(s.care_task(999_999).await.unwrap().is_none());

    // A deleted contact leaves no broken task: its tasks are no longer listed,
    // and the contact is gone from the planning facts and the roster.
    s.delete_contact(p2.id, &f.admin).await.unwrap();
    let after = s.care_tasks(&all).await.unwrap();
    assert_eq!(after.total, 4);
    assert!(after.items.iter().all(|t| t.contact_id != Some(p2.id)));
    assert!(s
        .care_contacts(None, &[])
        .await
        .unwrap()
        .iter()
        .all(|x| x.id != p2.id));
    let roster = s.care_roster(0, i64::MAX).await.unwrap();
    assert!(roster.contacts.contains(&(p1.id, c.id)));
    assert!(!roster.contacts.iter().any(|x| x.0 == p2.id));
    // So does a deleted customer; a pool customer is not planned for.
    s.delete_customer(other.id, &f.admin).await.unwrap();
    assert_eq!(s.care_tasks(&all).await.unwrap().total, 3);
    assert!(s
        .care_customers(&all_customers)
        .await
        .unwrap()
        .iter()
        .all(|x| x.id != other.id));
    assert!(!s
        .care_roster(0, i64::MAX)
        .await
        .unwrap()
        .customers
        .iter()
        .any(|x| x.0 == other.id));

    // Activities of a range, for cadence and quota.
    s.add_activity(
        c.id,
        &NewActivity::from_json(json!({"kind": "visit"}).as_object().unwrap()).unwrap(),
        &f.manager_a,
    )
    .await
    .unwrap();
    let facts = s
        .activity_facts(
            Utc::now() - chrono::Duration::days(1),
            Utc::now() + chrono::Duration::days(1),
            Utc::now() - chrono::Duration::days(1),
        )
        .await
        .unwrap();
    assert!(facts.iter().any(|a| a.customer_id == c.id
        && a.kind == keqing_domain::ActivityKind::Call
        && a.customer_stage.is_none()));
    assert!(facts.iter().any(|a| a.customer_id == c.id
        && a.kind == keqing_domain::ActivityKind::Visit
        && a.user_id == Some(f.manager_a.id)
        && a.customer_stage.as_deref() == Some("existing")));
    // The stage is read for the visits asked for only.
    let facts = s
        .activity_facts(
            Utc::now() - chrono::Duration::days(1),
            Utc::now() + chrono::Duration::days(1),
            Utc::now() + chrono::Duration::days(1),
        )
        .await
        .unwrap();
    assert!(facts
        .iter()
        .any(|a| a.customer_id == c.id && a.kind == keqing_domain::ActivityKind::Visit));
    assert!(facts.iter().all(|a| a.customer_stage.is_none()));
    // Activities of a deleted customer are not facts any more.
    let gone = s
        .create_customer(
            &customer(json!({"name": "将被删除的客户"})),
            Some(f.manager_a.id),
            &f.admin,
        )
        .await
        .unwrap();
    s.add_activity(
        gone.id,
        &NewActivity::from_json(json!({"kind": "call"}).as_object().unwrap()).unwrap(),
        &f.manager_a,
    )
    .await
    .unwrap();
    let window = (
        Utc::now() - chrono::Duration::days(1),
        Utc::now() + chrono::Duration::days(1),
    );
    let of_gone =
        |facts: &[ActivityFact]| facts.iter().filter(|a| a.customer_id == gone.id).count();
    let facts = s
        .activity_facts(window.0, window.1, window.0)
        .await
        .unwrap();
    assert_eq!(of_gone(&facts), 1);
    s.delete_customer(gone.id, &f.admin).await.unwrap();
    let facts = s
        .activity_facts(window.0, window.1, window.0)
        .await
        .unwrap();
    assert_eq!(of_gone(&facts), 0);
}

/// Open care tasks follow their customer: a transfer (single or bulk), a
/// release to the pool and a claim move them to the new owner, a merge to
/// the kept customer; closed ones stay with the owner they were closed under.
async fn care_tasks_follow_ownership(s: &dyn Store, f: &Fixture) {
    let mk = |name: &str| customer(json!({ "name": name }));
    let c1 = s
        .create_customer(&mk("移交关怀一号"), Some(f.manager_a.id), &f.admin)
        .await
        .unwrap();
    let c2 = s
        .create_customer(&mk("移交关怀二号"), Some(f.manager_a.id), &f.admin)
        .await
        .unwrap();
    let p1 = s
        .create_contact(c1.id, &contact(json!({"name": "孙一"})), &f.admin)
        .await
        .unwrap();
    let p2 = s
        .create_contact(c1.id, &contact(json!({"name": "孙二"})), &f.admin)
        .await
        .unwrap();
    let q = s
        .create_contact(c2.id, &contact(json!({"name": "周三"})), &f.admin)
        .await
        .unwrap();
    let day = "2027-02-06";
    s.insert_care_tasks(greetings(
        day,
        &[
            (c1.id, Some(p1.id)),
            (c1.id, Some(p2.id)),
            (c2.id, Some(q.id)),
            (c2.id, None),
        ],
    ))
    .await
    .unwrap();
    let on_day = CareTaskFilter {
        from: Some(day.parse().unwrap()),
        to: Some(day.parse().unwrap()),
        ..Default::default()
    };
    let of = |owner: i64| CareTaskFilter {
        owners: Some(vec![owner]),
        ..on_day.clone()
    };
    let contacts_of = |page: Page<CareTaskRow>| {
        let mut v: Vec<(i64, Option<i64>)> = page
            .items
            .iter()
            .map(|t| (t.customer_id.unwrap(), t.contact_id))
            .collect();
        v.sort();
        v
    };
    let (a, b) = (f.manager_a.id, f.manager_b.id);
    assert_eq!(s.care_tasks(&of(a)).await.unwrap().total, 4);
    // Manager A completes the greeting to 孙一, then hands customer 1 over.
    let first = s
        .care_tasks(&of(a))
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|t| t.contact_id == Some(p1.id))
        .unwrap();
    s.set_care_task_status(
        first.id,
        &CareStatusChange {
            expected: "open".into(),
            status: "done".into(),
            reason: None,
            snoozed_until: None,
            activity: None,
        },
        &f.manager_a,
    )
    .await
    .unwrap();
    s.transfer_customers(&[c1.id], b, "调岗", &f.admin)
        .await
        .unwrap();
    // B sees the open one; A keeps the one she did, and sees nothing of B's.
    assert_eq!(
        contacts_of(s.care_tasks(&of(b)).await.unwrap()),
        vec![(c1.id, Some(p2.id))]
    );
    assert_eq!(
        contacts_of(s.care_tasks(&of(a)).await.unwrap()),
        vec![(c1.id, Some(p1.id)), (c2.id, None), (c2.id, Some(q.id))]
    );
    let moved = s.care_tasks(&of(b)).await.unwrap().items.remove(0);
    assert_eq!(moved.owner_id, Some(b));
    assert_eq!(
        s.care_task(moved.id).await.unwrap().unwrap().owner_id,
        Some(b)
    );
    assert_eq!(
        s.care_task(first.id).await.unwrap().unwrap().owner_id,
        Some(a),
        "a done task stays with who closed it"
    );
    // Bulk transfer back and forth.
    s.transfer_customers(&[c1.id, c2.id], b, "合并片区", &f.admin)
        .await
        .unwrap();
    assert_eq!(s.care_tasks(&of(b)).await.unwrap().total, 3);
    assert_eq!(
        contacts_of(s.care_tasks(&of(a)).await.unwrap()),
        vec![(c1.id, Some(p1.id))]
    );
    // Released to the pool: nobody's (only who sees everything sees it);
    // claimed: the claimer's.
    let later = Utc::now() + chrono::Duration::days(400);
    let released = s
        .release_stale(&PoolRules::default(), later, &f.admin)
        .await
        .unwrap();
    assert!(released.contains(&c2.id));
    assert_eq!(
        contacts_of(s.care_tasks(&of(b)).await.unwrap()),
        if released.contains(&c1.id) {
            vec![]
        } else {
            vec![(c1.id, Some(p2.id))]
        }
    );
    let pooled = s
        .care_tasks(&on_day)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|t| t.customer_id == Some(c2.id))
        .collect::<Vec<_>>();
    assert_eq!(pooled.len(), 2);
    assert!(pooled.iter().all(|t| t.owner_id.is_none()));
    s.claim(c2.id, &f.manager_a, 1_000).await.unwrap();
    assert_eq!(
        contacts_of(s.care_tasks(&of(a)).await.unwrap()),
        vec![(c1.id, Some(p1.id)), (c2.id, None), (c2.id, Some(q.id))]
    );
    // Merged into another customer: the contacts' tasks go with them (one
    // task per contact and day), to the kept customer's owner.
    let keep = s
        .create_customer(&mk("合并后客户"), Some(b), &f.admin)
        .await
        .unwrap();
    s.insert_care_tasks(greetings(day, &[(keep.id, None)]))
        .await
        .unwrap();
    s.merge_customers(keep.id, c2.id, &f.admin).await.unwrap();
    let of_b = s.care_tasks(&of(b)).await.unwrap();
    let kept: Vec<(i64, Option<i64>)> = contacts_of(of_b)
        .into_iter()
        .filter(|x| x.0 == keep.id)
        .collect();
    assert_eq!(kept, vec![(keep.id, None), (keep.id, Some(q.id))]);
    assert!(!s
        .care_tasks(&of(a))
        .await
        .unwrap()
        .items
        .iter()
        .any(|t| t.customer_id == Some(c2.id) || t.contact_id == Some(q.id)));
    let t = s
        .care_tasks(&of(b))
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|t| t.contact_id == Some(q.id))
        .unwrap();
    assert_eq!(t.key, format!("greeting:c{}:p{}:{day}", keep.id, q.id));
    // Planning the kept customer's contact again finds the moved task.
    assert_eq!(
        s.insert_care_tasks(greetings(day, &[(keep.id, Some(q.id)), (keep.id, None)]))
            .await
            .unwrap(),
        0
    );
}

async fn care_templates_and_settings(s: &dyn Store) {
    let t = s
        .create_care_template(&NewCareTemplate {
            name: "中秋".into(),
            body: "{联系人}您好，{节日}快乐！——{公司名称} {经理姓名}".into(),
            occasion: Some("mid_autumn".into()),
            active: true,
        })
        .await
        .unwrap();
    assert_eq!(s.care_templates().await.unwrap(), vec![t.clone()]);
    let u = s
        .update_care_template(
            t.id,
            &NewCareTemplate {
                name: "中秋节".into(),
                body: t.body.clone(),
                occasion: None,
                active: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (u.name.as_str(), u.occasion.as_deref(), u.active),
        ("中秋节", None, false)
    );
    assert!(matches!(
        s.update_care_template(
            999_999,
            &NewCareTemplate {
                name: "x".into(),
                body: "x".into(),
                occasion: None,
                active: true
            }
        )
        .await,
        Err(StoreError::NotFound)
    ));
    s.delete_care_template(t.id).await.unwrap();
    assert!(s.care_templates().await.unwrap().is_empty());
    assert!(matches!(
        s.delete_care_template(t.id).await,
        Err(StoreError::NotFound)
    ));

    assert_eq!(s.care_setting("daily_quota").await.unwrap(), None);
    s.put_care_setting("daily_quota", &json!({"calls": 4}))
        .await
        .unwrap();
    s.put_care_setting("daily_quota", &json!({"calls": 5}))
        .await
        .unwrap();
    assert_eq!(
        s.care_setting("daily_quota").await.unwrap(),
        Some(json!({"calls": 5}))
    );
}

/// A saved analysis keeps its parameters, summary and members; members are
/// read by class, page by page, only within the caller's scope and only of
/// live customers; deleting a snapshot removes its members.
async fn analysis_snapshots(s: &dyn Store, f: &Fixture) {
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

/// Regions (SPEC §9) are a list of their own: every region a team or user is
/// in is on it, one is added once, and one in use cannot be removed. Teams are
/// renamed and moved between regions with an audit row.
async fn regions_and_teams(s: &dyn Store, f: &Fixture) {
    let names = |v: &[Region]| v.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    let all = s.regions().await.unwrap();
    // The fixture's teams are in 江苏 and 浙江.
    assert_eq!(names(&all)[..2], ["江苏".to_string(), "浙江".to_string()]);
    let js = all.iter().find(|r| r.name == "江苏").unwrap();
    assert!(js.teams >= 1, "{js:?}");

    let sh = s.create_region("上海", Some(f.admin.id)).await.unwrap();
    assert_eq!((sh.name.as_str(), sh.users, sh.teams), ("上海", 0, 0));
    let audit = &s.audit_log(1).await.unwrap()[0];
    assert_eq!(
        (
            audit.action.as_str(),
            audit.entity.as_str(),
            audit.entity_id
        ),
        ("create", "region", Some(sh.id))
    );
    assert!(matches!(
        s.create_region("上海", Some(f.admin.id)).await,
        Err(StoreError::Duplicate(ids)) if ids == vec![sh.id]
    ));

    // A team moved to 上海 uses it: it cannot go until the team leaves.
    let team = s.create_team("上海一部", None).await.unwrap();
    let moved = s
        .update_team(
            team.id,
            &TeamChange {
                name: Some("上海浦东部".into()),
                region: Some(Some("上海".into())),
            },
            Some(f.admin.id),
        )
        .await
        .unwrap();
    assert_eq!(
        (moved.name.as_str(), moved.region.as_deref()),
        ("上海浦东部", Some("上海"))
    );
    let audit = &s.audit_log(1).await.unwrap()[0];
    assert_eq!(
        (audit.entity.as_str(), audit.entity_id),
        ("team", Some(team.id))
    );
    assert_eq!(audit.detail["old"]["name"], "上海一部");
    assert_eq!(audit.detail["new"]["region"], "上海");
    assert!(s.teams().await.unwrap().contains(&moved));
    assert!(matches!(
        s.delete_region(sh.id, Some(f.admin.id)).await,
        Err(StoreError::Refused(_))
    ));
    // Same name as another team: refused, nothing changed.
    assert!(matches!(
        s.update_team(
            team.id,
            &TeamChange {
                name: Some(f.team_a.name.clone()),
                region: None
            },
            None
        )
        .await,
        Err(StoreError::Refused(_))
    ));
    assert!(matches!(
        s.create_team(&f.team_a.name, None).await,
        Err(StoreError::Refused(_))
    ));
    // A change that changes nothing writes nothing.
    let before = s.audit_log(1).await.unwrap()[0].id;
    s.update_team(team.id, &TeamChange::default(), None)
        .await
        .unwrap();
    assert_eq!(s.audit_log(1).await.unwrap()[0].id, before);
    assert!(matches!(
        s.update_team(i64::MAX, &TeamChange::default(), None).await,
        Err(StoreError::NotFound)
    ));

    // A user in a region counts too, and holds it.
    let u = s
        .create_user(&NewUser {
            username: "region-user".into(),
            display_name: "区域用户".into(),
            role: Role::Supervisor,
            team_id: None,
            region: Some("福建".into()),
            password_hash: "x".into(),
        })
        .await
        .unwrap();
    let fj = s.regions().await.unwrap();
    let fj = fj.iter().find(|r| r.name == "福建").unwrap();
    assert_eq!((fj.users, fj.teams), (1, 0));
    assert!(matches!(
        s.delete_region(fj.id, None).await,
        Err(StoreError::Refused(_))
    ));
    s.update_user(
        u.id,
        &UserChange {
            region: Some(None),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    s.delete_region(fj.id, None).await.unwrap();

    // A region a user or team is given that the list lacks joins the list.
    s.update_team(
        team.id,
        &TeamChange {
            name: None,
            region: Some(Some("安徽".into())),
        },
        None,
    )
    .await
    .unwrap();
    let after = s.regions().await.unwrap();
    let ah = after.iter().find(|r| r.name == "安徽").unwrap();
    assert_eq!(ah.teams, 1);
    assert_eq!(after.iter().find(|r| r.name == "上海").unwrap().teams, 0);

    // Unused now: 上海 goes, with an audit row; a second removal finds nothing.
    s.delete_region(sh.id, Some(f.admin.id)).await.unwrap();
    let audit = &s.audit_log(1).await.unwrap()[0];
    assert_eq!(
        (
            audit.action.as_str(),
            audit.entity.as_str(),
            audit.detail["name"].as_str()
        ),
        ("delete", "region", Some("上海"))
    );
    assert!(!names(&s.regions().await.unwrap()).contains(&"上海".to_string()));
    assert!(matches!(
        s.delete_region(sh.id, None).await,
        Err(StoreError::NotFound)
    ));
}
