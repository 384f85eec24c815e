//! The staff part of the OpenAPI document, still written by hand: sign-in and sessions, the
//! caller's account, the admin's accounts and machine credentials, a carrier's vehicles.

use serde_json::{Value, json};

fn problem() -> Value {
    json!({"description": "Refused: problem+json with a stable `code`",
           "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

fn path_param(name: &str, example: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 64}, "example": example})
}

fn staff_paths() -> Vec<(&'static str, Value)> {
    let secured = json!([{"bearer": []}]);
    let account = json!({"type": "object", "properties": {
        "login": {"type": "string"}, "role": {"enum": ["admin", "office", "carrier", "controller", "support"]},
        "cities": {"type": "array", "items": {"type": "string"}}, "carriers": {"type": "array", "items": {"type": "string"}},
        "totp_enrolled": {"type": "boolean"}, "disabled": {"type": "boolean"}, "created_at": {"type": "string", "format": "date-time"}}});
    let sign_in = json!({
        "post": {"summary": "Staff sign-in: login, password and (admins) the authenticator's code; a bearer token, or with `cookie: true` the `__Host-smsbus-staff` cookie (HttpOnly, Secure, SameSite=Strict) and its CSRF token",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["login", "password"], "additionalProperties": false,
                "properties": {"login": {"type": "string"}, "password": {"type": "string"},
                    "totp": {"type": ["string", "null"], "pattern": "^[0-9]{6}$"}, "cookie": {"type": "boolean", "default": false}}}}}},
            "responses": {"201": {"description": "{token | csrf_token, session_id, expires_at, account}"},
                "401": problem(), "429": problem(), "4XX": problem()}},
        "delete": {"summary": "Staff sign-out: ends this session", "security": secured.clone(),
            "responses": {"204": {"description": "Signed out"}, "4XX": problem()}}});
    let me = json!({"get": {"summary": "The signed-in staff account and its session", "security": secured.clone(),
        "responses": {"200": {"description": "The account", "content": {"application/json": {"schema": account.clone()}}}, "4XX": problem()}}});
    let password = json!({"post": {"summary": "Change one's own password (every session of the account ends)", "security": secured.clone(),
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["current", "new"], "additionalProperties": false,
            "properties": {"current": {"type": "string"}, "new": {"type": "string", "minLength": 12, "maxLength": 256}}}}}},
        "responses": {"204": {"description": "Changed"}, "4XX": problem()}}});
    let sessions = json!({"get": {"summary": "One's own live sessions", "security": secured.clone(),
        "responses": {"200": {"description": "{sessions: [{id, login, kind, address, created_at, last_used_at, expires_at, current}]}"}, "4XX": problem()}}});
    let end = json!({"delete": {"summary": "End a session: one's own, or (admin) anyone's", "security": secured.clone(),
        "parameters": [path_param("id", "0123")],
        "responses": {"204": {"description": "Ended"}, "404": problem(), "4XX": problem()}}});
    let accounts = json!({
        "get": {"summary": "Staff accounts", "security": secured.clone(),
            "responses": {"200": {"description": "{accounts: [...]}"}, "4XX": problem()}},
        "post": {"summary": "Create a staff account (the password is generated unless given; an admin gets a TOTP secret)", "security": secured.clone(),
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["login", "role"], "additionalProperties": false,
                "properties": {"login": {"type": "string", "pattern": "^[a-z0-9._@-]{1,64}$"},
                    "role": {"enum": ["admin", "office", "carrier", "controller", "support"]},
                    "cities": {"type": "array", "items": {"type": "string"}}, "carriers": {"type": "array", "items": {"type": "string"}},
                    "password": {"type": ["string", "null"], "minLength": 12, "maxLength": 256}}}}}},
            "responses": {"201": {"description": "{account, password, totp_secret, otpauth_uri}"}, "409": problem(), "422": problem(), "4XX": problem()}}});
    let login = || path_param("login", "office-astana");
    let reset = json!({"post": {"summary": "Reset a staff password (generated unless given); the account's sessions end", "security": secured.clone(),
        "parameters": [login()],
        "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false,
            "properties": {"password": {"type": ["string", "null"], "minLength": 12, "maxLength": 256}}}}}},
        "responses": {"200": {"description": "{login, password}"}, "404": problem(), "4XX": problem()}}});
    let disable = json!({"post": {"summary": "Disable a staff account (its sessions end)", "security": secured.clone(),
        "parameters": [login()], "responses": {"200": {"description": "The account"}, "404": problem(), "4XX": problem()}}});
    let enable = json!({"post": {"summary": "Enable a disabled staff account", "security": secured.clone(),
        "parameters": [login()], "responses": {"200": {"description": "The account"}, "404": problem(), "4XX": problem()}}});
    let sessions_of = json!({"get": {"summary": "A staff account's live sessions", "security": secured.clone(),
        "parameters": [login()], "responses": {"200": {"description": "{sessions: [...]}"}, "404": problem(), "4XX": problem()}}});
    let credentials = json!({
        "get": {"summary": "Machine callers' credentials (never their secrets)", "security": secured.clone(),
            "responses": {"200": {"description": "{credentials: [{id, kind, partner, created_at, revoked_at}]}"}, "4XX": problem()}},
        "post": {"summary": "Create a machine credential for a partner (the secret is shown once)", "security": secured.clone(),
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["kind", "partner"], "additionalProperties": false,
                "properties": {"kind": {"enum": ["sms_gateway", "metrics"]}, "partner": {"type": "string", "minLength": 1, "maxLength": 64}}}}}},
            "responses": {"201": {"description": "{id, kind, partner, created_at, secret}"}, "4XX": problem()}}});
    let revoke = json!({"post": {"summary": "Revoke a machine credential", "security": secured.clone(),
        "parameters": [path_param("id", "cred_0")], "responses": {"204": {"description": "Revoked"}, "404": problem(), "4XX": problem()}}});
    let vehicles = json!({"get": {"summary": "A carrier's vehicles (its own managers, its controllers, admins, support); another carrier's manager gets 403 SCOPE_FORBIDDEN", "security": secured,
        "parameters": [path_param("carrier", "astana-avtobus-park-1")],
        "responses": {"200": {"description": "{carrier, city, name, vehicles: [{transport_code, plate, route, active}]}"}, "404": problem(), "4XX": problem()}}});
    let passenger_tickets = json!({"get": {"summary": "A passenger's tickets for support, the office (of its cities) and admins: newest first, without token or link", "security": secured,
        "parameters": [{"name": "phone", "in": "path", "required": true, "schema": {"type": "string", "pattern": crate::openapi::PHONE_PATTERN}, "example": "+77011234567"},
            {"name": "cursor", "in": "query", "schema": {"type": "string", "pattern": crate::openapi::PAGE_CURSOR_PATTERN}, "description": "the `next_cursor` of the previous page"},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}],
        "responses": {"200": {"description": "{tickets: [{number, check_number, city, route_number, transport_code, plate, rider_category, fare, issued_at, status}], next_cursor}"}, "4XX": problem()}}});
    vec![
        ("/v1/staff/session", sign_in),
        ("/v1/staff/me", me),
        ("/v1/staff/password", password),
        ("/v1/staff/sessions", sessions),
        ("/v1/staff/sessions/{id}", end),
        ("/v1/admin/staff", accounts),
        ("/v1/admin/staff/{login}/reset-password", reset),
        ("/v1/admin/staff/{login}/disable", disable),
        ("/v1/admin/staff/{login}/enable", enable),
        ("/v1/admin/staff/{login}/sessions", sessions_of),
        ("/v1/admin/credentials", credentials),
        ("/v1/admin/credentials/{id}/revoke", revoke),
        ("/v1/carriers/{carrier}/vehicles", vehicles),
        ("/v1/staff/passengers/{phone}/tickets", passenger_tickets),
    ]
}

/// Adds the staff paths.
pub(crate) fn with_staff(mut document: Value) -> Value {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return document;
    };
    for (path, item) in staff_paths() {
        // A path another part documented too (a carrier's vehicles: `post` beside `get`)
        // keeps its other methods.
        match (paths.get_mut(path).and_then(Value::as_object_mut), item) {
            (Some(existing), Value::Object(methods)) => existing.extend(methods),
            (_, item) => {
                paths.insert(path.into(), item);
            }
        }
    }
    document
}
