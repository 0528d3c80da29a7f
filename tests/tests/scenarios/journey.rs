//! The whole marketplace journey as one scenario through HTTP, once embedded and once through Kafka (the
//! projector and the sagas then consume the topics): a trainee signs up, verifies the email, pays a course by
//! card in the sandbox's checkout in a real browser, learns every lesson, fails and passes the exam, gets the
//! certificate by email, reviews the course, buys a second course from the wallet and has it refunded; then
//! the wallet, the instructor's revenue, the catalogue's rating and the admins' reports all show it.

use mailer::Delivery;
use reqwest::Method;
use serde_json::{Value, json};
use tests::TestApp;
use tests::browser::Browser;
use tests::smtp::SmtpServer;

use super::certificates::course;
use super::commerce::{credit, eventually};

async fn guest(app: &TestApp, path: &str, body: Value) -> tests::app::Answer {
    app.send(app.http.post(app.url(path)), Some(&body)).await
}

/// The characters of a mail after `marker` that make a token.
fn after(data: &str, marker: &str) -> String {
    let start = data.find(marker).unwrap_or_else(|| panic!("{marker:?} not in {data}")) + marker.len();
    data[start..].chars().take_while(char::is_ascii_alphanumeric).collect()
}

async fn journey(app: TestApp) {
    let smtp = SmtpServer::start().await;
    let _mailer = app.start_mailer(Delivery::Smtp(smtp.url.as_str().into()));
    let _sagas = app.start_sagas();
    let (instructor_id, instructor) = app.instructor("grace", "Grace Hopper").await;
    let learned = course(&app, &instructor, "Rust for web services", 2, true).await;
    let refunded = course(&app, &instructor, "Async Rust", 2, false).await;
    let (_, admin) = app.user(events::Role::Admin);

    // Sign up, verify the email with the mailed code, log in.
    let email = "ada@example.com";
    let account = json!({ "email": email, "username": "ada", "password": "correct horse battery",
        "name": "Ada Lovelace", "country": "GB" });
    let registered = guest(&app, "/api/v1/auth/register", account).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    let trainee_id = registered.id();
    let code = after(&smtp.wait_for(email, "verification code is").await.data, "verification code is ");
    let verified = guest(&app, "/api/v1/auth/verify-email", json!({ "email": email, "code": code })).await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    let login = guest(&app, "/api/v1/auth/login", json!({ "login": "ada", "password": "correct horse battery" })).await;
    let token = login.body["data"]["access_token"].as_str().expect("an access token").to_owned();
    eventually(&app, "/api/v1/me", &token, |body| body["data"]["email_verified"] == true).await;

    // Pay by card in the sandbox's checkout page.
    assert_eq!(app.post("/api/v1/cart/items", &token, Some(&json!({ "course_id": learned.id }))).await.status, 201);
    let ordered = app.post("/api/v1/orders", &token, Some(&json!({ "method": "card", "country": "GB" }))).await;
    assert_eq!(ordered.status, 201, "{:?}", ordered.body);
    let checkout = ordered.body["data"]["checkout"]["url"].as_str().expect("a checkout").to_owned();
    let browser = Browser::start().await;
    browser.open(&checkout).await;
    browser.pay("4242 4242 4242 4242").await;
    browser.url_when(|url| url.contains("checkout=success")).await;
    browser.close().await;
    let order = format!("/api/v1/me/orders/{}", ordered.id());
    eventually(&app, &order, &token, |body| body["data"]["status"] == "fulfilled").await;

    // Learn every lesson, fail and pass the exam, get the certificate by email.
    let enrolled = format!("/api/v1/me/enrollments/{}", learned.id);
    let view = eventually(&app, &enrolled, &token, |body| body["data"]["exam"].is_array()).await;
    let base = format!("/api/v1/enrollments/{}", learned.id);
    for lesson in &learned.lessons {
        assert_eq!(app.post(&format!("{base}/lessons/{lesson}/view"), &token, None).await.status, 200);
    }
    let exam: Vec<String> = view["data"]["exam"]
        .as_array()
        .expect("an exam")
        .iter()
        .map(|q| q["question_id"].as_str().expect("an id").to_owned())
        .collect();
    let attempt = |answers: Value| json!({ "answers": answers });
    let failed =
        app.post(&format!("{base}/exam-attempts"), &token, Some(&attempt(json!({ exam[0].clone(): 0 })))).await;
    assert_eq!(failed.body["data"]["passed"], false, "{:?}", failed.body);
    let both = json!({ exam[0].clone(): 1, exam[1].clone(): 1 });
    let passed = app.post(&format!("{base}/exam-attempts"), &token, Some(&attempt(both))).await;
    assert_eq!(
        (passed.body["data"]["grade"].clone(), passed.body["data"]["passed"].clone()),
        (json!(100), json!(true))
    );
    let certificate = passed.body["data"]["certificate_id"].as_str().expect("a certificate").to_owned();
    let mail = smtp.wait_for(email, "Your Learnlog certificate").await;
    let pdf = &tests::pdf::read(mail.data.as_bytes()).await[0];
    assert!(pdf.text.contains("Ada Lovelace") && pdf.text.contains(&certificate), "{:?}", pdf.text);
    let code = app.keys.certificates().code(certificate.parse().expect("an id"));
    let verified =
        app.send(app.http.get(app.url(&format!("/api/v1/certificates/{certificate}?code={code}"))), None).await;
    assert_eq!(verified.body["data"]["name"], "Ada Lovelace");

    // Review the course.
    let review = json!({ "rating": 5, "comment": "Clear and practical" });
    let reviewed =
        app.call(Method::PUT, &format!("/api/v1/courses/{}/reviews/mine", learned.id), &token, Some(&review)).await;
    assert_eq!(reviewed.status, 200, "{:?}", reviewed.body);

    // Buy a second course from the wallet and have it refunded.
    credit(&app, trainee_id, 5_000).await;
    assert_eq!(app.post("/api/v1/cart/items", &token, Some(&json!({ "course_id": refunded.id }))).await.status, 201);
    let wallet_order = app.post("/api/v1/orders", &token, Some(&json!({ "method": "wallet", "country": "GB" }))).await;
    assert_eq!(wallet_order.status, 201, "{:?}", wallet_order.body);
    eventually(&app, &format!("/api/v1/me/enrollments/{}", refunded.id), &token, |body| {
        body["data"]["enrollment"].is_object()
    })
    .await;
    let reason = json!({ "reason": "I meant to buy another course" });
    let requested =
        app.post(&format!("/api/v1/enrollments/{}/refund-request", refunded.id), &token, Some(&reason)).await;
    assert_eq!(requested.status, 201, "{:?}", requested.body);
    let approved = app.post(&format!("/api/v1/admin/refund-requests/{}/approve", requested.id()), &admin, None).await;
    assert_eq!(approved.status, 200, "{:?}", approved.body);

    // Everything shows it.
    let wallet =
        eventually(&app, "/api/v1/me/wallet", &token, |body| body["balance"]["amount_cents"] == 5_000 - 1_999 + 1_399)
            .await;
    assert_eq!(wallet["data"][0]["kind"], "refund");
    let revenue = eventually(&app, "/api/v1/me/instructor/revenue", &instructor, |body| {
        body["data"]["balance"]["amount_cents"] == 2 * 1_599 - 1_120
    })
    .await;
    let months = revenue["data"]["months"].as_array().expect("months");
    let gross: i64 = months.iter().map(|m| m["gross"]["amount_cents"].as_i64().unwrap_or(0)).sum();
    let refunds: i64 = months.iter().map(|m| m["refunds"]["amount_cents"].as_i64().unwrap_or(0)).sum();
    assert_eq!((gross, refunds), (2 * 1_599, 1_120));
    let page = eventually(&app, &format!("/api/v1/courses/{}", learned.id), &token, |body| {
        body["data"]["rating"] == json!({ "average": 5.0, "count": 1 })
    })
    .await;
    assert_eq!(page["data"]["exam_grades"], json!({ "average": 50.0, "attempts": 2 }));
    let reports =
        eventually(&app, "/api/v1/admin/reports?kind=refund", &admin, |body| body["data"][0]["status"] == "resolved")
            .await;
    assert_eq!(reports["data"][0]["user"]["name"], "Ada Lovelace");
    // The revocation is the refund saga's last step: it may be projected after the wallet and the revenue.
    let enrolments = eventually(&app, "/api/v1/me/enrollments", &token, |body| {
        body["data"].as_array().into_iter().flatten().any(|e| e["status"] == "revoked")
    })
    .await;
    let statuses: Vec<_> = enrolments["data"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|e| (e["course"]["title"].clone(), e["status"].clone()))
        .collect();
    assert!(statuses.contains(&(json!("Async Rust"), json!("revoked"))), "{statuses:?}");
    assert!(statuses.contains(&(json!("Rust for web services"), json!("active"))), "{statuses:?}");
    smtp.wait_for(email, "was approved").await;
    let _ = instructor_id;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_journey_embedded() {
    journey(TestApp::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_journey_through_kafka() {
    journey(TestApp::start_kafka().await).await;
}
