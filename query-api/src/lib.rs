//! The read side: HTTP queries over the read models. Reads favour availability: a read that asks for a
//! write it cannot see yet waits a bounded time, then answers what it has, marked stale. It writes nothing.

mod admin;
mod as_of;
mod caching;
mod catalog_query;
mod certificates;
mod consistency;
mod conversations;
mod course_content;
mod courses;
mod discounts;
mod enrollments;
mod history;
mod instructors;
mod listing;
mod lists;
mod live;
mod me;
mod money;
mod newsletter;
mod orders;
mod page;
mod pictures;
mod public_reads;
mod reading;
mod refunds;
mod replicas;
mod reports;
mod reviews;
mod statistics;
mod teaching;
mod wallet;
mod watermark;

use std::sync::Arc;
use std::time::Duration;

use api_contract::{ApiRoutes, TokenKeys, Who};
use catalog_query::CatalogQuery;
use http::Method;
use money::InCountry;
use page::Paging;

const GET: Method = Method::GET;
use axum::Router;
use axum::extract::FromRef;
use database::Database;

pub use as_of::Snapshots;
pub use certificates::RenderedPdfs;
pub use courses::{COURSE_SELECT, PUBLIC_PAGE};
pub use live::{Live, STREAMS_PER_USER};
pub use public_reads::PublicReads;
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
    /// Where pictures are kept.
    pub pictures: media::Pictures,
    /// The open live streams, fed from the primary's read models.
    pub live: live::Live,
    /// Public answers kept while the read models stand still.
    pub public_reads: PublicReads,
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
        .query_params::<history::HistoryParams>()
        .route(GET, "/api/v1/me/live", live::stream, Who::UserOrTicket, "One's changes, pushed as server-sent events")
        .answers_media("text/event-stream")
        .query_params::<live::LiveParams>()
        .route(
            GET,
            "/api/v1/me/live/ticket",
            live::ticket,
            Who::User,
            "A ticket to open one's live stream without a header",
        )
        .answers_data::<live::LiveTicket>()
        .route(GET, "/api/v1/pictures/{picture_id}/{file}", pictures::get, Who::Anyone, "One size of a picture")
        .answers_media("image/*")
        .route(
            GET,
            "/api/v1/as-of/{name}/{*path}",
            as_of::serve,
            Who::Anyone,
            "Any read of the read models as of a snapshot (each with its own rule of who may call it)",
        )
}

