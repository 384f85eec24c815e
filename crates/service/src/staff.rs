//! Who acts when staff act, and the reports only staff read. Every use case run for staff
//! takes an [`Actor`], so the staff-accounts work can add roles and an audit trail without
//! changing its callers again.

use crate::{App, ServiceError};

/// Who asks for a staff action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A request carrying the shared admin token.
    AdminToken,
    /// The `smsbus` command line, run on the server by whoever may read its database.
    CommandLine,
}

/// The sum of one ledger layer; every sum must be zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerTotal {
    pub layer: String,
    pub sum: domain::Tenge,
}

/// One account's balance in one layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountBalance {
    pub account: String,
    pub layer: String,
    pub balance: domain::Tenge,
}

/// The ledger as staff read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerReport {
    pub totals: Vec<LayerTotal>,
    pub accounts: Vec<AccountBalance>,
}

impl LedgerReport {
    /// Every layer sums to zero.
    pub fn balanced(&self) -> bool {
        self.totals.iter().all(|t| t.sum == domain::Tenge::ZERO)
    }
}

/// Every layer's total and every account's balance.
pub async fn ledger_report(app: &App, _actor: &Actor) -> Result<LedgerReport, ServiceError> {
    let mut conn = app.store.reader().await?;
    let totals = store::ledger::totals_by_layer(&mut conn).await?;
    let accounts = store::ledger::balances(&mut conn).await?;
    Ok(LedgerReport {
        totals: totals
            .into_iter()
            .map(|(layer, sum)| LayerTotal {
                layer,
                sum: domain::Tenge::from_tiyn(sum),
            })
            .collect(),
        accounts: accounts
            .into_iter()
            .map(|e| AccountBalance {
                account: e.account,
                layer: e.layer,
                balance: domain::Tenge::from_tiyn(e.amount_tiyn),
            })
            .collect(),
    })
}
