//! Who acts when staff act, and the staff accounts behind them. Every use case run for staff
//! takes an [`Actor`]: the signed-in account (login, role, scope) and the address it acts
//! from, or the command line. `accounts` creates and manages accounts, `sign_in` trades a
//! password (and a TOTP code) for a session, `credentials` holds the machine callers'
//! per-partner secrets.

pub mod accounts;
pub mod credentials;
pub mod sign_in;

use domain::staff::{Role, Scope};

use crate::{App, ServiceError};

/// Who asks for a staff action, and from where: what the audit trail records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The staff login, or `cli` for the command line.
    pub name: String,
    pub role: Role,
    pub scope: Scope,
    /// The client address; empty for the command line.
    pub address: String,
}

impl Actor {
    /// The `smsbus` command line, run on the server by whoever may read its database: it acts
    /// as an admin.
    pub fn command_line() -> Actor {
        Actor {
            name: "cli".into(),
            role: Role::Admin,
            scope: Scope::default(),
            address: String::new(),
        }
    }

    /// Refuses with `SCOPE_FORBIDDEN` unless the actor reaches `city`.
    pub fn require_city(&self, city: &str) -> Result<(), ServiceError> {
        if self.scope.reaches_city(self.role, city) {
            Ok(())
        } else {
            Err(ServiceError::new(
                domain::ErrorCode::ScopeForbidden,
                format!("{} does not work for city {city}", self.name),
            ))
        }
    }

    /// Refuses with `SCOPE_FORBIDDEN` unless the actor reaches `carrier`.
    pub fn require_carrier(&self, carrier: &str) -> Result<(), ServiceError> {
        if self.scope.reaches_carrier(self.role, carrier) {
            Ok(())
        } else {
            Err(ServiceError::new(
                domain::ErrorCode::ScopeForbidden,
                format!("{} does not work for carrier {carrier}", self.name),
            ))
        }
    }

    /// Refuses with `SCOPE_FORBIDDEN` unless the actor reaches the vehicle (its city or its
    /// carrier); an unknown vehicle passes (the use case refuses it in its own words).
    pub fn require_vehicle(
        &self,
        app: &App,
        code: &domain::TransportCode,
    ) -> Result<(), ServiceError> {
        let catalogue = app.catalogue();
        let Some(vehicle) = catalogue.vehicles.get(code) else {
            return Ok(());
        };
        let city = catalogue
            .routes
            .get(&vehicle.route)
            .map(|r| r.city.as_str().to_owned())
            .unwrap_or_default();
        if self
            .scope
            .reaches_vehicle(self.role, &city, vehicle.carrier.as_str())
        {
            Ok(())
        } else {
            Err(ServiceError::new(
                domain::ErrorCode::ScopeForbidden,
                format!("{} does not work for vehicle {}", self.name, code.as_str()),
            ))
        }
    }
}

/// Records the rider category staff have seen proof of (a pensioner's certificate, a student
/// card) for `phone`, with the language its replies use.
pub async fn set_rider_category(
    app: &App,
    actor: &Actor,
    phone: &domain::PhoneNumber,
    category: domain::catalogue::RiderCategory,
    language: domain::Language,
) -> Result<(), ServiceError> {
    let mut tx = app.store.begin().await?;
    store::passengers::set_rider_category(
        &mut tx,
        phone.as_e164(),
        category.as_str(),
        language.code(),
        app.now_ms(),
    )
    .await?;
    crate::audit::record(
        &mut tx,
        actor,
        &crate::audit::Change {
            action: "passenger.set_rider_category",
            object: &format!("passenger:{}", phone.masked()),
            before: "",
            after: category.as_str(),
        },
        app.now_ms(),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(?actor, category = category.as_str(), "rider category set");
    Ok(())
}

/// A passenger's tickets as staff read them (support, the office of the ticket's city, an
/// admin): newest first, paged like the passenger's own trip details; tickets of cities
/// outside the actor's scope are left out. Reading is not audited (nothing changes).
pub async fn passenger_tickets(
    app: &App,
    actor: &Actor,
    phone: &domain::PhoneNumber,
    cursor: Option<crate::paging::PageCursor>,
    limit: i64,
) -> Result<crate::tickets::HistoryPage, ServiceError> {
    let mut page = crate::tickets::history(app, phone, cursor, limit).await?;
    page.tickets
        .retain(|t| actor.scope.reaches_city(actor.role, &t.city_id));
    Ok(page)
}
