//! The simulated operators' subscribers that the demo, the tests and the benchmarks start with:
//! a few in good standing and one for every reason a Kazakh operator refuses a payment, so
//! each refusal can be tried by hand.

use domain::{OperatorId, PhoneNumber, Tenge};

use crate::operator::{OperatorSettings, SimulatorError, SimulatorHandle, Subscriber};

/// The operators of Kazakhstan, by our ids (the catalogue's prefix table routes numbers to them).
pub const OPERATORS: [&str; 3] = ["beeline", "kcell", "tele2"];
/// The bearer token every simulated operator expects.
pub const OPERATOR_TOKEN: &str = "demo-operator-token";
/// The OAuth 2.0 client SMSBUS is registered as at every simulated operator.
pub const OAUTH_CLIENT_ID: &str = "smsbus";
pub const OAUTH_CLIENT_SECRET: &str = "demo-client-secret";

/// (phone, operator, what it shows) of every demo subscriber.
pub const SUBSCRIBERS: [(&str, &str, &str); 10] = [
    ("+77011234567", "kcell", "good standing, 5 000 ₸"),
    ("+77051234567", "beeline", "good standing, 5 000 ₸"),
    ("+77071234567", "tele2", "good standing, 5 000 ₸"),
    (
        "+77021234567",
        "kcell",
        "good standing, 5 000 ₸ (pensioner: 40 ₸ in Almaty)",
    ),
    ("+77010000001", "kcell", "refused: corporate number"),
    ("+77010000002", "kcell", "refused: unpaid trust payment"),
    (
        "+77010000003",
        "kcell",
        "refused: never topped up since purchase",
    ),
    (
        "+77010000004",
        "kcell",
        "refused: only the starting balance left",
    ),
    (
        "+77010000005",
        "kcell",
        "refused: SIM card replaced 2 hours ago",
    ),
    (
        "+77010000006",
        "kcell",
        "refused: insufficient balance (10 ₸)",
    ),
];

/// The subscriber behind each entry of [`SUBSCRIBERS`], as of `now_unix_s`.
pub fn subscribers(now_unix_s: i64) -> Result<Vec<Subscriber>, SimulatorError> {
    let mut out = Vec::with_capacity(SUBSCRIBERS.len());
    for (index, (phone, operator, _)) in SUBSCRIBERS.iter().enumerate() {
        let phone =
            PhoneNumber::parse(phone).map_err(|e| SimulatorError::DemoData(e.to_string()))?;
        let operator =
            OperatorId::parse(operator).map_err(|e| SimulatorError::DemoData(e.to_string()))?;
        let mut s = Subscriber::new(phone, operator, Tenge::from_whole(5_000));
        match index {
            4 => s.corporate = true,
            5 => s.unpaid_trust_payment = true,
            6 => s.topped_up_since_purchase = false,
            7 => {
                s.balance = Tenge::from_whole(500);
                s.starting_balance = Tenge::from_whole(500);
            }
            8 => s.last_sim_swap_unix_s = Some(now_unix_s - 2 * 60 * 60),
            9 => s.balance = Tenge::from_whole(10),
            _ => {}
        }
        out.push(s);
    }
    Ok(out)
}

/// Registers the three operators and the demo subscribers on a running simulator.
pub fn seed(simulator: &SimulatorHandle) -> Result<(), SimulatorError> {
    for operator in OPERATORS {
        let id =
            OperatorId::parse(operator).map_err(|e| SimulatorError::DemoData(e.to_string()))?;
        simulator.add_operator(
            id,
            OperatorSettings::new(OPERATOR_TOKEN).with_client(OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET),
        );
    }
    for subscriber in subscribers(simulator.now_unix_s())? {
        simulator.add_subscriber(subscriber)?;
    }
    Ok(())
}
