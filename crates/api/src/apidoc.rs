//! The OpenAPI 3.1 document served at `/openapi.json`, derived from the code: every route is
//! added with [`crate::routes::Table::op`] and brings the operation of its handler's
//! `#[utoipa::path]`, whose parameters, bodies and answers are the wire types' own
//! `IntoParams`/`ToSchema` definitions, so a route or a field cannot be missing from it. No
//! part is written by hand but what an attribute cannot say (`refinements`,
//! `OPTIONAL_BODIES`); then every operation gets who may call it (`x-access`, from
//! [`crate::access::MATRIX`]) and the refusals of the edge (`401` with `WWW-Authenticate`,
//! `429` with `Retry-After`).

use std::sync::LazyLock;

use axum::Json;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApiBuilder, RefOr, Schema};

use crate::access::{MATRIX, ScopeRule, Who};

/// The media type of every refusal.
pub(crate) const PROBLEM: &str = "application/problem+json";
/// What a refusal is, said on each operation's `4XX`.
pub(crate) const REFUSED: &str =
    "Refused: a problem+json body with a stable `code` and a `message` in the caller's language";

/// A string the server trims and then needs non-empty: at least one non-space character.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const NOT_BLANK: &str = "\\S";
/// A Kazakh mobile number in E.164 (the server also takes `8 7XX …` and spaces, which the
/// contract does not promise).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const PHONE_PATTERN: &str = "^\\+7[67][0-9]{9}$";
/// A latitude and a longitude in range, in decimal degrees.
pub(crate) const LAT_PATTERN: &str = "-?([0-8]?[0-9](\\.[0-9]{1,8})?|90(\\.0{1,8})?)";
pub(crate) const LON_PATTERN: &str =
    "-?((1[0-7][0-9]|[0-9]?[0-9])(\\.[0-9]{1,8})?|180(\\.0{1,8})?)";
/// A transport code: the 3 to 8 digits on the sticker inside the bus.
pub(crate) const TRANSPORT_CODE_PATTERN: &str = "^[0-9]{3,8}$";
/// A plate as the server folds it (Cyrillic look-alikes to Latin): `310EKX01`. The attributes
/// state it as a literal; a test holds them to it.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const PLATE_PATTERN: &str = "^[0-9]{3}[A-Z]{2,3}[0-9]{2}$";
/// A page cursor (`service::paging::PageCursor`): a time in ms, then a ticket number of at most
/// `TICKET_NUMBER_DIGITS` digits (11: every such number is a ticket number).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const PAGE_CURSOR_PATTERN: &str = "^[0-9]{1,18}[.-][0-9]{1,11}$";
/// A transport card's number: its 16 digits.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const CARD_PATTERN: &str = "^[0-9]{16}$";

/// The language of messages, a query parameter of most operations.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by the extractor `Lang`; here only for its documentation
pub(crate) struct LangQuery {
    /// Language of messages: `kk`, `ru` or `en`; otherwise (absent or any other value)
    /// Accept-Language, otherwise ru
    #[param(value_type = Value, required = false, example = "kk")]
    lang: Option<String>,
}

/// The key that makes a request that moves money safe to send again.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // read by the extractor `IdempotencyKeyHeader`; here for its documentation
pub(crate) struct IdempotencyKeyHeader {
    /// Chosen by the caller, one per purchase: sending it again answers as the first time
    #[param(rename = "Idempotency-Key", pattern = "^[!-~]{1,128}$")]
    key: String,
}

/// One of these strings.
/// What a ticket is bound to (`domain::ticket::HolderKind::as_str`).
pub(crate) fn holder_kind() -> RefOr<Schema> {
    let words: Vec<&str> = domain::ticket::HolderKind::ALL
        .iter()
        .map(|kind| kind.as_str())
        .collect();
    one_of(&words)
}

pub(crate) fn one_of(values: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .into()
}

