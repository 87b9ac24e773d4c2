//! Command-line definitions only (clap). Invoked by cargo as `cargo cloudfront-host <command>`;
//! cargo passes `cloudfront-host` as the first argument, which `main` drops.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::ui::{ColorWhen, Format};

#[derive(Debug, Parser)]
#[command(
    name = "cargo-cloudfront-host",
    bin_name = "cargo cloudfront-host",
    version,
    about = "Host a Rust/WASM frontend on AWS (S3 + CloudFront) with atomic, versioned deployments",
    after_help = "Examples:\n  cargo cloudfront-host show --settings\n  cargo cloudfront-host show --format json\n\n\
                  Settings live in [package.metadata.cloudfront] of your frontend's Cargo.toml; see the README for every key."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Path to the Cargo.toml of the project (default: the one around the current directory)
    #[arg(long, value_name = "PATH", global = true)]
    pub manifest_path: Option<PathBuf>,

    /// The workspace member that holds the frontend
    #[arg(short = 'p', long, value_name = "PACKAGE", global = true)]
    pub package: Option<String>,

    /// AWS profile from ~/.aws/config (default: AWS_PROFILE, else the default chain)
    #[arg(long, value_name = "NAME", global = true)]
    pub profile: Option<String>,

    /// Send every AWS request to this endpoint (a local emulator); AWS_ENDPOINT_URL works too
    #[arg(long, value_name = "URL", global = true)]
    pub endpoint_url: Option<String>,

    /// AWS region for the bucket and pipeline (overrides the `region` setting)
    #[arg(long, value_name = "REGION", global = true)]
    pub region: Option<String>,

    /// Override any setting for this run, e.g. --set retention.keep=5 (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE", global = true)]
    pub set: Vec<String>,

    /// Output format of the result
    #[arg(long, value_enum, default_value_t = Format::Text, global = true, env = "CARGO_CLOUDFRONT_HOST_FORMAT")]
    pub format: Format,

    /// Print no status lines
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more detail (repeat for even more)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Answer yes to every question (also implied when CI is set): never prompt
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,

    /// Coloring: auto, always, never
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto, global = true, env = "CARGO_TERM_COLOR")]
    pub color: ColorWhen,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the project: its settings, AWS account, region and resources
    #[command(
        after_help = "Examples:\n  cargo cloudfront-host show\n  cargo cloudfront-host show --settings\n  cargo cloudfront-host show --settings --format json | jq .settings.region"
    )]
    Show(ShowArgs),

    /// Create or update the hosting stack on AWS, then build and publish the site
    #[command(
        after_help = "Examples:\n  cargo cloudfront-host deploy\n  cargo cloudfront-host deploy --dry-run --format json   # the plan only, same as `plan`\n  cargo cloudfront-host deploy --no-build --dir dist\n  cargo cloudfront-host deploy --no-publish\n  cargo cloudfront-host deploy --set domain.name=www.example.com --no-wait\n\n\
                      Creates, idempotently: a private S3 bucket, origin access control, cache and response-headers\n\
                      policies, the KeyValueStore holding the live version, the viewer-request function and the\n\
                      CloudFront distribution. Re-running with nothing changed changes nothing.\n\
                      With source.kind = \"github\" or \"s3\" also the build pipeline (IAM roles, artifact bucket,\n\
                      log group, CodeBuild project, CodePipeline, GitHub connection) and starts its first run.\n\
                      With ci.github = true (see `ci github`) also the IAM OIDC provider for GitHub Actions (reused when\n\
                      the account has one) and the roles the workflow assumes."
    )]
    Deploy(DeployArgs),

    /// Show what `deploy` would create, update or leave alone; changes nothing
    #[command(
        after_help = "Examples:\n  cargo cloudfront-host plan\n  cargo cloudfront-host plan --format json | jq '.changes[] | select(.action != \"none\")'"
    )]
    Plan,

    /// Remove everything this project created on AWS (asks first)
    #[command(
        after_help = "Examples:\n  cargo cloudfront-host delete\n  cargo cloudfront-host delete --yes          # no question (needed in CI)\n  cargo cloudfront-host delete --dry-run\n\n\
                      Disables and deletes the distribution, then the function, policies, KeyValueStore, origin\n\
                      access control, and empties and deletes the bucket (every published version is lost).\n\
                      Only resources that prove to be this project's (tags, or the ownership marker in their\n\
                      comment) are touched. Re-running after an interrupted delete finishes the job."
    )]
    Delete(DeleteArgs),

    /// Upload a built site as a new version and make it live atomically
    #[command(
        after_help = "Examples:\n  cargo cloudfront-host publish\n  cargo cloudfront-host publish --dir dist --version v1.2.0\n  cargo cloudfront-host publish --no-switch   # upload only; go live later with rollback ID\n  cargo cloudfront-host publish --preview     # as the preview of this branch or pull request\n  cargo cloudfront-host publish --preview pr-42 --format json | jq -r .preview.url\n\n\
                            The version id defaults to the commit (plus -dirty and a timestamp for uncommitted changes)."
    )]
    Publish(PublishArgs),

    /// List the published versions, newest first, and which one is live
    #[command(
        after_help = "Examples:\n  cargo cloudfront-host versions\n  cargo cloudfront-host versions --format json | jq .live"
    )]
    Versions,

    /// List preview deployments, or delete or prune them
    #[command(
        after_help = "Examples:\n  cargo cloudfront-host previews\n  cargo cloudfront-host previews --format json | jq -r '.previews[].url'\n  cargo cloudfront-host previews delete pr-42\n  cargo cloudfront-host previews prune          # remove every expired preview\n\n\
                      A preview is published with `publish --preview [NAME]` and expires `previews.expire_after`\n\
                      (default 7 days) after its last publish. Deleting one leaves its version to retention."
    )]
    Previews(PreviewsArgs),

    /// Make a preview's version live, without rebuilding or uploading
    #[command(
        after_help = "Examples:\n  cargo cloudfront-host promote pr-42\n  cargo cloudfront-host promote main --format json\n\n\
                      The same compare-and-swap of the live pointer as rollback: if someone else changed what is\n\
                      live in the meantime, nothing is overwritten. The preview itself stays."
    )]
    Promote(PromoteArgs),

    /// Make an earlier version live again, instantly
    #[command(
        after_help = "Examples:\n  cargo cloudfront-host rollback            # the version before the live one\n  cargo cloudfront-host rollback 1a2b3c4d5e6f"
    )]
    Rollback(RollbackArgs),

    /// Detect the frontend and write [package.metadata.cloudfront] into its Cargo.toml
    #[command(
        after_help = "Examples:\n  cargo cloudfront-host init\n  cargo cloudfront-host init --yes --dry-run --format json\n  cargo cloudfront-host init --yes --source github --domain app.example.com --region eu-west-1\n  cargo cloudfront-host init -p web --framework custom --build-command 'wasm-pack build --target web' --output-dir web/pkg\n\n\
                      Asks only what it cannot detect (source, domain, region); with --yes or CI set it asks nothing.\n\
                      Every byte of Cargo.toml outside [package.metadata.cloudfront] stays as it was."
    )]
    Init(InitArgs),

    /// Show the pipeline's latest executions, stage by stage; --wait follows the running one
    #[command(
        after_help = "Examples:\n  cargo cloudfront-host status\n  cargo cloudfront-host status --wait               # exit 0 when it succeeds, 1 when it fails\n  cargo cloudfront-host status --wait --timeout 30m\n  cargo cloudfront-host status --format json | jq '.executions[0].status'\n\n\
                      Needs source.kind = \"github\" or \"s3\" and a deployed pipeline. On failure it prints the failed\n\
                      stage, its error, and the CodeBuild log link and last log lines."
    )]
    Status(StatusArgs),

    /// Zip the project (honouring .gitignore) into the pipeline's S3 source and start a build
    #[command(
        after_help = "Examples:\n  cargo cloudfront-host upload\n  cargo cloudfront-host upload --format json | jq -r .version\n  cargo cloudfront-host upload && cargo cloudfront-host status --wait\n\n\
                      Needs source.kind = \"s3\" and a deployed pipeline. Every upload gets its own version id\n\
                      (upload time + the S3 object version), and its execution builds exactly that object."
    )]
    Upload,

    /// Print the CodeBuild buildspec for the current settings
    #[command(
        after_help = "Examples:\n  cargo cloudfront-host buildspec\n  cargo cloudfront-host buildspec -p web --output buildspec.yml\n  cargo cloudfront-host buildspec --format json | jq -r .buildspec"
    )]
    Buildspec(BuildspecArgs),

    /// Serve the site locally through the same edge function, headers and routing as CloudFront
    #[command(
        after_help = "Examples:\n  cargo cloudfront-host serve                       # the built site (build.output_dir)\n  cargo cloudfront-host serve --dir dist --port 0   # any free port; the URL is printed\n  cargo cloudfront-host serve --live                # the live version, from the bucket\n  cargo cloudfront-host serve --version 1a2b3c4d5e6f\n  cargo cloudfront-host serve --preview pr-42       # one preview, as if it were live\n  cargo cloudfront-host serve --host                # reachable from other machines (0.0.0.0)\n\n\
                      Each request runs the site's viewer-request function (cf-functions/viewer-request.js with\n\
                      the constants deploy gives it) in an embedded JavaScript engine, then answers from the\n\
                      rewritten path with the distribution's Content-Type, Cache-Control, Content-Encoding and\n\
                      security headers. Prints the URL, then one line per request: method, path, rewritten\n\
                      path, status. Ctrl-C stops it. Previews are routed as at the edge: /_preview/NAME sets the\n\
                      preview cookie (/_preview/off clears it), and http://NAME.preview.localhost:PORT/ serves one."
    )]
    Serve(ServeArgs),

    /// Set up a CI system to publish the site (GitHub Actions)
    #[command(
        subcommand,
        after_help = "Examples:\n  cargo cloudfront-host ci github             # write .github/workflows/cloudfront-host.yml, set ci.github = true\n  cargo cloudfront-host ci github --dry-run   # print the workflow, write nothing\n  cargo cloudfront-host deploy                # then: the OIDC provider and the roles the workflow assumes"
    )]
    Ci(CiCommand),

    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    #[command(
        after_help = "Examples:\n  source <(cargo cloudfront-host completions bash)   # in ~/.bashrc\n  cargo cloudfront-host completions zsh > ~/.zfunc/_cargo-cloudfront-host   # ~/.zfunc in fpath\n  cargo cloudfront-host completions fish > ~/.config/fish/completions/cargo-cloudfront-host.fish\n\n\
                      The script completes `cargo-cloudfront-host`, the program `cargo cloudfront-host` runs. It is\n\
                      generated from the same definitions the command line is parsed with."
    )]
    Completions(CompletionsArgs),

    /// Print the manual page (roff), or write one page per subcommand with --out
    #[command(
        after_help = "Examples:\n  cargo cloudfront-host man | man -l -\n  cargo cloudfront-host man --out ~/.local/share/man/man1   # then: man cargo-cloudfront-host-deploy\n\n\
                      Generated from the same definitions the command line is parsed with, like --help."
    )]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write cargo-cloudfront-host.1 and one page per subcommand (cargo-cloudfront-host-deploy.1,
    /// ...) into DIR instead of printing the main page
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum CiCommand {
    /// Write the GitHub Actions workflow: publish on pushes, previews for pull requests
    #[command(
        after_help = "Examples:\n  cargo cloudfront-host ci github\n  cargo cloudfront-host ci github --dry-run\n  cargo cloudfront-host ci github --force      # replace a workflow you edited\n  cargo cloudfront-host ci github --format json | jq -r .role_arn\n\n\
                      Writes .github/workflows/cloudfront-host.yml at the repository root and sets ci.github = true in\n\
                      [package.metadata.cloudfront]. Pushes to the production branch (source.branch, else the checked-out\n\
                      branch) build with the detected stack and `publish`; pull requests from this repository publish a\n\
                      preview and keep one comment with its URL; closing one removes its preview. Access to AWS is\n\
                      through GitHub's OIDC token and the roles `deploy` creates: no stored key. The role ARNs and the\n\
                      region are written into the workflow (they are not secrets). A file you edited is kept unless --force."
    )]
    Github(CiGithubArgs),
}

