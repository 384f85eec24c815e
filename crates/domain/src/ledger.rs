//! Double-entry bookkeeping in the TigerBeetle manner. Money moves only by a [`Transfer`]: one
//! write with its own id and kind, a time, an optional ride, and entries that sum to zero in
//! every layer — a transfer that does not balance cannot be built. A ride first books a
//! *pending* transfer (the reservation), later resolved by a second transfer that either
//! *posts* it (releases the pending layer and books the posted one) or *voids* it (releases
//! it only). Entries are only ever appended; a booked transfer is undone by a reversal, never
//! by an edit. Accounts are typed ([`Account`]) and stored as their parts (kind, owner); an
//! account whose kind says so ([`AccountKind::debits_must_not_exceed_credits`], a card's
//! balance) may never be overdrawn, which the write path checks in the same transaction.

use std::fmt;

use crate::catalogue::CarrierId;
use crate::money::{MoneyError, Tenge};
use crate::phone::OperatorId;
use crate::ride::RideId;

/// A transfer id is at most this long.
pub const TRANSFER_ID_CHARS_MAX: usize = 96;
/// An account owner (a partner's id, a card's id) is at most this long.
pub const OWNER_CHARS_MAX: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("transfer {0} does not balance in every layer")]
    Unbalanced(String),
    #[error("transfer {0} has no entries")]
    Empty(String),
    #[error("transfer {0} has no posted entries to reverse")]
    NothingToReverse(String),
    #[error("unknown account kind `{0}`")]
    BadAccountKind(String),
    #[error("account owner `{0}` is not a valid id")]
    BadOwner(String),
    #[error("unknown transfer kind `{0}`")]
    BadTransferKind(String),
    #[error("unknown ledger layer `{0}`")]
    BadLayer(String),
    #[error("transfer id `{0}` is not 1..=96 printable ASCII characters")]
    BadTransferId(String),
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// What an account is, without whose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccountKind {
    /// What a mobile operator owes us: fares it collected from its subscribers' balances.
    OperatorReceivable,
    /// What we owe a carrier: fares of rides in its buses. No commission is kept.
    CarrierPayable,
    /// What we owe the holder of a transport card: its balance, held for them.
    CardBalance,
    /// What a bank owes us: top-ups it took from its customers for our cards.
    BankReceivable,
    /// Card balances paid out to their holders when a card closed, by the way they were paid
    /// (`cash` at the office desk, `bank_transfer`): money that left us for the holder.
    Payout,
    /// What the card acquirer owes us: top-ups it charged to passengers' bank cards.
    AcquirerReceivable,
    /// What a partner owed us and an admin wrote off after reconciliation (a loss, by partner).
    WrittenOff,
}

impl AccountKind {
    pub const ALL: [AccountKind; 7] = [
        AccountKind::OperatorReceivable,
        AccountKind::CarrierPayable,
        AccountKind::CardBalance,
        AccountKind::BankReceivable,
        AccountKind::Payout,
        AccountKind::AcquirerReceivable,
        AccountKind::WrittenOff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::OperatorReceivable => "operator_receivable",
            AccountKind::CarrierPayable => "carrier_payable",
            AccountKind::CardBalance => "card_balance",
            AccountKind::BankReceivable => "bank_receivable",
            AccountKind::Payout => "payout",
            AccountKind::AcquirerReceivable => "acquirer_receivable",
            AccountKind::WrittenOff => "written_off",
        }
    }

    pub fn parse(text: &str) -> Result<AccountKind, LedgerError> {
        AccountKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| LedgerError::BadAccountKind(text.chars().take(64).collect()))
    }

    /// TigerBeetle's flag: the account's debits (posted and pending) may never exceed its
    /// posted credits. Money held for a passenger can never go negative.
    pub fn debits_must_not_exceed_credits(self) -> bool {
        matches!(self, AccountKind::CardBalance)
    }
}

