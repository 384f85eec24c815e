//! Top-ups from bank apps: the check/pay biller endpoint (`GET /v1/banks/{bank}/biller?
//! command=check|pay&txn_id=…&txn_date=…&account=…&sum=…`, answered in XML as Kaspi's
//! protocol has it), and the admin's configuration of a bank. The bank is checked before its
//! request is read: its source address (behind the trusted proxies) against its allowed
//! networks, then its secret (`Authorization: Bearer`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::ErrorCode;
use domain::biller::Dialect;
use serde::{Deserialize, Serialize};
use service::banks::{BillerAnswer, BillerRequest};
use service::refunds::{RefundSource, RefundState};

use crate::extract::{ApiJson, ApiQuery, ClientAddr, Lang, Staff};
use crate::problem::{ApiResult, Problem};

/// A bank's call of the biller protocol (an absent member is answered in the bank's dialect,
/// not refused).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct BillerQuery {
    #[serde(default)]
    #[param(value_type = BillerCommand, inline, required = true)]
    command: String,
    #[serde(default)]
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$", required = true)]
    txn_id: String,
    /// YYYYMMDDHHMMSS, required for pay
    #[serde(default)]
    #[param(pattern = "^[0-9]{14}$")]
    txn_date: String,
    /// The card number, 16 digits
    #[serde(default)]
    #[param(required = true)]
    account: String,
    #[serde(default)]
    #[param(required = true, example = "500.00")]
    sum: String,
}

/// The biller protocol's commands.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // the protocol's words, read as text by `service::banks::answer`
enum BillerCommand {
    Check,
    Pay,
}

/// The bank of the path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct BankPath {
    #[param(pattern = "^[a-z0-9-]{1,32}$", example = "kaspi")]
    bank: String,
}

/// Text for an XML element.
fn xml_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The protocol's answer: `txn_id`, `prv_txn_id`, `sum`, `result`, `comment`, and the display
/// fields (masked holder name, masked card, card kind) when the card is known.
pub(crate) fn render(answer: &BillerAnswer) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>\n");
    xml.push_str(&format!(
        "  <txn_id>{}</txn_id>\n",
        xml_text(&answer.txn_id)
    ));
    if let Some(id) = answer.prv_txn_id {
        xml.push_str(&format!("  <prv_txn_id>{id}</prv_txn_id>\n"));
    }
    xml.push_str(&format!("  <sum>{}</sum>\n", xml_text(&answer.sum)));
    xml.push_str(&format!("  <result>{}</result>\n", answer.result));
    xml.push_str(&format!(
        "  <comment>{}</comment>\n",
        xml_text(&answer.comment)
    ));
    let fields: Vec<(&str, &String)> = [
        ("holder", answer.holder.as_ref()),
        ("card", answer.card.as_ref()),
        ("card_kind", answer.card_kind.as_ref()),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|v| (name, v)))
    .collect();
    if !fields.is_empty() {
        xml.push_str("  <fields>\n");
        for (i, (name, value)) in fields.iter().enumerate() {
            let n = i + 1;
            xml.push_str(&format!(
                "    <field{n} name=\"{name}\">{}</field{n}>\n",
                xml_text(value)
            ));
        }
        xml.push_str("  </fields>\n");
    }
    xml.push_str("</response>\n");
    xml
}

#[utoipa::path(get, path = "/v1/banks/{bank}/biller",
    summary = "Bank biller protocol (Kaspi/OSMP): check an account or pay (top up) a card. `(bank, txn_id)` is idempotent: a repeated pay gets the first answer",
    description = "The bank calls from one of its allowed networks with its secret as `Authorization: Bearer`. Result codes in the bank's dialect (Kaspi: 0 ok, 1 account not found, 5 other; OSMP: 0, 4, 5, 7, 241, 242, 300)",
    security(("bearer" = [])), params(BankPath, BillerQuery, crate::apidoc::LangQuery),
    responses((status = 200, description = "XML: <response> with txn_id, prv_txn_id, sum, result, comment and fields (holder, card, card_kind)",
        body = String, content_type = "application/xml")))]
pub(crate) async fn biller(
    State(state): State<crate::State>,
    Lang(language): Lang,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Path(BankPath { bank }): Path<BankPath>,
    ApiQuery(query): ApiQuery<BillerQuery>,
) -> ApiResult<Response> {
    let bank = service::banks::bank(&state.app, &bank)
        .await
        .map_err(|e| Problem::from_service(e, language))?
        .ok_or_else(|| Problem::new(ErrorCode::NotFound, language))?;
    crate::extract::check_bank(&headers, client, &bank, language)?;
    let request = BillerRequest {
        command: query.command,
        txn_id: query.txn_id,
        txn_date: query.txn_date,
        account: query.account,
        sum: query.sum,
    };
    let answer = service::banks::answer(&state.app, &bank, &request)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok((
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        render(&answer),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BankBody {
    #[schema(min_length = 1, pattern = "\\S")]
    name: String,
    /// `kaspi` or `osmp`.
    #[schema(schema_with = dialect)]
    dialect: String,
    /// Addresses and CIDR networks the bank calls from, comma-separated.
    #[schema(example = "127.0.0.1, 10.20.0.0/16")]
    networks: String,
    /// At least 16 characters; kept as its SHA-256 only.
    #[schema(min_length = 16)]
    secret: String,
}

fn dialect() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["kaspi", "osmp"])
}

/// A bank that tops cards up (never its secret).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Bank)]
pub(crate) struct BankDto {
    id: String,
    name: String,
    #[schema(schema_with = dialect)]
    dialect: &'static str,
    networks: String,
}

#[utoipa::path(put, path = "/v1/admin/banks/{bank}", summary = "Add or change a bank that tops cards up (audited)",
    security(("bearer" = [])), params(BankPath, crate::apidoc::LangQuery), request_body = BankBody,
    responses((status = 200, description = "The bank", body = BankDto)))]
