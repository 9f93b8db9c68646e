//! Black-box tests of caregraph: each test starts the real server on a free
//! port with a fresh database and speaks GraphQL over HTTP, once on SQLite and
//! once on PostgreSQL.

mod admin;
mod attacks;
mod audit;
mod bad_input;
mod break_glass;
mod compliance;
mod conformance;
mod demo;
mod disclosure;
mod doctor;
mod elevation;
mod field_access;
mod health;
mod hostile;
mod hostile_inputs;
mod login;
mod logs;
mod mfa;
mod migrations;
mod n_plus_one;
mod nurse;
mod oracles;
mod phi_audit;
mod promises;
mod provisioning;
mod research;
mod rules;
mod schema;
mod sessions;
mod startup;
mod throttle;
mod transport;
mod workflows;