/// Whose card balance an account holds: an opaque id (`[a-z0-9-]`, at most 64).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardAccountId(String);

impl CardAccountId {
    pub fn parse(text: &str) -> Result<CardAccountId, LedgerError> {
        let ok = !text.is_empty()
            && text.len() <= OWNER_CHARS_MAX
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(CardAccountId(text.to_owned()))
        } else {
            Err(LedgerError::BadOwner(text.chars().take(64).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    OperatorReceivable(OperatorId),
    CarrierPayable(CarrierId),
    CardBalance(CardAccountId),
    /// A bank's receivable, by the bank's id (`kaspi`); the id has the card id's form.
    BankReceivable(CardAccountId),
    /// Paid out to card holders, by the way paid (`cash`, `bank-transfer`).
    Payout(CardAccountId),
    /// The card acquirer's receivable, by its id (`halyk-epay`).
    AcquirerReceivable(CardAccountId),
    /// Written off after reconciliation, by the partner's id.
    WrittenOff(CardAccountId),
}

impl Account {
    pub fn kind(&self) -> AccountKind {
        match self {
            Account::OperatorReceivable(_) => AccountKind::OperatorReceivable,
            Account::CarrierPayable(_) => AccountKind::CarrierPayable,
            Account::CardBalance(_) => AccountKind::CardBalance,
            Account::BankReceivable(_) => AccountKind::BankReceivable,
            Account::Payout(_) => AccountKind::Payout,
            Account::AcquirerReceivable(_) => AccountKind::AcquirerReceivable,
            Account::WrittenOff(_) => AccountKind::WrittenOff,
        }
    }

    /// The partner or holder the account is kept for.
    pub fn owner(&self) -> &str {
        match self {
            Account::OperatorReceivable(op) => op.as_str(),
            Account::CarrierPayable(carrier) => carrier.as_str(),
            Account::CardBalance(card) => card.as_str(),
            Account::BankReceivable(bank) => bank.as_str(),
            Account::Payout(way) => way.as_str(),
            Account::AcquirerReceivable(acquirer) => acquirer.as_str(),
            Account::WrittenOff(partner) => partner.as_str(),
        }
    }

    /// The account its stored parts name.
    pub fn from_parts(kind: &str, owner: &str) -> Result<Account, LedgerError> {
        let bad = |_| LedgerError::BadOwner(owner.chars().take(64).collect());
        Ok(match AccountKind::parse(kind)? {
            AccountKind::OperatorReceivable => Account::OperatorReceivable(
                OperatorId::parse(owner).map_err(|e| bad(e.to_string()))?,
            ),
            AccountKind::CarrierPayable => {
                Account::CarrierPayable(CarrierId::parse(owner).map_err(|e| bad(e.to_string()))?)
            }
            AccountKind::CardBalance => Account::CardBalance(CardAccountId::parse(owner)?),
            AccountKind::BankReceivable => Account::BankReceivable(CardAccountId::parse(owner)?),
            AccountKind::Payout => Account::Payout(CardAccountId::parse(owner)?),
            AccountKind::AcquirerReceivable => {
                Account::AcquirerReceivable(CardAccountId::parse(owner)?)
            }
            AccountKind::WrittenOff => Account::WrittenOff(CardAccountId::parse(owner)?),
        })
    }
}

/// Reads as `operator:kcell:receivable`, `carrier:astana-bus:payable`, `card:…:balance`.
impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::OperatorReceivable(op) => write!(f, "operator:{op}:receivable"),
            Account::CarrierPayable(carrier) => write!(f, "carrier:{carrier}:payable"),
            Account::CardBalance(card) => write!(f, "card:{}:balance", card.as_str()),
            Account::BankReceivable(bank) => write!(f, "bank:{}:receivable", bank.as_str()),
            Account::Payout(way) => write!(f, "payout:{}", way.as_str()),
            Account::AcquirerReceivable(acquirer) => {
                write!(f, "acquirer:{}:receivable", acquirer.as_str())
            }
            Account::WrittenOff(partner) => write!(f, "written-off:{}", partner.as_str()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    Pending,
    Posted,
}

impl Layer {
    pub const ALL: [Layer; 2] = [Layer::Pending, Layer::Posted];

    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Pending => "pending",
            Layer::Posted => "posted",
        }
    }

    pub fn parse(text: &str) -> Result<Layer, LedgerError> {
        match text {
            "pending" => Ok(Layer::Pending),
            "posted" => Ok(Layer::Posted),
            other => Err(LedgerError::BadLayer(other.chars().take(64).collect())),
        }
    }
}

/// Why money moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransferKind {
    Ride,
    TopUp,
    Refund,
    Payout,
    Reversal,
    Adjustment,
}

