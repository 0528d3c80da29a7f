//! HTTP routes of the command API (API.md, "Commands").

mod auth;
mod bulk_discounts;
mod cart;
mod checkout;
mod course_content;
mod courses;
mod execute;
mod fields;
mod fx;
mod headers;
mod instructor;
mod learning;
mod limits;
mod messages;
mod newsletter;
mod notes;
mod orders;
mod payments;
pub(crate) mod pictures;
mod recovery;
mod refunds;
mod rejections;
mod reviews;
mod sessions;
mod support;

use std::sync::Arc;

use api_contract::{ApiRoutes, TokenKeys, Who};
use axum::Router;
use axum::extract::FromRef;
use database::Database;
use http::Method;

pub use auth::create_first_admin;
pub use checkout::{Cause, Checkout, Enrolment, WalletPayment};
use event_store::keys::DataKey;
pub use execute::StepError;
pub use fx::FxFeed;
pub use learning::Learning;
pub use limits::{DEFAULT_SIGN_UPS_PER_HOUR, Limits};
pub use newsletter::{Newsletter, Recipient};
pub use payments::CardPayments;
pub use pictures::PictureCleanup;

use write_side::{PgStore, WriteSide};

const POST: Method = Method::POST;
const PUT: Method = Method::PUT;
const PATCH: Method = Method::PATCH;
const DELETE: Method = Method::DELETE;

/// The original's frontend origin (DOMAIN.md, CORS).
pub const DEFAULT_FRONTEND_URL: &str = api_contract::edge::DEFAULT_FRONTEND_ORIGIN;

/// What every command handler needs.
#[derive(Debug, Clone)]
pub struct CommandApiState {
    /// The process's one command pipeline, shared with its sagas.
    pub write: WriteSide<PgStore>,
    pub keys: Arc<TokenKeys>,
    /// Failed passwords, recovery, subscriptions, mail and sign-ups, counted in PostgreSQL for every process.
    pub limits: Limits,
    /// Where links in emails point (the web frontend).
    pub frontend_url: String,
    /// HMACs of verification codes, sealed bank account numbers.
    pub data_key: Arc<DataKey>,
    /// The payment provider, its webhook check and the return page; without it card orders are refused.
    pub card_payments: Option<CardPayments>,
    /// Where pictures are kept (object storage).
    pub pictures: media::Pictures,
}

impl CommandApiState {
    /// The command API over `write`, the write side this process builds once (see `WriteSide`).
    pub fn new(
        write: WriteSide<PgStore>,
        keys: Arc<TokenKeys>,
        data_key: Arc<DataKey>,
        pictures: media::Pictures,
    ) -> Self {
        let limits = Limits::new(write.store().database().clone(), Arc::clone(&data_key));
        CommandApiState {
            write,
            keys,
            limits,
            frontend_url: DEFAULT_FRONTEND_URL.to_owned(),
            data_key,
            card_payments: None,
            pictures,
        }
    }

    /// The event store's database, where the write side's own rows (credentials, sessions) are kept.
    pub fn database(&self) -> &Database {
        self.write.store().database()
    }
}

impl FromRef<CommandApiState> for Arc<TokenKeys> {
    fn from_ref(state: &CommandApiState) -> Self {
        Arc::clone(&state.keys)
    }
}

