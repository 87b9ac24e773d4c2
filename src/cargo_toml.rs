//! Writing `[package.metadata.cloudfront]` into a user's Cargo.toml without touching anything
//! else: comments, key order, quoting and blank lines outside the table stay byte for byte.

use toml_edit::{DocumentMut, InlineTable, Item, Table};

use crate::settings::Value;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("not valid TOML: {0}")]
    Parse(String),
    #[error(
        "this file would not be written back exactly as it is (a toml_edit limitation); add the table by hand"
    )]
    NotRoundTrip,
    #[error("`{0}` exists but is not a table")]
    NotATable(String),
}

/// `text` with `entries` (dotted keys below `table`, e.g. `build.command`) set in the table at
/// `table` (`["package", "metadata", "cloudfront"]`). An existing table is updated in place:
/// keys not in `entries` are kept, and a changed value keeps its comments and spacing. A new
/// table goes at the end of the file.
pub fn set_table(
    text: &str,
    table: &[&str],
    entries: &[(String, Value)],
) -> Result<String, ManifestError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| ManifestError::Parse(e.to_string()))?;
    // Refuse rather than risk damage: if toml_edit cannot reproduce the file as it is, an
    // edit would change bytes the user never asked us to touch.
    let rendered = doc.to_string();
    // toml_edit ends the last line with a newline when the file does not; that byte has to
    // be there anyway before a table can follow.
    let missing_final_newline = !text.ends_with('\n') && rendered.strip_suffix('\n') == Some(text);
    if rendered != text && !missing_final_newline {
        return Err(ManifestError::NotRoundTrip);
    }
    let next_position = max_position(doc.as_table()).map_or(0, |p| p + 1);
    let mut node = Node::Table(doc.as_table_mut());
    let mut walked: Vec<String> = Vec::new();
    for (i, key) in table.iter().enumerate() {
        walked.push((*key).to_string());
        let last = i + 1 == table.len();
        node = node.child(key, &walked, || {
            let mut t = Table::new();
            if last {
                t.set_position(Some(next_position));
            } else {
                // `[package.metadata]` need not be spelled out to hold the new table.
                t.set_implicit(true);
            }
            t
        })?;
    }
    for (key, value) in entries {
        let parts: Vec<&str> = key.split('.').collect();
        set_in(&mut node, &parts, to_toml(value), &mut walked.clone())?;
    }
    Ok(doc.to_string())
}

/// A standard table or an inline one (`cloudfront = { ... }`): both can hold the settings.
enum Node<'a> {
    Table(&'a mut Table),
    Inline(&'a mut InlineTable),
}

impl<'a> Node<'a> {
    /// The child table `key`, created (by `new`) when missing.
    fn child(
        self,
        key: &str,
        walked: &[String],
        new: impl FnOnce() -> Table,
    ) -> Result<Node<'a>, ManifestError> {
        let not_a_table = || ManifestError::NotATable(walked.join("."));
        match self {
            Node::Table(t) => {
                if !t.contains_key(key) {
                    t.insert(key, Item::Table(new()));
                }
                match t.get_mut(key) {
                    Some(Item::Table(child)) => Ok(Node::Table(child)),
                    Some(Item::Value(toml_edit::Value::InlineTable(child))) => {
                        Ok(Node::Inline(child))
                    }
                    _ => Err(not_a_table()),
                }
            }
            Node::Inline(t) => {
                if !t.contains_key(key) {
                    t.insert(key, toml_edit::Value::InlineTable(InlineTable::new()));
                }
                match t.get_mut(key) {
                    Some(toml_edit::Value::InlineTable(child)) => Ok(Node::Inline(child)),
                    _ => Err(not_a_table()),
                }
            }
        }
    }
}

/// Sets the dotted key `parts` below `node` to `value`.
fn set_in(
    node: &mut Node<'_>,
    parts: &[&str],
    value: toml_edit::Value,
    walked: &mut Vec<String>,
) -> Result<(), ManifestError> {
    let Some((first, rest)) = parts.split_first() else {
        return Ok(());
    };
    walked.push((*first).to_string());
    if rest.is_empty() {
        match node {
            Node::Table(t) => match t.get_mut(first) {
                Some(Item::Value(old)) => replace(old, value),
                Some(Item::None) | None => {
                    t.insert(first, Item::Value(value));
                }
                Some(_) => return Err(ManifestError::NotATable(walked.join("."))),
            },
            Node::Inline(t) => match t.get_mut(first) {
                Some(old) => replace(old, value),
                None => {
                    t.insert(*first, value);
                }
            },
        }
        return Ok(());
    }
    let mut child = match node {
        Node::Table(t) => Node::Table(t).child(first, walked, || {
            // `build.command = "..."` inside the table keeps it one contiguous block instead
            // of adding a `[...build]` header further down.
            let mut t = Table::new();
            t.set_dotted(true);
            t
        })?,
        Node::Inline(t) => Node::Inline(t).child(first, walked, Table::new)?,
    };
    set_in(&mut child, rest, value, walked)
}

/// Replaces a value, keeping the comments and spacing around it; an equal value is left
/// alone so that its spelling (quotes, escapes) stays the user's.
fn replace(old: &mut toml_edit::Value, new: toml_edit::Value) {
    let equal = match (&*old, &new) {
        (toml_edit::Value::String(a), toml_edit::Value::String(b)) => a.value() == b.value(),
        (toml_edit::Value::Integer(a), toml_edit::Value::Integer(b)) => a.value() == b.value(),
        (toml_edit::Value::Boolean(a), toml_edit::Value::Boolean(b)) => a.value() == b.value(),
        _ => false,
    };
    if equal {
        return;
    }
    let decor = old.decor().clone();
    *old = new;
    *old.decor_mut() = decor;
}

