//! Support through HTTP (R6, R25, D9): tickets with threads that are the reporter's and the admins', status
//! changes that only move forward, deletion as a void; corporate access requests, once per course, that an
//! admin resolves (the sagas enrol) or that a course's deletion closes; and the unified list of everything.

use std::time::Duration;

use events::Role;
use reqwest::Method;
use serde_json::{Value, json};
use tests::TestApp;
use uuid::Uuid;

use super::certificates::{course, trainee_named};
use super::commerce::{eventually, get_as};

/// A corporate trainee made by an admin, with a token.
async fn corporate(app: &TestApp, username: &str) -> (Uuid, String) {
    let (_, admin) = app.user(Role::Admin);
    let body = json!({ "kind": "corporate_trainee", "email": format!("{username}@acme.example"), "username": username,
        "password": "a long password", "name": "Lin Wei", "company": "Acme" });
    let created = app.post("/api/v1/admin/users", &admin, Some(&body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.id();
    (id, app.keys.issue(id, Role::CorporateTrainee, Duration::from_secs(600)).expect("signs"))
}

#[tokio::test]
async fn a_ticket_thread_moves_forward_only_and_a_voided_ticket_leaves_the_lists() {
    let app = TestApp::start().await;
    let (_, instructor) = app.instructor("grace", "Grace Hopper").await;
    let about = course(&app, &instructor, "Compilers", 1, false).await;
    let (reporter_id, reporter) = trainee_named(&app, "ada", "Ada Lovelace").await;
    let (_, someone) = trainee_named(&app, "eve", "Eve").await;
    let (_, admin) = app.user(Role::Admin);

    let ticket = json!({ "kind": "technical", "course_id": about.id, "description": "The video stutters" });
    let filed = app.post("/api/v1/reports", &reporter, Some(&ticket)).await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    let id = filed.id();
    let bad = app.post("/api/v1/reports", &reporter, Some(&json!({ "kind": "angry", "description": "x" }))).await;
    assert_eq!(bad.status, 400);
    let empty = app.post("/api/v1/reports", &reporter, Some(&json!({ "kind": "other", "description": " " }))).await;
    assert_eq!((empty.status, empty.body["errors"][0]["field"].clone()), (422, json!("description")));

    // Unseen, its reporter rewrites it; nobody else may.
    let one = format!("/api/v1/reports/{id}");
    let rewritten = json!({ "kind": "technical", "course_id": about.id, "description": "The video stutters at 2:10" });
    let edited = app.call(Method::PUT, &one, &reporter, Some(&rewritten)).await;
    assert_eq!(edited.status, 200, "{:?}", edited.body);
    assert_eq!(app.call(Method::PUT, &one, &someone, Some(&rewritten)).await.status, 404, "not theirs");
    assert_eq!(app.call(Method::PUT, &one, &admin, Some(&rewritten)).await.status, 404, "the reporter's words only");
    let read =
        eventually(&app, &one, &reporter, |body| body["data"]["description"] == "The video stutters at 2:10").await;
    assert_eq!(read["data"]["kind"], "technical");

    let thread = format!("/api/v1/reports/{id}/follow-ups");
    assert_eq!(app.post(&thread, &reporter, Some(&json!({ "text": "Still there" }))).await.status, 201);
    assert_eq!(app.post(&thread, &admin, Some(&json!({ "text": "Looking into it" }))).await.status, 201);
    assert_eq!(app.post(&thread, &someone, Some(&json!({ "text": "Me too" }))).await.status, 404, "not theirs");

    let status = format!("/api/v1/admin/reports/{id}/status");
    for (to, expected) in [("pending", 200), ("resolved", 200), ("pending", 422)] {
        let moved = app.post(&status, &admin, Some(&json!({ "status": to }))).await;
        assert_eq!(moved.status, expected, "{to}: {:?}", moved.body);
    }
    let late = app.call(Method::PUT, &one, &reporter, Some(&rewritten)).await;
    assert_eq!((late.status, late.body["code"].clone()), (422, json!("ticket_not_editable")), "seen: too late");
    let listed = eventually(&app, "/api/v1/admin/reports?kind=technical&status=resolved", &admin, |body| {
        body["total_results"] == 1 && body["data"][0]["follow_ups"].as_array().is_some_and(|f| f.len() == 2)
    })
    .await;
    let row = &listed["data"][0];
    assert_eq!(
        (row["user"]["name"].clone(), row["course"]["title"].clone()),
        (json!("Ada Lovelace"), json!("Compilers"))
    );
    assert_eq!(row["follow_ups"][1]["by_admin"], true);
    let mine = get_as(&app, "/api/v1/me/reports", &reporter).await;
    assert_eq!(
        (mine.body["total_results"].clone(), mine.body["data"][0]["id"].clone()),
        (json!(1), json!(id.to_string()))
    );
    assert_eq!(get_as(&app, "/api/v1/me/reports", &someone).await.body["total_results"], 0);
    // One report by its id: its reporter and admins read it, anyone else finds none.
    let read = get_as(&app, &one, &reporter).await;
    assert_eq!((read.status, read.body["data"]["status"].clone()), (200, json!("resolved")), "{:?}", read.body);
    assert_eq!(get_as(&app, &one, &admin).await.body["data"]["id"], json!(id.to_string()));
    assert_eq!(get_as(&app, &one, &someone).await.status, 404, "not theirs");
    assert_eq!(get_as(&app, "/api/v1/admin/reports?sort=sideways", &admin).await.status, 400);

    assert_eq!(app.call(Method::DELETE, &format!("/api/v1/admin/reports/{id}"), &admin, None).await.status, 200);
    eventually(&app, "/api/v1/admin/reports", &admin, |body| body["total_results"] == 0).await;
    assert_eq!(get_as(&app, &one, &reporter).await.status, 404, "a voided report is gone");
    assert_eq!(app.post(&thread, &reporter, Some(&json!({ "text": "Hello?" }))).await.status, 404, "voided");
    let history = app.database.count("SELECT count(*) FROM events WHERE event_type LIKE 'Report%'").await;
    assert_eq!(history, 7, "the void keeps the history: filed, edited, two follow-ups, two moves, voided");
    let _ = reporter_id;
}

#[tokio::test]
async fn a_corporate_trainee_asks_once_and_is_enrolled_when_an_admin_resolves_it() {
    let app = TestApp::start().await;
    let _sagas = app.start_sagas();
    let (_, instructor) = app.instructor("barbara", "Barbara Liskov").await;
    let wanted = course(&app, &instructor, "Abstraction", 1, false).await;
    let doomed = course(&app, &instructor, "Clu", 1, false).await;
    let (_, token) = corporate(&app, "lin").await;
    let (_, individual) = trainee_named(&app, "ada", "Ada Lovelace").await;
    let (_, admin) = app.user(Role::Admin);

    let ask = |course: Uuid| json!({ "course_id": course });
    let with_reason = json!({ "course_id": wanted.id, "description": "  The data team starts on Monday  " });
    let asked = app.post("/api/v1/course-access-requests", &token, Some(&with_reason)).await;
    assert_eq!(asked.status, 201, "{:?}", asked.body);
    let request_id = asked.id();
    let again = app.post("/api/v1/course-access-requests", &token, Some(&ask(wanted.id))).await;
    assert_eq!((again.status, again.body["code"].clone()), (422, json!("access_already_requested")), "R6");
    let refused = app.post("/api/v1/course-access-requests", &individual, Some(&ask(wanted.id))).await;
    assert_eq!(refused.status, 403, "individual trainees buy");
    // Its thread, like a ticket's: the trainee and admins write on it, nobody else.
    let thread = format!("/api/v1/reports/{request_id}/follow-ups");
    assert_eq!(app.post(&thread, &token, Some(&json!({ "text": "Our team needs it" }))).await.status, 201);
    assert_eq!(app.post(&thread, &admin, Some(&json!({ "text": "Checking your contract" }))).await.status, 201);
    assert_eq!(app.post(&thread, &individual, Some(&json!({ "text": "Me too" }))).await.status, 404);
    let listed = eventually(&app, &format!("/api/v1/reports/{request_id}"), &token, |body| {
        body["data"]["follow_ups"].as_array().is_some_and(|f| f.len() == 2)
    })
    .await;
    assert_eq!(listed["data"]["follow_ups"][1]["by_admin"], true);
    assert_eq!(listed["data"]["follow_ups"][0]["text"], "Our team needs it");
    assert_eq!(listed["data"]["description"], "The data team starts on Monday");
    let stored = "SELECT count(*) FROM events WHERE payload::text LIKE '%data team%'";
    assert_eq!(app.database.count(stored).await, 0, "the description is sealed in the event store");

    let status = format!("/api/v1/admin/course-access-requests/{request_id}/status");
    let skipped = app.post(&status, &admin, Some(&json!({ "status": "resolved" }))).await;
    assert_eq!((skipped.status, skipped.body["code"].clone()), (422, json!("invalid_status_change")), "D9: seen first");
    assert_eq!(app.post(&status, &admin, Some(&json!({ "status": "pending" }))).await.status, 200);
    assert_eq!(app.post(&status, &admin, Some(&json!({ "status": "resolved" }))).await.status, 200);
    let enrolled = eventually(&app, &format!("/api/v1/me/enrollments/{}", wanted.id), &token, |body| {
        body["data"]["enrollment"]["source"] == "corporate_grant"
    })
    .await;
    assert_eq!(enrolled["data"]["enrollment"]["status"], "active");
    let back = app.post(&status, &admin, Some(&json!({ "status": "rejected" }))).await;
    assert_eq!((back.status, back.body["code"].clone()), (422, json!("invalid_status_change")), "final");
    let enrolled_again = app.post("/api/v1/course-access-requests", &token, Some(&ask(wanted.id))).await;
    assert_eq!(enrolled_again.status, 422);

    // A deleted course closes its open requests (Saga 5).
    let doomed_request = app.post("/api/v1/course-access-requests", &token, Some(&ask(doomed.id))).await.id();
    eventually(&app, "/api/v1/admin/reports?kind=course_request&status=unseen", &admin, |body| {
        body["total_results"] == 1 && body["data"].as_array().is_some_and(|rows| rows.len() == 1)
    })
    .await;
    let deleted = app.call(Method::DELETE, &format!("/api/v1/courses/{}", doomed.id), &instructor, None).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    let closed = eventually(&app, "/api/v1/admin/reports?kind=course_request&status=rejected", &admin, |body| {
        body["total_results"] == 1 && body["data"].as_array().is_some_and(|rows| rows.len() == 1)
    })
    .await;
    assert_eq!(closed["data"][0]["id"], doomed_request.to_string());
    let resolved: Value =
        get_as(&app, "/api/v1/admin/reports?kind=course_request,refund&status=resolved", &admin).await.body;
    assert_eq!(resolved["data"][0]["id"], request_id.to_string());
}
