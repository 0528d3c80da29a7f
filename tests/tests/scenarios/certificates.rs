//! Exercises, the exam, completion and certificates through HTTP (R9, R10, D1, D6): a trainee enrolled by a
//! wallet order learns every lesson, fails and then passes the exam, and receives exactly one certificate
//! email on a real SMTP server, whose PDF a reader that is not Learnlog's (pypdf) parses back; anyone can
//! verify the certificate; a fourth attempt is refused; redelivered events send no second email; names in
//! Arabic and Chinese render with embedded fonts, and an erased account's certificate shows no name.

use std::time::Duration;

use events::Role;
use mailer::Delivery;
use reqwest::Method;
use serde_json::{Value, json};
use tests::TestApp;
use tests::smtp::SmtpServer;
use uuid::Uuid;

use super::commerce::{add_to_cart, credit, eventually, get_as, order};

/// A signed-up individual trainee called `name` (any script), with a token.
pub(crate) async fn trainee_named(app: &TestApp, username: &str, name: &str) -> (Uuid, String) {
    let body = json!({ "email": format!("{username}@example.com"), "username": username,
        "password": "correct horse battery", "name": name, "country": "eg" });
    let answer = app.send(app.http.post(app.url("/api/v1/auth/register")), Some(&body)).await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let id = answer.id();
    (id, app.keys.issue(id, Role::IndividualTrainee, Duration::from_secs(600)).expect("signs"))
}

/// What a published course of `lessons` lessons is made of.
pub(crate) struct Course {
    pub(crate) id: Uuid,
    pub(crate) lessons: Vec<Uuid>,
    exercise: Uuid,
}

fn question(text: &str) -> Value {
    json!({ "question": text, "options": ["no", "yes", "maybe"], "answer": "yes" })
}

/// A published course titled `title` with one section of `lessons` lessons and an exercise of two questions,
/// and an exam of two questions when `with_exam`.
pub(crate) async fn course(app: &TestApp, instructor: &str, title: &str, lessons: usize, with_exam: bool) -> Course {
    let mut body = TestApp::course_body(title);
    body["price"]["amount_cents"] = json!(1999);
    let id = app.post("/api/v1/courses", instructor, Some(&body)).await.id();
    let section = app.post(&format!("/api/v1/courses/{id}/sections"), instructor, Some(&json!({ "title": "S" }))).await;
    let section = section.id();
    let mut lesson_ids = Vec::new();
    for n in 0..lessons {
        let body = json!({ "title": format!("L{n}"), "video_url": "https://youtu.be/dQw4w9WgXcQ", "duration_min": 30 });
        let added =
            app.post(&format!("/api/v1/courses/{id}/sections/{section}/lessons"), instructor, Some(&body)).await;
        assert_eq!(added.status, 201, "{:?}", added.body);
        lesson_ids.push(added.id());
    }
    let exercises = format!("/api/v1/courses/{id}/sections/{section}/exercises");
    let exercise = app.post(&exercises, instructor, Some(&json!({ "title": "Practice" }))).await.id();
    for text in ["Is Rust memory safe?", "Does it have a borrow checker?"] {
        let path = format!("{exercises}/{exercise}/questions");
        assert_eq!(app.post(&path, instructor, Some(&question(text))).await.status, 201);
    }
    if with_exam {
        let exam = json!({ "questions": [question("Final one?"), question("Final two?")] });
        let set = app.call(Method::PUT, &format!("/api/v1/courses/{id}/exam"), instructor, Some(&exam)).await;
        assert_eq!(set.status, 200, "{:?}", set.body);
    }
    assert_eq!(app.post(&format!("/api/v1/courses/{id}/publish"), instructor, None).await.status, 200);
    Course { id, lessons: lesson_ids, exercise }
}

/// The question ids of `list` (`exam`, or the first exercise's questions) in the enrolled view.
fn question_ids(view: &Value, exam: bool) -> Vec<String> {
    let questions =
        if exam { &view["data"]["exam"] } else { &view["data"]["sections"][0]["exercises"][0]["questions"] };
    let questions = questions.as_array().expect("questions");
    questions.iter().map(|q| q["question_id"].as_str().expect("an id").to_owned()).collect()
}