impl TransferKind {
    pub const ALL: [TransferKind; 6] = [
        TransferKind::Ride,
        TransferKind::TopUp,
        TransferKind::Refund,
        TransferKind::Payout,
        TransferKind::Reversal,
        TransferKind::Adjustment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TransferKind::Ride => "ride",
            TransferKind::TopUp => "top_up",
            TransferKind::Refund => "refund",
            TransferKind::Payout => "payout",
            TransferKind::Reversal => "reversal",
            TransferKind::Adjustment => "adjustment",
        }
    }

    pub fn parse(text: &str) -> Result<TransferKind, LedgerError> {
        TransferKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| LedgerError::BadTransferKind(text.chars().take(64).collect()))
    }
}

/// A transfer's own id. The transfers of a ride have ids derived from the ride's
/// (`<ride>.reserve`, `.post`, `.void`, `.reversal`), so each can be booked only once.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransferId(String);

impl TransferId {
    pub fn parse(text: &str) -> Result<TransferId, LedgerError> {
        let ok = !text.is_empty()
            && text.len() <= TRANSFER_ID_CHARS_MAX
            && text.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(TransferId(text.to_owned()))
        } else {
            Err(LedgerError::BadTransferId(text.chars().take(100).collect()))
        }
    }

    pub fn of_ride(ride: &RideId, phase: RidePhase) -> TransferId {
        TransferId(format!("{ride}.{}", phase.as_str()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TransferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The transfers one ride may book, each at most once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RidePhase {
    Reserve,
    Post,
    Void,
    Reversal,
}

impl RidePhase {
    pub fn as_str(self) -> &'static str {
        match self {
            RidePhase::Reserve => "reserve",
            RidePhase::Post => "post",
            RidePhase::Void => "void",
            RidePhase::Reversal => "reversal",
        }
    }
}

/// One line of the ledger: debits positive, credits negative.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub account: Account,
    pub layer: Layer,
    pub amount: Tenge,
}

/// `amount` moving from `credit` to `debit`: what a transfer's entries are made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Movement {
    pub debit: Account,
    pub credit: Account,
    pub amount: Tenge,
}

impl Movement {
    fn pair(&self, layer: Layer, amount: Tenge) -> Result<[Entry; 2], MoneyError> {
        Ok([
            Entry {
                account: self.debit.clone(),
                layer,
                amount,
            },
            Entry {
                account: self.credit.clone(),
                layer,
                amount: amount.checked_neg()?,
            },
        ])
    }

    /// The reservation: the pending layer only.
    pub fn reserve_entries(&self) -> Result<Vec<Entry>, MoneyError> {
        Ok(self.pair(Layer::Pending, self.amount)?.to_vec())
    }

    /// Releases the reservation and books the movement for good.
    pub fn post_entries(&self) -> Result<Vec<Entry>, MoneyError> {
        let mut entries = self
            .pair(Layer::Pending, self.amount.checked_neg()?)?
            .to_vec();
        entries.extend(self.pair(Layer::Posted, self.amount)?);
        Ok(entries)
    }

    /// Releases the reservation; nothing is booked.
    pub fn void_entries(&self) -> Result<Vec<Entry>, MoneyError> {
        Ok(self
            .pair(Layer::Pending, self.amount.checked_neg()?)?
            .to_vec())
    }

