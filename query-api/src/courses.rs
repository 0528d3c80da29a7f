//! The public catalogue: published courses with search, filters, sorts and display prices; one course's
//! public page; the category taxonomy.

use api_contract::{Params, PathId, Problem};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use deadpool_postgres::Client;
use http::HeaderMap;
use serde::Serialize;
use serde_json::Value;
use time::{Date, OffsetDateTime};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::QueryApiState;
use crate::caching::{Audience, cached_json};
use crate::catalog_query::{CatalogQuery, Conditions, Sort, like_escaped};
use crate::money::{Display, InCountry, Money, discounted};
use crate::page::{ListEnvelope, Paging};
use crate::reading::reading;

/// The catalogue's default page size (DOMAIN.md 2.6.1).
const DEFAULT_LIMIT: i64 = 12;

/// The columns of a course row (`c`), with today's discount (UTC) and the price after it.
macro_rules! course_columns {
    () => {
        "c.id, c.instructor_id, c.instructor_name, c.title, c.summary, c.category, \
         c.subcategories, c.level, c.language, c.base_price_cents, c.duration_h, c.lesson_count, \
         c.rating_avg::float8 AS rating_avg, c.rating_count, c.enrolled_count, c.status, c.version, c.created_at, \
         c.published_at, COALESCE(round(c.exam_grade_sum::numeric / NULLIF(c.exam_attempts, 0), 2), 0)::float8 AS exam_avg, \
         c.exam_attempts, d.percent AS discount_percent, d.ends_on AS discount_ends_on, c.thumbnail_id, c.thumbnail_format, \
         iu.picture_id AS instructor_picture_id, iu.picture_format AS instructor_picture_format, \
         (c.base_price_cents * (100 - COALESCE(d.percent, 0)) + 50) / 100 AS effective_price_cents"
    };
}

/// The tables of a course row: the course, today's discount and its instructor's picture.
macro_rules! course_from {
    () => {
        "catalog_course c LEFT JOIN LATERAL (SELECT percent, ends_on FROM course_discount \
         WHERE course_id = c.id AND (now() AT TIME ZONE 'UTC')::date BETWEEN starts_on AND ends_on \
         ORDER BY starts_on LIMIT 1) d ON true \
         LEFT JOIN user_directory iu ON iu.id = c.instructor_id"
    };
}

pub(crate) use {course_columns, course_from};

