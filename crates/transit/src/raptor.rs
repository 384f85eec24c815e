//! RAPTOR (Delling, Pajor, Werneck 2012): round k finds the earliest arrival at every stop
//! with k rides. The result is the Pareto set of (arrival, rides) at the targets.
//!
//! The search only sees [`TransitData`]. Per-query buffers live in a thread-local scratch so
//! a query allocates almost nothing; the scratch is fully reset between queries, so from the
//! caller's view the planner keeps no state.
//!
//! Walks between stops are one hop per round, from stops reached by a ride in that round (and
//! from the origins in round 0): a walk never chains into another walk, which is what makes
//! "maximum walk between stops" mean what a passenger expects.

use std::cell::RefCell;

use crate::ids::{RouteIdx, StopIdx};
use crate::spi::{RoutePattern, TransitData, WalkEdge};

/// "Not reached".
const UNREACHED: i32 = i32::MAX;
/// "Not a target" in the per-stop egress table.
const NOT_TARGET: u32 = u32::MAX;

/// How walking between stops is limited in one query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WalkLimit {
    /// Longest walk between two stops, metres.
    pub max_m: f32,
    /// Walking speed to recompute durations; `None` keeps the timetable's durations.
    pub speed_m_per_s: Option<f64>,
}

/// One search.
#[derive(Clone, Copy, Debug)]
pub struct RaptorQuery<'a> {
    /// Stops to start from and the time one is ready to board there.
    pub origins: &'a [(StopIdx, i32)],
    /// Stops to reach and the walk from each to the destination, seconds.
    pub targets: &'a [(StopIdx, u32)],
    /// Most rides (transfers + 1).
    pub max_rides: usize,
    /// Walking between stops.
    pub walk: WalkLimit,
    /// Whether one may walk from an origin stop to a nearby stop before the first ride
    /// (true for stop-to-stop queries; coordinate queries already walked to the stop).
    pub walk_from_origins: OriginWalks,
    /// Arrivals at or after this are not wanted.
    pub arrival_limit_s: i32,
}

/// Whether the search walks from the origin stops before the first ride.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OriginWalks {
    /// Walk from origin stops to nearby stops.
    Allowed,
    /// Board at the origin stops only.
    Forbidden,
}

/// One point of the Pareto set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParetoArrival {
    /// Rides taken.
    pub rides: usize,
    /// Arrival at the destination (target stop plus its egress walk).
    pub arrival_s: i32,
    /// The target stop used.
    pub target: StopIdx,
    /// Its egress walk, seconds.
    pub egress_s: u32,
}

/// One leg of a raw journey, in timetable terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawLeg {
    /// A ride on `route`'s trip number `trip_position` between two positions.
    Ride {
        /// Route.
        route: RouteIdx,
        /// Trip position within the route.
        trip_position: u32,
        /// Boarding position.
        board_position: u32,
        /// Alighting position.
        alight_position: u32,
    },
    /// A walk between two stops, arriving at `arrival_s`.
    Walk {
        /// From.
        from: StopIdx,
        /// To.
        to: StopIdx,
        /// Walking time.
        duration_s: u32,
        /// Arrival at `to`.
        arrival_s: i32,
    },
}

/// A journey of the Pareto set, legs in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawJourney {
    /// Where it starts and when one is ready there.
    pub origin: (StopIdx, i32),
    /// Legs.
    pub legs: Vec<RawLeg>,
    /// The Pareto point.
    pub arrival: ParetoArrival,
}

#[derive(Clone, Copy, Default)]
struct RideParent {
    route: u32,
    trip_position: u32,
    board_position: u32,
    alight_position: u32,
}

#[derive(Clone, Copy, Default)]
struct WalkParent {
    from: u32,
    duration_s: u32,
}

