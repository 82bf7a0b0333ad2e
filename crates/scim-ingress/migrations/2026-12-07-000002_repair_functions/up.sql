-- For `scim-ingress repair`: earlier builds accepted resources of any depth; past 126 levels a row
-- can no longer be read (serde_json's recursion limit), past 32 its event cannot be decoded by the
-- consumers. These measure and cut such values in SQL, where the depth does not matter.

-- Levels of objects and arrays in `j`; a scalar is 0.
CREATE FUNCTION uapi_jsonb_depth(j jsonb) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    deepest int := 0;
    child jsonb;
BEGIN
    IF jsonb_typeof(j) = 'object' THEN
        FOR child IN SELECT value FROM jsonb_each(j) LOOP
            deepest := greatest(deepest, uapi_jsonb_depth(child));
        END LOOP;
        RETURN deepest + 1;
    ELSIF jsonb_typeof(j) = 'array' THEN
        FOR child IN SELECT value FROM jsonb_array_elements(j) LOOP
            deepest := greatest(deepest, uapi_jsonb_depth(child));
        END LOOP;
        RETURN deepest + 1;
    END IF;
    RETURN 0;
END
$$;

-- `j` with every object or array below level `levels` replaced by null.
CREATE FUNCTION uapi_jsonb_prune(j jsonb, levels int) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    out jsonb;
    k text;
    child jsonb;
BEGIN
    IF jsonb_typeof(j) NOT IN ('object', 'array') THEN
        RETURN j;
    END IF;
    IF levels <= 0 THEN
        RETURN 'null'::jsonb;
    END IF;
    IF jsonb_typeof(j) = 'object' THEN
        out := '{}'::jsonb;
        FOR k, child IN SELECT key, value FROM jsonb_each(j) LOOP
            out := out || jsonb_build_object(k, uapi_jsonb_prune(child, levels - 1));
        END LOOP;
    ELSE
        out := '[]'::jsonb;
        FOR child IN SELECT value FROM jsonb_array_elements(j) LOOP
            out := out || jsonb_build_array(uapi_jsonb_prune(child, levels - 1));
        END LOOP;
    END IF;
    RETURN out;
END
$$;
