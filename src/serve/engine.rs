//! Runs the viewer-request function in QuickJS, the way CloudFront runs it: as a module that
//! imports `cloudfront`, whose `kvs().get(key)` reads a store the caller provides (the same
//! keys the distribution reads), and `crypto`, whose `createHash('sha256')` is the sha2 crate.
//! [`Worker`] gives the engine a thread of its own, so the async server can share it.

use rquickjs::loader::{BuiltinLoader, BuiltinResolver};
use rquickjs::{CatchResultExt, Context, Function, Module, Persistent, Promise, Runtime, Value};

/// The `cloudfront` module: `kvs().get(key)` throws for a missing key, as CloudFront's does.
const CLOUDFRONT_MODULE: &str = r#"
export default {
  kvs() {
    return {
      async get(key) {
        const store = globalThis.__cfhStore;
        if (store === null || store === undefined || !Object.prototype.hasOwnProperty.call(store, key)) {
          throw new Error('KeyValueStore: key not found: ' + key);
        }
        return store[key];
      },
      async exists(key) {
        const store = globalThis.__cfhStore;
        return store !== null && store !== undefined && Object.prototype.hasOwnProperty.call(store, key);
      },
    };
  },
};
"#;

/// The part of CloudFront's `crypto` module the function uses: `createHash('sha256')`,
/// `update(string)` (UTF-8, as CloudFront encodes strings), `digest('hex' | 'base64')`.
const CRYPTO_MODULE: &str = r#"
export default {
  createHash(algorithm) {
    if (algorithm !== 'sha256') {
      throw new Error('crypto.createHash: only sha256 is emulated locally, not ' + algorithm);
    }
    let data = '';
    const hash = {
      update(s) {
        data += String(s);
        return hash;
      },
      digest(encoding) {
        return globalThis.__cfhSha256(data, encoding === undefined ? 'hex' : String(encoding));
      },
    };
    return hash;
  },
};
"#;

