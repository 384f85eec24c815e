//! The network each city's live state lies over: built from a GTFS zip or the transit hub's
//! imported feed for one service date, and kept on today's date as the city's clock turns.

use std::sync::Arc;

use ::live::network::Network;
use domain::ErrorCode;

use crate::{App, ServiceError};

/// Builds a city's live network from a GTFS zip for one service date.
pub fn network_from_gtfs(bytes: &[u8], date: jiff::civil::Date) -> Result<Network, ServiceError> {
    let feed = transit::gtfs::read_feed(std::io::Cursor::new(bytes))
        .map_err(|e| ServiceError::new(ErrorCode::BadRequest, format!("GTFS: {e}")))?;
    network_from_feed(&feed, date)
}

/// Builds a city's live network from a parsed GTFS feed for one service date.
pub fn network_from_feed(
    feed: &transit::gtfs::Feed,
    date: jiff::civil::Date,
) -> Result<Network, ServiceError> {
    let input = ::live::transit_adapter::network_input(feed, date)
        .map_err(|e| ServiceError::new(ErrorCode::BadRequest, format!("GTFS: {e}")))?;
    Network::build(input)
        .map_err(|e| ServiceError::new(ErrorCode::BadRequest, format!("live network: {e}")))
}

/// Lays a city's live state over its imported GTFS (the transit hub's feed) for one date,
/// every time moved by `shift_ms` (the demo replays the morning at night).
pub async fn install_from_transit(
    app: &App,
    city: &str,
    date: jiff::civil::Date,
    shift_ms: i64,
) -> Result<usize, ServiceError> {
    let (_, transit) = crate::transit::city(app, city).await?;
    let feed = Arc::clone(&transit.feed);
    let network = tokio::task::spawn_blocking(move || {
        let mut input = ::live::transit_adapter::network_input(&feed, date)
            .map_err(|e| ServiceError::new(ErrorCode::BadRequest, format!("GTFS: {e}")))?;
        for stop in input.runs.iter_mut().flat_map(|run| run.stops.iter_mut()) {
            stop.arrival = stop.arrival.plus_ms(shift_ms);
            stop.departure = stop.departure.plus_ms(shift_ms);
        }
        Network::build(input)
            .map_err(|e| ServiceError::new(ErrorCode::BadRequest, format!("live network: {e}")))
    })
    .await
    .map_err(|e| ServiceError::internal(format!("live network build: {e}")))??;
    let runs = network.runs().len();
    app.live.install_network(city, Arc::new(network));
    Ok(runs)
}

/// Keeps every city's live network laid over today's timetable: at start, then whenever a
/// city's local date changes. Cities without imported transit data are skipped.
pub async fn keep_networks_current(app: Arc<App>, period: std::time::Duration) {
    let mut installed: std::collections::HashMap<String, jiff::civil::Date> =
        std::collections::HashMap::new();
    let mut ticker = tokio::time::interval(period);
    loop {
        ticker.tick().await;
        let Ok(now) = jiff::Timestamp::from_millisecond(app.now_ms()) else {
            continue;
        };
        let catalogue = app.catalogue();
        for city in catalogue.cities.values() {
            let today = now.to_zoned(city.time_zone(now)).date();
            if installed.get(city.id.as_str()) == Some(&today) {
                continue;
            }
            match install_from_transit(&app, city.id.as_str(), today, 0).await {
                Ok(runs) => {
                    tracing::info!(city = %city.id, %today, runs, "live network laid over today's timetable");
                    installed.insert(city.id.to_string(), today);
                }
                Err(error) if error.code == ErrorCode::NotFound => {}
                Err(error) => tracing::warn!(city = %city.id, %error, "no live network for today"),
            }
        }
    }
}
