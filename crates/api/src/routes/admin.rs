//! The system operator's endpoints: the catalogue, key rotation, the ledger and recovery.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::wire::Money;
use crate::extract::{Lang, Staff};
use crate::keys_wire::{KeyListDto, to_dto};
use crate::problem::{ApiResult, Problem};

#[derive(Serialize)]
pub(crate) struct CatalogueSummary {
    cities: usize,
    routes: usize,
    vehicles: usize,
    fare_rules: usize,
    operator_prefixes: usize,
}

/// Upserts a catalogue file (the same JSON as `smsbus catalogue load`).
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

#[derive(Serialize)]
pub(crate) struct Ledger {
    balanced: bool,
    totals: Vec<Total>,
    accounts: Vec<Balance>,
}

#[derive(Serialize)]
struct Total {
    layer: String,
    sum: Money,
}

#[derive(Serialize)]
struct Balance {
    account: String,
    layer: String,
    balance: Money,
}

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

#[derive(Serialize)]
pub(crate) struct Recovery {
    examined: usize,
    issued: usize,
    failed: usize,
    still_open: usize,
    /// Card top-ups whose callback never came, settled by the acquirer's status.
    top_ups: TopUpRecovery,
}

#[derive(Serialize)]
pub(crate) struct TopUpRecovery {
    examined: usize,
    paid: usize,
    failed: usize,
    still_open: usize,
}

/// Settles every ride in doubt and every open card top-up now, whatever its age.
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

#[derive(serde::Deserialize)]
pub(crate) struct AuditQuery {
    actor: Option<String>,
    object: Option<String>,
    /// RFC 3339.
    since: Option<String>,
    until: Option<String>,
    /// Entries before this position: the previous page's last `seq`.
    before: Option<i64>,
}

#[derive(Serialize)]
pub(crate) struct AuditPage {
    entries: Vec<AuditEntryOut>,
    /// Ask with `before=<next>` for the older entries; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<i64>,
}

#[derive(Serialize)]
pub(crate) struct AuditEntryOut {
    seq: i64,
    at: String,
    actor: String,
    address: String,
    action: String,
    object: String,
    before: String,
    after: String,
}

/// The audit trail, newest first, by actor, object and time range.
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

#[derive(Serialize)]
pub(crate) struct AuditCheck {
    intact: bool,
    entries: i64,
    /// Where the chain breaks, when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    broken: Option<String>,
}

/// Walks the audit trail's hash chain.
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
        .get("/v1/admin/catalogue", get_catalogue)
        .get("/v1/admin/banks", list_banks)
        .post_limited(
            "/v1/admin/cities/{city}/gtfs",
            import_gtfs,
            crate::GTFS_UPLOAD_BYTES_MAX,
        )
}

/// The stored catalogue as a catalogue file: what `PUT /v1/admin/catalogue` takes back.
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

#[derive(Serialize)]
pub(crate) struct BankList {
    banks: Vec<BankStateOut>,
}

#[derive(Serialize)]
pub(crate) struct BankStateOut {
    id: String,
    name: String,
    dialect: &'static str,
    networks: String,
    /// The secret is kept as a digest only and never shown; this says one is set.
    secret_set: bool,
    updated_at: String,
    payments: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_payment_at: Option<String>,
}

/// The banks configured, their networks and how much they have paid; secrets never.
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

#[derive(Serialize)]
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
    problems_by_kind: std::collections::BTreeMap<&'static str, u64>,
    /// The first problems, each with its file, line and field.
    problems: Vec<GtfsProblemOut>,
}

#[derive(Serialize)]
struct GtfsProblemOut {
    kind: &'static str,
    text: String,
}

/// Replaces a city's GTFS feed with the uploaded zip (at most `GTFS_UPLOAD_BYTES_MAX`); a fatal
/// problem refuses it with its file, line and field and leaves the previous feed in place.
pub(crate) async fn import_gtfs(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    axum::extract::Path(city): axum::extract::Path<String>,
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
