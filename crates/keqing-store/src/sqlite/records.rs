//! Activities and orders (SPEC §2).

use super::*;

#[async_trait]
impl RecordStore for SqliteStore {
    async fn add_activity(
        &self,
        customer_id: i64,
        a: &NewActivity,
        actor: &User,
    ) -> Result<Activity> {
        let (mut a, actor) = (a.clone(), actor.id);
        self.tx(move |t| insert_activity(t, customer_id, &mut a, actor))
            .await
    }

    async fn add_activity_with_tasks(
        &self,
        customer_id: i64,
        a: &NewActivity,
        tasks: CareTaskBatch,
        actor: &User,
    ) -> Result<Activity> {
        let (mut a, actor) = (a.clone(), actor.id);
        self.tx(move |t| {
            let logged = insert_activity(t, customer_id, &mut a, actor)?;
            super::care::insert_care_batch(t, &tasks)?;
            Ok(logged)
        })
        .await
    }

    async fn activities(&self, customer_id: i64) -> Result<Vec<Activity>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached("SELECT id, customer_id, user_id, at, doc FROM activities WHERE customer_id = ?1 ORDER BY at DESC, id DESC")
                .map_err(sq)?;
            let rows = rows_of(&mut st, [customer_id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<i64>>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?)))?;
            rows.into_iter()
                .map(|(id, cid, uid, at, doc)| {
                    Ok(Activity {
                        id,
                        customer_id: cid,
                        user_id: uid,
                        fields: activity_input(&json_col(&doc).map_err(sq)?)?,
                        at: parse_ts(&at).map_err(sq)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn add_orders(&self, orders: &[NewOrder]) -> Result<OrderImportOutcome> {
        let orders = orders.to_vec();
        let mut out = OrderImportOutcome::default();
        for chunk in orders.chunks(IMPORT_BATCH * 5) {
            let chunk = chunk.to_vec();
            let (i, e) = self
                .tx(move |t| {
                    let mut st = t
                        .prepare_cached(
                            "INSERT INTO orders (customer_id, external_id, ordered_at, amount_fen, quantity, product, channel, store, due_date, paid_date, unit, seller_id)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, (SELECT owner_id FROM customers WHERE id = ?1)) ON CONFLICT (external_id) DO NOTHING",
                        )
                        .map_err(sq)?;
                    let (mut i, mut e) = (0u64, 0u64);
                    for o in &chunk {
                        let n = st
                            .execute(params![
                                o.customer_id,
                                o.external_id,
                                ts(o.ordered_at),
                                o.amount.fen(),
                                o.quantity,
                                o.product,
                                o.channel,
                                o.store,
                                o.due_date.map(|d| d.to_string()),
                                o.paid_date.map(|d| d.to_string()),
                                o.unit.map(|u| u.as_str())
                            ])
                            .map_err(sq)?;
                        if n == 1 { i += 1 } else { e += 1 }
                    }
                    Ok((i, e))
                })
                .await?;
            out.imported += i;
            out.existing += e;
        }
        Ok(out)
    }

    async fn create_order(&self, o: &NewOrder, actor: &User) -> Result<Order> {
        let (o, actor) = (o.clone(), actor.id);
        self.tx(move |t| {
            let live: Option<Option<String>> = t
                .query_row(
                    "SELECT deleted_at FROM customers WHERE id = ?1",
                    [o.customer_id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sq)?;
            if !matches!(live, Some(None)) {
                return Err(StoreError::NotFound);
            }
            t.execute(
                "INSERT INTO orders (customer_id, external_id, ordered_at, amount_fen, quantity, product, channel, store, due_date, paid_date, unit, seller_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, (SELECT owner_id FROM customers WHERE id = ?1))",
                params![
                    o.customer_id,
                    o.external_id,
                    ts(o.ordered_at),
                    o.amount.fen(),
                    o.quantity,
                    o.product,
                    o.channel,
                    o.store,
                    o.due_date.map(|d| d.to_string()),
                    o.paid_date.map(|d| d.to_string()),
                    o.unit.map(|u| u.as_str())
                ],
            )
            .map_err(sq)?;
            let id = t.last_insert_rowid();
            let now = ts(Utc::now());
            audit_row(
                t,
                Some(actor),
                "create",
                "order",
                Some(id),
                &serde_json::json!({"customer_id": o.customer_id, "amount": o.amount}),
                &now,
            )?;
            Ok(Order { id, fields: o })
        })
        .await
    }

    async fn orders(&self, customer_id: i64) -> Result<Vec<Order>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached("SELECT id, customer_id, external_id, ordered_at, amount_fen, quantity, product, channel, store, due_date, paid_date, unit FROM orders WHERE customer_id = ?1 ORDER BY ordered_at DESC, id DESC")
                .map_err(sq)?;
            let v = rows_of(&mut st, [customer_id], |r| {
                    Ok(Order {
                        id: r.get(0)?,
                        fields: NewOrder {
                            customer_id: r.get(1)?,
                            external_id: r.get(2)?,
                            ordered_at: parse_ts(&r.get::<_, String>(3)?)?,
                            amount: keqing_domain::Money(r.get(4)?),
                            quantity: r.get(5)?,
                            unit: order_unit(r.get::<_, Option<String>>(11)?)?,
                            product: r.get(6)?,
                            channel: r.get(7)?,
                            store: r.get(8)?,
                            due_date: r.get::<_, Option<String>>(9)?.map(|s| parse_date(&s)).transpose()?,
                            paid_date: r.get::<_, Option<String>>(10)?.map(|s| parse_date(&s)).transpose()?,
                        },
                    })
                })?;
            Ok(v)
        })
        .await
    }

    async fn order_facts(&self) -> Result<Vec<OrderFact>> {
        self.read(|c| {
            let mut st = c
                .prepare("SELECT o.customer_id, substr(o.ordered_at, 1, 10), o.amount_fen FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.deleted_at IS NULL")
                .map_err(sq)?;
            let v = rows_of(&mut st, [], |r| Ok(OrderFact { customer_id: r.get(0)?, date: parse_date(&r.get::<_, String>(1)?)?, amount_fen: r.get(2)? }))?;
            Ok(v)
        })
        .await
    }
}

/// A stored order unit (`yuan`, `case`, `piece`, or NULL).
fn order_unit(v: Option<String>) -> rusqlite::Result<Option<keqing_domain::OrderUnit>> {
    v.map(|s| {
        keqing_domain::OrderUnit::parse(&s).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(11, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}
