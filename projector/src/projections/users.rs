//! `user_directory`: one row per account, as the Identity context describes it. No credentials.

use super::Writes;
use events::personal::{ERASED_NAME, ERASED_TEXT};
use events::{Event, RecordedEvent, Role};
use uuid::Uuid;

/// The directory row an account-creating event describes.
struct NewUser<'a> {
    id: Uuid,
    kind: &'static str,
    role: Role,
    email: &'a str,
    username: &'a str,
    name: &'a str,
    country: Option<&'a str>,
    company: Option<&'a str>,
}

fn new_user(event: &Event) -> Option<NewUser<'_>> {
    Some(match event {
        Event::IndividualTraineeRegistered(e) => NewUser {
            id: e.user_id,
            kind: "trainee",
            role: Role::IndividualTrainee,
            email: e.email.text_or(ERASED_TEXT),
            username: e.username.text_or(ERASED_TEXT),
            name: e.name.text_or(ERASED_NAME),
            country: e.country.as_deref(),
            company: None,
        },
        Event::CorporateTraineeCreated(e) => NewUser {
            id: e.user_id,
            kind: "trainee",
            role: Role::CorporateTrainee,
            email: e.email.text_or(ERASED_TEXT),
            username: e.username.text_or(ERASED_TEXT),
            name: e.name.text_or(ERASED_NAME),
            country: e.country.as_deref(),
            company: Some(e.company.text_or(ERASED_TEXT)),
        },
        Event::InstructorCreated(e) => NewUser {
            id: e.user_id,
            kind: "instructor",
            role: Role::Instructor,
            email: e.email.text_or(ERASED_TEXT),
            username: e.username.text_or(ERASED_TEXT),
            name: e.name.text_or(ERASED_NAME),
            country: e.country.as_deref(),
            company: None,
        },
        Event::AdminCreated(e) => NewUser {
            id: e.user_id,
            kind: "admin",
            role: Role::Admin,
            email: e.email.text_or(ERASED_TEXT),
            username: e.username.text_or(ERASED_TEXT),
            name: e.name.text_or(ERASED_NAME),
            country: e.country.as_deref(),
            company: None,
        },
        Event::AnalystCreated(e) => NewUser {
            id: e.user_id,
            kind: "analyst",
            role: Role::Analyst,
            email: e.email.text_or(ERASED_TEXT),
            username: e.username.text_or(ERASED_TEXT),
            name: e.name.text_or(ERASED_NAME),
            country: e.country.as_deref(),
            company: None,
        },
        _ => return None,
    })
}

pub(super) async fn apply(
    writes: &mut Writes<'_, '_>,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), tokio_postgres::Error> {
    if let Event::ProfileUpdated(profile) = event {
        writes
            .execute(
                "UPDATE user_directory SET name = COALESCE($2, name), country = COALESCE($3, country), \
                 biography = COALESCE($4, biography), speciality = COALESCE($5, speciality), \
                 title = COALESCE($6, title), version = $7 WHERE id = $1 AND version < $7",
                &[
                    &profile.user_id,
                    &profile.name.as_ref().map(|name| name.text_or(ERASED_NAME)),
                    &profile.country,
                    &profile.biography,
                    &profile.speciality,
                    &profile.title,
                    &recorded.stream_version,
                ],
            )
            .await?;
        return Ok(());
    }
    let activity = match event {
        Event::UserLoggedIn(e) => Some((e.user_id, true)),
        Event::UserLoggedOut(e) => Some((e.user_id, false)),
        // Both end every session.
        Event::PasswordChanged(e) => Some((e.user_id, false)),
        Event::PasswordReset(e) => Some((e.user_id, false)),
        _ => None,
    };
    if let Some((user_id, logged_in)) = activity {
        writes
            .execute(
                "UPDATE user_directory SET logged_in = $2, \
                 last_login_at = CASE WHEN $2 THEN $3 ELSE last_login_at END, version = $4 \
                 WHERE id = $1 AND version < $4",
                &[&user_id, &logged_in, &recorded.occurred_at, &recorded.stream_version],
            )
            .await?;
        return Ok(());
    }
    if let Some(user_id) = super::erased_person(event) {
        // The directory forgets the person; their id stays in orders and payments.
        writes.execute("DELETE FROM user_directory WHERE id = $1", &[&user_id]).await?;
        return Ok(());
    }
    if let Event::ProfilePictureSet(set) = event {
        let picture = set.picture.as_ref();
        let (picture_id, format) = (picture.map(|p| p.id.as_str()), picture.map(|p| p.format.as_str()));
        writes
            .execute(
                "UPDATE user_directory SET picture_id = $2, picture_format = $3, version = $4 \
                 WHERE id = $1 AND version < $4",
                &[&set.user_id, &picture_id, &format, &recorded.stream_version],
            )
            .await?;
        return Ok(());
    }
    if let Event::InstructorSocialLinksSet(links) = event {
        let value = serde_json::json!({
            "facebook": links.facebook, "github": links.github, "linkedin": links.linkedin,
            "personal_website": links.personal_website, "youtube": links.youtube,
        });
        writes
            .execute(
                "UPDATE user_directory SET social_links = $2, version = $3 WHERE id = $1 AND version < $3",
                &[&links.user_id, &value, &recorded.stream_version],
            )
            .await?;
        return Ok(());
    }
    if let Event::InstructorBankAccountSet(bank) = event {
        writes
            .execute(
                "UPDATE user_directory SET bank_name = $2, bank_account_last4 = $3, version = $4 \
                 WHERE id = $1 AND version < $4",
                &[&bank.user_id, &bank.bank_name.text_or(ERASED_TEXT), &bank.account_last4, &recorded.stream_version],
            )
            .await?;
        return Ok(());
    }
    if let Event::EmailVerified(verified) = event {
        writes
            .execute(
                "UPDATE user_directory SET email_verified = true, version = $2 WHERE id = $1 AND version < $2",
                &[&verified.user_id, &recorded.stream_version],
            )
            .await?;
        return Ok(());
    }
    let Some(user) = new_user(event) else { return Ok(()) };
    writes
        .execute(
            "INSERT INTO user_directory (id, kind, role, email, username, name, country, company, version, created_at, \
             email_verified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING",
            &[
                &user.id,
                &user.kind,
                &user.role.as_str(),
                &user.email,
                &user.username,
                &user.name,
                &user.country,
                &user.company,
                &recorded.stream_version,
                &recorded.occurred_at,
                // Trainees sign up themselves and prove their email later; an admin vouches for the rest.
                &(user.role != Role::IndividualTrainee),
            ],
        )
        .await?;
    Ok(())
}
