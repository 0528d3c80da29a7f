//! Learning progress through HTTP (R8): an enrolled trainee's lesson views count once each, progress is the
//! share of lessons seen, and the last opened course is remembered; someone not enrolled gets 404.

use events::Role;
use serde_json::json;
use tests::TestApp;
use uuid::Uuid;

use super::commerce::{eventually, get_as, trainee};

/// A published course with one section of two lessons; its id and the lessons'.
pub(super) async fn course_with_two_lessons(app: &TestApp, instructor: &str) -> (Uuid, [Uuid; 2]) {
    let (course, _, lessons) = course_with_section(app, instructor).await;
    (course, lessons)
}

/// Like [`course_with_two_lessons`], with the section's id.
async fn course_with_section(app: &TestApp, instructor: &str) -> (Uuid, Uuid, [Uuid; 2]) {
    let course = app.create_course(instructor, "Two lessons").await.id();
    let section =
        app.post(&format!("/api/v1/courses/{course}/sections"), instructor, Some(&json!({ "title": "S" }))).await;
    let section = section.id();
    let mut lessons = [Uuid::nil(); 2];
    for (n, lesson) in lessons.iter_mut().enumerate() {
        let body = json!({ "title": format!("L{n}"), "video_url": "https://youtu.be/dQw4w9WgXcQ", "duration_min": 5 });
        let added =
            app.post(&format!("/api/v1/courses/{course}/sections/{section}/lessons"), instructor, Some(&body)).await;
        assert_eq!(added.status, 201, "{:?}", added.body);
        *lesson = added.id();
    }
    assert_eq!(app.post(&format!("/api/v1/courses/{course}/publish"), instructor, None).await.status, 200);
    (course, section, lessons)
}

#[tokio::test]
async fn twenty_views_of_a_lesson_count_once_and_progress_is_the_share_of_lessons_seen() {
    let app = TestApp::start().await;
    let (_, instructor) = app.instructor("grace", "Grace Hopper").await;
    let (course, [first, second]) = course_with_two_lessons(&app, &instructor).await;
    let (trainee_id, token) = trainee(&app, "ada").await;
    let view = |lesson: Uuid| format!("/api/v1/enrollments/{course}/lessons/{lesson}/view");

    let stranger = app.post(&view(first), &token, None).await;
    assert_eq!(stranger.status, 404, "not enrolled: {:?}", stranger.body);
    let (_, admin) = app.user(Role::Admin);
    let granted = app
        .post("/api/v1/admin/enrollments", &admin, Some(&json!({ "trainee_id": trainee_id, "course_id": course })))
        .await;
    assert_eq!(granted.status, 201, "{:?}", granted.body);

    let first_view = view(first);
    let views = (0..20).map(|_| app.post(&first_view, &token, None));
    let answers = futures_util::future::join_all(views).await;
    assert!(
        answers.iter().all(|answer| answer.status == 200),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    let viewed = app.database.count("SELECT count(*) FROM events WHERE event_type = 'LessonViewed'").await;
    assert_eq!(viewed, 1, "twenty views of one lesson count once");
    let path = format!("/api/v1/me/enrollments/{course}");
    let half = eventually(&app, &path, &token, |body| body["data"]["enrollment"]["progress"] == 50).await;
    assert_eq!(half["data"]["enrollment"]["visited_lessons"], json!([first.to_string()]));

    assert_eq!(app.post(&view(second), &token, None).await.status, 200);
    eventually(&app, &path, &token, |body| body["data"]["enrollment"]["progress"] == 100).await;
    let unknown = app.post(&view(Uuid::now_v7()), &token, None).await;
    assert_eq!(unknown.status, 404, "{:?}", unknown.body);

    assert_eq!(
        get_as(&app, "/api/v1/me/last-viewed-course", &token).await.body["data"]["course"]["id"],
        course.to_string()
    );
    let (other, _) = course_with_two_lessons(&app, &instructor).await;
    app.post("/api/v1/admin/enrollments", &admin, Some(&json!({ "trainee_id": trainee_id, "course_id": other }))).await;
    let opened = app.post(&format!("/api/v1/enrollments/{other}/open"), &token, None).await;
    assert_eq!(opened.status, 200, "{:?}", opened.body);
    eventually(&app, "/api/v1/me/last-viewed-course", &token, |body| body["data"]["course"]["id"] == other.to_string())
        .await;
    let list = get_as(&app, "/api/v1/me/enrollments", &token).await;
    let progress: Vec<i64> =
        list.body["data"].as_array().expect("rows").iter().map(|row| row["progress"].as_i64().unwrap_or(-1)).collect();
    assert!(progress.contains(&100) && progress.contains(&0), "{progress:?}");
}

#[tokio::test]
async fn progress_follows_the_lessons_when_the_instructor_removes_or_adds_some() {
    let app = TestApp::start().await;
    let _sagas = app.start_sagas();
    let (_, instructor) = app.instructor("grace", "Grace Hopper").await;
    let (course, section, [first, second]) = course_with_section(&app, &instructor).await;
    let (trainee_id, token) = trainee(&app, "ada").await;
    let (_, admin) = app.user(Role::Admin);
    let grant = json!({ "trainee_id": trainee_id, "course_id": course });
    assert_eq!(app.post("/api/v1/admin/enrollments", &admin, Some(&grant)).await.status, 201);
    let viewed = app.post(&format!("/api/v1/enrollments/{course}/lessons/{first}/view"), &token, None).await;
    assert_eq!(viewed.status, 200, "{:?}", viewed.body);
    let path = format!("/api/v1/me/enrollments/{course}");
    eventually(&app, &path, &token, |body| body["data"]["enrollment"]["progress"] == 50).await;

    let lesson = format!("/api/v1/courses/{course}/sections/{section}/lessons");
    let removed = app.call(reqwest::Method::DELETE, &format!("{lesson}/{second}"), &instructor, None).await;
    assert_eq!(removed.status, 200, "{:?}", removed.body);
    eventually(&app, &path, &token, |body| body["data"]["enrollment"]["progress"] == 100).await;

    for n in 0..2 {
        let body =
            json!({ "title": format!("New {n}"), "video_url": "https://youtu.be/dQw4w9WgXcQ", "duration_min": 5 });
        assert_eq!(app.post(&lesson, &instructor, Some(&body)).await.status, 201);
    }
    eventually(&app, &path, &token, |body| body["data"]["enrollment"]["progress"] == 33).await;
}
