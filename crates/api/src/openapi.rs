//! The part of the OpenAPI document still written by hand, for the routes whose handlers do
//! not have their `#[utoipa::path]` yet; [`crate::apidoc`] merges it into the generated
//! document, and each part goes as its routes become generated.

use serde_json::{Value, json};

pub(crate) fn problem() -> Value {
    json!({"description": "Refused: a problem+json body with a stable `code` and a `message` in the caller's language",
           "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

/// Money, as generated from `routes::wire::Money`.
pub(crate) fn money() -> Value {
    json!({"$ref": "#/components/schemas/Money"})
}

/// A card, as generated from `routes::cards::Card`.
pub(crate) fn card_schema() -> Value {
    json!({"$ref": "#/components/schemas/Card"})
}

/// The card of the path, as `routes::cards::CardPath` says.
pub(crate) fn card_path() -> Value {
    json!({"name": "card", "in": "path", "required": true, "schema": {"type": "string", "pattern": crate::apidoc::CARD_PATTERN},
        "description": "The card's 16 digits; a mistyped digit is refused by the check digit (400 CARD_NUMBER_MISTYPED)"})
}

pub(crate) use crate::apidoc::{PAGE_CURSOR_PATTERN, PHONE_PATTERN};

/// The hand-written paths: the offices', carriers' and staff's.
fn parts(document: Value) -> Value {
    let document = crate::openapi_office::with_office(document);
    let document = crate::openapi_carrier::with_carrier(document);
    crate::openapi_staff::with_staff(document)
}

/// The paths and schemas not generated yet.
pub(crate) fn hand_written() -> Value {
    parts(json!({
        "openapi": "3.1.0",
        "info": {"title": "SMSBUS", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Bus fares from the phone balance, signed e-tickets, controllers' checks."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {}
        },
        "paths": {
        }
    }))
}
