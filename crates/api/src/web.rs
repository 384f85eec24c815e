//! The web apps (the passenger's PWA at `/`; the staff apps later) as static files: the
//! project's own HTML, CSS and ES modules from the `web/` directory, and the browser code of
//! the npm packages that `web/package.json` depends on, from `web/node_modules`, under
//! `/vendor/<package>/<file>`. Only files with a known content type are served, never
//! `node_modules` directly, the npm manifests or a dotted path. Every answer carries an
//! `ETag` and `Cache-Control: no-cache` (the phone revalidates, a 304 costs nothing; offline
//! the service worker answers), and the HTML the Content-Security-Policy that lets the map's
//! tile server (when one is configured) show images.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::ErrorCode;

use crate::extract::language_of;
use crate::problem::Problem;

/// A file larger than this is not served (the largest vendor file is a few hundred KB).
pub const WEB_FILE_BYTES_MAX: u64 = 8 * 1024 * 1024;

/// Where the web apps are and what the passenger's map draws under its overlay.
#[derive(Clone, Debug)]
pub struct WebApp {
    /// The `web/` directory.
    pub dir: PathBuf,
    /// The npm packages whose files `/vendor/` serves: `web/package.json`'s dependencies.
    pub packages: BTreeSet<String>,
    /// A tile URL template (`https://tile.example/{z}/{x}/{y}.png`); none: the map draws the
    /// stops, lines and buses on a plain background.
    pub tile_url: Option<String>,
    pub tile_attribution: String,
}

impl WebApp {
    /// Reads `dir/package.json` for the packages `/vendor/` may serve.
    pub fn open(
        dir: PathBuf,
        tile_url: Option<String>,
        tile_attribution: String,
    ) -> std::io::Result<WebApp> {
        let manifest = std::fs::read_to_string(dir.join("package.json"))?;
        let manifest: serde_json::Value = serde_json::from_str(&manifest)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let packages = manifest
            .get("dependencies")
            .and_then(|d| d.as_object())
            .map(|deps| deps.keys().cloned().collect())
            .unwrap_or_default();
        Ok(WebApp {
            dir,
            packages,
            tile_url,
            tile_attribution,
        })
    }

    /// The CSP of the apps' pages: ours alone, plus images from the tile server.
    fn content_security_policy(&self) -> String {
        let tiles = self
            .tile_url
            .as_deref()
            .and_then(origin_of)
            .map(|o| format!(" {o}"))
            .unwrap_or_default();
        format!(
            "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:{tiles}; \
             media-src 'self' blob:; script-src 'self'; connect-src 'self'; manifest-src 'self'; \
             worker-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        )
    }

    /// The file a request path names, if it may be served.
    fn file_of(&self, path: &str) -> Option<PathBuf> {
        let path = path.strip_prefix('/')?;
        // A folder's address (`/`, `/controller/`) is its app's page.
        let index;
        let path = if path.is_empty() || path.ends_with('/') {
            index = format!("{path}index.html");
            index.as_str()
        } else {
            path
        };
        let parts: Vec<&str> = path.split('/').collect();
        if parts
            .iter()
            .any(|p| p.is_empty() || p.starts_with('.') || p.contains('\\'))
        {
            return None;
        }
        let relative = match parts.as_slice() {
            ["vendor", rest @ ..] => {
                let scoped = rest.first().is_some_and(|p| p.starts_with('@'));
                let split = if scoped { 2 } else { 1 };
                if rest.len() <= split {
                    return None;
                }
                let package = rest.get(..split)?.join("/");
                if !self.packages.contains(&package) {
                    return None;
                }
                Path::new("node_modules").join(rest.join("/"))
            }
            [first, ..] if *first == "node_modules" => return None,
            ["package.json" | "package-lock.json"] => return None,
            _ => PathBuf::from(path),
        };
        let plain = relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        (plain && content_type(&relative).is_some()).then(|| self.dir.join(relative))
    }
}

/// `https://host:port` of a URL, or none when it is not an http(s) URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let host = rest.split('/').next()?;
    let clean = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]{}".contains(&b));
    clean.then(|| format!("{scheme}://{}", host.replace("{s}", "*")))
}

