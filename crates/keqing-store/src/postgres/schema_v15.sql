-- Version 15: why a customer changed hands, in the words of whoever handed
-- it over or released it to the pool by hand (issue 25). Self-contained: it
-- only adds this column, so it can be renumbered when merged with other work.
ALTER TABLE ownership_log ADD COLUMN note TEXT;
