//! The OpenAPI paths of in-app top-ups through the card acquirer and of reconciliation with
//! the partners, added to the document by `openapi::edge`.

use serde_json::{Value, json};

use crate::apidoc::CARD_PATTERN;

fn problem() -> Value {
    json!({"description": "Refused: a problem+json body with a stable `code` and a `message` in the caller's language",
           "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

fn card_path() -> Value {
    json!({"name": "card", "in": "path", "required": true, "schema": {"type": "string", "pattern": CARD_PATTERN}})
}

fn top_up() -> Value {
    json!({"description": "{top_up_id, card, amount, status: created|paid|failed, payment_url (the acquirer's page), failure, created_at}"})
}

pub(crate) fn with_money(mut document: Value) -> Value {
    let bearer = json!([{"bearer": []}]);
    let start = json!({"post": {"summary": "Top the card up with a bank card: an order at the acquirer, whose payment page `payment_url` the passenger opens (we never see the card number). Needs an Idempotency-Key: a retry returns the same top-up",
        "security": bearer,
        "parameters": [card_path(), {"name": "Idempotency-Key", "in": "header", "required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 128}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false,
            "required": ["amount"], "properties": {"amount": {"type": "string", "example": "500.00", "pattern": "^[0-9]{1,6}(\\.[0-9]{1,2})?$"}}}}}},
        "responses": {"201": top_up(), "4XX": problem(), "503": problem()}}});
    let limits = json!({"get": {"summary": "The least and the most a top-up of this card may bring now (the protocol's limits and the card's maximum balance)",
        "security": bearer, "parameters": [card_path()],
        "responses": {"200": {"description": "{min, max}"}, "4XX": problem()}}});
    let one = json!({"get": {"summary": "A top-up's state", "security": bearer,
        "parameters": [card_path(), {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {"200": top_up(), "4XX": problem()}}});
    let callback = json!({"post": {"summary": "The acquirer's callback: `X-Signature: sha256=<hex>` is HMAC-SHA256 of the body under the shared secret; a charged order credits its card once however often it comes",
        "parameters": [{"name": "acquirer", "in": "path", "required": true, "schema": {"type": "string"}, "example": "halyk-epay"},
            {"name": "X-Signature", "in": "header", "schema": {"type": "string"}}],
        // The body is the acquirer's, signed byte for byte: its fields are not ours to narrow.
        "requestBody": {"required": true, "description": "The acquirer's JSON, signed as sent: {invoice_id, status: new|charged|declined|expired, amount (\"500.00\"), currency: KZT, reference, card_mask, reason}",
            "content": {"application/json": {}}},
        "responses": {"200": {"description": "{status}"}, "401": problem(), "404": problem(), "4XX": problem()}}});
    let upload = json!({"post": {"summary": "Import a partner's daily file and match it with our records (audited): a bank's registry, the acquirer's settlement report, an operator's settlement report. The same file again changes nothing; a corrected one replaces the unresolved lines",
        "security": bearer,
        "parameters": [{"name": "kind", "in": "path", "required": true, "schema": {"enum": ["bank", "acquirer", "operator"]}},
            {"name": "partner", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[a-z0-9-]{1,32}$"}},
            {"name": "day", "in": "path", "required": true, "schema": {"type": "string", "format": "date"}}],
        "requestBody": {"required": true, "content": {"text/csv": {"schema": {"type": "string", "maxLength": service::reconcile::RECONCILIATION_FILE_BYTES_MAX}}}},
        "responses": {"200": {"description": "The report: {id, partner_kind, partner, day, their_lines, matched, open, imported_at, lines: [{id, reference, outcome: matched|missing_ours|missing_theirs|sum_mismatch|duplicate|wrong_date, account, theirs, ours, resolution}]}"},
            "413": problem(), "4XX": problem()}}});
    let reports = json!({"get": {"summary": "The reconciliation reports, newest day first, with their lines", "security": bearer,
        "responses": {"200": {"description": "{reports: […]}"}, "4XX": problem()}}});
    let discrepancies = json!({"get": {"summary": "Every discrepancy not resolved yet", "security": bearer,
        "responses": {"200": {"description": "{discrepancies: […]}"}, "4XX": problem()}}});
    let resolve = json!({"post": {"summary": "Resolve a discrepancy once (audited): `credit` (what they took reaches the card), `reversal` (what we credited and they never took goes back), `write_off` (accepted as a loss); each booked as a ledger transfer where money moves",
        "security": bearer,
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false,
            "required": ["resolution"], "properties": {"resolution": {"enum": ["credit", "reversal", "write_off"]}}}}}},
        "responses": {"200": {"description": "The line, resolved"}, "404": problem(), "409": problem(), "4XX": problem()}}});
    if let Some(map) = document.get_mut("paths").and_then(Value::as_object_mut) {
        map.insert("/v1/cards/{card}/top-ups".into(), start);
        map.insert("/v1/cards/{card}/top-ups/limits".into(), limits);
        map.insert("/v1/cards/{card}/top-ups/{id}".into(), one);
        map.insert("/v1/acquirer/{acquirer}/callback".into(), callback);
        map.insert(
            "/v1/admin/reconciliation/{kind}/{partner}/{day}".into(),
            upload,
        );
        map.insert("/v1/admin/reconciliation/reports".into(), reports);
        map.insert(
            "/v1/admin/reconciliation/discrepancies".into(),
            discrepancies,
        );
        map.insert(
            "/v1/admin/reconciliation/discrepancies/{id}/resolve".into(),
            resolve,
        );
    }
    document
}
