//! The UserAccount aggregate (stream `user-{uuid}`): sign-up, accounts admins create, profiles, deletion,
//! and the account's credentials and sessions: logging in and out, changing and resetting the password,
//! verifying the email. Every rule of DOMAIN.md R18, R19 and R21 is decided here, over the account's events
//! and the write-side facts a command loads (a reset link, a verification code), never in SQL. The
//! uniqueness of email and username across every kind of user is a database constraint on the credentials
//! row written in the same transaction as the first event.

use events::identity::{
    AccountErased, EmailVerificationRequested, EmailVerified, LoginFailed, PasswordReset, PasswordResetRequested,
    ProfilePictureSet, TraineeAccountDeleted, UserLoggedIn, UserLoggedOut,
};
use events::pictures::Picture;
use events::{
    AdminCreated, AnalystCreated, CorporateTraineeCreated, Event, IndividualTraineeRegistered, InstructorCreated,
    PasswordChanged, Personal, ProfileUpdated, Role,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::instructor::{BankAccount, SocialLinks, set_bank_account, set_social_links};
use super::{Aggregate, Violation};
use crate::effects::{Decided, Effect, Email};
use crate::families::UserEvent;

pub const PASSWORD_MIN_CHARS: usize = 8;
/// Bounds the hashing work one request can ask for.
pub const PASSWORD_MAX_CHARS: usize = 128;
pub const USERNAME_MAX_CHARS: usize = 30;
pub const NAME_MAX_CHARS: usize = 100;
pub const EMAIL_MAX_CHARS: usize = 254;
pub const COMPANY_MAX_CHARS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Account {
    #[default]
    Missing,
    /// An account, acting in this role.
    Registered(Role),
    /// A deleted trainee account: nothing changes it any more.
    Deleted,
}

impl Aggregate for Account {
    fn evolve(self, event: &Event) -> Self {
        let Some(event) = UserEvent::of(event) else { return self };
        match event {
            UserEvent::IndividualTraineeRegistered(_) => Account::Registered(Role::IndividualTrainee),
            UserEvent::InstructorCreated(_) => Account::Registered(Role::Instructor),
            UserEvent::CorporateTraineeCreated(_) => Account::Registered(Role::CorporateTrainee),
            UserEvent::AdminCreated(_) => Account::Registered(Role::Admin),
            UserEvent::AnalystCreated(_) => Account::Registered(Role::Analyst),
            UserEvent::TraineeAccountDeleted(_) | UserEvent::AccountErased(_) => Account::Deleted,
            UserEvent::ProfileUpdated(_)
            | UserEvent::ProfilePictureSet(_)
            | UserEvent::PasswordChanged(_)
            | UserEvent::PasswordResetRequested(_)
            | UserEvent::PasswordReset(_)
            | UserEvent::EmailVerificationRequested(_)
            | UserEvent::EmailVerified(_)
            | UserEvent::UserLoggedIn(_)
            | UserEvent::LoginFailed(_)
            | UserEvent::UserLoggedOut(_)
            | UserEvent::InstructorSocialLinksSet(_)
            | UserEvent::InstructorBankAccountSet(_) => self,
        }
    }
}

/// What happens to an account (stream `user-{id}`). The facts a decision rests on travel with the command:
/// the checked sign-up, a reset link or a pending code as the write side keeps them, whether the current
/// password was proven, the time now; and what the decision records beside its events, prepared where the
/// secrets are (a password hash, a code and its digest, a sealed account number).
#[derive(Debug)]
pub enum AccountCommand<'a> {
    /// An individual trainee signs up, and is mailed a verification code.
    Register {
        user_id: Uuid,
        sign_up: &'a ValidSignUp,
        password_hash: &'a str,
        code: &'a MailedCode,
    },
    /// An admin (or the operator, with no `created_by`) creates an account of another kind.
    Create {
        user_id: Uuid,
        kind: &'a CreatedKind,
        sign_up: &'a ValidSignUp,
        password_hash: &'a str,
        created_by: Option<Uuid>,
    },
    UpdateProfile {
        user_id: Uuid,
        patch: ProfilePatch,
    },
    /// A trainee deletes their own account, or an admin deletes it (`deleted_by`).
    DeleteTrainee {
        user_id: Uuid,
        deleted_by: Option<Uuid>,
    },
    Erase {
        user_id: Uuid,
        erased_by: Uuid,
    },
    /// The caller changes their password, if they `proven` the current one; every session ends.
    ChangePassword {
        user_id: Uuid,
        proven: bool,
        password_hash: &'a str,
    },
    FailLogin {
        user_id: Uuid,
    },
    /// The session of one refresh token (its family) ends.
    LogOut {
        user_id: Uuid,
        family_id: Uuid,
    },
    /// A single-use reset link is mailed to the account's address.
    RequestPasswordReset {
        user_id: Uuid,
        link: &'a MailedLink,
    },
    /// The password is reset through `link`, as the write side keeps it; every session ends.
    ResetPassword {
        user_id: Uuid,
        link: Option<ResetLink>,
        now: OffsetDateTime,
        password_hash: &'a str,
    },
    VerifyEmail {
        user_id: Uuid,
        email: &'a str,
        pending: Option<&'a PendingVerification>,
        submitted_digest: &'a str,
        attempt: i32,
        now: OffsetDateTime,
    },
    /// A new verification code is mailed to `to`, the account's address.
    RequestVerification {
        user_id: Uuid,
        pending: Option<&'a PendingVerification>,
        to: &'a str,
        code: &'a MailedCode,
    },
    SetSocialLinks {
        user_id: Uuid,
        links: SocialLinks,
    },
    /// The instructor's payout account, its number sealed by the write side (`sealed_number`).
    SetBankAccount {
        user_id: Uuid,
        account: &'a BankAccount,
        sealed_number: &'a [u8],
    },
}

