//! `smsbus reconcile bank|acquirer|operator --partner <id> --date <YYYY-MM-DD> FILE`: imports a
//! partner's daily file (a bank's registry, the acquirer's settlement report, an operator's
//! settlement report) into its report and prints every line that does not match, as JSON
//! lines, then a summary. Re-running it on the same file changes nothing.

#[derive(clap::Args, Debug)]
pub struct ReconcileArgs {
    /// `bank`, `acquirer` or `operator`.
    kind: String,
    /// The partner's id (`kaspi`, `halyk-epay`, `beeline`).
    #[arg(long)]
    partner: String,
    /// The day the file covers.
    #[arg(long)]
    date: String,
    /// The file as the partner sent it.
    file: std::path::PathBuf,
    #[arg(long, default_value = crate::wiring::DEFAULT_DB)]
    db: String,
}

pub async fn run(args: ReconcileArgs) -> anyhow::Result<()> {
    let kind = service::reconcile::PartnerKind::parse(&args.kind)
        .ok_or_else(|| anyhow::anyhow!("the kind is bank, acquirer or operator"))?;
    crate::wiring::require_existing(&args.db)?;
    let file =
        std::fs::read(&args.file).map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    let app = crate::wiring::admin_app(&args.db).await?;
    let actor = service::staff::Actor::command_line();
    let report =
        service::reconcile::import(&app, &actor, kind, &args.partner, &args.date, &file).await?;
    for line in report
        .lines
        .iter()
        .filter(|l| l.outcome.as_str() != "matched")
    {
        println!(
            "{}",
            serde_json::json!({
                "id": line.id, "reference": line.reference, "outcome": line.outcome.as_str(),
                "account": line.account,
                "theirs": line.theirs.map(|t| t.to_decimal()), "ours": line.ours.map(|o| o.to_decimal()),
                "resolution": line.resolution.map(|r| r.as_str()),
            })
        );
    }
    println!(
        "reconcile {} {} {}: lines={} matched={} open={}",
        kind.as_str(),
        report.partner,
        report.day,
        report.their_lines,
        report.matched,
        report.open
    );
    Ok(())
}
