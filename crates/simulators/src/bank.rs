//! A bank that tops up transport cards as Kaspi does: it calls our biller endpoint over real
//! HTTP (`GET …/biller?command=check|pay&txn_id=…&txn_date=…&account=…&sum=…`, its secret as
//! `Authorization: Bearer`), `check` first, then `pay` under its own `txn_id`; a `pay` whose
//! answer does not come in time (or comes as a 5xx) is sent again with the same `txn_id`, and
//! on command every `pay` is delivered several times at once (the duplicates a bank's retry
//! queue makes). Each payment it believes done goes into its daily registry, written as the
//! CSV banks send for reconciliation.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A `pay` is sent at most this many times when its answer does not come.
pub const PAY_ATTEMPTS_MAX: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum BankError {
    #[error("HTTP: {0}")]
    Http(String),
    #[error("the biller answered {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("the biller's answer is not the protocol's XML: {0}")]
    Malformed(String),
    #[error("no answer after {0} attempts")]
    GaveUp(u32),
}

/// One answer as the bank reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankAnswer {
    pub result: i64,
    pub prv_txn_id: Option<i64>,
    pub sum: String,
    pub comment: String,
    /// The display fields (`holder`, `card`, `card_kind`), in order.
    pub fields: Vec<(String, String)>,
    /// The XML as it came.
    pub raw: String,
}

impl BankAnswer {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml.get(start..)?.find(&close)?;
    xml.get(start..end)
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Reads the protocol's `<response>`.
pub fn parse_answer(xml: &str) -> Result<BankAnswer, BankError> {
    let malformed = || BankError::Malformed(xml.chars().take(200).collect());
    let result = element(xml, "result")
        .and_then(|r| r.trim().parse().ok())
        .ok_or_else(malformed)?;
    let mut fields = Vec::new();
    for n in 1..=9 {
        let open = format!("<field{n} name=\"");
        let Some(start) = xml.find(&open) else { break };
        let rest = xml.get(start + open.len()..).ok_or_else(malformed)?;
        let (name, rest) = rest.split_once("\">").ok_or_else(malformed)?;
        let (value, _) = rest
            .split_once(&format!("</field{n}>"))
            .ok_or_else(malformed)?;
        fields.push((unescape(name), unescape(value)));
    }
    Ok(BankAnswer {
        result,
        prv_txn_id: element(xml, "prv_txn_id").and_then(|p| p.trim().parse().ok()),
        sum: element(xml, "sum").map(unescape).unwrap_or_default(),
        comment: element(xml, "comment").map(unescape).unwrap_or_default(),
        fields,
        raw: xml.to_owned(),
    })
}

/// A payment the bank took from its customer and believes delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryLine {
    pub txn_id: String,
    pub txn_date: String,
    pub account: String,
    pub sum: String,
    pub prv_txn_id: Option<i64>,
}

/// What one top-up came to: the check's answer, the pay's, and how many times it was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopUp {
    pub txn_id: String,
    pub check: BankAnswer,
    /// `None` when the check refused it (nothing was paid).
    pub pay: Option<BankAnswer>,
    pub pay_attempts: u32,
}

pub struct BankSimulator {
    name: String,
    endpoint: String,
    secret: String,
    client: reqwest::Client,
    /// Extra copies of every `pay` sent at once.
    duplicates: usize,
    next_txn: AtomicU64,
    registry: Mutex<Vec<RegistryLine>>,
}

