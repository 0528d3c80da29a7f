//! Refunds through HTTP (R2 to R5, R7, D2, D3, D5, D9): a trainee who bought two courses from the wallet asks
//! for one back below half progress (the other, at half, is refused), an admin sees the request, acknowledges
//! it, and two admins approve it at once: one refund. The saga credits 70 % to the wallet, takes all but 24 %
//! back from the instructor and revokes the enrolment; the trainee is emailed the decision. A rejection is
//! final and emailed too.

use events::Role;
use mailer::Delivery;
use serde_json::json;
use tests::TestApp;
use tests::smtp::SmtpServer;

use super::certificates::{course, trainee_named};
use super::commerce::{add_to_cart, credit, eventually, get_as, order};

#[tokio::test]
async fn a_refund_below_half_is_approved_once_and_every_cent_goes_where_it_should() {
    let app = TestApp::start().await;
    let smtp = SmtpServer::start().await;
    let _mailer = app.start_mailer(Delivery::Smtp(smtp.url.as_str().into()));
    let _sagas = app.start_sagas();
    let (instructor_id, instructor) = app.instructor("grace", "Grace Hopper").await;
    let kept = course(&app, &instructor, "Compilers", 2, false).await;
    let returned = course(&app, &instructor, "Linkers", 2, false).await;
    let (trainee_id, token) = trainee_named(&app, "ada", "Ada Lovelace").await;
    credit(&app, trainee_id, 5_000).await;
    for bought in [kept.id, returned.id] {
        assert_eq!(add_to_cart(&app, &token, bought).await.status, 201);
    }
    assert_eq!(order(&app, &token).await.status, 201);
    eventually(&app, "/api/v1/me/enrollments", &token, |body| body["total_results"] == 2).await;

    // Half of a course seen: too late (R4).
    let view = format!("/api/v1/enrollments/{}/lessons/{}/view", kept.id, kept.lessons[0]);
    assert_eq!(app.post(&view, &token, None).await.status, 200);
    let reason = json!({ "reason": "Not what I expected" });
    let late = app.post(&format!("/api/v1/enrollments/{}/refund-request", kept.id), &token, Some(&reason)).await;
    assert_eq!((late.status, late.body["code"].clone()), (422, json!("refund_not_allowed_after_half")));

    let path = format!("/api/v1/enrollments/{}/refund-request", returned.id);
    let asked = app.post(&path, &token, Some(&reason)).await;
    assert_eq!(asked.status, 201, "{:?}", asked.body);
    let refund_id = asked.id();
    let again = app.post(&path, &token, Some(&reason)).await;
    assert_eq!((again.status, again.body["code"].clone()), (422, json!("refund_already_requested")), "R5");
    let blank = app.post(&path, &token, Some(&json!({ "reason": 5 }))).await;
    assert_eq!(blank.status, 400);
    let (_, corporate) = app.user(Role::CorporateTrainee);
    assert_eq!(app.post(&path, &corporate, Some(&reason)).await.status, 403, "refunds are for individual trainees");

    let (_, admin) = app.user(Role::Admin);
    let unseen = eventually(&app, "/api/v1/admin/refund-requests?status=unseen", &admin, |body| {
        body["total_results"] == 1 && body["data"].as_array().is_some_and(|rows| rows.len() == 1)
    })
    .await;
    let row = &unseen["data"][0];
    // Its thread, like a ticket's: the trainee and admins write on it, nobody else.
    let thread = format!("/api/v1/reports/{refund_id}/follow-ups");
    assert_eq!(app.post(&thread, &token, Some(&json!({ "text": "It is not the course I meant" }))).await.status, 201);
    assert_eq!(app.post(&thread, &corporate, Some(&json!({ "text": "Me too" }))).await.status, 404);
    let blank = app.post(&thread, &token, Some(&json!({ "text": " " }))).await;
    assert_eq!((blank.status, blank.body["errors"][0]["field"].clone()), (422, json!("text")));
    assert_eq!(
        (row["id"].clone(), row["reason"].clone()),
        (json!(refund_id.to_string()), json!("Not what I expected"))
    );
    assert_eq!((row["trainee_name"].clone(), row["course_title"].clone()), (json!("Ada Lovelace"), json!("Linkers")));
    assert_eq!((row["paid_cents"].clone(), row["progress_at_request"].clone()), (json!(1999), json!(0)));
    let bad_filter = get_as(&app, "/api/v1/admin/refund-requests?status=lost", &admin).await;
    assert_eq!(bad_filter.status, 400);

    let base = format!("/api/v1/admin/refund-requests/{refund_id}");
    assert_eq!(app.post(&format!("{base}/acknowledge"), &admin, None).await.status, 200);
    let (_, other_admin) = app.user(Role::Admin);
    let approve = format!("{base}/approve");
    let (first, second) = tokio::join!(app.post(&approve, &admin, None), app.post(&approve, &other_admin, None));
    let mut statuses = [first.status, second.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 422], "two admins approving at once: one refund ({:?}, {:?})", first.body, second.body);
    let backwards = app.post(&format!("{base}/acknowledge"), &admin, None).await;
    assert_eq!((backwards.status, backwards.body["code"].clone()), (422, json!("refund_already_decided")), "D9");

    // The saga: 70 % to the wallet, the instructor keeps 24 %, the enrolment is revoked; once.
    let wallet =
        eventually(&app, "/api/v1/me/wallet", &token, |body| body["balance"]["amount_cents"] == 5_000 - 3_998 + 1_399)
            .await;
    assert_eq!(wallet["data"][0]["kind"], "refund", "{wallet}");
    let enrolments = eventually(&app, "/api/v1/me/enrollments?limit=10", &token, |body| {
        body["data"].as_array().into_iter().flatten().any(|e| e["refund_status"] == "completed")
    })
    .await;
    let refunded = enrolments["data"].as_array().expect("rows").iter().find(|e| e["refund_status"] == "completed");
    assert_eq!(
        refunded.map(|e| (e["status"].clone(), e["course"]["id"].clone())),
        Some((json!("revoked"), json!(returned.id.to_string())))
    );
    let revenue = eventually(&app, "/api/v1/me/instructor/revenue", &instructor, |body| {
        body["data"]["balance"]["amount_cents"] == 3_198 - 1_120
    })
    .await;
    let month = revenue["data"]["months"]
        .as_array()
        .expect("months")
        .iter()
        .find(|m| m["refunds"]["amount_cents"] != 0)
        .cloned();
    assert_eq!(
        month.map(|m| (m["gross"]["amount_cents"].clone(), m["refunds"]["amount_cents"].clone())),
        Some((json!(3_198), json!(1_120)))
    );
    let count = |event: &str| format!("SELECT count(*) FROM events WHERE event_type = '{event}'");
    assert_eq!(app.database.count(&count("RefundApproved")).await, 1);
    assert_eq!(app.database.count(&count("InstructorEarningReversed")).await, 1);
    assert_eq!(
        app.database
            .count("SELECT count(*) FROM events WHERE event_type = 'WalletCredited' AND payload->>'reason' = 'refund'")
            .await,
        1
    );
    let learn = format!("/api/v1/enrollments/{}/lessons/{}/view", returned.id, returned.lessons[0]);
    let revoked = app.post(&learn, &token, None).await;
    assert_eq!((revoked.status, revoked.body["code"].clone()), (422, json!("enrollment_not_active")));
    let _ = instructor_id;

    let mail = smtp.wait_for("ada@example.com", "approved").await;
    assert!(mail.data.contains("13.99"), "the amount is in the email: {}", mail.data);
    assert!(
        mail.data.contains("text/plain") && mail.data.contains("text/html"),
        "a plain-text and an HTML part: {}",
        mail.data
    );
    let done = eventually(&app, "/api/v1/admin/refund-requests?status=completed", &admin, |body| {
        body["total_results"] == 1 && body["data"].as_array().is_some_and(|rows| rows.len() == 1)
    })
    .await;
    assert_eq!(done["data"][0]["refund_cents"], 1_399);
}

