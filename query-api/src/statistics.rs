//! The admins' dashboards (DOMAIN.md, "Admin analytics"): `GET /api/v1/admin/statistics`, the platform at a
//! glance (users by kind, courses and enrolments by status, the money so far, the top courses and instructors);
//! and `GET /api/v1/admin/statistics/revenue`, the platform's money by day or by month from
//! `platform_revenue_daily`: what orders paid (gross), what went back to trainees (refunds), the instructors'
//! share, and the platform's fee that remains. Amounts are kept in US cents and shown in a chosen currency at
//! today's rate; a currency without a rate is refused, never shown at 1.

use std::collections::BTreeMap;

use api_contract::query::{Day, OneOf, Text, Whole, Words};
use api_contract::{Params, Problem};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::QueryApiState;
use crate::caching::{Audience, cached_json};
use crate::money::{Display, Money};
use crate::reading::reading;

/// The currency amounts are shown in.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Shown {
    /// An ISO 4217 code with an exchange rate (USD by default).
    #[param(inline)]
    currency: Option<Text<3>>,
}

impl Shown {
    async fn display(&self, client: &deadpool_postgres::Client) -> Result<Display, Problem> {
        let Some(Text(code)) = &self.currency else { return Ok(Display::USD) };
        let code = code.to_ascii_uppercase();
        if !events::currency::is_circulating(&code) {
            return Err(Problem::invalid_param("currency", "is an ISO 4217 code of a circulating currency"));
        }
        let display = Display::for_currency(client, &code).await.map_err(reading("exchange rates"))?;
        display.ok_or_else(|| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no_exchange_rate",
                format!("There is no exchange rate for {code}: amounts are never shown at a rate of 1."),
            )
        })
    }
}

/// How many of the top courses and instructors.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Top {
    /// 1 to 50 (5 by default).
    #[param(inline)]
    top: Option<Whole<1, 50>>,
}

/// The platform's money over a time.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub(crate) struct PlatformRevenue {
    /// What orders paid.
    gross: Money,
    /// What went back to trainees' wallets: approved refunds, and lines that could not be fulfilled.
    refunds: Money,
    /// The instructors' share, less what refunds took back.
    instructors: Money,
    /// What remains: gross less refunds less the instructors' share.
    platform_fee: Money,
}

impl PlatformRevenue {
    fn of(display: Display, row: &tokio_postgres::Row) -> Result<PlatformRevenue, tokio_postgres::Error> {
        let (gross, refunds, instructors): (i64, i64, i64) =
            (row.try_get("gross")?, row.try_get("refunds")?, row.try_get("instructors")?);
        Ok(PlatformRevenue {
            gross: display.show(gross),
            refunds: display.show(refunds),
            instructors: display.show(instructors),
            platform_fee: display.show(gross - refunds - instructors),
        })
    }
}

const SUMS: &str = "COALESCE(sum(r.gross_cents), 0)::bigint AS gross, COALESCE(sum(r.refunds_cents), 0)::bigint AS refunds, \
     COALESCE(sum(r.instructor_cents), 0)::bigint AS instructors";

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Overview {
    /// Accounts by kind (`individual_trainee`, `corporate_trainee`, `instructor`, `admin`, `analyst`).
    users: BTreeMap<String, i64>,
    /// Courses by status (`draft`, `published`, `retired`).
    courses: BTreeMap<String, i64>,
    /// Enrolments by status.
    enrollments: BTreeMap<String, i64>,
    /// Since the first order.
    revenue: PlatformRevenue,
    top_courses: Vec<TopCourse>,
    top_instructors: Vec<TopInstructor>,
}

/// A course among the most enrolled.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TopCourse {
    id: Uuid,
    title: String,
    status: String,
    instructor_id: Uuid,
    instructor_name: String,
    enrolled: i64,
    /// Average of 1 to 5, 0 without reviews.
    rating: f64,
    ratings: i32,
    /// What its instructor earned from it.
    earned: Money,
}

/// An instructor among those who earned most.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TopInstructor {
    id: Uuid,
    /// `null` once the account was erased.
    name: Option<String>,
    picture: Option<crate::pictures::PictureUrls>,
    courses: i64,
    enrolled: i64,
    earned: Money,
}

