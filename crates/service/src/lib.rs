//! The use cases of SMSBUS as plain async functions: buy a ride, settle rides in doubt, inspect
//! a ticket, answer an SMS, manage the catalogue and the signing keys. Each owns its
//! transaction and knows nothing of HTTP; the `api` crate and the CLI call them alike.

pub mod applications;
pub mod arrivals;
pub mod audit;
pub mod banks;
mod card_source;
pub mod cards;
pub mod catalogue;
pub mod clock;
pub mod error;
mod fares;
pub mod feedback;
pub mod fleet;
#[doc(hidden)]
pub mod fuzz_checks;
pub mod inspect;
pub mod keys;
pub mod ledger;
pub mod live;
pub mod metrics;
pub mod office;
pub mod outbox;
pub mod paging;
pub mod partners;
pub mod payment;
pub mod phone_balance;
pub mod reconcile;
pub mod recovery;
pub mod refunds;
pub mod reports;
pub mod revocations;
pub mod rides;
pub mod sessions;
pub mod smpp;
pub mod sms;
pub mod staff;
pub mod status_reminders;
pub mod tickets;
pub mod top_ups;
pub mod transit;
pub mod vault;
mod waiters;

use std::sync::{Arc, RwLock};

use ::partners::operator::{CarrierBilling, SimSwap};
use store::Store;

pub use error::ServiceError;

/// Settings of the use cases; the binary fills them from flags and the environment.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where passengers open their ticket: `{public_base_url}/t/{link_code}`.
    pub public_base_url: String,
    /// Our merchant id at the operators.
    pub merchant_id: String,
    /// The issuer written into every ticket.
    pub issuer: String,
    /// How long a request waits for a duplicate of itself that is still in flight.
    pub duplicate_wait_ms: u64,
    /// Sign-in codes sent per minute to everyone together; beyond it code requests are
    /// refused with a wait instead of queueing without end.
    pub sign_in_codes_per_minute_max: i64,
    /// Seals the signing keys at rest. The default is the publicly known test key
    /// ([`vault::KeyEncryptionKey::insecure_for_tests`]); the `smsbus` binary always sets a
    /// real one.
    pub key_vault: Arc<dyn vault::KeyVault>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            public_base_url: "http://127.0.0.1:8080".into(),
            merchant_id: "smsbus".into(),
            issuer: "SMSBUS".into(),
            duplicate_wait_ms: 10_000,
            sign_in_codes_per_minute_max: sessions::SIGN_IN_CODES_PER_MINUTE_MAX,
            key_vault: Arc::new(vault::KeyEncryptionKey::insecure_for_tests()),
        }
    }
}

/// Everything a use case needs, shared by all requests.
pub struct App {
    /// Only use cases open transactions; callers hold their own `Store` if they must look.
    store: Store,
    pub billing: Arc<dyn CarrierBilling>,
    pub sim_swap: Arc<dyn SimSwap>,
    pub clock: Arc<dyn clock::Clock>,
    pub settings: Settings,
    pub metrics: metrics::Metrics,
    pub transit: transit::TransitHub,
    pub live: live::LiveHub,
    catalogue: RwLock<Arc<catalogue::Catalogue>>,
    signer: RwLock<Option<Arc<keys::Signer>>>,
    waiters: waiters::Waiters,
    /// The card acquirer of in-app top-ups, when one is configured ([`App::set_acquirer`]).
    acquirer: RwLock<Option<Arc<dyn ::partners::acquirer::Acquirer>>>,
    /// The partners wired in, as the system operator's console shows them.
    pub partners: partners::Registry,
}

impl App {
    /// Loads the catalogue and makes sure a signing key exists.
    pub async fn start(
        store: Store,
        billing: Arc<dyn CarrierBilling>,
        sim_swap: Arc<dyn SimSwap>,
        clock: Arc<dyn clock::Clock>,
        settings: Settings,
    ) -> Result<Arc<App>, ServiceError> {
        let app = Arc::new(App {
            store,
            billing,
            sim_swap,
            clock,
            settings,
            metrics: metrics::Metrics::default(),
            transit: transit::TransitHub::default(),
            live: live::LiveHub::default(),
            catalogue: RwLock::new(Arc::new(catalogue::Catalogue::default())),
            signer: RwLock::new(None),
            waiters: waiters::Waiters::default(),
            acquirer: RwLock::new(None),
            partners: partners::Registry::default(),
        });
        catalogue::reload(&app).await?;
        keys::ensure_signing_key(&app).await?;
        Ok(app)
    }

    /// The catalogue as of now; cheap to call, never blocks on the database.
    pub fn catalogue(&self) -> Arc<catalogue::Catalogue> {
        match self.catalogue.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn set_catalogue(&self, catalogue: catalogue::Catalogue) {
        let mut guard = match self.catalogue.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(catalogue);
    }

    /// Sets the card acquirer in-app top-ups go through.
    pub fn set_acquirer(&self, acquirer: Arc<dyn ::partners::acquirer::Acquirer>) {
        match self.acquirer.write() {
            Ok(mut guard) => *guard = Some(acquirer),
            Err(poisoned) => *poisoned.into_inner() = Some(acquirer),
        }
    }

    /// The card acquirer, if one is configured.
    pub fn acquirer(&self) -> Option<Arc<dyn ::partners::acquirer::Acquirer>> {
        match self.acquirer.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// Random bytes from the operating system. An id or a key without randomness is a bug we
/// cannot run with, so this is one of the few places allowed to stop the request.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], ServiceError> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| ServiceError::internal(format!("no randomness: {e}")))?;
    Ok(bytes)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
