import type { EdgeFormat } from '../edge.ts';
import type { CanonicalResponse } from '../canonical.ts';
import { openAIErrorBody } from './errors.ts';
import { encodeSse } from '../../providers/sse.ts';
import { parseOpenAIRequest } from './request.ts';
import { renderChatCompletion, renderEmbeddings, renderTextCompletion } from './response.ts';
import { renderOpenAIStream } from './stream.ts';

export const openAIEdge: EdgeFormat = {
  name: 'openai',
  keyHeaders: [],
  parseRequest: parseOpenAIRequest,
  renderResponse(req, res, clientModel) {
    if (res.kind === 'embedding') return renderEmbeddings(res, clientModel);
    return req.kind === 'chat' ? renderChatCompletion(res as CanonicalResponse, clientModel) : renderTextCompletion(res, clientModel);
  },
  renderStream: renderOpenAIStream,
  renderError: openAIErrorBody,
  renderStreamError: (err) => encodeSse(JSON.stringify(openAIErrorBody(err))),
};
