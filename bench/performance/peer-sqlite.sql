-- The peer: the same KPI actuals straight from the raw orders, no perf_daily:
-- every seller's sales by China month of 2026 (6,000 figures).
SELECT seller_id, substr(date(ordered_at, '+8 hours'), 1, 7) AS month, sum(amount_fen)
FROM orders
WHERE ordered_at >= '2025-12-31T16:00:00' AND ordered_at < '2026-12-31T16:00:00'
GROUP BY 1, 2;
