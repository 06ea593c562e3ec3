/**
 * The lean POST /graphql path. Yoga's HTTP adapter emulates the fetch API per request
 * (Request, AbortSignal, Headers, a body stream, a Response), which costs about four
 * fifths of a small operation here. This path reads the body from node:http directly and
 * runs the SAME envelop pipeline as yoga (parse/validate caches, auth in context
 * building, masked errors, metrics), then serializes with yoga's own result processor.
 *
 * It takes only the plain case: a JSON body with a string `query`, a response in
 * application/json or application/graphql-response+json, no CORS preflight concerns,
 * a query or mutation that parses and validates. Everything else (GET, SSE, multipart,
 * odd Accept headers, malformed bodies, parse or validation errors, subscriptions) goes
 * to yoga itself, with the already-read body, so its spec-compliant answers are kept.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError, OperationTypeNode, type ExecutionResult } from 'graphql';
import { processRegularResult } from 'graphql-yoga';
import { envelopedFor } from './enveloped.js';
import type { GraphQLApp } from './graphql-app.js';
import type { Preparation, PreparedDocuments } from './prepared-documents.js';

type MediaType = 'application/json' | 'application/graphql-response+json';

/** Accept values served here; yoga picks application/json for the first three as well. */
const FAST_ACCEPT: Record<string, MediaType> = {
  '': 'application/json',
  '*/*': 'application/json',
  'application/json': 'application/json',
  'application/graphql-response+json': 'application/graphql-response+json',
  'application/graphql-response+json; charset=utf-8': 'application/graphql-response+json',
  'application/json; charset=utf-8': 'application/json',
};

interface GraphQLParams {
  readonly query: string;
  readonly variables?: Record<string, unknown>;
  readonly operationName?: string;
  readonly extensions?: Record<string, unknown>;
}

/** The `headers` of a fetch Request, read from node:http's parsed headers. */
class LeanHeaders {
  constructor(private readonly incoming: IncomingMessage['headers']) {}

  get(name: string): string | null {
    const value = this.incoming[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : (value ?? null);
  }
}

/** Just enough of a fetch Request for the pipeline's plugins (auth reads a header). */
class LeanRequest {
  readonly method = 'POST';
  readonly headers: LeanHeaders;

  constructor(
    incomingHeaders: IncomingMessage['headers'],
    private readonly path: string,
  ) {
    this.headers = new LeanHeaders(incomingHeaders);
  }

  get url(): string {
    return `http://${this.headers.get('host') ?? 'localhost'}${this.path}`;
  }
}

/** Captures what yoga's result processor would have put in a Response. */
class LeanResponse {
  constructor(
    readonly body: string | null,
    readonly init: { status?: number; headers?: Record<string, string> },
  ) {}
}
const leanFetchAPI = { Response: LeanResponse } as unknown as Parameters<typeof processRegularResult>[1];

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toParams(body: unknown): GraphQLParams | undefined {
  if (!isPlainObject(body) || typeof body['query'] !== 'string') return undefined;
  for (const key of Object.keys(body)) {
    if (!['query', 'variables', 'operationName', 'extensions'].includes(key)) return undefined;
  }
  const { variables, operationName, extensions } = body;
  if (variables != null && !isPlainObject(variables)) return undefined;
  if (operationName != null && typeof operationName !== 'string') return undefined;
  if (extensions != null && !isPlainObject(extensions)) return undefined;
  return {
    query: body['query'],
    ...(variables != null ? { variables } : {}),
    ...(operationName != null ? { operationName } : {}),
    ...(extensions != null ? { extensions } : {}),
  };
}

function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  if (value === 'application/json') return true;
  const [type, ...params] = value.split(';').map((s) => s.trim().toLowerCase());
  return type === 'application/json' && params.every((p) => p === '' || p === 'charset=utf-8');
}

export interface LeanHandlerOptions {
  readonly yoga: GraphQLApp;
  readonly maxRequestBytes: number;
  /** With CORS configured, requests carrying an Origin go to yoga, which applies the policy. */
  readonly corsEnabled: boolean;
  /** Documents already parsed and validated through the pipeline (shared with graphql-ws). */
  readonly documents: PreparedDocuments;
}

export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Runs a listener if the client goes away before its answer is written (not after). */
function abandonedBy(res: ServerResponse): (listener: () => void) => () => void {
  return (listener) => {
    const onClose = () => {
      if (!res.writableEnded) listener();
    };
    res.once('close', onClose);
    return () => res.off('close', onClose);
  };
}

