//! The simulated operators' books and rules, with no IO: subscribers, payments, the refusal
//! rules, faults waiting to fire and request counters. The HTTP layer parses a request, locks
//! this state for a few map operations, and renders the result.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use domain::{OperatorId, PhoneNumber, Tenge};

use super::{
    CorrelatorReplay, Endpoint, Fault, OperatorSettings, PaymentStatus, SettleReply, Subscriber,
};

mod refunds;
pub use refunds::{RefundInput, RefundStatus, RefundView};

/// A reservation neither confirmed nor cancelled is released after this long, as the spec allows.
pub const RESERVATION_TTL_S: i64 = 15 * 60;
/// A payment is refused while the last SIM swap is more recent than this (anti-fraud).
pub const SIM_SWAP_BLOCK_S: i64 = 24 * 60 * 60;
/// Largest `perPage` of `GET /payments`.
pub const LIST_PER_PAGE_MAX: u32 = 100;
/// Most faults waiting per operator; more are refused.
pub const FAULTS_PER_OPERATOR_MAX: usize = 64;

/// A payment at the simulated operator, for tests and the admin API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentView {
    pub id: String,
    pub operator: OperatorId,
    pub phone: PhoneNumber,
    pub client_correlator: Option<String>,
    pub reference_code: String,
    pub amount: Tenge,
    pub description: String,
    pub merchant_identifier: Option<String>,
    pub status: PaymentStatus,
    pub created_unix_s: i64,
    pub paid_unix_s: Option<i64>,
}

/// One-step payments are captured at once; two-step ones are reserved first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    OneStep,
    TwoStep,
}

/// A payment request as parsed from the wire.
#[derive(Debug)]
pub struct ChargeInput {
    pub phone: PhoneNumber,
    pub client_correlator: Option<String>,
    pub reference_code: String,
    pub amount: Tenge,
    pub description: String,
    pub merchant_identifier: Option<String>,
    pub kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settle {
    Confirm,
    Cancel,
}

/// A CAMARA error reply: `{status, code, message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CamaraError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl CamaraError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> CamaraError {
        CamaraError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn invalid_argument(message: impl Into<String>) -> CamaraError {
        CamaraError::new(400, "INVALID_ARGUMENT", message)
    }

    fn correlator_exists() -> CamaraError {
        CamaraError::invalid_argument("clientCorrelator already exist on server.")
    }

    pub fn not_found() -> CamaraError {
        CamaraError::new(404, "NOT_FOUND", "The specified resource is not found.")
    }

    fn identifier_not_found() -> CamaraError {
        CamaraError::new(404, "IDENTIFIER_NOT_FOUND", "phoneNumber not found.")
    }

    fn denied(token: &str, text: &str) -> CamaraError {
        CamaraError::new(
            403,
            "CARRIER_BILLING.PAYMENT_DENIED",
            format!("{token}: {text}"),
        )
    }
}

struct Account {
    subscriber: Subscriber,
    /// Reserved by prepared payments, not yet captured.
    held_tiyn: i64,
    /// Everything ever captured from this account.
    captured_tiyn: i64,
}

struct Record {
    view: PaymentView,
    kind: Kind,
}

struct OperatorState {
    settings: OperatorSettings,
    /// (endpoint, fault, times left), fired in the order injected.
    faults: Vec<(Endpoint, Fault, u32)>,
    requests: HashMap<Endpoint, u64>,
    /// clientCorrelator → payment id.
    correlators: HashMap<String, String>,
    /// (created, sequence) → payment id, for listings by creation date.
    by_creation: BTreeMap<(i64, u64), String>,
    /// A refund's clientCorrelator → refund id.
    refund_correlators: HashMap<String, String>,
}

