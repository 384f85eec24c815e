//! The invariants of `ARCHITECTURE.md`, checked on this workspace; and each check shown to fail
//! on a violation planted in a fixture (a small metadata graph, a temporary source or migration
//! tree), so a check that could never fail would be seen.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use tidy::Violation;
use tidy::graph::{self, Features, Graph};
use tidy::schema;
use tidy::sources::{self, SOURCE_LINES_MAX, Source};

/// Crates that do no IO, and how each is built when it is used as pure.
const PURE: &[(&str, Features)] = &[
    ("domain", Features::Default),
    ("transit", Features::Default),
    // `live` without its `io` feature: the core and GTFS-Realtime, no tracker session.
    ("live", Features::NoDefault),
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn workspace_graph() -> &'static Graph {
    static GRAPH: OnceLock<Graph> = OnceLock::new();
    GRAPH.get_or_init(|| {
        let output = Command::new(env!("CARGO"))
            .args(["metadata", "--format-version", "1", "--offline"])
            .args(["--filter-platform", env!("TIDY_TARGET")])
            .current_dir(workspace_root())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        Graph::from_metadata(&String::from_utf8(output.stdout).unwrap()).unwrap()
    })
}

fn workspace_sources() -> &'static [Source] {
    static SOURCES: OnceLock<Vec<Source>> = OnceLock::new();
    SOURCES.get_or_init(|| {
        let root = workspace_root();
        let mut all = sources::read_tree(&root.join("crates")).unwrap();
        for source in &mut all {
            source.path = format!("crates/{}", source.path);
        }
        // The fuzz workspace's targets are modules too.
        let mut fuzz = sources::read_tree(&root.join("fuzz")).unwrap();
        for source in &mut fuzz {
            source.path = format!("fuzz/{}", source.path);
        }
        all.extend(fuzz);
        all
    })
}

fn assert_none(found: Vec<Violation>) {
    let lines: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert!(lines.is_empty(), "invariants broken:\n{}", lines.join("\n"));
}

// ---- the dependency graph ----

/// A metadata document with these crates (all workspace members) and normal edges; an edge
/// written `a -> ?b` is an optional dependency of `a`.
fn fixture_graph(edges: &[(&str, &str)]) -> Graph {
    let mut names: Vec<&str> = edges
        .iter()
        .flat_map(|(a, b)| [*a, b.trim_start_matches('?')])
        .collect();
    names.sort_unstable();
    names.dedup();
    let packages: Vec<serde_json::Value> = names
        .iter()
        .map(|name| {
            let dependencies: Vec<serde_json::Value> = edges
                .iter()
                .filter(|(from, _)| from == name)
                .map(|(_, to)| {
                    serde_json::json!({"name": to.trim_start_matches('?'), "kind": null,
                        "optional": to.starts_with('?')})
                })
                .collect();
            let optional: Vec<String> = edges
                .iter()
                .filter(|(from, to)| from == name && to.starts_with('?'))
                .map(|(_, to)| format!("dep:{}", to.trim_start_matches('?')))
                .collect();
            serde_json::json!({"name": name, "id": format!("{name} 0.1"), "dependencies": dependencies,
                "features": {"default": optional}})
        })
        .collect();
    let nodes: Vec<serde_json::Value> = names
        .iter()
        .map(|name| {
            let deps: Vec<serde_json::Value> = edges
                .iter()
                .filter(|(from, _)| from == name)
                .map(|(_, to)| {
                    let to = to.trim_start_matches('?');
                    serde_json::json!({"name": to, "pkg": format!("{to} 0.1"),
                        "dep_kinds": [{"kind": null, "target": null}]})
                })
                .collect();
            serde_json::json!({"id": format!("{name} 0.1"), "deps": deps})
        })
        .collect();
    let members: Vec<String> = names.iter().map(|n| format!("{n} 0.1")).collect();
    let document = serde_json::json!({"packages": packages, "workspace_members": members,
        "resolve": {"nodes": nodes}});
    Graph::from_metadata(&document.to_string()).unwrap()
}

