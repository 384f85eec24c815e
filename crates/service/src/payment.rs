//! The seam between the ride and whoever pays for it. The ride core (`rides`: plan, idempotent
//! insert with the reservation, issue, fail; `recovery`'s loop) knows no payment source; each
//! source implements [`PaymentSource`]: what it needs on the ride row before it is written, the
//! ledger account the fare is owed from, how a freshly inserted ride is paid, and how a ride in
//! doubt is settled, and whom its ticket is bound to ([`PaymentSource::holder`]). Two sources
//! implement it: the phone balance
//! ([`crate::phone_balance::PhoneBalance`]) and a transport card
//! ([`crate::card_source::CardSource`]); a third is one more implementation plus a [`Payer`]
//! variant, and touches neither.

use domain::PhoneNumber;
use domain::card::CardNumber;
use domain::catalogue::RiderCategory;
use domain::ledger::Account;
use domain::ride::RideStatus;
use domain::ticket::Holder;
use partners::operator::BoxFuture;
use store::rides::{NewRide, RideRow};

use crate::rides::RideOutcome;
use crate::{App, ServiceError};

/// Who pays for a ride.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payer {
    /// The passenger's mobile balance, charged through their operator (CAMARA Carrier Billing).
    PhoneBalance(PhoneNumber),
    /// One of the holder's transport cards (resolved and checked active by
    /// [`crate::cards::payer`]); the fare is the card's category's.
    Card {
        holder: PhoneNumber,
        card: CardNumber,
        category: RiderCategory,
    },
}

impl Payer {
    /// The account holder: whose ride it is (ownership, the repeat rule, the idempotency scope
    /// of the API). The ticket is bound to whom the source says ([`PaymentSource::holder`]).
    pub fn holder(&self) -> &PhoneNumber {
        match self {
            Payer::PhoneBalance(phone) => phone,
            Payer::Card { holder, .. } => holder,
        }
    }

    /// The rider category the fare is priced for, when the source decides it (a card's);
    /// `None`: the holder's own category.
    pub fn rider_category(&self) -> Option<RiderCategory> {
        match self {
            Payer::PhoneBalance(_) => None,
            Payer::Card { category, .. } => Some(*category),
        }
    }

    /// The card that pays, if a card pays.
    pub fn card(&self) -> Option<&CardNumber> {
        match self {
            Payer::PhoneBalance(_) => None,
            Payer::Card { card, .. } => Some(card),
        }
    }

    /// The source that takes this payer's money.
    pub(crate) fn source(&self) -> &'static dyn PaymentSource {
        match self {
            Payer::PhoneBalance(_) => &crate::phone_balance::PhoneBalance,
            Payer::Card { .. } => &crate::card_source::CardSource,
        }
    }
}

/// The source of a ride already written: `rides.card_number` tells a card ride.
pub(crate) fn source_of(ride: &NewRide) -> &'static dyn PaymentSource {
    match ride.card_number {
        Some(_) => &crate::card_source::CardSource,
        None => &crate::phone_balance::PhoneBalance,
    }
}

/// What a ride row keeps of its payment source, decided before the ride is written.
pub(crate) struct SourceFacts {
    /// The operator of the paying number (the phone balance).
    pub operator: String,
}

pub(crate) trait PaymentSource: Send + Sync {
    /// Refuses a ride this source cannot pay before anything is written (the phone balance: a
    /// number no operator serves), and says what the ride row keeps of the source.
    fn plan(&self, app: &App, payer: &Payer) -> Result<SourceFacts, ServiceError>;

    /// The ledger account the fare is owed from: debited by the reservation and the posting,
    /// the carrier's payable credited.
    fn account(&self, ride: &NewRide) -> Result<Account, ServiceError>;

    /// Whom the ride's ticket is bound to: what the passenger tells a controller in doubt.
    fn holder(&self, ride: &NewRide) -> Result<Holder, ServiceError>;

    /// Takes a ride just inserted (`reserving`, its reservation booked) to a ticket
    /// ([`crate::rides::issue`]), a refusal ([`crate::rides::fail`]) or "pending" for recovery.
    fn pay<'a>(
        &'a self,
        app: &'a App,
        ride: &'a NewRide,
    ) -> BoxFuture<'a, Result<RideOutcome, ServiceError>>;

    /// Settles a ride in doubt (in `status`, not final) against the source's own record;
    /// `Ok(None)`: left for a later pass.
    fn settle<'a>(
        &'a self,
        app: &'a App,
        row: &'a RideRow,
        status: RideStatus,
    ) -> BoxFuture<'a, Result<Option<RideOutcome>, ServiceError>>;
}
