-- Version 11: pinyin is matched from the start of a syllable
-- (keqing_domain::search::pinyin_matches): customers.pinyin holds the
-- syllables with a space between them, and the search index has a pinyin
-- token from each syllable's start instead of each letter's. The migration
-- code that runs this file spells every stored name again and rebuilds the
-- index (rebuild_search).
SELECT 1;
