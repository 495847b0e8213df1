// A real OpenID Connect provider (panva/oidc-provider) for the SSO tests; never for production.
//
//   node tests/oidc/provider.mjs [port]      (or PORT=...; 0 or nothing = a free port)
//
// Listens on 127.0.0.1 only, with issuer http://127.0.0.1:<port>, and prints one line
// `READY <issuer>` on stdout once it accepts connections (nothing else goes to stdout;
// warnings and errors go to stderr).
//
// Environment:
//   PORT               port when none is given as argument (default 0: the OS picks one)
//   REDIRECT_URIS      the client's redirect URIs, comma-separated
//                      (default http://127.0.0.1:5000/sso/callback,http://localhost/sso/callback)
//   OIDC_ACCOUNTS      optional JSON object {login: claims} added to (and overriding) ACCOUNTS
//   EXIT_ON_STDIN_EOF  "1": exit when stdin closes, so a killed test run never leaves us behind
//
// Interaction: two plain HTML forms (no JavaScript), each POSTed back to its own URL
// (application/x-www-form-urlencoded); every answer is a 303 the browser follows with GET:
//   GET  /auth?<authorization request>  -> 303 /interaction/<uid>   (sets the _interaction cookies)
//   GET  /interaction/<uid>             -> login form    POST prompt=login, login=<login name>, password=<anything>
//   POST /interaction/<uid>             -> 303 /auth/<uid> -> 303 /interaction/<uid2>
//   GET  /interaction/<uid2>            -> consent form  POST prompt=consent
//   POST /interaction/<uid2>            -> 303 /auth/<uid2> -> 303 <redirect_uri>?code=...&state=...&iss=...
//   GET  /interaction/<uid>/abort       -> ... 303 <redirect_uri>?error=access_denied&state=...
// A login name that is not an account gets the login form again (200) with "Unknown login".
// The forms' action is the page's own URL; the password is not checked.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const CLIENT_ID = 'traceport-test';
const CLIENT_SECRET = 'traceport-test-secret';
const DEFAULT_REDIRECT_URIS = 'http://127.0.0.1:5000/sso/callback,http://localhost/sso/callback';

// Login name -> the account's claims; `sub` is always the login name.
const ACCOUNTS = {
  alice: {
    email: 'alice@alpha-medtech.test',
    email_verified: true,
    name: 'Alice Liddell',
    groups: ['traceport-quality'],
  },
  // A verified address, but in a domain that no tenant allows.
  bob: {
    email: 'bob@evil.test',
    email_verified: true,
    name: 'Bob Mallory',
    groups: ['traceport-quality'],
  },
  carol: {
    email: 'carol@alpha-medtech.test',
    email_verified: true,
    name: 'Carol Buyer',
    groups: ['traceport-buyers'],
  },
  // The right domain, but the provider has not verified the address.
  dave: {
    email: 'dave@alpha-medtech.test',
    email_verified: false,
    name: 'Dave Unverified',
    groups: ['traceport-quality'],
  },
  ...JSON.parse(process.env.OIDC_ACCOUNTS || '{}'),
};

const requestedPort = Number.parseInt(process.argv[2] ?? process.env.PORT ?? '0', 10);
if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) {
  console.error(`invalid port: ${process.argv[2] ?? process.env.PORT}`);
  process.exit(2);
}
const redirectUris = (process.env.REDIRECT_URIS || DEFAULT_REDIRECT_URIS)
  .split(',')
  .map((uri) => uri.trim())
  .filter(Boolean);

// Bind first, then build the provider: with port 0 the issuer needs the port the OS chose,
// and binding ourselves leaves no window in which another process could take the port.
const server = createServer();
server.on('error', (err) => {
  console.error(`cannot listen on 127.0.0.1:${requestedPort}: ${err.message}`);
  process.exit(1);
});
await new Promise((resolve) => { server.listen(requestedPort, '127.0.0.1', resolve); });
const issuer = `http://127.0.0.1:${server.address().port}`;

// A fresh signing key per run (the built-in development key would only add a warning).
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    // oidc-provider accepts client_secret_post as well for a client_secret_basic client.
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  // PKCE (S256) is accepted; it is required only for public clients, which we have none of.
  pkce: { methods: ['S256'], required: () => false },
  scopes: ['openid', 'email', 'profile'],
  claims: {
    acr: null,
    auth_time: null,
    iss: null,
    sid: null,
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'groups'],
  },
  // Put the scope's claims into the ID token itself, not only at the userinfo endpoint.
  conformIdTokenClaims: false,
  interactions: {
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  features: {
    // Our own pages below instead: they refuse unknown logins (with devInteractions,
    // oidc-provider 8 answers a 500 to a login that findAccount does not know).
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true },
  },
  clientBasedCORS: () => false,
  async findAccount(ctx, accountId) {
    if (!Object.hasOwn(ACCOUNTS, accountId)) {
      return undefined;
    }
    const claims = { ...ACCOUNTS[accountId], sub: accountId };
    return {
      accountId,
      async claims() {
        return claims;
      },
    };
  },
});

