//! `learnlog up --demo`: a believable catalogue for a frontend to show, created through the public command
//! path (HTTP, the deciders, the event store), never written into read models directly: instructors and
//! their courses, and trainees who bought some with wallet credit, finished one (with its exam, if it has
//! one, and a certificate), started the other and wrote to the instructor of the one they finished. It runs once: a catalogue that already has courses is
//! left alone.

use std::time::Duration;

use api_contract::TokenKeys;
use events::Role;
use events::taxonomy::CATEGORIES;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Error;

pub const INSTRUCTORS: usize = 24;
pub const COURSES: usize = 216;
/// Demo trainees, each with USD 200 in the wallet, two courses bought from it (one completed with a
/// certificate, one started) and one in the wishlist.
pub const TRAINEES: usize = 6;
/// Every demo instructor's password; a demo runs on a developer's machine only.
pub const DEMO_PASSWORD: &str = "learnlog-demo";

const FIRST: [&str; 8] = ["Ada", "Grace", "Alan", "Barbara", "Edsger", "Margaret", "Donald", "Frances"];
const LAST: [&str; 6] = ["Okafor", "Lindqvist", "Tanaka", "Moreau", "Haddad", "Silva"];
const TITLES: [&str; 4] = ["Senior Engineer", "Lecturer", "Consultant", "Principal Architect"];
const SHAPES: [&str; 6] =
    ["{} from scratch", "{} for beginners", "Practical {}", "{} in depth", "{} bootcamp", "Mastering {}"];
const PRICES: [i64; 6] = [0, 999, 1499, 1999, 4999, 8999];
const LEVELS: [&str; 3] = ["beginner", "intermediate", "advanced"];
/// Illustrative rates for the demo, set through the admin command like real ones.
const RATES: [(&str, f64); 5] = [("EUR", 0.92), ("GBP", 0.79), ("EGP", 48.5), ("INR", 83.3), ("JPY", 150.0)];

#[derive(Debug)]
pub struct DemoReport {
    pub instructors: usize,
    pub courses: usize,
    pub trainees: usize,
}

struct Seeder {
    http: reqwest::Client,
    base: String,
}

