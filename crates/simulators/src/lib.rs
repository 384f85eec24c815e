//! Simulators of the partners SMSBUS talks to, speaking their real protocols over real sockets,
//! for the demo, the benchmarks and the tests. The `smsbus` binary links it for `demo` and
//! `bench`; `smsbus serve` never starts a simulator and reaches real partners only.
//!
//! [`operator`]: the Kazakh mobile operators' CAMARA Carrier Billing 0.5.0 and SIM Swap 2.1.0
//! APIs, with subscribers, their refusal rules, and injectable faults. [`smsc`]: their SMSCs
//! over SMPP 3.4, with phones' inboxes and injectable faults. [`bank`]: a bank that tops up
//! transport cards through our check/pay biller endpoint, as Kaspi does.

pub mod acquirer;
pub mod bank;
pub mod demo;
pub mod operator;
pub mod smsc;
