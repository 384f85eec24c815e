//! `smsbus verify` and `smsbus bench verify`: e-ticket verification from the command line.
//!
//! `verify` does what a controller's device does offline: it reads the published key list (a
//! JSON file, or the server's public endpoint on this machine) and checks a scanned token with
//! the pure `domain::ticket::verify`. The key list's JSON shape is the server's
//! (`api::keys_wire`), so what the server publishes is exactly what this reads.
//!
//! With `--holder` and the holder keys a signed-in controller syncs
//! (`GET /v1/controller/holder-keys`, `--holder-keys FILE`) it also checks that the ticket was
//! bought from the number the passenger tells. Times are the ticket's city's local time.

use std::collections::HashMap;
use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, bail, ensure};
use domain::Tenge;
use domain::ticket::{
    self, CityCode, FareProduct, Holder, HolderBinding, HolderCheck, HolderKeys, Issuer, KeyList,
    KeyWindow, RiderCategoryCode, RouteNumber, TicketClaims, TicketNumber, TicketSigningKey,
    Validity,
};
use domain::{PhoneNumber, TransportCode};

/// The only signature algorithm a key list may name.
/// A key list larger than this is refused unread.
pub const KEY_LIST_BYTES_MAX: usize = 1024 * 1024;
/// Connecting to and reading from the key list URL each give up after this long.
pub const KEY_LIST_FETCH_TIMEOUT_MS: u64 = 5_000;
/// `bench verify` signs at most this many tickets.
pub const BENCH_TICKETS_MAX: usize = 10_000_000;
/// `bench verify` checks signatures in batches of this many, as a controller syncing a queue.
pub const BENCH_BATCH_TICKETS: usize = 256;

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The ticket token as scanned from the QR code (`SB2.…`); not with --batch.
    #[arg(required_unless_present = "batch", conflicts_with = "batch")]
    pub token: Option<String>,
    /// Check many tokens: JSON lines on stdin, `{"token": "SB2.…", "vehicle": "10101", "at":
    /// <unix s>}` (vehicle and at optional, as --vehicle and --at), one verdict line out for
    /// each, in order: `{"verdict": "VALID" | "EXPIRED" | …, "number": <ticket number>}`.
    #[arg(long)]
    pub batch: bool,
    /// The published key list: a JSON file, or an http:// URL on this machine.
    #[arg(long)]
    pub keys: String,
    /// The transport code of the vehicle the ticket is shown in; without it the vehicle is not
    /// checked.
    #[arg(long)]
    pub vehicle: Option<String>,
    /// Check the ticket at this time (unix seconds) instead of now.
    #[arg(long)]
    pub at: Option<u64>,
    /// The invalidation list synced from `GET /v1/controller/invalidations` (a JSON file):
    /// revoked, refunded and run-ended tickets are refused offline too.
    #[arg(long)]
    pub invalidations: Option<std::path::PathBuf>,
    /// The holder the passenger tells: the number the ticket was bought from
    /// (`+7 701 123 45 67`), or the transport card that paid (16 digits) for a card's ticket.
    /// The check says whether it is theirs. `SB2.` and `SB3.` tickets need --holder-keys.
    #[arg(long)]
    pub holder: Option<String>,
    /// The holder keys synced from `GET /v1/controller/holder-keys` (a JSON file).
    #[arg(long)]
    pub holder_keys: Option<std::path::PathBuf>,
    /// Show times at this offset from UTC instead of the ticket's city's (from the built-in
    /// catalogue; +05:00, Kazakhstan's, for a city it does not know).
    #[arg(long, allow_hyphen_values = true)]
    pub utc_offset_minutes: Option<i32>,
}

#[derive(clap::Args, Debug)]
pub struct BenchVerifyArgs {
    /// How many tickets to sign and then verify.
    #[arg(long, default_value_t = 20_000)]
    pub tickets: usize,
}