/// Polls until `sql` counts `expected`, at most 20 s.
async fn count_reaches(app: &TestApp, sql: &str, expected: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let count = app.database.count(sql).await;
        if count == expected {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{sql} counts {count}, not {expected}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_trainee_learns_passes_the_exam_on_a_second_try_and_gets_one_certificate_email() {
    let app = TestApp::start().await;
    let smtp = SmtpServer::start().await;
    let _mailer = app.start_mailer(Delivery::Smtp(smtp.url.as_str().into()));
    let _sagas = app.start_sagas();
    let (_, instructor) = app.instructor("grace", "Grace Hopper").await;
    let course = course(&app, &instructor, "Rust for web services", 2, true).await;
    let (trainee_id, token) = trainee_named(&app, "ada", "Ada Lovelace").await;
    credit(&app, trainee_id, 5_000).await;
    assert_eq!(add_to_cart(&app, &token, course.id).await.status, 201);
    assert_eq!(order(&app, &token).await.status, 201);
    let enrolled = format!("/api/v1/me/enrollments/{}", course.id);
    let view = eventually(&app, &enrolled, &token, |body| body["data"]["enrollment"]["status"] == "active").await;
    let base = format!("/api/v1/enrollments/{}", course.id);

    // An exercise answer says whether it was right; only that question's answer becomes visible.
    let [asked, other] = <[String; 2]>::try_from(question_ids(&view, false)).expect("two questions");
    let answer = json!({ "question_id": asked, "answer_index": 0 });
    let answers = format!("{base}/exercises/{}/answers", course.exercise);
    let wrong = app.post(&answers, &token, Some(&answer)).await;
    assert_eq!(wrong.status, 200, "{:?}", wrong.body);
    assert_eq!(
        (wrong.body["data"]["correct"].clone(), wrong.body["data"]["correct_answer_index"].clone()),
        (json!(false), json!(1))
    );
    let out_of_range = app.post(&answers, &token, Some(&json!({ "question_id": other, "answer_index": 3 }))).await;
    assert_eq!((out_of_range.status, out_of_range.body["code"].clone()), (422, json!("invalid_answer")));
    let view =
        eventually(&app, &enrolled, &token, |body| body["data"]["enrollment"]["exercise_answers"][&asked].is_object())
            .await;
    let questions = &view["data"]["sections"][0]["exercises"][0]["questions"];
    assert_eq!(questions[0]["answer_index"], 1, "shown after answering: {questions}");
    assert!(questions[1].get("answer_index").is_none(), "hidden before answering: {questions}");
    assert!(view["data"]["exam"][0].get("answer_index").is_none(), "the exam's answers are hidden");

    for lesson in &course.lessons {
        assert_eq!(app.post(&format!("{base}/lessons/{lesson}/view"), &token, None).await.status, 200);
    }
    let exam_ids = question_ids(&view, true);
    let attempts = format!("{base}/exam-attempts");
    let reveal_early = app.post(&format!("{base}/exam/reveal"), &token, None).await;
    assert_eq!((reveal_early.status, reveal_early.body["code"].clone()), (422, json!("exam_not_attempted")));
    let failed = app
        .post(&attempts, &token, Some(&json!({ "answers": { exam_ids[0].clone(): 0, exam_ids[1].clone(): 2 } })))
        .await;
    assert_eq!(failed.status, 201, "{:?}", failed.body);
    let mut result = failed.body["data"].clone();
    result.as_object_mut().expect("an object").remove("version");
    assert_eq!(
        result,
        json!({ "attempt": 1, "grade": 0, "passed": false, "best_grade": 0,
        "attempts_left": 2, "certificate_id": null })
    );
    let view = eventually(&app, &enrolled, &token, |body| body["data"]["enrollment"]["exam"]["attempts"] == 1).await;
    assert_eq!(view["data"]["enrollment"]["progress"], 100);
    assert!(view["data"]["enrollment"]["completed_at"].is_null(), "not passed yet: {}", view["data"]["enrollment"]);

    let passed = app.post(&attempts, &token, Some(&json!({ "answers": { exam_ids[0].clone(): 1 } }))).await;
    assert_eq!((passed.body["data"]["grade"].clone(), passed.body["data"]["passed"].clone()), (json!(50), json!(true)));
    let certificate = passed.body["data"]["certificate_id"].as_str().expect("issued").to_owned();
    let third = app.post(&attempts, &token, Some(&json!({ "answers": {} }))).await;
    assert_eq!(third.body["data"]["best_grade"], 50, "the best grade counts: {:?}", third.body);
    let fourth = app
        .post(&attempts, &token, Some(&json!({ "answers": { exam_ids[0].clone(): 1, exam_ids[1].clone(): 1 } })))
        .await;
    assert_eq!((fourth.status, fourth.body["code"].clone()), (422, json!("exam_attempts_exhausted")));

    // One email, with the PDF, whose text a foreign reader finds.
    let mail = smtp.wait_for("ada@example.com", "certificate").await;
    let pdfs = tests::pdf::read(mail.data.as_bytes()).await;
    assert_eq!(pdfs.len(), 1, "one PDF attached");
    let pdf = &pdfs[0];
    assert_eq!(pdf.filename.as_deref(), Some(format!("certificate-{certificate}.pdf").as_str()));
    for expected in ["Ada Lovelace", "Rust for web services", "Grace Hopper", certificate.as_str()] {
        assert!(pdf.text.contains(expected), "{expected:?} is not in {:?}", pdf.text);
    }
    assert!(pdf.fonts.values().all(|embedded| *embedded), "every font is embedded: {:?}", pdf.fonts);

    // Anyone with its link verifies it: the name, the course and the date, nothing more. The link's code is on
    // the PDF; the id alone (which the event history carries) opens nothing.
    let code = app.keys.certificates().code(certificate.parse().expect("an id"));
    assert!(pdf.text.contains(&code), "the PDF prints the verification link: {:?}", pdf.text);
    for without in [String::new(), "?code=AAAAAAAAAAAAAAAAAAAAAA".to_owned()] {
        let refused =
            app.send(app.http.get(app.url(&format!("/api/v1/certificates/{certificate}{without}"))), None).await;
        assert_eq!(refused.status, 404, "{without}: {:?}", refused.body);
        let pdf =
            app.send(app.http.get(app.url(&format!("/api/v1/certificates/{certificate}/pdf{without}"))), None).await;
        assert_eq!(pdf.status, 404, "{without}");
    }
    let verified =
        app.send(app.http.get(app.url(&format!("/api/v1/certificates/{certificate}?code={code}"))), None).await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    let data = verified.body["data"].as_object().expect("an object");
    assert_eq!(data.keys().cloned().collect::<Vec<_>>(), ["certificate_id", "course_title", "issued_on", "name"]);
    assert_eq!(
        (data["name"].clone(), data["course_title"].clone()),
        (json!("Ada Lovelace"), json!("Rust for web services"))
    );
    let unknown_id = Uuid::new_v4();
    let unknown_code = app.keys.certificates().code(unknown_id);
    let unknown =
        app.send(app.http.get(app.url(&format!("/api/v1/certificates/{unknown_id}?code={unknown_code}"))), None).await;
    assert_eq!(unknown.status, 404);
    let mine = eventually(&app, "/api/v1/me/certificates", &token, |body| {
        body["total_results"] == 1 && body["data"].as_array().is_some_and(|rows| rows.len() == 1)
    })
    .await;
    assert_eq!(mine["data"][0]["certificate_id"], certificate);
    assert_eq!(mine["data"][0]["code"], code, "the holder reads the code to share");
    assert!(mine["data"][0]["verify_url"].as_str().is_some_and(|url| url.ends_with(&format!("?code={code}"))));
    let view = get_as(&app, &enrolled, &token).await.body;
    assert_eq!(view["data"]["enrollment"]["certificate_id"], certificate);
    assert_eq!(view["data"]["enrollment"]["exam"]["attempts_left"], 0);
    let catalogue = app.send(app.http.get(app.url(&format!("/api/v1/courses/{}", course.id))), None).await;
    assert_eq!(catalogue.body["data"]["exam_grades"], json!({ "average": 16.67, "attempts": 3 }), "(0 + 50 + 0) / 3");

    // The automatic email went out once; asking again moments later is refused; the answers can be revealed.
    let again = app.post(&format!("{base}/certificate/email"), &token, None).await;
    assert_eq!((again.status, again.body["code"].clone()), (429, json!("rate_limited")));
    // An admin asking for it falls under the same rule.
    let (_, admin) = app.user(Role::Admin);
    let body = json!({ "trainee_id": trainee_id, "course_id": course.id });
    let by_admin = app.post("/api/v1/admin/enrollments/certificate-emails", &admin, Some(&body)).await;
    assert_eq!((by_admin.status, by_admin.body["code"].clone()), (429, json!("rate_limited")), "{:?}", by_admin.body);
    let revealed = app.post(&format!("{base}/exam/reveal"), &token, None).await;
    assert_eq!(revealed.status, 200, "{:?}", revealed.body);
    assert_eq!(revealed.body["data"]["questions"][0]["answer_index"], 1);

    // Every event is handled again from the start: no second email, no second request.
    drop(_sagas);
    app.database.client().await.execute("UPDATE saga_checkpoints SET position = 0", &[]).await.expect("rewound");
    let _sagas = app.start_sagas();
    let last = app.database.count("SELECT max(position) FROM events").await;
    count_reaches(&app, &format!("SELECT count(*) FROM saga_checkpoints WHERE position >= {last}"), 1).await;
    assert_eq!(
        app.database.count("SELECT count(*) FROM events WHERE event_type = 'CertificateEmailRequested'").await,
        1
    );
    assert_eq!(app.database.count("SELECT count(*) FROM email_outbox WHERE subject LIKE '%certificate%'").await, 1);
    app.database.wait_until_mailed().await;
    let received = smtp.received().await;
    let to_ada = received.iter().filter(|m| m.recipients.iter().any(|r| r == "ada@example.com"));
    assert_eq!(to_ada.filter(|m| m.data.contains("application/pdf")).count(), 1, "one certificate email");
}

#[tokio::test]
async fn arabic_and_chinese_names_render_and_an_erased_account_shows_none() {
    let app = TestApp::start().await;
    let (_, instructor) = app.instructor("lin", "Lin Wei").await;
    let course = course(&app, &instructor, "مقدمة في البرمجة", 1, false).await;
    let (_, admin) = app.user(Role::Admin);
    let mut issued = Vec::new();
    for (username, name) in [("mohamed", "محمد أحمد"), ("wei", "张伟")] {
        let (trainee_id, token) = trainee_named(&app, username, name).await;
        let grant = json!({ "trainee_id": trainee_id, "course_id": course.id });
        assert_eq!(app.post("/api/v1/admin/enrollments", &admin, Some(&grant)).await.status, 201);
        let viewed = app
            .post(&format!("/api/v1/enrollments/{}/lessons/{}/view", course.id, course.lessons[0]), &token, None)
            .await;
        assert_eq!(viewed.status, 200, "{:?}", viewed.body);
        let path = format!("/api/v1/me/enrollments/{}", course.id);
        let view =
            eventually(&app, &path, &token, |body| body["data"]["enrollment"]["certificate_id"].is_string()).await;
        let certificate = view["data"]["enrollment"]["certificate_id"].as_str().expect("an id").to_owned();
        issued.push((trainee_id, name, certificate));
    }
    for (_, name, certificate) in &issued {
        let code = app.keys.certificates().code(certificate.parse().expect("an id"));
        let download = app
            .http
            .get(app.url(&format!("/api/v1/certificates/{certificate}/pdf?code={code}")))
            .send()
            .await
            .expect("sent");
        assert_eq!(download.status(), 200);
        assert_eq!(download.headers()["content-type"], "application/pdf");
        let pdf = &tests::pdf::read(&download.bytes().await.expect("a body")).await[0];
        // Arabic is drawn right to left: a reader extracts its letters in the order they are drawn.
        let letters: String = name.chars().filter(|c| !c.is_whitespace()).collect();
        let drawn: String = pdf.text.chars().filter(|c| !c.is_whitespace()).collect();
        let reversed: String = letters.chars().rev().collect();
        assert!(drawn.contains(&letters) || drawn.contains(&reversed), "{name} is not in {:?}", pdf.text);
        assert!(pdf.fonts.values().all(|embedded| *embedded), "{:?}", pdf.fonts);
    }

    let (erased, name, certificate) = &issued[0];
    let gone = app.post(&format!("/api/v1/admin/users/{erased}/erase"), &admin, None).await;
    assert_eq!(gone.status, 200, "{:?}", gone.body);
    let code = app.keys.certificates().code(certificate.parse().expect("an id"));
    let path = format!("/api/v1/certificates/{certificate}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let verified = loop {
        let verified = app.send(app.http.get(app.url(&format!("{path}?code={code}"))), None).await;
        if verified.body["data"]["name"].is_null() || tokio::time::Instant::now() > deadline {
            break verified;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(verified.body["data"]["name"], Value::Null, "{:?}", verified.body);
    assert_eq!(verified.body["data"]["course_title"], "مقدمة في البرمجة");
    let download = app.http.get(app.url(&format!("{path}/pdf?code={code}"))).send().await.expect("sent");
    let pdf = &tests::pdf::read(&download.bytes().await.expect("a body")).await[0];
    let first_name: String = name.split_whitespace().next().expect("a name").chars().collect();
    let reversed: String = first_name.chars().rev().collect();
    assert!(!pdf.text.contains(&first_name) && !pdf.text.contains(&reversed), "{:?}", pdf.text);
}

#[tokio::test]
async fn notes_are_the_owners_and_bounded_and_a_revoked_enrolment_learns_nothing() {
    let app = TestApp::start().await;
    let (_, instructor) = app.instructor("barbara", "Barbara Liskov").await;
    let course = course(&app, &instructor, "Data abstraction", 2, false).await;
    let (trainee_id, token) = trainee_named(&app, "ada", "Ada Lovelace").await;
    let (_, stranger) = trainee_named(&app, "eve", "Eve").await;
    let (_, admin) = app.user(Role::Admin);
    let grant = json!({ "trainee_id": trainee_id, "course_id": course.id });
    assert_eq!(app.post("/api/v1/admin/enrollments", &admin, Some(&grant)).await.status, 201);

    // Several notes, each with a title, perhaps about a lesson; listed newest first, rewritten, deleted.
    let notes = format!("/api/v1/me/notes/{}", course.id);
    let first = json!({ "title": "Invariants", "text": "Invariants first.", "lesson_id": course.lessons[0] });
    let kept = app.post(&notes, &token, Some(&first)).await;
    assert_eq!(kept.status, 201, "{:?}", kept.body);
    let first_id = kept.id();
    let second = app.post(&notes, &token, Some(&json!({ "title": "  Questions  " }))).await;
    assert_eq!(second.status, 201, "{:?}", second.body);
    let listed = eventually(&app, &notes, &token, |body| body["total_results"] == 2).await;
    assert_eq!(
        (listed["data"][0]["title"].clone(), listed["data"][0]["text"].clone()),
        (json!("Questions"), json!(""))
    );
    assert_eq!(listed["data"][1]["lesson_id"], json!(course.lessons[0]));
    let note = format!("{notes}/{first_id}");
    let rewritten = json!({ "title": "Invariants", "text": "Invariants, then code." });
    assert_eq!(app.call(Method::PUT, &note, &token, Some(&rewritten)).await.status, 200);
    let listed = eventually(&app, &notes, &token, |body| body["data"][0]["text"] == "Invariants, then code.").await;
    assert_eq!(listed["data"][0]["lesson_id"], Value::Null, "the lesson link was dropped");
    assert_eq!(app.call(Method::DELETE, &format!("{notes}/{}", second.id()), &token, None).await.status, 200);
    eventually(&app, &notes, &token, |body| body["total_results"] == 1).await;

    let invalid = |field: &'static str| {
        move |answer: tests::app::Answer| (answer.status, answer.body["errors"][0]["field"].clone(), field)
    };
    let check = |(status, field, expected): (u16, Value, &str)| assert_eq!((status, field), (422, json!(expected)));
    check(invalid("text")(
        app.post(&notes, &token, Some(&json!({ "title": "Long", "text": "x".repeat(100 * 1024 + 1) }))).await,
    ));
    check(invalid("title")(app.post(&notes, &token, Some(&json!({ "title": " " }))).await));
    check(invalid("title")(app.post(&notes, &token, Some(&json!({ "title": "t".repeat(201) }))).await));
    let elsewhere = json!({ "title": "Elsewhere", "lesson_id": uuid::Uuid::now_v7() });
    check(invalid("lesson_id")(app.post(&notes, &token, Some(&elsewhere)).await));
    assert_eq!(app.post(&notes, &token, Some(&json!({ "title": 5 }))).await.status, 400);
    assert_eq!(app.post(&notes, &token, Some(&json!({ "text": "no title" }))).await.status, 400);
    // Someone else's: their path finds no note, and they are not enrolled.
    assert_eq!(app.post(&notes, &stranger, Some(&json!({ "title": "Mine" }))).await.status, 404);
    assert_eq!(app.call(Method::PUT, &note, &stranger, Some(&rewritten)).await.status, 404);
    assert_eq!(app.call(Method::DELETE, &note, &stranger, None).await.status, 404);
    assert_eq!(get_as(&app, &notes, &stranger).await.status, 404, "someone else's notes do not exist for them");
    let stored = app.database.count("SELECT count(*) FROM events WHERE payload::text LIKE '%Invariants%'").await;
    assert_eq!(stored, 0, "titles and texts are sealed in the event store");

    let revocations = "/api/v1/admin/enrollments/revocations";
    assert_eq!(app.post(revocations, &admin, Some(&grant)).await.status, 200);
    assert_eq!(app.post(revocations, &admin, Some(&grant)).await.status, 200, "revoking twice changes nothing");
    assert_eq!(app.database.count("SELECT count(*) FROM events WHERE event_type = 'EnrollmentRevoked'").await, 1);
    let view = format!("/api/v1/enrollments/{}/lessons/{}/view", course.id, course.lessons[0]);
    let refused = app.post(&view, &token, None).await;
    assert_eq!((refused.status, refused.body["code"].clone()), (422, json!("enrollment_not_active")));
    let refused = app.post(&notes, &token, Some(&json!({ "title": "More" }))).await;
    assert_eq!((refused.status, refused.body["code"].clone()), (422, json!("enrollment_not_active")));
    // A revoked trainee still reads and deletes what they wrote.
    assert_eq!(get_as(&app, &notes, &token).await.body["total_results"], 1);
    assert_eq!(app.call(Method::DELETE, &note, &token, None).await.status, 200);
    eventually(&app, "/api/v1/me/enrollments", &token, |body| body["data"][0]["status"] == "revoked").await;
    assert_eq!(get_as(&app, &format!("/api/v1/me/enrollments/{}", course.id), &token).await.status, 404);
    let public = format!("/api/v1/courses/{}", course.id);
    let page = app.send(app.http.get(app.url(&public)), None).await;
    assert_eq!(page.body["data"]["enrolled_count"], 0, "{:?}", page.body);

    assert_eq!(app.post("/api/v1/admin/enrollments", &admin, Some(&grant)).await.status, 201, "enrolled again");
    assert_eq!(app.post(&view, &token, None).await.status, 200);
}
