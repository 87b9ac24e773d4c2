//! The CloudFront viewer-request event (event structure version 1.0) made from an HTTP
//! request, and the HTTP response made from what the function returns: the two ends of the
//! JSON the engine speaks, in the shapes CloudFront documents.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Response, StatusCode, Uri};
use serde_json::{Value, json};

/// The CloudFront viewer-request event for a request (event structure version 1.0).
pub fn viewer_request_event(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    viewer: SocketAddr,
    n: u64,
) -> Value {
    let mut hs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut cookies: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == header::COOKIE {
            // CloudFront hands cookies to the function apart from the headers.
            for pair in value.split(';') {
                let pair = pair.trim();
                if pair.is_empty() {
                    continue;
                }
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                cookies
                    .entry(k.to_string())
                    .or_default()
                    .push(v.to_string());
            }
            continue;
        }
        hs.entry(name.as_str().to_string()).or_default().push(value);
    }
    let mut query: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in uri.query().unwrap_or("").split('&') {
        if pair.is_empty() {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        query.entry(k.to_string()).or_default().push(v.to_string());
    }
    json!({
        "version": "1.0",
        "context": {
            "distributionDomainName": "localhost",
            "distributionId": "LOCAL",
            "eventType": "viewer-request",
            "requestId": format!("local-{n}"),
        },
        "viewer": { "ip": viewer.ip().to_string() },
        "request": {
            "method": method.as_str(),
            "uri": uri.path(),
            "querystring": multi_values(query),
            "headers": multi_values(hs),
            "cookies": multi_values(cookies),
        },
    })
}

/// CloudFront's `{name: {value, multiValue?}}` shape: `value` is the first value;
/// `multiValue` lists all of them when there are several.
fn multi_values(map: BTreeMap<String, Vec<String>>) -> Value {
    let mut out = serde_json::Map::new();
    for (name, values) in map {
        let mut entry = json!({ "value": values[0] });
        if values.len() > 1 {
            entry["multiValue"] = values.iter().map(|v| json!({ "value": v })).collect();
        }
        out.insert(name, entry);
    }
    Value::Object(out)
}

/// The response a function returned: `{statusCode, statusDescription, headers, body}`, where
/// `body` is a string or `{data, encoding: "text" | "base64"}`.
pub fn function_response(result: &Value) -> Response<Full<Bytes>> {
    let status = result
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match result.get("body") {
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(Value::Object(b)) => {
            let data = b.get("data").and_then(Value::as_str).unwrap_or("");
            if b.get("encoding").and_then(Value::as_str) == Some("base64") {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .map(Bytes::from)
                    .unwrap_or_default()
            } else {
                Bytes::from(data.to_string())
            }
        }
        _ => Bytes::new(),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    // `cookies` become Set-Cookie headers: `name=value; attributes`, one per value.
    if let Some(Value::Object(cookies)) = result.get("cookies") {
        for (name, entry) in cookies {
            let all = match entry.get("multiValue").and_then(Value::as_array) {
                Some(all) => all.clone(),
                None => vec![entry.clone()],
            };
            for c in all {
                let value = c.get("value").and_then(Value::as_str).unwrap_or("");
                let line = match c.get("attributes").and_then(Value::as_str) {
                    Some(a) if !a.is_empty() => format!("{name}={value}; {a}"),
                    _ => format!("{name}={value}"),
                };
                if let Ok(v) = HeaderValue::from_str(&line) {
                    response.headers_mut().append(header::SET_COOKIE, v);
                }
            }
        }
    }
    if let Some(Value::Object(headers)) = result.get("headers") {
        let h = response.headers_mut();
        for (name, entry) in headers {
            let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
                continue;
            };
            let values: Vec<&str> = match entry.get("multiValue").and_then(Value::as_array) {
                Some(all) => all
                    .iter()
                    .filter_map(|v| v.get("value").and_then(Value::as_str))
                    .collect(),
                None => entry
                    .get("value")
                    .and_then(Value::as_str)
                    .into_iter()
                    .collect(),
            };
            for value in values {
                if let Ok(value) = HeaderValue::from_str(value) {
                    h.append(name.clone(), value);
                }
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_has_cloudfronts_shape() {
        let mut headers = HeaderMap::new();
        headers.append("accept", HeaderValue::from_static("text/html"));
        headers.append("x-multi", HeaderValue::from_static("a"));
        headers.append("x-multi", HeaderValue::from_static("b"));
        headers.append("cookie", HeaderValue::from_static("a=1; b=2"));
        let event = viewer_request_event(
            &Method::GET,
            &"/p/q?x=1&x=2&flag".parse().unwrap(),
            &headers,
            "10.0.0.1:1234".parse().unwrap(),
            7,
        );
        let r = &event["request"];
        assert_eq!(r["uri"], "/p/q");
        assert_eq!(r["querystring"]["x"]["value"], "1");
        assert_eq!(r["querystring"]["x"]["multiValue"][1]["value"], "2");
        assert_eq!(r["querystring"]["flag"]["value"], "");
        assert_eq!(r["headers"]["accept"]["value"], "text/html");
        assert_eq!(r["headers"]["x-multi"]["multiValue"][1]["value"], "b");
        assert!(r["headers"].get("cookie").is_none());
        assert_eq!(r["cookies"]["b"]["value"], "2");
        assert_eq!(event["viewer"]["ip"], "10.0.0.1");
        assert_eq!(event["context"]["eventType"], "viewer-request");
    }
}
