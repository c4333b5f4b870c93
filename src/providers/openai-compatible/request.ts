// Canonical request -> OpenAI-format upstream body. Shared by the openai-compatible and openai kinds.

import type { CanonicalRequest } from '../../api/canonical.ts';
import type { UpstreamCall, UpstreamTarget } from '../types.ts';

export interface OpenAIFormatOptions {
  /** Hosted OpenAI wants max_completion_tokens; engines (vLLM, TGI, ...) want max_tokens. */
  maxTokensField: 'max_tokens' | 'max_completion_tokens';
  /** Ask for a usage chunk on every stream so the gateway can meter; off for engines that reject it. */
  requestStreamUsage: boolean;
}

const PATHS = { chat: '/chat/completions', completion: '/completions', embedding: '/embeddings' } as const;

export function buildOpenAIFormatCall(req: CanonicalRequest, target: UpstreamTarget, options: OpenAIFormatOptions): UpstreamCall {
  const body: Record<string, unknown> = { ...req.extra, model: target.upstreamModel };
  if (req.kind === 'embedding') {
    body.input = req.input;
    if (req.dimensions !== undefined) body.dimensions = req.dimensions;
    if (req.encoding_format !== undefined) body.encoding_format = req.encoding_format;
  } else {
    if (req.kind === 'chat') {
      body.messages = req.messages;
      if (req.tools) body.tools = req.tools;
      if (req.tool_choice !== undefined) body.tool_choice = req.tool_choice;
      if (req.parallel_tool_calls !== undefined) body.parallel_tool_calls = req.parallel_tool_calls;
      if (req.response_format) body.response_format = req.response_format;
    } else {
      body.prompt = req.prompt;
    }
    const { max_tokens, ...rest } = req.params;
    Object.assign(body, rest);
    if (max_tokens !== undefined) body[options.maxTokensField] = max_tokens;
    if (req.stream) {
      body.stream = true;
      if (options.requestStreamUsage) body.stream_options = { include_usage: true };
    }
  }
  if (req.meta.user !== undefined) body.user = req.meta.user;

  const headers: Record<string, string> = { 'content-type': 'application/json', ...target.headers };
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  if (req.stream) headers.accept = 'text/event-stream';
  return { path: PATHS[req.kind], headers, body: JSON.stringify(body) };
}
