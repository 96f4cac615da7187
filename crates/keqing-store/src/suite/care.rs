//! Relationship care: tasks, ownership, templates and settings.

use super::*;

/// A change of a task from `expected` to `status`, with no reason, date or activity.
fn status_change(expected: &str, status: &str) -> CareStatusChange {
    CareStatusChange {
        expected: expected.into(),
        status: status.into(),
        reason: None,
        snoozed_until: None,
        activity: None,
    }
}

/// The tasks of `customer` the frequency cap counted, as (kind, contact,
/// day), sorted.
fn tasks_counted(counted: &CareTaskContacts, customer: i64) -> Vec<(&str, Option<i64>, NaiveDate)> {
    let mut seen: Vec<(&str, Option<i64>, NaiveDate)> = counted
        .tasks
        .iter()
        .filter(|x| x.customer_id == customer)
        .map(|x| (x.kind, x.contact_id, x.date))
        .collect();
    seen.sort();
    seen
}

/// Greetings on `date` for (customer, contact) pairs, sharing one text of
/// occasions and one template.
pub(super) fn greetings(date: &str, people: &[(i64, Option<i64>)]) -> CareTaskBatch {
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

pub(super) async fn care_tasks(s: &dyn Store, f: &Fixture) {
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
    let other = named_customer(s, "别人的客户公司", Some(f.manager_b.id), &f.admin).await;
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
                activity: Some(
                    NewActivity::from_json(
                        json!({"kind": "call", "summary": "中秋问候"})
                            .as_object()
                            .unwrap(),
                    )
                    .unwrap(),
                ),
                ..status_change("open", "done")
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
                activity: Some(
                    NewActivity::from_json(json!({"kind": "call"}).as_object().unwrap()).unwrap(),
                ),
                ..status_change("open", "done")
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
                snoozed_until: Some("2026-09-27".parse().unwrap()),
                ..status_change("open", "snoozed")
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
    let seen = tasks_counted(&counted, c.id);
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
    let seen = tasks_counted(&counted, c.id);
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
                reason: Some("客户出差".into()),
                ..status_change("snoozed", "skipped")
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
    let gone = named_customer(s, "将被删除的客户", Some(f.manager_a.id), &f.admin).await;
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
pub(super) async fn care_tasks_follow_ownership(s: &dyn Store, f: &Fixture) {
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
    s.set_care_task_status(first.id, &status_change("open", "done"), &f.manager_a)
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

pub(super) async fn care_templates_and_settings(s: &dyn Store) {
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
