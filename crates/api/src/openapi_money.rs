//! The OpenAPI paths of reconciliation with the partners, still written by hand (merged into
//! the generated document by `apidoc`).

use serde_json::{Value, json};

fn problem() -> Value {
    json!({"description": "Refused: a problem+json body with a stable `code` and a `message` in the caller's language",
           "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

pub(crate) fn with_money(mut document: Value) -> Value {
    let bearer = json!([{"bearer": []}]);
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
