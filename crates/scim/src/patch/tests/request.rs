//! The PatchOp message (RFC 7644 §3.5.2): `schemas`, `Operations`, `op`, `path` and `value`.

use super::*;
use crate::schema::USER;

#[test]
fn schemas_must_name_patch_op_when_present() {
    let wrong_schema = json!({"schemas": [USER_SCHEMA], "Operations": [{"op": "add", "value": {}}]});
    assert_eq!(parse_request(&wrong_schema).unwrap_err().scim_type, ScimType::InvalidSyntax);
    // Tolerance: some clients leave `schemas` out; member names are matched case-insensitively.
    let no_schemas = json!({"operations": [{"OP": "Add", "Path": "title", "Value": "x"}]});
    assert_eq!(parse_request(&no_schemas).unwrap().len(), 1);
}

#[test]
fn operations_must_be_a_non_empty_array_of_objects() {
    for ops in [json!([]), json!("x"), json!([7])] {
        assert_eq!(parse_request(&body(ops.clone())).unwrap_err().scim_type, ScimType::InvalidSyntax, "{ops}");
    }
    assert_eq!(parse_request(&json!({"schemas": [PATCH_OP_SCHEMA]})).unwrap_err().scim_type, ScimType::InvalidSyntax);
    assert_eq!(parse_request(&json!([])).unwrap_err().scim_type, ScimType::InvalidSyntax);
}

#[test]
fn op_is_case_insensitive() {
    for name in ["add", "Add", "ADD", "replace", "Replace", "REPLACE", "remove", "Remove"] {
        let ops = parse_request(&body(json!([{"op": name, "path": "title", "value": "x"}]))).unwrap();
        assert_eq!(format!("{:?}", ops[0].op).to_lowercase(), name.to_lowercase());
    }
    let out = ok(&user(), json!([{"op": "ADD", "path": "title", "value": "Lead"}]), &USER);
    assert_eq!(out["title"], json!("Lead"));
}

#[test]
fn unknown_op_is_invalid_syntax() {
    for op in [json!({"op": "move", "path": "a"}), json!({"op": 1}), json!({"path": "a"})] {
        assert_eq!(parse_request(&body(json!([op.clone()]))).unwrap_err().scim_type, ScimType::InvalidSyntax, "{op}");
    }
}

#[test]
fn malformed_path_is_invalid_path() {
    for path in [json!("emails["), json!("name..x"), json!(3), json!("")] {
        let ops = body(json!([{"op": "add", "path": path.clone(), "value": 1}]));
        assert_eq!(parse_request(&ops).unwrap_err().scim_type, ScimType::InvalidPath, "{path}");
    }
}

#[test]
fn add_and_replace_without_value_are_invalid_value() {
    for op in [json!({"op": "add", "path": "active"}), json!({"op": "replace"})] {
        assert_eq!(parse_request(&body(json!([op.clone()]))).unwrap_err().scim_type, ScimType::InvalidValue, "{op}");
    }
    let missing = Operation { op: OpKind::Add, path: Some(crate::path::parse("title").unwrap()), value: None };
    assert_eq!(apply(&user(), &[missing], &USER).unwrap_err().scim_type, ScimType::InvalidValue);
}

#[test]
fn remove_without_path_is_no_target() {
    assert_eq!(parse_request(&body(json!([{"op": "remove"}]))).unwrap_err().scim_type, ScimType::NoTarget);
    let with_value = body(json!([{"op": "remove", "value": {"title": "x"}}]));
    assert_eq!(parse_request(&with_value).unwrap_err().scim_type, ScimType::NoTarget);
    let missing = Operation { op: OpKind::Remove, path: None, value: None };
    assert_eq!(apply(&user(), &[missing], &USER).unwrap_err().scim_type, ScimType::NoTarget);
}

#[test]
fn errors_name_the_failing_operation() {
    let detail = parse_request(&body(json!([{"op": "add", "value": {}}, {"op": "nope"}]))).unwrap_err().detail;
    assert!(detail.starts_with("operation 2: "), "{detail}");
    let ops = json!([{"op": "add", "path": "title", "value": "x"}, {"op": "add", "path": "active.x", "value": 1}]);
    let detail = run(&user(), ops, &USER).unwrap_err().detail;
    assert!(detail.starts_with("operation 2: "), "{detail}");
}