/// A verification code to mail: the code itself (for the email only) and the digest that is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailedCode {
    pub code: String,
    pub digest: String,
    pub expires_at: OffsetDateTime,
}

/// A password-reset link to mail: to whom, the link itself (for the email only) and its token's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailedLink {
    pub to: String,
    pub url: String,
    pub token_digest: String,
    pub expires_at: OffsetDateTime,
}

/// Decides `command` on the account it names.
pub fn decide(account: &Account, command: AccountCommand<'_>) -> Result<Decided, AccountRejection> {
    let account = *account;
    Ok(match command {
        AccountCommand::Register { user_id, sign_up, password_hash, code } => Decided::with(
            register(account, user_id, sign_up, code.expires_at)?,
            [
                claim(user_id, sign_up, password_hash, Role::IndividualTrainee),
                Effect::VerificationCode { user_id, code_digest: code.digest.clone(), expires_at: code.expires_at },
                Effect::Email(verification_email(&sign_up.email, code)),
            ],
        ),
        AccountCommand::Create { user_id, kind, sign_up, password_hash, created_by } => Decided::with(
            create(account, user_id, kind, sign_up, created_by)?,
            [claim(user_id, sign_up, password_hash, kind.role())],
        ),
        AccountCommand::UpdateProfile { user_id, patch } => update_profile(account, user_id, patch)?.into(),
        AccountCommand::DeleteTrainee { user_id, deleted_by } => {
            Decided::with(delete_trainee(account, user_id, deleted_by)?, [Effect::ForgetAccount { user_id }])
        }
        AccountCommand::Erase { user_id, erased_by } => {
            Decided::with(erase(account, user_id, erased_by)?, [Effect::ForgetAccount { user_id }])
        }
        AccountCommand::ChangePassword { user_id, proven, password_hash } => Decided::with(
            change_password(account, user_id, proven)?,
            [Effect::SetPassword { user_id, password_hash: password_hash.to_owned() }, Effect::EndSessions { user_id }],
        ),
        AccountCommand::FailLogin { user_id } => fail_login(account, user_id)?.into(),
        AccountCommand::LogOut { user_id, family_id } => {
            Decided::with(log_out(account, user_id)?, [Effect::EndSessionFamily { user_id, family_id }])
        }
        AccountCommand::RequestPasswordReset { user_id, link } => Decided::with(
            request_password_reset(account, user_id, link.expires_at)?,
            [
                Effect::ResetLink { user_id, token_digest: link.token_digest.clone(), expires_at: link.expires_at },
                Effect::Email(reset_email(link)),
            ],
        ),
        AccountCommand::ResetPassword { user_id, link, now, password_hash } => Decided::with(
            reset_password(account, user_id, link, now)?,
            [
                Effect::SetPassword { user_id, password_hash: password_hash.to_owned() },
                Effect::EndResetLinks { user_id },
                Effect::EndSessions { user_id },
            ],
        ),
        AccountCommand::VerifyEmail { user_id, email, pending, submitted_digest, attempt, now } => Decided::with(
            verify_email(account, user_id, email, pending, (submitted_digest, attempt), now)?,
            [Effect::EmailVerified { user_id }],
        ),
        AccountCommand::RequestVerification { user_id, pending, to, code } => Decided::with(
            request_verification(account, user_id, pending, code.expires_at)?,
            [
                Effect::VerificationCode { user_id, code_digest: code.digest.clone(), expires_at: code.expires_at },
                Effect::Email(verification_email(to, code)),
            ],
        ),
        AccountCommand::SetSocialLinks { user_id, links } => set_social_links(account, user_id, links)?.into(),
        AccountCommand::SetBankAccount { user_id, account: bank, sealed_number } => Decided::with(
            set_bank_account(account, user_id, bank)?,
            [Effect::PayoutAccount {
                user_id,
                holder_name: bank.account_holder_name.clone(),
                sealed_number: sealed_number.to_vec(),
                bank_name: bank.bank_name.clone(),
                branch_name: bank.branch_name.clone(),
                branch_address: bank.branch_address.clone(),
                swift_code: bank.swift_code.clone(),
            }],
        ),
    })
}

/// The claim on a new account's email and username, with its password hash.
fn claim(user_id: Uuid, sign_up: &ValidSignUp, password_hash: &str, role: Role) -> Effect {
    Effect::ClaimCredentials {
        user_id,
        email: sign_up.email.clone(),
        username: sign_up.username.clone(),
        password_hash: password_hash.to_owned(),
        role,
    }
}

/// The email that carries a verification code.
fn verification_email(to: &str, code: &MailedCode) -> Email {
    let body = format!(
        "Welcome to Learnlog.\n\nYour verification code is {}. It is valid for 30 minutes.\n\n\
         If you did not sign up, ignore this email.",
        code.code
    );
    let subject = "Learnlog: your verification code".to_owned();
    Email { to: to.to_owned(), subject, body, expires_at: Some(code.expires_at) }
}

/// The email that carries a reset link.
fn reset_email(link: &MailedLink) -> Email {
    let body = format!(
        "Someone asked to reset your Learnlog password.\n\nChoose a new one here within 30 minutes:\n{}\n\n\
         If it was not you, ignore this email; your password stays as it is.",
        link.url
    );
    let subject = "Learnlog: reset your password".to_owned();
    Email { to: link.to.clone(), subject, body, expires_at: Some(link.expires_at) }
}

/// What happens to an account's sessions: a login with a proven password starts one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCommand {
    LogIn { user_id: Uuid, token_digest: String, family_id: Uuid, days: i32 },
}

