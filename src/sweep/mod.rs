//! Batch studies (issue 7): run one scene at many points of its parameter
//! space and gather what each point measured.
//!
//! A sweep is planned ([`plan`]) from `--vary KEY=V1,V2,...` lists into
//! points, either the full factorial or zipped. The plan is written to the
//! sweep folder as a manifest ([`Manifest`], `sweep.json`) together with the
//! base scene text (`scene.toml`), so that the points can be run by this
//! process ([`runner`]), by a cluster scheduler one array task per point
//! ([`slurm`]), or resumed later, always with the same definition.
//! Each point runs into `points/<name>/`, a normal run folder; [`summary`]
//! gathers their `analysis.json` into `summary.csv`, `summary.json`, plots
//! and the index page.

pub mod cli;
pub mod runner;
pub mod slurm;
pub mod summary;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File names inside a sweep folder.
pub const MANIFEST: &str = "sweep.json";
pub const BASE_SCENE: &str = "scene.toml";
pub const POINTS_DIR: &str = "points";
/// Written by the sweep into each point folder: its status and error, if any.
pub const POINT_STATUS: &str = "sweep_point.json";

/// One varied scene key and the values it takes (TOML literals as typed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Vary {
    pub key: String,
    pub values: Vec<String>,
}

impl Vary {
    /// Parses `KEY=V1,V2,...`. Commas inside `[...]`, `{...}` or quotes do not
    /// split, so list- and string-valued keys can be varied too.
    pub fn parse(arg: &str) -> Result<Self> {
        let (key, vals) = arg.split_once('=').with_context(|| format!("--vary {arg}: expected KEY=V1,V2,..., e.g. initial.phi_p=0.2,0.25,0.3"))?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            bail!("--vary {arg}: `{key}` is not a dotted scene key such as initial.phi_p");
        }
        let mut values = Vec::new();
        let (mut depth, mut quote, mut cur) = (0i32, None::<char>, String::new());
        for c in vals.chars() {
            match (c, quote) {
                ('"' | '\'', None) => quote = Some(c),
                (q, Some(open)) if q == open => quote = None,
                ('[' | '{', None) => depth += 1,
                (']' | '}', None) => depth -= 1,
                (',', None) if depth == 0 => {
                    values.push(std::mem::take(&mut cur).trim().to_string());
                    continue;
                }
                _ => {}
            }
            cur.push(c);
        }
        values.push(cur.trim().to_string());
        if values.iter().any(String::is_empty) {
            bail!("--vary {arg}: empty value in the list");
        }
        Ok(Self { key: key.to_string(), values })
    }
}

/// One point of a sweep: the value of each varied key, in `--vary` order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub index: usize,
    /// Folder name under `points/`, made from the values.
    pub name: String,
    /// `(key, value)` per varied key.
    pub values: Vec<(String, String)>,
}

impl Point {
    /// The `--set` overrides for this point: the sweep's base overrides, then its values.
    pub fn overrides(&self, base: &[String]) -> Vec<String> {
        base.iter().cloned().chain(self.values.iter().map(|(k, v)| format!("{k}={v}"))).collect()
    }
}

/// Expands the varied keys into points: every combination (the first key
/// varies slowest), or with `zip` the i-th value of every key together.
pub fn plan(varies: &[Vary], zip: bool) -> Result<Vec<Point>> {
    if varies.is_empty() {
        bail!("a sweep needs at least one --vary KEY=V1,V2,...");
    }
    for (i, v) in varies.iter().enumerate() {
        if varies[..i].iter().any(|w| w.key == v.key) {
            bail!("--vary {}: the key is varied twice", v.key);
        }
    }
    let combos: Vec<Vec<usize>> = if zip {
        let n = varies[0].values.len();
        if let Some(v) = varies.iter().find(|v| v.values.len() != n) {
            bail!("--zip needs lists of equal length: {} has {} values, {} has {}", varies[0].key, n, v.key, v.values.len());
        }
        (0..n).map(|i| vec![i; varies.len()]).collect()
    } else {
        let mut out = vec![Vec::new()];
        for v in varies {
            out = out.into_iter().flat_map(|c| (0..v.values.len()).map(move |i| [c.clone(), vec![i]].concat())).collect();
        }
        out
    };
    let points: Vec<Point> = combos
        .into_iter()
        .enumerate()
        .map(|(index, c)| {
            let values: Vec<(String, String)> = varies.iter().zip(&c).map(|(v, &i)| (v.key.clone(), v.values[i].clone())).collect();
            Point { index, name: point_name(index, &values), values }
        })
        .collect();
    Ok(points)
}

