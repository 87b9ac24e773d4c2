//! Typed setting values: parsed from TOML items (metadata) or from strings (flags, env).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::keys::{KeyDef, Kind};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Str(String),
    Bool(bool),
    Int(i64),
    #[serde(serialize_with = "serialize_duration")]
    Duration(Duration),
    List(Vec<String>),
    Map(BTreeMap<String, String>),
}

fn serialize_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Duration(d) => write!(f, "\"{}\"", humantime::format_duration(*d)),
            Value::List(items) => {
                let items: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
                write!(f, "[{}]", items.join(", "))
            }
            Value::Map(map) => {
                let items: Vec<String> =
                    map.iter().map(|(k, v)| format!("{k:?} = {v:?}")).collect();
                write!(f, "{{ {} }}", items.join(", "))
            }
        }
    }
}

/// Why a value was refused; the caller adds where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    WrongType { expected: String, found: String },
    Invalid(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::WrongType { expected, found } => {
                write!(f, "expected {expected}, found {found}")
            }
            Problem::Invalid(why) => f.write_str(why),
        }
    }
}

fn toml_type_name(item: &toml_edit::Item) -> &'static str {
    use toml_edit::{Item, Value as V};
    match item {
        Item::None => "nothing",
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
        Item::Value(v) => match v {
            V::String(_) => "a string",
            V::Integer(_) => "an integer",
            V::Float(_) => "a float",
            V::Boolean(_) => "a boolean",
            V::Datetime(_) => "a datetime",
            V::Array(_) => "an array",
            V::InlineTable(_) => "a table",
        },
    }
}

fn wrong(def: &KeyDef, item: &toml_edit::Item) -> Problem {
    Problem::WrongType {
        expected: def.kind.describe().replace("\\|", "|"),
        found: toml_type_name(item).to_string(),
    }
}

/// A value from `Cargo.toml` metadata.
pub fn from_toml(def: &KeyDef, item: &toml_edit::Item) -> Result<Value, Problem> {
    let value = match def.kind {
        Kind::String
        | Kind::BoundedString { .. }
        | Kind::Path
        | Kind::Region
        | Kind::Hostname
        | Kind::Enum(_)
        | Kind::Duration => {
            let s = item.as_str().ok_or_else(|| wrong(def, item))?;
            return from_str(def, s);
        }
        Kind::Bool => Value::Bool(item.as_bool().ok_or_else(|| wrong(def, item))?),
        Kind::Integer { .. } | Kind::IntegerOneOf(_) => {
            Value::Int(item.as_integer().ok_or_else(|| wrong(def, item))?)
        }
        Kind::StringList | Kind::BoundedStringList { .. } => {
            let array = item.as_array().ok_or_else(|| wrong(def, item))?;
            let mut out = Vec::with_capacity(array.len());
            for element in array.iter() {
                let s = element.as_str().ok_or_else(|| Problem::WrongType {
                    expected: "an array of strings".into(),
                    found: format!(
                        "an array holding {}",
                        toml_type_name(&toml_edit::Item::Value(element.clone()))
                    ),
                })?;
                out.push(s.to_string());
            }
            Value::List(out)
        }
        Kind::StringMap => {
            let table = item.as_table_like().ok_or_else(|| wrong(def, item))?;
            let mut out = BTreeMap::new();
            for (k, v) in table.iter() {
                let s = v.as_str().ok_or_else(|| Problem::WrongType {
                    expected: "a table of strings".into(),
                    found: format!("`{k}` = {}", toml_type_name(v)),
                })?;
                out.insert(k.to_string(), s.to_string());
            }
            Value::Map(out)
        }
    };
    validate(def, value)
}

