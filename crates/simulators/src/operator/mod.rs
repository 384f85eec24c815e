//! A simulator of Kazakh mobile operators: CAMARA Carrier Billing 0.5.0 (with its Refund
//! 0.3.0) and SIM Swap 2.1.0 over real HTTP, several operators on one server under
//! `/{operator}/…`.
//!
//! It keeps subscribers (balance, starting balance that cannot pay, corporate flag, unpaid trust
//! payment, topped up since purchase, last SIM swap) and refuses charges the way Kazakh
//! operators do: `403 CARRIER_BILLING.PAYMENT_DENIED` whose `message` starts with a reason token
//! (`CORPORATE_NUMBER`, `UNPAID_TRUST_PAYMENT`, `NEVER_TOPPED_UP`, `STARTING_BALANCE_ONLY`,
//! `SIM_SWAPPED_RECENTLY`, `INSUFFICIENT_BALANCE`), then `": "` and a human text.
//!
//! Tests program faults per operator and endpoint ([`Fault`]) and read back balances, captured
//! totals and request counters, to prove that nothing was charged twice. The same controls are
//! on a small admin HTTP API (`/_admin/…`, see [`admin`]) for a separate process such as the demo.
//!
//! Each operator also has an OAuth 2.0 authorization server for the client-credentials grant
//! (RFC 6749 §4.4): `POST /{operator}/oauth2/token`, advertised at
//! `/{operator}/.well-known/openid-configuration`, as CAMARA's `openIdConnect` scheme has it.
//!
//! All state sits behind one mutex held only for a few map operations per request, so the
//! simulator keeps up with thousands of payments per second.

pub mod admin;
mod camara;
mod camara_refund;
mod oauth;
mod server;
pub mod settlement;
mod state;

pub use server::{
    HANG_LIMIT_MS, OperatorSimulator, REQUEST_BODY_BYTES_MAX, SimulatorError, SimulatorHandle,
    Timings,
};
pub use state::{
    LIST_PER_PAGE_MAX, PaymentView, RESERVATION_TTL_S, RefundStatus, RefundView, SIM_SWAP_BLOCK_S,
};

use domain::{OperatorId, PhoneNumber, Tenge};

/// One subscriber of one operator, as the operator's billing sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscriber {
    pub phone: PhoneNumber,
    pub operator: OperatorId,
    /// Everything on the account, the starting balance included.
    pub balance: Tenge,
    /// The welcome balance of a new number: counted in `balance`, but never spendable on payments.
    pub starting_balance: Tenge,
    pub corporate: bool,
    pub unpaid_trust_payment: bool,
    pub topped_up_since_purchase: bool,
    /// `None`: no swap within the monitored period. A new subscription counts as a swap.
    pub last_sim_swap_unix_s: Option<i64>,
}

impl Subscriber {
    /// An established subscriber in good standing: topped up, no recent swap, no starting balance.
    pub fn new(phone: PhoneNumber, operator: OperatorId, balance: Tenge) -> Subscriber {
        Subscriber {
            phone,
            operator,
            balance,
            starting_balance: Tenge::ZERO,
            corporate: false,
            unpaid_trust_payment: false,
            topped_up_since_purchase: true,
            last_sim_swap_unix_s: None,
        }
    }

    /// A number bought at `bought_unix_s` with only its welcome balance on it.
    pub fn new_subscription(
        phone: PhoneNumber,
        operator: OperatorId,
        starting_balance: Tenge,
        bought_unix_s: i64,
    ) -> Subscriber {
        Subscriber {
            balance: starting_balance,
            starting_balance,
            topped_up_since_purchase: false,
            last_sim_swap_unix_s: Some(bought_unix_s),
            ..Subscriber::new(phone, operator, starting_balance)
        }
    }
}

/// How an operator answers a retried payment request that carries a known `clientCorrelator`
/// and the same body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CorrelatorReplay {
    /// Answer with the existing payment, as the spec intends.
    #[default]
    ReturnExisting,
    /// Answer `400 INVALID_ARGUMENT "clientCorrelator already exist on server."`, as some do.
    RejectAlreadyExists,
}

/// What confirm and cancel answer on success.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SettleReply {
    /// `202 Accepted` with no body, as the spec says.
    #[default]
    Empty,
    /// `202 Accepted` with the payment as it now is, saving the client a read.
    Payment,
}

/// How a refund request is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RefundReply {
    /// `201` with the refund `succeeded`: the balance is credited at once.
    #[default]
    Succeeded,
    /// `201` with the refund `processing`; it succeeds when it is next read, as an operator
    /// whose billing refunds asynchronously.
    Processing,
}

