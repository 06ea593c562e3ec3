/**
 * Waits for a condition with a deadline instead of sleeping: polls `condition` every 10 ms and
 * resolves with its first truthy result; throws (naming `what`) when `timeoutMs` passes first.
 * A condition that throws counts as "not yet" until the deadline, then its error is reported.
 */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

export async function waitFor<T>(
  condition: () => T | Promise<T>,
  timeoutMs = 5_000,
  what = 'condition',
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as Truthy<T>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
      throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
