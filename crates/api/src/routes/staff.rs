//! Staff accounts over HTTP: sign-in (`POST /v1/staff/session`: a bearer token, or the web
//! apps' `__Host-` cookie with its CSRF token), sign-out, the caller's own account, password
//! and sessions; the admin's accounts and machine credentials; a carrier's own vehicles (the
//! first carrier-scoped read).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::ErrorCode;
use domain::staff::{Role, Scope};
use serde::{Deserialize, Serialize};
use service::staff::accounts::{Account, NewAccount};
use service::staff::credentials::{Credential, MachineKind};
use service::staff::sign_in::{SessionInfo, SessionKind, SignIn};

use crate::extract::{ApiJson, ClientAddr, Lang, STAFF_COOKIE, Staff};
use crate::keys_wire::rfc3339_ms;
use crate::problem::{ApiResult, Problem};

pub(crate) fn routes(table: super::Table) -> super::Table {
    table
        .post("/v1/staff/session", sign_in)
        .delete("/v1/staff/session", sign_out)
        .get("/v1/staff/me", me)
        .post("/v1/staff/password", change_password)
        .get("/v1/staff/sessions", own_sessions)
        .delete("/v1/staff/sessions/{id}", end_session)
        .get("/v1/admin/staff", list_accounts)
        .post("/v1/admin/staff", add_account)
        .post("/v1/admin/staff/{login}/reset-password", reset_password)
        .post("/v1/admin/staff/{login}/disable", disable)
        .post("/v1/admin/staff/{login}/enable", enable)
        .get("/v1/admin/staff/{login}/sessions", sessions_of)
        .get("/v1/admin/credentials", list_credentials)
        .post("/v1/admin/credentials", add_credential)
        .post("/v1/admin/credentials/{id}/revoke", revoke_credential)
        .get("/v1/carriers/{carrier}/vehicles", carrier_vehicles)
        .get("/v1/staff/passengers/{phone}/tickets", passenger_tickets)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignInBody {
    login: String,
    password: String,
    /// The authenticator app's six digits (required for admins).
    #[serde(default)]
    totp: Option<String>,
    /// A cookie session for a web app instead of a bearer token.
    #[serde(default)]
    cookie: bool,
}

#[derive(Serialize)]
pub(crate) struct AccountOut {
    login: String,
    role: &'static str,
    cities: Vec<String>,
    carriers: Vec<String>,
    totp_enrolled: bool,
    disabled: bool,
    created_at: String,
}

fn account_out(a: Account) -> AccountOut {
    AccountOut {
        login: a.login,
        role: a.role.as_str(),
        cities: a.scope.cities,
        carriers: a.scope.carriers,
        totp_enrolled: a.totp_enrolled,
        disabled: a.disabled,
        created_at: rfc3339_ms(a.created_at_ms),
    }
}

#[derive(Serialize)]
pub(crate) struct SessionOut {
    /// The bearer token, shown once; absent for a cookie session (the cookie holds it).
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    /// Send it back as `X-CSRF-Token` on every state-changing request made with the cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf_token: Option<String>,
    session_id: String,
    expires_at: String,
    account: AccountOut,
}

/// The cookie of a session: `__Host-`, HttpOnly, Secure, SameSite=Strict, for its lifetime.
fn session_cookie(token: &str, max_age_s: i64) -> Result<HeaderValue, Problem> {
    HeaderValue::from_str(&format!(
        "{STAFF_COOKIE}={token}; Path=/; Max-Age={max_age_s}; HttpOnly; Secure; SameSite=Strict"
    ))
    .map_err(|_| Problem::new(ErrorCode::Internal, domain::Language::En))
}

pub(crate) async fn sign_in(
    State(state): State<crate::State>,
    ClientAddr(client): ClientAddr,
    Lang(language): Lang,
    ApiJson(body): ApiJson<SignInBody>,
) -> ApiResult<Response> {
    let kind = if body.cookie {
        SessionKind::Cookie
    } else {
        SessionKind::Bearer
    };
    let opened = service::staff::sign_in::sign_in(
        &state.app,
        &SignIn {
            login: &body.login,
            password: &body.password,
            totp: body.totp.as_deref(),
            kind,
            address: client,
        },
    )
    .await
    .map_err(|e| Problem::from_service(e, language))?;
    let out = SessionOut {
        token: (kind == SessionKind::Bearer).then(|| opened.token.clone()),
        csrf_token: (kind == SessionKind::Cookie).then(|| opened.csrf.clone()),
        session_id: opened.id,
        expires_at: rfc3339_ms(opened.expires_at_ms),
        account: account_out(opened.account),
    };
    let mut response = (StatusCode::CREATED, Json(out)).into_response();
    if kind == SessionKind::Cookie {
        let max_age = service::staff::sign_in::SESSION_TTL_MS / 1_000;
        response
            .headers_mut()
            .insert(header::SET_COOKIE, session_cookie(&opened.token, max_age)?);
    }
    Ok(response)
}

pub(crate) async fn sign_out(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
) -> ApiResult<Response> {
    service::staff::sign_in::sign_out(&state.app, &caller.caller)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if caller.caller.kind == SessionKind::Cookie {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, session_cookie("", 0)?);
    }
    Ok(response)
}

