-- The peer: PostgreSQL's own GROUP BY over the raw orders, no perf_daily:
-- every seller's sales by China month of 2026 (6,000 figures).
SELECT seller_id, date_trunc('month', ordered_at AT TIME ZONE 'Asia/Shanghai') AS month, sum(amount_fen)
FROM orders
WHERE ordered_at >= '2025-12-31T16:00:00Z' AND ordered_at < '2026-12-31T16:00:00Z'
GROUP BY 1, 2;