/// Decides `command` on the sessions of the account it names: the first login of the account says so.
pub fn decide_session(sessions: &Sessions, command: SessionCommand) -> Result<Decided, AccountRejection> {
    match command {
        SessionCommand::LogIn { user_id, token_digest, family_id, days } => Ok(Decided::with(
            log_in(*sessions, user_id)?,
            [Effect::StartSession { user_id, token_digest, family_id, days }, Effect::RecordLogin { user_id }],
        )),
    }
}

/// Limits on profile text.
pub const BIOGRAPHY_MAX_CHARS: usize = 2_000;
pub const SHORT_TEXT_MAX_CHARS: usize = 100;

/// The whitelist of what a user may change of their own profile; nothing else exists to be set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfilePatch {
    pub name: Option<String>,
    pub country: Option<String>,
    pub biography: Option<String>,
    pub speciality: Option<String>,
    pub title: Option<String>,
}

/// Records a change of the user's own profile. Instructor fields are for instructors only.
fn update_profile(account: Account, user_id: Uuid, patch: ProfilePatch) -> Result<Vec<Event>, AccountRejection> {
    let Account::Registered(role) = account else { return Err(AccountRejection::Unknown) };
    if patch == ProfilePatch::default() {
        return Err(AccountRejection::Invalid(vec![Violation::of_rule(
            "nothing_to_change",
            "",
            "give at least one field to change",
        )]));
    }
    // What only instructors show of themselves is theirs to set: forbidden to anyone else, however well formed.
    if role != Role::Instructor && [&patch.biography, &patch.speciality, &patch.title].iter().any(|v| v.is_some()) {
        return Err(AccountRejection::NotAnInstructor);
    }
    let mut found = Vec::new();
    let text = |value: Option<String>, field: &'static str, max: usize, found: &mut Vec<Violation>| {
        let value = value.map(|v| v.trim().to_owned());
        if value.as_ref().is_some_and(|v| v.is_empty() || v.chars().count() > max) {
            found.push(Violation::new(field, format!("must be 1 to {max} characters")));
        }
        value
    };
    let name = text(patch.name, "name", NAME_MAX_CHARS, &mut found);
    let country = patch.country.map(|c| c.trim().to_ascii_uppercase());
    if country.as_deref().is_some_and(|c| c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_uppercase())) {
        found.push(Violation::new("country", "must be an ISO 3166 alpha-2 code like US"));
    }
    let biography = text(patch.biography, "biography", BIOGRAPHY_MAX_CHARS, &mut found);
    let speciality = text(patch.speciality, "speciality", SHORT_TEXT_MAX_CHARS, &mut found);
    let title = text(patch.title, "title", SHORT_TEXT_MAX_CHARS, &mut found);
    if !found.is_empty() {
        return Err(AccountRejection::Invalid(found));
    }
    let event = ProfileUpdated { user_id, name: name.map(Personal::Clear), country, biography, speciality, title };
    Ok(vec![Event::ProfileUpdated(event)])
}

/// A sign-up as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignUp {
    pub email: String,
    pub username: String,
    pub password: String,
    pub name: String,
    pub country: Option<String>,
}

/// A sign-up whose fields all hold: the email lower-cased, everything trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSignUp {
    pub email: String,
    pub username: String,
    pub password: String,
    pub name: String,
    pub country: Option<String>,
}

impl SignUp {
    /// Checks every field (R18), reporting all violations at once.
    pub fn validate(self) -> Result<ValidSignUp, Vec<Violation>> {
        let mut found = Vec::new();
        // At most EMAIL_MAX_CHARS as sent (what the document says), and an address once trimmed.
        let email = self.email.trim().to_lowercase();
        if self.email.chars().count() > EMAIL_MAX_CHARS || !is_email(&email) {
            found.push(Violation::new("email", "must be an email address like name@example.com"));
        }
        let username = self.username.trim().to_owned();
        if username.is_empty() || !username.chars().all(|c| c.is_ascii_alphanumeric()) {
            found.push(Violation::new("username", "must be letters and digits only"));
        } else if username.chars().count() > USERNAME_MAX_CHARS {
            found.push(Violation::new("username", format!("must be at most {USERNAME_MAX_CHARS} characters")));
        }
        if let Err(message) = check_password(&self.password) {
            found.push(Violation::new("password", message));
        }
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > NAME_MAX_CHARS {
            found.push(Violation::new("name", format!("must be 1 to {NAME_MAX_CHARS} characters")));
        }
        let country = self.country.map(|c| c.trim().to_ascii_uppercase()).filter(|c| !c.is_empty());
        if country.as_deref().is_some_and(|c| c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_uppercase())) {
            found.push(Violation::new("country", "must be an ISO 3166 alpha-2 code like US"));
        }
        if found.is_empty() {
            Ok(ValidSignUp { email, username, password: self.password, name, country })
        } else {
            Err(found)
        }
    }
}

/// R18's password rule (plus an upper bound on hashing work): `Err` says what is wrong.
pub fn check_password(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < PASSWORD_MIN_CHARS {
        Err(format!("must be at least {PASSWORD_MIN_CHARS} characters"))
    } else if length > PASSWORD_MAX_CHARS {
        Err(format!("must be at most {PASSWORD_MAX_CHARS} characters"))
    } else {
        Ok(())
    }
}

/// `\S+@\S+\.\S+` (DOMAIN.md), within the length an address can have.
pub fn is_email(text: &str) -> bool {
    if text.is_empty() || text.chars().count() > EMAIL_MAX_CHARS || text.chars().any(char::is_whitespace) {
        return false;
    }
    let Some((local, domain)) = text.split_once('@') else { return false };
    let Some((host, top)) = domain.rsplit_once('.') else { return false };
    !local.is_empty() && !host.is_empty() && !top.is_empty()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountRejection {
    AlreadyRegistered,
    /// No account behind this id.
    Unknown,
    /// Something only instructors set about themselves.
    NotAnInstructor,
    /// Only trainee accounts are deleted.
    NotATrainee,
    /// The current password was not proven.
    WrongPassword,
    /// The reset link is unknown, used or expired.
    InvalidResetLink,
    /// The verification code is wrong, expired or out of tries.
    InvalidCode,
    AlreadyVerified,
    Invalid(Vec<Violation>),
}

/// The kinds of account an admin creates. Individual trainees sign up themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreatedKind {
    Instructor,
    CorporateTrainee { company: String },
    Admin,
    Analyst,
}

