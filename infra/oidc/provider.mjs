// A local OpenID Connect provider for development and tests: the certified `oidc-provider`
// (installed into .local/node by `python -m infra.oidc install`) with the accounts in users.json
// and one confidential client, the intake (authorization code + PKCE only).
//
//   node provider.mjs   (configured by the environment: OIDC_PORT, OIDC_CLIENT_ID,
//                        OIDC_CLIENT_SECRET, OIDC_REDIRECT_URIS (comma-separated),
//                        OIDC_USERS (path to users.json), OIDC_COOKIE_KEY)
import { readFileSync } from 'node:fs';
import http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT || 19400);
const issuer = `http://127.0.0.1:${port}`;
const users = JSON.parse(readFileSync(process.env.OIDC_USERS, 'utf8')).users;
const redirectUris = (process.env.OIDC_REDIRECT_URIS || '').split(',').filter(Boolean);
const scopeClaims = { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email'], groups: ['groups'] };

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID || 'mecc-intake',
    client_secret: process.env.OIDC_CLIENT_SECRET,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: redirectUris.map((u) => new URL('/sign-in', u).href),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true },
  claims: scopeClaims,
  scopes: ['openid', 'profile', 'email', 'groups'],
  cookies: { keys: [process.env.OIDC_COOKIE_KEY || 'local-development-only'] },
  // The ID token carries the person's claims (the intake reads them there, validated against JWKS).
  conformIdTokenClaims: false,
  ttl: { Session: 3600, Interaction: 600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
  async findAccount(ctx, id) {
    const user = users[id];
    if (!user) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, name: user.name, preferred_username: id, email: user.email, groups: user.groups };
      },
    };
  },
  // The intake is the organisation's own application: no consent screen, the grant covers its scopes.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email groups');
    grant.addOIDCClaims(Object.values(scopeClaims).flat());
    await grant.save();
    return grant;
  },
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, error) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head><body>
<h1>Sign in to the local identity provider</h1>
${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="login">Username</label> <input id="login" name="login" autocomplete="username" required>
<label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form></body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 16384) break;
  }
  return new URLSearchParams(body);
}

// Wrong passwords are throttled per account and per client address: past the limit in the window,
// even the right password waits (429) until the oldest failure is older than the window.
const WINDOW_MS = 15 * 60 * 1000;
const LIMITS = { account: 5, client: 20 };
const failures = new Map();

function recent(key, now) {
  const times = (failures.get(key) || []).filter((t) => now - t < WINDOW_MS);
  failures.set(key, times);
  return times;
}

function throttled(keys, now) {
  return keys.some(([kind, key]) => recent(`${kind}:${key}`, now).length >= LIMITS[kind]);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (action === 'login' && req.method === 'POST') {
    const form = await readForm(req);
    const login = form.get('login') || '';
    const keys = [['account', login], ['client', req.socket.remoteAddress]];
    const now = Date.now();
    if (throttled(keys, now)) {
      res.writeHead(429, { 'content-type': 'text/html; charset=utf-8', 'retry-after': String(WINDOW_MS / 1000) });
      res.end(loginPage(uid, 'Too many failed attempts: try again later'));
      return;
    }
    const user = Object.hasOwn(users, login) ? users[login] : undefined;
    if (!user || user.password !== form.get('password')) {
      for (const [kind, key] of keys) recent(`${kind}:${key}`, now).push(now);
      res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' });
      res.end(loginPage(uid, 'Unknown username or wrong password'));
      return;
    }
    failures.delete(`account:${login}`);
    await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
    return;
  }
  if (details.prompt.name === 'login') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(loginPage(uid));
    return;
  }
  // Any other prompt (consent): granted by loadExistingGrant; finish it.
  await provider.interactionFinished(req, res, { consent: {} }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
http.createServer(async (req, res) => {
  const match = /^\/interaction\/([\w-]+)(?:\/(login))?$/.exec(new URL(req.url, issuer).pathname);
  if (!match) return callback(req, res);
  try {
    await interaction(req, res, match[1], match[2]);
  } catch (err) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`interaction failed: ${err.message}`);
  }
}).listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
