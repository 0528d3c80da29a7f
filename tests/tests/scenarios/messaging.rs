//! Messaging through HTTP (Communication, `SendMessage`): a trainee writes with the instructor of a course they
//! learn, about it; an admin with anyone; nobody else. Conversations list the latest first with unread counts,
//! and reading one clears them. The live stream (`GET /api/v1/me/live`) pushes a message, and the caller's own
//! changes (an enrolment, the wallet), to a real SSE client (httpx-sse at its defaults), which reconnects with
//! `Last-Event-ID` and gets what it missed first.

use std::process::Stdio;
use std::time::Duration;

use events::Role;
use reqwest::Method;
use serde_json::{Value, json};
use tests::TestApp;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};
use uuid::Uuid;

use super::certificates::{course, trainee_named};
use super::commerce::eventually;

/// An admin with an account (the harness's admin token names nobody), so that others may write to them.
async fn admin_named(app: &TestApp, username: &str) -> (Uuid, String) {
    let (_, root) = app.user(Role::Admin);
    let body = json!({ "kind": "admin", "email": format!("{username}@example.com"), "username": username,
                       "password": "a long password", "name": "Messaging Admin" });
    let created = app.post("/api/v1/admin/users", &root, Some(&body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.id();
    (id, app.keys.issue(id, Role::Admin, Duration::from_secs(600)).expect("signs"))
}

fn to(user: Uuid) -> String {
    format!("/api/v1/me/conversations/{user}/messages")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trainee_writes_with_the_instructor_of_a_course_they_learn_and_an_admin_with_anyone() {
    let app = TestApp::start().await;
    let (admin_id, admin) = admin_named(&app, "msgadmin").await;
    let (teacher_id, teacher) = app.instructor("msgteacher", "Message Teacher").await;
    let (other_teacher_id, other_teacher) = app.instructor("msgother", "Other Teacher").await;
    let learned = course(&app, &teacher, "Letters", 1, false).await.id;
    let not_learned = course(&app, &teacher, "Parcels", 1, false).await.id;
    let elsewhere = course(&app, &other_teacher, "Stamps", 1, false).await.id;
    let (ada_id, ada) = trainee_named(&app, "msgada", "Ada Writer").await;
    let (bob_id, bob) = trainee_named(&app, "msgbob", "Bob Reader").await;
    let grant = json!({ "trainee_id": ada_id, "course_id": learned });
    assert_eq!(app.post("/api/v1/admin/enrollments", &admin, Some(&grant)).await.status, 201);

    // Who may write to whom, and about what.
    let refused = |answer: tests::app::Answer| (answer.status, answer.body["code"].clone());
    let with = |text: &str, course: Option<Uuid>| json!({ "text": text, "course_id": course });
    let no_course = app.post(&to(teacher_id), &ada, Some(&with("Hi", None))).await;
    assert_eq!((no_course.status, no_course.body["errors"][0]["field"].clone()), (422, json!("course_id")));
    let unlearned = app.post(&to(teacher_id), &ada, Some(&with("Hi", Some(not_learned)))).await;
    assert_eq!(refused(unlearned), (422, json!("message_not_allowed")));
    let not_theirs = app.post(&to(teacher_id), &ada, Some(&with("Hi", Some(elsewhere)))).await;
    assert_eq!(refused(not_theirs), (422, json!("not_their_course")));
    let wrong_teacher = app.post(&to(other_teacher_id), &ada, Some(&with("Hi", Some(learned)))).await;
    assert_eq!(refused(wrong_teacher), (422, json!("not_their_course")));
    assert_eq!(
        refused(app.post(&to(bob_id), &ada, Some(&with("Hi", None))).await),
        (422, json!("message_not_allowed"))
    );
    assert_eq!(
        refused(app.post(&to(ada_id), &ada, Some(&with("Hi", None))).await),
        (422, json!("message_not_allowed"))
    );
    assert_eq!(app.post(&to(Uuid::now_v7()), &admin, Some(&with("Hi", None))).await.status, 404);
    for text in ["   ", &"x".repeat(5_001)] {
        let invalid = app.post(&to(teacher_id), &ada, Some(&with(text, Some(learned)))).await;
        assert_eq!((invalid.status, invalid.body["errors"][0]["field"].clone()), (422, json!("text")), "{text:.8}");
    }
    let unknown_field = app.post(&to(teacher_id), &ada, Some(&json!({ "text": "Hi", "to": teacher_id }))).await;
    assert_eq!(unknown_field.status, 400);
    let guest = app.send(app.http.post(app.url(&to(teacher_id))), Some(&with("Hi", Some(learned)))).await;
    assert_eq!(guest.status, 401);

    // A conversation, whoever writes: the trainee asks, the instructor answers, an admin writes to the trainee.
    let asked = app.post(&to(teacher_id), &ada, Some(&with("  Is chapter 2 on the exam?  ", Some(learned)))).await;
    assert_eq!(asked.status, 201, "{:?}", asked.body);
    let asked_id = asked.body["data"]["id"].as_str().expect("the message's id").to_owned();
    let again = app.post(&to(teacher_id), &ada, Some(&with("And chapter 3?", Some(learned)))).await;
    assert_eq!(again.status, 201);
    // Both messages projected (the first alone already makes the conversation).
    let inbox = eventually(&app, "/api/v1/me/conversations", &teacher, |body| body["data"][0]["messages"] == 2).await;
    assert_eq!(inbox["total_results"], 1);
    let row = &inbox["data"][0];
    assert_eq!((row["with"]["id"].clone(), row["with"]["name"].clone()), (json!(ada_id), json!("Ada Writer")));
    assert_eq!((row["messages"].clone(), row["unread"].clone()), (json!(2), json!(2)));
    assert_eq!(row["last_message"]["text"], "And chapter 3?");
    let thread = app.get(&to(ada_id), None).await;
    assert_eq!(thread.status, 401);
    let thread = app.send(app.http.get(app.url(&to(ada_id))).bearer_auth(&teacher), None).await;
    let texts: Vec<&str> =
        thread.body["data"].as_array().expect("messages").iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(texts, ["And chapter 3?", "Is chapter 2 on the exam?"], "newest first, trimmed");
    assert_eq!(thread.body["data"][1]["id"], json!(asked_id));
    assert_eq!(thread.body["data"][1]["course_id"], json!(learned));
    assert_eq!(thread.body["data"][1]["read"], false);

    let read = app.call(Method::PUT, &format!("/api/v1/me/conversations/{ada_id}/read"), &teacher, None).await;
    assert_eq!(read.status, 200, "{:?}", read.body);
    let inbox = eventually(&app, "/api/v1/me/conversations", &teacher, |body| body["data"][0]["unread"] == 0).await;
    assert_eq!(inbox["data"][0]["messages"], 2);
    let mine = eventually(&app, &to(teacher_id), &ada, |body| body["data"][0]["read"] == true).await;
    assert_eq!(mine["total_results"], 2);
    let answer = app.post(&to(ada_id), &teacher, Some(&with("Only chapter 2.", Some(learned)))).await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let from_admin = app.post(&to(ada_id), &admin, Some(&with("Welcome aboard", None))).await;
    assert_eq!(from_admin.status, 201, "{:?}", from_admin.body);
    let inbox = eventually(&app, "/api/v1/me/conversations", &ada, |body| body["total_results"] == 2).await;
    let others: Vec<Value> = inbox["data"].as_array().expect("rows").iter().map(|r| r["with"]["id"].clone()).collect();
    assert_eq!(others, [json!(admin_id), json!(teacher_id)], "the latest conversation first");
    assert_eq!((inbox["data"][0]["unread"].clone(), inbox["data"][1]["unread"].clone()), (json!(1), json!(1)));
    // Trainee and admin write about no course, whatever the body says.
    let to_admin = app.post(&to(admin_id), &ada, Some(&with("Thanks", Some(elsewhere)))).await;
    assert_eq!(to_admin.status, 201);
    let admin_thread = eventually(&app, &to(ada_id), &admin, |body| body["total_results"] == 2).await;
    assert_eq!(admin_thread["data"][0]["course_id"], Value::Null);

    // Nobody reads another's conversations: theirs are found by the caller.
    let bobs = eventually(&app, "/api/v1/me/conversations", &bob, |body| body["total_results"] == 0).await;
    assert_eq!(bobs["data"], json!([]));
    let none = app.send(app.http.get(app.url(&to(teacher_id))).bearer_auth(&bob), None).await;
    assert_eq!(none.status, 404);
    let nothing_to_read =
        app.call(Method::PUT, &format!("/api/v1/me/conversations/{teacher_id}/read"), &bob, None).await;
    assert_eq!(nothing_to_read.status, 404);
}

/// A real SSE client on the live stream, its events read as they come.
struct Listener {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Listener {
    async fn open(app: &TestApp, token: &str, last_event_id: Option<&str>) -> Listener {
        Listener::open_at(app, "/api/v1/me/live", token, last_event_id).await
    }

    /// The stream at `path` (with a ticket in it, and an empty `token`, as a browser's EventSource opens it).
    async fn open_at(app: &TestApp, path: &str, token: &str, last_event_id: Option<&str>) -> Listener {
        let script = tests::package_dir().join("python/sse_listen.py");
        let mut command = tokio::process::Command::new(tests::kafka::python());
        command.arg(script).arg(app.url(path)).arg(token).args(last_event_id);
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the client runs");
        let lines = BufReader::new(child.stdout.take().expect("its output")).lines();
        let mut listener = Listener { child, lines };
        let opened = listener.next().await;
        assert_eq!(
            (opened["status"].clone(), opened["content_type"].clone()),
            (json!(200), json!("text/event-stream"))
        );
        listener
    }

    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(20), self.lines.next_line())
            .await
            .expect("an event within 20 s")
            .expect("the client's output")
            .expect("the client is still listening");
        serde_json::from_str(&line).expect("a JSON line")
    }

    /// The next event of `kind`, skipping others (the order of different kinds is not promised).
    async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let event = self.next().await;
            if event["event"] == kind {
                return event;
            }
        }
    }

    async fn close(mut self) {
        self.child.kill().await.expect("the client goes away");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_stream_pushes_messages_and_own_changes_and_a_reconnect_gets_what_it_missed() {
    let app = TestApp::start().await;
    let _sagas = app.start_sagas();
    let (admin_id, admin) = admin_named(&app, "liveadmin").await;
    let (teacher_id, teacher) = app.instructor("liveteacher", "Live Teacher").await;
    let taught = course(&app, &teacher, "Streams", 1, false).await.id;
    let (ada_id, ada) = trainee_named(&app, "liveada", "Ada Live").await;
    app.wait_until_projected().await;

    let mut stream = Listener::open(&app, &ada, None).await;
    let ready = stream.next().await;
    assert_eq!(ready["event"], "ready", "{ready}");

    // A change of the caller's own: an admin enrols them; the stream says so with a token that reads it.
    let grant = json!({ "trainee_id": ada_id, "course_id": taught });
    assert_eq!(app.post("/api/v1/admin/enrollments", &admin, Some(&grant)).await.status, 201);
    let enrolled = stream.next_of("enrollment").await;
    assert_eq!(enrolled["data"]["course_id"], json!(taught));
    assert_eq!(enrolled["data"]["status"], "active");
    let token = enrolled["data"]["consistency_token"].as_str().expect("a consistency token");
    let mine = app.send(app.http.get(app.url("/api/v1/me/enrollments")).bearer_auth(&ada), None).await;
    assert_eq!(mine.body["total_results"], 1, "pushed once it can be read");
    let fresh = app
        .send(
            app.http.get(app.url("/api/v1/me/enrollments")).bearer_auth(&ada).header("x-consistency-token", token),
            None,
        )
        .await;
    assert_eq!(fresh.header("x-consistency"), Some("fresh"));

    // A message to them, and one they write (for their other tabs).
    let hello = json!({ "text": "Welcome to Streams", "course_id": taught });
    assert_eq!(
        app.post(&format!("/api/v1/me/conversations/{ada_id}/messages"), &teacher, Some(&hello)).await.status,
        201
    );
    let message = stream.next_of("message").await;
    assert_eq!(message["data"]["text"], "Welcome to Streams");
    assert_eq!(
        (message["data"]["with"].clone(), message["data"]["sender_id"].clone()),
        (json!(teacher_id), json!(teacher_id))
    );
    let reply = json!({ "text": "Thank you", "course_id": taught });
    assert_eq!(
        app.post(&format!("/api/v1/me/conversations/{teacher_id}/messages"), &ada, Some(&reply)).await.status,
        201
    );
    let own = stream.next_of("message").await;
    assert_eq!((own["data"]["text"].clone(), own["data"]["sender_id"].clone()), (json!("Thank you"), json!(ada_id)));
    let last_seen = own["id"].as_str().expect("an event id").to_owned();

    // Gone for a while: two messages and a wallet credit come meanwhile; a reconnect gets them first, in order.
    stream.close().await;
    for text in ["Are you there?", "Chapter 2 is out"] {
        let body = json!({ "text": text, "course_id": taught });
        assert_eq!(
            app.post(&format!("/api/v1/me/conversations/{ada_id}/messages"), &teacher, Some(&body)).await.status,
            201
        );
    }
    let credit = json!({ "amount_cents": 1_000, "reason": "A gift" });
    let credited = app.post(&format!("/api/v1/admin/wallets/{ada_id}/credits"), &admin, Some(&credit)).await;
    assert_eq!(credited.status, 201, "{:?}", credited.body);
    app.wait_until_projected().await;
    let mut again = Listener::open(&app, &ada, Some(&last_seen)).await;
    let missed: Vec<Value> = [again.next().await, again.next().await, again.next().await, again.next().await].into();
    let kinds: Vec<&str> = missed.iter().filter_map(|event| event["event"].as_str()).collect();
    assert_eq!(kinds, ["message", "message", "wallet", "ready"], "{missed:?}");
    assert_eq!(
        (missed[0]["data"]["text"].clone(), missed[1]["data"]["text"].clone()),
        (json!("Are you there?"), json!("Chapter 2 is out"))
    );
    assert_eq!(missed[2]["data"]["balance_cents"], 1_000);
    // Live again after the replay: a message from an admin.
    let note = json!({ "text": "Your gift is in" });
    assert_eq!(app.post(&format!("/api/v1/me/conversations/{ada_id}/messages"), &admin, Some(&note)).await.status, 201);
    let live = again.next_of("message").await;
    assert_eq!(
        (live["data"]["text"].clone(), live["data"]["with"].clone()),
        (json!("Your gift is in"), json!(admin_id))
    );
    again.close().await;

    // A client that sends no header (a browser's EventSource) opens the stream with a ticket, good for it only.
    let issued = app.send(app.http.get(app.url("/api/v1/me/live/ticket")).bearer_auth(&ada), None).await;
    assert_eq!((issued.status, issued.header("cache-control")), (200, Some("no-store")), "{:?}", issued.body);
    let ticket = issued.body["data"]["ticket"].as_str().expect("a ticket").to_owned();
    let mut by_ticket = Listener::open_at(&app, &format!("/api/v1/me/live?ticket={ticket}"), "", None).await;
    assert_eq!(by_ticket.next().await["event"], "ready");
    let hello = json!({ "text": "Seen in a browser" });
    assert_eq!(
        app.post(&format!("/api/v1/me/conversations/{ada_id}/messages"), &admin, Some(&hello)).await.status,
        201
    );
    assert_eq!(by_ticket.next_of("message").await["data"]["text"], "Seen in a browser");
    by_ticket.close().await;
    let elsewhere =
        app.http.get(app.url(&format!("/api/v1/me/conversations?ticket={ticket}"))).send().await.expect("answers");
    assert_eq!(elsewhere.status().as_u16(), 401, "a ticket opens the live stream only");
    let forged = format!("{}x", &ticket[..ticket.len() - 1]);
    let forged = app.http.get(app.url(&format!("/api/v1/me/live?ticket={forged}"))).send().await.expect("answers");
    assert_eq!(forged.status().as_u16(), 401);

    // Nobody else's changes reach a stream, and a stream needs a token and a well-formed Last-Event-ID.
    let (_, bob) = trainee_named(&app, "livebob", "Bob Live").await;
    let mut bobs = Listener::open(&app, &bob, None).await;
    assert_eq!(bobs.next().await["event"], "ready");
    let more = json!({ "text": "Only for Ada", "course_id": taught });
    assert_eq!(
        app.post(&format!("/api/v1/me/conversations/{ada_id}/messages"), &teacher, Some(&more)).await.status,
        201
    );
    app.wait_until_projected().await;
    let quiet = tokio::time::timeout(Duration::from_millis(1_500), bobs.lines.next_line()).await;
    assert!(quiet.is_err(), "Bob's stream stays quiet over a window of 1.5 s: {quiet:?}");
    bobs.close().await;
    assert_eq!(app.get("/api/v1/me/live", None).await.status, 401);
    let forged = app.http.get(app.url("/api/v1/me/live")).bearer_auth(&ada).header("last-event-id", "not-an-id");
    let forged = forged.send().await.expect("answers");
    assert_eq!(forged.status().as_u16(), 400);
}
