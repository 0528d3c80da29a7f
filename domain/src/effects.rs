//! What a decision asks for beside its events: rows the write side records in the append's own transaction,
//! so that each exists exactly when its event does (a claim on an email, a session, a code, an email to send).
//! The decider says which and with what; the write side's adapter (`command-api/src/side_writes.rs`) says how,
//! in SQL. Secrets arrive as digests or hashes, except the text of an email, which the outbox must send.

use events::Role;
use time::OffsetDateTime;
use uuid::Uuid;

/// One thing recorded beside a decision's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Claims the email and username for a new account (both unique: another account's claim refuses the
    /// append) and keeps its password hash.
    ClaimCredentials { user_id: Uuid, email: String, username: String, password_hash: String, role: Role },
    /// Replaces the account's password hash.
    SetPassword { user_id: Uuid, password_hash: String },
    /// Ends every session of the account: its refresh tokens, and every access token signed before now.
    EndSessions { user_id: Uuid },
    /// Ends one session family (a refresh token and those it was rotated into).
    EndSessionFamily { user_id: Uuid, family_id: Uuid },
    /// A new session: the refresh token's digest, in a new family, valid for `days`.
    StartSession { user_id: Uuid, token_digest: String, family_id: Uuid, days: i32 },
    /// The time of the account's last login.
    RecordLogin { user_id: Uuid },
    /// Forgets every credential, session, link, code, payout account and email in waiting of the account, and
    /// its key, so that its personal data everywhere is unreadable (crypto-shredding).
    ForgetAccount { user_id: Uuid },
    /// The account's current verification code, as its digest, replacing any earlier one.
    VerificationCode { user_id: Uuid, code_digest: String, expires_at: OffsetDateTime },
    /// The account's email address is verified.
    EmailVerified { user_id: Uuid },
    /// A single-use password-reset link, as its token's digest; the account's earlier links end.
    ResetLink { user_id: Uuid, token_digest: String, expires_at: OffsetDateTime },
    /// Every open reset link of the account is used up.
    EndResetLinks { user_id: Uuid },
    /// An instructor's payout account; the number only sealed.
    PayoutAccount {
        user_id: Uuid,
        holder_name: String,
        sealed_number: Vec<u8>,
        bank_name: String,
        branch_name: Option<String>,
        branch_address: Option<String>,
        swift_code: String,
    },
    /// Forgets the key of `owner` (a newsletter subscription), so that what was sealed with it is unreadable.
    ForgetKey { owner: Uuid },
    /// Which trainee and course a refund request is about, for admins acting on it by its id.
    RefundRequest { refund_id: Uuid, trainee_id: Uuid, course_id: Uuid },
    /// Which trainee and course a corporate access request is for, for admins acting on it by its id.
    AccessRequest { request_id: Uuid, trainee_id: Uuid, course_id: Uuid },
    /// An email to send, through the outbox.
    Email(Email),
    /// A newsletter campaign's copy for one subscriber, with its HTML part, under `email_id`.
    CampaignEmail { campaign_id: Uuid, email_id: Uuid, to: String, subject: String, text: String, html: String },
}

/// An email to send. `expires_at`: when what it carries stops being valid, so that it is not sent later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub expires_at: Option<OffsetDateTime>,
}

/// What a decider decides: the events, what is recorded beside them, and what the sender of the command learns
/// (`outcome`: a debit paid or refused; most decisions have none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decided<O = ()> {
    pub events: Vec<events::Event>,
    pub effects: Vec<Effect>,
    pub outcome: O,
}

impl Decided {
    /// `events`, and `effects` beside them.
    pub fn with(events: Vec<events::Event>, effects: impl IntoIterator<Item = Effect>) -> Self {
        Decided { events, effects: effects.into_iter().collect(), outcome: () }
    }
}

impl<O> Decided<O> {
    /// `events`, with `outcome` for the sender.
    pub fn with_outcome(events: Vec<events::Event>, outcome: O) -> Self {
        Decided { events, effects: Vec::new(), outcome }
    }

    /// The same decision, for a sender that has no use for its outcome (a credit's).
    pub fn without_outcome(self) -> Decided {
        Decided { events: self.events, effects: self.effects, outcome: () }
    }
}

impl From<Vec<events::Event>> for Decided {
    fn from(events: Vec<events::Event>) -> Self {
        Decided::with(events, [])
    }
}
