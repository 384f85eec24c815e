//! `smsbus bench detect` and `smsbus bench ingest`: live-bus benchmarks from the command line.
//!
//! `bench detect` simulates whole cities at one moment (every bus in service, from their
//! GTFS), rides simulated passengers on random buses and times the detection of their bus.
//! `bench ingest` pushes simulated positions through the real ingestion paths: Wialon IPS
//! over loopback TCP (codec, session handler, bounded queue, batch apply) and GTFS-RT
//! (decode, apply). Both are programs that print numbers, not tests.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use live::detect::{Detection, DetectionParams};
use live::gtfs_rt;
use live::network::{Network, NetworkInput, RunInput, RunStopInput};
use live::session::{AuthOutcome, SessionCounters, run_session};
use live::simulate::{CitySimulator, SimConfig, SplitMix64};
use live::state::{Fix, LiveConfig, LiveState, Position};
use live::transit_adapter;
use live::wialon::{self, ProtocolVersion, WialonFix};
use live::{RunIdx, TimeMs, TrackerId, VehicleId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use transit::geo::{Coordinate, Projection, Xy};
use transit::ids::{GtfsRouteId, GtfsStopId, GtfsTripId};

/// Passenger phones report a fix this often.
const FIX_INTERVAL_S: i64 = 5;
/// Trackers report this often.
const REPORT_INTERVAL_S: i64 = 10;
/// Vehicle tracks start this long before the passenger's ride.
const TRACK_LEAD_S: i64 = 60;
/// A bus this far along its run has left its first stop.
const DEPARTED_M: f64 = 1.0;
/// Positions applied per batch by the ingestion consumer.
const APPLY_BATCH_MAX: usize = 4_096;
/// Buses of the `k`-th overlaid service hour get ids `k * LAYER_VEHICLE_ID_STRIDE` higher.
const LAYER_VEHICLE_ID_STRIDE: u64 = 100_000;
/// Vehicle ids of city `n` start at `n * CITY_VEHICLE_ID_STRIDE + 1`.
const CITY_VEHICLE_ID_STRIDE: u64 = 1_000_000;

#[derive(clap::Args, Debug)]
pub struct BenchDetectArgs {
    /// GTFS zip of a city; repeat to simulate several cities at once.
    #[arg(long = "gtfs", required = true)]
    pub gtfs: Vec<PathBuf>,
    /// Service date, YYYY-MM-DD: one for all cities, or one per `--gtfs` in the same order
    /// (feeds cover different years).
    #[arg(long = "date", required = true)]
    pub date: Vec<String>,
    /// Local time of day in each city, HH:MM; repeat to overlay several service hours on
    /// the same streets at once (for cities with fewer buses than the benchmark needs).
    #[arg(long = "time", required = true)]
    pub time: Vec<String>,
    /// Passenger GPS error, standard deviation per axis in metres.
    #[arg(long, default_value_t = 15.0)]
    pub noise_m: f64,
    /// Seconds of fixes the passenger's phone sends.
    #[arg(long, default_value_t = 60)]
    pub ride_s: u32,
    #[arg(long, default_value_t = 10_000)]
    pub trials: u32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(clap::Args, Debug)]
pub struct BenchIngestArgs {
    /// GTFS zip to take runs from (with --date and --time); a synthetic grid city otherwise.
    #[arg(long)]
    pub gtfs: Option<PathBuf>,
    #[arg(long)]
    pub date: Option<String>,
    #[arg(long)]
    pub time: Option<String>,
    /// Concurrent Wialon IPS tracker connections (one vehicle each).
    #[arg(long, default_value_t = 200)]
    pub connections: usize,
    /// Positions each tracker sends (one per second of driving).
    #[arg(long, default_value_t = 1_000)]
    pub positions_per_tracker: usize,
    /// Vehicles in each GTFS-RT snapshot.
    #[arg(long, default_value_t = 1_000)]
    pub feed_vehicles: usize,
    /// GTFS-RT snapshots decoded and applied.
    #[arg(long, default_value_t = 200)]
    pub feeds: usize,
    /// Capacity of the bounded position queue.
    #[arg(long, default_value_t = 8_192)]
    pub queue: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// One simulated city at the benchmark moment.
struct City {
    network: Arc<Network>,
    now: TimeMs,
    first_vehicle_id: u64,
}

fn load_city(
    path: &PathBuf,
    date: jiff::civil::Date,
    time: jiff::civil::Time,
    index: usize,
) -> anyhow::Result<City> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let feed = transit::gtfs::read_feed(std::io::Cursor::new(bytes))
        .with_context(|| format!("parsing {}", path.display()))?;
    let zone = transit_adapter::feed_time_zone(&feed)?;
    let input = transit_adapter::network_input(&feed, date)?;
    let network = Arc::new(
        Network::build(input).with_context(|| format!("building runs of {}", path.display()))?,
    );
    let now = date
        .to_datetime(time)
        .to_zoned(zone)
        .context("placing the benchmark time")?;
    Ok(City {
        network,
        now: TimeMs(now.timestamp().as_millisecond()),
        first_vehicle_id: (index as u64 + 1) * CITY_VEHICLE_ID_STRIDE + 1,
    })
}

fn parse_date_time(
    date: &str,
    time: &str,
) -> anyhow::Result<(jiff::civil::Date, jiff::civil::Time)> {
    let date: jiff::civil::Date = date
        .parse()
        .with_context(|| format!("--date {date:?} is not YYYY-MM-DD"))?;
    let time: jiff::civil::Time = time
        .parse()
        .with_context(|| format!("--time {time:?} is not HH:MM"))?;
    Ok((date, time))
}

// ---- bench detect ------------------------------------------------------------------------

/// One simulated bus: a run, shifted in time when several service hours are overlaid.
#[derive(Clone, Copy, Debug)]
struct Bus {
    run: RunIdx,
    /// The bus shows now where its run is at `now + shift_ms`.
    shift_ms: i64,
    vehicle: VehicleId,
}

struct CityState<'a> {
    simulator: CitySimulator<'a>,
    state: LiveState,
    riders: Vec<Bus>,
    now: TimeMs,
}