/// Per-query buffers, reused across queries on one thread.
#[derive(Default)]
struct Scratch {
    stop_count: usize,
    round_capacity: usize,
    /// Best arrival per round and stop (ride or walk), `round * stop_count + stop`.
    arrival: Vec<i32>,
    /// Arrival by ride (or at an origin) per round and stop.
    ride_arrival: Vec<i32>,
    ride_parent: Vec<RideParent>,
    walk_parent: Vec<WalkParent>,
    /// Best arrival over all rounds so far.
    best: Vec<i32>,
    egress: Vec<u32>,
    marked: Vec<u64>,
    route_start: Vec<u32>,
    queued_routes: Vec<u32>,
    sources: Vec<u32>,
    touched: Vec<u32>,
    rounds_used: usize,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The Pareto set of (arrival, rides) at the targets.
pub fn pareto_arrivals<T: TransitData + ?Sized>(
    data: &T,
    query: &RaptorQuery<'_>,
) -> Vec<ParetoArrival> {
    with_search(data, query, |scratch| scratch.pareto(query))
}

/// The Pareto set with each journey's legs.
pub fn pareto_journeys<T: TransitData + ?Sized>(
    data: &T,
    query: &RaptorQuery<'_>,
) -> Vec<RawJourney> {
    with_search(data, query, |scratch| {
        scratch
            .pareto(query)
            .into_iter()
            .filter_map(|point| scratch.reconstruct(data, point))
            .collect()
    })
}

fn with_search<T: TransitData + ?Sized, R>(
    data: &T,
    query: &RaptorQuery<'_>,
    extract: impl FnOnce(&Scratch) -> R,
) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            scratch.search(data, query);
            let result = extract(&scratch);
            scratch.reset(query);
            result
        }
        // Re-entrant use on one thread (not done by this crate): use a fresh scratch.
        Err(_) => {
            let mut scratch = Scratch::default();
            scratch.search(data, query);
            extract(&scratch)
        }
    })
}

impl Scratch {
    fn prepare(&mut self, stop_count: usize, route_count: usize, rounds: usize) {
        if self.stop_count != stop_count || self.round_capacity < rounds {
            let cells = stop_count * rounds;
            self.stop_count = stop_count;
            self.round_capacity = rounds;
            self.arrival = vec![UNREACHED; cells];
            self.ride_arrival = vec![UNREACHED; cells];
            self.ride_parent = vec![RideParent::default(); cells];
            self.walk_parent = vec![WalkParent::default(); cells];
            self.best = vec![UNREACHED; stop_count];
            self.egress = vec![NOT_TARGET; stop_count];
            self.marked = vec![0; stop_count.div_ceil(64)];
            self.touched.clear();
        }
        if self.route_start.len() != route_count {
            self.route_start = vec![u32::MAX; route_count];
            self.queued_routes.clear();
        }
    }

    /// Puts every touched cell back to "unreached".
    #[allow(clippy::indexing_slicing)] // touched stops and used rounds were checked when set
    fn reset(&mut self, query: &RaptorQuery<'_>) {
        let n = self.stop_count;
        for &stop in &self.touched {
            let s = stop as usize;
            self.best[s] = UNREACHED;
            for round in 0..=self.rounds_used {
                self.arrival[round * n + s] = UNREACHED;
                self.ride_arrival[round * n + s] = UNREACHED;
            }
        }
        self.touched.clear();
        for &(stop, _) in query.targets {
            if let Some(e) = self.egress.get_mut(stop.index()) {
                *e = NOT_TARGET;
            }
        }
        self.marked.fill(0);
    }

    fn mark(&mut self, stop: usize) {
        if let Some(word) = self.marked.get_mut(stop / 64) {
            *word |= 1 << (stop % 64);
        }
    }

    #[allow(clippy::indexing_slicing)] // every stop index comes from the timetable, < stop_count
    fn search<T: TransitData + ?Sized>(&mut self, data: &T, query: &RaptorQuery<'_>) {
        let n = data.stop_count();
        let rounds = query.max_rides + 1;
        self.prepare(n, data.route_count(), rounds);
        self.rounds_used = 0;
        let mut bound = query.arrival_limit_s;
        for &(stop, egress) in query.targets {
            if stop.index() < n {
                let e = &mut self.egress[stop.index()];
                *e = (*e).min(egress);
            }
        }
        for &(stop, time) in query.origins {
            let s = stop.index();
            if s >= n || time >= self.best[s] || time >= bound {
                continue;
            }
            self.set_best(s, time);
            self.arrival[s] = time;
            self.ride_arrival[s] = time;
            self.mark(s);
            bound = self.tighten(bound, s, time);
        }
        if query.walk_from_origins == OriginWalks::Allowed {
            bound = self.relax_walks(data, query, 0, bound);
        }
        for round in 1..rounds {
            self.rounds_used = round;
            self.queue_routes(data);
            for q in 0..self.queued_routes.len() {
                let route = self.queued_routes[q];
                let start = std::mem::replace(&mut self.route_start[route as usize], u32::MAX);
                bound = self.scan_route(data, round, RouteIdx::new(route), start as usize, bound);
            }
            self.queued_routes.clear();
            bound = self.relax_walks(data, query, round, bound);
            if self.marked.iter().all(|&w| w == 0) {
                break;
            }
        }
    }