#[test]
fn pure_crates_reach_no_io_crate() {
    let graph = workspace_graph();
    for (name, features) in PURE {
        assert_none(graph::check_pure(graph, name, *features));
    }
    // The check sees real IO where it is: `live` with its `io` feature reaches tokio.
    let io = graph::check_pure(graph, "live", Features::Default);
    assert!(io.iter().any(|v| v.problem.ends_with("`tokio`")), "{io:?}");
}

#[test]
fn the_purity_check_sees_io_reached_through_another_crate() {
    let graph = fixture_graph(&[
        ("domain", "sha2"),
        ("sha2", "getrandom"),
        ("transit", "csv"),
    ]);
    assert_eq!(
        graph::check_pure(&graph, "domain", Features::Default),
        vec![Violation::new(
            "domain",
            "is pure but reaches the IO crate `getrandom`"
        )]
    );
    assert_none(graph::check_pure(&graph, "transit", Features::Default));
    // An optional IO dependency is left out only when the crate is used without its features.
    let graph = fixture_graph(&[("live", "?tokio"), ("live", "prost")]);
    assert_none(graph::check_pure(&graph, "live", Features::NoDefault));
    assert_eq!(
        graph::check_pure(&graph, "live", Features::Default).len(),
        1
    );
    let graph = fixture_graph(&[("live", "tokio")]);
    assert_eq!(
        graph::check_pure(&graph, "live", Features::NoDefault).len(),
        1
    );
}

/// The files of the pure core: `domain`, `transit`, and `live` but its `io` feature's modules.
fn in_pure_core(path: &str) -> bool {
    let io_modules = ["crates/live/src/session.rs", "crates/live/src/wialon.rs"];
    [
        "crates/domain/src/",
        "crates/transit/src/",
        "crates/live/src/",
    ]
    .iter()
    .any(|prefix| path.starts_with(prefix))
        && !io_modules.contains(&path)
}

#[test]
fn the_pure_core_reads_no_clock_and_no_randomness() {
    let found = sources::check_code_absent(
        workspace_sources(),
        in_pure_core,
        sources::CLOCK_AND_RANDOM_READS,
        "is pure but reads the clock or randomness",
    );
    assert_none(found);
}

#[test]
fn the_clock_check_sees_a_clock_read_in_the_core() {
    let found = sources::check_code_absent(
        &fixture_sources(&[
            (
                "crates/live/src/state.rs",
                "//! State.\nfn f() { let t = std::time::SystemTime::now(); }\n",
            ),
            (
                "crates/live/src/session.rs",
                "//! Session.\nfn f() { tokio::time::Instant::now(); }\n",
            ),
            (
                "crates/domain/src/money.rs",
                "//! Money; time is passed in, never `Timestamp::now()`.\n",
            ),
        ]),
        in_pure_core,
        sources::CLOCK_AND_RANDOM_READS,
        "reads the clock",
    );
    assert_eq!(
        found,
        vec![Violation::new(
            "crates/live/src/state.rs",
            "reads the clock (`::now(`)"
        )]
    );
}

#[test]
fn only_store_links_a_sql_driver() {
    assert_none(graph::check_sql_only_in_store(workspace_graph()));
}

#[test]
fn the_sql_driver_check_sees_a_driver_outside_store() {
    let graph = fixture_graph(&[("store", "rusqlite"), ("service", "sqlx")]);
    assert_eq!(
        graph::check_sql_only_in_store(&graph),
        vec![Violation::new(
            "service",
            "depends on the SQL driver `sqlx`"
        )]
    );
}

#[test]
fn api_does_not_depend_on_store() {
    let graph = workspace_graph();
    let normal: Vec<Violation> = graph::check_no_dependency(graph, "api", "store")
        .into_iter()
        // Its tests read the database to see what a request did.
        .filter(|v| !v.problem.starts_with("has a dev dependency"))
        .collect();
    assert_none(normal);
}

#[test]
fn the_layering_check_sees_api_depend_on_store() {
    let graph = fixture_graph(&[("api", "service"), ("service", "store"), ("api", "store")]);
    assert_eq!(
        graph::check_no_dependency(&graph, "api", "store"),
        vec![Violation::new("api", "has a normal dependency on `store`")]
    );
    // Through `service` is the intended path, not a violation.
    let graph = fixture_graph(&[("api", "service"), ("service", "store")]);
    assert_none(graph::check_no_dependency(&graph, "api", "store"));
}

