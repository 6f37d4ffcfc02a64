//! The OpenAPI document covers every route the server registers, and Swagger UI works offline.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

/// The served OpenAPI document.
pub async fn openapi(app: &TestApp) -> Value {
    let response = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_problem_details_and_bearer_auth() {
    let app = spawn_app().await;
    let doc = openapi(&app).await;

    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let schemas = &doc["components"]["schemas"];
    for schema in [
        "Problem",
        "FieldProblem",
        "TokenBody",
        "LoginBody",
        "EventBody",
    ] {
        assert!(schemas[schema].is_object(), "schema {schema} missing");
    }
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(bearer["scheme"], "bearer");
    let login = &doc["paths"]["/api/auth/login"]["post"];
    assert!(login["requestBody"].is_object());
    assert!(login["responses"]["401"].is_object());
    let me = &doc["paths"]["/api/me"]["get"];
    assert_eq!(me["security"][0]["bearer"], serde_json::json!([]));
    assert!(
        doc.to_string().contains("correct horse battery staple"),
        "examples"
    );
}

/// Each operation as (method, path, operation object).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            found.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    found
}

#[tokio::test]
async fn every_refusal_the_server_can_give_is_documented_as_a_problem() {
    let app = spawn_app().await;
    let doc = openapi(&app).await;
    let mut ids = std::collections::HashSet::new();
    for (method, path, operation) in operations(&doc) {
        let id = operation["operationId"].as_str().unwrap().to_owned();
        assert!(ids.insert(id.clone()), "operationId {id} is used twice");
        let responses = operation["responses"].as_object().unwrap();
        let documents = |status: &str| responses.contains_key(status);
        if operation["requestBody"].is_object() {
            for status in ["400", "413", "415", "422"] {
                assert!(documents(status), "{method} {path} lacks {status}");
            }
        }
        let bearer_only = operation["security"]
            .as_array()
            .is_some_and(|alternatives| alternatives.iter().all(|a| a.get("bearer").is_some()));
        if bearer_only {
            assert!(documents("401"), "{method} {path} lacks 401");
        }
        if path.starts_with("/api/admin/") {
            assert!(documents("401") && documents("403"), "{method} {path}");
        }
        for (status, answer) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                let content = answer["content"].as_object();
                assert!(
                    content.is_none_or(|c| c.keys().all(|k| k == "application/problem+json")),
                    "{method} {path} {status}: {content:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_document_states_this_servers_minimum_password_length() {
    let app = spawn_app_with(|s| s.password_min_length = 20).await;
    let doc = openapi(&app).await;
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["Credentials"]["properties"]["password"]["minLength"],
        20
    );
    assert_eq!(
        schemas["PasswordChange"]["properties"]["new_password"]["minLength"],
        20
    );
}

/// Every method a registered path answers (anything but 405) is documented, and every
/// documented operation exists.
#[tokio::test]
async fn every_registered_route_is_in_the_document_and_every_documented_one_exists() {
    let app = spawn_app().await;
    let doc = openapi(&app).await;
    let paths = doc["paths"].as_object().unwrap();
    let documented = |path: &str, method: &str| {
        paths
            .get(path)
            .is_some_and(|item| item.get(method.to_lowercase()).is_some())
    };
    let mut missing = Vec::new();
    let registered = latchkey::routes::registered_paths();
    assert!(registered.len() > 20, "{registered:?}");
    for path in registered {
        if path.starts_with("/static/") || path == "/api/openapi.json" {
            continue;
        }
        {
            let candidate = path;
            let concrete = candidate.replace("{id}", "x").replace("{username}", "x");
            for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
                let status = app
                    .client
                    .request(
                        Method::from_bytes(method.as_bytes()).unwrap(),
                        app.url(&concrete),
                    )
                    .send()
                    .await
                    .unwrap()
                    .status();
                let answered =
                    status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED;
                if answered && !documented(candidate, method) {
                    missing.push(format!("{method} {candidate}"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "registered but not documented: {missing:?}"
    );

    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace("{id}", "x").replace("{username}", "x");
            let response = app
                .client
                .request(
                    Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    app.url(&concrete),
                )
                .send()
                .await
                .unwrap();
            assert_ne!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
        }
    }
}

#[tokio::test]
async fn swagger_ui_is_served_offline_with_its_own_csp() {
    let app = spawn_app().await;
    let redirect = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(redirect.status(), StatusCode::PERMANENT_REDIRECT);

    let index = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(index.status(), StatusCode::OK);
    let csp = index.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("style-src 'self' 'unsafe-inline'"), "{csp}");
    assert!(
        !csp.contains("script-src"),
        "scripts stay same-origin only: {csp}"
    );
    let html = index.text().await.unwrap();
    assert!(html.contains("swagger-ui"));
    assert!(!html.contains("https://"), "no CDN");
    let initializer = app
        .client
        .get(app.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(initializer.contains("/api/openapi.json"), "{initializer}");
    // Elsewhere the strict policy stays.
    let login = app.client.get(app.url("/login")).send().await.unwrap();
    let strict = login.headers()["content-security-policy"].to_str().unwrap();
    assert!(!strict.contains("unsafe-inline"));
}

#[tokio::test]
async fn the_committed_openapi_document_in_examples_is_current() {
    let app = spawn_app().await;
    let served = openapi(&app).await;
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/openapi.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert!(
        committed == served,
        "examples/openapi.json is stale: run examples/generate.sh"
    );
    let collection: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/latchkey.postman_collection.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(collection["info"]["name"], "Latchkey");
}

/// `examples/latchkey.http` calls only operations that exist (a renamed route breaks it).
#[tokio::test]
async fn every_request_in_the_http_examples_file_is_a_documented_operation() {
    let app = spawn_app().await;
    let doc = openapi(&app).await;
    let file = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/latchkey.http"
    ))
    .unwrap();
    let mut checked = 0;
    for line in file.lines() {
        let Some((method, target)) = line.split_once(" {{base}}") else {
            continue;
        };
        let path = target.split('?').next().unwrap();
        // A response variable in a path segment stands for that segment's parameter.
        let templated: Vec<String> = path
            .split('/')
            .map(|segment| {
                if segment.starts_with("{{") {
                    "{id}".to_owned()
                } else {
                    segment.to_owned()
                }
            })
            .collect();
        let path = templated.join("/");
        let operation = &doc["paths"][&path][method.to_lowercase()];
        assert!(operation.is_object(), "{method} {path} is not in the API");
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} requests found");
}

#[tokio::test]
async fn the_documented_event_names_are_the_servers_list_of_events() {
    let app = spawn_app().await;
    let doc = openapi(&app).await;
    let documented: Vec<&str> = doc["components"]["schemas"]["EventKind"]["enum"]
        .as_array()
        .expect("EventKind is an enum schema")
        .iter()
        .map(|name| name.as_str().unwrap())
        .collect();
    let known: Vec<&str> = latchkey::auth::audit::EventKind::all()
        .map(|kind| kind.as_str())
        .collect();
    assert_eq!(documented, known);
    let filter = &doc["paths"]["/api/admin/events"]["get"]["parameters"];
    let event_param = filter
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "event")
        .unwrap();
    assert!(
        event_param
            .to_string()
            .contains("#/components/schemas/EventKind"),
        "{event_param}"
    );
}

/// utoipa names a schema after its type and silently keeps one of two types with the same
/// name, so one response would be documented with the other's fields. Every `ToSchema` type
/// under `src/` therefore has a name of its own.
#[test]
fn no_two_documented_types_share_a_schema_name() {
    let mut names: Vec<(String, String)> = Vec::new();
    let mut folders = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src"
    ))];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let mut derives_schema = false;
                for line in text.lines().map(str::trim) {
                    if line.starts_with("#[derive(") && line.contains("ToSchema") {
                        derives_schema = true;
                    } else if derives_schema
                        && let Some(name) = ["pub struct ", "pub enum ", "struct ", "enum "]
                            .iter()
                            .find_map(|keyword| line.strip_prefix(keyword))
                    {
                        let name: String = name
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        names.push((name, path.display().to_string()));
                        derives_schema = false;
                    }
                }
            }
        }
    }
    assert!(names.len() > 20, "found only {names:?}");
    names.sort();
    let shared: Vec<_> = names
        .windows(2)
        .filter(|pair| pair[0].0 == pair[1].0)
        .collect();
    assert!(shared.is_empty(), "one schema name, two types: {shared:?}");
}