#[derive(Serialize)]
pub(crate) struct Me {
    session_id: String,
    session_kind: &'static str,
    #[serde(flatten)]
    account: AccountOut,
}

pub(crate) async fn me(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
) -> ApiResult<Json<Me>> {
    let account = service::staff::accounts::get(&state.app, &caller.actor.name)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Me {
        session_id: caller.caller.session_id,
        session_kind: caller.caller.kind.as_str(),
        account: account_out(account),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordBody {
    current: String,
    new: String,
}

/// The owner changes their password; every session of theirs ends, this one too.
pub(crate) async fn change_password(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<StatusCode> {
    service::staff::accounts::change_password(&state.app, &caller.actor, &body.current, &body.new)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub(crate) struct SessionsOut {
    sessions: Vec<SessionItem>,
}

#[derive(Serialize)]
struct SessionItem {
    id: String,
    login: String,
    kind: String,
    address: String,
    created_at: String,
    last_used_at: String,
    expires_at: String,
    current: bool,
}

fn sessions_out(list: Vec<SessionInfo>, current: &str) -> SessionsOut {
    SessionsOut {
        sessions: list
            .into_iter()
            .map(|s| SessionItem {
                current: s.id == current,
                id: s.id,
                login: s.login,
                kind: s.kind,
                address: s.address,
                created_at: rfc3339_ms(s.created_at_ms),
                last_used_at: rfc3339_ms(s.last_used_at_ms),
                expires_at: rfc3339_ms(s.expires_at_ms),
            })
            .collect(),
    }
}

pub(crate) async fn own_sessions(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
) -> ApiResult<Json<SessionsOut>> {
    let list = service::staff::sign_in::sessions(&state.app, &caller.actor.name)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(sessions_out(list, &caller.caller.session_id)))
}

/// Ends a session: the caller's own, or (an admin) anyone's.
pub(crate) async fn end_session(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    service::staff::sign_in::end_session(&state.app, &caller.actor, &id)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub(crate) struct AccountsOut {
    accounts: Vec<AccountOut>,
}

pub(crate) async fn list_accounts(
    State(state): State<crate::State>,
    _caller: Staff,
    Lang(language): Lang,
) -> ApiResult<Json<AccountsOut>> {
    let list = service::staff::accounts::list(&state.app)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(AccountsOut {
        accounts: list.into_iter().map(account_out).collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewAccountBody {
    login: String,
    role: String,
    #[serde(default)]
    cities: Vec<String>,
    #[serde(default)]
    carriers: Vec<String>,
    /// Generated when absent (and shown once in the answer).
    #[serde(default)]
    password: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct CreatedOut {
    account: AccountOut,
    password: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    totp_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    otpauth_uri: Option<String>,
}

pub(crate) async fn add_account(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    ApiJson(body): ApiJson<NewAccountBody>,
) -> ApiResult<(StatusCode, Json<CreatedOut>)> {
    let role = Role::parse(&body.role).ok_or_else(|| {
        Problem::new(ErrorCode::StaffAccountInvalid, language)
            .detail("role: admin, office, carrier, controller or support")
    })?;
    let created = service::staff::accounts::add(
        &state.app,
        &caller.actor,
        NewAccount {
            login: body.login,
            role,
            scope: Scope {
                cities: body.cities,
                carriers: body.carriers,
            },
            password: body.password,
        },
    )
    .await
    .map_err(|e| Problem::from_service(e, language))?;
    let uri = created.totp_secret.as_deref().map(|secret| {
        domain::staff::otpauth_uri(
            "SMSBUS",
            &created.account.login,
            &domain::staff::base32_decode(secret).unwrap_or_default(),
        )
    });
    Ok((
        StatusCode::CREATED,
        Json(CreatedOut {
            account: account_out(created.account),
            password: created.password,
            totp_secret: created.totp_secret,
            otpauth_uri: uri,
        }),
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResetBody {
    #[serde(default)]
    password: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct ResetOut {
    login: String,
    password: String,
}

/// An admin sets a new password (given or generated); the account's sessions end.
pub(crate) async fn reset_password(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(login): Path<String>,
    body: String,
) -> ApiResult<Json<ResetOut>> {
    let body: ResetBody = if body.trim().is_empty() {
        ResetBody::default()
    } else {
        serde_json::from_str(&body)
            .map_err(|e| Problem::new(ErrorCode::BadRequest, language).detail(e.to_string()))?
    };
    let password = body.password;
    let password =
        service::staff::accounts::reset_password(&state.app, &caller.actor, &login, password)
            .await
            .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(ResetOut { login, password }))
}

async fn set_disabled(
    state: &crate::State,
    caller: &Staff,
    language: domain::Language,
    login: &str,
    disabled: bool,
) -> ApiResult<Json<AccountOut>> {
    let account =
        service::staff::accounts::set_disabled(&state.app, &caller.actor, login, disabled)
            .await
            .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(account_out(account)))
}

pub(crate) async fn disable(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(login): Path<String>,
) -> ApiResult<Json<AccountOut>> {
    set_disabled(&state, &caller, language, &login, true).await
}

pub(crate) async fn enable(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(login): Path<String>,
) -> ApiResult<Json<AccountOut>> {
    set_disabled(&state, &caller, language, &login, false).await
}

pub(crate) async fn sessions_of(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(login): Path<String>,
) -> ApiResult<Json<SessionsOut>> {
    service::staff::accounts::get(&state.app, &login)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let list = service::staff::sign_in::sessions(&state.app, &login)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(sessions_out(list, &caller.caller.session_id)))
}

#[derive(Serialize)]
pub(crate) struct CredentialOut {
    id: String,
    kind: String,
    partner: String,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_at: Option<String>,
    /// Shown once, when created.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

fn credential_out(c: Credential, secret: Option<String>) -> CredentialOut {
    CredentialOut {
        id: c.id,
        kind: c.kind,
        partner: c.partner,
        created_at: rfc3339_ms(c.created_at_ms),
        revoked_at: c.revoked_at_ms.map(rfc3339_ms),
        secret,
    }
}

#[derive(Serialize)]
pub(crate) struct CredentialsOut {
    credentials: Vec<CredentialOut>,
}

pub(crate) async fn list_credentials(
    State(state): State<crate::State>,
    _caller: Staff,
    Lang(language): Lang,
) -> ApiResult<Json<CredentialsOut>> {
    let list = service::staff::credentials::list(&state.app)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(CredentialsOut {
        credentials: list.into_iter().map(|c| credential_out(c, None)).collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewCredentialBody {
    /// `sms_gateway` or `metrics`.
    kind: String,
    partner: String,
}

pub(crate) async fn add_credential(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    ApiJson(body): ApiJson<NewCredentialBody>,
) -> ApiResult<(StatusCode, Json<CredentialOut>)> {
    let kind = MachineKind::parse(&body.kind).ok_or_else(|| {
        Problem::new(ErrorCode::BadRequest, language).detail("kind: sms_gateway or metrics")
    })?;
    let (credential, secret) =
        service::staff::credentials::add(&state.app, &caller.actor, kind, &body.partner, None)
            .await
            .map_err(|e| Problem::from_service(e, language))?;
    Ok((
        StatusCode::CREATED,
        Json(credential_out(credential, Some(secret))),
    ))
}

pub(crate) async fn revoke_credential(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    service::staff::credentials::revoke(&state.app, &caller.actor, &id)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub(crate) struct CarrierVehicles {
    carrier: String,
    /// The carrier's city and name (the routes its vehicles may run are that city's).
    city: String,
    name: String,
    vehicles: Vec<VehicleOut>,
}

#[derive(Serialize)]
struct VehicleOut {
    transport_code: String,
    plate: String,
    route: String,
    active: bool,
}

/// A carrier's vehicles from the catalogue; another carrier's manager is refused with
/// `SCOPE_FORBIDDEN` (the access matrix's `CarrierInPath`), an unknown carrier is 404.
pub(crate) async fn carrier_vehicles(
    State(state): State<crate::State>,
    _caller: Staff,
    Lang(language): Lang,
    Path(carrier): Path<String>,
) -> ApiResult<Json<CarrierVehicles>> {
    let catalogue = state.app.catalogue();
    let Some(found) = catalogue
        .carriers
        .values()
        .find(|c| c.id.as_str() == carrier)
    else {
        return Err(Problem::new(ErrorCode::NotFound, language).detail("no such carrier"));
    };
    let (city, name) = (found.city.as_str().to_owned(), found.name.clone());
    let vehicles = catalogue
        .vehicles
        .values()
        .filter(|v| v.carrier.as_str() == carrier)
        .map(|v| VehicleOut {
            transport_code: v.code.as_str().to_owned(),
            plate: v.plate.as_str().to_owned(),
            route: v.route.as_str().to_owned(),
            active: v.active,
        })
        .collect();
    Ok(Json(CarrierVehicles {
        carrier,
        city,
        name,
        vehicles,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TicketsQuery {
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

/// A passenger's ticket as staff see it: no token and no link, so nobody can show it.
#[derive(Serialize)]
pub(crate) struct StaffTicket {
    number: i64,
    check_number: String,
    city: String,
    route_number: String,
    transport_code: String,
    plate: String,
    rider_category: String,
    fare: super::wire::Money,
    issued_at: String,
    status: String,
    /// The last four digits of the card that paid; absent: the phone balance.
    #[serde(skip_serializing_if = "Option::is_none")]
    card_last_four: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct StaffTicketList {
    tickets: Vec<StaffTicket>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// Support, the office and admins read a passenger's tickets (the office: of its cities).
pub(crate) async fn passenger_tickets(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(phone): Path<String>,
    crate::extract::ApiQuery(query): crate::extract::ApiQuery<TicketsQuery>,
) -> ApiResult<Json<StaffTicketList>> {
    let phone = domain::PhoneNumber::parse(&phone)
        .map_err(|_| Problem::new(ErrorCode::PhoneMalformed, language))?;
    let cursor = query
        .cursor
        .as_deref()
        .map(service::paging::PageCursor::parse)
        .transpose()
        .map_err(|e| Problem::from_service(e, language))?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=service::tickets::HISTORY_PAGE_MAX).contains(&limit) {
        return Err(
            Problem::new(ErrorCode::BadRequest, language).detail(format!(
                "limit must be 1..={}",
                service::tickets::HISTORY_PAGE_MAX
            )),
        );
    }
    let page = service::staff::passenger_tickets(&state.app, &caller.actor, &phone, cursor, limit)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(StaffTicketList {
        tickets: page
            .tickets
            .iter()
            .map(|t| StaffTicket {
                number: i64::from(t.number),
                check_number: t.check_number.clone(),
                city: t.city_id.clone(),
                route_number: t.route_number.clone(),
                transport_code: t.transport_code.clone(),
                plate: t.plate.clone(),
                rider_category: t.rider_category.clone(),
                fare: super::wire::Money::of(t.amount),
                issued_at: rfc3339_ms(t.issued_at_ms),
                status: t.shown_status().into(),
                card_last_four: t.card_last_four.clone(),
            })
            .collect(),
        next_cursor: page.next.map(|c| c.render()),
    }))
}