/// Checks a ticket token and prints VALID with the facts, or why not; an invalid ticket is an
/// error, so the process exits non-zero.
pub fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    if args.batch {
        return verify_batch(&args);
    }
    let token = args.token.clone().unwrap_or_default();
    let keys = load_key_list(&args.keys)?;
    let now_unix_s = match args.at {
        Some(at) => at,
        None => unix_now_s()?,
    };
    let vehicle = match args.vehicle.as_deref() {
        Some(text) => {
            Some(TransportCode::parse(text).with_context(|| format!("--vehicle `{text}`"))?)
        }
        None => None,
    };
    let invalidated = load_invalidations(args.invalidations.as_deref())?;
    let holder = match args.holder.as_deref() {
        Some(text) => Some(Holder::parse(text).ok_or_else(|| {
            anyhow!("--holder `{text}` is neither a Kazakh mobile number nor a card's 16 digits")
        })?),
        None => None,
    };
    let holder_keys = match &args.holder_keys {
        Some(path) => load_holder_keys(path)?,
        None => HolderKeys::default(),
    };
    let verified = match ticket::authenticate(token.trim(), &keys) {
        Ok(verified) => verified,
        Err(rejection) => {
            println!("INVALID {}: {rejection}", rejection.code());
            bail!("the ticket is not valid: {}", rejection.code());
        }
    };
    if let Some(why) = invalidated.get(&verified.claims().number.value()) {
        let code = invalidation_code(why);
        println!("INVALID {code}: the server's list says {why}");
        print_facts(verified.claims(), args.utc_offset_minutes);
        bail!("the ticket is not valid: {code}");
    }
    let verdict = verified
        .check_time(now_unix_s)
        .and_then(|()| match &vehicle {
            Some(vehicle) => verified.check_vehicle(vehicle),
            None => Ok(()),
        });
    match verdict {
        Ok(()) => println!("VALID"),
        Err(rejection) => println!("INVALID {}: {rejection}", rejection.code()),
    }
    print_facts(verified.claims(), args.utc_offset_minutes);
    if vehicle.is_none() {
        println!("  (vehicle not checked: pass --vehicle <transport code>)");
    }
    let bound = verified.claims().holder.kind();
    let holder_check = holder
        .as_ref()
        .map(|told| (told, verified.claims().check_holder(told, &holder_keys)));
    match holder_check {
        Some((told, HolderCheck::Matches)) => {
            println!("  holder          MATCHES: {told}");
        }
        Some((told, HolderCheck::DoesNotMatch)) => {
            println!("  holder          DOES_NOT_MATCH: not {told}");
        }
        Some((told, HolderCheck::NotChecked)) if told.kind() != bound => println!(
            "  holder          NOT_CHECKED: the ticket is bound to a {bound}; ask for that"
        ),
        Some((_, HolderCheck::NotChecked)) => println!(
            "  holder          NOT_CHECKED: no holder key for key {} (pass --holder-keys, synced from /v1/controller/holder-keys)",
            verified.claims().key_id
        ),
        None => {}
    }
    verdict.map_err(|rejection| anyhow!("the ticket is not valid: {}", rejection.code()))?;
    if let Some((told, HolderCheck::DoesNotMatch)) = holder_check {
        bail!("the ticket is not {told}'s: DOES_NOT_MATCH");
    }
    Ok(())
}

/// The verdict code of an invalidation list entry's `why`.
fn invalidation_code(why: &str) -> &'static str {
    match why {
        "run_ended" => "RUN_ENDED",
        "refunded" => "REFUNDED",
        _ => "REVOKED",
    }
}

fn load_invalidations(path: Option<&std::path::Path>) -> anyhow::Result<HashMap<u64, String>> {
    let Some(path) = path else {
        return Ok(HashMap::new());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the invalidation list {}", path.display()))?;
    parse_invalidations(&text)
        .with_context(|| format!("reading the invalidation list {}", path.display()))
}

/// A batch reads at most this many lines.
pub const BATCH_LINES_MAX: usize = 1_000_000;

/// One line of `verify --batch` input.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchLine {
    token: String,
    #[serde(default)]
    vehicle: Option<String>,
    #[serde(default)]
    at: Option<u64>,
}

/// `verify --batch`: the same rules as one `verify`, in the same order (form, key, signature
/// and key window; the invalidation list; time; vehicle), for every line of stdin.
fn verify_batch(args: &VerifyArgs) -> anyhow::Result<()> {
    let keys = load_key_list(&args.keys)?;
    let invalidated = load_invalidations(args.invalidations.as_deref())?;
    let now_s = match args.at {
        Some(at) => at,
        None => unix_now_s()?,
    };
    let defaults = BatchDefaults {
        now_s,
        vehicle: args.vehicle.as_deref(),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    batch_verdicts(
        std::io::stdin().lock(),
        &mut out,
        &keys,
        &invalidated,
        &defaults,
    )?;
    std::io::Write::flush(&mut out).context("writing stdout")
}

/// What a batch line does not say: the time and the vehicle of `--at` and `--vehicle`.
struct BatchDefaults<'a> {
    now_s: u64,
    vehicle: Option<&'a str>,
}