/// How one simulated operator behaves.
#[derive(Clone, Debug)]
pub struct OperatorSettings {
    /// The bearer token the operator accepts (issued out of band); tokens from its OAuth
    /// token endpoint are accepted too.
    pub access_token: String,
    /// The OAuth 2.0 client (`client_id`, `client_secret`) its token endpoint knows.
    pub client: Option<(String, String)>,
    /// How long an access token from the token endpoint lasts.
    pub token_lifetime_s: i64,
    pub correlator_replay: CorrelatorReplay,
    pub settle_reply: SettleReply,
    pub refund_reply: RefundReply,
}

/// Tokens from a simulated token endpoint last this long unless set otherwise.
pub const TOKEN_LIFETIME_S_DEFAULT: i64 = 3_600;

impl OperatorSettings {
    pub fn new(access_token: impl Into<String>) -> OperatorSettings {
        OperatorSettings {
            access_token: access_token.into(),
            client: None,
            token_lifetime_s: TOKEN_LIFETIME_S_DEFAULT,
            correlator_replay: CorrelatorReplay::default(),
            settle_reply: SettleReply::default(),
            refund_reply: RefundReply::default(),
        }
    }

    /// Also answers OAuth 2.0 client-credentials grants for this client.
    pub fn with_client(mut self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.client = Some((id.into(), secret.into()));
        self
    }
}

/// An operation of the simulated APIs: what faults target and what request counters count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /payments/prepare`
    Prepare,
    /// `POST /payments` (one step)
    CreatePayment,
    /// `POST /payments/{id}/confirm`
    Confirm,
    /// `POST /payments/{id}/cancel`
    Cancel,
    /// `GET /payments/{id}`
    GetPayment,
    /// `GET /payments`
    ListPayments,
    /// `POST /sim-swap/v2/check`
    SimSwapCheck,
    /// `POST /payments/{id}/refunds` (Carrier Billing Refund 0.3.0)
    CreateRefund,
    /// `GET /payments/{id}/refunds` and `GET /payments/{id}/refunds/{refundId}`
    GetRefunds,
    /// Every endpoint: a fault for any request, or the total of the counters.
    Any,
}

impl Endpoint {
    pub const ALL: [Endpoint; 9] = [
        Endpoint::Prepare,
        Endpoint::CreatePayment,
        Endpoint::Confirm,
        Endpoint::Cancel,
        Endpoint::GetPayment,
        Endpoint::ListPayments,
        Endpoint::SimSwapCheck,
        Endpoint::CreateRefund,
        Endpoint::GetRefunds,
    ];

    fn matches(self, endpoint: Endpoint) -> bool {
        self == Endpoint::Any || self == endpoint
    }
}

/// A misbehaviour to inject, for the next `times` requests it applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Wait this long, then answer normally.
    Latency { ms: u64 },
    /// Never answer and change nothing: the client's timeout fires (the server gives up after
    /// [`HANG_LIMIT_MS`] or at shutdown).
    Hang,
    /// Answer this status (500, 502, 503…) before processing: nothing changes.
    Status(u16),
    /// Refuse before processing with `403 CARRIER_BILLING.PAYMENT_DENIED` (insufficient
    /// balance), as an operator does when the balance went down between reserve and capture:
    /// nothing changes.
    Refuse,
    /// Process the request, then answer `504 Gateway Timeout`: the caller cannot know it happened.
    LostReply,
    /// Process the request, then never answer.
    LostReplyHang,
    /// Process the request, then drop the connection in the middle of the reply.
    LostReplyReset,
    /// A retry of a known clientCorrelator gets `400 "clientCorrelator already exist on server."`
    /// (counted only on such retries).
    DuplicateReply,
}

/// A payment's state at the simulated operator. A refused payment is never created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentStatus {
    Reserved,
    Succeeded,
    Cancelled,
}

impl PaymentStatus {
    /// The name the admin API and the settlement report give it.
    pub fn wire(self) -> &'static str {
        match self {
            PaymentStatus::Reserved => "reserved",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Cancelled => "cancelled",
        }
    }

    /// The status of a [`PaymentStatus::wire`] name.
    pub fn from_wire(name: &str) -> Option<PaymentStatus> {
        [
            PaymentStatus::Reserved,
            PaymentStatus::Succeeded,
            PaymentStatus::Cancelled,
        ]
        .into_iter()
        .find(|status| status.wire() == name)
    }
}