/// A page of `GET /payments`.
#[derive(Debug)]
pub struct ListQuery {
    pub page: u32,
    pub per_page: u32,
    pub created_from_unix_s: Option<i64>,
    pub created_until_unix_s: Option<i64>,
    pub ascending: bool,
    /// Wire names of the statuses wanted; empty means all.
    pub statuses: Vec<String>,
    pub merchant_identifier: Option<String>,
}

pub struct State {
    now_override_unix_s: Option<i64>,
    operators: HashMap<OperatorId, OperatorState>,
    accounts: HashMap<PhoneNumber, Account>,
    payments: HashMap<String, Record>,
    /// Refund id → refund (see `refunds`).
    refunds: HashMap<String, RefundView>,
    /// Access tokens issued by the token endpoints: token → (operator, expires at, unix s).
    issued_tokens: HashMap<String, (OperatorId, i64)>,
    next_sequence: u64,
    id_prefix: String,
}

impl State {
    pub fn new(id_prefix: String) -> State {
        State {
            now_override_unix_s: None,
            operators: HashMap::new(),
            accounts: HashMap::new(),
            payments: HashMap::new(),
            refunds: HashMap::new(),
            issued_tokens: HashMap::new(),
            next_sequence: 1,
            id_prefix,
        }
    }

    pub fn now_unix_s(&self) -> i64 {
        self.now_override_unix_s.unwrap_or_else(wall_clock_s)
    }

    /// The client-credentials grant: a new access token for a client the operator knows,
    /// with its lifetime in seconds.
    pub fn issue_token(
        &mut self,
        operator: &OperatorId,
        client_id: &str,
        client_secret: &str,
        token: String,
    ) -> Option<(String, i64)> {
        let settings = &self.operators.get(operator)?.settings;
        let known = settings
            .client
            .as_ref()
            .is_some_and(|(id, secret)| id == client_id && secret == client_secret);
        if !known {
            return None;
        }
        let lifetime = settings.token_lifetime_s;
        let now = self.now_override_unix_s.unwrap_or_else(wall_clock_s);
        self.issued_tokens.retain(|_, (_, expires)| *expires > now);
        self.issued_tokens
            .insert(token.clone(), (operator.clone(), now + lifetime));
        Some((token, lifetime))
    }

    /// Forgets every token issued for `operator` (its authorization server restarted).
    pub fn revoke_tokens(&mut self, operator: &OperatorId) {
        self.issued_tokens.retain(|_, (owner, _)| owner != operator);
    }

    /// Tokens issued so far that are still held, for tests.
    pub fn issued_token_count(&self, operator: &OperatorId) -> usize {
        self.issued_tokens
            .values()
            .filter(|(owner, _)| owner == operator)
            .count()
    }

    pub fn set_now(&mut self, now_unix_s: Option<i64>) {
        self.now_override_unix_s = now_unix_s;
    }

    pub fn add_operator(&mut self, operator: OperatorId, settings: OperatorSettings) {
        match self.operators.get_mut(&operator) {
            Some(existing) => existing.settings = settings,
            None => {
                let state = OperatorState {
                    settings,
                    faults: Vec::new(),
                    requests: HashMap::new(),
                    correlators: HashMap::new(),
                    by_creation: BTreeMap::new(),
                    refund_correlators: HashMap::new(),
                };
                self.operators.insert(operator, state);
            }
        }
    }

    pub fn settle_reply(&self, operator: &OperatorId) -> SettleReply {
        self.operators
            .get(operator)
            .map(|state| state.settings.settle_reply)
            .unwrap_or_default()
    }

    pub fn has_operator(&self, operator: &OperatorId) -> bool {
        self.operators.contains_key(operator)
    }

    /// Adds or replaces a subscriber; what is held and captured on the number is kept.
    pub fn add_subscriber(&mut self, subscriber: Subscriber) {
        match self.accounts.get_mut(&subscriber.phone) {
            Some(account) => account.subscriber = subscriber,
            None => {
                let account = Account {
                    subscriber: subscriber.clone(),
                    held_tiyn: 0,
                    captured_tiyn: 0,
                };
                self.accounts.insert(subscriber.phone, account);
            }
        }
    }

