//! The errors a `learnlog` command can stop with.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Config(String),
    #[error(
        "there is no Learnlog data folder at {0}: run this where `learnlog up` ran, point at the folder with \
         LEARNLOG_DATA_DIR, or at the databases with DATABASE_URL (only `learnlog up` creates a data folder)"
    )]
    NoDataFolder(String),
    #[error(transparent)]
    Database(#[from] database::DatabaseError),
    #[error("database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error(transparent)]
    Migration(#[from] migrations::MigrationError),
    #[error(transparent)]
    Cluster(#[from] dev_cluster::ClusterError),
    #[error(transparent)]
    Token(#[from] api_contract::TokenError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("Kafka: {0}")]
    Relay(#[from] relay::RelayError),
    #[error("Kafka: {0}")]
    Source(#[from] subscriptions::SourceError),
    #[error("mail: {0}")]
    Mailer(#[from] mailer::MailerError),
    #[error("dead letters: {0}")]
    DeadLetter(#[from] projector::dead_letters::DeadLetterError),
    #[error("dead letters: {0}")]
    HeldDeadLetter(#[from] subscriptions::dead_letters::DeadLetterError),
    #[error("the event store: {0}")]
    Store(#[from] event_store::ReadError),
    #[error("projector: {0}")]
    Projector(#[from] projector::ProjectorError),
    #[error("demo data: {0}")]
    Demo(String),
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
}
