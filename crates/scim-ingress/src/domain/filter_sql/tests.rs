use super::*;

fn compile_on(f: &str, target: &Target) -> ScimResult<SqlFilter> {
    compile(&uapi_scim::filter::parse(f).map_err(ScimError::from)?, target)
}

fn sql(f: &str) -> ScimResult<SqlFilter> {
    compile_on(f, &USERS)
}

fn is_invalid_filter(result: ScimResult<SqlFilter>) -> bool {
    matches!(result, Err(ScimError::Client { scim_type: Some("invalidFilter"), .. }))
}

#[test]
fn okta_lookups_compile_to_indexed_sql_with_binds() {
    let f = sql(r#"userName eq "Test.User@okta.local""#).expect("compiles");
    assert_eq!(f.sql, "lower(user_name) = lower($2)");
    assert_eq!(f.binds, vec!["Test.User@okta.local"]);
    let f = sql(r#"externalId eq "00uAbC" and emails.value eq "A@B.c""#).expect("compiles");
    assert_eq!(f.sql, "(external_id = $2 AND emails @> ARRAY[$3]::text[])");
    assert_eq!(f.binds, vec!["00uAbC", "a@b.c"]);
    assert!(!f.scans);
    let f = sql(r#"emails[value eq "A@B.c"]"#).expect("compiles");
    assert_eq!(f.sql, "emails @> ARRAY[$2]::text[]");
}

#[test]
fn values_and_names_stay_in_binds() {
    let f = sql(r#"userName eq "x' OR '1'='1""#).expect("compiles");
    assert!(!f.sql.contains('\''), "{}", f.sql);
    let f = sql(r#"userName sw "50%_\\""#).expect("compiles");
    assert_eq!(f.binds, vec!["50\\%\\_\\\\%"]);
    let f = sql(r#"urn:x-custom:Ext'--:costCenter eq "a" and name.givenName co "b""#).expect("compiles");
    assert!(!f.sql.contains("costCenter") && !f.sql.contains("givenName") && !f.sql.contains("x-custom"), "{}", f.sql);
    assert_eq!(f.binds, vec!["urn:x-custom:ext'--", "costcenter", "a", "name", "givenname", "%b%"]);
}

#[test]
fn ids_that_are_not_ours_match_nothing() {
    assert_eq!(sql(r#"id eq "010101001010101011001010101011""#).expect("compiles").sql, "FALSE");
}

#[test]
fn ne_and_not_count_a_missing_attribute_as_not_equal() {
    let f = sql(r#"externalId ne "a""#).expect("compiles");
    assert_eq!(f.sql, "NOT COALESCE(external_id = $2, FALSE)");
    let f = sql(r#"not (title eq "x")"#).expect("compiles");
    assert!(f.sql.starts_with("NOT COALESCE(CASE WHEN jsonb_typeof((search -> $2)) = 'array'"), "{}", f.sql);
}

#[test]
fn other_attributes_and_operators_read_the_json() {
    let f = sql(r#"title gt "M""#).expect("compiles");
    // An array is searched element by element; any other value is compared as it is.
    assert_eq!(
        f.sql,
        "CASE WHEN jsonb_typeof((search -> $2)) = 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements((search -> $2)) AS x \
         WHERE scim_text(scim_simple(x)) COLLATE \"C\" > lower($3)) \
         ELSE COALESCE(scim_text(scim_simple((search -> $2))) COLLATE \"C\" > lower($3), FALSE) END"
    );
    assert_eq!(f.binds, vec!["title", "M"]);
    assert!(f.scans);
    let f = sql(r#"emails[type eq "work" and primary eq true]"#).expect("compiles");
    assert!(
        f.sql.starts_with(
            "EXISTS (SELECT 1 FROM scim_values((search -> $2)) AS e1 WHERE jsonb_typeof(e1) = 'object' AND ("
        ),
        "{}",
        f.sql
    );
    let f =
        sql(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1""#).expect("compiles");
    assert!(
        f.sql.contains("jsonb_array_elements(((search -> $2) -> $3)) AS p CROSS JOIN LATERAL scim_values(p -> $4)"),
        "{}",
        f.sql
    );
    assert!(
        sql("meta.lastModified gt \"2026-01-01T00:00:00Z\"")
            .expect("compiles")
            .sql
            .contains("date_trunc('milliseconds', users.updated_at) > $2::timestamptz")
    );
}

#[test]
fn group_lookups_compile_to_indexed_sql() {
    let group = |f: &str| compile_on(f, &GROUPS);
    let f = group(r#"displayName eq "Test SCIMv2""#).expect("compiles");
    assert_eq!(
        (f.sql.as_str(), f.binds.as_slice()),
        ("lower(display_name) = lower($2)", &["Test SCIMv2".to_owned()][..])
    );
    let id = uuid::Uuid::now_v7();
    let f = group(&format!(r#"members[value eq "{id}"] or members.value eq "x""#)).expect("compiles");
    assert_eq!(
        f.sql,
        "(EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = groups.id AND m.user_id = $2::uuid) OR FALSE)"
    );
    assert!(group(r#"members[display co "ali"]"#).expect("compiles").sql.contains("JOIN users u"));
}

#[test]
fn what_the_rfc_refuses_is_invalid_filter() {
    for f in [
        r#"active gt true"#,
        r#"userName co 5"#,
        r#"title lt null"#,
        r#"meta.location eq "x""#,
        r#"meta.created gt "yesterday""#,
    ] {
        assert!(is_invalid_filter(sql(f)), "{f}");
    }
}
