//! Black-box tests: the real server on port 0, its own temporary database, driven over HTTP.

mod access_tokens;
mod admin;
mod audit;
mod bad_input;
mod browser;
mod cli;
mod cli_admin;
mod cookie_refresh;
mod disable;
mod docs;
mod fuzz;
mod hardening;
mod health_and_keys;
mod jwks_example;
mod login;
mod migrate_data;
mod multi_instance;
mod observability;
mod pages;
mod password;
mod process;
mod rate_limits;
mod refresh;
mod register;
mod sessions;
mod throttle;

mod helpers;
mod test_db;
