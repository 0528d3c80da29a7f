//! Reviews and ratings through HTTP (D7, R12): only trainees who learn a course review it, 1 to 5 with a
//! comment of up to 2,000 characters, one review each, editable and deletable; the catalogue's and the
//! instructor's averages (2 decimals, 0 without reviews) follow, so `min_rating`, `sort=rating` and the top
//! instructors by rating work; an erased reviewer's name and comment disappear, their rating stays.

use events::Role;
use reqwest::Method;
use serde_json::json;
use tests::TestApp;
use uuid::Uuid;

use super::certificates::{course, trainee_named};
use super::commerce::eventually;

async fn put(app: &TestApp, path: &str, token: &str, body: serde_json::Value) -> tests::app::Answer {
    app.call(Method::PUT, path, token, Some(&body)).await
}

#[tokio::test]
async fn learners_rate_courses_and_instructors_and_the_averages_follow() {
    let app = TestApp::start().await;
    let (instructor_id, instructor) = app.instructor("grace", "Grace Hopper").await;
    let (_, other_instructor) = app.instructor("alan", "Alan Kay").await;
    let rated = course(&app, &instructor, "Compilers", 1, false).await;
    let unrated = course(&app, &instructor, "Linkers", 1, false).await;
    let elsewhere = course(&app, &other_instructor, "Smalltalk", 1, false).await;
    let (_, admin) = app.user(Role::Admin);
    let mut learners = Vec::new();
    for (username, name) in [("ada", "Ada Lovelace"), ("edsger", "Edsger Dijkstra")] {
        let (id, token) = trainee_named(&app, username, name).await;
        let grant = json!({ "trainee_id": id, "course_id": rated.id });
        assert_eq!(app.post("/api/v1/admin/enrollments", &admin, Some(&grant)).await.status, 201);
        learners.push((id, token));
    }
    let (_, stranger) = trainee_named(&app, "eve", "Eve").await;
    let mine = format!("/api/v1/courses/{}/reviews/mine", rated.id);

    let refused = put(&app, &mine, &stranger, json!({ "rating": 5, "comment": "Great" })).await;
    assert_eq!((refused.status, refused.body["code"].clone()), (422, json!("review_not_allowed")));
    for rating in [0, 6] {
        let invalid = put(&app, &mine, &learners[0].1, json!({ "rating": rating })).await;
        assert_eq!((invalid.status, invalid.body["errors"][0]["field"].clone()), (422, json!("rating")));
    }
    let long = put(&app, &mine, &learners[0].1, json!({ "rating": 5, "comment": "x".repeat(2_001) })).await;
    assert_eq!((long.status, long.body["errors"][0]["field"].clone()), (422, json!("comment")));
    assert_eq!(put(&app, &mine, &learners[0].1, json!({ "rating": -1 })).await.status, 400);

    assert_eq!(put(&app, &mine, &learners[0].1, json!({ "rating": 5, "comment": "Clear and deep" })).await.status, 200);
    assert_eq!(put(&app, &mine, &learners[1].1, json!({ "rating": 4, "comment": "Good" })).await.status, 200);
    let public = format!("/api/v1/courses/{}", rated.id);
    eventually(&app, &public, &stranger, |body| body["data"]["rating"] == json!({ "average": 4.5, "count": 2 })).await;
    assert_eq!(
        put(&app, &mine, &learners[0].1, json!({ "rating": 2, "comment": "On second thought" })).await.status,
        200
    );
    eventually(&app, &public, &stranger, |body| body["data"]["rating"] == json!({ "average": 3.0, "count": 2 })).await;
    // The reviewer reads their own review back (to edit it); someone who wrote none finds nothing.
    let own = eventually(&app, &mine, &learners[0].1, |body| body["data"]["rating"] == 2).await;
    assert_eq!(own["data"]["comment"], "On second thought");
    let none = app.send(app.http.get(app.url(&mine)).bearer_auth(&stranger), None).await;
    assert_eq!(none.status, 404);

    let reviews = app.send(app.http.get(app.url(&format!("{public}/reviews"))), None).await;
    assert_eq!(reviews.body["total_results"], 2);
    let newest = &reviews.body["data"][0];
    assert_eq!((newest["rating"].clone(), newest["reviewer"]["name"].clone()), (json!(4), json!("Edsger Dijkstra")));
    assert_eq!(newest["reviewer"]["country"], "EG");
    assert_eq!(reviews.body["data"][1]["comment"], "On second thought");

    let filtered = app.send(app.http.get(app.url("/api/v1/courses?min_rating=3")), None).await;
    let ids: Vec<_> = filtered.body["data"].as_array().expect("rows").iter().map(|c| c["id"].clone()).collect();
    assert_eq!(ids, [json!(rated.id.to_string())], "min_rating keeps the rated course only");
    let by_rating = app.send(app.http.get(app.url("/api/v1/courses?sort=rating")), None).await;
    assert_eq!(by_rating.body["data"][0]["id"], rated.id.to_string());
    let _ = unrated;

    assert_eq!(app.call(Method::DELETE, &mine, &learners[1].1, None).await.status, 200);
    let twice = app.call(Method::DELETE, &mine, &learners[1].1, None).await;
    assert_eq!(twice.status, 404, "nothing left to delete");
    eventually(&app, &public, &stranger, |body| body["data"]["rating"] == json!({ "average": 2.0, "count": 1 })).await;

    // Instructors: through a course of theirs the trainee learns.
    let theirs = format!("/api/v1/instructors/{instructor_id}/reviews/mine");
    let review = |course: Uuid| json!({ "rating": 5, "comment": "Patient", "course_id": course });
    assert_eq!(put(&app, &theirs, &learners[0].1, review(rated.id)).await.status, 200);
    let wrong = put(&app, &theirs, &learners[1].1, review(elsewhere.id)).await;
    assert_eq!((wrong.status, wrong.body["errors"][0]["field"].clone()), (422, json!("course_id")));
    assert_eq!(put(&app, &theirs, &stranger, review(rated.id)).await.body["code"], "review_not_allowed");
    let profile = format!("/api/v1/instructors/{instructor_id}");
    eventually(&app, &profile, &stranger, |body| body["data"]["rating"] == json!({ "average": 5.0, "count": 1 })).await;
    let top = app.send(app.http.get(app.url("/api/v1/instructors/top?sort=rating")), None).await;
    assert_eq!(top.body["data"][0]["id"], instructor_id.to_string(), "{:?}", top.body);
    let listed = app.send(app.http.get(app.url(&format!("{profile}/reviews"))), None).await;
    assert_eq!(
        (listed.body["total_results"].clone(), listed.body["data"][0]["course_id"].clone()),
        (json!(1), json!(rated.id.to_string()))
    );

    // An erased reviewer: no name, no comment; the rating stays in the average.
    let (erased, _) = learners[0];
    assert_eq!(app.post(&format!("/api/v1/admin/users/{erased}/erase"), &admin, None).await.status, 200);
    let after =
        eventually(&app, &format!("{public}/reviews"), &stranger, |body| body["data"][0]["comment"].is_null()).await;
    assert_eq!(
        (after["data"][0]["reviewer"]["name"].clone(), after["data"][0]["rating"].clone()),
        (json!(null), json!(2))
    );
    let stored = app.database.count("SELECT count(*) FROM events WHERE payload::text LIKE '%On second thought%'").await;
    assert_eq!(stored, 0, "comments are sealed in the event store");
}
