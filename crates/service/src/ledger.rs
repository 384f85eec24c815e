//! The ledger as the use cases see it: [`book`] writes a domain [`Transfer`] (balanced by
//! construction, and checked again by the store's write path before any SQL runs) inside the
//! caller's transaction; [`reverse`] undoes a booked transfer; [`report`] reads the balances
//! and recomputes them from the entries.

use domain::Tenge;
use domain::ledger::{Account, Entry, Layer, Transfer, TransferId, is_balanced};
use store::Executor;
use store::ledger::{EntryRow, TransferRow};

use crate::{App, ServiceError};

/// Writes the transfer. An unbalanced transfer cannot be built; one that would overdraw a
/// flagged account is refused here by the store, and the caller's transaction must be dropped.
pub(crate) async fn book(conn: &mut dyn Executor, transfer: &Transfer) -> Result<(), ServiceError> {
    if !is_balanced(transfer.entries()) {
        return Err(ServiceError::internal(format!(
            "ledger transfer {} does not balance",
            transfer.id()
        )));
    }
    store::ledger::write(conn, &transfer_row(transfer)).await?;
    Ok(())
}

/// The transfer as the store writes it.
pub fn transfer_row(transfer: &Transfer) -> TransferRow {
    TransferRow {
        id: transfer.id().as_str().to_owned(),
        kind: transfer.kind().as_str().to_owned(),
        ride_id: transfer.ride().cloned(),
        resolves: transfer.resolves().map(|t| t.as_str().to_owned()),
        reverses: transfer.reverses().map(|t| t.as_str().to_owned()),
        created_at_ms: transfer.at_ms(),
        entries: transfer.entries().iter().map(entry_row).collect(),
    }
}

fn entry_row(entry: &Entry) -> EntryRow {
    EntryRow {
        account_kind: entry.account.kind().as_str().to_owned(),
        account_owner: entry.account.owner().to_owned(),
        debits_must_not_exceed_credits: entry.account.kind().debits_must_not_exceed_credits(),
        layer: entry.layer.as_str().to_owned(),
        amount_tiyn: entry.amount.tiyn(),
    }
}

fn corrupt(what: &str, error: impl std::fmt::Display) -> ServiceError {
    ServiceError::internal(format!("ledger {what}: {error}"))
}

/// Reads a booked transfer back (`None`: never booked).
pub(crate) async fn transfer(
    conn: &mut dyn Executor,
    id: &TransferId,
    kind: domain::ledger::TransferKind,
    at_ms: i64,
) -> Result<Option<Transfer>, ServiceError> {
    let rows = store::ledger::entries_of(conn, id.as_str()).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        entries.push(Entry {
            account: Account::from_parts(&row.account_kind, &row.account_owner)
                .map_err(|e| corrupt("account", e))?,
            layer: Layer::parse(&row.layer).map_err(|e| corrupt("layer", e))?,
            amount: Tenge::from_tiyn(row.amount_tiyn),
        });
    }
    Transfer::new(id.clone(), kind, entries, at_ms)
        .map(Some)
        .map_err(|e| corrupt("transfer", e))
}

/// Books the reversal of a posted transfer under `reversal_id`; `false` when there was
/// nothing booked to reverse.
pub(crate) async fn reverse(
    conn: &mut dyn Executor,
    original: &TransferId,
    reversal_id: TransferId,
    ride: Option<domain::ride::RideId>,
    at_ms: i64,
) -> Result<bool, ServiceError> {
    let kind = domain::ledger::TransferKind::Ride;
    let Some(booked) = transfer(conn, original, kind, at_ms).await? else {
        return Ok(false);
    };
    let booked = match ride {
        Some(ride) => booked.for_ride(ride),
        None => booked,
    };
    let reversal = booked
        .reversal(reversal_id, at_ms)
        .map_err(|e| corrupt("reversal", e))?;
    book(conn, &reversal).await?;
    Ok(true)
}

/// An account's balances.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountBalance {
    pub account: Account,
    pub pending: Tenge,
    pub posted: Tenge,
}

/// The books as they stand: per-layer totals (each zero), every account's balances, and the
/// accounts whose stored balances differ from the sum of their entries (none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerReport {
    pub totals: Vec<(Layer, Tenge)>,
    pub accounts: Vec<AccountBalance>,
    pub mismatched: Vec<Account>,
    /// Transfers whose own entries do not sum to zero in a layer (none).
    pub unbalanced_transfers: Vec<String>,
}

impl LedgerReport {
    pub fn balanced(&self) -> bool {
        self.totals.iter().all(|(_, sum)| sum.tiyn() == 0)
            && self.mismatched.is_empty()
            && self.unbalanced_transfers.is_empty()
    }
}

pub async fn report(app: &App) -> Result<LedgerReport, ServiceError> {
    let mut conn = app.store.reader().await?;
    let mut totals = Vec::new();
    for (layer, sum) in store::ledger::totals_by_layer(&mut conn).await? {
        totals.push((
            Layer::parse(&layer).map_err(|e| corrupt("layer", e))?,
            Tenge::from_tiyn(sum),
        ));
    }
    let mut accounts = Vec::new();
    let mut mismatched = Vec::new();
    for row in store::ledger::audit(&mut conn).await? {
        let account = Account::from_parts(&row.account.kind, &row.account.owner)
            .map_err(|e| corrupt("account", e))?;
        if row.account.pending_tiyn != row.entries_pending_tiyn
            || row.account.posted_tiyn != row.entries_posted_tiyn
        {
            mismatched.push(account.clone());
        }
        accounts.push(AccountBalance {
            account,
            pending: Tenge::from_tiyn(row.account.pending_tiyn),
            posted: Tenge::from_tiyn(row.account.posted_tiyn),
        });
    }
    let unbalanced_transfers = store::ledger::unbalanced_transfers(&mut conn)
        .await?
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    Ok(LedgerReport {
        totals,
        accounts,
        mismatched,
        unbalanced_transfers,
    })
}
