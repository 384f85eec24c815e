//! A carrier's own vehicles: add one, suspend it (a suspended vehicle cannot be paid for:
//! `VEHICLE_SUSPENDED`), put it back in service, move it to another route of the carrier's
//! city. Vehicles live in the catalogue: each change is one row written with its audit entry
//! in one transaction, then the catalogue is read anew, so the next purchase sees it.

use domain::catalogue::{CarrierId, RouteId};
use domain::{ErrorCode, PlateNumber, TransportCode};
use store::catalogue::VehicleRow;

use crate::catalogue::Vehicle;
use crate::staff::Actor;
use crate::{App, ServiceError};

/// What a carrier asks for a vehicle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Put a new vehicle on a route.
    Add {
        code: String,
        plate: String,
        route: String,
    },
    Suspend(String),
    Resume(String),
    Move {
        code: String,
        route: String,
    },
}

fn route_of_carrier(app: &App, carrier: &CarrierId, route: &str) -> Result<RouteId, ServiceError> {
    let catalogue = app.catalogue();
    let city = catalogue
        .carriers
        .get(carrier)
        .map(|c| c.city.clone())
        .ok_or(ErrorCode::NotFound)?;
    let route = RouteId::parse(route).map_err(|_| ErrorCode::VehicleRouteInvalid)?;
    match catalogue.routes.get(&route) {
        Some(r) if r.city == city => Ok(route),
        _ => Err(ErrorCode::VehicleRouteInvalid.into()),
    }
}

fn own_vehicle(app: &App, carrier: &CarrierId, code: &str) -> Result<Vehicle, ServiceError> {
    let code = TransportCode::parse(code).map_err(|_| ErrorCode::TransportCodeMalformed)?;
    app.catalogue()
        .vehicles
        .get(&code)
        .filter(|v| v.carrier == *carrier)
        .cloned()
        .ok_or_else(|| ErrorCode::NotFound.into())
}

fn row_of(v: &Vehicle) -> VehicleRow {
    VehicleRow {
        transport_code: v.code.as_str().to_owned(),
        plate: v.plate.as_str().to_owned(),
        carrier_id: v.carrier.as_str().to_owned(),
        route_id: v.route.as_str().to_owned(),
        active: v.active,
    }
}

fn describe(v: &VehicleRow) -> String {
    format!(
        "{} {} route={} {}",
        v.transport_code,
        v.plate,
        v.route_id,
        if v.active { "active" } else { "suspended" }
    )
}

/// Applies `change` to a vehicle of `carrier` for `actor`; returns the vehicle as it is now.
pub async fn change(
    app: &App,
    actor: &Actor,
    carrier: &str,
    change: &Change,
) -> Result<VehicleRow, ServiceError> {
    actor.require_carrier(carrier)?;
    let carrier_id = CarrierId::parse(carrier).map_err(|_| ErrorCode::NotFound)?;
    let (action, before, after) = match change {
        Change::Add { code, plate, route } => {
            let code = TransportCode::parse(code).map_err(|_| ErrorCode::TransportCodeMalformed)?;
            let plate = PlateNumber::parse(plate).map_err(|_| {
                ServiceError::new(ErrorCode::BadRequest, "the plate is not a plate number")
            })?;
            let route = route_of_carrier(app, &carrier_id, route)?;
            let catalogue = app.catalogue();
            let taken = catalogue.vehicles.contains_key(&code)
                || catalogue.vehicles.values().any(|v| v.plate == plate);
            if taken {
                return Err(ErrorCode::VehicleTaken.into());
            }
            let row = VehicleRow {
                transport_code: code.as_str().to_owned(),
                plate: plate.as_str().to_owned(),
                carrier_id: carrier.to_owned(),
                route_id: route.as_str().to_owned(),
                active: true,
            };
            ("vehicle.add", String::new(), row)
        }
        Change::Suspend(code) | Change::Resume(code) => {
            let vehicle = own_vehicle(app, &carrier_id, code)?;
            let before = row_of(&vehicle);
            let after = VehicleRow {
                active: matches!(change, Change::Resume(_)),
                ..before.clone()
            };
            let action = if after.active {
                "vehicle.resume"
            } else {
                "vehicle.suspend"
            };
            (action, describe(&before), after)
        }
        Change::Move { code, route } => {
            let vehicle = own_vehicle(app, &carrier_id, code)?;
            let route = route_of_carrier(app, &carrier_id, route)?;
            let before = row_of(&vehicle);
            let after = VehicleRow {
                route_id: route.as_str().to_owned(),
                ..before.clone()
            };
            ("vehicle.move", describe(&before), after)
        }
    };
    let mut tx = app.store.begin().await?;
    store::catalogue::upsert_vehicle(&mut tx, &after).await?;
    crate::audit::record(
        &mut tx,
        actor,
        &crate::audit::Change {
            action,
            object: &format!("vehicle:{}", after.transport_code),
            before: &before,
            after: &describe(&after),
        },
        app.now_ms(),
    )
    .await?;
    tx.commit().await?;
    crate::catalogue::reload(app).await?;
    Ok(after)
}
