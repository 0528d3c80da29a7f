//! `learnlog export` as analysts use it: a Parquet export read by DuckDB and pyarrow (not by us) gives each
//! instructor's revenue, each course's enrolments and each course's rating exactly as the read models do; a
//! second run into the same directory adds only what is new; personal data is sealed; CSV and NDJSON exports
//! hold the same events.

use std::collections::HashMap;

use events::Role;
use export::{ExportOptions, Format};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use tests::TestApp;
use uuid::Uuid;

use super::certificates::{course, trainee_named};
use super::commerce::{add_to_cart, credit, eventually, order};

#[derive(Debug, Deserialize)]
struct Revenue {
    gross: i64,
    refunds: i64,
}

#[derive(Debug, Deserialize, PartialEq)]
struct Rating {
    average: f64,
    count: i64,
}

#[derive(Debug, Deserialize)]
struct Analysis {
    revenue: HashMap<String, Revenue>,
    enrolled: HashMap<String, i64>,
    ratings: HashMap<String, Rating>,
    emails: Vec<String>,
    types: HashMap<String, String>,
}

async fn buy(app: &TestApp, token: &str, courses: &[Uuid]) {
    for course in courses {
        assert_eq!(add_to_cart(app, token, *course).await.status, 201);
    }
    assert_eq!(order(app, token).await.status, 201);
    eventually(app, "/api/v1/me/enrollments", token, |body| body["total_results"] == courses.len()).await;
}

async fn review(app: &TestApp, token: &str, course: Uuid, rating: i64) {
    let path = format!("/api/v1/courses/{course}/reviews/mine");
    let body = json!({ "rating": rating, "comment": "Exported opinion" });
    assert_eq!(app.call(Method::PUT, &path, token, Some(&body)).await.status, 200);
}

async fn export_into(app: &TestApp, format: Format, out: &std::path::Path) -> export::Run {
    let options =
        ExportOptions { format, out: out.to_owned(), after: None, until: None, before: None, types: Vec::new() };
    export::export(&app.store, &options, &mut |_| {}).await.expect("the export runs")
}