#[test]
fn service_knows_no_json() {
    let graph = workspace_graph();
    for json in JSON_CRATES {
        assert_none(graph::check_no_dependency(graph, "service", json));
    }
}

#[test]
fn the_json_check_sees_service_depend_on_serde() {
    let graph = fixture_graph(&[
        ("service", "domain"),
        ("domain", "serde_json"),
        ("service", "serde"),
    ]);
    let found: Vec<Violation> = JSON_CRATES
        .iter()
        .flat_map(|json| graph::check_no_dependency(&graph, "service", json))
        .collect();
    // Through `domain` (its catalogue file codec) is no dependency of `service`'s own.
    assert_eq!(
        found,
        vec![Violation::new(
            "service",
            "has a normal dependency on `serde`"
        )]
    );
}

/// The crates that read and write JSON: the edges' (`api`, `partners`, the binary), and
/// `domain`'s catalogue file codec, never `service`.
const JSON_CRATES: &[&str] = &["serde", "serde_json"];

// ---- the sources ----

fn fixture_sources(files: &[(&str, &str)]) -> Vec<Source> {
    files
        .iter()
        .map(|(path, text)| Source {
            path: (*path).to_string(),
            text: (*text).to_string(),
        })
        .collect()
}

#[test]
fn every_module_opens_with_a_doc_comment() {
    assert_none(sources::check_module_docs(workspace_sources()));
}

#[test]
fn the_doc_check_sees_a_module_without_one() {
    let found = sources::check_module_docs(&fixture_sources(&[
        ("crates/a/src/lib.rs", "//! Owns a.\n\npub mod b;\n"),
        (
            "crates/a/src/b.rs",
            "// A plain comment is no module doc.\npub fn b() {}\n",
        ),
        ("crates/a/src/c.rs", "\n\n//! Blank lines first are fine.\n"),
    ]));
    assert_eq!(
        found,
        vec![Violation::new(
            "crates/a/src/b.rs",
            "does not open with a `//!` doc comment"
        )]
    );
}

#[test]
fn no_source_file_is_over_the_size_limit() {
    assert_none(sources::check_sizes(workspace_sources(), SOURCE_LINES_MAX));
}

#[test]
fn the_size_check_sees_a_long_file() {
    let long = "//! Long.\n".repeat(4);
    let found = sources::check_sizes(&fixture_sources(&[("crates/a/src/long.rs", &long)]), 3);
    assert_eq!(
        found,
        vec![Violation::new(
            "crates/a/src/long.rs",
            "has 4 lines, over the 3 allowed"
        )]
    );
    assert_none(sources::check_sizes(
        &fixture_sources(&[("crates/a/src/long.rs", &long)]),
        4,
    ));
}

/// Crates whose sources may hold SQL: `store`, and this crate (whose fixtures plant it).
const SQL_ALLOWED: &[&str] = &["store", "tidy"];

#[test]
fn only_store_holds_sql() {
    assert_none(sources::check_sql(workspace_sources(), SQL_ALLOWED));
    // The check finds the SQL that is there: `store`'s, were it not allowed.
    let store = sources::check_sql(workspace_sources(), &["tidy"]);
    assert!(
        store.iter().any(|v| v.place == "crates/store/src/rides.rs"),
        "{store:?}"
    );
}

#[test]
fn the_sql_check_sees_sql_outside_store() {
    let found = sources::check_sql(
        &fixture_sources(&[
            (
                "crates/store/src/rides.rs",
                "//! Rides.\nconst Q: &str = \"SELECT id FROM rides\";\n",
            ),
            (
                "crates/service/src/ok.rs",
                "//! Says `SELECT` in a doc.\n// UPDATE rides SET x\n",
            ),
            (
                "crates/service/src/bad.rs",
                "//! Bad.\nfn q() -> &'static str { r#\"UPDATE rides SET status = 'x'\"# }\n",
            ),
        ]),
        SQL_ALLOWED,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].place, "crates/service/src/bad.rs");
}

