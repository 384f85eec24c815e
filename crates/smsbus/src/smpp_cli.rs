//! SMPP in the binary: each operator's SMSC connection read from `--smsc NAME=URL` and the
//! environment, the demo's simulated SMSC, `smsbus sms` as a phone through it, and
//! `smsbus sms-status` (every message's way to the phone).
//!
//! `--smsc kcell=smpp://smsc.kcell.kz:2775?window=10&throughput=50&system_type=SMSBUS`
//! (`smpps://` for TLS; `message_id_tlv=0x1401` names the TLV in which that SMSC gives each
//! passenger's message its id); the credentials come from `SMSBUS_SMSC_SYSTEM_ID_<NAME>` and
//! `SMSBUS_SMSC_PASSWORD_<NAME>`.

use std::time::Duration;

use anyhow::Context;
use domain::OperatorId;
use partners::smpp::{SmscConfig, Timeouts, pdu};

/// Our short number.
pub const SHORT_NUMBER: &str = "2505";
pub const WINDOW_DEFAULT: usize = 10;
pub const THROUGHPUT_PER_S_DEFAULT: u32 = 100;
pub const SMPP_PORT_DEFAULT: u16 = 2775;
/// SMPP's system_id and password are at most 15 and 8 characters.
pub const SYSTEM_ID_CHARS_MAX: usize = 15;
pub const PASSWORD_CHARS_MAX: usize = 8;

#[derive(Debug, PartialEq, Eq)]
pub struct Credentials {
    pub system_id: String,
    pub password: String,
}

/// Parses one `--smsc NAME=smpp[s]://HOST[:PORT][?option=value&…]`.
pub fn smsc_config(spec: &str, credentials: Credentials) -> anyhow::Result<SmscConfig> {
    let (name, url) = spec
        .split_once('=')
        .with_context(|| format!("--smsc {spec}: expected NAME=smpp://HOST:PORT"))?;
    let operator = OperatorId::parse(name).with_context(|| format!("--smsc {spec}"))?;
    let (tls, rest) = if let Some(rest) = url.strip_prefix("smpps://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("smpp://") {
        (false, rest)
    } else {
        anyhow::bail!("--smsc {spec}: the URL starts with smpp:// or smpps://");
    };
    let (authority, options) = rest.split_once('?').unwrap_or((rest, ""));
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>()
                .with_context(|| format!("--smsc {spec}: port"))?,
        ),
        None => (authority, SMPP_PORT_DEFAULT),
    };
    anyhow::ensure!(!host.is_empty(), "--smsc {spec}: no host");
    anyhow::ensure!(
        (1..=SYSTEM_ID_CHARS_MAX).contains(&credentials.system_id.len()),
        "--smsc {name}: the system_id is 1..={SYSTEM_ID_CHARS_MAX} characters"
    );
    anyhow::ensure!(
        credentials.password.len() <= PASSWORD_CHARS_MAX,
        "--smsc {name}: the password is at most {PASSWORD_CHARS_MAX} characters"
    );
    let mut config = SmscConfig {
        operator,
        host: host.to_owned(),
        port,
        tls,
        system_id: credentials.system_id,
        password: credentials.password,
        system_type: String::new(),
        source_address: SHORT_NUMBER.to_owned(),
        window: WINDOW_DEFAULT,
        throughput_per_s: THROUGHPUT_PER_S_DEFAULT,
        message_id_tag: pdu::tag::SIMULATOR_MESSAGE_ID,
        timeouts: Timeouts::default(),
    };
    for (key, value) in form_pairs(options) {
        let bad = || format!("--smsc {spec}: {key}={value}");
        match key {
            "window" => {
                config.window = value
                    .parse()
                    .ok()
                    .filter(|w| (1..=1_000).contains(w))
                    .with_context(bad)?
            }
            "throughput" => {
                config.throughput_per_s =
                    value.parse().ok().filter(|t| *t >= 1).with_context(bad)?
            }
            "system_type" if value.len() <= 12 => config.system_type = value.to_owned(),
            "source" if !value.is_empty() && value.len() <= 20 => {
                config.source_address = value.to_owned()
            }
            "message_id_tlv" => {
                let hex = value.trim_start_matches("0x");
                config.message_id_tag = u16::from_str_radix(hex, 16).ok().with_context(bad)?;
            }
            "enquire_link_s" => {
                config.timeouts.enquire_link_ms = value
                    .parse::<u64>()
                    .ok()
                    .filter(|s| *s >= 1)
                    .with_context(bad)?
                    * 1_000;
            }
            _ => anyhow::bail!("--smsc {spec}: unknown or bad option {key}"),
        }
    }
    Ok(config)
}

