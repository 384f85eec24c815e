//! The page behind the link in the ticket SMS: the QR code to show a controller, with the
//! ride's facts, readable on any phone without the app.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::Language;
use domain::ticket::TicketStatus;
use qrcode::QrCode;
use qrcode::render::svg;

use crate::extract::ChosenLang;
use crate::problem::Problem;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn labels(language: Language) -> [&'static str; 9] {
    match language {
        Language::Kk => [
            "Электрондық билет",
            "Бағыт",
            "Көлік",
            "Жол ақысы",
            "Сатып алынды",
            "Жарамды",
            "Жарамсыз",
            "Қала",
            "Соңғы аялдамаға дейін жарамды",
        ],
        Language::Ru => [
            "Электронный билет",
            "Маршрут",
            "Транспорт",
            "Стоимость",
            "Куплен",
            "Действует",
            "Недействителен",
            "Город",
            "Действует до конечной остановки",
        ],
        Language::En => [
            "E-ticket",
            "Route",
            "Vehicle",
            "Fare",
            "Bought",
            "Valid",
            "Not valid",
            "City",
            "Valid to the final stop",
        ],
    }
}

fn why_not_valid(ticket: &service::tickets::IssuedTicket, language: Language) -> &'static str {
    let (ended, refunded, revoked, expired) = match language {
        Language::Kk => (
            "Сапар аяқталды: автобус соңғы аялдамаға жетті",
            "Билет қайтарылды",
            "Билеттің күші жойылды",
            "Билеттің мерзімі өтті",
        ),
        Language::Ru => (
            "Поездка завершена: автобус доехал до конечной",
            "Билет возвращён",
            "Билет аннулирован",
            "Срок действия билета истёк",
        ),
        Language::En => (
            "The ride has ended: the bus reached its final stop",
            "The ticket was refunded",
            "The ticket was revoked",
            "The ticket has expired",
        ),
    };
    // A refund or a revocation says so even after the run ended: it is why the ticket is void.
    if ticket.status == TicketStatus::Revoked {
        revoked
    } else if ticket.status == TicketStatus::Refunded {
        refunded
    } else if ticket.ended_at_ms.is_some() {
        ended
    } else {
        expired
    }
}

/// A page a person can read when the link is wrong (a browser, not a program, opens it).
fn not_found_page(language: Language) -> Response {
    let (title, text) = match language {
        Language::Kk => ("Билет табылмады", "Сілтемені SMS-тен толық көшіріп алыңыз."),
        Language::Ru => (
            "Билет не найден",
            "Проверьте, что ссылка из SMS скопирована целиком.",
        ),
        Language::En => (
            "Ticket not found",
            "Check that the link from the SMS was copied whole.",
        ),
    };
    let html = format!(
        r#"<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;margin:0;background:#f3f5f7;color:#1b1f24}}main{{max-width:420px;margin:0 auto;padding:16px}}.card{{background:#fff;border-radius:16px;padding:24px;text-align:center}}</style></head>
<body><main><div class="card"><h1>{title}</h1><p>{text}</p></div></main></body></html>"#,
        lang = language.code()
    );
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

/// The ticket page, in the language asked for, else the one the ticket was bought in.
#[utoipa::path(get, path = "/t/{link_code}", summary = "Ticket page with its QR code (the SMS link)",
    params(("link_code" = String, Path, description = "The code of the ticket's link"), crate::apidoc::LangQuery),
    responses((status = 200, description = "HTML", body = String, content_type = "text/html"),
        (status = 404, description = "HTML: no such ticket", body = String, content_type = "text/html")))]
pub(crate) async fn page(
    State(state): State<crate::State>,
    ChosenLang(chosen): ChosenLang,
    Path(code): Path<String>,
) -> Response {
    let asked = chosen.unwrap_or_default();
    let ticket = match service::tickets::by_link_code(&state.app, &code).await {
        Ok(ticket) => ticket,
        Err(e) if e.code == domain::ErrorCode::NotFound => return not_found_page(asked),
        Err(e) => return Problem::from_service(e, asked).into_response(),
    };
    let language = match chosen {
        Some(language) => language,
        None => service::rides::ride_language(&state.app, &ticket.ride_id)
            .await
            .unwrap_or(asked),
    };
    let qr = match QrCode::new(ticket.token.as_bytes()) {
        Ok(code) => code
            .render::<svg::Color>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .build(),
        Err(e) => {
            return Problem::from_service(service::ServiceError::internal(e.to_string()), language)
                .into_response();
        }
    };
    let [
        title,
        route,
        vehicle,
        fare,
        bought,
        valid,
        invalid,
        city_label,
        rule,
    ] = labels(language);
    let now_ms = state.app.now_ms();
    let (status_class, status) = if ticket.is_valid_at(now_ms) {
        ("valid", valid)
    } else {
        ("invalid", invalid)
    };
    // Once it is not valid, say why instead of the validity rule.
    let rule = if ticket.is_valid_at(now_ms) {
        rule
    } else {
        why_not_valid(&ticket, language)
    };
    let catalogue = state.app.catalogue();
    let city = domain::catalogue::CityId::parse(&ticket.city_id)
        .ok()
        .and_then(|id| catalogue.cities.get(&id).cloned());
    let city_name = city
        .as_ref()
        .map_or(ticket.city_id.clone(), |c| c.name(language).to_owned());
    let html = format!(
        r#"<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title} {number}</title>
<style>body{{font-family:system-ui,sans-serif;margin:0;background:#f3f5f7;color:#1b1f24}}main{{max-width:420px;margin:0 auto;padding:16px}}
.card{{background:#fff;border-radius:16px;padding:16px;box-shadow:0 1px 4px #0002;text-align:center}}.rule{{color:#5a6570}}.qr svg{{width:100%;height:auto;max-width:320px}}
.status{{font-weight:700;font-size:1.3em;padding:8px;border-radius:8px;margin:8px 0}}.valid{{background:#d7f5dd;color:#0b6b24}}.invalid{{background:#fbdada;color:#8a1010}}
dl{{display:grid;grid-template-columns:auto 1fr;gap:6px 12px;text-align:left}}dt{{color:#5a6570}}dd{{margin:0;font-weight:600}}</style></head>
<body><main><div class="card"><h1>{title}</h1><div>№ {number}</div><div class="status {status_class}">{status}</div><div class="rule">{rule}</div><div class="qr">{qr}</div>
<dl><dt>{city_label}</dt><dd>{city_name}</dd><dt>{route}</dt><dd>{route_number}</dd><dt>{vehicle}</dt><dd>{plate} · {code}</dd><dt>{fare}</dt><dd>{amount}</dd><dt>{bought}</dt><dd>{bought_at}</dd></dl></div></main></body></html>"#,
        lang = language.code(),
        city_name = escape(&city_name),
        number = escape(&ticket.check_number),
        route_number = escape(&match ticket.zone {
            Some(zone) => format!(
                "{}, {}",
                ticket.route_number,
                domain::sms::zone_words(language, zone)
            ),
            None => ticket.route_number.clone(),
        }),
        plate = escape(&ticket.plate),
        code = escape(&ticket.transport_code),
        amount = escape(&ticket.amount.to_string()),
        bought_at = escape(&catalogue.local_time_text(&ticket.city_id, ticket.issued_at_ms)),
    );
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}
