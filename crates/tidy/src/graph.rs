//! The crate dependency graph as `cargo metadata --format-version 1` reports it, and the checks
//! on it: the pure crates reach no IO crate, only `store` links a SQL driver, `api` does not
//! depend on `store`.
//!
//! A pure crate's closure is what it links when built alone: the manifests' dependencies and
//! features (`packages`), followed as Cargo resolves one package, each matched to the version
//! resolved for this platform (`resolve.nodes`). A dependency pulled in through another crate
//! counts as much as a direct one. Only normal dependencies are followed: what a crate's tests
//! or build script use is not part of what it does at run time.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::Violation;

/// Crates that do IO: sockets, runtimes, databases, HTTP, the operating system's randomness.
/// A pure crate must not reach any of them through its normal dependencies.
pub const IO_CRATES: &[&str] = &[
    "tokio",
    "tokio-util",
    "mio",
    "socket2",
    "hyper",
    "hyper-util",
    "axum",
    "reqwest",
    "rusqlite",
    "libsqlite3-sys",
    "sqlx",
    "getrandom",
    "rand",
    "async-std",
];

/// The crates that drive a SQL database; only `store` may link them.
pub const SQL_CRATES: &[&str] = &["rusqlite", "sqlx"];

/// How the root crate is built when its closure is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Features {
    /// With its default features, as its dependents use it.
    Default,
    /// With `default-features = false`.
    NoDefault,
}

/// A dependency as the manifest declares it.
#[derive(Debug, Clone)]
struct Declared {
    /// The package name.
    name: String,
    /// The name features refer to it by (the key in `[dependencies]`).
    key: String,
    /// `None` normal, `Some("dev")`, `Some("build")`.
    kind: Option<String>,
    optional: bool,
    uses_default_features: bool,
    features: Vec<String>,
}

#[derive(Debug, Default)]
struct Package {
    name: String,
    features: BTreeMap<String, Vec<String>>,
    declared: Vec<Declared>,
}

/// The packages and the resolved graph, by package id.
#[derive(Debug, Default)]
pub struct Graph {
    packages: BTreeMap<String, Package>,
    /// Package id → ids of the packages it resolved its dependencies to (this platform).
    resolved: BTreeMap<String, BTreeSet<String>>,
    members: BTreeSet<String>,
}

impl Graph {
    /// Reads the JSON of `cargo metadata --format-version 1`.
    pub fn from_metadata(json: &str) -> Result<Graph, String> {
        let value: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let mut graph = Graph::default();
        for package in array(&value, "packages")? {
            let mut entry = Package {
                name: text(package, "name")?,
                ..Package::default()
            };
            if let Some(features) = package.get("features").and_then(Value::as_object) {
                for (feature, enables) in features {
                    let enables = enables.as_array().into_iter().flatten();
                    let enables = enables
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect();
                    entry.features.insert(feature.clone(), enables);
                }
            }
            for dependency in array(package, "dependencies")? {
                let name = text(dependency, "name")?;
                let rename = dependency.get("rename").and_then(Value::as_str);
                let features = dependency
                    .get("features")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten();
                entry.declared.push(Declared {
                    key: rename.map_or_else(|| name.clone(), String::from),
                    name,
                    kind: dependency
                        .get("kind")
                        .and_then(Value::as_str)
                        .map(String::from),
                    optional: dependency.get("optional").and_then(Value::as_bool) == Some(true),
                    uses_default_features: dependency
                        .get("uses_default_features")
                        .and_then(Value::as_bool)
                        != Some(false),
                    features: features
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect(),
                });
            }
            graph.packages.insert(text(package, "id")?, entry);
        }
        for member in array(&value, "workspace_members")? {
            let id = member
                .as_str()
                .ok_or("a workspace member is not a string")?;
            graph.members.insert(id.to_string());
        }
        let resolve = value
            .get("resolve")
            .ok_or("no `resolve` (run without --no-deps)")?;
        for node in array(resolve, "nodes")? {
            let mut edges = BTreeSet::new();
            for dependency in array(node, "deps")? {
                edges.insert(text(dependency, "pkg")?);
            }
            graph.resolved.insert(text(node, "id")?, edges);
        }
        Ok(graph)
    }

    fn member_id(&self, name: &str) -> Result<&String, Violation> {
        self.members
            .iter()
            .find(|id| self.name_of(id) == name)
            .ok_or_else(|| Violation::new(name, "is not a workspace member"))
    }

    fn name_of<'a>(&'a self, id: &'a str) -> &'a str {
        self.packages.get(id).map_or(id, |p| p.name.as_str())
    }

