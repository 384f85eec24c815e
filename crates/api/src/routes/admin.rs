//! The system operator's endpoints: the catalogue, key rotation, the ledger, recovery, the
//! audit trail, the banks and a city's GTFS feed.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa_axum::routes;

use super::wire::{CityPath, Money};
use crate::extract::{Lang, Staff};
use crate::keys_wire::{KeyListDto, to_dto};
use crate::problem::{ApiResult, Problem};

/// What the catalogue holds after the upsert.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct CatalogueSummary {
    cities: usize,
    routes: usize,
    vehicles: usize,
    fare_rules: usize,
    operator_prefixes: usize,
}

/// Upserts a catalogue file (the same JSON as `smsbus catalogue load`).
#[utoipa::path(put, path = "/v1/admin/catalogue", summary = "Upsert a catalogue file",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    request_body(content = Object,
        description = "A catalogue file (JSON: `operator_prefixes` and `cities`, as `smsbus catalogue` loads and GET answers); any flaw refuses the whole file (422)"),
    responses((status = 200, description = "Counts", body = CatalogueSummary),
        (status = 413, description = "BODY_TOO_LARGE: over the catalogue's body limit",
            body = crate::problem::ProblemBody, content_type = crate::apidoc::PROBLEM),
        (status = 422, description = "CATALOGUE_INVALID: the file's first flaw; nothing was changed",
            body = crate::problem::ProblemBody, content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn put_catalogue(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    body: String,
) -> ApiResult<Json<CatalogueSummary>> {
    let file = domain::catalogue_file::decode(&body).map_err(|e| {
        Problem::from_service(
            service::ServiceError::new(domain::ErrorCode::CatalogueInvalid, e.0),
            language,
        )
    })?;
    let summary = service::catalogue::apply_staff_file(&state.app, &caller.actor, &file)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(CatalogueSummary {
        cities: summary.cities,
        routes: summary.routes,
        vehicles: summary.vehicles,
        fare_rules: summary.fare_rules,
        operator_prefixes: summary.prefixes,
    }))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RotateQuery {
    /// Sign with the new key at once (the old key is compromised) instead of after the lead.
    #[serde(default)]
    #[param(default = false)]
    immediately: bool,
}

#[utoipa::path(post, path = "/v1/admin/keys/rotate", summary = "Start a new signing key",
    security(("bearer" = [])), params(RotateQuery, crate::apidoc::LangQuery),
    responses((status = 200, description = "The new key", body = KeyListDto)))]
pub(crate) async fn rotate_keys(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    crate::extract::ApiQuery(query): crate::extract::ApiQuery<RotateQuery>,
) -> ApiResult<Json<KeyListDto>> {
    let when = if query.immediately {
        service::keys::Rotation::Immediately
    } else {
        service::keys::Rotation::Scheduled
    };
    let new = service::keys::rotate(&state.app, &caller.actor, when)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(to_dto([&new])))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Ledger {
    /// Each layer sums to zero.
    balanced: bool,
    totals: Vec<Total>,
    /// Every account, once per layer.
    accounts: Vec<Balance>,
}

/// The sum of a layer's balances (zero when balanced).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = LedgerTotal)]
struct Total {
    #[schema(schema_with = layer)]
    layer: String,
    sum: Money,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = LedgerBalance)]
struct Balance {
    /// The account's name (`card:<number>`, `carrier:<id>`, …).
    account: String,
    #[schema(schema_with = layer)]
    layer: String,
    balance: Money,
}

fn layer() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&domain::ledger::Layer::ALL.map(domain::ledger::Layer::as_str))
}

