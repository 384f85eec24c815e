//! Where the web apps are and what they need before they are served: `--web-dir` (default:
//! the `web/` directory of this source tree), `--tile-url` for the map, and — for the demo —
//! the npm packages of `web/package-lock.json`, installed with `npm ci` once when
//! `web/node_modules` is missing (so the README's one demo command is all a fresh clone
//! needs; `cargo build` itself never touches the network).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

/// The `web/` directory of the source tree this binary was built from.
pub fn default_web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web")
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct WebArgs {
    /// The web apps' directory (its node_modules holds the npm packages); default: the
    /// source tree's `web/`. `--web-dir none` serves the API only.
    #[arg(long)]
    pub web_dir: Option<String>,
    /// The map's tile URL template, e.g. `https://tile.openstreetmap.org/{z}/{x}/{y}.png`;
    /// without one the map draws stops, lines and buses on a plain background.
    #[arg(long)]
    pub tile_url: Option<String>,
    /// The attribution shown with the tiles.
    #[arg(long, default_value = "")]
    pub tile_attribution: String,
}

impl WebArgs {
    fn dir(&self) -> Option<PathBuf> {
        match self.web_dir.as_deref() {
            Some("none") => None,
            Some(dir) => Some(PathBuf::from(dir)),
            None => Some(default_web_dir()),
        }
    }

    /// The web apps to serve; with `install`, the npm packages are installed first when
    /// missing. A missing directory is no error for `serve` (the API alone is served).
    pub fn web_app(&self, install: bool) -> anyhow::Result<Option<api::WebApp>> {
        let Some(dir) = self.dir() else {
            return Ok(None);
        };
        if !dir.join("package.json").is_file() {
            tracing::warn!(dir = %dir.display(), "no web apps there: serving the API only");
            return Ok(None);
        }
        if install
            && !dir.join("node_modules").is_dir()
            && let Err(error) = npm_ci(&dir)
        {
            // The API and the SMS side do not need them: the demo still starts, and says why
            // the app's map and QR codes are missing.
            eprintln!("smsbus: the web apps' npm packages are not installed: {error:#}");
        }
        let web = api::WebApp::open(
            dir.clone(),
            self.tile_url.clone(),
            self.tile_attribution.clone(),
        )
        .with_context(|| format!("reading {}/package.json", dir.display()))?;
        Ok(Some(web))
    }
}

/// `npm ci` for `dir`: the exact packages of its lockfile. It installs in a staging directory
/// beside and then renames `node_modules` into place, so two demos starting at once (the
/// browser tests run their files in parallel) never see a half-installed tree.
fn npm_ci(dir: &Path) -> anyhow::Result<()> {
    eprintln!(
        "smsbus: installing the web apps' npm packages (npm ci for {})",
        dir.display()
    );
    let staging = dir.join(format!(".install-{}", std::process::id()));
    std::fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
    let result = (|| {
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(dir.join(file), staging.join(file))
                .with_context(|| format!("copying {file} of {}", dir.display()))?;
        }
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
            .current_dir(&staging)
            // npm's words go with our own notes to stderr; stdout is the demo's guide.
            .stdout(std::process::Stdio::from(std::io::stderr()))
            .status()
            .context("running npm (install Node.js and npm, or pass --web-dir none)")?;
        anyhow::ensure!(
            status.success(),
            "npm ci for {} failed: {status}",
            dir.display()
        );
        if let Err(error) = std::fs::rename(staging.join("node_modules"), dir.join("node_modules"))
        {
            // Another process installed the same lockfile first: theirs is as good.
            anyhow::ensure!(
                dir.join("node_modules").is_dir(),
                "moving node_modules into {}: {error}",
                dir.display()
            );
        }
        Ok(())
    })();
    if let Err(error) = std::fs::remove_dir_all(&staging) {
        tracing::warn!(%error, dir = %staging.display(), "removing the npm staging directory");
    }
    result
}
