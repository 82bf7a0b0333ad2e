-- Helpers for SCIM filters on attributes without a column of their own: the filter compiler
-- (src/domain/filter_sql) reads the stored resource with them, with the semantics of the in-memory
-- evaluator (uapi_scim::eval). All are IMMUTABLE, so Postgres may inline or index them.

-- A member of a JSON object by name, ignoring case (SCIM attribute names are case-insensitive,
-- RFC 7643 §2.1); the exact spelling wins. NULL when `obj` is not an object or has no such member.
CREATE FUNCTION scim_get(obj jsonb, name text) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(obj) = 'object' THEN
        coalesce(obj -> name, (SELECT e.value FROM jsonb_each(obj) e WHERE lower(e.key) = lower(name) LIMIT 1))
    END
$$;

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
    SELECT CASE WHEN jsonb_typeof(v) = 'object' THEN scim_get(v, 'value') ELSE v END
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
