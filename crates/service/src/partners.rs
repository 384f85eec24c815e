//! The partners a deployment is wired to, as its system operator sees them: each mobile
//! operator's CAMARA APIs, the card acquirer, the SMSC binds and the banks — where they are,
//! how we authenticate there (never a secret) and how they are doing now.
//!
//! The binary fills the [`Registry`] at start with the clients' descriptions
//! (`CamaraClient::describe`, `AcquirerClient::describe`); [`crate::smpp::SmppService::start`]
//! adds its binds. A description holds the client's own live counters (`Arc`s), so what
//! [`overview`] reads is the state of the moment; the store adds the acquirer's recent orders
//! and each bind's outbox backlog, [`crate::banks`] the banks. Nothing here opens a socket or
//! reads the environment.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

pub use ::partners::acquirer::AcquirerDescription;
pub use ::partners::health::{FailureKind, HealthSnapshot};
pub use ::partners::operator::{AuthDescription, CamaraDescription};
pub use ::partners::smpp::{BindSnapshot, BindState, SmscDescription};
use domain::PhoneNumber;

use crate::{App, ServiceError};

/// The acquirer's orders are counted over this many recent hours.
pub const ORDERS_WINDOW_HOURS: i64 = 24;

/// What the acquirer's callbacks have been: accepted (signature good) or refused.
#[derive(Debug, Default)]
struct Callbacks {
    accepted: AtomicU64,
    refused: AtomicU64,
    last: Mutex<Option<(i64, CallbackOutcome)>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// Signed by the acquirer and applied to its order.
    Accepted,
    /// Its signature did not verify, or it named no order of ours.
    Refused,
}

impl CallbackOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackOutcome::Accepted => "accepted",
            CallbackOutcome::Refused => "refused",
        }
    }
}

