//! A deleted or erased account: its key is destroyed, so a rebuild reads the person's words as erased; the
//! live read models must forget the same things, table for table, and the person's cart and wishlist are
//! emptied (DOMAIN.md). Three trainees who bought, reviewed, asked for a refund, filed a ticket, wrote to their
//! teacher and kept notes go three ways: `DELETE /me`, an admin's delete, an admin's erasure.

use events::Role;
use serde_json::json;
use tests::TestApp;
use uuid::Uuid;

use super::certificates::{course, trainee_named};
use super::commerce::{add_to_cart, credit, eventually, order};

/// Everything a trainee leaves in the read models, with words of their own in each.
async fn a_trainee_with_a_past(app: &TestApp, name: &str, bought: Uuid, listed: Uuid, teacher: Uuid) -> (Uuid, String) {
    let (admin_id, admin) = app.user(Role::Admin);
    let (id, token) = trainee_named(app, name, &format!("{name} Person")).await;
    credit(app, id, 5_000).await;
    assert_eq!(add_to_cart(app, &token, bought).await.status, 201);
    assert_eq!(order(app, &token).await.status, 201);
    eventually(app, "/api/v1/me/enrollments", &token, |body| body["total_results"] == 1).await;
    let review = json!({ "rating": 4, "comment": format!("{name} says the course is fine") });
    let reviewed =
        app.call(reqwest::Method::PUT, &format!("/api/v1/courses/{bought}/reviews/mine"), &token, Some(&review)).await;
    assert_eq!(reviewed.status, 200, "{:?}", reviewed.body);
    let review = json!({ "rating": 5, "course_id": bought, "comment": format!("{name} likes the teacher") });
    let path = format!("/api/v1/instructors/{teacher}/reviews/mine");
    let reviewed = app.call(reqwest::Method::PUT, &path, &token, Some(&review)).await;
    assert_eq!(reviewed.status, 200, "{:?}", reviewed.body);
    let reason = json!({ "reason": format!("{name} wants the money back") });
    let asked = app.post(&format!("/api/v1/enrollments/{bought}/refund-request"), &token, Some(&reason)).await;
    assert_eq!(asked.status, 201, "{:?}", asked.body);
    let ticket = json!({ "kind": "other", "description": format!("{name} cannot find the exam") });
    let filed = app.post("/api/v1/reports", &token, Some(&ticket)).await;
    assert_eq!(filed.status, 201, "{:?}", filed.body);
    let follow_ups = format!("/api/v1/reports/{}/follow-ups", filed.id());
    let mine = app.post(&follow_ups, &token, Some(&json!({ "text": format!("{name} still cannot") }))).await;
    assert_eq!(mine.status, 201, "{:?}", mine.body);
    let answered = app.post(&follow_ups, &admin, Some(&json!({ "text": format!("Admin {admin_id} helps") }))).await;
    assert_eq!(answered.status, 201, "{:?}", answered.body);
    let message = json!({ "text": format!("{name} writes to the teacher"), "course_id": bought });
    let sent = app.post(&format!("/api/v1/me/conversations/{teacher}/messages"), &token, Some(&message)).await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    let notes = json!({ "title": format!("{name}'s notes"), "text": format!("{name}'s private notes") });
    let noted = app.post(&format!("/api/v1/me/notes/{bought}"), &token, Some(&notes)).await;
    assert_eq!(noted.status, 201, "{:?}", noted.body);
    assert_eq!(add_to_cart(app, &token, listed).await.status, 201);
    let wished = app.post("/api/v1/wishlist/items", &token, Some(&json!({ "course_id": listed }))).await;
    assert_eq!(wished.status, 201, "{:?}", wished.body);
    (id, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_deletion_or_an_erasure_the_live_read_models_equal_a_rebuild() {
    let app = TestApp::start().await;
    let _sagas = app.start_sagas();
    let (_, admin) = app.user(Role::Admin);
    let (teacher_id, teacher) = app.instructor("deletionteacher", "Deletion Teacher").await;
    let bought = course(&app, &teacher, "Forgetting", 2, false).await.id;
    let listed = course(&app, &teacher, "Remembering", 2, false).await.id;
    let (by_self, own_token) = a_trainee_with_a_past(&app, "selfdeleted", bought, listed, teacher_id).await;
    let (by_admin, _) = a_trainee_with_a_past(&app, "admindeleted", bought, listed, teacher_id).await;
    let (erased, _) = a_trainee_with_a_past(&app, "erased", bought, listed, teacher_id).await;
    let (kept, kept_token) = a_trainee_with_a_past(&app, "kept", bought, listed, teacher_id).await;

    let gone = app.call(reqwest::Method::DELETE, "/api/v1/me", &own_token, None).await;
    assert_eq!(gone.status, 200, "{:?}", gone.body);
    let gone = app.call(reqwest::Method::DELETE, &format!("/api/v1/admin/users/{by_admin}"), &admin, None).await;
    assert_eq!(gone.status, 200, "{:?}", gone.body);
    let gone = app.post(&format!("/api/v1/admin/users/{erased}/erase"), &admin, None).await;
    assert_eq!(gone.status, 200, "{:?}", gone.body);

    // The sagas empty the three lists of each person who left; the one who stayed keeps theirs.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let emptied = "SELECT count(*) FROM events WHERE event_type IN ('CourseRemovedFromCart', \
                   'CourseRemovedFromWishlist') AND (stream_id LIKE 'cart-%' OR stream_id LIKE 'wishlist-%')";
    // Each trainee's bought course left the cart when the order was fulfilled: one removal each, then two more
    // (cart and wishlist) for each of the three who left.
    while app.database.count(emptied).await < 4 + 3 * 2 {
        assert!(tokio::time::Instant::now() < deadline, "the lists were not emptied");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.wait_until_projected().await;
    let cart = eventually(&app, "/api/v1/me/cart", &kept_token, |body| body["data"].is_array()).await;
    assert_eq!(cart["data"].as_array().map(Vec::len), Some(1), "{cart}");

    let live = TestApp::read_models(&app.database).await;
    let rebuilt = TestApp::read_models(&app.rebuild().await).await;
    let differences: Vec<String> = diff(&live, &rebuilt);
    assert!(differences.is_empty(), "the live read models differ from a rebuild:\n{}", differences.join("\n"));
    for (person, name) in [(by_self, "selfdeleted"), (by_admin, "admindeleted"), (erased, "erased")] {
        assert!(!live.contains(&format!("{name} ")), "{name}'s words are still in the read models");
        assert!(!live.contains(&format!("{name}'s")), "{name}'s notes are still in the read models");
        for table in ["cart_item", "wishlist_item"] {
            let held = format!("SELECT count(*) FROM {table} WHERE trainee_id = '{person}'");
            assert_eq!(app.database.count(&held).await, 0, "{name}'s {table}");
        }
    }
    assert!(live.contains("kept says the course is fine"), "the one who stayed keeps their words");
    let reviews = app.get(&format!("/api/v1/courses/{bought}/reviews"), None).await;
    let comments: Vec<_> =
        reviews.body["data"].as_array().expect("reviews").iter().map(|r| r["comment"].clone()).collect();
    assert_eq!(comments.iter().filter(|c| c.is_null()).count(), 3, "{comments:?}");
    let _ = kept;
}

/// The lines of `live` not in `rebuilt` and the other way round, each marked.
fn diff(live: &str, rebuilt: &str) -> Vec<String> {
    let (live, rebuilt): (Vec<&str>, Vec<&str>) = (live.lines().collect(), rebuilt.lines().collect());
    let only_live = live.iter().filter(|line| !rebuilt.contains(line)).map(|line| format!("live:    {line}"));
    let only_rebuilt = rebuilt.iter().filter(|line| !live.contains(line)).map(|line| format!("rebuilt: {line}"));
    only_live.chain(only_rebuilt).collect()
}
