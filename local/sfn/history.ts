import type { StateMachine } from 'aws-local-stepfunctions';
import { epochSeconds } from './protocol.ts';

/** A JSON value as the engine passes it around. */
export type JsonValue = Parameters<StateMachine['run']>[0];

/** One GetExecutionHistory event as stored: AWS field names, `timestamp` in epoch milliseconds. */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

/** The `<kind>EventDetails` member of a history event, keyed by its AWS field name. */
export type EventDetails = Record<string, Record<string, unknown>>;

/** Serialises a value the way history events carry data: as a JSON string. */
export function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

/** `{truncated: false}`: the local server never truncates event data. */
export const NOT_TRUNCATED = { truncated: false } as const;

/** Drops the members whose value is undefined, null or "" (AWS leaves empty error and cause out of events). */
export function present(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(fields).filter(([, value]) => value !== undefined && value !== null && value !== ''),
  );
}

/** The details of a state's Entered event. */
export function stateEntered(name: string, input: JsonValue): EventDetails {
  return { stateEnteredEventDetails: { name, input: json(input), inputDetails: NOT_TRUNCATED } };
}

/** The details of a state's Exited event. */
export function stateExited(name: string, output: JsonValue): EventDetails {
  return { stateExitedEventDetails: { name, output: json(output), outputDetails: NOT_TRUNCATED } };
}

const EXECUTION_DATA_FIELDS = ['input', 'inputDetails', 'output', 'outputDetails', 'parameters'];

/** A history event as the protocol returns it: epoch seconds, optionally without execution data. */
export function renderEvent(event: HistoryEvent, includeExecutionData: boolean): Record<string, unknown> {
  const rendered: Record<string, unknown> = { ...event, timestamp: epochSeconds(event.timestamp) };
  if (!includeExecutionData) {
    for (const [key, value] of Object.entries(rendered)) {
      if (!key.endsWith('EventDetails') || typeof value !== 'object' || value === null) continue;
      rendered[key] = Object.fromEntries(
        Object.entries(value).filter(([field]) => !EXECUTION_DATA_FIELDS.includes(field)),
      );
    }
  }
  return rendered;
}
