//! One Wialon IPS tracker connection, generic over the byte stream so tests and the
//! server use the same code: login through a caller-supplied authenticator, every data
//! packet answered in the protocol's terms, positions pushed into a caller-supplied
//! **bounded** queue (a full queue slows this tracker down; nothing is spawned per ping).
//! A connection that has not logged in within [`LOGIN_DEADLINE_S`] is closed, and so is
//! one silent for [`IDLE_TIMEOUT_S`] (a whole line must arrive in that time, so bytes
//! trickling in keep nothing open) or one that does not read our answers for as long; a
//! line is at most [`crate::wialon::LINE_BYTES_MAX`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_util::codec::Framed;
use transit::ids::GtfsRouteId;

use crate::ids::{TimeMs, TrackerId, VehicleId};
use crate::state::{Authority, Position};
use crate::wialon::{
    Answer, DataError, Incoming, LoginAnswer, RejectReason, WialonCodec, WialonFix, WialonPacket,
};

/// A connection silent this long is closed (trackers ping far more often).
pub const IDLE_TIMEOUT_S: u64 = 600;
/// A connection must log in this soon after it opens, or it is closed (pings do not count).
pub const LOGIN_DEADLINE_S: u64 = 30;
/// Failed logins tolerated on one connection before it is closed.
pub const LOGIN_ATTEMPTS_MAX: u32 = 3;
/// Speed conversion: Wialon reports km/h, live state uses m/s.
const KMH_PER_MPS: f64 = 3.6;

/// What a tracker login resolves to.
#[derive(Clone, Debug, PartialEq)]
pub enum AuthOutcome {
    Vehicle {
        vehicle: VehicleId,
        route: Option<GtfsRouteId>,
    },
    UnknownTracker,
    BadPassword,
}

/// Tracker id + password → vehicle. The server backs it with its vehicle table (cached:
/// this runs once per connection, never per position).
pub trait Authenticator {
    fn authenticate(&self, tracker: &TrackerId, password: Option<&str>) -> AuthOutcome;
}

impl<F> Authenticator for F
where
    F: Fn(&TrackerId, Option<&str>) -> AuthOutcome,
{
    fn authenticate(&self, tracker: &TrackerId, password: Option<&str>) -> AuthOutcome {
        self(tracker, password)
    }
}

/// Counters shared by all sessions of one listener.
#[derive(Debug, Default)]
pub struct SessionCounters {
    pub sessions: AtomicU64,
    pub logins_accepted: AtomicU64,
    pub logins_rejected: AtomicU64,
    pub packets_accepted: AtomicU64,
    pub packets_rejected: AtomicU64,
    pub checksum_errors: AtomicU64,
    pub unrecognised_lines: AtomicU64,
    pub positions_queued: AtomicU64,
}

/// A plain copy of [`SessionCounters`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    pub sessions: u64,
    pub logins_accepted: u64,
    pub logins_rejected: u64,
    pub packets_accepted: u64,
    pub packets_rejected: u64,
    pub checksum_errors: u64,
    pub unrecognised_lines: u64,
    pub positions_queued: u64,
}

impl SessionCounters {
    pub fn snapshot(&self) -> CountersSnapshot {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CountersSnapshot {
            sessions: read(&self.sessions),
            logins_accepted: read(&self.logins_accepted),
            logins_rejected: read(&self.logins_rejected),
            packets_accepted: read(&self.packets_accepted),
            packets_rejected: read(&self.packets_rejected),
            checksum_errors: read(&self.checksum_errors),
            unrecognised_lines: read(&self.unrecognised_lines),
            positions_queued: read(&self.positions_queued),
        }
    }
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// The time limits of one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLimits {
    pub idle_timeout: Duration,
    pub login_deadline: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(IDLE_TIMEOUT_S),
            login_deadline: Duration::from_secs(LOGIN_DEADLINE_S),
        }
    }
}

/// How a session ended (all are normal ends for the listener).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEnd {
    TrackerClosed,
    IdleTimeout,
    /// No successful login within the deadline.
    LoginTimeout,
    /// The tracker stopped reading our answers.
    WriteTimeout,
    TooManyFailedLogins,
    /// The position queue's receiver is gone (the server is shutting down).
    QueueClosed,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("tracker connection failed: {0}")]
    Io(#[from] std::io::Error),
}

struct Bound {
    vehicle: VehicleId,
    route: Option<GtfsRouteId>,
}