/// Every command route, under `/api/v1`, each with who may call it (the OpenAPI document comes from here).
pub fn routes() -> ApiRoutes<CommandApiState> {
    use Who::{Admin, Guest, Instructor, InstructorOrAdmin, Owner, OwnerOrAdmin, Trainee, User};
    const SECTION: &str = "/api/v1/courses/{id}/sections/{section_id}";
    const LESSON: &str = "/api/v1/courses/{id}/sections/{section_id}/lessons/{lesson_id}";
    const EXERCISE: &str = "/api/v1/courses/{id}/sections/{section_id}/exercises/{exercise_id}";
    const QUESTIONS: &str = "/api/v1/courses/{id}/sections/{section_id}/exercises/{exercise_id}/questions";
    const QUESTION: &str = "/api/v1/courses/{id}/sections/{section_id}/exercises/{exercise_id}/questions/{question_id}";
    ApiRoutes::default()
        .route(POST, "/api/v1/auth/register", auth::register, Guest, "Sign up as an individual trainee")
        .body::<auth::RegisterBody>()
        .route(POST, "/api/v1/auth/login", sessions::login, Guest, "Log in by email or username")
        .answers_data::<sessions::Tokens>()
        .body::<sessions::LoginBody>()
        .route(POST, "/api/v1/auth/refresh", sessions::refresh, Guest, "Rotate a refresh token")
        .answers_data::<sessions::Tokens>()
        .body::<sessions::RefreshBody>()
        .route(POST, "/api/v1/auth/logout", sessions::logout, User, "End a session")
        .no_content()
        .body::<sessions::RefreshBody>()
        .route(POST, "/api/v1/auth/password", sessions::change_password, User, "Change the password")
        .body::<sessions::PasswordBody>()
        .route(POST, "/api/v1/auth/password-reset", recovery::request_reset, Guest, "Mail a password reset link")
        .answers_data::<recovery::MailNote>()
        .body::<recovery::EmailBody>()
        .route(POST, "/api/v1/auth/password-reset/confirm", recovery::confirm_reset, Guest, "Reset the password")
        .body::<recovery::ResetBody>()
        .route(POST, "/api/v1/auth/verify-email", recovery::verify_email, Guest, "Verify an email with its code")
        .body::<recovery::VerifyBody>()
        .route(POST, "/api/v1/auth/verify-email/resend", recovery::resend_verification, Guest, "Mail a new code")
        .answers_data::<recovery::MailNote>()
        .body::<recovery::EmailBody>()
        .route(
            POST,
            "/api/v1/admin/users",
            auth::create_user,
            Admin,
            "Create an instructor, corporate trainee or admin",
        )
        .body::<auth::CreateUserBody>()
        .route(PUT, "/api/v1/admin/fx-rates/{currency}", fx::set_rate, Admin, "Set a currency's rate to the dollar")
        .body::<fx::RateBody>()
        .answers_data::<fx::RateChanged>()
        .route(
            DELETE,
            "/api/v1/admin/fx-rates/{currency}",
            fx::clear_override,
            Admin,
            "Clear one's override of a currency's rate: the provider's applies again",
        )
        .answers_data::<fx::RateChanged>()
        .route(PATCH, "/api/v1/me", auth::update_profile, User, "Change one's own profile")
        .body::<auth::ProfileBody>()
        .route(DELETE, "/api/v1/me", auth::delete_me, Trainee, "Delete one's own trainee account")
        .route(PUT, "/api/v1/me/picture", pictures::set_mine, User, "Set one's profile picture (PNG, JPEG or WebP)")
        .body_bytes(pictures::PICTURE_TYPES, pictures::PICTURE_BODY_LIMIT)
        .route(DELETE, "/api/v1/me/picture", pictures::remove_mine, User, "Remove one's profile picture")
        .route(DELETE, "/api/v1/admin/users/{id}", auth::delete_user, Admin, "Delete a trainee's account")
        .route(
            POST,
            "/api/v1/admin/users/{id}/erase",
            auth::erase_user,
            Admin,
            "Erase any account and its personal data",
        )
        .route(PUT, "/api/v1/me/social-links", instructor::set_links, Instructor, "Set one's public links")
        .body::<instructor::SocialLinksBody>()
        .route(PUT, "/api/v1/me/bank-account", instructor::set_bank_account, Instructor, "Set one's payout account")
        .body::<instructor::BankAccountBody>()
        .route(POST, "/api/v1/cart/items", cart::add_to_cart, Trainee, "Put a course into one's cart")
        .body::<cart::ItemBody>()
        .route(DELETE, "/api/v1/cart/items/{id}", cart::remove_from_cart, Trainee, "Take a course out of one's cart")
        .route(DELETE, "/api/v1/cart/items", cart::clear_cart, Trainee, "Empty one's cart")
        .route(DELETE, "/api/v1/wishlist/items", cart::clear_wishlist, Trainee, "Empty one's wishlist")
        .route(POST, "/api/v1/wishlist/items", cart::add_to_wishlist, Trainee, "Put a course into one's wishlist")
        .body::<cart::ItemBody>()
        .route(
            DELETE,
            "/api/v1/wishlist/items/{id}",
            cart::remove_from_wishlist,
            Trainee,
            "Take a course out of one's wishlist",
        )
        .route(POST, "/api/v1/payments/webhook", payments::webhook, Guest, "The payment provider's signed events")
        .requires_header("Stripe-Signature")
        .answers::<payments::Received>()
        .route(POST, "/api/v1/orders", orders::place, Trainee, "Order the courses in one's cart")
        .answers_data::<orders::OrderAnswer>()
        .body::<orders::OrderBody>()
        .route(POST, "/api/v1/admin/wallets/{id}/credits", orders::credit_wallet, Admin, "Credit a trainee's wallet")
        .body::<orders::CreditBody>()
        .route(
            POST,
            "/api/v1/enrollments/{id}/lessons/{lesson_id}/view",
            learning::view_lesson,
            Trainee,
            "Record a lesson's first view",
        )
        .route(POST, "/api/v1/enrollments/{id}/open", learning::open, Trainee, "Record the last viewed course")
        .route(
            POST,
            "/api/v1/enrollments/{id}/exercises/{exercise_id}/answers",
            learning::answer_exercise,
            Trainee,
            "Answer an exercise question",
        )
        .answers_data::<learning::ExerciseAnswerResult>()
        .body::<learning::ExerciseAnswerBody>()
        .route(POST, "/api/v1/enrollments/{id}/exam-attempts", learning::submit_exam, Trainee, "Take the exam")
        .answers_data::<learning::ExamResult>()
        .body::<learning::ExamBody>()
        .route(POST, "/api/v1/enrollments/{id}/exam/reveal", learning::reveal_exam, Trainee, "Show the exam's answers")
        .route(
            POST,
            "/api/v1/enrollments/{id}/certificate/email",
            learning::email_certificate,
            Trainee,
            "Email the certificate again",
        )
        .route(POST, "/api/v1/me/notes/{id}", notes::create, Trainee, "Write a note on a course one learns")
        .body::<notes::NoteBody>()
        .route(PUT, "/api/v1/me/notes/{id}/{note_id}", notes::update, Trainee, "Rewrite one's note")
        .body::<notes::NoteBody>()
        .route(DELETE, "/api/v1/me/notes/{id}/{note_id}", notes::delete, Trainee, "Delete one's note")
        .route(POST, "/api/v1/admin/enrollments", orders::grant, Admin, "Enrol a trainee in a course")
        .body::<orders::GrantBody>()
        .route(POST, "/api/v1/admin/enrollments/revocations", orders::revoke, Admin, "End a trainee's enrolment")
        .body::<orders::GrantBody>()
        .route(
            POST,
            "/api/v1/admin/enrollments/certificate-emails",
            learning::email_certificate_for,
            Admin,
            "Email a trainee's certificate again",
        )
        .body::<learning::CertificateEmailBody>()
        .route(PUT, "/api/v1/courses/{id}/reviews/mine", reviews::review_course, Trainee, "Rate and review a course")
        .body::<reviews::CourseReviewBody>()
        .route(
            DELETE,
            "/api/v1/courses/{id}/reviews/mine",
            reviews::delete_course_review,
            Trainee,
            "Delete one's review",
        )
        .route(
            PUT,
            "/api/v1/instructors/{id}/reviews/mine",
            reviews::review_instructor,
            Trainee,
            "Rate and review an instructor",
        )
        .body::<reviews::InstructorReviewBody>()
        .route(
            DELETE,
            "/api/v1/instructors/{id}/reviews/mine",
            reviews::delete_instructor_review,
            Trainee,
            "Delete one's review of an instructor",
        )
        .route(POST, "/api/v1/newsletter/subscriptions", newsletter::subscribe, Guest, "Subscribe to the newsletter")
        .answers_data::<newsletter::Subscribed>()
        .body::<newsletter::SubscribeBody>()
        .route(POST, "/api/v1/newsletter/unsubscribe", newsletter::unsubscribe, Guest, "Unsubscribe by a link's token")
        .body::<newsletter::UnsubscribeBody>()
        .route(
            POST,
            "/api/v1/newsletter/confirm",
            newsletter::confirm,
            Guest,
            "Confirm a subscription by its mailed link",
        )
        .body::<newsletter::UnsubscribeBody>()
        .route(
            POST,
            "/api/v1/admin/newsletter/campaigns",
            newsletter::create_campaign,
            Admin,
            "Send a newsletter campaign",
        )
        .body::<newsletter::CampaignBody>()
        .route(
            POST,
            "/api/v1/me/conversations/{id}/messages",
            messages::send,
            User,
            "Write to a user (a trainee with their instructors, an admin with anyone)",
        )
        .body::<messages::MessageBody>()
        .route(PUT, "/api/v1/me/conversations/{id}/read", messages::read, User, "Mark a conversation read")
        .route(POST, "/api/v1/reports", support::file, User, "File a support ticket")
        .body::<support::ReportBody>()
        .route(PUT, "/api/v1/reports/{id}", support::edit, User, "Rewrite one's ticket while nobody has seen it")
        .body::<support::ReportBody>()
        .route(POST, "/api/v1/reports/{id}/follow-ups", support::follow_up, User, "Add to a ticket's thread")
        .body::<support::FollowUpBody>()
        .route(POST, "/api/v1/admin/reports/{id}/status", support::change_status, Admin, "Move a ticket along")
        .body::<support::StatusBody>()
        .route(DELETE, "/api/v1/admin/reports/{id}", support::void, Admin, "Void a ticket")
        .route(
            POST,
            "/api/v1/course-access-requests",
            support::request_access,
            Trainee,
            "Ask for a course (corporate trainees)",
        )
        .body::<support::AccessBody>()
        .route(
            POST,
            "/api/v1/admin/course-access-requests/{id}/status",
            support::change_access_status,
            Admin,
            "Move an access request along; resolved grants the course",
        )
        .body::<support::StatusBody>()
        .route(POST, "/api/v1/enrollments/{id}/refund-request", refunds::request, Trainee, "Ask for a course back")
        .body::<refunds::RefundRequestBody>()
        .route(
            POST,
            "/api/v1/admin/refund-requests/{id}/acknowledge",
            refunds::acknowledge,
            Admin,
            "Mark a refund request seen",
        )
        .route(POST, "/api/v1/admin/refund-requests/{id}/approve", refunds::approve, Admin, "Approve a refund")
        .route(POST, "/api/v1/admin/refund-requests/{id}/reject", refunds::reject, Admin, "Reject a refund")
        .body::<refunds::RejectBody>()
        .route(POST, "/api/v1/courses", courses::create, Instructor, "Create a draft course")
        .body::<courses::CreateCourseBody>()
        .route(POST, "/api/v1/courses/discounts", bulk_discounts::apply, InstructorOrAdmin, "Discount many courses")
        .answers_data::<bulk_discounts::BulkOutcome>()
        .body::<bulk_discounts::BulkDiscountBody>()
        .route(PATCH, "/api/v1/courses/{id}", courses::update, Owner, "Change a course's details and price")
        .body::<courses::UpdateCourseBody>()
        .route(DELETE, "/api/v1/courses/{id}", courses::delete, OwnerOrAdmin, "Delete a course without enrolments")
        .route(POST, "/api/v1/courses/{id}/publish", courses::publish, Owner, "Publish a draft")
        .route(POST, "/api/v1/courses/{id}/retire", courses::retire, Owner, "Retire a published course for good")
        .route(PUT, "/api/v1/courses/{id}/thumbnail", pictures::set_thumbnail, Owner, "Set a course's thumbnail")
        .body_bytes(pictures::PICTURE_TYPES, pictures::PICTURE_BODY_LIMIT)
        .route(
            DELETE,
            "/api/v1/courses/{id}/thumbnail",
            pictures::remove_thumbnail,
            Owner,
            "Remove a course's thumbnail",
        )
        .route(POST, "/api/v1/courses/{id}/sections", course_content::add_section, Owner, "Add a section")
        .body::<course_content::SectionBody>()
        .route(PATCH, SECTION, course_content::update_section, Owner, "Change a section")
        .body::<course_content::SectionPatchBody>()
        .route(DELETE, SECTION, course_content::remove_section, Owner, "Remove a section with its content")
        .route(
            POST,
            "/api/v1/courses/{id}/sections/{section_id}/lessons",
            course_content::add_lesson,
            Owner,
            "Add a lesson",
        )
        .body::<course_content::LessonBody>()
        .route(PATCH, LESSON, course_content::update_lesson, Owner, "Change a lesson")
        .body::<course_content::LessonPatchBody>()
        .route(DELETE, LESSON, course_content::remove_lesson, Owner, "Remove a lesson")
        .route(
            POST,
            "/api/v1/courses/{id}/sections/{section_id}/exercises",
            course_content::add_exercise,
            Owner,
            "Add an exercise",
        )
        .body::<course_content::ExerciseBody>()
        .route(DELETE, EXERCISE, course_content::remove_exercise, Owner, "Remove an exercise")
        .route(POST, QUESTIONS, course_content::add_question, Owner, "Add a question to an exercise")
        .body::<course_content::QuestionBody>()
        .route(PUT, QUESTION, course_content::replace_question, Owner, "Replace an exercise question")
        .body::<course_content::QuestionBody>()
        .route(DELETE, QUESTION, course_content::remove_question, Owner, "Remove an exercise question")
        .route(PUT, "/api/v1/courses/{id}/exam", course_content::set_exam, Owner, "Replace the exam")
        .body::<course_content::ExamBody>()
        .route(POST, "/api/v1/courses/{id}/faq", course_content::add_faq, Owner, "Add an FAQ entry")
        .body::<course_content::FaqBody>()
        .route(PATCH, "/api/v1/courses/{id}/faq/{faq_id}", course_content::update_faq, Owner, "Change an FAQ entry")
        .body::<course_content::FaqPatchBody>()
        .route(DELETE, "/api/v1/courses/{id}/faq/{faq_id}", course_content::remove_faq, Owner, "Remove an FAQ entry")
        .route(
            POST,
            "/api/v1/courses/{id}/announcements",
            course_content::post_announcement,
            Owner,
            "Post an announcement",
        )
        .body::<course_content::AnnouncementBody>()
        .route(
            PATCH,
            "/api/v1/courses/{id}/announcements/{announcement_id}",
            course_content::edit_announcement,
            Owner,
            "Edit an announcement",
        )
        .body::<course_content::SectionPatchBody>()
        .route(
            DELETE,
            "/api/v1/courses/{id}/announcements/{announcement_id}",
            course_content::remove_announcement,
            Owner,
            "Remove an announcement",
        )
        .route(POST, "/api/v1/courses/{id}/discounts", course_content::add_discount, OwnerOrAdmin, "Add a discount")
        .body::<course_content::DiscountBody>()
        .route(
            PUT,
            "/api/v1/courses/{id}/discounts/{discount_id}",
            course_content::replace_discount,
            OwnerOrAdmin,
            "Change a discount",
        )
        .body::<course_content::DiscountBody>()
        .route(
            DELETE,
            "/api/v1/courses/{id}/discounts/{discount_id}",
            course_content::remove_discount,
            OwnerOrAdmin,
            "Remove a discount",
        )
}

/// The command API's router.
pub fn router(state: CommandApiState) -> Router {
    routes().into_router(&state.keys).with_state(state)
}
