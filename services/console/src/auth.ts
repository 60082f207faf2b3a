import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify, SignJWT } from 'jose';
import { CmsError } from '@cms-router/errors';
import { userFromClaims, type ConsoleUser } from './access.ts';

/** Cookie names, in one place. */
export const COOKIES = { session: 'cms_console_session', signIn: 'cms_console_sign_in' } as const;

export interface Auth {
  /** Where to send a browser to sign in, and the short-lived state to keep in a cookie until it returns. */
  begin(returnTo: string, redirectUri: string): Promise<{ url: string; state: string }>;
  /** The issuer's redirect back: the code exchanged, the ID token checked, a session made. */
  complete(callbackUrl: URL, state: string | undefined): Promise<{ session: string; returnTo: string; user: ConsoleUser }>;
  /** The user of a session cookie, or of an `Authorization: Bearer` ID token from the issuer. */
  user(session: string | undefined, bearer: string | undefined): Promise<ConsoleUser>;
  /** The issuer's sign-out address, if it has one. */
  signOutUrl(postLogoutRedirectUri: string): Promise<string | undefined>;
}

const SIGN_IN_TTL_S = 600;

/** Plain http only for an issuer on this machine (the stack's local one); a real issuer is https. */
// eslint-disable-next-line @typescript-eslint/no-deprecated -- deliberate, for the local demo issuer only
const insecureForLocalIssuer = oidc.allowInsecureRequests;

/**
 * Standard OpenID Connect sign-in (authorization code with PKCE) through openid-client, which checks the
 * ID token; the console's session is a JWT signed with CONSOLE_SESSION_SECRET (jose), holding the staff
 * id and the role, segment and team claims, nothing else. API clients may send the issuer's ID token as
 * a bearer token instead, verified with jose against the issuer's keys. Any OIDC provider that issues
 * the `cms_role`, `cms_segment` and `cms_team` claims works; the stack's local issuer does for the demo.
 */
export function createAuth(o: { readonly issuer: string; readonly clientId: string; readonly clientSecret: string | undefined; readonly sessionSecret: string; readonly sessionTtlMs: number }): Auth {
  const key = new TextEncoder().encode(o.sessionSecret);
  let config: Promise<oidc.Configuration> | undefined;
  /** Discovered on first use and again after a failure (the issuer may start after the console). */
  const configuration = (): Promise<oidc.Configuration> => {
    config ??= oidc
      .discovery(new URL(o.issuer), o.clientId, o.clientSecret ? { client_secret: o.clientSecret } : { token_endpoint_auth_method: 'none' }, o.clientSecret ? undefined : oidc.None(), o.issuer.startsWith('http:') ? { execute: [insecureForLocalIssuer] } : undefined)
      .catch((err: unknown) => {
        config = undefined;
        throw new CmsError('CMS_SIGN_IN_REQUIRED', 'the identity provider cannot be reached; try again shortly', { cause: err });
      });
    return config;
  };
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  const sign = (claims: Record<string, unknown>, ttlS: number): Promise<string> => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime(`${ttlS}s`).sign(key);
  const verify = async (token: string): Promise<Record<string, unknown>> => (await jwtVerify(token, key, { algorithms: ['HS256'] })).payload;
  const denied = (why: string): CmsError => new CmsError('CMS_SIGN_IN_REQUIRED', why);

  return {
    async begin(returnTo, redirectUri) {
      const c = await configuration();
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(c, { redirect_uri: redirectUri, scope: 'openid cms', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state });
      // Only a path on this console may be returned to (no open redirect).
      const safe = returnTo.startsWith('/') && !returnTo.startsWith('//') ? returnTo : '/';
      return { url: url.href, state: await sign({ verifier, state, returnTo: safe, redirectUri }, SIGN_IN_TTL_S) };
    },
    async complete(callbackUrl, stateCookie) {
      if (!stateCookie) throw denied('the sign-in was not started here or has expired; start again');
      const s = await verify(stateCookie).catch(() => {
        throw denied('the sign-in has expired; start again');
      });
      const c = await configuration();
      const tokens = await oidc.authorizationCodeGrant(c, callbackUrl, { pkceCodeVerifier: String(s['verifier']), expectedState: String(s['state']), idTokenExpected: true }).catch((err: unknown) => {
        throw new CmsError('CMS_SIGN_IN_REQUIRED', 'the identity provider did not confirm the sign-in; start again', { cause: err });
      });
      const user = userFromClaims(tokens.claims() ?? {});
      if (!user) throw new CmsError('CMS_ACCESS_DENIED', 'this sign-in carries no console role (cms_role with its segment and team)');
      return { session: await sign({ sub: user.sub, cms_role: user.role, cms_segment: user.segment, cms_team: user.team }, Math.floor(o.sessionTtlMs / 1000)), returnTo: typeof s['returnTo'] === 'string' ? s['returnTo'] : '/', user };
    },
    async user(session, bearer) {
      if (bearer) {
        const c = await configuration();
        const meta = c.serverMetadata();
        if (!meta.jwks_uri) throw denied('the identity provider publishes no keys');
        jwks ??= createRemoteJWKSet(new URL(meta.jwks_uri));
        const { payload } = await jwtVerify(bearer, jwks, { issuer: meta.issuer, audience: o.clientId }).catch(() => {
          throw denied('the bearer token is not valid');
        });
        const user = userFromClaims(payload);
        if (!user) throw new CmsError('CMS_ACCESS_DENIED', 'this token carries no console role');
        return user;
      }
      if (!session) throw denied('sign in first');
      const claims = await verify(session).catch(() => {
        throw denied('the session has expired; sign in again');
      });
      const user = userFromClaims(claims);
      if (!user) throw denied('the session is not valid; sign in again');
      return user;
    },
    async signOutUrl(postLogoutRedirectUri) {
      const c = await configuration().catch(() => undefined);
      if (!c?.serverMetadata().end_session_endpoint) return undefined;
      return oidc.buildEndSessionUrl(c, { post_logout_redirect_uri: postLogoutRedirectUri, client_id: o.clientId }).href;
    },
  };
}
