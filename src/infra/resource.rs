//! The one converge/destroy skeleton every resource shares.
//!
//! `converge`: read the actual resource → prove it is this project's → create | update | none.
//! `destroy`: read → ours? → delete | left alone (saying why) | already gone.
//! Each resource only says how to read, prove, compare, create, update and delete itself; the
//! order of those steps, the `Mode::Plan` | `Mode::Apply` split and the plan's wording live
//! here once, so `plan`, `deploy` and `delete` cannot drift apart per resource.
//!
//! A value implementing [`Resource`] is the desired state (name, wanted configuration, what it
//! refers to); build it from the [`Stack`] right before the step.

use aws_smithy_runtime_api::client::result::SdkError;

use super::{Action, Change, InfraError, Mode, Stack, aws_err};

/// One AWS resource this tool owns. Only `NOUN`, `PROOF`, `Actual`, `kind`, `name`, `read`
/// and `owned` are required; the rest default to "nothing to compare, nothing to keep".
///
/// Every method that calls AWS is only reached in the mode it belongs to: `create`, `update`
/// and `delete` only with `Mode::Apply`; `read`, `owned`, `differences` and `still_needed`
/// only read (a re-deploy with nothing changed makes zero write calls).
pub(crate) trait Resource {
    /// The kind as a person names it, in errors (`cache policy`).
    const NOUN: &'static str;
    /// What proves ownership (`comment marker`, `tags (...)`), named when `deploy` refuses.
    const PROOF: &'static str;
    /// Why `delete` leaves an existing resource that `owned` rejects alone.
    const NOT_OURS: &'static str = "not this project's";

    /// What `read` returns: the IDs, ETag and configuration the other steps need.
    type Actual;

    /// The resource's kind in the plan (`cache-policy`); a method, not a constant, so one type
    /// can serve several plan lines (the pipeline's roles, the site and artifact buckets).
    fn kind(&self) -> &'static str;

    /// The name the plan shows (and, usually, the name the resource is found by).
    fn name(&self) -> &str;

