//! The reproduction framework: a [`Repro`] runs with a [`Ctx`] and returns an [`Outcome`]; the
//! [`runner`] turns outcomes into files (`result.json`, CSV, SVG, `report.md`, `index.html`),
//! written atomically, and prints the table with its PASS/FAIL line.

pub mod config;
pub mod output;
pub mod plot;
pub mod runner;
pub mod table;

use std::path::PathBuf;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::{Map, Value};

pub use plot::{Plot, Series, SeriesStyle};
pub use table::Table;

/// Whether a reproduction is implemented yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Runs and checks its criterion.
    Ready,
    /// Registered but not implemented: `repro all` skips it and says so.
    Pending,
}

/// One paper's reproduction.
pub trait Repro: Sync {
    /// CLI name (e.g. `"wta-crs"`).
    fn name(&self) -> &'static str;
    /// Spec id in `shared/papers` (e.g. `"09"`).
    fn spec(&self) -> &'static str;
    /// One-line description of the claim being reproduced.
    fn title(&self) -> &'static str;
    /// Implementation status.
    fn status(&self) -> Status {
        Status::Ready
    }
    /// Runs the reproduction. Parse the config first with [`Ctx::config`], before any long work.
    fn run(&self, ctx: &Ctx) -> Result<Outcome>;
}

/// What a reproduction sees: its seed, scale, output folder and the user's config overrides.
pub struct Ctx {
    /// Repro name.
    pub name: &'static str,
    /// Master seed; derive every stream from it (see [`Ctx::rng`]).
    pub seed: u64,
    /// Small scale (`--quick`, the default for `repro all`).
    pub quick: bool,
    /// `OUT/<name>/`.
    pub dir: PathBuf,
    pub(crate) overrides: Option<toml::Table>,
}

impl Ctx {
    /// The repro's config: `default` with the user's overrides applied. Unknown keys and type
    /// mismatches are errors naming the key.
    pub fn config<C: Serialize + DeserializeOwned>(&self, default: C) -> Result<C> {
        config::apply_overrides(self.name, default, self.overrides.as_ref())
    }

    /// A sequential generator for `stream`, derived from the master seed.
    pub fn rng(&self, stream: u64) -> noisekit::rng::DefaultRng {
        noisekit::rng::default_rng(
            self.seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(stream),
        )
    }

    /// A Philox key for `stream`, derived from the master seed.
    pub fn noise_key(&self, stream: u32) -> noisekit::NoiseKey {
        noisekit::NoiseKey::new(self.seed, stream)
    }

    /// A progress bar on stderr (hidden when stderr is not a terminal).
    pub fn progress(&self, len: u64, what: &str) -> ProgressBar {
        let pb = ProgressBar::new(len);
        pb.set_style(
            ProgressStyle::with_template("{prefix:>18} {msg:24} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        pb.set_prefix(self.name);
        pb.set_message(what.to_string());
        pb
    }
}

/// What a reproduction found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Whether the criterion holds.
    pub pass: bool,
    /// The stated criterion, in words with the threshold.
    pub criterion: String,
    /// Measured values (the ones the criterion reads first).
    pub measured: Map<String, Value>,
    /// The config actually used (serialised).
    pub config: Value,
    /// The summary table printed to the terminal and into `report.md`.
    pub table: Table,
    /// Extra CSV files: (file name, table).
    pub csv: Vec<(String, Table)>,
    /// SVG plots.
    pub plots: Vec<Plot>,
    /// Free-form lines for `report.md`.
    pub notes: Vec<String>,
}

impl Outcome {
    /// An outcome for `config` with the given criterion text; fill the rest with the builders.
    pub fn new<C: Serialize>(config: &C, criterion: impl Into<String>) -> Result<Self> {
        Ok(Self {
            criterion: criterion.into(),
            config: serde_json::to_value(config)?,
            ..Self::default()
        })
    }

    /// Records a measured value.
    pub fn measure(&mut self, key: &str, value: impl Serialize) -> &mut Self {
        self.measured.insert(
            key.to_string(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
        self
    }
}
