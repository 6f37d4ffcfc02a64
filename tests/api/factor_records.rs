//! What second factors leave behind: every step in the audit trail, and nothing in the
//! database from which a code could be made or a recovery code read back.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::authenticator::{base32_decode, code_at};
use latchkey::auth::Clock;

use crate::helpers::{start, test_settings};
use crate::second_factors::{enrol, password_step, post, second_step};
use crate::test_db::TestDir;

/// Every byte the database keeps on disk: the file, its write-ahead log, and their company.
fn database_bytes(dir: &TestDir) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            bytes.extend(std::fs::read(path).unwrap());
        }
    }
    bytes
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[tokio::test]
async fn each_factor_step_is_audited_and_no_secret_or_code_is_stored_readable() {
    // SQLite whatever the run: the check reads the database's own files.
    let dir = Arc::new(TestDir::sqlite());
    let app = start(test_settings(&dir), dir.clone(), Clock::frozen()).await;
    let admin = app.admin_signed_in("root").await;
    let tokens = app.signed_in("vault").await;
    let (secret, codes) = enrol(&app, &tokens).await;
    let token = password_step(&app, "vault").await;
    let wrong = second_step(&app, &token, "totp", "000000").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let code = code_at(&secret, app.clock.now());
    let right = second_step(&app, &token, "totp", &code).await;
    assert_eq!(right.status(), StatusCode::OK);
    let token = password_step(&app, "vault").await;
    let recovered = second_step(&app, &token, "recovery_code", &codes[0]).await;
    assert_eq!(recovered.status(), StatusCode::OK);
    let renewed = post(&app, "/api/me/recovery-codes", &tokens.access, &json!({})).await;
    assert_eq!(renewed.status(), StatusCode::OK);
    let renewed: Value = renewed.json().await.unwrap();

    let stored = database_bytes(&dir);
    // What is stored in clear is found: the search looks where the data is.
    assert!(
        holds(&stored, b"vault"),
        "the username is not in the files read"
    );
    let raw_secret = base32_decode(&secret);
    assert!(!holds(&stored, secret.as_bytes()), "the base32 secret");
    assert!(!holds(&stored, &raw_secret), "the secret's bytes");
    let new_codes = renewed["recovery_codes"].as_array().unwrap();
    let every_code = codes
        .iter()
        .map(String::as_str)
        .chain(new_codes.iter().map(|c| c.as_str().unwrap()));
    for code in every_code {
        assert!(!holds(&stored, code.as_bytes()), "{code}");
        assert!(!holds(&stored, code.replace('-', "").as_bytes()), "{code}");
    }

    assert_eq!(
        app.delete("/api/me/totp", &tokens.access).await.status(),
        StatusCode::NO_CONTENT
    );
    let listing: Value = app
        .get("/api/admin/events?user=vault&per_page=200", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    let mut names: Vec<&str> = listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    names.reverse();
    let expected = [
        "second_factor_added",
        "second_factor_failed",
        "second_factor_used",
        "recovery_code_used",
        "recovery_codes_regenerated",
        "second_factor_removed",
    ];
    let mut rest = names.iter();
    for event in expected {
        assert!(
            rest.any(|name| *name == event),
            "{event} missing or out of order in {names:?}"
        );
    }
}