impl Seeder {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Result<Value, Error> {
        let mut request = self.http.request(method.clone(), format!("{}/api/v1{path}", self.base));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| Error::Demo(format!("{method} {path}: {e}")))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(Error::Demo(format!("{method} {path} answered {status}: {body}")));
        }
        Ok(body)
    }

    /// Sets a picture from its bytes, as a client sends a file.
    async fn picture(&self, path: &str, token: &str, bytes: Vec<u8>) -> Result<(), Error> {
        let request = self
            .http
            .put(format!("{}/api/v1{path}", self.base))
            .bearer_auth(token)
            .header("content-type", "image/png")
            .body(bytes);
        let response = request.send().await.map_err(|e| Error::Demo(format!("PUT {path}: {e}")))?;
        match response.status().is_success() {
            true => Ok(()),
            false => Err(Error::Demo(format!("PUT {path} answered {}", response.status()))),
        }
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> Result<String, Error> {
        let answer = self.send(reqwest::Method::POST, path, token, Some(body)).await?;
        Ok(answer["data"]["id"].as_str().unwrap_or_default().to_owned())
    }

    /// Waits (bounded) until the public catalogue shows `courses` courses: reads are eventually consistent.
    async fn visible(&self, courses: usize) -> Result<(), Error> {
        for _ in 0..1200 {
            let answer = self.http.get(format!("{}/api/v1/courses?limit=1", self.base)).send().await;
            if let Ok(answer) = answer {
                let page: Value = answer.json().await.unwrap_or(Value::Null);
                if page["total_results"].as_u64().unwrap_or(0) >= courses as u64 {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(Error::Demo("the catalogue did not show every demo course within a minute".into()))
    }

    async fn ready(&self) -> Result<(), Error> {
        for _ in 0..200 {
            if let Ok(answer) = self.http.get(format!("{}/readyz", self.base)).send().await
                && answer.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(Error::Demo("the server never became ready".into()))
    }
}

/// Seeds the catalogue behind `base` (like `http://127.0.0.1:8080`) unless it already has courses.
pub async fn seed(base: &str, keys: &TokenKeys) -> Result<Option<DemoReport>, Error> {
    let seeder = Seeder { http: reqwest::Client::new(), base: base.trim_end_matches('/').to_owned() };
    seeder.ready().await?;
    let existing = seeder.http.get(format!("{}/api/v1/courses?limit=1", seeder.base)).send().await;
    let existing: Value = match existing {
        Ok(answer) => answer.json().await.unwrap_or(Value::Null),
        Err(error) => return Err(Error::Demo(error.to_string())),
    };
    if existing["total_results"].as_i64().unwrap_or(0) > 0 {
        return Ok(None);
    }
    let admin = keys.issue(Uuid::now_v7(), Role::Admin, Duration::from_secs(3600))?;
    for (currency, rate) in RATES {
        let path = format!("/admin/fx-rates/{currency}");
        seeder.send(reqwest::Method::PUT, &path, &admin, Some(json!({ "rate": rate }))).await?;
    }
    let mut instructors = Vec::new();
    for n in 0..INSTRUCTORS {
        let name = format!("{} {}", FIRST[n % FIRST.len()], LAST[n % LAST.len()]);
        let username = format!("demo{n}");
        let body = json!({ "kind": "instructor", "email": format!("{username}@demo.learnlog.dev"),
            "username": username, "password": DEMO_PASSWORD, "name": name, "country": "US" });
        let id = Uuid::parse_str(&seeder.post("/admin/users", &admin, body).await?)
            .map_err(|e| Error::Demo(format!("an instructor id: {e}")))?;
        let token = keys.issue(id, Role::Instructor, Duration::from_secs(3600))?;
        let (category, _) = CATEGORIES[n % CATEGORIES.len()];
        let profile = json!({ "title": TITLES[n % TITLES.len()], "speciality": category,
            "biography": format!("{name} has taught {category} for {} years.", 3 + n % 12) });
        seeder.send(reqwest::Method::PATCH, "/me", &token, Some(profile)).await?;
        seeder.picture("/me/picture", &token, media::generated(n as u64, 480, 480)).await?;
        instructors.push(token);
    }
    let mut tasks = tokio::task::JoinSet::new();
    let seeder = std::sync::Arc::new(seeder);
    for (owner, token) in instructors.into_iter().enumerate() {
        let seeder = std::sync::Arc::clone(&seeder);
        tasks.spawn(async move {
            for n in (owner..COURSES).step_by(INSTRUCTORS) {
                course(&seeder, &token, n).await?;
            }
            Ok::<(), Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| Error::Demo(e.to_string()))??;
    }
    seeder.visible(COURSES).await?;
    shoppers(&seeder, keys, &admin).await?;
    Ok(Some(DemoReport { instructors: INSTRUCTORS, courses: COURSES, trainees: TRAINEES }))
}

/// The demo trainees sign up, get wallet credit from the admin, buy two courses with it and wish for a
/// third: orders, enrolments and instructors' earnings to show.
async fn shoppers(seeder: &Seeder, keys: &TokenKeys, admin: &str) -> Result<(), Error> {
    let page = seeder.send(reqwest::Method::GET, "/courses?sort=popular&limit=24", admin, None).await?;
    let ids =
        |course: &Value| Some((course["id"].as_str()?.to_owned(), course["instructor"]["id"].as_str()?.to_owned()));
    let courses: Vec<(String, String)> =
        page["data"].as_array().map(|courses| courses.iter().filter_map(ids).collect()).unwrap_or_default();
    if courses.len() < 3 {
        return Err(Error::Demo("the demo catalogue has too few courses to shop in".into()));
    }
    for n in 0..TRAINEES {
        let username = format!("trainee{n}");
        let country = ["US", "EG", "DE", "GB", "IN", "JP"][n % 6];
        let body = json!({ "email": format!("{username}@demo.learnlog.dev"), "username": username,
            "password": DEMO_PASSWORD, "name": format!("{} {}", FIRST[(n + 3) % FIRST.len()], LAST[n % LAST.len()]),
            "country": country });
        let id = Uuid::parse_str(&seeder.post("/auth/register", "", body).await?)
            .map_err(|e| Error::Demo(format!("a trainee id: {e}")))?;
        let credit = json!({ "amount_cents": 20_000, "reason": "Welcome credit" });
        seeder.post(&format!("/admin/wallets/{id}/credits"), admin, credit).await?;
        let token = keys.issue(id, Role::IndividualTrainee, Duration::from_secs(3600))?;
        for offset in 0..2 {
            let (course, _) = &courses[(n * 2 + offset) % courses.len()];
            seeder.post("/cart/items", &token, json!({ "course_id": course })).await?;
        }
        seeder.post("/orders", &token, json!({ "method": "wallet", "country": "US" })).await?;
        let (wished, _) = &courses[(n * 2 + 2) % courses.len()];
        seeder.post("/wishlist/items", &token, json!({ "course_id": wished })).await?;
        let (finished, teacher) = &courses[(n * 2) % courses.len()];
        learn(seeder, &token, finished, true).await?;
        learn(seeder, &token, &courses[(n * 2 + 1) % courses.len()].0, false).await?;
        let teacher = Uuid::parse_str(teacher).map_err(|e| Error::Demo(format!("an instructor id: {e}")))?;
        conversation(seeder, keys, (id, &token), teacher, finished).await?;
    }
    Ok(())
}

/// The trainee asks the instructor of the course they finished about it, and the instructor answers.
async fn conversation(
    seeder: &Seeder,
    keys: &TokenKeys,
    (trainee, token): (Uuid, &str),
    teacher: Uuid,
    course: &str,
) -> Result<(), Error> {
    let question =
        json!({ "text": "Thank you for the course! Which one of yours should I take next?", "course_id": course });
    seeder.post(&format!("/me/conversations/{teacher}/messages"), token, question).await?;
    let teacher_token = keys.issue(teacher, Role::Instructor, Duration::from_secs(3600))?;
    let answer = json!({ "text": "Glad it helped. The advanced one builds right on it.", "course_id": course });
    seeder.post(&format!("/me/conversations/{trainee}/messages"), &teacher_token, answer).await?;
    Ok(())
}

/// The trainee views every lesson of `course` and passes its exam (`finish`), or views its first lesson,
/// once the order's saga has enrolled them.
async fn learn(seeder: &Seeder, token: &str, course: &str, finish: bool) -> Result<(), Error> {
    let mut enrolled = Value::Null;
    for _ in 0..600 {
        let answer = seeder.http.get(format!("{}/api/v1/me/enrollments/{course}", seeder.base)).bearer_auth(token);
        if let Ok(answer) = answer.send().await
            && answer.status().is_success()
        {
            enrolled = answer.json().await.unwrap_or(Value::Null);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if enrolled.is_null() {
        return Err(Error::Demo(format!("the demo order of course {course} was not fulfilled within a minute")));
    }
    let ids = |list: &Value, key: &str| -> Vec<String> {
        list.as_array().into_iter().flatten().filter_map(|item| item[key].as_str().map(str::to_owned)).collect()
    };
    let sections = enrolled["data"]["sections"].as_array().cloned().unwrap_or_default();
    let lessons: Vec<String> = sections.iter().flat_map(|section| ids(&section["lessons"], "id")).collect();
    for lesson in lessons.iter().take(if finish { lessons.len() } else { 1 }) {
        let view = format!("/enrollments/{course}/lessons/{lesson}/view");
        seeder.send(reqwest::Method::POST, &view, token, None).await?;
    }
    let exam = ids(&enrolled["data"]["exam"], "question_id");
    if finish && !exam.is_empty() {
        // The demo exams' right answer is always the second option.
        let answers: serde_json::Map<String, Value> = exam.into_iter().map(|id| (id, json!(1))).collect();
        seeder.post(&format!("/enrollments/{course}/exam-attempts"), token, json!({ "answers": answers })).await?;
    }
    Ok(())
}

/// Course number `n`: a draft with two or three sections of lessons, an FAQ entry, for every fourth a
/// discount running today, then published.
async fn course(seeder: &Seeder, token: &str, n: usize) -> Result<(), Error> {
    let (category, subcategories) = CATEGORIES[n % CATEGORIES.len()];
    let subcategory = subcategories[(n / CATEGORIES.len()) % subcategories.len()];
    let title = SHAPES[(n / 3) % SHAPES.len()].replace("{}", subcategory);
    let body = json!({ "title": title, "summary": format!("{subcategory} for {category}, step by step."),
        "category": category, "subcategories": [subcategory], "level": LEVELS[n % LEVELS.len()],
        "language": "English", "price": { "amount_cents": PRICES[n % PRICES.len()], "currency": "USD" },
        "description": format!("A course on {subcategory} in {category}: the ideas first, then practice, then an exam."),
        "outline": ["The ideas", format!("{subcategory} in practice"), "The exam"],
        "keywords": [subcategory.to_lowercase(), category.to_lowercase()], "captions": ["English"] });
    let id = seeder.post("/courses", token, body).await?;
    seeder.picture(&format!("/courses/{id}/thumbnail"), token, media::generated(1_000 + n as u64, 960, 540)).await?;
    for s in 0..2 + n % 2 {
        let section = seeder
            .post(&format!("/courses/{id}/sections"), token, json!({ "title": format!("Part {}", s + 1) }))
            .await?;
        for l in 0..2 + (n + s) % 3 {
            let lesson = json!({ "title": format!("Lesson {}.{}", s + 1, l + 1),
                "video_url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "duration_min": 15 + (n * 7 + l * 11) % 40 });
            seeder.post(&format!("/courses/{id}/sections/{section}/lessons"), token, lesson).await?;
        }
    }
    let faq =
        json!({ "question": "Do I need experience?", "answer": format!("No; the {subcategory} basics are covered.") });
    seeder.post(&format!("/courses/{id}/faq"), token, faq).await?;
    if n.is_multiple_of(3) {
        let question =
            |text: &str| json!({ "question": text, "options": ["Never", "Yes", "Only on Fridays"], "answer": "Yes" });
        let exam = json!({ "questions": [question(&format!("Is {subcategory} worth learning?")),
            question("Should you practise every day?")] });
        seeder.send(reqwest::Method::PUT, &format!("/courses/{id}/exam"), token, Some(exam)).await?;
    }
    if n.is_multiple_of(4) {
        let today = OffsetDateTime::now_utc().date();
        let discount = json!({ "percent": 10 + (n % 5) * 10, "starts_on": today.to_string(),
            "ends_on": (today + time::Duration::days(14)).to_string() });
        seeder.post(&format!("/courses/{id}/discounts"), token, discount).await?;
    }
    seeder.send(reqwest::Method::POST, &format!("/courses/{id}/publish"), token, None).await?;
    Ok(())
}