impl CreatedKind {
    pub fn role(&self) -> Role {
        match self {
            CreatedKind::Instructor => Role::Instructor,
            CreatedKind::CorporateTrainee { .. } => Role::CorporateTrainee,
            CreatedKind::Admin => Role::Admin,
            CreatedKind::Analyst => Role::Analyst,
        }
    }
}

/// Records an account an admin creates (`created_by`), or the first admin (`created_by: None`, from the
/// command line). The corporate flag and company exist only this way (DOMAIN.md, UserAccount).
fn create(
    account: Account,
    user_id: Uuid,
    kind: &CreatedKind,
    sign_up: &ValidSignUp,
    created_by: Option<Uuid>,
) -> Result<Vec<Event>, AccountRejection> {
    if account != Account::Missing {
        return Err(AccountRejection::AlreadyRegistered);
    }
    let (email, username, name, country) = (
        Personal::clear(&sign_up.email),
        Personal::clear(&sign_up.username),
        Personal::clear(&sign_up.name),
        sign_up.country.clone(),
    );
    let event = match kind {
        CreatedKind::Instructor => {
            Event::InstructorCreated(InstructorCreated { user_id, email, username, name, country, created_by })
        }
        CreatedKind::Admin => Event::AdminCreated(AdminCreated { user_id, email, username, name, country, created_by }),
        CreatedKind::Analyst => {
            Event::AnalystCreated(AnalystCreated { user_id, email, username, name, country, created_by })
        }
        CreatedKind::CorporateTrainee { company } => {
            let company = company.trim().to_owned();
            if company.is_empty() {
                let required = Violation::of_rule("company_required", "company", "is required for a corporate trainee");
                return Err(AccountRejection::Invalid(vec![required]));
            }
            if company.chars().count() > COMPANY_MAX_CHARS {
                let message = format!("must be 1 to {COMPANY_MAX_CHARS} characters");
                return Err(AccountRejection::Invalid(vec![Violation::new("company", message)]));
            }
            Event::CorporateTraineeCreated(CorporateTraineeCreated {
                user_id,
                email,
                username,
                name,
                country,
                company: Personal::Clear(company),
                created_by,
            })
        }
    };
    Ok(vec![event])
}

/// Records the sign-up of a new individual trainee. A trainee proves their email later: a code valid until
/// `code_expires_at` goes out with the first event (R21). An admin vouches for the accounts they create.
fn register(
    account: Account,
    user_id: Uuid,
    sign_up: &ValidSignUp,
    code_expires_at: OffsetDateTime,
) -> Result<Vec<Event>, AccountRejection> {
    if account != Account::Missing {
        return Err(AccountRejection::AlreadyRegistered);
    }
    Ok(vec![
        Event::IndividualTraineeRegistered(IndividualTraineeRegistered {
            user_id,
            email: Personal::clear(&sign_up.email),
            username: Personal::clear(&sign_up.username),
            name: Personal::clear(&sign_up.name),
            country: sign_up.country.clone(),
        }),
        Event::EmailVerificationRequested(EmailVerificationRequested { user_id, expires_at: code_expires_at }),
    ])
}

fn registered(account: Account) -> Result<Role, AccountRejection> {
    match account {
        Account::Registered(role) => Ok(role),
        Account::Missing | Account::Deleted => Err(AccountRejection::Unknown),
    }
}

/// Deletes a trainee's account, asked by the trainee (`deleted_by: None`) or by an admin. Other kinds of
/// account are not deleted this way.
fn delete_trainee(account: Account, user_id: Uuid, deleted_by: Option<Uuid>) -> Result<Vec<Event>, AccountRejection> {
    match registered(account)? {
        Role::IndividualTrainee | Role::CorporateTrainee => {
            Ok(vec![Event::TraineeAccountDeleted(TraineeAccountDeleted { user_id, deleted_by })])
        }
        Role::Instructor | Role::Admin | Role::Analyst => Err(AccountRejection::NotATrainee),
    }
}

/// Erases an account of any kind, on the person's request, by an admin: what makes it a person's account
/// goes (credentials, sessions, the person's key, so their personal data in every copy of every event).
fn erase(account: Account, user_id: Uuid, erased_by: Uuid) -> Result<Vec<Event>, AccountRejection> {
    registered(account)?;
    Ok(vec![Event::AccountErased(AccountErased { user_id, erased_by })])
}

/// Replaces the password once the current one is proven (the new one already follows the rule).
fn change_password(account: Account, user_id: Uuid, proven: bool) -> Result<Vec<Event>, AccountRejection> {
    registered(account)?;
    if !proven {
        return Err(AccountRejection::WrongPassword);
    }
    Ok(vec![Event::PasswordChanged(PasswordChanged { user_id })])
}

/// What a login decides on: the account, and whether it ever logged in before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sessions {
    pub account: Account,
    pub logged_in_before: bool,
}

impl Aggregate for Sessions {
    fn evolve(self, event: &Event) -> Self {
        Sessions {
            account: self.account.evolve(event),
            logged_in_before: self.logged_in_before || matches!(event, Event::UserLoggedIn(_)),
        }
    }
}

/// An account's profile picture, folded from the same stream as the account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Portrait {
    pub account: Account,
    pub picture: Option<Picture>,
}