#[utoipa::path(get, path = "/v1/admin/ledger", summary = "Ledger balances and totals",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "Balances", body = Ledger)))]
pub(crate) async fn ledger(
    State(state): State<crate::State>,
    _caller: Staff,
    Lang(language): Lang,
) -> ApiResult<Json<Ledger>> {
    let report = service::ledger::report(&state.app)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let mut accounts = Vec::with_capacity(report.accounts.len() * 2);
    for a in &report.accounts {
        for (layer, balance) in [("pending", a.pending), ("posted", a.posted)] {
            accounts.push(Balance {
                account: a.account.to_string(),
                layer: layer.to_owned(),
                balance: Money::of(balance),
            });
        }
    }
    Ok(Json(Ledger {
        balanced: report.balanced(),
        totals: report
            .totals
            .iter()
            .map(|(layer, sum)| Total {
                layer: layer.as_str().to_owned(),
                sum: Money::of(*sum),
            })
            .collect(),
        accounts,
    }))
}

/// Rides in doubt settled by the pass.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Recovery {
    examined: usize,
    issued: usize,
    failed: usize,
    still_open: usize,
    /// Card top-ups whose callback never came, settled by the acquirer's status.
    top_ups: TopUpRecovery,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TopUpRecovery {
    examined: usize,
    paid: usize,
    failed: usize,
    still_open: usize,
}

/// Settles every ride in doubt and every open card top-up now, whatever its age.
#[utoipa::path(post, path = "/v1/admin/recovery",
    summary = "Settle every ride in doubt and every open card top-up now",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "What the pass settled", body = Recovery)))]
pub(crate) async fn run_recovery(
    State(state): State<crate::State>,
    _caller: Staff,
    Lang(language): Lang,
) -> ApiResult<Json<Recovery>> {
    let report = service::recovery::settle_unsettled(&state.app, 0)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let top_ups = service::top_ups::settle_open(&state.app, 0)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Recovery {
        examined: report.examined,
        issued: report.issued,
        failed: report.failed,
        still_open: report.still_open,
        top_ups: TopUpRecovery {
            examined: top_ups.examined,
            paid: top_ups.paid,
            failed: top_ups.failed,
            still_open: top_ups.still_open,
        },
    }))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// Entries by this actor (a staff login, `cli`, …).
    actor: Option<String>,
    /// Entries about this object.
    object: Option<String>,
    /// RFC 3339.
    #[param(format = DateTime)]
    since: Option<String>,
    #[param(format = DateTime)]
    until: Option<String>,
    /// Entries before this position: the previous page's `next`.
    #[param(minimum = -9223372036854775808_i64, maximum = 9223372036854775807_i64)]
    before: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct AuditPage {
    entries: Vec<AuditEntryOut>,
    /// Ask with `before=<next>` for the older entries; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<i64>,
}

/// What a member of staff (or the command line) did.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AuditEntry)]
pub(crate) struct AuditEntryOut {
    seq: i64,
    #[schema(format = DateTime)]
    at: String,
    actor: String,
    address: String,
    action: String,
    object: String,
    before: String,
    after: String,
}

/// The audit trail, newest first, by actor, object and time range.
#[utoipa::path(get, path = "/v1/admin/audit", summary = "The audit trail of staff actions, newest first",
    security(("bearer" = [])), params(crate::apidoc::LangQuery, AuditQuery),
    responses((status = 200, description = "One page: pass `next` as `before` for older entries", body = AuditPage)))]
pub(crate) async fn audit(
    State(state): State<crate::State>,
    _caller: Staff,
    Lang(language): Lang,
    crate::extract::ApiQuery(query): crate::extract::ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let time = |field: &str, text: &Option<String>| -> Result<Option<i64>, Problem> {
        text.as_deref()
            .map(|t| {
                t.parse::<jiff::Timestamp>()
                    .map(|at| at.as_millisecond())
                    .map_err(|_| {
                        Problem::new(domain::ErrorCode::BadRequest, language)
                            .detail(format!("`{field}` is an RFC 3339 time"))
                    })
            })
            .transpose()
    };
    let filter = service::audit::Filter {
        actor: query.actor,
        object: query.object,
        since_ms: time("since", &query.since)?,
        until_ms: time("until", &query.until)?,
        before_seq: query.before,
    };
    let entries = service::audit::search(&state.app, &filter)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let full = i64::try_from(entries.len()).unwrap_or(i64::MAX) >= service::audit::PAGE_MAX;
    let next = entries.last().filter(|_| full).map(|e| e.seq);
    Ok(Json(AuditPage {
        entries: entries.into_iter().map(AuditEntryOut::of).collect(),
        next,
    }))
}