    pub fn subscriber(&self, phone: &PhoneNumber) -> Option<(Subscriber, Tenge, Tenge)> {
        let account = self.accounts.get(phone)?;
        Some((
            account.subscriber.clone(),
            Tenge::from_tiyn(account.held_tiyn),
            Tenge::from_tiyn(account.captured_tiyn),
        ))
    }

    pub fn update_subscriber(
        &mut self,
        phone: &PhoneNumber,
        change: impl FnOnce(&mut Subscriber),
    ) -> bool {
        match self.accounts.get_mut(phone) {
            Some(account) => {
                change(&mut account.subscriber);
                true
            }
            None => false,
        }
    }

    pub fn payments(&self) -> Vec<PaymentView> {
        let mut views: Vec<_> = self
            .payments
            .values()
            .map(|record| record.view.clone())
            .collect();
        views.sort_by(|a, b| (a.created_unix_s, &a.id).cmp(&(b.created_unix_s, &b.id)));
        views
    }

    pub fn inject(
        &mut self,
        operator: &OperatorId,
        endpoint: Endpoint,
        fault: Fault,
        times: u32,
    ) -> bool {
        match self.operators.get_mut(operator) {
            Some(state) if state.faults.len() < FAULTS_PER_OPERATOR_MAX => {
                state.faults.push((endpoint, fault, times));
                true
            }
            _ => false,
        }
    }

    pub fn clear_faults(&mut self, operator: &OperatorId) {
        if let Some(state) = self.operators.get_mut(operator) {
            state.faults.clear();
        }
    }

    pub fn requests(&self, operator: &OperatorId, endpoint: Endpoint) -> u64 {
        let Some(state) = self.operators.get(operator) else {
            return 0;
        };
        match endpoint {
            Endpoint::Any => state.requests.values().sum(),
            one => state.requests.get(&one).copied().unwrap_or(0),
        }
    }

    /// Checks who is calling, counts the request and takes the fault due, if any.
    pub fn admit(
        &mut self,
        operator: &str,
        authorization: Option<&str>,
        endpoint: Endpoint,
    ) -> Result<(OperatorId, Option<Fault>), CamaraError> {
        let operator = OperatorId::parse(operator).map_err(|_| CamaraError::not_found())?;
        let state = self
            .operators
            .get_mut(&operator)
            .ok_or_else(CamaraError::not_found)?;
        let token = authorization.and_then(|value| value.strip_prefix("Bearer "));
        let now = self.now_override_unix_s.unwrap_or_else(wall_clock_s);
        let issued = token
            .and_then(|t| self.issued_tokens.get(t))
            .is_some_and(|(owner, expires)| *owner == operator && *expires > now);
        if token != Some(state.settings.access_token.as_str()) && !issued {
            let text = "Request not authenticated due to missing, invalid, or expired credentials.";
            return Err(CamaraError::new(401, "UNAUTHENTICATED", text));
        }
        *state.requests.entry(endpoint).or_insert(0) += 1;
        let fault = take_fault(&mut state.faults, endpoint, |fault| {
            fault != Fault::DuplicateReply
        });
        Ok((operator, fault))
    }