/** Returns a handler for POST /graphql that falls back to yoga whenever it should. */
export function createLeanGraphQLHandler(options: LeanHandlerOptions): NodeHandler {
  const { yoga } = options;

  const viaYoga = (req: IncomingMessage, res: ServerResponse): void => {
    void yoga.requestListener(req, res);
  };

  /** Hands a request whose body was already read to yoga's fetch-style handler. */
  const viaYogaBuffered = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const headers: [string, string][] = [];
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.push([name, Array.isArray(value) ? value.join(', ') : value]);
    }
    const response = await yoga.fetch(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/graphql'}`, {
      method: 'POST',
      headers,
      body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
    } as RequestInit);
    const responseHeaders: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      responseHeaders[name] = value;
    });
    const payload = Buffer.from(await response.arrayBuffer());
    res.writeHead(response.status, responseHeaders);
    res.end(payload);
  };

  const execute = (
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    mediaType: MediaType,
  ): Promise<void> | void => {
    let params: GraphQLParams | undefined;
    try {
      params = toParams(JSON.parse(body.toString('utf8')));
    } catch {
      params = undefined;
    }
    if (!params) return viaYogaBuffered(req, res, body);

    const request = new LeanRequest(req.headers, req.url ?? '/graphql');
    const enveloped = envelopedFor(yoga, { request, params, abandoned: abandonedBy(res) });
    let preparation: Preparation;
    try {
      preparation = options.documents.prepare(enveloped, params.query);
    } catch {
      return viaYogaBuffered(req, res, body);
    }
    if (!preparation.ok) return viaYogaBuffered(req, res, body);
    const { prepared } = preparation;
    const operationType = prepared.operationType(params.operationName);
    if (!operationType || operationType === OperationTypeNode.SUBSCRIPTION) return viaYogaBuffered(req, res, body);

    // The pipeline answers synchronously for most operations; awaiting only real promises
    // saves a microtask turn and a promise per step.
    const answer = (result: ExecutionResult): void => respond(res, result, mediaType);
    const fail = (error: unknown): void => answer({ errors: [maskThrown(yoga, error)] });
    const run = (contextValue: unknown): Promise<void> | void => {
      const result = enveloped.execute({
        schema: enveloped.schema,
        document: prepared.document,
        contextValue,
        variableValues: params.variables,
        operationName: params.operationName,
      }) as ExecutionResult | Promise<ExecutionResult>;
      return isPromise(result) ? result.then(answer, fail) : answer(result);
    };
    let contextValue: unknown;
    try {
      contextValue = enveloped.contextFactory();
      if (isPromise(contextValue)) return contextValue.then(run).catch(fail);
    } catch (error) {
      return fail(error);
    }
    try {
      return run(contextValue);
    } catch (error) {
      return fail(error);
    }
  };

  /** Writes an execution result as yoga's result processor would. */
  const respond = (res: ServerResponse, result: ExecutionResult, mediaType: MediaType): void => {
    if (result.errors === undefined && result.extensions === undefined) {
      // What yoga's result processor answers for a result with nothing to sanitize.
      const payload = JSON.stringify(result);
      res.writeHead(200, { 'content-type': `${mediaType}; charset=utf-8`, 'content-length': String(Buffer.byteLength(payload)) });
      res.end(payload);
      return;
    }
    const processed = processRegularResult(result, leanFetchAPI, mediaType) as unknown as LeanResponse;
    const payload = processed.body ?? '';
    res.writeHead(processed.init.status ?? 200, {
      ...processed.init.headers,
      'content-length': String(Buffer.byteLength(payload)),
    });
    res.end(payload);
  };

  return (req, res) => {
    const accept = FAST_ACCEPT[(req.headers.accept ?? '').trim().toLowerCase()];
    if (!accept || !isJsonContentType(req.headers['content-type']) || (options.corsEnabled && req.headers.origin)) {
      return viaYoga(req, res);
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > options.maxRequestBytes) return viaYoga(req, res);

    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > options.maxRequestBytes) {
        tooLarge = true;
        return;
      }
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) {
        res.writeHead(413, { 'content-type': 'text/plain' });
        res.end('Request body is too large');
        return;
      }
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const unexpected = (error: unknown): void => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ errors: [{ message: 'Unexpected error.' }] }));
        yoga.logger.error(error);
      };
      try {
        const done = execute(req, res, body, accept);
        if (done) done.catch(unexpected);
      } catch (error) {
        unexpected(error);
      }
    });
    req.on('error', () => res.destroy());
  };
}

/** Masks an exception the way yoga would: GraphQL errors pass, anything else is hidden. */
function maskThrown(yoga: GraphQLApp, error: unknown): GraphQLError {
  if (error instanceof GraphQLError && !(error.originalError && !(error.originalError instanceof GraphQLError))) {
    return error;
  }
  yoga.logger.error(error);
  return new GraphQLError('Unexpected error.', { extensions: { unexpected: true } });
}
