-- Version 8: each customer's probability of being alive (P(alive), BG/NBD or
-- Pareto/NBD, SPEC §3), written by `POST /analysis/apply` beside the RFM
-- class and the CLV so the customer 360 page shows it. Self-contained: it only
-- adds this column, so it can be renumbered when merged with other work
-- (version 7 is the care tasks' on another branch).
ALTER TABLE customers ADD COLUMN p_alive REAL;