    /// The resource as AWS has it now; `None` when it does not exist.
    async fn read(&self, stack: &Stack<'_>) -> Result<Option<Self::Actual>, InfraError>;

    /// Whether `actual` carries this project's ownership proof.
    async fn owned(&self, stack: &Stack<'_>, actual: &Self::Actual) -> Result<bool, InfraError>;

    /// The name the plan shows for an existing resource, when it is not [`Resource::name`]
    /// (a distribution's ID, a policy found by a recorded ID).
    fn label(&self, _actual: &Self::Actual) -> String {
        self.name().to_string()
    }

    /// `converge`, both modes: records the IDs of an existing, owned resource for the steps
    /// after it.
    fn adopt(&self, _stack: &mut Stack<'_>, _actual: &Self::Actual) {}

    /// The managed fields that differ, named for the plan; compared semantically (AWS's order
    /// and filled-in defaults are no difference). Empty means up to date.
    async fn differences(
        &self,
        _stack: &Stack<'_>,
        _actual: &Self::Actual,
    ) -> Result<Vec<String>, InfraError> {
        Ok(Vec::new())
    }

    /// The plan's reason for a create.
    fn create_reason(&self) -> String {
        "does not exist".to_string()
    }

    /// Creates the resource (with its ownership proof) and records its IDs in the stack.
    async fn create(&self, _stack: &mut Stack<'_>) -> Result<(), InfraError> {
        Err(unsupported::<Self>("create"))
    }

    /// Closes the `differences`, starting from `actual` so fields added by hand stay.
    async fn update(
        &self,
        _stack: &mut Stack<'_>,
        _actual: Self::Actual,
    ) -> Result<(), InfraError> {
        Err(unsupported::<Self>("update"))
    }

    /// `destroy`, both modes: why a resource that is ours must stay anyway (a shared policy
    /// another distribution still uses); may record what later steps need.
    async fn still_needed(
        &self,
        _stack: &mut Stack<'_>,
        _actual: &Self::Actual,
    ) -> Result<Option<String>, InfraError> {
        Ok(None)
    }

    /// The plan's reason for a delete.
    fn delete_reason(&self) -> String {
        "owned by this project".to_string()
    }

    /// Deletes the resource (waiting out AWS's in-use lag with
    /// [`retry_while_in_use`](super::retry_while_in_use) where the service has one). `Some`
    /// says what was done, replacing [`Resource::delete_reason`] in the result.
    async fn delete(
        &self,
        _stack: &mut Stack<'_>,
        _actual: Self::Actual,
    ) -> Result<Option<String>, InfraError> {
        Err(unsupported::<Self>("delete"))
    }
}

fn unsupported<R: Resource + ?Sized>(what: &str) -> InfraError {
    InfraError::Other(format!("{} {what} is not supported", R::NOUN))
}

/// Reads `r`, proves it ours, and creates or updates it as needed (with `Mode::Apply`).
/// A resource of that name without the proof is an error: `deploy` never takes one over.
pub(crate) async fn converge<R: Resource>(
    stack: &mut Stack<'_>,
    mode: Mode,
    r: &R,
) -> Result<Change, InfraError> {
    let Some(actual) = r.read(stack).await? else {
        if mode == Mode::Apply {
            r.create(stack).await?;
        }
        return Ok(Change::new(
            r.kind(),
            r.name(),
            Action::Create,
            r.create_reason(),
        ));
    };
    let name = r.label(&actual);
    if !r.owned(stack, &actual).await? {
        return Err(InfraError::NotOwned {
            kind: R::NOUN,
            name,
            proof: R::PROOF,
        });
    }
    r.adopt(stack, &actual);
    let change = Change::from_differences(r.kind(), &name, &r.differences(stack, &actual).await?);
    if mode == Mode::Apply && change.action == Action::Update {
        r.update(stack, actual).await?;
    }
    Ok(change)
}

/// Reads `r` and deletes it (with `Mode::Apply`) when it is this project's and nothing else
/// needs it; otherwise says why it stays, or that it is already gone.
pub(crate) async fn destroy<R: Resource>(
    stack: &mut Stack<'_>,
    mode: Mode,
    r: &R,
) -> Result<Change, InfraError> {
    let Some(actual) = r.read(stack).await? else {
        return Ok(Change::gone(r.kind(), r.name()));
    };
    let name = r.label(&actual);
    if !r.owned(stack, &actual).await? {
        return Ok(Change::left_alone(r.kind(), &name, R::NOT_OURS));
    }
    if let Some(why) = r.still_needed(stack, &actual).await? {
        return Ok(Change::left_alone(r.kind(), &name, &why));
    }
    let mut reason = r.delete_reason();
    if mode == Mode::Apply
        && let Some(done) = r.delete(stack, actual).await?
    {
        reason = done;
    }
    Ok(Change::new(r.kind(), &name, Action::Delete, reason))
}

/// A read's result with the service's "no such resource" error (`missing`) as `None`, for
/// [`Resource::read`]; any other error fails `action`.
pub(crate) fn unless_missing<T, E: std::error::Error + 'static, R: std::fmt::Debug>(
    result: Result<T, SdkError<E, R>>,
    missing: impl FnOnce(&E) -> bool,
    action: impl FnOnce() -> String,
) -> Result<Option<T>, InfraError> {
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e) if e.as_service_error().is_some_and(missing) => Ok(None),
        Err(e) => Err(aws_err(action(), &e)),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::aws::{Aws, AwsOptions};
    use crate::names::{Names, Scope};

    /// A resource kept in memory, logging every write.
    #[derive(Default)]
    struct Fake {
        actual: RefCell<Option<Memory>>,
        writes: RefCell<Vec<&'static str>>,
        wanted: u32,
        users: usize,
    }

    #[derive(Clone)]
    struct Memory {
        ours: bool,
        value: u32,
    }

    impl Fake {
        fn existing(ours: bool, value: u32, wanted: u32) -> Self {
            Fake {
                actual: RefCell::new(Some(Memory { ours, value })),
                wanted,
                ..Fake::default()
            }
        }
    }

    impl Resource for Fake {
        const NOUN: &'static str = "fake";
        const PROOF: &'static str = "test marker";
        type Actual = Memory;

        fn kind(&self) -> &'static str {
            "fake"
        }

        fn name(&self) -> &str {
            "f"
        }

        async fn read(&self, _stack: &Stack<'_>) -> Result<Option<Memory>, InfraError> {
            Ok(self.actual.borrow().clone())
        }

        async fn owned(&self, _stack: &Stack<'_>, actual: &Memory) -> Result<bool, InfraError> {
            Ok(actual.ours)
        }

        async fn differences(
            &self,
            _stack: &Stack<'_>,
            actual: &Memory,
        ) -> Result<Vec<String>, InfraError> {
            Ok(if actual.value == self.wanted {
                Vec::new()
            } else {
                vec![format!("value {} → {}", actual.value, self.wanted)]
            })
        }

        async fn create(&self, _stack: &mut Stack<'_>) -> Result<(), InfraError> {
            self.writes.borrow_mut().push("create");
            Ok(())
        }

        async fn update(&self, _stack: &mut Stack<'_>, _actual: Memory) -> Result<(), InfraError> {
            self.writes.borrow_mut().push("update");
            Ok(())
        }

        async fn still_needed(
            &self,
            _stack: &mut Stack<'_>,
            _actual: &Memory,
        ) -> Result<Option<String>, InfraError> {
            Ok((self.users > 0).then(|| format!("used by {}", self.users)))
        }

        async fn delete(
            &self,
            _stack: &mut Stack<'_>,
            _actual: Memory,
        ) -> Result<Option<String>, InfraError> {
            self.writes.borrow_mut().push("delete");
            Ok(Some("deleted".into()))
        }
    }