/// One verdict line out for each line in.
fn batch_verdicts(
    input: impl std::io::BufRead,
    mut out: impl std::io::Write,
    keys: &KeyList,
    invalidated: &HashMap<u64, String>,
    defaults: &BatchDefaults<'_>,
) -> anyhow::Result<()> {
    for (index, line) in input.lines().enumerate() {
        ensure!(
            index < BATCH_LINES_MAX,
            "a batch has at most {BATCH_LINES_MAX} lines"
        );
        let line = line.context("reading stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        let input: BatchLine = serde_json::from_str(&line).with_context(|| {
            format!("line {}: not {{\"token\", \"vehicle\", \"at\"}}", index + 1)
        })?;
        let vehicle = match input.vehicle.as_deref().or(defaults.vehicle) {
            Some(text) => Some(
                TransportCode::parse(text)
                    .with_context(|| format!("line {}: vehicle `{text}`", index + 1))?,
            ),
            None => None,
        };
        let now_s = input.at.unwrap_or(defaults.now_s);
        let (verdict, number) = match ticket::authenticate(input.token.trim(), keys) {
            Err(rejection) => (rejection.code(), None),
            Ok(verified) => {
                let number = verified.claims().number.value();
                let checked = verified.check_time(now_s).and_then(|()| match &vehicle {
                    Some(vehicle) => verified.check_vehicle(vehicle),
                    None => Ok(()),
                });
                let verdict = match (invalidated.get(&number), checked) {
                    (Some(why), _) => invalidation_code(why),
                    (None, Ok(())) => "VALID",
                    (None, Err(rejection)) => rejection.code(),
                };
                (verdict, Some(number))
            }
        };
        serde_json::to_writer(
            &mut out,
            &serde_json::json!({"verdict": verdict, "number": number}),
        )
        .context("writing stdout")?;
        out.write_all(b"\n").context("writing stdout")?;
    }
    Ok(())
}

/// The holder key list as the server serves it to signed-in controllers.
fn load_holder_keys(path: &std::path::Path) -> anyhow::Result<HolderKeys> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|file| {
            file.take(u64::try_from(KEY_LIST_BYTES_MAX + 1).unwrap_or(u64::MAX))
                .read_to_string(&mut text)
        })
        .with_context(|| format!("reading the holder keys {}", path.display()))?;
    ensure!(
        text.len() <= KEY_LIST_BYTES_MAX,
        "the holder key list is larger than {KEY_LIST_BYTES_MAX} bytes"
    );
    let dto: api::keys_wire::HolderKeyListDto = serde_json::from_str(&text).with_context(|| {
        format!(
            "the holder keys {} are not the expected JSON",
            path.display()
        )
    })?;
    api::keys_wire::holder_keys_from_dto(&dto).map_err(|e| anyhow!(e))
}

/// The offset of a city of the built-in catalogue, in minutes.
fn city_utc_offset_minutes(city: &CityCode) -> Option<i32> {
    let file = crate::demo::seed_catalogue().ok()?;
    file.cities
        .iter()
        .find(|c| c.id == city.as_str())
        .and_then(|c| i32::try_from(c.utc_offset_minutes).ok())
}

fn print_facts(claims: &TicketClaims, utc_offset_minutes: Option<i32>) {
    let Validity::UntilFinalStop { not_after_unix_s } = claims.validity;
    let offset = utc_offset_minutes
        .or_else(|| city_utc_offset_minutes(&claims.city))
        .unwrap_or(service::catalogue::FALLBACK_UTC_OFFSET_MINUTES);
    let local = |unix_s: u64| {
        let ms = i64::try_from(unix_s)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000);
        api::keys_wire::rfc3339_local_ms(ms, offset)
    };
    println!("  check number    {}", claims.number.check_form());
    println!("  city            {}", claims.city);
    println!("  route           {}", claims.route);
    println!("  vehicle         {}", claims.vehicle);
    println!(
        "  fare            {} ({})",
        claims.amount, claims.fare_product
    );
    println!("  rider category  {}", claims.rider_category);
    println!("  bought at       {}", local(claims.issued_at_unix_s));
    println!(
        "  valid until     the final stop of the run, at the latest {}",
        local(not_after_unix_s)
    );
    println!("  issuer, key     {}, {}", claims.issuer, claims.key_id);
    println!(
        "  bound to        a {} (the token's format {})",
        claims.holder.kind(),
        claims.holder.format_version()
    );
}