/// Runs `smsbus bench detect`. Synchronous: it is pure computation.
pub fn bench_detect(args: BenchDetectArgs) -> anyhow::Result<()> {
    if args.date.len() != 1 && args.date.len() != args.gtfs.len() {
        bail!("give one --date for all feeds or one per --gtfs");
    }
    let first_time = args.time.first().context("--time is required")?;
    let mut cities = Vec::new();
    for (index, path) in args.gtfs.iter().enumerate() {
        let date = args
            .date
            .get(index)
            .or(args.date.first())
            .context("--date is required")?;
        let (date, time) = parse_date_time(date, first_time)?;
        cities.push(load_city(path, date, time, index)?);
    }
    let shifts_ms = overlay_shifts_ms(&args.time)?;
    let ride_ms = i64::from(args.ride_s) * 1000;
    let mut rng = SplitMix64::new(args.seed);
    let mut states = Vec::new();
    let mut vehicles = 0;
    for city in &cities {
        let config = SimConfig {
            first_vehicle_id: city.first_vehicle_id,
            ..SimConfig::default()
        };
        let simulator = CitySimulator::new(&city.network, args.seed, config);
        let buses = buses_in_service(&simulator, city, &shifts_ms);
        vehicles += buses.len();
        let state = simulate_tracks(
            &simulator,
            &city.network,
            &buses,
            city.now,
            ride_ms,
            &mut rng,
        );
        // A passenger rides a bus that is on its way during the whole ride: nobody can tell
        // from GPS which of the buses parked at a terminus they sit in (detection rightly
        // answers "ambiguous" there), so buses still waiting at their first stop are skipped.
        let riders: Vec<Bus> = buses
            .iter()
            .copied()
            .filter(|bus| {
                simulator
                    .true_position(bus.run, city.now.plus_ms(bus.shift_ms - ride_ms))
                    .is_some_and(|start| start.along_m > DEPARTED_M)
            })
            .collect();
        println!(
            "city: runs={} buses_in_service={} rideable={}",
            city.network.runs().len(),
            buses.len(),
            riders.len()
        );
        states.push(CityState {
            simulator,
            state,
            riders,
            now: city.now,
        });
    }
    let total_riders: usize = states.iter().map(|s| s.riders.len()).sum();
    if total_riders == 0 {
        bail!("no bus is in service for the whole ride at that time");
    }
    let params = DetectionParams {
        fix_sigma_m: args.noise_m.max(1.0),
        ..DetectionParams::default()
    };
    let mut outcome = Outcome::default();
    let mut durations = Vec::with_capacity(args.trials as usize);
    for _ in 0..args.trials {
        let Some((city, bus)) = pick_rider(&states, rng.below(total_riders as u64) as usize) else {
            continue;
        };
        let fixes = passenger_fixes(
            &city.simulator,
            &city.state,
            bus,
            city.now,
            ride_ms,
            args.noise_m,
            &mut rng,
        );
        let started = Instant::now();
        let detection = city.state.detect(&fixes, &params);
        durations.push(started.elapsed());
        outcome.count(&detection, bus.vehicle);
    }
    durations.sort();
    let p99 = durations
        .get(durations.len().saturating_mul(99) / 100)
        .copied()
        .unwrap_or_default();
    let trials = durations.len().max(1) as f64;
    println!(
        "detect: confident_pct={:.2} no_match_pct={:.2} mean_us={:.1}",
        100.0 * outcome.confident as f64 / trials,
        100.0 * outcome.no_match as f64 / trials,
        durations.iter().map(Duration::as_secs_f64).sum::<f64>() * 1e6 / trials
    );
    println!(
        "bench detect: vehicles={vehicles} trials={} correct_pct={:.2} ambiguous_pct={:.2} confident_wrong={} p99_ms={:.3}",
        durations.len(),
        100.0 * outcome.correct as f64 / trials,
        100.0 * outcome.ambiguous as f64 / trials,
        outcome.confident_wrong,
        p99.as_secs_f64() * 1000.0
    );
    Ok(())
}