impl AuditEntryOut {
    pub(crate) fn of(e: domain::audit::Entry) -> AuditEntryOut {
        AuditEntryOut {
            seq: e.seq,
            at: crate::keys_wire::rfc3339_ms(e.at_ms),
            actor: e.actor,
            address: e.address,
            action: e.action,
            object: e.object,
            before: e.before,
            after: e.after,
        }
    }
}

/// The entries checked, or where the chain breaks.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct AuditCheck {
    intact: bool,
    /// The entries checked (0 when the chain breaks).
    entries: i64,
    /// Where the chain breaks, when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    broken: Option<String>,
}

/// Walks the audit trail's hash chain.
#[utoipa::path(get, path = "/v1/admin/audit/verify", summary = "Check the audit trail's hash chain",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "Intact, or where it breaks", body = AuditCheck)))]
pub(crate) async fn audit_verify(
    State(state): State<crate::State>,
    _caller: Staff,
    Lang(language): Lang,
) -> ApiResult<Json<AuditCheck>> {
    let check = service::audit::verify(&state.app)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(match check {
        Ok(entries) => AuditCheck {
            intact: true,
            entries,
            broken: None,
        },
        Err(broken) => AuditCheck {
            intact: false,
            entries: 0,
            broken: Some(broken.to_string()),
        },
    }))
}

pub(crate) fn routes(table: super::Table) -> super::Table {
    table
        .op(routes!(get_catalogue))
        .op(routes!(list_banks))
        .op_limited(routes!(import_gtfs), crate::GTFS_UPLOAD_BYTES_MAX)
}

/// The catalogue file's shape, for the document only: the file is read and written by
/// `domain::catalogue_file`, whose serde types are private to it; a test holds this to what
/// `encode` writes.
struct CatalogueSchema;

impl utoipa::ToSchema for CatalogueSchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "CatalogueFile".into()
    }
}

impl utoipa::PartialSchema for CatalogueSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        let text = || ObjectBuilder::new().schema_type(Type::String);
        let list = || ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::Object));
        let names = ["kk", "ru", "en"]
            .into_iter()
            .fold(ObjectBuilder::new(), |names, language| {
                names.property(language, text()).required(language)
            });
        let city = ObjectBuilder::new()
            .property("id", text())
            .property("name", names)
            .property("timezone", text())
            .property(
                "utc_offset_minutes",
                ObjectBuilder::new().schema_type(Type::Integer),
            )
            .property("fares", list())
            .property("fare_caps", list())
            .property("transfer", ObjectBuilder::new().schema_type(Type::Object))
            .property("carriers", list())
            .property("routes", list())
            .property("vehicles", list());
        let city = CATALOGUE_CITY_REQUIRED
            .into_iter()
            .fold(city, |city, field| city.required(field));
        ObjectBuilder::new()
            .description(Some(
                "A catalogue file: the operators' number prefixes and the cities with their fares, carriers, routes and vehicles",
            ))
            .property(
                "operator_prefixes",
                ObjectBuilder::new().additional_properties(Some(text())),
            )
            .property("cities", ArrayBuilder::new().items(city))
            .required("operator_prefixes")
            .required("cities")
            .into()
    }
}

/// The fields every city of a written catalogue file has.
const CATALOGUE_CITY_REQUIRED: [&str; 8] = [
    "id",
    "name",
    "timezone",
    "utc_offset_minutes",
    "fares",
    "carriers",
    "routes",
    "vehicles",
];

