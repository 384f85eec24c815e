//! The access matrix: one row per route (method and path as the router declares it) saying who
//! may call it — anyone, a signed-in passenger, staff of some roles (with the scope rule that
//! narrows them), or a machine credential — and whether a call that succeeds changes
//! something (and so leaves exactly one audit entry). The extractors in [`crate::extract`]
//! read this table for the route being served: a staff extractor on a route the table does not
//! list refuses, and a test walks every route of the router against it.

use domain::staff::Role;
use service::staff::credentials::MachineKind;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// Anyone (public data, sign-in itself).
    Public,
    /// A passenger's session (`/v1/auth/session`).
    Passenger,
    /// A live-feed token (`/v1/admin/live/feed-tokens`), checked by the use case.
    FeedToken,
    /// A staff session of one of these roles.
    Staff(&'static [Role]),
    /// A machine credential of this kind.
    Machine(MachineKind),
    /// A bank calling the biller: from one of its allowed networks with its secret (checked
    /// by the handler against the bank's configuration, `api::extract::check_bank`).
    Bank,
}

/// What narrows an allowed staff role to its scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeRule {
    /// The route is the same for every city and carrier.
    Unscoped,
    /// The path parameter names a carrier: `carrier` accounts reach only their own, a
    /// `controller` the carriers it inspects for.
    CarrierInPath(&'static str),
    /// The path parameter names a city: `office` and `controller` accounts reach only theirs.
    CityInPath(&'static str),
    /// The vehicle named in the body: a controller reaches the buses of its cities or
    /// carriers (checked by the handler with `Actor::require_vehicle`).
    VehicleInBody,
    /// The caller's own account and sessions (an admin reaches everyone's).
    Own,
    /// The object named in the path belongs to a city (an application, a ride's ticket): the
    /// use case checks the actor reaches it (`Actor::require_city`) and filters lists by it.
    CityOfObject,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub method: &'static str,
    pub path: &'static str,
    pub who: Who,
    pub scope: ScopeRule,
    /// A successful call changes something and appends one audit entry.
    pub audited: bool,
}

pub const ADMIN: &[Role] = &[Role::Admin];
pub const INSPECTORS: &[Role] = &[Role::Admin, Role::Controller];
pub const CONTROLLERS: &[Role] = &[Role::Controller];
pub const CARRIER_READERS: &[Role] = &[Role::Admin, Role::Carrier, Role::Controller, Role::Support];
pub const ANY_STAFF: &[Role] = &Role::ALL;
/// Who reads a carrier's feedback: its managers, support and admins.
pub const FEEDBACK_READERS: &[Role] = &[Role::Admin, Role::Carrier, Role::Support];
/// Who reads a passenger's tickets: support, the office (of its cities) and admins.
pub const PASSENGER_READERS: &[Role] = &[Role::Admin, Role::Office, Role::Support];
/// Who answers a carrier's feedback and manages its vehicles: its managers and admins.
pub const CARRIER_MANAGERS: &[Role] = &[Role::Admin, Role::Carrier];
/// Who reads the ride and revenue report across carriers: admins (all), the office (its
/// cities).
pub const REPORT_READERS: &[Role] = &[Role::Admin, Role::Office];
/// Office clerks (of their cities) and admins: preferential applications, refunds.
pub const OFFICE: &[Role] = &[Role::Admin, Role::Office];

const fn rule(method: &'static str, path: &'static str, who: Who) -> Rule {
    Rule {
        method,
        path,
        who,
        scope: ScopeRule::Unscoped,
        audited: false,
    }
}

const fn staff(
    method: &'static str,
    path: &'static str,
    roles: &'static [Role],
    scope: ScopeRule,
    audited: bool,
) -> Rule {
    Rule {
        method,
        path,
        who: Who::Staff(roles),
        scope,
        audited,
    }
}

use ScopeRule::{CarrierInPath, CityOfObject, Own, Unscoped, VehicleInBody};
use Who::{Bank, FeedToken, Machine, Passenger, Public};

/// Every route of the router. Adding a route means adding its row here (a test fails until
/// then); a staff handler takes [`crate::extract::Staff`], which enforces its row.
pub const MATRIX: &[Rule] = &[
    rule("GET", "/health", Public),
    rule("GET", "/metrics", Machine(MachineKind::Metrics)),
    rule("GET", "/openapi.json", Public),
    rule("GET", "/v1/cities", Public),
    rule("GET", "/v1/keys", Public),
    rule("POST", "/v1/auth/code", Public),
    rule("POST", "/v1/auth/session", Public),
    rule("DELETE", "/v1/auth/session", Passenger),
    rule("GET", "/v1/auth/sessions", Passenger),
    rule("DELETE", "/v1/auth/sessions/{id}", Passenger),
    rule("POST", "/v1/auth/sessions/end-others", Passenger),
    rule("POST", "/v1/rides", Passenger),
    rule("GET", "/v1/rides/{ride_id}", Passenger),
    rule("GET", "/v1/tickets/valid", Passenger),
    rule("GET", "/v1/tickets/history", Passenger),
    rule("GET", "/t/{link_code}", Public),
    rule("GET", "/v1/rides/quote", Passenger),
    rule("POST", "/v1/feedback", Passenger),
    rule("GET", "/v1/feedback", Passenger),
    staff(
        "GET",
        "/v1/carriers/{carrier}/feedback",
        FEEDBACK_READERS,
        CarrierInPath("carrier"),
        false,
    ),
    // Transport cards: the holder's own, by its session.
    rule("POST", "/v1/cards", Passenger),
    rule("GET", "/v1/cards", Passenger),
    rule("GET", "/v1/cards/{card}", Passenger),
    rule("GET", "/v1/cards/{card}/history", Passenger),
    rule("POST", "/v1/cards/{card}/block", Passenger),
    rule("POST", "/v1/cards/{card}/unblock", Passenger),
    rule("POST", "/v1/cards/{card}/close", Passenger),
    rule("POST", "/v1/cards/{card}/top-ups", Passenger),
    rule("GET", "/v1/cards/{card}/top-ups/limits", Passenger),
    rule("GET", "/v1/cards/{card}/top-ups/{id}", Passenger),
    // The acquirer's callback: its HMAC signature over the body is the credential (checked
    // by the use case with the acquirer's secret).
    rule("POST", "/v1/acquirer/{acquirer}/callback", Public),
    rule("POST", "/v1/card-applications", Passenger),
    rule("GET", "/v1/card-applications", Passenger),
    rule("GET", "/v1/banks/{bank}/biller", Bank),
    staff(
        "GET",
        "/v1/staff/passengers/{phone}/tickets",
        PASSENGER_READERS,
        CityOfObject,
        false,
    ),
    // The office: preferential applications and refunds of its cities.
    staff(
        "GET",
        "/v1/office/card-applications",
        OFFICE,
        CityOfObject,
        false,
    ),
    staff(
        "POST",
        "/v1/office/card-applications/{id}/approve",
        OFFICE,
        CityOfObject,
        true,
    ),
    staff(
        "POST",
        "/v1/office/card-applications/{id}/reject",
        OFFICE,
        CityOfObject,
        true,
    ),
    staff(
        "POST",
        "/v1/office/tickets/{check_number}/refund",
        OFFICE,
        CityOfObject,
        true,
    ),
    // The office desk: a passenger of its cities (who rode in or applied to one of them).
    staff("GET", "/v1/office/search", OFFICE, CityOfObject, false),
    staff(
        "GET",
        "/v1/office/passengers/{phone}",
        OFFICE,
        CityOfObject,
        false,
    ),
    staff(
        "POST",
        "/v1/office/cards/{card}/block",
        OFFICE,
        CityOfObject,
        true,
    ),
    staff(
        "POST",
        "/v1/office/cards/{card}/unblock",
        OFFICE,
        CityOfObject,
        true,
    ),
    staff(
        "POST",
        "/v1/office/cards/{card}/payout",
        OFFICE,
        CityOfObject,
        true,
    ),
    staff("PUT", "/v1/admin/banks/{bank}", ADMIN, Unscoped, true),
    staff("GET", "/v1/admin/banks", ADMIN, Unscoped, false),
    // Every partner wired in and its live state (never a secret).
    staff("GET", "/v1/admin/partners", ADMIN, Unscoped, false),
    // Reconciliation with banks, the acquirer and the operators.
    staff(
        "POST",
        "/v1/admin/reconciliation/{kind}/{partner}/{day}",
        ADMIN,
        Unscoped,
        true,
    ),
    staff(
        "GET",
        "/v1/admin/reconciliation/reports",
        ADMIN,
        Unscoped,
        false,
    ),
    staff(
        "GET",
        "/v1/admin/reconciliation/discrepancies",
        ADMIN,
        Unscoped,
        false,
    ),
    staff(
        "POST",
        "/v1/admin/reconciliation/discrepancies/{id}/resolve",
        ADMIN,
        Unscoped,
        true,
    ),
    // Controllers: every check is recorded as an inspection (not an audit entry: it changes
    // no one's data).
    staff("POST", "/v1/inspections", INSPECTORS, VehicleInBody, false),
    staff(
        "GET",
        "/v1/controller/invalidations",
        INSPECTORS,
        Unscoped,
        false,
    ),
    // A device's queue of checks: each vehicle named is the controller's (recorded as
    // inspections, not audited, like a check online).
    staff(
        "POST",
        "/v1/controller/inspections/sync",
        INSPECTORS,
        VehicleInBody,
        false,
    ),
    // The shift summary of the caller's own checks.
    staff("GET", "/v1/controller/shift", INSPECTORS, Own, false),
    // The vehicles of the controller's cities and carriers, kept on its device.
    staff(
        "GET",
        "/v1/controller/vehicles",
        INSPECTORS,
        CityOfObject,
        false,
    ),
    // Holder keys test a ticket's holder tag against numbers: controllers' devices only.
    staff(
        "GET",
        "/v1/controller/holder-keys",
        CONTROLLERS,
        Unscoped,
        false,
    ),
    staff(
        "POST",
        "/v1/admin/tickets/{check_number}/revoke",
        ADMIN,
        Unscoped,
        true,
    ),
    rule("POST", "/v1/sms/incoming", Machine(MachineKind::SmsGateway)),
    rule("GET", "/v1/sms/outbox", Machine(MachineKind::SmsGateway)),
    rule(
        "POST",
        "/v1/sms/outbox/{id}/sent",
        Machine(MachineKind::SmsGateway),
    ),
    staff("PUT", "/v1/admin/catalogue", ADMIN, Unscoped, true),
    staff("GET", "/v1/admin/catalogue", ADMIN, Unscoped, false),
    staff(
        "POST",
        "/v1/admin/cities/{city}/gtfs",
        ADMIN,
        Unscoped,
        true,
    ),
    staff("POST", "/v1/admin/keys/rotate", ADMIN, Unscoped, true),
    staff("GET", "/v1/admin/ledger", ADMIN, Unscoped, false),
    staff("GET", "/v1/admin/audit", ADMIN, Unscoped, false),
    staff("GET", "/v1/admin/audit/verify", ADMIN, Unscoped, false),
    // Settles rides in doubt against the operators: the ledger records each outcome.
    staff("POST", "/v1/admin/recovery", ADMIN, Unscoped, false),
    // Staff accounts and sessions.
    rule("POST", "/v1/staff/session", Public),
    staff("DELETE", "/v1/staff/session", ANY_STAFF, Own, false),
    staff("GET", "/v1/staff/me", ANY_STAFF, Own, false),
    staff("POST", "/v1/staff/password", ANY_STAFF, Own, true),
    staff("GET", "/v1/staff/sessions", ANY_STAFF, Own, false),
    staff("DELETE", "/v1/staff/sessions/{id}", ANY_STAFF, Own, true),
    staff("GET", "/v1/admin/staff", ADMIN, Unscoped, false),
    staff("POST", "/v1/admin/staff", ADMIN, Unscoped, true),
    staff(
        "POST",
        "/v1/admin/staff/{login}/reset-password",
        ADMIN,
        Unscoped,
        true,
    ),
    staff(
        "POST",
        "/v1/admin/staff/{login}/disable",
        ADMIN,
        Unscoped,
        true,
    ),
    staff(
        "POST",
        "/v1/admin/staff/{login}/enable",
        ADMIN,
        Unscoped,
        true,
    ),
    staff(
        "GET",
        "/v1/admin/staff/{login}/sessions",
        ADMIN,
        Unscoped,
        false,
    ),
    staff("GET", "/v1/admin/credentials", ADMIN, Unscoped, false),
    staff("POST", "/v1/admin/credentials", ADMIN, Unscoped, true),
    staff(
        "POST",
        "/v1/admin/credentials/{id}/revoke",
        ADMIN,
        Unscoped,
        true,
    ),
    // A carrier's own data.
    staff(
        "GET",
        "/v1/carriers/{carrier}/vehicles",
        CARRIER_READERS,
        CarrierInPath("carrier"),
        false,
    ),
    // The carrier's desk: replies and statuses of feedback, vehicles, stickers, its reports.
    staff(
        "POST",
        "/v1/carriers/{carrier}/feedback/{id}/reply",
        CARRIER_MANAGERS,
        CarrierInPath("carrier"),
        true,
    ),
    staff(
        "POST",
        "/v1/carriers/{carrier}/feedback/{id}/status",
        CARRIER_MANAGERS,
        CarrierInPath("carrier"),
        true,
    ),
    staff(
        "POST",
        "/v1/carriers/{carrier}/vehicles",
        CARRIER_MANAGERS,
        CarrierInPath("carrier"),
        true,
    ),
    staff(
        "POST",
        "/v1/carriers/{carrier}/vehicles/{code}/suspend",
        CARRIER_MANAGERS,
        CarrierInPath("carrier"),
        true,
    ),
    staff(
        "POST",
        "/v1/carriers/{carrier}/vehicles/{code}/resume",
        CARRIER_MANAGERS,
        CarrierInPath("carrier"),
        true,
    ),
    staff(
        "POST",
        "/v1/carriers/{carrier}/vehicles/{code}/move",
        CARRIER_MANAGERS,
        CarrierInPath("carrier"),
        true,
    ),
    staff(
        "GET",
        "/v1/carriers/{carrier}/stickers",
        CARRIER_MANAGERS,
        CarrierInPath("carrier"),
        false,
    ),
    staff(
        "GET",
        "/v1/carriers/{carrier}/reports/rides",
        CARRIER_MANAGERS,
        CarrierInPath("carrier"),
        false,
    ),
    staff(
        "GET",
        "/v1/carriers/{carrier}/settlement/{month}",
        CARRIER_MANAGERS,
        CarrierInPath("carrier"),
        false,
    ),
    // Reports across carriers: the use case narrows an office clerk to its cities.
    staff(
        "GET",
        "/v1/reports/rides",
        REPORT_READERS,
        CityOfObject,
        false,
    ),
    // Transit and live data.
    rule("GET", "/v1/cities/{city}/routes", Public),
    rule("GET", "/v1/cities/{city}/routes/{route_id}", Public),
    rule("GET", "/v1/cities/{city}/stops/near", Public),
    rule("GET", "/v1/cities/{city}/stops/{stop}/arrivals", Public),
    rule("GET", "/v1/cities/{city}/search", Public),
    rule("GET", "/v1/cities/{city}/plan", Public),
    rule("POST", "/v1/live/{city}/positions", FeedToken),
    rule("POST", "/v1/live/{city}/gtfs-rt", FeedToken),
    rule("GET", "/v1/live/{city}/vehicles", Public),
    rule("GET", "/v1/live/{city}/vehicles/{id}/track", Public),
    rule("POST", "/v1/live/{city}/detect", Public),
    rule("GET", "/v1/live/{city}/stream", Public),
    rule("GET", "/v1/live/{city}/vehicle-positions.pb", Public),
    staff("POST", "/v1/admin/live/trackers", ADMIN, Unscoped, true),
    staff("GET", "/v1/admin/live/trackers", ADMIN, Unscoped, false),
    staff("POST", "/v1/admin/live/feed-tokens", ADMIN, Unscoped, true),
    staff("GET", "/v1/admin/live/feed-tokens", ADMIN, Unscoped, false),
];

/// The row of a route, by its method and its path as declared (`MatchedPath`).
pub fn rule_of(method: &str, path: &str) -> Option<&'static Rule> {
    MATRIX.iter().find(|r| r.method == method && r.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_one_row_and_every_row_a_route() {
        let declared = crate::declared_routes();
        for (method, path) in &declared {
            assert!(
                rule_of(method, path).is_some(),
                "{method} {path} is served but not in the access matrix"
            );
        }
        for rule in MATRIX {
            assert!(
                declared
                    .iter()
                    .any(|(method, path)| *method == rule.method && path == rule.path),
                "{} {} is in the access matrix but not served",
                rule.method,
                rule.path
            );
            let rows = MATRIX
                .iter()
                .filter(|r| r.method == rule.method && r.path == rule.path)
                .count();
            assert_eq!(rows, 1, "{} {} has {rows} rows", rule.method, rule.path);
            if rule.audited {
                assert!(
                    matches!(rule.who, Who::Staff(_)),
                    "only staff calls are audited"
                );
            }
        }
    }
}
