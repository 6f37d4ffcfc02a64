//! The answers every operation of a kind can give, added to the document in one place so no
//! handler has to remember them: problem bodies are `application/problem+json`; a JSON body can
//! be refused as malformed (400), too large (413), of another type (415) or unfit (422); a query
//! string as malformed (400); a bearer-only operation answers 401 without a live session, and an
//! admin operation 403 to everyone else. What an operation needs is read from its own
//! annotation (request body, parameters, security, tag), never from a second list of paths.

use utoipa::Modify;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{Content, Ref, RefOr, Response, Schema};

pub const PROBLEM_JSON: &str = "application/problem+json";

pub struct StandardAnswers;

impl Modify for StandardAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                add_standard_answers(operation);
                problems_are_problem_json(operation);
            }
        }
    }
}

fn add_standard_answers(operation: &mut Operation) {
    if operation.request_body.is_some() {
        add(operation, "400", "The body is not valid JSON");
        add(
            operation,
            "413",
            "The body is larger than this endpoint accepts",
        );
        add(
            operation,
            "415",
            "The body is not sent as `application/json`",
        );
        add(
            operation,
            "422",
            "The JSON does not fit this endpoint (a field is missing, of the wrong type or out of range); `errors` names the fields",
        );
    }
    if has_query_parameters(operation) {
        add(operation, "400", "A query parameter is malformed");
    }
    if needs_bearer(operation) {
        add(
            operation,
            "401",
            "No access token, an invalid or expired one, or its session has ended",
        );
    }
    if is_admin(operation) {
        add(operation, "403", "The caller is not an admin");
    }
}

/// Adds an answer the handler's annotation did not describe itself.
fn add(operation: &mut Operation, status: &str, description: &str) {
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| RefOr::T(problem(description)));
}

fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            Content::new(Some(Ref::from_schema_name("Problem"))),
        )
        .build()
}

/// Error answers carry a problem body, whatever content type the annotation wrote for it.
fn problems_are_problem_json(operation: &mut Operation) {
    for (status, answer) in &mut operation.responses.responses {
        let RefOr::T(answer) = answer else { continue };
        if !status.starts_with('4') && !status.starts_with('5') {
            continue;
        }
        if let Some(content) = answer.content.shift_remove("application/json") {
            answer.content.insert(PROBLEM_JSON.to_owned(), content);
        }
    }
}

fn has_query_parameters(operation: &Operation) -> bool {
    operation.parameters.iter().flatten().any(|parameter| {
        matches!(parameter, RefOr::T(parameter) if parameter.parameter_in == ParameterIn::Query)
    })
}

/// Every alternative names the bearer scheme (an empty alternative means "or nothing").
fn needs_bearer(operation: &Operation) -> bool {
    let Some(alternatives) = &operation.security else {
        return false;
    };
    let names = |requirement| {
        serde_json::to_value(requirement)
            .ok()
            .and_then(|value| value.as_object().map(|map| map.keys().cloned().collect()))
            .unwrap_or_else(Vec::new)
    };
    !alternatives.is_empty()
        && alternatives
            .iter()
            .all(|requirement| names(requirement).iter().any(|name| name == "bearer"))
}

fn is_admin(operation: &Operation) -> bool {
    operation.tags.iter().flatten().any(|tag| tag == "admin")
}

/// The request fields that take a new password, as (schema, property).
const NEW_PASSWORD_FIELDS: [(&str, &str); 2] = [
    ("Credentials", "password"),
    ("PasswordChange", "new_password"),
];

/// Gives the new-password fields this server's minimum length (`LATCHKEY_PASSWORD_MIN_LENGTH`),
/// so a client generating "valid" data from the document sends passwords the server accepts.
pub fn set_password_minimum(openapi: &mut utoipa::openapi::OpenApi, min_chars: usize) {
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    for (schema, property) in NEW_PASSWORD_FIELDS {
        let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(schema) else {
            continue;
        };
        if let Some(RefOr::T(Schema::Object(field))) = object.properties.get_mut(property) {
            field.min_length = Some(min_chars);
        }
    }
}
