//! The `smsbus` binary: the only place that reads the environment and wires the crates together.

mod live_cli;
mod planner_cli;
mod ticket_cli;

fn main() {}
