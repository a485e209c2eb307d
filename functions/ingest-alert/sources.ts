/**
 * The alert sources `POST /webhooks/{source}` accepts: each is one verifier (is this really the
 * tool?) and one parser (what does it say?). A new source is one entry here, its parser and
 * verifier in `functions/domain/sources/`, and its secret in the configuration.
 */
import type { NormalizedAlert } from '../domain/alert.ts';
import { parseAlertmanagerWebhook } from '../domain/sources/alertmanager.ts';
import { parseGenericWebhook, verifyGenericSignature } from '../domain/sources/generic.ts';
import { parseGrafanaWebhook, verifyGrafanaSignature } from '../domain/sources/grafana.ts';
import type { IgnoredNotification } from '../domain/sources/ignored.ts';
import { parsePagerDutyWebhook, verifyPagerDutySignature } from '../domain/sources/pagerduty.ts';
import type { Verdict, WebhookRequest } from '../domain/sources/signature.ts';
import { ACCEPTED, basicPassword, bearerToken, refused } from '../domain/sources/signature.ts';

export interface AlertSource {
  /** What a 401 asks for in `WWW-Authenticate`, where the scheme is an HTTP one. */
  readonly challenge?: string;
  readonly verify: (request: WebhookRequest) => Promise<Verdict>;
  readonly parse: (body: unknown) => NormalizedAlert | IgnoredNotification;
}

/** The signing secrets of the HMAC sources, each a list: the current one and, while rotating, the previous. */
export type SigningSecrets = Partial<
  Record<'grafana' | 'pagerduty' | 'generic', () => Promise<readonly string[]>>
>;

export interface SourceAuth {
  /** Checks Alertmanager's token (sent as a bearer token, or as the password of Basic auth). */
  readonly verifyToken: (presented: string | undefined) => Promise<boolean>;
  readonly secrets?: SigningSecrets;
}

function signedWith(
  name: keyof SigningSecrets,
  secrets: SigningSecrets | undefined,
  check: (request: WebhookRequest, secrets: readonly string[]) => Verdict,
): AlertSource['verify'] {
  return async (request) => {
    const read = secrets?.[name];
    if (!read) return refused(`no ${name} signing secret is configured, so no ${name} webhook is accepted`);
    return check(request, await read());
  };
}

/**
 * The registry. A Map, not an object literal: the source comes from the path, and
 * `/webhooks/constructor` must not find Object.prototype's members.
 */
export function alertSources(auth: SourceAuth): ReadonlyMap<string, AlertSource> {
  return new Map<string, AlertSource>([
    [
      'alertmanager',
      {
        challenge: 'Bearer',
        verify: async (request) => {
          const authorization = request.header('authorization');
          const presented = bearerToken(authorization) ?? basicPassword(authorization);
          if (!presented) return refused('Missing bearer token (or Basic auth password)');
          return (await auth.verifyToken(presented)) ? ACCEPTED : refused('Wrong bearer token');
        },
        parse: parseAlertmanagerWebhook,
      },
    ],
    [
      'grafana',
      { verify: signedWith('grafana', auth.secrets, verifyGrafanaSignature), parse: parseGrafanaWebhook },
    ],
    [
      'pagerduty',
      {
        verify: signedWith('pagerduty', auth.secrets, verifyPagerDutySignature),
        parse: parsePagerDutyWebhook,
      },
    ],
    [
      'generic',
      { verify: signedWith('generic', auth.secrets, verifyGenericSignature), parse: parseGenericWebhook },
    ],
  ]);
}
