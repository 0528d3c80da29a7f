//! Administrative tasks of the `learnlog` binary.

use command_api::accounts;
use command_api::domain::account::{self, Account, CreatedKind, SignUp};
use database::Database;
use events::Metadata;
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
    let (cluster, url) = match &config.database_url {
        Some(url) => (None, url.clone()),
        None => {
            let cluster = embedded::start(&config.data_dir).await?;
            let url = database::SecretUrl::new(cluster.url(embedded::DATABASE));
            (Some(cluster), url)
        }
    };
    let result = async {
        crate::app::migrate(&url, config.read_database_url.as_ref(), config.kafka.as_ref()).await?;
        let user_id = Uuid::now_v7();
        let events = account::create(Account::Missing, user_id, &CreatedKind::Admin, &sign_up, None)
            .map_err(|rejection| Error::Config(format!("{rejection:?}")))?;
        let store = Database::connect(url.expose(), 1)?;
        let key = crate::secret::data_key(config.data_key.as_ref(), &config.data_dir)?;
        let account = accounts::NewAccount { user_id, sign_up: &sign_up, role: events::Role::Admin, events: &events };
        accounts::create(&store, &key, account, Metadata::default(), None)
            .await
            .map_err(|error| Error::Config(error.to_string()))?;
        Ok(user_id)
    }
    .await;
    if let Some(cluster) = cluster {
        cluster.stop().await?;
    }
    result
}