/// Crates whose library sources may read the environment: the binary, and this crate.
const ENV_ALLOWED: &[&str] = &["smsbus", "tidy"];

#[test]
fn only_the_binary_reads_the_environment() {
    assert_none(sources::check_env_reads(workspace_sources(), ENV_ALLOWED));
    // The check finds the reads that are there: the binary's, were it not allowed.
    let binary = sources::check_env_reads(workspace_sources(), &["tidy"]);
    assert!(
        binary
            .iter()
            .any(|v| v.place.starts_with("crates/smsbus/src/")),
        "{binary:?}"
    );
}

#[test]
fn the_environment_check_sees_a_library_reading_it() {
    let found = sources::check_env_reads(
        &fixture_sources(&[
            (
                "crates/smsbus/src/wiring.rs",
                "//! Wiring.\nfn f() { std::env::var(\"X\"); }\n",
            ),
            (
                "crates/api/tests/api/harness.rs",
                "//! Tests.\nfn f() { std::env::var(\"X\"); }\n",
            ),
            (
                "crates/api/src/doc.rs",
                "//! Never `std::env::var(..)` here.\nfn f() {}\n",
            ),
            (
                "crates/service/src/clock.rs",
                "//! Clock.\nuse std::env;\nfn f() { env::var_os(\"TZ\"); }\n",
            ),
        ]),
        ENV_ALLOWED,
    );
    assert_eq!(
        found,
        vec![Violation::new(
            "crates/service/src/clock.rs",
            "reads the environment (`env::var_os(`)"
        )]
    );
}

#[test]
fn the_lexer_keeps_code_and_literals_apart() {
    let (code, literals) = sources::strip(
        "let c = '\"'; let d = '\\''; let s = \"a \\\"b\\\" c\"; /* x \"y\" */ let r = r##\"q\"#\"##; 'a: loop {}",
    );
    assert_eq!(literals, vec!["a \"b\" c".to_string(), "q\"#".to_string()]);
    assert!(code.contains("'a: loop"), "{code}");
    assert!(!code.contains('y'), "{code}");
}

/// Concepts that must have one definition in the workspace: the geometry of the Earth
/// (`transit::geo`: radius, great-circle distance, coordinate, projection, plane point), the one
/// "stops near a point" (`transit::nearby`), the fallback offset of a city's time and the
/// country's time zone, the API's one bearer-token parser and one secret comparison, the one
/// page cursor, the catalogue file's one codec.
const DEFINED_ONCE: &[&str] = &[
    "const EARTH_RADIUS_M",
    "fn haversine_m",
    "struct Coordinate",
    "struct Projection",
    "struct Xy",
    "struct StopLocator",
    "const FALLBACK_UTC_OFFSET_MINUTES",
    "fn country_time_zone",
    "fn bearer_token",
    "fn same_secret",
    "struct PageCursor",
    "struct CatalogueFile",
];

#[test]
fn each_concept_is_defined_once() {
    for needle in DEFINED_ONCE {
        assert_none(sources::check_defined_once(workspace_sources(), needle));
    }
}

/// `service` opens no socket: the listeners are the API's (`api::serve`, `api::serve_wialon`),
/// the partners' clients are `partners`'.
#[test]
fn service_opens_no_socket() {
    let found = sources::check_code_absent(
        workspace_sources(),
        |path| path.starts_with("crates/service/src/"),
        sources::SOCKETS,
        "is a use case but opens a socket",
    );
    assert_none(found);
    // The check sees the sockets that are there: the API's listeners.
    let api = sources::check_code_absent(
        workspace_sources(),
        |path| path.starts_with("crates/api/src/"),
        sources::SOCKETS,
        "opens a socket",
    );
    assert!(
        api.iter().any(|v| v.place == "crates/api/src/wialon.rs"),
        "{api:?}"
    );
}