    /// Names of every crate `root` links when it is built alone with `features`: its normal
    /// dependencies, the optional ones only where a feature turns them on, resolved the way
    /// Cargo does for one package (so a feature another workspace crate turns on does not
    /// count), `root` excluded.
    pub fn normal_closure(
        &self,
        root: &str,
        features: Features,
    ) -> Result<BTreeSet<String>, Violation> {
        let root_id = self.member_id(root)?.clone();
        let mut active: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let first = match features {
            Features::Default => BTreeSet::from(["default".to_string()]),
            Features::NoDefault => BTreeSet::new(),
        };
        active.insert(root_id.clone(), first);
        // Features only grow, so this reaches a fixed point.
        loop {
            let mut changed = false;
            for (id, wanted) in active.clone() {
                for (target, target_features) in self.active_dependencies(&id, &wanted) {
                    let entry = active.entry(target).or_insert_with(|| {
                        changed = true;
                        BTreeSet::new()
                    });
                    for feature in target_features {
                        changed |= entry.insert(feature);
                    }
                }
            }
            if !changed {
                break;
            }
        }
        active.remove(&root_id);
        Ok(active
            .keys()
            .map(|id| self.name_of(id).to_string())
            .collect())
    }

    /// The packages `id` links with `wanted` features on, each with the features it asks of it.
    fn active_dependencies(
        &self,
        id: &str,
        wanted: &BTreeSet<String>,
    ) -> Vec<(String, BTreeSet<String>)> {
        let Some(package) = self.packages.get(id) else {
            return Vec::new();
        };
        // Every feature name reached, and every `dep:`/`x/f` item they list.
        let mut features = wanted.clone();
        let mut items = BTreeSet::new();
        let mut stack: Vec<String> = wanted.iter().cloned().collect();
        while let Some(feature) = stack.pop() {
            match package.features.get(&feature) {
                Some(enables) => {
                    for item in enables {
                        if package.features.contains_key(item) && features.insert(item.clone()) {
                            stack.push(item.clone());
                        }
                        items.insert(item.clone());
                    }
                }
                // A feature no table names is an optional dependency's implicit feature.
                None => {
                    items.insert(feature);
                }
            }
        }
        let resolved = self.resolved.get(id);
        let mut found = Vec::new();
        for dependency in package.declared.iter().filter(|d| d.kind.is_none()) {
            let key = dependency.key.as_str();
            let turned_on = |item: &String| {
                item.strip_prefix("dep:") == Some(key)
                    || item == key
                    || item.split_once('/').is_some_and(|(d, _)| d == key)
            };
            if dependency.optional && !items.iter().any(turned_on) {
                continue;
            }
            let mut asked: BTreeSet<String> = dependency.features.iter().cloned().collect();
            if dependency.uses_default_features {
                asked.insert("default".to_string());
            }
            for item in &items {
                if let Some((d, feature)) = item.split_once('/')
                    && d.trim_end_matches('?') == key
                {
                    asked.insert(feature.to_string());
                }
            }
            // Only what resolved for this platform; a dependency for another target is absent.
            for target in resolved.into_iter().flatten() {
                if self.name_of(target) == dependency.name {
                    found.push((target.clone(), asked.clone()));
                }
            }
        }
        found
    }

    /// The crates `name` declares as direct dependencies, with their kind.
    pub fn declared(&self, name: &str) -> Result<Vec<(String, Option<String>)>, Violation> {
        let id = self.member_id(name)?;
        let package = self.packages.get(id);
        let declared = package.map(|p| p.declared.iter().map(|d| (d.name.clone(), d.kind.clone())));
        Ok(declared.into_iter().flatten().collect())
    }

    /// Names of the workspace members.
    pub fn member_names(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|id| self.name_of(id).to_string())
            .collect()
    }
}

/// `root` (as built with `features`) reaches no crate of [`IO_CRATES`].
pub fn check_pure(graph: &Graph, root: &str, features: Features) -> Vec<Violation> {
    match graph.normal_closure(root, features) {
        Err(violation) => vec![violation],
        Ok(reached) => IO_CRATES
            .iter()
            .filter(|io| reached.contains(**io))
            .map(|io| Violation::new(root, format!("is pure but reaches the IO crate `{io}`")))
            .collect(),
    }
}

/// No workspace crate but `store` declares a SQL driver, in any kind of dependency.
pub fn check_sql_only_in_store(graph: &Graph) -> Vec<Violation> {
    let mut found = Vec::new();
    for member in graph.member_names().into_iter().filter(|m| m != "store") {
        for (dependency, _) in graph.declared(&member).unwrap_or_default() {
            if SQL_CRATES.contains(&dependency.as_str()) {
                found.push(Violation::new(
                    &member,
                    format!("depends on the SQL driver `{dependency}`"),
                ));
            }
        }
    }
    found
}

/// `from` does not declare `to` as a dependency of any kind (its tests included).
pub fn check_no_dependency(graph: &Graph, from: &str, to: &str) -> Vec<Violation> {
    match graph.declared(from) {
        Err(violation) => vec![violation],
        Ok(declared) => declared
            .into_iter()
            .filter(|(name, _)| name == to)
            .map(|(_, kind)| {
                let kind = kind.unwrap_or_else(|| "normal".to_string());
                Violation::new(from, format!("has a {kind} dependency on `{to}`"))
            })
            .collect(),
    }
}

fn array<'a>(value: &'a Value, key: &str) -> Result<&'a Vec<Value>, String> {
    value
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("metadata: `{key}` is not an array"))
}

fn text(value: &Value, key: &str) -> Result<String, String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(String::from)
        .ok_or_else(|| format!("metadata: `{key}` is not a string"))
}