fn counts(rows: &[tokio_postgres::Row]) -> Result<BTreeMap<String, i64>, tokio_postgres::Error> {
    rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect()
}

/// `GET /api/v1/admin/statistics?currency=&top=`
pub(crate) async fn overview(
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Params(shown): Params<Shown>,
    Params(top): Params<Top>,
) -> Response {
    let answer = async {
        let client = state.read.pool().get().await.map_err(reading("statistics"))?;
        let display = shown.display(&client).await?;
        let top = top.top.map_or(5, |top| top.0);
        let top: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&top];
        let all_revenue = format!("SELECT {SUMS} FROM platform_revenue_daily r");
        let users = client.query("SELECT role, count(*) FROM user_directory GROUP BY role", &[]);
        let courses = client.query("SELECT status, count(*) FROM catalog_course GROUP BY status", &[]);
        let enrollments = client.query("SELECT status, count(*) FROM enrollment_view GROUP BY status", &[]);
        let revenue = client.query_one(&all_revenue, &[]);
        let top_courses = client.query(
            "SELECT c.id, c.title, c.status, c.instructor_id, c.instructor_name, c.enrolled_count, \
             c.rating_avg::float8 AS rating, c.rating_count, COALESCE(e.earning_cents, 0) AS earned \
             FROM catalog_course c LEFT JOIN instructor_course_earnings e ON e.course_id = c.id \
             AND e.instructor_id = c.instructor_id ORDER BY c.enrolled_count DESC, earned DESC, c.id LIMIT $1",
            &top,
        );
        let top_instructors = client.query(
            "SELECT e.instructor_id, u.name, u.picture_id, u.picture_format, sum(e.earning_cents)::bigint AS earned, \
             (SELECT count(*) FROM catalog_course c WHERE c.instructor_id = e.instructor_id) AS courses, \
             (SELECT COALESCE(sum(c.enrolled_count), 0)::bigint FROM catalog_course c \
              WHERE c.instructor_id = e.instructor_id) AS enrolled \
             FROM instructor_course_earnings e LEFT JOIN user_directory u ON u.id = e.instructor_id \
             GROUP BY e.instructor_id, u.name, u.picture_id, u.picture_format \
             ORDER BY earned DESC, e.instructor_id LIMIT $1",
            &top,
        );
        let (users, courses, enrollments, revenue, top_courses, top_instructors) =
            tokio::try_join!(users, courses, enrollments, revenue, top_courses, top_instructors)
                .map_err(reading("statistics"))?;
        let overview = async {
            Ok::<_, tokio_postgres::Error>(Overview {
                users: counts(&users)?,
                courses: counts(&courses)?,
                enrollments: counts(&enrollments)?,
                revenue: PlatformRevenue::of(display, &revenue)?,
                top_courses: top_courses
                    .iter()
                    .map(|row| {
                        Ok(TopCourse {
                            id: row.try_get("id")?,
                            title: row.try_get("title")?,
                            status: row.try_get("status")?,
                            instructor_id: row.try_get("instructor_id")?,
                            instructor_name: row.try_get("instructor_name")?,
                            enrolled: row.try_get("enrolled_count")?,
                            rating: row.try_get("rating")?,
                            ratings: row.try_get("rating_count")?,
                            earned: display.show(row.try_get("earned")?),
                        })
                    })
                    .collect::<Result<_, tokio_postgres::Error>>()?,
                top_instructors: top_instructors
                    .iter()
                    .map(|row| {
                        Ok(TopInstructor {
                            id: row.try_get("instructor_id")?,
                            name: row.try_get("name")?,
                            picture: crate::pictures::PictureUrls::of(row, "picture_id", "picture_format")?,
                            courses: row.try_get("courses")?,
                            enrolled: row.try_get("enrolled")?,
                            earned: display.show(row.try_get("earned")?),
                        })
                    })
                    .collect::<Result<_, tokio_postgres::Error>>()?,
            })
        };
        let overview = overview.await.map_err(reading("statistics"))?;
        Ok::<_, Problem>(cached_json(&headers, Audience::Private, &serde_json::json!({ "data": overview })))
    };
    answer.await.unwrap_or_else(|problem| problem.into_response())
}

