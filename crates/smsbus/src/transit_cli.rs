//! `smsbus import-gtfs` and `smsbus import-addresses`, and the transit data the demo starts
//! with (a small generated Astana feed and address list, `data/astana-gtfs.zip` and
//! `data/astana-addresses.csv`, made by `data/make_astana_gtfs.py`).
//!
//! A feed is imported for a city of the catalogue. A city that is not there yet (a foreign
//! feed such as Halifax's) is created with `--create-city NAME`: its time zone is the feed's
//! `agency_timezone`, its UTC offset the zone's offset today; add routes and fares to it later
//! through the catalogue file, and the GTFS routes link to them by number.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use service::transit::{FeedImport, ImportStep, ImportSummary, NewCity, Progress};

/// The demo city's feed and address list.
pub const DEMO_CITY: &str = "astana";
pub const DEMO_FEED: &[u8] = include_bytes!("../data/astana-gtfs.zip");
pub const DEMO_ADDRESSES: &[u8] = include_bytes!("../data/astana-addresses.csv");
/// Width of the progress bar, characters.
const BAR_WIDTH: usize = 40;

#[derive(clap::Args, Debug)]
pub struct ImportGtfsArgs {
    /// The GTFS zip.
    pub feed: PathBuf,
    /// The catalogue city it serves (e.g. `astana`).
    #[arg(long)]
    pub city: String,
    /// Create the city with this name when the catalogue does not have it (time zone from the
    /// feed's agency_timezone).
    #[arg(long, value_name = "NAME")]
    pub create_city: Option<String>,
    /// SQLite file or postgres:// URL.
    #[arg(long, default_value = crate::wiring::DEFAULT_DB)]
    pub db: String,
}

#[derive(clap::Args, Debug)]
pub struct ImportAddressesArgs {
    /// A CSV with the columns street,house,lat,lon (UTF-8, header first).
    pub file: PathBuf,
    /// The city (it must have a feed already).
    #[arg(long)]
    pub city: String,
    /// SQLite file or postgres:// URL.
    #[arg(long, default_value = crate::wiring::DEFAULT_DB)]
    pub db: String,
}

pub async fn import_gtfs(args: ImportGtfsArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let bytes =
        std::fs::read(&args.feed).with_context(|| format!("reading {}", args.feed.display()))?;
    let app =
        crate::wiring::open_app(&args.db, HashMap::new(), service::Settings::default()).await?;
    let request = FeedImport {
        city: args.city.clone(),
        create_city: args.create_city.map(|name| NewCity { name }),
        feed: bytes,
    };
    let result = service::transit::import_feed(&app, request, progress_bar()).await;
    eprintln!();
    let summary = result.map_err(|e| {
        anyhow::anyhow!(
            "{}: import refused, the city's previous data is unchanged: {}",
            args.feed.display(),
            e.detail
        )
    })?;
    print_summary(&summary, started.elapsed().as_secs_f64());
    Ok(())
}

pub async fn import_addresses(args: ImportAddressesArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let csv =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let app =
        crate::wiring::open_app(&args.db, HashMap::new(), service::Settings::default()).await?;
    let summary = service::transit::import_addresses(&app, &args.city, csv)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {}", args.file.display(), e.detail))?;
    println!(
        "addresses of {}: {} imported, {} rows skipped in {:.2} s",
        summary.city,
        summary.addresses,
        summary.skipped.len(),
        started.elapsed().as_secs_f64()
    );
    for (line, reason) in summary.skipped.iter().take(20) {
        println!("  line {line}: {reason}");
    }
    Ok(())
}

/// A text progress bar on stderr, redrawn only when it changes.
fn progress_bar() -> Progress {
    let last = Mutex::new(String::new());
    Arc::new(move |step: ImportStep| {
        let line = match step {
            ImportStep::Reading {
                done_bytes,
                total_bytes,
            } => {
                let filled = usize::try_from(
                    done_bytes.saturating_mul(BAR_WIDTH as u64) / total_bytes.max(1),
                )
                .unwrap_or(BAR_WIDTH)
                .min(BAR_WIDTH);
                format!(
                    "reading  [{}{}] {:>3}%",
                    "#".repeat(filled),
                    ".".repeat(BAR_WIDTH - filled),
                    filled * 100 / BAR_WIDTH
                )
            }
            ImportStep::Storing => format!("storing  [{}] 100%", "#".repeat(BAR_WIDTH)),
            ImportStep::Publishing => format!("indexing [{}] 100%", "#".repeat(BAR_WIDTH)),
        };
        let mut last = last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *last != line {
            eprint!("\r{line}   ");
            let _flushed = std::io::stderr().flush();
            *last = line;
        }
    })
}

fn print_summary(summary: &ImportSummary, seconds: f64) {
    println!(
        "imported GTFS for {}{} in {seconds:.2} s",
        summary.city,
        if summary.city_created {
            " (city created)"
        } else {
            ""
        }
    );
    println!(
        "  agencies {}  stops {}  routes {}  trips {}  stop_times {}  shapes {}  services {}  frequencies {}  transfers {}",
        summary.agencies,
        summary.stops,
        summary.routes,
        summary.trips,
        summary.stop_times,
        summary.shapes,
        summary.services,
        summary.frequencies,
        summary.transfers
    );
    println!(
        "  routes linked to the catalogue by number: {} ({}); not linked: {}",
        summary.linked_routes.len(),
        summary.linked_routes.join(", "),
        summary.unlinked_routes.len()
    );
    println!("  skipped problems: {}", summary.report.problem_count);
    for (kind, count) in &summary.problems_by_kind {
        println!("    {kind}: {count}");
    }
    for problem in summary.report.problems.iter().take(10) {
        println!("    e.g. {problem}");
    }
    println!("  sha256 {}", summary.feed_sha256);
}

/// Imports the demo city's transit data (called by `smsbus demo`).
pub async fn seed_demo(app: &Arc<service::App>) -> anyhow::Result<()> {
    let request = FeedImport {
        city: DEMO_CITY.into(),
        create_city: None,
        feed: DEMO_FEED.to_vec(),
    };
    let summary = service::transit::import_feed(app, request, service::transit::no_progress())
        .await
        .map_err(|e| anyhow::anyhow!("demo GTFS feed: {}", e.detail))?;
    service::transit::import_addresses(app, DEMO_CITY, DEMO_ADDRESSES.to_vec())
        .await
        .map_err(|e| anyhow::anyhow!("demo address list: {}", e.detail))?;
    tracing::info!(
        city = DEMO_CITY,
        stops = summary.stops,
        routes = summary.routes,
        trips = summary.trips,
        "demo transit data imported"
    );
    Ok(())
}
