//! PATCH shapes Okta and Entra send to groups, taken apart and folded.

use super::*;

fn ops(body: Value) -> ScimResult<GroupPatch> {
    split(uapi_scim::patch::parse_request(&body).map_err(ScimError::from)?)
}

fn patch(operations: Value) -> GroupPatch {
    ops(json!({ "schemas": [uapi_scim::schema::PATCH_OP_SCHEMA], "Operations": operations })).expect("valid")
}

#[test]
fn okta_membership_update_is_a_remove_and_an_add() {
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let p = patch(json!([
        { "op": "remove", "path": format!("members[value eq \"{a}\"]") },
        { "op": "add", "path": "members", "value": [{ "value": b.to_string(), "display": "b@example.com" }] }
    ]));
    assert_eq!(p.member_ops, vec![MemberOp::Remove(vec![a]), MemberOp::Add(vec![b])]);
    assert!(p.attribute_ops.is_empty());
    let plan = plan(&p.member_ops, None, &HashMap::new());
    assert_eq!(plan, MemberPlan { keep_stored: true, add: vec![b], remove: vec![a] });
}

#[test]
fn rename_with_id_goes_to_the_engine_and_members_in_values_are_taken_out() {
    let a = Uuid::now_v7();
    let p = patch(
        json!([{ "op": "Replace", "value": { "id": "g1", "displayName": "New", "members": [{ "value": a.to_string() }] } }]),
    );
    assert_eq!(p.member_ops, vec![MemberOp::Replace(vec![a])]);
    let (index, op) = &p.attribute_ops[0];
    assert_eq!((*index, op.value.clone()), (0, Some(json!({ "id": "g1", "displayName": "New" }))));
}

#[test]
fn push_now_and_remove_all_replace_the_stored_members() {
    let a = Uuid::now_v7();
    let p = patch(json!([{ "op": "replace", "path": "members", "value": [] }]));
    assert_eq!(plan(&p.member_ops, None, &HashMap::new()), MemberPlan { keep_stored: false, ..Default::default() });
    let p = patch(
        json!([{ "op": "remove", "path": "members" }, { "op": "add", "path": "members", "value": [{ "value": a.to_string() }] }]),
    );
    assert_eq!(
        plan(&p.member_ops, None, &HashMap::new()),
        MemberPlan { keep_stored: false, add: vec![a], remove: vec![] }
    );
}

#[test]
fn adds_deduplicate_and_later_operations_win() {
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let m = |ids: &[Uuid]| json!(ids.iter().map(|i| json!({ "value": i.to_string() })).collect::<Vec<_>>());
    let p = patch(json!([
        { "op": "add", "path": "members", "value": m(&[a, b, a]) },
        { "op": "remove", "path": "members", "value": m(&[b]) },
    ]));
    assert_eq!(
        plan(&p.member_ops, None, &HashMap::new()),
        MemberPlan { keep_stored: true, add: vec![a], remove: vec![b] }
    );
}

#[test]
fn other_filters_see_the_members() {
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let p = patch(json!([{ "op": "remove", "path": "members[display sw \"ann\"]" }]));
    assert!(needs_stored(&p.member_ops));
    let stored = [
        Member { group_id: Uuid::nil(), user_id: a, user_name: "Ann@example.com".into() },
        Member { group_id: Uuid::nil(), user_id: b, user_name: "bob@example.com".into() },
    ];
    assert_eq!(plan(&p.member_ops, Some(&stored), &HashMap::new()).remove, vec![a]);
}

#[test]
fn changing_a_member_is_mutability() {
    for op in [
        json!({ "op": "replace", "path": "members.display", "value": "x" }),
        json!({ "op": "replace", "path": "members[value eq \"x\"].display", "value": "x" }),
        json!({ "op": "add", "path": "members[value eq \"x\"]", "value": { "value": "x" } }),
        json!({ "op": "remove", "path": "members[value eq \"x\"].display" }),
    ] {
        let err = ops(json!({ "Operations": [op] })).expect_err("invalid");
        assert!(
            matches!(err, ScimError::Client { scim_type: Some("mutability"), ref detail, .. } if detail.starts_with("operation 1:")),
            "{err:?}"
        );
    }
}
