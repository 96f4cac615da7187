-- Schema version 14: each customer's search tokens (keqing-store's fts.rs:
-- bigrams of the name, pinyin from each syllable's start, initials and their
-- ordered pairs) as a tsvector of those lexemes, which a GIN index answers:
-- a search narrows to the customers holding its tokens before the name,
-- pinyin or initials test confirms each, instead of testing every customer.
-- The migration code fills the column, then creates the index
-- (customers_search).
ALTER TABLE customers ADD COLUMN search tsvector;
