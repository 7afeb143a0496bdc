-- The catalog is written a few thousand rows a day and searched all day. GIN's fast update
-- parks new entries in a pending list that every search scans linearly until a vacuum merges
-- it; measured on a freshly loaded catalog, a case-number search spent most of its time
-- there. Insert into the index directly instead, and merge what is pending now.
ALTER INDEX evidence_case_numbers SET (fastupdate = off);
ALTER INDEX evidence_subject_trgm SET (fastupdate = off);
ALTER INDEX evidence_place_trgm SET (fastupdate = off);
SELECT gin_clean_pending_list('evidence_case_numbers'::regclass);
SELECT gin_clean_pending_list('evidence_subject_trgm'::regclass);
SELECT gin_clean_pending_list('evidence_place_trgm'::regclass);
