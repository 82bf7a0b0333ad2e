//! The contract's Group in its JSON shape (`{id, remoteId, name, memberIds, createdAt, updatedAt,
//! deletedAt}`), and its conversion to and from the protobuf message of the `group.*` events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{from_ts, ts};
use crate::v1;

/// A group Okta pushed, with the ids of its members (employee ids, which are our SCIM user ids).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: String,
    /// The SCIM `externalId` of the group, when the client sent one.
    pub remote_id: Option<String>,
    pub name: String,
    pub member_ids: Vec<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Group {
    /// Every content field name: what `changedFields` lists for a created group.
    pub fn content_fields() -> Vec<String> {
        ["id", "remoteId", "name", "memberIds"].map(str::to_owned).to_vec()
    }
}

impl From<&Group> for v1::Group {
    fn from(g: &Group) -> Self {
        v1::Group {
            id: g.id.clone(),
            remote_id: g.remote_id.clone(),
            name: g.name.clone(),
            member_ids: g.member_ids.clone(),
            created_at: ts(g.created_at),
            updated_at: ts(g.updated_at),
            deleted_at: ts(g.deleted_at),
        }
    }
}

impl From<&v1::Group> for Group {
    fn from(g: &v1::Group) -> Self {
        Group {
            id: g.id.clone(),
            remote_id: g.remote_id.clone(),
            name: g.name.clone(),
            member_ids: g.member_ids.clone(),
            created_at: from_ts(g.created_at),
            updated_at: from_ts(g.updated_at),
            deleted_at: from_ts(g.deleted_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_protobuf_and_uses_contract_names() {
        let g = Group {
            id: "g1".into(),
            remote_id: Some("00g1".into()),
            name: "Engineering".into(),
            member_ids: vec!["e1".into(), "e2".into()],
            created_at: DateTime::from_timestamp(1_700_000_000, 5_000),
            ..Default::default()
        };
        assert_eq!(Group::from(&v1::Group::from(&g)), g);
        let json = serde_json::to_value(&g).expect("json");
        let mut keys: Vec<&str> = json.as_object().expect("object").keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["createdAt", "deletedAt", "id", "memberIds", "name", "remoteId", "updatedAt"]);
    }
}
