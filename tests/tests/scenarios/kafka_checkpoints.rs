//! A subscriber's checkpoints in PostgreSQL are where it stands; Kafka's committed offsets are only a hint
//! (ARCHITECTURE.md, invariant 32). Here the consumer groups' offsets are moved to the ends of the partitions,
//! past records the subscribers never handled (as a group restored from elsewhere, an operator's reset or
//! read models restored from a backup leave them): the subscribers seek to their own checkpoints when they
//! are handed the partitions, and handle every record after them.

use std::time::Duration;

use events::Role;
use tests::TestApp;
use tests::app::Mode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projector_whose_group_committed_past_its_checkpoint_projects_from_its_checkpoint() {
    let mut app = TestApp::start_kafka().await;
    let (_, token) = app.user(Role::Instructor);
    app.create_course(&token, "Before the stop").await;
    app.wait_until_projected().await;
    app.stop_projector().await;

    let mut published = Vec::new();
    for title in ["Written while stopped", "Also while stopped", "Still stopped"] {
        let course_id = app.create_course(&token, title).await.id();
        let publication = app.post(&format!("/api/v1/courses/{course_id}/publish"), &token, None).await;
        assert_eq!(publication.status, 200, "{:?}", publication.body);
        published.push((course_id, publication.token()));
    }
    let head = app.wait_until_relayed().await;
    let Mode::Kafka { brokers, topic_prefix, group_id, .. } = &app.mode else { unreachable!("Kafka mode") };
    let records = tests::kafka::read_topics_foreign(brokers, topic_prefix, head).await;
    tests::kafka::commit_group_offsets(brokers, group_id, tests::kafka::ends_of(&records)).await;

    app.start_projector().await;
    app.wait_until_projected().await;
    for (course_id, consistency) in published {
        let page = app.get(&format!("/api/v1/courses/{course_id}"), Some(&consistency)).await;
        assert_eq!(page.status, 200, "a course written while the projector was stopped is projected");
        assert_eq!(page.header("x-consistency"), Some("fresh"));
    }
    let reported = app.database.count("SELECT count(*) FROM subscription_gaps").await;
    assert_eq!(reported, 0, "nothing was lost on the way: the consumer read from the checkpoint");
    let rebuilt = app.rebuild().await;
    assert_eq!(TestApp::catalogue(&app.database).await, TestApp::catalogue(&rebuilt).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sagas_whose_group_committed_past_their_checkpoint_act_on_every_record_after_it() {
    let app = TestApp::start_kafka().await;
    let (_, instructor) = app.instructor("grace", "Grace Hopper").await;
    let course_id = app.create_course(&instructor, "Retired before the sagas ran").await.id();
    assert_eq!(app.post(&format!("/api/v1/courses/{course_id}/publish"), &instructor, None).await.status, 200);
    let (_, trainee) = super::commerce::trainee(&app, "ada").await;
    assert_eq!(super::commerce::add_to_cart(&app, &trainee, course_id).await.status, 201);
    let retired = app.post(&format!("/api/v1/courses/{course_id}/retire"), &instructor, None).await;
    assert_eq!(retired.status, 200, "{:?}", retired.body);
    let head = app.wait_until_relayed().await;
    let Mode::Kafka { brokers, topic_prefix, group_id, .. } = &app.mode else { unreachable!("Kafka mode") };
    let records = tests::kafka::read_topics_foreign(brokers, topic_prefix, head).await;
    let stream = format!("course-{course_id}");
    let retirement = records
        .iter()
        .find(|record| record["key"] == stream.as_str() && record["headers"]["event_type"] == "CourseRetired")
        .expect("the retirement is on its topic");
    let retirement_id = retirement["headers"]["event_id"].as_str().expect("an event id").to_owned();
    // The sagas have no checkpoint yet; their group says they are at the end of every partition.
    let sagas_group = format!("{group_id}-sagas");
    tests::kafka::commit_group_offsets(brokers, &sagas_group, tests::kafka::ends_of(&records)).await;

    let _sagas = app.start_sagas();
    let caused = format!("SELECT count(*) FROM events WHERE metadata::json->>'causation_id' = '{retirement_id}'");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while app.database.count(&caused).await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the retirement was never handled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    super::commerce::eventually(&app, "/api/v1/me/cart", &trainee, |cart| cart["total_results"] == 0).await;
    let reported = app.database.count("SELECT count(*) FROM subscription_gaps").await;
    assert_eq!(reported, 0, "the sagas read the partitions from their beginning: nothing was missing");
}