/// The stored catalogue as a catalogue file: what `PUT /v1/admin/catalogue` takes back.
#[utoipa::path(get, path = "/v1/admin/catalogue",
    summary = "The stored catalogue as a catalogue file (what PUT takes back)",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "The catalogue file", body = CatalogueSchema)))]
pub(crate) async fn get_catalogue(
    State(state): State<crate::State>,
    _caller: Staff,
    Lang(language): Lang,
) -> ApiResult<([(axum::http::HeaderName, &'static str); 1], String)> {
    let file = service::catalogue::current_file(&state.app)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let json = [(axum::http::header::CONTENT_TYPE, "application/json")];
    Ok((json, domain::catalogue_file::encode(&file)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct BankList {
    banks: Vec<BankStateOut>,
}

/// A bank as the console lists it: never its secret.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = BankState)]
pub(crate) struct BankStateOut {
    id: String,
    name: String,
    /// The biller protocol's dialect it speaks.
    #[schema(schema_with = dialect)]
    dialect: &'static str,
    /// The networks it calls from (comma-separated addresses or CIDR networks).
    networks: String,
    /// The secret is kept as a digest only and never shown; this says one is set.
    secret_set: bool,
    #[schema(format = DateTime)]
    updated_at: String,
    /// Payments it made.
    payments: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    last_payment_at: Option<String>,
}

fn dialect() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&domain::biller::Dialect::ALL.map(domain::biller::Dialect::as_str))
}

/// The banks configured, their networks and how much they have paid; secrets never.
#[utoipa::path(get, path = "/v1/admin/banks",
    summary = "Banks configured: dialect, networks, payments made; never a secret",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "The banks", body = BankList)))]
pub(crate) async fn list_banks(
    State(state): State<crate::State>,
    _caller: Staff,
    Lang(language): Lang,
) -> ApiResult<Json<BankList>> {
    let banks = service::banks::list(&state.app)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(BankList {
        banks: banks.into_iter().map(bank_out).collect(),
    }))
}

/// A bank as the console lists it: never its secret, only that one is set.
pub(crate) fn bank_out(b: service::banks::BankState) -> BankStateOut {
    BankStateOut {
        secret_set: !b.bank.secret_sha256.is_empty(),
        id: b.bank.id,
        name: b.bank.name,
        dialect: b.bank.dialect.as_str(),
        networks: b.bank.networks,
        updated_at: crate::keys_wire::rfc3339_ms(b.updated_at_ms),
        payments: b.payments,
        last_payment_at: b.last_payment_at_ms.map(crate::keys_wire::rfc3339_ms),
    }
}

/// Problems of an import listed in its answer, at most.
const IMPORT_PROBLEMS_SHOWN_MAX: usize = 100;

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = GtfsImport)]
pub(crate) struct GtfsImportOut {
    city: String,
    stops: usize,
    routes: usize,
    trips: usize,
    stop_times: usize,
    shapes: usize,
    services: usize,
    feed_sha256: String,
    linked_routes: Vec<String>,
    unlinked_routes: Vec<String>,
    problem_count: u64,
    /// Problems by kind (`missing value`, `bad time`, …).
    #[schema(value_type = std::collections::BTreeMap<String, u64>)]
    problems_by_kind: std::collections::BTreeMap<&'static str, u64>,
    /// The first problems (at most 100), each with its file, line and field.
    problems: Vec<GtfsProblemOut>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = GtfsProblem)]
struct GtfsProblemOut {
    kind: &'static str,
    text: String,
}

