//! Black-box tests: the real server on port 0, its own temporary database, driven over HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test states what it expects; a failed expectation is a failed test"
)]

mod access_tokens;
mod addresses;
mod admin;
mod admin_audit;
mod admin_console;
mod audit;
mod audit_page;
mod authenticator;
mod bad_input;
mod bounds;
mod browser;
mod cli;
mod cli_admin;
mod cli_mail;
mod cookie_refresh;
mod disable;
mod docs;
mod factor_records;
mod files_and_keys;
mod fuzz;
mod hardening;
mod health_and_keys;
mod jwks_example;
mod lockout;
mod login;
mod lost_answers;
mod mail_delivery;
mod migrate_data;
mod multi_instance;
mod observability;
mod pages;
mod passkeys;
mod password;
mod password_checks;
mod process;
mod rate_limits;
mod recovery;
mod recovery_pages;
mod refresh;
mod register;
mod second_factor_admin;
mod second_factors;
mod sessions;
mod step_up;
mod throttle;
mod usernames;
mod verification;
mod who_is_looking;

mod helpers;
mod layers;
mod mailbox;
mod test_db;
