"""Local AWS emulator for cargo-cloudfront-host's integration tests.

One process, one port: a WSGI app that wraps moto's server in-process and adds
what moto lacks (see README.md):

* CloudFront KeyValueStore data plane (restJson1, SigV4A: signatures are never checked)
* CloudFront cache policies and response-headers policies
* CloudFront Functions (create/describe/get/update/publish/delete/list, by stage)
* CloudFront distributions: the submitted DistributionConfig is kept and returned as
  CloudFront does (its method order, defaults filled in), ETags change on every write,
  If-Match is enforced, and what a deleted distribution used stays in use for a moment
* policy quotas per account
* CodeStar connections
* CodePipeline GetPipelineState (+ execution status kept consistent)
* CodeBuild CreateProject/UpdateProject/StartBuild/BatchGetBuilds fidelity
* S3 GetBucketVersioning with AWS's `VersioningConfiguration` root element
* test hooks and fault injection under /_emulator/

Everything else goes to moto unchanged (except that ISO-8601 timestamps in
moto's JSON responses are rewritten to epoch seconds, as the JSON protocols
require).
"""

import os

# moto reads its settings when it is imported: certificates are ISSUED at once unless told otherwise
os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")
