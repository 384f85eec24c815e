//! `smsbus plan-batch` and `smsbus bench planner`: the journey planner from the command line.
//!
//! Both read a GTFS zip, build the timetable of one date and time the queries alone; the build
//! is timed separately. Output formats are fixed by issue 3 (one CSV line per query on stdout,
//! a summary line last on stderr / stdout).

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use transit::timetable::{PreviousDay, WALK_SPEED_M_PER_S_DEFAULT};
use transit::{Planner, ServiceTime, Timetable, TimetableOptions};

/// Most queries read from stdin by `plan-batch`.
const BATCH_QUERIES_MAX: usize = 10_000_000;
/// Default number of benchmark queries.
const BENCH_QUERIES_DEFAULT: usize = 2_000;
/// Seed of the benchmark's query generator (reproducible runs).
const BENCH_SEED_DEFAULT: u64 = 42;

/// `smsbus plan-batch`: earliest arrivals for stop-to-stop queries read from stdin.
#[derive(clap::Args, Debug)]
pub struct PlanBatchArgs {
    /// The GTFS zip.
    #[arg(long)]
    pub gtfs: PathBuf,
    /// Service date, YYYY-MM-DD.
    #[arg(long)]
    pub date: jiff::civil::Date,
    /// Longest walk between two different stops, metres (straight line, 1.4 m/s); 0 = none.
    #[arg(long = "walk-m")]
    pub walk_m: f64,
    /// Most transfers.
    #[arg(long = "max-transfers", default_value_t = transit::planner::MAX_TRANSFERS_DEFAULT)]
    pub max_transfers: u32,
}

/// `smsbus bench planner`: seeded random stop-to-stop queries at 08:00.
#[derive(clap::Args, Debug)]
pub struct BenchPlannerArgs {
    /// The GTFS zip.
    #[arg(long)]
    pub gtfs: PathBuf,
    /// Service date, YYYY-MM-DD.
    #[arg(long)]
    pub date: jiff::civil::Date,
    /// Longest walk between two different stops, metres; 0 = none.
    #[arg(long = "walk-m", default_value_t = 400.0)]
    pub walk_m: f64,
    /// Number of queries.
    #[arg(long, default_value_t = BENCH_QUERIES_DEFAULT)]
    pub queries: usize,
    /// Seed of the query generator.
    #[arg(long, default_value_t = BENCH_SEED_DEFAULT)]
    pub seed: u64,
    /// Most transfers.
    #[arg(long = "max-transfers", default_value_t = transit::planner::MAX_TRANSFERS_DEFAULT)]
    pub max_transfers: u32,
}

/// A loaded feed, its timetable and how long loading took.
struct Loaded {
    planner: Planner,
    parse: Duration,
    build: Duration,
}

fn load(gtfs: &PathBuf, date: jiff::civil::Date, walk_m: f64) -> anyhow::Result<Loaded> {
    let bytes = std::fs::read(gtfs).with_context(|| format!("reading {}", gtfs.display()))?;
    let started = Instant::now();
    let feed = transit::gtfs::read_feed(std::io::Cursor::new(bytes))
        .with_context(|| format!("importing {}", gtfs.display()))?;
    let parse = started.elapsed();
    let options = TimetableOptions {
        transfer_walk_m: walk_m,
        walk_speed_m_per_s: WALK_SPEED_M_PER_S_DEFAULT,
        previous_day: PreviousDay::Include,
    };
    let started = Instant::now();
    let timetable = Timetable::build(Arc::new(feed), date, options)
        .with_context(|| format!("building the timetable of {date}"))?;
    Ok(Loaded {
        planner: Planner::new(Arc::new(timetable)),
        parse,
        build: started.elapsed(),
    })
}

