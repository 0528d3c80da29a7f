//! The read side: HTTP queries over the read models. Reads favour availability: a read that asks for a
//! write it cannot see yet waits a bounded time, then answers what it has, marked stale. It writes nothing.

mod admin;
mod as_of;
mod caching;
mod catalog_query;
mod certificates;
mod consistency;
mod course_content;
mod courses;
mod discounts;
mod enrollments;
mod history;
mod instructors;
mod listing;
mod lists;
mod me;
mod money;
mod newsletter;
mod orders;
mod page;
mod reading;
mod refunds;
mod replicas;
mod reports;
mod reviews;
mod teaching;
mod wallet;
mod watermark;

use std::sync::Arc;
use std::time::Duration;

use api_contract::{ApiRoutes, QueryRule, TokenKeys, Who};
use http::Method;

const GET: Method = Method::GET;
use axum::Router;
use axum::extract::FromRef;
use database::Database;

pub use as_of::Snapshots;
pub use certificates::RenderedPdfs;
pub use courses::COURSE_SELECT;
pub use replicas::{DEFAULT_MAX_LAG, ReadModels};
pub use watermark::Watermark;

/// The default bound on a consistency-token wait (API.md).
pub const DEFAULT_CONSISTENCY_WAIT: Duration = Duration::from_secs(2);

/// What every query handler needs.
#[derive(Debug, Clone)]
pub struct QueryApiState {
    /// The read models, on the primary or a replica, each with its watermark.
    pub read: ReadModels,
    pub consistency_wait: Duration,
    /// Verifies the bearer tokens of per-user reads.
    pub keys: Arc<TokenKeys>,
    /// The web frontend, where a certificate's verification page is (printed on the certificate).
    pub frontend_url: String,
    /// The event store's database, read (never written) for the one report only it holds: a newsletter
    /// campaign's deliveries, in the outbox; and the event history.
    pub store: Database,
    /// The snapshots served under `/api/v1/as-of/{name}/`, opened on first use.
    pub snapshots: Snapshots,
    /// The certificates' PDFs as last rendered.
    pub pdfs: certificates::RenderedPdfs,
}

impl FromRef<QueryApiState> for Arc<TokenKeys> {
    fn from_ref(state: &QueryApiState) -> Self {
        Arc::clone(&state.keys)
    }
}

/// Every query route, under `/api/v1`, each with who may call it (the OpenAPI document comes from here): the
/// reads of the read models, the event history, and the snapshots.
pub fn routes() -> ApiRoutes<QueryApiState> {
    read_model_routes()
        .route(
            GET,
            "/api/v1/events",
            history::events,
            Who::AnalystOrAdmin,
            "The event history as NDJSON, in global order",
        )
        .answers_media("application/x-ndjson")
        .query(&["after", "limit", "types", "stream_prefix"])
        .query_rule("limit", QueryRule::Between(1, history::MAX_LIMIT))
        .query_rule("types", QueryRule::ListOf(events::Event::TYPES))
        .route(
            GET,
            "/api/v1/as-of/{name}/{*path}",
            as_of::serve,
            Who::Anyone,
            "Any read of the read models as of a snapshot (each with its own rule of who may call it)",
        )
}

/// What the catalogue's lists read: its filters, sort, currency and page.
const CATALOGUE_QUERY: &[&str] = &[
    "search",
    "category",
    "subcategory",
    "level",
    "min_rating",
    "price_min",
    "price_max",
    "duration_min",
    "duration_max",
    "sort",
    "country",
    "page",
    "limit",
];

/// The catalogue's parameters that take only some values.
const CATALOGUE_RULES: &[(&str, QueryRule)] = &[
    ("level", QueryRule::OneOf(catalog_query::LEVELS)),
    ("sort", QueryRule::OneOf(catalog_query::SORTS)),
    ("category", QueryRule::OneOf(&events::taxonomy::CATEGORY_NAMES)),
    ("subcategory", QueryRule::OneOf(&events::taxonomy::SUBCATEGORY_NAMES)),
];

