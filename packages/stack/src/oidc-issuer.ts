// The local OpenID Connect issuer the stack starts for the console's sign-in (demo and tests), built on
// oidc-provider (a certified OpenID provider). A stand-in for the DWP's identity provider: demo users
// from demo-users.ts, one password, ids and roles as claims, nothing personal.
//
//   node packages/stack/src/oidc-issuer.ts            (OIDC_PORT, default 19080; OIDC_HOST, default 127.0.0.1; OIDC_ISSUER)
//
// The console is registered as a native public client using PKCE with a loopback redirect
// (http://127.0.0.1/auth/callback): under RFC 8252 any port is accepted, so a console on a test's own
// port signs in against the same issuer.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Provider, { type Configuration } from 'oidc-provider';
import { DEMO_PASSWORD, DEMO_USERS } from './demo-users.ts';

const host = process.env['OIDC_HOST'] ?? '127.0.0.1';
const port = Number(process.env['OIDC_PORT'] ?? 19080);
/** The address browsers and the console use; OIDC_ISSUER when the issuer listens on another (a container's 0.0.0.0). */
const issuer = process.env['OIDC_ISSUER'] ?? `http://${host}:${port}`;
export const CONSOLE_CLIENT_ID = 'cms-console';
const CLAIMS = ['cms_role', 'cms_segment', 'cms_team'] as const;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };

const configuration: Configuration = {
  clients: [{ client_id: CONSOLE_CLIENT_ID, application_type: 'native', token_endpoint_auth_method: 'none', redirect_uris: [`http://127.0.0.1/auth/callback`, 'http://localhost/auth/callback'], grant_types: ['authorization_code'], response_types: ['code'], post_logout_redirect_uris: ['http://127.0.0.1/', 'http://localhost/'] }],
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: { openid: ['sub'], cms: [...CLAIMS] },
  scopes: ['openid', 'cms'],
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
  // The claims go into the ID token, so the console needs no userinfo call.
  conformIdTokenClaims: false,
  findAccount: (_ctx, sub) => {
    const user = DEMO_USERS.find((u) => u.sub === sub);
    if (!user) return undefined;
    return { accountId: sub, claims: () => ({ ...user }) };
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { Session: 8 * 3600, Grant: 8 * 3600, Interaction: 600, AuthorizationCode: 60, IdToken: 3600, AccessToken: 3600 },
};

const provider = new Provider(issuer, configuration);
const callback = provider.callback();

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);

function loginPage(uid: string, error?: string): string {
  const options = DEMO_USERS.map((u) => `<option value="${esc(u.sub)}">${esc(u.sub)} (${esc(u.cms_role.toLowerCase().replace('_', ' '))}${u.cms_segment ? `, ${esc(u.cms_segment)}` : ''}${u.cms_team ? `, team ${esc(u.cms_team)}` : ''})</option>`).join('');
  return `<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>Sign in: local demo issuer</title>
<style>body{font-family:Arial,sans-serif;margin:2rem;color:#0b0c0c}label{display:block;font-weight:bold;margin:1rem 0 .3rem}select,input{font-size:1.1rem;padding:.3rem}button{margin-top:1rem;font-size:1.1rem;padding:.4rem 1rem;background:#00703c;color:#fff;border:0}p.error{color:#d4351c;font-weight:bold}</style></head>
<body><main><h1>Sign in (local demo issuer)</h1>
<p>This issuer stands in for the DWP's identity provider on a developer's machine. Every demo user's password is <code>${DEMO_PASSWORD}</code>.</p>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login">
<label for="login">User</label><select id="login" name="login">${options}</select>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<div><button type="submit">Sign in</button></div></form></main></body></html>`;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += (chunk as Buffer).toString('utf8');
    if (body.length > 10_000) break;
  }
  return new URLSearchParams(body);
}

async function interaction(req: IncomingMessage, res: ServerResponse, uid: string, action: string | undefined): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  // A first-party client: the staff member is not asked to consent to the console reading their role.
  if (details.prompt.name === 'consent') {
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId: details.session?.accountId ?? '', clientId: typeof details.params['client_id'] === 'string' ? details.params['client_id'] : '' });
    if (!grant) throw new Error('grant not found');
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
    return;
  }
  if (req.method === 'GET' && action === undefined) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(loginPage(uid));
    return;
  }
  if (req.method === 'POST' && action === 'login') {
    const form = await readForm(req);
    const login = form.get('login') ?? '';
    if (!DEMO_USERS.some((u) => u.sub === login) || form.get('password') !== DEMO_PASSWORD) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(loginPage(uid, 'That user and password do not match a demo user.'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
    return;
  }
  res.writeHead(404).end();
}

const server = createServer((req, res) => {
  const match = /^\/interaction\/([\w-]+)(?:\/(\w+))?$/.exec(req.url ?? '');
  if (match?.[1]) {
    interaction(req, res, match[1], match[2]).catch(() => {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('This sign-in has expired or is not valid; start again from the console.');
    });
    return;
  }
  void callback(req, res);
});
server.listen(port, host, () => {
  process.stdout.write(`oidc issuer ${issuer} (${DEMO_USERS.length} demo users)\n`);
});
const stop = (): void => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
