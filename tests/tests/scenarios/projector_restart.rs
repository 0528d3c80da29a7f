//! The projector stopped and restarted while commands keep coming leaves exactly the read model that a
//! rebuild from the first event produces.

use std::time::Duration;

use events::Role;
use projector::READ_MODELS;
use tests::TestApp;

const COURSES: usize = 240;

async fn wait_for_events(app: &TestApp, at_least: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while app.event_count().await < at_least {
        assert!(tokio::time::Instant::now() < deadline, "commands stalled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_the_projector_mid_stream_leaves_the_read_model_a_rebuild_builds() {
    let mut app = TestApp::start().await;
    let tokens: Vec<String> = (0..4).map(|_| app.user(Role::Instructor).1).collect();
    let http = app.http.clone();
    let base = app.url("");
    let writer = tokio::spawn(async move {
        for n in 0..COURSES {
            let token = &tokens[n % tokens.len()];
            let created = http
                .post(format!("{base}/api/v1/courses"))
                .bearer_auth(token)
                .json(&TestApp::course_body(&format!("Course {n}")))
                .send()
                .await
                .expect("create answers");
            assert_eq!(created.status(), 201);
            let body: serde_json::Value = created.json().await.expect("json");
            if n % 2 == 0 {
                let id = body["data"]["id"].as_str().expect("id").to_owned();
                let published = http
                    .post(format!("{base}/api/v1/courses/{id}/publish"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .expect("publish answers");
                assert_eq!(published.status(), 200);
            }
        }
    });

    wait_for_events(&app, 80).await;
    app.stop_projector().await;
    let stopped_at = projector::load_checkpoint(&app.store, READ_MODELS).await.expect("checkpoint");
    wait_for_events(&app, 200).await;
    app.start_projector().await;
    writer.await.expect("all commands accepted");
    app.wait_until_projected().await;
    assert!(stopped_at < app.event_count().await, "the projector was stopped mid-stream");

    let rebuilt = app.rebuild().await;
    let live = TestApp::catalogue(&app.database).await;
    assert_eq!(live.lines().count(), COURSES);
    assert_eq!(live, TestApp::catalogue(&rebuilt).await);
}
