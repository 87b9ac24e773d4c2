//! `upload`: zip the project (honouring .gitignore) into the pipeline's S3 source object and
//! start an execution that builds exactly that object under its own version id.

use crate::context::Context;
use crate::infra::pipeline::upload::upload;

pub async fn run(ctx: &Context) -> anyhow::Result<()> {
    let kind = &ctx.settings().source.kind;
    if kind != "s3" {
        anyhow::bail!(
            "upload feeds the pipeline's S3 source, but source.kind is \"{kind}\"; set source.kind = \"s3\" and run `cargo cloudfront-host deploy`"
        );
    }
    let c = ctx.connect().await?;
    let report = upload(&ctx.project, &c.aws, &c.names, &ctx.ui).await?;
    let text = format!(
        "{:>12} {} files ({:.1} kB) to s3://{}/{}\n{:>12} pipeline {} execution {} (version {})\n",
        "Uploaded",
        report.files,
        report.bytes as f64 / 1e3,
        report.bucket,
        report.key,
        "Started",
        report.pipeline,
        report.execution_id,
        report.version
    );
    ctx.ui.result(text, &report);
    Ok(())
}
