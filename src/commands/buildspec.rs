//! `buildspec`: the CodeBuild buildspec the pipeline runs, generated from the settings.

use anyhow::Context as _;

use crate::cli::BuildspecArgs;
use crate::context::Context;

pub fn run(ctx: &Context, args: &BuildspecArgs) -> anyhow::Result<()> {
    let ui = &ctx.ui;
    let view = crate::buildspec::for_project(&ctx.project, &ctx.detection, ui)?;
    if let Some(path) = &args.output {
        std::fs::write(path, &view.buildspec)
            .with_context(|| format!("could not write {}", path.display()))?;
        ui.status("Wrote", path.display());
        ui.result("", &view);
    } else {
        ui.result(&view.buildspec, &view);
    }
    Ok(())
}