pub(crate) async fn put_bank(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(BankPath { bank }): Path<BankPath>,
    ApiJson(body): ApiJson<BankBody>,
) -> ApiResult<Json<BankDto>> {
    let dialect = Dialect::parse(&body.dialect).ok_or_else(|| {
        Problem::new(ErrorCode::BadRequest, language).detail("dialect must be kaspi or osmp")
    })?;
    crate::extract::TrustedProxies::parse(&body.networks)
        .map_err(|e| Problem::new(ErrorCode::BadRequest, language).detail(e))?;
    let bank = service::banks::configure(
        &state.app,
        &caller.actor,
        &bank,
        &body.name,
        dialect,
        &body.networks,
        &body.secret,
    )
    .await
    .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(BankDto {
        id: bank.id,
        name: bank.name,
        dialect: bank.dialect.as_str(),
        networks: bank.networks,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefundBody {
    #[schema(max_length = 500, pattern = "\\S")]
    reason: String,
}

/// A ticket's check number, `DDDD-DDDD-DDDC`; a wrong check digit C is refused (400).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct CheckNumberPath {
    /// `DDDD-DDDD-DDDC`; a wrong check digit C is refused (400)
    #[param(pattern = "^[0-9]{4}-?[0-9]{4}-?[0-9]{4}$", example = "1297-5226-7646")]
    pub check_number: String,
}

/// A staff refund of a ride.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Refund)]
pub(crate) struct RefundDto {
    number: i64,
    check_number: String,
    /// `refunded`: the money is back and the ticket no longer valid; `refunding`: the operator
    /// has not finished yet — the refund completes by itself, the ticket stays valid until then.
    #[schema(schema_with = refund_status)]
    status: &'static str,
    /// `card` or `phone_balance`.
    #[schema(schema_with = refund_source)]
    source: &'static str,
    /// The card credited (a card ride's).
    #[serde(skip_serializing_if = "Option::is_none")]
    card: Option<String>,
    /// The operator that refunds (a phone-balance ride's).
    #[serde(skip_serializing_if = "Option::is_none")]
    operator: Option<String>,
    amount: super::wire::Money,
}

fn refund_status() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["refunded", "refunding"])
}

fn refund_source() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["card", "phone_balance"])
}

/// Staff refund a ride to its source: a card ride to its card, a phone-balance ride through
/// the operator (thin: the use case takes the actor and audits). `202` while the operator has
/// not finished.
#[utoipa::path(post, path = "/v1/office/tickets/{check_number}/refund",
    summary = "Refund a ride to its source: a card ride to its card at once; a phone-balance ride through the passenger's operator (CAMARA Carrier Billing Refund) — 200 when the money is back (the ticket becomes REFUNDED), 202 `refunding` while the operator has not finished (completed by the recovery loop; the ticket stays valid until then). A refund asked twice refunds once; audited; the passenger is told by SMS",
    security(("bearer" = [])), params(CheckNumberPath, crate::apidoc::LangQuery), request_body = RefundBody,
    responses((status = 200, description = "Refunded", body = RefundDto),
        (status = 202, description = "Asked of the operator, not finished yet", body = RefundDto)))]
pub(crate) async fn refund(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(CheckNumberPath { check_number }): Path<CheckNumberPath>,
    ApiJson(body): ApiJson<RefundBody>,
) -> ApiResult<(StatusCode, Json<RefundDto>)> {
    let refunded =
        service::refunds::refund_ride(&state.app, &caller.actor, &check_number, &body.reason)
            .await
            .map_err(|e| Problem::from_service(e, language))?;
    let (source, card, operator) = match refunded.source {
        RefundSource::Card(card) => ("card", Some(card), None),
        RefundSource::PhoneBalance { operator } => ("phone_balance", None, Some(operator)),
    };
    let (code, status) = match refunded.state {
        RefundState::Refunded => (StatusCode::OK, "refunded"),
        RefundState::Pending => (StatusCode::ACCEPTED, "refunding"),
    };
    Ok((
        code,
        Json(RefundDto {
            number: i64::from(refunded.number),
            check_number: refunded.check_number,
            status,
            source,
            card,
            operator,
            amount: super::wire::Money::of(refunded.amount),
        }),
    ))
}
