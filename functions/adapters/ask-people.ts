/**
 * The dependencies every function that asks the responders builds from its configuration — who
 * they are, the mailer, where the links point — built in one place, so a function that asks people
 * cannot drift from the others in whom it asks or how.
 */
import type { SESClient } from '@aws-sdk/client-ses';
import type { Clock, EffectStore, IncidentStore, Ledger, QuestionStore } from '../domain/ports.ts';
import type { RateLimiter } from '../use-cases/carry-out-effects.ts';
import type { AskDeps } from '../use-cases/effect-questions.ts';
import { sesClient, systemClock } from './aws.ts';
import { SesMailer } from './ses-mailer.ts';

/** What asking people needs from configuration (`mailFromConfig`, `respondersConfig`, a public base URL). */
export interface AskPeopleConfig {
  readonly mailFrom: string;
  readonly responders: readonly string[];
  readonly sreLead: string;
  readonly publicBaseUrl: string;
}

/** The responders and the SRE lead, the mailer their e-mails go through, and the links' base. */
export function askPeopleFromConfig(
  config: AskPeopleConfig,
  ses: SESClient = sesClient(),
): {
  readonly mailer: SesMailer;
  readonly people: { readonly responders: readonly string[]; readonly sreLead: string };
  readonly publicBaseUrl: string;
  readonly clock: Clock;
} {
  return {
    mailer: new SesMailer(ses, config.mailFrom),
    people: { responders: config.responders, sreLead: config.sreLead },
    publicBaseUrl: config.publicBaseUrl,
    clock: systemClock,
  };
}

/** The stores a question about an effect is kept in and acts on. */
export interface AskStores {
  readonly questions: QuestionStore;
  readonly incidents: Pick<IncidentStore, 'addTimelineEvent'>;
  readonly effects: Pick<EffectStore, 'advanceEffect' | 'getEffect' | 'getCustomer'>;
  readonly ledger: Ledger;
  /** With it, an answer "resend" a failed request left undone is carried out when asked again. */
  readonly resend?: AskDeps['resend'];
}

/**
 * The dependencies of asking about an effect: the questions' e-mails go through `ses` at `rate`
 * (Act passes its own client and mail rate, so questions and notices share one SES budget).
 */
export function askDepsFromConfig(
  config: AskPeopleConfig,
  stores: AskStores,
  options: { readonly rate: RateLimiter; readonly ses?: SESClient },
): AskDeps {
  const { mailer, people, publicBaseUrl, clock } = askPeopleFromConfig(config, options.ses);
  return {
    ...stores,
    mailer,
    rate: options.rate,
    responders: people.responders,
    sreLead: people.sreLead,
    publicBaseUrl,
    clock,
  };
}
