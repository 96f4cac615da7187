//! Activities and orders (SPEC §2).

use super::*;
use crate::records::with_ids;

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
                let now = Utc::now();
                for o in chunk {
                    // A concurrent import of the same order waits, then does
                    // nothing. An order paid already was paid in full: its
                    // one payment is stored with it.
                    let id = query_opt(
                        &t,
                        "INSERT INTO orders (customer_id, external_id, ordered_at, amount_fen, quantity, product, channel, store, due_date, paid_date, unit, seller_id)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, (SELECT owner_id FROM customers WHERE id = $1)) ON CONFLICT (external_id) DO NOTHING
                         RETURNING id",
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
                    .await?
                    .map(|r| get::<i64>(&r, 0))
                    .transpose()?;
                    if let (Some(id), Some(_)) = (id, o.paid_date) {
                        execute(&t, INSERT_FULL_PAYMENT, &[&id, &now]).await?;
                    }
                    let n = u64::from(id.is_some());
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
            if o.paid_date.is_some() {
                execute(&t, INSERT_FULL_PAYMENT, &[&id, &Utc::now()]).await?;
            }
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
            order_in(&t, id).await?.ok_or(StoreError::NotFound)
        })
    }

    async fn orders(&self, customer_id: i64) -> Result<Vec<Order>> {
        let mut client = self.client().await?;
        let t = snapshot(&mut client).await?;
        let orders = query(
            &t,
            &format!("{ORDER_SELECT} WHERE customer_id = $1 ORDER BY ordered_at DESC, id DESC"),
            &[&customer_id],
        )
        .await?
        .iter()
        .map(order_row)
        .collect::<Result<Vec<_>>>()?;
        let payments = query(
            &t,
            &format!("{PAYMENT_SELECT} WHERE order_id IN (SELECT id FROM orders WHERE customer_id = $1) ORDER BY due_date NULLS LAST, id"),
            &[&customer_id],
        )
        .await?
        .iter()
        .map(payment_row)
        .collect::<Result<Vec<_>>>()?;
        t.commit().await.map_err(pg)?;
        Ok(with_payments(orders, payments))
    }

    async fn order(&self, id: i64) -> Result<Option<Order>> {
        let mut client = self.client().await?;
        let t = snapshot(&mut client).await?;
        let o = order_in(&t, id).await?;
        t.commit().await.map_err(pg)?;
        Ok(o)
    }

    async fn update_order(
        &self,
        id: i64,
        version: i64,
        o: &NewOrder,
        changes: &[FieldChange],
        actor: &User,
    ) -> Result<Order> {
        in_tx!(self, |t| {
            let current: i64 = get(
                &query_one(
                    &t,
                    "SELECT version FROM orders WHERE id = $1 FOR UPDATE",
                    &[&id],
                )
                .await?,
                0,
            )?;
            if current != version {
                return Err(StoreError::Conflict {
                    expected: version,
                    current,
                });
            }
            let recorded = recorded_fen(&t, id).await?;
            if o.amount.fen() < recorded {
                return Err(crate::records::below_payments(recorded));
            }
            execute(
                &t,
                "UPDATE orders SET ordered_at = $2, amount_fen = $3, quantity = $4, unit = $5, product = $6, channel = $7, version = version + 1 WHERE id = $1",
                &[
                    &id,
                    &o.ordered_at,
                    &o.amount.fen(),
                    &o.quantity,
                    &o.unit.map(|u| u.as_str()),
                    &o.product,
                    &o.channel,
                ],
            )
            .await?;
            settle(&t, id).await?;
            audit_row(
                &t,
                Some(actor.id),
                "update",
                "order",
                Some(id),
                &with_ids(changes, "customer_id", o.customer_id),
                Utc::now(),
            )
            .await?;
            order_in(&t, id).await?.ok_or(StoreError::NotFound)
        })
    }

    async fn order_history(&self, id: i64) -> Result<Vec<AuditEntry>> {
        let c = self.client().await?;
        query(
            &c,
            "SELECT id, at, user_id, action, entity, entity_id, detail FROM audit_log
             WHERE (entity = 'order' AND entity_id = $1)
                OR (entity = 'payment' AND entity_id IN (SELECT id FROM payments WHERE order_id = $1))
             ORDER BY id",
            &[&id],
        )
        .await?
        .iter()
        .map(super::people::audit_entry)
        .collect()
    }

    async fn add_payment(&self, order_id: i64, p: &NewPayment, actor: &User) -> Result<Payment> {
        in_tx!(self, |t| {
            // The order's row locked: two payments of one order are
            // checked one after the other.
            let amount: i64 = get(
                &query_one(
                    &t,
                    "SELECT amount_fen FROM orders WHERE id = $1 FOR UPDATE",
                    &[&order_id],
                )
                .await?,
                0,
            )?;
            let owed = amount - recorded_fen(&t, order_id).await?;
            if p.amount.fen() > owed {
                return Err(crate::records::over_owed(owed));
            }
            let now = Utc::now();
            let row = query_one(
                &t,
                "INSERT INTO payments (order_id, amount_fen, due_date, paid_date, version, created_at, created_by) VALUES ($1, $2, $3, $4, 1, $5, $6) RETURNING id",
                &[&order_id, &p.amount.fen(), &p.due_date, &p.paid_date, &now, &actor.id],
            )
            .await?;
            let id: i64 = get(&row, 0)?;
            settle(&t, order_id).await?;
            let mut detail = p.to_json();
            detail.insert("order_id".into(), order_id.into());
            audit_row(
                &t,
                Some(actor.id),
                "create",
                "payment",
                Some(id),
                &detail.into(),
                now,
            )
            .await?;
            payment_in(&t, id).await?.ok_or(StoreError::NotFound)
        })
    }

    async fn payment(&self, id: i64) -> Result<Option<Payment>> {
        let c = self.client().await?;
        payment_in(&c, id).await
    }

    async fn update_payment(
        &self,
        id: i64,
        version: i64,
        p: &NewPayment,
        actor: &User,
    ) -> Result<Payment> {
        in_tx!(self, |t| {
            let order_id: i64 = get(
                &query_one(&t, "SELECT order_id FROM payments WHERE id = $1", &[&id]).await?,
                0,
            )?;
            let amount: i64 = get(
                &query_one(
                    &t,
                    "SELECT amount_fen FROM orders WHERE id = $1 FOR UPDATE",
                    &[&order_id],
                )
                .await?,
                0,
            )?;
            let before = payment_in(&t, id).await?.ok_or(StoreError::NotFound)?;
            if before.version != version {
                return Err(StoreError::Conflict {
                    expected: version,
                    current: before.version,
                });
            }
            let owed = amount - recorded_fen(&t, order_id).await? + before.amount.fen();
            if p.amount.fen() > owed {
                return Err(crate::records::over_owed(owed));
            }
            let changes = keqing_domain::history::diff(&before.fields().to_json(), &p.to_json());
            if changes.is_empty() {
                return Ok(before);
            }
            execute(
                &t,
                "UPDATE payments SET amount_fen = $2, due_date = $3, paid_date = $4, version = version + 1 WHERE id = $1",
                &[&id, &p.amount.fen(), &p.due_date, &p.paid_date],
            )
            .await?;
            settle(&t, order_id).await?;
            audit_row(
                &t,
                Some(actor.id),
                "update",
                "payment",
                Some(id),
                &with_ids(&changes, "order_id", order_id),
                Utc::now(),
            )
            .await?;
            payment_in(&t, id).await?.ok_or(StoreError::NotFound)
        })
    }

    async fn receivables(&self, q: &ReceivablesQuery) -> Result<Receivables> {
        let mut p = Params::default();
        let scope = crate::records::receivable_customers(q, &mut p);
        let as_of = p.push(q.as_of);
        // Orders paid in full after `as_of` were open on it; none are when
        // `as_of` is today or later (a paid day is never after today), and
        // then only the open orders are read (the index orders_open).
        let settled_after = if q.as_of < keqing_domain::day::china_today() {
            format!(
                " UNION ALL SELECT o.id, o.customer_id, o.amount_fen, COALESCE(o.due_date, (o.ordered_at AT TIME ZONE 'Asia/Shanghai')::date)
                     FROM orders o JOIN cs ON cs.id = o.customer_id WHERE o.paid_date > {as_of}::date AND (o.ordered_at AT TIME ZONE 'Asia/Shanghai')::date <= {as_of}::date"
            )
        } else {
            String::new()
        };
        let sql = format!(
            "WITH cs AS (SELECT id, name, owner_id FROM customers WHERE {scope}),
             os AS (SELECT o.id, o.customer_id, o.amount_fen,
                           COALESCE(o.due_date, (o.ordered_at AT TIME ZONE 'Asia/Shanghai')::date) AS due
                    FROM orders o JOIN cs ON cs.id = o.customer_id
                    WHERE o.paid_date IS NULL AND (o.ordered_at AT TIME ZONE 'Asia/Shanghai')::date <= {as_of}::date{settled_after}),
             pieces AS (
                SELECT os.customer_id, p.amount_fen AS amount, COALESCE(p.due_date, os.due) AS due
                FROM os JOIN payments p ON p.order_id = os.id
                WHERE p.paid_date IS NULL OR p.paid_date > {as_of}::date
                UNION ALL
                SELECT os.customer_id,
                       os.amount_fen - COALESCE((SELECT sum(amount_fen) FROM payments p WHERE p.order_id = os.id), 0)::bigint,
                       os.due
                FROM os),
             aged AS (SELECT customer_id, amount, due, {as_of}::date - due AS late
                      FROM pieces WHERE amount > 0)
             SELECT cs.id, cs.name, cs.owner_id, u.display_name,
                    sum(amount)::bigint, sum(CASE WHEN late > 0 THEN amount ELSE 0 END)::bigint, min(due),
                    sum(CASE WHEN late <= 0 THEN amount ELSE 0 END)::bigint,
                    sum(CASE WHEN late BETWEEN 1 AND 30 THEN amount ELSE 0 END)::bigint,
                    sum(CASE WHEN late BETWEEN 31 AND 60 THEN amount ELSE 0 END)::bigint,
                    sum(CASE WHEN late BETWEEN 61 AND 90 THEN amount ELSE 0 END)::bigint,
                    sum(CASE WHEN late > 90 THEN amount ELSE 0 END)::bigint
             FROM aged JOIN cs ON cs.id = aged.customer_id LEFT JOIN users u ON u.id = cs.owner_id
             GROUP BY cs.id, cs.name, cs.owner_id, u.display_name
             ORDER BY sum(amount) DESC, cs.id"
        );
        let c = self.client().await?;
        let rows = query(&c, &sql, &p.refs())
            .await?
            .iter()
            .map(|r| {
                Ok((
                    get(r, 0)?,
                    get(r, 1)?,
                    get(r, 2)?,
                    get(r, 3)?,
                    get(r, 4)?,
                    get(r, 5)?,
                    get(r, 6)?,
                    [get(r, 7)?, get(r, 8)?, get(r, 9)?, get(r, 10)?, get(r, 11)?],
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(crate::records::receivables_of(rows, q.limit))
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

/// A paid order's one payment: its full amount, due and paid as the order
/// says ($1 the order, $2 the time).
const INSERT_FULL_PAYMENT: &str =
    "INSERT INTO payments (order_id, amount_fen, due_date, paid_date, version, created_at, created_by)
     SELECT id, amount_fen, due_date, paid_date, 1, $2, NULL FROM orders WHERE id = $1 AND amount_fen > 0";

const ORDER_SELECT: &str = "SELECT id, customer_id, external_id, ordered_at, amount_fen, quantity, product, channel, store, due_date, paid_date, unit, version FROM orders";

const PAYMENT_SELECT: &str = "SELECT id, order_id, amount_fen, due_date, paid_date, version, created_at, created_by FROM payments";

fn order_row(r: &Row) -> Result<(Order, i64)> {
    let fields = NewOrder {
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
    };
    let id = get(r, 0)?;
    Ok((Order::with_payments(id, fields, get(r, 12)?, vec![]), id))
}

fn payment_row(r: &Row) -> Result<Payment> {
    Ok(Payment {
        id: get(r, 0)?,
        order_id: get(r, 1)?,
        amount: keqing_domain::Money(get(r, 2)?),
        due_date: get(r, 3)?,
        paid_date: get(r, 4)?,
        version: get(r, 5)?,
        created_at: get(r, 6)?,
        created_by: get(r, 7)?,
    })
}

/// Orders with their payments (any order), paid and outstanding summed.
fn with_payments(orders: Vec<(Order, i64)>, payments: Vec<Payment>) -> Vec<Order> {
    let mut by_order: HashMap<i64, Vec<Payment>> = HashMap::new();
    for p in payments {
        by_order.entry(p.order_id).or_default().push(p);
    }
    orders
        .into_iter()
        .map(|(o, id)| {
            Order::with_payments(
                id,
                o.fields,
                o.version,
                by_order.remove(&id).unwrap_or_default(),
            )
        })
        .collect()
}

async fn order_in<C: GenericClient>(c: &C, id: i64) -> Result<Option<Order>> {
    let Some(row) = query_opt(c, &format!("{ORDER_SELECT} WHERE id = $1"), &[&id]).await? else {
        return Ok(None);
    };
    let o = order_row(&row)?;
    let payments = query(
        c,
        &format!("{PAYMENT_SELECT} WHERE order_id = $1 ORDER BY due_date NULLS LAST, id"),
        &[&id],
    )
    .await?
    .iter()
    .map(payment_row)
    .collect::<Result<Vec<_>>>()?;
    Ok(with_payments(vec![o], payments).pop())
}

async fn payment_in<C: GenericClient>(c: &C, id: i64) -> Result<Option<Payment>> {
    query_opt(c, &format!("{PAYMENT_SELECT} WHERE id = $1"), &[&id])
        .await?
        .map(|r| payment_row(&r))
        .transpose()
}

/// The sum of an order's payments, paid or not.
async fn recorded_fen<C: GenericClient>(c: &C, order_id: i64) -> Result<i64> {
    get(
        &query_one(
            c,
            "SELECT COALESCE(sum(amount_fen), 0)::bigint FROM payments WHERE order_id = $1",
            &[&order_id],
        )
        .await?,
        0,
    )
}

/// [`crate::records::SETTLE_ORDER`] for one order.
async fn settle<C: GenericClient>(c: &C, order_id: i64) -> Result<()> {
    execute(
        c,
        &crate::records::SETTLE_ORDER.replace("{id}", "$1"),
        &[&order_id],
    )
    .await?;
    Ok(())
}
