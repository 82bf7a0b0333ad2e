//! The employees API over a projection fed through RabbitMQ: paging, every filter, `updatedAfter`,
//! deleted employees, stale redeliveries, and consumers that never see each other.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{Version, event, spawn_app};

const T0: i64 = 1_800_000_000;

fn ids(page: &Value) -> Vec<String> {
    page["data"].as_array().expect("data").iter().map(|e| e["id"].as_str().expect("id").to_owned()).collect()
}

fn rfc3339(seconds: i64) -> String {
    DateTime::<Utc>::from_timestamp(seconds, 0).expect("time").to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[tokio::test]
async fn lists_page_filter_and_keep_consumers_apart() {
    let app = spawn_app().await;
    let (a, b) = (app.consumer(), app.consumer());
    let group = Uuid::now_v7();
    let mut employees: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
    employees.sort();
    for (i, id) in employees.iter().enumerate() {
        let email = format!("e{i}@example.com");
        let groups = if i % 2 == 0 { vec![group] } else { vec![] };
        let v = Version {
            id: *id,
            version: 1,
            email: &email,
            active: i != 1,
            groups: &groups,
            updated_at: T0 + 10 * i as i64,
        };
        app.publish(&event(&a, v)).await;
    }
    let theirs = Uuid::now_v7();
    let v = Version { id: theirs, version: 1, email: "b@example.com", active: true, groups: &[], updated_at: T0 };
    app.publish(&event(&b, v)).await;
    app.wait_projected(&a, 5).await;
    app.wait_projected(&b, 1).await;
    let all: Vec<String> = employees.iter().map(Uuid::to_string).collect();

    // Paging walks ids in order, never repeating one.
    let mut seen = Vec::new();
    let mut path = "/api/hris/employees?limit=2".to_owned();
    loop {
        let page = app.get_json(&a, &path).await;
        assert!(page["meta"]["itemsOnPage"].as_u64().expect("count") <= 2);
        seen.extend(ids(&page));
        match page["meta"]["next"].as_str() {
            Some(next) => path = format!("/api/hris/employees?limit=2&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen, all);

    let q = |query: &str| format!("/api/hris/employees?{query}");
    assert_eq!(ids(&app.get_json(&a, &q("employmentStatus=INACTIVE")).await), [all[1].clone()]);
    assert_eq!(ids(&app.get_json(&a, &q("employmentStatus=active")).await).len(), 4);
    assert_eq!(ids(&app.get_json(&a, &q("workEmail=E3%40EXAMPLE.COM")).await), [all[3].clone()]);
    assert_eq!(
        ids(&app.get_json(&a, &q(&format!("groupId={group}"))).await),
        [&all[0], &all[2], &all[4]].map(Clone::clone)
    );
    let after = rfc3339(T0 + 25);
    assert_eq!(ids(&app.get_json(&a, &q(&format!("updatedAfter={after}"))).await), all[3..].to_vec());
    for bad in ["employmentStatus=RETIRED", "updatedAfter=yesterday", "limit=0", "cursor=%25%25"] {
        let res = app.get(&a, &q(bad)).await;
        assert_eq!(res.status(), 400, "{bad}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }

    // Consumers never see each other: another consumer's id is a 404 like an unknown one.
    assert_eq!(ids(&app.get_json(&b, &q("")).await), [theirs.to_string()]);
    for (who, id) in [(&b, &all[0]), (&a, &theirs.to_string())] {
        let res = app.get(who, &format!("/api/hris/employees/{id}")).await;
        assert_eq!(res.status(), 404);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }

    // A newer version wins over a stale redelivery; a deleted employee needs includeDeleted.
    let v2 = Version {
        id: employees[0],
        version: 2,
        email: "e0@example.com",
        active: false,
        groups: &[],
        updated_at: T0 + 100,
    };
    app.publish(&event(&a, v2)).await;
    let stale =
        Version { id: employees[0], version: 1, email: "e0@example.com", active: true, groups: &[], updated_at: T0 };
    app.publish(&event(&a, stale)).await;
    let mut deleted = event(
        &a,
        Version {
            id: employees[4],
            version: 2,
            email: "e4@example.com",
            active: true,
            groups: &[],
            updated_at: T0 + 100,
        },
    );
    deleted.event_type = "employee.deleted".to_owned();
    if let Some(e) = deleted.employee.as_mut() {
        e.deleted_at = Some(prost_types::Timestamp { seconds: T0 + 100, nanos: 0 });
    }
    app.publish(&deleted).await;
    app.wait_projected(&a, 8).await;
    let e0 = app.get_json(&a, &format!("/api/hris/employees/{}", all[0])).await;
    assert_eq!((e0["data"]["version"].as_i64(), e0["data"]["employmentStatus"].as_str()), (Some(2), Some("INACTIVE")));
    assert_eq!(app.get(&a, &format!("/api/hris/employees/{}", all[4])).await.status(), 404);
    let shown = app.get_json(&a, &format!("/api/hris/employees/{}?includeDeleted=true", all[4])).await;
    assert!(shown["data"]["deletedAt"].is_string());
    assert_eq!(ids(&app.get_json(&a, &q("")).await).len(), 4);
    assert_eq!(ids(&app.get_json(&a, &q("includeDeleted=true")).await).len(), 5);
    app.shutdown().await;
}
