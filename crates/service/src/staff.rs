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

/// Records the rider category staff have seen proof of (a pensioner's certificate, a student
/// card) for `phone`, with the language its replies use.
pub async fn set_rider_category(
    app: &App,
    actor: &Actor,
    phone: &domain::PhoneNumber,
    category: domain::catalogue::RiderCategory,
    language: domain::Language,
) -> Result<(), ServiceError> {
    let mut tx = app.store.begin().await?;
    store::passengers::set_rider_category(
        &mut tx,
        phone.as_e164(),
        category.as_str(),
        language.code(),
        app.now_ms(),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(?actor, category = category.as_str(), "rider category set");
    Ok(())
}
