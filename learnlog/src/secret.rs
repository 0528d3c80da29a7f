//! The access-token secret: `LEARNLOG_JWT_SECRET`, or else a random one kept in the data folder, so that
//! `learnlog up` and `learnlog admin token` run from the same folder agree without any setup.

use std::io::Write;
use std::path::Path;

use rand::RngCore;
use secrecy::SecretString;

use crate::error::Error;

const SECRET_FILE: &str = "jwt-secret";

pub fn token_secret(configured: Option<&SecretString>, data_dir: &Path) -> Result<SecretString, Error> {
    if let Some(secret) = configured {
        return Ok(secret.clone());
    }
    let path = data_dir.join(SECRET_FILE);
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
