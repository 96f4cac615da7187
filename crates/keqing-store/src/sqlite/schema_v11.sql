-- Version 11: the name search reads pinyin from the start of a syllable
-- (keqing_domain::search::pinyin_matches), and its index holds only tokens.
-- * customers.pinyin holds the syllables with a space between them, and the
--   index has a pinyin token from each syllable's start instead of each
--   letter's;
-- * a candidate is confirmed on the name, pinyin and initials that
--   customers_scope now holds beside the ids and scope it is joined on,
--   instead of on copies in the FTS table: one look-up a candidate instead
--   of two, and an import stores three columns less.
-- The migration code that runs this file spells every stored name again and
-- fills the new index (rebuild_search).
DROP TABLE IF EXISTS customer_search;
CREATE VIRTUAL TABLE customer_search USING fts5(
    k, content = '', contentless_delete = 1, tokenize = 'ascii', detail = none
);
DROP INDEX IF EXISTS customers_scope;
CREATE INDEX customers_scope
    ON customers(id, deleted_at, owner_id, team_id, province, name, pinyin, initials);