#[test]
fn the_socket_check_sees_a_listener_in_service() {
    let found = sources::check_code_absent(
        &fixture_sources(&[
            (
                "crates/service/src/live/trackers.rs",
                "//! Trackers.\npub async fn serve(l: tokio::net::TcpListener) {}\n",
            ),
            (
                "crates/service/src/live/slots.rs",
                "//! Caps per address, no `TcpStream` here.\nuse std::net::IpAddr;\n",
            ),
            (
                "crates/api/src/wialon.rs",
                "//! Listener.\nuse tokio::net::TcpListener;\n",
            ),
        ]),
        |path| path.starts_with("crates/service/src/"),
        sources::SOCKETS,
        "opens a socket",
    );
    assert_eq!(
        found,
        vec![Violation::new(
            "crates/service/src/live/trackers.rs",
            "opens a socket (`tokio::net`)"
        )]
    );
}

/// Files of the pure crates and the store that may name serde: the catalogue file's codec.
const SERDE_IN_THE_CORE: &[&str] = &["crates/domain/src/catalogue_file.rs"];

/// No domain, transit, live, service or store type is `Serialize` or `Deserialize`: wire types
/// are the edges' own, converted by hand.
fn in_the_core(path: &str) -> bool {
    ["domain", "transit", "live", "service", "store"]
        .iter()
        .any(|name| path.starts_with(&format!("crates/{name}/src/")))
        && !SERDE_IN_THE_CORE.contains(&path)
}

#[test]
fn core_types_are_not_wire_types() {
    let found = sources::check_code_absent(
        workspace_sources(),
        in_the_core,
        sources::SERDE_DERIVES,
        "is the core's but names a serde trait",
    );
    assert_none(found);
}

#[test]
fn the_wire_type_check_sees_serialize_in_the_core() {
    let found = sources::check_code_absent(
        &fixture_sources(&[
            (
                "crates/domain/src/money.rs",
                "//! Money.\n#[derive(Clone, serde::Serialize)]\npub struct Tenge(i64);\n",
            ),
            (
                "crates/domain/src/catalogue_file.rs",
                "//! Codec.\n#[derive(Serialize, Deserialize)]\nstruct File {}\n",
            ),
            ("crates/service/src/doc.rs", "//! Never `Serialize` here.\n"),
            (
                "crates/api/src/wire.rs",
                "//! Wire.\n#[derive(Serialize)]\nstruct T {}\n",
            ),
        ]),
        in_the_core,
        sources::SERDE_DERIVES,
        "names a serde trait",
    );
    assert_eq!(
        found,
        vec![Violation::new(
            "crates/domain/src/money.rs",
            "names a serde trait (`Serialize`)"
        )]
    );
}

/// Where a fixed UTC offset may be made: the one local-time rule (`service::catalogue`: a
/// city's `time_zone`, the country's), the API's rendering of an offset it is given, and the
/// simulators, which keep their partners' own calendars.
fn may_make_an_offset(path: &str) -> bool {
    path == "crates/service/src/catalogue.rs"
        || path == "crates/api/src/keys_wire.rs"
        || path.starts_with("crates/simulators/")
}

#[test]
fn one_local_time_rule() {
    let found = sources::check_code_absent(
        workspace_sources(),
        |path| path.starts_with("crates/") && path.contains("/src/") && !may_make_an_offset(path),
        sources::FIXED_OFFSETS,
        "makes a time zone of its own instead of `service::catalogue`'s",
    );
    assert_none(found);
}

#[test]
fn the_local_time_check_sees_a_second_rule() {
    let found = sources::check_code_absent(
        &fixture_sources(&[
            (
                "crates/service/src/catalogue.rs",
                "//! Catalogue.\nfn z() { TimeZone::fixed(tz::offset(5)); }\n",
            ),
            (
                "crates/service/src/applications.rs",
                "//! Applications.\nfn z() { jiff::tz::TimeZone::fixed(jiff::tz::offset(5)); }\n",
            ),
            (
                "crates/simulators/src/acquirer.rs",
                "//! Acquirer.\nfn z() { Offset::from_seconds(5 * 3600); }\n",
            ),
        ]),
        |path| !may_make_an_offset(path),
        sources::FIXED_OFFSETS,
        "makes a time zone",
    );
    assert_eq!(
        found,
        vec![Violation::new(
            "crates/service/src/applications.rs",
            "makes a time zone (`tz::offset(`)"
        )]
    );
}

