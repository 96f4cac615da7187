//! Backup and verified restore.

use super::*;

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
pub(super) async fn write_hard_floats(s: &dyn Store) -> Vec<(i64, f64)> {
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
pub(super) async fn a_restore_that_does_not_verify_leaves_nothing(backup: &[u8], to: &dyn Store) {
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
    // Payments come back, and with them the receivables their triggers
    // keep (perf_daily is derived: not in the backup).
    let counts = to.table_counts().await.unwrap();
    assert!(
        counts.iter().any(|(t, k)| t == "payments" && *k > 0),
        "{counts:?}"
    );
    let (a, b) = (day_range(from).await, day_range(to).await);
    assert_eq!(a, b, "receivables by person and day after a restore");
    assert!(!a.is_empty());
    let mut one = std::io::Cursor::new(b"{}\n".to_vec());
    assert!(
        to.import_all(&mut one).await.is_err(),
        "restore refuses a database that is not empty"
    );
}

/// Every receivables total by person and day (metric 3 of perf_daily).
async fn day_range(s: &dyn Store) -> Vec<crate::performance::ActualRow> {
    let d = |y| chrono::NaiveDate::from_ymd_opt(y, 1, 1).unwrap();
    let mut rows = s
        .actuals(
            keqing_domain::performance::Metric::Receivables,
            d(2000),
            d(2100),
            crate::performance::Grain::Day,
            None,
        )
        .await
        .unwrap();
    rows.retain(|r| r.value != 0);
    rows.sort_by_key(|r| (r.user_id, r.period));
    rows
}
