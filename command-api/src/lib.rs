//! The write side: HTTP commands, authentication, and the pure deciders they run.

pub mod domain;
