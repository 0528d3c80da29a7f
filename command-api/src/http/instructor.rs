//! `PUT /me/social-links` and `PUT /me/bank-account`: what instructors set about themselves.

use api_contract::{Authenticated, JsonCommand, Problem};
use axum::extract::State;
use serde::Deserialize;

use super::CommandApiState;
use super::auth::invalid;
use super::execute::{Accepted, CommandRun, execute};
use super::headers::CommandHeaders;
use super::rejections::Refusal;
use crate::domain::account::{self, Account, AccountCommand};
use crate::domain::instructor::{BankAccount, SocialLinks};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SocialLinksBody {
    #[serde(default)]
    #[schema(schema_with = super::fields::link_or_null)]
    facebook: Option<String>,
    #[serde(default)]
    #[schema(schema_with = super::fields::link_or_null)]
    github: Option<String>,
    #[serde(default)]
    #[schema(schema_with = super::fields::link_or_null)]
    linkedin: Option<String>,
    #[serde(default)]
    #[schema(schema_with = super::fields::link_or_null)]
    personal_website: Option<String>,
    #[serde(default)]
    #[schema(schema_with = super::fields::link_or_null)]
    youtube: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BankAccountBody {
    #[schema(schema_with = super::fields::bank_text)]
    account_holder_name: String,
    #[schema(schema_with = super::fields::account_number)]
    account_number: String,
    #[schema(schema_with = super::fields::bank_text)]
    bank_name: String,
    #[serde(default)]
    #[schema(schema_with = super::fields::bank_text_or_null)]
    branch_name: Option<String>,
    #[serde(default)]
    #[schema(schema_with = super::fields::bank_text_or_null)]
    branch_address: Option<String>,
    #[schema(schema_with = super::fields::swift_code)]
    swift_code: String,
}

/// `PUT /api/v1/me/social-links`: replaces the instructor's public links.
pub(crate) async fn set_links(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    command: JsonCommand<SocialLinksBody>,
) -> Result<Accepted, Problem> {
    let body = command.body;
    let links = SocialLinks {
        facebook: body.facebook,
        github: body.github,
        linkedin: body.linkedin,
        personal_website: body.personal_website,
        youtube: body.youtube,
    };
    let run = CommandRun::on_account(actor.user_id, actor.into(), headers, command.digest);
    execute(&state, run, |account: &Account| {
        account::decide(account, AccountCommand::SetSocialLinks { user_id: actor.user_id, links: links.clone() })
            .map_err(Refusal::problem)
    })
    .await
}

/// `PUT /api/v1/me/bank-account`: replaces the instructor's bank account for payouts.
pub(crate) async fn set_bank_account(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    command: JsonCommand<BankAccountBody>,
) -> Result<Accepted, Problem> {
    let body = command.body;
    let bank = BankAccount {
        account_holder_name: body.account_holder_name,
        account_number: body.account_number,
        bank_name: body.bank_name,
        branch_name: body.branch_name,
        branch_address: body.branch_address,
        swift_code: body.swift_code,
    }
    .validate()
    .map_err(invalid)?;
    let user_id = actor.user_id;
    let run = CommandRun::on_account(user_id, actor.into(), headers, command.digest);
    let sealed_number = state.data_key.seal(&bank.account_number, user_id);
    execute(&state, run, |account: &Account| {
        let set = AccountCommand::SetBankAccount { user_id, account: &bank, sealed_number: &sealed_number };
        account::decide(account, set).map_err(Refusal::problem)
    })
    .await
}