impl Aggregate for Portrait {
    fn evolve(self, event: &Event) -> Self {
        let picture = match event {
            Event::ProfilePictureSet(set) => set.picture.clone(),
            _ => self.picture,
        };
        Portrait { account: self.account.evolve(event), picture }
    }
}

/// What happens to an account's profile picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortraitCommand {
    /// The user sets their picture, or removes it (`None`).
    Set { user_id: Uuid, picture: Option<Picture> },
}

/// Decides `command` on the picture of the account it names: any registered account has one; the same picture again
/// changes nothing, and a new one says which it replaces (the write side deletes that one from storage).
pub fn decide_portrait(portrait: &Portrait, command: PortraitCommand) -> Result<Decided, AccountRejection> {
    registered(portrait.account)?;
    let PortraitCommand::Set { user_id, picture } = command;
    if portrait.picture == picture {
        return Ok(Decided::default());
    }
    let replaced = portrait.picture.clone();
    Ok(vec![Event::ProfilePictureSet(ProfilePictureSet { user_id, picture, replaced })].into())
}

/// A login with a proven password: the first one of the account says so (DOMAIN.md `firstLogin`).
fn log_in(sessions: Sessions, user_id: Uuid) -> Result<Vec<Event>, AccountRejection> {
    registered(sessions.account)?;
    Ok(vec![Event::UserLoggedIn(UserLoggedIn { user_id, first_login: !sessions.logged_in_before })])
}

/// A wrong password for an existing account, for the audit trail.
fn fail_login(account: Account, user_id: Uuid) -> Result<Vec<Event>, AccountRejection> {
    registered(account)?;
    Ok(vec![Event::LoginFailed(LoginFailed { user_id })])
}

/// The end of one of the account's sessions.
fn log_out(account: Account, user_id: Uuid) -> Result<Vec<Event>, AccountRejection> {
    registered(account)?;
    Ok(vec![Event::UserLoggedOut(UserLoggedOut { user_id })])
}

/// A reset link valid until `expires_at` goes to the account's email; earlier links end.
fn request_password_reset(
    account: Account,
    user_id: Uuid,
    expires_at: OffsetDateTime,
) -> Result<Vec<Event>, AccountRejection> {
    registered(account)?;
    Ok(vec![Event::PasswordResetRequested(PasswordResetRequested { user_id, expires_at })])
}

/// A reset link as the write side keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResetLink {
    pub expires_at: OffsetDateTime,
    pub used: bool,
}

/// Replaces the password through a reset link that is neither used nor expired at `now`.
fn reset_password(
    account: Account,
    user_id: Uuid,
    link: Option<ResetLink>,
    now: OffsetDateTime,
) -> Result<Vec<Event>, AccountRejection> {
    registered(account)?;
    match link {
        Some(link) if !link.used && now < link.expires_at => Ok(vec![Event::PasswordReset(PasswordReset { user_id })]),
        _ => Err(AccountRejection::InvalidResetLink),
    }
}

/// Wrong codes before a code is dead (a new one can be requested).
pub const MAX_CODE_ATTEMPTS: i32 = 5;

/// The account's pending verification as the write side keeps it: the code's HMAC, not the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingVerification {
    pub code_digest: String,
    pub expires_at: OffsetDateTime,
    /// Tries counted against the code so far.
    pub attempts: i32,
    pub verified: bool,
}

/// Verifies the account's email when the submitted code's digest matches the pending one, in time and
/// within [`MAX_CODE_ATTEMPTS`] tries (R21). `attempt` is this try's number: every try is counted before
/// any is judged, so tries sent at once cannot share a number and slip past the limit together.
fn verify_email(
    account: Account,
    user_id: Uuid,
    email: &str,
    pending: Option<&PendingVerification>,
    (submitted_digest, attempt): (&str, i32),
    now: OffsetDateTime,
) -> Result<Vec<Event>, AccountRejection> {
    registered(account)?;
    let Some(pending) = pending else { return Err(AccountRejection::InvalidCode) };
    if pending.verified {
        return Err(AccountRejection::AlreadyVerified);
    }
    if now >= pending.expires_at || attempt > MAX_CODE_ATTEMPTS || pending.code_digest != submitted_digest {
        return Err(AccountRejection::InvalidCode);
    }
    Ok(vec![Event::EmailVerified(EmailVerified { user_id, email: Personal::clear(email) })])
}

