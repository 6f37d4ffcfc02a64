//! The layering rules, checked on the source: routes -> auth -> db, imports only go down.

use std::path::{Path, PathBuf};

fn sources_under(folder: &str) -> Vec<(PathBuf, String)> {
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join(folder)];
    let mut files = Vec::new();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            files.push((path, text));
        }
    }
    assert!(files.len() > 5, "no sources under {folder}");
    files
}

fn nowhere_in(folder: &str, forbidden: &[&str]) {
    for (path, text) in sources_under(folder) {
        for word in forbidden {
            assert!(!text.contains(word), "{} uses {word}", path.display());
        }
    }
}

/// The command line's admin rights come from running the binary on the server; no HTTP route
/// may take that shortcut past the admin check.
#[test]
fn no_route_uses_the_command_lines_admin_rights() {
    nowhere_in("src/routes", &["operator_at_command_line"]);
}

/// Handlers see the domain's views (Account, SessionInfo), never rows or SQL.
#[test]
fn routes_never_reach_the_database_layer() {
    nowhere_in("src/routes", &["crate::db", "diesel"]);
}

/// The domain knows neither HTTP nor SQL text, and nothing above it.
#[test]
fn the_domain_knows_no_http_sql_or_routes() {
    nowhere_in(
        "src/auth",
        &[
            "actix",
            "diesel",
            "crate::routes",
            "crate::cli",
            "sql_query",
        ],
    );
    nowhere_in(
        "src/db",
        &["crate::routes", "crate::auth", "crate::cli", "actix"],
    );
}

/// A page's form reaches its handler only through `Csrf<T>` (pages/csrf.rs) or `Confirmed<T>`
/// (pages/confirm.rs), which check the token first: a handler that took `web::Form` directly
/// would skip the check.
#[test]
fn page_forms_are_read_only_through_the_csrf_extractors() {
    for (path, text) in sources_under("src/routes") {
        if path.ends_with("csrf.rs") || path.ends_with("confirm.rs") {
            continue;
        }
        assert!(
            !text.contains("web::Form<"),
            "{} reads a form without Csrf<T>",
            path.display()
        );
    }
}
