//! The `smsbus` binary: the only place that reads the environment and wires the crates together.

mod acquirer_cli;
mod audit_cli;
mod bank_cli;
mod bench_operator;
mod bench_ride;
mod bench_sms;
mod bench_soak;
mod demo;
mod live_cli;
mod planner_cli;
mod reconcile_cli;
mod simulate;
mod smpp_cli;
mod staff_cli;
mod ticket_cli;
mod transit_cli;
mod web_cli;
mod wiring;

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "smsbus",
    version,
    about = "Bus fares from the phone balance, signed e-tickets, live buses and journeys"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server against real partners (operator endpoints from --operator).
    Serve(wiring::ServeArgs),
    /// The whole system on this machine: server, simulated operators, seeded catalogue.
    Demo(demo::DemoArgs),
    /// Send an SMS to the short number 2505 of a running server and print the reply.
    Sms(demo::SmsArgs),
    /// The newest outgoing SMS and their way to the phone (SMSC ids, delivery receipts).
    SmsStatus(smpp_cli::SmsStatusArgs),
    /// Check a ticket token offline against a published key list.
    Verify(ticket_cli::VerifyArgs),
    /// Ticket signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Load a catalogue file (cities, routes, vehicles, fares, operator prefixes) into the store.
    Catalogue {
        #[command(subcommand)]
        command: CatalogueCommand,
    },
    /// Import a city's GTFS zip into the store (replaces the city's previous feed atomically).
    ImportGtfs(transit_cli::ImportGtfsArgs),
    /// Import a city's address list (CSV street,house,lat,lon) for search and planning.
    ImportAddresses(transit_cli::ImportAddressesArgs),
    /// Earliest arrivals for stop-to-stop queries read from stdin.
    PlanBatch(planner_cli::PlanBatchArgs),
    /// Seeded runs of the money path with operator faults and crashes, each checked against
    /// the operator's books (`--seed S --runs 1` replays one, printing its event log).
    Simulate(simulate::SimulateArgs),
    /// Match a partner's daily file (bank registry, acquirer or operator settlement report)
    /// with our records and keep its report.
    Reconcile(reconcile_cli::ReconcileArgs),
    /// The audit trail of staff actions: verify its hash chain, list its entries.
    Audit {
        #[command(subcommand)]
        command: audit_cli::AuditCommand,
    },
    /// Staff accounts: add (the first admin too), list, reset a password, disable, TOTP.
    Staff {
        #[command(subcommand)]
        command: staff_cli::StaffCommand,
    },
    /// Machine callers' credentials (SMS gateway, metrics): add, list, revoke.
    Credential {
        #[command(subcommand)]
        command: staff_cli::CredentialCommand,
    },
    /// A bank's side of card top-ups (the simulated bank calls the biller endpoint).
    Bank {
        #[command(subcommand)]
        command: bank_cli::BankCommand,
    },
    /// Benchmarks that print their figures.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Start a new signing key now; older keys stay published until their tickets end.
    Rotate {
        #[arg(long, default_value = wiring::DEFAULT_DB)]
        db: String,
        /// Sign with the new key at once (the old one is compromised), instead of after an hour
        /// in which controllers pick it up.
        #[arg(long)]
        immediately: bool,
    },
    /// Print the published key list as JSON.
    List {
        #[arg(long, default_value = wiring::DEFAULT_DB)]
        db: String,
    },
    /// Print the holder keys as JSON (what `GET /v1/controller/holder-keys` serves to signed-in
    /// controllers; secret: with them a ticket's holder tag can be tested against numbers).
    HolderKeys {
        #[arg(long, default_value = wiring::DEFAULT_DB)]
        db: String,
    },
}

