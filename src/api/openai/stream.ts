// Canonical stream -> OpenAI SSE (chat.completion.chunk or text_completion chunks), ending in [DONE].

import type { CanonicalRequest, CanonicalStream } from '../canonical.ts';
import { encodeSse } from '../../providers/sse.ts';
import { openAIFinishReason, openAIUsage } from './response.ts';

export async function* renderOpenAIStream(req: CanonicalRequest, stream: CanonicalStream, clientModel: string): AsyncGenerator<string> {
  const chat = req.kind === 'chat';
  const object = chat ? 'chat.completion.chunk' : 'text_completion';
  // The client sees `usage: null` on every chunk only when it asked for usage, as OpenAI does.
  const usageField = req.includeUsage ? ',"usage":null' : '';
  let head = '';
  let id = '';
  let created = 0;

  for await (const chunk of stream) {
    if (chunk.type === 'start') {
      id = chunk.id;
      created = chunk.created;
      head = `{"id":${JSON.stringify(id)},"object":"${object}","created":${created},"model":${JSON.stringify(clientModel)},"choices":[`;
      continue;
    }
    if (chunk.type === 'usage') {
      if (req.includeUsage) {
        yield encodeSse(JSON.stringify({ id, object, created, model: clientModel, choices: [], usage: openAIUsage(chunk.usage) }));
      }
      continue;
    }
    const finish = openAIFinishReason(chunk.finish_reason);
    let choice: Record<string, unknown>;
    if (chat) {
      const delta: Record<string, unknown> = {};
      if (chunk.role) delta.role = chunk.role;
      if (chunk.text !== undefined) delta.content = chunk.text;
      if (chunk.tool_calls) {
        delta.tool_calls = chunk.tool_calls.map((t) => {
          const call: Record<string, unknown> = { index: t.index };
          if (t.id !== undefined) {
            call.id = t.id;
            call.type = 'function';
          }
          const fn: Record<string, unknown> = {};
          if (t.name !== undefined) fn.name = t.name;
          if (t.arguments !== undefined) fn.arguments = t.arguments;
          call.function = fn;
          return call;
        });
      }
      choice = { index: chunk.index, delta, logprobs: null, finish_reason: finish };
    } else {
      choice = { index: chunk.index, text: chunk.text ?? '', logprobs: null, finish_reason: finish };
    }
    yield encodeSse(`${head}${JSON.stringify(choice)}]${usageField}}`);
  }
  yield encodeSse('[DONE]');
}