    fn set_best(&mut self, stop: usize, time: i32) {
        if let Some(best) = self.best.get_mut(stop) {
            if *best == UNREACHED {
                self.touched.push(stop as u32);
            }
            *best = time;
        }
    }

    /// A lower bound once a target is reached: nothing arriving later is worth keeping.
    fn tighten(&self, bound: i32, stop: usize, time: i32) -> i32 {
        match self.egress.get(stop) {
            Some(&e) if e != NOT_TARGET => bound.min(time.saturating_add(e as i32)),
            _ => bound,
        }
    }

    /// Queues every route serving a stop marked in the previous round, from the earliest
    /// marked position, and clears the marks.
    #[allow(clippy::indexing_slicing)] // route indices come from the timetable, < route_count
    fn queue_routes<T: TransitData + ?Sized>(&mut self, data: &T) {
        for w in 0..self.marked.len() {
            let mut word = std::mem::take(&mut self.marked[w]);
            while word != 0 {
                let stop = w * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                for at in data.routes_at(StopIdx::new(stop as u32)) {
                    let slot = &mut self.route_start[at.route.index()];
                    if *slot == u32::MAX {
                        self.queued_routes.push(at.route.get());
                    }
                    *slot = (*slot).min(at.position);
                }
            }
        }
    }

    /// Scans one route from `start`: alight the current trip where it improves arrivals,
    /// hop to an earlier trip where the previous round's label allows.
    #[allow(clippy::indexing_slicing)] // positions < stops.len(), trips < trip_count: the
    // route pattern's invariants (events.len() == stops.len() * trip_count)
    fn scan_route<T: TransitData + ?Sized>(
        &mut self,
        data: &T,
        round: usize,
        route: RouteIdx,
        start: usize,
        mut bound: i32,
    ) -> i32 {
        let RoutePattern {
            stops,
            flags,
            events,
            trip_count,
        } = data.route(route);
        let width = stops.len();
        if events.len() != width * trip_count {
            return bound;
        }
        let n = self.stop_count;
        let previous = (round - 1) * n;
        let current = round * n;
        let mut trip = usize::MAX;
        let mut board_position = 0;
        for position in start..width {
            let s = stops[position].index();
            let flag = flags[position];
            if trip != usize::MAX && flag.can_alight() {
                let arrival = events[trip * width + position].arrival_s;
                if arrival < self.best[s] && arrival < bound {
                    self.set_best(s, arrival);
                    self.arrival[current + s] = arrival;
                    self.ride_arrival[current + s] = arrival;
                    self.ride_parent[current + s] = RideParent {
                        route: route.get(),
                        trip_position: trip as u32,
                        board_position: board_position as u32,
                        alight_position: position as u32,
                    };
                    self.mark(s);
                    bound = self.tighten(bound, s, arrival);
                }
            }
            if !flag.can_board() {
                continue;
            }
            let ready = self.arrival[previous + s];
            if ready == UNREACHED {
                continue;
            }
            let candidate = if trip == usize::MAX {
                let (mut low, mut high) = (0, trip_count);
                while low < high {
                    let middle = (low + high) / 2;
                    if events[middle * width + position].departure_s < ready {
                        low = middle + 1;
                    } else {
                        high = middle;
                    }
                }
                low
            } else {
                let mut t = trip;
                while t > 0 && events[(t - 1) * width + position].departure_s >= ready {
                    t -= 1;
                }
                t
            };
            if candidate < trip_count && candidate != trip {
                trip = candidate;
                board_position = position;
            }
        }
        bound
    }

