//! The OpenAPI paths of transport cards and bank top-ups, added to the document by
//! `openapi::edge` (kept apart: the main document's `json!` has a recursion limit).

use serde_json::{Value, json};

/// A card number: 16 digits (spaces or dashes between groups are also read by the server).
pub(crate) use crate::apidoc::CARD_PATTERN;

pub(crate) fn problem() -> Value {
    json!({"description": "Refused: a problem+json body with a stable `code` and a `message` in the caller's language",
           "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

pub(crate) fn money() -> Value {
    json!({"type": "object", "required": ["amount", "currency", "tiyn"],
        "properties": {"amount": {"type": "string"}, "currency": {"const": "KZT"}, "tiyn": {"type": "integer"}}})
}

pub(crate) fn card_schema() -> Value {
    json!({"type": "object",
        "required": ["number", "number_grouped", "last_four", "kind", "rider_category", "status", "balance", "held", "available", "opened_at"],
        "properties": {
            "number": {"type": "string", "pattern": CARD_PATTERN},
            "number_grouped": {"type": "string", "example": "9398 1234 5678 9012"},
            "last_four": {"type": "string"},
            "kind": {"enum": ["regular", "school", "preferential"]},
            "rider_category": {"type": "string"},
            "status": {"enum": ["open", "active", "blocked", "closed"]},
            "balance": money(), "held": money(), "available": money(),
            "category_until": {"type": "string", "format": "date-time", "description": "A preferential status's last instant; the regular fare after"},
            "pupil_name": {"type": "string"}, "school": {"type": "string"}, "class": {"type": "string"},
            "opened_at": {"type": "string", "format": "date-time"}}})
}

pub(crate) fn card_path() -> Value {
    json!({"name": "card", "in": "path", "required": true, "schema": {"type": "string", "pattern": CARD_PATTERN},
        "description": "The card's 16 digits; a mistyped digit is refused by the check digit (400 CARD_NUMBER_MISTYPED)"})
}

fn card_ok(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": card_schema()}}})
}

fn text(max: usize) -> Value {
    json!({"type": ["string", "null"], "maxLength": max})
}

fn field() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 80, "pattern": "\\S"})
}

fn application_id() -> Value {
    json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX}})
}