#[derive(Debug, Clone, Args)]
pub struct CiGithubArgs {
    /// Print the workflow and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Replace the workflow even when it was edited since this tool wrote it
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    /// Print the plan and change nothing (same as `plan`)
    #[arg(long)]
    pub dry_run: bool,

    /// Do not run the build command; publish what the output directory holds
    #[arg(long)]
    pub no_build: bool,

    /// Provision only; publish nothing
    #[arg(long, conflicts_with_all = ["no_build", "dir"])]
    pub no_publish: bool,

    /// The built site to publish (default: the `build.output_dir` setting)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// How long to wait for CloudFront to deploy the distribution (and for a certificate)
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,

    /// Point custom-domain names at this site even when their records point elsewhere
    #[arg(long)]
    pub force: bool,

    /// Do not wait for the certificate's DNS validation: print the records and go on
    #[arg(long)]
    pub no_wait: bool,

    /// How long to wait for a new GitHub connection to be approved in the console
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = humantime::parse_duration)]
    pub connection_timeout: std::time::Duration,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Follow the running execution until it ends; exit non-zero if it fails
    #[arg(long)]
    pub wait: bool,

    /// How many executions to list
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub limit: i32,

    /// How long --wait follows an execution
    #[arg(long, value_name = "DURATION", default_value = "60m", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Clone, Args)]
