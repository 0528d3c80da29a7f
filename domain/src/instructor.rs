//! What only instructors set about themselves: public links and the bank account for payouts. Both are
//! replaced whole.

use events::identity::{InstructorBankAccountSet, InstructorSocialLinksSet};
use events::{Event, Personal, Role};
use uuid::Uuid;

use super::Violation;
use super::account::{Account, AccountRejection};

pub const LINK_MAX_CHARS: usize = 300;
/// A bank account's names and address, in characters.
pub const BANK_TEXT_MAX_CHARS: usize = 200;

/// An instructor's public links, as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SocialLinks {
    pub facebook: Option<String>,
    pub github: Option<String>,
    pub linkedin: Option<String>,
    pub personal_website: Option<String>,
    pub youtube: Option<String>,
}

/// An http(s) URL of sensible length without spaces; blank means no link.
fn link(found: &mut Vec<Violation>, field: &'static str, value: Option<String>) -> Option<String> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())?;
    let scheme_ok = value.starts_with("https://") || value.starts_with("http://");
    let host_ok = value.split_once("://").is_some_and(|(_, rest)| !rest.is_empty());
    if !scheme_ok || !host_ok || value.chars().any(char::is_whitespace) || value.chars().count() > LINK_MAX_CHARS {
        found.push(Violation::new(field, format!("must be an http(s) URL of at most {LINK_MAX_CHARS} characters")));
    }
    Some(value)
}

pub(crate) fn set_social_links(
    account: Account,
    user_id: Uuid,
    links: SocialLinks,
) -> Result<Vec<Event>, AccountRejection> {
    match account {
        Account::Missing | Account::Deleted => return Err(AccountRejection::Unknown),
        Account::Registered(Role::Instructor) => {}
        Account::Registered(_) => return Err(AccountRejection::NotAnInstructor),
    }
    let mut found = Vec::new();
    let event = InstructorSocialLinksSet {
        user_id,
        facebook: link(&mut found, "facebook", links.facebook),
        github: link(&mut found, "github", links.github),
        linkedin: link(&mut found, "linkedin", links.linkedin),
        personal_website: link(&mut found, "personal_website", links.personal_website),
        youtube: link(&mut found, "youtube", links.youtube),
    };
    if !found.is_empty() {
        return Err(AccountRejection::Invalid(found));
    }
    Ok(vec![Event::InstructorSocialLinksSet(event)])
}

/// A bank account as sent, for payouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccount {
    pub account_holder_name: String,
    pub account_number: String,
    pub bank_name: String,
    pub branch_name: Option<String>,
    pub branch_address: Option<String>,
    pub swift_code: String,
}

impl BankAccount {
    /// Trims and upper-cases what is case-free, and reports every invalid field: an account number (or
    /// IBAN) of 4 to 34 letters and digits, a SWIFT/BIC code of 8 or 11.
    pub fn validate(self) -> Result<BankAccount, Vec<Violation>> {
        let mut found = Vec::new();
        let compact = |v: &str| v.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        let account_number = compact(&self.account_number);
        if !(4..=34).contains(&account_number.len()) || !account_number.chars().all(|c| c.is_ascii_alphanumeric()) {
            found.push(Violation::new("account_number", "must be 4 to 34 letters and digits"));
        }
        let swift_code = compact(&self.swift_code);
        if ![8, 11].contains(&swift_code.len()) || !swift_code.chars().all(|c| c.is_ascii_alphanumeric()) {
            found.push(Violation::new("swift_code", "must be a SWIFT/BIC code of 8 or 11 letters and digits"));
        }
        let mut text = |field: &'static str, value: String, required: bool| {
            let value = value.trim().to_owned();
            if (required && value.is_empty()) || value.chars().count() > BANK_TEXT_MAX_CHARS {
                found.push(Violation::new(field, format!("must be 1 to {BANK_TEXT_MAX_CHARS} characters")));
            }
            value
        };
        let account_holder_name = text("account_holder_name", self.account_holder_name, true);
        let bank_name = text("bank_name", self.bank_name, true);
        let branch_name = self.branch_name.map(|v| text("branch_name", v, false)).filter(|v| !v.is_empty());
        let branch_address = self.branch_address.map(|v| text("branch_address", v, false)).filter(|v| !v.is_empty());
        if !found.is_empty() {
            return Err(found);
        }
        Ok(BankAccount { account_holder_name, account_number, bank_name, branch_name, branch_address, swift_code })
    }

    pub fn last4(&self) -> String {
        let chars: Vec<char> = self.account_number.chars().collect();
        chars[chars.len().saturating_sub(4)..].iter().collect()
    }
}

