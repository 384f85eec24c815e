//! The carrier's desk and the reports in the OpenAPI document: replies to feedback and its
//! status, a carrier's vehicles and stickers, the ride and revenue report and a carrier's
//! month of settlement.

use serde_json::{Value, json};

fn problem() -> Value {
    json!({"description": "Refused: problem+json with a stable `code`",
           "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

fn path_param(name: &str, example: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 64}, "example": example})
}

fn query_param(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "schema": schema, "description": description})
}

fn body(required: &[&str], properties: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": {"type": "object",
        "required": required, "additionalProperties": false, "properties": properties}}}})
}

fn carrier_paths() -> Vec<(&'static str, Value)> {
    let secured = json!([{"bearer": []}]);
    let carrier = || path_param("carrier", "astana-avtobus-park-1");
    let code = || path_param("code", "10101");
    let feedback_id = || json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX}, "example": 1});
    let feedback = "the feedback with its `status` and `replies`";
    let reply = json!({"post": {"summary": "Reply to a passenger's feedback: the text goes to them by SMS (headed in their language); a `new` feedback moves to `in_work`",
        "security": secured.clone(), "parameters": [carrier(), feedback_id()],
        "requestBody": body(&["text"], json!({"text": {"type": "string", "minLength": 1, "maxLength": 300}})),
        "responses": {"200": {"description": feedback}, "404": problem(), "4XX": problem()}}});
    let status = json!({"post": {"summary": "Set a feedback's status", "security": secured.clone(),
        "parameters": [carrier(), feedback_id()],
        "requestBody": body(&["status"], json!({"status": {"enum": ["new", "in_work", "resolved"]}})),
        "responses": {"200": {"description": feedback}, "404": problem(), "409": problem(), "4XX": problem()}}});
    let vehicle = "{transport_code, plate, route, active}";
    let add = json!({"post": {"summary": "Add a vehicle to one of the carrier's city's routes", "security": secured.clone(),
        "parameters": [carrier()],
        "requestBody": body(&["transport_code", "plate", "route"], json!({
            "transport_code": {"type": "string", "pattern": "^[0-9]{4,6}$"}, "plate": {"type": "string", "maxLength": 16},
            "route": {"type": "string", "maxLength": 64}})),
        "responses": {"201": {"description": vehicle}, "409": problem(), "422": problem(), "4XX": problem()}}});
    let suspend = json!({"post": {"summary": "Take a vehicle out of service: it cannot be paid for (`VEHICLE_SUSPENDED`)", "security": secured.clone(),
        "parameters": [carrier(), code()],
        "responses": {"200": {"description": vehicle}, "404": problem(), "4XX": problem()}}});
    let resume = json!({"post": {"summary": "Put a suspended vehicle back in service", "security": secured.clone(),
        "parameters": [carrier(), code()],
        "responses": {"200": {"description": vehicle}, "404": problem(), "4XX": problem()}}});
    let moved = json!({"post": {"summary": "Move a vehicle to another route of the carrier's city", "security": secured.clone(),
        "parameters": [carrier(), code()],
        "requestBody": body(&["route"], json!({"route": {"type": "string", "maxLength": 64}})),
        "responses": {"200": {"description": vehicle}, "404": problem(), "422": problem(), "4XX": problem()}}});
    let stickers = json!({"get": {"summary": "The carrier's QR stickers (code, plate, the passenger app's link for the bus, 'send the code to 2505' in kk and ru): a print-ready SVG page or a PDF",
        "security": secured.clone(),
        "parameters": [carrier(), query_param("format", json!({"enum": ["svg", "pdf"], "default": "svg"}), "svg or pdf"),
            query_param("vehicle", json!({"type": "string"}), "one vehicle's sticker only")],
        "responses": {"200": {"description": "SVG or PDF", "content": {"image/svg+xml": {}, "application/pdf": {}}}, "404": problem(), "4XX": problem()}}});
    let date = json!({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"});
    let report_params = |with_carrier: bool| {
        let mut params = vec![
            json!({"name": "from", "in": "query", "required": true, "schema": date.clone(), "description": "first local day"}),
            json!({"name": "to", "in": "query", "required": true, "schema": date.clone(), "description": "last local day (at most 366 days)"}),
            query_param("city", json!({"type": "string"}), "one city"),
            query_param(
                "format",
                json!({"enum": ["json", "csv"], "default": "json"}),
                "json or csv",
            ),
        ];
        if with_carrier {
            params.push(query_param(
                "carrier",
                json!({"type": "string"}),
                "one carrier",
            ));
        }
        params
    };
    let report_description = "{from, to, lines: [{day, city, carrier, route, route_number, transport_code, source, category, rides, refunds, fares, refunded, payable, subsidy, subsidy_estimated}], by_source, by_carrier, by_bank, subsidy: [{city, category, amount, estimated}], total_payable}, or CSV; a subsidy is the regular fare each ride recorded when it was written less what was paid, `estimated` (today's catalogue fare) for rides written before fares were recorded";
    let mut carrier_params = vec![carrier()];
    carrier_params.extend(report_params(false));
    let carrier_report = json!({"get": {"summary": "A carrier's rides and revenue per day, route, vehicle, source and rider category, off the ledger",
        "security": secured.clone(), "parameters": carrier_params,
        "responses": {"200": {"description": report_description, "content": {"application/json": {}, "text/csv": {}}}, "4XX": problem()}}});
    let report = json!({"get": {"summary": "Rides and revenue of every carrier (an office clerk: its cities), with what each operator and bank owes and what we owe each carrier, off the ledger",
        "security": secured.clone(), "parameters": report_params(true),
        "responses": {"200": {"description": report_description, "content": {"application/json": {}, "text/csv": {}}}, "4XX": problem()}}});
    let settlement = json!({"get": {"summary": "A carrier's month of settlement: JSON, CSV or PDF", "security": secured,
        "parameters": [carrier(), {"name": "month", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}, "example": "2026-01"},
            query_param("format", json!({"enum": ["json", "csv", "pdf"], "default": "json"}), "json, csv or pdf")],
        "responses": {"200": {"description": report_description, "content": {"application/json": {}, "text/csv": {}, "application/pdf": {}}}, "4XX": problem()}}});
    vec![
        ("/v1/carriers/{carrier}/feedback/{id}/reply", reply),
        ("/v1/carriers/{carrier}/feedback/{id}/status", status),
        ("/v1/carriers/{carrier}/vehicles/{code}/suspend", suspend),
        ("/v1/carriers/{carrier}/vehicles/{code}/resume", resume),
        ("/v1/carriers/{carrier}/vehicles/{code}/move", moved),
        ("/v1/carriers/{carrier}/stickers", stickers),
        ("/v1/carriers/{carrier}/reports/rides", carrier_report),
        ("/v1/carriers/{carrier}/settlement/{month}", settlement),
        ("/v1/reports/rides", report),
    ]
    .into_iter()
    .chain(std::iter::once(("/v1/carriers/{carrier}/vehicles", add)))
    .collect()
}

/// Adds the carrier's desk and the reports; a path already documented (a carrier's vehicles'
/// `get`) keeps its other methods.
pub(crate) fn with_carrier(mut document: Value) -> Value {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return document;
    };
    for (path, item) in carrier_paths() {
        match (paths.get_mut(path).and_then(Value::as_object_mut), item) {
            (Some(existing), Value::Object(methods)) => existing.extend(methods),
            (_, item) => {
                paths.insert(path.into(), item);
            }
        }
    }
    document
}
