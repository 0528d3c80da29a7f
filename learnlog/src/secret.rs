//! The server's secrets: the access-token secret (`LEARNLOG_JWT_SECRET`) and the data key
//! (`LEARNLOG_DATA_KEY`), each from its variable or else a random one made once and kept `0600` in the data
//! folder, so that `learnlog up` and the `learnlog admin` commands run from the same folder agree without
//! any setup.

use std::io::Write;
use std::path::Path;

use rand::RngCore;
use secrecy::SecretString;

use crate::error::Error;

const SECRET_FILE: &str = "jwt-secret";
const DATA_KEY_FILE: &str = "data-key";

pub fn token_secret(configured: Option<&SecretString>, data_dir: &Path) -> Result<SecretString, Error> {
    kept_secret(configured, data_dir, SECRET_FILE)
}

/// The data key: verification-code HMACs and sealed bank account numbers. Losing it makes sealed values
/// unreadable: back the data folder's `data-key` up, or set `LEARNLOG_DATA_KEY` (at least 32 characters).
pub fn data_key(configured: Option<&SecretString>, data_dir: &Path) -> Result<event_store::keys::DataKey, Error> {
    use secrecy::ExposeSecret;
    let secret = kept_secret(configured, data_dir, DATA_KEY_FILE)?;
    if secret.expose_secret().len() < 32 {
        return Err(Error::Config("LEARNLOG_DATA_KEY must be at least 32 characters".into()));
    }
    Ok(event_store::keys::DataKey::from_secret(secret.expose_secret().as_bytes()))
}

/// The payment provider's API key and webhook signing secret: the configured ones (real Stripe), or the
/// sandbox's, made once and kept `0600` in the data folder so that the command API and the sandbox agree.
pub fn payment_secrets(
    payments: &crate::config::PaymentsConfig,
    data_dir: &Path,
) -> Result<(SecretString, SecretString), Error> {
    let key = kept_secret(payments.secret_key.as_ref(), data_dir, "payments-secret-key")?;
    let webhook = kept_secret(payments.webhook_secret.as_ref(), data_dir, "payments-webhook-secret")?;
    Ok((key, webhook))
}

fn kept_secret(configured: Option<&SecretString>, data_dir: &Path, file: &str) -> Result<SecretString, Error> {
    use secrecy::ExposeSecret;
    if let Some(secret) = configured {
        if secret.expose_secret().trim().is_empty() {
            return Err(Error::Config(format!(
                "the configured secret that replaces the data folder's {file} is empty"
            )));
        }
        return Ok(secret.clone());
    }
    let path = data_dir.join(file);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return filled(existing, &path);
    }
    std::fs::create_dir_all(data_dir)?;
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    // Written whole under a name of its own, then linked into place: a crash leaves no empty or cut secret
    // (anyone could sign webhooks with an empty one), and of two processes starting at once one wins.
    // A name of its own (two containers on one volume may both be process 1), made anew, never reused.
    let draft = data_dir.join(format!(".{file}.{}", uuid::Uuid::new_v4().simple()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&draft).and_then(|mut opened| {
        opened.write_all(secret.as_bytes())?;
        opened.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&draft, &path));
    let _ = std::fs::remove_file(&draft);
    match linked {
        Ok(()) => Ok(SecretString::from(secret)),
        // Another process made it first: use theirs.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            filled(std::fs::read_to_string(&path)?, &path)
        }
        Err(error) => Err(error.into()),
    }
}

/// A kept secret as read from `path`, refused when empty (a file cut by a crash of an older version).
fn filled(text: String, path: &Path) -> Result<SecretString, Error> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::Config(format!(
            "{} is empty: remove it to have a new secret made (tokens, sealed data or payments made with the old \
             one stop working), or restore it from a backup",
            path.display()
        )));
    }
    Ok(SecretString::from(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_made_once_kept_private_and_never_empty() {
        let folder = std::env::temp_dir().join(format!("learnlog-secret-{}", uuid::Uuid::now_v7()));
        let made = token_secret(None, &folder).expect("made");
        let again = token_secret(None, &folder).expect("read");
        use secrecy::ExposeSecret;
        assert_eq!(made.expose_secret(), again.expose_secret());
        assert_eq!(made.expose_secret().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(folder.join(SECRET_FILE)).expect("kept").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(std::fs::read_dir(&folder).expect("a folder").count(), 1, "no draft is left behind");
        std::fs::write(folder.join("payments-webhook-secret"), "").expect("written");
        let config = crate::config::PaymentsConfig {
            api_base: None,
            secret_key: None,
            webhook_secret: None,
            sandbox_listen: "127.0.0.1:0".parse().expect("an address"),
            webhook_url: None,
            checkout_ttl: std::time::Duration::from_secs(60),
        };
        let refused = payment_secrets(&config, &folder).expect_err("an empty webhook secret");
        assert!(refused.to_string().contains("payments-webhook-secret is empty"), "{refused}");
        let empty = SecretString::from(" ".to_owned());
        assert!(token_secret(Some(&empty), &folder).is_err(), "an empty configured secret");
        std::fs::remove_dir_all(&folder).expect("removed");
    }
}
