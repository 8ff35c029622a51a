//! Runs reproductions and writes their results: `OUT/<name>/{result.json, *.csv, *.svg, report.md}`
//! and, for several, `OUT/index.html`. Every file is written atomically; `result.json` last, so its
//! presence means the repro finished. `--resume` skips a repro whose `result.json` has the same
//! config, seed and scale.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::{json, Value};

use super::output::{render_atomic, write_atomic};
use super::{Ctx, Outcome, Repro, Status};

/// Options shared by every repro in one invocation.
pub struct RunOptions {
    /// Master seed.
    pub seed: u64,
    /// Small scale.
    pub quick: bool,
    /// Output root.
    pub out: PathBuf,
    /// The parsed `--config` file, if any.
    pub config: Option<toml::Table>,
    /// Skip repros already finished with the same config.
    pub resume: bool,
    /// Whether a single repro was named (then top-level config keys apply to it).
    pub single: bool,
}

/// What happened to one repro.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Repro name.
    pub name: &'static str,
    /// `Some(pass)` when it ran (or was resumed), `None` when pending.
    pub pass: Option<bool>,
    /// Seconds spent.
    pub elapsed_s: f64,
    /// Whether the result came from a previous run.
    pub resumed: bool,
}

fn overrides_for(opts: &RunOptions, name: &str) -> Result<Option<toml::Table>> {
    let Some(cfg) = &opts.config else {
        return Ok(None);
    };
    if let Some(v) = cfg.get(name) {
        return match v {
            toml::Value::Table(t) => Ok(Some(t.clone())),
            _ => anyhow::bail!("config section [{name}] must be a table"),
        };
    }
    if opts.single {
        Ok(Some(cfg.clone()))
    } else {
        Ok(None)
    }
}