/// Offsets of the extra `--time`s from the first: their buses are overlaid on the same
/// streets at the same moment, a denser (harder) city than either hour alone.
fn overlay_shifts_ms(times: &[String]) -> anyhow::Result<Vec<i64>> {
    let parse = |text: &String| -> anyhow::Result<jiff::civil::Time> {
        text.parse()
            .with_context(|| format!("--time {text:?} is not HH:MM"))
    };
    let first = parse(times.first().context("--time is required")?)?;
    times
        .iter()
        .map(|text| {
            let time = parse(text)?;
            Ok(time.duration_since(first).as_millis() as i64)
        })
        .collect()
}

fn buses_in_service(simulator: &CitySimulator<'_>, city: &City, shifts_ms: &[i64]) -> Vec<Bus> {
    let mut buses = Vec::new();
    for (layer, shift_ms) in shifts_ms.iter().enumerate() {
        for run in simulator.in_service(city.now.plus_ms(*shift_ms)) {
            let vehicle =
                VehicleId(simulator.vehicle_of(run).0 + layer as u64 * LAYER_VEHICLE_ID_STRIDE);
            buses.push(Bus {
                run,
                shift_ms: *shift_ms,
                vehicle,
            });
        }
    }
    buses
}

fn pick_rider<'s, 'a>(
    states: &'s [CityState<'a>],
    mut pick: usize,
) -> Option<(&'s CityState<'a>, Bus)> {
    for city in states {
        if let Some(bus) = city.riders.get(pick) {
            return Some((city, *bus));
        }
        pick = pick.saturating_sub(city.riders.len());
    }
    None
}

#[derive(Default)]
struct Outcome {
    correct: u64,
    confident: u64,
    ambiguous: u64,
    no_match: u64,
    confident_wrong: u64,
}

impl Outcome {
    fn count(&mut self, detection: &Detection, truth: VehicleId) {
        if detection.first() == Some(truth) {
            self.correct += 1;
        }
        match detection {
            Detection::Confident(best) => {
                self.confident += 1;
                if best.vehicle != truth {
                    self.confident_wrong += 1;
                }
            }
            Detection::Ambiguous { .. } => self.ambiguous += 1,
            Detection::NoMatch => self.no_match += 1,
        }
    }
}

/// Every bus in service reports every [`REPORT_INTERVAL_S`] (each at its own phase) from
/// before the ride until now; the reports go through the real batch apply.
fn simulate_tracks(
    simulator: &CitySimulator<'_>,
    network: &Arc<Network>,
    buses: &[Bus],
    now: TimeMs,
    ride_ms: i64,
    rng: &mut SplitMix64,
) -> LiveState {
    let mut state = LiveState::new(Arc::clone(network), LiveConfig::default());
    let start = now.plus_ms(-ride_ms - TRACK_LEAD_S * 1000);
    let mut reports = Vec::new();
    for bus in buses {
        let phase_ms = rng.below(REPORT_INTERVAL_S as u64 * 1000) as i64;
        let mut at = start.plus_ms(phase_ms);
        while at <= now {
            // An overlaid bus reports its run's position of another hour, under its own id.
            let report =
                simulator.report(bus.run, at.plus_ms(bus.shift_ms), rng, bus.shift_ms == 0);
            reports.extend(report.map(|position| Position {
                vehicle: bus.vehicle,
                at,
                ..position
            }));
            at = at.plus_ms(REPORT_INTERVAL_S * 1000);
        }
    }
    reports.sort_by_key(|position| position.at);
    let mut events = Vec::new();
    for batch in reports.chunks(APPLY_BATCH_MAX) {
        let batch_now = batch.last().map_or(now, |position| position.at);
        state.apply_batch(batch, batch_now, &mut events);
    }
    state
}