/// Runs one tracker connection to its end. `now` dates packets sent with `NA` time.
pub async fn run_session<S, A, C>(
    stream: S,
    authenticator: &A,
    positions: &mpsc::Sender<Position>,
    counters: &SessionCounters,
    limits: SessionLimits,
    now: C,
) -> Result<SessionEnd, SessionError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    A: Authenticator + ?Sized,
    C: Fn() -> TimeMs,
{
    bump(&counters.sessions, 1);
    let mut framed = Framed::new(stream, WialonCodec::new());
    let mut bound: Option<Bound> = None;
    let mut failed_logins = 0;
    let login_by = tokio::time::Instant::now() + limits.login_deadline;
    loop {
        let idle_until = tokio::time::Instant::now() + limits.idle_timeout;
        let wait_until = if bound.is_none() {
            idle_until.min(login_by)
        } else {
            idle_until
        };
        let next = tokio::time::timeout_at(wait_until, framed.next()).await;
        let incoming = match next {
            Err(_) if bound.is_none() && tokio::time::Instant::now() >= login_by => {
                return Ok(SessionEnd::LoginTimeout);
            }
            Err(_) => return Ok(SessionEnd::IdleTimeout),
            Ok(None) => return Ok(SessionEnd::TrackerClosed),
            Ok(Some(result)) => result?,
        };
        let answer = match incoming {
            Incoming::Rejected(rejection) => {
                count_rejection(counters, rejection.reason);
                rejection.answer
            }
            Incoming::Packet(WialonPacket::Login {
                tracker, password, ..
            }) => {
                let answer = login(
                    authenticator,
                    &tracker,
                    password.as_deref(),
                    counters,
                    &mut bound,
                );
                if answer != LoginAnswer::Accepted {
                    failed_logins += 1;
                }
                if failed_logins >= LOGIN_ATTEMPTS_MAX {
                    let sent = tokio::time::timeout(
                        limits.idle_timeout,
                        framed.send(Answer::Login(answer)),
                    );
                    match sent.await {
                        Ok(result) => result?,
                        Err(_) => return Ok(SessionEnd::WriteTimeout),
                    }
                    return Ok(SessionEnd::TooManyFailedLogins);
                }
                Some(Answer::Login(answer))
            }
            Incoming::Packet(WialonPacket::Ping) => Some(Answer::Ping),
            Incoming::Packet(packet) => {
                let Some(answer) =
                    data_packet(packet, bound.as_ref(), positions, counters, &now).await
                else {
                    return Ok(SessionEnd::QueueClosed);
                };
                Some(answer)
            }
        };
        let written = tokio::time::timeout(limits.idle_timeout, async {
            if let Some(answer) = answer {
                framed.feed(answer).await?;
            }
            // Answers to pipelined packets go out together once no whole line is waiting.
            if !framed.read_buffer().contains(&b'\n') {
                framed.flush().await?;
            }
            Ok::<(), SessionError>(())
        });
        match written.await {
            Ok(result) => result?,
            Err(_) => return Ok(SessionEnd::WriteTimeout),
        }
    }
}

fn count_rejection(counters: &SessionCounters, reason: RejectReason) {
    match reason {
        RejectReason::BadChecksum => bump(&counters.checksum_errors, 1),
        RejectReason::Unrecognised | RejectReason::TooLong => bump(&counters.unrecognised_lines, 1),
        RejectReason::BadLogin => bump(&counters.logins_rejected, 1),
        RejectReason::BadData(_) => {}
    }
    bump(&counters.packets_rejected, 1);
}

fn login<A: Authenticator + ?Sized>(
    authenticator: &A,
    tracker: &TrackerId,
    password: Option<&str>,
    counters: &SessionCounters,
    bound: &mut Option<Bound>,
) -> LoginAnswer {
    match authenticator.authenticate(tracker, password) {
        AuthOutcome::Vehicle { vehicle, route } => {
            bump(&counters.logins_accepted, 1);
            *bound = Some(Bound { vehicle, route });
            LoginAnswer::Accepted
        }
        AuthOutcome::UnknownTracker => {
            bump(&counters.logins_rejected, 1);
            LoginAnswer::Rejected
        }
        AuthOutcome::BadPassword => {
            bump(&counters.logins_rejected, 1);
            LoginAnswer::BadPassword
        }
    }
}

/// Queues the positions of a data packet and returns its answer; `None` when the queue
/// is closed.
async fn data_packet(
    packet: WialonPacket,
    bound: Option<&Bound>,
    positions: &mpsc::Sender<Position>,
    counters: &SessionCounters,
    now: &impl Fn() -> TimeMs,
) -> Option<Answer> {
    let Some(bound) = bound else {
        // Data before a successful login is refused as a structure error.
        bump(&counters.packets_rejected, 1);
        return Some(match packet {
            WialonPacket::Data(_) => Answer::Data(Err(DataError::Structure)),
            WialonPacket::Batch { .. } => Answer::Batch(Some(0)),
            _ => Answer::ShortData(Err(DataError::Structure)),
        });
    };
    let (fixes, answer) = match packet {
        WialonPacket::ShortData(fix) => (vec![fix], Answer::ShortData(Ok(()))),
        WialonPacket::Data(fix) => (vec![fix], Answer::Data(Ok(()))),
        WialonPacket::Batch { fixes, rejected } => {
            bump(&counters.packets_rejected, rejected as u64);
            let count = fixes.len();
            (fixes, Answer::Batch(Some(count)))
        }
        WialonPacket::Login { .. } | WialonPacket::Ping => return Some(Answer::Ping),
    };
    bump(&counters.packets_accepted, 1);
    for fix in fixes {
        if let Some(position) = to_position(&fix, bound, now) {
            positions.send(position).await.ok()?;
            bump(&counters.positions_queued, 1);
        }
    }
    Some(answer)
}

fn to_position(fix: &WialonFix, bound: &Bound, now: &impl Fn() -> TimeMs) -> Option<Position> {
    Some(Position {
        vehicle: bound.vehicle,
        point: fix.point?,
        speed_mps: fix.speed_kmh.map(|kmh| kmh / KMH_PER_MPS),
        heading_deg: fix.course_deg,
        at: fix.at.unwrap_or_else(now),
        trip: None,
        route: bound.route.clone(),
        // A tracker stands for its own vehicle: its positions may end that bus's runs.
        authority: Authority::EndsRuns,
    })
}
