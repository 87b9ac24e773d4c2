// cargo-cloudfront-host viewer-request function (runtime cloudfront-js-2.0).
// Routes every request to the live version's folder (or a preview's), read from the
// KeyValueStore, and content-hashed names to the shared _immutable/ area. Constants are filled
// in at deploy time. At most two KVS reads per request, exact keys only.
import cf from 'cloudfront';
import crypto from 'crypto';

const kvs = cf.kvs();
const ROUTING = '__ROUTING__';
const PRECOMPRESSED = '__PRECOMPRESSED__'.split(',').filter(function (e) { return e !== ''; });
const LIVE_KEY = 'live';
// Custom domains: requests for these hosts get a 301 to REDIRECT_TO (same path and query).
const REDIRECT_TO = '__REDIRECT_TO__';
const REDIRECT_FROM = '__REDIRECT_FROM__'.split(',').filter(function (e) { return e !== ''; });
// Previews: <slug>.PREVIEW_DOMAIN, or the cookie /_preview/<slug> sets, reads 'preview:<slug>'.
const PREVIEW_DOMAIN = '__PREVIEW_DOMAIN__';
const PREVIEW_COOKIE = 'cfh-preview';
const COOKIE_ATTRIBUTES = 'Secure; HttpOnly; SameSite=Lax; Path=/';
// 'open' or 'password' (HTTP Basic, checked against PASSWORD_KEY: '<salt>:<sha256 hex>').
const ACCESS_SITE = '__ACCESS_SITE__';
const ACCESS_PREVIEWS = '__ACCESS_PREVIEWS__';
const PASSWORD_KEY = 'password';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

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

// A pointer value is '<version>' or '<version>|<table>|<folder 1>|...' (src/release/shards.rs):
// table[i], a base-36 digit, picks the folder of the paths whose FNV-1a hash is i modulo the
// table's length; 0 is <version> itself. The hash runs over the path re-encoded the one way
// encodeURIComponent does it: ASCII only, so engines that count characters differently (njs)
// agree, and so do a viewer's different encodings of one path.
function folderOf(live, file) {
  const parts = live.split('|');
  if (parts.length < 3) return parts[0];
  let name;
  try {
    name = encodeURIComponent(decodeURIComponent(file));
  } catch (e) {
    return parts[0];
  }
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = (h + (h << 1) + (h << 4) + (h << 7) + (h << 8) + (h << 24)) >>> 0;
  }
  const n = parseInt(parts[1].charAt(h % parts[1].length), 36);
  return n > 0 && n + 1 < parts.length ? parts[n + 1] : parts[0];
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

// The same rule as src/release/previews.rs: a DNS label of at most 40 characters.
function isSlug(s) {
  return s.length <= 40 && s !== 'off' && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s);
}

// The password of a Basic Authorization header as hex of its bytes (so every engine hashes
// the same ASCII), or null. Any user name is accepted.
function basicPassword(header) {
  if (!header || header.value.slice(0, 6).toLowerCase() !== 'basic ') return null;
  const s = header.value.slice(6).trim();
  let bits = 0;
  let n = 0;
  let hex = null;
  for (let i = 0; i < s.length && s.charAt(i) !== '='; i++) {
    const v = B64.indexOf(s.charAt(i));
    if (v < 0) return null;
    bits = ((bits << 6) | v) & 0xffff;
    n += 6;
    if (n >= 8) {
      n -= 8;
      const b = (bits >> n) & 255;
      if (hex !== null) hex += (b < 16 ? '0' : '') + b.toString(16);
      else if (b === 58) hex = '';
    }
  }
  return hex;
}

function previewCookie(slug) {
  return {
    statusCode: 302,
    statusDescription: 'Found',
    headers: { location: { value: '/' }, 'cache-control': { value: 'no-store' } },
    cookies: {
      'cfh-preview': { value: slug, attributes: COOKIE_ATTRIBUTES + (slug === '' ? '; Max-Age=0' : '') },
    },
  };
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
  const host = request.headers.host ? request.headers.host.value.toLowerCase() : '';
  if (REDIRECT_TO !== '' && REDIRECT_FROM.indexOf(host) >= 0) {
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
  let slug = '';
  if (PREVIEW_DOMAIN !== '' && host.endsWith('.' + PREVIEW_DOMAIN)) {
    slug = host.slice(0, host.length - PREVIEW_DOMAIN.length - 1);
    if (!isSlug(slug)) return respond(404, 'Not Found', 'No such preview\n');
  } else if (path.indexOf('_preview/') === 0) {
    const name = path.slice(9);
    if (name === 'off') return previewCookie('');
    return isSlug(name) ? previewCookie(name) : respond(404, 'Not Found', 'No such preview\n');
  } else if (request.cookies && request.cookies[PREVIEW_COOKIE] && isSlug(request.cookies[PREVIEW_COOKIE].value)) {
    slug = request.cookies[PREVIEW_COOKIE].value;
  }
  // Before the cache: a cached page never reaches a viewer without the password.
  if ((slug === '' ? ACCESS_SITE : ACCESS_PREVIEWS) === 'password') {
    let stored;
    try {
      stored = await kvs.get(PASSWORD_KEY);
    } catch (e) {
      return respond(503, 'Service Unavailable', 'This site needs a password, and none is set.\n');
    }
    const salt = stored.slice(0, stored.indexOf(':') + 1);
    const given = basicPassword(request.headers.authorization);
    if (given === null || salt + crypto.createHash('sha256').update(salt + given).digest('hex') !== stored) {
      return respond(401, 'Unauthorized', 'This site needs a password.\n', {
        'www-authenticate': { value: 'Basic realm="' + (slug === '' ? 'site' : 'preview') + '", charset="UTF-8"' },
      });
    }
  }
  let key;
  if (isContentHashed(path)) {
    key = '/_immutable/' + path;
  } else {
    let live;
    try {
      live = await kvs.get(slug === '' ? LIVE_KEY : 'preview:' + slug);
    } catch (e) {
      if (slug !== '') return respond(404, 'Not Found', 'No preview named ' + slug + '; /_preview/off shows the live site.\n');
      return respond(503, 'Service Unavailable', 'The site is being deployed; try again in a moment.\n');
    }
    const last = path.slice(path.lastIndexOf('/') + 1);
    const hasExtension = last.indexOf('.') >= 0;
    let file = path;
    if (ROUTING === 'spa') {
      if (!hasExtension) file = 'index.html';
    } else if (uri.endsWith('/')) {
      file = path + 'index.html';
    } else if (!hasExtension) {
      return respond(301, 'Moved Permanently', '', {
        location: { value: uri + '/' + queryString(request.querystring) },
      });
    }
    key = '/' + folderOf(live, file) + '/' + file;
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
