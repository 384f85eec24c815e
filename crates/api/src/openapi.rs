//! The part of the OpenAPI document still written by hand, for the routes whose handlers do
//! not have their `#[utoipa::path]` yet; [`crate::apidoc`] merges it into the generated
//! document, and each part goes as its routes become generated.

use serde_json::{Value, json};

fn parts(document: Value) -> Value {
    document
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
