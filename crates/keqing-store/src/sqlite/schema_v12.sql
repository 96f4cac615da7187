-- Version 12: a narrow index for a search whose candidates need no more
-- than their scope and the length of their name: part of a name one or two
-- characters long, whose search tokens are exact (fts.rs), ordered shortest
-- name first. customers_scope (name, pinyin, initials beside the scope) is
-- about four times as wide; joining up to 1,001 candidates to it read most
-- of their pages from outside the reader's cache.
CREATE INDEX customers_rank
    ON customers(id, deleted_at, owner_id, team_id, province, length(name));
