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

pub(crate) use crate::apidoc::{
    NOT_BLANK, PAGE_CURSOR_PATTERN, PHONE_PATTERN, TRANSPORT_CODE_PATTERN,
};

fn ok(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

/// The audit trail. Revocations by the system operator and the list controllers sync for offline checks.
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

fn with_revocations(mut document: Value) -> Value {
    let revoke = json!({"post": {"summary": "Revoke a valid ticket (controllers then see REVOKED)", "security": [{"bearer": []}],
        "parameters": [{"name": "check_number", "in": "path", "required": true, "example": "1297-5226-7646",
            "description": "`DDDD-DDDD-DDDC`; a wrong check digit C is refused (400)",
            "schema": {"type": "string", "pattern": "^[0-9]{4}-?[0-9]{4}-?[0-9]{4}$"}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["reason"], "additionalProperties": false,
            "properties": {"reason": {"type": "string", "maxLength": 500, "pattern": NOT_BLANK}}}}}},
        "responses": {"200": {"description": "{number, check_number, status}"}, "404": problem(), "409": problem(), "4XX": problem()}}});
    let list = json!({"get": {"summary": "Tickets invalidated before their time (revoked, refunded, run ended), oldest first, for offline checks",
        "security": [{"bearer": []}],
        "parameters": [{"name": "after", "in": "query", "schema": {"type": "string", "pattern": PAGE_CURSOR_PATTERN}, "description": "the `next` of the previous page"},
                       {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}],
        "responses": {"200": {"description": "{invalidations: [{number, check_number, why, at, not_after}], next}"}, "4XX": problem()}}});
    if let Some(map) = document.get_mut("paths").and_then(Value::as_object_mut) {
        map.insert("/v1/admin/tickets/{check_number}/revoke".into(), revoke);
        map.insert("/v1/controller/invalidations".into(), list);
        map.insert("/v1/controller/holder-keys".into(), json!({"get": {
            "summary": "Holder keys of the current signing keys, for a controller's device to check offline that a ticket belongs to the number a passenger tells (never public)",
            "security": [{"bearer": []}],
            "responses": {"200": {"description": "{holder_keys: [{kid, alg: HMAC-SHA-256, key (base64url), not_before, not_after}]}"}, "4XX": problem()}}}));
        map.insert("/v1/controller/inspections/sync".into(), inspection_sync());
        map.insert("/v1/controller/vehicles".into(), json!({"get": {
            "summary": "The active vehicles of the signed-in controller's cities and carriers, for its device to choose one by transport code or plate offline",
            "security": [{"bearer": []}],
            "responses": {"200": {"description": "{vehicles: [{transport_code, plate, plate_folded, city, timezone, route_number, carrier}]}"}, "4XX": problem()}}}));
        map.insert("/v1/controller/shift".into(), json!({"get": {
            "summary": "The signed-in controller's shift: checks recorded since `since_ms`, those not valid by verdict, those flagged by reason",
            "security": [{"bearer": []}],
            "parameters": [{"name": "since_ms", "in": "query", "description": "when the shift began (unix ms, within the last 24 hours); 12 hours ago when absent",
                "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "{since_ms, checked, invalid, invalid_by_result: {EXPIRED: n, …}, flagged, flagged_by_reason: {SHOWN_IN_TWO_VEHICLES: n, …}}"}, "4XX": problem()}}}));
    }
    document
}

/// A controller's device sends the checks it made (often offline).
fn inspection_sync() -> Value {
    let item = json!({"type": "object", "required": ["id", "token", "transport_code", "scanned_at_ms", "result", "offline"], "additionalProperties": false,
        "properties": {
            "id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$", "description": "the device's id for this check: sending it again records nothing and answers `already_recorded`"},
            "token": {"type": "string", "maxLength": 400, "description": "as scanned; anything that is not a ticket is recorded as MALFORMED"},
            "transport_code": {"type": "string", "pattern": TRANSPORT_CODE_PATTERN, "description": "the vehicle the controller was in"},
            "scanned_at_ms": {"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX, "description": "when the ticket was shown (unix ms, within the last 7 days); the ticket is judged as of then"},
            "result": {"enum": ["VALID", "EXPIRED", "FORGED", "WRONG_VEHICLE", "REVOKED", "REFUNDED", "UNKNOWN_KEY", "MALFORMED", "RUN_ENDED"], "description": "the verdict the device showed"},
            "offline": {"type": "boolean"}}});
    json!({"post": {"summary": "Sync a controller device's queue of checks: each checked again as of when it was shown, recorded once per device id, flagged when the ticket was shown in two vehicles (by any controller)",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["inspections"], "additionalProperties": false,
            "properties": {"inspections": {"type": "array", "minItems": 1, "maxItems": 100, "items": item}}}}}},
        "responses": {"200": {"description": "{results: [{id, status: recorded | already_recorded | refused, device_result, result, agrees, flagged_shared, flag_reason, inspection?, refused?: {code, message, detail}}]}, in the order sent"},
            "403": problem(), "413": problem(), "4XX": problem()}}})
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
    let inspections = json!({"post": {"summary": "Controller checks a ticket", "security": [{"bearer": []}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["token", "transport_code", "inspector"], "additionalProperties": false,
                    "properties": {"token": {"type": "string"}, "transport_code": {"type": "string", "pattern": TRANSPORT_CODE_PATTERN},
                        "inspector": {"type": "string", "minLength": 1, "maxLength": 64},
                        "holder_phone": {"type": ["string", "null"], "pattern": PHONE_PATTERN, "description": "the number the passenger tells; the answer's `holder` says whether the ticket was bought from it"}}}}}},
                "responses": {"200": ok("Verdict", "Inspection"), "4XX": problem()}}});
    let sms_incoming = json!({"post": {"summary": "SMS gateway: a message to 2505", "security": [{"bearer": []}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["smsc", "message_id", "sender", "text"], "additionalProperties": false,
                    "properties": {"smsc": {"type": "string", "minLength": 1, "maxLength": 64}, "message_id": {"type": "string", "minLength": 1, "maxLength": 64},
                        "sender": {"type": "string", "pattern": PHONE_PATTERN, "description": "The passenger's number"}, "text": {"type": "string", "description": "A longer one than 1000 characters is answered by its beginning"}}}}}},
                "responses": {"200": {"description": "The reply to send"}, "4XX": problem()}}});
    let catalogue = json!({"put": {"summary": "Upsert a catalogue file", "security": [{"bearer": []}],
                "requestBody": {"required": true, "description": "A catalogue file (JSON: `operator_prefixes` and `cities`, as `smsbus catalogue` loads); any flaw refuses the whole file (422)",
                    "content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {"200": {"description": "Counts"}, "413": problem(), "422": problem(), "4XX": problem()}}});
    parts(with_audit(with_revocations(json!({
        "openapi": "3.1.0",
        "info": {"title": "SMSBUS", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Bus fares from the phone balance, signed e-tickets, controllers' checks."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Inspection": {"type": "object", "properties": {
                    "result": {"enum": ["VALID", "EXPIRED", "FORGED", "WRONG_VEHICLE", "REVOKED", "REFUNDED", "UNKNOWN_KEY", "MALFORMED"]},
                    "valid": {"type": "boolean"}, "flagged_shared": {"type": "boolean"},
                    "flag_reason": {"enum": ["SHOWN_IN_TWO_VEHICLES", "SHOWN_TWICE_IN_VEHICLE", null]},
                    "flagged_because_of": {"type": "object", "description": "{transport_code, inspector, result, at}: the earlier showing that makes the flag"},
                    "holder": {"enum": ["MATCHES", "DOES_NOT_MATCH", "NOT_CHECKED"]},
                    "seen_in_vehicles": {"type": "array", "items": {"type": "string"}},
                    "ticket": {"type": "object", "description": "{check_number, city, route_number, transport_code, plate, fare, rider_category, bought_at, valid_until (the city's local time), zone (zone fares only)}"}}}
            }
        },
        "paths": {
            "/v1/inspections": inspections,
            "/v1/sms/incoming": sms_incoming,
            "/v1/sms/outbox": {"get": {"summary": "SMS gateway: replies produced later", "security": [{"bearer": []}], "responses": {"200": {"description": "Messages"}}}},
            "/v1/sms/outbox/{id}/sent": {"post": {"summary": "SMS gateway: mark a message sent", "security": [{"bearer": []}],
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX}}],
                "responses": {"204": {"description": "Marked"}, "4XX": problem()}}},
            "/v1/admin/catalogue": catalogue,
            "/v1/admin/ledger": {"get": {"summary": "Ledger balances and totals", "security": [{"bearer": []}], "responses": {"200": {"description": "Balances"}}}},
            "/v1/admin/recovery": {"post": {"summary": "Settle every ride in doubt and every open card top-up now", "security": [{"bearer": []}], "responses": {"200": {"description": "Report"}}}}
        }
    }))))
}
