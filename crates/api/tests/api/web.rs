//! The web apps as static files: content types, ETag revalidation, the pages' CSP with the
//! map's tile server, and nothing outside what may be served.

use crate::harness::{Db, Method, TempDir, spawn_with, unique};
use crate::on_both_stores;

async fn the_web_apps_files_are_served_with_their_types_and_cache_rules(db: Db) {
    let dir = TempDir(std::env::temp_dir().join(unique("smsbus_web")));
    let root = dir.0.as_path();
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(
        root.join("package.json"),
        r#"{"dependencies": {"maplib": "1.0.0"}}"#,
    )
    .unwrap();
    std::fs::write(root.join("index.html"), "<!doctype html><title>app</title>").unwrap();
    std::fs::create_dir_all(root.join("lib")).unwrap();
    std::fs::write(root.join("lib/app.js"), "export const a = 1;").unwrap();
    std::fs::create_dir_all(root.join("node_modules/maplib/dist")).unwrap();
    std::fs::create_dir_all(root.join("node_modules/secret")).unwrap();
    std::fs::write(root.join("node_modules/maplib/dist/map.css"), ".m{}").unwrap();
    std::fs::write(root.join("node_modules/secret/x.js"), "1").unwrap();
    let web = api::WebApp::open(
        root.to_path_buf(),
        Some("https://tiles.example/{z}/{x}/{y}.png".into()),
        "© tiles".into(),
    )
    .unwrap();
    let t = spawn_with(db, |s| s.web = Some(web)).await;
    let get = async |path: &str| t.call(Method::GET, path).send().await;
    let page = get("/").await.expect(200);
    let headers = page.headers;
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-cache");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("img-src 'self' data: blob: https://tiles.example;"),
        "{csp}"
    );
    assert!(csp.contains("script-src 'self';"), "{csp}");
    let etag = headers["etag"].clone();
    t.call(Method::GET, "/")
        .header("If-None-Match", etag.as_bytes())
        .expect(304)
        .await;
    let js = get("/lib/app.js").await;
    assert_eq!(js.headers["content-type"], "text/javascript; charset=utf-8");
    let css = get("/vendor/maplib/dist/map.css").await.expect(200);
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
    let config = get("/app-config.json").await.body;
    assert_eq!(config["tile_url"], "https://tiles.example/{z}/{x}/{y}.png");
    for refused in [
        "/package.json",
        "/vendor/secret/x.js",
        "/node_modules/maplib/dist/map.css",
        "/lib/missing.js",
        "/%2e%2e/etc/passwd.js",
    ] {
        let response = get(refused).await;
        assert_eq!(response.status, 404, "{refused}");
        assert_eq!(
            response.headers["content-type"], "application/problem+json",
            "{refused}"
        );
    }
    // The API's own answers are untouched.
    get("/v1/nothing-here").await.expect(404);
    get("/health").await.expect(200);
}

on_both_stores!(
    the_web_apps_files_are_served_with_their_types_and_cache_rules,
    the_web_apps_files_are_served_with_their_types_and_cache_rules
);
