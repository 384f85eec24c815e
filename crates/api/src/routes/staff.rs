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
use utoipa_axum::routes;

use crate::extract::{ApiJson, ClientAddr, Lang, STAFF_COOKIE, Staff};
use crate::keys_wire::rfc3339_ms;
use crate::problem::{ApiResult, Problem};

pub(crate) fn routes(table: super::Table) -> super::Table {
    table
        .op(routes!(sign_in, sign_out))
        .op(routes!(me))
        .op(routes!(change_password))
        .op(routes!(own_sessions))
        .op(routes!(end_session))
        .op(routes!(list_accounts, add_account))
        .op(routes!(reset_password))
        .op(routes!(disable))
        .op(routes!(enable))
        .op(routes!(sessions_of))
        .op(routes!(list_credentials, add_credential))
        .op(routes!(revoke_credential))
        .op(routes!(carrier_vehicles))
        .op(routes!(passenger_tickets))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StaffSignIn)]
pub(crate) struct SignInBody {
    login: String,
    password: String,
    /// The authenticator app's six digits (required for admins).
    #[serde(default)]
    #[schema(pattern = "^[0-9]{6}$")]
    totp: Option<String>,
    /// A cookie session for a web app instead of a bearer token.
    #[serde(default)]
    #[schema(default = false)]
    cookie: bool,
}

fn role() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&Role::ALL.map(Role::as_str))
}

fn session_kind() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&[SessionKind::Bearer.as_str(), SessionKind::Cookie.as_str()])
}

fn machine_kind() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&MachineKind::ALL.map(MachineKind::as_str))
}

/// A staff account (never its password or TOTP secret).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = StaffAccount)]
pub(crate) struct AccountOut {
    login: String,
    #[schema(schema_with = role)]
    role: &'static str,
    /// The cities it is scoped to (none: all, for the roles that need none).
    cities: Vec<String>,
    /// The carriers it is scoped to.
    carriers: Vec<String>,
    totp_enrolled: bool,
    disabled: bool,
    #[schema(format = DateTime)]
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

/// A staff session: a bearer token, or (`cookie: true`) the cookie's CSRF token.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = StaffSession)]
pub(crate) struct SessionOut {
    /// The bearer token, shown once; absent for a cookie session (the cookie holds it).
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    /// Send it back as `X-CSRF-Token` on every state-changing request made with the cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf_token: Option<String>,
    session_id: String,
    #[schema(format = DateTime)]
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

#[utoipa::path(post, path = "/v1/staff/session",
    summary = "Staff sign-in: login, password and (admins) the authenticator's code; a bearer token, or with `cookie: true` the `__Host-smsbus-staff` cookie (HttpOnly, Secure, SameSite=Strict) and its CSRF token",
    params(crate::apidoc::LangQuery), request_body = SignInBody,
    responses((status = 201, description = "Signed in", body = SessionOut,
            headers(("Set-Cookie" = String, description = "With `cookie: true`: the session's `__Host-smsbus-staff` cookie"))),
        (status = 401, description = "STAFF_SIGN_IN_FAILED (a wrong login, password or code) or STAFF_TOTP_REQUIRED (an admin without its code)", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM)))]
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

#[utoipa::path(delete, path = "/v1/staff/session", summary = "Staff sign-out: ends this session",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 204, description = "Signed out; a cookie session's cookie is cleared",
        headers(("Set-Cookie" = String, description = "For a cookie session: the cookie, emptied")))))]
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

/// The signed-in account and its session.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = StaffMe)]
pub(crate) struct Me {
    session_id: String,
    #[schema(schema_with = session_kind)]
    session_kind: &'static str,
    #[serde(flatten)]
    account: AccountOut,
}

#[utoipa::path(get, path = "/v1/staff/me", summary = "The signed-in staff account and its session",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "The account", body = Me)))]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PasswordChange)]
pub(crate) struct PasswordBody {
    current: String,
    #[schema(min_length = 12, max_length = 256)]
    new: String,
}

/// The owner changes their password; every session of theirs ends, this one too.
#[utoipa::path(post, path = "/v1/staff/password",
    summary = "Change one's own password (every session of the account ends)",
    security(("bearer" = [])), params(crate::apidoc::LangQuery), request_body = PasswordBody,
    responses((status = 204, description = "Changed")))]
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

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = StaffSessions)]
pub(crate) struct SessionsOut {
    sessions: Vec<SessionItem>,
}

/// A live session (never its token).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = StaffSessionItem)]
struct SessionItem {
    id: String,
    login: String,
    #[schema(schema_with = session_kind)]
    kind: String,
    /// The address it signed in from.
    address: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    last_used_at: String,
    #[schema(format = DateTime)]
    expires_at: String,
    /// The session of this request.
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

#[utoipa::path(get, path = "/v1/staff/sessions", summary = "One's own live sessions",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "The sessions", body = SessionsOut)))]
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

/// A staff session, or a machine credential, of the path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct IdPath {
    #[param(min_length = 1, max_length = 64)]
    id: String,
}

