//! Preferential cards: the passenger applies (category, name, document kind and number); an
//! office clerk sees the queue, searches it by phone, name or document, and approves — recording
//! which documents were seen (kind, number, valid until; never scans) — or rejects with a
//! reason. An approval opens the preferential card, active at once, paying the category's fare.
//! Each decision is one transaction: the application's compare-and-set, the card, one audit
//! entry and the SMS to the passenger in their language.

use domain::card::{ApplicationStatus, CARD_TEXT_CHARS_MAX, CardKind, CardNumber, CardStatus};
use domain::catalogue::RiderCategory;
use domain::messages::Language;
use domain::{ErrorCode, PhoneNumber};
pub use store::cards::ApplicationRow as Application;
use store::cards::ApplicationRow;
use store::cards::CardRow;

use crate::staff::Actor;
use crate::{App, ServiceError};

/// A queue page holds at most this many applications.
pub const QUEUE_MAX: i64 = 200;
const QUEUE_MAX_USIZE: usize = 200;
/// A search looks through at most this many pending applications.
const SEARCHED_MAX: i64 = 5_000;

/// What a passenger asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Apply {
    /// The catalogue city whose office decides it.
    pub city: String,
    pub category: String,
    pub full_name: String,
    pub document_kind: String,
    pub document_number: String,
}

/// What the clerk saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocumentsSeen {
    pub kind: String,
    pub number: String,
    /// `YYYY-MM-DD`.
    pub valid_until: String,
}

