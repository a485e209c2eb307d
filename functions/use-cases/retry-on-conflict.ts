import { ConcurrentChangeError } from '../domain/errors.ts';

/**
 * Runs `work` again when another writer changed what it read before it could write (the incident
 * is one item that several people and steps change): `work` reads afresh each time. Only for work
 * that is safe to repeat — every lifecycle step and workroom action is.
 */
export async function retryOnConflict<T>(work: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof ConcurrentChangeError) || attempt >= attempts) throw error;
    }
  }
}