/// A staff account of the path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct LoginPath {
    #[param(min_length = 1, max_length = 64, example = "office-astana")]
    login: String,
}

/// Ends a session: the caller's own, or (an admin) anyone's.
#[utoipa::path(delete, path = "/v1/staff/sessions/{id}",
    summary = "End a session: one's own, or (admin) anyone's",
    security(("bearer" = [])), params(IdPath, crate::apidoc::LangQuery),
    responses((status = 204, description = "Ended"),
        (status = 404, description = "STAFF_SESSION_UNKNOWN: no such session (of the caller's)",
            body = crate::problem::ProblemBody, content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn end_session(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(IdPath { id }): Path<IdPath>,
) -> ApiResult<StatusCode> {
    service::staff::sign_in::end_session(&state.app, &caller.actor, &id)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = StaffAccounts)]
pub(crate) struct AccountsOut {
    accounts: Vec<AccountOut>,
}

#[utoipa::path(get, path = "/v1/admin/staff", summary = "Staff accounts",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "The accounts", body = AccountsOut)))]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewStaffAccount)]
pub(crate) struct NewAccountBody {
    #[schema(pattern = "^[a-z0-9._@-]{1,64}$")]
    login: String,
    #[schema(schema_with = role)]
    role: String,
    #[serde(default)]
    cities: Vec<String>,
    #[serde(default)]
    carriers: Vec<String>,
    /// Generated when absent (and shown once in the answer).
    #[serde(default)]
    #[schema(min_length = 12, max_length = 256)]
    password: Option<String>,
}

/// The account made, its password and (an admin) its TOTP secret: shown this once.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = StaffAccountCreated)]
pub(crate) struct CreatedOut {
    account: AccountOut,
    password: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    totp_secret: Option<String>,
    /// The secret as an authenticator app's QR code reads it.
    #[serde(skip_serializing_if = "Option::is_none")]
    otpauth_uri: Option<String>,
}

#[utoipa::path(post, path = "/v1/admin/staff",
    summary = "Create a staff account (the password is generated unless given; an admin gets a TOTP secret)",
    security(("bearer" = [])), params(crate::apidoc::LangQuery), request_body = NewAccountBody,
    responses((status = 201, description = "Created", body = CreatedOut),
        (status = 409, description = "STAFF_LOGIN_TAKEN: the login is another account's", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM),
        (status = 422, description = "STAFF_ACCOUNT_INVALID: a role or scope that does not fit, a city or carrier not in the catalogue",
            body = crate::problem::ProblemBody, content_type = crate::apidoc::PROBLEM)))]
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

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PasswordReset)]
pub(crate) struct ResetBody {
    /// Generated when absent (and shown once in the answer).
    #[serde(default)]
    #[schema(min_length = 12, max_length = 256)]
    password: Option<String>,
}

/// The new password, shown this once.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PasswordResetDone)]
pub(crate) struct ResetOut {
    login: String,
    password: String,
}

/// An admin sets a new password (given or generated); the account's sessions end.
#[utoipa::path(post, path = "/v1/admin/staff/{login}/reset-password",
    summary = "Reset a staff password (generated unless given); the account's sessions end",
    security(("bearer" = [])), params(LoginPath, crate::apidoc::LangQuery),
    // The body may be left out (`apidoc::OPTIONAL_BODIES`).
    request_body(content = ResetBody, description = "May be left out: the password is then generated"),
    responses((status = 200, description = "The new password", body = ResetOut),
        (status = 404, description = "STAFF_ACCOUNT_UNKNOWN: no such account", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn reset_password(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(LoginPath { login }): Path<LoginPath>,
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

#[utoipa::path(post, path = "/v1/admin/staff/{login}/disable",
    summary = "Disable a staff account (its sessions end)",
    security(("bearer" = [])), params(LoginPath, crate::apidoc::LangQuery),
    responses((status = 200, description = "The account", body = AccountOut),
        (status = 404, description = "STAFF_ACCOUNT_UNKNOWN: no such account", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn disable(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(LoginPath { login }): Path<LoginPath>,
) -> ApiResult<Json<AccountOut>> {
    set_disabled(&state, &caller, language, &login, true).await
}

#[utoipa::path(post, path = "/v1/admin/staff/{login}/enable",
    summary = "Enable a disabled staff account",
    security(("bearer" = [])), params(LoginPath, crate::apidoc::LangQuery),
    responses((status = 200, description = "The account", body = AccountOut),
        (status = 404, description = "STAFF_ACCOUNT_UNKNOWN: no such account", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn enable(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(LoginPath { login }): Path<LoginPath>,
) -> ApiResult<Json<AccountOut>> {
    set_disabled(&state, &caller, language, &login, false).await
}

#[utoipa::path(get, path = "/v1/admin/staff/{login}/sessions",
    summary = "A staff account's live sessions",
    security(("bearer" = [])), params(LoginPath, crate::apidoc::LangQuery),
    responses((status = 200, description = "The sessions", body = SessionsOut),
        (status = 404, description = "STAFF_ACCOUNT_UNKNOWN: no such account", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn sessions_of(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(LoginPath { login }): Path<LoginPath>,
) -> ApiResult<Json<SessionsOut>> {
    service::staff::accounts::get(&state.app, &login)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let list = service::staff::sign_in::sessions(&state.app, &login)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(sessions_out(list, &caller.caller.session_id)))
}

/// A machine caller's credential.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = MachineCredential)]
pub(crate) struct CredentialOut {
    id: String,
    #[schema(schema_with = machine_kind)]
    kind: String,
    partner: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
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

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = MachineCredentials)]
pub(crate) struct CredentialsOut {
    credentials: Vec<CredentialOut>,
}

#[utoipa::path(get, path = "/v1/admin/credentials",
    summary = "Machine callers' credentials (never their secrets)",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "The credentials", body = CredentialsOut)))]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewMachineCredential)]
pub(crate) struct NewCredentialBody {
    /// `sms_gateway` or `metrics`.
    #[schema(schema_with = machine_kind)]
    kind: String,
    /// Who holds it (an SMS aggregator, a monitoring system).
    #[schema(min_length = 1, max_length = 64)]
    partner: String,
}

#[utoipa::path(post, path = "/v1/admin/credentials",
    summary = "Create a machine credential for a partner (the secret is shown once)",
    security(("bearer" = [])), params(crate::apidoc::LangQuery), request_body = NewCredentialBody,
    responses((status = 201, description = "Created, with its `secret`", body = CredentialOut)))]
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