/// The invalidation list as the server serves it: ticket number → why (`revoked`, `refunded`,
/// `run_ended`).
fn parse_invalidations(text: &str) -> anyhow::Result<HashMap<u64, String>> {
    #[derive(serde::Deserialize)]
    struct Page {
        invalidations: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        number: u64,
        why: String,
    }
    let page: Page = serde_json::from_str(text)?;
    Ok(page
        .invalidations
        .into_iter()
        .map(|e| (e.number, e.why))
        .collect())
}

/// Reads the JSON key list. Every key's id must be the one derived from its public key, and
/// the list keeps its limits ([`domain::ticket::KeyList::new`]).
pub fn parse_key_list_json(text: &str) -> anyhow::Result<KeyList> {
    ensure!(
        text.len() <= KEY_LIST_BYTES_MAX,
        "the key list is larger than {KEY_LIST_BYTES_MAX} bytes"
    );
    let dto: api::keys_wire::KeyListDto =
        serde_json::from_str(text).context("the key list is not the expected JSON")?;
    api::keys_wire::from_dto(&dto).map_err(|e| anyhow::anyhow!(e))
}

fn unix_now_s() -> anyhow::Result<u64> {
    Ok(SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_secs())
}

fn load_key_list(source: &str) -> anyhow::Result<KeyList> {
    let text = if source.starts_with("http://") {
        fetch_loopback(source).with_context(|| format!("fetching the key list from {source}"))?
    } else {
        let mut text = String::new();
        std::fs::File::open(source)
            .and_then(|file| {
                file.take(u64::try_from(KEY_LIST_BYTES_MAX + 1).unwrap_or(u64::MAX))
                    .read_to_string(&mut text)
            })
            .with_context(|| format!("reading the key list {source}"))?;
        text
    };
    parse_key_list_json(&text).with_context(|| format!("reading the key list {source}"))
}

/// A GET with the project's HTTP client, to a server on this machine only (the local
/// `smsbus serve` or `demo`); a controller elsewhere downloads the list with any HTTP client and
/// passes the file. The host must resolve to loopback addresses only, the connection is pinned
/// to them, and redirects are not followed, so nothing reaches past this machine.
fn fetch_loopback(url: &str) -> anyhow::Result<String> {
    let parsed = reqwest::Url::parse(url).context("reading the URL")?;
    ensure!(parsed.scheme() == "http", "only http:// URLs are supported");
    let host = parsed.host_str().context("the URL has no host")?.to_owned();
    let port = parsed.port_or_known_default().unwrap_or(80);
    let addresses: Vec<SocketAddr> = (host.trim_start_matches('[').trim_end_matches(']'), port)
        .to_socket_addrs()
        .context("resolving the host")?
        .collect();
    ensure!(!addresses.is_empty(), "the host has no address");
    ensure!(
        addresses.iter().all(|address| address.ip().is_loopback()),
        "only a server on this machine (loopback) may be fetched; download the list and pass the file"
    );
    let timeout = Duration::from_millis(KEY_LIST_FETCH_TIMEOUT_MS);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .resolve_to_addrs(&host, &addresses)
        .build()
        .context("making the HTTP client")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the HTTP client's runtime")?;
    runtime.block_on(async move {
        let mut response = client
            .get(parsed)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .context("sending the request")?;
        let status = response.status();
        ensure!(
            status == reqwest::StatusCode::OK,
            "the server answered `{status}`"
        );
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.context("reading the response")? {
            body.extend_from_slice(&chunk);
            ensure!(
                body.len() <= KEY_LIST_BYTES_MAX,
                "the key list is over {KEY_LIST_BYTES_MAX} bytes"
            );
        }
        String::from_utf8(body).context("the response is not UTF-8")
    })
}