pub(crate) fn with_cards(mut document: Value) -> Value {
    let bearer = json!([{"bearer": []}]);
    let open_body = json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false,
        "required": ["kind"],
        "description": "A school card needs `pupil_name`, `school` and `class`; a regular one names no pupil",
        "properties": {"kind": {"enum": ["regular", "school"]}, "holder_name": text(80),
            "pupil_name": text(80), "school": text(80), "class": text(80)}}}}});
    let cards = json!({
        "post": {"summary": "Open a transport card (free): regular, or school for a pupil", "security": bearer,
            "requestBody": open_body,
            "responses": {"201": card_ok("The card, active"), "4XX": problem()}},
        "get": {"summary": "The signed-in passenger's cards with their balances", "security": bearer,
            "responses": {"200": {"description": "Cards", "content": {"application/json": {"schema": {"type": "object", "required": ["cards"],
                "properties": {"cards": {"type": "array", "items": card_schema()}}}}}}, "4XX": problem()}}});
    let one = json!({"get": {"summary": "One of the passenger's cards", "security": bearer, "parameters": [card_path()],
        "responses": {"200": card_ok("The card"), "4XX": problem()}}});
    let history = json!({"get": {"summary": "A card's movements, newest first: top-ups, rides, balance moves", "security": bearer,
        "parameters": [card_path(), {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
            {"name": "before", "in": "query", "description": "the previous page's `next_cursor`", "schema": {"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX}}],
        "responses": {"200": {"description": "{movements: [{kind, amount, on_hold, ride_id, at}], next_cursor}: pass `next_cursor` as `before` for older movements"}, "4XX": problem()}}});
    let block = json!({"post": {"summary": "Block the card (lost phone): it pays nothing and takes no top-up", "security": bearer,
        "parameters": [card_path()], "responses": {"200": card_ok("Blocked"), "4XX": problem()}}});
    let unblock = json!({"post": {"summary": "Unblock the card", "security": bearer,
        "parameters": [card_path()], "responses": {"200": card_ok("Active again"), "4XX": problem()}}});
    let close = json!({"post": {"summary": "Close the card for good; a balance on it moves to `into`, another active card of the passenger's", "security": bearer,
        "parameters": [card_path()],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false,
            "properties": {"into": {"type": ["string", "null"], "pattern": CARD_PATTERN}}}}}},
        "responses": {"200": card_ok("Closed"), "4XX": problem()}}});
    let biller = json!({"get": {"summary": "Bank biller protocol (Kaspi/OSMP): check an account or pay (top up) a card. `(bank, txn_id)` is idempotent: a repeated pay gets the first answer",
        "security": bearer,
        "description": "The bank calls from one of its allowed networks with its secret as `Authorization: Bearer`. Result codes in the bank's dialect (Kaspi: 0 ok, 1 account not found, 5 other; OSMP: 0, 4, 5, 7, 241, 242, 300)",
        "parameters": [
            {"name": "bank", "in": "path", "required": true, "schema": {"type": "string"}, "example": "kaspi"},
            {"name": "command", "in": "query", "required": true, "schema": {"enum": ["check", "pay"]}},
            {"name": "txn_id", "in": "query", "required": true, "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}},
            {"name": "txn_date", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]{14}$"}, "description": "YYYYMMDDHHMMSS, required for pay"},
            {"name": "account", "in": "query", "required": true, "schema": {"type": "string"}, "description": "The card number, 16 digits"},
            {"name": "sum", "in": "query", "required": true, "schema": {"type": "string"}, "example": "500.00"}],
        "responses": {"200": {"description": "XML: <response> with txn_id, prv_txn_id, sum, result, comment and fields (holder, card, card_kind)",
                "content": {"application/xml": {"schema": {"type": "string"}}}},
            "403": problem(), "404": problem(), "4XX": problem()}}});
    let bank = json!({"put": {"summary": "Add or change a bank that tops cards up (audited)", "security": bearer,
        "parameters": [{"name": "bank", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[a-z0-9-]{1,32}$"}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false,
            "required": ["name", "dialect", "networks", "secret"],
            "properties": {"name": {"type": "string", "minLength": 1, "pattern": "\\S"}, "dialect": {"enum": ["kaspi", "osmp"]},
                "networks": {"type": "string", "example": "127.0.0.1, 10.20.0.0/16"},
                "secret": {"type": "string", "minLength": 16}}}}}},
        "responses": {"200": {"description": "{id, name, dialect, networks}"}, "4XX": problem()}}});
    let application = json!({"description": "{id, phone, city, category, full_name, document_kind, document_number, status: pending|approved|rejected, card, decision, created_at}"});
    let applications = json!({
        "post": {"summary": "Apply for a preferential card (approved at the office, which sees the documents)", "security": bearer,
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false,
                "required": ["city", "category", "full_name", "document_kind", "document_number"],
                "properties": {"category": {"enum": ["student", "pensioner", "disability", "large_family"]},
                    "city": {"type": "string", "minLength": 1, "maxLength": 64}, "full_name": field(), "document_kind": field(), "document_number": field()}}}}},
            "responses": {"201": application, "4XX": problem()}},
        "get": {"summary": "The passenger's applications, newest first", "security": bearer,
            "responses": {"200": {"description": "{applications: […]}"}, "4XX": problem()}}});
    let queue = json!({"get": {"summary": "Pending applications, oldest first; `q` searches phone, name and document number", "security": bearer,
        "parameters": [{"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 80}}],
        "responses": {"200": {"description": "{applications: […]}"}, "4XX": problem()}}});
    let approve = json!({"post": {"summary": "Approve: open the preferential card, record the documents seen (never scans), tell the passenger by SMS; audited", "security": bearer,
        "parameters": [application_id()],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false,
            "required": ["document_kind", "document_number", "valid_until"],
            "properties": {"document_kind": field(), "document_number": field(), "valid_until": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}}}}}},
        "responses": {"200": application, "404": problem(), "409": problem(), "4XX": problem()}}});
    let reject = json!({"post": {"summary": "Reject with a reason the passenger is told by SMS; audited", "security": bearer,
        "parameters": [application_id()],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false,
            "required": ["reason"], "properties": {"reason": field()}}}}},
        "responses": {"200": application, "404": problem(), "409": problem(), "4XX": problem()}}});
    if let Some(map) = document.get_mut("paths").and_then(Value::as_object_mut) {
        map.insert("/v1/card-applications".into(), applications);
        map.insert("/v1/office/card-applications".into(), queue);
        map.insert("/v1/office/card-applications/{id}/approve".into(), approve);
        map.insert("/v1/office/card-applications/{id}/reject".into(), reject);
        map.insert("/v1/cards".into(), cards);
        map.insert("/v1/cards/{card}".into(), one);
        map.insert("/v1/cards/{card}/history".into(), history);
        map.insert("/v1/cards/{card}/block".into(), block);
        map.insert("/v1/cards/{card}/unblock".into(), unblock);
        map.insert("/v1/cards/{card}/close".into(), close);
        map.insert("/v1/banks/{bank}/biller".into(), biller);
        map.insert("/v1/admin/banks/{bank}".into(), bank);
        map.insert("/v1/office/tickets/{check_number}/refund".into(), json!({"post": {
            "summary": "Refund a ride to its source: a card ride to its card at once; a phone-balance ride through the passenger's operator (CAMARA Carrier Billing Refund) — 200 when the money is back (the ticket becomes REFUNDED), 202 `refunding` while the operator has not finished (completed by the recovery loop; the ticket stays valid until then). A refund asked twice refunds once; audited; the passenger is told by SMS",
            "security": [{"bearer": []}],
            "parameters": [{"name": "check_number", "in": "path", "required": true, "example": "1297-5226-7646",
                "schema": {"type": "string", "pattern": "^[0-9]{4}-?[0-9]{4}-?[0-9]{4}$"}}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["reason"], "additionalProperties": false,
                "properties": {"reason": {"type": "string", "maxLength": 500, "pattern": "\\S"}}}}}},
            "responses": {
                "200": {"description": "Refunded", "content": {"application/json": {"schema": refund_out()}}},
                "202": {"description": "Asked of the operator, not finished yet", "content": {"application/json": {"schema": refund_out()}}},
                "404": problem(), "409": problem(), "4XX": problem()}}}));
    }
    document
}

/// The answer of a staff refund.
fn refund_out() -> Value {
    json!({"type": "object", "required": ["number", "check_number", "status", "source", "amount"],
        "properties": {
            "number": {"type": "integer"}, "check_number": {"type": "string"},
            "status": {"type": "string", "enum": ["refunded", "refunding"]},
            "source": {"type": "string", "enum": ["card", "phone_balance"]},
            "card": {"type": "string"}, "operator": {"type": "string"},
            "amount": {"$ref": "#/components/schemas/Money"}}})
}
