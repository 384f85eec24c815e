//! `smsbus bench detect` and `smsbus bench ingest`: live-bus benchmarks from the command line.