#[utoipa::path(post, path = "/v1/admin/credentials/{id}/revoke",
    summary = "Revoke a machine credential",
    security(("bearer" = [])), params(IdPath, crate::apidoc::LangQuery),
    responses((status = 204, description = "Revoked"),
        (status = 404, description = "CREDENTIAL_UNKNOWN: no such credential", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn revoke_credential(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(IdPath { id }): Path<IdPath>,
) -> ApiResult<StatusCode> {
    service::staff::credentials::revoke(&state.app, &caller.actor, &id)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct CarrierVehicles {
    carrier: String,
    /// The carrier's city and name (the routes its vehicles may run are that city's).
    city: String,
    name: String,
    vehicles: Vec<VehicleOut>,
}

/// A vehicle of the catalogue.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CatalogueVehicle)]
struct VehicleOut {
    transport_code: String,
    plate: String,
    /// Its route's id.
    route: String,
    active: bool,
}

/// A carrier's vehicles from the catalogue; another carrier's manager is refused with
/// `SCOPE_FORBIDDEN` (the access matrix's `CarrierInPath`), an unknown carrier is 404.
#[utoipa::path(get, path = "/v1/carriers/{carrier}/vehicles",
    summary = "A carrier's vehicles (its own managers, its controllers, admins, support); another carrier's manager gets 403 SCOPE_FORBIDDEN",
    security(("bearer" = [])), params(super::carrier::CarrierPath, crate::apidoc::LangQuery),
    responses((status = 200, description = "The carrier and its vehicles", body = CarrierVehicles),
        (status = 404, description = "NOT_FOUND: no such carrier", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn carrier_vehicles(
    State(state): State<crate::State>,
    _caller: Staff,
    Lang(language): Lang,
    Path(super::carrier::CarrierPath { carrier }): Path<super::carrier::CarrierPath>,
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct TicketsQuery {
    /// The `next_cursor` of the previous page
    #[serde(default)]
    #[param(pattern = "^[0-9]{1,18}[.-][0-9]{1,11}$")]
    cursor: Option<String>,
    #[serde(default)]
    #[param(minimum = 1, maximum = 100, default = 20)]
    limit: Option<i64>,
}

/// The passenger of the path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct PassengerPath {
    #[param(pattern = "^\\+7[67][0-9]{9}$", example = "+77011234567")]
    phone: String,
}

/// A passenger's ticket as staff see it: no token and no link, so nobody can show it.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct StaffTicket {
    number: i64,
    check_number: String,
    city: String,
    route_number: String,
    transport_code: String,
    plate: String,
    rider_category: String,
    fare: super::wire::Money,
    #[schema(format = DateTime)]
    issued_at: String,
    #[schema(schema_with = super::wire::ticket_status)]
    status: String,
    /// The last four digits of the card that paid; absent: the phone balance.
    #[serde(skip_serializing_if = "Option::is_none")]
    card_last_four: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct StaffTicketList {
    tickets: Vec<StaffTicket>,
    /// Pass it as `cursor` for older tickets; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// Support, the office and admins read a passenger's tickets (the office: of its cities).
#[utoipa::path(get, path = "/v1/staff/passengers/{phone}/tickets",
    summary = "A passenger's tickets for support, the office (of its cities) and admins: newest first, without token or link",
    // No `lang`: the query is read strictly (`lang` there is refused, 400).
    security(("bearer" = [])), params(PassengerPath, TicketsQuery),
    responses((status = 200, description = "One page", body = StaffTicketList)))]
pub(crate) async fn passenger_tickets(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(PassengerPath { phone }): Path<PassengerPath>,
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