/// Replaces a city's GTFS feed with the uploaded zip (at most `GTFS_UPLOAD_BYTES_MAX`); a fatal
/// problem refuses it with its file, line and field and leaves the previous feed in place.
#[utoipa::path(post, path = "/v1/admin/cities/{city}/gtfs",
    summary = "Replace a city's GTFS feed with the uploaded zip (at most 64 MiB); a fatal problem refuses it with file, line and field and keeps the previous feed (audited)",
    security(("bearer" = [])), params(CityPath, crate::apidoc::LangQuery),
    request_body(content = inline(crate::apidoc::Binary), content_type = "application/zip"),
    responses((status = 200, description = "What was imported", body = GtfsImportOut),
        (status = 413, description = "BODY_TOO_LARGE: over 64 MiB", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn import_gtfs(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    axum::extract::Path(CityPath { city }): axum::extract::Path<CityPath>,
    body: axum::body::Bytes,
) -> ApiResult<Json<GtfsImportOut>> {
    let request = service::transit::FeedImport {
        city,
        create_city: None,
        feed: body.to_vec(),
    };
    let summary = service::transit::import_staff_feed(&state.app, &caller.actor, request)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(GtfsImportOut {
        city: summary.city.as_str().to_owned(),
        stops: summary.stops,
        routes: summary.routes,
        trips: summary.trips,
        stop_times: summary.stop_times,
        shapes: summary.shapes,
        services: summary.services,
        feed_sha256: summary.feed_sha256,
        linked_routes: summary.linked_routes,
        unlinked_routes: summary.unlinked_routes,
        problem_count: summary.report.problem_count,
        problems_by_kind: summary.problems_by_kind,
        problems: summary
            .report
            .problems
            .iter()
            .take(IMPORT_PROBLEMS_SHOWN_MAX)
            .map(|p| GtfsProblemOut {
                kind: service::transit::problem_kind(&p.problem),
                text: p.to_string(),
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    /// A catalogue file with every optional part a city may have.
    const FILE: &str = r#"{
      "operator_prefixes": {"7701": "beeline"},
      "cities": [{
        "id": "astana", "name": {"kk": "Астана", "ru": "Астана", "en": "Astana"},
        "timezone": "Asia/Almaty", "utc_offset_minutes": 300,
        "fares": [{"amount": "90"}, {"route_kind": "suburban", "zone": 2, "amount": "250.50"}],
        "fare_caps": [{"daily": "300"}],
        "transfer": {"window_minutes": 40, "amount": "0"},
        "carriers": [{"id": "park-1", "name": "Park 1"}],
        "routes": [{"id": "astana-10", "number": "10", "name": "Ten", "kind": "regular", "max_ride_minutes": 90}],
        "vehicles": [{"transport_code": "10101", "plate": "123abc01", "carrier": "park-1", "route": "astana-10"}]
      }, {
        "id": "almaty", "name": {"kk": "Алматы", "ru": "Алматы", "en": "Almaty"},
        "timezone": "Asia/Almaty", "utc_offset_minutes": 300
      }]
    }"#;

    fn keys(value: &Value) -> BTreeSet<String> {
        value.as_object().unwrap().keys().cloned().collect()
    }

    /// The documented catalogue file is the one `encode` writes: its keys at the top and in a
    /// city, and the fields every city has.
    #[test]
    fn the_documented_catalogue_file_is_the_written_one() {
        let file = domain::catalogue_file::decode(FILE).unwrap();
        let written: Value = serde_json::from_str(&domain::catalogue_file::encode(&file)).unwrap();
        let schema =
            serde_json::to_value(<super::CatalogueSchema as utoipa::PartialSchema>::schema())
                .unwrap();
        assert_eq!(keys(&written), keys(&schema["properties"]));
        let city = &schema["properties"]["cities"]["items"];
        let cities = written["cities"].as_array().unwrap();
        assert_eq!(keys(&cities[0]), keys(&city["properties"]));
        assert_eq!(
            keys(&cities[0]["name"]),
            keys(&city["properties"]["name"]["properties"])
        );
        let required: BTreeSet<String> = super::CATALOGUE_CITY_REQUIRED
            .iter()
            .map(|field| (*field).to_owned())
            .collect();
        assert_eq!(keys(&cities[1]), required);
    }
}
