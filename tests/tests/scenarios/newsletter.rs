//! The newsletter through HTTP and a real SMTP server: guests and users subscribe (one subscription per
//! address, and the answer never says whether an address was subscribed), each address is mailed a link its
//! owner must follow before anything else is sent to it (double opt-in), an admin's campaign reaches each
//! confirmed subscriber of its audience once, with a plain-text and an HTML part and a signed unsubscribe link that
//! works, and a redelivered campaign sends nothing twice.

use std::time::Duration;

use events::Role;
use mailer::Delivery;
use serde_json::{Value, json};
use tests::TestApp;
use tests::smtp::SmtpServer;

use super::certificates::trainee_named;
use super::commerce::eventually;
use super::email::unquote;

async fn guest(app: &TestApp, path: &str, body: Value) -> tests::app::Answer {
    app.send(app.http.post(app.url(path)), Some(&body)).await
}

async fn count(app: &TestApp, event: &str) -> i64 {
    app.database.count(&format!("SELECT count(*) FROM events WHERE event_type = '{event}'")).await
}

#[tokio::test]
async fn a_campaign_reaches_each_subscriber_once_and_its_link_unsubscribes() {
    let app = TestApp::start().await;
    let smtp = SmtpServer::start().await;
    let _mailer = app.start_mailer(Delivery::Smtp(smtp.url.as_str().into()));
    let sagas = app.start_sagas();
    let (_, admin) = app.user(Role::Admin);
    trainee_named(&app, "ada", "Ada Lovelace").await;

    let subscribe = |email: &str| json!({ "email": email });
    let mut answers = Vec::new();
    for email in ["Fan@Example.com", "fan@example.com", "ada@example.com", "someone.else@example.com"] {
        let answered = guest(&app, "/api/v1/newsletter/subscriptions", subscribe(email)).await;
        assert_eq!(answered.status, 202, "{:?}", answered.body);
        assert_eq!(answered.header("x-consistency-token"), None, "a token would tell addresses apart");
        answers.push(answered.body);
    }
    assert!(answers.iter().all(|answer| *answer == answers[0]), "the same answer for every address: {answers:?}");
    assert_eq!(count(&app, "NewsletterSubscribed").await, 3, "one subscription per address");
    let invalid = guest(&app, "/api/v1/newsletter/subscriptions", subscribe("not an address")).await;
    assert_eq!((invalid.status, invalid.body["errors"][0]["field"].clone()), (422, json!("email")));
    let stored = app.database.count("SELECT count(*) FROM events WHERE payload::text LIKE '%fan@example.com%'").await;
    assert_eq!(stored, 0, "addresses are sealed, and streams are named by a keyed label");
    eventually(&app, "/api/v1/admin/newsletter/subscribers", &admin, |body| body["total_results"] == 3).await;

    // Each address is asked once; two owners follow their link (once more does nothing), the third never does:
    // someone subscribed an address that is not theirs.
    for email in ["fan@example.com", "ada@example.com"] {
        let asked = unquote(&smtp.wait_for(email, "Confirm your Learnlog newsletter").await.data);
        let start = asked.find("token=").expect("a confirmation link") + "token=".len();
        let token: String = asked[start..].chars().take_while(|c| c.is_ascii_hexdigit() || *c == '.').collect();
        for _ in 0..2 {
            let confirmed = guest(&app, "/api/v1/newsletter/confirm", json!({ "token": token })).await;
            assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
        }
    }
    smtp.wait_for("someone.else@example.com", "Confirm your Learnlog newsletter").await;
    let forged = guest(&app, "/api/v1/newsletter/confirm", json!({ "token": "abc.def" })).await;
    assert_eq!((forged.status, forged.body["code"].clone()), (422, json!("invalid_token")));
    assert_eq!(count(&app, "NewsletterSubscriptionConfirmed").await, 2);
    let asked = "SELECT count(*) FROM email_outbox WHERE subject = 'Confirm your Learnlog newsletter'";
    assert_eq!(app.database.count(asked).await, 3, "one request per address, however often it was subscribed");
    eventually(&app, "/api/v1/admin/newsletter/subscribers", &admin, |body| {
        body["data"].as_array().is_some_and(|rows| rows.iter().filter(|row| row["confirmed"] == true).count() == 2)
    })
    .await;
    let found = eventually(&app, "/api/v1/admin/newsletter/subscribers?search=FAN", &admin, |body| {
        body["total_results"] == 1 && body["data"].as_array().is_some_and(|rows| rows.len() == 1)
    })
    .await;
    assert_eq!(found["data"][0]["email"], "fan@example.com");

    let campaign = json!({ "subject": "Spring courses", "html": "<h1>New this spring</h1><p>Rust &amp; more</p>",
        "audience": "subscribers" });
    let created = app.post("/api/v1/admin/newsletter/campaigns", &admin, Some(&campaign)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let report = format!("/api/v1/admin/newsletter/campaigns/{}", created.id());
    eventually(&app, &report, &admin, |body| body["data"]["queued"] == 2).await;
    let mail = smtp.wait_for("fan@example.com", "Spring courses").await;
    smtp.wait_for("ada@example.com", "Spring courses").await;
    let delivered = eventually(&app, &report, &admin, |body| body["data"]["sent"] == 2).await;
    let to_unconfirmed = smtp.received().await.into_iter().filter(|mail| {
        mail.recipients.iter().any(|to| to.contains("someone.else")) && mail.data.contains("Spring courses")
    });
    assert_eq!(to_unconfirmed.count(), 0, "nothing goes to an unconfirmed address");
    assert_eq!((delivered["data"]["failed"].clone(), delivered["data"]["waiting"].clone()), (json!(0), json!(0)));
    assert!(mail.data.contains("text/plain") && mail.data.contains("text/html"), "{}", mail.data);
    let text = unquote(&mail.data);
    assert!(text.contains("Rust & more") || text.contains("Rust &amp; more"), "{text}");
    let start = text.find("token=").expect("an unsubscribe link") + "token=".len();
    let token: String = text[start..].chars().take_while(|c| c.is_ascii_hexdigit() || *c == '.').collect();

    let forged =
        guest(&app, "/api/v1/newsletter/unsubscribe", json!({ "token": format!("{}0", &token[..token.len() - 1]) }))
            .await;
    assert_eq!(forged.status, 422, "{:?}", forged.body);
    let left = guest(&app, "/api/v1/newsletter/unsubscribe", json!({ "token": token })).await;
    assert_eq!(left.status, 200, "{:?}", left.body);
    eventually(&app, "/api/v1/admin/newsletter/subscribers", &admin, |body| {
        body["total_results"] == 2 && body["data"].as_array().is_some_and(|rows| rows.len() == 2)
    })
    .await;

    // The trainees among the subscribers only; and a redelivery sends nothing twice.
    let trainees = json!({ "subject": "For learners", "html": "<p>Hello</p>", "audience": "trainees" });
    let second = app.post("/api/v1/admin/newsletter/campaigns", &admin, Some(&trainees)).await;
    eventually(&app, &format!("/api/v1/admin/newsletter/campaigns/{}", second.id()), &admin, |body| {
        body["data"]["queued"] == 1
    })
    .await;
    drop(sagas);
    app.database.client().await.execute("UPDATE saga_checkpoints SET position = 0", &[]).await.expect("rewound");
    let _sagas = app.start_sagas();
    let last = app.database.count("SELECT max(position) FROM events").await;
    let caught_up = format!("SELECT count(*) FROM saga_checkpoints WHERE position >= {last}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while app.database.count(&caught_up).await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the sagas did not catch up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(count(&app, "CampaignEmailQueued").await, 3);
    assert_eq!(
        app.database
            .count("SELECT count(*) FROM email_outbox WHERE subject IN ('Spring courses', 'For learners')")
            .await,
        3
    );
}