fn form_pairs(options: &str) -> impl Iterator<Item = (&str, &str)> {
    options
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// The credentials of `--smsc NAME=…` from the environment.
pub fn env_credentials(name: &str) -> anyhow::Result<Credentials> {
    let upper = name.to_ascii_uppercase();
    let read = |what: &str| {
        let var = format!("SMSBUS_SMSC_{what}_{upper}");
        std::env::var(&var).with_context(|| format!("set the environment variable {var}"))
    };
    Ok(Credentials {
        system_id: read("SYSTEM_ID")?,
        password: read("PASSWORD")?,
    })
}

pub fn smsc_configs(specs: &[String]) -> anyhow::Result<Vec<SmscConfig>> {
    specs
        .iter()
        .map(|spec| {
            let name = spec.split_once('=').map_or(spec.as_str(), |(n, _)| n);
            smsc_config(spec, env_credentials(name)?)
        })
        .collect()
}

/// Where the demo tells `smsbus sms` its simulated SMSC's phone API is: beside its database.
pub fn demo_smsc_file(db: &str) -> std::path::PathBuf {
    store::sqlite_path(db).map_or_else(
        || std::path::PathBuf::from("smsbus-demo.smsc"),
        |path| std::path::PathBuf::from(format!("{path}.smsc")),
    )
}

/// The demo's binds: every operator to the simulated SMSC, as production binds to a real one.
pub fn demo_configs(smsc: std::net::SocketAddr, password: &str) -> anyhow::Result<Vec<SmscConfig>> {
    simulators::demo::OPERATORS
        .iter()
        .map(|operator| {
            let spec =
                format!("{operator}=smpp://{smsc}?window=32&throughput=5000&enquire_link_s=30");
            smsc_config(
                &spec,
                Credentials {
                    system_id: (*operator).to_owned(),
                    password: password.to_owned(),
                },
            )
        })
        .collect()
}

/// A phone's message through the simulated SMSC's phone API; the reply's text, if one came.
pub async fn send_as_phone(
    admin_url: &str,
    phone: &str,
    text: &str,
    message_id: Option<&str>,
    wait: Duration,
) -> anyhow::Result<Option<String>> {
    let url = format!(
        "{}/phones/{phone}/messages",
        admin_url.trim_end_matches('/')
    );
    let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    let body = serde_json::json!({"text": text, "message_id": message_id, "wait_ms": wait_ms});
    let response = reqwest::Client::new()
        .post(&url)
        .json(&body)
        .timeout(wait + Duration::from_secs(5))
        .send()
        .await
        .with_context(|| format!("is the demo's simulated SMSC at {admin_url}?"))?;
    let status = response.status();
    let answer: serde_json::Value = response.json().await.context("reading the SMSC's answer")?;
    anyhow::ensure!(status.is_success(), "the simulated SMSC answered {status}");
    Ok(answer
        .pointer("/reply/text")
        .and_then(|t| t.as_str())
        .map(str::to_owned))
}

#[derive(clap::Args, Debug)]
pub struct SmsStatusArgs {
    #[arg(long, default_value = crate::wiring::DEFAULT_DB)]
    pub db: String,
    /// Only the messages to this number.
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
}

/// Prints the newest outgoing messages with their way to the phone.
pub async fn sms_status(args: SmsStatusArgs) -> anyhow::Result<()> {
    crate::wiring::require_existing(&args.db)?;
    let store = store::Store::open(&args.db).await?;
    let phone = match &args.phone {
        Some(text) => Some(
            domain::PhoneNumber::parse(text).map_err(|e| anyhow::anyhow!("--phone {text}: {e}"))?,
        ),
        None => None,
    };
    let mut conn = store.reader().await?;
    let rows = store::sms::deliveries(
        &mut conn,
        phone.as_ref().map(|p| p.as_e164()),
        0,
        args.limit.clamp(1, 1_000),
    )
    .await?;
    for row in rows {
        let state = service::smpp::delivery_state(&row).unwrap_or_else(|| {
            if row.sent_at_ms.is_some() {
                "sent by the gateway".into()
            } else {
                "waiting".into()
            }
        });
        let ids: Vec<&str> = row.parts.iter().map(|(_, id, _)| id.as_str()).collect();
        let first_line: String = row
            .body
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(40)
            .collect();
        println!(
            "#{} {} {state} parts={} attempts={} ids=[{}] {}{}",
            row.id,
            row.phone,
            row.parts.len(),
            row.attempts,
            ids.join(","),
            first_line,
            row.smpp_error
                .map(|e| format!(" (last error: {e})"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn credentials() -> Credentials {
        Credentials {
            system_id: "smsbus".into(),
            password: "secret".into(),
        }
    }

    #[test]
    fn an_smsc_is_configured_as_data() {
        let config = smsc_config(
            "kcell=smpps://smsc.example.kz:3550?window=20&throughput=50&system_type=SMSBUS&message_id_tlv=0x1501",
            credentials(),
        )
        .unwrap();
        assert_eq!(config.operator.as_str(), "kcell");
        assert_eq!(
            (config.host.as_str(), config.port, config.tls),
            ("smsc.example.kz", 3550, true)
        );
        assert_eq!((config.window, config.throughput_per_s), (20, 50));
        assert_eq!(config.system_type, "SMSBUS");
        assert_eq!(config.message_id_tag, 0x1501);
        assert_eq!(config.source_address, "2505");
        let plain = smsc_config("tele2=smpp://10.0.0.1", credentials()).unwrap();
        assert_eq!((plain.port, plain.tls), (2775, false));
    }

    #[test]
    fn bad_smsc_specs_are_refused_with_their_reason() {
        for spec in [
            "kcell",
            "kcell=http://x:1",
            "kcell=smpp://:1",
            "kcell=smpp://x:99999",
            "kcell=smpp://x:1?window=0",
            "kcell=smpp://x:1?colour=red",
            "Bad Name=smpp://x:1",
        ] {
            assert!(smsc_config(spec, credentials()).is_err(), "{spec}");
        }
        let long = Credentials {
            system_id: "a".repeat(16),
            password: "p".into(),
        };
        assert!(smsc_config("kcell=smpp://x:1", long).is_err());
    }
}