    /// Prepare (reserve) or one-step create. Returns the payment; a retry with a known
    /// correlator and the same request returns the first payment and changes nothing.
    pub fn charge(
        &mut self,
        operator: &OperatorId,
        input: ChargeInput,
        endpoint: Endpoint,
    ) -> Result<PaymentView, CamaraError> {
        if let Some(existing) = self.replay(operator, &input, endpoint)? {
            return Ok(existing);
        }
        let now = self.now_override_unix_s.unwrap_or_else(wall_clock_s);
        let account = self
            .accounts
            .get_mut(&input.phone)
            .filter(|a| &a.subscriber.operator == operator);
        let account = account.ok_or_else(CamaraError::identifier_not_found)?;
        refusal(account, input.amount, now)?;
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let id = format!("{}{sequence:x}", self.id_prefix);
        let amount_tiyn = input.amount.tiyn();
        let (status, paid_unix_s) = match input.kind {
            Kind::TwoStep => {
                account.held_tiyn += amount_tiyn;
                (PaymentStatus::Reserved, None)
            }
            Kind::OneStep => {
                capture(account, amount_tiyn, false);
                (PaymentStatus::Succeeded, Some(now))
            }
        };
        let view = PaymentView {
            id: id.clone(),
            operator: operator.clone(),
            phone: input.phone,
            client_correlator: input.client_correlator,
            reference_code: input.reference_code,
            amount: input.amount,
            description: input.description,
            merchant_identifier: input.merchant_identifier,
            status,
            created_unix_s: now,
            paid_unix_s,
        };
        if let Some(state) = self.operators.get_mut(operator) {
            if let Some(correlator) = &view.client_correlator {
                state.correlators.insert(correlator.clone(), id.clone());
            }
            state.by_creation.insert((now, sequence), id.clone());
        }
        self.payments.insert(
            id,
            Record {
                view: view.clone(),
                kind: input.kind,
            },
        );
        Ok(view)
    }

    /// The answer to a request whose clientCorrelator is already known, if it is.
    fn replay(
        &mut self,
        operator: &OperatorId,
        input: &ChargeInput,
        endpoint: Endpoint,
    ) -> Result<Option<PaymentView>, CamaraError> {
        let Some(correlator) = &input.client_correlator else {
            return Ok(None);
        };
        let Some(state) = self.operators.get_mut(operator) else {
            return Err(CamaraError::not_found());
        };
        let Some(id) = state.correlators.get(correlator) else {
            return Ok(None);
        };
        let Some(record) = self.payments.get(id) else {
            return Ok(None);
        };
        let same = record.view.phone == input.phone
            && record.view.amount == input.amount
            && record.kind == input.kind;
        let duplicate_fault = take_fault(&mut state.faults, endpoint, |fault| {
            fault == Fault::DuplicateReply
        });
        if !same
            || state.settings.correlator_replay == CorrelatorReplay::RejectAlreadyExists
            || duplicate_fault.is_some()
        {
            return Err(CamaraError::correlator_exists());
        }
        Ok(Some(record.view.clone()))
    }

    pub fn settle(
        &mut self,
        operator: &OperatorId,
        id: &str,
        phone: Option<&PhoneNumber>,
        action: Settle,
    ) -> Result<PaymentView, CamaraError> {
        let now = self.now_override_unix_s.unwrap_or_else(wall_clock_s);
        let record = self
            .payments
            .get_mut(id)
            .filter(|r| &r.view.operator == operator)
            .ok_or_else(CamaraError::not_found)?;
        if phone.is_some_and(|phone| phone != &record.view.phone) {
            return Err(CamaraError::identifier_not_found());
        }
        expire_if_stale(record, &mut self.accounts, now);
        match record.view.status {
            PaymentStatus::Succeeded => {
                return Err(CamaraError::new(
                    409,
                    "CARRIER_BILLING.PAYMENT_CONFIRMED",
                    "Payment has been confirmed.",
                ));
            }
            PaymentStatus::Cancelled => {
                return Err(CamaraError::new(
                    409,
                    "CARRIER_BILLING.PAYMENT_CANCELLED",
                    "Payment has been cancelled.",
                ));
            }
            PaymentStatus::Reserved => {}
        }
        let amount_tiyn = record.view.amount.tiyn();
        let account = self
            .accounts
            .get_mut(&record.view.phone)
            .ok_or_else(CamaraError::identifier_not_found)?;
        match action {
            Settle::Confirm => {
                capture(account, amount_tiyn, true);
                record.view.status = PaymentStatus::Succeeded;
                record.view.paid_unix_s = Some(now);
            }
            Settle::Cancel => {
                account.held_tiyn -= amount_tiyn;
                record.view.status = PaymentStatus::Cancelled;
            }
        }
        Ok(record.view.clone())
    }

