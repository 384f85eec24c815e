//! Measures e-ticket verification on one thread, as `smsbus bench verify` does, for use before
//! the binary is wired: `cargo run --release -p domain --example ticket_verify_bench [tickets]`.
//! Prints `bench verify: single_per_s=<x> batch_per_s=<x>` as its last line.

use std::time::{Duration, Instant};

use domain::ticket::{
    self, CityCode, FareProduct, HolderBinding, Issuer, KeyList, KeyWindow, RiderCategoryCode,
    RouteNumber, TicketClaims, TicketNumber, TicketSigningKey, Validity,
};
use domain::{PhoneNumber, Tenge, TransportCode};

const NOW_UNIX_S: u64 = 1_750_000_000;
const BATCH_TICKETS: usize = 64;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = std::env::args()
        .nth(1)
        .map_or(Ok(20_000), |text| text.parse())?;
    let window = KeyWindow::new(NOW_UNIX_S - 86_400, NOW_UNIX_S + 30 * 86_400)?;
    let key = TicketSigningKey::from_secret_bytes(&[0x5b; 32], window)?;
    let keys = KeyList::new([key.published().clone()])?;

    let started = Instant::now();
    let mut tickets = Vec::with_capacity(count);
    for index in 0..count {
        let claims = claims(&key, u64::try_from(index)?)?;
        tickets.push((ticket::sign(&claims, &key)?, claims.vehicle));
    }
    let sign_per_s = rate(count, started);
    let token_chars = tickets.first().map_or(0, |(token, _)| token.len());
    println!(
        "bench verify: tickets={count} token_chars={token_chars} sign_and_self_check_per_s={sign_per_s:.0}"
    );

    let (started, cpu_started) = (Instant::now(), thread_cpu());
    let valid = tickets
        .iter()
        .filter(|(token, vehicle)| ticket::verify(token, &keys, NOW_UNIX_S, vehicle).is_ok())
        .count();
    let single_per_s = rate(count, started);
    let single_per_cpu_s = cpu_rate(count, cpu_started);
    assert_eq!(valid, count);

    let (started, cpu_started) = (Instant::now(), thread_cpu());
    let mut valid = 0;
    for batch in tickets.chunks(BATCH_TICKETS) {
        let tokens: Vec<&str> = batch.iter().map(|(token, _)| token.as_str()).collect();
        for (result, (_, vehicle)) in ticket::authenticate_batch(&tokens, &keys)
            .into_iter()
            .zip(batch)
        {
            let checked = result.and_then(|v| {
                v.check_time(NOW_UNIX_S)
                    .and_then(|()| v.check_vehicle(vehicle))
            });
            valid += usize::from(checked.is_ok());
        }
    }
    let batch_per_s = rate(count, started);
    let batch_per_cpu_s = cpu_rate(count, cpu_started);
    assert_eq!(valid, count);
    println!(
        "bench verify: per CPU second: single_per_cpu_s={single_per_cpu_s:.0} batch_per_cpu_s={batch_per_cpu_s:.0}"
    );
    println!("bench verify: single_per_s={single_per_s:.0} batch_per_s={batch_per_s:.0}");
    Ok(())
}

fn claims(key: &TicketSigningKey, index: u64) -> Result<TicketClaims, Box<dyn std::error::Error>> {
    let issued_at_unix_s = NOW_UNIX_S - index % 3_600;
    let preferential = index % 5 == 0;
    Ok(TicketClaims {
        issuer: Issuer::parse("SMSBUS")?,
        key_id: key.id(),
        number: TicketNumber::new(25_054_821_773 + index)?,
        city: CityCode::parse("almaty")?,
        vehicle: TransportCode::parse(&format!("{}", 10_000 + index % 100))?,
        route: RouteNumber::parse(
            ["12", "37", "92", "201"]
                .get(usize::try_from(index % 4)?)
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
        holder: HolderBinding::new(
            index.to_le_bytes(),
            &PhoneNumber::parse(&format!("+7701{:07}", index % 10_000_000))?,
        ),
    })
}

fn rate(count: usize, started: Instant) -> f64 {
    count as f64 / started.elapsed().as_secs_f64().max(f64::MIN_POSITIVE)
}

/// This thread's time on a CPU, from Linux's scheduler statistics (zero elsewhere).
fn thread_cpu() -> Duration {
    let ns = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| {
            text.split_whitespace()
                .next()
                .and_then(|ns| ns.parse().ok())
        });
    Duration::from_nanos(ns.unwrap_or(0))
}

fn cpu_rate(count: usize, started: Duration) -> f64 {
    count as f64
        / thread_cpu()
            .saturating_sub(started)
            .as_secs_f64()
            .max(f64::MIN_POSITIVE)
}
