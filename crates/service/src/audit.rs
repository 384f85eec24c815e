//! The audit trail of staff actions: [`record`] appends an entry inside the transaction that
//! makes the change (so a change and its entry commit together or not at all), [`verify`]
//! walks the whole chain, [`search`] reads it by actor, object and time.

use domain::audit::{Broken, Entry, Stored, Verifier};
use store::audit::AuditRow;
use store::db::Executor;

use crate::staff::Actor;
use crate::{App, ServiceError};

/// Entries per page when the trail is walked or read.
pub const PAGE_MAX: i64 = 500;

/// A change to record: `action` as `object_kind.verb`, the object, the values before and after.
pub struct Change<'a> {
    pub action: &'a str,
    pub object: &'a str,
    pub before: &'a str,
    pub after: &'a str,
}

/// Appends the entry for `change`, made by `actor` at `now_ms`, in the caller's transaction.
pub async fn record(
    tx: &mut dyn Executor,
    actor: &Actor,
    change: &Change<'_>,
    now_ms: i64,
) -> Result<i64, ServiceError> {
    let (seq, previous) = store::audit::next_position(tx).await?;
    let previous = parse_hash(&previous)
        .ok_or_else(|| ServiceError::internal("the audit head's hash is not 64 hex digits"))?;
    let entry = Entry {
        seq,
        at_ms: now_ms,
        actor: actor.name.clone(),
        address: actor.address.clone(),
        action: change.action.to_owned(),
        object: change.object.to_owned(),
        before: domain::audit::bounded(change.before),
        after: domain::audit::bounded(change.after),
    };
    let hash = crate::hex(&entry.hash(&previous));
    store::audit::append(tx, &to_row(entry, hash)).await?;
    Ok(seq)
}

/// Walks the whole trail: `Ok(entries)` when every hash holds and none is missing, else the
/// first entry where it breaks.
pub async fn verify(app: &App) -> Result<Result<i64, Broken>, ServiceError> {
    let mut conn = app.store.reader().await?;
    let written = store::audit::written(&mut conn).await?;
    let mut verifier = Verifier::default();
    let mut after = 0;
    loop {
        let page = store::audit::page(&mut conn, after, PAGE_MAX).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for row in page {
            // A hash that is not hex cannot match: it is compared as all zeros, which no
            // real entry hashes to.
            let hash = parse_hash(&row.hash).unwrap_or([0; 32]);
            let stored = Stored {
                entry: from_row(row),
                hash,
            };
            if let Err(broken) = verifier.push(&stored) {
                return Ok(Err(broken));
            }
        }
    }
    Ok(verifier.finish(written))
}

/// What an admin asks of the trail; empty filters match everything.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub object: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Entries before this position (the previous page's last), newest first.
    pub before_seq: Option<i64>,
}

/// Entries matching `filter`, newest first, at most [`PAGE_MAX`].
pub async fn search(app: &App, filter: &Filter) -> Result<Vec<Entry>, ServiceError> {
    let mut conn = app.store.reader().await?;
    let filter = store::audit::Filter {
        actor: filter.actor.clone(),
        object: filter.object.clone(),
        since_ms: filter.since_ms,
        until_ms: filter.until_ms,
        before_seq: filter.before_seq,
    };
    let rows = store::audit::search(&mut conn, &filter, PAGE_MAX).await?;
    Ok(rows.into_iter().map(from_row).collect())
}

fn to_row(entry: Entry, hash: String) -> AuditRow {
    AuditRow {
        seq: entry.seq,
        at_ms: entry.at_ms,
        actor: entry.actor,
        address: entry.address,
        action: entry.action,
        object: entry.object,
        before: entry.before,
        after: entry.after,
        hash,
    }
}

pub(crate) fn from_row(row: AuditRow) -> Entry {
    Entry {
        seq: row.seq,
        at_ms: row.at_ms,
        actor: row.actor,
        address: row.address,
        action: row.action,
        object: row.object,
        before: row.before,
        after: row.after,
    }
}

fn parse_hash(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        let pair = text.get(i * 2..i * 2 + 2)?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}