    /// Books the movement at once, with no reservation (a top-up, an adjustment).
    pub fn posted_entries(&self) -> Result<Vec<Entry>, MoneyError> {
        Ok(self.pair(Layer::Posted, self.amount)?.to_vec())
    }

    /// The transfer that books the movement at once (a top-up, an adjustment, a reversal of a
    /// reconciliation).
    pub fn posted_transfer(
        &self,
        id: TransferId,
        kind: TransferKind,
        at_ms: i64,
    ) -> Result<Transfer, LedgerError> {
        Transfer::new(id, kind, self.posted_entries()?, at_ms)
    }

    /// A ride paid in the transaction that writes it (a card that holds the fare): its
    /// `<ride>.post`, booked at once with no reservation to resolve. It is reversed like any
    /// post.
    pub fn ride_paid_at_once(&self, ride: &RideId, at_ms: i64) -> Result<Transfer, LedgerError> {
        let id = TransferId::of_ride(ride, RidePhase::Post);
        let mut transfer = Transfer::new(id, TransferKind::Ride, self.posted_entries()?, at_ms)?;
        transfer.ride = Some(ride.clone());
        Ok(transfer)
    }

    /// The ride's transfer of this phase, with its derived id.
    pub fn ride_transfer(
        &self,
        ride: &RideId,
        phase: RidePhase,
        at_ms: i64,
    ) -> Result<Transfer, LedgerError> {
        let (entries, resolves) = match phase {
            RidePhase::Reserve => (self.reserve_entries()?, None),
            RidePhase::Post => (self.post_entries()?, Some(RidePhase::Reserve)),
            RidePhase::Void => (self.void_entries()?, Some(RidePhase::Reserve)),
            RidePhase::Reversal => {
                let mut reversed = self.posted_entries()?;
                for entry in &mut reversed {
                    entry.amount = entry.amount.checked_neg()?;
                }
                (reversed, None)
            }
        };
        let kind = match phase {
            RidePhase::Reversal => TransferKind::Reversal,
            _ => TransferKind::Ride,
        };
        let mut transfer = Transfer::new(TransferId::of_ride(ride, phase), kind, entries, at_ms)?;
        transfer.ride = Some(ride.clone());
        transfer.resolves = resolves.map(|p| TransferId::of_ride(ride, p));
        if phase == RidePhase::Reversal {
            transfer.reverses = Some(TransferId::of_ride(ride, RidePhase::Post));
        }
        Ok(transfer)
    }
}

/// One write to the ledger. It balances in every layer by construction: [`Transfer::new`]
/// refuses entries that do not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    id: TransferId,
    kind: TransferKind,
    ride: Option<RideId>,
    /// The pending transfer this one posts or voids.
    resolves: Option<TransferId>,
    /// The transfer this one undoes.
    reverses: Option<TransferId>,
    at_ms: i64,
    entries: Vec<Entry>,
}

impl Transfer {
    pub fn new(
        id: TransferId,
        kind: TransferKind,
        entries: Vec<Entry>,
        at_ms: i64,
    ) -> Result<Transfer, LedgerError> {
        if entries.is_empty() {
            return Err(LedgerError::Empty(id.0));
        }
        if !is_balanced(&entries) {
            return Err(LedgerError::Unbalanced(id.0));
        }
        Ok(Transfer {
            id,
            kind,
            ride: None,
            resolves: None,
            reverses: None,
            at_ms,
            entries,
        })
    }

    /// The same transfer, about this ride.
    pub fn for_ride(mut self, ride: RideId) -> Transfer {
        self.ride = Some(ride);
        self
    }

