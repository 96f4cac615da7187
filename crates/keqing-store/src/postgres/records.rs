//! Activities and orders (SPEC §2).

use super::*;

#[async_trait]
impl RecordStore for PgStore {
    async fn add_activity(
        &self,
        customer_id: i64,
        a: &NewActivity,
        actor: &User,
    ) -> Result<Activity> {
        let mut a = a.clone();
        in_tx!(self, |t| insert_activity(&t, customer_id, &mut a, actor.id)
            .await)
    }

    async fn add_activity_with_tasks(
        &self,
        customer_id: i64,
        a: &NewActivity,
        tasks: CareTaskBatch,
        actor: &User,
    ) -> Result<Activity> {
        let mut a = a.clone();
        in_tx!(self, |t| {
            let logged = insert_activity(&t, customer_id, &mut a, actor.id).await?;
            super::care::insert_care_batch(&t, &tasks).await?;
            Ok(logged)
        })
    }

    async fn activities(&self, customer_id: i64) -> Result<Vec<Activity>> {
        let c = self.client().await?;
        query(
            &c,
            "SELECT id, customer_id, user_id, at, doc FROM activities WHERE customer_id = $1 ORDER BY at DESC, id DESC",
            &[&customer_id],
        )
        .await?
        .iter()
        .map(|r| {
            let doc: serde_json::Value = get(r, 4)?;
            Ok(Activity {
                id: get(r, 0)?,
                customer_id: get(r, 1)?,
                user_id: get(r, 2)?,
                fields: activity_input(&doc)?,
                at: get(r, 3)?,
            })
        })
        .collect()
    }

    async fn add_orders(&self, orders: &[NewOrder]) -> Result<OrderImportOutcome> {
        let mut out = OrderImportOutcome::default();
        for chunk in orders.chunks(IMPORT_BATCH * 5) {
            let (i, e) = in_tx!(self, |t| {
                let (mut i, mut e) = (0u64, 0u64);
                for o in chunk {
                    // A concurrent import of the same order waits, then does nothing.
                    let n = execute(
                        &t,
                        "INSERT INTO orders (customer_id, external_id, ordered_at, amount_fen, quantity, product, channel, store, due_date, paid_date, unit, seller_id)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, (SELECT owner_id FROM customers WHERE id = $1)) ON CONFLICT (external_id) DO NOTHING",
                        &[
                            &o.customer_id,
                            &o.external_id,
                            &o.ordered_at,
                            &o.amount.fen(),
                            &o.quantity,
                            &o.product,
                            &o.channel,
                            &o.store,
                            &o.due_date,
                            &o.paid_date,
                            &o.unit.map(|u| u.as_str()),
                        ],
                    )
                    .await?;
                    if n == 1 {
                        i += 1
                    } else {
                        e += 1
                    }
                }
                Ok((i, e))
            })?;
            out.imported += i;
            out.existing += e;
        }
        Ok(out)
    }

    async fn create_order(&self, o: &NewOrder, actor: &User) -> Result<Order> {
        in_tx!(self, |t| {
            // FOR SHARE: a concurrent delete of the customer waits for this order.
            let live = query_opt(
                &t,
                "SELECT deleted_at IS NULL FROM customers WHERE id = $1 FOR SHARE",
                &[&o.customer_id],
            )
            .await?;
            match live {
                Some(r) if get::<bool>(&r, 0)? => {}
                _ => return Err(StoreError::NotFound),
            }
            let row = query_one(
                &t,
                "INSERT INTO orders (customer_id, external_id, ordered_at, amount_fen, quantity, product, channel, store, due_date, paid_date, unit, seller_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, (SELECT owner_id FROM customers WHERE id = $1)) RETURNING id",
                &[
                    &o.customer_id,
                    &o.external_id,
                    &o.ordered_at,
                    &o.amount.fen(),
                    &o.quantity,
                    &o.product,
                    &o.channel,
                    &o.store,
                    &o.due_date,
                    &o.paid_date,
                    &o.unit.map(|u| u.as_str()),
                ],
            )
            .await?;
            let id: i64 = get(&row, 0)?;
            audit_row(
                &t,
                Some(actor.id),
                "create",
                "order",
                Some(id),
                &serde_json::json!({"customer_id": o.customer_id, "amount": o.amount}),
                Utc::now(),
            )
            .await?;
            Ok(Order {
                id,
                fields: o.clone(),
            })
        })
    }

    async fn orders(&self, customer_id: i64) -> Result<Vec<Order>> {
        let c = self.client().await?;
        query(
            &c,
            "SELECT id, customer_id, external_id, ordered_at, amount_fen, quantity, product, channel, store, due_date, paid_date, unit
             FROM orders WHERE customer_id = $1 ORDER BY ordered_at DESC, id DESC",
            &[&customer_id],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(Order {
                id: get(r, 0)?,
                fields: NewOrder {
                    customer_id: get(r, 1)?,
                    external_id: get(r, 2)?,
                    ordered_at: get(r, 3)?,
                    amount: keqing_domain::Money(get(r, 4)?),
                    quantity: get(r, 5)?,
                    unit: get::<Option<String>>(r, 11)?
                        .map(|u| keqing_domain::OrderUnit::parse(&u).map_err(db_err))
                        .transpose()?,
                    product: get(r, 6)?,
                    channel: get(r, 7)?,
                    store: get(r, 8)?,
                    due_date: get(r, 9)?,
                    paid_date: get(r, 10)?,
                },
            })
        })
        .collect()
    }

    async fn order_facts(&self) -> Result<Vec<OrderFact>> {
        let c = self.client().await?;
        // The UTC day, as SQLite's substr(ordered_at, 1, 10) of the stored text.
        query(
            &c,
            "SELECT o.customer_id, (o.ordered_at AT TIME ZONE 'UTC')::date, o.amount_fen
             FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.deleted_at IS NULL ORDER BY o.id",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(OrderFact {
                customer_id: get(r, 0)?,
                date: get(r, 1)?,
                amount_fen: get(r, 2)?,
            })
        })
        .collect()
    }
}