#[derive(Subcommand, Debug)]
enum CatalogueCommand {
    Load {
        file: std::path::PathBuf,
        #[arg(long, default_value = wiring::DEFAULT_DB)]
        db: String,
    },
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Rides end to end over HTTP with the operator simulator.
    Ride(bench_ride::BenchRideArgs),
    /// Rides at a steady rate for a long time, with operator faults and a slowloris client.
    Soak(bench_soak::BenchSoakArgs),
    /// The benchmarks' operator simulator alone (the soak starts it in a process of its own),
    /// until its standard input closes.
    Operator(bench_operator::BenchOperatorArgs),
    /// Passengers' SMS in and tickets out over SMPP through the simulated SMSC.
    Sms(bench_sms::BenchSmsArgs),
    /// Ticket verification, single and batched.
    Verify(ticket_cli::BenchVerifyArgs),
    /// Journey planner queries.
    Planner(planner_cli::BenchPlannerArgs),
    /// Automatic bus detection on a simulated city.
    Detect(live_cli::BenchDetectArgs),
    /// Position ingestion over Wialon IPS and GTFS-Realtime.
    Ingest(live_cli::BenchIngestArgs),
    /// Card top-ups over HTTP from the bank simulator (check, pay, duplicate deliveries).
    Topup(bank_cli::BenchTopupArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    wiring::init_logs();
    let result = match cli.command {
        Command::PlanBatch(args) => planner_cli::plan_batch(args),
        Command::Verify(args) => ticket_cli::verify(args),
        Command::Bench {
            command: BenchCommand::Verify(args),
        } => ticket_cli::bench_verify(args),
        Command::Bench {
            command: BenchCommand::Planner(args),
        } => planner_cli::bench_planner(args),
        Command::Bench {
            command: BenchCommand::Detect(args),
        } => live_cli::bench_detect(args),
        command => async_main(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("smsbus: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn async_main(command: Command) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match command {
            Command::Serve(args) => wiring::serve(args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Sms(args) => demo::sms(args).await,
            Command::SmsStatus(args) => smpp_cli::sms_status(args).await,
            Command::Keys {
                command: KeysCommand::Rotate { db, immediately },
            } => wiring::rotate_keys(&db, immediately).await,
            Command::Keys {
                command: KeysCommand::List { db },
            } => wiring::list_keys(&db).await,
            Command::Keys {
                command: KeysCommand::HolderKeys { db },
            } => wiring::list_holder_keys(&db).await,
            Command::Catalogue {
                command: CatalogueCommand::Load { file, db },
            } => wiring::load_catalogue(&file, &db).await,
            Command::ImportGtfs(args) => transit_cli::import_gtfs(args).await,
            Command::Simulate(args) => simulate::run_cli(args).await,
            Command::Audit { command } => audit_cli::run(command).await,
            Command::Reconcile(args) => reconcile_cli::run(args).await,
            Command::Staff { command } => staff_cli::run(command).await,
            Command::Credential { command } => staff_cli::run_credential(command).await,
            Command::ImportAddresses(args) => transit_cli::import_addresses(args).await,
            Command::Bench {
                command: BenchCommand::Ride(args),
            } => bench_ride::run(args).await,
            Command::Bench {
                command: BenchCommand::Soak(args),
            } => bench_soak::run(args).await,
            Command::Bench {
                command: BenchCommand::Sms(args),
            } => bench_sms::run(args).await,
            Command::Bench {
                command: BenchCommand::Operator(args),
            } => bench_operator::serve(args).await,
            Command::Bench {
                command: BenchCommand::Ingest(args),
            } => live_cli::bench_ingest(args).await,
            Command::Bench {
                command: BenchCommand::Topup(args),
            } => bank_cli::bench(args).await,
            Command::Bank { command } => bank_cli::run(command).await,
            Command::PlanBatch(_) | Command::Verify(_) | Command::Bench { .. } => Ok(()),
        }
    })
}

/// Parses `127.0.0.1:8080`.
pub(crate) fn parse_addr(text: &str) -> anyhow::Result<SocketAddr> {
    text.parse()
        .map_err(|e| anyhow::anyhow!("`{text}` is not an address like 127.0.0.1:8080: {e}"))
}