/// The periods of a revenue report.
pub(crate) struct Periods;

impl Words for Periods {
    const WORDS: &'static [&'static str] = &["day", "month"];
}

type Period = OneOf<Periods>;

/// Which days, and how they are summed.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RevenueRange {
    /// `day` (the default) or `month`.
    #[param(inline)]
    by: Option<Period>,
    /// The first day (by default 30 days, or 12 months, before `to`).
    #[param(inline)]
    from: Option<Day>,
    /// The last day (today, UTC, by default).
    #[param(inline)]
    to: Option<Day>,
}

/// The longest report: two years of days, or ten of months.
const MOST_DAYS: i64 = 731;
const MOST_MONTHS: i64 = 120;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RevenueReport {
    by: &'static str,
    /// The first day, `2026-12-01`.
    #[schema(format = Date)]
    from: String,
    /// The last day.
    #[schema(format = Date)]
    to: String,
    /// The sums over the whole range.
    totals: PlatformRevenue,
    /// Every day or month of the range, the latest first, with nothing in it shown as zero.
    periods: Vec<PeriodRevenue>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PeriodRevenue {
    /// `2026-12-07`, or `2026-12` by month.
    period: String,
    #[serde(flatten)]
    revenue: PlatformRevenue,
}

/// `GET /api/v1/admin/statistics/revenue?by=day|month&from=&to=&currency=`
pub(crate) async fn revenue(
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Params(range): Params<RevenueRange>,
    Params(shown): Params<Shown>,
) -> Response {
    let answer = async {
        let by_month = range.by.is_some_and(|by| by.as_str() == "month");
        let to = range.to.map_or_else(|| OffsetDateTime::now_utc().date(), |day| day.0);
        let from = match range.from {
            Some(day) => day.0,
            None if by_month => to.replace_day(1).unwrap_or(to) - Duration::days(365),
            None => to - Duration::days(29),
        };
        if from > to {
            return Err(Problem::invalid_param("from", "is on or before `to`"));
        }
        let months = i64::from(to.year() - from.year()) * 12 + i64::from(u8::from(to.month()))
            - i64::from(u8::from(from.month()));
        if (by_month && months >= MOST_MONTHS) || (!by_month && (to - from).whole_days() >= MOST_DAYS) {
            let most = if by_month { format!("{MOST_MONTHS} months") } else { format!("{MOST_DAYS} days") };
            return Err(Problem::invalid_param("from", format!("is at most {most} before `to`")));
        }
        let client = state.read.pool().get().await.map_err(reading("statistics"))?;
        let display = shown.display(&client).await?;
        let (unit, shape) = if by_month { ("month", "YYYY-MM") } else { ("day", "YYYY-MM-DD") };
        let periods = format!(
            "SELECT to_char(p, '{shape}') AS period, {SUMS} \
             FROM generate_series(date_trunc('{unit}', $1::date), $2::date, interval '1 {unit}') p \
             LEFT JOIN platform_revenue_daily r ON r.day >= p::date AND r.day < (p + interval '1 {unit}')::date \
             AND r.day BETWEEN $1 AND $2 GROUP BY p ORDER BY p DESC"
        );
        let days: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&from, &to];
        let periods = client.query(&periods, &days);
        let totals = format!("SELECT {SUMS} FROM platform_revenue_daily r WHERE r.day BETWEEN $1 AND $2");
        let totals = client.query_one(&totals, &days);
        let (periods, totals) = tokio::try_join!(periods, totals).map_err(reading("statistics"))?;
        let report = (|| {
            Ok::<_, tokio_postgres::Error>(RevenueReport {
                by: unit,
                from: from.to_string(),
                to: to.to_string(),
                totals: PlatformRevenue::of(display, &totals)?,
                periods: periods
                    .iter()
                    .map(|row| {
                        Ok(PeriodRevenue {
                            period: row.try_get("period")?,
                            revenue: PlatformRevenue::of(display, row)?,
                        })
                    })
                    .collect::<Result<_, tokio_postgres::Error>>()?,
            })
        })()
        .map_err(reading("statistics"))?;
        Ok(cached_json(&headers, Audience::Private, &serde_json::json!({ "data": report })))
    };
    answer.await.unwrap_or_else(|problem| problem.into_response())
}