async fn analyse(out: &std::path::Path) -> Analysis {
    tests::python::json("duckdb_check.py", &[out.to_str().expect("a UTF-8 path")], b"").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_reads_revenue_enrolments_and_ratings_from_parquet_as_the_read_models_show_them() {
    let app = TestApp::start().await;
    let _sagas = app.start_sagas();
    let (grace_id, grace) = app.instructor("grace", "Grace Hopper").await;
    let (alan_id, alan) = app.instructor("alan", "Alan Kay").await;
    let compilers = course(&app, &grace, "Compilers", 2, false).await.id;
    let linkers = course(&app, &grace, "Linkers", 2, false).await.id;
    let smalltalk = course(&app, &alan, "Smalltalk", 2, false).await.id;
    let mut trainees = Vec::new();
    for (username, name) in [("ada", "Ada Export"), ("edsger", "Edsger Export"), ("barbara", "Barbara Export")] {
        let (id, token) = trainee_named(&app, username, name).await;
        credit(&app, id, 10_000).await;
        trainees.push((id, token));
    }
    buy(&app, &trainees[0].1, &[compilers, linkers]).await;
    buy(&app, &trainees[1].1, &[compilers, smalltalk]).await;
    review(&app, &trainees[0].1, compilers, 5).await;
    review(&app, &trainees[0].1, compilers, 3).await;
    review(&app, &trainees[1].1, compilers, 4).await;
    review(&app, &trainees[0].1, linkers, 2).await;
    let mine = format!("/api/v1/courses/{linkers}/reviews/mine");
    assert_eq!(app.call(Method::DELETE, &mine, &trainees[0].1, None).await.status, 200);
    review(&app, &trainees[1].1, smalltalk, 5).await;

    // Edsger has Smalltalk refunded: the instructor's earning is reversed, the enrolment revoked.
    let reason = json!({ "reason": "Not for me" });
    let path = format!("/api/v1/enrollments/{smalltalk}/refund-request");
    let asked = app.post(&path, &trainees[1].1, Some(&reason)).await;
    assert_eq!(asked.status, 201, "{:?}", asked.body);
    let (_, admin) = app.user(Role::Admin);
    let refund = format!("/api/v1/admin/refund-requests/{}", asked.id());
    for step in ["acknowledge", "approve"] {
        let moved = app.post(&format!("{refund}/{step}"), &admin, None).await;
        assert_eq!(moved.status, 200, "{step}: {:?}", moved.body);
    }
    eventually(&app, "/api/v1/me/enrollments", &trainees[1].1, |body| {
        body["data"].as_array().into_iter().flatten().any(|e| e["refund_status"] == "completed")
    })
    .await;
    app.wait_until_projected().await;

    let (instructors, courses) = ([grace_id, alan_id], [compilers, linkers, smalltalk]);
    let dir = tempfile_dir("parquet");
    let first = export_into(&app, Format::Parquet, &dir).await;
    assert_eq!((first.after, first.through), (0, app.event_count().await));
    let analysis = analyse(&dir).await;
    check_against_read_models(&app, &admin, &analysis, &instructors, &courses).await;
    assert_eq!(analysis.types["amount_cents"], "int64", "{:?}", analysis.types);
    assert_eq!(analysis.types["recorded_at"], "timestamp[us, tz=+00:00]");
    assert_eq!(analysis.types["currency"], "string");
    assert_eq!(analysis.emails.len(), 3);
    for email in &analysis.emails {
        let email: Value = serde_json::from_str(email).expect("a personal field as JSON");
        assert!(email["sealed"].is_string(), "never in clear: {email}");
    }

    // A second run adds only what is new; DuckDB over every part sees the whole history.
    buy(&app, &trainees[2].1, &[linkers, smalltalk]).await;
    review(&app, &trainees[2].1, linkers, 4).await;
    app.wait_until_projected().await;
    let second = export_into(&app, Format::Parquet, &dir).await;
    assert_eq!(second.after, first.through);
    assert_eq!(second.through, app.event_count().await);
    assert_eq!(second.events as i64, second.through - second.after);
    let manifest = export::Manifest::read(&dir).expect("readable").expect("a manifest");
    assert_eq!((manifest.position, manifest.runs.len()), (second.through, 2));
    let analysis = analyse(&dir).await;
    check_against_read_models(&app, &admin, &analysis, &instructors, &courses).await;
    let nothing = export_into(&app, Format::Parquet, &dir).await;
    assert_eq!((nothing.events, nothing.files.len()), (0, 0), "nothing new, nothing written");
    let other = ExportOptions {
        format: Format::Csv,
        out: dir.clone(),
        after: None,
        until: None,
        before: None,
        types: Vec::new(),
    };
    assert!(export::export(&app.store, &other, &mut |_| {}).await.is_err(), "one format per directory");

    // CSV and NDJSON hold the same events.
    let csv_dir = tempfile_dir("csv");
    let csv = export_into(&app, Format::Csv, &csv_dir).await;
    let ndjson_dir = tempfile_dir("ndjson");
    let ndjson = export_into(&app, Format::Ndjson, &ndjson_dir).await;
    assert_eq!((csv.events, ndjson.events), (second.through as u64, second.through as u64));
    let paid = std::fs::read_to_string(csv_dir.join(&csv.files["OrderPaid"].path)).expect("a CSV file");
    let header = paid.lines().next().expect("a header");
    assert!(header.starts_with("position,stream_id,stream_version,event_id,event_type"), "{header}");
    assert!(header.contains("amount_cents") && header.contains("currency"), "{header}");
    assert_eq!(paid.lines().count(), 1 + 3, "a header and three orders");
    let lines = std::fs::read_to_string(ndjson_dir.join(&ndjson.files["CourseReviewed"].path)).expect("NDJSON");
    assert_eq!(lines.lines().count(), 6, "every review, edits included");
    // Some types only, and the history as it was at a time.
    let typed_dir = tempfile_dir("typed");
    let typed = ExportOptions {
        format: Format::Parquet,
        out: typed_dir.clone(),
        after: None,
        until: None,
        before: None,
        types: vec!["OrderPaid".into(), "TraineeEnrolled".into()],
    };
    let run = export::export(&app.store, &typed, &mut |_| {}).await.expect("exports");
    assert_eq!(run.files.keys().collect::<Vec<_>>(), ["OrderPaid", "TraineeEnrolled"]);
    assert_eq!((run.files["OrderPaid"].rows, run.files["TraineeEnrolled"].rows), (3, 6));
    let before_dir = tempfile_dir("before");
    let long_ago = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let before = ExportOptions { until: Some(long_ago), out: before_dir.clone(), ..typed.clone() };
    assert_eq!(export::export(&app.store, &before, &mut |_| {}).await.expect("exports").events, 0);
    for dir in [dir, csv_dir, ndjson_dir, typed_dir, before_dir] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn tempfile_dir(format: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("learnlog-export-{format}-{}", Uuid::now_v7()))
}

/// Revenue per instructor, enrolments per course and ratings per course, as the read models serve them, equal
/// the analysis of the export.
async fn check_against_read_models(
    app: &TestApp,
    admin: &str,
    analysis: &Analysis,
    instructors: &[Uuid],
    courses: &[Uuid],
) {
    let year = time::OffsetDateTime::now_utc().year();
    for instructor in instructors {
        let path = format!("/api/v1/admin/instructors/{instructor}/revenue?year={year}");
        let revenue = app.call(Method::GET, &path, admin, None).await.body;
        let sum = |field: &str| -> i64 {
            revenue["data"]["months"]
                .as_array()
                .expect("months")
                .iter()
                .map(|m| m[field]["amount_cents"].as_i64().unwrap_or(0))
                .sum()
        };
        let exported = &analysis.revenue[&instructor.to_string()];
        assert_eq!((exported.gross, exported.refunds), (sum("gross"), sum("refunds")), "{instructor}: {revenue}");
    }
    for course in courses {
        let page = app.get(&format!("/api/v1/courses/{course}"), None).await.body;
        let enrolled = page["data"]["enrolled_count"].as_i64().expect("a count");
        assert_eq!(analysis.enrolled.get(&course.to_string()).copied().unwrap_or(0), enrolled, "{course}");
        let rating = Rating {
            average: page["data"]["rating"]["average"].as_f64().expect("an average"),
            count: page["data"]["rating"]["count"].as_i64().expect("a count"),
        };
        let exported = analysis.ratings.get(&course.to_string()).map_or(0.0, |r| r.average);
        let count = analysis.ratings.get(&course.to_string()).map_or(0, |r| r.count);
        assert_eq!(Rating { average: exported, count }, rating, "{course}");
    }
}
