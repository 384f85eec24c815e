//! Integration tests of the transit crate: tiny inline feeds zipped in memory for each planner
//! feature, bad feeds with precise errors, the two real feeds, and address search.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{Cursor, Write};
use std::sync::Arc;

use transit::gtfs::{FieldProblem, GtfsError, read_feed};
use transit::journey::FareRide;
use transit::search::{SearchIndex, SearchTarget, read_addresses};
use transit::{
    Coordinate, Date, FareRules, Leg, Place, PlanOptions, Planner, PreviousDay, ServiceTime,
    Timetable, TimetableOptions,
};

/// Zips `(file name, CSV text)` pairs in memory.
fn zip_feed(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in files {
        writer
            .start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

const AGENCY: &str =
    "agency_id,agency_name,agency_url,agency_timezone\nA,Test,http://x,Asia/Almaty\n";
/// Stops along a street, about 111 m apart per 0.001° of latitude. C2 is 150 m from C.
const STOPS: &str = "stop_id,stop_name,stop_lat,stop_lon
A,Абая,51.100,71.400
B,Kabanbay Batyr,51.110,71.400
C,Central,51.120,71.400
C2,Central East,51.120,71.40215
D,Depot,51.130,71.400
E,East,51.140,71.400
F,Far away,51.300,71.900
";
const ROUTES: &str = "route_id,agency_id,route_short_name,route_long_name,route_type
R1,A,1,A - C,3
R2,A,2,C - D,3
R3,A,3,A - D express,3
R4,A,4,C2 - E,3
";
/// A weekday service through 2025, and one running only on Saturday 2025-03-08.
const CALENDAR: &str =
    "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date
WK,1,1,1,1,1,0,0,20250101,20251231
";
const CALENDAR_DATES: &str = "service_id,date,exception_type\nSAT,20250308,1\n";

/// A feed from trips and stop_times (the rest fixed above).
fn feed_with(trips: &str, stop_times: &str, extra: &[(&str, &str)]) -> Arc<transit::gtfs::Feed> {
    let mut files: Vec<(&str, &[u8])> = vec![
        ("agency.txt", AGENCY.as_bytes()),
        ("stops.txt", STOPS.as_bytes()),
        ("routes.txt", ROUTES.as_bytes()),
        ("calendar.txt", CALENDAR.as_bytes()),
        ("calendar_dates.txt", CALENDAR_DATES.as_bytes()),
        ("trips.txt", trips.as_bytes()),
        ("stop_times.txt", stop_times.as_bytes()),
    ];
    for (name, content) in extra {
        files.retain(|(existing, _)| existing != name);
        files.push((name, content.as_bytes()));
    }
    Arc::new(read_feed(Cursor::new(zip_feed(&files))).unwrap())
}

const WEDNESDAY: (i16, i8, i8) = (2025, 3, 5);

fn date((y, m, d): (i16, i8, i8)) -> Date {
    Date::new(y, m, d).unwrap()
}

fn planner(feed: &Arc<transit::gtfs::Feed>, day: (i16, i8, i8), walk_m: f64) -> Planner {
    let options = TimetableOptions {
        transfer_walk_m: walk_m,
        ..TimetableOptions::default()
    };
    Planner::new(Arc::new(
        Timetable::build(feed.clone(), date(day), options).unwrap(),
    ))
}

fn at(text: &str) -> ServiceTime {
    ServiceTime::parse(text).unwrap()
}

/// Earliest arrival as text and transfers, or "-".
fn earliest(planner: &Planner, from: &str, to: &str, departure: &str) -> String {
    let feed = planner.timetable().feed();
    let (from, to) = (feed.stop_idx(from).unwrap(), feed.stop_idx(to).unwrap());
    match planner.earliest_arrival(from, to, at(departure), 8) {
        Some(a) => format!("{} transfers={}", a.arrival, a.transfers),
        None => "-".to_owned(),
    }
}

/// A journey as one line per leg.
fn describe(planner: &Planner, journey: &transit::Journey) -> String {
    let feed = planner.timetable().feed();
    let name = |place: &Place| match place {
        Place::Stop(s) => feed.stop(*s).unwrap().id.to_string(),
        Place::Point(_) => "point".to_owned(),
    };
    let legs: Vec<String> = journey
        .legs
        .iter()
        .map(|leg| match leg {
            Leg::Walk(w) => format!(
                "walk {}->{} {}m {}s",
                name(&w.from),
                name(&w.to),
                w.distance_m,
                w.duration_s
            ),
            Leg::Ride(r) => format!(
                "ride {} {}->{} {}-{} stops={}",
                r.route_short_name,
                feed.stop(r.from).unwrap().id,
                feed.stop(r.to).unwrap().id,
                r.departure,
                r.arrival,
                r.stop_count
            ),
        })
        .collect();
    format!(
        "arr {} transfers={}: {}",
        journey.arrival,
        journey.transfers,
        legs.join("; ")
    )
}

const ONE_ROUTE_TRIPS: &str = "route_id,service_id,trip_id\nR1,WK,T1\nR1,WK,T2\n";
const ONE_ROUTE_TIMES: &str = "trip_id,arrival_time,departure_time,stop_id,stop_sequence
T1,08:00:00,08:00:00,A,1
T1,08:10:00,08:10:00,B,2
T1,08:20:00,08:20:00,C,3
T2,09:00:00,09:00:00,A,1
T2,09:10:00,09:10:00,B,2
T2,09:20:00,09:20:00,C,3
";

#[test]
fn one_route_takes_the_next_trip() {
    let feed = feed_with(ONE_ROUTE_TRIPS, ONE_ROUTE_TIMES, &[]);
    let p = planner(&feed, WEDNESDAY, 0.0);
    assert_eq!(earliest(&p, "A", "C", "07:55:00"), "08:20:00 transfers=0");
    assert_eq!(earliest(&p, "A", "C", "08:00:00"), "08:20:00 transfers=0");
    assert_eq!(earliest(&p, "A", "C", "08:00:01"), "09:20:00 transfers=0");
    assert_eq!(
        earliest(&p, "C", "A", "07:00:00"),
        "-",
        "trips only run A to C"
    );
    let from = Place::Stop(feed.stop_idx("A").unwrap());
    let to = Place::Stop(feed.stop_idx("C").unwrap());
    let journeys = p
        .plan(from, to, at("07:55:00"), &PlanOptions::default())
        .unwrap();
    let lines: Vec<String> = journeys.iter().map(|j| describe(&p, j)).collect();
    assert_eq!(
        lines,
        ["arr 08:20:00 transfers=0: ride 1 A->C 08:00:00-08:20:00 stops=2"]
    );
    let ride = journeys[0].rides().next().unwrap();
    assert_eq!(ride.route_id.as_str(), "R1");
    assert_eq!(
        ride.geometry.len(),
        3,
        "stop coordinates when there is no shape"
    );
}

const TRANSFER_TRIPS: &str =
    "route_id,service_id,trip_id\nR1,WK,T1\nR2,WK,U1\nR3,WK,X1\nR4,WK,V1\n";
const TRANSFER_TIMES: &str = "trip_id,arrival_time,departure_time,stop_id,stop_sequence
T1,08:00:00,08:00:00,A,1
T1,08:10:00,08:10:00,B,2
T1,08:20:00,08:20:00,C,3
U1,08:25:00,08:25:00,C,1
U1,08:35:00,08:35:00,D,2
X1,08:05:00,08:05:00,A,1
X1,08:50:00,08:50:00,D,2
V1,08:30:00,08:30:00,C2,1
V1,08:40:00,08:40:00,E,2
";

#[test]
fn a_transfer_and_the_pareto_set_of_arrival_and_transfers() {
    let feed = feed_with(TRANSFER_TRIPS, TRANSFER_TIMES, &[]);
    let p = planner(&feed, WEDNESDAY, 0.0);
    assert_eq!(earliest(&p, "A", "D", "07:50:00"), "08:35:00 transfers=1");
    let from = Place::Stop(feed.stop_idx("A").unwrap());
    let to = Place::Stop(feed.stop_idx("D").unwrap());
    let journeys = p
        .plan(from, to, at("07:50:00"), &PlanOptions::default())
        .unwrap();
    let lines: Vec<String> = journeys.iter().map(|j| describe(&p, j)).collect();
    assert_eq!(
        lines,
        [
            "arr 08:35:00 transfers=1: ride 1 A->C 08:00:00-08:20:00 stops=2; ride 2 C->D 08:25:00-08:35:00 stops=1",
            "arr 08:50:00 transfers=0: ride 3 A->D 08:05:00-08:50:00 stops=1",
        ]
    );
    let one_ride = PlanOptions::default().with_max_transfers(0).unwrap();
    let journeys = p.plan(from, to, at("07:50:00"), &one_ride).unwrap();
    assert_eq!(journeys.len(), 1);
    assert_eq!(journeys[0].arrival, at("08:50:00"));
}

#[test]
fn a_walk_between_stops_within_the_radius_only() {
    let feed = feed_with(TRANSFER_TRIPS, TRANSFER_TIMES, &[]);
    let walking = planner(&feed, WEDNESDAY, 400.0);
    // C -> C2 is about 150 m: 108 s at 1.4 m/s.
    assert_eq!(
        earliest(&walking, "A", "E", "07:50:00"),
        "08:40:00 transfers=1"
    );
    let from = Place::Stop(feed.stop_idx("A").unwrap());
    let to = Place::Stop(feed.stop_idx("E").unwrap());
    let journeys = walking
        .plan(from, to, at("07:50:00"), &PlanOptions::default())
        .unwrap();
    assert_eq!(
        describe(&walking, &journeys[0]),
        "arr 08:40:00 transfers=1: ride 1 A->C 08:00:00-08:20:00 stops=2; walk C->C2 150m 108s; ride 4 C2->E 08:30:00-08:40:00 stops=1"
    );
    let short = planner(&feed, WEDNESDAY, 100.0);
    assert_eq!(earliest(&short, "A", "E", "07:50:00"), "-");
    let none = planner(&feed, WEDNESDAY, 0.0);
    assert_eq!(earliest(&none, "A", "E", "07:50:00"), "-");
    // A query may walk less than the timetable allows, not more.
    let tight = PlanOptions::default().with_max_walk_m(120).unwrap();
    assert!(
        walking
            .plan(from, to, at("07:50:00"), &tight)
            .unwrap()
            .is_empty()
    );
}

const NIGHT_TRIPS: &str = "route_id,service_id,trip_id\nR1,WK,N1\n";
const NIGHT_TIMES: &str = "trip_id,arrival_time,departure_time,stop_id,stop_sequence
N1,23:50:00,23:50:00,A,1
N1,24:30:00,24:30:00,B,2
N1,25:00:00,25:00:00,C,3
";

#[test]
fn a_trip_past_midnight_serves_both_service_days() {
    let feed = feed_with(NIGHT_TRIPS, NIGHT_TIMES, &[]);
    let wednesday = planner(&feed, WEDNESDAY, 0.0);
    assert_eq!(
        earliest(&wednesday, "A", "C", "23:40:00"),
        "25:00:00 transfers=0"
    );
    // Thursday 00:20 is Wednesday's 24:20: Wednesday's trip is still on its way.
    let thursday = planner(&feed, (2025, 3, 6), 0.0);
    assert_eq!(
        earliest(&thursday, "B", "C", "00:20:00"),
        "01:00:00 transfers=0"
    );
    // Saturday: Friday's trip still runs after midnight, Saturday has none of its own.
    let saturday = planner(&feed, (2025, 3, 8), 0.0);
    assert_eq!(
        earliest(&saturday, "B", "C", "00:20:00"),
        "01:00:00 transfers=0"
    );
    assert_eq!(earliest(&saturday, "A", "C", "23:40:00"), "-");
    // Without the previous day, only Thursday's own trip is left, 24 hours later.
    let options = TimetableOptions {
        previous_day: PreviousDay::Exclude,
        ..TimetableOptions::default()
    };
    let only_today = Planner::new(Arc::new(
        Timetable::build(feed.clone(), date((2025, 3, 6)), options).unwrap(),
    ));
    assert_eq!(
        earliest(&only_today, "B", "C", "00:20:00"),
        "25:00:00 transfers=0"
    );
}

#[test]
fn a_service_that_runs_only_on_some_dates() {
    let trips = "route_id,service_id,trip_id\nR1,SAT,S1\n";
    let times = "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nS1,10:00:00,10:00:00,A,1\nS1,10:20:00,10:20:00,C,2\n";
    let feed = feed_with(trips, times, &[]);
    assert_eq!(
        earliest(&planner(&feed, (2025, 3, 8), 0.0), "A", "C", "09:00:00"),
        "10:20:00 transfers=0"
    );
    assert_eq!(
        earliest(&planner(&feed, (2025, 3, 9), 0.0), "A", "C", "09:00:00"),
        "-"
    );
    assert_eq!(
        earliest(&planner(&feed, (2025, 3, 15), 0.0), "A", "C", "09:00:00"),
        "-"
    );
    // calendar_dates removes a weekday.
    let removed = [(
        "calendar_dates.txt",
        "service_id,date,exception_type\nWK,20250305,2\n",
    )];
    let feed = feed_with(ONE_ROUTE_TRIPS, ONE_ROUTE_TIMES, &removed);
    assert_eq!(
        earliest(&planner(&feed, WEDNESDAY, 0.0), "A", "C", "07:00:00"),
        "-"
    );
    assert_eq!(
        earliest(&planner(&feed, (2025, 3, 6), 0.0), "A", "C", "07:00:00"),
        "08:20:00 transfers=0"
    );
}

#[test]
fn frequencies_are_expanded_into_trips() {
    let trips = "route_id,service_id,trip_id\nR1,WK,F1\n";
    let times = "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nF1,06:00:00,06:00:00,A,1\nF1,06:07:00,06:07:00,B,2\n";
    let frequencies = [(
        "frequencies.txt",
        "trip_id,start_time,end_time,headway_secs\nF1,06:00:00,08:00:00,600\n",
    )];
    let feed = feed_with(trips, times, &frequencies);
    let p = planner(&feed, WEDNESDAY, 0.0);
    assert_eq!(earliest(&p, "A", "B", "07:05:00"), "07:17:00 transfers=0");
    assert_eq!(earliest(&p, "A", "B", "05:00:00"), "06:07:00 transfers=0");
    assert_eq!(
        earliest(&p, "A", "B", "07:50:01"),
        "-",
        "the last run leaves at 07:50"
    );
    assert_eq!(p.timetable().run_count(), 12);
}

#[test]
fn an_unreachable_target_gives_nothing() {
    let feed = feed_with(TRANSFER_TRIPS, TRANSFER_TIMES, &[]);
    let p = planner(&feed, WEDNESDAY, 400.0);
    assert_eq!(earliest(&p, "A", "F", "07:00:00"), "-");
    let from = Place::Stop(feed.stop_idx("A").unwrap());
    let to = Place::Stop(feed.stop_idx("F").unwrap());
    assert!(
        p.plan(from, to, at("07:00:00"), &PlanOptions::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn equal_arrivals_prefer_fewer_transfers() {
    // R3 reaches D at 08:35 directly, the same time as R1 + R2 with a transfer.
    let times = TRANSFER_TIMES.replace("X1,08:50:00,08:50:00,D,2", "X1,08:35:00,08:35:00,D,2");
    let feed = feed_with(TRANSFER_TRIPS, &times, &[]);
    let p = planner(&feed, WEDNESDAY, 0.0);
    assert_eq!(earliest(&p, "A", "D", "07:50:00"), "08:35:00 transfers=0");
    let from = Place::Stop(feed.stop_idx("A").unwrap());
    let to = Place::Stop(feed.stop_idx("D").unwrap());
    let journeys = p
        .plan(from, to, at("07:50:00"), &PlanOptions::default())
        .unwrap();
    let lines: Vec<String> = journeys.iter().map(|j| describe(&p, j)).collect();
    assert_eq!(
        lines,
        ["arr 08:35:00 transfers=0: ride 3 A->D 08:05:00-08:35:00 stops=1"]
    );
}

#[test]
fn coordinates_to_coordinates_with_access_and_egress_walks() {
    let feed = feed_with(TRANSFER_TRIPS, TRANSFER_TIMES, &[]);
    let p = planner(&feed, WEDNESDAY, 400.0);
    let home = Coordinate::new(51.1005, 71.4000).unwrap(); // 56 m north of A
    let work = Coordinate::new(51.1300, 71.4010).unwrap(); // 70 m east of D
    let journeys = p
        .plan(
            Place::Point(home),
            Place::Point(work),
            at("07:50:00"),
            &PlanOptions::default(),
        )
        .unwrap();
    let lines: Vec<String> = journeys.iter().map(|j| describe(&p, j)).collect();
    assert_eq!(
        lines,
        [
            "arr 08:35:50 transfers=1: walk point->A 56m 40s; ride 1 A->C 08:00:00-08:20:00 stops=2; ride 2 C->D 08:25:00-08:35:00 stops=1; walk D->point 70m 50s",
            "arr 08:50:50 transfers=0: walk point->A 56m 40s; ride 3 A->D 08:05:00-08:50:00 stops=1; walk D->point 70m 50s",
        ]
    );
    let far = Coordinate::new(40.0, 60.0).unwrap();
    assert!(
        p.plan(
            Place::Point(far),
            Place::Point(work),
            at("07:50:00"),
            &PlanOptions::default()
        )
        .is_err()
    );
}

#[test]
fn a_pure_walk_only_when_it_is_comparable() {
    let feed = feed_with(TRANSFER_TRIPS, TRANSFER_TIMES, &[]);
    let p = planner(&feed, WEDNESDAY, 400.0);
    let a = Coordinate::new(51.1200, 71.4005).unwrap();
    let b = Coordinate::new(51.1210, 71.4005).unwrap(); // 111 m away
    let journeys = p
        .plan(
            Place::Point(a),
            Place::Point(b),
            at("07:50:00"),
            &PlanOptions::default(),
        )
        .unwrap();
    let lines: Vec<String> = journeys.iter().map(|j| describe(&p, j)).collect();
    assert_eq!(
        lines,
        ["arr 07:51:20 transfers=0: walk point->point 111m 80s"]
    );
    // Three kilometres on foot is not offered when the bus is much faster.
    let start = Coordinate::new(51.1005, 71.4000).unwrap();
    let end = Coordinate::new(51.1300, 71.4010).unwrap();
    let journeys = p
        .plan(
            Place::Point(start),
            Place::Point(end),
            at("07:50:00"),
            &PlanOptions::default(),
        )
        .unwrap();
    assert!(journeys.iter().all(|j| j.rides().count() > 0));
}

#[test]
fn the_timetable_is_shared_between_threads() {
    let feed = feed_with(TRANSFER_TRIPS, TRANSFER_TIMES, &[]);
    let p = planner(&feed, WEDNESDAY, 400.0);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    (0..50)
                        .map(|_| earliest(&p, "A", "E", "07:50:00"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            assert!(
                handle
                    .join()
                    .unwrap()
                    .iter()
                    .all(|a| a == "08:40:00 transfers=1")
            );
        }
    });
}

struct FlatFare(u32);

impl FareRules for FlatFare {
    type Fare = u32;
    fn fare(&self, rides: &[FareRide<'_>]) -> Option<u32> {
        Some(self.0 * rides.len() as u32)
    }
}

#[test]
fn journeys_carry_route_ids_for_the_fare_rules() {
    let feed = feed_with(TRANSFER_TRIPS, TRANSFER_TIMES, &[]);
    let p = planner(&feed, WEDNESDAY, 0.0);
    let from = Place::Stop(feed.stop_idx("A").unwrap());
    let to = Place::Stop(feed.stop_idx("D").unwrap());
    let journeys = p
        .plan(from, to, at("07:50:00"), &PlanOptions::default())
        .unwrap();
    let ids: Vec<&str> = journeys[0].rides().map(|r| r.route_id.as_str()).collect();
    assert_eq!(ids, ["R1", "R2"]);
    assert_eq!(journeys[0].fare(&FlatFare(90)), Some(180));
    assert_eq!(journeys[1].fare(&FlatFare(90)), Some(90));
}

#[test]
fn network_queries_list_routes_stops_and_nearby_stops() {
    let feed = feed_with(TRANSFER_TRIPS, TRANSFER_TIMES, &[]);
    let p = planner(&feed, WEDNESDAY, 0.0);
    let names: Vec<&str> = feed.lines.iter().map(|l| l.short_name.as_str()).collect();
    assert_eq!(names, ["1", "2", "3", "4"]);
    let variants = transit::network::line_variants(&feed, feed.line_idx("R1").unwrap());
    let stops: Vec<&str> = variants[0]
        .stops
        .iter()
        .map(|s| feed.stop(*s).unwrap().id.as_str())
        .collect();
    assert_eq!(stops, ["A", "B", "C"]);
    assert_eq!(variants[0].shape.len(), 3);
    let near = p
        .timetable()
        .stops_near(Coordinate::new(51.1201, 71.4001).unwrap(), 200.0, 10);
    let ids: Vec<&str> = near
        .iter()
        .map(|(s, _)| feed.stop(*s).unwrap().id.as_str())
        .collect();
    assert_eq!(ids, ["C", "C2"]);
}

fn feed_bytes_replacing(file: &str, content: &[u8]) -> Vec<u8> {
    let mut files: Vec<(&str, &[u8])> = vec![
        ("agency.txt", AGENCY.as_bytes()),
        ("stops.txt", STOPS.as_bytes()),
        ("routes.txt", ROUTES.as_bytes()),
        ("calendar.txt", CALENDAR.as_bytes()),
        ("trips.txt", ONE_ROUTE_TRIPS.as_bytes()),
        ("stop_times.txt", ONE_ROUTE_TIMES.as_bytes()),
    ];
    files.retain(|(name, _)| *name != file);
    if !content.is_empty() {
        files.push((file, content));
    }
    zip_feed(&files)
}

#[test]
fn a_missing_file_is_fatal_and_named() {
    let error = read_feed(Cursor::new(feed_bytes_replacing("stops.txt", b""))).unwrap_err();
    assert_eq!(
        error.to_string(),
        "required file stops.txt is missing from the feed"
    );
    let error = read_feed(Cursor::new(b"not a zip".to_vec())).unwrap_err();
    assert!(matches!(error, GtfsError::Archive(_)), "{error}");
}

#[test]
fn a_bad_time_is_fatal_with_file_line_and_field() {
    let times = ONE_ROUTE_TIMES.replace("T1,08:10:00,08:10:00,B,2", "T1,08:1O:00,08:10:00,B,2");
    let error = read_feed(Cursor::new(feed_bytes_replacing(
        "stop_times.txt",
        times.as_bytes(),
    )))
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "stop_times.txt line 3, field arrival_time: bad time \"08:1O:00\" (expected H:MM:SS)"
    );
}

#[test]
fn an_unknown_stop_skips_its_trip_and_is_reported() {
    let times = ONE_ROUTE_TIMES.replace("T2,09:10:00,09:10:00,B,2", "T2,09:10:00,09:10:00,NOPE,2");
    let feed = read_feed(Cursor::new(feed_bytes_replacing(
        "stop_times.txt",
        times.as_bytes(),
    )))
    .unwrap();
    assert_eq!(feed.report.problem_count, 1);
    assert_eq!(
        feed.report.problems[0].to_string(),
        "stop_times.txt line 6, field stop_id: \"NOPE\" is not defined in stops.txt"
    );
    assert_eq!(feed.stop_time_count(), 3, "the whole trip T2 is dropped");
}

#[test]
fn recoverable_problems_are_counted_not_fatal() {
    let stops = format!("{STOPS}BAD,Nowhere,95.0,71.4\n");
    let feed = read_feed(Cursor::new(feed_bytes_replacing(
        "stops.txt",
        stops.as_bytes(),
    )))
    .unwrap();
    assert_eq!(feed.report.problem_count, 1);
    assert!(matches!(
        feed.report.problems[0].problem,
        FieldProblem::CoordinateOutOfRange(_)
    ));
    assert_eq!(feed.report.problems[0].at.line, 9);
    let bad = feed.stop(feed.stop_idx("BAD").unwrap()).unwrap();
    assert_eq!(bad.coordinate, None);
}

#[test]
fn wrong_encoding_is_fatal_with_the_line() {
    // "Абая" in windows-1251 on line 2.
    let mut stops = b"stop_id,stop_name,stop_lat,stop_lon\nA,".to_vec();
    stops.extend_from_slice(&[0xC0, 0xE1, 0xE0, 0xFF]);
    stops.extend_from_slice(b",51.1,71.4\n");
    let error = read_feed(Cursor::new(feed_bytes_replacing("stops.txt", &stops))).unwrap_err();
    assert!(
        matches!(
            error,
            GtfsError::Encoding {
                file: "stops.txt",
                line: 2
            }
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("stops.txt line 2: not valid UTF-8")
    );
}

#[test]
fn tolerant_csv_bom_crlf_quotes_spaces_and_extra_columns() {
    let stops = "\u{feff}stop_id, stop_name ,stop_lat,stop_lon,extra\r\n\"A\",\"Абая, угол\",51.100,71.400,x\r\nB,B, 51.110 ,71.400,y\r\nC,C,51.120,71.400,z\r\nC2,C2,51.120,71.40215,\r\nD,D,51.13,71.4,\r\nE,E,51.14,71.4,\r\nF,F,51.3,71.9,\r\n";
    let times = ONE_ROUTE_TIMES.replace("08:00:00,08:00:00", " 8:00:00, 8:00:00");
    let bytes = {
        let mut files: Vec<(&str, &[u8])> = vec![
            ("agency.txt", AGENCY.as_bytes()),
            ("stops.txt", stops.as_bytes()),
            ("routes.txt", ROUTES.as_bytes()),
            ("calendar.txt", CALENDAR.as_bytes()),
            ("trips.txt", ONE_ROUTE_TRIPS.as_bytes()),
            ("stop_times.txt", times.as_bytes()),
        ];
        files.rotate_left(2);
        zip_feed(&files)
    };
    let feed = Arc::new(read_feed(Cursor::new(bytes)).unwrap());
    assert_eq!(feed.report.problem_count, 0, "{}", feed.report);
    assert_eq!(
        feed.stop(feed.stop_idx("A").unwrap()).unwrap().name,
        "Абая, угол"
    );
    assert_eq!(
        earliest(&planner(&feed, WEDNESDAY, 0.0), "A", "C", "07:00:00"),
        "08:20:00 transfers=0"
    );
}

fn real_feed(name: &str) -> Arc<transit::gtfs::Feed> {
    let path = format!(
        "{}/../../../shared/data/gtfs/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap();
    Arc::new(read_feed(Cursor::new(bytes)).unwrap())
}

#[test]
fn halifax_imports_cleanly_and_real_journeys_match_the_timetable() {
    let feed = real_feed("halifax-2025.zip");
    assert_eq!(feed.report.problem_count, 0, "{}", feed.report);
    assert_eq!(
        (feed.stops.len(), feed.lines.len(), feed.trips.len()),
        (2386, 80, 9472)
    );
    assert_eq!(feed.stop_time_count(), 328_499);
    let p = planner(&feed, (2025, 9, 10), 400.0);
    // Trip 3786535 (route 168B) leaves 6479 at 08:08:22 and reaches 7601 at 08:30:00.
    let no_walk = planner(&feed, (2025, 9, 10), 0.0);
    assert_eq!(
        earliest(&no_walk, "6479", "7601", "08:00:00"),
        "08:30:00 transfers=0"
    );
    // Route 28 then 415 via 8641, walking 35 m to 8102 at the end.
    assert_eq!(
        earliest(&p, "6198", "8102", "08:00:00"),
        "09:25:02 transfers=1"
    );
    // 24, 2 and 10C.
    assert_eq!(
        earliest(&p, "7395", "8161", "08:00:00"),
        "09:26:17 transfers=2"
    );
    assert_eq!(
        earliest(&p, "8803", "8715", "08:00:00"),
        "10:31:08 transfers=3"
    );
    let from = Place::Stop(feed.stop_idx("6198").unwrap());
    let to = Place::Stop(feed.stop_idx("8102").unwrap());
    let journeys = p
        .plan(from, to, at("08:00:00"), &PlanOptions::default())
        .unwrap();
    let ride = journeys[0].rides().next().unwrap();
    assert_eq!(
        (ride.route_short_name.as_str(), ride.trip_id.as_str()),
        ("28", "3788411")
    );
    assert!(
        ride.geometry.len() > ride.stop_count as usize,
        "a shape slice, not only stops"
    );
}

#[test]
fn kaunas_imports_cleanly_and_real_journeys_match_the_timetable() {
    let feed = real_feed("kaunas-2018.zip");
    assert_eq!(feed.report.problem_count, 0, "{}", feed.report);
    assert_eq!(
        (feed.stops.len(), feed.lines.len(), feed.trips.len()),
        (876, 69, 9618)
    );
    let p = planner(&feed, (2018, 5, 16), 400.0);
    // Trip 45 of route 3: 15508 at 08:03, 2366 at 08:05.
    assert_eq!(
        earliest(&p, "15508", "2366", "08:00:00"),
        "08:05:00 transfers=0"
    );
    // Minibus 57 to 2841, walk 168 m, bus 48 at 08:45 to 15621.
    assert_eq!(
        earliest(&p, "14803", "15621", "08:00:00"),
        "09:15:00 transfers=1"
    );
}

const ADDRESSES: &str = "street,house,lat,lon
проспект Абая,52,51.1001,71.4001
проспект Абая,54,51.1002,71.4001
Kabanbay Batyr avenue,11,51.1101,71.4001
улица Жолдасбеков,9,51.1201,71.4001
Somewhere,1,999,71.4
";

#[test]
fn address_search_over_cyrillic_latin_and_kazakh_spellings() {
    let feed = feed_with(ONE_ROUTE_TRIPS, ONE_ROUTE_TIMES, &[]);
    let (addresses, problems) = read_addresses(ADDRESSES.as_bytes()).unwrap();
    assert_eq!(addresses.len(), 4);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].line, 6);
    let index = SearchIndex::build(&feed, &addresses);
    let top = |query: &str| {
        index
            .search(query, 3)
            .first()
            .map(|h| h.label.clone())
            .unwrap_or_default()
    };
    assert_eq!(top("пр. Абая 54"), "проспект Абая 54");
    assert_eq!(top("Abaya 52"), "проспект Абая 52");
    assert_eq!(top("abay ave 52"), "проспект Абая 52");
    assert_eq!(top("Қабанбай батыр"), "Kabanbay Batyr");
    assert_eq!(top("Kabanbai batir 11"), "Kabanbay Batyr avenue 11");
    assert_eq!(top("Жолдасбеков көшесі"), "улица Жолдасбеков 9");
    assert_eq!(top("Zholdasbekov st"), "улица Жолдасбеков 9");
    assert_eq!(top("Zholdasbkov"), "улица Жолдасбеков 9", "one typo");
    assert_eq!(top("centr"), "Central", "a prefix while typing");
    assert!(index.search("Достык", 3).is_empty());
    let stop_hit = index
        .search("абай", 5)
        .into_iter()
        .find(|h| matches!(h.target, SearchTarget::Stop(_)));
    assert_eq!(stop_hit.map(|h| h.label), Some("Абая".to_owned()));
}

#[test]
fn an_address_list_without_the_required_columns_is_refused() {
    let error = read_addresses("street,number,lat,lon\nA,1,51,71\n".as_bytes()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "address list: the header has no column house (expected street,house,lat,lon)"
    );
}

/// Runs `check` on every file of `fuzz/corpus/<target>/`, naming the file that fails; a missing
/// or empty corpus fails rather than passing silently.
fn replay_fuzz_corpus(target: &str, check: fn(&[u8])) {
    let folder = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("corpus {} missing: {e}", folder.display()));
    let mut replayed = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        assert!(outcome.is_ok(), "{} fails its check", path.display());
        replayed += 1;
    }
    assert!(replayed > 0, "corpus {} is empty", folder.display());
}

/// The fuzz corpus of GTFS zips (raw and structured), replayed.
#[test]
fn gtfs_zip_fuzz_corpus() {
    replay_fuzz_corpus("gtfs_zip", transit::fuzz_checks::gtfs_zip);
}
