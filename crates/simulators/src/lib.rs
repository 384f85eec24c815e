//! Simulators of the partners SMSBUS talks to, speaking their real protocols over real sockets,
//! for the demo and the tests. Nothing in production links this crate.
//!
//! Today: [`operator`], the Kazakh mobile operators' CAMARA Carrier Billing 0.5.0 and SIM Swap
//! 2.1.0 APIs, with subscribers, their refusal rules, and injectable faults.

pub mod demo;
pub mod operator;
