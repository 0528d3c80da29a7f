//! Black-box scenarios against a real PostgreSQL: one test binary, so the whole run shares one cluster.

mod accounts;
mod admin_users;
mod authorization;
mod bad_input;
mod browser_edge;
mod card_payments;
mod catalogue;
mod commerce;
mod concurrency;
mod courses;
mod crypto_shredding;
mod dead_letters;
mod demo;
mod email;
mod event_store;
mod feed_stress;
mod foreign_consumer;
mod idempotency;
mod kafka;
mod kafka_processes;
mod local_cluster;
mod openapi_contract;
mod projector_checkpoints;
mod projector_restart;
mod secrets_in_logs;
mod sessions;