/// A course row: `SELECT <columns> FROM <tables>`.
pub const COURSE_SELECT: &str = concat!("SELECT ", course_columns!(), " FROM ", course_from!());

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct InstructorRef {
    id: Uuid,
    name: String,
    picture: Option<crate::pictures::PictureUrls>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Rating {
    average: f64,
    count: i32,
}

impl Rating {
    /// From the `rating_avg` (float8) and `rating_count` columns of a row.
    pub(crate) fn from_row(row: &Row) -> Result<Self, tokio_postgres::Error> {
        Ok(Rating { average: row.try_get("rating_avg")?, count: row.try_get("rating_count")? })
    }
}

/// R9: the average grade over every attempt at the course's exam (half up to 2 decimals), and how many.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ExamStats {
    average: f64,
    attempts: i32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ActiveDiscount {
    percent: i16,
    #[serde(with = "events::content::iso_date")]
    ends_on: Date,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CourseView {
    id: Uuid,
    title: String,
    summary: String,
    category: String,
    subcategories: Vec<String>,
    level: String,
    language: String,
    /// The course's thumbnail, in its sizes (`PUT /api/v1/courses/{id}/thumbnail`).
    thumbnail: Option<crate::pictures::PictureUrls>,
    /// What the course costs today, in the caller's currency.
    price: Money,
    /// The price before today's discount.
    list_price: Money,
    discount: Option<ActiveDiscount>,
    duration_hours: i32,
    lesson_count: i32,
    rating: Rating,
    enrolled_count: i64,
    exam_grades: ExamStats,
    instructor: InstructorRef,
    status: String,
    version: i64,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    published_at: Option<OffsetDateTime>,
}

impl CourseView {
    pub(crate) fn from_row(row: &Row, display: Display) -> Result<Self, tokio_postgres::Error> {
        let base: i64 = row.try_get("base_price_cents")?;
        let percent: Option<i16> = row.try_get("discount_percent")?;
        let ends_on: Option<Date> = row.try_get("discount_ends_on")?;
        Ok(CourseView {
            id: row.try_get("id")?,
            instructor: InstructorRef {
                id: row.try_get("instructor_id")?,
                name: row.try_get("instructor_name")?,
                picture: crate::pictures::PictureUrls::of(row, "instructor_picture_id", "instructor_picture_format")?,
            },
            title: row.try_get("title")?,
            summary: row.try_get("summary")?,
            category: row.try_get("category")?,
            subcategories: row.try_get("subcategories")?,
            level: row.try_get("level")?,
            language: row.try_get("language")?,
            thumbnail: crate::pictures::PictureUrls::of(row, "thumbnail_id", "thumbnail_format")?,
            price: display.show(discounted(base, percent)),
            list_price: display.show(base),
            discount: percent.zip(ends_on).map(|(percent, ends_on)| ActiveDiscount { percent, ends_on }),
            duration_hours: row.try_get("duration_h")?,
            lesson_count: row.try_get("lesson_count")?,
            rating: Rating::from_row(row)?,
            enrolled_count: row.try_get("enrolled_count")?,
            exam_grades: ExamStats { average: row.try_get("exam_avg")?, attempts: row.try_get("exam_attempts")? },
            status: row.try_get("status")?,
            version: row.try_get("version")?,
            created_at: row.try_get("created_at")?,
            published_at: row.try_get("published_at")?,
        })
    }
}

/// Which courses a list is drawn from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope {
    /// The whole catalogue; a search also matches instructor names.
    Catalogue,
    /// One instructor's published courses; a search matches titles only, most popular first by default.
    Instructor(Uuid),
    /// Every course of the instructor asking, drafts and retired ones too, newest first: private.
    Own(Uuid),
}

/// What the public lists show: published courses with something to learn (a course with no lesson is reached
/// by its link only).
const LISTED: &str = "c.status = 'published' AND c.lesson_count > 0";
const NOT_DELETED: &str = "c.status <> 'deleted'";

/// A course page: its row, its details (which the lists leave out) and its content document, in one
/// statement prepared once per connection, as every hot read is.
macro_rules! course_page {
    ($document:literal, $which:literal) => {
        concat!(
            "SELECT c.details, doc.",
            $document,
            " AS content, ",
            course_columns!(),
            " FROM ",
            course_from!(),
            " LEFT JOIN course_document doc ON doc.course_id = c.id WHERE c.id = $1 AND ",
            $which
        )
    };
}

/// A published course (`$1`) as anyone sees it: the public outline, no video URL and no answer.
pub const PUBLIC_PAGE: &str = course_page!("public_doc", "c.status = 'published'");
/// A course (`$1`) of its owner (`$2`), in full, unless it is deleted.
const OWNER_PAGE: &str = course_page!("doc", "c.status <> 'deleted' AND c.instructor_id = $2");

/// `GET /api/v1/courses`: published courses, filtered, sorted and paged.
pub(crate) async fn list(
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Params(query): Params<CatalogQuery>,
    Params(paging): Params<Paging>,
) -> Response {
    list_courses(&state, &headers, query, paging, Scope::Catalogue).await.unwrap_or_else(|p| p.into_response())
}

pub(crate) async fn list_courses(
    state: &QueryApiState,
    headers: &HeaderMap,
    mut query: CatalogQuery,
    paging: Paging,
    scope: Scope,
) -> Result<Response, Problem> {
    let page = paging.request(DEFAULT_LIMIT);
    let client = state.read.pool().get().await.map_err(reading("the catalogue"))?;
    let display = Display::for_country(&client, query.country.as_deref()).await.map_err(reading("the catalogue"))?;
    let (mut conditions, audience) = match scope {
        Scope::Catalogue => (query.conditions(display, LISTED, true), Audience::Public),
        Scope::Instructor(instructor_id) => {
            let mut conditions = query.conditions(display, LISTED, false);
            conditions.push(|n| format!("c.instructor_id = ${n}"), instructor_id);
            query.sort = query.sort.or(Some(Sort::Popular));
            (conditions, Audience::Public)
        }
        Scope::Own(instructor_id) => {
            let mut conditions = query.conditions(display, NOT_DELETED, false);
            conditions.push(|n| format!("c.instructor_id = ${n}"), instructor_id);
            query.sort = query.sort.or(Some(Sort::Newest));
            (conditions, Audience::Private)
        }
    };
    let total = count(&client, &conditions).await?;
    // The ranking's own parameter comes after the filters', which the count above used alone.
    let ranked = query.sort.is_none_or(|sort| sort == Sort::Relevance);
    let search_param = query.search.as_ref().filter(|_| ranked).map(|search| {
        conditions.params.push(Box::new(like_escaped(&search.0)));
        conditions.params.len()
    });
    let (limit, offset) = (conditions.params.len() + 1, conditions.params.len() + 2);
    let sql = format!(
        "{COURSE_SELECT} {} ORDER BY {} LIMIT ${limit} OFFSET ${offset}",
        conditions.where_clause(),
        query.order_by(search_param)
    );
    let mut params = conditions.params();
    params.push(&page.limit);
    let skip = page.offset();
    params.push(&skip);
    let rows = client.query(&sql, &params).await.map_err(reading("the catalogue"))?;
    let courses = rows
        .iter()
        .map(|row| CourseView::from_row(row, display))
        .collect::<Result<Vec<_>, _>>()
        .map_err(reading("the catalogue"))?;
    Ok(cached_json(headers, audience, &ListEnvelope::new(courses, page, total)))
}

async fn count(client: &Client, conditions: &Conditions) -> Result<i64, Problem> {
    let sql = format!("SELECT count(*) FROM catalog_course c {}", conditions.where_clause());
    client.query_one(&sql, &conditions.params()).await.and_then(|row| row.try_get(0)).map_err(reading("the catalogue"))
}

/// `GET /api/v1/courses/{id}`: one published course's public page: no video URL, no answer.
pub(crate) async fn get(
    State(state): State<QueryApiState>,
    PathId(course_id): PathId,
    headers: HeaderMap,
    Params(shown): Params<InCountry>,
) -> Response {
    let answer = published_course(&state, &headers, course_id, shown.country()).await;
    answer.unwrap_or_else(|p| p.into_response())
}

async fn published_course(
    state: &QueryApiState,
    headers: &HeaderMap,
    course_id: Uuid,
    country: Option<&str>,
) -> Result<Response, Problem> {
    let (course, content) = course_page(state, course_id, country, PageKind::Public).await?;
    Ok(cached_json(headers, Audience::Public, &serde_json::json!({ "data": with_content(course, content)? })))
}

/// Which page of a course to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageKind {
    /// A published course as anyone sees it.
    Public,
    /// Any course of `owner` but a deleted one, in full: video URLs and answers included.
    Owner(Uuid),
}

