//! `smsbus staff` and `smsbus credential`: staff accounts and machine credentials from the
//! server's command line (acting as `cli`, audited). `staff add` creates the first admin on a
//! database that has none; it prints a generated password, or takes one from stdin
//! (`--password-stdin`). `staff totp` enrols a new second factor and prints its otpauth://
//! URI; `staff totp-code` prints the current code of a secret (for scripts and the demo).

use std::io::Read;

use domain::staff::{Role, Scope};
use service::staff::Actor;
use service::staff::accounts::{self, NewAccount};
use service::staff::credentials::{self, MachineKind};

use crate::wiring::DEFAULT_DB;

#[derive(clap::Subcommand, Debug)]
pub enum StaffCommand {
    /// Create a staff account; prints its password (and an admin's TOTP enrolment URI).
    Add {
        #[arg(long, default_value = DEFAULT_DB)]
        db: String,
        #[arg(long)]
        login: String,
        /// admin, office, carrier, controller or support.
        #[arg(long)]
        role: String,
        /// A city of an office or controller account (repeatable).
        #[arg(long = "city")]
        cities: Vec<String>,
        /// The carrier of a carrier account, or one a controller inspects for (repeatable).
        #[arg(long = "carrier")]
        carriers: Vec<String>,
        /// Read the password from stdin instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Print every account as JSON lines.
    List {
        #[arg(long, default_value = DEFAULT_DB)]
        db: String,
    },
    /// Set a new password (printed, or read from stdin); the account's sessions end.
    ResetPassword {
        #[arg(long, default_value = DEFAULT_DB)]
        db: String,
        #[arg(long)]
        login: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account (its sessions end); `--enable` lifts it.
    Disable {
        #[arg(long, default_value = DEFAULT_DB)]
        db: String,
        #[arg(long)]
        login: String,
        #[arg(long)]
        enable: bool,
    },
    /// Enrol a new TOTP secret for the account and print its otpauth:// URI.
    Totp {
        #[arg(long, default_value = DEFAULT_DB)]
        db: String,
        #[arg(long)]
        login: String,
    },
    /// Print the current six-digit code of a base32 TOTP secret.
    TotpCode {
        #[arg(long)]
        secret: String,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum CredentialCommand {
    /// Create a machine credential for a partner; prints its secret once.
    Add {
        #[arg(long, default_value = DEFAULT_DB)]
        db: String,
        /// sms_gateway or metrics.
        #[arg(long)]
        kind: String,
        /// Who holds it (an aggregator's name, the monitoring system).
        #[arg(long)]
        partner: String,
        /// Read the secret from stdin instead of generating one.
        #[arg(long)]
        secret_stdin: bool,
    },
    /// Print every credential (never a secret) as JSON lines.
    List {
        #[arg(long, default_value = DEFAULT_DB)]
        db: String,
    },
    /// Revoke a credential by its id.
    Revoke {
        #[arg(long, default_value = DEFAULT_DB)]
        db: String,
        #[arg(long)]
        id: String,
    },
}

fn read_stdin_line(what: &str) -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    let line = text.lines().next().unwrap_or("").trim().to_owned();
    anyhow::ensure!(!line.is_empty(), "no {what} on stdin");
    Ok(line)
}

fn refused(e: service::ServiceError) -> anyhow::Error {
    anyhow::anyhow!("{}: {}", e.code.code(), e.detail)
}

pub async fn run(command: StaffCommand) -> anyhow::Result<()> {
    let actor = Actor::command_line();
    match command {
        StaffCommand::Add {
            db,
            login,
            role,
            cities,
            carriers,
            password_stdin,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow::anyhow!("--role: admin, office, carrier, controller or support")
            })?;
            let password = password_stdin
                .then(|| read_stdin_line("password"))
                .transpose()?;
            // The first admin is made here, on a database that may be new.
            let app = crate::wiring::admin_app(&db).await?;
            let created = accounts::add(
                &app,
                &actor,
                NewAccount {
                    login,
                    role,
                    scope: Scope { cities, carriers },
                    password,
                },
            )
            .await
            .map_err(refused)?;
            println!("login:    {}", created.account.login);
            println!("role:     {}", created.account.role.as_str());
            if !password_stdin {
                println!("password: {}", created.password);
            }
            if let Some(secret) = created.totp_secret {
                print_totp(&created.account.login, &secret);
            }
            Ok(())
        }
        StaffCommand::List { db } => {
            crate::wiring::require_existing(&db)?;
            let app = crate::wiring::admin_app(&db).await?;
            for a in accounts::list(&app).await.map_err(refused)? {
                println!(
                    "{}",
                    serde_json::json!({"login": a.login, "role": a.role.as_str(),
                        "cities": a.scope.cities, "carriers": a.scope.carriers,
                        "totp_enrolled": a.totp_enrolled, "disabled": a.disabled})
                );
            }
            Ok(())
        }
        StaffCommand::ResetPassword {
            db,
            login,
            password_stdin,
        } => {
            crate::wiring::require_existing(&db)?;
            let password = password_stdin
                .then(|| read_stdin_line("password"))
                .transpose()?;
            let app = crate::wiring::admin_app(&db).await?;
            let password = accounts::reset_password(&app, &actor, &login, password)
                .await
                .map_err(refused)?;
            if password_stdin {
                println!("{login}: password set; its sessions ended");
            } else {
                println!("{login}: password {password}; its sessions ended");
            }
            Ok(())
        }
        StaffCommand::Disable { db, login, enable } => {
            crate::wiring::require_existing(&db)?;
            let app = crate::wiring::admin_app(&db).await?;
            let account = accounts::set_disabled(&app, &actor, &login, !enable)
                .await
                .map_err(refused)?;
            println!(
                "{}: {}",
                account.login,
                if account.disabled {
                    "disabled, its sessions ended"
                } else {
                    "enabled"
                }
            );
            Ok(())
        }
        StaffCommand::Totp { db, login } => {
            crate::wiring::require_existing(&db)?;
            let app = crate::wiring::admin_app(&db).await?;
            let secret = accounts::enrol_totp(&app, &actor, &login, None)
                .await
                .map_err(refused)?;
            print_totp(&login, &secret);
            Ok(())
        }
        StaffCommand::TotpCode { secret } => {
            let bytes = domain::staff::base32_decode(&secret)
                .filter(|b| !b.is_empty())
                .ok_or_else(|| anyhow::anyhow!("--secret: base32 (A-Z, 2-7)"))?;
            let now_s = i64::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)?
                    .as_secs(),
            )?;
            println!(
                "{}",
                domain::staff::totp_text(domain::staff::totp(&bytes, now_s))
            );
            Ok(())
        }
    }
}

