//! The ledger: transfers, their entries (append-only) and the accounts' balances. [`write`] is
//! the only way in: it refuses a transfer that does not sum to zero in every layer before it
//! touches the database, updates each account it touches with one `UPDATE` that also refuses
//! to overdraw an account flagged `debits_must_not_exceed_credits`, then appends the transfer
//! and its entries — all inside the caller's transaction, so a refusal rolls everything back.
//! Nothing is ever updated in place except the balances of flagged accounts, which always
//! equal the sum of the account's entries ([`audit`] recomputes them). An account without the
//! flag (an operator's receivable, a carrier's payable: written by every ride) keeps no running
//! balance — nothing needs to check it before a write, and a balance row updated by every ride
//! would make every ride wait for the one before it to commit (PostgreSQL's row lock); its
//! balances are the sums of its entries, computed when read.

use domain::ride::RideId;

use crate::db::{Executor, Row, query};

use crate::{Result, StoreError};

/// One line of a transfer, the account named by its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryRow {
    pub account_kind: String,
    pub account_owner: String,
    /// The account's flag, set when the account is first written (the kind decides it).
    pub debits_must_not_exceed_credits: bool,
    pub layer: String,
    pub amount_tiyn: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferRow {
    pub id: String,
    pub kind: String,
    pub ride_id: Option<RideId>,
    /// The pending transfer this one posts or voids.
    pub resolves: Option<String>,
    /// The transfer this one reverses.
    pub reverses: Option<String>,
    pub created_at_ms: i64,
    pub entries: Vec<EntryRow>,
}

/// An account and its balances (debits positive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRow {
    pub kind: String,
    pub owner: String,
    pub debits_must_not_exceed_credits: bool,
    pub pending_tiyn: i64,
    pub posted_tiyn: i64,
}

/// An account's stored balances beside the sums of its entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    pub account: AccountRow,
    pub entries_pending_tiyn: i64,
    pub entries_posted_tiyn: i64,
}

/// What one transfer changes on one account.
struct Change<'a> {
    kind: &'a str,
    owner: &'a str,
    flagged: bool,
    pending_tiyn: i64,
    posted_tiyn: i64,
}

/// True when the entries sum to zero in every layer they use.
fn balanced(entries: &[EntryRow]) -> bool {
    let mut sums: Vec<(&str, i128)> = Vec::with_capacity(2);
    for entry in entries {
        match sums.iter_mut().find(|(layer, _)| *layer == entry.layer) {
            Some((_, sum)) => *sum += i128::from(entry.amount_tiyn),
            None => sums.push((&entry.layer, i128::from(entry.amount_tiyn))),
        }
    }
    sums.iter().all(|(_, sum)| *sum == 0)
}

/// The entries summed per account, in (kind, owner) order: every writer locks accounts in the
/// same order, so two transactions never wait for each other's account rows crosswise.
fn changes(transfer: &TransferRow) -> Result<Vec<Change<'_>>> {
    let mut changes: Vec<Change<'_>> = Vec::with_capacity(2);
    for entry in &transfer.entries {
        let index = match changes
            .iter()
            .position(|c| c.kind == entry.account_kind && c.owner == entry.account_owner)
        {
            Some(index) => index,
            None => {
                changes.push(Change {
                    kind: &entry.account_kind,
                    owner: &entry.account_owner,
                    flagged: entry.debits_must_not_exceed_credits,
                    pending_tiyn: 0,
                    posted_tiyn: 0,
                });
                changes.len() - 1
            }
        };
        let overflow = || StoreError::Unbalanced {
            transfer: transfer.id.clone(),
        };
        let change = changes.get_mut(index).ok_or_else(overflow)?;
        let sum = match entry.layer.as_str() {
            "pending" => &mut change.pending_tiyn,
            _ => &mut change.posted_tiyn,
        };
        *sum = sum.checked_add(entry.amount_tiyn).ok_or_else(overflow)?;
    }
    changes.sort_by(|a, b| (a.kind, a.owner).cmp(&(b.kind, b.owner)));
    Ok(changes)
}