/// A course row and its content document, or 404 when the reader may not see the course.
pub(crate) async fn course_page(
    state: &QueryApiState,
    course_id: Uuid,
    country: Option<&str>,
    kind: PageKind,
) -> Result<(CourseView, Value), Problem> {
    let client = state.read.pool().get().await.map_err(reading("the catalogue"))?;
    let display = Display::for_country(&client, country).await.map_err(reading("the catalogue"))?;
    let (row, public) = match kind {
        PageKind::Public => {
            let page = client.prepare_cached(PUBLIC_PAGE).await.map_err(reading("the catalogue"))?;
            (client.query_opt(&page, &[&course_id]).await, true)
        }
        PageKind::Owner(owner) => {
            let page = client.prepare_cached(OWNER_PAGE).await.map_err(reading("the catalogue"))?;
            (client.query_opt(&page, &[&course_id, &owner]).await, false)
        }
    };
    let row = row.map_err(reading("the catalogue"))?.ok_or_else(|| Problem::not_found("There is no such course."))?;
    let course = CourseView::from_row(&row, display).map_err(reading("the catalogue"))?;
    let details: Value = row.try_get("details").map_err(reading("the catalogue"))?;
    let content: Option<Value> = row.try_get("content").map_err(reading("the catalogue"))?;
    let mut content = content.unwrap_or_else(|| empty_document(public));
    if let (Value::Object(content), Value::Object(details)) = (&mut content, CourseDetails::from(details)) {
        content.extend(details);
    }
    Ok((course, content))
}

