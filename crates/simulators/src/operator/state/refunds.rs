//! The simulated operators' refunds (CAMARA Carrier Billing Refund 0.3.0): a captured payment
//! is refunded to the subscriber's balance, in full (`total`) or in part, never beyond what
//! was captured; a retry with a known `clientCorrelator` answers the refund it made, so a
//! lost reply never refunds twice. An operator set to [`RefundReply::Processing`] answers
//! `processing` and completes the refund when it is next read, as an asynchronous billing does.

use domain::{OperatorId, Tenge};

use super::{CamaraError, State, take_fault, wall_clock_s};
use crate::operator::{Endpoint, Fault, PaymentStatus, RefundReply};

/// A refund's state at the simulated operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundStatus {
    Processing,
    Succeeded,
}

impl RefundStatus {
    pub fn wire(self) -> &'static str {
        match self {
            RefundStatus::Processing => "processing",
            RefundStatus::Succeeded => "succeeded",
        }
    }
}

/// A refund at the simulated operator, for the wire, tests and the admin API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundView {
    pub id: String,
    pub payment_id: String,
    pub operator: OperatorId,
    pub client_correlator: Option<String>,
    pub reference_code: String,
    pub reason: Option<String>,
    pub amount: Tenge,
    /// `total`: the whole rest of the payment; else a partial refund.
    pub total: bool,
    pub status: RefundStatus,
    pub created_unix_s: i64,
    pub refunded_unix_s: Option<i64>,
}

/// A refund request as parsed from the wire.
#[derive(Debug)]
pub struct RefundInput {
    pub client_correlator: Option<String>,
    pub reference_code: String,
    pub reason: Option<String>,
    /// `None`: a total refund.
    pub amount: Option<Tenge>,
}

fn already_exists() -> CamaraError {
    CamaraError::new(
        409,
        "ALREADY_EXISTS",
        "A refund with this clientCorrelator already exists.",
    )
}

impl State {
    /// `POST /payments/{id}/refunds`.
    pub fn create_refund(
        &mut self,
        operator: &OperatorId,
        payment_id: &str,
        input: RefundInput,
    ) -> Result<RefundView, CamaraError> {
        let now = self.now_override_unix_s.unwrap_or_else(wall_clock_s);
        let payment = self
            .payments
            .get(payment_id)
            .filter(|r| &r.view.operator == operator)
            .map(|r| r.view.clone())
            .ok_or_else(CamaraError::not_found)?;
        let state = self
            .operators
            .get_mut(operator)
            .ok_or_else(CamaraError::not_found)?;
        if let Some(correlator) = &input.client_correlator
            && let Some(id) = state.refund_correlators.get(correlator)
            && let Some(existing) = self.refunds.get(id)
        {
            let same = existing.payment_id == payment_id
                && (input.amount.is_none() == existing.total)
                && input.amount.is_none_or(|a| a == existing.amount);
            let duplicate_fault = take_fault(&mut state.faults, Endpoint::CreateRefund, |f| {
                f == Fault::DuplicateReply
            });
            if !same || duplicate_fault.is_some() {
                return Err(already_exists());
            }
            return Ok(existing.clone());
        }
        if payment.status != PaymentStatus::Succeeded {
            return Err(CamaraError::new(
                422,
                "CARRIER_BILLING_REFUND.INVALID_PAYMENT_STATUS",
                "Payment is not yet completed.",
            ));
        }
        let refunded: i64 = self
            .refunds
            .values()
            .filter(|r| r.payment_id == payment_id)
            .map(|r| r.amount.tiyn())
            .sum();
        let remaining = payment.amount.tiyn() - refunded;
        let amount = input.amount.map_or(remaining, Tenge::tiyn);
        if remaining <= 0 {
            return Err(CamaraError::new(
                403,
                "CARRIER_BILLING_REFUND.PAYMENT_NOT_ELIGIBLE_FOR_REFUND",
                "Payment not eligible for refund: it was refunded in full.",
            ));
        }
        if amount <= 0 || amount > remaining {
            return Err(CamaraError::new(
                422,
                "CARRIER_BILLING_REFUND.UNAUTHORIZED_AMOUNT",
                "Unauthorized amount requested.",
            ));
        }
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let id = format!("{}r{sequence:x}", self.id_prefix);
        let processing = state.settings.refund_reply == RefundReply::Processing;
        if let Some(correlator) = &input.client_correlator {
            state
                .refund_correlators
                .insert(correlator.clone(), id.clone());
        }
        let mut view = RefundView {
            id: id.clone(),
            payment_id: payment_id.to_owned(),
            operator: operator.clone(),
            client_correlator: input.client_correlator,
            reference_code: input.reference_code,
            reason: input.reason,
            amount: Tenge::from_tiyn(amount),
            total: input.amount.is_none(),
            status: RefundStatus::Processing,
            created_unix_s: now,
            refunded_unix_s: None,
        };
        if !processing {
            self.complete(&mut view, now);
        }
        self.refunds.insert(id, view.clone());
        Ok(view)
    }

    /// Gives the amount back to the subscriber's balance.
    fn complete(&mut self, view: &mut RefundView, now: i64) {
        if view.status == RefundStatus::Succeeded {
            return;
        }
        let phone = self
            .payments
            .get(&view.payment_id)
            .map(|r| r.view.phone.clone());
        if let Some(account) = phone.and_then(|p| self.accounts.get_mut(&p)) {
            account.subscriber.balance =
                Tenge::from_tiyn(account.subscriber.balance.tiyn() + view.amount.tiyn());
            account.captured_tiyn -= view.amount.tiyn();
        }
        view.status = RefundStatus::Succeeded;
        view.refunded_unix_s = Some(now);
    }

    /// `GET /payments/{id}/refunds/{refundId}`: a processing refund completes when read.
    pub fn refund(
        &mut self,
        operator: &OperatorId,
        payment_id: &str,
        refund_id: &str,
    ) -> Result<RefundView, CamaraError> {
        let now = self.now_override_unix_s.unwrap_or_else(wall_clock_s);
        let mut view = self
            .refunds
            .get(refund_id)
            .filter(|r| &r.operator == operator && r.payment_id == payment_id)
            .cloned()
            .ok_or_else(CamaraError::not_found)?;
        self.complete(&mut view, now);
        self.refunds.insert(view.id.clone(), view.clone());
        Ok(view)
    }

    /// `GET /payments/{id}/refunds`: every refund of the payment, oldest first.
    pub fn refunds_of(
        &mut self,
        operator: &OperatorId,
        payment_id: &str,
    ) -> Result<Vec<RefundView>, CamaraError> {
        if self
            .payments
            .get(payment_id)
            .is_none_or(|r| &r.view.operator != operator)
        {
            return Err(CamaraError::not_found());
        }
        let mut views: Vec<RefundView> = self
            .refunds
            .values()
            .filter(|r| r.payment_id == payment_id)
            .cloned()
            .collect();
        views.sort_by(|a, b| (a.created_unix_s, &a.id).cmp(&(b.created_unix_s, &b.id)));
        Ok(views)
    }

    /// Every refund, for tests and the admin API.
    pub fn all_refunds(&self) -> Vec<RefundView> {
        let mut views: Vec<RefundView> = self.refunds.values().cloned().collect();
        views.sort_by(|a, b| (a.created_unix_s, &a.id).cmp(&(b.created_unix_s, &b.id)));
        views
    }
}
