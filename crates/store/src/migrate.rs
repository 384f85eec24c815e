//! Applies the migration files of the store's dialect in order, each in its own transaction,
//! recording them in `schema_migrations`. Files are compiled in, so a binary carries its schema.

use crate::db::{execute_script, query};
use crate::{Backend, Result, Store, StoreError};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "core",
        sqlite: include_str!("../migrations/sqlite/0001_core.sql"),
        postgres: include_str!("../migrations/postgres/0001_core.sql"),
    },
    Migration {
        version: 2,
        name: "transit",
        sqlite: include_str!("../migrations/sqlite/0002_transit.sql"),
        postgres: include_str!("../migrations/postgres/0002_transit.sql"),
    },
    Migration {
        version: 3,
        name: "live",
        sqlite: include_str!("../migrations/sqlite/0003_live.sql"),
        postgres: include_str!("../migrations/postgres/0003_live.sql"),
    },
    Migration {
        version: 4,
        name: "sessions",
        sqlite: include_str!("../migrations/sqlite/0004_sessions.sql"),
        postgres: include_str!("../migrations/postgres/0004_sessions.sql"),
    },
    Migration {
        version: 5,
        name: "revocations",
        sqlite: include_str!("../migrations/sqlite/0005_revocations.sql"),
        postgres: include_str!("../migrations/postgres/0005_revocations.sql"),
    },
    Migration {
        version: 6,
        name: "repeats_and_zones",
        sqlite: include_str!("../migrations/sqlite/0006_repeats_and_zones.sql"),
        postgres: include_str!("../migrations/postgres/0006_repeats_and_zones.sql"),
    },
    Migration {
        version: 7,
        name: "sign_in_limits",
        sqlite: include_str!("../migrations/sqlite/0007_sign_in_limits.sql"),
        postgres: include_str!("../migrations/postgres/0007_sign_in_limits.sql"),
    },
    Migration {
        version: 8,
        name: "feed_token_scope",
        sqlite: include_str!("../migrations/sqlite/0008_feed_token_scope.sql"),
        postgres: include_str!("../migrations/postgres/0008_feed_token_scope.sql"),
    },
    Migration {
        version: 9,
        name: "sealed_keys",
        sqlite: include_str!("../migrations/sqlite/0009_sealed_keys.sql"),
        postgres: include_str!("../migrations/postgres/0009_sealed_keys.sql"),
    },
    Migration {
        version: 10,
        name: "ledger_v2",
        sqlite: include_str!("../migrations/sqlite/0010_ledger_v2.sql"),
        postgres: include_str!("../migrations/postgres/0010_ledger_v2.sql"),
    },
    Migration {
        version: 11,
        name: "smpp",
        sqlite: include_str!("../migrations/sqlite/0011_smpp.sql"),
        postgres: include_str!("../migrations/postgres/0011_smpp.sql"),
    },
    Migration {
        version: 13,
        name: "sms_told",
        sqlite: include_str!("../migrations/sqlite/0013_sms_told.sql"),
        postgres: include_str!("../migrations/postgres/0013_sms_told.sql"),
    },
    Migration {
        version: 14,
        name: "audit",
        sqlite: include_str!("../migrations/sqlite/0014_audit.sql"),
        postgres: include_str!("../migrations/postgres/0014_audit.sql"),
    },
    Migration {
        version: 15,
        name: "staff",
        sqlite: include_str!("../migrations/sqlite/0015_staff.sql"),
        postgres: include_str!("../migrations/postgres/0015_staff.sql"),
    },
    Migration {
        version: 16,
        name: "cards",
        sqlite: include_str!("../migrations/sqlite/0016_cards.sql"),
        postgres: include_str!("../migrations/postgres/0016_cards.sql"),
    },
    Migration {
        version: 17,
        name: "feedback",
        sqlite: include_str!("../migrations/sqlite/0017_feedback.sql"),
        postgres: include_str!("../migrations/postgres/0017_feedback.sql"),
    },
    Migration {
        version: 18,
        name: "inspection_sync",
        sqlite: include_str!("../migrations/sqlite/0018_inspection_sync.sql"),
        postgres: include_str!("../migrations/postgres/0018_inspection_sync.sql"),
    },
    Migration {
        version: 19,
        name: "top_ups_reconciliation",
        sqlite: include_str!("../migrations/sqlite/0019_top_ups_reconciliation.sql"),
        postgres: include_str!("../migrations/postgres/0019_top_ups_reconciliation.sql"),
    },
    Migration {
        version: 20,
        name: "card_payouts",
        sqlite: include_str!("../migrations/sqlite/0020_card_payouts.sql"),
        postgres: include_str!("../migrations/postgres/0020_card_payouts.sql"),
    },
    Migration {
        version: 21,
        name: "carrier_desk",
        sqlite: include_str!("../migrations/sqlite/0021_carrier_desk.sql"),
        postgres: include_str!("../migrations/postgres/0021_carrier_desk.sql"),
    },
    Migration {
        version: 22,
        name: "status_reminders",
        sqlite: include_str!("../migrations/sqlite/0022_status_reminders.sql"),
        postgres: include_str!("../migrations/postgres/0022_status_reminders.sql"),
    },
    Migration {
        version: 23,
        name: "operator_refunds",
        sqlite: include_str!("../migrations/sqlite/0023_operator_refunds.sql"),
        postgres: include_str!("../migrations/postgres/0023_operator_refunds.sql"),
    },
    Migration {
        version: 24,
        name: "fare_policies",
        sqlite: include_str!("../migrations/sqlite/0024_fare_policies.sql"),
        postgres: include_str!("../migrations/postgres/0024_fare_policies.sql"),
    },
    Migration {
        version: 25,
        name: "ride_regular_fare",
        sqlite: include_str!("../migrations/sqlite/0025_ride_regular_fare.sql"),
        postgres: include_str!("../migrations/postgres/0025_ride_regular_fare.sql"),
    },
];

pub(crate) async fn run(store: &Store) -> Result<()> {
    let mut tx = store.begin().await?;
    query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)",
    )
    .execute(&mut tx)
    .await?;
    tx.commit().await?;
    for migration in MIGRATIONS {
        let mut tx = store.begin().await?;
        if store.backend() == Backend::Postgres {
            // Two servers starting together must not both apply a migration.
            query("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
                .execute(&mut tx)
                .await?;
        }
        let applied = query("SELECT version FROM schema_migrations WHERE version = $1")
            .bind(migration.version)
            .fetch_optional(&mut tx)
            .await?;
        if applied.is_some() {
            continue;
        }
        let sql = match store.backend() {
            Backend::Sqlite => migration.sqlite,
            Backend::Postgres => migration.postgres,
        };
        let failed = |source| StoreError::Migration {
            version: migration.version,
            name: migration.name,
            source: Box::new(source),
        };
        execute_script(&mut tx, sql).await.map_err(failed)?;
        query("INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)")
            .bind(migration.version)
            .bind(migration.name)
            .bind(now_ms())
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
    }
    Ok(())
}

/// Migrations are bookkeeping of the store itself, so the store may read the clock here.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
