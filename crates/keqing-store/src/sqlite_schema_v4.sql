-- Version 4: the name search index (see fts.rs). The B-tree indexes on pinyin
-- and initials served no query (a LIKE '%…%' cannot use them) and cost every
-- insert; the FTS5 table replaces them. It is filled from the customers by
-- the migration code that runs this file.
DROP INDEX IF EXISTS customers_pinyin;
DROP INDEX IF EXISTS customers_initials;
CREATE VIRTUAL TABLE IF NOT EXISTS customer_search USING fts5(
    k, name UNINDEXED, pinyin UNINDEXED, initials UNINDEXED,
    tokenize = 'ascii', detail = none
);
