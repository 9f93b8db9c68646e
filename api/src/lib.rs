//! caregraph: a GraphQL API for care teams in which every field of patient
//! data is authorized by one policy decision point.
//!
//! Data flows one way: HTTP (`http`) → who (`auth`) → GraphQL (`graphql`) →
//! may they (`access`, asking `policy`) → loaders and SeaORM → database.

pub mod access;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod policy;
pub mod seed;
pub mod startup;
pub mod telemetry;
pub mod ws;