/// The one home of the Earth's geometry.
const GEO_HOME: &str = "crates/transit/src/geo.rs";

#[test]
fn no_earth_radius_or_great_circle_outside_transit_geo() {
    let found = sources::check_code_absent(
        workspace_sources(),
        |path| path != GEO_HOME,
        sources::EARTH_GEOMETRY,
        "measures the Earth itself instead of with `transit::geo`",
    );
    assert_none(found);
    // The check sees the geometry that is there: `transit::geo`'s own.
    let home = sources::check_code_absent(
        workspace_sources(),
        |_| true,
        sources::EARTH_GEOMETRY,
        "measures",
    );
    assert!(home.iter().any(|v| v.place == GEO_HOME), "{home:?}");
}

/// The web apps' one distance on the Earth, on the server's radius.
const WEB_GEO_HOME: &str = "web/lib/geo.js";

#[test]
fn the_web_apps_measure_the_earth_in_one_place() {
    let root = workspace_root();
    let mut scripts = sources::read_files(&root.join("web"), ".js").unwrap();
    scripts.extend(sources::read_files(&root.join("web"), ".mjs").unwrap());
    for script in &mut scripts {
        script.path = format!("web/{}", script.path);
    }
    let outside = |path: &str| path != WEB_GEO_HOME && !path.starts_with("web/vendor/");
    let found = sources::check_text_absent(
        &scripts,
        outside,
        sources::EARTH_GEOMETRY_JS,
        "measures the Earth itself instead of with `web/lib/geo.js`",
    );
    assert_none(found);
    let home =
        sources::check_text_absent(&scripts, |_| true, sources::EARTH_GEOMETRY_JS, "measures");
    assert!(home.iter().any(|v| v.place == WEB_GEO_HOME), "{home:?}");
}

#[test]
fn the_web_geometry_check_sees_a_second_radius() {
    let found = sources::check_text_absent(
        &fixture_sources(&[
            (WEB_GEO_HOME, "export const EARTH_RADIUS_M = 6371000;\n"),
            ("web/passenger/map.js", "const r = 6371008.8;\n"),
            (
                "web/passenger/signin.js",
                "return 12742 * Math.asin(Math.sqrt(x));\n",
            ),
            (
                "web/controller/screens.js",
                "import { distanceM } from '../lib/geo.js';\n",
            ),
        ]),
        |path| path != WEB_GEO_HOME,
        sources::EARTH_GEOMETRY_JS,
        "measures the Earth itself",
    );
    assert_eq!(
        found,
        vec![
            Violation::new("web/passenger/map.js", "measures the Earth itself (`6371`)"),
            Violation::new(
                "web/passenger/signin.js",
                "measures the Earth itself (`12742`)"
            ),
        ]
    );
}

#[test]
fn the_earth_geometry_check_sees_a_second_radius_or_haversine() {
    let found = sources::check_code_absent(
        &fixture_sources(&[
            (
                GEO_HOME,
                "//! Geo.\npub const EARTH_RADIUS_M: f64 = 6_371_000.0;\n",
            ),
            (
                "crates/live/src/geo.rs",
                "//! Geo.\nfn d(h: f64) -> f64 { 2.0 * 6371008.8 * h.sqrt().asin() }\n",
            ),
            (
                "crates/service/src/near.rs",
                "//! Near.\nfn d(h: f64) -> f64 { 2.0 * R * h.sqrt().asin() }\n",
            ),
            (
                "crates/api/src/doc.rs",
                "//! Never `6_371_000.0` or `.asin()` here.\nconst S: &str = \"6371 km\";\n",
            ),
        ]),
        |path| path != GEO_HOME,
        sources::EARTH_GEOMETRY,
        "measures the Earth itself",
    );
    assert_eq!(
        found,
        vec![
            Violation::new(
                "crates/live/src/geo.rs",
                "measures the Earth itself (`6371`)"
            ),
            Violation::new(
                "crates/service/src/near.rs",
                "measures the Earth itself (`.asin()`)"
            ),
        ]
    );
}

