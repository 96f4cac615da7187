//! Users, sessions, teams and regions.

use super::*;

pub(super) async fn users_and_sessions(s: &dyn Store, f: &Fixture) {
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
pub(super) async fn user_changes(s: &dyn Store, f: &Fixture) {
    use keqing_domain::access::{Action, Grants, Resource, RowOwner};
    let grants = Grants::default();
    let team_c = s.create_team("苏州三部", Some("江苏")).await.unwrap();
    let u = s
        .create_user(&new_user("zhaomin", Role::Manager, Some(f.team_a.id)))
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
        .create_user(&new_user("admin2", Role::Admin, None))
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
        .create_user(&new_user("admin3", Role::Admin, None))
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

/// Regions (SPEC §9) are a list of their own: every region a team or user is
/// in is on it, one is added once, and one in use cannot be removed. Teams are
/// renamed and moved between regions with an audit row.
pub(super) async fn regions_and_teams(s: &dyn Store, f: &Fixture) {
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

/// A password change ends the user's other sessions and keeps the one that
/// made it; the change is in the audit log with the sessions it ended.
pub(super) async fn password_changes(s: &dyn Store, f: &Fixture) {
    let u = &f.manager_b;
    let now = Utc::now();
    let later = now + chrono::Duration::hours(1);
    for t in ["pw-here", "pw-phone", "pw-laptop"] {
        s.create_session(t, u.id, later).await.unwrap();
    }
    s.create_session("pw-other-user", f.manager_a.id, later)
        .await
        .unwrap();
    s.change_password(
        u.id,
        "new-hash",
        Some("pw-here"),
        "password_change",
        Some(u.id),
    )
    .await
    .unwrap();
    assert_eq!(
        s.user_by_name("lijun").await.unwrap().unwrap().1,
        "new-hash"
    );
    assert_eq!(
        s.session_user("pw-here", now).await.unwrap().map(|x| x.id),
        Some(u.id),
        "the session that changed the password goes on"
    );
    for t in ["pw-phone", "pw-laptop"] {
        assert_eq!(s.session_user(t, now).await.unwrap(), None, "{t} ended");
    }
    assert!(s
        .session_user("pw-other-user", now)
        .await
        .unwrap()
        .is_some());
    let a = &s.audit_log(1).await.unwrap()[0];
    assert_eq!(
        (a.action.as_str(), a.entity.as_str(), a.entity_id, a.user_id),
        ("password_change", "user", Some(u.id), Some(u.id))
    );
    assert_eq!(a.detail["sessions_ended"], 2);
    // An administrator's reset keeps no session of the user.
    s.change_password(u.id, "reset-hash", None, "password_reset", Some(f.admin.id))
        .await
        .unwrap();
    assert_eq!(s.session_user("pw-here", now).await.unwrap(), None);
    assert_eq!(s.audit_log(1).await.unwrap()[0].action, "password_reset");
    assert!(matches!(
        s.change_password(999_999, "h", None, "password_reset", None)
            .await,
        Err(StoreError::NotFound)
    ));
    // The display name is changed like any other field, audited old → new.
    let renamed = s
        .update_user(
            u.id,
            &UserChange {
                display_name: Some("李军（杭州）".into()),
                ..Default::default()
            },
            Some(f.admin.id),
        )
        .await
        .unwrap();
    assert_eq!(renamed.display_name, "李军（杭州）");
    assert_eq!(
        s.user(u.id).await.unwrap().unwrap().display_name,
        "李军（杭州）"
    );
    let a = &s.audit_log(1).await.unwrap()[0];
    assert_eq!(a.detail["old"]["display_name"], u.display_name.as_str());
    assert_eq!(a.detail["new"]["display_name"], "李军（杭州）");
}

/// The audit log a page at a time, filtered by who, what, which record and
/// when, newest first, with the count of what matches.
pub(super) async fn audit_pages(s: &dyn Store, f: &Fixture) {
    let (a, b) = (f.manager_a.id, f.manager_b.id);
    // An instant after every earlier line and before these.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let before = Utc::now();
    std::thread::sleep(std::time::Duration::from_millis(5));
    for i in 0..5 {
        s.audit(
            Some(a),
            "audit_probe",
            "customer",
            Some(7000 + i % 2),
            json!({"i": i}),
        )
        .await
        .unwrap();
    }
    s.audit(
        Some(b),
        "audit_probe",
        "customer",
        Some(7000),
        json!({"i": 5}),
    )
    .await
    .unwrap();
    s.audit(Some(b), "audit_other", "team", Some(7000), json!({"i": 6}))
        .await
        .unwrap();
    let page = |f: AuditFilter| async move { s.audit_page(&f).await.unwrap() };
    let probe = |u: Option<i64>| AuditFilter {
        user_id: u,
        action: Some("audit_probe".into()),
        limit: 100,
        ..Default::default()
    };
    let all = page(probe(None)).await;
    assert_eq!(all.total, 6);
    let is: Vec<i64> = all
        .items
        .iter()
        .map(|e| e.detail["i"].as_i64().unwrap())
        .collect();
    assert_eq!(is, [5, 4, 3, 2, 1, 0], "newest first");
    assert_eq!(page(probe(Some(a))).await.total, 5);
    assert_eq!(page(probe(Some(b))).await.total, 1);
    // One record: the entity and its id.
    let record = page(AuditFilter {
        entity: Some("customer".into()),
        entity_id: Some(7000),
        limit: 100,
        ..Default::default()
    })
    .await;
    let is: Vec<i64> = record
        .items
        .iter()
        .map(|e| e.detail["i"].as_i64().unwrap())
        .collect();
    assert_eq!(is, [5, 4, 2, 0], "the team of id 7000 is another record");
    // Pages: offset and limit, the total of all that match.
    let second = page(AuditFilter {
        offset: 2,
        limit: 2,
        ..probe(None)
    })
    .await;
    assert_eq!((second.total, second.offset, second.limit), (6, 2, 2));
    let is: Vec<i64> = second
        .items
        .iter()
        .map(|e| e.detail["i"].as_i64().unwrap())
        .collect();
    assert_eq!(is, [3, 2]);
    // When: from an instant on, and before one.
    assert_eq!(
        page(AuditFilter {
            since: Some(before),
            user_id: Some(b),
            limit: 100,
            ..Default::default()
        })
        .await
        .total,
        2
    );
    assert_eq!(
        page(AuditFilter {
            until: Some(before),
            action: Some("audit_probe".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .total,
        0
    );
    assert_eq!(
        page(AuditFilter {
            since: Some(before + chrono::Duration::days(1)),
            action: Some("audit_probe".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .items
        .len(),
        0
    );
    // A change to a customer or a contact: each field's old and new value.
    let c = named_customer(s, "审计测试客户", Some(a), &f.manager_a).await;
    let changed = customer(json!({"name": "审计测试客户", "city": "苏州"}));
    let diff = keqing_domain::history::diff(&c.fields.to_json(), &changed.to_json());
    s.update_customer(c.id, c.version, &changed, &diff, &f.manager_a)
        .await
        .unwrap();
    let p = s
        .create_contact(
            c.id,
            &contact(json!({"name": "王伟", "mobile": "13812345678"})),
            &f.manager_a,
        )
        .await
        .unwrap();
    s.update_contact(
        p.id,
        p.version,
        &contact(json!({"name": "王伟", "mobile": "13912345678", "title": "总经理"})),
        &f.manager_a,
    )
    .await
    .unwrap();
    let lines = page(AuditFilter {
        user_id: Some(a),
        action: Some("update".into()),
        limit: 2,
        ..Default::default()
    })
    .await
    .items;
    assert_eq!(
        (lines[0].entity.as_str(), lines[0].entity_id),
        ("contact", Some(p.id))
    );
    assert_eq!(lines[0].detail["old"]["mobile"], "13812345678");
    assert_eq!(lines[0].detail["new"]["mobile"], "13912345678");
    assert_eq!(lines[0].detail["old"]["title"], serde_json::Value::Null);
    assert_eq!(lines[0].detail["new"]["title"], "总经理");
    assert!(
        lines[0].detail["old"].get("name").is_none(),
        "only what changed"
    );
    assert_eq!(
        (lines[1].entity.as_str(), lines[1].entity_id),
        ("customer", Some(c.id))
    );
    assert_eq!(lines[1].detail["old"]["city"], serde_json::Value::Null);
    assert_eq!(lines[1].detail["new"]["city"], "苏州");
    // Nothing that matches: an empty page, not an error.
    let none = page(AuditFilter {
        action: Some("no such action".into()),
        limit: 10,
        ..Default::default()
    })
    .await;
    assert_eq!((none.total, none.items.len(), none.capped), (0, 0, false));
}