fn previous_result(dir: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(dir.join("result.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Runs one repro and writes its files; returns its summary.
pub fn run_one(repro: &dyn Repro, opts: &RunOptions) -> Result<Summary> {
    let name = repro.name();
    if repro.status() == Status::Pending {
        println!("{name}: pending (not implemented yet), skipped");
        return Ok(Summary {
            name,
            pass: None,
            elapsed_s: 0.0,
            resumed: false,
        });
    }
    let dir = opts.out.join(name);
    let ctx = Ctx {
        name,
        seed: opts.seed,
        quick: opts.quick,
        dir: dir.clone(),
        overrides: overrides_for(opts, name)?,
    };
    if opts.resume {
        if let Some(prev) = previous_result(&dir) {
            let same = prev.get("seed") == Some(&json!(opts.seed))
                && prev.get("quick") == Some(&json!(opts.quick))
                && prev.get("overrides") == Some(&overrides_json(&ctx));
            if same {
                let pass = prev.get("pass").and_then(Value::as_bool).unwrap_or(false);
                println!("{name}: resumed from {} ({})", dir.display(), verdict(pass));
                return Ok(Summary {
                    name,
                    pass: Some(pass),
                    elapsed_s: prev.get("elapsed_s").and_then(Value::as_f64).unwrap_or(0.0),
                    resumed: true,
                });
            }
        }
    }
    println!("== {name} (spec {}): {}", repro.spec(), repro.title());
    let start = Instant::now();
    let outcome = repro.run(&ctx).with_context(|| format!("repro {name}"))?;
    let elapsed_s = start.elapsed().as_secs_f64();
    write_outcome(repro, &ctx, &outcome, elapsed_s)?;
    print!("{}", outcome.table.to_text());
    println!(
        "{name}: {} — {} (measured: {})",
        verdict(outcome.pass),
        outcome.criterion,
        Value::Object(outcome.measured.clone())
    );
    println!("   results in {} ({elapsed_s:.1} s)", dir.display());
    Ok(Summary {
        name,
        pass: Some(outcome.pass),
        elapsed_s,
        resumed: false,
    })
}

fn overrides_json(ctx: &Ctx) -> Value {
    ctx.overrides
        .as_ref()
        .and_then(|t| serde_json::to_value(t).ok())
        .unwrap_or(Value::Null)
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "FAIL"
    }
}

fn write_outcome(repro: &dyn Repro, ctx: &Ctx, o: &Outcome, elapsed_s: f64) -> Result<()> {
    let dir = &ctx.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    write_atomic(&dir.join("summary.csv"), o.table.to_csv().as_bytes())?;
    for (file, table) in &o.csv {
        write_atomic(&dir.join(file), table.to_csv().as_bytes())?;
    }
    for plot in &o.plots {
        render_atomic(&dir.join(&plot.file), |p| plot.render_svg(p))?;
    }
    let mut md = format!(
        "# {} (spec {})\n\n{}\n\n**{}** — {}\n\nseed {}, {} scale, {:.1} s\n\n{}\n",
        repro.name(),
        repro.spec(),
        repro.title(),
        verdict(o.pass),
        o.criterion,
        ctx.seed,
        if ctx.quick { "quick" } else { "full" },
        elapsed_s,
        o.table.to_markdown()
    );
    for plot in &o.plots {
        md.push_str(&format!("![{}]({})\n\n", plot.title, plot.file));
    }
    for line in &o.notes {
        md.push_str(line);
        md.push('\n');
    }
    write_atomic(&dir.join("report.md"), md.as_bytes())?;
    let result = json!({
        "name": repro.name(),
        "pass": o.pass,
        "criterion": o.criterion,
        "measured": o.measured,
        "seed": ctx.seed,
        "quick": ctx.quick,
        "config": o.config,
        "overrides": overrides_json(ctx),
        "elapsed_s": elapsed_s,
        "plots": o.plots.iter().map(|p| p.file.clone()).collect::<Vec<_>>(),
    });
    write_atomic(
        &dir.join("result.json"),
        serde_json::to_string_pretty(&result)?.as_bytes(),
    )
}

/// Writes `OUT/index.html` linking every repro's plots and result.
pub fn write_index(out: &Path, repros: &[&dyn Repro], summaries: &[Summary]) -> Result<()> {
    let mut html = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>noisekit reproductions</title>\
         <style>body{font-family:sans-serif;max-width:1100px;margin:auto}td,th{padding:4px 10px;\
         border-bottom:1px solid #ddd}.PASS{color:#080}.FAIL{color:#b00}img{max-width:520px}</style>\
         </head><body><h1>noisekit reproductions</h1><table><tr><th>repro</th><th>spec</th>\
         <th>claim</th><th>verdict</th><th>time</th></tr>",
    );
    for (r, s) in repros.iter().zip(summaries) {
        let v = match s.pass {
            Some(true) => "PASS",
            Some(false) => "FAIL",
            None => "pending",
        };
        html.push_str(&format!(
            "<tr><td><a href=\"#{n}\">{n}</a></td><td>{}</td><td>{}</td><td class=\"{v}\">{v}</td>\
             <td>{:.1} s</td></tr>",
            r.spec(),
            escape(r.title()),
            s.elapsed_s,
            n = r.name()
        ));
    }
    html.push_str("</table>");
    for (r, s) in repros.iter().zip(summaries) {
        if s.pass.is_none() {
            continue;
        }
        let n = r.name();
        html.push_str(&format!(
            "<h2 id=\"{n}\">{n}</h2><p><a href=\"{n}/result.json\">result.json</a> · \
             <a href=\"{n}/report.md\">report.md</a></p>"
        ));
        if let Some(prev) = previous_result(&out.join(n)) {
            if let Some(plots) = prev.get("plots").and_then(Value::as_array) {
                for p in plots.iter().filter_map(Value::as_str) {
                    html.push_str(&format!("<img src=\"{n}/{p}\" alt=\"{p}\">"));
                }
            }
        }
    }
    html.push_str("</body></html>\n");
    write_atomic(&out.join("index.html"), html.as_bytes())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
