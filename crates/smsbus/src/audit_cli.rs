//! `smsbus audit`: the staff actions' trail. `verify` walks the hash chain and names the first
//! entry that was edited or removed; `list` reads it by actor, object and time.

use service::audit::{self, Filter};

#[derive(clap::Subcommand, Debug)]
pub enum AuditCommand {
    /// Check that no entry was edited, removed or reordered; exits non-zero naming the first
    /// entry where the chain breaks.
    Verify {
        #[arg(long, default_value = crate::wiring::DEFAULT_DB)]
        db: String,
    },
    /// Print entries, newest first, as JSON lines.
    List {
        #[arg(long, default_value = crate::wiring::DEFAULT_DB)]
        db: String,
        /// Only this actor's entries (a staff login, `cli`, a credential's name).
        #[arg(long)]
        actor: Option<String>,
        /// Only entries about this object (`ticket:81805704858`, `catalogue`).
        #[arg(long)]
        object: Option<String>,
        /// From this time on (RFC 3339, e.g. 2026-12-01T00:00:00Z).
        #[arg(long)]
        since: Option<String>,
        /// Before this time (RFC 3339).
        #[arg(long)]
        until: Option<String>,
    },
}

pub async fn run(command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::Verify { db } => {
            crate::wiring::require_existing(&db)?;
            let app = crate::wiring::admin_app(&db).await?;
            match audit::verify(&app).await? {
                Ok(entries) => {
                    println!("audit: {entries} entries, chain intact");
                    Ok(())
                }
                Err(broken) => anyhow::bail!("audit: chain BROKEN: {broken}"),
            }
        }
        AuditCommand::List {
            db,
            actor,
            object,
            since,
            until,
        } => {
            crate::wiring::require_existing(&db)?;
            let app = crate::wiring::admin_app(&db).await?;
            let filter = Filter {
                actor,
                object,
                since_ms: since.as_deref().map(parse_time).transpose()?,
                until_ms: until.as_deref().map(parse_time).transpose()?,
                before_seq: None,
            };
            for row in audit::search(&app, &filter).await? {
                let at = jiff::Timestamp::from_millisecond(row.at_ms)
                    .map(|t| t.to_string())
                    .unwrap_or_default();
                println!(
                    "{}",
                    serde_json::json!({
                        "seq": row.seq, "at": at, "actor": row.actor, "address": row.address,
                        "action": row.action, "object": row.object,
                        "before": row.before, "after": row.after,
                    })
                );
            }
            Ok(())
        }
    }
}

fn parse_time(text: &str) -> anyhow::Result<i64> {
    let at: jiff::Timestamp = text
        .parse()
        .map_err(|e| anyhow::anyhow!("`{text}` is not an RFC 3339 time: {e}"))?;
    Ok(at.as_millisecond())
}