/// The passenger's fixes while riding `bus`: its true position plus phone GPS noise.
fn passenger_fixes(
    simulator: &CitySimulator<'_>,
    state: &LiveState,
    bus: Bus,
    now: TimeMs,
    ride_ms: i64,
    noise_m: f64,
    rng: &mut SplitMix64,
) -> Vec<Fix> {
    let projection = state.network().projection();
    let mut fixes = Vec::new();
    let mut at = now.plus_ms(-ride_ms);
    while at <= now {
        let jitter_ms = rng.below(1000) as i64;
        let fix_at = at.plus_ms(-jitter_ms).max(now.plus_ms(-ride_ms));
        if let Some(truth) = simulator.true_position(bus.run, fix_at.plus_ms(bus.shift_ms)) {
            let noisy = Xy::new(
                truth.xy.x + noise_m * rng.gaussian(),
                truth.xy.y + noise_m * rng.gaussian(),
            );
            fixes.extend(projection.unproject(noisy).map(|point| Fix {
                at: fix_at,
                point,
                accuracy_m: None,
            }));
        }
        at = at.plus_ms(FIX_INTERVAL_S * 1000);
    }
    fixes
}

// ---- bench ingest ------------------------------------------------------------------------

/// Runs `smsbus bench ingest`. Async: it drives real TCP sockets; call it inside a Tokio
/// runtime.
pub async fn bench_ingest(args: BenchIngestArgs) -> anyhow::Result<()> {
    let city = match (&args.gtfs, &args.date, &args.time) {
        (Some(path), Some(date), Some(time)) => {
            let (date, time) = parse_date_time(date, time)?;
            load_city(path, date, time, 0)?
        }
        (Some(_), _, _) => bail!("--gtfs needs --date and --time"),
        _ => synthetic_city()?,
    };
    let simulator = CitySimulator::new(
        &city.network,
        args.seed,
        SimConfig {
            first_vehicle_id: city.first_vehicle_id,
            ..SimConfig::default()
        },
    );
    let in_service = simulator.in_service(city.now);
    if in_service.is_empty() {
        bail!("no bus is in service at that time");
    }
    let wialon_rate = bench_wialon(&args, &city, &simulator, &in_service).await?;
    println!("bench ingest wialon_tcp: positions_per_s={wialon_rate:.0}");
    let gtfs_rate = bench_gtfs_rt(&args, &city, &simulator, &in_service)?;
    println!("bench ingest gtfs_rt: positions_per_s={gtfs_rate:.0}");
    println!(
        "bench ingest: positions_per_s={:.0}",
        wialon_rate.min(gtfs_rate)
    );
    Ok(())
}

/// A 12 km × 12 km grid city: 40 straight routes, stops every 400 m, a run every 5 min in
/// each direction from 06:00 to 10:00 UTC on 2025-09-10.
fn synthetic_city() -> anyhow::Result<City> {
    const ROUTES: usize = 40;
    const STOPS: usize = 30;
    const STOP_SPACING_M: f64 = 400.0;
    const STOP_INTERVAL_MS: i64 = 60_000;
    let day = TimeMs::from_unix_s(1_757_462_400);
    let projection = Projection::new(Coordinate::new(51.1694, 71.4491)?);
    let mut runs = Vec::new();
    for route in 0..ROUTES {
        let offset_m = 300.0 * (route / 2) as f64;
        let points: Vec<Xy> = (0..STOPS)
            .map(|i| {
                let along_m = STOP_SPACING_M * i as f64;
                if route % 2 == 0 {
                    Xy::new(along_m, offset_m)
                } else {
                    Xy::new(offset_m, along_m)
                }
            })
            .collect();
        let route_id = GtfsRouteId::new(&route.to_string())?;
        let stop_ids = (0..STOPS)
            .map(|i| GtfsStopId::new(&format!("{route}-{i}")))
            .collect::<Result<Vec<_>, _>>()?;
        for (direction, ordered) in [points.clone(), points.iter().rev().copied().collect()]
            .into_iter()
            .enumerate()
        {
            for departure in 0..48 {
                let start = day.plus_ms((6 * 3600 + departure * 300) * 1000);
                let stops = ordered
                    .iter()
                    .enumerate()
                    .filter_map(|(i, xy)| {
                        let at = start.plus_ms(STOP_INTERVAL_MS * i as i64);
                        Some(RunStopInput {
                            stop_id: stop_ids.get(i)?.clone(),
                            name: String::new(),
                            point: projection.unproject(*xy)?,
                            arrival: at,
                            departure: at,
                        })
                    })
                    .collect();
                runs.push(RunInput {
                    trip_id: GtfsTripId::new(&format!("{route}-{direction}-{departure}"))?,
                    route_id: route_id.clone(),
                    route_short_name: route.to_string(),
                    stops,
                    shape: None,
                });
            }
        }
    }
    let network = Arc::new(Network::build(NetworkInput {
        shapes: Vec::new(),
        runs,
    })?);
    Ok(City {
        network,
        now: day.plus_ms(8 * 3_600_000),
        first_vehicle_id: CITY_VEHICLE_ID_STRIDE + 1,
    })
}

