/**
 * Where the trouble is and how to trace it, read from an alert's labels (and annotations, where
 * tools put trace ids): the fields of {@link NormalizedAlert} the cross-source correlation key and
 * the responders read. Each name has the spellings the common tools use; the first non-blank wins.
 */
import type { NormalizedAlert } from '../alert.ts';
import { LIMITS } from '../limits.ts';
import type { Truncation } from '../text.ts';
import { boundText } from '../text.ts';

type Place = Pick<NormalizedAlert, 'service' | 'environment' | 'tenant' | 'region' | 'traceId' | 'requestId'>;

/** The names each field is read from, in order. */
export const PLACE_NAMES: Readonly<Record<keyof Place, readonly string[]>> = {
  service: ['service', 'service_name', 'app'],
  environment: ['environment', 'env', 'deployment_environment'],
  tenant: ['tenant', 'tenant_id', 'customer_tenant'],
  region: ['region', 'aws_region', 'cloud_region'],
  traceId: ['trace_id', 'traceId', 'traceID'],
  requestId: ['request_id', 'requestId', 'requestID'],
};

/**
 * The place fields found in `maps` (searched in order, each `[field name, map]`), every value cut
 * to a label value's bound; cuts are recorded in `truncated`.
 */
export function placeFrom(
  maps: ReadonlyArray<readonly [string, Readonly<Record<string, string>> | undefined]>,
  truncated: Truncation[],
): Place {
  const out: Record<string, string> = {};
  for (const [field, names] of Object.entries(PLACE_NAMES)) {
    found: for (const [where, map] of maps) {
      for (const name of names) {
        const value = map && Object.hasOwn(map, name) ? map[name]?.trim() : undefined;
        if (value) {
          out[field] = boundText(value, LIMITS.labelValueBytes, `${where}.${name}`, truncated);
          break found;
        }
      }
    }
  }
  return out as Place;
}
