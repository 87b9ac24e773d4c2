// cargo-cloudfront-host viewer-request function (runtime cloudfront-js-2.0).
// Routes every request to the live version's folder, read from the KeyValueStore, and
// content-hashed names to the shared _immutable/ area. Constants are filled in at deploy time.
import cf from 'cloudfront';

const kvs = cf.kvs();
const ROUTING = '__ROUTING__';
const PRECOMPRESSED = '__PRECOMPRESSED__'.split(',').filter(function (e) { return e !== ''; });
const LIVE_KEY = 'live';
// Custom domains: requests for these hosts get a 301 to REDIRECT_TO (same path and query).
const REDIRECT_TO = '__REDIRECT_TO__';
const REDIRECT_FROM = '__REDIRECT_FROM__'.split(',').filter(function (e) { return e !== ''; });

function respond(code, description, body, headers) {
  const h = headers || {};
  h['content-type'] = { value: 'text/plain; charset=utf-8' };
  h['cache-control'] = { value: 'no-store' };
  return { statusCode: code, statusDescription: description, headers: h, body: body };
}

function isHex(s, min, max) {
  return s.length >= min && s.length <= max && /^[0-9a-f]+$/.test(s);
}

function hexSuffix(s, min, max) {
  const i = s.lastIndexOf('-');
  return i > 0 && isHex(s.slice(i + 1), min, max);
}

// The same rule as src/release/hashed.rs: Trunk's name-<12..16 hex>.ext and _bg.wasm,
// wasm-bindgen snippets/<crate>-<16 hex>/, Dioxus -dxh<hex>.
function isContentHashed(path) {
  const parts = path.split('/');
  const s = parts.indexOf('snippets');
  if (s >= 0 && parts.length > s + 2 && hexSuffix(parts[s + 1], 16, 16)) return true;
  const file = parts[parts.length - 1];
  const dot = file.indexOf('.');
  if (dot < 0) return false;
  let stem = file.slice(0, dot);
  if (stem.endsWith('_bg')) stem = stem.slice(0, -3);
  const dxh = stem.lastIndexOf('-dxh');
  if (dxh >= 0) {
    const after = stem.slice(dxh + 4);
    return after.length > 0 && /^[0-9a-fA-F]+$/.test(after);
  }
  return hexSuffix(stem, 12, 16);
}

function acceptsEncoding(header, name) {
  if (!header) return false;
  const items = header.value.toLowerCase().split(',');
  for (let i = 0; i < items.length; i++) {
    const parts = items[i].trim().split(';');
    if (parts[0].trim() !== name) continue;
    for (let j = 1; j < parts.length; j++) {
      const p = parts[j].trim();
      if (p.indexOf('q=') === 0 && parseFloat(p.slice(2)) === 0) return false;
    }
    return true;
  }
  return false;
}

function queryString(qs) {
  const out = [];
  for (const k in qs) {
    const v = qs[k];
    const all = v.multiValue ? v.multiValue : [v];
    for (let i = 0; i < all.length; i++) {
      out.push(all[i].value === '' ? k : k + '=' + all[i].value);
    }
  }
  return out.length ? '?' + out.join('&') : '';
}

async function handler(event) {
  const request = event.request;
  const uri = request.uri;
  if (REDIRECT_TO !== '' && request.headers.host &&
      REDIRECT_FROM.indexOf(request.headers.host.value.toLowerCase()) >= 0) {
    return respond(301, 'Moved Permanently', '', {
      location: { value: 'https://' + REDIRECT_TO + uri + queryString(request.querystring) },
    });
  }
  const lower = uri.toLowerCase();
  if (uri.indexOf('..') >= 0 || lower.indexOf('%2e%2e') >= 0 || lower.indexOf('.%2e') >= 0 ||
      lower.indexOf('%2e.') >= 0 || uri.indexOf('\\') >= 0 || lower.indexOf('%5c') >= 0 ||
      lower.indexOf('%00') >= 0 || uri.indexOf('\u0000') >= 0 || uri.charAt(0) !== '/') {
    return respond(400, 'Bad Request', 'Bad request\n');
  }
  const path = uri.slice(1);
  if (path === '_cloudfront-host' || path.indexOf('_cloudfront-host/') === 0) {
    return respond(404, 'Not Found', 'Not found\n');
  }
  let key;
  if (isContentHashed(path)) {
    key = '/_immutable/' + path;
  } else {
    let live;
    try {
      live = await kvs.get(LIVE_KEY);
    } catch (e) {
      return respond(503, 'Service Unavailable', 'The site is being deployed; try again in a moment.\n');
    }
    const last = path.slice(path.lastIndexOf('/') + 1);
    const hasExtension = last.indexOf('.') >= 0;
    if (ROUTING === 'spa') {
      key = hasExtension ? '/' + live + uri : '/' + live + '/index.html';
    } else if (uri.endsWith('/')) {
      key = '/' + live + uri + 'index.html';
    } else if (!hasExtension) {
      return respond(301, 'Moved Permanently', '', {
        location: { value: uri + '/' + queryString(request.querystring) },
      });
    } else {
      key = '/' + live + uri;
    }
  }
  const ext = key.slice(key.lastIndexOf('.') + 1).toLowerCase();
  if (PRECOMPRESSED.indexOf(ext) >= 0) {
    const accept = request.headers['accept-encoding'];
    if (acceptsEncoding(accept, 'br')) key += '.br';
    else if (acceptsEncoding(accept, 'gzip')) key += '.gz';
  }
  request.uri = key;
  return request;
}