/// Wialon IPS over loopback TCP: every tracker logs in (v2.0) and sends its positions as
/// `#SD#` lines with checksums; sessions push into one bounded queue; one consumer applies
/// batches. Returns positions applied per second.
async fn bench_wialon(
    args: &BenchIngestArgs,
    city: &City,
    simulator: &CitySimulator<'_>,
    in_service: &[RunIdx],
) -> anyhow::Result<f64> {
    let mut rng = SplitMix64::new(args.seed ^ 0x5EED);
    let mut scripts = Vec::with_capacity(args.connections);
    let mut trackers = HashMap::new();
    for connection in 0..args.connections {
        let run = in_service
            .get(connection % in_service.len())
            .copied()
            .unwrap_or(RunIdx(0));
        let tracker = format!("86{connection:013}");
        let vehicle = VehicleId(city.first_vehicle_id + 500_000 + connection as u64);
        trackers.insert(tracker.clone(), vehicle);
        scripts.push((
            tracker,
            tracker_script(
                simulator,
                run,
                city.now,
                args.positions_per_tracker,
                &mut rng,
            ),
        ));
    }
    let expected: usize = scripts.iter().map(|(_, script)| script.1).sum();
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding a loopback listener")?;
    let address = listener.local_addr()?;
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Position>(args.queue);
    let counters = Arc::new(SessionCounters::default());
    let trackers = Arc::new(trackers);
    let accept_counters = Arc::clone(&counters);
    let now = city.now;
    let acceptor = tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                break;
            };
            let (sender, counters, trackers) = (
                sender.clone(),
                Arc::clone(&accept_counters),
                Arc::clone(&trackers),
            );
            tokio::spawn(async move {
                let authenticate =
                    |tracker: &TrackerId, _: Option<&str>| match trackers.get(tracker.as_str()) {
                        Some(vehicle) => AuthOutcome::Vehicle {
                            vehicle: *vehicle,
                            route: None,
                        },
                        None => AuthOutcome::UnknownTracker,
                    };
                run_session(
                    socket,
                    &authenticate,
                    &sender,
                    &counters,
                    live::SessionLimits::default(),
                    || now,
                )
                .await
            });
        }
    });
    let mut state = LiveState::new(Arc::clone(&city.network), LiveConfig::default());
    let started = Instant::now();
    let mut clients = Vec::new();
    for (tracker, (bytes, _)) in scripts {
        clients.push(tokio::spawn(run_tracker(address, tracker, bytes)));
    }
    let (mut received, mut applied) = (0, 0);
    let mut batch = Vec::with_capacity(APPLY_BATCH_MAX);
    let mut events = Vec::new();
    while received < expected {
        batch.clear();
        if receiver.recv_many(&mut batch, APPLY_BATCH_MAX).await == 0 {
            break;
        }
        received += batch.len();
        let batch_now = batch.iter().map(|p| p.at).max().unwrap_or(now);
        applied += state.apply_batch(&batch, batch_now, &mut events).applied;
    }
    let elapsed = started.elapsed();
    for client in clients {
        client.await.context("tracker task")??;
    }
    acceptor.abort();
    let counters = counters.snapshot();
    println!(
        "wialon: trackers={} positions={applied} queued={} rejected={} elapsed_s={:.3}",
        args.connections,
        counters.positions_queued,
        counters.packets_rejected,
        elapsed.as_secs_f64()
    );
    Ok(applied as f64 / elapsed.as_secs_f64().max(1e-9))
}

/// A tracker's whole conversation after login, as bytes, and how many positions it holds.
fn tracker_script(
    simulator: &CitySimulator<'_>,
    run: RunIdx,
    now: TimeMs,
    count: usize,
    rng: &mut SplitMix64,
) -> (Vec<u8>, usize) {
    let mut text = String::new();
    let mut positions = 0;
    for second in 0..count {
        let at = now.plus_ms(second as i64 * 1000);
        let Some(report) = simulator.report(run, at, rng, false) else {
            continue;
        };
        let fix = WialonFix {
            height_m: Some(20.0),
            satellites: Some(10),
            ..WialonFix::from_position(&report)
        };
        text.push_str(&wialon::short_data_line(ProtocolVersion::V2_0, &fix));
        text.push_str("\r\n");
        positions += 1;
    }
    (text.into_bytes(), positions)
}