/// `003_initial.phi_p-0.3_noise.amplitude-0.002`: the index keeps names unique
/// and sorted; characters a shell or file system could mind become `_`.
fn point_name(index: usize, values: &[(String, String)]) -> String {
    let clean = |s: &str| s.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+') { c } else { '_' }).collect::<String>();
    let body: Vec<String> = values.iter().map(|(k, v)| format!("{}-{}", clean(k), clean(v))).collect();
    let mut name = format!("{index:03}_{}", body.join("_"));
    // File names are limited to 255 bytes; long lists keep the index and a prefix.
    name.truncate(200);
    name
}

/// The sweep definition as stored in `sweep.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub phasecast_version: String,
    /// Where the scene came from (the base text is copied to `scene.toml`).
    pub scene_source: String,
    /// `--set` overrides applied to every point before its own values.
    pub base_overrides: Vec<String>,
    pub varies: Vec<Vary>,
    pub zip: bool,
    pub points: Vec<Point>,
}

impl Manifest {
    pub fn new(scene_source: String, base_overrides: Vec<String>, varies: Vec<Vary>, zip: bool) -> Result<Self> {
        let points = plan(&varies, zip)?;
        Ok(Self { phasecast_version: env!("CARGO_PKG_VERSION").into(), scene_source, base_overrides, varies, zip, points })
    }

    pub fn read(dir: &Path) -> Result<Self> {
        let p = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&p).with_context(|| format!("reading {} (is {} a sweep folder?)", p.display(), dir.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))
    }

    /// The same definition, ignoring the version that wrote it.
    pub fn same_sweep(&self, other: &Manifest) -> bool {
        (&self.base_overrides, &self.varies, self.zip) == (&other.base_overrides, &other.varies, other.zip)
    }

    pub fn point_dir(&self, sweep_dir: &Path, p: &Point) -> PathBuf {
        sweep_dir.join(POINTS_DIR).join(&p.name)
    }
}

/// Creates the sweep folder with its manifest and base scene, or checks that
/// an existing one holds the same sweep (the resume case). Every point's scene
/// is validated first, so a typo in a key fails before anything runs.
pub fn prepare(dir: &Path, manifest: &Manifest, scene_text: &str) -> Result<()> {
    for p in &manifest.points {
        crate::scene::load_str(&manifest.scene_source, scene_text, &p.overrides(&manifest.base_overrides))
            .with_context(|| format!("point {} ({})", p.index, p.name))?;
    }
    if dir.join(MANIFEST).exists() {
        let old = Manifest::read(dir)?;
        let old_scene = std::fs::read_to_string(dir.join(BASE_SCENE)).with_context(|| format!("reading {}", dir.join(BASE_SCENE).display()))?;
        if !old.same_sweep(manifest) || old_scene != scene_text {
            bail!(
                "{} already holds a different sweep (its sweep.json or scene.toml differ); resume it with the same scene and --vary/--set/--zip, or choose another --out",
                dir.display()
            );
        }
        return Ok(());
    }
    std::fs::create_dir_all(dir.join(POINTS_DIR)).with_context(|| format!("creating {}", dir.display()))?;
    crate::util::atomic_write(&dir.join(BASE_SCENE), scene_text.as_bytes())?;
    crate::util::atomic_write(&dir.join(MANIFEST), serde_json::to_string_pretty(manifest)?.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vary_parse_keeps_lists_and_strings_whole() {
        let v = Vary::parse("a.b=1, 2,[3,4],\"x,y\"").unwrap();
        assert_eq!(v.key, "a.b");
        assert_eq!(v.values, ["1", "2", "[3,4]", "\"x,y\""]);
        assert!(Vary::parse("a.b").is_err());
        assert!(Vary::parse("a..b=1").is_err());
        assert!(Vary::parse("a=1,,2").is_err());
    }

    #[test]
    fn factorial_and_zip() {
        let v = [Vary::parse("a=1,2,3").unwrap(), Vary::parse("b=x,y").unwrap()];
        let f = plan(&v, false).unwrap();
        assert_eq!(f.len(), 6);
        assert_eq!(f[1].values, [("a".to_string(), "1".to_string()), ("b".to_string(), "y".to_string())]);
        assert_eq!(f[5].name, "005_a-3_b-y");
        assert!(plan(&v, true).is_err());
        let z = plan(&[Vary::parse("a=1,2").unwrap(), Vary::parse("b=x,y").unwrap()], true).unwrap();
        assert_eq!(z.len(), 2);
        assert_eq!(z[1].overrides(&["c=0".into()]), ["c=0", "a=2", "b=y"]);
        assert!(plan(&[Vary::parse("a=1").unwrap(), Vary::parse("a=2").unwrap()], false).is_err());
    }
}
