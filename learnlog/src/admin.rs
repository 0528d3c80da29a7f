//! Administrative tasks of the `learnlog` binary.

use std::sync::Arc;

use command_api::CommandApiState;
use command_api::domain::account::SignUp;
use database::Database;
use uuid::Uuid;

use crate::config::Config;
use crate::embedded;
use crate::error::Error;

/// The first admin. There is no default password: it is given by the person running the command.
#[derive(Debug, Clone)]
pub struct NewAdmin {
    pub email: String,
    pub username: String,
    pub name: String,
    pub password: String,
}

/// Creates an admin in `DATABASE_URL`, or in the embedded cluster of the data folder when it is not set.
/// Returns the new admin's id.
pub async fn create_admin(config: &Config, admin: NewAdmin) -> Result<Uuid, Error> {
    let sign_up = SignUp {
        email: admin.email,
        username: admin.username,
        password: admin.password,
        name: admin.name,
        country: None,
    }
    .validate()
    .map_err(|violations| {
        let fields: Vec<String> = violations.iter().map(|v| format!("{} {}", v.field, v.message)).collect();
        Error::Config(fields.join("; "))
    })?;
    let (cluster, url) = embedded::store_url(config).await?;
    let result = async {
        crate::app::migrate(&url, config.read_database_url.as_ref(), config.kafka.as_ref()).await?;
        let store = Database::connect(url.expose(), 2)?;
        let keys =
            api_contract::TokenKeys::new(&crate::secret::token_secret(config.jwt_secret.as_ref(), &config.data_dir)?)?;
        let data_key = Arc::new(crate::secret::data_key(config.data_key.as_ref(), &config.data_dir)?);
        let write = crate::app::write_side(&store, &data_key);
        // The first admin has no picture: nothing is kept anywhere.
        let state = CommandApiState::new(write, Arc::new(keys), data_key, media::Pictures::in_memory());
        // The same pipeline as every command: the decider decides, the credentials are a side write.
        command_api::create_first_admin(&state, sign_up).await.map_err(|problem| {
            let fields: Vec<String> = problem.errors.iter().map(|e| format!("{} {}", e.field, e.message)).collect();
            Error::Config(if fields.is_empty() {
                problem.detail
            } else {
                format!("{}: {}", problem.detail, fields.join("; "))
            })
        })
    }
    .await;
    if let Some(cluster) = cluster {
        cluster.stop().await?;
    }
    result
}