/// SHA-256 of `data` (UTF-8) as `hex` or `base64`.
fn sha256(data: String, encoding: String) -> rquickjs::Result<String> {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(data.as_bytes());
    match encoding.as_str() {
        "hex" => Ok(hex::encode(digest)),
        "base64" => {
            use base64::Engine as _;
            Ok(base64::engine::general_purpose::STANDARD.encode(digest))
        }
        other => Err(rquickjs::Error::new_from_js_message(
            "string",
            "digest",
            format!("hash.digest: encoding {other:?} is not emulated locally (hex, base64)"),
        )),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the viewer-request function failed in QuickJS: {0}")]
    Js(String),
    #[error("the embedded JavaScript engine stopped")]
    Stopped,
}

pub struct Engine {
    // Field order matters: the handler and context must go before the runtime.
    handler: Persistent<Function<'static>>,
    context: Context,
    _runtime: Runtime,
}

impl Engine {
    /// Loads `code` (the rendered function) once; `run` then calls its handler per request.
    pub fn new(code: &str) -> Result<Self, EngineError> {
        let js = |e: rquickjs::Error| EngineError::Js(e.to_string());
        let runtime = Runtime::new().map_err(js)?;
        runtime.set_loader(
            BuiltinResolver::default()
                .with_module("cloudfront")
                .with_module("crypto"),
            BuiltinLoader::default()
                .with_module("cloudfront", CLOUDFRONT_MODULE)
                .with_module("crypto", CRYPTO_MODULE),
        );
        let context = Context::full(&runtime).map_err(js)?;
        context.with(|ctx| -> Result<(), EngineError> {
            let f = Function::new(ctx.clone(), sha256)
                .catch(&ctx)
                .map_err(|e| EngineError::Js(e.to_string()))?;
            ctx.globals()
                .set("__cfhSha256", f)
                .catch(&ctx)
                .map_err(|e| EngineError::Js(e.to_string()))
        })?;
        // CloudFront calls the top-level `handler`; a module has to export it for us to reach it.
        let source = format!("{code}\nexport {{ handler }};\n");
        let handler = context.with(|ctx| -> Result<_, EngineError> {
            let declared = Module::declare(ctx.clone(), "viewer-request.js", source)
                .catch(&ctx)
                .map_err(|e| EngineError::Js(e.to_string()))?;
            let (module, promise) = declared
                .eval()
                .catch(&ctx)
                .map_err(|e| EngineError::Js(e.to_string()))?;
            promise
                .finish::<()>()
                .catch(&ctx)
                .map_err(|e| EngineError::Js(e.to_string()))?;
            let handler: Function = module
                .get("handler")
                .catch(&ctx)
                .map_err(|e| EngineError::Js(e.to_string()))?;
            Ok(Persistent::save(&ctx, handler))
        })?;
        Ok(Engine {
            handler,
            context,
            _runtime: runtime,
        })
    }

    /// Runs the handler on a CloudFront event (JSON) with `store` as the KeyValueStore's
    /// contents; returns the changed request or the response, as JSON.
    pub fn run(
        &self,
        event: &serde_json::Value,
        store: &serde_json::Value,
    ) -> Result<serde_json::Value, EngineError> {
        self.context.with(|ctx| {
            let fail = |e: String| EngineError::Js(e);
            let store: Value = ctx
                .json_parse(store.to_string())
                .catch(&ctx)
                .map_err(|e| fail(e.to_string()))?;
            ctx.globals()
                .set("__cfhStore", store)
                .catch(&ctx)
                .map_err(|e| fail(e.to_string()))?;
            let event: Value = ctx
                .json_parse(event.to_string())
                .catch(&ctx)
                .map_err(|e| fail(e.to_string()))?;
            let handler = self
                .handler
                .clone()
                .restore(&ctx)
                .catch(&ctx)
                .map_err(|e| fail(e.to_string()))?;
            let result: Value = handler
                .call((event,))
                .catch(&ctx)
                .map_err(|e| fail(e.to_string()))?;
            let result: Value = match result.as_promise() {
                Some(promise) => {
                    let promise: Promise = promise.clone();
                    promise
                        .finish()
                        .catch(&ctx)
                        .map_err(|e| fail(e.to_string()))?
                }
                None => result,
            };
            let json = ctx
                .json_stringify(result)
                .catch(&ctx)
                .map_err(|e| fail(e.to_string()))?
                .map(|s| s.to_string())
                .transpose()
                .map_err(|e| fail(e.to_string()))?
                .unwrap_or_else(|| "null".into());
            serde_json::from_str(&json).map_err(|e| fail(e.to_string()))
        })
    }
}

/// The engine on a thread of its own (QuickJS runtimes stay on the thread that made them);
/// requests queue for it (a call takes well under a millisecond in release builds).
pub(super) struct Worker {
    jobs: std::sync::mpsc::Sender<Job>,
}

type Job = (
    serde_json::Value,
    serde_json::Value,
    tokio::sync::oneshot::Sender<Result<serde_json::Value, EngineError>>,
);

impl Worker {
    /// Loads `code` on the new thread and waits until it compiled, so a broken function is
    /// an error here rather than on the first request.
    pub(super) fn start(code: String) -> Result<Self, EngineError> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let (ready, started) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("edge-function".into())
            .spawn(move || {
                let engine = match Engine::new(&code) {
                    Ok(engine) => {
                        let _ = ready.send(Ok(()));
                        engine
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                while let Ok((event, store, reply)) = queue.recv() {
                    let _ = reply.send(engine.run(&event, &store));
                }
            })
            .map_err(|_| EngineError::Stopped)?;
        started.recv().map_err(|_| EngineError::Stopped)??;
        Ok(Worker { jobs })
    }

    /// [`Engine::run`] on the worker's thread.
    pub(super) async fn run(
        &self,
        event: serde_json::Value,
        store: serde_json::Value,
    ) -> Result<serde_json::Value, EngineError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send((event, store, reply))
            .map_err(|_| EngineError::Stopped)?;
        answer.await.map_err(|_| EngineError::Stopped)?
    }
}
