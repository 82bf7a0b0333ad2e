-- Large JSON values are compressed with lz4 instead of pglz: under load pglz_compress was 1.5 % of
-- the whole box's CPU (perf, docs/performance.md, session 10), lz4 0.3 %. New values only; a server
-- built without lz4 keeps pglz (the ALTER fails with feature_not_supported, which is ignored).
DO $$
BEGIN
    ALTER TABLE users ALTER COLUMN resource SET COMPRESSION lz4, ALTER COLUMN employee SET COMPRESSION lz4, ALTER COLUMN search SET COMPRESSION lz4;
    ALTER TABLE groups ALTER COLUMN resource SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this server has no lz4: large values stay compressed with pglz';
END
$$;