/// Records that an instructor set a (validated) payout account: the bank's name and the last four
/// characters only; the account itself stays on the write side, sealed.
pub(crate) fn set_bank_account(
    account: Account,
    user_id: Uuid,
    bank: &BankAccount,
) -> Result<Vec<Event>, AccountRejection> {
    match account {
        Account::Missing | Account::Deleted => return Err(AccountRejection::Unknown),
        Account::Registered(Role::Instructor) => {}
        Account::Registered(_) => return Err(AccountRejection::NotAnInstructor),
    }
    Ok(vec![Event::InstructorBankAccountSet(InstructorBankAccountSet {
        user_id,
        bank_name: Personal::clear(&bank.bank_name),
        account_last4: bank.last4(),
    })])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> SocialLinks {
        SocialLinks {
            github: Some(" https://github.com/ada ".into()),
            youtube: Some(String::new()),
            ..SocialLinks::default()
        }
    }

    #[test]
    fn an_instructor_sets_links_trimmed_with_blanks_dropped() {
        let events = set_social_links(Account::Registered(Role::Instructor), Uuid::nil(), links()).expect("valid");
        let [Event::InstructorSocialLinksSet(set)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!((set.github.as_deref(), set.youtube.as_deref()), (Some("https://github.com/ada"), None));
    }

    #[test]
    fn links_are_urls_and_for_instructors_only() {
        let trainee = set_social_links(Account::Registered(Role::IndividualTrainee), Uuid::nil(), links());
        assert_eq!(trainee, Err(AccountRejection::NotAnInstructor));
        for bad in ["javascript:alert(1)", "github.com/ada", "https://", "https://a b"] {
            let links = SocialLinks { linkedin: Some(bad.into()), ..SocialLinks::default() };
            let refused = set_social_links(Account::Registered(Role::Instructor), Uuid::nil(), links);
            assert!(matches!(refused, Err(AccountRejection::Invalid(v)) if v[0].field == "linkedin"), "{bad}");
        }
    }

    #[test]
    fn a_bank_account_is_checked_and_shown_by_its_last_four_characters_only() {
        let account = BankAccount {
            account_holder_name: " Ada Lovelace ".into(),
            account_number: "de89 3704 0044 0532 0130 00".into(),
            bank_name: "First Bank".into(),
            branch_name: Some(" ".into()),
            branch_address: None,
            swift_code: "cobadeffxxx".into(),
        };
        let valid = account.clone().validate().expect("valid");
        assert_eq!((valid.account_number.as_str(), valid.last4().as_str()), ("DE89370400440532013000", "3000"));
        assert_eq!((valid.swift_code.as_str(), valid.branch_name), ("COBADEFFXXX", None));
        let bad = BankAccount { account_number: "12".into(), swift_code: "SHORT".into(), ..account }.validate();
        let fields: Vec<_> = bad.expect_err("invalid").iter().map(|v| v.field).collect();
        assert_eq!(fields, ["account_number", "swift_code"]);
    }

    #[test]
    fn only_an_instructor_sets_a_bank_account_and_the_event_holds_no_number() {
        let bank = BankAccount {
            account_holder_name: "Ada".into(),
            account_number: "DE89 3704 0044 0532 0130 00".into(),
            bank_name: "First Bank".into(),
            branch_name: None,
            branch_address: None,
            swift_code: "COBADEFFXXX".into(),
        }
        .validate()
        .expect("valid");
        let events = set_bank_account(Account::Registered(Role::Instructor), Uuid::nil(), &bank).expect("set");
        assert!(matches!(&events[..], [Event::InstructorBankAccountSet(e)] if e.account_last4 == "3000"));
        assert!(!events[0].encode().contains("0532"), "the number never reaches an event");
        let trainee = set_bank_account(Account::Registered(Role::IndividualTrainee), Uuid::nil(), &bank);
        assert_eq!(trainee, Err(AccountRejection::NotAnInstructor));
        assert_eq!(set_bank_account(Account::Missing, Uuid::nil(), &bank), Err(AccountRejection::Unknown));
    }
}
