//! Who acts when staff act, and the reports only staff read. Every use case run for staff
//! takes an [`Actor`], so the staff-accounts work can add roles and an audit trail without
//! changing its callers again.

use crate::{App, ServiceError};

/// Who asks for a staff action, and from where: what the audit trail records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// A staff login, or the name of the credential used (`admin-token`, `cli`).
    pub name: String,
    /// The client address; empty for the command line.
    pub address: String,
}

impl Actor {
    /// A request carrying the shared admin token, from `address` when it is known.
    pub fn admin_token(address: Option<std::net::IpAddr>) -> Actor {
        Actor {
            name: "admin-token".into(),
            address: address.map(|a| a.to_string()).unwrap_or_default(),
        }
    }

    /// The `smsbus` command line, run on the server by whoever may read its database.
    pub fn command_line() -> Actor {
        Actor {
            name: "cli".into(),
            address: String::new(),
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