/// Signs realistic tickets, then verifies them one by one and in batches on this thread, and
/// prints the rates; the last line is `bench verify: single_per_s=<x> batch_per_s=<x>`, per
/// wall-clock second. On a shared machine the thread is not always on a CPU, so the line before
/// it gives the rates per second of this thread's own CPU time too (the rate per core).
pub fn bench_verify(args: BenchVerifyArgs) -> anyhow::Result<()> {
    let count = args.tickets;
    ensure!(
        (1..=BENCH_TICKETS_MAX).contains(&count),
        "--tickets must be 1 to {BENCH_TICKETS_MAX}"
    );
    let now_unix_s = unix_now_s()?;
    let window = KeyWindow::new(now_unix_s - 24 * 60 * 60, now_unix_s + 30 * 24 * 60 * 60)?;
    // A fixed seed: the bench key only ever signs bench tickets.
    let key = TicketSigningKey::from_secret_bytes(&[0x5b; 32], window)?;
    let keys = KeyList::new([key.published().clone()])?;

    let stopwatch = Stopwatch::start();
    let mut tickets = Vec::with_capacity(count);
    for index in 0..count {
        let claims = bench_claims(&key, index, now_unix_s)?;
        let token = ticket::sign(&claims, &key)?;
        tickets.push((token, claims.vehicle));
    }
    let signing = stopwatch.rates(count);
    let token_chars = tickets.first().map_or(0, |(token, _)| token.len());
    println!(
        "bench verify: tickets={count} token_chars={token_chars} sign_and_self_check_per_s={:.0}",
        signing.wall
    );

    let stopwatch = Stopwatch::start();
    let mut valid = 0_usize;
    for (token, vehicle) in &tickets {
        valid += usize::from(ticket::verify(token, &keys, now_unix_s, vehicle).is_ok());
    }
    let single = stopwatch.rates(count);
    ensure!(
        valid == count,
        "single: {valid} of {count} bench tickets verified"
    );

    let stopwatch = Stopwatch::start();
    let mut valid = 0_usize;
    for batch in tickets.chunks(BENCH_BATCH_TICKETS) {
        let tokens: Vec<&str> = batch.iter().map(|(token, _)| token.as_str()).collect();
        for (result, (_, vehicle)) in ticket::authenticate_batch(&tokens, &keys)
            .into_iter()
            .zip(batch)
        {
            let checked = result.and_then(|verified| {
                verified
                    .check_time(now_unix_s)
                    .and_then(|()| verified.check_vehicle(vehicle))
            });
            valid += usize::from(checked.is_ok());
        }
    }
    let batch = stopwatch.rates(count);
    ensure!(
        valid == count,
        "batch: {valid} of {count} bench tickets verified"
    );
    // The peer: ed25519-dalek verifying signatures over messages as long as our signed part,
    // with nothing of ours around it. Our single check is this plus decoding and the rules.
    let library_key = ed25519_dalek::SigningKey::from_bytes(&[0x5b; 32]);
    let signed: Vec<(Vec<u8>, ed25519_dalek::Signature)> = (0..count)
        .map(|i| {
            let message: Vec<u8> = (0..token_chars * 3 / 4)
                .map(|j| (i.wrapping_add(j) % 251) as u8)
                .collect();
            let signature = ed25519_dalek::Signer::sign(&library_key, &message);
            (message, signature)
        })
        .collect();
    let verifying = library_key.verifying_key();
    let stopwatch = Stopwatch::start();
    let mut valid = 0_usize;
    for (message, signature) in &signed {
        valid +=
            usize::from(ed25519_dalek::Verifier::verify(&verifying, message, signature).is_ok());
    }
    let library = stopwatch.rates(count);
    ensure!(valid == count, "library: {valid} of {count} verified");
    println!(
        "bench verify: ed25519-dalek verify alone, same run: per_s={:.0}; our single check = {:.2} of it",
        library.wall,
        single.wall / library.wall
    );
    if let (Some(single_cpu), Some(batch_cpu)) = (single.cpu, batch.cpu) {
        println!(
            "bench verify: per CPU second: single_per_cpu_s={single_cpu:.0} batch_per_cpu_s={batch_cpu:.0} \
             (this thread was on a CPU {:.0}% of the time)",
            100.0 * single.wall / single_cpu
        );
    }
    println!(
        "bench verify: single_per_s={:.0} batch_per_s={:.0}",
        single.wall, batch.wall
    );
    Ok(())
}