/// A value from a flag or an environment variable. Lists are comma-separated; tables are
/// `name=value` pairs separated by commas.
pub fn from_str(def: &KeyDef, raw: &str) -> Result<Value, Problem> {
    let value = match def.kind {
        Kind::String
        | Kind::BoundedString { .. }
        | Kind::Path
        | Kind::Region
        | Kind::Hostname
        | Kind::Enum(_) => Value::Str(raw.to_string()),
        Kind::Bool => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Value::Bool(true),
            "false" | "0" | "no" | "off" => Value::Bool(false),
            _ => {
                return Err(Problem::Invalid(format!(
                    "`{raw}` is not a boolean (true or false)"
                )));
            }
        },
        Kind::Integer { .. } | Kind::IntegerOneOf(_) => Value::Int(
            raw.trim()
                .parse()
                .map_err(|_| Problem::Invalid(format!("`{raw}` is not an integer")))?,
        ),
        Kind::Duration => Value::Duration(humantime::parse_duration(raw.trim()).map_err(|e| {
            Problem::Invalid(format!(
                "`{raw}` is not a duration ({e}); try \"24h\" or \"7days\""
            ))
        })?),
        Kind::StringList | Kind::BoundedStringList { .. } => Value::List(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        ),
        Kind::StringMap => {
            let mut out = BTreeMap::new();
            for pair in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let (k, v) = pair.split_once('=').ok_or_else(|| {
                    Problem::Invalid(format!("`{pair}` is not of the form name=value"))
                })?;
                out.insert(k.trim().to_string(), v.trim().to_string());
            }
            Value::Map(out)
        }
    };
    validate(def, value)
}

