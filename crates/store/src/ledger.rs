//! The ledger's entries, append-only. Balances are sums; nothing is ever updated or deleted.

use crate::db::{Executor, Row, query};

use crate::Result;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryRow {
    pub account: String,
    pub layer: String,
    pub amount_tiyn: i64,
}

/// Appends the entries of one ledger transfer in one statement.
pub async fn append(
    conn: &mut dyn Executor,
    ride_id: &str,
    entries: &[EntryRow],
    now_ms: i64,
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let values: Vec<String> = (0..entries.len())
        .map(|i| {
            let p = i * 3 + 3;
            format!("($1, ${}, ${}, ${}, $2)", p, p + 1, p + 2)
        })
        .collect();
    let sql = format!(
        "INSERT INTO ledger_entries (ride_id, account, layer, amount_tiyn, created_at_ms) VALUES {}",
        values.join(", ")
    );
    let mut query = query(&sql).bind(ride_id).bind(now_ms);
    for e in entries {
        query = query.bind(&e.account).bind(&e.layer).bind(e.amount_tiyn);
    }
    query.execute(conn).await?;
    Ok(())
}

/// (account, layer, balance) for every account with entries.
pub async fn balances(conn: &mut dyn Executor) -> Result<Vec<EntryRow>> {
    query(
        "SELECT account, layer, CAST(SUM(amount_tiyn) AS BIGINT) FROM ledger_entries GROUP BY account, layer ORDER BY account, layer",
    )
    .try_map(|r: Row| Ok(EntryRow { account: r.try_get(0)?, layer: r.try_get(1)?, amount_tiyn: r.try_get(2)? }))
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
