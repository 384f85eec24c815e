//! The OpenAPI paths of the office desk (search, a passenger's record, blocking, payout) and
//! of the operator's console additions (the catalogue read back, banks' state, the partners'
//! live state, GTFS upload),
//! added to the document by `openapi::edge`.

use serde_json::{Value, json};

use crate::openapi::{card_path, card_schema, money, problem};

fn reason_body() -> Value {
    json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false,
        "required": ["reason"], "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"}}}}}})
}

fn ok(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"type": "object"}}}})
}

pub(crate) fn with_office(mut document: Value) -> Value {
    let bearer = json!([{"bearer": []}]);
    let search = json!({"get": {
        "summary": "Find passengers by card number (check digit first), phone or name; a passenger outside the clerk's cities is 403 SCOPE_FORBIDDEN, a name search leaves them out",
        "security": bearer,
        "parameters": [{"name": "q", "in": "query", "required": true, "schema": {"type": "string", "maxLength": 100}}],
        "responses": {"200": {"description": "{passengers: [{phone, name, cards}]}", "content": {"application/json": {"schema": {
            "type": "object", "required": ["passengers"], "properties": {"passengers": {"type": "array", "items": {"type": "object",
                "properties": {"phone": {"type": "string"}, "name": {"type": "string"}, "cards": {"type": "array", "items": card_schema()}}}}}}}}},
            "403": problem(), "404": problem(), "4XX": problem()}}});
    let record = json!({"get": {
        "summary": "A passenger's record at the desk: cities, cards (with a preferential status's end and a payout), applications, and the audit entries of what staff did to them",
        "security": bearer,
        "parameters": [{"name": "phone", "in": "path", "required": true, "schema": {"type": "string"}, "example": "+77011234567"}],
        "responses": {"200": ok("{phone, cities, cards, applications, audit}"), "403": problem(), "4XX": problem()}}});
    let block = json!({"post": {"summary": "Block a card at the office, with a reason (audited)", "security": bearer,
        "parameters": [card_path()], "requestBody": reason_body(),
        "responses": {"200": {"description": "The card, blocked", "content": {"application/json": {"schema": card_schema()}}}, "403": problem(), "409": problem(), "4XX": problem()}}});
    let unblock = json!({"post": {"summary": "Unblock a card at the office, with a reason (audited)", "security": bearer,
        "parameters": [card_path()], "requestBody": reason_body(),
        "responses": {"200": {"description": "The card, active", "content": {"application/json": {"schema": card_schema()}}}, "403": problem(), "409": problem(), "4XX": problem()}}});
    let payout = json!({"post": {
        "summary": "Close a card and pay its balance out (cash at the desk, or a bank transfer with its reference): a `payout` ledger transfer and the close in one transaction, once per card; a retry with the same Idempotency-Key answers the first (audited)",
        "security": bearer,
        "parameters": [card_path(), {"name": "Idempotency-Key", "in": "header", "required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 200}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false,
            "required": ["way"], "properties": {"way": {"enum": ["cash", "bank_transfer"]},
                "reference": {"type": "string", "maxLength": 200, "description": "Required for a bank transfer, none for cash"},
                "reason": {"type": "string", "maxLength": 200}}}}}},
        "responses": {"200": {"description": "{card, payout: {way, reference, amount, transfer_id, paid_by, paid_at}}", "content": {"application/json": {"schema": {
            "type": "object", "required": ["card", "payout"], "properties": {"card": card_schema(), "payout": {"type": "object", "properties": {"amount": money()}}}}}}},
            "403": problem(), "409": problem(), "4XX": problem()}}});
    if let Some(map) = document.get_mut("paths").and_then(Value::as_object_mut) {
        map.insert("/v1/office/search".into(), search);
        map.insert("/v1/office/passengers/{phone}".into(), record);
        map.insert("/v1/office/cards/{card}/block".into(), block);
        map.insert("/v1/office/cards/{card}/unblock".into(), unblock);
        map.insert("/v1/office/cards/{card}/payout".into(), payout);
    }
    document
}