/// The document of a course without content yet, shaped as the projector shapes each: the public page
/// shows only the exam's size, the owner's full document its questions.
fn empty_document(public: bool) -> Value {
    let exam = if public { serde_json::json!({ "question_count": 0 }) } else { serde_json::json!([]) };
    serde_json::json!({ "sections": [], "exam": exam, "faq": [], "announcements": [] })
}

/// The course's fields and its content's, in one object.
/// The course page as the document describes it: the catalogue fields and the public outline (no video
/// URL, no answer).
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct CoursePage {
    #[serde(flatten)]
    course: CourseView,
    #[serde(flatten)]
    details: CourseDetails,
    /// Sections with their lessons (title, duration) and exercises (how many questions).
    sections: Vec<crate::course_content::PublicSection>,
    /// What the public may know of the exam: `{question_count}`.
    exam: ExamSummary,
    faq: Vec<crate::course_content::FaqEntry>,
    announcements: Vec<crate::course_content::AnnouncementEntry>,
}

/// What a course's page shows beyond its row: the long description, the preview video (a YouTube embed URL),
/// what it covers, the words it is found by, and the languages of its captions.
#[derive(Debug, Default, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub(crate) struct CourseDetails {
    description: String,
    preview_video_url: Option<String>,
    outline: Vec<String>,
    keywords: Vec<String>,
    captions: Vec<String>,
}

impl CourseDetails {
    /// The details as the projector keeps them (a course created before they existed has none), as JSON.
    fn from(kept: Value) -> Value {
        let details: CourseDetails = serde_json::from_value(kept).unwrap_or_default();
        serde_json::to_value(details).unwrap_or_default()
    }
}

/// The public view of a course's exam.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct ExamSummary {
    question_count: i64,
}

/// One category of the taxonomy (R14), as the document describes it.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct Category {
    label: String,
    subcategories: Vec<String>,
}

pub(crate) fn with_content(course: CourseView, content: Value) -> Result<Value, Problem> {
    let mut data = serde_json::to_value(&course).map_err(reading("the catalogue"))?;
    if let (Value::Object(fields), Value::Object(content)) = (&mut data, content) {
        fields.extend(content);
    }
    Ok(data)
}

/// `GET /api/v1/categories`: the fixed taxonomy (R14).
pub(crate) async fn categories(headers: HeaderMap) -> Response {
    let data: Vec<Value> = events::taxonomy::CATEGORIES
        .iter()
        .map(|(label, subcategories)| serde_json::json!({ "label": label, "subcategories": subcategories }))
        .collect();
    cached_json(&headers, Audience::Public, &serde_json::json!({ "data": data }))
}

/// The highest price in the catalogue, for a price slider.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PriceCeiling {
    /// The highest undiscounted price of a published course, in the `country`'s currency (0 for none).
    max: Money,
}

/// `GET /api/v1/courses/price/max?country=`
pub(crate) async fn max_price(
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Params(shown): Params<InCountry>,
) -> Response {
    let answer = async {
        let client = state.read.pool().get().await.map_err(reading("the catalogue"))?;
        let display = Display::for_country(&client, shown.country()).await.map_err(reading("the catalogue"))?;
        let max: i64 = client
            .query_one(
                &format!("SELECT COALESCE(max(c.base_price_cents), 0) FROM catalog_course c WHERE {LISTED}"),
                &[],
            )
            .await
            .and_then(|row| row.try_get(0))
            .map_err(reading("the catalogue"))?;
        let data = PriceCeiling { max: display.show(max) };
        Ok::<_, Problem>(cached_json(&headers, Audience::Public, &serde_json::json!({ "data": data })))
    };
    answer.await.unwrap_or_else(|p| p.into_response())
}
