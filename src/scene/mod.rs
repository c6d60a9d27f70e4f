//! Scenes: TOML recipes parsed into a raw struct ([`raw`]), then validated
//! into a resolved configuration ([`Config`]) with physical units. Parsing
//! never does anything; every error names the file, the key, the value and
//! what is allowed.

pub mod raw;
pub mod recipe;
pub mod tips;
mod resolve;

pub use resolve::*;

use std::path::Path;

/// The embedded default scene (`phasecast run` with no scene).
pub const QUICKSTART: &str = include_str!("../../scenes/quickstart.toml");
pub const QUICKSTART_NAME: &str = "<embedded scenes/quickstart.toml>";

/// Scene errors: each names the file and, where there is one, the key.
#[derive(thiserror::Error, Debug)]
pub enum SceneError {
    #[error("{file}: cannot read the scene: {message}")]
    Read { file: String, message: String },
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: key `{key}` = {value}: {allowed}")]
    Invalid { file: String, key: String, value: String, allowed: String },
    #[error("--set {arg}: {message}")]
    Override { arg: String, message: String },
}

/// Reads a scene file (or the embedded quickstart when `path` is None),
/// applies `--set key=value` overrides, and validates it.
pub fn load(path: Option<&Path>, overrides: &[String]) -> Result<Config, SceneError> {
    let (file, text) = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| SceneError::Read { file: p.display().to_string(), message: e.to_string() })?;
            (p.display().to_string(), text)
        }
        None => (QUICKSTART_NAME.to_string(), QUICKSTART.to_string()),
    };
    load_str(&file, &text, overrides)
}

/// Like [`load`], from text; `file` names it in errors.
pub fn load_str(file: &str, text: &str, overrides: &[String]) -> Result<Config, SceneError> {
    let mut value: toml::Table = toml::from_str(text).map_err(|e| SceneError::Parse { file: file.into(), message: e.to_string() })?;
    for o in overrides {
        apply_override(&mut value, o)?;
    }
    let raw: raw::RawScene = value
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| SceneError::Parse { file: file.into(), message: e.to_string().trim().to_string() })?;
    resolve::resolve(file, raw, value)
}

/// Applies one `key=value` override: a dotted key (`grid.nx`, `stages.0.duration_s`)
/// and a TOML value (`32`, `0.5`, `true`, `"text"`, `[1, 2]`); a bare word is taken as a string.
pub fn apply_override(table: &mut toml::Table, arg: &str) -> Result<(), SceneError> {
    let err = |m: &str| SceneError::Override { arg: arg.into(), message: m.into() };
    let (key, val) = arg.split_once('=').ok_or_else(|| err("expected KEY=VALUE, e.g. grid.nx=32"))?;
    let key = key.trim();
    let val = val.trim();
    let parsed: toml::Value = match toml::from_str::<toml::Table>(&format!("v = {val}")) {
        Ok(mut t) => t.remove("v").expect("parsed key"),
        Err(_) => toml::Value::String(val.to_string()),
    };
    let mut parts: Vec<String> = key.split('.').map(str::to_string).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(err("empty key segment"));
    }
    // Stage shorthand: `vapor.duration_s=6` sets the key of the scene's one
    // stage of that kind (`stages.K.duration_s`) when no top-level table has the name.
    if parts.len() > 1 && STAGE_KINDS.contains(&parts[0].as_str()) && !table.contains_key(&parts[0]) {
        let kind = parts[0].clone();
        let found: Vec<usize> = match table.get("stages") {
            Some(toml::Value::Array(a)) => a
                .iter()
                .enumerate()
                .filter(|(_, s)| s.get("kind").and_then(|k| k.as_str()) == Some(kind.as_str()))
                .map(|(i, _)| i)
                .collect(),
            _ => Vec::new(),
        };
        match found.as_slice() {
            [k] => {
                parts.splice(0..1, ["stages".to_string(), k.to_string()]);
            }
            [] => return Err(err(&format!("the scene has no kind = \"{kind}\" stage for `{kind}.` to refer to"))),
            _ => return Err(err(&format!("the scene has {} kind = \"{kind}\" stages; name one as stages.N.{}", found.len(), parts[1..].join(".")))),
        }
    }
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    set_in_table(table, &parts, parsed, "").map_err(|m| err(&m))
}

/// Stage kinds that `--set KIND.key=value` can name (see [`apply_override`]).
const STAGE_KINDS: [&str; 4] = ["vapor", "immersion", "anneal", "cooling"];

fn set_in_table(t: &mut toml::Table, parts: &[&str], v: toml::Value, path: &str) -> Result<(), String> {
    let (first, rest) = parts.split_first().expect("non-empty key");
    if rest.is_empty() {
        t.insert(first.to_string(), v);
        return Ok(());
    }
    let here = if path.is_empty() { first.to_string() } else { format!("{path}.{first}") };
    let child = t.entry(first.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
    set_in_value(child, rest, v, &here)
}

fn set_in_value(node: &mut toml::Value, parts: &[&str], v: toml::Value, path: &str) -> Result<(), String> {
    match node {
        toml::Value::Table(t) => set_in_table(t, parts, v, path),
        toml::Value::Array(a) => {
            let i: usize = parts[0].parse().map_err(|_| format!("`{}` must be an index into the list `{path}`", parts[0]))?;
            let len = a.len();
            let slot = a.get_mut(i).ok_or_else(|| format!("index {i} out of range: `{path}` has {len} entries"))?;
            if parts.len() == 1 {
                *slot = v;
                Ok(())
            } else {
                set_in_value(slot, &parts[1..], v, &format!("{path}.{i}"))
            }
        }
        _ => Err(format!("`{path}` is not a table")),
    }
}