    /// The reversal of this transfer's posted entries (its pending layer, if any, was
    /// resolved already): every posted entry negated, booked under `id` now.
    pub fn reversal(&self, id: TransferId, at_ms: i64) -> Result<Transfer, LedgerError> {
        let mut entries = Vec::with_capacity(self.entries.len());
        for entry in self.entries.iter().filter(|e| e.layer == Layer::Posted) {
            entries.push(Entry {
                account: entry.account.clone(),
                layer: Layer::Posted,
                amount: entry.amount.checked_neg()?,
            });
        }
        if entries.is_empty() {
            return Err(LedgerError::NothingToReverse(self.id.0.clone()));
        }
        let mut reversal = Transfer::new(id, TransferKind::Reversal, entries, at_ms)?;
        reversal.ride = self.ride.clone();
        reversal.reverses = Some(self.id.clone());
        Ok(reversal)
    }

    pub fn id(&self) -> &TransferId {
        &self.id
    }
    pub fn kind(&self) -> TransferKind {
        self.kind
    }
    pub fn ride(&self) -> Option<&RideId> {
        self.ride.as_ref()
    }
    pub fn resolves(&self) -> Option<&TransferId> {
        self.resolves.as_ref()
    }
    pub fn reverses(&self) -> Option<&TransferId> {
        self.reverses.as_ref()
    }
    pub fn at_ms(&self) -> i64 {
        self.at_ms
    }
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}

/// True when the entries sum to zero in every layer.
pub fn is_balanced<'e>(entries: impl IntoIterator<Item = &'e Entry>) -> bool {
    let (mut pending, mut posted) = (0i128, 0i128);
    for entry in entries {
        match entry.layer {
            Layer::Pending => pending += i128::from(entry.amount.tiyn()),
            Layer::Posted => posted += i128::from(entry.amount.tiyn()),
        }
    }
    pending == 0 && posted == 0
}