#[test]
fn the_defined_once_check_sees_a_second_definition() {
    let found = sources::check_defined_once(
        &fixture_sources(&[
            (
                "crates/transit/src/geo.rs",
                "//! Geo.\npub const EARTH_RADIUS_M: f64 = 6_371_000.0;\n",
            ),
            (
                "crates/live/src/geo.rs",
                "//! Geo.\npub const EARTH_RADIUS_M: f64 = 6_371_008.8;\n",
            ),
            (
                "crates/live/src/doc.rs",
                "//! Uses `const EARTH_RADIUS_M` from transit.\n",
            ),
        ]),
        "const EARTH_RADIUS_M",
    );
    assert_eq!(
        found,
        vec![Violation::new(
            "const EARTH_RADIUS_M",
            "is defined in crates/transit/src/geo.rs, crates/live/src/geo.rs"
        )]
    );
}

// ---- the migrations ----

#[test]
fn both_migration_trees_define_the_same_tables_and_columns() {
    let migrations = workspace_root().join("crates/store/migrations");
    let (sqlite_files, sqlite) = schema::read_tree(&migrations.join("sqlite")).unwrap();
    let (postgres_files, postgres) = schema::read_tree(&migrations.join("postgres")).unwrap();
    assert!(sqlite.contains_key("rides") && sqlite["tickets"].contains("ordinal_on_vehicle"));
    assert_none(schema::compare(
        ("sqlite", &sqlite_files, &sqlite),
        ("postgres", &postgres_files, &postgres),
    ));
}

/// A temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("smsbus-tidy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.0.join(name), text).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn the_migration_check_sees_trees_drift_apart() {
    let sqlite = TempDir::new("sqlite");
    let postgres = TempDir::new("postgres");
    let core = "-- Core; a comment with CREATE TABLE ghost (x) is no table.\n\
        CREATE TABLE rides (\n  id TEXT PRIMARY KEY,\n  amount INTEGER NOT NULL,\n  \
        UNIQUE (id, amount)\n);\nCREATE TABLE old (x INTEGER);\n";
    sqlite.write("0001_core.sql", core);
    postgres.write("0001_core.sql", &core.replace("INTEGER", "BIGINT"));
    // SQLite rebuilds the table to rename a column; PostgreSQL renames it and forgets one more.
    sqlite.write(
        "0002_rename.sql",
        "CREATE TABLE rides_new (id TEXT PRIMARY KEY, amount_tiyn INTEGER, zone INTEGER);\n\
         INSERT INTO rides_new SELECT id, amount, NULL FROM rides;\nDROP TABLE rides;\n\
         ALTER TABLE rides_new RENAME TO rides;\nDROP TABLE IF EXISTS old;\n",
    );
    postgres.write(
        "0002_rename.sql",
        "ALTER TABLE rides RENAME COLUMN amount TO amount_tiyn;\nDROP TABLE old;\n",
    );
    postgres.write(
        "0003_only_here.sql",
        "ALTER TABLE rides ADD COLUMN IF NOT EXISTS note TEXT;\n",
    );
    let (sqlite_files, sqlite_schema) = schema::read_tree(&sqlite.0).unwrap();
    let (postgres_files, postgres_schema) = schema::read_tree(&postgres.0).unwrap();
    assert!(!sqlite_schema.contains_key("ghost") && !sqlite_schema.contains_key("old"));
    let found = schema::compare(
        ("sqlite", &sqlite_files, &sqlite_schema),
        ("postgres", &postgres_files, &postgres_schema),
    );
    assert_eq!(
        found,
        vec![
            Violation::new(
                "postgres",
                "has migration 0003_only_here.sql that sqlite lacks"
            ),
            Violation::new("sqlite", "defines rides.zone that postgres lacks"),
            Violation::new("postgres", "defines rides.note that sqlite lacks"),
        ]
    );
}

// ---- state names in the store's SQL ----

