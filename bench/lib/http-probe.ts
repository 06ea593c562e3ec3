/**
 * One request before any load: proves the target answers the benchmarked operation correctly,
 * and turns "it answers 401" or "GraphQL error" into a clear message instead of a benchmark of
 * failures. Retries until a deadline, because a node that is live (/health) may not be ready to
 * serve mutations yet.
 */

export interface HttpProbeOptions {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly verify: (body: string) => string | undefined;
  readonly timeoutMs: number;
}

export async function probeHttp(options: HttpProbeOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last: string;
  do {
    try {
      const res = await fetch(options.url, {
        method: 'POST',
        headers: options.headers,
        body: options.body,
        signal: AbortSignal.timeout(2000),
      });
      const text = await res.text();
      const problem = res.ok ? options.verify(text) : `HTTP ${res.status}: ${text.slice(0, 300)}`;
      if (problem === undefined) return;
      last = problem;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  } while (Date.now() < deadline);
  throw new Error(`probe ${options.url}: no correct answer within ${options.timeoutMs} ms (last: ${last})`);
}
