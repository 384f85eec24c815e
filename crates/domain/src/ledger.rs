//! Double-entry bookkeeping of fares, in the TigerBeetle manner: a ride first writes a *pending*
//! transfer (the reservation), which is later either *posted* or *voided*. Entries are only ever
//! appended; a resolution writes entries that cancel the pending layer. Within every layer, and
//! so overall, the entries of one transfer sum to zero.

use crate::catalogue::CarrierId;
use crate::money::{MoneyError, Tenge};
use crate::phone::OperatorId;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Account {
    /// What a mobile operator owes us: fares it collected from its subscribers' balances.
    OperatorReceivable(OperatorId),
    /// What we owe a carrier: fares of rides in its buses. No commission is kept.
    CarrierPayable(CarrierId),
}

impl Account {
    pub fn name(&self) -> String {
        match self {
            Account::OperatorReceivable(op) => format!("operator:{op}:receivable"),
            Account::CarrierPayable(carrier) => format!("carrier:{carrier}:payable"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layer {
    Pending,
    Posted,
}

impl Layer {
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Pending => "pending",
            Layer::Posted => "posted",
        }
    }
}

/// One line of the ledger: debits positive, credits negative.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub account: String,
    pub layer: Layer,
    pub amount: Tenge,
}

/// A transfer of `amount` from `credit` to `debit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub debit: Account,
    pub credit: Account,
    pub amount: Tenge,
}

impl Transfer {
    fn pair(&self, layer: Layer, sign: i64) -> Result<[Entry; 2], MoneyError> {
        let amount = if sign >= 0 {
            self.amount
        } else {
            self.amount.checked_neg()?
        };
        Ok([
            Entry {
                account: self.debit.name(),
                layer,
                amount,
            },
            Entry {
                account: self.credit.name(),
                layer,
                amount: amount.checked_neg()?,
            },
        ])
    }

    /// The reservation.
    pub fn pending(&self) -> Result<[Entry; 2], MoneyError> {
        self.pair(Layer::Pending, 1)
    }

    /// Clears the reservation and books the transfer for good.
    pub fn post(&self) -> Result<[Entry; 4], MoneyError> {
        let [a, b] = self.pair(Layer::Pending, -1)?;
        let [c, d] = self.pair(Layer::Posted, 1)?;
        Ok([a, b, c, d])
    }

    /// Clears the reservation; nothing is booked.
    pub fn void(&self) -> Result<[Entry; 2], MoneyError> {
        self.pair(Layer::Pending, -1)
    }
}

/// True when the entries sum to zero in every layer.
pub fn is_balanced<'e>(entries: impl IntoIterator<Item = &'e Entry>) -> bool {
    let (mut pending, mut posted) = (0i128, 0i128);
    for entry in entries {
        match entry.layer {
            Layer::Pending => pending += i128::from(entry.amount.tiyn()),
            Layer::Posted => posted += i128::from(entry.amount.tiyn()),
        }
    }
    pending == 0 && posted == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_resolve_to_balanced_books() {
        let transfer = Transfer {
            debit: Account::OperatorReceivable(OperatorId::parse("kcell").unwrap()),
            credit: Account::CarrierPayable(CarrierId::parse("astana-bus").unwrap()),
            amount: Tenge::from_whole(90),
        };
        let mut book: Vec<Entry> = transfer.pending().unwrap().to_vec();
        assert!(is_balanced(&book));
        book.extend(transfer.post().unwrap());
        assert!(is_balanced(&book));
        let pending_receivable: i64 = book
            .iter()
            .filter(|e| e.layer == Layer::Pending && e.account == "operator:kcell:receivable")
            .map(|e| e.amount.tiyn())
            .sum();
        assert_eq!(pending_receivable, 0, "posting releases the reservation");
        assert_eq!(
            book.len(),
            6,
            "the reservation and its release both stay on the books"
        );
        let posted_receivable: i64 = book
            .iter()
            .filter(|e| e.layer == Layer::Posted && e.account == "operator:kcell:receivable")
            .map(|e| e.amount.tiyn())
            .sum();
        assert_eq!(posted_receivable, 9000);
        assert!(is_balanced(&transfer.void().unwrap()[..0]));
    }
}