fn max_position(table: &Table) -> Option<isize> {
    let mut max = table.position();
    for (_, item) in table.iter() {
        let inner = match item {
            Item::Table(t) => max_position(t),
            Item::ArrayOfTables(array) => array.iter().filter_map(max_position).max(),
            _ => None,
        };
        max = max.max(inner);
    }
    max
}

fn to_toml(value: &Value) -> toml_edit::Value {
    match value {
        Value::Str(s) => s.as_str().into(),
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i).into(),
        Value::Duration(d) => humantime::format_duration(*d).to_string().into(),
        Value::List(items) => toml_edit::Value::Array(items.iter().map(String::as_str).collect()),
        Value::Map(map) => {
            let mut t = InlineTable::new();
            for (k, v) in map {
                t.insert(k, v.as_str().into());
            }
            toml_edit::Value::InlineTable(t)
        }
    }
}

/// The byte range of the table at `table` in `text` as `set_table` writes it: from its header
/// (or the dotted/inline key that opens it) to the next header. For checks that everything
/// outside it is unchanged. `None` when the table is absent.
pub fn table_span(text: &str, table: &[&str]) -> Option<std::ops::Range<usize>> {
    let header = format!("[{}]", table.join("."));
    let mut offset = 0;
    let mut start = None;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if let Some(s) = start {
            let opens_other =
                trimmed.starts_with('[') && !trimmed.starts_with(&format!("[{}.", table.join(".")));
            if opens_other {
                return Some(s..offset);
            }
        } else if trimmed == header || trimmed.starts_with(&format!("{header} ")) {
            start = Some(offset);
        }
        offset += line.len();
    }
    start.map(|s| s..text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &[&str] = &["package", "metadata", "cloudfront"];

    fn entries(pairs: &[(&str, &str)]) -> Vec<(String, Value)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::Str(v.to_string())))
            .collect()
    }

    #[test]
    fn new_table_is_appended_and_nothing_else_moves() {
        let text = "# my app\n[package]\nname = 'web'   # odd spacing\nversion=\"0.1.0\"\n\n[dependencies]\nyew = { version = \"0.21\", features = [\"csr\"] }\n\n[workspace]\n";
        let out = set_table(
            text,
            PATH,
            &entries(&[
                ("framework", "yew"),
                ("build.command", "trunk build --release"),
            ]),
        )
        .unwrap();
        assert!(out.starts_with(text), "{out}");
        assert_eq!(
            &out[text.len()..],
            "\n[package.metadata.cloudfront]\nframework = \"yew\"\nbuild.command = \"trunk build --release\"\n"
        );
        let span = table_span(&out, PATH).unwrap();
        assert_eq!(
            format!("{}{}", &out[..span.start], &out[span.end..]),
            format!("{text}\n")
        );
    }

    #[test]
    fn existing_table_is_updated_in_place() {
        let text = "[package]\nname = \"web\"\n\n[package.metadata.cloudfront]\n# chosen by hand\nframework = \"trunk\"   # keep me\nretention.keep = 5\n\n[dependencies]\nleptos = \"0.7\"\n";
        let out = set_table(
            text,
            PATH,
            &entries(&[("framework", "leptos-csr"), ("build.output_dir", "dist")]),
        )
        .unwrap();
        assert_eq!(
            out,
            "[package]\nname = \"web\"\n\n[package.metadata.cloudfront]\n# chosen by hand\nframework = \"leptos-csr\"   # keep me\nretention.keep = 5\nbuild.output_dir = \"dist\"\n\n[dependencies]\nleptos = \"0.7\"\n"
        );
        // Running again with the same values changes nothing.
        let again = set_table(
            &out,
            PATH,
            &entries(&[("framework", "leptos-csr"), ("build.output_dir", "dist")]),
        )
        .unwrap();
        assert_eq!(again, out);
    }

    #[test]
    fn subtables_and_inline_tables_are_written_where_they_are() {
        let text = "[package]\nname = \"web\"\nmetadata.cloudfront = { region = \"eu-west-1\" }\n";
        let out = set_table(text, PATH, &entries(&[("build.output_dir", "dist")])).unwrap();
        assert_eq!(
            out,
            "[package]\nname = \"web\"\nmetadata.cloudfront = { region = \"eu-west-1\" , build = { output_dir = \"dist\" } }\n"
        );
        let text =
            "[package]\nname = \"web\"\n\n[package.metadata.cloudfront.build]\ncommand = 'make'\n";
        let out = set_table(text, PATH, &entries(&[("build.command", "make site")])).unwrap();
        assert_eq!(
            out,
            "[package]\nname = \"web\"\n\n[package.metadata.cloudfront.build]\ncommand = \"make site\"\n"
        );
    }

    #[test]
    fn workspace_table_in_a_file_without_one() {
        let out = set_table(
            "[workspace]\n",
            &["workspace", "metadata", "cloudfront"],
            &entries(&[("framework", "zola")]),
        )
        .unwrap();
        assert_eq!(
            out,
            "[workspace]\n\n[workspace.metadata.cloudfront]\nframework = \"zola\"\n"
        );
    }

    #[test]
    fn a_non_table_in_the_way_is_an_error() {
        let err = set_table(
            "[package]\nmetadata = 3\n",
            PATH,
            &entries(&[("framework", "x")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("package.metadata"), "{err}");
        assert!(matches!(
            set_table("[package\n", PATH, &[]),
            Err(ManifestError::Parse(_))
        ));
    }
}