impl BankSimulator {
    /// A bank named `name` calling `server` (`http://host:port`) at
    /// `/v1/banks/{name}/biller`, giving up on an answer after `timeout`.
    pub fn new(
        server: &str,
        name: &str,
        secret: &str,
        timeout: Duration,
    ) -> Result<BankSimulator, BankError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| BankError::Http(e.to_string()))?;
        // Transaction ids that do not repeat across runs: the start time in ms, then a counter.
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(0))
            .unwrap_or(0);
        Ok(BankSimulator {
            name: name.to_owned(),
            endpoint: format!("{}/v1/banks/{name}/biller", server.trim_end_matches('/')),
            secret: secret.to_owned(),
            client,
            duplicates: 0,
            next_txn: AtomicU64::new(start * 1_000),
            registry: Mutex::new(Vec::new()),
        })
    }

    /// Every `pay` also delivered `copies` more times at once.
    pub fn with_duplicates(mut self, copies: usize) -> BankSimulator {
        self.duplicates = copies;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A new transaction id of this bank.
    pub fn next_txn_id(&self) -> String {
        self.next_txn.fetch_add(1, Ordering::Relaxed).to_string()
    }

    async fn send(&self, query: &[(&str, &str)]) -> Result<BankAnswer, BankError> {
        let response = self
            .client
            .get(&self.endpoint)
            .bearer_auth(&self.secret)
            .query(query)
            .send()
            .await
            .map_err(|e| BankError::Http(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .text()
            .await
            .map_err(|e| BankError::Http(e.to_string()))?;
        if status != 200 {
            return Err(BankError::Refused { status, body });
        }
        parse_answer(&body)
    }

    pub async fn check(
        &self,
        txn_id: &str,
        account: &str,
        sum: &str,
    ) -> Result<BankAnswer, BankError> {
        self.send(&[
            ("command", "check"),
            ("txn_id", txn_id),
            ("account", account),
            ("sum", sum),
        ])
        .await
    }

    /// One `pay`, sent again under the same `txn_id` while no answer comes (a timeout, a
    /// dropped connection, a 5xx), up to [`PAY_ATTEMPTS_MAX`] times; with duplicates on, each
    /// attempt goes out `1 + duplicates` times at once and the first answer is kept.
    pub async fn pay(
        &self,
        txn_id: &str,
        txn_date: &str,
        account: &str,
        sum: &str,
    ) -> Result<(BankAnswer, u32), BankError> {
        let query = [
            ("command", "pay"),
            ("txn_id", txn_id),
            ("txn_date", txn_date),
            ("account", account),
            ("sum", sum),
        ];
        for attempt in 1..=PAY_ATTEMPTS_MAX {
            let sends = (0..=self.duplicates).map(|_| self.send(&query));
            let answers = futures_util::future::join_all(sends).await;
            let mut last_error = None;
            for answer in answers {
                match answer {
                    Ok(answer) => return Ok((answer, attempt)),
                    Err(BankError::Refused { status, body }) if status < 500 => {
                        return Err(BankError::Refused { status, body });
                    }
                    Err(error) => last_error = Some(error),
                }
            }
            if let Some(error) = last_error {
                tracing::warn!(bank = %self.name, txn_id, %error, attempt, "pay not answered; sending again");
            }
        }
        Err(BankError::GaveUp(PAY_ATTEMPTS_MAX))
    }

    /// A customer's top-up: `check`, then (when the check says 0) `pay`; a paid one goes into
    /// the registry. `txn_date` is `YYYYMMDDHHMMSS`.
    pub async fn top_up(
        &self,
        account: &str,
        sum: &str,
        txn_date: &str,
    ) -> Result<TopUp, BankError> {
        let txn_id = self.next_txn_id();
        let check = self.check(&txn_id, account, sum).await?;
        if check.result != 0 {
            return Ok(TopUp {
                txn_id,
                check,
                pay: None,
                pay_attempts: 0,
            });
        }
        let (pay, pay_attempts) = self.pay(&txn_id, txn_date, account, sum).await?;
        if pay.result == 0 {
            let mut registry = match self.registry.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            registry.push(RegistryLine {
                txn_id: txn_id.clone(),
                txn_date: txn_date.to_owned(),
                account: account.to_owned(),
                sum: pay.sum.clone(),
                prv_txn_id: pay.prv_txn_id,
            });
        }
        Ok(TopUp {
            txn_id,
            check,
            pay: Some(pay),
            pay_attempts,
        })
    }

    /// The payments the bank believes delivered.
    pub fn registry(&self) -> Vec<RegistryLine> {
        match self.registry.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The daily registry as the bank sends it: `;`-separated, a header, one line a payment,
    /// and a closing line with the count and the total.
    pub fn registry_csv(&self) -> String {
        let lines = self.registry();
        let mut csv = String::from("txn_id;txn_date;account;sum;prv_txn_id\n");
        let mut total_tiyn: i64 = 0;
        for line in &lines {
            csv.push_str(&format!(
                "{};{};{};{};{}\n",
                line.txn_id,
                line.txn_date,
                line.account,
                line.sum,
                line.prv_txn_id.map(|p| p.to_string()).unwrap_or_default()
            ));
            total_tiyn += domain::Tenge::parse_decimal(&line.sum).map_or(0, |s| s.tiyn());
        }
        csv.push_str(&format!(
            "total;{};{}\n",
            lines.len(),
            domain::Tenge::from_tiyn(total_tiyn).to_decimal()
        ));
        csv
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_protocols_answer() {
        let xml = "<?xml version=\"1.0\"?>\n<response>\n  <txn_id>7</txn_id>\n  <prv_txn_id>12</prv_txn_id>\n  <sum>500.00</sum>\n  <result>0</result>\n  <comment>OK</comment>\n  <fields>\n    <field1 name=\"holder\">А*** С***</field1>\n    <field2 name=\"card_kind\">regular</field2>\n  </fields>\n</response>\n";
        let answer = parse_answer(xml).unwrap();
        assert_eq!(answer.result, 0);
        assert_eq!(answer.prv_txn_id, Some(12));
        assert_eq!(answer.field("holder"), Some("А*** С***"));
        assert_eq!(answer.field("card_kind"), Some("regular"));
        assert!(parse_answer("<html>").is_err());
    }
}