/// Books one transfer inside the caller's transaction. Refused, with nothing written: a
/// transfer without entries, with a layer other than `pending`/`posted`, or whose entries do
/// not sum to zero in each layer ([`StoreError::Unbalanced`]); one that would overdraw a
/// flagged account ([`StoreError::Overdrawn`]; the caller's transaction must then be dropped,
/// as accounts updated before the refused one are not put back here).
pub async fn write(conn: &mut dyn Executor, transfer: &TransferRow) -> Result<()> {
    let known_layers = transfer
        .entries
        .iter()
        .all(|e| e.layer == "pending" || e.layer == "posted");
    if transfer.entries.is_empty() || !known_layers || !balanced(&transfer.entries) {
        return Err(StoreError::Unbalanced {
            transfer: transfer.id.clone(),
        });
    }
    let changes = changes(transfer)?;
    let mut account_ids = Vec::with_capacity(changes.len());
    for change in &changes {
        let id = match if change.flagged {
            apply(conn, change).await?
        } else {
            id_of(conn, change).await?
        } {
            Some(id) => id,
            None => {
                open_account(conn, change).await?;
                let id = if change.flagged {
                    apply(conn, change).await?
                } else {
                    id_of(conn, change).await?
                };
                id.ok_or_else(|| StoreError::Overdrawn {
                    transfer: transfer.id.clone(),
                    account_kind: change.kind.to_owned(),
                    account_owner: change.owner.to_owned(),
                })?
            }
        };
        account_ids.push((change.kind, change.owner, id));
    }
    query(
        "INSERT INTO ledger_transfers (id, kind, ride_id, resolves, reverses, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&transfer.id)
    .bind(&transfer.kind)
    .bind(transfer.ride_id.as_ref())
    .bind(transfer.resolves.as_deref())
    .bind(transfer.reverses.as_deref())
    .bind(transfer.created_at_ms)
    .execute(&mut *conn)
    .await?;
    let values: Vec<String> = (0..transfer.entries.len())
        .map(|i| {
            let p = i * 3 + 2;
            format!("($1, ${}, ${}, ${})", p, p + 1, p + 2)
        })
        .collect();
    let sql = format!(
        "INSERT INTO ledger_entries (transfer_id, account_id, layer, amount_tiyn) VALUES {}",
        values.join(", ")
    );
    let mut insert = query(&sql).bind(&transfer.id);
    for entry in &transfer.entries {
        let account_id = account_ids
            .iter()
            .find(|(kind, owner, _)| *kind == entry.account_kind && *owner == entry.account_owner)
            .map(|(_, _, id)| *id)
            .ok_or_else(|| StoreError::Unbalanced {
                transfer: transfer.id.clone(),
            })?;
        insert = insert
            .bind(account_id)
            .bind(&entry.layer)
            .bind(entry.amount_tiyn);
    }
    insert.execute(conn).await?;
    Ok(())
}

/// Adds the change to the account's balances unless that would overdraw a flagged account;
/// `None` when the account does not exist yet or the change was refused.
async fn apply(conn: &mut dyn Executor, change: &Change<'_>) -> Result<Option<i64>> {
    query(
        "UPDATE ledger_accounts SET pending_tiyn = pending_tiyn + $1, posted_tiyn = posted_tiyn + $2 \
         WHERE kind = $3 AND owner = $4 AND (debits_must_not_exceed_credits = 0 \
         OR posted_tiyn + $2 + CASE WHEN pending_tiyn + $1 > 0 THEN pending_tiyn + $1 ELSE 0 END <= 0) \
         RETURNING id",
    )
    .bind(change.pending_tiyn)
    .bind(change.posted_tiyn)
    .bind(change.kind)
    .bind(change.owner)
    .try_map(|r: Row| r.try_get(0))
    .fetch_optional(conn)
    .await
}

/// An unflagged account's id, without locking its row.
async fn id_of(conn: &mut dyn Executor, change: &Change<'_>) -> Result<Option<i64>> {
    query("SELECT id FROM ledger_accounts WHERE kind = $1 AND owner = $2")
        .bind(change.kind)
        .bind(change.owner)
        .try_map(|r: Row| r.try_get(0))
        .fetch_optional(conn)
        .await
}

async fn open_account(conn: &mut dyn Executor, change: &Change<'_>) -> Result<()> {
    query(
        "INSERT INTO ledger_accounts (kind, owner, debits_must_not_exceed_credits, pending_tiyn, posted_tiyn) \
         VALUES ($1, $2, $3, 0, 0) ON CONFLICT (kind, owner) DO NOTHING",
    )
    .bind(change.kind)
    .bind(change.owner)
    .bind(i64::from(change.flagged))
    .execute(conn)
    .await?;
    Ok(())
}

/// The entries of one transfer, in the order they were written.
pub async fn entries_of(conn: &mut dyn Executor, transfer_id: &str) -> Result<Vec<EntryRow>> {
    query(
        "SELECT a.kind, a.owner, a.debits_must_not_exceed_credits, e.layer, e.amount_tiyn \
         FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id \
         WHERE e.transfer_id = $1 ORDER BY e.id",
    )
    .bind(transfer_id)
    .try_map(|r: Row| {
        Ok(EntryRow {
            account_kind: r.try_get(0)?,
            account_owner: r.try_get(1)?,
            debits_must_not_exceed_credits: r.try_get::<i64>(2)? != 0,
            layer: r.try_get(3)?,
            amount_tiyn: r.try_get(4)?,
        })
    })
    .fetch_all(conn)
    .await
}

fn account_row(r: &Row) -> Result<AccountRow> {
    Ok(AccountRow {
        kind: r.try_get(0)?,
        owner: r.try_get(1)?,
        debits_must_not_exceed_credits: r.try_get::<i64>(2)? != 0,
        pending_tiyn: r.try_get(3)?,
        posted_tiyn: r.try_get(4)?,
    })
}

/// One account's balances as read: the stored ones of a flagged account, the sums of the
/// entries of any other.
const BALANCES: &str = "SELECT a.kind, a.owner, a.debits_must_not_exceed_credits, \
     CASE WHEN a.debits_must_not_exceed_credits <> 0 THEN a.pending_tiyn ELSE \
       CAST(COALESCE((SELECT SUM(e.amount_tiyn) FROM ledger_entries e WHERE e.account_id = a.id AND e.layer = 'pending'), 0) AS BIGINT) END, \
     CASE WHEN a.debits_must_not_exceed_credits <> 0 THEN a.posted_tiyn ELSE \
       CAST(COALESCE((SELECT SUM(e.amount_tiyn) FROM ledger_entries e WHERE e.account_id = a.id AND e.layer = 'posted'), 0) AS BIGINT) END \
     FROM ledger_accounts a";

/// Every account and its balances, in one pass over the entries (those [`audit`] reads).
pub async fn balances(conn: &mut dyn Executor) -> Result<Vec<AccountRow>> {
    Ok(audit(conn).await?.into_iter().map(|a| a.account).collect())
}

/// One account's balances, if it has been written.
pub async fn account(
    conn: &mut dyn Executor,
    kind: &str,
    owner: &str,
) -> Result<Option<AccountRow>> {
    query(format!("{BALANCES} WHERE a.kind = $1 AND a.owner = $2"))
        .bind(kind)
        .bind(owner)
        .try_map(|r: Row| account_row(&r))
        .fetch_optional(conn)
        .await
}

/// Every flagged account's stored balances beside the sums of its entries, recomputed (an
/// unflagged account's balances are those sums by definition).
pub async fn audit(conn: &mut dyn Executor) -> Result<Vec<AuditRow>> {
    query(
        "SELECT a.kind, a.owner, a.debits_must_not_exceed_credits, \
         CASE WHEN a.debits_must_not_exceed_credits <> 0 THEN a.pending_tiyn ELSE CAST(COALESCE(SUM(CASE WHEN e.layer = 'pending' THEN e.amount_tiyn ELSE 0 END), 0) AS BIGINT) END, \
         CASE WHEN a.debits_must_not_exceed_credits <> 0 THEN a.posted_tiyn ELSE CAST(COALESCE(SUM(CASE WHEN e.layer = 'posted' THEN e.amount_tiyn ELSE 0 END), 0) AS BIGINT) END, \
         CAST(COALESCE(SUM(CASE WHEN e.layer = 'pending' THEN e.amount_tiyn ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN e.layer = 'posted' THEN e.amount_tiyn ELSE 0 END), 0) AS BIGINT) \
         FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id \
         GROUP BY a.id, a.kind, a.owner, a.debits_must_not_exceed_credits, a.pending_tiyn, a.posted_tiyn \
         ORDER BY a.kind, a.owner",
    )
    .try_map(|r: Row| {
        Ok(AuditRow {
            account: account_row(&r)?,
            entries_pending_tiyn: r.try_get(5)?,
            entries_posted_tiyn: r.try_get(6)?,
        })
    })
    .fetch_all(conn)
    .await
}

/// The sum of every entry per layer; each must be zero.
pub async fn totals_by_layer(conn: &mut dyn Executor) -> Result<Vec<(String, i64)>> {
    query("SELECT layer, CAST(SUM(amount_tiyn) AS BIGINT) FROM ledger_entries GROUP BY layer ORDER BY layer")
        .try_map(|r: Row| Ok((r.try_get(0)?, r.try_get(1)?)))
        .fetch_all(conn)
        .await
}

/// The sum of every transfer's entries per layer that is not zero: `(transfer id, layer,
/// sum)`. Empty while every write went through [`write`].
pub async fn unbalanced_transfers(conn: &mut dyn Executor) -> Result<Vec<(String, String, i64)>> {
    query(
        "SELECT transfer_id, layer, CAST(SUM(amount_tiyn) AS BIGINT) FROM ledger_entries \
         GROUP BY transfer_id, layer HAVING SUM(amount_tiyn) <> 0 ORDER BY transfer_id, layer",
    )
    .try_map(|r: Row| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
    .fetch_all(conn)
    .await
}

/// Transfers per kind, for reports and tests.
pub async fn count_by_kind(conn: &mut dyn Executor) -> Result<Vec<(String, i64)>> {
    query("SELECT kind, COUNT(*) FROM ledger_transfers GROUP BY kind ORDER BY kind")
        .try_map(|r: Row| Ok((r.try_get(0)?, r.try_get(1)?)))
        .fetch_all(conn)
        .await
}