/// One of these strings, or null.
pub(crate) fn one_of_or_null(values: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(
            values
                .iter()
                .map(|value| Value::from(*value))
                .chain([Value::Null]),
        ))
        .into()
}

/// A file of bytes (a zip, a PDF), for the document only: such bodies are read and written as
/// bytes.
pub(crate) struct Binary;

impl utoipa::ToSchema for Binary {}

impl utoipa::PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        use utoipa::openapi::schema::{KnownFormat, SchemaFormat};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

/// How a fare was priced (`domain::fare_policy::FareBasis`).
pub(crate) fn fare_basis() -> RefOr<Schema> {
    one_of(&["full", "transfer", "capped"])
}
/// A language of messages.
pub(crate) fn language() -> RefOr<Schema> {
    one_of(&["kk", "ru", "en"])
}

/// The document as served, built once.
static DOCUMENT: LazyLock<Value> = LazyLock::new(build);

/// This document.
#[utoipa::path(get, path = "/openapi.json", summary = "This document",
    responses((status = 200, description = "OpenAPI 3.1", body = Object)))]
pub(crate) async fn document() -> Json<Value> {
    Json(DOCUMENT.clone())
}

fn build() -> Value {
    let table = crate::routes::all();
    let components = table
        .schemas
        .into_iter()
        .fold(ComponentsBuilder::new(), |components, (name, schema)| {
            components.schema(name, schema)
        })
        .schema_from::<crate::problem::ProblemBody>()
        .security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        )
        .build();
    let info = InfoBuilder::new()
        .title("SMSBUS")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Bus fares from the phone balance, signed e-tickets, controllers' checks.",
        ))
        .build();
    let openapi = OpenApiBuilder::new()
        .info(info)
        .paths(table.paths)
        .components(Some(components))
        .build();
    let document = serde_json::to_value(&openapi).unwrap_or(Value::Null);
    with_edge_refusals(with_access(with_refusals(refined(document))))
}

/// What a field's attribute cannot say: constraints across the fields of a body, merged into
/// its schema by name.
fn refinements() -> [(&'static str, Value); 2] {
    [
        (
            "BuyBody",
            json!({"oneOf": [{"required": ["transport_code"], "properties": {"transport_code": {"type": "string"}}},
                             {"required": ["plate"], "properties": {"plate": {"type": "string"}}}]}),
        ),
        // What a GPS without a fix reports.
        (
            "PassengerFix",
            json!({"not": {"required": ["lat", "lon"], "properties": {"lat": {"const": 0}, "lon": {"const": 0}}}}),
        ),
    ]
}

/// Operations whose body may be left out: what `request_body` cannot say (an `Option` there
/// makes the body's schema nullable, and a `null` body is refused).
const OPTIONAL_BODIES: [(&str, &str); 1] = [("/v1/admin/staff/{login}/reset-password", "post")];

/// The document with its refinements, and without utoipa's operation ids (a handler's name,
/// which two modules may share).
fn refined(mut document: Value) -> Value {
    for (name, refinement) in refinements() {
        if let (Some(schema), Value::Object(refinement)) = (
            document
                .pointer_mut(&format!("/components/schemas/{name}"))
                .and_then(Value::as_object_mut),
            refinement,
        ) {
            schema.extend(refinement);
        }
    }
    for (path, method, operation) in operations(&mut document) {
        let optional_body = OPTIONAL_BODIES.contains(&(path.as_str(), method.as_str()));
        if let Some(operation) = operation.as_object_mut() {
            operation.remove("operationId");
            if let (true, Some(body)) = (
                optional_body,
                operation
                    .get_mut("requestBody")
                    .and_then(Value::as_object_mut),
            ) {
                body.insert("required".into(), Value::Bool(false));
            }
        }
    }
    document
}

/// All operations of the document, mutable.
fn operations(document: &mut Value) -> impl Iterator<Item = (&String, &String, &mut Value)> {
    document
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.iter_mut())
        .filter_map(|(path, item)| item.as_object_mut().map(|item| (path, item)))
        .flat_map(|(path, item)| item.iter_mut().map(move |(method, op)| (path, method, op)))
}

