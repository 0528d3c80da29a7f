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
    if let Some(secret) = configured {
        return Ok(secret.clone());
    }
    let path = data_dir.join(file);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(SecretString::from(existing.trim().to_owned()));
    }
    std::fs::create_dir_all(data_dir)?;
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())?;
            Ok(SecretString::from(secret))
        }
        // Another process created it first: use theirs.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(SecretString::from(std::fs::read_to_string(&path)?.trim().to_owned()))
        }
        Err(error) => Err(error.into()),
    }
}