/// The reads of the read models: what a snapshot serves too.
fn read_model_routes() -> ApiRoutes<QueryApiState> {
    use Who::{Admin, Anyone, Instructor, Trainee, User};
    ApiRoutes::default()
        .route(GET, "/api/v1/courses", courses::list, Anyone, "Search, filter and sort the published catalogue")
        .answers_page::<courses::CourseView>()
        .query(CATALOGUE_QUERY)
        .query_rules(CATALOGUE_RULES)
        .route(GET, "/api/v1/courses/{id}", courses::get, Anyone, "A published course's public page")
        .answers_data::<courses::CoursePage>()
        .query(&["country"])
        .route(
            GET,
            "/api/v1/courses/{id}/discounts",
            discounts::list,
            Anyone,
            "A course's current and coming discounts",
        )
        .answers_data_list::<discounts::DiscountView>()
        .query(&["issued_by"])
        .query_rule("issued_by", QueryRule::OneOf(discounts::ISSUERS))
        .route(GET, "/api/v1/categories", courses::categories, Anyone, "The category taxonomy")
        .answers_data_list::<courses::Category>()
        .route(GET, "/api/v1/instructors/top", instructors::top, Anyone, "The top instructors")
        .answers_page::<instructors::InstructorView>()
        .query(&["sort", "page", "limit"])
        .query_rule("sort", QueryRule::OneOf(instructors::TOP_SORTS))
        .route(GET, "/api/v1/courses/{id}/reviews", reviews::of_course, Anyone, "A course's reviews, newest first")
        .answers_page::<reviews::ReviewView>()
        .query(&["page", "limit"])
        .route(
            GET,
            "/api/v1/instructors/{id}/reviews",
            reviews::of_instructor,
            Anyone,
            "An instructor's reviews, newest first",
        )
        .answers_page::<reviews::ReviewView>()
        .query(&["page", "limit"])
        .route(GET, "/api/v1/instructors/{id}", instructors::get, Anyone, "An instructor's public profile")
        .answers_data::<instructors::InstructorView>()
        .route(GET, "/api/v1/instructors/{id}/courses", instructors::courses, Anyone, "An instructor's courses")
        .answers_page::<courses::CourseView>()
        .query(CATALOGUE_QUERY)
        .query_rules(CATALOGUE_RULES)
        .route(GET, "/api/v1/me", me::get, User, "One's own account")
        .answers_data::<me::MeView>()
        .route(GET, "/api/v1/me/cart", lists::cart, Trainee, "One's cart, with its total")
        .answers_page::<courses::CourseView>()
        .query(&["country", "page", "limit"])
        .route(GET, "/api/v1/me/wishlist", lists::wishlist, Trainee, "One's wishlist, with its total")
        .answers_page::<courses::CourseView>()
        .query(&["country", "page", "limit"])
        .route(GET, "/api/v1/me/orders", orders::mine, Trainee, "One's orders, newest first")
        .answers_page::<orders::OrderView>()
        .query(&["page", "limit"])
        .route(
            GET,
            "/api/v1/me/orders/{id}",
            orders::get,
            User,
            "One order; with `until`, once it has one of those statuses",
        )
        .answers_data::<orders::OrderView>()
        .query(&["until", "wait"])
        .query_rule("until", QueryRule::ListOf(&orders::STATUSES))
        .query_rule("wait", QueryRule::Between(1, orders::WAIT_MAX_SECONDS as i64))
        .route(GET, "/api/v1/admin/orders", orders::all, Admin, "Every order, newest first")
        .answers_page::<orders::OrderView>()
        .query(&["trainee_id", "status", "page", "limit"])
        .query_rule("status", QueryRule::OneOf(&orders::STATUSES))
        .route(GET, "/api/v1/me/wallet", wallet::wallet, Trainee, "One's wallet balance and transactions")
        .answers_page::<wallet::WalletTransaction>()
        .query(&["page", "limit"])
        .route(GET, "/api/v1/me/instructor/revenue", wallet::mine, Instructor, "One's monthly revenue of a year")
        .answers_data::<wallet::Revenue>()
        .query(&["year", "country"])
        .route(GET, "/api/v1/admin/instructors/{id}/revenue", wallet::of_instructor, Admin, "An instructor's revenue")
        .answers_data::<wallet::Revenue>()
        .query(&["year", "country"])
        .route(GET, "/api/v1/me/enrollments", enrollments::list, Trainee, "One's enrolments, newest first")
        .answers_page::<enrollments::EnrollmentView>()
        .query(&["country", "page", "limit"])
        .route(GET, "/api/v1/me/enrollments/{id}", enrollments::get, Trainee, "An enrolled course's content")
        .answers_data::<course_content::EnrolledCourse>()
        .route(GET, "/api/v1/me/last-viewed-course", enrollments::last_viewed, Trainee, "The course one opened last")
        .answers_data::<course_content::LastViewed>()
        .route(GET, "/api/v1/me/notes/{id}", enrollments::notes, Trainee, "One's notes on an enrolled course")
        .answers_data::<enrollments::Notes>()
        .route(GET, "/api/v1/me/certificates", certificates::mine, Trainee, "One's certificates, newest first")
        .answers_page::<certificates::CertificateRow>()
        .query(&["page", "limit"])
        .route(GET, "/api/v1/certificates/{id}", certificates::verify, Anyone, "Verify a certificate by its link")
        .answers_data::<certificates::Verified>()
        .query(&["code"])
        .route(GET, "/api/v1/certificates/{id}/pdf", certificates::pdf, Anyone, "Download a certificate as PDF")
        .answers_media("application/pdf")
        .query(&["code"])
        .route(GET, "/api/v1/admin/newsletter/subscribers", newsletter::subscribers, Admin, "Newsletter subscribers")
        .answers_page::<newsletter::Subscriber>()
        .query(&["search", "page", "limit"])
        .route(GET, "/api/v1/admin/newsletter/campaigns/{id}", newsletter::campaign, Admin, "A campaign's report")
        .answers_data::<newsletter::CampaignReport>()
        .route(GET, "/api/v1/admin/reports", reports::all, Admin, "Tickets and requests of every kind")
        .answers_page::<reports::ReportRow>()
        .query(&["kind", "status", "course_id", "user_id", "from", "to", "sort", "page", "limit"])
        .query_rule("kind", QueryRule::ListOf(&reports::KINDS))
        .query_rule("status", QueryRule::OneOf(&reports::STATUSES))
        .query_rule("sort", QueryRule::OneOf(&reports::SORTS))
        .route(GET, "/api/v1/me/reports", reports::mine, User, "One's own tickets and requests")
        .answers_page::<reports::ReportRow>()
        .query(&["kind", "status", "course_id", "from", "to", "sort", "page", "limit"])
        .query_rule("kind", QueryRule::ListOf(&reports::KINDS))
        .query_rule("status", QueryRule::OneOf(&reports::STATUSES))
        .query_rule("sort", QueryRule::OneOf(&reports::SORTS))
        .route(GET, "/api/v1/admin/refund-requests", refunds::list, Admin, "Refund requests, newest first")
        .answers_page::<refunds::RefundRequestRow>()
        .query(&["status", "course_id", "trainee_id", "from", "to", "page", "limit"])
        .query_rule("status", QueryRule::OneOf(&refunds::STATUSES))
        .route(GET, "/api/v1/admin/users", admin::users, Admin, "Every account, paged and filtered")
        .answers_page::<admin::UserRow>()
        .query(&["role", "search", "logged_in", "page", "limit"])
        .query_rule("role", QueryRule::OneOf(&events::Role::NAMES))
        .route(GET, "/api/v1/admin/users/activity", admin::activity, Admin, "Logged-in counts per role")
        .answers_data::<admin::Activity>()
        .route(GET, "/api/v1/me/instructor/courses", teaching::list, Instructor, "One's own courses, drafts too")
        .answers_page::<courses::CourseView>()
        .query(CATALOGUE_QUERY)
        .query_rules(CATALOGUE_RULES)
        .route(GET, "/api/v1/me/instructor/courses/{id}", teaching::get, Instructor, "One's own course in full")
        .answers_data::<course_content::OwnedCourse>()
}

/// The query API's router.
pub fn router(state: QueryApiState) -> Router {
    routes()
        .into_router(&state.keys)
        .layer(axum::middleware::from_fn_with_state(state.clone(), consistency::fresh_reads))
        .layer(axum::middleware::from_fn(caching::consistency_aware))
        .layer(axum::middleware::from_fn_with_state(state.read.clone(), replicas::read_again_elsewhere))
        .with_state(state)
}