    #[tokio::test]
    async fn plan_never_writes_apply_writes_only_what_differs_and_only_what_is_ours() {
        // Never reached: the fake resource makes no AWS call.
        let aws = Aws::load(&AwsOptions {
            profile: None,
            region: "eu-west-1".into(),
            endpoint_url: Some("http://127.0.0.1:9".into()),
            credentials: Some(aws_credential_types::Credentials::new(
                "test", "test", None, None, "test",
            )),
        })
        .await;
        let names = Names::new(&Scope {
            account: "123456789012",
            region: "eu-west-1",
            repository: None,
            project: "site",
        });
        let settings = crate::settings::resolve(&crate::settings::Inputs::default())
            .expect("built-in defaults resolve")
            .settings();
        let mut stack = Stack::new(&aws, &names, &settings, "123456789012");
        let stack = &mut stack;

        let missing = Fake::default();
        let change = converge(stack, Mode::Plan, &missing).await.unwrap();
        assert_eq!(
            (change.action, change.reason.as_str()),
            (Action::Create, "does not exist")
        );
        assert!(missing.writes.borrow().is_empty(), "a plan writes nothing");
        converge(stack, Mode::Apply, &missing).await.unwrap();
        assert_eq!(*missing.writes.borrow(), ["create"]);

        let same = Fake::existing(true, 1, 1);
        let change = converge(stack, Mode::Apply, &same).await.unwrap();
        assert_eq!(
            (change.action, change.reason.as_str()),
            (Action::None, "up to date")
        );
        assert!(same.writes.borrow().is_empty(), "nothing changed, no write");

        let changed = Fake::existing(true, 1, 2);
        let change = converge(stack, Mode::Plan, &changed).await.unwrap();
        assert_eq!(
            (change.action, change.reason.as_str()),
            (Action::Update, "value 1 → 2")
        );
        assert!(changed.writes.borrow().is_empty());
        converge(stack, Mode::Apply, &changed).await.unwrap();
        assert_eq!(*changed.writes.borrow(), ["update"]);

        let foreign = Fake::existing(false, 1, 2);
        let err = converge(stack, Mode::Apply, &foreign).await.unwrap_err();
        assert!(matches!(
            err,
            InfraError::NotOwned {
                kind: "fake",
                proof: "test marker",
                ..
            }
        ));
        let change = destroy(stack, Mode::Apply, &foreign).await.unwrap();
        assert!(change.is_left_alone() && change.reason.starts_with("not this project's"));
        assert!(foreign.writes.borrow().is_empty(), "never touched");

        let shared = Fake {
            users: 2,
            ..Fake::existing(true, 1, 1)
        };
        let change = destroy(stack, Mode::Apply, &shared).await.unwrap();
        assert!(change.is_left_alone() && change.reason.starts_with("used by 2"));
        assert!(shared.writes.borrow().is_empty());

        let ours = Fake::existing(true, 1, 1);
        let change = destroy(stack, Mode::Plan, &ours).await.unwrap();
        assert_eq!(
            (change.action, change.reason.as_str()),
            (Action::Delete, "owned by this project")
        );
        assert!(ours.writes.borrow().is_empty());
        let change = destroy(stack, Mode::Apply, &ours).await.unwrap();
        assert_eq!(
            (change.action, change.reason.as_str()),
            (Action::Delete, "deleted")
        );
        assert_eq!(*ours.writes.borrow(), ["delete"]);

        let change = destroy(stack, Mode::Apply, &Fake::default()).await.unwrap();
        assert_eq!(
            (change.action, change.reason.as_str()),
            (Action::None, "already gone")
        );
    }
}
