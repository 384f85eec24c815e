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

/// The audit trail.
fn with_audit(mut document: Value) -> Value {
    let lang = json!({"name": "lang", "in": "query", "schema": {}, "example": "kk"});
    let list = json!({"get": {"summary": "The audit trail of staff actions, newest first", "security": [{"bearer": []}],
        "parameters": [lang,
            {"name": "actor", "in": "query", "schema": {"type": "string"}},
            {"name": "object", "in": "query", "schema": {"type": "string"}},
            {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
            {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
            {"name": "before", "in": "query", "description": "the previous page's `next`", "schema": {"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX}}],
        "responses": {"200": {"description": "{entries: [{seq, at, actor, address, action, object, before, after}], next}"}, "4XX": problem()}}});
    let verify = json!({"get": {"summary": "Check the audit trail's hash chain", "security": [{"bearer": []}],
        "responses": {"200": {"description": "{intact, entries, broken}: the entries checked, or where the chain breaks"}, "4XX": problem()}}});
    if let Some(map) = document.get_mut("paths").and_then(Value::as_object_mut) {
        map.insert("/v1/admin/audit".into(), list);
        map.insert("/v1/admin/audit/verify".into(), verify);
    }
    document
}

/// The hand-written paths: those below and the offices', carriers', money's and staff's.
fn parts(document: Value) -> Value {
    let document = crate::openapi_office::with_office(document);
    let document = crate::openapi_carrier::with_carrier(document);
    let document = crate::openapi_money::with_money(document);
    crate::openapi_staff::with_staff(document)
}

/// The paths and schemas not generated yet.
pub(crate) fn hand_written() -> Value {
    let catalogue = json!({"put": {"summary": "Upsert a catalogue file", "security": [{"bearer": []}],
                "requestBody": {"required": true, "description": "A catalogue file (JSON: `operator_prefixes` and `cities`, as `smsbus catalogue` loads); any flaw refuses the whole file (422)",
                    "content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {"200": {"description": "Counts"}, "413": problem(), "422": problem(), "4XX": problem()}}});
    parts(with_audit(json!({
        "openapi": "3.1.0",
        "info": {"title": "SMSBUS", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Bus fares from the phone balance, signed e-tickets, controllers' checks."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {}
        },
        "paths": {
            "/v1/admin/catalogue": catalogue,
            "/v1/admin/ledger": {"get": {"summary": "Ledger balances and totals", "security": [{"bearer": []}], "responses": {"200": {"description": "Balances"}}}},
            "/v1/admin/recovery": {"post": {"summary": "Settle every ride in doubt and every open card top-up now", "security": [{"bearer": []}], "responses": {"200": {"description": "Report"}}}}
        }
    })))
}
