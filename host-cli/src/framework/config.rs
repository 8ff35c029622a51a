//! Config overrides: a repro's built-in default, serialised to TOML, with the user's table merged
//! over it. Unknown keys and wrong types are rejected with the key's full path.

use anyhow::{bail, Context, Result};
use serde::{de::DeserializeOwned, Serialize};

/// `default` with `overrides` applied (recursively for nested tables).
pub fn apply_overrides<C: Serialize + DeserializeOwned>(
    repro: &str,
    default: C,
    overrides: Option<&toml::Table>,
) -> Result<C> {
    let Some(over) = overrides else {
        return Ok(default);
    };
    let mut base = toml::Table::try_from(&default).context("serialising the default config")?;
    merge(&mut base, over, repro)?;
    toml::Value::Table(base)
        .try_into()
        .map_err(|e: toml::de::Error| anyhow::anyhow!("config for {repro}: {}", e.message()))
}

fn merge(base: &mut toml::Table, over: &toml::Table, path: &str) -> Result<()> {
    for (key, value) in over {
        let full = format!("{path}.{key}");
        match base.get_mut(key) {
            None => {
                let known: Vec<&str> = base.keys().map(String::as_str).collect();
                bail!(
                    "unknown config key {full} (known keys: {})",
                    known.join(", ")
                );
            }
            Some(toml::Value::Table(inner)) => match value {
                toml::Value::Table(v) => merge(inner, v, &full)?,
                other => bail!(
                    "config key {full} must be a table, got type {}",
                    other.type_str()
                ),
            },
            Some(slot) => {
                let ok = slot.type_str() == value.type_str()
                    || matches!(
                        (&*slot, value),
                        (toml::Value::Float(_), toml::Value::Integer(_))
                    );
                if !ok {
                    bail!(
                        "config key {full} must be of type {}, got {}",
                        slot.type_str(),
                        value.type_str()
                    );
                }
                *slot = match (&*slot, value) {
                    (toml::Value::Float(_), toml::Value::Integer(i)) => {
                        toml::Value::Float(*i as f64)
                    }
                    _ => value.clone(),
                };
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Cfg {
        steps: u32,
        lr: f64,
        name: String,
    }

    fn cfg() -> Cfg {
        Cfg {
            steps: 10,
            lr: 0.5,
            name: "a".into(),
        }
    }

    #[test]
    fn overrides_apply_and_ints_widen_to_floats() {
        let over: toml::Table = toml::from_str("steps = 3\nlr = 1").unwrap();
        let c = apply_overrides("t", cfg(), Some(&over)).unwrap();
        assert_eq!(c.steps, 3);
        assert_eq!(c.lr, 1.0);
    }

    #[test]
    fn unknown_and_mistyped_keys_are_named() {
        let over: toml::Table = toml::from_str("stepz = 3").unwrap();
        let e = apply_overrides("t", cfg(), Some(&over))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown config key t.stepz"), "{e}");
        let over: toml::Table = toml::from_str("steps = \"many\"").unwrap();
        let e = apply_overrides("t", cfg(), Some(&over))
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.steps must be of type integer"), "{e}");
    }
}
