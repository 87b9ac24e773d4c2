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

use super::{Action, Change, InfraError, Mode, Stack};

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
