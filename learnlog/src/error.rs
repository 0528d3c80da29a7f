//! The errors a `learnlog` command can stop with.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Database(#[from] event_store::DatabaseError),
    #[error("database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error(transparent)]
    Migration(#[from] migrations::MigrationError),
    #[error(transparent)]
    Cluster(#[from] event_store::cluster::ClusterError),
    #[error(transparent)]
    Token(#[from] api_contract::TokenError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("Kafka: {0}")]
    Relay(#[from] command_api::relay::RelayError),
    #[error("Kafka: {0}")]
    Source(#[from] projector::SourceError),
    #[error("mail: {0}")]
    Mailer(#[from] command_api::email::MailerError),
    #[error("demo data: {0}")]
    Demo(String),
}