pub struct DeleteArgs {
    /// Print what would be removed and remove nothing
    #[arg(long)]
    pub dry_run: bool,

    /// How long to wait for CloudFront to disable the distribution
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Clone, Args)]
pub struct PublishArgs {
    /// The built site (default: the `build.output_dir` setting)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Version id (default: the commit id; `-dirty-<time>` when the tree has changes)
    #[arg(long = "version", value_name = "ID")]
    pub version_id: Option<String>,

    /// Upload and record the version, but leave the live version as it is
    #[arg(long)]
    pub no_switch: bool,

    /// Publish as the preview NAME instead of going live (default NAME: `pr-<number>` on a
    /// GitHub pull request, else the branch)
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "", conflicts_with = "no_switch")]
    pub preview: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct PreviewsArgs {
    #[command(subcommand)]
    pub action: Option<PreviewsAction>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum PreviewsAction {
    /// List the previews (the default)
    List,
    /// Remove a preview (its version stays until retention removes it)
    Delete {
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Remove every expired preview
    Prune,
}

#[derive(Debug, Clone, Args)]
pub struct PromoteArgs {
    /// The preview whose version goes live
    #[arg(value_name = "NAME")]
    pub name: String,
}

#[derive(Debug, Clone, Args)]
pub struct RollbackArgs {
    /// The version to make live (default: the one before the live version)
    #[arg(value_name = "ID")]
    pub version_id: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ShowArgs {
    /// Print the resolved settings and where each value came from (no AWS access needed)
    #[arg(long)]
    pub settings: bool,
}

/// Where builds come from (`source.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceKind {
    /// Built and published by this tool itself, on a laptop or in any CI; no pipeline
    Local,
    /// A CodePipeline triggered by pushes to a GitHub repository
    Github,
    /// A CodePipeline fed by zip files uploaded to S3
    S3,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Local => "local",
            SourceKind::Github => "github",
            SourceKind::S3 => "s3",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// The frontend stack, when detection guesses wrong or finds several
    #[arg(long, value_name = "FRAMEWORK", value_parser = clap::builder::PossibleValuesParser::new(crate::settings::keys::FRAMEWORKS))]
    pub framework: Option<String>,

    /// Where builds come from
    #[arg(long, value_enum, value_name = "KIND")]
    pub source: Option<SourceKind>,

    /// GitHub repository `owner/repo` (default: the `origin` remote)
    #[arg(long, value_name = "OWNER/REPO")]
    pub repository: Option<String>,

    /// Branch whose pushes deploy (default: the checked-out branch)
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,

    /// Custom domain to serve the site from
    #[arg(long, value_name = "HOSTNAME")]
    pub domain: Option<String>,

    /// `spa` (unknown paths serve /index.html) or `static` (directory indexes, 404.html)
    #[arg(long, value_name = "MODE", value_parser = ["spa", "static"])]
    pub routing: Option<String>,

    /// Directory the build writes the site to, relative to the workspace root
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<String>,

    /// Shell command that builds the site in release mode
    #[arg(long, value_name = "COMMAND")]
    pub build_command: Option<String>,

    /// Show what would be written, write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Args)]
pub struct BuildspecArgs {
    /// Write the buildspec to this file instead of printing it
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Serve this built site directory as one version (default: the `build.output_dir` setting)
    #[arg(long, value_name = "DIR", conflicts_with_all = ["live", "version_id"])]
    pub dir: Option<PathBuf>,

    /// Serve from the bucket: the live version, following the live pointer when it changes
    #[arg(long, conflicts_with = "version_id")]
    pub live: bool,

    /// Serve this published version from the bucket, as if it were live
    #[arg(long = "version", value_name = "ID", conflicts_with = "preview")]
    pub version_id: Option<String>,

    /// Serve this preview's version from the bucket, as if it were live
    #[arg(long, value_name = "NAME", conflicts_with_all = ["live", "dir"])]
    pub preview: Option<String>,

    /// Port to listen on; 0 picks a free one
    #[arg(long, value_name = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// Address to listen on; `--host` alone means 0.0.0.0 (every interface)
    #[arg(
        long,
        value_name = "ADDR",
        num_args = 0..=1,
        default_value = "127.0.0.1",
        default_missing_value = "0.0.0.0"
    )]
    pub host: std::net::IpAddr,
}

/// Whether this build of the tool can publish and delete previews (the workflow's
/// pull-request jobs call `publish --preview` and `previews delete`).
pub fn previews_supported() -> bool {
    use clap::CommandFactory as _;
    let cli = crate::cli::Cli::command();
    let preview_flag = cli
        .find_subcommand("publish")
        .is_some_and(|p| p.get_arguments().any(|a| a.get_long() == Some("preview")));
    preview_flag && cli.find_subcommand("previews").is_some()
}