fn field(value: &str) -> Result<String, ServiceError> {
    let value = value.trim();
    if value.is_empty()
        || value.chars().count() > CARD_TEXT_CHARS_MAX
        || value.chars().any(char::is_control)
    {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            format!("every field is 1..={CARD_TEXT_CHARS_MAX} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// A passenger's application for a preferential card.
pub async fn apply(
    app: &App,
    holder: &PhoneNumber,
    request: &Apply,
    language: Language,
) -> Result<ApplicationRow, ServiceError> {
    let category = RiderCategory::parse(&request.category)
        .ok()
        .filter(|c| c.is_preferential())
        .ok_or_else(|| {
            ServiceError::new(
                ErrorCode::BadRequest,
                "category must be one of student, pensioner, disability, large_family",
            )
        })?;
    let city = domain::catalogue::CityId::parse(request.city.trim())
        .ok()
        .filter(|id| app.catalogue().cities.contains_key(id))
        .ok_or_else(|| ServiceError::new(ErrorCode::BadRequest, "city must be a catalogue city"))?;
    let row = ApplicationRow {
        id: 0,
        holder_phone: holder.as_e164().to_owned(),
        city: city.to_string(),
        category: category.as_str().to_owned(),
        full_name: field(&request.full_name)?,
        document_kind: field(&request.document_kind)?,
        document_number: field(&request.document_number)?,
        status: ApplicationStatus::Pending.as_str().into(),
        language: language.code().to_owned(),
        card_number: None,
        decided_by: None,
        decision: None,
        created_at_ms: app.now_ms(),
        decided_at_ms: None,
    };
    let mut tx = app.store.begin().await?;
    let id = store::cards::insert_application(&mut tx, &row).await?;
    tx.commit().await?;
    Ok(ApplicationRow { id, ..row })
}

/// The passenger's own applications, newest first.
pub async fn mine(app: &App, holder: &PhoneNumber) -> Result<Vec<ApplicationRow>, ServiceError> {
    let mut conn = app.store.reader().await?;
    Ok(
        store::cards::applications(&mut conn, Some(holder.as_e164()), None, None, QUEUE_MAX)
            .await?,
    )
}

/// The pending queue for staff, oldest first; `search` matches a phone, a name or a document
/// number (part of it, any case).
pub async fn queue(
    app: &App,
    actor: &Actor,
    search: Option<&str>,
) -> Result<Vec<ApplicationRow>, ServiceError> {
    let search = search.map(str::trim).filter(|s| !s.is_empty());
    if search.is_some_and(|s| s.chars().count() > CARD_TEXT_CHARS_MAX) {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            "search is too long",
        ));
    }
    let mut conn = app.store.reader().await?;
    // An office clerk's queue holds the applications of its cities only.
    let pending: Vec<ApplicationRow> = store::cards::applications(
        &mut conn,
        None,
        Some(ApplicationStatus::Pending.as_str()),
        None,
        SEARCHED_MAX,
    )
    .await?
    .into_iter()
    .filter(|a| actor.scope.reaches_city(actor.role, &a.city))
    .collect();
    // Folded here, not in SQL: SQLite's `lower` folds ASCII only, and names are Cyrillic.
    let Some(search) = search.map(str::to_lowercase) else {
        return Ok(pending.into_iter().take(QUEUE_MAX_USIZE).collect());
    };
    Ok(pending
        .into_iter()
        .filter(|a| {
            [&a.holder_phone, &a.full_name, &a.document_number]
                .iter()
                .any(|f| f.to_lowercase().contains(&search))
        })
        .take(QUEUE_MAX_USIZE)
        .collect())
}

const APPROVED: domain::messages::Text = domain::messages::Text {
    kk: "SMSBUS: жеңілдікті картаңыз мақұлданды. Карта нөмірі",
    ru: "SMSBUS: ваша льготная карта одобрена. Номер карты",
    en: "SMSBUS: your preferential card is approved. Card number",
};
const REJECTED: domain::messages::Text = domain::messages::Text {
    kk: "SMSBUS: жеңілдікті карта өтініші қабылданбады. Себебі:",
    ru: "SMSBUS: заявка на льготную карту отклонена. Причина:",
    en: "SMSBUS: your application for a preferential card was refused. Reason:",
};

fn language_of(row: &ApplicationRow) -> Language {
    Language::from_code(&row.language).unwrap_or_default()
}

/// The last millisecond of that day in Kazakhstan (UTC+5).
fn end_of_day_ms(text: &str) -> Option<i64> {
    if !valid_date(text) {
        return None;
    }
    let date: jiff::civil::Date = text.parse().ok()?;
    let next = date.tomorrow().ok()?;
    let zone = crate::catalogue::country_time_zone();
    Some(next.to_zoned(zone).ok()?.timestamp().as_millisecond() - 1)
}

fn valid_date(text: &str) -> bool {
    let b = text.as_bytes();
    text.len() == 10
        && b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && text
            .bytes()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// A pending application the actor may decide: one of its cities (else `SCOPE_FORBIDDEN`).
async fn pending(
    tx: &mut dyn store::Executor,
    actor: &Actor,
    id: i64,
) -> Result<ApplicationRow, ServiceError> {
    let row = store::cards::application(tx, id)
        .await?
        .ok_or(ErrorCode::NotFound)?;
    actor.require_city(&row.city)?;
    let status = ApplicationStatus::parse(&row.status)
        .map_err(|e| ServiceError::internal(format!("application {id}: {e}")))?;
    if !status.can_move_to(ApplicationStatus::Approved) {
        return Err(ServiceError::new(
            ErrorCode::CardMoveNotAllowed,
            format!("application {id} is {}", row.status),
        ));
    }
    Ok(row)
}

/// The holder's preferential card of the application's category, not closed, given the new
/// end date; `None` when they hold none (a new card is opened).
async fn renewed(
    tx: &mut dyn store::Executor,
    row: &ApplicationRow,
    until_ms: i64,
    now_ms: i64,
) -> Result<Option<CardNumber>, ServiceError> {
    let held = store::cards::of_holder(tx, &row.holder_phone)
        .await?
        .into_iter()
        .find(|c| {
            c.kind == CardKind::Preferential.as_str()
                && c.rider_category == row.category
                && c.status != CardStatus::Closed.as_str()
        });
    let Some(card) = held else {
        return Ok(None);
    };
    if !store::cards::renew_category(tx, &card.number, until_ms, now_ms).await? {
        return Ok(None);
    }
    CardNumber::parse(&card.number)
        .map(Some)
        .map_err(|e| ServiceError::internal(format!("card {}: {e}", card.number)))
}

/// Approves an application: the preferential card is opened, active, for the category (or the
/// holder's card of that category is renewed to the new end date); the documents seen are
/// recorded; the passenger is told by SMS.
pub async fn approve(
    app: &App,
    actor: &Actor,
    id: i64,
    seen: &DocumentsSeen,
) -> Result<ApplicationRow, ServiceError> {
    let seen_text = format!(
        "{} {} valid until {}",
        field(&seen.kind)?,
        field(&seen.number)?,
        seen.valid_until
    );
    let until_ms = end_of_day_ms(&seen.valid_until)
        .ok_or_else(|| ServiceError::new(ErrorCode::BadRequest, "valid_until is YYYY-MM-DD"))?;
    let now_ms = app.now_ms();
    if until_ms < now_ms {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            "the document seen is no longer valid",
        ));
    }
    let mut tx = app.store.begin().await?;
    let row = pending(&mut tx, actor, id).await?;
    // A renewal (a student's next year): the holder's card of that category keeps its number
    // and balance and gets the new end date, which is reminded of in its turn.
    let mut number = renewed(&mut tx, &row, until_ms, now_ms).await?;
    for _ in 0..8 {
        if number.is_some() {
            break;
        }
        let candidate = CardNumber::issue(u64::from_le_bytes(crate::random_bytes()?));
        let card = CardRow {
            number: candidate.as_str().to_owned(),
            holder_phone: row.holder_phone.clone(),
            kind: CardKind::Preferential.as_str().to_owned(),
            rider_category: row.category.clone(),
            status: CardStatus::Active.as_str().to_owned(),
            holder_name: row.full_name.clone(),
            pupil_name: None,
            school: None,
            class_name: None,
            closed_into: None,
            category_until_ms: Some(until_ms),
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
        };
        if store::cards::insert_if_free(&mut tx, &card).await? {
            number = Some(candidate);
            break;
        }
    }
    let number = number.ok_or_else(|| ServiceError::internal("no free card number"))?;
    if !store::cards::decide(
        &mut tx,
        id,
        ApplicationStatus::Approved.as_str(),
        &actor.name,
        &seen_text,
        Some(number.as_str()),
        now_ms,
    )
    .await?
    {
        return Err(ServiceError::new(
            ErrorCode::CardMoveNotAllowed,
            "decided meanwhile",
        ));
    }
    crate::audit::record(
        &mut tx,
        actor,
        &crate::audit::Change {
            action: "card_application.approve",
            object: &format!("card_application:{id}"),
            before: ApplicationStatus::Pending.as_str(),
            after: &format!(
                "approved {} card {}; seen: {seen_text}",
                row.category,
                number.masked()
            ),
        },
        now_ms,
    )
    .await?;
    let language = language_of(&row);
    let text = format!("{} {}.", APPROVED.get(language), number.grouped());
    store::sms::enqueue(&mut tx, &row.holder_phone, &text, None, now_ms).await?;
    let decided = store::cards::application(&mut tx, id)
        .await?
        .ok_or(ErrorCode::NotFound)?;
    tx.commit().await?;
    Ok(decided)
}