fn validate(def: &KeyDef, value: Value) -> Result<Value, Problem> {
    match (&def.kind, &value) {
        (Kind::Integer { min, max }, Value::Int(i)) if i < min || i > max => Err(Problem::Invalid(
            format!("{i} is out of range ({min}–{max})"),
        )),
        (Kind::BoundedString { chars }, Value::Str(s))
            if s.trim().is_empty() || s.chars().count() > *chars =>
        {
            Err(Problem::Invalid(format!(
                "must be 1 to {chars} characters long"
            )))
        }
        (Kind::BoundedStringList { items, .. }, Value::List(l)) if l.len() > *items => Err(
            Problem::Invalid(format!("{} entries; at most {items} are allowed", l.len())),
        ),
        (Kind::BoundedStringList { chars, .. }, Value::List(l))
            if l.iter().any(|e| e.is_empty() || e.chars().count() > *chars) =>
        {
            Err(Problem::Invalid(format!(
                "every entry must be 1 to {chars} characters long"
            )))
        }
        (Kind::IntegerOneOf(allowed), Value::Int(i)) if !allowed.contains(i) => {
            Err(Problem::Invalid(format!(
                "{i} is not one of {}",
                allowed
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
        (Kind::Enum(allowed), Value::Str(s)) if !allowed.contains(&s.as_str()) => {
            Err(Problem::Invalid(format!(
                "`{s}` is not one of {}",
                allowed
                    .iter()
                    .map(|a| format!("\"{a}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
        (Kind::Region, Value::Str(s)) => check_region(s).map(|()| value),
        (Kind::Hostname, Value::Str(s)) => check_hostname(s).map(|()| value),
        (Kind::String | Kind::Path, Value::Str(s)) if s.trim().is_empty() => {
            Err(Problem::Invalid("must not be empty".into()))
        }
        (Kind::StringMap, Value::Map(m)) if def.key == "headers.custom" => {
            check_custom_headers(m).map(|()| value)
        }
        (Kind::String, Value::Str(s)) if def.key == "headers.csp" => check_csp(s).map(|()| value),
        _ => Ok(value),
    }
}

/// What a CloudFront response-headers policy accepts as custom headers, with room for the
/// ones this tool adds (see `edge::headers`).
pub fn check_custom_headers(headers: &BTreeMap<String, String>) -> Result<(), Problem> {
    use crate::edge::headers::{MANAGED, MAX_CUSTOM_HEADERS};
    if headers.len() > MAX_CUSTOM_HEADERS {
        return Err(Problem::Invalid(format!(
            "{} headers; at most {MAX_CUSTOM_HEADERS} (a CloudFront response-headers policy takes 10 custom headers and this tool uses up to 4: Vary, and COOP/COEP/CORP for cross-origin isolation)",
            headers.len()
        )));
    }
    for (name, value) in headers {
        // RFC 9110 token characters.
        let token = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c));
        if !token {
            return Err(Problem::Invalid(format!(
                "`{name}` is not a valid header name"
            )));
        }
        if MANAGED.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(Problem::Invalid(format!(
                "`{name}` is set by the tool itself (use `headers.csp` or `headers.cross_origin_isolation` where they apply)"
            )));
        }
        if value.trim().is_empty() || value.chars().any(|c| c.is_control() || !c.is_ascii()) {
            return Err(Problem::Invalid(format!(
                "the value of `{name}` must be non-empty printable ASCII"
            )));
        }
    }
    Ok(())
}

pub fn check_csp(csp: &str) -> Result<(), Problem> {
    use crate::edge::headers::MAX_CSP_CHARS;
    let n = csp.chars().count();
    if n > MAX_CSP_CHARS {
        return Err(Problem::Invalid(format!(
            "{n} characters; CloudFront accepts at most {MAX_CSP_CHARS} in a response-headers policy"
        )));
    }
    Ok(())
}

/// AWS region codes: `<area>-<direction...>-<n>`, e.g. `eu-west-1`, `us-gov-west-1`,
/// `ap-southeast-5`. Checked by shape, so that regions newer than this tool still work.
pub fn check_region(s: &str) -> Result<(), Problem> {
    let parts: Vec<&str> = s.split('-').collect();
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if ok {
        Ok(())
    } else {
        Err(Problem::Invalid(format!(
            "`{s}` is not an AWS region code (like \"us-east-1\" or \"eu-west-2\")"
        )))
    }
}

/// A DNS name as a user writes it. Deeper checks (IDN, wildcards) live with the domain logic.
pub fn check_hostname(s: &str) -> Result<(), Problem> {
    let name = s.trim_end_matches('.');
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && !l.contains(char::is_whitespace)
    };
    if name.starts_with("*.") {
        return Err(Problem::Invalid(format!(
            "`{s}` is a wildcard; a site needs a concrete name such as `www.example.com`"
        )));
    }
    if name.len() > 253
        || !name.contains('.')
        || !name.split('.').all(label_ok)
        || name.contains('/')
        || name.contains(':')
    {
        return Err(Problem::Invalid(format!(
            "`{s}` is not a domain name (like \"www.example.com\")"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::keys::find;

    #[test]
    fn values_an_aws_api_bounds_are_checked_against_its_bounds() {
        let retention = find("pipeline.log_retention_days").unwrap();
        assert!(from_str(retention, "14").is_ok());
        assert!(from_str(retention, "3653").is_ok());
        for refused in ["10", "0", "3650", "4000"] {
            assert!(from_str(retention, refused).is_err(), "{refused}");
        }
        let branch = find("source.branch").unwrap();
        assert!(from_str(branch, &"b".repeat(255)).is_ok());
        assert!(from_str(branch, &"b".repeat(256)).is_err());
        assert!(from_str(branch, " ").is_err());
        let paths = find("source.paths").unwrap();
        let eight = ["p/**"; 8].join(",");
        assert!(from_str(paths, &eight).is_ok());
        assert!(from_str(paths, &format!("{eight},q/**")).is_err());
        assert!(from_str(paths, &"x".repeat(256)).is_err());
        assert!(from_str(paths, "").is_ok(), "no filter: every push");
    }

    #[test]
    fn regions_by_shape() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-5",
        ] {
            assert!(check_region(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "useast1",
            "US-EAST-1",
            "moon-1",
            "eu--1",
            "eu-west-x",
        ] {
            assert!(check_region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn strings_from_env_parse_by_kind() {
        let keep = find("retention.keep").unwrap();
        assert_eq!(from_str(keep, "12"), Ok(Value::Int(12)));
        assert!(matches!(from_str(keep, "1"), Err(Problem::Invalid(_))));
        let grace = find("retention.grace").unwrap();
        assert_eq!(
            from_str(grace, "2h"),
            Ok(Value::Duration(Duration::from_secs(7200)))
        );
        let pre = find("precompress").unwrap();
        assert_eq!(
            from_str(pre, "wasm, js"),
            Ok(Value::List(vec!["wasm".into(), "js".into()]))
        );
        let custom = find("headers.custom").unwrap();
        let Value::Map(m) = from_str(custom, "X-A=1,X-B=two").unwrap() else {
            panic!()
        };
        assert_eq!(m.get("X-B").map(String::as_str), Some("two"));
        let routing = find("routing").unwrap();
        assert!(from_str(routing, "mpa").is_err());
    }

    #[test]
    fn hostnames() {
        assert!(check_hostname("www.example.com").is_ok());
        assert!(check_hostname("example.photography").is_ok());
        assert!(check_hostname("*.example.com").is_err());
        assert!(check_hostname("localhost").is_err());
        assert!(check_hostname("https://example.com").is_err());
    }
}
