//! R15 through HTTP, with the providers' sandbox (`learnlog up` runs it) in YouTube's place: a lesson added
//! without minutes takes its video's length, floor(seconds / 60), once the sagas measured it, and the course's
//! hours follow; an instructor's own minutes stay; a lesson given another video without minutes is measured
//! again, one that keeps its minutes is not.

use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};
use tests::TestApp;

use super::commerce::eventually;

/// The minutes the sandbox gives video `id`.
fn sandbox_minutes(id: &str) -> u64 {
    let (_, answer) = learnlog::fx_rates::sandbox_video(id, learnlog::fx_rates::SANDBOX_YOUTUBE_KEY);
    let duration = answer["items"][0]["contentDetails"]["duration"].as_str().expect("a length");
    sagas::lessons::iso_seconds(duration).expect("an ISO 8601 duration") / 60
}

fn minutes_of(page: &Value, lesson: &str) -> Value {
    let lessons = page["data"]["sections"][0]["lessons"].as_array().cloned().unwrap_or_default();
    lessons.into_iter().find(|l| l["id"] == lesson).map_or(Value::Null, |l| l["duration_min"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lesson_without_minutes_takes_its_video_s_length_and_an_instructor_s_minutes_stay() {
    let app = TestApp::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("bound"));
    let (stop_sandbox, stopped) = tokio::sync::oneshot::channel::<()>();
    let sandbox = tokio::spawn(learnlog::fx_rates::serve_sandbox(listener, async move {
        let _ = stopped.await;
    }));
    let key = SecretString::from(learnlog::fx_rates::SANDBOX_YOUTUBE_KEY);
    let lengths = sagas::lessons::VideoLengths::new(&base, key).expect("a client");
    let _sagas = app.start_sagas_measuring(Some(lengths));

    let (_, teacher) = app.instructor("lengthteacher", "Length Teacher").await;
    let course = app.create_course(&teacher, "Measured").await.id();
    let section =
        app.post(&format!("/api/v1/courses/{course}/sections"), &teacher, Some(&json!({ "title": "S" }))).await;
    let lessons = format!("/api/v1/courses/{course}/sections/{}/lessons", section.id());
    let unmeasured = json!({ "title": "Unmeasured", "video_url": "https://youtu.be/dQw4w9WgXcQ" });
    let measured = app.post(&lessons, &teacher, Some(&unmeasured)).await;
    assert_eq!(measured.status, 201, "{:?}", measured.body);
    let given = json!({ "title": "Given", "video_url": "https://youtu.be/9bZkp7q19f0", "duration_min": 30 });
    let kept = app.post(&lessons, &teacher, Some(&given)).await;
    assert_eq!(kept.status, 201, "{:?}", kept.body);
    let published = app.post(&format!("/api/v1/courses/{course}/publish"), &teacher, None).await;
    assert_eq!(published.status, 200, "{:?}", published.body);

    let expected = sandbox_minutes("dQw4w9WgXcQ");
    assert!(expected >= 2, "the sandbox's lengths are 2 minutes or more: {expected}");
    let (measured, kept) = (measured.id().to_string(), kept.id().to_string());
    let page_path = format!("/api/v1/courses/{course}");
    let page = eventually(&app, &page_path, &teacher, |page| minutes_of(page, &measured) == json!(expected)).await;
    assert_eq!(minutes_of(&page, &kept), json!(30), "the instructor's minutes stay");
    let hours = ((expected + 30) / 60).max(1);
    assert_eq!(page["data"]["duration_hours"], json!(hours), "R15: max(1, floor(minutes / 60))");

    // Another video without minutes is measured again; the instructor's lesson keeps its minutes whatever its video.
    let lesson = |id: &str| format!("{lessons}/{id}");
    let other = json!({ "video_url": "https://youtu.be/kJQP7kiw5Fk" });
    assert_eq!(app.call(Method::PATCH, &lesson(&kept), &teacher, Some(&other)).await.status, 200);
    let zero = json!({ "duration_min": 0 });
    assert_eq!(app.call(Method::PATCH, &lesson(&measured), &teacher, Some(&zero)).await.status, 200);
    let again = json!({ "video_url": "https://youtu.be/kJQP7kiw5Fk" });
    assert_eq!(app.call(Method::PATCH, &lesson(&measured), &teacher, Some(&again)).await.status, 200);
    let remeasured = sandbox_minutes("kJQP7kiw5Fk");
    let page = eventually(&app, &page_path, &teacher, |page| minutes_of(page, &measured) == json!(remeasured)).await;
    assert_eq!(minutes_of(&page, &kept), json!(30));
    app.wait_until_sagas_caught_up().await;
    let fills = app
        .database
        .count("SELECT count(*) FROM events WHERE event_type = 'LessonUpdated' AND (metadata::jsonb->>'actor') IS NULL")
        .await;
    assert_eq!(fills, 2, "measured twice: once added, once given another video");
    let _ = stop_sandbox.send(());
    sandbox.await.expect("the sandbox stops");
}