fn content_type(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?;
    Some(match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        _ => return None,
    })
}

#[derive(serde::Serialize)]
struct AppConfig<'a> {
    tile_url: Option<&'a str>,
    tile_attribution: &'a str,
}

/// The router's fallback: a file of the web apps, or the API's 404 problem.
pub(crate) async fn serve(State(state): State<crate::State>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let language = language_of(&parts);
    let not_found = || Problem::new(ErrorCode::NotFound, language).into_response();
    let Some(web) = state.settings.web.as_ref() else {
        return not_found();
    };
    if parts.method != Method::GET && parts.method != Method::HEAD {
        return not_found();
    }
    if parts.uri.path() == "/app-config.json" {
        let config = AppConfig {
            tile_url: web.tile_url.as_deref(),
            tile_attribution: &web.tile_attribution,
        };
        let mut response = axum::Json(config).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return response;
    }
    let Some(file) = web.file_of(parts.uri.path()) else {
        return not_found();
    };
    let Ok(meta) = tokio::fs::metadata(&file).await else {
        return not_found();
    };
    if !meta.is_file() || meta.len() > WEB_FILE_BYTES_MAX {
        return not_found();
    }
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let etag = format!("\"{:x}-{:x}\"", meta.len(), modified);
    let kind = content_type(&file).unwrap_or("application/octet-stream");
    let mut response = if parts
        .headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        match tokio::fs::read(&file).await {
            Ok(bytes) => ([(header::CONTENT_TYPE, kind)], bytes).into_response(),
            Err(error) => {
                tracing::warn!(%error, file = %file.display(), "reading a web file");
                return not_found();
            }
        }
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if kind.starts_with("text/html")
        && let Ok(csp) = HeaderValue::from_str(&web.content_security_policy())
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> WebApp {
        WebApp {
            dir: PathBuf::from("/w"),
            packages: ["leaflet".to_owned(), "@scope/pkg".to_owned()].into(),
            tile_url: Some("https://{s}.tiles.example:8443/{z}/{x}/{y}.png".into()),
            tile_attribution: String::new(),
        }
    }

    #[test]
    fn only_the_apps_files_and_the_dependencies_browser_files_are_served() {
        let web = app();
        let served = |p: &str| web.file_of(p).map(|f| f.display().to_string());
        assert_eq!(served("/").as_deref(), Some("/w/index.html"));
        assert_eq!(served("/lib/i18n.js").as_deref(), Some("/w/lib/i18n.js"));
        assert_eq!(
            served("/controller/").as_deref(),
            Some("/w/controller/index.html")
        );
        assert_eq!(
            served("/vendor/leaflet/dist/leaflet.js").as_deref(),
            Some("/w/node_modules/leaflet/dist/leaflet.js")
        );
        assert_eq!(
            served("/vendor/@scope/pkg/a.js").as_deref(),
            Some("/w/node_modules/@scope/pkg/a.js")
        );
        for refused in [
            "/vendor/other/x.js",
            "/vendor/leaflet",
            "/node_modules/leaflet/dist/leaflet.js",
            "/package.json",
            "/package-lock.json",
            "/../secret.html",
            "/a/../b.js",
            "/.git/config.json",
            "/x//y.js",
            "//",
            "/notes.txt",
            "/script.sh",
            "no-slash.js",
        ] {
            assert_eq!(served(refused), None, "{refused}");
        }
    }

    #[test]
    fn the_tile_server_is_the_one_image_origin_added() {
        let csp = app().content_security_policy();
        assert!(csp.contains("img-src 'self' data: blob: https://*.tiles.example:8443;"));
        assert!(csp.contains("script-src 'self';"));
        let none = WebApp {
            tile_url: None,
            ..app()
        }
        .content_security_policy();
        assert!(none.contains("img-src 'self' data: blob:;"));
        assert_eq!(origin_of("javascript:alert(1)"), None);
        assert_eq!(origin_of("https://a b/x"), None);
    }
}