async fn run_tracker(
    address: std::net::SocketAddr,
    tracker: String,
    script: Vec<u8>,
) -> anyhow::Result<()> {
    let stream = TcpStream::connect(address)
        .await
        .context("connecting a tracker")?;
    stream.set_nodelay(true)?;
    let (mut reader, mut writer) = stream.into_split();
    let login = wialon::login_line(ProtocolVersion::V2_0, &tracker, Some("pw")) + "\r\n";
    writer.write_all(login.as_bytes()).await?;
    let lines = script.iter().filter(|&&byte| byte == b'\n').count() + 1;
    let write = async move {
        writer.write_all(&script).await?;
        writer.shutdown().await?;
        anyhow::Ok(())
    };
    let read = async move {
        let mut buffer = vec![0_u8; 64 * 1024];
        let mut answers = 0;
        while answers < lines {
            let read = reader.read(&mut buffer).await?;
            if read == 0 {
                break;
            }
            answers += buffer
                .get(..read)
                .unwrap_or(&[])
                .iter()
                .filter(|&&byte| byte == b'\n')
                .count();
        }
        anyhow::Ok(())
    };
    let (written, read) = tokio::join!(write, read);
    written?;
    read
}

/// GTFS-RT: snapshots of every vehicle every [`REPORT_INTERVAL_S`], encoded beforehand;
/// timed: decode, map vehicles, apply. Returns positions applied per second.
fn bench_gtfs_rt(
    args: &BenchIngestArgs,
    city: &City,
    simulator: &CitySimulator<'_>,
    in_service: &[RunIdx],
) -> anyhow::Result<f64> {
    let mut rng = SplitMix64::new(args.seed ^ 0xFEED);
    let runs: Vec<RunIdx> = in_service
        .iter()
        .copied()
        .cycle()
        .take(args.feed_vehicles.min(in_service.len()))
        .collect();
    let mut feeds = Vec::with_capacity(args.feeds);
    for snapshot in 0..args.feeds {
        let at = city.now.plus_ms(snapshot as i64 * REPORT_INTERVAL_S * 1000);
        let positions: Vec<Position> = runs
            .iter()
            .filter_map(|run| simulator.report(*run, at, &mut rng, true))
            .collect();
        feeds.push(gtfs_rt::encode_feed(&gtfs_rt::feed_from_positions(
            &positions, at,
        )));
    }
    let mut state = LiveState::new(Arc::clone(&city.network), LiveConfig::default());
    let mut directory = gtfs_rt::VehicleDirectory::starting_at(city.first_vehicle_id);
    let mut positions = Vec::new();
    let mut events = Vec::new();
    let mut applied = 0;
    let started = Instant::now();
    for (snapshot, bytes) in feeds.iter().enumerate() {
        let feed = gtfs_rt::decode_feed(bytes)?;
        positions.clear();
        gtfs_rt::positions_from_feed(
            &feed,
            |key| Some(directory.get_or_insert(key)),
            &mut positions,
        );
        let at = city.now.plus_ms(snapshot as i64 * REPORT_INTERVAL_S * 1000);
        applied += state.apply_batch(&positions, at, &mut events).applied;
    }
    let elapsed = started.elapsed();
    println!(
        "gtfs_rt: feeds={} vehicles={} positions={applied} elapsed_s={:.3}",
        feeds.len(),
        runs.len(),
        elapsed.as_secs_f64()
    );
    Ok(applied as f64 / elapsed.as_secs_f64().max(1e-9))
}

/// Starts the demo's simulated city: buses driving the imported trips, reporting through the
/// real ingestion paths (called by `smsbus demo` once the server listens).
/// The demo's buses report this often.
const DEMO_REPORT_PERIOD_S: u64 = 5;
const DEMO_CITY: &str = "astana";
/// Catalogue buses of the demo city, driven on runs of their own route.
const DEMO_CATALOGUE_BUSES: [&str; 5] = ["10101", "10102", "10121", "13101", "13011"];
const DEMO_TRACKER_PASSWORD: &str = "demo-tracker";

/// Starts the server's Wialon IPS listener in the background; returns its address.
pub async fn start_wialon_listener(
    app: Arc<service::App>,
    addr: &str,
) -> anyhow::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for Wialon IPS on {addr}"))?;
    let bound = listener.local_addr()?;
    tokio::spawn(api::serve_wialon(
        app,
        listener,
        api::WialonLimits::default(),
    ));
    Ok(bound)
}

