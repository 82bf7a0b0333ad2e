DROP FUNCTION uapi_jsonb_prune(jsonb, int);
DROP FUNCTION uapi_jsonb_depth(jsonb);
