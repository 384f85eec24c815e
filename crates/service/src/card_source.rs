//! A transport card as a [`PaymentSource`]. The money is ours to hold, so no partner is asked.
//! When the card may pay ([`may_pay`], read in the ride's transaction) the ride core writes
//! the ticket, `issued` and the fare posted at once in that same transaction: one commit per
//! card ride, and the post itself refuses a card that does not hold the fare
//! (`debits_must_not_exceed_credits`: `CARD_INSUFFICIENT_FUNDS`, nothing is written).
//! Otherwise the ride is committed with a hold of the fare and [`CardSource::pay`] voids it
//! with the card's own refusal (blocked, closed, not active); a ride in doubt is settled the
//! same way by recovery.

use domain::ErrorCode;
use domain::card::{CardNumber, CardStatus};
use domain::ledger::{Account, CardAccountId};
use domain::ride::RideStatus;
use domain::ticket::Holder;
use partners::operator::BoxFuture;
use store::rides::{NewRide, RideRow};

use crate::payment::{Payer, PaymentSource, SourceFacts};
use crate::rides::{RideOutcome, fail, issue};
use crate::{App, ServiceError};

/// What a card ride's row keeps in the column an operator's ride names its operator in.
pub(crate) const CARD_OPERATOR: &str = "card";

pub(crate) struct CardSource;

fn card_of(ride: &NewRide) -> Result<&str, ServiceError> {
    ride.card_number
        .as_deref()
        .ok_or_else(|| ServiceError::internal(format!("ride {} has no card", ride.id)))
}

impl PaymentSource for CardSource {
    fn plan(&self, _app: &App, payer: &Payer) -> Result<SourceFacts, ServiceError> {
        match payer {
            Payer::Card { .. } => Ok(SourceFacts {
                operator: CARD_OPERATOR.into(),
            }),
            Payer::PhoneBalance(_) => Err(ServiceError::internal("not a card payer")),
        }
    }

    fn account(&self, ride: &NewRide) -> Result<Account, ServiceError> {
        Ok(Account::CardBalance(CardAccountId::parse(card_of(ride)?)?))
    }

    /// The card that paid, not the account's phone: a school card's ride is the pupil's, whose
    /// card is on their ticket screen, not the parent's number.
    fn holder(&self, ride: &NewRide) -> Result<Holder, ServiceError> {
        CardNumber::parse(card_of(ride)?)
            .map(Holder::Card)
            .map_err(|e| ServiceError::internal(format!("ride {}: card: {e}", ride.id)))
    }

    fn pay<'a>(
        &'a self,
        app: &'a App,
        ride: &'a NewRide,
    ) -> BoxFuture<'a, Result<RideOutcome, ServiceError>> {
        Box::pin(settle_card(app, ride, RideStatus::Reserving))
    }

    fn settle<'a>(
        &'a self,
        app: &'a App,
        row: &'a RideRow,
        status: RideStatus,
    ) -> BoxFuture<'a, Result<Option<RideOutcome>, ServiceError>> {
        Box::pin(async move {
            if status == RideStatus::Cancelling {
                let code = row
                    .failure_code
                    .as_deref()
                    .and_then(ErrorCode::from_code)
                    .unwrap_or(ErrorCode::CardBlocked);
                return fail(app, &row.ride, status, code).await.map(Some);
            }
            settle_card(app, &row.ride, status).await.map(Some)
        })
    }
}

/// The fare is on hold: issue the ticket, unless the card may no longer pay.
async fn settle_card(
    app: &App,
    ride: &NewRide,
    from: RideStatus,
) -> Result<RideOutcome, ServiceError> {
    let number = card_of(ride)?;
    let row = {
        let mut conn = app.store.reader().await?;
        store::cards::by_number(&mut conn, number).await?
    };
    let status = row
        .as_ref()
        .map(|c| CardStatus::parse(&c.status))
        .transpose()
        .map_err(|e| ServiceError::internal(e.to_string()))?;
    match status {
        Some(CardStatus::Active) => {
            let outcome = issue(app, ride, from, &format!("card:{number}")).await?;
            if let (RideOutcome::Issued(_), Some(card)) = (&outcome, &row)
                && card.kind == domain::card::CardKind::School.as_str()
                && let Err(error) = tell_if_low(app, card, ride).await
            {
                tracing::warn!(card = %card.number, %error, "telling the holder of a low balance failed");
            }
            Ok(outcome)
        }
        Some(CardStatus::Blocked) => fail(app, ride, from, ErrorCode::CardBlocked).await,
        Some(CardStatus::Closed) => fail(app, ride, from, ErrorCode::CardClosed).await,
        Some(CardStatus::Open) => fail(app, ride, from, ErrorCode::CardNotActive).await,
        None => fail(app, ride, from, ErrorCode::CardNotFound).await,
    }
}

/// The card, when it may pay now (it is active): read inside the ride's own transaction, which
/// then issues the ticket at once (`rides::buy_ticket`). Any other state is left to
/// [`settle_card`], which refuses with the card's own code.
pub(crate) async fn may_pay(
    tx: &mut dyn store::Executor,
    number: &str,
) -> Result<Option<store::cards::CardRow>, ServiceError> {
    let row = store::cards::by_number(tx, number).await?;
    Ok(row.filter(|card| CardStatus::parse(&card.status) == Ok(CardStatus::Active)))
}

/// What follows a card ride's ticket: a school card's holder told when it runs low.
pub(crate) async fn after_issue(app: &App, card: &store::cards::CardRow, ride: &NewRide) {
    if card.kind == domain::card::CardKind::School.as_str()
        && let Err(error) = tell_if_low(app, card, ride).await
    {
        tracing::warn!(card = %card.number, %error, "telling the holder of a low balance failed");
    }
}

/// A school card is low when it holds less than this many more of its last fare.
pub(crate) const LOW_BALANCE_RIDES: i64 = 2;

/// Tells a school card's holder (the parent's phone) by SMS when this ride took the card below
/// [`LOW_BALANCE_RIDES`] fares — once, as the balance crosses the line, not on every ride after.
async fn tell_if_low(
    app: &App,
    card: &store::cards::CardRow,
    ride: &NewRide,
) -> Result<(), ServiceError> {
    let mut tx = app.store.begin().await?;
    let balance = store::ledger::account(&mut tx, "card_balance", &card.number)
        .await?
        .map_or(0, |a| -a.posted_tiyn - a.pending_tiyn.max(0));
    let line = ride.amount_tiyn.saturating_mul(LOW_BALANCE_RIDES);
    if balance >= line || balance + ride.amount_tiyn < line {
        return Ok(());
    }
    let language = domain::Language::from_code(&ride.language).unwrap_or_default();
    let number = domain::card::CardNumber::parse(&card.number)
        .map_err(|e| ServiceError::internal(e.to_string()))?;
    let text = domain::card::low_balance_text(
        language,
        card.pupil_name.as_deref().unwrap_or_default(),
        number.last_four(),
        domain::Tenge::from_tiyn(balance),
    );
    store::sms::enqueue(&mut tx, &card.holder_phone, &text, None, app.now_ms()).await?;
    tx.commit().await?;
    Ok(())
}
