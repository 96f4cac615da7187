//! Contacts, activities and orders.

use super::*;

pub(super) async fn contacts_activities_orders(s: &dyn Store, f: &Fixture) {
    let c = named_customer(s, "订单客户", Some(f.manager_a.id), &f.admin).await;
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
        unit: None,
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

/// An order entered by hand: stored with its unit, audited, listed and
/// counted by the analysis as an imported one is; refused for a customer
/// that is gone.
pub(super) async fn orders_entered_by_hand(s: &dyn Store, f: &Fixture) {
    use keqing_domain::OrderUnit;
    let c = named_customer(s, "手录订单客户", Some(f.manager_a.id), &f.admin).await;
    let entry = |v: serde_json::Value| NewOrder::from_json(v.as_object().unwrap()).unwrap();
    let o = s
        .create_order(
            &entry(json!({"customer_id": c.id, "date": "2026-10-08", "amount": "2500.50", "quantity": 12, "unit": "箱", "product": "黄酒", "channel": "门店"})),
            &f.manager_a,
        )
        .await
        .unwrap();
    assert!(o.id > 0);
    assert_eq!(o.fields.unit, Some(OrderUnit::Case));
    let listed = s.orders(c.id).await.unwrap();
    assert_eq!(listed, vec![o.clone()], "read back as stored");
    let facts: Vec<_> = s
        .order_facts()
        .await
        .unwrap()
        .into_iter()
        .filter(|x| x.customer_id == c.id)
        .collect();
    assert_eq!(facts.len(), 1);
    assert_eq!(
        (facts[0].date, facts[0].amount_fen),
        (
            chrono::NaiveDate::from_ymd_opt(2026, 10, 8).unwrap(),
            250_050
        ),
        "the day entered, in the analysis"
    );
    let audit = s.audit_log(20).await.unwrap();
    assert!(
        audit.iter().any(|a| a.action == "create"
            && a.entity == "order"
            && a.entity_id == Some(o.id)
            && a.user_id == Some(f.manager_a.id)),
        "{audit:?}"
    );
    // Without a unit, as imported rows are.
    let plain = s
        .create_order(
            &entry(json!({"customer_id": c.id, "date": "2026-10-09", "amount": "1"})),
            &f.manager_a,
        )
        .await
        .unwrap();
    assert_eq!((plain.fields.unit, plain.fields.quantity), (None, 1));
    assert_eq!(s.orders(c.id).await.unwrap()[0], plain, "newest first");
    assert!(matches!(
        s.create_order(
            &entry(json!({"customer_id": 987_654, "date": "2026-10-09", "amount": "1"})),
            &f.admin
        )
        .await,
        Err(StoreError::NotFound)
    ));
    s.delete_customer(c.id, &f.admin).await.unwrap();
    assert!(matches!(
        s.create_order(
            &entry(json!({"customer_id": c.id, "date": "2026-10-09", "amount": "1"})),
            &f.admin
        )
        .await,
        Err(StoreError::NotFound)
    ));
}

/// A group customer's members: the customers whose parent it is, in scope.
pub(super) async fn group_members(s: &dyn Store, f: &Fixture) {
    let group = named_customer(s, "集团总部", Some(f.manager_a.id), &f.admin).await;
    let other = named_customer(s, "别的集团", Some(f.manager_a.id), &f.admin).await;
    let member = |name: &str, parent: i64| customer(json!({"name": name, "parent_id": parent}));
    let a = s
        .create_customer(
            &member("集团一厂", group.id),
            Some(f.manager_a.id),
            &f.admin,
        )
        .await
        .unwrap();
    let b = s
        .create_customer(
            &member("集团二厂", group.id),
            Some(f.manager_b.id),
            &f.admin,
        )
        .await
        .unwrap();
    s.create_customer(
        &member("别家分厂", other.id),
        Some(f.manager_a.id),
        &f.admin,
    )
    .await
    .unwrap();
    let of = |parent: i64, visibility: Visibility| CustomerFilter {
        parent_id: Some(parent),
        visibility,
        limit: 50,
        ..Default::default()
    };
    let all = s
        .list_customers(&of(group.id, Visibility::All))
        .await
        .unwrap();
    let mut ids: Vec<i64> = all.items.iter().map(|c| c.id).collect();
    ids.sort();
    assert_eq!((all.total, ids), (2, vec![a.id, b.id]));
    let mine = s
        .list_customers(&of(group.id, Visibility::OwnerOrPool(f.manager_a.id)))
        .await
        .unwrap();
    assert_eq!(
        mine.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![a.id],
        "a manager sees only the members they may read"
    );
    assert_eq!(
        s.list_customers(&of(a.id, Visibility::All))
            .await
            .unwrap()
            .total,
        0
    );
}
