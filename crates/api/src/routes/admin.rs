//! The system operator's endpoints: the catalogue, key rotation, the ledger and recovery.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::wire::Money;
use crate::extract::{Admin, Lang};
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
    _caller: Admin,
    Lang(language): Lang,
    body: String,
) -> ApiResult<Json<CatalogueSummary>> {
    let summary = service::catalogue::apply_file(&state.app, &body)
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

#[derive(serde::Deserialize)]
pub(crate) struct RotateQuery {
    /// Sign with the new key at once (the old key is compromised) instead of after the lead.
    #[serde(default)]
    immediately: bool,
}

pub(crate) async fn rotate_keys(
    State(state): State<crate::State>,
    _caller: Admin,
    Lang(language): Lang,
    crate::extract::ApiQuery(query): crate::extract::ApiQuery<RotateQuery>,
) -> ApiResult<Json<KeyListDto>> {
    let when = if query.immediately {
        service::keys::Rotation::Immediately
    } else {
        service::keys::Rotation::Scheduled
    };
    let new = service::keys::rotate(&state.app, when)
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
    _caller: Admin,
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
}

/// Settles every ride in doubt now, whatever its age.
pub(crate) async fn run_recovery(
    State(state): State<crate::State>,
    _caller: Admin,
    Lang(language): Lang,
) -> ApiResult<Json<Recovery>> {
    let report = service::recovery::settle_unsettled(&state.app, 0)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Recovery {
        examined: report.examined,
        issued: report.issued,
        failed: report.failed,
        still_open: report.still_open,
    }))
}
