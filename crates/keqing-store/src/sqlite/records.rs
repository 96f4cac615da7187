//! Activities and orders (SPEC §2).

use super::*;
use crate::records::with_ids;

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
                    let mut pay = t.prepare_cached(INSERT_FULL_PAYMENT).map_err(sq)?;
                    let now = ts(Utc::now());
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
                        // An imported order paid already was paid in full.
                        if n == 1 && o.paid_date.is_some() {
                            pay.execute(params![t.last_insert_rowid(), now]).map_err(sq)?;
                        }
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
            if o.paid_date.is_some() {
                t.execute(INSERT_FULL_PAYMENT, params![id, now]).map_err(sq)?;
            }
            audit_row(
                t,
                Some(actor),
                "create",
                "order",
                Some(id),
                &serde_json::json!({"customer_id": o.customer_id, "amount": o.amount}),
                &now,
            )?;
            order_in(t, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn orders(&self, customer_id: i64) -> Result<Vec<Order>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached(&format!("{ORDER_SELECT} WHERE customer_id = ?1 ORDER BY ordered_at DESC, id DESC"))
                .map_err(sq)?;
            let orders = rows_of(&mut st, [customer_id], order_row)?;
            let mut st = c
                .prepare_cached(&format!("{PAYMENT_SELECT} WHERE order_id IN (SELECT id FROM orders WHERE customer_id = ?1) ORDER BY due_date IS NULL, due_date, id"))
                .map_err(sq)?;
            let payments = rows_of(&mut st, [customer_id], payment_row)?;
            Ok(with_payments(orders, payments))
        })
        .await
    }

    async fn order(&self, id: i64) -> Result<Option<Order>> {
        self.read(move |c| order_in(c, id)).await
    }

    async fn update_order(
        &self,
        id: i64,
        version: i64,
        o: &NewOrder,
        changes: &[FieldChange],
        actor: &User,
    ) -> Result<Order> {
        let (o, changes, actor) = (o.clone(), changes.to_vec(), actor.id);
        self.tx(move |t| {
            let current: i64 = t
                .query_row("SELECT version FROM orders WHERE id = ?1", [id], |r| r.get(0))
                .optional()
                .map_err(sq)?
                .ok_or(StoreError::NotFound)?;
            if current != version {
                return Err(StoreError::Conflict { expected: version, current });
            }
            let recorded = recorded_fen(t, id)?;
            if o.amount.fen() < recorded {
                return Err(crate::records::below_payments(recorded));
            }
            t.execute(
                "UPDATE orders SET ordered_at = ?2, amount_fen = ?3, quantity = ?4, unit = ?5, product = ?6, channel = ?7, version = version + 1 WHERE id = ?1",
                params![id, ts(o.ordered_at), o.amount.fen(), o.quantity, o.unit.map(|u| u.as_str()), o.product, o.channel],
            )
            .map_err(sq)?;
            settle(t, id)?;
            audit_row(
                t,
                Some(actor),
                "update",
                "order",
                Some(id),
                &with_ids(&changes, "customer_id", o.customer_id),
                &ts(Utc::now()),
            )?;
            order_in(t, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn order_history(&self, id: i64) -> Result<Vec<AuditEntry>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT id, at, user_id, action, entity, entity_id, detail FROM audit_log
                     WHERE (entity = 'order' AND entity_id = ?1)
                        OR (entity = 'payment' AND entity_id IN (SELECT id FROM payments WHERE order_id = ?1))
                     ORDER BY id",
                )
                .map_err(sq)?;
            rows_of(&mut st, [id], super::people::audit_entry)
        })
        .await
    }

    async fn add_payment(&self, order_id: i64, p: &NewPayment, actor: &User) -> Result<Payment> {
        let (p, actor) = (p.clone(), actor.id);
        self.tx(move |t| {
            // The writer's transaction: nothing else writes between the
            // check and the insert.
            let amount: i64 = t
                .query_row("SELECT amount_fen FROM orders WHERE id = ?1", [order_id], |r| r.get(0))
                .optional()
                .map_err(sq)?
                .ok_or(StoreError::NotFound)?;
            let owed = amount - recorded_fen(t, order_id)?;
            if p.amount.fen() > owed {
                return Err(crate::records::over_owed(owed));
            }
            let now = ts(Utc::now());
            t.execute(
                "INSERT INTO payments (order_id, amount_fen, due_date, paid_date, version, created_at, created_by) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6)",
                params![order_id, p.amount.fen(), p.due_date.map(|d| d.to_string()), p.paid_date.map(|d| d.to_string()), now, actor],
            )
            .map_err(sq)?;
            let id = t.last_insert_rowid();
            settle(t, order_id)?;
            let mut detail = p.to_json();
            detail.insert("order_id".into(), order_id.into());
            audit_row(t, Some(actor), "create", "payment", Some(id), &detail.into(), &now)?;
            payment_in(t, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn payment(&self, id: i64) -> Result<Option<Payment>> {
        self.read(move |c| payment_in(c, id)).await
    }

    async fn update_payment(
        &self,
        id: i64,
        version: i64,
        p: &NewPayment,
        actor: &User,
    ) -> Result<Payment> {
        let (p, actor) = (p.clone(), actor.id);
        self.tx(move |t| {
            let before = payment_in(t, id)?.ok_or(StoreError::NotFound)?;
            if before.version != version {
                return Err(StoreError::Conflict { expected: version, current: before.version });
            }
            let amount: i64 = t
                .query_row("SELECT amount_fen FROM orders WHERE id = ?1", [before.order_id], |r| r.get(0))
                .map_err(sq)?;
            let owed = amount - recorded_fen(t, before.order_id)? + before.amount.fen();
            if p.amount.fen() > owed {
                return Err(crate::records::over_owed(owed));
            }
            let changes = keqing_domain::history::diff(&before.fields().to_json(), &p.to_json());
            if changes.is_empty() {
                return Ok(before);
            }
            let now = ts(Utc::now());
            t.execute(
                "UPDATE payments SET amount_fen = ?2, due_date = ?3, paid_date = ?4, version = version + 1 WHERE id = ?1",
                params![id, p.amount.fen(), p.due_date.map(|d| d.to_string()), p.paid_date.map(|d| d.to_string())],
            )
            .map_err(sq)?;
            settle(t, before.order_id)?;
            audit_row(
                t,
                Some(actor),
                "update",
                "payment",
                Some(id),
                &with_ids(&changes, "order_id", before.order_id),
                &now,
            )?;
            payment_in(t, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn receivables(&self, q: &ReceivablesQuery) -> Result<Receivables> {
        let q = q.clone();
        self.read(move |c| {
            let mut p: Vec<SqlValue> = vec![];
            let scope = crate::records::receivable_customers(&q, &mut p);
            let as_of = arg(&mut p, q.as_of.to_string().into());
            // Orders paid in full after `as_of` were open on it; none are when
            // `as_of` is today or later (a paid day is never after today), and
            // then only the open orders are read (the index orders_open).
            let settled_after = if q.as_of < keqing_domain::day::china_today() {
                format!(
                    " UNION ALL SELECT o.id, o.customer_id, o.amount_fen, COALESCE(o.due_date, date(o.ordered_at, '+8 hours'))
                     FROM orders o JOIN cs ON cs.id = o.customer_id WHERE o.paid_date > {as_of} AND date(o.ordered_at, '+8 hours') <= {as_of}"
                )
            } else {
                String::new()
            };
            let sql = format!(
                "WITH cs AS (SELECT id, name, owner_id FROM customers WHERE {scope}),
                 os AS (SELECT o.id, o.customer_id, o.amount_fen,
                               COALESCE(o.due_date, date(o.ordered_at, '+8 hours')) AS due
                        FROM orders o JOIN cs ON cs.id = o.customer_id
                        WHERE o.paid_date IS NULL AND date(o.ordered_at, '+8 hours') <= {as_of}{settled_after}),
                 pieces AS (
                    SELECT os.customer_id, p.amount_fen AS amount, COALESCE(p.due_date, os.due) AS due
                    FROM os JOIN payments p ON p.order_id = os.id
                    WHERE p.paid_date IS NULL OR p.paid_date > {as_of}
                    UNION ALL
                    SELECT os.customer_id,
                           os.amount_fen - COALESCE((SELECT sum(amount_fen) FROM payments p WHERE p.order_id = os.id), 0),
                           os.due
                    FROM os),
                 aged AS (SELECT customer_id, amount, due,
                                 CAST(julianday({as_of}) - julianday(due) AS INTEGER) AS late
                          FROM pieces WHERE amount > 0)
                 SELECT cs.id, cs.name, cs.owner_id, u.display_name,
                        sum(amount), sum(CASE WHEN late > 0 THEN amount ELSE 0 END), min(due),
                        sum(CASE WHEN late <= 0 THEN amount ELSE 0 END),
                        sum(CASE WHEN late BETWEEN 1 AND 30 THEN amount ELSE 0 END),
                        sum(CASE WHEN late BETWEEN 31 AND 60 THEN amount ELSE 0 END),
                        sum(CASE WHEN late BETWEEN 61 AND 90 THEN amount ELSE 0 END),
                        sum(CASE WHEN late > 90 THEN amount ELSE 0 END)
                 FROM aged JOIN cs ON cs.id = aged.customer_id LEFT JOIN users u ON u.id = cs.owner_id
                 GROUP BY cs.id, cs.name, cs.owner_id, u.display_name
                 ORDER BY sum(amount) DESC, cs.id"
            );
            let mut st = c.prepare(&sql).map_err(sq)?;
            let rows = rows_of(&mut st, params_from_iter(p.iter()), |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get::<_, Option<String>>(6)?.map(|s| parse_date(&s)).transpose()?,
                    [r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?],
                ))
            })?;
            Ok(crate::records::receivables_of(rows, q.limit))
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

/// A paid imported order's one payment: its full amount, due and paid as
/// the order says (?1 the order, ?2 the time).
const INSERT_FULL_PAYMENT: &str =
    "INSERT INTO payments (order_id, amount_fen, due_date, paid_date, version, created_at, created_by)
     SELECT id, amount_fen, due_date, paid_date, 1, ?2, NULL FROM orders WHERE id = ?1 AND amount_fen > 0";

const ORDER_SELECT: &str = "SELECT id, customer_id, external_id, ordered_at, amount_fen, quantity, product, channel, store, due_date, paid_date, unit, version FROM orders";

const PAYMENT_SELECT: &str = "SELECT id, order_id, amount_fen, due_date, paid_date, version, created_at, created_by FROM payments";

fn order_row(r: &Row) -> rusqlite::Result<(Order, i64)> {
    let fields = NewOrder {
        customer_id: r.get(1)?,
        external_id: r.get(2)?,
        ordered_at: parse_ts(&r.get::<_, String>(3)?)?,
        amount: keqing_domain::Money(r.get(4)?),
        quantity: r.get(5)?,
        unit: order_unit(r.get::<_, Option<String>>(11)?)?,
        product: r.get(6)?,
        channel: r.get(7)?,
        store: r.get(8)?,
        due_date: opt_date(r.get(9)?)?,
        paid_date: opt_date(r.get(10)?)?,
    };
    let id = r.get(0)?;
    Ok((Order::with_payments(id, fields, r.get(12)?, vec![]), id))
}

fn payment_row(r: &Row) -> rusqlite::Result<Payment> {
    Ok(Payment {
        id: r.get(0)?,
        order_id: r.get(1)?,
        amount: keqing_domain::Money(r.get(2)?),
        due_date: opt_date(r.get(3)?)?,
        paid_date: opt_date(r.get(4)?)?,
        version: r.get(5)?,
        created_at: parse_ts(&r.get::<_, String>(6)?)?,
        created_by: r.get(7)?,
    })
}

fn opt_date(s: Option<String>) -> rusqlite::Result<Option<NaiveDate>> {
    s.map(|s| parse_date(&s)).transpose()
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

fn order_in(c: &Connection, id: i64) -> Result<Option<Order>> {
    let Some(o) = c
        .prepare_cached(&format!("{ORDER_SELECT} WHERE id = ?1"))
        .map_err(sq)?
        .query_row([id], order_row)
        .optional()
        .map_err(sq)?
    else {
        return Ok(None);
    };
    let mut st = c
        .prepare_cached(&format!(
            "{PAYMENT_SELECT} WHERE order_id = ?1 ORDER BY due_date IS NULL, due_date, id"
        ))
        .map_err(sq)?;
    let payments = rows_of(&mut st, [id], payment_row)?;
    Ok(with_payments(vec![o], payments).pop())
}

fn payment_in(c: &Connection, id: i64) -> Result<Option<Payment>> {
    c.prepare_cached(&format!("{PAYMENT_SELECT} WHERE id = ?1"))
        .map_err(sq)?
        .query_row([id], payment_row)
        .optional()
        .map_err(sq)
}

/// The sum of an order's payments, paid or not.
fn recorded_fen(c: &Connection, order_id: i64) -> Result<i64> {
    c.query_row(
        "SELECT COALESCE(sum(amount_fen), 0) FROM payments WHERE order_id = ?1",
        [order_id],
        |r| r.get(0),
    )
    .map_err(sq)
}

/// [`crate::records::SETTLE_ORDER`] for one order.
fn settle(c: &Connection, order_id: i64) -> Result<()> {
    c.prepare_cached(&crate::records::SETTLE_ORDER.replace("{id}", "?1"))
        .map_err(sq)?
        .execute([order_id])
        .map_err(sq)?;
    Ok(())
}