/// Each state column of the store and the names its typed enum (`domain::states!`) writes.
fn state_columns() -> Vec<tidy::states::StateColumn<'static>> {
    use domain::card::{ApplicationStatus, CardStatus, TopUpStatus};
    use domain::ledger::Layer;
    use domain::ride::OperatorRefundStatus;
    use domain::ride::RideStatus;
    use domain::sms::SmppState;
    use domain::ticket::TicketStatus;
    use tidy::states::StateColumn;
    let column = |table, column, source, names: Vec<&'static str>| StateColumn {
        table,
        column,
        source,
        names,
    };
    let rides = RideStatus::words();
    vec![
        column("rides", "status", "domain::ride::RideStatus", rides.clone()),
        column("rides", "told_status", "domain::ride::RideStatus", rides),
        column(
            "tickets",
            "status",
            "domain::ticket::TicketStatus",
            TicketStatus::words(),
        ),
        column(
            "ledger_entries",
            "layer",
            "domain::ledger::Layer",
            Layer::ALL.map(Layer::as_str).to_vec(),
        ),
        column(
            "cards",
            "status",
            "domain::card::CardStatus",
            CardStatus::words(),
        ),
        column(
            "card_top_ups",
            "status",
            "domain::card::TopUpStatus",
            TopUpStatus::words(),
        ),
        column(
            "operator_refunds",
            "status",
            "domain::ride::OperatorRefundStatus",
            OperatorRefundStatus::words(),
        ),
        column(
            "sms_outbox",
            "smpp_state",
            "domain::sms::SmppState",
            SmppState::words(),
        ),
        column(
            "card_applications",
            "status",
            "domain::card::ApplicationStatus",
            ApplicationStatus::words(),
        ),
    ]
}

#[test]
fn the_stores_sql_writes_only_names_of_the_typed_states() {
    let found = tidy::states::check_state_names(workspace_sources(), &state_columns());
    assert_none(found);
    // The check reads the literals that are there: every state compared in the rides' SQL.
    let rides = workspace_sources()
        .iter()
        .find(|s| s.path == "crates/store/src/rides.rs")
        .unwrap();
    let (_, sql) = sources::strip(&rides.text);
    let names: Vec<String> = sql
        .iter()
        .flat_map(|sql| tidy::states::state_literals(sql))
        .filter(|l| l.table.as_deref() == Some("rides") && l.column == "status")
        .map(|l| l.name)
        .collect();
    for status in [
        "reserving",
        "reserved",
        "confirming",
        "cancelling",
        "issued",
        "failed",
    ] {
        assert!(names.iter().any(|n| n == status), "{status}: {names:?}");
    }
}

#[test]
fn the_state_check_sees_a_name_no_enum_writes() {
    let found = tidy::states::check_state_names(
        &fixture_sources(&[
            (
                "crates/store/src/rides.rs",
                "//! Rides.\nconst A: &str = \"UPDATE rides SET status = 'issud' WHERE id = $1 \
                 AND status IN ('reserving', 'confirmed')\";\n\
                 const B: &str = \"SELECT r.id FROM rides r JOIN tickets AS t ON t.ride_id = r.id \
                 WHERE r.status <> 'failed' AND t.status = 'vaild'\";\n\
                 // A comment is no SQL: status = 'nonsense'\n",
            ),
            (
                "crates/store/src/ledger.rs",
                "//! Ledger.\nconst C: &str = \"SELECT 1 FROM ledger_entries e WHERE e.layer = 'posted' \
                 AND e.kind_state = 'x'\";\nconst D: &str = \"AND status = 'valid'\";\n",
            ),
            // Only the store's SQL is read.
            (
                "crates/service/src/rides.rs",
                "//! Not the store.\nconst E: &str = \"status = 'issud'\";\n",
            ),
        ]),
        &state_columns(),
    );
    let problems: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            "crates/store/src/ledger.rs: `ledger_entries.kind_state` = 'x': no typed state is \
             known for this column",
            "crates/store/src/ledger.rs: compares `status` with 'valid' in SQL that names no table",
            "crates/store/src/rides.rs: `rides.status` = 'confirmed': not a name of \
             domain::ride::RideStatus (reserving, reserved, confirming, cancelling, issued, failed)",
            "crates/store/src/rides.rs: `rides.status` = 'issud': not a name of \
             domain::ride::RideStatus (reserving, reserved, confirming, cancelling, issued, failed)",
            "crates/store/src/rides.rs: `tickets.status` = 'vaild': not a name of \
             domain::ticket::TicketStatus (valid, revoked, refunded)",
        ]
    );
}
