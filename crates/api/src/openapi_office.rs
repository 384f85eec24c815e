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

/// A call counter's schema: calls, failures, the last success and failure and its kind.
fn health_schema() -> Value {
    let time = json!({"type": "string", "format": "date-time"});
    json!({"type": "object", "required": ["calls", "failures", "failing"], "properties": {
        "calls": {"type": "integer", "minimum": 0}, "failures": {"type": "integer", "minimum": 0},
        "failing": {"type": "boolean", "description": "the last call failed and none succeeded since"},
        "last_success_at": time, "last_failure_at": time,
        "last_error": {"enum": ["unreachable", "no_answer", "auth", "server_error", "throttled", "protocol"]}}})
}

/// `GET /v1/admin/partners`: every partner wired in and its live state, never a secret.
fn partners_path(bearer: &Value) -> Value {
    let text = json!({"type": "string"});
    let time = json!({"type": "string", "format": "date-time"});
    let count = json!({"type": "integer", "minimum": 0});
    let operator = json!({"type": "object", "required": ["id", "carrier_billing_url", "sim_swap_url", "refund_url", "auth", "health"], "properties": {
        "id": text, "carrier_billing_url": text, "sim_swap_url": text, "refund_url": text,
        "auth": {"type": "object", "required": ["kind"], "properties": {"kind": {"enum": ["static_token", "client_credentials"]},
            "token_url": text, "client_id": text, "scope": text}},
        "health": health_schema()}});
    let acquirer = json!({"type": ["object", "null"], "required": ["id", "base_url", "merchant_id", "callback_url", "health", "orders", "callbacks"], "properties": {
        "id": text, "base_url": text, "merchant_id": text, "callback_url": text, "health": health_schema(),
        "orders": {"type": "object", "required": ["window_hours", "open", "paid", "failed"], "properties": {"window_hours": count, "open": count, "paid": count, "failed": count}},
        "callbacks": {"type": "object", "required": ["accepted", "refused"], "properties": {"accepted": count, "refused": count, "last_at": time, "last_outcome": {"enum": ["accepted", "refused"]}}}}});
    let smsc = json!({"type": "object", "required": ["operator", "host", "port", "tls", "system_id", "state", "since", "window", "throughput_per_s", "backlog", "submits", "receipts"], "properties": {
        "operator": text, "host": text, "port": {"type": "integer", "minimum": 0, "maximum": 65535}, "tls": {"type": "boolean"},
        "system_id": text, "system_type": text, "state": {"enum": ["connecting", "bound", "down", "stopped"]}, "since": time,
        "last_error": text, "last_error_at": time, "window": count, "throughput_per_s": count, "backlog": count,
        "submits": count, "submit_failures": count, "deliveries": count, "receipts": count}});
    json!({"get": {"summary": "Every partner wired in and how it is doing: each mobile operator's CAMARA APIs (carrier billing, SIM swap, refunds), its authentication and the health of its calls; the card acquirer (merchant id, callback URL, recent orders, callbacks); each SMSC bind (address, TLS, system_id, state since when, last error, window, throughput, outbox backlog, counters); the banks. Never a secret", "security": bearer,
        "responses": {"200": {"description": "{operators, acquirer, smscs, banks}", "content": {"application/json": {"schema": {"type": "object",
            "required": ["operators", "acquirer", "smscs", "banks"], "properties": {
                "operators": {"type": "array", "items": operator}, "acquirer": acquirer,
                "smscs": {"type": "array", "items": smsc}, "banks": {"type": "array", "items": {"type": "object"}}}}}}},
            "4XX": problem()}}})
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
    let catalogue_get = json!({"summary": "The stored catalogue as a catalogue file (what PUT takes back)", "security": bearer,
        "responses": {"200": ok("{operator_prefixes, cities: [{id, name, timezone, fares, carriers, routes, vehicles}]}"), "4XX": problem()}});
    let banks = json!({"get": {"summary": "Banks configured: dialect, networks, payments made; never a secret", "security": bearer,
        "responses": {"200": ok("{banks: [{id, name, dialect, networks, secret_set, updated_at, payments, last_payment_at}]}"), "4XX": problem()}}});
    let partners = partners_path(&bearer);
    let gtfs = json!({"post": {
        "summary": "Replace a city's GTFS feed with the uploaded zip (at most 64 MiB); a fatal problem refuses it with file, line and field and keeps the previous feed (audited)",
        "security": bearer,
        "parameters": [{"name": "city", "in": "path", "required": true, "schema": {"type": "string"}}],
        "requestBody": {"required": true, "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
        "responses": {"200": ok("{city, stops, routes, trips, problem_count, problems_by_kind, problems: [{kind, text}]}"), "413": problem(), "4XX": problem()}}});
    if let Some(map) = document.get_mut("paths").and_then(Value::as_object_mut) {
        map.insert("/v1/office/search".into(), search);
        map.insert("/v1/office/passengers/{phone}".into(), record);
        map.insert("/v1/office/cards/{card}/block".into(), block);
        map.insert("/v1/office/cards/{card}/unblock".into(), unblock);
        map.insert("/v1/office/cards/{card}/payout".into(), payout);
        map.insert("/v1/admin/banks".into(), banks);
        map.insert("/v1/admin/partners".into(), partners);
        map.insert("/v1/admin/cities/{city}/gtfs".into(), gtfs);
        if let Some(catalogue) = map
            .get_mut("/v1/admin/catalogue")
            .and_then(Value::as_object_mut)
        {
            catalogue.insert("get".into(), catalogue_get);
        }
    }
    document
}