fn print_totp(login: &str, secret: &str) {
    let bytes = domain::staff::base32_decode(secret).unwrap_or_default();
    println!("totp:     {secret}");
    println!(
        "enrol:    {}",
        domain::staff::otpauth_uri("SMSBUS", login, &bytes)
    );
}

pub async fn run_credential(command: CredentialCommand) -> anyhow::Result<()> {
    let actor = Actor::command_line();
    match command {
        CredentialCommand::Add {
            db,
            kind,
            partner,
            secret_stdin,
        } => {
            // Like the first admin, the gateway's credential may come before the first start.
            let kind = MachineKind::parse(&kind)
                .ok_or_else(|| anyhow::anyhow!("--kind: sms_gateway or metrics"))?;
            let secret = secret_stdin
                .then(|| read_stdin_line("secret"))
                .transpose()?;
            let app = crate::wiring::admin_app(&db).await?;
            let (credential, secret) = credentials::add(&app, &actor, kind, &partner, secret)
                .await
                .map_err(refused)?;
            println!("id:      {}", credential.id);
            println!("kind:    {}", credential.kind);
            println!("partner: {}", credential.partner);
            if !secret_stdin {
                println!("secret:  {secret}");
            }
            Ok(())
        }
        CredentialCommand::List { db } => {
            crate::wiring::require_existing(&db)?;
            let app = crate::wiring::admin_app(&db).await?;
            for c in credentials::list(&app).await.map_err(refused)? {
                println!(
                    "{}",
                    serde_json::json!({"id": c.id, "kind": c.kind, "partner": c.partner,
                        "created_at_ms": c.created_at_ms, "revoked_at_ms": c.revoked_at_ms})
                );
            }
            Ok(())
        }
        CredentialCommand::Revoke { db, id } => {
            crate::wiring::require_existing(&db)?;
            let app = crate::wiring::admin_app(&db).await?;
            credentials::revoke(&app, &actor, &id)
                .await
                .map_err(refused)?;
            println!("{id}: revoked");
            Ok(())
        }
    }
}