/// Every operation may be refused with a problem: `4XX` says so where the operation does not.
fn with_refusals(mut document: Value) -> Value {
    for (_, _, operation) in operations(&mut document) {
        if let Some(responses) = operation
            .get_mut("responses")
            .and_then(Value::as_object_mut)
        {
            responses.entry("4XX").or_insert_with(|| {
                json!({"description": REFUSED,
                       "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}})
            });
        }
    }
    document
}

/// Who may call each operation, from its row of the access matrix; `403` where a staff role
/// may be refused.
fn with_access(mut document: Value) -> Value {
    for (path, method, operation) in operations(&mut document) {
        let Some(rule) = MATRIX
            .iter()
            .find(|rule| rule.path == path && rule.method.eq_ignore_ascii_case(method))
        else {
            continue;
        };
        let Some(operation) = operation.as_object_mut() else {
            continue;
        };
        let who = match rule.who {
            Who::Public => "anyone".to_owned(),
            Who::Passenger => "a signed-in passenger".to_owned(),
            Who::FeedToken => "a live-feed token".to_owned(),
            Who::Bank => "a bank: from its allowed networks, with its secret".to_owned(),
            Who::Machine(kind) => format!("a `{}` machine credential", kind.as_str()),
            Who::Staff(roles) => format!(
                "staff: {}",
                roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let scope = match rule.scope {
            ScopeRule::Unscoped => "",
            ScopeRule::CarrierInPath(_) => "; scoped to the account's carriers",
            ScopeRule::CityInPath(_) => "; scoped to the account's cities",
            ScopeRule::VehicleInBody => "; scoped to the vehicle's city or carrier",
            ScopeRule::Own => "; one's own (an admin: anyone's)",
            ScopeRule::CityOfObject => "; scoped to the city of the object named",
        };
        operation.insert("x-access".into(), json!(format!("{who}{scope}")));
        if let (Who::Staff(_), Some(responses)) = (
            rule.who,
            operation
                .get_mut("responses")
                .and_then(Value::as_object_mut),
        ) {
            responses.insert(
                "403".into(),
                json!({"description": "ROLE_FORBIDDEN (the role may not), SCOPE_FORBIDDEN (another city or carrier) or CSRF_TOKEN_INVALID (a cookie session without its CSRF token)",
                       "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}),
            );
        }
    }
    document
}

/// Every operation may be refused with 429 (`Retry-After`), and every one that needs a
/// credential with 401 (`WWW-Authenticate`): both are added here to each operation.
fn with_edge_refusals(mut document: Value) -> Value {
    let headers = json!({
        "WWW-Authenticate": {"description": "`Bearer realm=\"smsbus\"`, with `error=\"invalid_token\"` when a credential was sent",
                             "schema": {"type": "string"}},
        "Retry-After": {"description": "Seconds until the client may try again", "schema": {"type": "integer", "minimum": 1}}});
    let responses = json!({
        "Unauthorized": {"description": "No valid credential (problem+json)",
            "headers": {"WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}},
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}},
        "RateLimited": {"description": "Too many requests or connections from this client (problem+json)",
            "headers": {"Retry-After": {"$ref": "#/components/headers/Retry-After"}},
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}});
    if let Some(components) = document
        .get_mut("components")
        .and_then(Value::as_object_mut)
    {
        components.insert("headers".into(), headers);
        components.insert("responses".into(), responses);
    }
    for (_, _, operation) in operations(&mut document) {
        let secured = operation.get("security").is_some();
        let Some(responses) = operation
            .get_mut("responses")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        responses.insert(
            "429".into(),
            json!({"$ref": "#/components/responses/RateLimited"}),
        );
        if secured || responses.contains_key("401") {
            responses.insert(
                "401".into(),
                json!({"$ref": "#/components/responses/Unauthorized"}),
            );
        }
    }
    document
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn document() -> Value {
        super::DOCUMENT.clone()
    }

    /// The cursor's pattern admits exactly the ticket numbers there are: every number of
    /// `TICKET_NUMBER_DIGITS` digits, none longer (a longer one is refused with 400).
    #[test]
    fn the_page_cursor_pattern_admits_exactly_the_ticket_numbers() {
        let digits = domain::ticket::TICKET_NUMBER_DIGITS;
        assert!(super::PAGE_CURSOR_PATTERN.ends_with(&format!("[0-9]{{1,{digits}}}$")));
        assert_eq!(
            domain::ticket::TICKET_NUMBER_MAX,
            10_u64.pow(u32::try_from(digits).unwrap()) - 1
        );
    }

    /// A pattern is a literal in its attribute (utoipa takes no constant there): each is the
    /// named one.
    #[test]
    fn parameters_and_fields_have_the_named_patterns() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        let fields = [
            ("BuyBody", "transport_code", super::TRANSPORT_CODE_PATTERN),
            ("BuyBody", "plate", super::PLATE_PATTERN),
            ("BuyBody", "card", super::CARD_PATTERN),
            ("CloseBody", "into", super::CARD_PATTERN),
            ("Card", "number", super::CARD_PATTERN),
            ("CodeBody", "phone", super::PHONE_PATTERN),
            ("SessionBody", "phone", super::PHONE_PATTERN),
            (
                "TrackerBody",
                "transport_code",
                super::TRANSPORT_CODE_PATTERN,
            ),
            (
                "InspectBody",
                "transport_code",
                super::TRANSPORT_CODE_PATTERN,
            ),
            ("InspectBody", "holder_phone", super::PHONE_PATTERN),
            ("InspectBody", "holder_card", super::CARD_PATTERN),
            ("TicketHolder", "card", super::CARD_PATTERN),
            ("RevokeBody", "reason", super::NOT_BLANK),
            ("IncomingSms", "sender", super::PHONE_PATTERN),
            ("OfficeReason", "reason", super::NOT_BLANK),
            (
                "NewVehicle",
                "transport_code",
                super::TRANSPORT_CODE_PATTERN,
            ),
            (
                "SyncedCheck",
                "transport_code",
                super::TRANSPORT_CODE_PATTERN,
            ),
        ];
        for (schema, field, expected) in fields {
            assert_eq!(
                schemas[schema]["properties"][field]["pattern"], expected,
                "{schema}.{field}"
            );
        }
        let pattern = |path: &str, method: &str, name: &str| {
            doc["paths"][path][method]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .unwrap()["schema"]["pattern"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let named = [
            (
                "/v1/rides",
                "post",
                "Idempotency-Key",
                "^[!-~]{1,128}$", // 1 to 128 visible ASCII characters
            ),
            (
                "/v1/rides/quote",
                "get",
                "transport_code",
                super::TRANSPORT_CODE_PATTERN,
            ),
            ("/v1/rides/quote", "get", "plate", super::PLATE_PATTERN),
            (
                "/v1/tickets/history",
                "get",
                "cursor",
                super::PAGE_CURSOR_PATTERN,
            ),
            (
                "/v1/controller/invalidations",
                "get",
                "after",
                super::PAGE_CURSOR_PATTERN,
            ),
            ("/v1/cities/{city}/search", "get", "q", super::NOT_BLANK),
            (
                "/v1/staff/passengers/{phone}/tickets",
                "get",
                "phone",
                super::PHONE_PATTERN,
            ),
            (
                "/v1/staff/passengers/{phone}/tickets",
                "get",
                "cursor",
                super::PAGE_CURSOR_PATTERN,
            ),
        ];
        for (path, method, name, expected) in named {
            assert_eq!(
                pattern(path, method, name),
                expected,
                "{method} {path} {name}"
            );
        }
    }

    #[test]
    fn every_route_is_documented() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut documented: Vec<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .map(|method| (method.to_ascii_uppercase(), path.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        documented.sort_unstable();
        let mut routes: Vec<(String, String)> = crate::declared_routes()
            .into_iter()
            .map(|(m, p)| (m.to_owned(), p))
            .collect();
        routes.sort_unstable();
        assert_eq!(documented, routes);
        for (method, path) in &routes {
            let operation = &doc["paths"][path.as_str()][method.to_ascii_lowercase()];
            assert!(operation["x-access"].is_string(), "{method} {path}");
        }
    }

    /// Two wire types never share a component's name: the document would keep one of them
    /// and describe the other's answers wrongly.
    #[test]
    fn no_two_schemas_share_a_name() {
        let mut seen = std::collections::BTreeMap::new();
        for (name, schema) in crate::routes::all().schemas {
            let schema = serde_json::to_value(schema).unwrap();
            if let Some(earlier) = seen.insert(name.clone(), schema.clone()) {
                assert_eq!(earlier, schema, "two schemas are named {name}");
            }
        }
    }

    /// Every `$ref` names a component that is there.
    #[test]
    fn every_reference_resolves() {
        fn walk(value: &Value, doc: &Value) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(target)) = map.get("$ref") {
                        let pointer = target.trim_start_matches('#');
                        assert!(doc.pointer(pointer).is_some(), "{target}");
                    }
                    map.values().for_each(|v| walk(v, doc));
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, doc)),
                _ => {}
            }
        }
        let doc = document();
        walk(&doc, &doc);
    }

    /// What `.ci/contract-test` (Schemathesis) found once, kept here so it cannot come back
    /// without a build failing: bodies the server reads strictly say so, fields the server
    /// leaves null are nullable, and a read answers 200, not 201.
    #[test]
    fn the_document_tells_what_the_server_refuses_and_returns() {
        let doc = document();
        let resolve = |schema: &Value| -> Value {
            match schema["$ref"].as_str() {
                Some(target) => doc
                    .pointer(target.trim_start_matches('#'))
                    .cloned()
                    .unwrap_or(Value::Null),
                None => schema.clone(),
            }
        };
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let body =
                    resolve(&operation["requestBody"]["content"]["application/json"]["schema"]);
                if body.is_object() && path != "/v1/admin/catalogue" {
                    assert_eq!(
                        body["additionalProperties"], false,
                        "{method} {path}: the server refuses unknown fields"
                    );
                }
            }
        }
        let ride = &doc["paths"]["/v1/rides/{ride_id}"]["get"]["responses"];
        assert!(ride["200"].is_object() && ride["201"].is_null());
        let vehicle = &doc["components"]["schemas"]["LiveVehicle"]["properties"];
        for field in ["transport_code", "plate", "feed_vehicle"] {
            assert_eq!(vehicle[field]["type"][1], "null", "{field}");
        }
        let page = &doc["paths"]["/t/{link_code}"]["get"]["responses"]["404"]["content"];
        assert!(page["text/html"].is_object());
    }

    #[test]
    fn refusals_at_the_edge_are_documented_with_their_headers() {
        let doc = document();
        let headers = &doc["components"]["responses"];
        assert!(headers["Unauthorized"]["headers"]["WWW-Authenticate"].is_object());
        assert!(headers["RateLimited"]["headers"]["Retry-After"].is_object());
        let mut secured = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let responses = &operation["responses"];
                assert_eq!(
                    responses["429"]["$ref"], "#/components/responses/RateLimited",
                    "{method} {path}"
                );
                if operation.get("security").is_some() {
                    secured += 1;
                    assert_eq!(
                        responses["401"]["$ref"], "#/components/responses/Unauthorized",
                        "{method} {path}"
                    );
                }
            }
        }
        assert!(secured > 10, "{secured} secured operations");
    }
}
