// Koa pipes the response body in respond(), after the middleware chain has returned, so a
// streamed body would produce its chunks outside the scope. Binding the stream's pull side to
// the scope in force keeps every chunk (and its clean-up) in the request's scope.
import { Readable } from 'node:stream';
import { bindScope } from '@knex-scopes/core';
import type { Context } from 'koa';

function bindReadable(stream: Readable): Readable {
  stream._read = bindScope(stream._read.bind(stream));
  stream._destroy = bindScope(stream._destroy.bind(stream));
  return stream;
}

/**
 * Binds `ctx.body` when it is a Node stream or a web ReadableStream (a body type of Koa 3 only;
 * Koa 2 has already labelled it JSON); call inside the scope.
 */
export function bindStreamedBody(ctx: Context): void {
  const body: unknown = ctx.body;
  if (body instanceof Readable) bindReadable(body);
  else if (body instanceof ReadableStream) ctx.body = bindReadable(Readable.from(body));
}