/// Runs `plan-batch`.
pub fn plan_batch(args: PlanBatchArgs) -> anyhow::Result<()> {
    let loaded = load(&args.gtfs, args.date, args.walk_m)?;
    let feed = loaded.planner.timetable().feed().clone();
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut times = Vec::new();
    for (number, line) in stdin.lock().lines().enumerate() {
        let line_number = number + 1;
        let line = line.with_context(|| format!("reading stdin line {line_number}"))?;
        let line = line.trim();
        if line.is_empty() || (line_number == 1 && line.starts_with("from_stop_id")) {
            continue;
        }
        if times.len() >= BATCH_QUERIES_MAX {
            bail!("more than {BATCH_QUERIES_MAX} queries");
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [from_id, to_id, departure_text] = fields.as_slice() else {
            eprintln!(
                "plan-batch: line {line_number}: expected from_stop_id,to_stop_id,departure, got {line:?}"
            );
            writeln!(out, "{line},,")?;
            continue;
        };
        let query = (
            feed.stop_idx(from_id),
            feed.stop_idx(to_id),
            ServiceTime::parse(departure_text),
        );
        let (Some(from), Some(to), Ok(departure)) = query else {
            let reason = match query {
                (None, _, _) => format!("unknown stop id {from_id:?}"),
                (_, None, _) => format!("unknown stop id {to_id:?}"),
                _ => format!("bad departure {departure_text:?} (expected HH:MM:SS)"),
            };
            eprintln!("plan-batch: line {line_number}: {reason}");
            writeln!(out, "{from_id},{to_id},{departure_text},,")?;
            continue;
        };
        let started = Instant::now();
        let answer = loaded
            .planner
            .earliest_arrival(from, to, departure, args.max_transfers);
        times.push(started.elapsed());
        match answer {
            Some(a) => writeln!(
                out,
                "{from_id},{to_id},{departure_text},{},{}",
                a.arrival, a.transfers
            )?,
            None => writeln!(out, "{from_id},{to_id},{departure_text},,")?,
        }
    }
    out.flush()?;
    eprintln!(
        "plan-batch: parse_ms={:.1} timetable_ms={:.1} stops={} runs={}",
        ms(loaded.parse),
        ms(loaded.build),
        feed.stops.len(),
        loaded.planner.timetable().run_count()
    );
    eprintln!(
        "plan-batch: {}",
        summary(&mut times, loaded.parse + loaded.build)
    );
    Ok(())
}

/// Runs `bench planner`.
pub fn bench_planner(args: BenchPlannerArgs) -> anyhow::Result<()> {
    let loaded = load(&args.gtfs, args.date, args.walk_m)?;
    let timetable = loaded.planner.timetable().clone();
    let pairs = transit::sampling::random_stop_pairs(&timetable, args.queries, args.seed);
    if pairs.is_empty() {
        bail!(
            "the timetable of {} has fewer than two served stops",
            args.date
        );
    }
    let departure = ServiceTime::from_hms(8, 0, 0).context("08:00")?;
    let mut times = Vec::with_capacity(pairs.len());
    let mut reached = 0;
    for &(from, to) in &pairs {
        let started = Instant::now();
        let answer = loaded
            .planner
            .earliest_arrival(from, to, departure, args.max_transfers);
        times.push(started.elapsed());
        reached += usize::from(answer.is_some());
    }
    println!(
        "bench planner: feed={} date={} walk_m={} parse_ms={:.1} timetable_ms={:.1} reached={reached}/{}",
        args.gtfs.display(),
        args.date,
        args.walk_m,
        ms(loaded.parse),
        ms(loaded.build),
        pairs.len()
    );
    println!(
        "bench planner: {}",
        summary(&mut times, loaded.parse + loaded.build)
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `queries=<n> mean_ms=<x> p50_ms=<x> p99_ms=<x> build_ms=<x>`.
fn summary(times: &mut [Duration], build: Duration) -> String {
    times.sort_unstable();
    let count = times.len();
    let mean = if count == 0 {
        0.0
    } else {
        ms(times.iter().sum()) / count as f64
    };
    let percentile = |p: usize| {
        let rank = (count * p / 100).min(count.saturating_sub(1));
        times.get(rank).copied().map_or(0.0, ms)
    };
    format!(
        "queries={count} mean_ms={mean:.3} p50_ms={:.3} p99_ms={:.3} build_ms={:.1}",
        percentile(50),
        percentile(99),
        ms(build)
    )
}