/// TigerBeetle's `debits_must_not_exceed_credits` on net balances (debits positive): the
/// posted balance plus any pending debit must not be above zero. A pending credit is not
/// money yet, so it does not count.
pub fn within_credits(pending_tiyn: i64, posted_tiyn: i64) -> bool {
    i128::from(posted_tiyn) + i128::from(pending_tiyn.max(0)) <= 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ride_movement(fare: i64) -> Movement {
        Movement {
            debit: Account::OperatorReceivable(OperatorId::parse("kcell").unwrap()),
            credit: Account::CarrierPayable(CarrierId::parse("astana-bus").unwrap()),
            amount: Tenge::from_tiyn(fare),
        }
    }

    fn ride() -> RideId {
        RideId::new(1_700_000_000_000, [7; 8])
    }

    fn sum(book: &[Transfer], account: &str, layer: Layer) -> i64 {
        book.iter()
            .flat_map(|t| t.entries())
            .filter(|e| e.layer == layer && e.account.to_string() == account)
            .map(|e| e.amount.tiyn())
            .sum()
    }

    #[test]
    fn reservations_resolve_to_balanced_books() {
        let movement = ride_movement(9_000);
        let reserve = movement
            .ride_transfer(&ride(), RidePhase::Reserve, 1)
            .unwrap();
        let post = movement.ride_transfer(&ride(), RidePhase::Post, 2).unwrap();
        assert_eq!(post.resolves(), Some(reserve.id()));
        assert_eq!(post.ride(), Some(&ride()));
        let book = vec![reserve, post];
        assert_eq!(sum(&book, "operator:kcell:receivable", Layer::Pending), 0);
        assert_eq!(
            sum(&book, "operator:kcell:receivable", Layer::Posted),
            9_000
        );
        assert_eq!(
            sum(&book, "carrier:astana-bus:payable", Layer::Posted),
            -9_000
        );
        assert_eq!(book.iter().map(|t| t.entries().len()).sum::<usize>(), 6);
    }

    #[test]
    fn a_void_releases_the_reservation_and_books_nothing() {
        let movement = ride_movement(9_000);
        let book = vec![
            movement
                .ride_transfer(&ride(), RidePhase::Reserve, 1)
                .unwrap(),
            movement.ride_transfer(&ride(), RidePhase::Void, 2).unwrap(),
        ];
        for layer in [Layer::Pending, Layer::Posted] {
            assert_eq!(sum(&book, "operator:kcell:receivable", layer), 0);
            assert_eq!(sum(&book, "carrier:astana-bus:payable", layer), 0);
        }
    }

    #[test]
    fn a_reversal_undoes_the_posted_layer_only() {
        let movement = ride_movement(9_000);
        let reserve = movement
            .ride_transfer(&ride(), RidePhase::Reserve, 1)
            .unwrap();
        let post = movement.ride_transfer(&ride(), RidePhase::Post, 2).unwrap();
        let id = TransferId::of_ride(&ride(), RidePhase::Reversal);
        let reversal = post.reversal(id.clone(), 3).unwrap();
        assert_eq!(reversal.kind(), TransferKind::Reversal);
        assert_eq!(reversal.reverses(), Some(post.id()));
        assert_eq!(
            movement
                .ride_transfer(&ride(), RidePhase::Reversal, 3)
                .unwrap(),
            reversal,
            "the ride's own reversal is the reversal of its post"
        );
        assert_eq!(
            reserve.reversal(id, 3),
            Err(LedgerError::NothingToReverse(reserve.id().as_str().into()))
        );
        let book = vec![reserve, post, reversal];
        for layer in [Layer::Pending, Layer::Posted] {
            assert_eq!(sum(&book, "operator:kcell:receivable", layer), 0);
        }
    }

    #[test]
    fn an_unbalanced_or_empty_transfer_cannot_be_built() {
        let id = TransferId::parse("t-1").unwrap();
        let mut entries = ride_movement(500).posted_entries().unwrap();
        entries.pop();
        assert_eq!(
            Transfer::new(id.clone(), TransferKind::Adjustment, entries, 1),
            Err(LedgerError::Unbalanced("t-1".into()))
        );
        // Balanced overall but not per layer.
        let mut mixed = ride_movement(500).posted_entries().unwrap();
        if let Some(first) = mixed.first_mut() {
            first.layer = Layer::Pending;
        }
        assert!(Transfer::new(id.clone(), TransferKind::Adjustment, mixed, 1).is_err());
        assert_eq!(
            Transfer::new(id, TransferKind::Adjustment, Vec::new(), 1),
            Err(LedgerError::Empty("t-1".into()))
        );
    }

    #[test]
    fn accounts_round_trip_through_their_parts() {
        let accounts = [
            Account::OperatorReceivable(OperatorId::parse("beeline").unwrap()),
            Account::CarrierPayable(CarrierId::parse("astana-bus").unwrap()),
            Account::CardBalance(CardAccountId::parse("card-1").unwrap()),
            Account::BankReceivable(CardAccountId::parse("kaspi").unwrap()),
            Account::Payout(CardAccountId::parse("cash").unwrap()),
        ];
        for account in accounts {
            let back = Account::from_parts(account.kind().as_str(), account.owner()).unwrap();
            assert_eq!(back, account);
        }
        assert!(Account::from_parts("card_balance", "Bad Id").is_err());
        assert!(Account::from_parts("savings", "x").is_err());
        assert!(AccountKind::CardBalance.debits_must_not_exceed_credits());
        assert!(!AccountKind::CarrierPayable.debits_must_not_exceed_credits());
        for kind in TransferKind::ALL {
            assert_eq!(TransferKind::parse(kind.as_str()), Ok(kind));
        }
    }

    #[test]
    fn credits_bound_debits_pending_or_posted() {
        assert!(within_credits(0, 0));
        assert!(within_credits(0, -100));
        assert!(within_credits(100, -100), "a reservation of all the money");
        assert!(!within_credits(101, -100), "a reservation of more");
        assert!(!within_credits(0, 1), "a posted overdraft");
        assert!(
            !within_credits(-500, 100),
            "a pending credit is not money yet"
        );
    }
}
