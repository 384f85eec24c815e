//! `smsbus verify` and `smsbus bench verify`: e-ticket verification from the command line.
