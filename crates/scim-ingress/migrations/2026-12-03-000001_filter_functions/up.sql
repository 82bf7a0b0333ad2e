-- What SCIM filters read when no indexed column answers them (src/domain/filter_sql/json.rs).
--
-- `search` is the stored resource with every key and string lower-cased: SCIM attribute names are
-- case-insensitive (RFC 7643 §2.1) and so are the string values a JSON filter compares (the
-- case-exact ones, `id`, `externalId` and member values, have columns or are computed). Lower-
-- casing the JSON text keeps it valid JSON (escapes are lower-case or hex) and costs a few µs per
-- write; reading `search -> 'name'` is then a plain lookup, where a case-insensitive key search
-- per row was ten times slower.
ALTER TABLE users ADD COLUMN search jsonb GENERATED ALWAYS AS (lower(resource::text)::jsonb) STORED;
ALTER TABLE groups ADD COLUMN search jsonb GENERATED ALWAYS AS (lower(resource::text)::jsonb) STORED;

-- The values an attribute holds: each element of an array (a multi-valued attribute), the value
-- itself otherwise, nothing for NULL.
CREATE FUNCTION scim_values(v jsonb) RETURNS SETOF jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT e FROM jsonb_array_elements(CASE WHEN jsonb_typeof(v) = 'array' THEN v ELSE jsonb_build_array(v) END) e
    WHERE v IS NOT NULL
$$;

-- `pr` (RFC 7644 §3.4.2.2): not null, and not an empty string, array or object.
CREATE FUNCTION scim_present(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE jsonb_typeof(v)
        WHEN 'string' THEN v #>> '{}' <> ''
        WHEN 'array' THEN jsonb_array_length(v) > 0
        WHEN 'object' THEN v <> '{}'::jsonb
        WHEN 'null' THEN false
        ELSE v IS NOT NULL
    END
$$;

-- A complex value stands for its `value` sub-attribute when compared (`emails co "x"` means
-- `emails.value co "x"`); any other value for itself.
CREATE FUNCTION scim_simple(v jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(v) = 'object' THEN v -> 'value' ELSE v END
$$;

-- Typed views of a value, NULL when it is of another type: a comparison with a literal of another
-- type never matches.
CREATE FUNCTION scim_text(v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(v) = 'string' THEN v #>> '{}' END
$$;

CREATE FUNCTION scim_number(v jsonb) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(v) = 'number' THEN v::numeric END
$$;

CREATE FUNCTION scim_bool(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(v) = 'boolean' THEN v::boolean END
$$;