    /// One walk from every stop reached by ride (or, in round 0, every origin) this round.
    #[allow(clippy::indexing_slicing)] // stop indices come from the timetable, < stop_count
    fn relax_walks<T: TransitData + ?Sized>(
        &mut self,
        data: &T,
        query: &RaptorQuery<'_>,
        round: usize,
        mut bound: i32,
    ) -> i32 {
        if query.walk.max_m <= 0.0 {
            return bound;
        }
        let mut sources = std::mem::take(&mut self.sources);
        sources.clear();
        for (w, &word) in self.marked.iter().enumerate() {
            let mut word = word;
            while word != 0 {
                sources.push((w * 64 + word.trailing_zeros() as usize) as u32);
                word &= word - 1;
            }
        }
        let current = round * self.stop_count;
        for &from in &sources {
            let from = from as usize;
            let start = self.ride_arrival[current + from];
            if start == UNREACHED {
                continue;
            }
            for edge in data.walks_from(StopIdx::new(from as u32)) {
                let Some(duration_s) = walk_time(edge, query.walk) else {
                    continue;
                };
                let arrival = start.saturating_add(duration_s as i32);
                let to = edge.to.index();
                if to < self.stop_count && arrival < self.best[to] && arrival < bound {
                    self.set_best(to, arrival);
                    self.arrival[current + to] = arrival;
                    self.walk_parent[current + to] = WalkParent {
                        from: from as u32,
                        duration_s,
                    };
                    self.mark(to);
                    if self.egress[to] == 0 {
                        bound = bound.min(arrival);
                    }
                }
            }
        }
        self.sources = sources;
        bound
    }

    /// The label at a target that counts: any label when there is no egress walk, a ride
    /// label otherwise (a walk straight into another walk is not a journey).
    fn target_label(&self, round: usize, stop: usize, egress_s: u32) -> i32 {
        let cell = round * self.stop_count + stop;
        let table = if egress_s == 0 {
            &self.arrival
        } else {
            &self.ride_arrival
        };
        table.get(cell).copied().unwrap_or(UNREACHED)
    }

    fn pareto(&self, query: &RaptorQuery<'_>) -> Vec<ParetoArrival> {
        let mut front: Vec<ParetoArrival> = Vec::new();
        let mut earliest = query.arrival_limit_s;
        for rides in 0..=self.rounds_used {
            let mut best_here: Option<ParetoArrival> = None;
            for &(target, egress_s) in query.targets {
                let label = self.target_label(rides, target.index(), egress_s);
                if label == UNREACHED {
                    continue;
                }
                let arrival_s = label.saturating_add(egress_s as i32);
                if best_here.is_none_or(|b| arrival_s < b.arrival_s) {
                    best_here = Some(ParetoArrival {
                        rides,
                        arrival_s,
                        target,
                        egress_s,
                    });
                }
            }
            if let Some(point) = best_here.filter(|p| p.arrival_s < earliest) {
                earliest = point.arrival_s;
                front.push(point);
            }
        }
        front
    }

    /// Follows parents back from a Pareto point to an origin.
    #[allow(clippy::indexing_slicing)] // cells and positions were written by this search
    fn reconstruct<T: TransitData + ?Sized>(
        &self,
        data: &T,
        point: ParetoArrival,
    ) -> Option<RawJourney> {
        let n = self.stop_count;
        let mut legs = Vec::new();
        let mut round = point.rides;
        let mut stop = point.target.index();
        let mut ride_label_only = point.egress_s != 0;
        for _ in 0..=2 * (self.rounds_used + 1) {
            let cell = round * n + stop;
            if !ride_label_only && self.arrival[cell] < self.ride_arrival[cell] {
                let parent = self.walk_parent[cell];
                legs.push(RawLeg::Walk {
                    from: StopIdx::new(parent.from),
                    to: StopIdx::new(stop as u32),
                    duration_s: parent.duration_s,
                    arrival_s: self.arrival[cell],
                });
                stop = parent.from as usize;
            }
            ride_label_only = false;
            if round == 0 {
                legs.reverse();
                let origin_time = self.ride_arrival[stop];
                return Some(RawJourney {
                    origin: (StopIdx::new(stop as u32), origin_time),
                    legs,
                    arrival: point,
                });
            }
            let parent = self.ride_parent[round * n + stop];
            let route = RouteIdx::new(parent.route);
            legs.push(RawLeg::Ride {
                route,
                trip_position: parent.trip_position,
                board_position: parent.board_position,
                alight_position: parent.alight_position,
            });
            stop = data
                .route(route)
                .stops
                .get(parent.board_position as usize)?
                .index();
            round -= 1;
        }
        None
    }
}

fn walk_time(edge: &WalkEdge, limit: WalkLimit) -> Option<u32> {
    if edge.distance_m > limit.max_m {
        return None;
    }
    Some(match limit.speed_m_per_s {
        None => edge.duration_s,
        // A transfers.txt entry without coordinates keeps the feed's time.
        Some(_) if edge.distance_m <= 0.0 => edge.duration_s,
        Some(speed) => crate::timetable::walk_duration_s(f64::from(edge.distance_m), speed),
    })
}