#[tokio::test]
async fn a_rejected_refund_is_final_and_the_trainee_hears_why() {
    let app = TestApp::start().await;
    let smtp = SmtpServer::start().await;
    let _mailer = app.start_mailer(Delivery::Smtp(smtp.url.as_str().into()));
    let _sagas = app.start_sagas();
    let (_, instructor) = app.instructor("barbara", "Barbara Liskov").await;
    let bought = course(&app, &instructor, "Abstraction", 2, false).await;
    let (trainee_id, token) = trainee_named(&app, "alan", "Alan Turing").await;
    credit(&app, trainee_id, 2_000).await;
    assert_eq!(add_to_cart(&app, &token, bought.id).await.status, 201);
    assert_eq!(order(&app, &token).await.status, 201);
    eventually(&app, "/api/v1/me/enrollments", &token, |body| {
        body["total_results"] == 1 && body["data"].as_array().is_some_and(|rows| rows.len() == 1)
    })
    .await;
    let path = format!("/api/v1/enrollments/{}/refund-request", bought.id);
    let refund_id = app.post(&path, &token, Some(&json!({ "reason": "Too fast" }))).await.id();

    let (_, admin) = app.user(Role::Admin);
    let base = format!("/api/v1/admin/refund-requests/{refund_id}");
    let empty = app.post(&format!("{base}/reject"), &admin, Some(&json!({ "reason": " " }))).await;
    assert_eq!((empty.status, empty.body["errors"][0]["field"].clone()), (422, json!("reason")));
    let rejected =
        app.post(&format!("{base}/reject"), &admin, Some(&json!({ "reason": "The course is as described." }))).await;
    assert_eq!(rejected.status, 200, "{:?}", rejected.body);
    let late = app.post(&format!("{base}/approve"), &admin, None).await;
    assert_eq!((late.status, late.body["code"].clone()), (422, json!("refund_already_decided")));
    let unknown =
        app.post(&format!("/api/v1/admin/refund-requests/{}/approve", uuid::Uuid::now_v7()), &admin, None).await;
    assert_eq!(unknown.status, 404);
    let mail = smtp.wait_for("alan@example.com", "not approved").await;
    assert!(mail.data.contains("The course is as described."), "{}", mail.data);
    let view = eventually(&app, &format!("/api/v1/me/enrollments/{}", bought.id), &token, |body| {
        body["data"]["enrollment"]["refund_status"] == "rejected"
    })
    .await;
    assert_eq!(view["data"]["enrollment"]["status"], "active", "a rejected refund keeps the course");
    assert_eq!(
        app.database
            .count("SELECT count(*) FROM events WHERE event_type = 'WalletCredited' AND payload->>'reason' = 'refund'")
            .await,
        0
    );
}
