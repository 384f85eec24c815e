//! The outside partners SMSBUS talks to, each behind a trait of our own so the use cases never
//! see a wire format: the mobile operators (CAMARA Carrier Billing 0.5.0 and SIM Swap 2.1.0)
//! and their SMSCs (SMPP 3.4, [`smpp`]). Only this crate knows those protocols; it holds no simulator code, so what ships to
//! production is exactly what the tests drive against the simulator in `simulators`. Every
//! client counts how its calls go ([`health`]) and describes its link without its secrets,
//! for the system operator's console.

pub mod acquirer;
pub mod health;
pub mod operator;
pub mod smpp;
