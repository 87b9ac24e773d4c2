//! The one error type for AWS calls: a sentence saying what failed, the service's error code
//! and message, and what to do about it. The SDK's own error chain is kept as [`Cause`]s,
//! which the error report shows only with `-v` (the SDK's `Debug` output never reaches the
//! user: it is a thousand characters of nested structs).

use std::error::Error;
use std::fmt;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::ErrorMetadata;

#[derive(Debug, Default)]
pub struct AwsError {
    /// What failed, as a sentence: "could not list the objects of s3://b/".
    pub sentence: String,
    /// The service's error code (`AccessDenied`, `NoSuchBucket`), when it answered with one.
    pub code: Option<String>,
    /// The service's message, or the short reason the request got no answer.
    pub message: String,
    /// What the user can do about it.
    pub advice: Option<String>,
    cause: Option<Box<Cause>>,
}

impl AwsError {
    /// An SDK call that failed while trying to `action` ("list the buckets").
    pub fn from_sdk<E, R>(action: impl fmt::Display, err: &SdkError<E, R>) -> Self
    where
        E: Error + 'static,
        R: fmt::Debug,
    {
        let (code, message) = code_and_message(err);
        AwsError {
            sentence: format!("could not {action}"),
            code,
            message,
            advice: None,
            cause: Cause::chain(err),
        }
    }

    /// Any other failure on the way to AWS (credentials, configuration).
    pub fn new(sentence: impl Into<String>, err: &dyn Error) -> Self {
        AwsError {
            sentence: sentence.into(),
            code: None,
            message: short(err),
            advice: None,
            cause: Cause::chain(err),
        }
    }

    /// A failure with no error behind it.
    pub fn plain(sentence: impl Into<String>, message: impl Into<String>) -> Self {
        AwsError {
            sentence: sentence.into(),
            message: message.into(),
            ..AwsError::default()
        }
    }

    pub fn with_advice(mut self, advice: impl Into<String>) -> Self {
        self.advice = Some(advice.into());
        self
    }

    /// The service's code and message (or the reason), without the sentence.
    pub fn detail(&self) -> String {
        match &self.code {
            Some(code) if !self.message.starts_with(code.as_str()) => {
                format!("{code}: {}", self.message)
            }
            _ => self.message.clone(),
        }
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.sentence, self.detail())?;
        if let Some(advice) = &self.advice {
            write!(f, "\n{advice}")?;
        }
        Ok(())
    }
}

impl Error for AwsError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.cause.as_deref().map(|c| c as &(dyn Error + 'static))
    }
}

/// One link of the SDK's error chain, as text (the SDK's errors need not be `Send`).
#[derive(Debug)]
pub struct Cause {
    text: String,
    next: Option<Box<Cause>>,
}

impl Cause {
    fn chain(err: &dyn Error) -> Option<Box<Cause>> {
        texts(err)
            .into_iter()
            .rev()
            .fold(None, |next, text| Some(Box::new(Cause { text, next })))
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Error for Cause {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.next.as_deref().map(|c| c as &(dyn Error + 'static))
    }
}

/// A short, readable message for an SDK error: the service's code and message when it
/// answered, else the reason it did not (the default `Display` of SDK errors is just
/// "service error", and `DisplayErrorContext` appends the whole `Debug` tree).
pub fn describe<E, R>(err: &SdkError<E, R>) -> String
where
    E: Error + 'static,
    R: fmt::Debug,
{
    match code_and_message(err) {
        (Some(code), message) if !message.starts_with(code.as_str()) => {
            format!("{code}: {message}")
        }
        (_, message) => message,
    }
}

fn code_and_message<E, R>(err: &SdkError<E, R>) -> (Option<String>, String)
where
    E: Error + 'static,
    R: fmt::Debug,
{
    let Some(service) = err.as_service_error() else {
        return (None, short(err));
    };
    // Unmodelled errors carry their code and message in an `ErrorMetadata` source; modelled
    // ones display as "Code: message" themselves.
    let mut meta = None;
    let mut next = Some(service as &(dyn Error + 'static));
    while let Some(e) = next {
        if let Some(m) = e.downcast_ref::<ErrorMetadata>() {
            meta = Some(m);
            break;
        }
        next = e.source();
    }
    match meta {
        Some(meta) if meta.code().is_some() || meta.message().is_some() => (
            meta.code().map(str::to_string),
            meta.message().unwrap_or("(no message)").to_string(),
        ),
        _ => (None, short(service)),
    }
}

/// Each error of the chain as text; the service's metadata as "Code: message" (its own
/// `Display` is a `Debug`-like struct).
fn texts(top: &dyn Error) -> Vec<String> {
    let mut out = vec![top.to_string()];
    let mut next = top.source();
    while let Some(e) = next {
        out.push(match e.downcast_ref::<ErrorMetadata>() {
            Some(meta) => metadata_text(meta),
            None => e.to_string(),
        });
        next = e.source();
    }
    out
}

fn metadata_text(meta: &ErrorMetadata) -> String {
    match (meta.code(), meta.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        (None, Some(m)) => m.to_string(),
        (None, None) => "no error code or message".to_string(),
    }
}

/// The outermost and the innermost message of a chain, first lines only ("dispatch failure:
/// Connection refused (os error 111)"): the layers between are the SDK's plumbing.
fn short(err: &dyn Error) -> String {
    let chain: Vec<String> = texts(err)
        .into_iter()
        // Provider chains list every attempt on the lines below: that is `-v` material.
        .map(|t| {
            let line = t.lines().next().unwrap_or_default();
            line.trim_end_matches("Attempted:")
                .trim_end_matches([' ', '.'])
                .to_string()
        })
        .filter(|t| !t.is_empty())
        .collect();
    match chain.as_slice() {
        [] => "no details".to_string(),
        [one] => one.clone(),
        [first, .., last] if last.contains(first.as_str()) => last.clone(),
        [first, .., last] => format!("{first}: {last}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);
    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }
    impl Error for Layer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|c| c as &(dyn Error + 'static))
        }
    }

    #[test]
    fn the_message_is_the_outer_and_inner_reason_and_the_chain_is_kept() {
        let err = Layer(
            "dispatch failure",
            Some(Box::new(Layer(
                "other",
                Some(Box::new(Layer("Connection refused", None))),
            ))),
        );
        let e = AwsError::new("could not reach S3", &err).with_advice("Is the endpoint up?");
        assert_eq!(
            e.to_string(),
            "could not reach S3: dispatch failure: Connection refused\nIs the endpoint up?"
        );
        let chain = texts(&e);
        assert_eq!(
            chain[1..],
            ["dispatch failure", "other", "Connection refused"]
        );
    }

    #[test]
    fn service_errors_show_code_and_message() {
        let meta = ErrorMetadata::builder()
            .code("AccessDenied")
            .message("no")
            .build();
        let err: SdkError<ErrorMetadata, ()> = SdkError::service_error(meta, ());
        assert_eq!(describe(&err), "AccessDenied: no");
        let e = AwsError::from_sdk("list the buckets", &err);
        assert_eq!(
            e.to_string(),
            "could not list the buckets: AccessDenied: no"
        );
        assert!(!format!("{e}").contains("ErrorMetadata"));
    }
}