/// A new code for an account whose email is not verified yet. One that is, or that an admin created (it
/// has no pending verification and needs none), is refused as already verified.
fn request_verification(
    account: Account,
    user_id: Uuid,
    pending: Option<&PendingVerification>,
    expires_at: OffsetDateTime,
) -> Result<Vec<Event>, AccountRejection> {
    registered(account)?;
    match pending {
        Some(pending) if !pending.verified => {
            Ok(vec![Event::EmailVerificationRequested(EmailVerificationRequested { user_id, expires_at })])
        }
        _ => Err(AccountRejection::AlreadyVerified),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::given::when;

    fn sign_up() -> SignUp {
        SignUp {
            email: " Ada@Example.COM ".into(),
            username: "ada".into(),
            password: "correct horse".into(),
            name: "Ada Lovelace".into(),
            country: Some("gb".into()),
        }
    }

    #[test]
    fn a_valid_sign_up_is_normalised_and_recorded_without_the_password() {
        let valid = sign_up().validate().expect("valid");
        assert_eq!((valid.email.as_str(), valid.country.as_deref()), ("ada@example.com", Some("GB")));
        let events =
            register(Account::default(), Uuid::from_u128(1), &valid, OffsetDateTime::UNIX_EPOCH).expect("registers");
        let payload = events[0].encode();
        assert!(!payload.contains("correct horse"), "the password must never reach an event");
        assert_eq!(Account::from_events(&events), Account::Registered(Role::IndividualTrainee));
    }

    #[test]
    fn an_account_is_registered_once() {
        let valid = sign_up().validate().expect("valid");
        let history =
            register(Account::default(), Uuid::from_u128(1), &valid, OffsetDateTime::UNIX_EPOCH).expect("registers");
        assert_eq!(
            register(Account::from_events(&history), Uuid::from_u128(1), &valid, OffsetDateTime::UNIX_EPOCH),
            Err(AccountRejection::AlreadyRegistered)
        );
    }

    #[test]
    fn every_rule_of_r18_is_checked_and_reported_by_field() {
        let bad = SignUp {
            email: "not-an-email".into(),
            username: "ada lovelace!".into(),
            password: "short".into(),
            name: "  ".into(),
            country: Some("GBR".into()),
        };
        let fields: Vec<&str> = bad.validate().expect_err("invalid").iter().map(|v| v.field).collect();
        assert_eq!(fields, ["email", "username", "password", "name", "country"]);
    }

    #[test]
    fn an_admin_creates_instructors_admins_and_corporate_trainees_of_a_company() {
        let valid = sign_up().validate().expect("valid");
        let admin = Some(Uuid::from_u128(9));
        let instructor = create(Account::default(), Uuid::from_u128(2), &CreatedKind::Instructor, &valid, admin);
        assert!(matches!(instructor.as_deref(), Ok([Event::InstructorCreated(e)]) if e.created_by == admin));
        let corporate = CreatedKind::CorporateTrainee { company: " Acme ".into() };
        let created = create(Account::default(), Uuid::from_u128(3), &corporate, &valid, admin);
        assert!(
            matches!(created.as_deref(), Ok([Event::CorporateTraineeCreated(e)]) if e.company.text() == Some("Acme"))
        );
        let no_company = CreatedKind::CorporateTrainee { company: " ".into() };
        let refused = create(Account::default(), Uuid::from_u128(4), &no_company, &valid, admin);
        assert!(matches!(refused, Err(AccountRejection::Invalid(v)) if v[0].field == "company"));
        assert_eq!(CreatedKind::Admin.role(), Role::Admin);
    }

    #[test]
    fn a_profile_changes_only_whitelisted_fields_and_instructor_fields_only_for_instructors() {
        let trainee = Account::Registered(Role::IndividualTrainee);
        let patch =
            ProfilePatch { name: Some(" Ada L. ".into()), country: Some("fr".into()), ..ProfilePatch::default() };
        let events = update_profile(trainee, Uuid::from_u128(1), patch).expect("valid");
        assert!(
            matches!(&events[..], [Event::ProfileUpdated(e)] if e.name.as_ref().and_then(Personal::text) == Some("Ada L.") && e.country.as_deref() == Some("FR"))
        );
        let biography = ProfilePatch { biography: Some("I teach".into()), ..ProfilePatch::default() };
        let refused = update_profile(trainee, Uuid::from_u128(1), biography.clone());
        assert_eq!(refused, Err(AccountRejection::NotAnInstructor), "forbidden, not malformed");
        assert!(update_profile(Account::Registered(Role::Instructor), Uuid::from_u128(2), biography).is_ok());
        let blank = ProfilePatch { name: Some(" ".into()), ..ProfilePatch::default() };
        assert!(update_profile(trainee, Uuid::from_u128(1), blank).is_err());
        assert_eq!(
            update_profile(Account::Missing, Uuid::from_u128(3), ProfilePatch::default()),
            Err(AccountRejection::Unknown)
        );
        assert!(matches!(
            update_profile(trainee, Uuid::from_u128(1), ProfilePatch::default()),
            Err(AccountRejection::Invalid(_))
        ));
    }

    fn trainee() -> Vec<Event> {
        let valid = sign_up().validate().expect("valid");
        register(Account::default(), Uuid::from_u128(1), &valid, OffsetDateTime::UNIX_EPOCH).expect("registers")
    }

    fn instructor() -> Vec<Event> {
        let valid = sign_up().validate().expect("valid");
        create(Account::default(), Uuid::from_u128(2), &CreatedKind::Instructor, &valid, None).expect("created")
    }

    #[test]
    fn the_deciders_take_each_command_to_its_rule() {
        let (user, admin) = (Uuid::from_u128(1), Uuid::from_u128(9));
        let account = Account::from_events(&trainee());
        assert_eq!(
            decide(&account, AccountCommand::FailLogin { user_id: user }),
            fail_login(account, user).map(Decided::from)
        );
        let erase_it = AccountCommand::Erase { user_id: user, erased_by: admin };
        let erased = decide(&account, erase_it).expect("erased");
        assert_eq!(
            erased,
            Decided::with(erase(account, user, admin).expect("erased"), [Effect::ForgetAccount { user_id: user }])
        );
        let links = AccountCommand::SetSocialLinks { user_id: user, links: SocialLinks::default() };
        assert_eq!(decide(&account, links), Err(AccountRejection::NotAnInstructor));
    }

    #[test]
    fn a_registered_account_sets_its_picture_and_a_deleted_one_cannot() {
        let user = Uuid::from_u128(1);
        let picture = Picture { id: "a".repeat(64), format: "webp".to_owned() };
        let portrait = Portrait::from_events(&trainee());
        let set =
            when(decide_portrait(&portrait, PortraitCommand::Set { user_id: user, picture: Some(picture.clone()) }))
                .expect("set");
        let expected = ProfilePictureSet { user_id: user, picture: Some(picture.clone()), replaced: None };
        assert_eq!(set, [Event::ProfilePictureSet(expected)]);
        let with = set.iter().fold(portrait, Portrait::evolve);
        assert_eq!(
            when(decide_portrait(&with, PortraitCommand::Set { user_id: user, picture: Some(picture.clone()) })),
            Ok(Vec::new()),
            "the same"
        );
        let removed =
            when(decide_portrait(&with, PortraitCommand::Set { user_id: user, picture: None })).expect("removed");
        let expected = ProfilePictureSet { user_id: user, picture: None, replaced: Some(picture.clone()) };
        assert_eq!(removed, [Event::ProfilePictureSet(expected)]);
        let erased = erase(with.account, user, Uuid::from_u128(9)).expect("erased");
        let gone = erased.iter().fold(with, Portrait::evolve);
        assert_eq!(
            when(decide_portrait(&gone, PortraitCommand::Set { user_id: user, picture: Some(picture) })),
            Err(AccountRejection::Unknown)
        );
    }

    fn code() -> MailedCode {
        MailedCode { code: "123456".to_owned(), digest: "digest".to_owned(), expires_at: OffsetDateTime::UNIX_EPOCH }
    }

    #[test]
    fn a_sign_up_claims_its_email_and_username_and_mails_a_code_kept_as_its_digest() {
        let user = Uuid::from_u128(1);
        let valid = sign_up().validate().expect("valid");
        let register =
            AccountCommand::Register { user_id: user, sign_up: &valid, password_hash: "hash", code: &code() };
        let decided = decide(&Account::default(), register).expect("registers");
        assert_eq!(decided.events, trainee());
        let [claim, kept, Effect::Email(mail)] = &decided.effects[..] else { panic!("{:?}", decided.effects) };
        let claimed = Effect::ClaimCredentials {
            user_id: user,
            email: valid.email.clone(),
            username: valid.username.clone(),
            password_hash: "hash".to_owned(),
            role: Role::IndividualTrainee,
        };
        assert_eq!(claim, &claimed);
        let digest =
            Effect::VerificationCode { user_id: user, code_digest: "digest".to_owned(), expires_at: code().expires_at };
        assert_eq!(kept, &digest);
        assert_eq!((mail.to.as_str(), mail.expires_at), (valid.email.as_str(), Some(code().expires_at)));
        assert!(mail.body.contains("123456"), "the code is mailed: {}", mail.body);
        let again = AccountCommand::Register { user_id: user, sign_up: &valid, password_hash: "hash", code: &code() };
        assert!(decide(&Account::from_events(&trainee()), again).is_err(), "a refusal records nothing");
    }

    #[test]
    fn sessions_start_with_a_login_and_end_with_a_logout_a_new_password_or_a_reset() {
        let (user, family) = (Uuid::from_u128(1), Uuid::from_u128(7));
        let account = Account::from_events(&trainee());
        let log_in = SessionCommand::LogIn { user_id: user, token_digest: "t".to_owned(), family_id: family, days: 30 };
        let started = decide_session(&Sessions::from_events(&trainee()), log_in).expect("logs in");
        let session = Effect::StartSession { user_id: user, token_digest: "t".to_owned(), family_id: family, days: 30 };
        assert_eq!(started.effects, [session, Effect::RecordLogin { user_id: user }]);
        let logged_out =
            decide(&account, AccountCommand::LogOut { user_id: user, family_id: family }).expect("logs out");
        assert_eq!(logged_out.effects, [Effect::EndSessionFamily { user_id: user, family_id: family }]);
        let changed =
            decide(&account, AccountCommand::ChangePassword { user_id: user, proven: true, password_hash: "new" });
        let new_password = Effect::SetPassword { user_id: user, password_hash: "new".to_owned() };
        assert_eq!(changed.expect("changed").effects, [new_password, Effect::EndSessions { user_id: user }]);
        let unproven = AccountCommand::ChangePassword { user_id: user, proven: false, password_hash: "" };
        assert!(decide(&account, unproven).is_err(), "no password is set without the current one");
        let link = MailedLink {
            to: "ada@example.com".to_owned(),
            url: "https://learnlog.test/reset-password?token=abc".to_owned(),
            token_digest: "d".to_owned(),
            expires_at: OffsetDateTime::UNIX_EPOCH,
        };
        let requested =
            decide(&account, AccountCommand::RequestPasswordReset { user_id: user, link: &link }).expect("mailed");
        let [Effect::ResetLink { token_digest, .. }, Effect::Email(mail)] = &requested.effects[..] else {
            panic!("{:?}", requested.effects)
        };
        assert_eq!((token_digest.as_str(), mail.to.as_str()), ("d", "ada@example.com"));
        assert!(mail.body.contains(&link.url), "the link is mailed: {}", mail.body);
    }

    #[test]
    fn a_sign_up_asks_for_the_email_to_be_proven_and_an_admin_created_account_does_not() {
        assert!(matches!(
            &trainee()[..],
            [Event::IndividualTraineeRegistered(_), Event::EmailVerificationRequested(e)] if e.expires_at == OffsetDateTime::UNIX_EPOCH
        ));
        assert!(matches!(&instructor()[..], [Event::InstructorCreated(_)]));
    }

    #[test]
    fn only_trainee_accounts_are_deleted_and_only_once() {
        let given = Account::from_events(&trainee());
        let deleted = delete_trainee(given, Uuid::from_u128(1), Some(Uuid::from_u128(9))).expect("deleted");
        assert!(matches!(&deleted[..], [Event::TraineeAccountDeleted(e)] if e.deleted_by == Some(Uuid::from_u128(9))));
        let after = Account::from_events(trainee().iter().chain(&deleted));
        assert_eq!(delete_trainee(after, Uuid::from_u128(1), None), Err(AccountRejection::Unknown));
        let teacher = Account::from_events(&instructor());
        assert_eq!(delete_trainee(teacher, Uuid::from_u128(2), None), Err(AccountRejection::NotATrainee));
        assert_eq!(delete_trainee(Account::Missing, Uuid::from_u128(3), None), Err(AccountRejection::Unknown));
    }

    #[test]
    fn an_admin_erases_any_kind_of_account_once() {
        let admin = Uuid::from_u128(9);
        let erased = erase(Account::from_events(&instructor()), Uuid::from_u128(2), admin).expect("erased");
        assert!(matches!(&erased[..], [Event::AccountErased(e)] if e.erased_by == admin));
        let after = Account::from_events(instructor().iter().chain(&erased));
        assert_eq!(erase(after, Uuid::from_u128(2), admin), Err(AccountRejection::Unknown));
        assert_eq!(
            log_in(Sessions::from_events(instructor().iter().chain(&erased)), Uuid::from_u128(2)),
            Err(AccountRejection::Unknown)
        );
        assert!(erase(Account::from_events(&trainee()), Uuid::from_u128(1), admin).is_ok());
    }

    #[test]
    fn a_password_changes_only_once_the_current_one_is_proven() {
        let given = Account::from_events(&trainee());
        assert_eq!(change_password(given, Uuid::from_u128(1), false), Err(AccountRejection::WrongPassword));
        assert!(matches!(
            &change_password(given, Uuid::from_u128(1), true).expect("changed")[..],
            [Event::PasswordChanged(_)]
        ));
        assert_eq!(change_password(Account::Deleted, Uuid::from_u128(1), true), Err(AccountRejection::Unknown));
    }

    #[test]
    fn the_first_login_of_an_account_says_so_and_later_ones_do_not() {
        let user = Uuid::from_u128(1);
        let first = log_in(Sessions::from_events(&trainee()), user).expect("logs in");
        assert!(matches!(&first[..], [Event::UserLoggedIn(e)] if e.first_login));
        let history: Vec<Event> = trainee().into_iter().chain(first).collect();
        let second = log_in(Sessions::from_events(&history), user).expect("logs in");
        assert!(matches!(&second[..], [Event::UserLoggedIn(e)] if !e.first_login));
        // A failed login or a logout is no login.
        let failed = fail_login(Account::from_events(&trainee()), user).expect("recorded");
        let history: Vec<Event> = trainee().into_iter().chain(failed).collect();
        assert!(
            matches!(&log_in(Sessions::from_events(&history), user).expect("logs in")[..], [Event::UserLoggedIn(e)] if e.first_login)
        );
        assert_eq!(log_in(Sessions::default(), user), Err(AccountRejection::Unknown));
        assert!(matches!(
            &log_out(Account::from_events(&trainee()), user).expect("out")[..],
            [Event::UserLoggedOut(_)]
        ));
    }

    #[test]
    fn a_reset_link_works_unused_and_in_time_only() {
        let (user, given) = (Uuid::from_u128(1), Account::from_events(&trainee()));
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::hours(1);
        let link = |minutes: i64, used| ResetLink { expires_at: now + time::Duration::minutes(minutes), used };
        assert!(matches!(
            &reset_password(given, user, Some(link(5, false)), now).expect("reset")[..],
            [Event::PasswordReset(_)]
        ));
        assert_eq!(reset_password(given, user, Some(link(5, true)), now), Err(AccountRejection::InvalidResetLink));
        assert_eq!(reset_password(given, user, Some(link(0, false)), now), Err(AccountRejection::InvalidResetLink));
        assert_eq!(reset_password(given, user, None, now), Err(AccountRejection::InvalidResetLink));
        let requested = request_password_reset(given, user, now).expect("requested");
        assert!(matches!(&requested[..], [Event::PasswordResetRequested(e)] if e.expires_at == now));
    }

    #[test]
    fn an_email_is_verified_by_its_code_in_time_and_within_five_tries() {
        let (user, given) = (Uuid::from_u128(1), Account::from_events(&trainee()));
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::hours(1);
        let pending = |attempts, verified, minutes: i64| PendingVerification {
            code_digest: "abc".into(),
            expires_at: now + time::Duration::minutes(minutes),
            attempts,
            verified,
        };
        let verify = |p: Option<&PendingVerification>, digest: &str, attempt: i32| {
            verify_email(given, user, "a@b.c", p, (digest, attempt), now)
        };
        let fifth = verify(Some(&pending(5, false, 5)), "abc", MAX_CODE_ATTEMPTS).expect("verified");
        assert!(matches!(&fifth[..], [Event::EmailVerified(e)] if e.email.text() == Some("a@b.c")));
        assert_eq!(verify(Some(&pending(1, false, 5)), "abd", 1), Err(AccountRejection::InvalidCode));
        let sixth = verify(Some(&pending(6, false, 5)), "abc", MAX_CODE_ATTEMPTS + 1);
        assert_eq!(sixth, Err(AccountRejection::InvalidCode), "the sixth try fails whatever its code");
        assert_eq!(verify(Some(&pending(1, false, 0)), "abc", 1), Err(AccountRejection::InvalidCode));
        assert_eq!(verify(Some(&pending(1, true, 5)), "abc", 1), Err(AccountRejection::AlreadyVerified));
        assert_eq!(verify(None, "abc", 1), Err(AccountRejection::InvalidCode));
        let again = request_verification(given, user, Some(&pending(3, false, -5)), now).expect("a new code");
        assert!(matches!(&again[..], [Event::EmailVerificationRequested(e)] if e.expires_at == now));
        assert_eq!(
            request_verification(given, user, Some(&pending(0, true, 5)), now),
            Err(AccountRejection::AlreadyVerified)
        );
        assert_eq!(request_verification(given, user, None, now), Err(AccountRejection::AlreadyVerified));
    }

    #[test]
    fn emails_need_a_local_part_a_host_and_a_top_level_domain() {
        for bad in ["a@b", "@b.c", "a@.c", "a@b.", "a b@c.d", ""] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(is_email("a@b.c"));
        let long_password = SignUp { password: "x".repeat(PASSWORD_MAX_CHARS + 1), ..sign_up() };
        assert!(long_password.validate().is_err());
    }
}
