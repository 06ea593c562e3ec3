/** Root fields about the answering node. */
import { builder } from '../schema/builder.js';
import { LogLevelEnum, NodeInfoRef, PingRef } from '../schema/node.js';
import { appError } from '../src/errors.js';

const MAX_PING_MESSAGE = 1024;

builder.queryField('node', (t) =>
  t.field({
    type: NodeInfoRef,
    authScopes: { read: true },
    description: 'The node that answers this request',
    resolve: (_root, _args, ctx) => ctx.services.node,
  }),
);

builder.mutationField('ping', (t) =>
  t.field({
    type: PingRef,
    authScopes: { write: true },
    description: 'Round trip through the API with write access: echoes the message with the answering node',
    args: { message: t.arg.string({ required: true }) },
    resolve: (_root, { message }, ctx) => {
      if (message.length > MAX_PING_MESSAGE) {
        throw appError('BAD_USER_INPUT', `message is longer than ${MAX_PING_MESSAGE} characters`);
      }
      return { message, nodeId: ctx.services.node.id, receivedAt: Date.now() };
    },
  }),
);

builder.mutationField('setLogLevel', (t) =>
  t.field({
    type: LogLevelEnum,
    authScopes: { admin: true },
    description: "Changes the answering node's log level at run time; returns the previous level",
    args: { level: t.arg({ type: LogLevelEnum, required: true }) },
    resolve: (_root, { level }, ctx) => {
      const previous = ctx.services.node.logLevel() as (typeof LogLevelEnum)['$inferType'];
      ctx.services.node.setLogLevel(level);
      return previous;
    },
  }),
);