/// The reads of the read models: what a snapshot serves too.
fn read_model_routes() -> ApiRoutes<QueryApiState> {
    use Who::{Admin, Anyone, Instructor, Trainee, User};
    ApiRoutes::default()
        .route(GET, "/api/v1/courses", courses::list, Anyone, "Search, filter and sort the published catalogue")
        .answers_page::<courses::CourseView>()
        .query_params::<CatalogQuery>()
        .query_params::<Paging>()
        .route(GET, "/api/v1/courses/price/max", courses::max_price, Anyone, "The highest price in the catalogue")
        .answers_data::<courses::PriceCeiling>()
        .query_params::<InCountry>()
        .route(GET, "/api/v1/courses/{id}", courses::get, Anyone, "A published course's public page")
        .answers_data::<courses::CoursePage>()
        .query_params::<InCountry>()
        .route(
            GET,
            "/api/v1/courses/{id}/discounts",
            discounts::list,
            Anyone,
            "A course's current and coming discounts",
        )
        .answers_data_list::<discounts::DiscountView>()
        .query_params::<discounts::DiscountFilter>()
        .route(GET, "/api/v1/categories", courses::categories, Anyone, "The category taxonomy")
        .answers_data_list::<courses::Category>()
        .route(GET, "/api/v1/instructors/top", instructors::top, Anyone, "The top instructors")
        .answers_page::<instructors::InstructorView>()
        .query_params::<instructors::TopQuery>()
        .query_params::<Paging>()
        .route(GET, "/api/v1/courses/{id}/reviews/mine", reviews::mine, Trainee, "One's own review of a course")
        .answers_data::<reviews::OwnReview>()
        .route(GET, "/api/v1/courses/{id}/reviews", reviews::of_course, Anyone, "A course's reviews, newest first")
        .answers_page::<reviews::ReviewView>()
        .query_params::<Paging>()
        .route(
            GET,
            "/api/v1/instructors/{id}/reviews",
            reviews::of_instructor,
            Anyone,
            "An instructor's reviews, newest first",
        )
        .answers_page::<reviews::ReviewView>()
        .query_params::<Paging>()
        .route(GET, "/api/v1/instructors/{id}", instructors::get, Anyone, "An instructor's public profile")
        .answers_data::<instructors::InstructorView>()
        .route(GET, "/api/v1/instructors/{id}/courses", instructors::courses, Anyone, "An instructor's courses")
        .answers_page::<courses::CourseView>()
        .query_params::<CatalogQuery>()
        .query_params::<Paging>()
        .route(GET, "/api/v1/me", me::get, User, "One's own account")
        .answers_data::<me::MeView>()
        .route(GET, "/api/v1/me/cart", lists::cart, Trainee, "One's cart, with its total")
        .answers_page::<courses::CourseView>()
        .query_params::<InCountry>()
        .query_params::<Paging>()
        .route(GET, "/api/v1/me/wishlist", lists::wishlist, Trainee, "One's wishlist, with its total")
        .answers_page::<courses::CourseView>()
        .query_params::<InCountry>()
        .query_params::<Paging>()
        .route(GET, "/api/v1/me/orders", orders::mine, Trainee, "One's orders, newest first")
        .answers_page::<orders::OrderView>()
        .query_params::<Paging>()
        .route(
            GET,
            "/api/v1/me/orders/{id}",
            orders::get,
            User,
            "One order; with `until`, once it has one of those statuses",
        )
        .answers_data::<orders::OrderView>()
        .query_params::<orders::Until>()
        .route(GET, "/api/v1/admin/orders", orders::all, Admin, "Every order, newest first")
        .answers_page::<orders::OrderView>()
        .query_params::<orders::OrderFilter>()
        .query_params::<Paging>()
        .route(GET, "/api/v1/me/wallet", wallet::wallet, Trainee, "One's wallet balance and transactions")
        .answers_page::<wallet::WalletTransaction>()
        .query_params::<Paging>()
        .route(GET, "/api/v1/me/instructor/revenue", wallet::mine, Instructor, "One's monthly revenue of a year")
        .answers_data::<wallet::Revenue>()
        .query_params::<wallet::RevenueQuery>()
        .query_params::<InCountry>()
        .route(GET, "/api/v1/me/instructor/earnings", wallet::my_earnings, Instructor, "One's earnings per course")
        .answers_page::<wallet::CourseEarning>()
        .query_params::<InCountry>()
        .query_params::<Paging>()
        .route(
            GET,
            "/api/v1/admin/instructors/{id}/earnings",
            wallet::earnings_of_instructor,
            Admin,
            "An instructor's earnings per course",
        )
        .answers_page::<wallet::CourseEarning>()
        .query_params::<InCountry>()
        .query_params::<Paging>()
        .route(GET, "/api/v1/admin/instructors/{id}/revenue", wallet::of_instructor, Admin, "An instructor's revenue")
        .answers_data::<wallet::Revenue>()
        .query_params::<wallet::RevenueQuery>()
        .query_params::<InCountry>()
        .route(GET, "/api/v1/me/enrollments", enrollments::list, Trainee, "One's enrolments, newest first")
        .answers_page::<enrollments::EnrollmentView>()
        .query_params::<InCountry>()
        .query_params::<Paging>()
        .route(GET, "/api/v1/me/enrollments/{id}", enrollments::get, Trainee, "An enrolled course's content")
        .answers_data::<course_content::EnrolledCourse>()
        .route(GET, "/api/v1/me/last-viewed-course", enrollments::last_viewed, Trainee, "The course one opened last")
        .answers_data::<course_content::LastViewed>()
        .route(GET, "/api/v1/me/notes/{id}", enrollments::notes, Trainee, "One's notes on an enrolled course")
        .answers_page::<enrollments::Note>()
        .query_params::<Paging>()
        .route(GET, "/api/v1/me/certificates", certificates::mine, Trainee, "One's certificates, newest first")
        .answers_page::<certificates::CertificateRow>()
        .query_params::<Paging>()
        .route(GET, "/api/v1/certificates/{id}", certificates::verify, Anyone, "Verify a certificate by its link")
        .answers_data::<certificates::Verified>()
        .query_params::<certificates::Code>()
        .route(GET, "/api/v1/certificates/{id}/pdf", certificates::pdf, Anyone, "Download a certificate as PDF")
        .answers_media("application/pdf")
        .query_params::<certificates::Code>()
        .route(GET, "/api/v1/admin/newsletter/subscribers", newsletter::subscribers, Admin, "Newsletter subscribers")
        .answers_page::<newsletter::Subscriber>()
        .query_params::<newsletter::SubscriberFilter>()
        .query_params::<Paging>()
        .route(GET, "/api/v1/admin/newsletter/campaigns/{id}", newsletter::campaign, Admin, "A campaign's report")
        .answers_data::<newsletter::CampaignReport>()
        .route(GET, "/api/v1/admin/statistics", statistics::overview, Admin, "The platform at a glance")
        .answers_data::<statistics::Overview>()
        .query_params::<statistics::Shown>()
        .query_params::<statistics::Top>()
        .route(
            GET,
            "/api/v1/admin/statistics/revenue",
            statistics::revenue,
            Admin,
            "The platform's money by day or month",
        )
        .answers_data::<statistics::RevenueReport>()
        .query_params::<statistics::RevenueRange>()
        .query_params::<statistics::Shown>()
        .route(GET, "/api/v1/admin/reports", reports::all, Admin, "Tickets and requests of every kind")
        .answers_page::<reports::ReportRow>()
        .query_params::<reports::ReportFilter>()
        .query_params::<reports::ReporterFilter>()
        .query_params::<Paging>()
        .route(
            GET,
            "/api/v1/reports/{id}",
            reports::get,
            User,
            "One ticket or request: its reporter's, or any for admins",
        )
        .answers_data::<reports::ReportRow>()
        .route(GET, "/api/v1/me/conversations", conversations::mine, User, "One's conversations, the latest first")
        .answers_page::<conversations::ConversationRow>()
        .query_params::<Paging>()
        .route(
            GET,
            "/api/v1/me/conversations/{id}/messages",
            conversations::messages,
            User,
            "One's messages with a user, newest first",
        )
        .answers_page::<conversations::Message>()
        .query_params::<Paging>()
        .route(GET, "/api/v1/me/reports", reports::mine, User, "One's own tickets and requests")
        .answers_page::<reports::ReportRow>()
        .query_params::<reports::ReportFilter>()
        .query_params::<Paging>()
        .route(GET, "/api/v1/admin/refund-requests", refunds::list, Admin, "Refund requests, newest first")
        .answers_page::<refunds::RefundRequestRow>()
        .query_params::<refunds::RefundFilter>()
        .query_params::<Paging>()
        .route(GET, "/api/v1/admin/users", admin::users, Admin, "Every account, paged and filtered")
        .answers_page::<admin::UserRow>()
        .query_params::<admin::UserFilter>()
        .query_params::<Paging>()
        .route(GET, "/api/v1/admin/users/activity", admin::activity, Admin, "Logged-in counts per role")
        .answers_data::<admin::Activity>()
        .route(GET, "/api/v1/me/instructor/courses", teaching::list, Instructor, "One's own courses, drafts too")
        .answers_page::<courses::CourseView>()
        .query_params::<CatalogQuery>()
        .query_params::<Paging>()
        .route(GET, "/api/v1/me/instructor/courses/{id}", teaching::get, Instructor, "One's own course in full")
        .answers_data::<course_content::OwnedCourse>()
}

/// The query API's router.
pub fn router(state: QueryApiState) -> Router {
    routes()
        .into_router(&state.keys)
        .layer(axum::middleware::from_fn_with_state(state.clone(), public_reads::serve))
        .layer(axum::middleware::from_fn_with_state(state.clone(), consistency::fresh_reads))
        .layer(axum::middleware::from_fn(caching::consistency_aware))
        .layer(axum::middleware::from_fn_with_state(state.read.clone(), replicas::read_again_elsewhere))
        .with_state(state)
}