/// The living demo city: the imported Astana timetable driven by the simulator, the
/// catalogue buses over Wialon IPS (TCP, our own listener), every other bus as GTFS-RT
/// pushed over HTTP.
pub async fn start_demo_city(app: &Arc<service::App>) -> anyhow::Result<()> {
    let now = jiff::Timestamp::from_millisecond(app.now_ms())?;
    // The city's local time by the one rule (an old zone database puts Almaty at UTC+6).
    let local = now.to_zoned(app.catalogue().time_zone(DEMO_CITY, now));
    // At night the demo replays the timetable from 08:00 so its buses still move.
    let night = local.hour() < 6 || local.hour() >= 22;
    let minutes = i64::from(local.hour()) * 60 + i64::from(local.minute());
    let shift_ms = if night {
        (minutes - 8 * 60) * 60_000
    } else {
        0
    };
    let date = local.date();
    let runs = service::live::install_from_transit(app, DEMO_CITY, date, shift_ms)
        .await
        .map_err(|e| anyhow::anyhow!("live network: {}", e.detail))?;
    let wialon = start_wialon_listener(Arc::clone(app), "127.0.0.1:0").await?;
    for code in DEMO_CATALOGUE_BUSES {
        let vehicle = domain::TransportCode::parse(code)?;
        service::live::register_tracker(
            app,
            &service::staff::Actor::command_line(),
            &TrackerId::new(&format!("demo-{code}")),
            DEMO_TRACKER_PASSWORD,
            &vehicle,
        )
        .await
        .map_err(|e| anyhow::anyhow!("tracker {code}: {}", e.detail))?;
    }
    // The simulator's own buses (not the catalogue's, which report over Wialon IPS).
    let request = service::live::NewFeedToken {
        city: DEMO_CITY.to_owned(),
        name: "demo simulator".to_owned(),
        scope: service::live::FeedScope::default(),
        authority: live::Authority::ReportsOnly,
    };
    let token =
        service::live::create_feed_token(app, &service::staff::Actor::command_line(), &request)
            .await
            .map_err(|e| anyhow::anyhow!("feed token: {}", e.detail))?;
    let network = app
        .live
        .network(DEMO_CITY)
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let base = app
        .settings
        .public_base_url
        .trim_end_matches('/')
        .to_owned();
    let clock = Arc::clone(&app.clock);
    let push_base = base.clone();
    tokio::spawn(async move {
        if let Err(error) = drive_demo_city(network, clock, wialon, push_base, token).await {
            tracing::warn!(%error, "demo city stopped");
        }
    });
    println!(
        r#"
Live buses ({runs} runs of Astana today; catalogue buses report over Wialon IPS at {wialon}, the rest as GTFS-RT):
    curl -s '{base}/v1/live/astana/vehicles?bbox=71.30,51.05,71.60,51.25'
    curl -s '{base}/v1/live/astana/vehicles?route=10'
    curl -sN '{base}/v1/live/astana/stream?route=10'                   (server-sent events)
    curl -s {base}/v1/live/astana/vehicle-positions.pb > vp.pb           (our GTFS-RT feed)
    Detection with a bus's own recent positions as the passenger's fixes (<id> from /vehicles):
    curl -s {base}/v1/live/astana/vehicles/<id>/track | curl -s -X POST {base}/v1/live/astana/detect -H 'Content-Type: application/json' -d @-
"#
    );
    Ok(())
}

struct DemoTracker {
    code: &'static str,
    route_number: String,
    run: Option<RunIdx>,
    stream: Option<TcpStream>,
    /// Where it last reported: its next run is the free one nearest to here, so the bus does
    /// not jump across the city (the server refuses jumps no bus makes).
    last_xy: Option<Xy>,
}