/// The partners wired into this process.
#[derive(Debug, Default)]
pub struct Registry {
    operators: RwLock<Vec<CamaraDescription>>,
    acquirer: RwLock<Option<AcquirerDescription>>,
    smscs: RwLock<Vec<SmscDescription>>,
    callbacks: Callbacks,
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    match lock.read() {
        Ok(guard) => guard.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

fn write<T>(lock: &RwLock<T>, change: impl FnOnce(&mut T)) {
    match lock.write() {
        Ok(mut guard) => change(&mut guard),
        Err(poisoned) => change(&mut poisoned.into_inner()),
    }
}

impl Registry {
    /// The mobile operators the CAMARA client reaches (replacing any set before).
    pub fn set_operators(&self, operators: Vec<CamaraDescription>) {
        write(&self.operators, |o| *o = operators);
    }

    /// The card acquirer of in-app top-ups.
    pub fn set_acquirer(&self, acquirer: AcquirerDescription) {
        write(&self.acquirer, |a| *a = Some(acquirer));
    }

    /// Binds started; one per operator, a later one replacing an earlier one's.
    pub fn add_smscs(&self, binds: Vec<SmscDescription>) {
        write(&self.smscs, |known| {
            known.retain(|k| !binds.iter().any(|b| b.operator == k.operator));
            known.extend(binds);
            known.sort_by(|a, b| a.operator.as_str().cmp(b.operator.as_str()));
        });
    }

    pub(crate) fn callback(&self, outcome: CallbackOutcome, at_ms: i64) {
        let counter = match outcome {
            CallbackOutcome::Accepted => &self.callbacks.accepted,
            CallbackOutcome::Refused => &self.callbacks.refused,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        match self.callbacks.last.lock() {
            Ok(mut last) => *last = Some((at_ms, outcome)),
            Err(poisoned) => *poisoned.into_inner() = Some((at_ms, outcome)),
        }
    }
}

/// The acquirer's orders of the recent window, by how they ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Orders {
    /// Created, not paid or failed yet.
    pub open: i64,
    pub paid: i64,
    pub failed: i64,
}

/// The acquirer as the console shows it.
#[derive(Clone, Debug)]
pub struct AcquirerView {
    pub description: AcquirerDescription,
    /// Where the acquirer posts its callbacks.
    pub callback_url: String,
    pub orders: Orders,
    pub callbacks_accepted: u64,
    pub callbacks_refused: u64,
    pub last_callback: Option<(i64, CallbackOutcome)>,
}

/// A bind with the replies waiting for it.
#[derive(Clone, Debug)]
pub struct SmscView {
    pub description: SmscDescription,
    pub backlog: i64,
}

/// Every partner, now.
#[derive(Clone, Debug)]
pub struct Overview {
    pub operators: Vec<CamaraDescription>,
    pub acquirer: Option<AcquirerView>,
    pub smscs: Vec<SmscView>,
    pub banks: Vec<crate::banks::BankState>,
}

/// What the system operator's console shows of the partners (admins only, by the matrix).
pub async fn overview(app: &App) -> Result<Overview, ServiceError> {
    let registry = &app.partners;
    let acquirer = match read(&registry.acquirer) {
        Some(description) => Some(acquirer_view(app, description).await?),
        None => None,
    };
    let smscs = read(&registry.smscs);
    let backlog = backlog_by_operator(app).await?;
    Ok(Overview {
        operators: read(&registry.operators),
        acquirer,
        smscs: smscs
            .into_iter()
            .map(|description| SmscView {
                backlog: backlog
                    .get(description.operator.as_str())
                    .copied()
                    .unwrap_or(0),
                description,
            })
            .collect(),
        banks: crate::banks::list(app).await?,
    })
}

async fn acquirer_view(
    app: &App,
    description: AcquirerDescription,
) -> Result<AcquirerView, ServiceError> {
    let since_ms = app.now_ms() - ORDERS_WINDOW_HOURS * 3_600_000;
    let counts = {
        let mut conn = app.store.reader().await?;
        store::top_ups::counts_since(&mut conn, &description.id, since_ms).await?
    };
    let mut orders = Orders::default();
    for (status, count) in counts {
        match domain::card::TopUpStatus::parse(&status) {
            Ok(domain::card::TopUpStatus::Created) => orders.open += count,
            Ok(domain::card::TopUpStatus::Paid) => orders.paid += count,
            Ok(domain::card::TopUpStatus::Failed) => orders.failed += count,
            Err(e) => {
                return Err(ServiceError::internal(format!(
                    "acquirer {}: {e}",
                    description.id
                )));
            }
        }
    }
    let callbacks = &app.partners.callbacks;
    let last_callback = match callbacks.last.lock() {
        Ok(last) => *last,
        Err(poisoned) => *poisoned.into_inner(),
    };
    Ok(AcquirerView {
        callback_url: crate::top_ups::callback_url(app, &description.id),
        description,
        orders,
        callbacks_accepted: callbacks.accepted.load(Ordering::Relaxed),
        callbacks_refused: callbacks.refused.load(Ordering::Relaxed),
        last_callback,
    })
}

/// The outbox's waiting replies per operator: the one each answers, or the number's.
async fn backlog_by_operator(app: &App) -> Result<HashMap<String, i64>, ServiceError> {
    let rows = {
        let mut conn = app.store.reader().await?;
        store::sms::smpp_backlog(&mut conn).await?
    };
    let catalogue = app.catalogue();
    let mut backlog: HashMap<String, i64> = HashMap::new();
    for (operator, prefix, count) in rows {
        // Any number of the prefix tells its operator: `+7701` and seven digits.
        let by_number = || {
            PhoneNumber::parse(&format!("{prefix}1234567"))
                .ok()
                .and_then(|phone| catalogue.prefixes.operator_of(&phone).cloned())
                .map(|o| o.as_str().to_owned())
        };
        if let Some(operator) = operator.or_else(by_number) {
            *backlog.entry(operator).or_default() += count;
        }
    }
    Ok(backlog)
}
