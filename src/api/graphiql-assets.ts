/**
 * GraphiQL without the internet: yoga's GraphiQL page loads its script, styles and editor
 * workers from a CDN; this serves the same files from the installed
 * @graphql-yoga/graphiql package under /graphiql/ and rewrites the page to use them, so
 * GraphiQL works on machines with no route out.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ServerResponse } from 'node:http';
import { renderGraphiQL, type GraphiQLOptions } from 'graphql-yoga';

export const GRAPHIQL_ASSET_PREFIX = '/graphiql/';

const CDN_DIST = /https:\/\/unpkg\.com\/@graphql-yoga\/graphiql@[^/]+\/dist\//g;
const CDN_FAVICON = /<link rel=icon href=https:\/\/[^>]+>/g;

/** Asset name (path under the package's dist/) → content type. Nothing else is served. */
const ASSETS: Record<string, string> = {
  'graphiql.css': 'text/css; charset=utf-8',
  'yoga-graphiql.umd.js': 'text/javascript; charset=utf-8',
  'monacoeditorwork/editor.worker.bundle.js': 'text/javascript; charset=utf-8',
  'monacoeditorwork/json.worker.bundle.js': 'text/javascript; charset=utf-8',
  'monacoeditorwork/graphql.worker..bundle.js': 'text/javascript; charset=utf-8',
};

export const GRAPHIQL_ASSET_NAMES = Object.keys(ASSETS);

const distDir = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@graphql-yoga/graphiql/package.json')),
  'dist',
);
const cache = new Map<string, Promise<Buffer>>();

/** Yoga's GraphiQL page with every CDN reference pointed at this node. */
export function renderLocalGraphiQL(options: GraphiQLOptions): string {
  return renderGraphiQL(options).replace(CDN_DIST, GRAPHIQL_ASSET_PREFIX).replace(CDN_FAVICON, '');
}

/** Serves one asset; returns false when the path is not one of them (the caller 404s). */
export function serveGraphiQLAsset(pathname: string, res: ServerResponse): boolean {
  const name = pathname.slice(GRAPHIQL_ASSET_PREFIX.length);
  const contentType = ASSETS[name];
  if (!contentType) return false;
  let body = cache.get(name);
  if (!body) {
    body = readFile(path.join(distDir, name));
    cache.set(name, body);
  }
  body.then(
    (bytes) => {
      res.writeHead(200, {
        'content-type': contentType,
        'content-length': String(bytes.length),
        'cache-control': 'public, max-age=86400',
      });
      res.end(bytes);
    },
    () => {
      cache.delete(name);
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('GraphiQL asset unavailable');
    },
  );
  return true;
}
