-- Version 13: the search index's pinyin tokens take eight letters from each
-- syllable's start instead of six (fts.rs; the migration refills the index),
-- so that a pinyin query of up to eight letters (`hengyuan`, `shanghai`) is
-- exact: its candidates need no check of their pinyin and are scoped on the
-- narrow customers_rank instead of customers_scope.
-- And the content table that version 4's search index kept its unindexed
-- columns in: dropping that index in version 11 left it behind, empty (the
-- index since has no content table of its own).
DROP TABLE IF EXISTS customer_search_content;
