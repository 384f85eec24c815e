//! `smsbus plan-batch` and `smsbus bench planner`: the journey planner from the command line.