// Koa swallows errors into 500 pages: say on stderr what went wrong, for the test's failure message.
provider.on('server_error', (ctx, err) => { console.error('server_error:', err); });
for (const event of ['authorization.error', 'grant.error', 'userinfo.error', 'discovery.error']) {
  provider.on(event, (ctx, err) => { console.error(`${event}: ${err.name}: ${err.message} ${err.error_description ?? ''}`); });
}

const escapeHtml = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)} - Traceport test IdP</title></head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}

function loginPage(uid, params, error) {
  return page('Sign-in', `${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>\n` : ''}\
<form method="post" action="/interaction/${escapeHtml(uid)}" autocomplete="off">
  <input type="hidden" name="prompt" value="login">
  <label>Login <input type="text" name="login" required value="${escapeHtml(params.login_hint ?? '')}"></label>
  <label>Password <input type="password" name="password"></label>
  <button type="submit">Sign-in</button>
</form>
<p>Accounts: ${Object.keys(ACCOUNTS).map(escapeHtml).join(', ')} (any password)</p>
<p><a href="/interaction/${escapeHtml(uid)}/abort">Cancel</a></p>`);
}

function consentPage(uid, params, details) {
  const scopes = (details.missingOIDCScope ?? []).filter((scope) => scope !== 'openid');
  return page('Authorize', `<p>${escapeHtml(params.client_id)} asks for: ${scopes.map(escapeHtml).join(', ') || 'nothing new'}</p>
<form method="post" action="/interaction/${escapeHtml(uid)}" autocomplete="off">
  <input type="hidden" name="prompt" value="consent">
  <button type="submit">Continue</button>
</form>
<p><a href="/interaction/${escapeHtml(uid)}/abort">Cancel</a></p>`);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 65536) {
      throw Object.assign(new Error('form too large'), { status: 413 });
    }
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// The same grant as oidc-provider's devInteractions gives: everything the client asked for.
async function grantAll({ grantId, session, params, prompt: { details } }) {
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (details.missingOIDCScope) {
    grant.addOIDCScope(details.missingOIDCScope.join(' '));
  }
  if (details.missingOIDCClaims) {
    grant.addOIDCClaims(details.missingOIDCClaims);
  }
  if (details.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(details.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  return grant.save();
}

provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([\w-]+)(\/abort)?$/.exec(ctx.path);
  if (!match) {
    return next();
  }
  ctx.set('Cache-Control', 'no-store');
  const finish = async (result, mergeWithLastSubmission) => {
    ctx.status = 303;
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission }));
  };
  try {
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    const { uid, prompt, params } = interaction;
    if (uid !== match[1]) {
      ctx.throw(400, 'this interaction is not the current one');
    }
    if (match[2]) {
      await finish({ error: 'access_denied', error_description: 'End-User aborted interaction' }, false);
      return undefined;
    }
    if (ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = prompt.name === 'login' ? loginPage(uid, params) : consentPage(uid, params, prompt.details);
      return undefined;
    }
    if (ctx.method !== 'POST') {
      ctx.throw(405, 'GET or POST');
    }
    const form = await readForm(ctx.req);
    if (form.get('prompt') !== prompt.name) {
      ctx.throw(400, `this interaction is at prompt ${prompt.name}, not ${form.get('prompt')}`);
    }
    if (prompt.name === 'login') {
      const login = (form.get('login') ?? '').trim();
      if (!Object.hasOwn(ACCOUNTS, login)) {
        ctx.type = 'html';
        ctx.body = loginPage(uid, params, `Unknown login: ${login}`);
        return undefined;
      }
      await finish({ login: { accountId: login } }, false);
    } else if (prompt.name === 'consent') {
      await finish({ consent: { grantId: await grantAll(interaction) } }, true);
    } else {
      ctx.throw(501, `prompt ${prompt.name} is not implemented`);
    }
  } catch (err) {
    console.error(`interaction error: ${err.name}: ${err.message}`);
    ctx.status = err.status ?? err.statusCode ?? 500;
    ctx.type = 'html';
    ctx.body = page('Error', `<p class="error">${escapeHtml(err.name)}: ${escapeHtml(err.message)}</p>`);
  }
  return undefined;
});

// oidc-provider checks static clients only when they are first used: fail now on a bad REDIRECT_URIS.
try {
  await provider.Client.find(CLIENT_ID);
} catch (err) {
  console.error(`invalid client configuration (REDIRECT_URIS=${redirectUris.join(',')}): ${err.message} ${err.error_description ?? ''}`);
  process.exit(1);
}

server.on('request', provider.callback());

const stop = () => { server.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (process.env.EXIT_ON_STDIN_EOF === '1') {
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}

process.stdout.write(`READY ${issuer}\n`);
