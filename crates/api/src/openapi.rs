//! The OpenAPI 3.1 document of the API, written by hand: it is the contract we chose, and a
//! test checks that every route of the router is described here.

use axum::Json;
use serde_json::{Value, json};

/// Every route of the router; the test below keeps the document and the router in step.
#[cfg(test)]
pub(crate) const PATHS: &[&str] = &[
    "/health",
    "/metrics",
    "/openapi.json",
    "/v1/cities",
    "/v1/keys",
    "/v1/rides",
    "/v1/rides/{ride_id}",
    "/v1/tickets/valid",
    "/v1/tickets/history",
    "/t/{link_code}",
    "/v1/inspections",
    "/v1/sms/incoming",
    "/v1/sms/outbox",
    "/v1/sms/outbox/{id}/sent",
    "/v1/admin/catalogue",
    "/v1/admin/keys/rotate",
    "/v1/admin/ledger",
    "/v1/admin/recovery",
];

fn problem() -> Value {
    json!({"description": "Refused: a problem+json body with a stable `code` and a `message` in the caller's language",
           "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

fn ok(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn phone_query() -> Value {
    json!({"name": "phone", "in": "query", "required": true, "schema": {"type": "string"}, "example": "+77011234567"})
}

pub(crate) async fn document() -> Json<Value> {
    let lang = json!({"name": "lang", "in": "query", "schema": {"enum": ["kk", "ru", "en"]},
                      "description": "Language of messages; otherwise Accept-Language, otherwise ru"});
    Json(json!({
        "openapi": "3.1.0",
        "info": {"title": "SMSBUS", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Bus fares from the phone balance, signed e-tickets, controllers' checks."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Problem": {"type": "object", "required": ["type", "title", "status", "code", "message", "language"], "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                    "code": {"type": "string", "description": "Stable machine code, e.g. PAYMENT_INSUFFICIENT_BALANCE"},
                    "message": {"type": "string"}, "language": {"enum": ["kk", "ru", "en"]}, "detail": {"type": "string"}}},
                "Money": {"type": "object", "properties": {"amount": {"type": "string", "example": "90.00"},
                          "currency": {"const": "KZT"}, "tiyn": {"type": "integer"}}},
                "Ticket": {"type": "object", "properties": {
                    "ride_id": {"type": "string"}, "number": {"type": "integer"}, "check_number": {"type": "string"},
                    "token": {"type": "string", "description": "Signed e-ticket for the QR code (SB1.…)"},
                    "link": {"type": "string"}, "city": {"type": "string"}, "route_id": {"type": "string"},
                    "route_number": {"type": "string"}, "transport_code": {"type": "string"}, "plate": {"type": "string"},
                    "rider_category": {"type": "string"}, "fare": {"$ref": "#/components/schemas/Money"},
                    "issued_at": {"type": "string", "format": "date-time"}, "valid_until": {"type": "string", "format": "date-time"},
                    "status": {"enum": ["valid", "ended", "refunded", "revoked"]}, "valid": {"type": "boolean"}}},
                "Pending": {"type": "object", "properties": {"ride_id": {"type": "string"}, "status": {"const": "pending"},
                            "code": {"const": "PAYMENT_PENDING"}, "message": {"type": "string"}}},
                "TicketList": {"type": "object", "properties": {"tickets": {"type": "array", "items": {"$ref": "#/components/schemas/Ticket"}},
                               "next_cursor": {"type": "string"}}},
                "KeyList": {"type": "object", "properties": {"keys": {"type": "array", "items": {"type": "object", "properties": {
                    "kid": {"type": "string"}, "alg": {"const": "Ed25519"}, "public_key": {"type": "string", "description": "base64url"},
                    "not_before": {"type": "string", "format": "date-time"}, "not_after": {"type": "string", "format": "date-time"}}}}}},
                "Inspection": {"type": "object", "properties": {
                    "result": {"enum": ["VALID", "EXPIRED", "FORGED", "WRONG_VEHICLE", "REVOKED", "REFUNDED", "UNKNOWN_KEY", "MALFORMED"]},
                    "valid": {"type": "boolean"}, "flagged_shared": {"type": "boolean"},
                    "seen_in_vehicles": {"type": "array", "items": {"type": "string"}}, "ticket": {"type": "object"}}}
            }
        },
        "paths": {
            "/health": {"get": {"summary": "Liveness", "responses": {"200": {"description": "ok"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text format 0.0.4"}}}},
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            "/v1/cities": {"get": {"summary": "Cities and routes served, with fares", "parameters": [lang],
                "responses": {"200": {"description": "The public list"}}}},
            "/v1/keys": {"get": {"summary": "Published ticket signing keys", "responses": {"200": ok("Key list", "KeyList")}}},
            "/v1/rides": {"post": {"summary": "Pay a ride from the phone balance", "parameters": [
                    {"name": "Idempotency-Key", "in": "header", "required": true, "schema": {"type": "string", "maxLength": 128}}, lang],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["phone"], "properties": {
                    "phone": {"type": "string"}, "transport_code": {"type": "string"}, "plate": {"type": "string"},
                    "zone": {"type": "integer", "minimum": 1, "maximum": 9}}}}}},
                "responses": {"201": ok("Paid; the ticket", "Ticket"), "202": ok("Payment being confirmed", "Pending"),
                              "4XX": problem(), "503": problem()}}},
            "/v1/rides/{ride_id}": {"get": {"summary": "A ride's outcome", "parameters": [{"name": "ride_id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"201": ok("Ticket", "Ticket"), "202": ok("Still pending", "Pending"), "4XX": problem()}}},
            "/v1/tickets/valid": {"get": {"summary": "Valid tickets", "parameters": [phone_query()],
                "responses": {"200": ok("Tickets", "TicketList"), "4XX": problem()}}},
            "/v1/tickets/history": {"get": {"summary": "Trip details, newest first", "parameters": [phone_query(),
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}}, {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}}],
                "responses": {"200": ok("One page", "TicketList"), "4XX": problem()}}},
            "/t/{link_code}": {"get": {"summary": "Ticket page with its QR code (the SMS link)",
                "parameters": [{"name": "link_code", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "HTML"}, "404": problem()}}},
            "/v1/inspections": {"post": {"summary": "Controller checks a ticket", "security": [{"bearer": []}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["token", "transport_code", "inspector"],
                    "properties": {"token": {"type": "string"}, "transport_code": {"type": "string"}, "inspector": {"type": "string"}}}}}},
                "responses": {"200": ok("Verdict", "Inspection"), "4XX": problem()}}},
            "/v1/sms/incoming": {"post": {"summary": "SMS gateway: a message to 2505", "security": [{"bearer": []}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["smsc", "message_id", "sender", "text"],
                    "properties": {"smsc": {"type": "string"}, "message_id": {"type": "string"}, "sender": {"type": "string"}, "text": {"type": "string"}}}}}},
                "responses": {"200": {"description": "The reply to send"}, "4XX": problem()}}},
            "/v1/sms/outbox": {"get": {"summary": "SMS gateway: replies produced later", "security": [{"bearer": []}], "responses": {"200": {"description": "Messages"}}}},
            "/v1/sms/outbox/{id}/sent": {"post": {"summary": "SMS gateway: mark a message sent", "security": [{"bearer": []}],
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}], "responses": {"204": {"description": "Marked"}}}},
            "/v1/admin/catalogue": {"put": {"summary": "Upsert a catalogue file", "security": [{"bearer": []}],
                "responses": {"200": {"description": "Counts"}, "422": problem()}}},
            "/v1/admin/keys/rotate": {"post": {"summary": "Start a new signing key", "security": [{"bearer": []}], "responses": {"200": ok("The new key", "KeyList")}}},
            "/v1/admin/ledger": {"get": {"summary": "Ledger balances and totals", "security": [{"bearer": []}], "responses": {"200": {"description": "Balances"}}}},
            "/v1/admin/recovery": {"post": {"summary": "Settle every ride in doubt now", "security": [{"bearer": []}], "responses": {"200": {"description": "Report"}}}}
        }
    }))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn every_route_is_documented() {
        let axum::Json(doc) = super::document().await;
        let mut documented: Vec<&str> = doc["paths"].as_object().unwrap().keys().map(String::as_str).collect();
        documented.sort_unstable();
        let mut routes = super::PATHS.to_vec();
        routes.sort_unstable();
        assert_eq!(documented, routes);
        let router_source = include_str!("routes/mod.rs");
        for path in super::PATHS {
            assert!(router_source.contains(&format!("\"{path}\"")), "{path} is documented but not routed");
        }
    }
}