    pub fn payment(&mut self, operator: &OperatorId, id: &str) -> Result<PaymentView, CamaraError> {
        let now = self.now_override_unix_s.unwrap_or_else(wall_clock_s);
        let record = self
            .payments
            .get_mut(id)
            .filter(|r| &r.view.operator == operator)
            .ok_or_else(CamaraError::not_found)?;
        expire_if_stale(record, &mut self.accounts, now);
        Ok(record.view.clone())
    }

    /// One page of the operator's payments and the number of all that match.
    pub fn list(
        &mut self,
        operator: &OperatorId,
        query: &ListQuery,
    ) -> Result<(Vec<PaymentView>, usize), CamaraError> {
        if query.page == 0 || query.per_page == 0 || query.per_page > LIST_PER_PAGE_MAX {
            return Err(CamaraError::new(
                400,
                "OUT_OF_RANGE",
                "Client specified an invalid range.",
            ));
        }
        let now = self.now_override_unix_s.unwrap_or_else(wall_clock_s);
        let from = query.created_from_unix_s.unwrap_or(i64::MIN);
        let until = match (query.created_from_unix_s, query.created_until_unix_s) {
            (_, Some(until)) => until,
            (Some(_), None) => now,
            (None, None) => i64::MAX,
        };
        if from > until {
            return Err(CamaraError::new(
                400,
                "CARRIER_BILLING.INVALID_DATE_RANGE",
                "Client specified an invalid date range.",
            ));
        }
        let state = self
            .operators
            .get(operator)
            .ok_or_else(CamaraError::not_found)?;
        let skip = (query.page as usize - 1).saturating_mul(query.per_page as usize);
        // Only the creation date asked (as a lookup by correlator pages through a window):
        // every payment in the range matches, so the page and the count come from the date
        // index alone, and only the page's payments are read. A real operator's listing is
        // an index range too; a scan of the whole range for every page held the books' lock
        // long enough, once the range held tens of thousands, to stall every other request.
        if query.statuses.is_empty() && query.merchant_identifier.is_none() {
            let in_range = state.by_creation.range((from, 0)..=(until, u64::MAX));
            let total = in_range.clone().count();
            let ids: Vec<&String> = if query.ascending {
                in_range
                    .map(|(_, id)| id)
                    .skip(skip)
                    .take(query.per_page as usize)
                    .collect()
            } else {
                in_range
                    .rev()
                    .map(|(_, id)| id)
                    .skip(skip)
                    .take(query.per_page as usize)
                    .collect()
            };
            let mut views = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(record) = self.payments.get_mut(id) {
                    expire_if_stale(record, &mut self.accounts, now);
                    views.push(record.view.clone());
                }
            }
            return Ok((views, total));
        }
        let mut matching = Vec::new();
        for id in state
            .by_creation
            .range((from, 0)..=(until, u64::MAX))
            .map(|(_, id)| id)
        {
            let Some(record) = self.payments.get_mut(id) else {
                continue;
            };
            expire_if_stale(record, &mut self.accounts, now);
            let view = &record.view;
            let status_ok =
                query.statuses.is_empty() || query.statuses.iter().any(|s| s == view.status.wire());
            let merchant_ok = query.merchant_identifier.is_none()
                || query.merchant_identifier == view.merchant_identifier;
            if status_ok && merchant_ok {
                matching.push(id);
            }
        }
        if !query.ascending {
            matching.reverse();
        }
        let page = matching.iter().skip(skip).take(query.per_page as usize);
        let views = page
            .filter_map(|id| self.payments.get(*id))
            .map(|record| record.view.clone())
            .collect();
        Ok((views, matching.len()))
    }

    pub fn sim_swapped(
        &self,
        operator: &OperatorId,
        phone: &PhoneNumber,
        max_age_hours: i64,
    ) -> Result<bool, CamaraError> {
        let account = self
            .accounts
            .get(phone)
            .filter(|a| &a.subscriber.operator == operator);
        let account = account.ok_or_else(CamaraError::identifier_not_found)?;
        Ok(swapped_within(
            &account.subscriber,
            self.now_unix_s(),
            max_age_hours.saturating_mul(3600),
        ))
    }
}

