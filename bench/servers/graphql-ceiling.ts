/**
 * Target 2, the GraphQL ceiling: the least a correct GraphQL-over-HTTP POST handler can do for
 * the ping mutation with graphql-js on plain `node:http`. Per request it drains the body,
 * `JSON.parse`s it, compares the bearer token against one token, looks the query string up in a
 * Map of parsed+validated documents, `execute`s with the variables and `JSON.stringify`s the
 * result. The node's own POST path does at least this much work, so its throughput divided by
 * this one's says how much its extra layers cost.
 *
 * Same schema shape as the node for the measured operation. The token comes from the env var
 * BENCH_TOKEN. Run as its own process; listens on an OS-chosen port on 127.0.0.1 and prints one
 * line `{"port":N}` when ready.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  GraphQLBoolean,
  GraphQLFloat,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  execute,
  parse,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLError,
} from 'graphql';

const token = process.env.BENCH_TOKEN;
if (!token) {
  process.stderr.write('graphql-ceiling: BENCH_TOKEN is not set\n');
  process.exit(2);
}
const expectedAuthorization = `Bearer ${token}`;
const MAX_BODY_BYTES = 1 << 20;
/** Bounded so a client sending ever-new query strings cannot grow memory without limit. */
const MAX_CACHED_DOCUMENTS = 1000;

interface Ping {
  message: string;
  nodeId: string;
  receivedAt: number;
}

const pingType = new GraphQLObjectType<Ping>({
  name: 'Ping',
  fields: {
    message: { type: new GraphQLNonNull(GraphQLString) },
    nodeId: { type: new GraphQLNonNull(GraphQLString) },
    receivedAt: { type: new GraphQLNonNull(GraphQLFloat) },
  },
});

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: { ok: { type: GraphQLBoolean, resolve: () => true } },
  }),
  mutation: new GraphQLObjectType({
    name: 'Mutation',
    fields: {
      ping: {
        type: new GraphQLNonNull(pingType),
        args: { message: { type: new GraphQLNonNull(GraphQLString) } },
        resolve: (_root, args: { message: string }): Ping => ({
          message: args.message,
          nodeId: 'ceiling',
          receivedAt: Date.now(),
        }),
      },
    },
  }),
});

type CachedDocument = { document: DocumentNode } | { errors: readonly GraphQLError[] };
const documents = new Map<string, CachedDocument>();

function prepare(query: string): CachedDocument {
  const cached = documents.get(query);
  if (cached) return cached;
  let entry: CachedDocument;
  try {
    const document = parse(query);
    const errors = validate(schema, document);
    entry = errors.length > 0 ? { errors } : { document };
  } catch (error) {
    entry = { errors: [error as GraphQLError] };
  }
  if (documents.size >= MAX_CACHED_DOCUMENTS) documents.clear();
  documents.set(query, entry);
  return entry;
}

function send(res: ServerResponse, status: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function fail(res: ServerResponse, status: number, message: string): void {
  send(res, status, { errors: [{ message }] });
}

interface GraphQLParams {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

function readParams(raw: string): GraphQLParams | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { query, variables, operationName } = parsed as Record<string, unknown>;
  if (typeof query !== 'string') return undefined;
  if (variables !== undefined && variables !== null && typeof variables !== 'object') return undefined;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return undefined;
  return {
    query,
    ...(variables ? { variables: variables as Record<string, unknown> } : {}),
    ...(typeof operationName === 'string' ? { operationName } : {}),
  };
}

function handleBody(req: IncomingMessage, res: ServerResponse, raw: string): void {
  if (req.headers.authorization !== expectedAuthorization) {
    fail(res, 401, 'unauthorized');
    return;
  }
  const params = readParams(raw);
  if (!params) {
    fail(res, 400, 'body must be a JSON object with a string "query"');
    return;
  }
  const prepared = prepare(params.query);
  if ('errors' in prepared) {
    send(res, 400, { errors: prepared.errors });
    return;
  }
  const result = execute({
    schema,
    document: prepared.document,
    variableValues: params.variables,
    operationName: params.operationName,
  });
  if (result instanceof Promise) {
    result.then(
      (value: ExecutionResult) => send(res, 200, value),
      () => fail(res, 500, 'internal error'),
    );
  } else {
    send(res, 200, result);
  }
}

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/graphql') {
    fail(res, 404, 'POST /graphql only');
    return;
  }
  if (!req.headers['content-type']?.startsWith('application/json')) {
    fail(res, 415, 'content-type must be application/json');
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      fail(res, 413, 'body too large');
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => handleBody(req, res, Buffer.concat(chunks).toString('utf8')));
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});

process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
