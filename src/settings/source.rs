//! Reading `[package.metadata.cloudfront]` / `[workspace.metadata.cloudfront]` out of a
//! Cargo.toml with the line of every key, so that errors and warnings can point at it.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml_edit::{Item, TableLike};

use super::keys::{self, KeyDef};
use super::value::{self, Value};
use super::{Diagnostic, SettingsError};

/// A place in a file, 1-based, printed as `file:line:column`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

impl Location {
    pub fn at(file: &Path, text: &str, offset: usize) -> Self {
        let before = &text[..offset.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Location {
            file: file.to_path_buf(),
            line,
            column,
        }
    }
}

/// One metadata table as read from a file: the values it sets and the keys it did not know.
#[derive(Debug, Default)]
pub struct MetadataLayer {
    pub values: Vec<(&'static KeyDef, Value, Location)>,
    pub unknown: Vec<Diagnostic>,
}

/// Reads the table at `path` (e.g. `["package", "metadata", "cloudfront"]`) from `text`.
/// A file without that table gives an empty layer. Every wrong value is reported, not only the
/// first.
pub fn read(file: &Path, text: &str, path: &[&str]) -> Result<MetadataLayer, SettingsError> {
    let doc = toml_edit::Document::parse(text).map_err(|e| SettingsError::Toml {
        location: Location::at(file, text, e.span().map_or(0, |s| s.start)),
        message: e.message().to_string(),
    })?;
    let mut item: &Item = doc.as_item();
    for segment in path {
        match item.as_table_like().and_then(|t| t.get(segment)) {
            Some(next) => item = next,
            None => return Ok(MetadataLayer::default()),
        }
    }
    let prefix = path.join(".");
    let Some(table) = item.as_table_like() else {
        return Err(SettingsError::Invalid(vec![Diagnostic {
            location: Some(Location::at(file, text, item.span().map_or(0, |s| s.start))),
            key: prefix,
            message: "expected a table".into(),
        }]));
    };
    let mut reader = Reader {
        file,
        text,
        prefix: &prefix,
        layer: MetadataLayer::default(),
        errors: Vec::new(),
    };
    reader.walk(table, "");
    if reader.errors.is_empty() {
        Ok(reader.layer)
    } else {
        Err(SettingsError::Invalid(reader.errors))
    }
}

struct Reader<'a> {
    file: &'a Path,
    text: &'a str,
    prefix: &'a str,
    layer: MetadataLayer,
    errors: Vec<Diagnostic>,
}

impl Reader<'_> {
    fn walk(&mut self, table: &dyn TableLike, parent: &str) {
        for (name, item) in table.iter() {
            let key = if parent.is_empty() {
                name.to_string()
            } else {
                format!("{parent}.{name}")
            };
            let offset = table
                .key(name)
                .and_then(|k| k.span())
                .or_else(|| item.span())
                .map_or(0, |s| s.start);
            let location = Location::at(self.file, self.text, offset);
            let full_key = format!("{}.{key}", self.prefix);
            if let Some(def) = keys::find(&key) {
                match value::from_toml(def, item) {
                    Ok(v) => self.layer.values.push((def, v, location)),
                    Err(problem) => self.errors.push(Diagnostic {
                        location: Some(location),
                        key: full_key,
                        message: problem.to_string(),
                    }),
                }
            } else if keys::is_table(&key) {
                match item.as_table_like() {
                    Some(inner) => self.walk(inner, &key),
                    None => self.errors.push(Diagnostic {
                        location: Some(location),
                        key: full_key,
                        message: "expected a table".into(),
                    }),
                }
            } else {
                let hint = keys::suggest(&key)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                self.layer.unknown.push(Diagnostic {
                    location: Some(location),
                    key: full_key,
                    message: format!("unknown key, ignored{hint}"),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &[&str] = &["package", "metadata", "cloudfront"];

    #[test]
    fn values_carry_their_line() {
        let text = "[package]\nname = \"x\"\n\n[package.metadata.cloudfront]\nregion = \"eu-west-1\"\nretention = { keep = 5 }\n";
        let layer = read(Path::new("Cargo.toml"), text, PATH).unwrap();
        let (def, v, loc) = &layer.values[0];
        assert_eq!(def.key, "region");
        assert_eq!(v, &Value::Str("eu-west-1".into()));
        assert_eq!((loc.line, loc.column), (5, 1));
        assert_eq!(layer.values[1].0.key, "retention.keep");
        assert_eq!(layer.values[1].2.line, 6);
    }

    #[test]
    fn wrong_types_are_all_reported_with_file_line_and_key() {
        let text = "[package.metadata.cloudfront]\nregion = 3\n[package.metadata.cloudfront.retention]\nkeep = \"ten\"\n";
        let Err(SettingsError::Invalid(errors)) = read(Path::new("web/Cargo.toml"), text, PATH)
        else {
            panic!("expected errors");
        };
        assert_eq!(errors.len(), 2);
        let first = errors[0].to_string();
        assert!(
            first.starts_with("web/Cargo.toml:2:1: `package.metadata.cloudfront.region`"),
            "{first}"
        );
        assert!(
            first.contains("expected region, found an integer"),
            "{first}"
        );
        let second = errors[1].to_string();
        assert!(
            second.starts_with("web/Cargo.toml:4:1: `package.metadata.cloudfront.retention.keep`"),
            "{second}"
        );
    }

    #[test]
    fn unknown_keys_warn_with_a_hint() {
        let text = "[package.metadata.cloudfront]\nregoin = \"eu-west-1\"\n";
        let layer = read(Path::new("Cargo.toml"), text, PATH).unwrap();
        assert!(layer.values.is_empty());
        let w = layer.unknown[0].to_string();
        assert!(w.contains("Cargo.toml:2:1"), "{w}");
        assert!(w.contains("did you mean `region`"), "{w}");
    }

    #[test]
    fn a_missing_table_is_an_empty_layer() {
        let layer = read(Path::new("Cargo.toml"), "[package]\nname = \"x\"\n", PATH).unwrap();
        assert!(layer.values.is_empty() && layer.unknown.is_empty());
    }

    #[test]
    fn broken_toml_points_at_the_file() {
        let err = read(Path::new("Cargo.toml"), "[package\n", PATH).unwrap_err();
        assert!(err.to_string().starts_with("Cargo.toml:1:"), "{err}");
    }
}
