//! The events each aggregate owns, by the streams it is folded from. Every event type belongs to one family,
//! said once below; [`family`] matches every event type with no catch-all, so a new event type does not
//! compile until it is given a family, and each family is an enum that its aggregates' `evolve` matches
//! exhaustively, so an aggregate cannot forget an event of its own streams: it handles it, or lists it among
//! those it ignores.

use events::Event;

/// Declares the families: for each, an enum of references to its events, with `of` picking an event of the
/// family out of any event.
macro_rules! families {
    ($($(#[doc = $doc:literal])* $family:ident => $name:ident { $($module:ident :: $variant:ident),* $(,)? })*) => {
        /// The family of an event type: which aggregates' streams it is written to.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Family {
            $($family),*
        }

        /// The family of `event`.
        pub fn family(event: &Event) -> Family {
            match event {
                $($(Event::$variant(_) => Family::$family,)*)*
            }
        }

        $(
            $(#[doc = $doc])*
            #[derive(Debug, Clone, Copy, PartialEq)]
            pub enum $name<'a> {
                $($variant(&'a events::$module::$variant)),*
            }

            impl<'a> $name<'a> {
                /// `event`, if it is of this family (an aggregate is folded from its own streams only).
                pub fn of(event: &'a Event) -> Option<Self> {
                    match event {
                        $(Event::$variant(e) => Some(Self::$variant(e)),)*
                        _ => None,
                    }
                }
            }
        )*
    };
}

families! {
    /// The events of the account stream (`user-{id}`): identity, sessions, an instructor's links and payout account.
    User => UserEvent {
        identity::IndividualTraineeRegistered,
        identity::CorporateTraineeCreated,
        identity::InstructorCreated,
        identity::AdminCreated,
        identity::AnalystCreated,
        identity::ProfileUpdated,
        identity::ProfilePictureSet,
        identity::PasswordChanged,
        identity::PasswordResetRequested,
        identity::PasswordReset,
        identity::EmailVerificationRequested,
        identity::EmailVerified,
        identity::UserLoggedIn,
        identity::LoginFailed,
        identity::UserLoggedOut,
        identity::TraineeAccountDeleted,
        identity::AccountErased,
        identity::InstructorSocialLinksSet,
        identity::InstructorBankAccountSet,
    }
    /// The events of the course stream (`course-{id}`): the course, its content and its discounts.
    Course => CourseEvent {
        catalog::CourseCreated,
        catalog::CourseDetailsUpdated,
        catalog::CoursePriceChanged,
        catalog::CoursePublished,
        catalog::CourseRetired,
        catalog::CourseDeleted,
        catalog::CourseThumbnailSet,
        content::SectionAdded,
        content::SectionUpdated,
        content::SectionRemoved,
        content::LessonAdded,
        content::LessonUpdated,
        content::LessonRemoved,
        content::ExerciseAdded,
        content::ExerciseRemoved,
        content::ExerciseQuestionAdded,
        content::ExerciseQuestionUpdated,
        content::ExerciseQuestionRemoved,
        content::CourseExamSet,
        content::FaqAdded,
        content::FaqUpdated,
        content::FaqRemoved,
        content::AnnouncementPosted,
        content::AnnouncementEdited,
        content::AnnouncementRemoved,
        content::DiscountAdded,
        content::DiscountUpdated,
        content::DiscountRemoved,
    }
    /// The events of a currency's stream (`fx-{code}`).
    Fx => FxEvent {
        commerce::ExchangeRateSet,
        commerce::ExchangeRateOverrideCleared,
    }
    /// The events of a cart's and a wishlist's streams (`cart-{trainee}`, `wishlist-{trainee}`).
    List => ListEvent {
        commerce::CourseAddedToCart,
        commerce::CourseRemovedFromCart,
        commerce::CourseAddedToWishlist,
        commerce::CourseRemovedFromWishlist,
    }
    /// The events of an order's stream (`order-{id}`), with the instructors' earnings of its lines.
    Order => OrderEvent {
        commerce::OrderPlaced,
        commerce::CheckoutSessionCreated,
        commerce::OrderPaid,
        commerce::OrderPaymentFailed,
        commerce::OrderExpired,
        commerce::OrderFulfilled,
        commerce::OrderLineRefunded,
        commerce::InstructorEarningRecorded,
        commerce::InstructorEarningReversed,
    }
    /// The events of a wallet's stream (`wallet-{trainee}`).
    Wallet => WalletEvent {
        commerce::WalletCredited,
        commerce::WalletDebited,
        commerce::WalletDebitRefused,
    }
    /// The events of an enrolment's stream (`enrollment-{trainee}-{course}`): access, learning, exams, certificates, refunds.
    Enrollment => EnrollmentEvent {
        learning::TraineeEnrolled,
        learning::EnrollmentRevoked,
        learning::CourseOpened,
        learning::LessonViewed,
        learning::ProgressRecomputed,
        learning::ExerciseAnswerSubmitted,
        learning::ExamSubmitted,
        learning::ExamAnswersRevealed,
        learning::CourseCompleted,
        learning::CertificateIssued,
        learning::CertificateEmailRequested,
        learning::RefundRequested,
        learning::RefundRequestAcknowledged,
        learning::RefundApproved,
        learning::RefundRejected,
        learning::RefundCompleted,
        learning::RefundRequestFollowUpAdded,
    }
    /// The events of a trainee's notes (`notebook-{trainee}`).
    Notebook => NotebookEvent {
        learning::NotesReplaced,
        learning::NoteCreated,
        learning::NoteUpdated,
        learning::NoteDeleted,
    }
    /// The events of a review's streams (`course-review-…`, `instructor-review-…`).
    Review => ReviewEvent {
        engagement::CourseReviewed,
        engagement::CourseReviewDeleted,
        engagement::InstructorReviewed,
        engagement::InstructorReviewDeleted,
    }
    /// The events of a support ticket's stream (`ticket-{id}`).
    Ticket => TicketEvent {
        support::ReportFiled,
        support::ReportFollowUpAdded,
        support::ReportEdited,
        support::ReportStatusChanged,
        support::ReportVoided,
    }
    /// The events of a corporate access request's stream (`access-{trainee}-{course}`).
    Access => AccessEvent {
        support::CourseAccessRequested,
        support::CourseAccessRequestChanged,
        support::AccessRequestFollowUpAdded,
    }
    /// The events of a newsletter subscription's stream (`newsletter-{label}`).
    Subscription => SubscriptionEvent {
        communication::NewsletterSubscribed,
        communication::NewsletterSubscriptionConfirmed,
        communication::NewsletterUnsubscribed,
    }
    /// The events of a newsletter campaign's stream (`campaign-{id}`).
    Campaign => CampaignEvent {
        communication::CampaignCreated,
        communication::CampaignEmailQueued,
    }
    /// The events of a conversation's stream (`conv-{a}-{b}`).
    Conversation => ConversationEvent {
        communication::MessageSent,
        communication::ConversationRead,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use events::commerce::WalletCredited;

    #[test]
    fn an_event_is_of_its_family_only() {
        let credited = Event::WalletCredited(WalletCredited {
            trainee_id: uuid::Uuid::nil(),
            operation_id: "a".into(),
            amount_cents: 1,
            reason: events::commerce::CreditReason::Refund,
            note: None,
            balance_cents: 1,
        });
        assert_eq!(family(&credited), Family::Wallet);
        assert!(matches!(WalletEvent::of(&credited), Some(WalletEvent::WalletCredited(_))));
        assert_eq!(OrderEvent::of(&credited), None);
    }
}