async fn drive_demo_city(
    network: Arc<Network>,
    clock: Arc<dyn service::clock::Clock>,
    wialon: std::net::SocketAddr,
    base: String,
    token: String,
) -> anyhow::Result<()> {
    let simulator = CitySimulator::new(&network, 7, SimConfig::default());
    let catalogue = domain_routes();
    let mut trackers: Vec<DemoTracker> = DEMO_CATALOGUE_BUSES
        .iter()
        .zip(catalogue)
        .map(|(code, number)| DemoTracker {
            code,
            route_number: number.to_owned(),
            run: None,
            stream: None,
            last_xy: None,
        })
        .collect();
    let http = reqwest::Client::new();
    let mut rng = SplitMix64::new(11);
    let mut ticker = tokio::time::interval(Duration::from_secs(DEMO_REPORT_PERIOD_S));
    // Runs already shown under a GTFS-RT vehicle: a catalogue bus never takes one over, or the
    // feed's bus would freeze on the map until it goes stale.
    let mut published: std::collections::HashSet<RunIdx> = std::collections::HashSet::new();
    loop {
        ticker.tick().await;
        let now = TimeMs(clock.now_ms());
        let in_service = simulator.in_service(now);
        published.retain(|run| in_service.contains(run));
        let unpublished: Vec<RunIdx> = in_service
            .iter()
            .copied()
            .filter(|run| !published.contains(run))
            .collect();
        assign_runs(
            &network,
            &simulator,
            now,
            &in_service,
            &unpublished,
            &mut trackers,
        );
        let mut pushed = Vec::new();
        for run in &in_service {
            let Some(mut position) = simulator.report(*run, now, &mut rng, true) else {
                continue;
            };
            if let Some(tracker) = trackers.iter_mut().find(|t| t.run == Some(*run)) {
                tracker.last_xy = Some(network.projection().project(position.point));
                if let Err(error) = report_over_wialon(tracker, wialon, &position).await {
                    tracing::debug!(%error, code = tracker.code, "demo tracker reconnects");
                    tracker.stream = None;
                }
                continue;
            }
            position.route = None;
            published.insert(*run);
            pushed.push(position);
        }
        let feed = gtfs_rt::encode_feed(&gtfs_rt::feed_from_positions(&pushed, now));
        let url = format!("{base}/v1/live/{DEMO_CITY}/gtfs-rt");
        if let Err(error) = http.post(&url).bearer_auth(&token).body(feed).send().await {
            tracing::debug!(%error, "demo GTFS-RT push failed");
        }
    }
}

/// Route numbers of the demo's catalogue buses, in the order of `DEMO_CATALOGUE_BUSES`.
fn domain_routes() -> [&'static str; 5] {
    ["10", "10", "12", "310", "301"]
}

/// Puts each catalogue bus on a run of its route that is on the road, not taken, and not yet
/// shown under another vehicle (`candidates`): the one nearest to where the bus last was.
fn assign_runs(
    network: &Network,
    simulator: &CitySimulator<'_>,
    now: TimeMs,
    in_service: &[RunIdx],
    candidates: &[RunIdx],
    trackers: &mut [DemoTracker],
) {
    for index in 0..trackers.len() {
        let Some(tracker) = trackers.get(index) else {
            continue;
        };
        if tracker.run.is_some_and(|run| in_service.contains(&run)) {
            continue;
        }
        let number = tracker.route_number.clone();
        let taken: Vec<RunIdx> = trackers.iter().filter_map(|t| t.run).collect();
        let last_xy = tracker.last_xy;
        let distance_m = |run: RunIdx| {
            let here = simulator.true_position(run, now).map(|v| v.xy);
            match (last_xy, here) {
                (Some(last), Some(here)) => last.distance_m(here),
                _ => 0.0,
            }
        };
        let free = candidates
            .iter()
            .copied()
            .filter(|run| {
                !taken.contains(run)
                    && network
                        .run(*run)
                        .is_some_and(|r| r.route_short_name == number)
            })
            .min_by(|a, b| distance_m(*a).total_cmp(&distance_m(*b)));
        if let Some(tracker) = trackers.get_mut(index) {
            tracker.run = free;
        }
    }
}

async fn report_over_wialon(
    tracker: &mut DemoTracker,
    wialon: std::net::SocketAddr,
    position: &Position,
) -> anyhow::Result<()> {
    let version = ProtocolVersion::V2_0;
    if tracker.stream.is_none() {
        let mut stream = TcpStream::connect(wialon).await?;
        let login = wialon::login_line(
            version,
            &format!("demo-{}", tracker.code),
            Some(DEMO_TRACKER_PASSWORD),
        );
        stream.write_all(format!("{login}\r\n").as_bytes()).await?;
        read_answer(&mut stream).await?;
        tracker.stream = Some(stream);
    }
    let Some(stream) = tracker.stream.as_mut() else {
        return Ok(());
    };
    let line = wialon::short_data_line(version, &WialonFix::from_position(position));
    stream.write_all(format!("{line}\r\n").as_bytes()).await?;
    read_answer(stream).await
}

/// Reads one answer line (the demo does not need its content).
async fn read_answer(stream: &mut TcpStream) -> anyhow::Result<()> {
    let mut byte = [0u8; 1];
    loop {
        let read = stream.read(&mut byte).await?;
        if read == 0 {
            bail!("the listener closed the connection");
        }
        if byte == [b'\n'] {
            return Ok(());
        }
    }
}
