DROP FUNCTION scim_bool(jsonb);
DROP FUNCTION scim_number(jsonb);
DROP FUNCTION scim_text(jsonb);
DROP FUNCTION scim_simple(jsonb);
DROP FUNCTION scim_present(jsonb);
DROP FUNCTION scim_values(jsonb);
ALTER TABLE groups DROP COLUMN search;
ALTER TABLE users DROP COLUMN search;