/// Wall-clock time and this thread's time on a CPU.
struct Stopwatch {
    started: Instant,
    cpu_started_ns: Option<u64>,
}

struct Rates {
    wall: f64,
    cpu: Option<f64>,
}

impl Stopwatch {
    fn start() -> Stopwatch {
        Stopwatch {
            started: Instant::now(),
            cpu_started_ns: thread_cpu_ns(),
        }
    }

    fn rates(&self, count: usize) -> Rates {
        let wall_s = self.started.elapsed().as_secs_f64();
        let cpu_s = match (self.cpu_started_ns, thread_cpu_ns()) {
            (Some(started), Some(now)) if now > started => Some((now - started) as f64 / 1e9),
            _ => None,
        };
        Rates {
            wall: count as f64 / wall_s.max(f64::MIN_POSITIVE),
            cpu: cpu_s.map(|cpu_s| count as f64 / cpu_s),
        }
    }
}

/// Nanoseconds this thread has run on a CPU, from Linux's scheduler statistics; `None`
/// elsewhere.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A ticket as the service issues them: one of a hundred buses on a few routes of one city,
/// bought in the last hour, regular or preferential.
fn bench_claims(
    key: &TicketSigningKey,
    index: usize,
    now_unix_s: u64,
) -> anyhow::Result<TicketClaims> {
    let index_u64 = u64::try_from(index)?;
    let issued_at_unix_s = now_unix_s - index_u64 % 3_600;
    let preferential = index.is_multiple_of(5);
    let phone = PhoneNumber::parse(&format!("+7701{:07}", index_u64 % 10_000_000))?;
    Ok(TicketClaims {
        issuer: Issuer::parse("SMSBUS")?,
        key_id: key.id(),
        number: TicketNumber::new(25_054_821_773 + index_u64)?,
        city: CityCode::parse("almaty")?,
        vehicle: TransportCode::parse(&format!("{}", 10_000 + index % 100))?,
        route: RouteNumber::parse(
            ["12", "37", "92", "201"]
                .get(index % 4)
                .copied()
                .unwrap_or("12"),
        )?,
        fare_product: FareProduct::parse("single")?,
        rider_category: RiderCategoryCode::parse(if preferential {
            "pensioner"
        } else {
            "regular"
        })?,
        amount: Tenge::from_whole(if preferential { 40 } else { 80 }),
        issued_at_unix_s,
        validity: Validity::UntilFinalStop {
            not_after_unix_s: issued_at_unix_s + 2 * 60 * 60,
        },
        holder: HolderBinding::keyed(
            &key.holder_key(),
            TicketNumber::new(25_054_821_773 + index_u64)?,
            &Holder::Phone(phone),
        ),
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::TcpListener;

    use super::*;

    fn sample_key() -> TicketSigningKey {
        TicketSigningKey::from_secret_bytes(
            &[3; 32],
            KeyWindow::new(1_700_000_000, 1_800_000_000).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn the_invalidation_list_is_read_by_number() {
        let list = parse_invalidations(
            r#"{"invalidations": [{"number": 42, "check_number": "0000-0000-0427", "why": "revoked",
                "at": "2026-11-23T10:00:00Z", "not_after": "2026-11-23T11:00:00Z"}], "next": "1.42"}"#,
        )
        .unwrap();
        assert_eq!(list.get(&42).map(String::as_str), Some("revoked"));
        assert!(parse_invalidations("{}").is_err());
    }

    #[test]
    fn key_list_json_roundtrips_and_checks_ids() {
        let key = sample_key();
        let list = KeyList::new([key.published().clone()]).unwrap();
        let json = serde_json::to_string(&api::keys_wire::to_dto(list.keys())).unwrap();
        assert!(
            json.contains("\"not_before\":\"2023-11-14T22:13:20Z\""),
            "{json}"
        );
        assert_eq!(parse_key_list_json(&json).unwrap(), list);

        let other_id = json.replace(&key.id().to_string(), "00000000");
        assert!(
            format!("{:#}", parse_key_list_json(&other_id).unwrap_err()).contains("does not match")
        );
        let other_alg = json.replace("Ed25519", "ES256");
        assert!(parse_key_list_json(&other_alg).is_err());
        assert!(parse_key_list_json("{\"keys\":[{}]}").is_err());
        assert!(parse_key_list_json(&" ".repeat(KEY_LIST_BYTES_MAX + 1)).is_err());
    }

    #[test]
    fn key_list_is_fetched_from_a_loopback_server() {
        let key = sample_key();
        let list = KeyList::new([key.published().clone()]).unwrap();
        let json = serde_json::to_string(&api::keys_wire::to_dto(list.keys())).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/keys", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0; 1024];
            let length = stream.read(&mut request).unwrap();
            let request = String::from_utf8_lossy(&request[..length]).into_owned();
            let (first, second) = json.split_at(json.len() / 2);
            let reply = format!(
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{first}\r\n{:x}\r\n{second}\r\n0\r\n\r\n",
                first.len(),
                second.len()
            );
            stream.write_all(reply.as_bytes()).unwrap();
            request
        });
        assert_eq!(load_key_list(&url).unwrap(), list);
        assert!(server.join().unwrap().starts_with("GET /keys HTTP/1.1\r\n"));
        assert!(load_key_list("http://192.0.2.1:9/keys").is_err());
    }

    #[test]
    fn bench_verify_runs_on_a_few_tickets() {
        bench_verify(BenchVerifyArgs {
            tickets: BENCH_BATCH_TICKETS + 3,
        })
        .unwrap();
        assert!(bench_verify(BenchVerifyArgs { tickets: 0 }).is_err());
    }

    #[test]
    fn verify_reports_valid_and_invalid_tickets() {
        let key = sample_key();
        let dir = std::env::temp_dir().join(format!("smsbus-ticket-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let keys_path = dir.join("keys.json");
        let list = KeyList::new([key.published().clone()]).unwrap();
        std::fs::write(
            &keys_path,
            serde_json::to_string(&api::keys_wire::to_dto(list.keys())).unwrap(),
        )
        .unwrap();
        let claims = bench_claims(&key, 7, 1_750_000_000).unwrap();
        let token = ticket::sign(&claims, &key).unwrap();
        let args = |vehicle: &str, at: u64| VerifyArgs {
            token: Some(token.clone()),
            batch: false,
            keys: keys_path.display().to_string(),
            vehicle: Some(vehicle.to_owned()),
            at: Some(at),
            invalidations: None,
            holder: None,
            holder_keys: None,
            utc_offset_minutes: None,
        };
        assert!(verify(args("10007", 1_750_000_000)).is_ok());
        assert!(
            format!("{}", verify(args("10008", 1_750_000_000)).unwrap_err())
                .contains("WRONG_VEHICLE")
        );
        assert!(
            format!("{}", verify(args("10007", 1_760_000_000)).unwrap_err()).contains("EXPIRED")
        );
        let damaged = VerifyArgs {
            token: Some(format!("{token}x")),
            ..args("10007", 1_750_000_000)
        };
        assert!(format!("{}", verify(damaged).unwrap_err()).contains("MALFORMED"));
        let list = dir.join("invalidations.json");
        let number = claims.number.value();
        std::fs::write(
            &list,
            format!(
                r#"{{"invalidations": [{{"number": {number}, "why": "revoked"}}], "next": "1.7"}}"#
            ),
        )
        .unwrap();
        let revoked = VerifyArgs {
            invalidations: Some(list),
            ..args("10007", 1_750_000_000)
        };
        assert!(format!("{}", verify(revoked).unwrap_err()).contains("REVOKED"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn verify_checks_the_holder_with_the_controllers_holder_keys() {
        let key = sample_key();
        let dir = std::env::temp_dir().join(format!("smsbus-ticket-holder-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let keys_path = dir.join("keys.json");
        let list = KeyList::new([key.published().clone()]).unwrap();
        std::fs::write(
            &keys_path,
            serde_json::to_string(&api::keys_wire::to_dto(list.keys())).unwrap(),
        )
        .unwrap();
        let holder_path = dir.join("holder-keys.json");
        std::fs::write(
            &holder_path,
            serde_json::to_string(&api::keys_wire::holder_keys_to_dto(&[(
                key.published().clone(),
                key.holder_key(),
            )]))
            .unwrap(),
        )
        .unwrap();
        // bench ticket 7 was bought from +7701 000 0007.
        let claims = bench_claims(&key, 7, 1_750_000_000).unwrap();
        let token = ticket::sign(&claims, &key).unwrap();
        let args = |holder: &str, holder_keys: Option<std::path::PathBuf>| VerifyArgs {
            token: Some(token.clone()),
            batch: false,
            keys: keys_path.display().to_string(),
            vehicle: Some("10007".to_owned()),
            at: Some(1_750_000_000),
            invalidations: None,
            holder: Some(holder.to_owned()),
            holder_keys,
            utc_offset_minutes: None,
        };
        assert!(verify(args("+7 701 000 00 07", Some(holder_path.clone()))).is_ok());
        let friend = verify(args("+7 701 000 00 08", Some(holder_path.clone()))).unwrap_err();
        assert!(format!("{friend}").contains("DOES_NOT_MATCH"), "{friend}");
        // Without the holder keys nothing can be said, and the ticket is still valid.
        assert!(verify(args("+7 701 000 00 08", None)).is_ok());
        assert!(verify(args("12", Some(holder_path.clone()))).is_err());
        // A card's ticket is checked against the card; a phone number is not checked against it.
        let card = domain::card::CardNumber::issue(7);
        let card_claims = TicketClaims {
            holder: HolderBinding::keyed(
                &key.holder_key(),
                claims.number,
                &Holder::Card(card.clone()),
            ),
            ..claims.clone()
        };
        let card_token = ticket::sign(&card_claims, &key).unwrap();
        let card_args = |holder: &str| VerifyArgs {
            token: Some(card_token.clone()),
            ..args(holder, Some(holder_path.clone()))
        };
        assert!(verify(card_args(&card.grouped())).is_ok());
        let other = domain::card::CardNumber::issue(8);
        let friend = verify(card_args(other.as_str())).unwrap_err();
        assert!(format!("{friend}").contains("DOES_NOT_MATCH"), "{friend}");
        assert!(verify(card_args("+7 701 000 00 08")).is_ok());
        std::fs::write(&holder_path, "{\"holder_keys\": [{\"kid\": \"x\"}]}").unwrap();
        assert!(verify(args("+7 701 000 00 07", Some(holder_path))).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_batch_gives_one_verdict_per_line_by_the_rules_of_one_verify() {
        let key = sample_key();
        let keys = KeyList::new([key.published().clone()]).unwrap();
        let claims = bench_claims(&key, 7, 1_750_000_000).unwrap();
        let token = ticket::sign(&claims, &key).unwrap();
        let refunded = bench_claims(&key, 8, 1_750_000_000).unwrap();
        let refunded_token = ticket::sign(&refunded, &key).unwrap();
        let invalidated = HashMap::from([(refunded.number.value(), "refunded".to_owned())]);
        let input = [
            format!(r#"{{"token": "{token}"}}"#),
            format!(r#"{{"token": "{token}", "vehicle": "10008"}}"#),
            format!(r#"{{"token": "{token}", "at": 1760000000}}"#),
            format!(r#"{{"token": " {token}x"}}"#),
            String::new(),
            format!(r#"{{"token": "{refunded_token}", "at": 1760000000}}"#),
        ]
        .join("\n");
        let mut out = Vec::new();
        let defaults = BatchDefaults {
            now_s: 1_750_000_000,
            vehicle: Some("10007"),
        };
        batch_verdicts(input.as_bytes(), &mut out, &keys, &invalidated, &defaults).unwrap();
        let verdicts: Vec<String> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["verdict"].to_string())
            .collect();
        assert_eq!(
            verdicts,
            [
                "\"VALID\"",
                "\"WRONG_VEHICLE\"",
                "\"EXPIRED\"",
                "\"MALFORMED\"",
                "\"REFUNDED\""
            ]
        );
        let bad = batch_verdicts(
            "{\"token\": 1}".as_bytes(),
            Vec::new(),
            &keys,
            &invalidated,
            &defaults,
        );
        assert!(bad.is_err());
    }

    #[test]
    fn times_are_the_citys_local_time() {
        let offset = city_utc_offset_minutes(&CityCode::parse("astana").unwrap());
        assert_eq!(offset, Some(300));
        assert_eq!(
            city_utc_offset_minutes(&CityCode::parse("atlantis").unwrap()),
            None
        );
    }
}