/// Rejects an application with a reason the passenger is told by SMS.
pub async fn reject(
    app: &App,
    actor: &Actor,
    id: i64,
    reason: &str,
) -> Result<ApplicationRow, ServiceError> {
    let reason = field(reason)?;
    let now_ms = app.now_ms();
    let mut tx = app.store.begin().await?;
    let row = pending(&mut tx, actor, id).await?;
    if !store::cards::decide(
        &mut tx,
        id,
        ApplicationStatus::Rejected.as_str(),
        &actor.name,
        &reason,
        None,
        now_ms,
    )
    .await?
    {
        return Err(ServiceError::new(
            ErrorCode::CardMoveNotAllowed,
            "decided meanwhile",
        ));
    }
    crate::audit::record(
        &mut tx,
        actor,
        &crate::audit::Change {
            action: "card_application.reject",
            object: &format!("card_application:{id}"),
            before: ApplicationStatus::Pending.as_str(),
            after: &format!("rejected: {reason}"),
        },
        now_ms,
    )
    .await?;
    let language = language_of(&row);
    let text = format!("{} {reason}", REJECTED.get(language));
    store::sms::enqueue(&mut tx, &row.holder_phone, &text, None, now_ms).await?;
    let decided = store::cards::application(&mut tx, id)
        .await?
        .ok_or(ErrorCode::NotFound)?;
    tx.commit().await?;
    Ok(decided)
}
