// The Anthropic Messages API at the edge: POST /v1/messages in, Anthropic-shaped JSON, SSE and errors out.

import type { EdgeFormat } from '../edge.ts';
import { GatewayError } from '../errors.ts';
import { anthropicErrorBody } from './errors.ts';
import { encodeSse } from '../../providers/sse.ts';
import { parseAnthropicRequest } from './request.ts';
import { renderAnthropicMessage } from './response.ts';
import { renderAnthropicStream } from './stream.ts';

export const anthropicEdge: EdgeFormat = {
  name: 'anthropic',
  keyHeaders: ['x-api-key'],
  parseRequest: parseAnthropicRequest,
  renderResponse(req, res, clientModel) {
    // parseRequest only ever produces chat requests, so an embedding result here is a gateway bug.
    if (res.kind !== 'chat') throw new GatewayError('internal', `The Anthropic format cannot render a ${res.kind} response.`);
    return renderAnthropicMessage(res, clientModel, req.meta.requestId);
  },
  renderStream: renderAnthropicStream,
  renderError: anthropicErrorBody,
  renderStreamError: (err) => encodeSse(JSON.stringify(anthropicErrorBody(err)), 'error'),
};
