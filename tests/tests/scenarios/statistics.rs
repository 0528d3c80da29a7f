//! The admins' dashboards through HTTP: users by kind, courses and enrolments, the platform's money (gross,
//! refunds, the instructors' share and the fee that remains) at a glance and by day or month, in a chosen
//! currency, and the top courses and instructors. A trainee buys two courses of 19.99 and has one refunded, so
//! every figure follows from R1 (80 % to the instructor) and D3 (70 % back, the instructor keeps 24 %).

use events::Role;
use reqwest::Method;
use serde_json::{Value, json};
use tests::TestApp;

use super::certificates::{course, trainee_named};
use super::commerce::{add_to_cart, credit, eventually, get_as, order};

fn cents(money: &Value) -> i64 {
    money["amount_cents"].as_i64().unwrap_or_else(|| panic!("an amount: {money}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboards_show_users_money_and_the_top_courses_and_instructors() {
    let app = TestApp::start().await;
    let _sagas = app.start_sagas();
    let (_, admin) = app.user(Role::Admin);
    let (instructor_id, instructor) = app.instructor("statsteacher", "Stats Teacher").await;
    let kept = course(&app, &instructor, "Counting", 2, false).await;
    let returned = course(&app, &instructor, "Measuring", 2, false).await;
    let (trainee_id, token) = trainee_named(&app, "statsada", "Ada Stats").await;
    credit(&app, trainee_id, 5_000).await;
    for bought in [kept.id, returned.id] {
        assert_eq!(add_to_cart(&app, &token, bought).await.status, 201);
    }
    assert_eq!(order(&app, &token).await.status, 201);
    eventually(&app, "/api/v1/me/enrollments", &token, |body| body["total_results"] == 2).await;
    let reason = json!({ "reason": "Not for me" });
    let asked = app.post(&format!("/api/v1/enrollments/{}/refund-request", returned.id), &token, Some(&reason)).await;
    assert_eq!(asked.status, 201, "{:?}", asked.body);
    let approved = app.post(&format!("/api/v1/admin/refund-requests/{}/approve", asked.id()), &admin, None).await;
    assert_eq!(approved.status, 200, "{:?}", approved.body);

    // Paid 2 x 1999; 70 % of one back (1399); the instructor earned 2 x 1599 and gave back 1599 - 479.
    let (gross, refunds, instructors) = (3_998, 1_399, 2 * 1_599 - (1_599 - 479));
    let overview = eventually(&app, "/api/v1/admin/statistics", &admin, |body| {
        cents(&body["data"]["revenue"]["refunds"]) == refunds
            && cents(&body["data"]["revenue"]["instructors"]) == instructors
    })
    .await;
    let data = &overview["data"];
    let revenue = &data["revenue"];
    assert_eq!((cents(&revenue["gross"]), revenue["gross"]["currency"].clone()), (gross, json!("USD")));
    assert_eq!(cents(&revenue["platform_fee"]), gross - refunds - instructors);
    assert_eq!(
        (data["users"]["individual_trainee"].clone(), data["users"]["instructor"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(data["courses"]["published"], 2);
    let enrolments: i64 = data["enrollments"].as_object().expect("by status").values().filter_map(Value::as_i64).sum();
    assert_eq!(enrolments, 2, "{}", data["enrollments"]);
    let top: Vec<(Value, i64)> = data["top_courses"]
        .as_array()
        .expect("top courses")
        .iter()
        .map(|course| (course["id"].clone(), cents(&course["earned"])))
        .collect();
    assert!(top.contains(&(json!(kept.id), 1_599)) && top.contains(&(json!(returned.id), 479)), "{top:?}");
    let teacher = &data["top_instructors"][0];
    assert_eq!((teacher["id"].clone(), teacher["name"].clone()), (json!(instructor_id), json!("Stats Teacher")));
    assert_eq!((cents(&teacher["earned"]), teacher["courses"].clone()), (instructors, json!(2)));
    let one = get_as(&app, "/api/v1/admin/statistics?top=1", &admin).await;
    assert_eq!(one.body["data"]["top_courses"].as_array().map(Vec::len), Some(1));

    // By day: today holds it all, and the 30 days before are there with nothing in them.
    let days = get_as(&app, "/api/v1/admin/statistics/revenue", &admin).await;
    assert_eq!(days.status, 200, "{:?}", days.body);
    let report = &days.body["data"];
    assert_eq!((report["by"].clone(), report["periods"].as_array().map(Vec::len)), (json!("day"), Some(30)));
    let today = time::OffsetDateTime::now_utc().date();
    assert_eq!(report["periods"][0]["period"], json!(today.to_string()));
    assert_eq!(cents(&report["periods"][0]["gross"]), gross);
    assert_eq!(cents(&report["periods"][1]["gross"]), 0);
    assert_eq!(cents(&report["totals"]["platform_fee"]), gross - refunds - instructors);
    let months = get_as(&app, "/api/v1/admin/statistics/revenue?by=month", &admin).await;
    let this_month = format!("{:04}-{:02}", today.year(), u8::from(today.month()));
    assert_eq!(months.body["data"]["periods"][0]["period"], json!(this_month));
    assert_eq!(cents(&months.body["data"]["periods"][0]["refunds"]), refunds);
    let before = today - time::Duration::days(3);
    let earlier = get_as(&app, &format!("/api/v1/admin/statistics/revenue?from={before}&to={before}"), &admin).await;
    assert_eq!(cents(&earlier.body["data"]["totals"]["gross"]), 0, "{:?}", earlier.body);

    // In a chosen currency, at its rate; never at a rate of 1.
    let none = get_as(&app, "/api/v1/admin/statistics?currency=SEK", &admin).await;
    assert_eq!((none.status, none.body["code"].clone()), (422, json!("no_exchange_rate")));
    let rate = app.call(Method::PUT, "/api/v1/admin/fx-rates/EUR", &admin, Some(&json!({ "rate": 0.5 }))).await;
    assert_eq!(rate.status, 200, "{:?}", rate.body);
    let euros = eventually(&app, "/api/v1/admin/statistics/revenue?currency=eur", &admin, |body| {
        body["data"]["totals"]["gross"]["currency"] == "EUR"
    })
    .await;
    assert_eq!(cents(&euros["data"]["totals"]["gross"]), gross / 2);

    for (query, parameter) in [
        ("currency=XYZ", "currency"),
        ("currency=EURO", "currency"),
        ("by=week", "by"),
        ("from=2026-02-01&to=2026-01-01", "from"),
        ("from=2020-01-01&to=2026-01-01", "from"),
        ("top=0", "top"),
    ] {
        let path =
            if query.starts_with("top") { "/api/v1/admin/statistics" } else { "/api/v1/admin/statistics/revenue" };
        let refused = get_as(&app, &format!("{path}?{query}"), &admin).await;
        assert_eq!(refused.status, 400, "{query}: {:?}", refused.body);
        assert!(refused.body["detail"].as_str().is_some_and(|d| d.contains(parameter)), "{query}: {:?}", refused.body);
    }
    assert_eq!(get_as(&app, "/api/v1/admin/statistics", &token).await.status, 403);
}