/// The first fault for this endpoint that `wanted` accepts, used up by one.
fn take_fault(
    faults: &mut Vec<(Endpoint, Fault, u32)>,
    endpoint: Endpoint,
    wanted: impl Fn(Fault) -> bool,
) -> Option<Fault> {
    let position = faults
        .iter()
        .position(|(target, fault, _)| target.matches(endpoint) && wanted(*fault))?;
    let entry = faults.get_mut(position)?;
    let fault = entry.1;
    entry.2 = entry.2.saturating_sub(1);
    if entry.2 == 0 {
        faults.remove(position);
    }
    Some(fault)
}

/// The operator's rules, in the order a Kazakh operator checks them.
fn refusal(account: &Account, amount: Tenge, now_unix_s: i64) -> Result<(), CamaraError> {
    let subscriber = &account.subscriber;
    if subscriber.corporate {
        return Err(CamaraError::denied(
            "CORPORATE_NUMBER",
            "Payments from corporate numbers are not allowed.",
        ));
    }
    if subscriber.unpaid_trust_payment {
        return Err(CamaraError::denied(
            "UNPAID_TRUST_PAYMENT",
            "The subscriber has an unpaid trust payment.",
        ));
    }
    if !subscriber.topped_up_since_purchase {
        return Err(CamaraError::denied(
            "NEVER_TOPPED_UP",
            "The balance was never topped up since the number was bought.",
        ));
    }
    if swapped_within(subscriber, now_unix_s, SIM_SWAP_BLOCK_S) {
        return Err(CamaraError::denied(
            "SIM_SWAPPED_RECENTLY",
            "The SIM card was replaced less than 24 hours ago.",
        ));
    }
    let available = subscriber.balance.tiyn() - account.held_tiyn;
    if amount.tiyn() > available {
        return Err(CamaraError::denied(
            "INSUFFICIENT_BALANCE",
            "Not enough balance.",
        ));
    }
    if amount.tiyn() > available - subscriber.starting_balance.tiyn() {
        return Err(CamaraError::denied(
            "STARTING_BALANCE_ONLY",
            "The starting balance cannot be spent on payments.",
        ));
    }
    Ok(())
}

fn swapped_within(subscriber: &Subscriber, now_unix_s: i64, period_s: i64) -> bool {
    subscriber
        .last_sim_swap_unix_s
        .is_some_and(|swapped| now_unix_s.saturating_sub(swapped) < period_s)
}

fn capture(account: &mut Account, amount_tiyn: i64, was_held: bool) {
    if was_held {
        account.held_tiyn -= amount_tiyn;
    }
    account.subscriber.balance = Tenge::from_tiyn(account.subscriber.balance.tiyn() - amount_tiyn);
    account.captured_tiyn += amount_tiyn;
}

fn expire_if_stale(
    record: &mut Record,
    accounts: &mut HashMap<PhoneNumber, Account>,
    now_unix_s: i64,
) {
    let view = &mut record.view;
    if view.status == PaymentStatus::Reserved
        && now_unix_s.saturating_sub(view.created_unix_s) > RESERVATION_TTL_S
    {
        view.status = PaymentStatus::Cancelled;
        if let Some(account) = accounts.get_mut(&view.phone) {
            account.held_tiyn -= view.amount.tiyn();
        }
    }
}

fn wall_clock_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
